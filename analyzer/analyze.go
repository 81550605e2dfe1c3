// Package analyzer turns a minidump into a Report. It is a library: the CLI,
// the worker and the tests all call Analyze.
package analyzer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// Version identifies the analyzer that made a report; stored reports keep it
// so they can be re-analysed when it changes. Bump it whenever a report can
// change: TestGoldenVersion fails when the golden reports change under the
// same version (testdata/golden/VERSIONS pins their hash per version).
const Version = "0.3.1"

// Report is the one report type.
type Report = report.Report

// ErrInvalidDump wraps errors for input that is not a readable minidump.
var ErrInvalidDump = errors.New("invalid dump")

// Options tune an analysis. The zero value analyses with no external symbols.
type Options struct {
	// SymbolPath uses _NT_SYMBOL_PATH syntax: directories and srv*cache*url
	// elements separated by ';'. Nothing is contacted unless it is set.
	SymbolPath string
	// Symbols is a cache shared across analyses; nil makes a private one.
	Symbols *SymbolCache
	// SymbolTimeout bounds the wait for a symbol server's answer (default
	// symstore.DefaultAnswerTimeout); a server that does not answer in
	// time is skipped for a while. Downloads are bounded by
	// symbolLookupTimeout per module.
	SymbolTimeout time.Duration
	// SymbolMaxDownload bounds one file from a symbol server (default
	// symstore.DefaultMaxDownload; images are bounded by their size too).
	SymbolMaxDownload int64
	// SHA256 of the dump, when the caller already knows it.
	SHA256 string
	// MaxFrames bounds each thread's walk (default 1024).
	MaxFrames int
	// ReporterLog is the log the crashing program's own crash reporter
	// wrote (Unity's Player.log or error.log, Unreal's
	// CrashContext.runtime-xml); its stack is held against ours.
	ReporterLog []byte
}

// Analyze reads the dump through r and returns its report. It fails only
// when r is not a minidump at all; damage inside the dump gives a partial
// report whose Warnings say what could not be read.
func Analyze(ctx context.Context, r io.ReaderAt, size int64, opts Options) (rep *Report, err error) {
	m, mapped := r.(minidump.Mapped)
	mapped = mapped && m.Bytes() != nil
	defer func() {
		if p := recover(); p != nil {
			if fault, ok := p.(interface{ Addr() uintptr }); ok && mapped && inMapping(m.Bytes(), fault.Addr()) {
				// With SetPanicOnFault, the fault of a mapping whose file shrank.
				rep, err = nil, fmt.Errorf("%w: reading the memory-mapped dump faulted (was the file truncated while it was read?)", ErrInvalidDump)
				return
			}
			rep, err = nil, fmt.Errorf("analyzer panic: %v\n%s", p, debug.Stack())
		}
	}()
	if !mapped {
		r = newBlockCache(r, size)
	}
	d, err := minidump.Open(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDump, err)
	}
	if opts.MaxFrames <= 0 {
		opts.MaxFrames = 1024
	}
	if opts.Symbols == nil {
		opts.Symbols = NewSymbolCache(0)
	}
	a := newAnalysis(ctx, d, opts)
	defer a.held.release() // the report holds no symbol file
	a.run()
	a.fit()
	return a.rep, nil
}

// inMapping reports whether addr lies in b.
func inMapping(b []byte, addr uintptr) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return addr >= start && addr-start < uintptr(len(b))
}

func newAnalysis(ctx context.Context, d *minidump.Dump, opts Options) *analysis {
	return &analysis{ctx: ctx, d: d, opts: opts, rep: &Report{Status: "OK", AnalyzerVersion: Version}}
}

// analysis holds the state of one Analyze call.
type analysis struct {
	ctx  context.Context
	d    *minidump.Dump
	opts Options
	rep  *Report

	crashIndex int // index into d.Threads of the thread that crashed, or -1
	// namedIndex is the thread MINIDUMP_EXCEPTION_STREAM.ThreadId names;
	// it differs from crashIndex when the dump was written from a reporting
	// thread (crashedThread).
	namedIndex int
	// crashedWhy says why the crashing thread is not the one the
	// Exception stream names, or is empty.
	crashedWhy string
	// handlerFrames is how many innermost crashing-thread frames are the
	// crash handler's (crashhandler.Count).
	handlerFrames int
	mem           *processMemory
	modules       map[*minidump.Module]*moduleFiles

	badPathWarned bool
	serversNoted  map[string]bool // symbol servers a warning names already
	held          holds           // cache entries in use until the analysis ends
	umods         *unwindModules
	walks         [][]unwind.Frame // per thread, as the walker returned them
}

