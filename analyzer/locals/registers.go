package locals

import "strconv"

// Register is a CPU register a variable lives in or is addressed from, in
// the stack walker's numbering (minidump.RAX.. order: rax rcx rdx rbx rsp
// rbp rsi rdi r8..r15 on x64; eax ecx edx ebx esp ebp esi edi on x86).
type Register struct {
	Index int    // the walker's register number
	Bytes int    // width of the (sub)register: 8, 4, 2 or 1
	Name  string // as a debugger spells it: "rcx", "r8d", "esi"
}

var (
	x64Names   = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
	x86Names32 = [8]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"}
	x86Names16 = [8]string{"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"}
	x86Names8  = [4]string{"al", "cl", "dl", "bl"}
	// cvAMD64 is CV_AMD64_RAX (328) .. CV_AMD64_RSP (335) in the walker's numbering.
	cvAMD64 = [8]int{0, 3, 1, 2, 6, 7, 5, 4}
)

// CVRegister maps a CodeView register id (CV_HREG_e: CV_REG_EAX = 17,
// CV_AMD64_RAX = 328, CV_AMD64_R8D = 360, ...) of an x86 or x64 module.
// Vector and floating-point registers are not mapped (ok = false).
func CVRegister(id uint16, x86 bool) (Register, bool) {
	i := int(id)
	switch {
	case i >= 17 && i <= 24: // CV_REG_EAX..CV_REG_EDI, also x64's 32-bit halves
		return Register{i - 17, 4, x86Names32[i-17]}, true
	case i >= 9 && i <= 16: // CV_REG_AX..CV_REG_DI
		return Register{i - 9, 2, x86Names16[i-9]}, true
	case i >= 1 && i <= 4: // CV_REG_AL..CV_REG_BL
		return Register{i - 1, 1, x86Names8[i-1]}, true
	}
	if x86 {
		return Register{}, false
	}
	switch {
	case i >= 328 && i <= 335: // CV_AMD64_RAX..CV_AMD64_RSP
		r := cvAMD64[i-328]
		return Register{r, 8, x64Names[r]}, true
	case i >= 336 && i <= 343: // CV_AMD64_R8..R15
		return Register{i - 336 + 8, 8, x64Names[i-336+8]}, true
	case i >= 344 && i <= 351: // CV_AMD64_R8B..R15B
		return Register{i - 344 + 8, 1, x64Names[i-344+8] + "b"}, true
	case i >= 352 && i <= 359: // CV_AMD64_R8W..R15W
		return Register{i - 352 + 8, 2, x64Names[i-352+8] + "w"}, true
	case i >= 360 && i <= 367: // CV_AMD64_R8D..R15D
		return Register{i - 360 + 8, 4, x64Names[i-360+8] + "d"}, true
	case i >= 324 && i <= 327: // CV_AMD64_SIL, DIL, BPL, SPL
		r := [4]int{6, 7, 5, 4}[i-324]
		return Register{r, 1, [4]string{"sil", "dil", "bpl", "spl"}[i-324]}, true
	}
	return Register{}, false
}

// dwarfAMD64 maps x86-64 DWARF register numbers (System V psABI: rax rdx
// rcx rbx rsi rdi rbp rsp r8..r15) to the walker's.
var dwarfAMD64 = [16]int{0, 2, 1, 3, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15}

// DWARFRegister maps a DWARF register number of an x86 or x64 module
// (x86's numbering is the walker's: eax ecx edx ebx esp ebp esi edi).
func DWARFRegister(n int, x86 bool) (Register, bool) {
	if x86 {
		if n >= 0 && n < 8 {
			return Register{n, 4, x86Names32[n]}, true
		}
		return Register{}, false
	}
	if n >= 0 && n < 16 {
		r := dwarfAMD64[n]
		return Register{r, 8, x64Names[r]}, true
	}
	return Register{}, false
}

// RegisterName names register index of the walker's numbering.
func RegisterName(index int, x86 bool) string {
	if x86 && index >= 0 && index < 8 {
		return x86Names32[index]
	}
	if !x86 && index >= 0 && index < 16 {
		return x64Names[index]
	}
	return "r?" + strconv.Itoa(index)
}

// Offset writes a register-relative location: "rsp+0x24", "rbp-0x18".
func Offset(base string, off int64) string {
	switch {
	case off == 0:
		return base
	case off < 0:
		return base + "-0x" + strconv.FormatUint(uint64(-off), 16)
	}
	return base + "+0x" + strconv.FormatUint(uint64(off), 16)
}
