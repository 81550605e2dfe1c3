package minidump

import (
	"bytes"
	"slices"
	"strings"
)

func (d *Dump) parseSystemInfo(s StreamInfo) error {
	if s.Size < 56 {
		return formatErr("SystemInfo", int64(s.Rva), "stream is %d bytes, MINIDUMP_SYSTEM_INFO needs 56", s.Size)
	}
	b, err := d.f.read("SystemInfo", int64(s.Rva), 56)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	si := &SystemInfo{
		ProcessorArchitecture: Arch(c.u16()), ProcessorLevel: c.u16(), ProcessorRevision: c.u16(),
		NumberOfProcessors: c.u8(), ProductType: c.u8(), MajorVersion: c.u32(), MinorVersion: c.u32(),
		BuildNumber: c.u32(), PlatformID: c.u32(),
	}
	csdRva := c.u32()
	si.SuiteMask = c.u16()
	c.skip(2)
	switch si.ProcessorArchitecture {
	case ArchX86, ArchAMD64, archX86OnWin64:
		vendor := c.bytes(12)
		si.VendorID = printable(strings.TrimRight(string(vendor), "\x00"))
		si.CPUVersionInfo = c.u32()
		si.CPUFeatureInfo = c.u32()
	default:
		si.ProcessorFeatures[0] = c.u64()
		si.ProcessorFeatures[1] = c.u64()
	}
	d.SystemInfo = si
	if csdRva != 0 {
		csd, err := d.f.readString("SystemInfo.CSDVersion", csdRva)
		if err != nil {
			return err
		}
		si.CSDVersion = csd
	}
	return nil
}

func (d *Dump) parseMiscInfo(s StreamInfo) error {
	if s.Size < 24 {
		return formatErr("MiscInfo", int64(s.Rva), "stream is %d bytes, MINIDUMP_MISC_INFO needs 24", s.Size)
	}
	n := s.Size
	if n > 4096 {
		n = 4096
	}
	b, err := d.f.read("MiscInfo", int64(s.Rva), int64(n))
	if err != nil {
		return err
	}
	c := cursor{b: b}
	m := &MiscInfo{SizeOfInfo: c.u32(), Flags1: c.u32(), ProcessID: c.u32(), ProcessCreateTime: c.u32(),
		ProcessUserTime: c.u32(), ProcessKernelTime: c.u32()}
	size := int(m.SizeOfInfo)
	if size > len(b) {
		size = len(b)
	}
	if size >= 44 {
		m.ProcessorMaxMhz, m.ProcessorCurrentMhz, m.ProcessorMhzLimit = c.u32(), c.u32(), c.u32()
		m.ProcessorMaxIdleState, m.ProcessorCurrentIdleState = c.u32(), c.u32()
	}
	if size >= 232 {
		m.ProcessIntegrityLevel, m.ProcessExecuteFlags, m.ProtectedProcess, m.TimeZoneID = c.u32(), c.u32(), c.u32(), c.u32()
		// TIME_ZONE_INFORMATION: Bias, StandardName[32], StandardDate, StandardBias, DaylightName[32], DaylightDate, DaylightBias.
		m.TimeZoneBias = int32(c.u32())
		m.TimeZoneStandardName = utf16z(c.bytes(64))
		c.skip(16 + 4)
		m.TimeZoneDaylightName = utf16z(c.bytes(64))
		c.skip(16 + 4)
	}
	if size >= 832 {
		m.BuildString = utf16z(c.bytes(520))
		m.DbgBldStr = utf16z(c.bytes(80))
	}
	if size >= 1364 {
		// XSTATE_CONFIG_FEATURE_MSC_INFO: SizeOfInfo, ContextSize, EnabledFeatures, Features[64].
		c.skip(4)
		m.XStateContextSize = c.u32()
		m.XStateEnabledFeatures = c.u64()
		c.skip(64 * 8)
		m.ProcessCookie = c.u32()
	}
	d.MiscInfo = m
	return nil
}

// contextArch is the arch used to decode thread contexts.
func (d *Dump) contextArch() Arch {
	if d.SystemInfo == nil {
		return ArchUnknown
	}
	return d.SystemInfo.ProcessorArchitecture
}

// maxContextSize bounds a CONTEXT read; XSTATE contexts are a few KB.
const maxContextSize = 64 * 1024

type cachedContext struct {
	ctx *Context
	err error
}

