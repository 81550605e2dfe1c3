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

// Rect is one bar segment, in the plot's own units (see BarChart).
type Rect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
	Href       templ.SafeURL
}

// Tick is an axis label. On the x axis Pos is a percentage of the plot's
// width and Align says which end of the label sits there (start, middle,
// end), so labels at the edges stay inside the chart; on the y axis Pos is
// in pixels from the top. Minor ticks are left out on narrow screens.
type Tick struct {
	Pos   float64
	Label string
	Align string
	Minor bool
}

// DayRow is one row of a chart's data table, its text alternative.
type DayRow struct {
	Day   string
	Count int
}

// BarChart is a stacked bar chart over days. The bars are an SVG whose
// viewBox (W wide, PlotH high) stretches to the page's width; the axis
// labels are HTML beside and below it, so they keep their size on a phone
// and on a wide screen alike.
type BarChart struct {
	W, H           float64 // W: viewBox width; H: the whole chart's height in px
	PlotH          float64 // the bars' height in px
	Rects          []Rect
	YTicks, XTicks []Tick
	Empty          bool
	Label          string // for screen readers
	Desc           string // what the chart shows, in a sentence
	Rows           []DayRow
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

// xTicks labels about eight of n evenly spaced slots; every other one is
// minor, so a phone shows about four.
func xTicks(n int, pos func(i int) float64, label func(i int) string) []Tick {
	var ts []Tick
	every := max(1, int(math.Ceil(float64(n)/8)))
	for i, k := 0, 0; i < n; i, k = i+every, k+1 {
		p := pos(i)
		align := "middle"
		switch {
		case p < 8:
			align = "start"
		case p > 92:
			align = "end"
		}
		ts = append(ts, Tick{Pos: p, Label: label(i), Align: align, Minor: k%2 == 1})
	}
	return ts
}

// NewBarChart lays out stacked daily bars in a chart h pixels high.
func NewBarChart(days []time.Time, series []StackSeries, w, h float64, label string) BarChart {
	c := BarChart{W: w, H: h, PlotH: h - 24, Label: label}
	n := len(days)
	if n == 0 {
		c.Empty = true
		return c
	}
	maxv, total, peak := 0, 0, 0
	for d := range n {
		sum := 0
		for _, s := range series {
			if d < len(s.Counts) {
				sum += s.Counts[d]
			}
		}
		if sum > 0 {
			c.Rows = append(c.Rows, DayRow{Day: days[d].Format("2006-01-02"), Count: sum})
		}
		if sum > maxv {
			maxv, peak = sum, d
		}
		total += sum
	}
	c.Empty = maxv == 0
	c.Desc = fmt.Sprintf("%s from %s to %s; the most, %s, on %s.", Plural(total, "crash", "crashes"), days[0].Format("Jan 2, 2006"),
		days[n-1].Format("Jan 2, 2006"), Count(maxv), days[peak].Format("Jan 2"))
	top, step := niceMax(float64(maxv))
	ph := c.PlotH - 6 // room for the top label
	for v := 0.0; v <= top+0.5; v += step {
		c.YTicks = append(c.YTicks, Tick{Pos: c.PlotH - v/top*ph, Label: Count(int(v))})
	}
	bw := w / float64(n)
	gap := math.Min(2, bw*0.2)
	c.XTicks = xTicks(n, func(d int) float64 { return (float64(d) + 0.5) / float64(n) * 100 },
		func(d int) string { return days[d].Format("Jan 2") })
	for d := range n {
		y := c.PlotH
		for i, s := range series {
			if d >= len(s.Counts) || s.Counts[d] == 0 {
				continue
			}
			hh := float64(s.Counts[d]) / top * ph
			y -= hh
			c.Rects = append(c.Rects, Rect{X: float64(d)*bw + gap/2, Y: y, W: bw - gap, H: hh,
				Fill: SeriesColor(i, s.Key), Href: s.Href,
				Title: fmt.Sprintf("%s: %s on %s", Short(s.Key, 80), Plural(s.Counts[d], "crash", "crashes"), days[d].Format("Jan 2"))})
		}
	}
	return c
}

// Point is one scatter point: X a percentage of the plot's width, Y pixels
// from its top.
type Point struct {
	X, Y  float64
	Fill  string
	Title string
	Href  templ.SafeURL
	Cross bool
}

// ScatterChart plots sizes over time on a log scale. Its points are HTML
// over a stretched SVG grid, so they stay round at every width.
type ScatterChart struct {
	W, H           float64
	PlotH          float64
	Points         []Point
	YTicks, XTicks []Tick
	Empty          bool
	Label          string
	Desc           string
	// Rows are the points as a table (the first ScatterRows of them).
	Rows []SizePoint
	More int // points left out of Rows
}

// ScatterRows is how many points a scatter chart's data table lists.
const ScatterRows = 100

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
	c := ScatterChart{W: w, H: h, PlotH: h - 24, Label: label}
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
	ph := c.PlotH - 6
	y := func(b uint64) float64 {
		if b == 0 {
			return c.PlotH
		}
		return c.PlotH - (math.Log2(float64(b))-lo)/(hi-lo)*ph
	}
	stepE := math.Max(2, math.Ceil((hi-lo)/6))
	for e := lo; e <= hi; e += stepE {
		c.YTicks = append(c.YTicks, Tick{Pos: y(uint64(math.Exp2(e))), Label: Bytes(uint64(math.Exp2(e)))})
	}
	days := int(math.Round(span / 86400))
	at := func(d int) time.Time { return from.Add(time.Duration(d) * 24 * time.Hour) }
	c.XTicks = xTicks(days, func(d int) float64 { return at(d).Sub(from).Seconds() / span * 100 },
		func(d int) string { return at(d).Format("Jan 2") })
	for _, p := range pts {
		c.Points = append(c.Points, Point{X: p.At.Sub(from).Seconds() / span * 100, Y: y(p.Bytes), Fill: p.Fill,
			Title: p.Title, Href: p.Href, Cross: p.Cross})
	}
	c.Rows = pts[:min(len(pts), ScatterRows)]
	c.More = len(pts) - len(c.Rows)
	c.Desc = fmt.Sprintf("%s from %s to %s, on a logarithmic scale from %s to %s.", Plural(len(pts), "size", "sizes"),
		from.Format("Jan 2, 2006"), until.AddDate(0, 0, -1).Format("Jan 2, 2006"), Bytes(uint64(math.Exp2(lo))), Bytes(uint64(math.Exp2(hi))))
	return c
}

// PctF writes a percentage for a style.
func PctF(v float64) string { return fmt.Sprintf("%.2f%%", v) }

// F writes a coordinate for an SVG attribute.
func F(v float64) string { return fmt.Sprintf("%.1f", v) }

// BarWidth is the width of a horizontal bar as a percentage of the largest.
func BarWidth(n, largest int) string {
	if largest <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(largest))
}
