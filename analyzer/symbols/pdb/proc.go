package pdb

// Procedure is a function's frame and variable records, for argument
// recovery.
type Procedure struct {
	Name       string
	RVA, Size  uint32
	DebugStart uint32 // S_GPROC32.DbgStart: offset of the end of the prologue
	DebugEnd   uint32 // S_GPROC32.DbgEnd: offset of the start of the epilogue
	FrameSize  uint32 // S_FRAMEPROC.cbFrame, 0 if absent
	// LocalBasePointer and ParamBasePointer are the CodeView registers that
	// S_DEFRANGE_FRAMEPOINTER_REL offsets of locals and parameters are
	// relative to (S_FRAMEPROC flags encodedLocalBasePointer and
	// encodedParamBasePointer); 0 if unknown. On x86 "VFRAME" (the virtual
	// frame of FPO code) also yields 0.
	LocalBasePointer uint16
	ParamBasePointer uint16
	Vars             []Variable
}

// Variable is a parameter or local of a procedure.
type Variable struct {
	Name      string
	IsParam   bool
	TypeName  string // from TPI when resolvable, else ""
	TypeSize  uint32 // 0 if unknown
	Locations []VarLocation
}

// VarLocation says where a variable lives over an address range. Gaps in
// S_DEFRANGE_* ranges are not represented.
type VarLocation struct {
	// Kind is "regrel" (S_REGREL32, S_DEFRANGE_REGISTER_REL), "register"
	// (S_REGISTER, S_DEFRANGE_REGISTER, S_DEFRANGE_SUBFIELD_REGISTER),
	// "framerel" (S_DEFRANGE_FRAMEPOINTER_REL[_FULL_SCOPE]) or "bprel"
	// (S_BPREL32).
	Kind string
	// Register is the CodeView register id (CV_AMD64_RSP=335,
	// CV_AMD64_RBP=334, CV_REG_EBP=22, CV_REG_ESP=21, ...); 0 for framerel,
	// the frame pointer (EBP or RBP) for bprel.
	Register uint16
	// Offset from the register for regrel, framerel and bprel. For
	// S_DEFRANGE_SUBFIELD_REGISTER it is the byte offset of the piece
	// held in the register within the variable.
	Offset     int32
	Start, End uint32 // RVA range where valid; 0,0 = whole function
}

// CodeView register ids used for defaults.
const (
	cvRegEBP   = 22
	cvRegEBX   = 23
	cvAMD64RBP = 334
	cvAMD64RSP = 335
	cvAMD64R13 = 342
	machineX86 = 0x14c
)

// Procedure returns the frame and variable records of the procedure
// containing rva.
func (f *File) Procedure(rva uint32) (proc *Procedure, ok bool) {
	defer func() {
		if !recoverPanics {
			return
		}
		if recover() != nil {
			proc, ok = nil, false
		}
	}()
	m, p := f.findProc(rva)
	if p == nil {
		return nil, false
	}
	return f.parseProc(m, p), true
}

