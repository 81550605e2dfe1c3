// Package minidump reads the Windows minidump (MDMP) format through an
// io.ReaderAt. It reads only the structures it needs, never the captured
// memory as a whole, so its cost grows with the number of streams and
// regions, not with the size of the file.
package minidump

import (
	"fmt"
	"io"
	"sort"
)

const signatureMDMP = 0x504d444d

// maxStreams bounds the stream directory; real dumps have a few dozen.
const maxStreams = 4096

// Dump is a parsed minidump. Streams that could not be read are nil or
// empty, and Warnings says why.
type Dump struct {
	f file

	Header  Header
	Streams []StreamInfo

	SystemInfo      *SystemInfo
	MiscInfo        *MiscInfo
	Threads         []Thread
	ThreadInfos     []ThreadInfo
	ThreadNames     map[uint32]string
	Modules         []Module
	UnloadedModules []UnloadedModule
	Exception       *Exception
	MemoryInfo      []MemoryInfo
	HasMemoryInfo   bool
	Handles         []Handle
	Comments        []string
	FunctionTables  []FunctionTable
	SystemMemory    *SystemMemoryInfo
	VmCounters      *ProcessVmCounters
	BreakpadInfo    *BreakpadInfo
	Assertion       *AssertionInfo
	Crashpad        *CrashpadInfo
	// UnrealCrashContext is the XML an Unreal Engine crash reporter embeds.
	UnrealCrashContext string
	// LinuxInfo holds the text of Breakpad's Linux streams (cpuinfo, status,
	// lsb-release, cmdline, maps), keyed by stream name, bounded in size.
	LinuxInfo map[string]string
	// FullMemory reports that memory came from a Memory64List (a full dump).
	FullMemory bool
	// Truncation is set when the directory points past the end of the file.
	Truncation *Truncation

	Warnings []error

	// The counts the dump's lists state. The lists above keep at most
	// MaxThreads, MaxModules, ... entries, so a few KB of hostile input
	// cannot cost gigabytes; these stay exact.
	ThreadCount, ModuleCount, UnloadedModuleCount, HandleCount, MemoryInfoCount int

	memory []MemoryRange
	// contexts caches CONTEXTs by location: thousands of thread entries can
	// share one.
	contexts map[Location]cachedContext
	// crashpadEntries counts the annotations read, against maxCrashpadEntries.
	crashpadEntries int
	// byBase orders Modules by base for ModuleAt, unless they overlap.
	byBase  []int
	overlap bool
	// dirEntries is NumberOfStreams as the header records it; memoryEnd is
	// the end of the furthest memory data the memory lists describe.
	dirEntries uint32
	memoryEnd  uint64
}

// Truncation describes a dump cut short: streams or memory that the
// directory places past the end of the file.
type Truncation struct {
	FileSize int64
	// NeededSize is where the furthest stream or memory range the
	// directory describes ends: the size of the whole file.
	NeededSize uint64
	// Lost are the streams that start at or past the end of the file, Cut
	// those that start inside it and end past it, by name.
	Lost, Cut []string
	// MissingEntries counts directory entries that are themselves past the
	// end of the file: streams of unknown type, lost too.
	MissingEntries uint32
}

// maxNamedStreams bounds the stream names a Truncation lists.
const maxNamedStreams = 16