// readContext reads a CONTEXT, once per location: callers must not modify
// the result, which thread entries sharing the location share.
func (d *Dump) readContext(stream string, loc Location) (*Context, error) {
	if c, ok := d.contexts[loc]; ok {
		return c.ctx, c.err
	}
	ctx, err := d.readContextAt(stream, loc)
	if d.contexts == nil {
		d.contexts = map[Location]cachedContext{}
	}
	d.contexts[loc] = cachedContext{ctx, err}
	return ctx, err
}

func (d *Dump) readContextAt(stream string, loc Location) (*Context, error) {
	if loc.DataSize == 0 {
		return nil, formatErr(stream, int64(loc.Rva), "no context recorded")
	}
	if loc.DataSize > maxContextSize {
		return nil, formatErr(stream, int64(loc.Rva), "context of %d bytes is implausible", loc.DataSize)
	}
	b, err := d.f.read(stream, int64(loc.Rva), int64(loc.DataSize))
	if err != nil {
		return nil, err
	}
	ctx, err := parseContext(d.contextArch(), b)
	if err != nil {
		return nil, formatErr(stream, int64(loc.Rva), "%v", err)
	}
	return ctx, nil
}

// keptThread reports a thread that the list keeps past MaxThreads: the one
// the exception names, and the ones Breakpad's info names.
func (d *Dump) keptThread(id uint32) bool {
	if e := d.Exception; e != nil && e.ThreadID == id {
		return true
	}
	if b := d.BreakpadInfo; b != nil && (b.HasDumpThreadID && b.DumpThreadID == id || b.HasRequestingThreadID && b.RequestingThreadID == id) {
		return true
	}
	return false
}

// parseThreadList keeps the first MaxThreads entries (and the threads
// keptThread names); ThreadCount is the list's count.
func (d *Dump) parseThreadList(s StreamInfo, entry uint32) error {
	count, first, herr := d.listHeader(s, entry)
	if count == 0 {
		return herr
	}
	d.ThreadCount = int(count)
	d.Threads = make([]Thread, 0, min(count, MaxThreads+3))
	// Read in batches: the count is bounded only by the file's size.
	const batch = 4096
	for start := uint32(0); start < count; start += batch {
		n := min(batch, count-start)
		b, err := d.f.read(s.Type.String(), first+int64(start)*int64(entry), int64(n)*int64(entry))
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			c := cursor{b: b, off: int(i * entry)}
			t := Thread{ID: c.u32(), SuspendCount: c.u32(), PriorityClass: c.u32(), Priority: c.u32(), Teb: c.u64()}
			t.Stack = MemoryDescriptor{Start: c.u64(), DataSize: c.u32(), Rva: c.u32()}
			t.ContextLoc = Location{DataSize: c.u32(), Rva: c.u32()}
			if entry == 64 {
				bs := MemoryDescriptor{Start: c.u64(), DataSize: c.u32(), Rva: c.u32()}
				t.BackingStore = &bs
			}
			if start+i >= MaxThreads && !d.keptThread(t.ID) {
				continue
			}
			t.Context, t.ContextErr = d.readContext(s.Type.String()+".ThreadContext", t.ContextLoc)
			// A thread's stack is captured memory even in a full dump whose
			// Memory64List misses it.
			if t.Stack.DataSize > 0 && d.f.fits(int64(t.Stack.Rva), uint64(t.Stack.DataSize), 1) {
				d.memory = append(d.memory, MemoryRange{Start: t.Stack.Start, Size: uint64(t.Stack.DataSize), Offset: int64(t.Stack.Rva)})
			}
			d.Threads = append(d.Threads, t)
		}
	}
	return herr
}

