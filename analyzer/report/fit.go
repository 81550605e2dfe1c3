package report

// Budget bounds, in bytes of JSON, the long lists of a report. Counting
// entries is not enough: a hostile dump's names can be kilobytes each, and
// each '<' in one is six bytes of JSON.
type Budget struct {
	Threads  int // threads with their frames; the crashing thread's count twice (threads and crashing_thread)
	Modules  int
	Unloaded int
	Handles  int
	Regions  int
}

// Fit cuts the report's lists to the budget: modules, unloaded modules,
// handles and regions keep a prefix; threads keep every entry but lose
// frames, the crashing thread's last. It records each cut in Truncated and
// returns how many frames it cut.
func (r *Report) Fit(b Budget) (framesCut int) {
	var scratch []byte
	digits := r.SystemInfo.pointerDigits()
	size := func(e interface{ encodeJSON(*objWriter) }) int {
		w := objWriter{b: scratch[:0], digits: digits}
		e.encodeJSON(&w)
		scratch = w.b
		return len(w.b)
	}
	r.Modules = fitList(r, "modules", r.Modules, b.Modules, maxModuleJSON, func(m *Module) int { return size(m) + 1 })
	r.UnloadedModules = fitList(r, "unloaded modules", r.UnloadedModules, b.Unloaded, maxUnloadedJSON,
		func(m *UnloadedModule) int { return size(m) + 1 })
	r.Handles = fitList(r, "handles", r.Handles, b.Handles, maxHandleJSON, func(h *Handle) int { return size(h) + 1 })
	if m := r.MemorySummary; m != nil {
		m.Regions = fitList(r, "memory summary regions", m.Regions, b.Regions, maxRegionJSON, func(g *Region) int { return size(g) + 1 })
	}
	// Most reports are far below the budget: a bound from string lengths
	// spares encoding them twice.
	bound := 0
	for i := range r.Threads {
		t := &r.Threads[i]
		bound += maxThreadJSON(t)
		for k := range t.Frames {
			bound += maxFrameJSON(&t.Frames[k])
		}
	}
	if c := r.CrashingThread; c != nil {
		for k := range c.Frames {
			bound += maxFrameJSON(&c.Frames[k])
		}
	}
	if bound <= b.Threads {
		return 0
	}

	left := b.Threads
	order := make([]int, 0, len(r.Threads))
	crash := -1
	if c := r.CrashingThread; c != nil {
		// Its frames are those of the thread the crash happened on.
		i := c.ThreadsIndex
		if c.CrashedThreadsIndex != nil {
			i = *c.CrashedThreadsIndex
		}
		if i >= 0 && i < len(r.Threads) {
			crash = i
			order = append(order, crash)
		}
	}
	for i := range r.Threads {
		if i != crash {
			order = append(order, i)
		}
	}
	// Every thread keeps its entry: first what they cost without frames.
	for i := range r.Threads {
		t := &r.Threads[i]
		frames := t.Frames
		t.Frames = nil
		left -= size(t) + 1
		t.Frames = frames
	}
	total, kept := 0, 0
	for _, i := range order {
		t := &r.Threads[i]
		weight := 1
		if i == crash {
			weight = 2
		}
		n := len(t.Frames)
		for k := range t.Frames {
			c := weight * (size(&t.Frames[k]) + 1)
			if c > left {
				n = k
				break
			}
			left -= c
		}
		total += len(t.Frames)
		kept += n
		if n < len(t.Frames) {
			t.Frames = t.Frames[:n:n]
			t.Recursion = t.Recursion.clip(n)
			t.WalkNote = "frames cut: the report's size budget is spent"
			if i == crash {
				r.CrashingThread.Frames = t.Frames
			}
			left = 0
		}
	}
	if kept < total {
		r.Cut("frames", total, kept)
	}
	return total - kept
}

