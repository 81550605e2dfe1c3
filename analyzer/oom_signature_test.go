package analyzer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestWineOOMSignatures checks, on the real Wine out-of-memory dumps with
// their symbols, that the signature reaches the application frame past the
// allocator and vector growth, and that both C++ ABIs' throws from operator
// new are headlined as std::bad_alloc.
func TestWineOOMSignatures(t *testing.T) {
	root := testdata.Path(t, "wine", "dumps")
	dlls := filepath.Join(root, "_wine_dlls", "x64")
	cases := []struct {
		glob, sig, thrown string
	}{
		// libstdc++'s operator new calls __cxa_throw itself (code 0x20474343).
		{"oom_vector/oom_vector_x64_*.dmp", "OOM | large | fill_vector", "std::bad_alloc"},
		// The MSVC-shaped operator new throws through msvcp140's _Xbad_alloc.
		{"oom_vector/oom_vector_msvcthrow_x64_*.dmp", "OOM | large | fill_vector", "class std::bad_alloc"},
		{"heap_nomem/heap_nomem_x64_*.dmp", "OOM | large | allocate_cache_block", ""},
	}
	n := 0
	for _, c := range cases {
		files, _ := filepath.Glob(filepath.Join(root, c.glob))
		if len(files) < 3 {
			t.Fatalf("%s: %d dumps", c.glob, len(files))
		}
		for _, path := range files {
			n++
			t.Run(filepath.Base(path), func(t *testing.T) {
				rep := analyzeFile(t, path, Options{SymbolPath: filepath.Dir(path) + ";" + dlls})
				if rep.Signature != c.sig {
					t.Errorf("signature %q, want %q\nnotes:\n  %s", rep.Signature, c.sig, strings.Join(rep.SignatureNotes, "\n  "))
				}
				if c.thrown == "" {
					return
				}
				if rep.Exception == nil || rep.Exception.ThrownType != c.thrown {
					t.Errorf("thrown type %+v, want %q", rep.Exception, c.thrown)
				}
				if d := rep.CrashInfo.Description; !strings.HasPrefix(d, "C++ exception: "+c.thrown) {
					t.Errorf("headline %q, want it to name %s", d, c.thrown)
				}
			})
		}
	}
	if n < 12 {
		t.Errorf("only %d dumps", n)
	}
}