func (d *Dump) parseModuleList(s StreamInfo) ([]Module, error) {
	const entry = 108
	count, first, herr := d.listHeader(s, entry)
	if count == 0 {
		return nil, herr
	}
	d.ModuleCount = int(count)
	count = min(count, MaxModules)
	b, err := d.f.read(s.Type.String(), first, int64(count)*entry)
	if err != nil {
		return nil, err
	}
	mods := make([]Module, 0, count)
	var warn error = herr
	for i := uint32(0); i < count; i++ {
		c := cursor{b: b, off: int(i * entry)}
		m := Module{Base: c.u64(), Size: c.u32(), CheckSum: c.u32(), TimeDateStamp: c.u32()}
		nameRva := c.u32()
		v := &m.Version
		v.Signature, v.StrucVersion, v.FileVersionMS, v.FileVersionLS = c.u32(), c.u32(), c.u32(), c.u32()
		v.ProductVersionMS, v.ProductVersionLS, v.FileFlagsMask, v.FileFlags = c.u32(), c.u32(), c.u32(), c.u32()
		v.FileOS, v.FileType, v.FileSubtype, v.FileDateMS, v.FileDateLS = c.u32(), c.u32(), c.u32(), c.u32(), c.u32()
		m.CvRecord = Location{DataSize: c.u32(), Rva: c.u32()}
		m.MiscRecord = Location{DataSize: c.u32(), Rva: c.u32()}
		name, err := d.f.readString(s.Type.String()+".ModuleName", nameRva)
		if err != nil && warn == nil {
			warn = err
		}
		m.Name = name
		if m.CvRecord.DataSize > 0 {
			cv, err := d.readCodeView(m.CvRecord)
			if err != nil && warn == nil {
				warn = err
			}
			m.CodeView = cv
		}
		mods = append(mods, m)
	}
	return mods, warn
}

// readCodeView decodes a CV_INFO_PDB70 ("RSDS") or CV_INFO_PDB20 ("NB10") record.
func (d *Dump) readCodeView(loc Location) (*CodeView, error) {
	const stream = "ModuleList.CvRecord"
	if loc.DataSize < 16 || loc.DataSize > 64*1024 {
		return nil, formatErr(stream, int64(loc.Rva), "CodeView record of %d bytes", loc.DataSize)
	}
	b, err := d.f.read(stream, int64(loc.Rva), int64(loc.DataSize))
	if err != nil {
		return nil, err
	}
	cstr := func(b []byte) string {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		if len(b) > MaxNameLength {
			return strings.ToValidUTF8(string(b[:MaxNameLength]), "") + "…"
		}
		return string(b)
	}
	switch string(b[:4]) {
	case "RSDS":
		if len(b) < 24 {
			return nil, formatErr(stream, int64(loc.Rva), "RSDS record of %d bytes", len(b))
		}
		cv := &CodeView{Signature: "RSDS", Age: le.Uint32(b[20:]), PDBName: cstr(b[24:])}
		copy(cv.GUID[:], b[4:20])
		return cv, nil
	case "NB10":
		cv := &CodeView{Signature: "NB10", NB10Sig: le.Uint32(b[8:]), Age: le.Uint32(b[12:]), PDBName: cstr(b[16:])}
		return cv, nil
	}
	return nil, nil // other CodeView formats (e.g. ELF build ids) carry no PDB identity
}

func (d *Dump) parseUnloadedModules(s StreamInfo) error {
	b, err := d.f.read("UnloadedModuleList", int64(s.Rva), 12)
	if err != nil {
		return err
	}
	hs, es, n := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])
	if es < 24 || hs < 12 {
		return formatErr("UnloadedModuleList", int64(s.Rva), "header size %d, entry size %d", hs, es)
	}
	first := int64(s.Rva) + int64(hs)
	if !d.f.fits(first, uint64(n), uint64(es)) || uint64(n)*uint64(es)+uint64(hs) > uint64(s.Size) {
		return formatErr("UnloadedModuleList", first, "%d entries of %d bytes do not fit", n, es)
	}
	d.UnloadedModuleCount = int(n)
	n = min(n, MaxUnloadedModules)
	eb, err := d.f.read("UnloadedModuleList", first, int64(n)*int64(es))
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		c := cursor{b: eb, off: int(i * es)}
		u := UnloadedModule{Base: c.u64(), Size: c.u32(), CheckSum: c.u32(), TimeDateStamp: c.u32()}
		u.Name, _ = d.f.readString("UnloadedModuleList.ModuleName", c.u32())
		d.UnloadedModules = append(d.UnloadedModules, u)
	}
	return nil
}

func (d *Dump) parseMemoryList(s StreamInfo) error {
	count, first, herr := d.listHeader(s, 16)
	if count == 0 {
		return herr
	}
	if count > MaxMemoryRanges {
		herr = formatErr("MemoryList", first, "%d ranges; reading the first %d", count, MaxMemoryRanges)
		count = MaxMemoryRanges
	}
	b, err := d.f.read("MemoryList", first, int64(count)*16)
	if err != nil {
		return err
	}
	d.memory = slices.Grow(d.memory, int(count))
	var bad int
	for i := uint32(0); i < count; i++ {
		c := cursor{b: b, off: int(i * 16)}
		start, size, rva := c.u64(), c.u32(), c.u32()
		d.noteMemoryEnd(uint64(rva), uint64(size))
		if !d.f.fits(int64(rva), uint64(size), 1) {
			bad++
			continue
		}
		d.memory = append(d.memory, MemoryRange{Start: start, Size: uint64(size), Offset: int64(rva)})
	}
	if bad > 0 && herr == nil {
		herr = formatErr("MemoryList", first, "%d of %d ranges point past the end of the file", bad, count)
	}
	return herr
}

