package components

import (
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/store"
)

// ModuleView is one module's crash history by version.
type ModuleView struct {
	Meta Meta
	Info store.ModuleInfo
	// The chart twice: wide for screens, narrow (readable labels at 390 px)
	// for phones; CSS shows one.
	Wide, Narrow BarChart
	Now          time.Time
	// Pages of the two dump lists.
	FaultingPrev, FaultingNext templ.SafeURL
	StackPrev, StackNext       templ.SafeURL
}

// NewModuleView lays out a module page's chart.
func NewModuleView(meta Meta, mi store.ModuleInfo, now time.Time) ModuleView {
	v := ModuleView{Meta: meta, Info: mi, Now: now}
	series := make([]StackSeries, len(mi.Chart.Series))
	for i, s := range mi.Chart.Series {
		series[i] = StackSeries{Key: s.Key, Counts: s.Counts}
		if s.Key != "other" {
			series[i].Href = v.Link("version", s.Key)
		}
	}
	label := "crashes per version per day with " + mi.Name + " " + ChartKind(mi.Chart.Kind)
	v.Wide = NewBarChart(mi.Chart.Days, series, 1000, 200, label)
	v.Narrow = NewBarChart(mi.Chart.Days, series, 360, 240, label)
	// Half the day labels, so that they do not touch at phone width.
	ticks := v.Narrow.XTicks[:0:0]
	for i, t := range v.Narrow.XTicks {
		if i%2 == 0 {
			ticks = append(ticks, t)
		}
	}
	v.Narrow.XTicks = ticks
	v.FaultingPrev, v.FaultingNext = v.pages("foffset", mi.FaultingDumps)
	v.StackPrev, v.StackNext = v.pages("soffset", mi.StackDumps)
	return v
}

// ChartKind says what a module chart counts.
func ChartKind(kind string) string {
	if kind == store.KindFaulting {
		return "as the faulting module"
	}
	return "on the crashing stack"
}

// Link is the module page with one query value changed and the dump
// lists back at their first page.
func (v ModuleView) Link(key, value string) templ.SafeURL {
	return v.url(map[string]string{key: value, "foffset": "", "soffset": ""})
}

// url is the module page's URL with some query values changed.
func (v ModuleView) url(set map[string]string) templ.SafeURL {
	q := v.Info.Query
	vals := map[string]string{"chart": q.Chart, "version": q.Version}
	if q.Days != 90 {
		vals["days"] = strconv.Itoa(q.Days)
	}
	if q.FaultingOffset > 0 {
		vals["foffset"] = strconv.Itoa(q.FaultingOffset)
	}
	if q.StackOffset > 0 {
		vals["soffset"] = strconv.Itoa(q.StackOffset)
	}
	for k, s := range set {
		vals[k] = s
	}
	u := url.Values{}
	for k, s := range vals {
		if s != "" && s != "0" {
			u.Set(k, s)
		}
	}
	s := string(ModuleURL(v.Info.Name))
	if len(u) > 0 {
		s += "?" + u.Encode()
	}
	return templ.SafeURL(s)
}

// pages are the previous and next pages of one of the dump lists.
func (v ModuleView) pages(param string, l store.ModuleDumps) (prev, next templ.SafeURL) {
	limit := v.Info.Query.Limit
	if l.Offset > 0 {
		prev = v.url(map[string]string{param: strconv.Itoa(max(0, l.Offset-limit))})
	}
	if l.More && l.Offset+limit <= store.MaxModuleOffset {
		next = v.url(map[string]string{param: strconv.Itoa(l.Offset + limit)})
	}
	return prev, next
}

// VersionLabel names a version, or says there was none.
func VersionLabel(v string) string { return Or(v, "(no version)") }

// moreVersions says how many versions a module list row leaves out.
func moreVersions(m store.ModuleStat) string {
	if n := m.VersionCount - len(m.Versions); n > 0 {
		return "+" + Count(n) + " more"
	}
	return ""
}

// versionSuffix names the version the dump lists are limited to.
func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " in version " + v
}
