package analyzer

import (
	"fmt"

	"github.com/dumptriage/dumptriage/analyzer/locals"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/dwarf"
	"github.com/dumptriage/dumptriage/analyzer/symbols/pdb"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// Bounds of the locals step: a hostile PDB can give a function thousands
// of variables of any size.
const (
	maxLocalFrames    = 64      // crashing-thread frames whose variables are listed
	maxLocalsPerFrame = 64      // variables listed per frame
	maxLocalShown     = 32      // bytes shown per variable
	maxLocalRead      = 64      // bytes read per variable (a char array's text)
	maxLocalsRead     = 1 << 16 // bytes read for all variables of a report
)

// localFrame is what evaluating a frame's variables needs: its registers
// and how far they can be trusted.
type localFrame struct {
	index int
	rva   uint64 // of the frame's pc (a caller's: inside the call)
	regs  *unwind.Regs
	sp    uint64
	trust report.Trust
	// cfa is the frame's canonical frame address (the caller's stack
	// pointer after the return), known when the walk found a caller;
	// cfaTrust is the caller's trust, since unwinding this frame found it.
	cfa      uint64
	cfaOK    bool
	cfaTrust report.Trust
	x86      bool
	ptrSize  int
	// prologue: frame 0 stopped in its function's prologue, where the
	// stack slots may not hold the variables yet.
	prologue bool
}

// inPrologue tells whether rva is still on the function's first line (at
// entry), as debuggers place the end of a prologue at the second line.
func inPrologue(src symbolSource, entry, rva uint64) bool {
	if rva == entry {
		return true
	}
	at, ok1 := src.lookup(rva)
	first, ok2 := src.lookup(entry)
	return ok1 && ok2 && at.Line != 0 && at.Line == first.Line
}

// describeLocals lists the parameters and locals of the crashing thread's
// frames where the module's PDB or DWARF describes them, with their values.
func (a *analysis) describeLocals() {
	if a.crashIndex < 0 || a.crashIndex >= len(a.walks) {
		return
	}
	walk := a.walks[a.crashIndex]
	frames := a.rep.Threads[a.crashIndex].Frames
	x86 := a.d.Arch().String() == "x86"
	ptr := 8
	if x86 {
		ptr = 4
	}
	budget := maxLocalsRead
	for i := 0; i < len(frames) && i < len(walk) && i < maxLocalFrames; i++ {
		f := &frames[i]
		m := a.d.ModuleAt(uint64(f.Offset))
		if m == nil {
			continue
		}
		lf := localFrame{index: i, rva: uint64(f.Offset) - m.Base, regs: &walk[i].Regs, sp: walk[i].SP,
			trust: walk[i].Trust, x86: x86, ptrSize: ptr}
		if i+1 < len(walk) {
			lf.cfa, lf.cfaOK, lf.cfaTrust = walk[i+1].SP, true, walk[i+1].Trust
		}
		for _, src := range a.files(m).symbols {
			var vars []report.Local
			switch s := src.(type) {
			case pdbSource:
				proc, ok := s.f.Procedure(uint32(lf.rva))
				if !ok {
					continue
				}
				lf.prologue = i == 0 && inPrologue(s, uint64(proc.RVA), lf.rva)
				vars = a.pdbLocals(proc, lf, &budget)
			case dwarfSource:
				fn, ok := s.f.Function(lf.rva)
				if !ok {
					continue
				}
				lf.prologue = i == 0 && inPrologue(s, fn.LowPC, lf.rva)
				vars = a.dwarfLocals(s.f.File, fn, lf, &budget)
			default:
				continue
			}
			f.Locals = vars
			break
		}
	}
}

// frameConfidence is how far a value read relative to a frame's registers
// can be trusted, by how the frame was found.
func frameConfidence(t report.Trust) string {
	switch t {
	case report.TrustContext, report.TrustCFI:
		return report.ConfidenceHigh
	case report.TrustEmulation, report.TrustLeaf, report.TrustFramePointer:
		return report.ConfidenceMedium
	}
	return report.ConfidenceLow
}

func worse(a, b string) string {
	rank := map[string]int{report.ConfidenceHigh: 2, report.ConfidenceMedium: 1}
	if rank[a] <= rank[b] {
		return a
	}
	return b
}

// place is where a variable lives at the frame's pc.
type place struct {
	text     string
	inReg    bool
	reg      locals.Register // for inReg
	constant bool            // the value is addr itself
	addr     uint64          // when in memory and known
	addrOK   bool
	conf     string // of the address (or register)
	how      string
	whyNoVal string
}

// readValue fills l's address, bytes and value from p.
func (a *analysis) readValue(l *report.Local, base string, p place, lf localFrame, budget *int) {
	l.Location = p.text
	if p.whyNoVal != "" {
		l.Note = p.whyNoVal
		return
	}
	class, unit := locals.Classify(base, l.Size)
	var b []byte
	if p.constant {
		n := l.Size
		if n <= 0 || n > 8 {
			n = 8
		}
		b = make([]byte, n)
		for k := range b {
			b[k] = byte(p.addr >> (8 * k))
		}
	} else if p.inReg {
		if lf.index != 0 {
			l.Note = fmt.Sprintf("held in %s: a register's value is known only in frame 0", p.reg.Name)
			return
		}
		v, ok := lf.regs.Get(p.reg.Index)
		if !ok {
			l.Note = p.reg.Name + " is not in the context"
			return
		}
		n := p.reg.Bytes
		if l.Size > 0 && l.Size < n {
			n = l.Size
		}
		b = make([]byte, 8)
		for k := range b {
			b[k] = byte(v >> (8 * k))
		}
		b = b[:n]
	} else {
		if !p.addrOK {
			l.Note = p.how
			return
		}
		addr := report.Addr(p.addr)
		l.Address = &addr
		if l.Size <= 0 {
			l.Note = "the type's size is unknown: nothing read"
			return
		}
		n := min(l.Size, maxLocalRead)
		if class != locals.CharArray {
			n = min(n, maxLocalShown)
		}
		if *budget < n {
			l.Note = "not read: the report's budget for variable bytes is spent"
			return
		}
		*budget -= n
		b = make([]byte, n)
		k, _ := a.memory().ReadMemory(p.addr, b)
		if k < n {
			if k == 0 {
				l.Note = fmt.Sprintf("%#x is not in the dump", p.addr)
				return
			}
			b = b[:k]
			if class != locals.CharArray {
				class = locals.Unknown
			}
		}
	}
	hexs, cut := locals.Hex(b, maxLocalShown)
	l.Bytes = hexs
	l.Value = locals.Decode(class, unit, b)
	if class == locals.CharPointer && len(b) == lf.ptrSize {
		if ptr := locals.PointerValue(b); ptr != 0 && *budget >= locals.MaxString*unit {
			*budget -= locals.MaxString * unit
			s := make([]byte, locals.MaxString*unit)
			if k, _ := a.memory().ReadMemory(ptr, s); k > 0 {
				if text, ok := locals.Text(s[:k], unit); ok {
					l.Value += " " + text
				}
			}
		}
	}
	l.Confidence = p.conf
	l.Note = p.how
	if cut || len(b) < l.Size {
		l.Note += fmt.Sprintf("; the first %d of %d bytes", len(b), l.Size)
	}
}

// pdbLocals evaluates a procedure's S_LOCAL (with S_DEFRANGE_*),
// S_REGREL32, S_BPREL32 and S_REGISTER variables in a frame.
func (a *analysis) pdbLocals(proc *pdb.Procedure, lf localFrame, budget *int) []report.Local {
	var out []report.Local
	rva := uint32(lf.rva)
	for _, v := range proc.Vars {
		if len(out) == maxLocalsPerFrame {
			break
		}
		l := report.Local{Name: v.Name, Kind: report.VarLocal, Type: v.TypeName, Size: int(v.TypeSize), Source: "pdb"}
		if v.IsParam {
			l.Kind = report.VarParameter
		}
		if len(v.Locations) == 0 {
			l.Location = "none"
			l.Note = "no location: optimized away"
			out = append(out, l)
			continue
		}
		loc, live := v.Locations[0], false
		for _, c := range v.Locations {
			if c.End == 0 || rva >= c.Start && rva < c.End {
				loc, live = c, true
				break
			}
		}
		p := a.pdbPlace(proc, loc, l.Kind == report.VarParameter, lf)
		if !live {
			p.whyNoVal = fmt.Sprintf("not live at this pc: its location is valid at RVA %#x..%#x", loc.Start, loc.End)
		}
		a.readValue(&l, v.TypeName, p, lf, budget)
		out = append(out, l)
	}
	return out
}

func (a *analysis) pdbPlace(proc *pdb.Procedure, loc pdb.VarLocation, param bool, lf localFrame) place {
	var baseID uint16
	what := "PDB " + loc.Kind
	switch loc.Kind {
	case "register":
		r, ok := locals.CVRegister(loc.Register, lf.x86)
		if !ok {
			return place{text: fmt.Sprintf("register %d", loc.Register), whyNoVal: "a register the stack walker does not track"}
		}
		text := r.Name
		if loc.Offset != 0 {
			// S_DEFRANGE_SUBFIELD_REGISTER: the register holds only a piece.
			return place{text: fmt.Sprintf("%s (bytes from %d)", text, loc.Offset), whyNoVal: "only a piece of the variable is in the register"}
		}
		return place{text: text, inReg: true, reg: r, conf: report.ConfidenceHigh, how: what + ": from the thread's context"}
	case "regrel", "bprel":
		baseID = loc.Register
	case "framerel":
		baseID = proc.LocalBasePointer
		if param {
			baseID = proc.ParamBasePointer
		}
		what = "PDB frame-pointer-relative"
		if baseID == 0 {
			return place{text: locals.Offset("frame", int64(loc.Offset)), whyNoVal: "relative to a virtual frame pointer (x86 FPO), which is not evaluated"}
		}
	default:
		return place{text: loc.Kind, whyNoVal: "location kind not evaluated"}
	}
	r, ok := locals.CVRegister(baseID, lf.x86)
	if !ok || r.Bytes != lf.ptrSize {
		return place{text: fmt.Sprintf("register %d%+#x", baseID, loc.Offset), whyNoVal: "relative to a register the stack walker does not track"}
	}
	return a.memPlace(r, int64(loc.Offset), what, lf)
}

// memPlace is a variable at register r + off in frame lf.
func (a *analysis) memPlace(r locals.Register, off int64, what string, lf localFrame) place {
	text := locals.Offset(r.Name, off)
	base, ok := lf.regs.Get(r.Index)
	if r.Index == 4 { // rsp/esp: the frame's own stack pointer
		base, ok = lf.sp, true
	}
	if !ok {
		if lf.index == 0 {
			return place{text: text, how: r.Name + " is not in the context"}
		}
		return place{text: text, how: r.Name + " was not recovered for this frame"}
	}
	addr := base + uint64(off)
	if lf.x86 {
		addr &= 0xffffffff
	}
	conf := frameConfidence(lf.trust)
	how := fmt.Sprintf("%s: %s = %#x", what, r.Name, base)
	if lf.index > 0 && r.Index != 4 && r.Index != 5 {
		// A callee may have changed a non-volatile register without the
		// unwinder seeing it restored.
		conf = worse(conf, report.ConfidenceMedium)
	}
	if conf == report.ConfidenceLow {
		how += " (uncertain: this frame was found by scanning the stack)"
	}
	if lf.prologue {
		conf = report.ConfidenceLow
		how += " (uncertain: the crash is in the function's prologue, which may not have stored it yet)"
	}
	return place{text: text, addr: addr, addrOK: true, conf: conf, how: how}
}

// dwarfLocals evaluates a DWARF function's DW_TAG_formal_parameter and
// DW_TAG_variable locations in a frame.
func (a *analysis) dwarfLocals(df *dwarf.File, fn *dwarf.Function, lf localFrame, budget *int) []report.Local {
	var out []report.Local
	add := func(v dwarf.Variable, kind report.VarKind) {
		if len(out) == maxLocalsPerFrame {
			return
		}
		l := report.Local{Name: v.Name, Kind: kind, Type: v.TypeName, Source: "dwarf"}
		if v.TypeSize > 0 && v.TypeSize < 1<<30 {
			l.Size = int(v.TypeSize)
		}
		p := a.dwarfPlace(df, fn, v, lf)
		a.readValue(&l, v.BaseType, p, lf, budget)
		out = append(out, l)
	}
	for _, v := range fn.Params {
		add(v, report.VarParameter)
	}
	for _, v := range fn.Locals {
		add(v, report.VarLocal)
	}
	return out
}

func (a *analysis) dwarfPlace(df *dwarf.File, fn *dwarf.Function, v dwarf.Variable, lf localFrame) place {
	if v.LocList {
		expr, live, ok := df.LocationAt(fn, v, lf.rva)
		switch {
		case !ok:
			return place{text: "location list", whyNoVal: "a location list this reader does not decode (DW_LLE_*x or malformed)"}
		case !live:
			return place{text: "location list", whyNoVal: "not live at this pc: no entry of its location list covers it"}
		}
		v.Location, v.LocList = expr, false
		p := a.dwarfPlace(df, fn, v, lf)
		p.text += " (location list)"
		return p
	}
	if len(v.Location) == 0 {
		return place{text: "none", whyNoVal: "no location: optimized away"}
	}
	if v.Scope != nil {
		in := false
		for _, rg := range v.Scope {
			in = in || lf.rva >= rg[0] && lf.rva < rg[1]
		}
		if !in {
			s, _ := dwarf.SimpleLocation(v.Location, lf.ptrSize)
			return place{text: a.dwarfText(fn, s, lf), whyNoVal: "not in scope at this pc (its lexical block does not cover it)"}
		}
	}
	s, ok := dwarf.SimpleLocation(v.Location, lf.ptrSize)
	if !ok {
		return place{text: fmt.Sprintf("DWARF expression (%d bytes)", len(v.Location)), whyNoVal: "only single-operation locations are evaluated"}
	}
	text := a.dwarfText(fn, s, lf)
	switch s.Op {
	case "reg":
		r, ok := locals.DWARFRegister(s.Reg, lf.x86)
		if !ok {
			return place{text: text, whyNoVal: "a register the stack walker does not track"}
		}
		return place{text: text, inReg: true, reg: r, conf: report.ConfidenceHigh, how: "DWARF register location: from the thread's context"}
	case "breg":
		r, ok := locals.DWARFRegister(s.Reg, lf.x86)
		if !ok {
			return place{text: text, whyNoVal: "relative to a register the stack walker does not track"}
		}
		p := a.memPlace(r, s.Offset, "DWARF register-relative", lf)
		p.text = text
		return p
	case "addr":
		return place{text: text, addr: s.Addr, addrOK: true, conf: report.ConfidenceHigh, how: "DWARF static address"}
	case "value":
		return place{text: text, constant: true, addr: s.Addr, conf: report.ConfidenceHigh, how: "DWARF: a constant at this pc (DW_OP_stack_value)"}
	case "fbreg":
		fb, ok := dwarf.SimpleLocation(fn.FrameBase, lf.ptrSize)
		if !ok {
			return place{text: text, whyNoVal: "the function's frame base is not a single operation"}
		}
		switch fb.Op {
		case "cfa":
			if !lf.cfaOK {
				return place{text: text, whyNoVal: "the frame's CFA is unknown (no caller was found)"}
			}
			conf := worse(frameConfidence(lf.trust), frameConfidence(lf.cfaTrust))
			how := fmt.Sprintf("DWARF frame-base-relative, frame base = CFA = %#x (the caller's stack pointer)", lf.cfa)
			if conf == report.ConfidenceLow {
				how += " (uncertain: a frame was found by scanning the stack)"
			}
			if lf.prologue {
				conf = report.ConfidenceLow
				how += " (uncertain: the crash is in the function's prologue, which may not have stored it yet)"
			}
			return place{text: text, addr: lf.cfa + uint64(s.Offset), addrOK: true, conf: conf, how: how}
		case "breg", "reg":
			r, ok := locals.DWARFRegister(fb.Reg, lf.x86)
			if !ok {
				return place{text: text, whyNoVal: "the frame base is in a register the stack walker does not track"}
			}
			off := s.Offset
			if fb.Op == "breg" {
				off += fb.Offset
			}
			p := a.memPlace(r, off, "DWARF frame-base-relative", lf)
			p.text = text
			return p
		}
		return place{text: text, whyNoVal: "the function's frame base is not evaluated"}
	}
	return place{text: text, whyNoVal: "location not evaluated"}
}

// dwarfText writes a simple location as a register and offset.
func (a *analysis) dwarfText(fn *dwarf.Function, s dwarf.Simple, lf localFrame) string {
	reg := func(n int) string {
		if r, ok := locals.DWARFRegister(n, lf.x86); ok {
			return r.Name
		}
		return fmt.Sprintf("dwarf-reg%d", n)
	}
	switch s.Op {
	case "reg":
		return reg(s.Reg)
	case "breg":
		return locals.Offset(reg(s.Reg), s.Offset)
	case "addr":
		return fmt.Sprintf("%#x", s.Addr)
	case "value":
		return "constant"
	case "fbreg":
		fb, ok := dwarf.SimpleLocation(fn.FrameBase, lf.ptrSize)
		switch {
		case ok && fb.Op == "cfa":
			return locals.Offset("cfa", s.Offset)
		case ok && fb.Op == "reg":
			return locals.Offset(reg(fb.Reg), s.Offset)
		case ok && fb.Op == "breg":
			return locals.Offset(reg(fb.Reg), s.Offset+fb.Offset)
		}
		return locals.Offset("frame_base", s.Offset)
	}
	return "?"
}