func (a *analysis) warn(format string, args ...any) {
	a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf(format, args...))
}

func (a *analysis) run() {
	a.describeDump()
	a.describeSystem()
	a.describeModules()
	a.describeProcess()
	a.describeException()
	a.describeThreads()
	a.describeCuts()
	a.guard("vendor streams", a.describeVendorStreams)
	for _, step := range []struct {
		name string
		fn   func()
	}{
		{"stack walk", a.walkStacks},
		{"frames in unloaded modules", a.describeFrameUnloadedModules},
		{"crash instruction", a.analyzeCrashInstruction},
		{"thrown type", a.inferThrownType},
		{"memory summary", a.summarizeMemory},
		{"reporter's stack", a.compareReporterStack},
		{"crash handler frames", a.markHandlerFrames},
		{"arguments and locals", a.describeLocals},
		{"recursion folds", a.foldRecursion},
		{"crash view", a.describeCrashView},
		{"allocation failure", a.analyzeAllocationFailure},
		{"stack overflow", a.analyzeStackOverflow},
		{"signature", a.makeSignature},
	} {
		if err := a.ctx.Err(); err != nil {
			a.rep.Status = "incomplete: " + err.Error()
			a.warn("analysis stopped before %s: %v", step.name, err)
			return
		}
		a.guard(step.name, step.fn)
	}
	a.guard("module files", a.describeModuleFiles)
	a.describeMissing()
}

// guard runs one analysis step; a panic in it becomes a warning, so one
// broken analysis does not lose the rest of the report.
func (a *analysis) guard(name string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			a.warn("%s failed: %v", name, p)
		}
	}()
	fn()
}

func (a *analysis) describeDump() {
	d := a.d
	info := report.DumpInfo{SHA256: a.opts.SHA256, Size: d.Size(), Flags: report.Hex64(d.Header.Flags),
		FlagNames: minidump.DumpFlags(d.Header.Flags)}
	if d.Header.TimeDateStamp != 0 {
		info.Time = time.Unix(int64(d.Header.TimeDateStamp), 0).UTC().Format(time.RFC3339)
	}
	info.Streams = []report.StreamInfo{}
	for _, s := range d.Streams {
		info.Streams = append(info.Streams, report.StreamInfo{Type: uint32(s.Type), Name: s.Type.String(), Size: s.Size,
			Rva: report.Hex32(s.Rva), Known: s.Type.Known()})
	}
	a.rep.Dump = info
	a.rep.Warnings = []string{}
	if t := d.Truncation; t != nil {
		a.rep.Dump.Truncated = &report.Truncation{PresentBytes: t.FileSize, NeededBytes: t.NeededSize,
			LostStreams: append([]string{}, t.Lost...), CutStreams: append([]string{}, t.Cut...), MissingDirectoryEntries: t.MissingEntries}
		a.warn("%s", truncationText(a.rep.Dump.Truncated))
	}
	for _, w := range d.Warnings {
		a.rep.Warnings = append(a.rep.Warnings, w.Error())
	}
	a.rep.Comments = d.Comments
}

func (a *analysis) describeSystem() {
	si := a.d.SystemInfo
	if si == nil {
		a.warn("no SystemInfo stream: OS and CPU are unknown")
		a.rep.SystemInfo = report.SystemInfo{OS: "unknown", CPUArch: "unknown"}
		return
	}
	a.rep.SystemInfo = report.SystemInfo{OS: si.OS(), OSVer: si.OSVersion(), CPUArch: a.d.Arch().String(),
		CPUInfo: si.CPUInfo(), CPUCount: int(si.NumberOfProcessors)}
}

