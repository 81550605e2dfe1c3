// Package crashinsn analyses the crashing instruction of an x86 or amd64
// dump: its disassembly, the memory it accesses and where it sends the
// instruction pointer, a more useful crash address (the real target of a
// non-canonical access, or the offset from a null base), addresses one bit
// flip away from a bad one that would have been valid, and contradictions
// between the exception record and the instruction. These fill
// minidump-stackwalk's crash_info keys of the same names; the rules are
// ours, written from the meaning rust-minidump's schema gives each key.
package crashinsn

import (
	"slices"

	"golang.org/x/arch/x86/x86asm"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Exception codes the analysis reads (ntstatus).
const (
	statusAccessViolation = 0xC0000005
	statusInPageError     = 0xC0000006
	statusIntDivideByZero = 0xC0000094
	statusPrivInstruction = 0xC0000096
)

// Memory answers questions about the dumped address space.
type Memory interface {
	// Valid says whether addr is usable memory: inside a module, a
	// committed accessible region, or captured memory.
	Valid(addr uint64) bool
	// Guard says whether addr lies in a PAGE_GUARD or PAGE_NOACCESS page
	// inside an allocation that also has committed pages.
	Guard(addr uint64) bool
	// Allows says whether the region holding addr is known and permits the
	// access (write, or execute).
	Allows(addr uint64, write, exec bool) (known, allowed bool)
	// Pointer reads a pointer-sized word.
	Pointer(addr uint64) (uint64, bool)
}

// Input is the crash: the exception and the crashing thread's context.
type Input struct {
	Is64 bool
	PC   uint64
	// Code holds the bytes at PC (up to 15), as far as the dump or image has them.
	Code []byte
	// Regs are the context registers by their lower-case names (rax, eax, rip, eflags ...).
	Regs map[string]uint64
	// Exception is the NTSTATUS code (or a Linux signal); Address the crash
	// address reported (crash_info.address); AccessKind the access
	// violation's ExceptionInformation[0] (0 read, 1 write, 8 execute), -1
	// when absent.
	Exception uint32
	// AccessFault says the crash is a bad memory access: an access
	// violation or in-page error on Windows, SIGSEGV or SIGBUS elsewhere.
	AccessFault bool
	Address     uint64
	AccessKind  int
	Mem         Memory
}

// Result is what fills crash_info.
type Result struct {
	Instruction     *string
	Accesses        []report.MemoryAccess // nil when the instruction is unknown
	IPUpdate        *report.InstructionPointerUpdate
	Adjusted        *report.AdjustedAddress
	BitFlips        []report.BitFlip
	Inconsistencies []string // never nil
}

// Analyze decodes the crashing instruction and draws the conclusions above.
func Analyze(in Input) Result {
	res := Result{Inconsistencies: []string{}}
	mode := 32
	if in.Is64 {
		mode = 64
	}
	var inst x86asm.Inst
	decoded := false
	if len(in.Code) > 0 {
		var err error
		inst, err = x86asm.Decode(in.Code, mode)
		decoded = err == nil && inst.Len > 0
	}
	if decoded {
		s := x86asm.IntelSyntax(inst, in.PC, nil)
		res.Instruction = &s
		res.Accesses = []report.MemoryAccess{}
		for i, a := range inst.Args {
			m, ok := a.(x86asm.Mem)
			if !ok || inst.Op == x86asm.LEA || inst.Op == x86asm.NOP {
				continue
			}
			addr, ok := effectiveAddress(m, in, inst)
			if !ok {
				continue
			}
			acc := report.MemoryAccess{Address: report.Addr(addr), Size: uint32(inst.MemBytes), AccessType: accessType(inst.Op, i)}
			acc.IsLikelyGuardPage = in.Mem != nil && in.Mem.Guard(addr)
			res.Accesses = append(res.Accesses, acc)
		}
		if target, ok := ipTarget(inst, in); ok {
			res.IPUpdate = &report.InstructionPointerUpdate{Address: report.Addr(target)}
			res.IPUpdate.IsLikelyGuardPage = in.Mem != nil && in.Mem.Guard(target)
		}
	}
	if in.AccessFault {
		res.Adjusted = adjust(in, inst, decoded, res)
		res.BitFlips = bitFlips(in)
	}
	res.Inconsistencies = inconsistencies(in, inst, decoded, res)
	return res
}

func reg(in Input, r x86asm.Reg) (uint64, bool) {
	if r == 0 {
		return 0, true
	}
	if r == x86asm.RIP {
		return 0, false // handled by the caller
	}
	name := regName(r)
	if name == "" {
		return 0, false
	}
	if v, ok := in.Regs[name]; ok {
		return v, true
	}
	// A 32-bit register of a 64-bit context (mov eax, [ecx] in x64 code).
	if in.Is64 && len(name) == 3 && name[0] == 'e' {
		if v, ok := in.Regs["r"+name[1:]]; ok {
			return v & 0xffffffff, true
		}
	}
	return 0, false
}

// regName maps x86asm's general-purpose registers to the context's names.
func regName(r x86asm.Reg) string {
	switch {
	case r >= x86asm.RAX && r <= x86asm.R15:
		return [...]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}[r-x86asm.RAX]
	case r >= x86asm.EAX && r <= x86asm.EDI:
		return [...]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"}[r-x86asm.EAX]
	}
	return ""
}

