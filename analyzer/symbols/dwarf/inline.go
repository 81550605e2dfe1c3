package dwarf

import "debug/dwarf"

// maxInlineDIEs bounds the DIEs read under one subprogram while looking for
// the inlined subroutines at an address.
const maxInlineDIEs = 1 << 16

// addInlines finds the DW_TAG_inlined_subroutine chain covering rva inside
// the subprogram fr: each level is a child (possibly through lexical
// blocks) of the level above whose ranges contain the address. Subtrees
// that do not contain it are skipped whole.
func (f *File) addInlines(sym *Symbol, fr *funcRange, lt *lineTable, rva uint64) {
	r := f.data.Reader()
	r.Seek(fr.die)
	e, err := r.Next()
	if err != nil || e == nil || !e.Children {
		return
	}
	pc := rva + f.imageBase
	type call struct {
		name       string
		file, line int64
	}
	var chain []call
	depth, read := 1, 0
	for depth > 0 && read < maxInlineDIEs {
		c, err := r.Next()
		read++
		if err != nil || c == nil {
			break
		}
		if c.Tag == 0 {
			depth--
			continue
		}
		switch c.Tag {
		case dwarf.TagInlinedSubroutine, dwarf.TagLexDwarfBlock:
			if !f.covers(c, pc) {
				if c.Children {
					r.SkipChildren()
				}
				continue
			}
			if c.Tag == dwarf.TagInlinedSubroutine {
				cl := call{}
				if ref, ok := c.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok {
					cl.name = f.resolve(ref, 0)
				}
				cl.file, _ = c.Val(dwarf.AttrCallFile).(int64)
				cl.line, _ = c.Val(dwarf.AttrCallLine).(int64)
				chain = append(chain, cl)
			}
		default:
			if c.Children {
				r.SkipChildren()
			}
			continue
		}
		if c.Children {
			depth++
		}
	}
	if len(chain) == 0 {
		return
	}
	callFile := func(i int64) string {
		if lt == nil || i < 0 || i >= int64(len(lt.byIndex)) {
			return ""
		}
		return lt.byIndex[i]
	}
	// The line table's place is the innermost call's; each call site
	// belongs to the level above it.
	innerFile, innerLine := sym.File, sym.Line
	sym.File, sym.Line = callFile(chain[0].file), int(chain[0].line)
	for i, cl := range chain {
		in := Inline{Name: cl.name}
		if in.Name == "" {
			in.Name = "(unknown)"
		}
		if i+1 < len(chain) {
			in.File, in.Line = callFile(chain[i+1].file), int(chain[i+1].line)
		} else {
			in.File, in.Line = innerFile, innerLine
		}
		sym.Inlines = append(sym.Inlines, in)
	}
}

// covers reports whether a DIE's address ranges contain pc.
func (f *File) covers(e *dwarf.Entry, pc uint64) bool {
	ranges, err := f.data.Ranges(e)
	if err != nil {
		return false
	}
	for _, rg := range ranges {
		if pc >= rg[0] && pc < rg[1] {
			return true
		}
	}
	return false
}