// findTruncation sets d.Truncation when anything the directory describes
// lies past the end of the file.
func (d *Dump) findTruncation() {
	size := uint64(d.f.size)
	t := &Truncation{FileSize: d.f.size, NeededSize: size}
	dirEnd := uint64(d.Header.StreamDirectoryRva) + uint64(d.dirEntries)*12
	if dirEnd > size {
		t.NeededSize = dirEnd
		t.MissingEntries = uint32((dirEnd - size + 11) / 12)
	}
	lost, cut := 0, 0
	for _, s := range d.Streams {
		start, end := uint64(s.Rva), uint64(s.Rva)+uint64(s.Size)
		if end <= size {
			continue
		}
		t.NeededSize = max(t.NeededSize, end)
		if start >= size {
			lost++
			if len(t.Lost) < maxNamedStreams {
				t.Lost = append(t.Lost, s.Type.String())
			}
		} else {
			cut++
			if len(t.Cut) < maxNamedStreams {
				t.Cut = append(t.Cut, s.Type.String())
			}
		}
	}
	// A hostile directory can list thousands; name a few and count the rest.
	if lost > len(t.Lost) {
		t.Lost = append(t.Lost, fmt.Sprintf("%d more", lost-len(t.Lost)))
	}
	if cut > len(t.Cut) {
		t.Cut = append(t.Cut, fmt.Sprintf("%d more", cut-len(t.Cut)))
	}
	if d.memoryEnd > size {
		t.NeededSize = max(t.NeededSize, d.memoryEnd)
		if len(t.Lost) == 0 && len(t.Cut) == 0 && t.MissingEntries == 0 {
			// Only the memory data is cut: the stream that describes it
			// is whole, but what it describes is not.
			if _, ok := d.Stream(Memory64ListStream); ok {
				t.Cut = append(t.Cut, Memory64ListStream.String()+" memory")
			} else {
				t.Cut = append(t.Cut, MemoryListStream.String()+" memory")
			}
		}
	}
	if t.NeededSize > size {
		d.Truncation = t
	}
}

// noteMemoryEnd records where a memory range's data ends in the file.
func (d *Dump) noteMemoryEnd(off, size uint64) {
	if end := off + size; end >= off {
		d.memoryEnd = max(d.memoryEnd, end)
	} else {
		d.memoryEnd = ^uint64(0)
	}
}

// Bounds on the entries kept from a dump's lists. They are far above what
// real processes have (Windows keeps 64 unloaded modules; processes with
// more than a few thousand threads or modules are pathological) and keep a
// hostile count from costing memory and time.
const (
	MaxThreads         = 4096
	MaxModules         = 8192
	MaxUnloadedModules = 1024
	MaxHandles         = 1 << 16
	MaxMemoryInfo      = 1 << 18
	MaxMemoryRanges    = 1 << 20
	maxThreadInfos     = 1 << 16
	maxThreadNames     = 1 << 16
	maxFunctionTables  = 4096
	maxCrashpadEntries = 256
)

// Size is the size of the dump file in bytes.
func (d *Dump) Size() int64 { return d.f.size }

// Arch is the CPU architecture from SystemInfo, or ArchUnknown.
func (d *Dump) Arch() Arch {
	if d.SystemInfo == nil {
		return ArchUnknown
	}
	if d.SystemInfo.ProcessorArchitecture == archX86OnWin64 {
		return ArchX86
	}
	return d.SystemInfo.ProcessorArchitecture
}

// PointerSize is the size of a pointer in the dumped process (8 if unknown).
func (d *Dump) PointerSize() int {
	a := d.Arch()
	if a == ArchUnknown {
		return 8
	}
	return a.PointerSize()
}

// Stream returns the first directory entry of the given type.
func (d *Dump) Stream(t StreamType) (StreamInfo, bool) {
	for _, s := range d.Streams {
		if s.Type == t {
			return s, true
		}
	}
	return StreamInfo{}, false
}

// ReadStream returns the raw bytes of a stream, at most limit bytes.
func (d *Dump) ReadStream(s StreamInfo, limit int) ([]byte, error) {
	n := int64(s.Size)
	if n > int64(limit) {
		n = int64(limit)
	}
	return d.f.read(s.Type.String(), int64(s.Rva), n)
}

// ThreadByID returns the thread with the given id.
func (d *Dump) ThreadByID(id uint32) (*Thread, int) {
	for i := range d.Threads {
		if d.Threads[i].ID == id {
			return &d.Threads[i], i
		}
	}
	return nil, -1
}

// ModuleAt returns the module whose image contains addr (the first in the
// list, when images overlap).
func (d *Dump) ModuleAt(addr uint64) *Module {
	if d.byBase == nil || d.overlap {
		return d.moduleAtLinear(addr)
	}
	i := sort.Search(len(d.byBase), func(i int) bool { return d.Modules[d.byBase[i]].Base > addr }) - 1
	if i >= 0 && d.Modules[d.byBase[i]].Contains(addr) {
		return &d.Modules[d.byBase[i]]
	}
	return nil
}

