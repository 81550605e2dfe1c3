// Package reportdiff compares two reports of one crash group: what differs
// in their exceptions, versions, loaded modules and top frames, so a triager
// can see what two crashes with one signature do not share.
package reportdiff

import (
	"cmp"
	"slices"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Field is one compared value of the two reports.
type Field struct {
	Name    string `json:"name"`
	A       string `json:"a"`
	B       string `json:"b"`
	Differs bool   `json:"differs"`
}

// NewField compares one value.
func NewField(name, a, b string) Field { return Field{Name: name, A: a, B: b, Differs: a != b} }

// Module is a module loaded in one report only.
type Module struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ModuleVersion is a module loaded in both, in other versions.
type ModuleVersion struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// FrameRow is frame Index of both crashing stacks; "" where a stack is
// shorter. SameFunction: the frames differ only in their offsets.
type FrameRow struct {
	Index        int    `json:"index"`
	A            string `json:"a"`
	B            string `json:"b"`
	Differs      bool   `json:"differs"`
	SameFunction bool   `json:"same_function,omitempty"`
}

// Diff is what two reports share and do not.
type Diff struct {
	Exception      []Field         `json:"exception"`
	Versions       []Field         `json:"versions"`
	OnlyA          []Module        `json:"modules_only_a"`
	OnlyB          []Module        `json:"modules_only_b"`
	ModuleVersions []ModuleVersion `json:"module_versions"`
	SameModules    int             `json:"same_modules"` // loaded in both, in one version
	Frames         []FrameRow      `json:"frames"`
	FramesDiffer   int             `json:"frames_differ"`
}

// Lists longer than MaxModules are compared in part: a report lists at most
// what the analyzer kept, but the diff is a page.
const MaxModules = 5000

// Compare compares a and b, with their crashing stacks' top frames (at most
// frames of them).
func Compare(a, b *report.Report, frames int) Diff {
	// Empty lists, not nil: the JSON says [] for "none".
	d := Diff{OnlyA: []Module{}, OnlyB: []Module{}, ModuleVersions: []ModuleVersion{}, Frames: []FrameRow{}}
	d.Exception = exception(a, b)
	d.Versions = []Field{
		NewField("process", a.Process.Name, b.Process.Name),
		NewField("process version", a.Process.Version, b.Process.Version),
		NewField("OS", a.SystemInfo.OS, b.SystemInfo.OS),
		NewField("OS version", a.SystemInfo.OSVer, b.SystemInfo.OSVer),
		NewField("CPU", a.SystemInfo.CPUArch, b.SystemInfo.CPUArch),
	}
	d.modules(a.Modules, b.Modules)
	fa, fb := stack(a), stack(b)
	n := min(max(len(fa), len(fb)), max(frames, 0))
	for i := 0; i < n; i++ {
		row := FrameRow{Index: i}
		var na, nb string
		if i < len(fa) {
			row.A, na = frameText(fa[i]), function(fa[i])
		}
		if i < len(fb) {
			row.B, nb = frameText(fb[i]), function(fb[i])
		}
		row.Differs = row.A != row.B
		row.SameFunction = row.Differs && na != "" && na == nb
		if row.Differs {
			d.FramesDiffer++
		}
		d.Frames = append(d.Frames, row)
	}
	return d
}

func exception(a, b *report.Report) []Field {
	type exc struct{ code, name, addr, params, crashType, crashAddr string }
	get := func(r *report.Report) exc {
		var e exc
		if x := r.Exception; x != nil {
			e.code, e.name, e.addr = x.Code.String(), x.Name, x.Address.String()
			ps := make([]string, len(x.Parameters))
			for i, p := range x.Parameters {
				ps[i] = p.String()
			}
			e.params = strings.Join(ps, " ")
		}
		e.crashType = r.CrashInfo.Type
		if r.CrashInfo.Address != nil {
			e.crashAddr = r.CrashInfo.Address.String()
		}
		return e
	}
	x, y := get(a), get(b)
	return []Field{
		NewField("code", x.code, y.code),
		NewField("name", x.name, y.name),
		NewField("crash type", x.crashType, y.crashType),
		NewField("exception address", x.addr, y.addr),
		NewField("accessed address", x.crashAddr, y.crashAddr),
		NewField("parameters", x.params, y.params),
	}
}

func (d *Diff) modules(a, b []report.Module) {
	index := func(ms []report.Module) map[string]report.Module {
		out := make(map[string]report.Module, min(len(ms), MaxModules))
		for _, m := range ms[:min(len(ms), MaxModules)] {
			name := strings.ToLower(m.Filename)
			if _, dup := out[name]; !dup {
				out[name] = m
			}
		}
		return out
	}
	ia, ib := index(a), index(b)
	for name, m := range ia {
		o, ok := ib[name]
		switch {
		case !ok:
			d.OnlyA = append(d.OnlyA, Module{m.Filename, m.Version})
		case m.Version != o.Version:
			d.ModuleVersions = append(d.ModuleVersions, ModuleVersion{m.Filename, m.Version, o.Version})
		default:
			d.SameModules++
		}
	}
	for name, m := range ib {
		if _, ok := ia[name]; !ok {
			d.OnlyB = append(d.OnlyB, Module{m.Filename, m.Version})
		}
	}
	byName := func(x, y Module) int { return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) }
	slices.SortFunc(d.OnlyA, byName)
	slices.SortFunc(d.OnlyB, byName)
	slices.SortFunc(d.ModuleVersions, func(x, y ModuleVersion) int {
		return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
}

// stack is the crashing thread's frames.
func stack(r *report.Report) []report.Frame {
	if r.CrashingThread != nil {
		return r.CrashingThread.Frames
	}
	return nil
}

// frameText is the frame as WinDbg's k writes it, without its source line.
func frameText(f report.Frame) string {
	s := report.FrameText(f)
	if i := strings.Index(s, " ["); i > 0 {
		return s[:i]
	}
	return s
}

// function is module!function, or "" for a frame without a name.
func function(f report.Frame) string {
	if f.Function == "" {
		return ""
	}
	return f.Module + "!" + f.Function
}
