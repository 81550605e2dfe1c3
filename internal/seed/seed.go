// Package seed makes up realistic analysed dumps for demos and for the
// dashboard's tests and benchmarks: a few products and versions, a long tail
// of signatures whose counts follow a power law, crashes rising and falling
// over the period, several Windows versions, out-of-memory crashes with their
// allocation sizes and stack overflows. It writes nothing: the store imports
// what it makes (store.SQLite.Seed).
package seed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Config says how many made-up analyses to make.
type Config struct {
	Dumps int       // default 1000
	Days  int       // spread over this many days before Now, default 180
	Now   time.Time // default time.Now()
	Seed  uint64    // random seed
	// Progress, when set, is called after each batch with the count so far.
	Progress func(done int)
}

// Dump is one made-up analysed dump (no file).
type Dump struct {
	SHA256, FileName string
	Size             int64
	UploadedAt       time.Time
	// FileExpiredAt is set for old dumps whose file retention deleted.
	FileExpiredAt *time.Time
	Report        *report.Report
	AnalyzedAt    time.Time
	Duration      time.Duration
}

// Generator makes the dumps of one Config, in order.
type Generator struct{ g *seeder }

// New fills in Config's defaults and prepares the made-up world.
func New(cfg Config) *Generator {
	if cfg.Dumps <= 0 {
		cfg.Dumps = 1000
	}
	if cfg.Days <= 0 {
		cfg.Days = 180
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	return &Generator{newSeeder(cfg)}
}

// Config is the generator's configuration, defaults filled in.
func (g *Generator) Config() Config { return g.g.cfg }

// Dump makes the i-th dump; call it for i = 0, 1, 2 ... in order.
func (g *Generator) Dump(i int) Dump { return g.g.dump(i) }

type seedModule struct {
	name, version string
	base          uint64
	size          uint64
	funcs         []string
	app           bool
}

type seedSig struct {
	frames    []int // indexes into seeder.frames: module and function
	crashType string
	desc      string
	oom       bool
	overflow  bool
	weight    float64
	start     float64 // fraction of the period when it appears
	fixedIn   int     // version index from which it no longer happens, or -1
}

type seedFrame struct {
	mod  int
	fn   string
	file string
	line int
}

type seeder struct {
	cfg      Config
	r        *rand.Rand
	modules  []seedModule
	frames   []seedFrame
	sigs     []seedSig
	cum      []float64
	products []seedProduct
	oses     []struct {
		ver string
		w   float64
	}
}

type seedProduct struct {
	exe      string
	versions []string
	mods     []int // app modules
	w        float64
}

var seedSystemModules = []string{"ntdll.dll", "kernel32.dll", "kernelbase.dll", "ucrtbase.dll", "vcruntime140.dll",
	"msvcp140.dll", "user32.dll", "win32u.dll", "gdi32.dll", "gdi32full.dll", "combase.dll", "ole32.dll", "rpcrt4.dll",
	"sechost.dll", "advapi32.dll", "shell32.dll", "d3d11.dll", "dxgi.dll", "nvwgf2umx.dll", "atio6axx.dll",
	"igd10iumd64.dll", "ws2_32.dll", "bcrypt.dll", "crypt32.dll", "winhttp.dll", "xinput1_4.dll", "dbghelp.dll"}

// seedPrefix makes system function names look like their module's.
var seedPrefix = map[string]string{"ntdll.dll": "Rtlp", "kernelbase.dll": "Base", "ucrtbase.dll": "_", "combase.dll": "Co",
	"ole32.dll": "Ole", "rpcrt4.dll": "Rpc", "d3d11.dll": "CContext::", "dxgi.dll": "CDXGISwapChain::",
	"nvwgf2umx.dll": "NvDDI", "atio6axx.dll": "AtiDrv", "igd10iumd64.dll": "IgdUmd", "gdi32full.dll": "Gdi", "user32.dll": "User",
	"win32u.dll": "NtUser", "bcrypt.dll": "BCrypt", "crypt32.dll": "Crypt", "winhttp.dll": "WinHttp", "ws2_32.dll": "WSA"}

var seedAppModules = []string{"core.dll", "render.dll", "physics.dll", "audio.dll", "net.dll", "script.dll", "ui.dll",
	"assets.dll", "crashpad_handler.dll", "plugin_host.dll", "codec.dll", "db.dll"}

var seedNouns = []string{"Scene", "Renderer", "Texture", "Mesh", "Buffer", "Allocator", "Parser", "Socket", "Session",
	"Job", "Queue", "Stream", "Cache", "Shader", "Pipeline", "Widget", "Layout", "Script", "Vm", "Asset", "Loader",
	"Codec", "Frame", "Packet", "Table", "Index", "Document", "Node", "Tree", "Archive"}

var seedVerbs = []string{"draw", "update", "load", "parse", "resize", "flush", "commit", "decode", "encode", "submit",
	"dispatch", "alloc", "release", "insert", "find", "visit", "compile", "bind", "tick", "read", "write", "grow"}

func newSeeder(cfg Config) *seeder {
	g := &seeder{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	r := g.r
	base := uint64(0x7ffb_0000_0000)
	for _, n := range seedSystemModules {
		size := uint64(0x10000 + r.IntN(0x200)*0x1000)
		g.modules = append(g.modules, seedModule{name: n, version: fmt.Sprintf("10.0.%d.%d", 19041+r.IntN(3000), r.IntN(4000)),
			base: base, size: size})
		base += size + 0x100000
	}
	base = 0x1_8000_0000
	for _, n := range seedAppModules {
		size := uint64(0x40000 + r.IntN(0x400)*0x1000)
		g.modules = append(g.modules, seedModule{name: n, base: base, size: size, app: true})
		base += size + 0x100000
	}
	for i := range g.modules {
		m := &g.modules[i]
		stem := strings.TrimSuffix(m.name, ".dll")
		nf := 12
		if m.app {
			nf = 60
		}
		for range nf {
			var fn string
			if m.app {
				fn = fmt.Sprintf("%s::%s::%s", stem, seedNouns[r.IntN(len(seedNouns))], seedVerbs[r.IntN(len(seedVerbs))])
			} else {
				verb := seedVerbs[r.IntN(len(seedVerbs))]
				fn = seedPrefix[m.name] + strings.ToUpper(verb[:1]) + verb[1:] + seedNouns[r.IntN(len(seedNouns))]
			}
			m.funcs = append(m.funcs, fn)
			f := seedFrame{mod: i, fn: fn}
			if m.app {
				f.file = fmt.Sprintf(`C:\build\src\%s\%s.cpp`, stem, strings.ToLower(seedNouns[r.IntN(len(seedNouns))]))
				f.line = 20 + r.IntN(2000)
			}
			g.frames = append(g.frames, f)
		}
	}
	g.products = []seedProduct{
		{exe: "studio.exe", w: 0.55}, {exe: "player.exe", w: 0.25}, {exe: "render_worker.exe", w: 0.15},
		{exe: "sync_agent.exe", w: 0.05},
	}
	for i := range g.products {
		p := &g.products[i]
		major := 3 + i
		for v := range 8 {
			p.versions = append(p.versions, fmt.Sprintf("%d.%d.%d.%d", major, v/3, v%3, 1000+v*137+i))
		}
		for j := range seedAppModules {
			if (i+j)%3 != 0 || j < 3 {
				p.mods = append(p.mods, len(seedSystemModules)+j)
			}
		}
	}
	g.oses = []struct {
		ver string
		w   float64
	}{{"10.0.19045", 0.42}, {"10.0.22631", 0.3}, {"10.0.22621", 0.12}, {"10.0.26100", 0.1}, {"6.1.7601", 0.06}}
	types := []struct {
		t, desc string
		w       float64
	}{
		{"EXCEPTION_ACCESS_VIOLATION_READ", "read of address 0x%x", 0.5},
		{"EXCEPTION_ACCESS_VIOLATION_WRITE", "write of address 0x%x", 0.17},
		{"EXCEPTION_STACK_OVERFLOW", "stack overflow", 0.06},
		{"STATUS_NO_MEMORY", "out of memory", 0.05},
		{"EXCEPTION_MSVC_CPP", "C++ exception (std::bad_alloc)", 0.05},
		{"STATUS_HEAP_CORRUPTION", "heap corruption", 0.05},
		{"EXCEPTION_BREAKPOINT", "breakpoint", 0.04},
		{"STATUS_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT", "fail fast: fatal app exit", 0.04},
		{"EXCEPTION_ILLEGAL_INSTRUCTION", "illegal instruction", 0.02},
		{"EXCEPTION_INT_DIVIDE_BY_ZERO", "integer division by zero", 0.02},
	}
	nsig := 400 + cfg.Dumps/50
	total := 0.0
	for i := range nsig {
		tw := r.Float64()
		var t = types[0]
		for _, c := range types {
			if tw < c.w {
				t = c
				break
			}
			tw -= c.w
		}
		s := seedSig{crashType: t.t, desc: t.desc, fixedIn: -1}
		s.oom = t.t == "STATUS_NO_MEMORY" || t.t == "EXCEPTION_MSVC_CPP"
		s.overflow = t.t == "EXCEPTION_STACK_OVERFLOW"
		depth := 2 + r.IntN(4)
		appFrames := len(seedSystemModules) * 12
		if r.IntN(4) == 0 || s.oom {
			// Starts in a system module (the allocator, a driver, the CRT).
			s.frames = append(s.frames, r.IntN(appFrames))
		}
		for range depth {
			s.frames = append(s.frames, appFrames+r.IntN(len(g.frames)-appFrames))
		}
		if s.overflow {
			rec := s.frames[len(s.frames)-1]
			s.frames = append(s.frames, rec, rec, rec)
		}
		s.weight = 1 / math.Pow(float64(i+1), 1.1)
		s.start = 0
		if i > 5 && r.IntN(3) == 0 {
			s.start = r.Float64() * 0.9
		}
		if r.IntN(5) == 0 {
			s.fixedIn = 2 + r.IntN(6)
		}
		total += s.weight
		g.sigs = append(g.sigs, s)
		g.cum = append(g.cum, total)
	}
	return g
}

// pick chooses an index by weight from cumulative weights.
func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (g *seeder) signature(s *seedSig) string {
	var parts []string
	for _, fi := range s.frames {
		f := g.frames[fi]
		if g.modules[f.mod].app || len(parts) == 0 {
			parts = append(parts, f.fn)
		}
		if len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, " | ")
}

func (g *seeder) dump(i int) Dump {
	r := g.r
	// Crashes grow over the period, with a weekly rhythm.
	frac := math.Sqrt(r.Float64())
	at := g.cfg.Now.Add(-time.Duration((1 - frac) * float64(g.cfg.Days) * float64(24*time.Hour)))
	if at.Weekday() == time.Saturday || at.Weekday() == time.Sunday {
		if r.IntN(3) > 0 {
			at = at.Add(-48 * time.Hour)
		}
	}
	var si int
	var s *seedSig
	for {
		si = pickCum(r, g.cum)
		s = &g.sigs[si]
		if frac >= s.start {
			break
		}
	}
	pi := 0
	for x := r.Float64(); pi < len(g.products)-1; pi++ {
		if x < g.products[pi].w {
			break
		}
		x -= g.products[pi].w
	}
	p := &g.products[pi]
	// Newer versions later in the period; the fixed ones stop crashing.
	vi := min(len(p.versions)-1, max(0, int(frac*float64(len(p.versions)))-r.IntN(3)))
	if s.fixedIn >= 0 && vi >= s.fixedIn {
		vi = max(0, s.fixedIn-1-r.IntN(2))
	}
	version := p.versions[vi]
	osv := g.oses[len(g.oses)-1].ver
	x := r.Float64()
	for _, o := range g.oses {
		if x < o.w {
			osv = o.ver
			break
		}
		x -= o.w
	}
	rep := g.report(s, p, version, osv, at, i)
	sum := sha256.Sum256([]byte(fmt.Sprintf("seed %d %d", g.cfg.Seed, i)))
	d := Dump{SHA256: hex.EncodeToString(sum[:]), Size: int64(200_000 + r.IntN(3_000_000)), UploadedAt: at,
		FileName: fmt.Sprintf("%s_%d.dmp", strings.TrimSuffix(p.exe, ".exe"), i), Report: rep,
		AnalyzedAt: at.Add(2 * time.Second), Duration: time.Duration(20+r.IntN(400)) * time.Millisecond}
	rep.Dump.SHA256, rep.Dump.Size = d.SHA256, d.Size
	if at.Before(g.cfg.Now.Add(-90*24*time.Hour)) && r.IntN(2) == 0 {
		exp := at.Add(90 * 24 * time.Hour)
		d.FileExpiredAt = &exp
	}
	return d
}

func u64(v uint64) *uint64 { return &v }

// buildStamp is the exe's PE TimeDateStamp: built a month before the period.
func (g *seeder) buildStamp() uint32 {
	return uint32(g.cfg.Now.AddDate(0, 0, -g.cfg.Days-30).Unix())
}

// dumpClock is when the dump says it was written: up to three days before
// the upload, and a few with a wrong clock (2007, before the exe was
// built, or a month after the upload), as real machines have. It depends
// on i alone, so the rest of the made-up world stays as it was.
func (g *seeder) dumpClock(uploaded time.Time, i int) time.Time {
	switch {
	case i%500 == 499:
		return time.Date(2007, 2, 14, 19, 13, 55, 0, time.UTC)
	case i%777 == 776:
		return uploaded.AddDate(0, 1, 0).UTC()
	}
	return uploaded.Add(-time.Duration((i*7919)%(72*60)) * time.Minute).UTC()
}

func (g *seeder) report(s *seedSig, p *seedProduct, version, osv string, at time.Time, i int) *report.Report {
	r := g.r
	pid := uint32(1000 + r.IntN(30000))
	crashIdx := 0
	rep := &report.Report{Status: "OK", PID: &pid, AnalyzerVersion: "seed",
		SystemInfo: report.SystemInfo{OS: "Windows NT", OSVer: osv, CPUArch: "amd64", CPUInfo: "GenuineIntel family 6 model 154 stepping 3",
			CPUCount: []int{4, 8, 12, 16}[r.IntN(4)]},
		Process: report.ProcessInfo{Name: p.exe, Path: `C:\Program Files\Acme\` + p.exe, Version: version},
		Dump: report.DumpInfo{Flags: 0x1865, FlagNames: []string{"MiniDumpWithDataSegs", "MiniDumpWithHandleData",
			"MiniDumpWithUnloadedModules", "MiniDumpWithFullMemoryInfo", "MiniDumpWithThreadInfo"},
			Time: g.dumpClock(at, i).Format(time.RFC3339)},
		Signature: g.signature(s),
	}
	// Modules: the exe, the system set and the product's own.
	exeBase := uint64(0x1_4000_0000)
	rep.Modules = append(rep.Modules, report.Module{BaseAddr: report.Addr(exeBase), EndAddr: report.Addr(exeBase + 0x80000),
		Filename: p.exe, Version: version, DebugFile: strings.TrimSuffix(p.exe, ".exe") + ".pdb",
		CodeID:  fmt.Sprintf("%08X%x", g.buildStamp(), 0x80000),
		DebugID: fmt.Sprintf("%032X1", uint64(len(p.exe))*0x9e3779b9), LoadedSymbols: true,
		Path: rep.Process.Path, Symbols: &report.FileStatus{Found: true, Kind: "pdb", Source: `srv*C:\symbols`}})
	zero := 0
	rep.MainModule = &zero
	modIdx := map[int]int{}
	add := func(mi int) {
		m := g.modules[mi]
		v := m.version
		if m.app {
			v = version
		}
		mod := report.Module{BaseAddr: report.Addr(m.base), EndAddr: report.Addr(m.base + m.size), Filename: m.name,
			Version: v, DebugFile: strings.TrimSuffix(m.name, ".dll") + ".pdb",
			DebugID: fmt.Sprintf("%016X%016X1", m.base, m.size), Path: `C:\Windows\System32\` + m.name}
		if m.app {
			mod.Path = `C:\Program Files\Acme\` + m.name
			mod.LoadedSymbols = true
			mod.Symbols = &report.FileStatus{Found: true, Kind: "pdb", Source: `srv*C:\symbols`}
		} else if r.IntN(3) == 0 {
			mod.LoadedSymbols = true
			mod.Symbols = &report.FileStatus{Found: true, Kind: "pdb", Source: "https://msdl.microsoft.com/download/symbols"}
		} else {
			mod.MissingSymbols = true
			mod.Symbols = &report.FileStatus{Found: false, Kind: "exports", Why: "not on the symbol server"}
		}
		modIdx[mi] = len(rep.Modules)
		rep.Modules = append(rep.Modules, mod)
	}
	for mi := range seedSystemModules {
		if mi < 10 || r.IntN(5) == 0 {
			add(mi)
		}
	}
	for _, mi := range p.mods {
		add(mi)
	}
	frameOf := func(k int, f seedFrame, trust report.Trust) report.Frame {
		if _, ok := modIdx[f.mod]; !ok {
			add(f.mod)
		}
		m := g.modules[f.mod]
		off := uint64(0x1000 + (len(f.fn)*7919)%int(m.size-0x2000))
		fo := uint64(len(f.fn)*13) % 0x200
		fr := report.Frame{Frame: k, Trust: trust, Module: m.name, ModuleOffset: report.Addr(off), Function: f.fn,
			FunctionOffset: report.Addr(fo), Offset: report.Addr(m.base + off), File: f.file, Line: f.line,
			SP: report.Addr(0xa4f000 - k*0x58), SymbolSource: "pdb"}
		if !m.app && r.IntN(2) == 0 {
			fr.SymbolSource = "exports"
		}
		return fr
	}
	// The crashing thread: the signature's frames, then the product's
	// callers and the thread start.
	var crash []report.Frame
	for k, fi := range s.frames {
		trust := report.TrustCFI
		if k == 0 {
			trust = report.TrustContext
		}
		f := frameOf(k, g.frames[fi], trust)
		if k == 1 {
			f.Note = "chained unwind info" // as the amd64 unwinder notes it
		}
		crash = append(crash, f)
	}
	if s.overflow {
		rec := crash[len(crash)-1]
		for k := 0; k < 40; k++ {
			rec.Frame = len(crash)
			crash = append(crash, rec)
		}
	}
	for _, fn := range []string{"core::App::run", "core::App::main"} {
		crash = append(crash, report.Frame{Frame: len(crash), Trust: report.TrustCFI, Module: p.exe,
			ModuleOffset: report.Addr(0x1a40 + len(fn)), Function: fn, Offset: report.Addr(exeBase + 0x1a40),
			File: `C:\build\src\app\main.cpp`, Line: 40 + len(fn), SymbolSource: "pdb"})
	}
	crash = append(crash, report.Frame{Frame: len(crash), Trust: report.TrustFramePointer, Module: "kernel32.dll",
		ModuleOffset: 0x17614, Function: "BaseThreadInitThunk", FunctionOffset: 0x14, Offset: 0x7ffb00017614, SymbolSource: "pdb"},
		report.Frame{Frame: len(crash) + 1, Trust: report.TrustFramePointer, Module: "ntdll.dll", ModuleOffset: 0x526a1,
			Function: "RtlUserThreadStart", FunctionOffset: 0x21, Offset: 0x7ffb000526a1, SymbolSource: "pdb"})
	main := "main"
	rep.Threads = append(rep.Threads, report.Thread{ThreadID: uint32(0x1000 + r.IntN(0x8000)), ThreadName: &main,
		FrameCount: len(crash), Frames: crash, UsesExceptionContext: true})
	names := []string{"RenderThread", "IOWorker", "AudioMixer", "", "JobWorker 1", "JobWorker 2"}
	for t := range 1 + r.IntN(3) {
		var fs []report.Frame
		fs = append(fs, report.Frame{Frame: 0, Trust: report.TrustContext, Module: "ntdll.dll", ModuleOffset: 0x9d3f4,
			Function: "NtWaitForSingleObject", FunctionOffset: 0x14, Offset: 0x7ffb0009d3f4, SymbolSource: "pdb"})
		for k := range 3 + r.IntN(4) {
			fs = append(fs, frameOf(k+1, g.frames[len(seedSystemModules)*12+r.IntN(len(g.frames)-len(seedSystemModules)*12)],
				report.TrustCFI))
		}
		th := report.Thread{ThreadID: uint32(0x2000 + t*4 + r.IntN(0x4000)), FrameCount: len(fs), Frames: fs}
		if n := names[t%len(names)]; n != "" {
			th.ThreadName = &n
		}
		rep.Threads = append(rep.Threads, th)
	}
	rep.ThreadCount = len(rep.Threads)
	rep.CrashingThread = &report.CrashingThread{ThreadID: rep.Threads[0].ThreadID, ThreadsIndex: 0,
		FrameCount: len(crash), Frames: crash}
	addr := uint64(0)
	if strings.Contains(s.crashType, "ACCESS_VIOLATION") {
		addr = []uint64{0, 0x8, 0x10, 0x28, 0xdddddddd_dddddddd, 0xffffffff_ffffffff}[r.IntN(6)]
	} else {
		addr = uint64(crash[0].Offset)
	}
	desc := s.desc
	if strings.Contains(desc, "%") {
		desc = fmt.Sprintf(desc, addr)
	}
	rep.CrashInfo = report.CrashInfo{Type: s.crashType, Address: report.AddrPtr(addr), CrashingThread: &crashIdx,
		Description: desc}
	code := map[string]uint32{"EXCEPTION_STACK_OVERFLOW": 0xc00000fd, "STATUS_NO_MEMORY": 0xc0000017,
		"EXCEPTION_MSVC_CPP": 0xe06d7363, "STATUS_HEAP_CORRUPTION": 0xc0000374, "EXCEPTION_BREAKPOINT": 0x80000003,
		"EXCEPTION_ILLEGAL_INSTRUCTION": 0xc000001d, "EXCEPTION_INT_DIVIDE_BY_ZERO": 0xc0000094}[s.crashType]
	if code == 0 {
		code = 0xc0000005
	}
	if strings.HasPrefix(s.crashType, "STATUS_STACK_BUFFER_OVERRUN") {
		code = 0xc0000409
	}
	rep.Exception = &report.ExceptionRecord{ThreadID: rep.Threads[0].ThreadID, Code: report.Hex32(code), Name: s.crashType,
		Address: crash[0].Offset, Module: crash[0].Module}
	if strings.Contains(s.crashType, "ACCESS_VIOLATION") {
		rw := uint64(0)
		if strings.HasSuffix(s.crashType, "WRITE") {
			rw = 1
		}
		rep.Exception.Parameters = []report.Addr{report.Addr(rw), report.Addr(addr)}
	}
	commitLimit := uint64(16+r.IntN(48)) << 30
	if s.oom {
		// Sizes spread over 64 KiB .. 16 GiB on a log scale; fragmented
		// address spaces leave less than asked for.
		req := uint64(math.Exp2(16 + r.Float64()*18))
		cnt := req / 24
		largest := uint64(math.Exp2(20 + r.Float64()*14))
		verdict, expl := "address_space", fmt.Sprintf("The process asked for %s but its largest free region was %s.", seedBytes(req), seedBytes(largest))
		if largest > req {
			verdict, expl = "commit_limit", fmt.Sprintf("The system commit limit (%s) was reached.", seedBytes(commitLimit))
		}
		if req > 8<<30 {
			verdict, expl = "absurd_request", fmt.Sprintf("%s is more than this program ever needs: the size was probably computed from bad data.", seedBytes(req))
		}
		rep.AllocationFailure = &report.AllocationFailure{RequestedBytes: u64(req), ElementCount: u64(cnt), ElementSize: u64(24),
			Allocator: "operator new", Method: "frame 2 core::Buffer::grow: rcx before the call", Confidence: report.ConfidenceHigh,
			Evidence: []string{"disassembly: mov rcx, rbx before call operator new", "pdb: parameter count in rbx"},
			Verdict:  verdict, Explanation: expl, Recognized: "std::bad_alloc thrown from operator new",
			CommitTotalBytes: u64(commitLimit - uint64(r.IntN(1<<30))), CommitLimitBytes: u64(commitLimit),
			ProcessPrivateBytes: u64(uint64(2+r.IntN(30)) << 30), LargestFreeBytes: u64(largest)}
		rep.MemorySummary = seedMemorySummary(r, largest)
		rep.Handles = []report.Handle{
			{Handle: 0x4, Type: "Event", GrantedAccess: 0x1f0003, HandleCount: 1, PointerCount: 1},
			{Handle: 0x8, Type: "File", Name: `\Device\HarddiskVolume3\Game\save.dat`, GrantedAccess: 0x120089, HandleCount: 1, PointerCount: 1},
			{Handle: 0xc, Type: "Section", GrantedAccess: 0x4, HandleCount: 1, PointerCount: 1},
		}
	}
	if s.overflow {
		base := uint64(0xa50000)
		rep.StackOverflow = &report.StackOverflow{ThreadID: rep.Threads[0].ThreadID, StackReserveBytes: u64(1 << 20),
			StackCommitBytes: u64(4096), ReserveSource: "PE header SizeOfStackReserve", StackBase: report.AddrPtr(base),
			StackLimit: report.AddrPtr(base - 0xfd000), DeallocationStack: report.AddrPtr(base - 0x100000),
			GuardPage: &report.GuardPage{Base: report.Addr(base - 0xfe000), Size: 0x2000}, UsedBytes: u64(0xfd000),
			RemainingBytes: u64(0x1000), Recursion: &report.Recursion{Frames: []string{crash[len(s.frames)-1].Function}, Repeats: 43,
				FirstFrame: len(s.frames) - 1},
			LargestFrames: []report.FrameSize{{Frame: 3, Function: crash[len(s.frames)-1].Function, Bytes: 0x5820}},
			Explanation:   "Thread ran out of stack: " + crash[len(s.frames)-1].Function + " calls itself 43 times.",
			Confidence:    report.ConfidenceHigh}
	}
	return rep
}

func seedMemorySummary(r *rand.Rand, largest uint64) *report.MemorySummary {
	ms := &report.MemorySummary{AddressSpaceBytes: 1 << 47, LargestFreeBytes: largest, Source: "MemoryInfoList", PointerSize: 8}
	addr := uint64(0x10000)
	usages := []string{"Free", "Heap", "Image", "Stack", "Other", "<unknown>", "PEB", "TEB"}
	for k := 0; k < 60; k++ {
		size := uint64(0x1000 * (1 + r.IntN(4096)))
		u := usages[r.IntN(len(usages))]
		state, typ := "MEM_COMMIT", "MEM_PRIVATE"
		if u == "Free" {
			state, typ = "MEM_FREE", ""
		}
		if u == "Image" {
			typ = "MEM_IMAGE"
		}
		ms.Regions = append(ms.Regions, report.Region{Base: report.Addr(addr), End: report.Addr(addr + size), Size: size,
			State: state, Protect: "PAGE_READWRITE", Type: typ, Usage: u, AllocationBase: report.Addr(addr)})
		addr += size
	}
	ms.Text = "--- Usage Summary ---------------- RgnCount ----------- Total Size -------- %ofBusy %ofTotal\n" +
		"Free                                     42     7ffe`1a2b0000 ( 127.992 TB)           99.99%\n" +
		"<unknown>                               210        1`2c3d0000 (   4.691 GB)  62.10%    0.00%\n"
	ms.Usage = []report.SummaryEntry{{Name: "Free", Regions: 42, Bytes: 1 << 46}}
	return ms
}

func seedBytes(n uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
