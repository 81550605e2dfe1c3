package unwind

import (
	"encoding/binary"
	"sort"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// FunctionLookup is a Module whose RUNTIME_FUNCTIONs are not in an image
// but handed over whole: a dynamic function table that a JIT registered
// with RtlAddFunctionTable, RtlAddGrowableFunctionTable or a callback, as
// the minidump's FunctionTable stream captures it. Such a module's code is
// exactly what its entries cover.
type FunctionLookup interface {
	LookupRuntimeFunction(rva uint32) (RuntimeFunction, bool)
}

// JITTable is a Module over one dynamic function table
// (MINIDUMP_FUNCTION_TABLE_DESCRIPTOR): entries are relative to BaseAddress,
// the UNWIND_INFO they name is read from captured memory, as WinDbg does.
type JITTable struct {
	BaseAddr uint64
	// End is MaximumAddress, the first address past the table's range.
	End uint64
	// Runtime names the code ("Mono JIT code").
	Runtime string
	Mem     Memory
	// The entries are decoded and sorted on the first lookup: a Unity
	// process registers dozens of tables, and a walk touches few.
	raw       []byte
	entrySize int
	built     bool
	funcs     []RuntimeFunction // sorted by BeginAddress
}

// maxJITEntries bounds the entries kept per table; the stream's own size
// bounds them already, this keeps a hostile one from costing a sort of
// millions.
const maxJITEntries = 1 << 20

// NewJITTable makes a table of raw RUNTIME_FUNCTION entries of entrySize
// bytes (12 on amd64). Entries that are empty or leave [base, end) are
// dropped; the rest are sorted, since RF_UNSORTED tables are allowed. The
// table keeps entries, which must not change.
func NewJITTable(base, end uint64, entries []byte, entrySize int, runtime string, mem Memory) *JITTable {
	return &JITTable{BaseAddr: base, End: end, Runtime: runtime, Mem: mem, raw: entries, entrySize: entrySize}
}

func (t *JITTable) build() {
	t.built = true
	if t.entrySize < runtimeFunctionLen || t.End <= t.BaseAddr {
		return
	}
	size := t.End - t.BaseAddr
	n := min(len(t.raw)/t.entrySize, maxJITEntries)
	t.funcs = make([]RuntimeFunction, 0, n)
	for i := 0; i < n; i++ {
		e := t.raw[i*t.entrySize:]
		f := RuntimeFunction{binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint32(e[8:])}
		if f.BeginAddress >= f.EndAddress || uint64(f.EndAddress) > size {
			continue
		}
		t.funcs = append(t.funcs, f)
	}
	if !sort.SliceIsSorted(t.funcs, func(i, j int) bool { return t.funcs[i].BeginAddress < t.funcs[j].BeginAddress }) {
		sort.Slice(t.funcs, func(i, j int) bool { return t.funcs[i].BeginAddress < t.funcs[j].BeginAddress })
	}
}

// Functions is the number of usable entries.
func (t *JITTable) Functions() int {
	if !t.built {
		t.build()
	}
	return len(t.funcs)
}

func (t *JITTable) Base() uint64   { return t.BaseAddr }
func (t *JITTable) Size() uint64   { return t.End - t.BaseAddr }
func (t *JITTable) Name() string   { return t.Runtime }
func (t *JITTable) HasImage() bool { return false }

// ReadRVA reads the table's memory (UNWIND_INFO, code) as the dump
// captured it.
func (t *JITTable) ReadRVA(rva uint32, p []byte) (int, error) {
	if t.Mem == nil {
		return 0, ErrNotInImage
	}
	return t.Mem.ReadMemory(t.BaseAddr+uint64(rva), p)
}

// ExceptionDirectory is empty: the entries come through FunctionLookup.
func (t *JITTable) ExceptionDirectory() (uint32, uint32) { return 0, 0 }

// IsExecutableRVA reports whether an entry covers rva.
func (t *JITTable) IsExecutableRVA(rva uint32) bool {
	_, ok := t.LookupRuntimeFunction(rva)
	return ok
}

func (t *JITTable) Breakpad() BreakpadRecords { return nil }

// LookupRuntimeFunction finds the entry covering rva.
func (t *JITTable) LookupRuntimeFunction(rva uint32) (RuntimeFunction, bool) {
	if !t.built {
		t.build()
	}
	i := sort.Search(len(t.funcs), func(i int) bool { return t.funcs[i].BeginAddress > rva }) - 1
	if i >= 0 && t.funcs[i].Contains(rva) {
		return t.funcs[i], true
	}
	return RuntimeFunction{}, false
}

// jitFrameRecordWords bounds the search for a JIT frame's frame record.
const jitFrameRecordWords = 256

// findFrameRecord finds the frame record ("push rbp; mov rbp, rsp") of a
// frame whose RBP is unknown: the first slot at or above its RSP that holds
// a higher stack address followed by a return address. JIT code keeps an
// RBP frame (its UNWIND_INFO says so), but a frame reached by a scan
// carries only a guessed RBP from the native code below it.
func (w *amd64Walker) findFrameRecord(callee *Frame) (uint64, bool) {
	rsp, ok := callee.Regs.Get(minidump.RSP)
	if !ok {
		return 0, false
	}
	rsp = (rsp + 7) &^ 7
	for i := 0; i < jitFrameRecordWords; i++ {
		s := rsp + uint64(i)*8
		if !w.mem.inStack(s + 8) {
			break
		}
		next, ok1 := w.mem.u64(s)
		ra, ok2 := w.mem.u64(s + 8)
		if !ok1 || !ok2 {
			break
		}
		if next <= s || next&7 != 0 || !w.mem.inStack(next) {
			continue
		}
		if w.code.checkReturnAddress(ra, 8) != raInvalid {
			return s, true
		}
	}
	return 0, false
}

// usesFramePointer reports whether the UNWIND_INFO restores RSP from a
// frame register.
func usesFramePointer(u *UnwindInfo) bool {
	for v, d := u, 0; v != nil && d < maxChain; v, d = v.ChainedInfo, d+1 {
		if v.FrameRegister != 0 {
			return true
		}
	}
	return false
}
