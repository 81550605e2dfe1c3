package analyzer

import (
	"encoding/binary"
	"fmt"

	"github.com/dumptriage/dumptriage/analyzer/callsite"
	"github.com/dumptriage/dumptriage/analyzer/oom"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/dwarf"
	"github.com/dumptriage/dumptriage/analyzer/symbols/pdb"
)

// debugArgFrames is how many allocator frames, from the failing one
// outwards, are checked against their debug information.
const debugArgFrames = 4

// crossCheckDebugInfo reads the allocator frames' size or count arguments
// from debug information where it describes them (DWARF locations in mingw
// builds, PDB register-relative records in MSVC and clang builds), fills
// what the code did not give, and records whether the two agree.
func (a *analysis) crossCheckDebugInfo(af *report.AllocationFailure, frames []report.Frame, k int) {
	for i := k; i < len(frames) && i < k+debugArgFrames; i++ {
		al, ok := oom.Match(frames[i].Function)
		if !ok {
			continue
		}
		v, how, ok := a.debugArg(frames, i, al.Arg)
		if !ok {
			continue
		}
		name := oom.StripTemplates(frames[i].Function)
		switch al.Kind {
		case oom.KindCount:
			af.Evidence = append(af.Evidence, fmt.Sprintf("debug info: %s in %s = %d", how, name, v))
			if af.ElementCount == nil {
				n := v
				af.ElementCount = &n
				if af.RequestedBytes != nil && v > 0 && *af.RequestedBytes%v == 0 {
					s := *af.RequestedBytes / v
					af.ElementSize = &s
				}
			} else if *af.ElementCount != v {
				af.Evidence = append(af.Evidence, fmt.Sprintf("it disagrees with the element count %d from the code", *af.ElementCount))
				af.Confidence = report.ConfidenceMedium
			} else {
				af.Evidence = append(af.Evidence, "it agrees with the element count from the code")
			}
		case oom.KindSize:
			af.Evidence = append(af.Evidence, fmt.Sprintf("debug info: %s in %s = %d", how, name, v))
			if af.RequestedBytes == nil {
				n := v
				af.RequestedBytes = &n
				af.Method = fmt.Sprintf("debug information of %s: %s", name, how)
				af.Confidence = report.ConfidenceHigh
			} else if *af.RequestedBytes != v {
				af.Evidence = append(af.Evidence, fmt.Sprintf("it disagrees with %d from the code", *af.RequestedBytes))
				af.Confidence = report.ConfidenceMedium
			} else {
				af.Evidence = append(af.Evidence, "it agrees with the size from the code")
			}
		}
	}
	if af.ElementCount != nil && af.ElementSize == nil && af.RequestedBytes != nil && *af.ElementCount > 0 && *af.RequestedBytes%*af.ElementCount == 0 {
		s := *af.RequestedBytes / *af.ElementCount
		af.ElementSize = &s
	}
}

// debugArg evaluates argument n (not counting `this`) of frame i's function
// from its debug information.
func (a *analysis) debugArg(frames []report.Frame, i, n int) (uint64, string, bool) {
	if a.crashIndex < 0 || i >= len(a.walks[a.crashIndex]) || i+1 >= len(frames) {
		return 0, "", false
	}
	f := frames[i]
	m := a.d.ModuleAt(uint64(f.Offset))
	if m == nil {
		return 0, "", false
	}
	rva := uint64(f.Offset) - m.Base // already inside the call for callers
	walk := a.walks[a.crashIndex]
	cfa := walk[i+1].SP // the caller's stack pointer after the return
	for _, src := range a.files(m).symbols {
		switch s := src.(type) {
		case dwarfSource:
			fn, ok := s.f.Function(rva)
			if !ok {
				continue
			}
			return a.dwarfArg(fn, walk[i].Regs.Get, cfa, n)
		case pdbSource:
			proc, ok := s.f.Procedure(uint32(rva))
			if !ok {
				continue
			}
			return a.pdbArg(proc, walk[i].Regs.Get, uint32(rva), n)
		}
	}
	return 0, "", false
}

// x64 DWARF register numbers to UNWIND_CODE numbering.
var dwarfToX64 = [17]int{0, 2, 1, 3, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15, -1}

func (a *analysis) dwarfArg(fn *dwarf.Function, reg func(int) (uint64, bool), cfa uint64, n int) (uint64, string, bool) {
	params := fn.Params
	if len(params) > 0 && params[0].Name == "this" {
		params = params[1:]
	}
	if n >= len(params) || len(params[n].Location) == 0 {
		return 0, "", false
	}
	p := params[n]
	regs := func(r int) (uint64, bool) {
		if r == 7 {
			return cfa, false // rsp of this frame is not tracked here
		}
		if r < 0 || r >= len(dwarfToX64) || dwarfToX64[r] < 0 {
			return 0, false
		}
		return reg(dwarfToX64[r])
	}
	read := func(addr uint64, size int) ([]byte, bool) {
		b := make([]byte, size)
		k, _ := a.memory().ReadMemory(addr, b)
		return b, k == size
	}
	// GCC's frame base is DW_OP_call_frame_cfa: the CFA is passed as the frame base.
	addr, inReg, err := dwarf.EvalLocation(p.Location, cfa, regs, read)
	if err != nil || inReg >= 0 {
		return 0, "", false
	}
	size := p.TypeSize
	if size <= 0 || size > 8 {
		size = 8
	}
	b, ok := read(addr, int(size))
	if !ok {
		return 0, "", false
	}
	var buf [8]byte
	copy(buf[:], b)
	return binary.LittleEndian.Uint64(buf[:]), fmt.Sprintf("parameter %s (DWARF location at %#x)", p.Name, addr), true
}

// CodeView register ids of the x64 and x86 general registers.
var cvToX64 = map[uint16]int{328: 0, 329: 3, 330: 1, 331: 2, 332: 6, 333: 7, 334: 5, 335: 4,
	336: 8, 337: 9, 338: 10, 339: 11, 340: 12, 341: 13, 342: 14, 343: 15}

func (a *analysis) pdbArg(proc *pdb.Procedure, reg func(int) (uint64, bool), rva uint32, n int) (uint64, string, bool) {
	var params []pdb.Variable
	for _, v := range proc.Vars {
		if v.IsParam && v.Name != "this" {
			params = append(params, v)
		}
	}
	if n >= len(params) {
		return 0, "", false
	}
	p := params[n]
	for _, loc := range p.Locations {
		if loc.End != 0 && (rva < loc.Start || rva >= loc.End) {
			continue
		}
		var base uint16
		switch loc.Kind {
		case "regrel", "bprel":
			base = loc.Register
		case "framerel":
			base = proc.ParamBasePointer
		default:
			continue
		}
		x, ok := cvToX64[base]
		if !ok {
			continue
		}
		bv, ok := reg(x)
		if !ok {
			continue
		}
		addr := bv + uint64(int64(loc.Offset))
		size := int(p.TypeSize)
		if size <= 0 || size > 8 {
			size = 8
		}
		var buf [8]byte
		if k, _ := a.memory().ReadMemory(addr, buf[:size]); k < size {
			continue
		}
		return binary.LittleEndian.Uint64(buf[:]), fmt.Sprintf("parameter %s (PDB %s %s%+#x)", p.Name, loc.Kind, callsite.RegName(x), loc.Offset), true
	}
	return 0, "", false
}
