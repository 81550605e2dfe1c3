package minidump

import "fmt"

// Context is a thread's CPU state. Exactly one of X86, AMD64 or ARM64 is set.
type Context struct {
	Arch  Arch
	Flags uint32
	Size  uint32 // bytes recorded; larger than the base CONTEXT when XSTATE follows
	X86   *ContextX86
	AMD64 *ContextAMD64
	ARM64 *ContextARM64
	// XStateFeatures is the XSTATE feature mask (CONTEXT_EX/XSAVE header) when
	// an extended context was recorded, e.g. AVX or CET shadow-stack state.
	XStateFeatures uint64
	// CetSSP is the CET user shadow stack pointer, when recorded in XSTATE.
	CetSSP uint64
}

// Register numbers used by the x64 unwinder (UNWIND_CODE.OpInfo numbering).
const (
	RAX = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// AMD64RegNames are the general registers in UNWIND_CODE numbering.
var AMD64RegNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// ContextAMD64 is the AMD64 CONTEXT (1232 bytes). R is indexed by the
// numbering above, so unwind codes can address registers directly.
type ContextAMD64 struct {
	R      [16]uint64
	Rip    uint64
	EFlags uint32
	MxCsr  uint32
	SegCs  uint16
	SegDs  uint16
	SegEs  uint16
	SegFs  uint16
	SegGs  uint16
	SegSs  uint16
	Xmm    [16][16]byte
	HasXmm bool
}

// ContextX86 is the x86 CONTEXT (716 bytes).
type ContextX86 struct {
	Edi, Esi, Ebx, Edx, Ecx, Eax uint32
	Ebp, Eip, Esp, EFlags        uint32
	SegGs, SegFs, SegEs, SegDs   uint32
	SegCs, SegSs                 uint32
}

// ContextARM64 is the ARM64 CONTEXT (912 bytes). X[29] is FP and X[30] is LR.
type ContextARM64 struct {
	X    [31]uint64
	Sp   uint64
	Pc   uint64
	Cpsr uint32
}

const (
	contextSizeX86   = 716
	contextSizeAMD64 = 1232
	contextSizeARM64 = 912
	// CONTEXT_XSTATE bits: (CONTEXT_i386|0x40) and (CONTEXT_AMD64|0x40).
	contextXStateX86   = 0x00010040
	contextXStateAMD64 = 0x00100040
)

// PC is the instruction pointer.
func (c *Context) PC() uint64 {
	switch {
	case c.AMD64 != nil:
		return c.AMD64.Rip
	case c.X86 != nil:
		return uint64(c.X86.Eip)
	case c.ARM64 != nil:
		return c.ARM64.Pc
	}
	return 0
}

// SP is the stack pointer.
func (c *Context) SP() uint64 {
	switch {
	case c.AMD64 != nil:
		return c.AMD64.R[RSP]
	case c.X86 != nil:
		return uint64(c.X86.Esp)
	case c.ARM64 != nil:
		return c.ARM64.Sp
	}
	return 0
}

// Reg is a named register value, in the order a debugger shows them.
type Reg struct {
	Name  string
	Value uint64
}

// Registers lists the general registers, named as WinDbg's r command names them.
func (c *Context) Registers() []Reg {
	switch {
	case c.AMD64 != nil:
		a := c.AMD64
		out := make([]Reg, 0, 18)
		for i, n := range AMD64RegNames {
			out = append(out, Reg{n, a.R[i]})
		}
		return append(out, Reg{"rip", a.Rip}, Reg{"eflags", uint64(a.EFlags)})
	case c.X86 != nil:
		x := c.X86
		return []Reg{{"eax", uint64(x.Eax)}, {"ebx", uint64(x.Ebx)}, {"ecx", uint64(x.Ecx)}, {"edx", uint64(x.Edx)},
			{"esi", uint64(x.Esi)}, {"edi", uint64(x.Edi)}, {"eip", uint64(x.Eip)}, {"esp", uint64(x.Esp)},
			{"ebp", uint64(x.Ebp)}, {"eflags", uint64(x.EFlags)}}
	case c.ARM64 != nil:
		a := c.ARM64
		out := make([]Reg, 0, 34)
		for i := 0; i < 29; i++ {
			out = append(out, Reg{fmt.Sprintf("x%d", i), a.X[i]})
		}
		return append(out, Reg{"fp", a.X[29]}, Reg{"lr", a.X[30]}, Reg{"sp", a.Sp}, Reg{"pc", a.Pc})
	}
	return nil
}

// parseContext decodes a CONTEXT of the given arch from b. An arch of
// ArchUnknown is inferred from the size.
func parseContext(arch Arch, b []byte) (*Context, error) {
	n := len(b)
	if arch == ArchUnknown || arch == archX86OnWin64 {
		switch {
		case n >= contextSizeAMD64:
			arch = ArchAMD64
		case n >= contextSizeARM64:
			arch = ArchARM64
		case n >= contextSizeX86:
			arch = ArchX86
		}
	}
	c := &Context{Arch: arch, Size: uint32(n)}
	switch arch {
	case ArchAMD64:
		if n < contextSizeAMD64 {
			return nil, fmt.Errorf("AMD64 CONTEXT needs %d bytes, has %d", contextSizeAMD64, n)
		}
		cu := cursor{b: b, off: 48}
		c.Flags = cu.u32()
		a := &ContextAMD64{}
		a.MxCsr = cu.u32()
		a.SegCs, a.SegDs, a.SegEs, a.SegFs, a.SegGs, a.SegSs = cu.u16(), cu.u16(), cu.u16(), cu.u16(), cu.u16(), cu.u16()
		a.EFlags = cu.u32()
		cu.off = 120 // after Dr0-Dr7
		for i := 0; i < 16; i++ {
			a.R[i] = cu.u64()
		}
		a.Rip = cu.u64()
		// FltSave (XMM_SAVE_AREA32) starts at 256; XmmRegisters at +160.
		for i := 0; i < 16; i++ {
			copy(a.Xmm[i][:], b[256+160+16*i:])
		}
		a.HasXmm = c.Flags&0x100008 == 0x100008
		c.AMD64 = a
		if n > contextSizeAMD64 && c.Flags&contextXStateAMD64 == contextXStateAMD64 {
			c.parseXState(b, contextSizeAMD64)
		}
	case ArchX86:
		if n < contextSizeX86 {
			// Some writers record only the first 204 bytes (no ExtendedRegisters).
			if n < 204 {
				return nil, fmt.Errorf("x86 CONTEXT needs %d bytes, has %d", contextSizeX86, n)
			}
		}
		cu := cursor{b: b}
		c.Flags = cu.u32()
		x := &ContextX86{}
		cu.off = 140
		x.SegGs, x.SegFs, x.SegEs, x.SegDs = cu.u32(), cu.u32(), cu.u32(), cu.u32()
		x.Edi, x.Esi, x.Ebx, x.Edx, x.Ecx, x.Eax = cu.u32(), cu.u32(), cu.u32(), cu.u32(), cu.u32(), cu.u32()
		x.Ebp, x.Eip, x.SegCs, x.EFlags, x.Esp, x.SegSs = cu.u32(), cu.u32(), cu.u32(), cu.u32(), cu.u32(), cu.u32()
		c.X86 = x
		if n > contextSizeX86 && c.Flags&contextXStateX86 == contextXStateX86 {
			c.parseXState(b, contextSizeX86)
		}
	case ArchARM64, ArchARM64Old:
		if n < contextSizeARM64 {
			return nil, fmt.Errorf("ARM64 CONTEXT needs %d bytes, has %d", contextSizeARM64, n)
		}
		cu := cursor{b: b}
		c.Flags = cu.u32()
		a := &ContextARM64{Cpsr: cu.u32()}
		for i := 0; i < 31; i++ {
			a.X[i] = cu.u64()
		}
		a.Sp = cu.u64()
		a.Pc = cu.u64()
		c.ARM64 = a
	default:
		return nil, fmt.Errorf("no CONTEXT layout for arch %v (%d bytes)", arch, n)
	}
	return c, nil
}

// parseXState reads the CONTEXT_EX that follows a base CONTEXT and, through
// it, the XSAVE header's feature mask and the CET_U shadow stack pointer.
func (c *Context) parseXState(b []byte, base int) {
	// CONTEXT_EX: All{Offset i32, Length u32}, Legacy{...}, XState{Offset, Length}
	if len(b) < base+24 {
		return
	}
	xoff := int32(le.Uint32(b[base+16:]))
	xlen := le.Uint32(b[base+20:])
	start := base + int(xoff)
	if xoff <= 0 || start < 0 || start+64 > len(b) || xlen < 64 {
		return
	}
	// XSAVE_AREA_HEADER: Mask u64, CompactionMask u64, reserved.
	c.XStateFeatures = le.Uint64(b[start:])
	// XSTATE_CET_U (feature 11) is laid out after the header in the
	// compacted/standard form used in contexts; its offset depends on the
	// enabled features, so only a trailing 16-byte record is read when it is
	// the last enabled feature (Windows writes it that way for CET contexts).
	if c.XStateFeatures&(1<<11) != 0 && int(xlen) >= 64+16 && start+int(xlen) <= len(b) {
		rec := b[start+int(xlen)-16:]
		c.CetSSP = le.Uint64(rec[8:])
	}
}
