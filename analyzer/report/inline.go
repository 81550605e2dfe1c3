package report

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// InlineFrame is one inlined call at a frame's address, written as
// minidump-stackwalk writes frames[].inlines[]: function, and file and
// line (null when unknown).
type InlineFrame struct {
	Function string
	File     string
	Line     int
}

type inlineJSON struct {
	Function string  `json:"function"`
	File     *string `json:"file"`
	Line     *int    `json:"line"`
}

// MarshalJSON writes absent file and line as null.
func (f InlineFrame) MarshalJSON() ([]byte, error) { return appendInline(nil, f), nil }

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *InlineFrame) UnmarshalJSON(b []byte) error {
	var j inlineJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = InlineFrame{Function: j.Function}
	if j.File != nil {
		f.File = *j.File
	}
	if j.Line != nil {
		f.Line = *j.Line
	}
	return nil
}

func appendInline(b []byte, f InlineFrame) []byte {
	b = append(b, `{"function":`...)
	b = appendJSONString(b, f.Function)
	b = append(b, `,"file":`...)
	b = appendNullString(b, f.File)
	b = append(b, `,"line":`...)
	if f.Line > 0 {
		b = strconv.AppendInt(b, int64(f.Line), 10)
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// appendInlines writes null for none, as minidump-stackwalk does.
func appendInlines(b []byte, fs []InlineFrame) []byte {
	if len(fs) == 0 {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInline(b, f)
	}
	return append(b, ']')
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
