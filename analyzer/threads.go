package analyzer

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// TEB field offsets (NT_TIB and TEB.LastErrorValue) for 32- and 64-bit processes.
type tebLayout struct {
	stackBase, stackLimit, peb, lastError, deallocationStack uint64
}

var (
	teb64 = tebLayout{stackBase: 0x8, stackLimit: 0x10, peb: 0x60, lastError: 0x68, deallocationStack: 0x1478}
	teb32 = tebLayout{stackBase: 0x4, stackLimit: 0x8, peb: 0x30, lastError: 0x34, deallocationStack: 0xE0C}
)

func (a *analysis) teb() tebLayout {
	if a.d.PointerSize() == 4 {
		return teb32
	}
	return teb64
}

// threadContext is the context a thread's walk starts from: the exception
// context for the crashing thread, its own otherwise.
func (a *analysis) threadContext(i int) (*minidump.Context, bool) {
	t := &a.d.Threads[i]
	if i == a.crashIndex && a.d.Exception != nil && a.d.Exception.Context != nil {
		return a.d.Exception.Context, true
	}
	return t.Context, false
}

// describeThreads lists every thread with its name, last error and frame 0.
func (a *analysis) describeThreads() {
	d := a.d
	a.rep.Threads = make([]report.Thread, 0, len(d.Threads))
	mem := a.memory()
	tl := a.teb()
	infos := make(map[uint32]*minidump.ThreadInfo, len(d.ThreadInfos))
	for i := len(d.ThreadInfos) - 1; i >= 0; i-- { // the first entry of an id wins
		infos[d.ThreadInfos[i].ThreadID] = &d.ThreadInfos[i]
	}
	for i := range d.Threads {
		if i%256 == 0 && a.ctx.Err() != nil {
			a.warn("thread list stopped at thread %d: %v", i, a.ctx.Err())
			break
		}
		t := &d.Threads[i]
		rt := report.Thread{ThreadID: t.ID, Frames: []report.Frame{}}
		if name, ok := d.ThreadNames[t.ID]; ok && name != "" {
			n := cutString(name, maxThreadName)
			rt.ThreadName = &n
		}
		if t.Teb != 0 {
			rt.Teb = report.AddrPtr(t.Teb)
			if v, ok := mem.ReadU32(t.Teb + tl.lastError); ok {
				s := ntstatus.Win32ErrorName(v)
				rt.LastErrorValue = &s
			}
		}
		if t.Stack.DataSize > 0 {
			rt.StackStart = report.AddrPtr(t.Stack.Start)
			rt.StackEnd = report.AddrPtr(t.Stack.Start + uint64(t.Stack.DataSize))
		}
		if ti := infos[t.ID]; ti != nil {
			describeThreadInfo(&rt, ti, a.d)
		}
		ctx, fromException := a.threadContext(i)
		rt.UsesExceptionContext = fromException
		if ctx == nil {
			if t.ContextErr != nil {
				rt.WalkNote = "no context: " + t.ContextErr.Error()
			}
		} else {
			regs := ctx.Registers()
			rt.Registers = make(map[string]report.Addr, len(regs))
			for _, r := range regs {
				rt.Registers[r.Name] = report.Addr(r.Value)
			}
			f := a.contextFrame(ctx)
			if i == a.crashIndex {
				f.Registers = rt.Registers // minidump-stackwalk gives the crashing frame its registers
			}
			rt.Frames = append(rt.Frames, f)
		}
		rt.FrameCount = len(rt.Frames)
		a.rep.Threads = append(a.rep.Threads, rt)
	}
	a.rep.ThreadCount = max(len(a.rep.Threads), d.ThreadCount)
	a.syncCrashingThread()
}

