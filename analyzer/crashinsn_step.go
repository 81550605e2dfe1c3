package analyzer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/crashinsn"
	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// analyzeCrashInstruction fills crash_info's instruction analysis
// (crashinsn) for an x86 or amd64 exception.
func (a *analysis) analyzeCrashInstruction() {
	e := a.d.Exception
	if e == nil || e.Context == nil || (e.Context.AMD64 == nil && e.Context.X86 == nil) {
		return
	}
	ci := &a.rep.CrashInfo
	ci.CrashInconsistencies = []string{}
	in := crashinsn.Input{Is64: e.Context.AMD64 != nil, PC: e.Context.PC(), Regs: map[string]uint64{},
		Exception: e.Code, AccessKind: -1, Mem: newCrashMemory(a)}
	if ci.Address != nil {
		in.Address = uint64(*ci.Address)
	}
	platform := uint32(2) // Windows NT unless SystemInfo says otherwise
	if a.d.SystemInfo != nil {
		platform = a.d.SystemInfo.PlatformID
	}
	in.AccessFault = accessFault(platform, e.Code)
	if in.AccessFault && len(e.Parameters) >= 2 && e.Code>>28 == 0xC {
		in.AccessKind = int(e.Parameters[0]) // EXCEPTION_ACCESS_VIOLATION's read/write/execute
	}
	for _, r := range e.Context.Registers() {
		in.Regs[r.Name] = r.Value
	}
	code := make([]byte, 15)
	n, _ := a.memory().ReadMemory(in.PC, code)
	in.Code = code[:n]
	res := crashinsn.Analyze(in)
	ci.Instruction, ci.MemoryAccesses, ci.InstructionPointerUpdate = res.Instruction, res.Accesses, res.IPUpdate
	ci.AdjustedAddress, ci.PossibleBitFlips, ci.CrashInconsistencies = res.Adjusted, res.BitFlips, res.Inconsistencies
}

// accessFault says whether an exception code is a bad memory access on the
// dump's platform (MINIDUMP_SYSTEM_INFO.PlatformId): an access violation or
// in-page error on Windows, SIGSEGV or SIGBUS on Linux and Android (Breakpad's
// platform ids), whose signal numbers the exception code holds.
func accessFault(platform, code uint32) bool {
	switch platform {
	case 0x8201, 0x8203: // Linux, Android
		return code == 11 || code == 7
	case 0, 1, 2: // Win32s, Windows 9x, Windows NT
		return code == 0xC0000005 || code == 0xC0000006
	}
	return false
}

// crashMemory answers crashinsn's questions from the modules, the
// MemoryInfoList and the captured memory.
type crashMemory struct {
	a      *analysis
	sorted bool // MemoryInfoList is in address order, as writers write it
}

func newCrashMemory(a *analysis) crashMemory {
	return crashMemory{a: a, sorted: slices.IsSortedFunc(a.d.MemoryInfo, func(x, y minidump.MemoryInfo) int {
		return cmpU64(x.BaseAddress, y.BaseAddress)
	})}
}

// Memory protection constants (MEMORY_BASIC_INFORMATION.Protect).
const (
	protNoAccess = 0x01
	protGuard    = 0x100
	memCommit    = 0x1000
)

func (m crashMemory) region(addr uint64) (minidump.MemoryInfo, bool) {
	mi := m.a.d.MemoryInfo
	i, found := slices.BinarySearchFunc(mi, addr, func(r minidump.MemoryInfo, x uint64) int {
		switch {
		case r.BaseAddress+r.RegionSize <= x:
			return -1
		case r.BaseAddress > x:
			return 1
		}
		return 0
	})
	if !m.sorted {
		for _, r := range mi {
			if addr >= r.BaseAddress && addr-r.BaseAddress < r.RegionSize {
				return r, true
			}
		}
		return minidump.MemoryInfo{}, false
	}
	if !found {
		return minidump.MemoryInfo{}, false
	}
	return mi[i], true
}

