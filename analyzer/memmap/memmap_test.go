package memmap

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testdataDir is the shared test data directory (../shared/testdata).
func testdataDir(t testing.TB) string { return testdata.Dir(t) }

// realDumps are the dumps with a MemoryInfoList, relative to the shared test data.
func realDumps(t testing.TB) []string {
	td := testdataDir(t)
	aug, err := filepath.Glob(filepath.Join(td, "wine", "dumps", "*", "*_aug.dmp"))
	if err != nil || len(aug) == 0 {
		t.Fatalf("no Wine aug dumps under %s", td)
	}
	out := []string{
		"public/rust-minidump__rust-minidump/testdata/stability-report.dmp",
		"public/google__breakpad/src/processor/testdata/tiny-exe-with-cet-xsave.dmp",
	}
	for _, p := range aug {
		rel, _ := filepath.Rel(td, p)
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out
}

func openDump(t testing.TB, path string) *minidump.Dump {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func summarize(t testing.TB, rel string) (*minidump.Dump, *report.MemorySummary) {
	t.Helper()
	d := openDump(t, filepath.Join(testdataDir(t), rel))
	s, err := Summarize(d, Options{})
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return d, s
}

func entries(list []report.SummaryEntry) map[string]report.SummaryEntry {
	m := map[string]report.SummaryEntry{}
	for _, e := range list {
		m[e.Name] = e
	}
	return m
}

// TestTotalsExact checks the truth the project is judged by: the byte totals
// per state, type and protection equal the sums over the MemoryInfoList, and
// the tables and the region list add up to the whole address space.
func TestTotalsExact(t *testing.T) {
	for _, rel := range realDumps(t) {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			d, s := summarize(t, rel)
			want := map[string]uint64{}
			wantN := map[string]int{}
			prot := map[string]uint64{}
			for _, m := range d.MemoryInfo {
				if m.State != memCommit && m.State != memReserve {
					continue
				}
				want[StateName(m.State)] += m.RegionSize
				want[TypeName(m.Type)] += m.RegionSize
				wantN[TypeName(m.Type)]++
				if m.State == memCommit {
					prot[ProtectName(m.Protect)] += m.RegionSize
				}
			}
			got := entries(append(append([]report.SummaryEntry{}, s.State...), s.Type...))
			for name, bytes := range want {
				if got[name].Bytes != bytes {
					t.Errorf("%s: %d bytes, want %d", name, got[name].Bytes, bytes)
				}
			}
			gp := entries(s.Protect)
			if len(gp) != len(prot) {
				t.Errorf("%d protections, want %d", len(gp), len(prot))
			}
			for name, bytes := range prot {
				if gp[name].Bytes != bytes {
					t.Errorf("protect %s: %d bytes, want %d", name, gp[name].Bytes, bytes)
				}
			}
			if s.AddressSpaceBytes != 0x7FFFFFFF0000 {
				t.Errorf("address space 0x%x, want 0x7FFFFFFF0000", s.AddressSpaceBytes)
			}
			for _, table := range [][]report.SummaryEntry{s.Usage, s.State} {
				var sum uint64
				for _, e := range table {
					sum += e.Bytes
				}
				if sum != s.AddressSpaceBytes {
					t.Errorf("table sums to 0x%x, want 0x%x", sum, s.AddressSpaceBytes)
				}
			}
			var next uint64
			for i, r := range s.Regions {
				if uint64(r.Base) != next || r.End <= r.Base || r.Size != uint64(r.End-r.Base) {
					t.Fatalf("region %d [%v,%v) size 0x%x does not follow 0x%x", i, r.Base, r.End, r.Size, next)
				}
				next = uint64(r.End)
			}
			if next != s.AddressSpaceBytes {
				t.Errorf("regions end at 0x%x", next)
			}
			if e := entries(s.Usage)[UsageFree]; e.Bytes != entries(s.State)["MEM_FREE"].Bytes || e.PctBusy != 0 {
				t.Errorf("Free usage %+v disagrees with MEM_FREE", e)
			}
			if s.Text == "" || !strings.HasPrefix(s.Text, headUsage+"\n") {
				t.Errorf("text rendering missing")
			}
		})
	}
}

