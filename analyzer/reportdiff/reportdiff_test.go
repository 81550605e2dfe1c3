package reportdiff

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	shared "github.com/dumptriage/dumptriage/internal/testdata"
)

func rep(code uint32, ver string, mods map[string]string, frames ...string) *report.Report {
	r := &report.Report{Exception: &report.ExceptionRecord{Code: report.Hex32(code)}, Process: report.ProcessInfo{Version: ver},
		CrashingThread: &report.CrashingThread{}}
	for name, v := range mods {
		r.Modules = append(r.Modules, report.Module{Filename: name, Version: v})
	}
	for i, f := range frames {
		mod, fn, _ := strings.Cut(f, "!")
		r.CrashingThread.Frames = append(r.CrashingThread.Frames, report.Frame{Frame: i, Module: mod, Function: fn, FunctionOffset: 0x10})
	}
	return r
}

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		name     string
		a, b     *report.Report
		frames   int
		want     string // fields that differ, modules, frame rows marked
		wantRows string
	}{
		{"identical", rep(0xc0000005, "1.0", map[string]string{"a.dll": "1"}, "a.dll!f", "b.exe!main"),
			rep(0xc0000005, "1.0", map[string]string{"A.DLL": "1"}, "a.dll!f", "b.exe!main"), 10,
			"differ[] onlyA[] onlyB[] versions[] same 1", "0= 1="},
		{"modules and versions", rep(0xc0000005, "1.0", map[string]string{"a.dll": "1", "gone.dll": "3", "z.dll": "1"}, "a.dll!f"),
			rep(0xc0000409, "1.1", map[string]string{"a.dll": "2", "new.dll": "", "z.dll": "1"}, "a.dll!g", "b.exe!main"), 10,
			"differ[code process version] onlyA[gone.dll 3] onlyB[new.dll ] versions[a.dll 1>2] same 1", "0* 1*"},
		{"frames capped", rep(1, "", nil, "m!a", "m!b", "m!c"), rep(1, "", nil, "m!a", "m!x", "m!c"), 2,
			"differ[] onlyA[] onlyB[] versions[] same 0", "0= 1*"},
		{"no frames asked", rep(1, "", nil, "m!a"), rep(1, "", nil, "m!b"), -1, "differ[] onlyA[] onlyB[] versions[] same 0", ""},
	} {
		d := Compare(tt.a, tt.b, tt.frames)
		var differ []string
		for _, f := range append(d.Exception, d.Versions...) {
			if f.Differs {
				differ = append(differ, f.Name)
			}
		}
		var va []string
		for _, m := range d.ModuleVersions {
			va = append(va, m.Name+" "+m.A+">"+m.B)
		}
		got := fmt.Sprintf("differ%v onlyA%v onlyB%v versions%v same %d", differ, d.OnlyA, d.OnlyB, va, d.SameModules)
		got = strings.NewReplacer("{", "", "}", "").Replace(got)
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		var rows []string
		for _, r := range d.Frames {
			mark := "="
			if r.Differs {
				mark = "*"
			}
			rows = append(rows, fmt.Sprint(r.Index)+mark)
		}
		if strings.Join(rows, " ") != tt.wantRows {
			t.Errorf("%s: rows %v, want %s", tt.name, rows, tt.wantRows)
		}
	}
}

// TestCompareRealDumps: Breakpad's null_read_av and ascii_write_av crash in
// one place of crashme.exe (one signature) by a read of 0 and a write of
// 0x41414141.
func TestCompareRealDumps(t *testing.T) {
	load := func(name string) *report.Report {
		path := shared.Path(t, "public/google__breakpad/src/processor/testdata/"+name)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		r, err := analyzer.Analyze(context.Background(), f, fi.Size(), analyzer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := load("null_read_av.dmp"), load("ascii_write_av.dmp")
	if a.Signature != b.Signature {
		t.Fatalf("signatures %q and %q: the test needs one group", a.Signature, b.Signature)
	}
	d := Compare(a, b, 10)
	got := map[string]Field{}
	for _, f := range append(d.Exception, d.Versions...) {
		got[f.Name] = f
	}
	for _, w := range []Field{
		{"code", "0xc0000005", "0xc0000005", false},
		{"crash type", "EXCEPTION_ACCESS_VIOLATION_READ", "EXCEPTION_ACCESS_VIOLATION_WRITE", true},
		{"accessed address", "0x0", "0x41414141", true},
		{"parameters", "0x0 0x0", "0x1 0x41414141", true},
		{"OS version", "6.1.7600", "6.1.7600", false},
	} {
		if got[w.Name] != w {
			t.Errorf("%s: %+v, want %+v", w.Name, got[w.Name], w)
		}
	}
	if len(d.Frames) < 3 || d.Frames[0].Differs || d.Frames[0].A != "crashme.exe+0xa6cd" {
		t.Errorf("top frames: %+v", d.Frames)
	}
	if len(d.OnlyA)+len(d.OnlyB) != 0 || d.SameModules+len(d.ModuleVersions) != len(a.Modules) {
		t.Errorf("modules: only %v / %v, %d same of %d", d.OnlyA, d.OnlyB, d.SameModules, len(a.Modules))
	}
}