// effectiveAddress computes base + index*scale + disp; FS/GS-relative
// operands are skipped (their base is the TEB, not in the context).
func effectiveAddress(m x86asm.Mem, in Input, inst x86asm.Inst) (uint64, bool) {
	if m.Segment == x86asm.FS || m.Segment == x86asm.GS {
		return 0, false
	}
	var base uint64
	if m.Base == x86asm.RIP {
		base = in.PC + uint64(inst.Len)
	} else {
		v, ok := reg(in, m.Base)
		if !ok {
			return 0, false
		}
		base = v
	}
	idx, ok := reg(in, m.Index)
	if !ok {
		return 0, false
	}
	a := base + idx*uint64(m.Scale) + uint64(m.Disp)
	if !in.Is64 || inst.AddrSize == 32 {
		a &= 0xffffffff
	}
	return a, true
}

// accessType: the first operand of most instructions is read and written,
// a plain store only written; other operands are read.
func accessType(op x86asm.Op, arg int) string {
	if arg > 0 {
		return "read"
	}
	switch op {
	case x86asm.MOV, x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW,
		x86asm.STOSD, x86asm.STOSQ, x86asm.MOVAPS, x86asm.MOVUPS, x86asm.MOVAPD, x86asm.MOVUPD, x86asm.MOVDQA,
		x86asm.MOVDQU, x86asm.MOVQ, x86asm.MOVD, x86asm.MOVSD_XMM, x86asm.MOVSS, x86asm.MOVNTI, x86asm.MOVNTDQ,
		x86asm.MOVNTPS, x86asm.FSTP, x86asm.FST, x86asm.FISTP, x86asm.FIST, x86asm.POP, x86asm.SETE, x86asm.SETNE,
		x86asm.MOVHPS, x86asm.MOVLPS, x86asm.MOVHPD, x86asm.MOVLPD, x86asm.STMXCSR, x86asm.FNSTCW, x86asm.FNSTSW:
		return "write"
	case x86asm.CMP, x86asm.TEST, x86asm.PUSH, x86asm.JMP, x86asm.CALL, x86asm.BT, x86asm.UCOMISS,
		x86asm.UCOMISD, x86asm.COMISS, x86asm.COMISD, x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ,
		x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ, x86asm.LODSB, x86asm.LODSW, x86asm.LODSD,
		x86asm.LODSQ, x86asm.PREFETCHT0, x86asm.PREFETCHT1, x86asm.PREFETCHT2, x86asm.PREFETCHNTA, x86asm.FLD,
		x86asm.FILD:
		return "read"
	}
	return "readwrite"
}

