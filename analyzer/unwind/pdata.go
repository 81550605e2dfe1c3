package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// UNWIND_INFO.Flags.
const (
	UnwFlagEHandler  = 0x1
	UnwFlagUHandler  = 0x2
	UnwFlagChainInfo = 0x4
)

// UNWIND_CODE.UnwindOp values. Ops 6 and 7 are SAVE_XMM/SAVE_XMM_FAR in
// version 1 (obsolete) and EPILOG/SPARE in version 2; both take 2 and 3
// slots and change no register the walker tracks.
const (
	UwopPushNonvol     = 0
	UwopAllocLarge     = 1
	UwopAllocSmall     = 2
	UwopSetFPReg       = 3
	UwopSaveNonvol     = 4
	UwopSaveNonvolFar  = 5
	UwopEpilog         = 6
	UwopSpareCode      = 7
	UwopSaveXMM128     = 8
	UwopSaveXMM128Far  = 9
	UwopPushMachFrame  = 10
	runtimeFunctionLen = 12
	// maxChain bounds chained UNWIND_INFO; real chains are 1 or 2 deep.
	maxChain = 32
	// maxExceptionDir bounds the table FunctionTableAMD64 copies (the
	// largest DLLs have a few MiB).
	maxExceptionDir = 64 << 20
)

var uwopNames = [...]string{"PUSH_NONVOL", "ALLOC_LARGE", "ALLOC_SMALL", "SET_FPREG", "SAVE_NONVOL",
	"SAVE_NONVOL_FAR", "EPILOG", "SPARE", "SAVE_XMM128", "SAVE_XMM128_FAR", "PUSH_MACHFRAME"}

// Errors from LookupFunctionAMD64.
var (
	// ErrNoFunction means no RUNTIME_FUNCTION covers the address: a leaf
	// function, or code outside the table.
	ErrNoFunction = errors.New("unwind: no RUNTIME_FUNCTION for address")
	// ErrNoUnwindData means the exception directory or an UNWIND_INFO could
	// not be read (no image, or a hole in an image rebuilt from memory).
	ErrNoUnwindData = errors.New("unwind: unwind data not readable")
	// ErrBadUnwindInfo means an UNWIND_INFO is malformed.
	ErrBadUnwindInfo = errors.New("unwind: malformed UNWIND_INFO")
)

// RuntimeFunction is a .pdata RUNTIME_FUNCTION: RVAs of the function's
// first byte, the byte past its end, and its UNWIND_INFO.
type RuntimeFunction struct {
	BeginAddress, EndAddress, UnwindData uint32
}

// Contains reports whether rva is inside the function.
func (f RuntimeFunction) Contains(rva uint32) bool {
	return rva >= f.BeginAddress && rva < f.EndAddress
}

// UnwindCode is one decoded UNWIND_CODE with its operand slots folded in.
type UnwindCode struct {
	CodeOffset uint8 // prologue offset of the end of the instruction
	Op         uint8 // UWOP_*
	OpInfo     uint8 // register number, or op-specific
	// Value is the operand in bytes, already scaled: the allocation size for
	// ALLOC_*, the frame-relative save offset for SAVE_*; 0 otherwise.
	Value uint32
	Slots int // UNWIND_CODE slots this code uses
}

// OpName is the UWOP_ name without the prefix ("PUSH_NONVOL").
func (c UnwindCode) OpName() string {
	if int(c.Op) < len(uwopNames) {
		return uwopNames[c.Op]
	}
	return fmt.Sprintf("UWOP_%d", c.Op)
}