func (d *Dump) parseMemory64List(s StreamInfo) error {
	b, err := d.f.read("Memory64List", int64(s.Rva), 16)
	if err != nil {
		return err
	}
	n, base := le.Uint64(b), le.Uint64(b[8:])
	first := int64(s.Rva) + 16
	var herr error
	if uint64(s.Size) < 16 || n > (uint64(s.Size)-16)/16 {
		avail := uint64(0)
		if s.Size >= 16 {
			avail = uint64(s.Size-16) / 16
		}
		herr = formatErr("Memory64List", int64(s.Rva), "count %d does not fit the stream of %d bytes; reading %d", n, s.Size, avail)
		n = avail
	}
	if !d.f.fits(first, n, 16) {
		avail := uint64(0)
		if first <= d.f.size {
			avail = uint64(d.f.size-first) / 16
		}
		herr = formatErr("Memory64List", first, "%d descriptors run past the end of the file; reading %d", n, avail)
		n = avail
	}
	if n > MaxMemoryRanges {
		herr = formatErr("Memory64List", int64(s.Rva), "%d ranges; reading the first %d", n, MaxMemoryRanges)
		n = MaxMemoryRanges
	}
	if n == 0 {
		return herr
	}
	db, err := d.f.read("Memory64List", first, int64(n)*16)
	if err != nil {
		return err
	}
	d.FullMemory = true
	off := base
	var short bool
	for i := uint64(0); i < n; i++ {
		c := cursor{b: db, off: int(i * 16)}
		start, size := c.u64(), c.u64()
		if off > uint64(d.f.size) || size > uint64(d.f.size)-off {
			// Where the data would end: the rest of the descriptors' sizes.
			end := off
			for j := i; j < n && end != ^uint64(0); j++ {
				sz := le.Uint64(db[j*16+8:])
				if end+sz < end {
					end = ^uint64(0)
				} else {
					end += sz
				}
			}
			d.noteMemoryEnd(end, 0)
			short = true
			if off < uint64(d.f.size) {
				d.memory = append(d.memory, MemoryRange{Start: start, Size: uint64(d.f.size) - off, Offset: int64(off)})
			}
			break
		}
		d.memory = append(d.memory, MemoryRange{Start: start, Size: size, Offset: int64(off)})
		off += size
	}
	if short && herr == nil {
		herr = formatErr("Memory64List", int64(base), "memory data is truncated: the file ends before all %d ranges", n)
	}
	return herr
}

func (d *Dump) parseException(s StreamInfo) error {
	if s.Size < 168 {
		return formatErr("Exception", int64(s.Rva), "stream is %d bytes, MINIDUMP_EXCEPTION_STREAM needs 168", s.Size)
	}
	b, err := d.f.read("Exception", int64(s.Rva), 168)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	e := &Exception{ThreadID: c.u32()}
	c.skip(4)
	e.Code, e.Flags, e.Record, e.Address = c.u32(), c.u32(), c.u64(), c.u64()
	e.NumParameters = c.u32()
	c.skip(4)
	np := e.NumParameters
	if np > 15 {
		np = 15
	}
	for i := 0; i < 15; i++ {
		v := c.u64()
		if uint32(i) < np {
			e.Parameters = append(e.Parameters, v)
		}
	}
	e.ContextLoc = Location{DataSize: c.u32(), Rva: c.u32()}
	e.Context, e.ContextErr = d.readContext("Exception.ThreadContext", e.ContextLoc)
	d.Exception = e
	if e.NumParameters > 15 {
		return formatErr("Exception", int64(s.Rva)+32, "NumberParameters %d exceeds 15", e.NumParameters)
	}
	return nil
}

