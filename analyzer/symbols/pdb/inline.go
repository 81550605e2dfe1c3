package pdb

import "strings"

// Inline is one inlined call at an address: the inlined function and the
// place inside it.
type Inline struct {
	Name string
	File string // "" when unknown
	Line int    // 0 when unknown
}

// C13 DEBUG_S_INLINEELINES: where each inlinee's source starts.
const (
	debugSInlineeLines   = 0xF6
	inlineeSignatureEx   = 1 // CV_INLINEE_SOURCE_LINE_SIGNATURE_EX: extra file lists follow
	lfStringID           = 0x1605
	maxInlineesPerModule = 1 << 20
)

// inlineeSrc is an inlinee's entry in DEBUG_S_INLINEELINES: its file (a
// DEBUG_S_FILECHKSMS offset) and the line its source starts on, to which
// the sites' line annotations are relative.
type inlineeSrc struct {
	file uint32
	line uint32
}

// parseInlineeLines reads a DEBUG_S_INLINEELINES subsection: a signature,
// then InlineeSourceLine records (Inlinee, FileId, SourceLineNum, and with
// the _EX signature a count and list of extra file ids).
func (m *module) parseInlineeLines(d []byte) {
	r := le{b: d}
	sig := r.u32(0)
	if r.bad {
		return
	}
	if m.inlinees == nil {
		m.inlinees = map[uint32]inlineeSrc{}
	}
	for off := 4; off+12 <= len(d) && len(m.inlinees) < maxInlineesPerModule; {
		id, file, line := r.u32(off), r.u32(off+4), r.u32(off+8)
		off += 12
		if sig == inlineeSignatureEx {
			n := r.u32(off)
			if r.bad || uint64(n) > uint64(len(d)-off)/4 {
				return
			}
			off += 4 + 4*int(n)
		}
		if _, dup := m.inlinees[id]; !dup {
			m.inlinees[id] = inlineeSrc{file: file, line: line}
		}
	}
}

// fileName names a DEBUG_S_FILECHKSMS entry through /names, without
// caching, so lookups stay read-only on the module.
func (f *File) fileName(m *module, chkOff uint32) string {
	cr := le{b: m.chk}
	nameOff := cr.u32(int(chkOff))
	names := f.namesBuf()
	if cr.bad || nameOff >= uint32(len(names)) {
		return ""
	}
	return sanitizeName((&le{b: names}).cstr(int(nameOff)))
}

// inlineeName names an inlinee through the IPI stream: LF_FUNC_ID (with its
// scope, an LF_STRING_ID, as a qualifier) or LF_MFUNC_ID (with its class).
func (f *File) inlineeName(id uint32) string {
	kind, r, ok := f.ipi().rec(id)
	if !ok {
		return ""
	}
	name := sanitizeName(r.cstr(8))
	switch kind {
	case lfFuncID:
		if scope := r.u32(0); scope != 0 {
			if k, s, ok := f.ipi().rec(scope); ok && k == lfStringID {
				if q := scopeName(sanitizeName(s.cstr(4))); q != "" {
					name = q + "::" + name
				}
			}
		}
	case lfMFuncID:
		if cls, _ := f.typeInfo(r.u32(0), 0, &typeWork{budget: maxTypeWork}); cls != "" {
			name = cls + "::" + name
		}
	default:
		return ""
	}
	if r.bad {
		return ""
	}
	return name
}

// scopeName spells an LF_STRING_ID scope as a debugger does: MSVC names
// anonymous namespaces ?A0x<hash>, shown as `anonymous namespace'.
func scopeName(q string) string {
	if !strings.Contains(q, "?A0x") {
		return q
	}
	parts := strings.Split(q, "::")
	for i, p := range parts {
		if strings.HasPrefix(p, "?A0x") {
			parts[i] = "`anonymous namespace'"
		}
	}
	return strings.Join(parts, "::")
}

// inlinesAt lists the inline sites of procedure p that cover rva,
// outermost first. Sites nest in the symbol stream: a site's children
// follow it up to its S_INLINESITE_END, so once a site covers rva the search
// narrows to its children, and a site that does not is skipped whole.
func (f *File) inlinesAt(m *module, p *procEntry, rva uint32) []Inline {
	r := le{b: m.sym}
	off := int(p.off)
	end := int(r.u32(off + 8))
	if end <= off || end > len(m.sym) {
		end = len(m.sym)
	}
	target := rva - p.rva
	var out []Inline
	for o := off + 2 + int(r.u16(off)); o+4 <= end; {
		n := int(r.u16(o))
		kind := r.u16(o + 2)
		next := o + 2 + n
		if n < 2 || next > end {
			break
		}
		if kind == sINLINESITE || kind == sINLINESITE2 {
			siteEnd := int(r.u32(o + 8))
			if siteEnd <= o || siteEnd > end {
				siteEnd = end
			}
			ann := o + 16
			if kind == sINLINESITE2 {
				ann += 4 // invocations
			}
			inlinee := r.u32(o + 12)
			if ann <= next {
				if in, ok := f.siteAt(m, inlinee, m.sym[ann:next], target); ok {
					out = append(out, in)
					end = siteEnd
				} else {
					next = siteEnd
				}
			}
		}
		o = next
	}
	return out
}

