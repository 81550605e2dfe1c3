package analyzer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/memmap"
	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/stackoverflow"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestWineOverflowFromRegions checks the stack-overflow facts of the Wine
// dumps that carry a MemoryInfoList but no TEB (*_aug.dmp) against what the
// crashing program read from its own TEB and VirtualQuery (facts.json).
func TestWineOverflowFromRegions(t *testing.T) {
	dlls := testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")
	n := 0
	for _, c := range wineCases(t) {
		if !strings.HasSuffix(c.path, "_aug.dmp") || c.facts["expected_crash_stack_innermost_user_function"] != "parse_expression" {
			continue
		}
		n++
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			pf := c.facts
			num := func(k string) uint64 {
				v, ok := factNum(pf[k])
				if !ok {
					t.Fatalf("facts.json has no %s", k)
				}
				return v
			}
			base, limit, dealloc := num("crash_thread_teb_stack_base"), num("crash_thread_teb_stack_limit"), num("crash_thread_teb_deallocation_stack")
			sp, peReserve := num("crash_context_sp"), num("pe_size_of_stack_reserve_bytes")
			rep := analyzeFile(t, c.path, Options{SymbolPath: filepath.Dir(c.path) + ";" + dlls})
			so := rep.StackOverflow
			if so == nil {
				t.Fatal("no stack_overflow")
			}
			addrIs := func(name string, got *report.Addr, want uint64) {
				if got == nil || uint64(*got) != want {
					t.Errorf("%s %v, want %#x", name, got, want)
				}
			}
			u64Is := func(name string, got *uint64, want uint64) {
				if got == nil || *got != want {
					t.Errorf("%s %v, want %#x", name, got, want)
				}
			}
			addrIs("stack_base", so.StackBase, base)
			addrIs("stack_limit", so.StackLimit, limit)
			addrIs("deallocation_stack", so.DeallocationStack, dealloc)
			u64Is("used_bytes", so.UsedBytes, base-sp)
			u64Is("remaining_bytes", so.RemainingBytes, sp-dealloc)
			u64Is("thread_reserve_bytes", so.ThreadReserveBytes, base-dealloc)
			u64Is("stack_reserve_bytes", so.StackReserveBytes, peReserve)
			differs := base-dealloc != peReserve
			if so.ReserveDiffers == nil || *so.ReserveDiffers != differs {
				t.Errorf("reserve_differs %v, want %v", so.ReserveDiffers, differs)
			}
			if strings.Contains(so.Explanation, "PE header asks for") != differs {
				t.Errorf("explanation %q: says the reservation differs: %v, want %v", so.Explanation, !differs, differs)
			}
			// The guard page is the region below StackLimit in the
			// program's own VirtualQuery of its stack.
			var guard map[string]any
			regions, _ := pf["crash_thread_stack_regions"].([]any)
			for _, r := range regions {
				m := r.(map[string]any)
				b, _ := factNum(m["base"])
				s, _ := factNum(m["size"])
				if b+s == limit {
					guard = m
				}
			}
			if guard == nil {
				t.Fatalf("facts.json has no region below StackLimit %#x", limit)
			}
			gb, _ := factNum(guard["base"])
			gs, _ := factNum(guard["size"])
			gp, _ := factNum(guard["protect"])
			if g := so.GuardPage; g == nil || uint64(g.Base) != gb || g.Size != gs || g.Protect != memmap.ProtectName(uint32(gp)) {
				t.Errorf("guard page %+v, want %#x+%#x %s", so.GuardPage, gb, gs, memmap.ProtectName(uint32(gp)))
			}
			src := map[string]report.FactSource{}
			for _, s := range so.Sources {
				src[s.Fact] = s
			}
			for fact, want := range map[string]string{"stack_base": stackoverflow.SourceMemoryRegions, "stack_limit": stackoverflow.SourceMemoryRegions,
				"deallocation_stack": stackoverflow.SourceMemoryRegions, "guard_page": stackoverflow.SourceMemoryRegions,
				"used_bytes": stackoverflow.SourceMemoryRegions, "remaining_bytes": stackoverflow.SourceMemoryRegions,
				"thread_reserve_bytes": stackoverflow.SourceMemoryRegions, "stack_reserve_bytes": stackoverflow.SourcePEHeader} {
				if s, ok := src[fact]; !ok || s.Source != want || s.Confidence == "" {
					t.Errorf("%s: source %+v, want %s with a confidence", fact, s, want)
				}
			}
			for _, w := range rep.Warnings {
				if strings.Contains(w, "stack_limit") {
					t.Errorf("warning %q", w)
				}
			}
		})
	}
	if n != 3 {
		t.Errorf("%d stack-overflow aug dumps, want 3", n)
	}
}

// TestRegionStack covers the shapes of a stack reservation the Wine dumps do
// not have: a live PAGE_GUARD page, a gap, the stack pointer outside.
func TestRegionStack(t *testing.T) {
	rw, guard := uint32(0x04), uint32(0x104)
	win := []minidump.MemoryInfo{ // Windows: reserved, guard, committed
		{BaseAddress: 0x10000, AllocationBase: 0x10000, RegionSize: 0xf0000, State: 0x2000},
		{BaseAddress: 0x100000, AllocationBase: 0x10000, RegionSize: 0x2000, State: memCommit, Protect: guard},
		{BaseAddress: 0x102000, AllocationBase: 0x10000, RegionSize: 0xe000, State: memCommit, Protect: rw},
		{BaseAddress: 0x110000, AllocationBase: 0x110000, RegionSize: 0x1000, State: memCommit, Protect: rw},
	}
	b, ok := regionStack(win, 0x103000)
	if !ok || b != (regionBounds{base: 0x110000, limit: 0x102000, dealloc: 0x10000}) {
		t.Errorf("windows stack: %+v %v", b, ok)
	}
	g, conf, _ := guardRegion(win, b.dealloc, b.limit, b.base)
	if g == nil || g.Base != 0x100000 || g.Size != 0x2000 || conf != report.ConfidenceHigh || g.Protect != "PAGE_READWRITE|PAGE_GUARD" {
		t.Errorf("guard %+v %s", g, conf)
	}
	if _, ok := regionStack(win, 0x20000); ok {
		t.Error("sp in reserved memory: bounds found")
	}
	if _, ok := regionStack(win, 0x200000); ok {
		t.Error("sp outside every region: bounds found")
	}
	gap := []minidump.MemoryInfo{win[0], win[2]}
	if _, ok := regionStack(gap, 0x103000); ok {
		t.Error("allocation with a gap below sp: bounds found")
	}
}