func (d *Dump) parseMemoryInfoList(s StreamInfo) error {
	b, err := d.f.read("MemoryInfoList", int64(s.Rva), 16)
	if err != nil {
		return err
	}
	hs, es, n := le.Uint32(b), le.Uint32(b[4:]), le.Uint64(b[8:])
	if hs < 16 || es < 48 {
		return formatErr("MemoryInfoList", int64(s.Rva), "header size %d, entry size %d", hs, es)
	}
	first := int64(s.Rva) + int64(hs)
	var herr error
	if uint64(hs) > uint64(s.Size) || n > (uint64(s.Size)-uint64(hs))/uint64(es) {
		avail := uint64(0)
		if uint64(hs) <= uint64(s.Size) {
			avail = (uint64(s.Size) - uint64(hs)) / uint64(es)
		}
		herr = formatErr("MemoryInfoList", int64(s.Rva), "%d entries do not fit the stream of %d bytes; reading %d", n, s.Size, avail)
		n = avail
	}
	if !d.f.fits(first, n, uint64(es)) {
		return formatErr("MemoryInfoList", first, "%d entries run past the end of the file", n)
	}
	d.MemoryInfoCount = int(n)
	if n > MaxMemoryInfo {
		herr = formatErr("MemoryInfoList", int64(s.Rva), "%d regions; reading the first %d", n, MaxMemoryInfo)
		n = MaxMemoryInfo
	}
	eb, err := d.f.read("MemoryInfoList", first, int64(n)*int64(es))
	if err != nil {
		return err
	}
	d.HasMemoryInfo = true
	d.MemoryInfo = make([]MemoryInfo, 0, n)
	for i := uint64(0); i < n; i++ {
		c := cursor{b: eb, off: int(i * uint64(es))}
		m := MemoryInfo{BaseAddress: c.u64(), AllocationBase: c.u64(), AllocationProtect: c.u32()}
		c.skip(4)
		m.RegionSize, m.State, m.Protect, m.Type = c.u64(), c.u32(), c.u32(), c.u32()
		d.MemoryInfo = append(d.MemoryInfo, m)
	}
	return herr
}

func (d *Dump) parseThreadInfoList(s StreamInfo) error {
	b, err := d.f.read("ThreadInfoList", int64(s.Rva), 12)
	if err != nil {
		return err
	}
	hs, es, n := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])
	if hs < 12 || es < 64 {
		return formatErr("ThreadInfoList", int64(s.Rva), "header size %d, entry size %d", hs, es)
	}
	first := int64(s.Rva) + int64(hs)
	if uint64(n)*uint64(es)+uint64(hs) > uint64(s.Size) || !d.f.fits(first, uint64(n), uint64(es)) {
		return formatErr("ThreadInfoList", first, "%d entries of %d bytes do not fit", n, es)
	}
	n = min(n, maxThreadInfos)
	eb, err := d.f.read("ThreadInfoList", first, int64(n)*int64(es))
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		c := cursor{b: eb, off: int(i * es)}
		d.ThreadInfos = append(d.ThreadInfos, ThreadInfo{ThreadID: c.u32(), DumpFlags: c.u32(), DumpError: c.u32(),
			ExitStatus: c.u32(), CreateTime: c.u64(), ExitTime: c.u64(), KernelTime: c.u64(), UserTime: c.u64(),
			StartAddress: c.u64(), Affinity: c.u64()})
	}
	return nil
}

func (d *Dump) parseThreadNames(s StreamInfo) error {
	count, first, herr := d.listHeader(s, 12)
	if count == 0 {
		return herr
	}
	count = min(count, maxThreadNames)
	b, err := d.f.read("ThreadNames", first, int64(count)*12)
	if err != nil {
		return err
	}
	d.ThreadNames = map[uint32]string{}
	for i := uint32(0); i < count; i++ {
		c := cursor{b: b, off: int(i * 12)}
		id, rva := c.u32(), c.u64()
		if rva > uint64(d.f.size) {
			continue
		}
		name, err := d.f.readString("ThreadNames.Name", uint32(rva))
		if err == nil {
			d.ThreadNames[id] = name
		}
	}
	return herr
}

