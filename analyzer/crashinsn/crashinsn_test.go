package crashinsn

import (
	"testing"
)

// fakeMem is valid in [lo, hi), guard in [glo, ghi), and reads ptrs.
type fakeMem struct {
	lo, hi, glo, ghi uint64
	ptrs             map[uint64]uint64
	allow            bool
}

func (m fakeMem) Valid(a uint64) bool { return a >= m.lo && a < m.hi }
func (m fakeMem) Guard(a uint64) bool { return a >= m.glo && a < m.ghi }
func (m fakeMem) Allows(a uint64, w, x bool) (bool, bool) {
	return m.Valid(a), m.allow
}
func (m fakeMem) Pointer(a uint64) (uint64, bool) { v, ok := m.ptrs[a]; return v, ok }

func TestAnalyze(t *testing.T) {
	mem := fakeMem{lo: 0x400000, hi: 0x500000, glo: 0x600000, ghi: 0x601000, ptrs: map[uint64]uint64{0x1000: 0x401234}}
	for _, c := range []struct {
		name  string
		in    Input
		check func(t *testing.T, r Result)
	}{
		{"null pointer with offset", Input{Is64: true, PC: 0x401000, Code: []byte{0x48, 0x89, 0x42, 0x40}, // mov [rdx+0x40], rax
			Regs: map[string]uint64{"rdx": 0, "rax": 1}, Exception: statusAccessViolation, AccessFault: true, Address: 0x40, AccessKind: 1, Mem: mem},
			func(t *testing.T, r Result) {
				if r.Instruction == nil || *r.Instruction != "mov qword ptr [rdx+0x40], rax" {
					t.Errorf("instruction %v", r.Instruction)
				}
				if len(r.Accesses) != 1 || r.Accesses[0].Address != 0x40 || r.Accesses[0].Size != 8 || r.Accesses[0].AccessType != "write" {
					t.Errorf("accesses %+v", r.Accesses)
				}
				if r.Adjusted == nil || r.Adjusted.Kind != "null-pointer" || *r.Adjusted.Offset != 0x40 {
					t.Errorf("adjusted %+v", r.Adjusted)
				}
				if len(r.Inconsistencies) != 0 {
					t.Errorf("inconsistencies %v", r.Inconsistencies)
				}
			}},
		{"non-canonical read", Input{Is64: true, PC: 0x401000, Code: []byte{0x48, 0x8b, 0x01}, // mov rax, [rcx]
			Regs: map[string]uint64{"rcx": 0x8000000000401000}, Exception: statusAccessViolation, AccessFault: true, Address: ^uint64(0), AccessKind: 0, Mem: mem},
			func(t *testing.T, r Result) {
				if r.Adjusted == nil || r.Adjusted.Kind != "non-canonical" || *r.Adjusted.Address != 0x8000000000401000 {
					t.Errorf("adjusted %+v", r.Adjusted)
				}
				if len(r.Accesses) != 1 || r.Accesses[0].AccessType != "read" {
					t.Errorf("accesses %+v", r.Accesses)
				}
			}},
		{"bit flip into a module", Input{Is64: true, PC: 0x401000, Code: []byte{0x8b, 0x00}, // mov eax, [rax]
			Regs: map[string]uint64{"rax": 0x10401000, "rbx": 0x401100}, Exception: statusAccessViolation, AccessFault: true, Address: 0x10401000, AccessKind: 0, Mem: mem},
			func(t *testing.T, r Result) {
				if len(r.BitFlips) != 1 || r.BitFlips[0].Address != 0x401000 || r.BitFlips[0].Details.NearbyRegisters != 1 || r.BitFlips[0].Confidence != 0.35 {
					t.Errorf("bit flips %+v", r.BitFlips)
				}
			}},
		{"call through a pointer, guard page", Input{Is64: true, PC: 0x401000, Code: []byte{0xff, 0x15, 0x00, 0x00, 0x00, 0x00}, // call [rip+0]
			Regs: map[string]uint64{}, Exception: statusAccessViolation, AccessFault: true, Address: 0x600010, AccessKind: 0,
			Mem: fakeMem{lo: 0x400000, hi: 0x500000, glo: 0x600000, ghi: 0x601000, ptrs: map[uint64]uint64{0x401006: 0x600010}}},
			func(t *testing.T, r Result) {
				if r.IPUpdate == nil || r.IPUpdate.Address != 0x600010 || !r.IPUpdate.IsLikelyGuardPage {
					t.Errorf("ip update %+v", r.IPUpdate)
				}
			}},
		{"divide by zero without a divide", Input{PC: 0x401000, Code: []byte{0x01, 0xc8}, // add eax, ecx
			Regs: map[string]uint64{}, Exception: statusIntDivideByZero, AccessKind: -1, Mem: mem},
			func(t *testing.T, r Result) {
				if len(r.Inconsistencies) != 1 || r.Inconsistencies[0] != "int_div_by_zero_not_possible" {
					t.Errorf("inconsistencies %v", r.Inconsistencies)
				}
			}},
		{"access allowed", Input{PC: 0x401000, Code: []byte{0x8b, 0x01}, // mov eax, [ecx]
			Regs: map[string]uint64{"ecx": 0x402000}, Exception: statusAccessViolation, AccessFault: true, Address: 0x402000, AccessKind: 0,
			Mem: fakeMem{lo: 0x400000, hi: 0x500000, allow: true}},
			func(t *testing.T, r Result) {
				if len(r.Inconsistencies) != 1 || r.Inconsistencies[0] != "access_violation_when_access_allowed" {
					t.Errorf("inconsistencies %v", r.Inconsistencies)
				}
			}},
		{"no code", Input{PC: 0x401000, Exception: statusAccessViolation, AccessFault: true, Address: 0x10, AccessKind: 0, Mem: mem},
			func(t *testing.T, r Result) {
				if r.Instruction != nil || r.Accesses != nil || r.Inconsistencies == nil {
					t.Errorf("%+v", r)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, Analyze(c.in)) })
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{0x48, 0x89, 0x42, 0x40}, uint64(0x40), true)
	f.Add([]byte{0xff, 0x15, 0, 0, 0, 0}, uint64(0), false)
	f.Fuzz(func(t *testing.T, code []byte, addr uint64, is64 bool) {
		Analyze(Input{Is64: is64, PC: 0x401000, Code: code, Regs: map[string]uint64{"rax": addr, "eax": addr},
			Exception: statusAccessViolation, AccessFault: true, Address: addr, AccessKind: 1, Mem: fakeMem{lo: 0x400000, hi: 0x500000}})
	})
}