// fitList keeps the prefix of s whose entries cost at most budget bytes;
// bound gives an upper bound of an entry's cost, cost the exact one.
func fitList[T any](r *Report, what string, s []T, budget int, bound, cost func(*T) int) []T {
	total := 0
	for i := range s {
		total += bound(&s[i])
	}
	if total <= budget {
		return s
	}
	for i := range s {
		budget -= cost(&s[i])
		if budget < 0 {
			r.Cut(what, len(s), i)
			return s[:i:i]
		}
	}
	return s
}

// Cut records that the list what lists only listed of its count entries;
// a cut already recorded keeps its count (the dump's).
func (r *Report) Cut(what string, count, listed int) {
	for i := range r.Truncated {
		if t := &r.Truncated[i]; t.What == what {
			t.Listed = min(t.Listed, listed)
			return
		}
	}
	r.Truncated = append(r.Truncated, ListCut{What: what, Count: count, Listed: listed})
}

// Upper bounds of the JSON of one entry, from its strings' lengths: a byte
// of a string costs at most six bytes of JSON (\u003c); keys, numbers and
// addresses take less than the constant.
const jsonByte = 6

func maxFrameJSON(f *Frame) int {
	n := 450 + jsonByte*(len(f.Trust)+len(f.Module)+len(f.Function)+len(f.File)+len(f.SymbolSource)+len(f.Note)) + 48*len(f.Registers)
	for i := range f.Inlines {
		n += 80 + jsonByte*(len(f.Inlines[i].Function)+len(f.Inlines[i].File))
	}
	for i := range f.UnloadedModules {
		n += 40 + jsonByte*len(f.UnloadedModules[i].Module) + 24*len(f.UnloadedModules[i].Offsets)
	}
	for i := range f.Locals {
		l := &f.Locals[i]
		n += 200 + jsonByte*(len(l.Name)+len(l.Kind)+len(l.Type)+len(l.Location)+len(l.Bytes)+len(l.Value)+len(l.Source)+len(l.Confidence)+len(l.Note))
	}
	return n
}

func maxThreadJSON(t *Thread) int {
	n := 600 + jsonByte*(len(t.WalkNote)+len(t.StartModule)+len(t.CreateTime)) + 48*len(t.Registers)
	if t.ThreadName != nil {
		n += jsonByte * len(*t.ThreadName)
	}
	if t.LastErrorValue != nil {
		n += jsonByte * len(*t.LastErrorValue)
	}
	if r := t.Recursion; r != nil {
		n += 80
		for _, f := range r.Frames {
			n += 4 + jsonByte*len(f)
		}
	}
	return n
}

// clip is the part of a recursion that lies in a thread's first n frames,
// nil when less than two of its cycles do.
func (r *Recursion) clip(n int) *Recursion {
	if r == nil || len(r.Frames) == 0 {
		return nil
	}
	repeats := min(r.Repeats, (n-r.FirstFrame)/len(r.Frames))
	if repeats < 2 {
		return nil
	}
	c := *r
	c.Repeats = repeats
	return &c
}

func maxFileStatusJSON(f *FileStatus) int {
	if f == nil {
		return 0
	}
	return 100 + jsonByte*(len(f.Kind)+len(f.Source)+len(f.Why)+len(f.URL))
}

func maxModuleJSON(m *Module) int {
	return 500 + jsonByte*(len(m.Filename)+len(m.CodeID)+len(m.DebugFile)+len(m.DebugID)+len(m.Version)+len(m.Path)+
		lenPtr(m.SymbolURL)+lenPtr(m.CertSubject)) + maxFileStatusJSON(m.Image) + maxFileStatusJSON(m.Symbols)
}

func maxUnloadedJSON(m *UnloadedModule) int {
	return 150 + jsonByte*(len(m.Filename)+len(m.CodeID)+lenPtr(m.CertSubject))
}

func lenPtr(s *string) int {
	if s == nil {
		return 0
	}
	return len(*s)
}

func maxHandleJSON(h *Handle) int { return 160 + jsonByte*(len(h.Type)+len(h.Name)) }

func maxRegionJSON(g *Region) int {
	return 300 + jsonByte*(len(g.State)+len(g.Protect)+len(g.Type)+len(g.Usage)+len(g.Detail)+len(g.AllocationProtect))
}