func (f *File) parseProc(m *module, p *procEntry) *Procedure {
	r := le{b: m.sym}
	off := int(p.off)
	kind := r.u16(off + 2)
	proc := &Procedure{
		Name:       displayName(p.name),
		RVA:        p.rva,
		Size:       p.size,
		DebugStart: r.u32(off + 20),
		DebugEnd:   r.u32(off + 24),
	}
	isID := kind == sGPROC32_ID || kind == sLPROC32_ID || kind == sLPROC32_DPC_ID
	nParams, haveCount := f.paramCount(r.u32(off+28), isID)
	end := int(r.u32(off + 8))
	if end <= off || end > len(m.sym) {
		end = len(m.sym)
	}
	x86 := f.machine == machineX86

	type scope struct {
		start, end uint32
		inline     bool
		id         int
	}
	var scopes []scope
	nextScope := 0
	varScope := []int{} // scope id per entry of proc.Vars
	scopeID := func() int {
		if len(scopes) == 0 {
			return 0
		}
		return scopes[len(scopes)-1].id
	}
	inlineDepth := 0
	cur := -1 // index in proc.Vars of the S_LOCAL that S_DEFRANGE_* records extend
	positional := 0
	scopeRange := func() (uint32, uint32) {
		for i := len(scopes) - 1; i >= 0; i-- {
			if !scopes[i].inline {
				return scopes[i].start, scopes[i].end
			}
		}
		return 0, 0
	}
	rangeAt := func(o int) (uint32, uint32, bool) {
		start, ok := f.rva(r.u16(o+4), r.u32(o))
		n := uint32(r.u16(o + 6))
		return start, start + n, ok
	}
	addLoc := func(l VarLocation) {
		if cur >= 0 && inlineDepth == 0 {
			proc.Vars[cur].Locations = append(proc.Vars[cur].Locations, l)
		}
	}
	// newVar adds a variable. MSVC describes optimized code twice: S_LOCAL
	// with S_DEFRANGE_* records, then the legacy S_REGISTER/S_REGREL32/
	// S_BPREL32 records for the same variables; those are merged into the
	// S_LOCAL variable of the same name and scope.
	newVar := func(name string, ti uint32, isParam bool, loc *VarLocation) {
		name = sanitizeName(name)
		if loc != nil {
			for i := range proc.Vars {
				if varScope[i] == scopeID() && proc.Vars[i].Name == name {
					proc.Vars[i].Locations = append(proc.Vars[i].Locations, *loc)
					return
				}
			}
		}
		varScope = append(varScope, scopeID())
		v := Variable{Name: name, IsParam: isParam}
		v.TypeName, v.TypeSize = f.typeInfo(ti, 0, &typeWork{budget: maxTypeWork})
		if loc != nil {
			v.Locations = []VarLocation{*loc}
		}
		proc.Vars = append(proc.Vars, v)
	}
	// positionalParam decides whether a REGREL32/BPREL32 record is a
	// parameter: these records carry no flag, but compilers emit parameters
	// first, so the first N records of the outer scope are the N parameters
	// of the function type. Without the type, a positive offset from the
	// frame pointer is taken as a parameter.
	positionalParam := func(reg uint16, offset int32) bool {
		if len(scopes) > 0 {
			return false
		}
		if haveCount {
			positional++
			return positional <= nParams
		}
		return offset > 0 && (reg == cvRegEBP || reg == cvAMD64RBP)
	}

	for o := off + 2 + int(r.u16(off)); o+4 <= end; {
		n := int(r.u16(o))
		k := r.u16(o + 2)
		next := o + 2 + n
		if n < 2 || next > len(m.sym) {
			break
		}
		d := o + 4 // record data
		if k < sDEFRANGE || k > sDEFRANGE_REGISTER_REL {
			cur = -1
		}
		switch k {
		case sFRAMEPROC:
			if len(scopes) == 0 && proc.FrameSize == 0 {
				proc.FrameSize = r.u32(d)
				flags := r.u32(d + 22)
				proc.LocalBasePointer = basePointer((flags>>14)&3, x86)
				proc.ParamBasePointer = basePointer((flags>>16)&3, x86)
			}
		case sBLOCK32:
			start, _ := f.rva(r.u16(d+16), r.u32(d+12))
			nextScope++
			scopes = append(scopes, scope{start: start, end: start + r.u32(d+8), id: nextScope})
		case sINLINESITE, sINLINESITE2:
			nextScope++
			scopes = append(scopes, scope{inline: true, id: nextScope})
			inlineDepth++
		case sTHUNK32, sWITH32, sSEPCODE:
			nextScope++
			scopes = append(scopes, scope{id: nextScope})
		case sEND, sINLINESITE_END, sPROC_ID_END:
			if len(scopes) > 0 {
				if scopes[len(scopes)-1].inline {
					inlineDepth--
				}
				scopes = scopes[:len(scopes)-1]
			}
		case sLOCAL:
			if inlineDepth == 0 {
				flags := r.u16(d + 4)
				newVar(r.cstr(d+6), r.u32(d), flags&1 != 0, nil)
				cur = len(proc.Vars) - 1
			}
		case sREGREL32:
			if inlineDepth == 0 {
				reg := r.u16(d + 8)
				offset := r.i32(d)
				s, e := scopeRange()
				newVar(r.cstr(d+10), r.u32(d+4), positionalParam(reg, offset),
					&VarLocation{Kind: "regrel", Register: reg, Offset: offset, Start: s, End: e})
			}
		case sBPREL32:
			if inlineDepth == 0 {
				offset := r.i32(d)
				reg := uint16(cvAMD64RBP)
				if x86 {
					reg = cvRegEBP
				}
				s, e := scopeRange()
				newVar(r.cstr(d+8), r.u32(d+4), positionalParam(reg, offset),
					&VarLocation{Kind: "bprel", Register: reg, Offset: offset, Start: s, End: e})
			}
		case sREGISTER:
			if inlineDepth == 0 {
				s, e := scopeRange()
				newVar(r.cstr(d+6), r.u32(d), false,
					&VarLocation{Kind: "register", Register: r.u16(d + 4), Start: s, End: e})
			}
		case sDEFRANGE_REGISTER:
			if s, e, ok := rangeAt(d + 4); ok {
				addLoc(VarLocation{Kind: "register", Register: r.u16(d), Start: s, End: e})
			}
		case sDEFRANGE_SUBFIELD_REG:
			if s, e, ok := rangeAt(d + 8); ok {
				addLoc(VarLocation{Kind: "register", Register: r.u16(d), Offset: int32(r.u32(d+4) & 0xFFF), Start: s, End: e})
			}
		case sDEFRANGE_FRAMEPTR_REL:
			if s, e, ok := rangeAt(d + 4); ok {
				addLoc(VarLocation{Kind: "framerel", Offset: r.i32(d), Start: s, End: e})
			}
		case sDEFRANGE_FRAMEPTR_FULL:
			addLoc(VarLocation{Kind: "framerel", Offset: r.i32(d)})
		case sDEFRANGE_REGISTER_REL:
			if s, e, ok := rangeAt(d + 8); ok {
				addLoc(VarLocation{Kind: "regrel", Register: r.u16(d), Offset: r.i32(d + 4), Start: s, End: e})
			}
		}
		if r.bad {
			break
		}
		o = next
	}
	return proc
}

// basePointer decodes a 2-bit S_FRAMEPROC frame pointer code.
func basePointer(code uint32, x86 bool) uint16 {
	if x86 {
		switch code {
		case 2:
			return cvRegEBP
		case 3:
			return cvRegEBX
		}
		return 0
	}
	switch code {
	case 1:
		return cvAMD64RSP
	case 2:
		return cvAMD64RBP
	case 3:
		return cvAMD64R13
	}
	return 0
}
