package report

import (
	"reflect"
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

// longStrings sets every string reachable from v (but map keys) to s, so
// that a field a bound leaves out costs far more than its slack.
func longStrings(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			longStrings(v.Elem(), s)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				longStrings(v.Field(i), s)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			longStrings(v.Index(i), s)
		}
	case reflect.String:
		v.SetString(s)
	}
}

// TestFitBounds: the bounds Fit uses to skip encoding are upper bounds, for
// every field (fill sets them all; a field added to an entry but not to its
// bound fails here).
func TestFitBounds(t *testing.T) {
	// Each '<' is six bytes of JSON, the most a byte costs: no slack.
	for _, s := range []string{"", "<&>\"\\\x01", strings.Repeat("\x00<é", 300), "\xff\xfe", strings.Repeat("<", 2000)} {
		var f Frame
		var th Thread
		var m Module
		var u UnloadedModule
		var h Handle
		var g Region
		for _, v := range []any{&f, &th, &m, &u, &h, &g} {
			fill(reflect.ValueOf(v).Elem(), 1)
			longStrings(reflect.ValueOf(v).Elem(), s)
		}
		th.Frames = nil
		size := func(e interface{ encodeJSON(*objWriter) }) int {
			w := objWriter{digits: 16}
			e.encodeJSON(&w)
			return len(w.b)
		}
		for what, c := range map[string][2]int{
			"frame":    {size(&f), maxFrameJSON(&f)},
			"thread":   {size(&th), maxThreadJSON(&th)},
			"module":   {size(&m), maxModuleJSON(&m)},
			"unloaded": {size(&u), maxUnloadedJSON(&u)},
			"handle":   {size(&h), maxHandleJSON(&h)},
			"region":   {size(&g), maxRegionJSON(&g)},
		} {
			if c[0] > c[1] {
				t.Errorf("%s of %q: %d bytes of JSON, bound %d", what, s, c[0], c[1])
			}
		}
	}
}