func (a *analysis) describeModules() {
	a.rep.Modules = []report.Module{}
	for i := range a.d.Modules {
		m := &a.d.Modules[i]
		a.rep.Modules = append(a.rep.Modules, report.Module{
			BaseAddr: report.Addr(m.Base), EndAddr: report.Addr(m.End()), Filename: m.FileName(),
			CodeID: m.CodeID(), DebugFile: m.DebugFile(), DebugID: m.DebugID(), Version: m.Version.FileVersion(),
			MissingSymbols: true, Path: m.Name,
		})
	}
	if len(a.d.Modules) > 0 {
		zero := 0
		a.rep.MainModule = &zero
	}
	a.rep.UnloadedModules = []report.UnloadedModule{}
	for _, u := range a.d.UnloadedModules {
		um := report.UnloadedModule{BaseAddr: report.Addr(u.Base), EndAddr: report.Addr(u.Base + uint64(u.Size)),
			Filename: (&minidump.Module{Name: u.Name}).FileName()}
		if u.TimeDateStamp != 0 || u.Size != 0 {
			um.CodeID = fmt.Sprintf("%08X%x", u.TimeDateStamp, u.Size)
		}
		a.rep.UnloadedModules = append(a.rep.UnloadedModules, um)
	}
}

func (a *analysis) describeProcess() {
	d, p := a.d, &a.rep.Process
	if len(d.Modules) > 0 {
		p.Name = d.Modules[0].FileName()
		p.Path = d.Modules[0].Name
		p.Version = d.Modules[0].Version.FileVersion()
	}
	if m := d.MiscInfo; m != nil {
		if m.Flags1&minidump.MiscProcessID != 0 {
			pid := m.ProcessID
			a.rep.PID = &pid
		}
		if m.Flags1&minidump.MiscProcessTimes != 0 && m.ProcessCreateTime != 0 {
			p.CreateTime = time.Unix(int64(m.ProcessCreateTime), 0).UTC().Format(time.RFC3339)
			if d.Header.TimeDateStamp >= m.ProcessCreateTime {
				up := uint64(d.Header.TimeDateStamp - m.ProcessCreateTime)
				a.rep.ProcessUptime = &up
			}
		}
		p.BuildString = m.BuildString
		if m.Flags1&minidump.MiscProcessorPowerInfo != 0 {
			p.ProcessorMaxMHz = m.ProcessorMaxMhz
		}
		if m.Flags1&minidump.MiscTimezone != 0 && m.TimeZoneStandardName != "" {
			p.TimeZone = fmt.Sprintf("%s (UTC%+.1f h)", m.TimeZoneStandardName, -float64(m.TimeZoneBias)/60)
		}
		if m.Flags1&minidump.MiscProcessIntegrity != 0 {
			p.IntegrityLevel = integrityLevel(m.ProcessIntegrityLevel)
		}
	}
	for _, h := range d.Handles {
		a.rep.Handles = append(a.rep.Handles, report.Handle{Handle: h.Handle, Type: h.TypeName, Name: h.ObjectName,
			GrantedAccess: report.Hex32(h.GrantedAccess), HandleCount: h.HandleCount, PointerCount: h.PointerCount})
	}
	if sm := d.SystemMemory; sm != nil {
		p.CommitTotalBytes, p.CommitLimitBytes, p.CommitPeakBytes = u64p(sm.CommittedBytes), u64p(sm.CommitLimitBytes), u64p(sm.PeakCommitmentBytes)
		p.PhysicalBytes = u64p(uint64(sm.NumberOfPhysicalPages) * uint64(sm.PageSize))
	}
	if vm := d.VmCounters; vm != nil {
		p.PrivateBytes = u64p(vm.PrivateUsage)
	}
	ann := map[string]string{}
	if c := d.Crashpad; c != nil {
		for k, v := range c.SimpleAnnotations {
			ann[k] = v
		}
		for _, ma := range c.ModuleAnnotations {
			name := fmt.Sprintf("module[%d]", ma.ModuleIndex)
			if int(ma.ModuleIndex) < len(d.Modules) {
				name = d.Modules[ma.ModuleIndex].FileName()
			}
			for k, v := range ma.SimpleAnnotations {
				ann[name+":"+k] = v
			}
			for i, v := range ma.ListAnnotations {
				ann[fmt.Sprintf("%s:list[%d]", name, i)] = v
			}
		}
	}
	for k, v := range unrealFields(d.UnrealCrashContext) {
		ann["unreal:"+k] = v
	}
	if len(ann) > 0 {
		a.rep.Annotations = ann
	}
}

func u64p(v uint64) *uint64 { return &v }

// integrityLevel names a mandatory integrity RID (SECURITY_MANDATORY_*_RID).
func integrityLevel(rid uint32) string {
	switch {
	case rid >= 0x4000:
		return "System"
	case rid >= 0x3000:
		return "High"
	case rid >= 0x2000:
		return "Medium"
	case rid >= 0x1000:
		return "Low"
	}
	return "Untrusted"
}