func cmpU64(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (m crashMemory) Valid(addr uint64) bool {
	if addr < 0x10000 {
		return false
	}
	if r, ok := m.region(addr); ok {
		return r.State == memCommit && r.Protect&(protNoAccess|protGuard) == 0 && r.Protect != 0
	}
	return m.a.d.ModuleAt(addr) != nil || m.a.d.HasMemory(addr, 1)
}

func (m crashMemory) Guard(addr uint64) bool {
	r, ok := m.region(addr)
	return ok && r.State == memCommit && (r.Protect&protGuard != 0 || r.Protect&0xff == protNoAccess)
}

func (m crashMemory) Allows(addr uint64, write, exec bool) (bool, bool) {
	r, ok := m.region(addr)
	if !ok {
		return false, false
	}
	if r.State != memCommit || r.Protect&(protGuard|protNoAccess) != 0 {
		return true, false
	}
	p := r.Protect & 0xff
	const (
		readOnly, readWrite, writeCopy                   = 0x02, 0x04, 0x08
		execute, executeRead, executeRW, executeWriteCop = 0x10, 0x20, 0x40, 0x80
	)
	switch {
	case exec:
		return true, p&(execute|executeRead|executeRW|executeWriteCop) != 0
	case write:
		return true, p&(readWrite|writeCopy|executeRW|executeWriteCop) != 0
	}
	return true, p != 0
}

func (m crashMemory) Pointer(addr uint64) (uint64, bool) {
	if m.a.d.PointerSize() == 4 {
		v, ok := m.a.memory().ReadU32(addr)
		return uint64(v), ok
	}
	return m.a.memory().ReadU64(addr)
}

// describeFrameUnloadedModules lists, for frames in no loaded module, the
// unloaded modules whose range held the address.
func (a *analysis) describeFrameUnloadedModules() {
	if len(a.d.UnloadedModules) == 0 {
		return
	}
	for i := range a.rep.Threads {
		fs := a.rep.Threads[i].Frames
		for k := range fs {
			f := &fs[k]
			if f.Module != "" {
				continue
			}
			byName := map[string][]report.Addr{}
			for _, u := range a.d.UnloadedModules {
				if pc := uint64(f.Offset); pc >= u.Base && pc-u.Base < uint64(u.Size) {
					name := (&minidump.Module{Name: u.Name}).FileName()
					off := report.Addr(pc - u.Base)
					if !slices.Contains(byName[name], off) {
						byName[name] = append(byName[name], off)
					}
				}
			}
			for _, name := range slices.Sorted(maps.Keys(byName)) {
				offs := byName[name]
				slices.Sort(offs)
				f.UnloadedModules = append(f.UnloadedModules, report.FrameUnloadedModule{Module: name, Offsets: offs})
			}
		}
	}
	a.syncCrashingThread()
}

// describeVendorStreams reads the Linux and Mozilla streams
// minidump-stackwalk reports: the memory map count, lsb-release, resource
// limits, macOS boot arguments and the writer's soft errors.
func (a *analysis) describeVendorStreams() {
	read := func(t minidump.StreamType) []byte {
		s, ok := a.d.Stream(t)
		if !ok {
			return nil
		}
		b, err := a.d.ReadStream(s, 1<<20)
		if err != nil {
			a.warn("%s stream: %v", t, err)
			return nil
		}
		return b
	}
	if b := read(minidump.LinuxMapsStream); b != nil {
		n := 0
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				n++
			}
		}
		a.rep.LinuxMemoryMapCount = &n
	}
	if b := read(minidump.LinuxLsbReleaseStream); b != nil {
		a.rep.LSBRelease = parseLSBRelease(b)
	}
	if b := read(minidump.MozLinuxLimits); b != nil {
		a.rep.ProcLimits = parseProcLimits(string(b))
	}
	if b := read(minidump.MozSoftErrors); b != nil {
		var c bytes.Buffer
		if err := json.Compact(&c, bytes.TrimRight(b, "\x00")); err == nil {
			a.rep.SoftErrors = report.RawJSON(c.Bytes())
		} else {
			a.warn("MozSoftErrors stream is not JSON")
		}
	}
}

// parseLSBRelease reads /etc/lsb-release or /etc/os-release lines.
func parseLSBRelease(b []byte) *report.LSBRelease {
	var l report.LSBRelease
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		set := func(dst *string) {
			if *dst == "" {
				*dst = v
			}
		}
		switch strings.TrimSpace(k) {
		case "DISTRIB_ID", "ID":
			set(&l.ID)
		case "DISTRIB_RELEASE", "VERSION_ID":
			set(&l.Release)
		case "DISTRIB_CODENAME", "VERSION_CODENAME":
			set(&l.Codename)
		case "DISTRIB_DESCRIPTION", "PRETTY_NAME":
			set(&l.Description)
		}
	}
	return &l
}

// parseProcLimits reads /proc/PID/limits: a header, then columns at the
// header's offsets (Limit, Soft Limit, Hard Limit, Units).
func parseProcLimits(s string) *report.ProcLimits {
	lines := strings.Split(s, "\n")
	if len(lines) == 0 {
		return nil
	}
	h := lines[0]
	soft, hard, units := strings.Index(h, "Soft Limit"), strings.Index(h, "Hard Limit"), strings.Index(h, "Units")
	if soft <= 0 || hard <= soft || units <= hard {
		return nil
	}
	out := &report.ProcLimits{Limits: []report.ProcLimit{}}
	col := func(l string, from, to int) string {
		if from >= len(l) {
			return ""
		}
		return strings.TrimSpace(l[from:min(to, len(l))])
	}
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		out.Limits = append(out.Limits, report.ProcLimit{Name: col(l, 0, soft), Soft: col(l, soft, hard),
			Hard: col(l, hard, units), Unit: col(l, units, len(l))})
	}
	return out
}