func (d *Dump) parseHandleData(s StreamInfo) error {
	b, err := d.f.read("HandleData", int64(s.Rva), 16)
	if err != nil {
		return err
	}
	hs, ds, n := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])
	if hs < 16 || ds < 32 {
		return formatErr("HandleData", int64(s.Rva), "header size %d, descriptor size %d", hs, ds)
	}
	first := int64(s.Rva) + int64(hs)
	if uint64(n)*uint64(ds)+uint64(hs) > uint64(s.Size) || !d.f.fits(first, uint64(n), uint64(ds)) {
		return formatErr("HandleData", first, "%d descriptors of %d bytes do not fit", n, ds)
	}
	d.HandleCount = int(n)
	n = min(n, MaxHandles)
	eb, err := d.f.read("HandleData", first, int64(n)*int64(ds))
	if err != nil {
		return err
	}
	str := func(rva uint32) string {
		v, _ := d.f.readString("HandleData.Name", rva)
		return v
	}
	for i := uint32(0); i < n; i++ {
		c := cursor{b: eb, off: int(i * ds)}
		h := Handle{Handle: c.u64()}
		tn, on := c.u32(), c.u32()
		h.Attributes, h.GrantedAccess, h.HandleCount, h.PointerCount = c.u32(), c.u32(), c.u32(), c.u32()
		h.TypeName, h.ObjectName = str(tn), str(on)
		d.Handles = append(d.Handles, h)
	}
	return nil
}

func (d *Dump) parseComment(s StreamInfo) error {
	n := s.Size
	if n > 64*1024 {
		n = 64 * 1024
	}
	b, err := d.f.read(s.Type.String(), int64(s.Rva), int64(n))
	if err != nil {
		return err
	}
	if s.Type == CommentStreamW {
		d.Comments = append(d.Comments, utf16z(b))
	} else {
		d.Comments = append(d.Comments, strings.TrimRight(string(b), "\x00"))
	}
	return nil
}

func (d *Dump) parseFunctionTable(s StreamInfo) error {
	b, err := d.f.read("FunctionTable", int64(s.Rva), 24)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	hs, ds, nds, fes, n, pad := c.u32(), c.u32(), c.u32(), c.u32(), c.u32(), c.u32()
	if hs < 24 || ds < 32 || fes == 0 || fes > 64 || nds > 4096 || pad > 64 {
		return formatErr("FunctionTable", int64(s.Rva), "header %d, descriptor %d, native %d, entry %d", hs, ds, nds, fes)
	}
	off := int64(s.Rva) + int64(hs) + int64(pad)
	end := int64(s.Rva) + int64(s.Size)
	for i := uint32(0); i < n && i < maxFunctionTables && off < end; i++ {
		db, err := d.f.read("FunctionTable", off, int64(ds))
		if err != nil {
			return err
		}
		c := cursor{b: db}
		t := FunctionTable{MinimumAddress: c.u64(), MaximumAddress: c.u64(), BaseAddress: c.u64(), EntryCount: c.u32(), EntrySize: fes}
		tpad := int64(c.u32())
		off += int64(ds)
		// DYNAMIC_FUNCTION_TABLE.Callback is at offset 56 on every 64-bit
		// Windows that writes the stream; growable tables keep other data
		// there, so it only ever names a module when it points into one.
		if nds >= 64 {
			nb, err := d.f.read("FunctionTable", off, int64(nds))
			if err != nil {
				return err
			}
			t.Callback = le.Uint64(nb[56:])
		}
		off += int64(nds)
		if !d.f.fits(off, uint64(t.EntryCount), uint64(fes)) || off+int64(t.EntryCount)*int64(fes) > end {
			return formatErr("FunctionTable", off, "%d entries do not fit", t.EntryCount)
		}
		t.Entries, err = d.f.read("FunctionTable", off, int64(t.EntryCount)*int64(fes))
		if err != nil {
			return err
		}
		off += int64(t.EntryCount)*int64(fes) + tpad
		d.FunctionTables = append(d.FunctionTables, t)
	}
	return nil
}

func (d *Dump) parseSystemMemoryInfo(s StreamInfo) error {
	// Revision, Flags, MINIDUMP_SYSTEM_BASIC_INFORMATION (52 bytes),
	// MINIDUMP_SYSTEM_FILECACHE_INFORMATION (60, packed to 4), then
	// MINIDUMP_SYSTEM_BASIC_PERFORMANCE_INFORMATION at offset 116.
	if s.Size < 148 {
		return formatErr("SystemMemoryInfo", int64(s.Rva), "stream is %d bytes, need at least 148", s.Size)
	}
	b, err := d.f.read("SystemMemoryInfo", int64(s.Rva), 148)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	m := &SystemMemoryInfo{Revision: c.u16(), Flags: c.u16()}
	c.skip(4) // TimerResolution
	m.PageSize, m.NumberOfPhysicalPages = c.u32(), c.u32()
	c.skip(8)
	m.AllocationGranularity = c.u32()
	m.MinimumUserModeAddress, m.MaximumUserModeAddress = c.u64(), c.u64()
	c.off = 116
	ps := uint64(m.PageSize)
	if ps == 0 {
		ps = 4096
	}
	m.AvailableBytes, m.CommittedBytes, m.CommitLimitBytes, m.PeakCommitmentBytes = c.u64()*ps, c.u64()*ps, c.u64()*ps, c.u64()*ps
	d.SystemMemory = m
	return nil
}