func (d *Dump) moduleAtLinear(addr uint64) *Module {
	for i := range d.Modules {
		if d.Modules[i].Contains(addr) {
			return &d.Modules[i]
		}
	}
	return nil
}

// indexModules sorts module indices by base, for ModuleAt's binary search
// (frames are symbolized by address, and a dump may list 8,192 modules).
// Overlapping images keep the linear search, whose answer is defined.
func (d *Dump) indexModules() {
	d.byBase = make([]int, len(d.Modules))
	for i := range d.byBase {
		d.byBase[i] = i
	}
	sort.Slice(d.byBase, func(a, b int) bool { return d.Modules[d.byBase[a]].Base < d.Modules[d.byBase[b]].Base })
	for k := 1; k < len(d.byBase); k++ {
		prev, cur := &d.Modules[d.byBase[k-1]], &d.Modules[d.byBase[k]]
		if prev.End() > cur.Base || prev.End() < prev.Base {
			d.overlap = true
			return
		}
	}
}

func (d *Dump) warn(err error) { d.Warnings = append(d.Warnings, err) }

// Open reads a minidump's header, directory and every stream it knows. It
// fails only when the header or directory cannot be read; a damaged stream
// becomes a warning and the rest is still returned.
func Open(r io.ReaderAt, size int64) (*Dump, error) {
	d := &Dump{f: file{r: r, size: size}}
	if m, ok := r.(Mapped); ok {
		if b := m.Bytes(); int64(len(b)) >= size {
			d.f.mem = b[:size:size]
		}
	}
	hb, err := d.f.read("header", 0, 32)
	if err != nil {
		if size < 4 {
			return nil, fmt.Errorf("%w (file is %d bytes)", ErrNotMinidump, size)
		}
		if b, e := d.f.read("header", 0, 4); e == nil && le.Uint32(b) != signatureMDMP {
			return nil, ErrNotMinidump
		}
		return nil, err
	}
	c := cursor{b: hb}
	h := Header{Signature: c.u32(), Version: c.u32(), NumberOfStreams: c.u32(), StreamDirectoryRva: c.u32(),
		CheckSum: c.u32(), TimeDateStamp: c.u32(), Flags: c.u64()}
	if h.Signature != signatureMDMP {
		return nil, ErrNotMinidump
	}
	if h.Version&0xffff != 0xA793 {
		d.warn(formatErr("header", 4, "unexpected version 0x%x (want 0xa793)", h.Version))
	}
	d.Header = h
	n := h.NumberOfStreams
	d.dirEntries = n
	if n > maxStreams {
		return nil, formatErr("directory", int64(h.StreamDirectoryRva), "%d streams is implausible", n)
	}
	if !d.f.fits(int64(h.StreamDirectoryRva), uint64(n), 12) {
		// Keep the entries that are present.
		avail := (d.f.size - int64(h.StreamDirectoryRva)) / 12
		if int64(h.StreamDirectoryRva) > d.f.size || avail <= 0 {
			return nil, formatErr("directory", int64(h.StreamDirectoryRva), "stream directory of %d entries is past the end of the file (%d bytes)", n, size)
		}
		d.warn(formatErr("directory", int64(h.StreamDirectoryRva), "directory truncated: %d of %d entries present", avail, n))
		n = uint32(avail)
	}
	db, err := d.f.read("directory", int64(h.StreamDirectoryRva), int64(n)*12)
	if err != nil {
		return nil, err
	}
	c = cursor{b: db}
	for i := uint32(0); i < n; i++ {
		s := StreamInfo{Type: StreamType(c.u32()), Size: c.u32(), Rva: c.u32()}
		if s.Type == UnusedStream {
			continue
		}
		d.Streams = append(d.Streams, s)
	}
	d.parseStreams()
	d.findTruncation()
	return d, nil
}

