package analyzer

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// unwindModules adapts the dump's modules, with the images and symbols found
// for them, to the stack walker.
type unwindModules struct {
	a      *analysis
	sorted []*minidump.Module
	cache  map[*minidump.Module]*unwindModule
	jit    []*unwind.JITTable // nil until jitTables ran
}

func (a *analysis) unwindModules() *unwindModules {
	if a.umods != nil {
		return a.umods
	}
	u := &unwindModules{a: a, cache: map[*minidump.Module]*unwindModule{}}
	for i := range a.d.Modules {
		u.sorted = append(u.sorted, &a.d.Modules[i])
	}
	sort.Slice(u.sorted, func(i, j int) bool { return u.sorted[i].Base < u.sorted[j].Base })
	a.umods = u
	return u
}

// ModuleAt finds the module containing addr by binary search.
func (u *unwindModules) ModuleAt(addr uint64) unwind.Module {
	i := sort.Search(len(u.sorted), func(i int) bool { return u.sorted[i].Base > addr }) - 1
	if i < 0 || !u.sorted[i].Contains(addr) {
		if len(u.a.d.FunctionTables) > 0 {
			if t := u.a.jitAt(addr); t != nil {
				return t
			}
		}
		return nil
	}
	m := u.sorted[i]
	if um, ok := u.cache[m]; ok {
		return um
	}
	um := &unwindModule{m: m, f: u.a.files(m), d: u.a.d}
	u.cache[m] = um
	return um
}

type unwindModule struct {
	m *minidump.Module
	f *moduleFiles
	d *minidump.Dump
}

func (u *unwindModule) Base() uint64   { return u.m.Base }
func (u *unwindModule) Size() uint64   { return uint64(u.m.Size) }
func (u *unwindModule) Name() string   { return u.m.FileName() }
func (u *unwindModule) HasImage() bool { return u.f.image != nil }

// ReadRVA reads the image file when one was found, else the dump's copy of
// the module's memory (Wine, for one, captures every RUNTIME_FUNCTION and
// UNWIND_INFO).
func (u *unwindModule) ReadRVA(rva uint32, p []byte) (int, error) {
	if u.f.image != nil {
		if n, err := u.f.image.ReadRVA(rva, p); n == len(p) {
			return n, err
		}
	}
	return u.d.ReadMemory(u.m.Base+uint64(rva), p)
}

func (u *unwindModule) ExceptionDirectory() (uint32, uint32) {
	if u.f.image == nil {
		return 0, 0
	}
	return u.f.image.DataDirectory(3)
}

func (u *unwindModule) IsExecutableRVA(rva uint32) bool {
	if u.f.image == nil {
		return rva < u.m.Size
	}
	return u.f.image.IsExecutableRVA(rva)
}

func (u *unwindModule) Breakpad() unwind.BreakpadRecords {
	if u.f.breakpad == nil {
		return nil
	}
	return u.f.breakpad
}

