package locals

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		size int
		want Class
		unit int
	}{
		// PDB spellings (TPI).
		{"unsigned int", 4, Unsigned, 0},
		{"unsigned __int64", 8, Unsigned, 0},
		{"__int64", 8, Signed, 0},
		{"int", 4, Signed, 0},
		{"unsigned long", 4, Unsigned, 0},
		{"char const *", 8, CharPointer, 1},
		{"wchar_t const *", 8, CharPointer, 2},
		{"char * *", 8, Pointer, 0},
		{"void *", 8, Pointer, 0},
		{"request *", 8, Pointer, 0},
		{"char volatile[5000]", 5000, CharArray, 1},
		{"char[1024]", 1024, CharArray, 1},
		{"void *[3]", 24, Unknown, 0},
		{"bool", 1, Bool, 0},
		{"float", 4, Float, 0},
		{"double", 8, Float, 0},
		{"HRESULT", 4, Signed, 0},
		{"request", 48, Unknown, 0},
		{"_MEMORYSTATUSEX", 64, Unknown, 0},
		// DWARF base spellings (typedefs resolved by the reader).
		{"long long unsigned int", 8, Unsigned, 0},
		{"short unsigned int", 2, Unsigned, 0},
		{"char *", 8, CharPointer, 1},
		{"const char *", 8, CharPointer, 1},
		{"char **", 8, Pointer, 0},
		{"_Bool", 1, Bool, 0},
		{"enum color", 4, Signed, 0},
		{"wchar_t", 2, Unsigned, 0},
		{"char", 1, Signed, 0},
		{"int &", 8, Pointer, 0},
		// Sizes that contradict the type are not decoded.
		{"int", 3, Unknown, 0},
		{"void *", 2, Unknown, 0},
		{"bool", 4, Unknown, 0},
		{"long double", 10, Unknown, 0},
		{"", 4, Unknown, 0},
		{"?", 8, Unknown, 0},
	} {
		c, u := Classify(tt.typ, tt.size)
		if c != tt.want || u != tt.unit {
			t.Errorf("Classify(%q, %d) = %d, %d; want %d, %d", tt.typ, tt.size, c, u, tt.want, tt.unit)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		c    Class
		unit int
		b    []byte
		want string
	}{
		// load_texture_cache's entries in the heap_nomem dumps.
		{Unsigned, 0, []byte{0x19, 0xc7, 0x9b, 0x03}, "0x039bc719 (60540697)"},
		{Unsigned, 0, []byte{0x90, 0x71, 0xbc, 0x39, 0, 0, 0, 0}, "0x0000000039bc7190 (968651152)"},
		{Signed, 0, []byte{0xfb, 0xff, 0xff, 0xff}, "-5 (0xfffffffb)"},
		{Signed, 0, []byte{0x2a, 0, 0, 0}, "0x0000002a (42)"},
		{Signed, 0, []byte{0xff}, "-1 (0xff)"},
		{Unsigned, 0, []byte{1, 2, 3}, ""},
		{Bool, 0, []byte{0}, "false"},
		{Bool, 0, []byte{1}, "true"},
		{Bool, 0, []byte{7}, "0x07 (neither false nor true)"},
		{Float, 0, []byte{0, 0, 0xc0, 0x3f}, "1.5"},
		{Float, 0, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}, "1.5"},
		{Float, 0, []byte{0, 0}, ""},
		{Pointer, 0, []byte{0x20, 0x14, 0xb8, 0, 0, 0, 0, 0}, "0x0000000000b81420"},
		{Pointer, 0, []byte{0, 0, 0, 0}, "0x00000000 (null)"},
		{CharPointer, 1, []byte{0x44, 0xa4, 0, 0x40, 1, 0, 0, 0}, "0x000000014000a444"},
		{CharArray, 1, []byte("1+2\x00junk"), `"1+2"`},
		{CharArray, 2, []byte{'h', 0, 'i', 0, 0, 0}, `"hi"`},
		{CharArray, 1, []byte{0x01, 0x02, 0x03, 0x04}, ""},
		{Unknown, 0, []byte{1, 2, 3, 4}, ""},
	} {
		if got := Decode(tt.c, tt.unit, tt.b); got != tt.want {
			t.Errorf("Decode(%d, % x) = %q, want %q", tt.c, tt.b, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tt := range []struct {
		b    []byte
		unit int
		want string
		ok   bool
	}{
		{[]byte("Content-Type: text/plain\x00"), 1, `"Content-Type: text/plain"`, true},
		{[]byte("no terminator"), 1, `"no terminator"…`, true},
		{[]byte("tab\there\x00"), 1, `"tab\there"`, true},
		{[]byte("caf\xe9\x00"), 1, `"café"`, true}, // Latin-1
		{[]byte("\x00"), 1, `""`, true},
		{[]byte{}, 1, "", false},
		{[]byte{0x90, 0x71, 0xbc, 0x39, 0x01, 0x02, 0x00}, 1, "", false},
		{[]byte("\x1b[2J<script>\x00"), 1, `"\x1b[2J<script>"`, true},
		{[]byte{'a', 0, 0xa9, 0, 0, 0}, 2, `"a©"`, true},
		{[]byte("x"), 3, "", false},
	} {
		got, ok := Text(tt.b, tt.unit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Text(%q, %d) = %q, %v; want %q, %v", tt.b, tt.unit, got, ok, tt.want, tt.ok)
		}
	}
	long := strings.Repeat("a", 200)
	if got, _ := Text([]byte(long), 1); got != `"`+strings.Repeat("a", MaxString)+`"…` {
		t.Errorf("Text of 200 bytes = %q", got)
	}
}

func TestHex(t *testing.T) {
	if s, cut := Hex([]byte{0x19, 0xc7, 0x9b, 0x03}, 32); s != "19 c7 9b 03" || cut {
		t.Errorf("Hex = %q, %v", s, cut)
	}
	if s, cut := Hex(make([]byte, 40), 32); len(s) != 32*3-1 || !cut {
		t.Errorf("Hex of 40 bytes = %q, %v", s, cut)
	}
}

func TestRegisters(t *testing.T) {
	for _, tt := range []struct {
		id   uint16
		x86  bool
		want Register
		ok   bool
	}{
		{328, false, Register{0, 8, "rax"}, true},
		{329, false, Register{3, 8, "rbx"}, true},
		{330, false, Register{1, 8, "rcx"}, true},
		{334, false, Register{5, 8, "rbp"}, true},
		{335, false, Register{4, 8, "rsp"}, true},
		{336, false, Register{8, 8, "r8"}, true},
		{343, false, Register{15, 8, "r15"}, true},
		{360, false, Register{8, 4, "r8d"}, true},
		{352, false, Register{8, 2, "r8w"}, true},
		{351, false, Register{15, 1, "r15b"}, true},
		{325, false, Register{7, 1, "dil"}, true},
		{18, false, Register{1, 4, "ecx"}, true},
		{22, true, Register{5, 4, "ebp"}, true},
		{21, true, Register{4, 4, "esp"}, true},
		{10, true, Register{1, 2, "cx"}, true},
		{1, true, Register{0, 1, "al"}, true},
		{328, true, Register{}, false},
		{154, false, Register{}, false}, // CV_AMD64_XMM0
		{0, false, Register{}, false},
	} {
		got, ok := CVRegister(tt.id, tt.x86)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CVRegister(%d, %v) = %+v, %v", tt.id, tt.x86, got, ok)
		}
	}
	for _, tt := range []struct {
		n    int
		x86  bool
		want string
	}{{0, false, "rax"}, {1, false, "rdx"}, {2, false, "rcx"}, {6, false, "rbp"}, {7, false, "rsp"}, {15, false, "r15"},
		{5, true, "ebp"}, {4, true, "esp"}} {
		if r, ok := DWARFRegister(tt.n, tt.x86); !ok || r.Name != tt.want || RegisterName(r.Index, tt.x86) != tt.want {
			t.Errorf("DWARFRegister(%d, %v) = %+v", tt.n, tt.x86, r)
		}
	}
	for _, n := range []int{-1, 16, 17, 100} {
		if _, ok := DWARFRegister(n, false); ok {
			t.Errorf("DWARFRegister(%d) mapped", n)
		}
	}
	for _, tt := range []struct {
		off  int64
		want string
	}{{0, "rsp"}, {0x24, "rsp+0x24"}, {-0x18, "rsp-0x18"}} {
		if got := Offset("rsp", tt.off); got != tt.want {
			t.Errorf("Offset(%d) = %q", tt.off, got)
		}
	}
}

// FuzzDecode: any type name and bytes decode without panic, and a string
// shown is bounded and valid UTF-8.
func FuzzDecode(f *testing.F) {
	f.Add("char const *", []byte{0x44, 0xa4, 0, 0x40, 1, 0, 0, 0})
	f.Add("wchar_t[4]", []byte{'a', 0, 0xff, 0xd8, 0, 0})
	f.Add("unsigned int", []byte{0x19, 0xc7, 0x9b, 0x03})
	f.Add("enum e", []byte{1})
	f.Fuzz(func(t *testing.T, typ string, b []byte) {
		c, u := Classify(typ, len(b))
		s := Decode(c, u, b)
		if !utf8.ValidString(s) {
			t.Fatalf("Decode gave invalid UTF-8 %q", s)
		}
		for _, unit := range []int{1, 2} {
			if s, ok := Text(b, unit); ok && (len(s) > 12*MaxString+8 || !utf8.ValidString(s)) {
				t.Fatalf("Text = %q", s)
			}
		}
	})
}