// ipTarget is where a call, unconditional jump or return sends the pc.
func ipTarget(inst x86asm.Inst, in Input) (uint64, bool) {
	switch inst.Op {
	case x86asm.CALL, x86asm.JMP:
	case x86asm.RET:
		sp, ok := in.Regs["rsp"]
		if !in.Is64 {
			sp, ok = in.Regs["esp"]
		}
		if !ok || in.Mem == nil {
			return 0, false
		}
		return in.Mem.Pointer(sp)
	default:
		return 0, false
	}
	switch a := inst.Args[0].(type) {
	case x86asm.Rel:
		return in.PC + uint64(inst.Len) + uint64(int64(a)), true
	case x86asm.Reg:
		return reg(in, a)
	case x86asm.Mem:
		addr, ok := effectiveAddress(a, in, inst)
		if !ok || in.Mem == nil {
			return 0, false
		}
		return in.Mem.Pointer(addr)
	}
	return 0, false
}

// canonical: bits 63..47 of an amd64 address are all equal.
func canonical(a uint64) bool {
	top := a >> 47
	return top == 0 || top == 0x1ffff
}

// adjust finds the address a general-protection fault hid (Windows reports
// a non-canonical access as an access violation at 0xffffffffffffffff) and
// the offset of a field read through a null pointer.
func adjust(in Input, inst x86asm.Inst, decoded bool, res Result) *report.AdjustedAddress {
	if in.Is64 && (in.Address == ^uint64(0) || !canonical(in.Address)) {
		for _, a := range res.Accesses {
			if !canonical(uint64(a.Address)) {
				return &report.AdjustedAddress{Kind: "non-canonical", Address: report.AddrPtr(uint64(a.Address))}
			}
		}
		if res.IPUpdate != nil && !canonical(uint64(res.IPUpdate.Address)) {
			return &report.AdjustedAddress{Kind: "non-canonical", Address: report.AddrPtr(uint64(res.IPUpdate.Address))}
		}
	}
	if !decoded {
		return nil
	}
	for _, a := range inst.Args {
		m, ok := a.(x86asm.Mem)
		if !ok || m.Base == 0 || m.Base == x86asm.RIP || inst.Op == x86asm.LEA {
			continue
		}
		base, ok := reg(in, m.Base)
		if !ok || base != 0 {
			continue
		}
		addr, ok := effectiveAddress(m, in, inst)
		if ok && addr == in.Address && addr != 0 {
			return &report.AdjustedAddress{Kind: "null-pointer", Offset: report.AddrPtr(addr)}
		}
	}
	return nil
}

// poison are fill patterns of freed or uninitialised memory (MSVC debug
// heap, Windows heap, Mozilla's jemalloc).
var poison = []uint32{0xcdcdcdcd, 0xdddddddd, 0xfeeefeee, 0xbaadf00d, 0xabababab, 0xfdfdfdfd, 0xe5e5e5e5, 0xe4e4e4e4}

func isPoison(v uint64, is64 bool) bool {
	lo := uint32(v)
	if is64 && uint32(v>>32) != lo {
		return false
	}
	return slices.Contains(poison, lo)
}

// nearDistance is how close a register must be to a corrected address to
// count as pointing into the same object.
const nearDistance = 4096

// bitFlips lists the addresses one bit away from an invalid crash address
// that are valid memory, most confident first. The confidence starts at a
// quarter and rises with evidence that the address was meant (the bad one
// was non-canonical, which one bit-flip explains; registers point near the
// corrected one) and falls with evidence for a software bug (poison values
// in registers: use after free; a small address flipping to null: a null
// pointer with an offset).
func bitFlips(in Input) []report.BitFlip {
	a := in.Address
	if in.Mem == nil || in.Mem.Valid(a) {
		return nil
	}
	width := 32
	if in.Is64 {
		width = 64
	}
	poisoned := false
	for _, v := range in.Regs {
		if isPoison(v, in.Is64) {
			poisoned = true
		}
	}
	var out []report.BitFlip
	for b := 0; b < width; b++ {
		c := a ^ 1<<uint(b)
		isNull := c == 0
		if !isNull && !in.Mem.Valid(c) {
			continue
		}
		d := report.BitFlipDetails{WasNonCanonical: in.Is64 && !canonical(a), IsNull: isNull, PoisonRegisters: poisoned}
		d.WasLow = isNull && a < 0x10000
		if c >= 0x100000 {
			for _, v := range in.Regs {
				if v != c && (v-c < nearDistance || c-v < nearDistance) {
					d.NearbyRegisters++
				}
			}
		}
		conf := 0.25
		if d.WasNonCanonical {
			conf += 0.5
		}
		conf += 0.1 * float64(min(d.NearbyRegisters, 3))
		if d.PoisonRegisters {
			conf -= 0.1
		}
		if d.WasLow {
			conf = 0.05
		}
		out = append(out, report.BitFlip{Address: report.Addr(c), Details: d, Confidence: clamp(conf)})
	}
	slices.SortStableFunc(out, func(x, y report.BitFlip) int {
		switch {
		case x.Confidence > y.Confidence:
			return -1
		case x.Confidence < y.Confidence:
			return 1
		}
		return 0
	})
	return out
}