func (d *Dump) parseVmCounters(s StreamInfo) error {
	if s.Size < 80 {
		return formatErr("ProcessVmCounters", int64(s.Rva), "stream is %d bytes, need 80", s.Size)
	}
	n := int64(s.Size)
	if n > 136 {
		n = 136
	}
	b, err := d.f.read("ProcessVmCounters", int64(s.Rva), n)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	v := &ProcessVmCounters{Revision: c.u16()}
	c.off = 4
	v.PageFaultCount = c.u32()
	v.PeakWorkingSetSize, v.WorkingSetSize = c.u64(), c.u64()
	v.QuotaPeakPagedPoolUsage, v.QuotaPagedPoolUsage = c.u64(), c.u64()
	v.QuotaPeakNonPagedPoolUsage, v.QuotaNonPagedPoolUsage = c.u64(), c.u64()
	v.PagefileUsage, v.PeakPagefileUsage, v.PrivateUsage = c.u64(), c.u64(), c.u64()
	if v.Revision >= 2 && len(b) >= 136 {
		v.PrivateWorkingSetSize, v.SharedCommitUsage = c.u64(), c.u64()
		v.JobSharedCommitUsage, v.JobPrivateCommitUsage, v.JobPeakPrivateCommitUsage = c.u64(), c.u64(), c.u64()
		v.JobPrivateCommitLimit, v.JobTotalCommitLimit = c.u64(), c.u64()
	}
	d.VmCounters = v
	return nil
}

func (d *Dump) parseBreakpadInfo(s StreamInfo) error {
	if s.Size < 12 {
		return formatErr("BreakpadInfo", int64(s.Rva), "stream is %d bytes, need 12", s.Size)
	}
	b, err := d.f.read("BreakpadInfo", int64(s.Rva), 12)
	if err != nil {
		return err
	}
	v := le.Uint32(b)
	d.BreakpadInfo = &BreakpadInfo{Validity: v, DumpThreadID: le.Uint32(b[4:]), RequestingThreadID: le.Uint32(b[8:]),
		HasDumpThreadID: v&1 != 0, HasRequestingThreadID: v&2 != 0}
	return nil
}

func (d *Dump) parseAssertion(s StreamInfo) error {
	if s.Size < 776 {
		return formatErr("AssertionInfo", int64(s.Rva), "stream is %d bytes, need 776", s.Size)
	}
	b, err := d.f.read("AssertionInfo", int64(s.Rva), 776)
	if err != nil {
		return err
	}
	d.Assertion = &AssertionInfo{Expression: utf16z(b[0:256]), Function: utf16z(b[256:512]), File: utf16z(b[512:768]),
		Line: le.Uint32(b[768:]), Type: le.Uint32(b[772:])}
	return nil
}