// parseStreams decodes each known stream. SystemInfo goes first because the
// CPU architecture decides how thread contexts are read.
func (d *Dump) parseStreams() {
	// The exception and Breakpad's info name threads that the thread list
	// keeps even past MaxThreads.
	order := []StreamType{SystemInfoStream, MiscInfoStream, ExceptionStream, BreakpadInfoStream}
	seen := map[StreamType]bool{}
	for _, t := range order {
		if s, ok := d.Stream(t); ok {
			d.parseStream(s)
			seen[t] = true
		}
	}
	for _, s := range d.Streams {
		if seen[s.Type] {
			continue
		}
		// Only the first stream of a type is used, as dbghelp does; ThreadEx
		// and Thread lists are merged below.
		seen[s.Type] = true
		d.parseStream(s)
	}
	if len(d.Modules) >= 32 {
		d.indexModules()
	}
	d.memory = buildMemoryIndex(d.memory)
	if len(d.memory) > MaxMemoryRanges {
		d.warn(formatErr("memory", 0, "%d captured memory ranges; only the first %d by address are read", len(d.memory), MaxMemoryRanges))
		d.memory = d.memory[:MaxMemoryRanges:MaxMemoryRanges]
	}
}

func (d *Dump) parseStream(s StreamInfo) {
	var err error
	switch s.Type {
	case SystemInfoStream:
		err = d.parseSystemInfo(s)
	case MiscInfoStream:
		err = d.parseMiscInfo(s)
	case ThreadListStream:
		if len(d.Threads) == 0 {
			err = d.parseThreadList(s, 48)
		}
	case ThreadExListStream:
		if len(d.Threads) == 0 {
			err = d.parseThreadList(s, 64)
		}
	case ModuleListStream:
		d.Modules, err = d.parseModuleList(s)
	case UnloadedModuleListStream:
		err = d.parseUnloadedModules(s)
	case MemoryListStream:
		err = d.parseMemoryList(s)
	case Memory64ListStream:
		err = d.parseMemory64List(s)
	case ExceptionStream:
		err = d.parseException(s)
	case MemoryInfoListStream:
		err = d.parseMemoryInfoList(s)
	case ThreadInfoListStream:
		err = d.parseThreadInfoList(s)
	case ThreadNamesStream:
		err = d.parseThreadNames(s)
	case HandleDataStream:
		err = d.parseHandleData(s)
	case CommentStreamA, CommentStreamW:
		err = d.parseComment(s)
	case FunctionTableStream:
		err = d.parseFunctionTable(s)
	case SystemMemoryInfoStream:
		err = d.parseSystemMemoryInfo(s)
	case ProcessVmCountersStream:
		err = d.parseVmCounters(s)
	case BreakpadInfoStream:
		err = d.parseBreakpadInfo(s)
	case AssertionInfoStream:
		err = d.parseAssertion(s)
	case CrashpadInfoStream:
		err = d.parseCrashpadInfo(s)
	case UnrealCrashContextStream:
		err = d.parseUnrealContext(s)
	case LinuxCPUInfoStream, LinuxProcStatusStream, LinuxLsbReleaseStream, LinuxCmdLineStream, LinuxMapsStream:
		err = d.parseLinuxText(s)
	}
	if err != nil {
		d.warn(err)
	}
}

// listHeader reads a list stream's 32-bit count and checks count*entry
// against both the stream size and the file. Some writers put 4 bytes of
// padding after the count (so entries are 8-byte aligned); Breakpad accepts
// that when the sizes say so, and so do we.
func (d *Dump) listHeader(s StreamInfo, entry uint32) (count uint32, first int64, err error) {
	name := s.Type.String()
	if s.Size < 4 {
		return 0, 0, formatErr(name, int64(s.Rva), "stream of %d bytes has no count", s.Size)
	}
	b, err := d.f.read(name, int64(s.Rva), 4)
	if err != nil {
		return 0, 0, err
	}
	count = le.Uint32(b)
	first = int64(s.Rva) + 4
	want := uint64(count)*uint64(entry) + 4
	if uint64(s.Size) == want+4 {
		first += 4
	} else if uint64(s.Size) < want {
		avail := (s.Size - 4) / entry
		err = formatErr(name, int64(s.Rva), "count %d needs %d bytes but the stream has %d; reading %d", count, want, s.Size, avail)
		count = avail
	}
	if !d.f.fits(first, uint64(count), uint64(entry)) {
		avail := uint32(0)
		if first <= d.f.size {
			avail = uint32((d.f.size - first) / int64(entry))
		}
		err = formatErr(name, first, "%d entries run past the end of the file; reading %d", count, avail)
		count = avail
	}
	return count, first, err
}
