package report

import (
	"strings"
	"testing"
)

func TestFit(t *testing.T) {
	long := strings.Repeat("<", 1000) // six bytes of JSON each
	r := &Report{}
	for i := range 100 {
		th := Thread{ThreadID: uint32(i)}
		for k := range 50 {
			th.Frames = append(th.Frames, Frame{Frame: k, Module: long})
		}
		r.Threads = append(r.Threads, th)
		r.Modules = append(r.Modules, Module{Path: long})
		r.Handles = append(r.Handles, Handle{Name: long})
	}
	r.CrashingThread = &CrashingThread{ThreadsIndex: 70, Frames: r.Threads[70].Frames}
	r.MemorySummary = &MemorySummary{Regions: make([]Region, 100)}
	r.Cut("modules", 5000, 100) // the dump had more than the reader kept

	cut := r.Fit(Budget{Threads: 1 << 20, Modules: 64 << 10, Handles: 1 << 20, Regions: 1 << 20, Unloaded: 1 << 20})
	if n := len(r.AppendJSON(nil)); n > 1<<20+64<<10+1<<20+200<<10 {
		t.Errorf("report of %d bytes", n)
	}
	if len(r.Threads) != 100 || len(r.Threads[70].Frames) != 50 || len(r.CrashingThread.Frames) != 50 {
		t.Errorf("threads %d, crashing thread frames %d: the crashing thread's frames go first", len(r.Threads), len(r.Threads[70].Frames))
	}
	if len(r.Threads[99].Frames) != 0 || len(r.Threads[0].Frames) == 0 || cut == 0 {
		t.Errorf("frames kept: thread 0 %d, thread 99 %d; cut %d", len(r.Threads[0].Frames), len(r.Threads[99].Frames), cut)
	}
	if len(r.Modules) != 10 || len(r.Handles) != 100 || len(r.MemorySummary.Regions) != 100 {
		t.Errorf("modules %d, handles %d, regions %d", len(r.Modules), len(r.Handles), len(r.MemorySummary.Regions))
	}
	want := map[string][2]int{"modules": {5000, 10}, "frames": {5000, 50 + cut0(r)}}
	for _, tr := range r.Truncated {
		if w, ok := want[tr.What]; ok && (tr.Count != w[0] || tr.Listed != w[1]) {
			t.Errorf("%s: %d of %d, want %d of %d", tr.What, tr.Listed, tr.Count, w[1], w[0])
		}
	}
	if len(r.Truncated) != 2 {
		t.Errorf("truncated %+v", r.Truncated)
	}
}

func cut0(r *Report) int {
	n := 0
	for i, t := range r.Threads {
		if i != 70 {
			n += len(t.Frames)
		}
	}
	return n
}

// TestFitBounds: the bounds Fit uses to skip encoding are upper bounds.
func TestFitBounds(t *testing.T) {
	for _, s := range []string{"", "a", "<&>\"\\\x01", strings.Repeat("\x00<é", 300), "\xff\xfe"} {
		name := s
		f := Frame{Frame: 1 << 30, Trust: TrustFramePointer, Offset: ^Addr(0), Module: s, ModuleOffset: ^Addr(0), Function: s,
			FunctionOffset: ^Addr(0), File: s, Line: 1 << 30, SymbolSource: s, SP: ^Addr(0),
			Registers: map[string]Addr{"rip": ^Addr(0), "rsp": ^Addr(0), "r15": ^Addr(0), "xmm15": ^Addr(0)}}
		th := Thread{ThreadID: ^uint32(0), ThreadName: &name, LastErrorValue: &name, FrameCount: 1 << 30, Teb: &f.SP,
			StackStart: &f.SP, StackEnd: &f.SP, Registers: f.Registers, UsesExceptionContext: true, WalkNote: s,
			StartAddress: &f.SP, StartModule: s, CreateTime: s}
		fs := &FileStatus{Found: true, Kind: s, Source: s, Why: s}
		m := Module{BaseAddr: ^Addr(0), EndAddr: ^Addr(0), Filename: s, CodeID: s, DebugFile: s, DebugID: s, Version: s,
			MissingSymbols: true, LoadedSymbols: true, Path: s, Image: fs, Symbols: fs}
		u := UnloadedModule{BaseAddr: ^Addr(0), EndAddr: ^Addr(0), Filename: s, CodeID: s}
		h := Handle{Handle: ^Addr(0), Type: s, Name: s, GrantedAccess: ^Hex32(0), HandleCount: ^uint32(0), PointerCount: ^uint32(0)}
		g := Region{Base: ^Addr(0), End: ^Addr(0), Size: ^uint64(0), State: s, Protect: s, Type: s, Usage: s, Detail: s,
			AllocationBase: ^Addr(0), AllocationProtect: s}
		w := objWriter{}
		th.encode(&w)
		for what, c := range map[string][2]int{
			"frame":    {len(f.appendJSON(nil)), maxFrameJSON(&f)},
			"thread":   {len(w.b), maxThreadJSON(&th)},
			"module":   {len(m.appendJSON(nil)), maxModuleJSON(&m)},
			"unloaded": {len(u.appendJSON(nil)), maxUnloadedJSON(&u)},
			"handle":   {len(h.appendJSON(nil)), maxHandleJSON(&h)},
			"region":   {len(g.appendJSON(nil)), maxRegionJSON(&g)},
		} {
			if c[0] > c[1] {
				t.Errorf("%s of %q: %d bytes of JSON, bound %d", what, s, c[0], c[1])
			}
		}
	}
}
