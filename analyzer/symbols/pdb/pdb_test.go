package pdb

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// sharedTestdata is the shared test data directory (../shared/testdata).
func sharedTestdata(t testing.TB) string { return testdata.Dir(t) }

// testPDBs maps golden file names to PDB paths (relative to the shared
// testdata, or "" for the gzipped fixture in testdata/).
var testPDBs = map[string]string{
	"crash":              "public/getsentry__symbolic/symbolic-testutils/fixtures/windows/crash.pdb",
	"sigsegv":            "public/llvm-mirror__lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.pdb",
	"av_threads_x64":     "wine/dumps/av_threads/av_threads_x64_pdb.pdb",
	"av_threads_x86":     "wine/dumps/av_threads/av_threads_x86_pdb.pdb",
	"heap_nomem_x64":     "wine/dumps/heap_nomem/heap_nomem_x64_pdb.pdb",
	"stack_overflow_x64": "wine/dumps/stack_overflow/stack_overflow_x64_pdb.pdb",
	"stack_overflow_x86": "wine/dumps/stack_overflow/stack_overflow_x86_pdb.pdb",
	"va_commit_x64":      "wine/dumps/va_commit/va_commit_x64_pdb.pdb",
	"oom_vector_x64":     "",
}

func readPDB(t testing.TB, name string) []byte {
	t.Helper()
	rel := testPDBs[name]
	if rel == "" {
		fh, err := os.Open("testdata/oom_vector_x64_pdb.pdb.gz")
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		zr, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := os.ReadFile(filepath.Join(sharedTestdata(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openPDB(t testing.TB, name string) *File {
	t.Helper()
	b := readPDB(t, name)
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	return f
}

func TestDebugID(t *testing.T) {
	tests := []struct{ name, want string }{
		{"crash", "3249D99D0C4049318610F4E4FB0B69361"},
		{"sigsegv", "7DD47A9FC2E8499AA78EC14AE2C965A21"},
		// facts.json exe_codeview guid + age
		{"av_threads_x64", "2F069843290D5E074C4C44205044422E1"},
	}
	for _, tt := range tests {
		if got := openPDB(t, tt.name).DebugID(); got != tt.want {
			t.Errorf("%s: DebugID() = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestLookupGolden checks Lookup against testdata/*.golden.tsv, written
// from llvm-pdbutil's symbols, publics and line tables by gen_golden.py.
func TestLookupGolden(t *testing.T) {
	for name := range testPDBs {
		t.Run(name, func(t *testing.T) {
			f := openPDB(t, name)
			fh, err := os.Open("testdata/" + name + ".golden.tsv")
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			n := 0
			for sc.Scan() {
				c := strings.Split(sc.Text(), "\t")
				if len(c) != 7 {
					t.Fatalf("bad golden line %q", sc.Text())
				}
				rva, _ := strconv.ParseUint(c[0], 16, 32)
				start, _ := strconv.ParseUint(c[2], 16, 32)
				size, _ := strconv.Atoi(c[3])
				line, _ := strconv.Atoi(c[5])
				want := Symbol{Name: displayName(c[1]), RawName: c[1], RVA: uint32(start), Size: uint32(size), File: c[4], Line: line, FromPublic: c[6] == "public"}
				got, ok := f.Lookup(uint32(rva))
				if want.FromPublic {
					want.Name = f.publicName(c[1])
					// Publics carry no line; the module's line table may still know it.
					got.File, got.Line = "", 0
				}
				got.Inlines = nil // checked against llvm-symbolizer in inline_test.go
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("Lookup(%#x)\n got %+v\nwant %+v", rva, got, want)
				}
				n++
			}
			if n == 0 {
				t.Fatal("empty golden file")
			}
		})
	}
}
