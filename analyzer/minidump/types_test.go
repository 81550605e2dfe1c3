package minidump

import (
	"path"
	"strings"
	"testing"
)

// FuzzBaseName checks baseName against what it replaces: path.Base of the
// name with backslashes turned into slashes.
func FuzzBaseName(f *testing.F) {
	for _, s := range []string{"", "/", `\`, `C:\Windows\System32\ntdll.dll`, "/usr/lib/libc.so.6", `a\b/`, `dir\\`, "x", `\\server\share\m.dll`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := baseName(s), path.Base(strings.ReplaceAll(s, `\`, "/")); got != want {
			t.Errorf("baseName(%q) = %q, want %q", s, got, want)
		}
	})
}