// UnwindInfo is a decoded UNWIND_INFO.
type UnwindInfo struct {
	RVA           uint32 // where it was read
	Version       uint8
	Flags         uint8 // UNW_FLAG_*
	SizeOfProlog  uint8
	CountOfCodes  uint8
	FrameRegister uint8 // 0: none; else the UNWIND_CODE register number
	FrameOffset   uint8 // scaled by 16 to get bytes: FrameOffsetBytes
	Codes         []UnwindCode
	// ExceptionHandler is the language handler's RVA when Flags has
	// UNW_FLAG_EHANDLER or UNW_FLAG_UHANDLER; HandlerDataRVA is where its
	// data starts.
	ExceptionHandler uint32
	HandlerDataRVA   uint32
	// Chained is the parent function entry when Flags has UNW_FLAG_CHAININFO,
	// and ChainedInfo its decoded UNWIND_INFO (nil if unreadable).
	Chained     *RuntimeFunction
	ChainedInfo *UnwindInfo
}

// FrameOffsetBytes is the frame register's offset from RSP, in bytes.
func (u *UnwindInfo) FrameOffsetBytes() uint32 { return uint32(u.FrameOffset) * 16 }

// FixedAllocation is the stack the prologue allocates with ALLOC_* codes,
// over the whole chain, not counting pushes.
func (u *UnwindInfo) FixedAllocation() uint64 {
	var n uint64
	for v, d := u, 0; v != nil && d < maxChain; v, d = v.ChainedInfo, d+1 {
		for _, c := range v.Codes {
			if c.Op == UwopAllocLarge || c.Op == UwopAllocSmall {
				n += uint64(c.Value)
			}
		}
	}
	return n
}

// FrameSize is the stack the prologue reserves in total: allocations plus
// 8 bytes per pushed register, over the whole chain (without the return
// address).
func (u *UnwindInfo) FrameSize() uint64 {
	n := u.FixedAllocation()
	for v, d := u, 0; v != nil && d < maxChain; v, d = v.ChainedInfo, d+1 {
		for _, c := range v.Codes {
			switch c.Op {
			case UwopPushNonvol:
				n += 8
			case UwopPushMachFrame:
				n += 40
				if c.OpInfo != 0 {
					n += 8
				}
			}
		}
	}
	return n
}

var le = binary.LittleEndian

// readFull reads exactly len(p) bytes of the image.
func readFull(m Module, rva uint32, p []byte) bool {
	if uint64(rva)+uint64(len(p)) > 1<<32 {
		return false
	}
	n, _ := m.ReadRVA(rva, p)
	return n == len(p)
}

// ReadRuntimeFunction reads the RUNTIME_FUNCTION at rva.
func ReadRuntimeFunction(m Module, rva uint32) (RuntimeFunction, bool) {
	var b [runtimeFunctionLen]byte
	if !readFull(m, rva, b[:]) {
		return RuntimeFunction{}, false
	}
	return RuntimeFunction{le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])}, true
}

// FunctionTableAMD64 reads the whole exception directory. Entries are
// returned as stored, even when malformed.
func FunctionTableAMD64(m Module) ([]RuntimeFunction, error) {
	rva, size := m.ExceptionDirectory()
	if rva == 0 || size < runtimeFunctionLen {
		return nil, ErrNoUnwindData
	}
	n := size / runtimeFunctionLen
	if uint64(size) > m.Size() || size > maxExceptionDir {
		return nil, fmt.Errorf("%w: exception directory of %d bytes in a module of %d", ErrBadUnwindInfo, size, m.Size())
	}
	b := make([]byte, n*runtimeFunctionLen)
	if !readFull(m, rva, b) {
		return nil, ErrNoUnwindData
	}
	out := make([]RuntimeFunction, n)
	for i := range out {
		e := b[i*runtimeFunctionLen:]
		out[i] = RuntimeFunction{le.Uint32(e), le.Uint32(e[4:]), le.Uint32(e[8:])}
	}
	return out, nil
}