// TestWineFacts checks the classification against what the crashing Wine
// programs recorded: the crashing thread's TEB, its stack bounds from the
// TEB and a VirtualQuery of its stack (with the guard page).
func TestWineFacts(t *testing.T) {
	td := testdataDir(t)
	n := 0
	for _, rel := range realDumps(t) {
		if !strings.HasPrefix(rel, "wine/") {
			continue
		}
		facts := wineFacts(t, filepath.Join(td, filepath.Dir(rel), "facts.json"), filepath.Base(rel))
		if facts == nil {
			t.Errorf("%s: no program facts", rel)
			continue
		}
		t.Run(filepath.Base(rel), func(t *testing.T) {
			_, s := summarize(t, rel)
			tid := facts.num(t, "crash_thread_id")
			stackName := fmt.Sprintf("Thread 0x%x stack", tid)
			teb := facts.num(t, "crash_thread_teb")
			r, ok := Lookup(s, teb)
			if !ok || r.Usage != UsageTEB || r.Detail != fmt.Sprintf("TEB of thread 0x%x", tid) || uint64(r.Base) != teb {
				t.Errorf("TEB 0x%x: %+v", teb, r)
			}
			// NT_TIB.StackBase-1 and the DeallocationStack are in the stack.
			for _, a := range []uint64{facts.num(t, "crash_thread_teb_stack_base") - 1, facts.num(t, "crash_thread_teb_deallocation_stack"),
				facts.num(t, "crash_thread_teb_stack_limit")} {
				r, ok := Lookup(s, a)
				if !ok || r.Usage != UsageStack || !strings.HasPrefix(r.Detail, stackName) {
					t.Errorf("stack address 0x%x: %+v", a, r)
				}
			}
			for _, q := range facts.regions(t) {
				r, ok := Lookup(s, q.base)
				if !ok || uint64(r.Base) != q.base || r.Size != q.size || r.Usage != UsageStack {
					t.Errorf("VirtualQuery region %+v: got %+v", q, r)
					continue
				}
				if r.State != StateName(q.state) || r.Protect != ProtectName(q.protect) || r.Type != TypeName(q.typ) {
					t.Errorf("VirtualQuery region %+v: got %s %s %s", q, r.State, r.Protect, r.Type)
				}
				if q.guard != strings.HasSuffix(r.Detail, "guard page") {
					t.Errorf("guard page %v, detail %q", q.guard, r.Detail)
				}
			}
			n++
		})
	}
	if n == 0 {
		t.Error("no Wine dump checked")
	}
}

type programFacts map[string]any

func (f programFacts) num(t *testing.T, key string) uint64 {
	t.Helper()
	return parseNum(t, f[key])
}

func parseNum(t *testing.T, v any) uint64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return uint64(x)
	case string:
		n, err := strconv.ParseUint(x, 0, 64)
		if err != nil {
			t.Fatalf("bad number %q", x)
		}
		return n
	}
	t.Fatalf("missing number (%T)", v)
	return 0
}

type queryRegion struct {
	base, size          uint64
	state, protect, typ uint32
	guard               bool
}

func (f programFacts) regions(t *testing.T) []queryRegion {
	list, _ := f["crash_thread_stack_regions"].([]any)
	if len(list) == 0 {
		t.Fatal("no crash_thread_stack_regions")
	}
	var out []queryRegion
	for _, x := range list {
		m := x.(map[string]any)
		g, _ := m["guard"].(bool)
		out = append(out, queryRegion{base: parseNum(t, m["base"]), size: parseNum(t, m["size"]),
			state: uint32(parseNum(t, m["state"])), protect: uint32(parseNum(t, m["protect"])), typ: uint32(parseNum(t, m["type"])), guard: g})
	}
	return out
}