// walkStacks walks every thread's stack from its context, each up to
// MaxFrames: the crashing thread first, then the others while the report's
// frame budget lasts.
func (a *analysis) walkStacks() {
	d := a.d
	mods := a.unwindModules()
	mem := a.walkMemory()
	a.walks = make([][]unwind.Frame, len(d.Threads))
	// Only the crashing thread's walk is kept; the others share one buffer.
	var scratch []unwind.Frame
	budget := maxReportFrames
	order := make([]int, 0, len(d.Threads))
	if a.crashIndex >= 0 {
		order = append(order, a.crashIndex)
	}
	for i := range d.Threads {
		if i != a.crashIndex {
			order = append(order, i)
		}
	}
	spent := 0
	for _, i := range order {
		if err := a.ctx.Err(); err != nil {
			a.warn("stack walk stopped at thread %d: %v", i, err)
			break
		}
		ctx, _ := a.threadContext(i)
		if ctx == nil {
			continue
		}
		limit := min(a.opts.MaxFrames, budget)
		rt := &a.rep.Threads[i]
		if limit <= 1 {
			spent++
			rt.WalkNote = fmt.Sprintf("not walked: the report's budget of %d frames is spent", maxReportFrames)
			continue
		}
		t := &d.Threads[i]
		if scratch == nil || i == a.crashIndex {
			// A buffer for the whole limit: a walk touches only the
			// frames it fills, where growing one from 32 would copy each
			// smaller buffer and fault in its fresh pages on the way.
			scratch = make([]unwind.Frame, 0, limit)
		}
		opts := unwind.Options{MaxFrames: limit, StackLimits: a.stackLimits(t), Frames: scratch,
			StackProbeAtContext: i == a.crashIndex && a.stackProbeFault(ctx)}
		var frames []unwind.Frame
		switch {
		case ctx.AMD64 != nil:
			frames = unwind.WalkAMD64(ctx.AMD64, mem, mods, opts)
		case ctx.X86 != nil:
			frames = unwind.WalkX86(ctx.X86, mem, mods, opts)
		default:
			continue // arm64: frame 0 only
		}
		budget -= len(frames)
		if i == a.crashIndex {
			a.walks[i], scratch = frames, nil
		} else {
			scratch = frames
		}
		rt.Frames = slices.Grow(rt.Frames[:0], len(frames))
		for k, uf := range frames {
			// As minidump-stackwalk does, a caller's offset is its return
			// address - 1: inside the call instruction, so the symbol and
			// line are the call's.
			pc := uf.PC
			if k > 0 && pc > 0 {
				pc--
			}
			f := report.Frame{Frame: k, Trust: uf.Trust, Offset: report.Addr(pc), SP: report.Addr(uf.SP), Note: uf.Note}
			a.symbolize(&f, pc)
			if i == a.crashIndex && k == 0 {
				f.Registers = rt.Registers
			}
			if i == a.crashIndex && k > 0 {
				f.Registers = make(map[string]report.Addr, bits.OnesCount32(uf.Regs.Valid))
				for r, v := range uf.Regs.V {
					if name := uf.Regs.Name(r); name != "" && uf.Regs.Valid&(1<<r) != 0 {
						f.Registers[name] = report.Addr(v)
					}
				}
			}
			rt.Frames = append(rt.Frames, f)
		}
		rt.FrameCount = len(rt.Frames)
		if n := len(frames); n > 0 && n >= limit {
			if limit == a.opts.MaxFrames {
				rt.WalkNote = "stopped at the frame limit"
			} else {
				rt.WalkNote = fmt.Sprintf("stopped at %d frames: the report's budget of %d frames is spent", limit, maxReportFrames)
			}
		}
	}
	if spent > 0 {
		a.warn("%d threads were not walked: the report lists at most %d frames (frame 0 is kept for each)", spent, maxReportFrames)
	}
	a.syncCrashingThread()
}

// stackLimits bounds scanning to the thread's captured stack.
func (a *analysis) stackLimits(t *minidump.Thread) func(sp uint64) (uint64, uint64, bool) {
	lo, hi := t.Stack.Start, t.Stack.Start+uint64(t.Stack.DataSize)
	return func(sp uint64) (uint64, uint64, bool) {
		if t.Stack.DataSize > 0 && sp >= lo && sp < hi {
			return lo, hi, true
		}
		for _, r := range a.d.MemoryRanges() {
			if sp >= r.Start && sp < r.End() {
				return r.Start, r.End(), true
			}
		}
		return 0, 0, false
	}
}

// stackProbeFault reports a stack overflow whose faulting access lies well
// below the stack pointer: only a stack probe touches the stack there (the
// x64 ABI has no red zone, and pushes and calls fault within a word of RSP).
func (a *analysis) stackProbeFault(ctx *minidump.Context) bool {
	e := a.d.Exception
	if e == nil || e.Code != ntstatus.StackOverflow || len(e.Parameters) < 2 || ctx.AMD64 == nil {
		return false
	}
	sp, addr := ctx.SP(), e.Parameters[1]
	return addr < sp && sp-addr > 64
}