// findRuntimeFunction binary-searches the exception directory, which the
// linker sorts by BeginAddress, reading one entry per probe so a large table
// is never copied.
func findRuntimeFunction(m Module, rva uint32) (RuntimeFunction, error) {
	if fl, ok := m.(FunctionLookup); ok {
		if f, ok := fl.LookupRuntimeFunction(rva); ok {
			return f, nil
		}
		return RuntimeFunction{}, ErrNoFunction
	}
	dir, size := m.ExceptionDirectory()
	if dir == 0 || size < runtimeFunctionLen {
		return RuntimeFunction{}, ErrNoUnwindData
	}
	lo, hi := uint32(0), size/runtimeFunctionLen
	for lo < hi {
		mid := lo + (hi-lo)/2
		f, ok := ReadRuntimeFunction(m, dir+mid*runtimeFunctionLen)
		if !ok {
			return RuntimeFunction{}, ErrNoUnwindData
		}
		switch {
		case rva < f.BeginAddress:
			hi = mid
		case rva >= f.EndAddress:
			lo = mid + 1
		default:
			return f, nil
		}
	}
	return RuntimeFunction{}, ErrNoFunction
}

// resolveIndirect follows an UnwindData whose low bit is set: it then points
// at another RUNTIME_FUNCTION whose unwind data is shared.
func resolveIndirect(m Module, f RuntimeFunction) (RuntimeFunction, bool) {
	for i := 0; f.UnwindData&1 != 0; i++ {
		if i >= maxChain {
			return f, false
		}
		g, ok := ReadRuntimeFunction(m, f.UnwindData&^1)
		if !ok {
			return f, false
		}
		f.UnwindData = g.UnwindData
	}
	return f, true
}

// LookupFunctionAMD64 finds the RUNTIME_FUNCTION covering rva in the
// module's exception directory and decodes its UNWIND_INFO, following
// chained entries. It returns ErrNoFunction when no entry covers rva (a leaf
// function) and ErrNoUnwindData when the table or the UNWIND_INFO cannot be
// read.
func LookupFunctionAMD64(m Module, rva uint32) (*RuntimeFunction, *UnwindInfo, error) {
	f, err := findRuntimeFunction(m, rva)
	if err != nil {
		return nil, nil, err
	}
	f, ok := resolveIndirect(m, f)
	if !ok {
		return &f, nil, ErrNoUnwindData
	}
	info, err := ReadUnwindInfo(m, f.UnwindData)
	if err != nil {
		return &f, nil, err
	}
	return &f, info, nil
}

// ReadUnwindInfo reads and decodes the UNWIND_INFO at rva and, when it is
// chained, the parents' (up to a bounded depth).
func ReadUnwindInfo(m Module, rva uint32) (*UnwindInfo, error) {
	return readUnwindInfo(m, rva, 0)
}

func readUnwindInfo(m Module, rva uint32, depth int) (*UnwindInfo, error) {
	var hdr [4]byte
	if !readFull(m, rva, hdr[:]) {
		return nil, ErrNoUnwindData
	}
	count := int(hdr[2])
	// Codes are padded to an even count; the handler or chain entry follows.
	slots := (count + 1) &^ 1
	buf := make([]byte, 4+2*slots+runtimeFunctionLen)
	copy(buf, hdr[:])
	need := 4 + 2*slots
	flags := hdr[0] >> 3
	if flags&UnwFlagChainInfo != 0 {
		need += runtimeFunctionLen
	} else if flags&(UnwFlagEHandler|UnwFlagUHandler) != 0 {
		need += 4
	}
	if !readFull(m, rva+4, buf[4:need]) {
		return nil, ErrNoUnwindData
	}
	u, err := DecodeUnwindInfo(buf[:need])
	if err != nil {
		return nil, err
	}
	u.RVA = rva
	if flags&UnwFlagChainInfo == 0 && flags&(UnwFlagEHandler|UnwFlagUHandler) != 0 {
		u.HandlerDataRVA = rva + uint32(4+2*slots+4)
	}
	if u.Chained != nil && depth < maxChain {
		c, ok := resolveIndirect(m, *u.Chained)
		if ok {
			u.ChainedInfo, _ = readUnwindInfo(m, c.UnwindData, depth+1)
		}
	}
	return u, nil
}