func (d *Dump) parseCrashpadInfo(s StreamInfo) error {
	if s.Size < 52 {
		return formatErr("CrashpadInfo", int64(s.Rva), "stream is %d bytes, need 52", s.Size)
	}
	b, err := d.f.read("CrashpadInfo", int64(s.Rva), 52)
	if err != nil {
		return err
	}
	c := cursor{b: b}
	ci := &CrashpadInfo{Version: c.u32()}
	copy(ci.ReportID[:], c.bytes(16))
	copy(ci.ClientID[:], c.bytes(16))
	simple := Location{DataSize: c.u32(), Rva: c.u32()}
	modules := Location{DataSize: c.u32(), Rva: c.u32()}
	d.Crashpad = ci
	ci.SimpleAnnotations = d.readSimpleDictionary(simple)
	if modules.DataSize >= 4 {
		count, first, _ := d.listHeader(StreamInfo{Type: CrashpadInfoStream, Size: modules.DataSize, Rva: modules.Rva}, 12)
		if count > 4096 {
			count = 4096
		}
		for i := uint32(0); i < count; i++ {
			eb, err := d.f.read("CrashpadInfo.ModuleList", first+int64(i)*12, 12)
			if err != nil {
				break
			}
			idx, loc := le.Uint32(eb), Location{DataSize: le.Uint32(eb[4:]), Rva: le.Uint32(eb[8:])}
			ma := ModuleAnnotations{ModuleIndex: idx}
			// MinidumpModuleCrashpadInfo: version, list_annotations, simple_annotations, annotation_objects.
			if mb, err := d.f.read("CrashpadInfo.Module", int64(loc.Rva), 20); err == nil && loc.DataSize >= 20 {
				list := Location{DataSize: le.Uint32(mb[4:]), Rva: le.Uint32(mb[8:])}
				simple := Location{DataSize: le.Uint32(mb[12:]), Rva: le.Uint32(mb[16:])}
				ma.SimpleAnnotations = d.readSimpleDictionary(simple)
				if list.DataSize >= 4 {
					if lb, err := d.f.read("CrashpadInfo.ListAnnotations", int64(list.Rva), 4); err == nil {
						n := le.Uint32(lb)
						if n <= 1024 && d.f.fits(int64(list.Rva)+4, uint64(n), 4) {
							rb, _ := d.f.read("CrashpadInfo.ListAnnotations", int64(list.Rva)+4, int64(n)*4)
							for j := uint32(0); j < n && rb != nil && d.crashpadEntries < maxCrashpadEntries; j++ {
								d.crashpadEntries++
								if v, err := d.f.readUTF8String("CrashpadInfo.ListAnnotations", le.Uint32(rb[4*j:])); err == nil {
									ma.ListAnnotations = append(ma.ListAnnotations, v)
								}
							}
						}
					}
				}
			}
			if len(ma.ListAnnotations) > 0 || len(ma.SimpleAnnotations) > 0 {
				ci.ModuleAnnotations = append(ci.ModuleAnnotations, ma)
			}
		}
	}
	return nil
}

// readSimpleDictionary reads a MinidumpSimpleStringDictionary.
func (d *Dump) readSimpleDictionary(loc Location) map[string]string {
	if loc.DataSize < 4 {
		return nil
	}
	b, err := d.f.read("CrashpadInfo.SimpleAnnotations", int64(loc.Rva), 4)
	if err != nil {
		return nil
	}
	n := le.Uint32(b)
	if n > 4096 || !d.f.fits(int64(loc.Rva)+4, uint64(n), 8) {
		return nil
	}
	eb, err := d.f.read("CrashpadInfo.SimpleAnnotations", int64(loc.Rva)+4, int64(n)*8)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for i := uint32(0); i < n && d.crashpadEntries < maxCrashpadEntries; i++ {
		d.crashpadEntries++
		k, err1 := d.f.readUTF8String("CrashpadInfo.SimpleAnnotations", le.Uint32(eb[8*i:]))
		v, err2 := d.f.readUTF8String("CrashpadInfo.SimpleAnnotations", le.Uint32(eb[8*i+4:]))
		if err1 == nil && err2 == nil {
			out[k] = v
		}
	}
	return out
}

func (d *Dump) parseUnrealContext(s StreamInfo) error {
	n := s.Size
	if n > 4<<20 {
		n = 4 << 20
	}
	b, err := d.f.read("UnrealCrashContext", int64(s.Rva), int64(n))
	if err != nil {
		return err
	}
	// Unreal writes NUL-terminated UTF-16LE into a larger buffer whose rest
	// is uninitialised (60,000 junk characters in the UE4 sample); detect a
	// BOM-less UTF-8 copy too.
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
		b = b[2:]
	} else if !(len(b) >= 2 && b[1] == 0) {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		d.UnrealCrashContext = string(b)
		return nil
	}
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			b = b[:i]
			break
		}
	}
	d.UnrealCrashContext = utf16le(b)
	return nil
}

func (d *Dump) parseLinuxText(s StreamInfo) error {
	n := s.Size
	if n > 256*1024 {
		n = 256 * 1024
	}
	b, err := d.f.read(s.Type.String(), int64(s.Rva), int64(n))
	if err != nil {
		return err
	}
	if d.LinuxInfo == nil {
		d.LinuxInfo = map[string]string{}
	}
	d.LinuxInfo[s.Type.String()] = string(b)
	return nil
}

// printable returns s if it is plain printable ASCII, else "" (Wine writes
// junk into CPU_INFORMATION.VendorId).
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}