// Binary annotation opcodes (BinaryAnnotationOpcode).
const (
	baCodeOffset = iota + 1
	baChangeCodeOffsetBase
	baChangeCodeOffset
	baChangeCodeLength
	baChangeFile
	baChangeLineOffset
	baChangeLineEndDelta
	baChangeRangeKind
	baChangeColumnStart
	baChangeColumnEndDelta
	baChangeCodeOffsetAndLineOffset
	baChangeCodeLengthAndCodeOffset
	baChangeColumnEnd
)

// annotations reads compressed binary annotations (CVCompressData).
type annotations struct {
	b   []byte
	bad bool
}

func (a *annotations) u() uint32 {
	if len(a.b) == 0 {
		a.bad = true
		return 0
	}
	b0 := uint32(a.b[0])
	switch {
	case b0&0x80 == 0:
		a.b = a.b[1:]
		return b0
	case b0&0xC0 == 0x80 && len(a.b) >= 2:
		v := (b0&0x3F)<<8 | uint32(a.b[1])
		a.b = a.b[2:]
		return v
	case b0&0xE0 == 0xC0 && len(a.b) >= 4:
		v := (b0&0x1F)<<24 | uint32(a.b[1])<<16 | uint32(a.b[2])<<8 | uint32(a.b[3])
		a.b = a.b[4:]
		return v
	}
	a.bad = true
	return 0
}

// signed decodes DecodeSignedInt32: the sign is the lowest bit.
func signed(v uint32) int32 {
	if v&1 != 0 {
		return -int32(v >> 1)
	}
	return int32(v >> 1)
}

// siteAt runs an inline site's binary annotations, which describe its code
// ranges (offsets from the procedure's start) with a line and file each,
// and returns the place covering target. A range opens at each code offset
// change and ends at the next, or where a code length says.
func (f *File) siteAt(m *module, inlinee uint32, b []byte, target uint32) (Inline, bool) {
	src := m.inlinees[inlinee]
	var (
		code      uint32
		line      = int64(src.line)
		file      = src.file
		open      bool
		openStart uint32
		openLine  int64
		openFile  uint32
	)
	found := func(l int64, fl uint32) (Inline, bool) {
		in := Inline{Name: f.inlineeName(inlinee), File: f.fileName(m, fl)}
		if l > 0 && l < 0xF00F00 {
			in.Line = int(l)
		}
		if in.Name == "" {
			in.Name = "(unknown)"
		}
		return in, true
	}
	// emit opens a range at code, closing the one open before it.
	emit := func() bool {
		if open && target >= openStart && target < code {
			return true
		}
		open, openStart, openLine, openFile = true, code, line, file
		return false
	}
	a := annotations{b: b}
	for len(a.b) > 0 && !a.bad {
		op := a.u()
		switch op {
		case 0: // padding to the record's end
			a.b = nil
		case baCodeOffset:
			code = a.u()
		case baChangeCodeOffsetBase:
			a.u()
		case baChangeCodeOffset:
			code += a.u()
			if emit() {
				return found(openLine, openFile)
			}
		case baChangeCodeLength:
			n := a.u()
			if open && target >= openStart && target-openStart < n {
				return found(openLine, openFile)
			}
			open = false
			code += n
		case baChangeFile:
			file = a.u()
		case baChangeLineOffset:
			line += int64(signed(a.u()))
		case baChangeLineEndDelta, baChangeRangeKind, baChangeColumnStart, baChangeColumnEnd:
			a.u()
		case baChangeColumnEndDelta:
			a.u()
		case baChangeCodeOffsetAndLineOffset:
			v := a.u()
			code += v & 0xF
			line += int64(signed(v >> 4))
			if emit() {
				return found(openLine, openFile)
			}
		case baChangeCodeLengthAndCodeOffset:
			n := a.u()
			code += a.u()
			if emit() {
				return found(openLine, openFile)
			}
			if target >= openStart && target-openStart < n {
				return found(openLine, openFile)
			}
			open = false
		default:
			a.bad = true
		}
	}
	return Inline{}, false
}
