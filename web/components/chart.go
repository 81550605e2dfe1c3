package components

import (
	"fmt"
	"math"
	"time"

	"github.com/a-h/templ"
)

// Palette colours chart series; the last is for "other".
var Palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
	"#9c755f", "#bab0ac"}

// SeriesColor is the colour of series i of n, grey for "other".
func SeriesColor(i int, key string) string {
	if key == "other" {
		return "#c7c7c7"
	}
	return Palette[i%(len(Palette)-1)]
}

// Rect is one bar segment.
type Rect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
	Href       templ.SafeURL
}

// Tick is an axis label.
type Tick struct {
	Pos   float64
	Label string
}

// BarChart is a stacked bar chart over days.
type BarChart struct {
	W, H                  float64
	Left, Right, Top, Bot float64
	Rects                 []Rect
	YTicks, XTicks        []Tick
	Empty                 bool
	Label                 string // for screen readers
	PlotRight, PlotBottom float64
}

// StackSeries is one series of a stacked chart.
type StackSeries struct {
	Key    string
	Counts []int
	Href   templ.SafeURL
}

// niceMax returns an axis top at or above v and a round tick step (1, 2
// or 5 times a power of ten) that gives four to six ticks.
func niceMax(v float64) (float64, float64) {
	if v <= 0 {
		return 1, 1
	}
	raw := v / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	step = math.Max(1, step)
	return math.Ceil(v/step) * step, step
}

// NewBarChart lays out stacked daily bars.
func NewBarChart(days []time.Time, series []StackSeries, w, h float64, label string) BarChart {
	c := BarChart{W: w, H: h, Left: 48, Right: 8, Top: 8, Bot: 22, Label: label}
	c.PlotRight, c.PlotBottom = w-c.Right, h-c.Bot
	n := len(days)
	if n == 0 {
		c.Empty = true
		return c
	}
	maxv := 0
	for d := range n {
		sum := 0
		for _, s := range series {
			if d < len(s.Counts) {
				sum += s.Counts[d]
			}
		}
		maxv = max(maxv, sum)
	}
	c.Empty = maxv == 0
	top, step := niceMax(float64(maxv))
	ph := c.PlotBottom - c.Top
	pw := c.PlotRight - c.Left
	bw := pw / float64(n)
	gap := math.Min(2, bw*0.2)
	for v := 0.0; v <= top+0.5; v += step {
		c.YTicks = append(c.YTicks, Tick{Pos: c.PlotBottom - v/top*ph, Label: Count(int(v))})
	}
	every := max(1, int(math.Ceil(float64(n)/8)))
	for d := 0; d < n; d += every {
		c.XTicks = append(c.XTicks, Tick{Pos: c.Left + (float64(d)+0.5)*bw, Label: days[d].Format("Jan 2")})
	}
	for d := range n {
		y := c.PlotBottom
		for i, s := range series {
			if d >= len(s.Counts) || s.Counts[d] == 0 {
				continue
			}
			hh := float64(s.Counts[d]) / top * ph
			y -= hh
			c.Rects = append(c.Rects, Rect{X: c.Left + float64(d)*bw + gap/2, Y: y, W: bw - gap, H: hh,
				Fill: SeriesColor(i, s.Key), Href: s.Href,
				Title: fmt.Sprintf("%s: %s crashes on %s", Short(s.Key, 80), Count(s.Counts[d]), days[d].Format("Jan 2"))})
		}
	}
	return c
}

// Point is one scatter point.
type Point struct {
	X, Y  float64
	Fill  string
	Title string
	Href  templ.SafeURL
	Cross bool
}

// ScatterChart plots sizes over time on a log scale.
type ScatterChart struct {
	W, H                  float64
	Left, Top             float64
	PlotRight, PlotBottom float64
	Points                []Point
	YTicks, XTicks        []Tick
	Empty                 bool
	Label                 string
}

// SizePoint is one value to plot at a time.
type SizePoint struct {
	At    time.Time
	Bytes uint64
	Cross bool // drawn as a cross (the largest free region)
	Fill  string
	Title string
	Href  templ.SafeURL
}

// NewScatterChart lays out sizes over [from, until) on a log2 axis.
func NewScatterChart(from, until time.Time, pts []SizePoint, w, h float64, label string) ScatterChart {
	c := ScatterChart{W: w, H: h, Left: 70, Top: 8, PlotRight: w - 10, PlotBottom: h - 22, Label: label}
	if len(pts) == 0 {
		c.Empty = true
		return c
	}
	lo, hi := 63.0, 0.0
	for _, p := range pts {
		if p.Bytes == 0 {
			continue
		}
		l := math.Log2(float64(p.Bytes))
		lo, hi = math.Min(lo, l), math.Max(hi, l)
	}
	lo, hi = math.Floor(lo)-1, math.Ceil(hi)+1
	if math.Mod(lo, 2) != 0 {
		lo--
	}
	lo = math.Max(lo, 0)
	span := until.Sub(from).Seconds()
	pw, ph := c.PlotRight-c.Left, c.PlotBottom-c.Top
	y := func(b uint64) float64 {
		if b == 0 {
			return c.PlotBottom
		}
		return c.PlotBottom - (math.Log2(float64(b))-lo)/(hi-lo)*ph
	}
	stepE := math.Max(2, math.Ceil((hi-lo)/6))
	for e := lo; e <= hi; e += stepE {
		c.YTicks = append(c.YTicks, Tick{Pos: y(uint64(math.Exp2(e))), Label: Bytes(uint64(math.Exp2(e)))})
	}
	days := int(math.Round(span / 86400))
	every := max(1, int(math.Ceil(float64(days)/8)))
	for d := 0; d < days; d += every {
		t := from.Add(time.Duration(d) * 24 * time.Hour)
		c.XTicks = append(c.XTicks, Tick{Pos: c.Left + t.Sub(from).Seconds()/span*pw, Label: t.Format("Jan 2")})
	}
	for _, p := range pts {
		c.Points = append(c.Points, Point{X: c.Left + p.At.Sub(from).Seconds()/span*pw, Y: y(p.Bytes), Fill: p.Fill,
			Title: p.Title, Href: p.Href, Cross: p.Cross})
	}
	return c
}

// F writes a coordinate for an SVG attribute.
func F(v float64) string { return fmt.Sprintf("%.1f", v) }

// BarWidth is the width of a horizontal bar as a percentage of the largest.
func BarWidth(n, largest int) string {
	if largest <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(largest))
}