func clamp(f float64) float64 { return max(0, min(1, float64(int(f*100+0.5))/100)) }

// privileged are instructions that fault with STATUS_PRIVILEGED_INSTRUCTION in user mode.
var privileged = []x86asm.Op{x86asm.HLT, x86asm.CLI, x86asm.STI, x86asm.IN, x86asm.OUT, x86asm.INSB, x86asm.INSW,
	x86asm.INSD, x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD, x86asm.LGDT, x86asm.LIDT, x86asm.LLDT, x86asm.LTR,
	x86asm.LMSW, x86asm.CLTS, x86asm.INVD, x86asm.WBINVD, x86asm.INVLPG, x86asm.RDMSR, x86asm.WRMSR,
	x86asm.RDPMC, x86asm.SYSEXIT, x86asm.SYSRET, x86asm.SWAPGS, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ}

// inconsistencies lists what the exception record claims that the
// instruction or the memory contradicts (rust-minidump's names).
func inconsistencies(in Input, inst x86asm.Inst, decoded bool, res Result) []string {
	out := []string{}
	if !decoded {
		return out
	}
	switch in.Exception {
	case statusIntDivideByZero:
		if inst.Op != x86asm.DIV && inst.Op != x86asm.IDIV {
			out = append(out, "int_div_by_zero_not_possible")
		}
	case statusPrivInstruction:
		if !slices.Contains(privileged, inst.Op) && !isCRMove(inst) {
			out = append(out, "priv_instruction_crash_without_priv_instruction")
		}
	case statusAccessViolation:
		if in.Is64 && in.Address == ^uint64(0) && (res.Adjusted == nil || res.Adjusted.Kind != "non-canonical") && !implicitStack(inst.Op) {
			out = append(out, "non_canonical_address_falsely_reported")
		}
		if in.AccessKind >= 0 && in.Mem != nil && in.Address != ^uint64(0) {
			write, exec := in.AccessKind == 1, in.AccessKind == 8
			if known, ok := in.Mem.Allows(in.Address, write, exec); known && ok {
				out = append(out, "access_violation_when_access_allowed")
			}
		}
		if in.AccessKind != 8 && in.Address != ^uint64(0) && !implicitStack(inst.Op) && len(res.Accesses) > 0 {
			found := false
			for _, a := range res.Accesses {
				size := max(uint64(a.Size), 1)
				if in.Address >= uint64(a.Address) && in.Address-uint64(a.Address) < size+4096 {
					found = true // a fault is reported at the page it hit, within the access
				}
			}
			if !found {
				out = append(out, "crashing_access_not_found_in_memory_accesses")
			}
		}
	}
	return out
}

func isCRMove(inst x86asm.Inst) bool {
	if inst.Op != x86asm.MOV {
		return false
	}
	for _, a := range inst.Args {
		if r, ok := a.(x86asm.Reg); ok && (r >= x86asm.CR0 && r <= x86asm.CR15 || r >= x86asm.DR0 && r <= x86asm.DR15) {
			return true
		}
	}
	return false
}

// implicitStack instructions touch the stack without a memory operand.
func implicitStack(op x86asm.Op) bool {
	switch op {
	case x86asm.PUSH, x86asm.POP, x86asm.CALL, x86asm.RET, x86asm.ENTER, x86asm.LEAVE, x86asm.PUSHF,
		x86asm.PUSHFQ, x86asm.PUSHFD, x86asm.POPF, x86asm.POPFQ, x86asm.POPFD:
		return true
	}
	return false
}
