package minidump

import (
	"path"
	"strings"
	"testing"
	"unicode/utf16"
)

// FuzzBaseName checks baseName against what it replaces: path.Base of the
// name with backslashes turned into slashes, except that a name with no
// element is "", not "." or "/" (a truncated dump showed its process as ".").
func FuzzBaseName(f *testing.F) {
	for _, s := range []string{"", "/", `\`, `C:\Windows\System32\ntdll.dll`, "/usr/lib/libc.so.6", `a\b/`, `dir\\`, "x", `\\server\share\m.dll`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := path.Base(strings.ReplaceAll(s, `\`, "/"))
		if strings.Trim(s, `/\`) == "" {
			want = ""
		}
		if got := baseName(s); got != want {
			t.Errorf("baseName(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzUTF16 checks utf16le against the standard library's decoding, which
// it replaces for speed.
func FuzzUTF16(f *testing.F) {
	for _, s := range [][]byte{nil, {0}, {'a', 0, 'b', 0, 0, 0}, {0x3d, 0xd8, 0x00, 0xde}, {0x00, 0xd8, 'a', 0}, {0x00, 0xdc}, {0xe9, 0x00}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b) / 2
		for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
			n--
		}
		u := make([]uint16, n)
		for i := range u {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		if got, want := utf16le(b), string(utf16.Decode(u)); got != want {
			t.Errorf("utf16le(% x) = %q, want %q", b, got, want)
		}
	})
}
