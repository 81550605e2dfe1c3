package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// moduleDump is a dump of TestBackendsModuleHistory: what the reporter
// sent and what the analysis found.
type moduleDump struct {
	ann      map[string]string
	process  string
	modules  []report.Module
	faulting string
	frames   []string
}

func (m moduleDump) analysis() *Analysis {
	rep := &report.Report{Signature: "sig | " + m.faulting, AnalyzerVersion: "test", Modules: m.modules,
		Process: report.ProcessInfo{Name: m.process}}
	if m.faulting != "" {
		rep.Exception = &report.ExceptionRecord{Module: m.faulting}
	}
	a, _ := NewAnalysis(rep, time.Now(), 0)
	for _, f := range m.frames {
		a.Frames = append(a.Frames, FrameRow{Module: f})
	}
	return a
}

// TestBackendsModuleHistory: a module's versions and counts as analyses
// land and move, on both backends. The crash reporter's version names the
// main module's version; other modules keep their version resource.
func TestBackendsModuleHistory(t *testing.T) {
	game := report.Module{Filename: "Game.exe", Version: "0.0.0.1"}
	a5 := report.Module{Filename: "a.dll", Version: "5.0"}
	a6 := report.Module{Filename: "a.dll", Version: "6.0"}
	dumps := []moduleDump{
		// The reporter's version wins for the main module, on the stack and faulting.
		{ann: map[string]string{"prod": "Game", "ver": "1.2"}, process: "game.exe", modules: []report.Module{game, a5},
			faulting: "Game.exe", frames: []string{"game.exe", "a.dll", "A.DLL", "kernelbase.dll"}},
		// No reporter: the version resource.
		{process: "game.exe", modules: []report.Module{game, a5}, faulting: "a.dll",
			frames: []string{"a.dll", "game.exe", "kernelbase.dll"}},
		// a.dll 6.0 only on the stack; kernelbase.dll never faults.
		{process: "game.exe", modules: []report.Module{game, a6}, faulting: "game.exe",
			frames: []string{"game.exe", "a.dll", "kernelbase.dll"}},
	}
	type version struct {
		v       string
		f, s    int
		present bool
	}
	type want struct {
		module          string
		faulting, stack int
		versions        []version
	}
	check := func(t *testing.T, st *Store, wants []want) {
		t.Helper()
		ctx := context.Background()
		for _, w := range wants {
			mi, err := st.ModuleInfo(ctx, ModuleInfoQuery{Name: w.module, Days: 7})
			if err != nil {
				t.Fatalf("%s: %v", w.module, err)
			}
			if mi.Faulting != w.faulting || mi.OnStack != w.stack {
				t.Errorf("%s: faulting %d, on stack %d; want %d, %d", w.module, mi.Faulting, mi.OnStack, w.faulting, w.stack)
			}
			got := map[string]ModuleVersion{}
			for _, v := range mi.Versions {
				got[v.Version] = v
			}
			for _, v := range w.versions {
				g, ok := got[v.v]
				if ok != v.present || g.Faulting != v.f || g.OnStack != v.s {
					t.Errorf("%s %q: %+v (listed %v); want faulting %d, stack %d, listed %v", w.module, v.v, g, ok, v.f, v.s, v.present)
				}
			}
			if len(mi.FaultingDumps.Dumps) != w.faulting || len(mi.StackDumps.Dumps) != w.stack {
				t.Errorf("%s: %d faulting and %d stack dumps listed", w.module, len(mi.FaultingDumps.Dumps), len(mi.StackDumps.Dumps))
			}
			sum := 0
			for _, s := range mi.Chart.Series {
				sum += s.Total
			}
			n := w.stack
			if w.stack == 0 {
				n = w.faulting
			}
			if sum != n || mi.Chart.Daily[len(mi.Chart.Daily)-1] != n {
				t.Errorf("%s: chart has %d crashes (today %d), want %d", w.module, sum, mi.Chart.Daily[len(mi.Chart.Daily)-1], n)
			}
		}
	}
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		jobs := map[string]*Job{}
		var ids []string
		for i, d := range dumps {
			res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(uint64(900+i), 4096)), Upload{Annotations: d.ann})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Dump.ID)
		}
		for range dumps {
			j, err := st.Queue.Claim(ctx, "test/1/0", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			jobs[j.DumpID] = j
		}
		for i, id := range ids {
			if err := st.Queue.Finish(ctx, jobs[id], dumps[i].analysis(), ""); err != nil {
				t.Fatal(err)
			}
		}
		check(t, st, []want{
			{"game.exe", 2, 3, []version{{"1.2", 1, 1, true}, {"0.0.0.1", 1, 2, true}}},
			{"a.dll", 1, 3, []version{{"5.0", 1, 2, true}, {"6.0", 0, 1, true}}},
			{"kernelbase.dll", 0, 3, []version{{"", 0, 3, true}}},
		})
		page, err := st.ModuleStats(ctx, ModuleQuery{Search: "a.dll"})
		if err != nil || len(page.Modules) != 1 || page.Modules[0].VersionCount != 2 || len(page.Modules[0].Versions) != 2 ||
			page.Modules[0].Versions[0].Version != "5.0" {
			t.Fatalf("module list: %+v %v", page.Modules, err)
		}
		// A re-analysis moves the first dump's counts: a.dll faults, game.exe leaves its stack.
		if err := st.Reanalyze(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		j, err := st.Queue.Claim(ctx, "test/1/0", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		moved := dumps[0]
		moved.faulting, moved.frames = "a.dll", []string{"a.dll", "kernelbase.dll"}
		if err := st.Queue.Finish(ctx, j, moved.analysis(), ""); err != nil {
			t.Fatal(err)
		}
		check(t, st, []want{
			{"game.exe", 1, 2, []version{{"1.2", 0, 0, false}, {"0.0.0.1", 1, 2, true}}},
			{"a.dll", 2, 3, []version{{"5.0", 2, 2, true}, {"6.0", 0, 1, true}}},
		})
		// Deleting a dump takes it out of every count.
		if _, err := st.DeleteDump(ctx, ids[2]); err != nil {
			t.Fatal(err)
		}
		check(t, st, []want{
			{"game.exe", 0, 1, []version{{"0.0.0.1", 0, 1, true}}},
			{"a.dll", 2, 2, []version{{"5.0", 2, 2, true}, {"6.0", 0, 0, false}}},
		})
		if _, err := st.ModuleInfo(ctx, ModuleInfoQuery{Name: "nope.dll"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown module: %v", err)
		}
	})
}

// TestModuleInfoQuery: the page's query values are bounded and the dump
// lists page.
func TestModuleInfoQuery(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 400, 200)
		ctx := context.Background()
		mods, err := s.ModuleStats(ctx, ModuleQuery{Limit: 1})
		if err != nil || len(mods.Modules) == 0 {
			t.Fatal(err)
		}
		top := mods.Modules[0]
		if len(top.Versions) == 0 || top.VersionCount < len(top.Versions) {
			t.Fatalf("top module's versions: %+v", top)
		}
		for _, tc := range []struct {
			name string
			q    ModuleInfoQuery
			bad  bool
		}{
			{"defaults", ModuleInfoQuery{}, false},
			{"faulting chart", ModuleInfoQuery{Chart: KindFaulting, Days: 30}, false},
			{"a year", ModuleInfoQuery{Days: MaxModuleDays}, false},
			{"too many days", ModuleInfoQuery{Days: MaxModuleDays + 1}, true},
			{"negative days", ModuleInfoQuery{Days: -1}, true},
			{"unknown chart", ModuleInfoQuery{Chart: "all"}, true},
			{"negative offset", ModuleInfoQuery{StackOffset: -1}, true},
			{"deep offset", ModuleInfoQuery{FaultingOffset: MaxModuleOffset + 1}, true},
			{"second page", ModuleInfoQuery{StackOffset: 5, Limit: 5}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.Name = top.Name
				mi, err := s.ModuleInfo(ctx, tc.q)
				if tc.bad {
					if !errors.Is(err, ErrBadRequest) {
						t.Fatalf("want a bad request, got %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(mi.Chart.Days) != mi.Query.Days || len(mi.Chart.Daily) != mi.Query.Days {
					t.Errorf("chart of %d days for %d", len(mi.Chart.Days), mi.Query.Days)
				}
				if len(mi.Chart.Series) > maxChartVersions+1 {
					t.Errorf("%d series", len(mi.Chart.Series))
				}
				for d := range mi.Chart.Daily {
					sum := 0
					for _, s := range mi.Chart.Series {
						sum += s.Counts[d]
					}
					if sum != mi.Chart.Daily[d] {
						t.Fatalf("day %d: series add to %d, total %d", d, sum, mi.Chart.Daily[d])
					}
				}
				for _, l := range []ModuleDumps{mi.FaultingDumps, mi.StackDumps} {
					if len(l.Dumps) > mi.Query.Limit {
						t.Errorf("%d dumps listed, limit %d", len(l.Dumps), mi.Query.Limit)
					}
					for i := 1; i < len(l.Dumps); i++ {
						if l.Dumps[i].UploadedAt.After(l.Dumps[i-1].UploadedAt) {
							t.Errorf("dumps not newest first")
						}
					}
				}
			})
		}
		// The two pages of the stack list meet without overlap.
		p1, err := s.ModuleInfo(ctx, ModuleInfoQuery{Name: top.Name, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s.ModuleInfo(ctx, ModuleInfoQuery{Name: top.Name, Limit: 5, StackOffset: 5})
		if err != nil || !p1.StackDumps.More || len(p2.StackDumps.Dumps) == 0 {
			t.Fatalf("pages: %v", err)
		}
		seen := map[string]bool{}
		for _, d := range append(p1.StackDumps.Dumps, p2.StackDumps.Dumps...) {
			if seen[d.ID] {
				t.Errorf("dump %s on both pages", d.ID)
			}
			seen[d.ID] = true
		}
		// A version filter lists only that version's dumps.
		v := top.Versions[0].Version
		byv, err := s.ModuleInfo(ctx, ModuleInfoQuery{Name: top.Name, Version: v, Limit: 100})
		if err != nil || len(byv.StackDumps.Dumps) == 0 {
			t.Fatalf("by version: %v", err)
		}
		for _, d := range byv.StackDumps.Dumps {
			if d.ModuleVersion != v {
				t.Errorf("dump %s has version %q, want %q", d.ID, d.ModuleVersion, v)
			}
		}
	})
}
