package report

import "fmt"

// InlineFrame is one inlined call at a frame's address, written as
// minidump-stackwalk writes frames[].inlines[]: function, and file and
// line (null when unknown).
type InlineFrame struct {
	Function string `json:"function"`
	File     string `json:"file" dt:"null"`
	Line     int    `json:"line" dt:"null"`
}

// InlineText writes an inlined call as WinDbg's k does, without an
// offset: module!function [file @ line].
func InlineText(module string, f InlineFrame) string {
	s := f.Function
	if module != "" {
		s = module + "!" + s
	}
	if f.File != "" {
		s += fmt.Sprintf(" [%s @ %d]", f.File, f.Line)
	}
	return s
}