// wineFacts finds the program facts of the run that wrote the dump.
func wineFacts(t *testing.T, path, dump string) programFacts {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs map[string]struct {
			DumpSets map[string]struct {
				ProgramFacts programFacts    `json:"program_facts"`
				Dumps        json.RawMessage `json:"dumps"`
			} `json:"dump_sets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, run := range doc.Runs {
		for _, set := range run.DumpSets {
			if strings.Contains(string(set.Dumps), dump) {
				return set.ProgramFacts
			}
		}
	}
	return nil
}

// TestLLDBRegions cross-checks the region list against LLDB 14's reading of
// the Wine dumps (its transcripts list every region with `memregions`): the
// same boundaries, and free exactly where LLDB says unmapped.
func TestLLDBRegions(t *testing.T) {
	td := testdataDir(t)
	for _, rel := range realDumps(t) {
		if !strings.HasPrefix(rel, "wine/") {
			continue
		}
		t.Run(filepath.Base(rel), func(t *testing.T) {
			transcript := filepath.Join(td, strings.TrimSuffix(rel, ".dmp")+".lldb.txt")
			want := lldbRegions(t, transcript)
			d, s := summarize(t, rel)
			if len(want) != len(d.MemoryInfo) {
				t.Errorf("lldb lists %d regions, the MemoryInfoList %d", len(want), len(d.MemoryInfo))
			}
			for _, w := range want {
				r, ok := Lookup(s, w.base)
				if !ok || uint64(r.Base) != w.base {
					t.Errorf("lldb region [0x%x,0x%x) does not start a region: %+v", w.base, w.end, r)
					continue
				}
				if (r.State == "MEM_FREE") != w.unmapped {
					t.Errorf("lldb region [0x%x,0x%x) unmapped=%v, ours %s", w.base, w.end, w.unmapped, r.State)
				}
				// Our regions refine LLDB's: each ends within it, the last exactly at its end.
				end := uint64(r.End)
				for end < w.end {
					r2, ok := Lookup(s, end)
					if !ok || r2.State != r.State || r2.Protect != r.Protect {
						t.Errorf("lldb region [0x%x,0x%x) split into unlike pieces at 0x%x", w.base, w.end, end)
						break
					}
					end = uint64(r2.End)
				}
				if end != w.end {
					t.Errorf("lldb region [0x%x,0x%x): ours end at 0x%x", w.base, w.end, end)
				}
			}
		})
	}
}

type lldbRegion struct {
	base, end uint64
	unmapped  bool
}

func lldbRegions(t *testing.T, path string) []lldbRegion {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []lldbRegion
	count := -1
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "memory regions: ") {
			count, _ = strconv.Atoi(strings.TrimPrefix(line, "memory regions: "))
			continue
		}
		var lo, hi uint64
		if _, err := fmt.Sscanf(line, "[0x%x-0x%x)", &lo, &hi); err != nil {
			continue
		}
		out = append(out, lldbRegion{base: lo, end: hi, unmapped: strings.Contains(line, "(unmapped)")})
	}
	if count != len(out) || count <= 0 {
		t.Fatalf("%s: %d regions parsed, header says %d", path, len(out), count)
	}
	return out
}

// TestGolden compares the text rendering of each real dump with its golden
// file; run with -update after reviewing a change by eye.
func TestGolden(t *testing.T) {
	for _, rel := range realDumps(t) {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			_, s := summarize(t, rel)
			var b strings.Builder
			b.WriteString(s.Text)
			for _, n := range s.Notes {
				b.WriteString("note: " + n + "\n")
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(rel), ".dmp")+".txt")
			checkGolden(t, golden, b.String())
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestNoMemoryInfo(t *testing.T) {
	d := openDump(t, filepath.Join(testdataDir(t), "wine/dumps/av_threads/av_threads_x64_mingw_normal.dmp"))
	if _, err := Summarize(d, Options{}); err != ErrNoMemoryInfo {
		t.Errorf("err = %v, want ErrNoMemoryInfo", err)
	}
	if _, err := Summarize(nil, Options{}); err != ErrNoMemoryInfo {
		t.Errorf("nil dump: err = %v", err)
	}
}