// DecodeUnwindInfo decodes an UNWIND_INFO from b: the 4-byte header, the
// UNWIND_CODE array, and the handler RVA or chained RUNTIME_FUNCTION when
// the flags say one follows. ChainedInfo is left nil.
func DecodeUnwindInfo(b []byte) (*UnwindInfo, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadUnwindInfo, len(b))
	}
	u := &UnwindInfo{
		Version:       b[0] & 7,
		Flags:         b[0] >> 3,
		SizeOfProlog:  b[1],
		CountOfCodes:  b[2],
		FrameRegister: b[3] & 0xf,
		FrameOffset:   b[3] >> 4,
	}
	if u.Version != 1 && u.Version != 2 {
		return nil, fmt.Errorf("%w: version %d", ErrBadUnwindInfo, u.Version)
	}
	n := int(u.CountOfCodes)
	if len(b) < 4+2*n {
		return nil, fmt.Errorf("%w: %d codes in %d bytes", ErrBadUnwindInfo, n, len(b))
	}
	slot := func(i int) []byte { return b[4+2*i:] }
	u.Codes = make([]UnwindCode, 0, n)
	for i := 0; i < n; {
		s := slot(i)
		c := UnwindCode{CodeOffset: s[0], Op: s[1] & 0xf, OpInfo: s[1] >> 4, Slots: 1}
		switch c.Op {
		case UwopPushNonvol, UwopSetFPReg, UwopPushMachFrame:
		case UwopAllocSmall:
			c.Value = uint32(c.OpInfo)*8 + 8
		case UwopAllocLarge:
			switch c.OpInfo {
			case 0:
				c.Slots = 2
			case 1:
				c.Slots = 3
			default:
				return nil, fmt.Errorf("%w: ALLOC_LARGE with OpInfo %d", ErrBadUnwindInfo, c.OpInfo)
			}
		case UwopSaveNonvol, UwopSaveXMM128, UwopEpilog:
			c.Slots = 2
		case UwopSaveNonvolFar, UwopSaveXMM128Far, UwopSpareCode:
			c.Slots = 3
		default:
			return nil, fmt.Errorf("%w: unwind op %d", ErrBadUnwindInfo, c.Op)
		}
		if i+c.Slots > n {
			return nil, fmt.Errorf("%w: %s needs %d slots past the end", ErrBadUnwindInfo, c.OpName(), c.Slots)
		}
		switch c.Op {
		case UwopAllocLarge:
			if c.OpInfo == 0 {
				c.Value = uint32(le.Uint16(slot(i+1))) * 8
			} else {
				c.Value = le.Uint32(slot(i + 1))
			}
		case UwopSaveNonvol:
			c.Value = uint32(le.Uint16(slot(i+1))) * 8
		case UwopSaveXMM128:
			c.Value = uint32(le.Uint16(slot(i+1))) * 16
		case UwopSaveNonvolFar, UwopSaveXMM128Far:
			c.Value = le.Uint32(slot(i + 1))
		}
		u.Codes = append(u.Codes, c)
		i += c.Slots
	}
	tail := 4 + 2*((n+1)&^1)
	switch {
	case u.Flags&UnwFlagChainInfo != 0:
		if len(b) < tail+runtimeFunctionLen {
			return nil, fmt.Errorf("%w: chained entry missing", ErrBadUnwindInfo)
		}
		e := b[tail:]
		u.Chained = &RuntimeFunction{le.Uint32(e), le.Uint32(e[4:]), le.Uint32(e[8:])}
	case u.Flags&(UnwFlagEHandler|UnwFlagUHandler) != 0:
		if len(b) < tail+4 {
			return nil, fmt.Errorf("%w: handler missing", ErrBadUnwindInfo)
		}
		u.ExceptionHandler = le.Uint32(b[tail:])
	}
	return u, nil
}
