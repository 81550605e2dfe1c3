// Package locals decodes the values of a frame's parameters and local
// variables from the bytes a dump holds, the way a debugger's `dv /t /v`
// shows them: integers, pointers, bool and floats by their type, and the
// text a char pointer or char array holds. It also names the CodeView and
// DWARF registers the debug information places variables in. The analyzer
// finds the variables (PDB S_LOCAL/S_REGREL32..., DWARF DW_AT_location) and
// reads the bytes; this package only turns bytes into text.
package locals

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Class is how a value of a type is shown.
type Class int

// Classes of types.
const (
	Unknown     Class = iota // bytes only
	Signed                   // two's complement integer (and enums)
	Unsigned                 // unsigned integer
	Bool                     // C++ bool / C _Bool
	Float                    // IEEE float or double
	Pointer                  // pointer or reference
	CharPointer              // pointer to char or wchar_t: the text is shown
	CharArray                // array of char or wchar_t: the text is shown
)

// MaxString bounds the characters of a string shown for a char pointer or
// char array.
const MaxString = 64

// normalize drops qualifiers and tag keywords and collapses spaces, so
// "const char *", "char const*" and "struct S" read as "char *" and "S".
func normalize(t string) string {
	t = strings.NewReplacer("*", " * ", "&", " & ", "[", " [").Replace(t)
	var out []string
	for _, w := range strings.Fields(t) {
		switch w {
		case "const", "volatile", "restrict", "__restrict", "struct", "class", "union", "__unaligned", "__ptr64":
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// charUnit returns the byte width of a character type, or 0.
func charUnit(t string) int {
	switch t {
	case "char", "signed char", "unsigned char", "char8_t", "__int8", "unsigned __int8":
		return 1
	case "wchar_t", "char16_t":
		return 2
	}
	return 0
}

var intWords = map[string]bool{"signed": true, "unsigned": true, "char": true, "short": true, "int": true,
	"long": true, "__int8": true, "__int16": true, "__int32": true, "__int64": true, "wchar_t": true,
	"char8_t": true, "char16_t": true, "char32_t": true, "HRESULT": true}

// Classify says how to show a value of type t (a C/C++ spelling with
// typedefs already resolved, as the PDB and DWARF readers give it) of size
// bytes. For CharPointer and CharArray, unit is the character's width.
func Classify(t string, size int) (c Class, unit int) {
	n := normalize(t)
	if strings.HasSuffix(n, "*") || strings.HasSuffix(n, "&") {
		if size != 4 && size != 8 {
			return Unknown, 0
		}
		pointee := strings.TrimSpace(strings.TrimRight(n, "*& "))
		if u := charUnit(pointee); u > 0 && strings.Count(n, "*")+strings.Count(n, "&") == 1 {
			return CharPointer, u
		}
		return Pointer, 0
	}
	if i := strings.IndexByte(n, '['); i > 0 && strings.HasSuffix(n, "]") {
		if u := charUnit(strings.TrimSpace(n[:i])); u > 0 && strings.Count(n, "[") == 1 {
			return CharArray, u
		}
		return Unknown, 0
	}
	switch n {
	case "bool", "_Bool":
		if size == 1 {
			return Bool, 0
		}
	case "float":
		if size == 4 {
			return Float, 0
		}
	case "double":
		if size == 8 {
			return Float, 0
		}
	}
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return Unknown, 0
	}
	if strings.HasPrefix(n, "enum ") {
		return Signed, 0
	}
	words := strings.Fields(n)
	if len(words) == 0 {
		return Unknown, 0
	}
	unsigned := false
	for _, w := range words {
		if !intWords[w] {
			return Unknown, 0
		}
		unsigned = unsigned || w == "unsigned"
	}
	switch n {
	case "wchar_t", "char8_t", "char16_t", "char32_t":
		unsigned = true
	}
	if unsigned {
		return Unsigned, 0
	}
	return Signed, 0
}

// Hex writes bytes as a debugger's `db` does, space-separated, at most max
// of them; cut says whether some were left out.
func Hex(b []byte, max int) (s string, cut bool) {
	if len(b) > max {
		b, cut = b[:max], true
	}
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = hex.AppendEncode(out, []byte{c})
	}
	return string(out), cut
}

// Decode shows the value of b, read for a variable of class c and unit
// (from Classify). It returns "" for Unknown or when b is too short.
// String text, for CharArray, comes from b itself; for CharPointer, the
// caller appends Text of what the pointer points at.
func Decode(c Class, unit int, b []byte) string {
	switch c {
	case Signed, Unsigned:
		if !intSize(len(b)) {
			return ""
		}
		u := le(b)
		hexs := "0x" + fmt.Sprintf("%0*x", 2*len(b), u)
		if c == Signed {
			shift := uint(64 - 8*len(b))
			if v := int64(u<<shift) >> shift; v < 0 {
				return strconv.FormatInt(v, 10) + " (" + hexs + ")"
			}
		}
		return hexs + " (" + strconv.FormatUint(u, 10) + ")"
	case Bool:
		if len(b) != 1 {
			return ""
		}
		switch b[0] {
		case 0:
			return "false"
		case 1:
			return "true"
		}
		return fmt.Sprintf("0x%02x (neither false nor true)", b[0])
	case Float:
		switch len(b) {
		case 4:
			return strconv.FormatFloat(float64(math.Float32frombits(uint32(le(b)))), 'g', -1, 32)
		case 8:
			return strconv.FormatFloat(math.Float64frombits(le(b)), 'g', -1, 64)
		}
	case Pointer, CharPointer:
		if len(b) != 4 && len(b) != 8 {
			return ""
		}
		p := fmt.Sprintf("0x%0*x", 2*len(b), le(b))
		if le(b) == 0 {
			p += " (null)"
		}
		return p
	case CharArray:
		if s, ok := Text(b, unit); ok {
			return s
		}
	}
	return ""
}

// PointerValue is the address a pointer's bytes hold.
func PointerValue(b []byte) uint64 { return le(b) }

// Text shows the characters of b (unit 1: bytes read as UTF-8 or Latin-1;
// unit 2: UTF-16LE) up to the first NUL and at most MaxString of them, as a
// quoted Go string literal, so that control characters and odd bytes are
// escaped rather than written raw. It refuses bytes that do not look like
// text: a pointer that is not to a string shows no string.
func Text(b []byte, unit int) (string, bool) {
	var rs []rune
	terminated := false
	switch unit {
	case 1:
		for i := 0; i < len(b) && len(rs) < MaxString; {
			if b[i] == 0 {
				terminated = true
				break
			}
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				r = rune(b[i]) // Latin-1
			}
			rs = append(rs, r)
			i += n
		}
	case 2:
		var us []uint16
		for i := 0; i+1 < len(b) && len(us) < MaxString; i += 2 {
			u := binary.LittleEndian.Uint16(b[i:])
			if u == 0 {
				terminated = true
				break
			}
			us = append(us, u)
		}
		rs = utf16.Decode(us)
	default:
		return "", false
	}
	printable := 0
	for _, r := range rs {
		if unicode.IsPrint(r) || r == '\t' || r == '\n' || r == '\r' {
			printable++
		}
	}
	// Mostly printable, or it is not text.
	if len(rs) > 0 && printable*4 < len(rs)*3 || len(rs) == 0 && !terminated {
		return "", false
	}
	s := strconv.Quote(string(rs))
	if !terminated {
		s += "…"
	}
	return s, true
}

func intSize(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 }

func le(b []byte) uint64 {
	var buf [8]byte
	copy(buf[:], b)
	return binary.LittleEndian.Uint64(buf[:])
}