// syncCrashingThread copies the crashing thread into crashing_thread, as
// minidump-stackwalk does; it runs again after the stack walk.
func (a *analysis) syncCrashingThread() {
	if a.crashIndex < 0 || a.crashIndex >= len(a.rep.Threads) {
		a.rep.CrashingThread = nil
		return
	}
	t := a.rep.Threads[a.crashIndex]
	ct := &report.CrashingThread{ThreadID: t.ThreadID, ThreadName: t.ThreadName,
		LastErrorValue: t.LastErrorValue, ThreadsIndex: a.crashIndex, FrameCount: len(t.Frames), Frames: t.Frames,
		Reason: a.crashedWhy, HandlerFrames: a.handlerFrames}
	if n := a.namedIndex; n != a.crashIndex && n >= 0 && n < len(a.rep.Threads) {
		// thread_id and threads_index stay the thread the Exception stream
		// names, as Breakpad, rust-minidump and Socorro report them, so
		// tools keyed on them agree; the frames are the crash's (the
		// exception context's walk), and crashed_thread_id says whose stack
		// they are on.
		named := a.rep.Threads[n]
		crashedID, crashedIndex := t.ThreadID, a.crashIndex
		ct.ThreadID, ct.ThreadName, ct.LastErrorValue, ct.ThreadsIndex = named.ThreadID, named.ThreadName, named.LastErrorValue, n
		ct.CrashedThreadID, ct.CrashedThreadsIndex = &crashedID, &crashedIndex
	}
	a.rep.CrashingThread = ct
}

// contextFrame is frame 0, straight from a CPU context.
func (a *analysis) contextFrame(ctx *minidump.Context) report.Frame {
	f := report.Frame{Frame: 0, Trust: report.TrustContext, Offset: report.Addr(ctx.PC()), SP: report.Addr(ctx.SP())}
	a.symbolize(&f, ctx.PC())
	return f
}

// symbolize fills a frame's module and symbol fields for the code address
// addr (the instruction pointer for frame 0, return address - 1 for callers).
func (a *analysis) symbolize(f *report.Frame, addr uint64) {
	m := a.d.ModuleAt(uint64(f.Offset))
	if m == nil {
		if len(a.d.FunctionTables) > 0 {
			a.symbolizeJIT(f, addr)
		}
		return
	}
	f.Module = m.FileName()
	f.ModuleOffset = report.Addr(uint64(f.Offset) - m.Base)
	f.MissingSymbols = true
	sym, ok := a.lookupSymbol(m, addr-m.Base)
	if !ok {
		return
	}
	f.MissingSymbols = false
	f.Function = sym.Name
	if strings.HasPrefix(sym.Name, "_Z") || strings.HasPrefix(sym.Name, "__Z") {
		// MinGW code in a PDB's publics or a DLL's exports keeps its
		// Itanium-mangled name.
		f.Function = demangleItanium(sym.Name)
	}
	f.FunctionOffset = report.Addr(uint64(f.Offset) - m.Base - sym.RVA)
	f.File = sym.File
	f.Line = sym.Line
	f.Inlines = sym.Inlines
	f.SymbolSource = sym.Source
}

// describeThreadInfo adds what ThreadInfoList says about a thread.
func describeThreadInfo(rt *report.Thread, ti *minidump.ThreadInfo, d *minidump.Dump) {
	if ti.StartAddress != 0 {
		rt.StartAddress = report.AddrPtr(ti.StartAddress)
		if m := d.ModuleAt(ti.StartAddress); m != nil {
			rt.StartModule = m.FileName()
		}
	}
	if t := filetime(ti.CreateTime); t != "" {
		rt.CreateTime = t
	}
	// FILETIME durations are in 100 ns units.
	u, k := ti.UserTime/10000, ti.KernelTime/10000
	rt.UserTimeMS, rt.KernelTimeMS = &u, &k
}

// filetime formats a FILETIME (100 ns since 1601) as RFC 3339, or "".
func filetime(ft uint64) string {
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if ft <= epochDiff {
		return ""
	}
	return time.Unix(0, int64(ft-epochDiff)*100).UTC().Format(time.RFC3339)
}

// cutString cuts s to at most n bytes at a rune boundary, marking the cut.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
