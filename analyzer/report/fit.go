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
	size := func(enc func([]byte) []byte) int {
		scratch = enc(scratch[:0])
		return len(scratch)
	}
	r.Modules = fitList(r, "modules", r.Modules, b.Modules, func(m *Module) int { return size(m.appendJSON) + 1 })
	r.UnloadedModules = fitList(r, "unloaded modules", r.UnloadedModules, b.Unloaded, func(m *UnloadedModule) int { return size(m.appendJSON) + 1 })
	r.Handles = fitList(r, "handles", r.Handles, b.Handles, func(h *Handle) int { return size(h.appendJSON) + 1 })
	if m := r.MemorySummary; m != nil {
		m.Regions = fitList(r, "memory summary regions", m.Regions, b.Regions, func(g *Region) int { return size(g.appendJSON) + 1 })
	}

	left := b.Threads
	order := make([]int, 0, len(r.Threads))
	crash := -1
	if c := r.CrashingThread; c != nil && c.ThreadsIndex >= 0 && c.ThreadsIndex < len(r.Threads) {
		crash = c.ThreadsIndex
		order = append(order, crash)
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
		left -= size(func(b []byte) []byte {
			w := objWriter{b: b}
			t.encode(&w)
			return w.b
		}) + 1
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
			c := weight * (size(t.Frames[k].appendJSON) + 1)
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

// fitList keeps the prefix of s whose entries cost at most budget bytes.
func fitList[T any](r *Report, what string, s []T, budget int, cost func(*T) int) []T {
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
	r.Truncated = append(r.Truncated, Truncation{What: what, Count: count, Listed: listed})
}
