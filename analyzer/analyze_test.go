package analyzer

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/mmapfile"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

var update = flag.Bool("update", false, "rewrite golden files")

func analyzeFile(t testing.TB, path string, opts Options) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := Analyze(context.Background(), f, st.Size(), opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

// corpus lists every dump in the shared test data.
func corpus(t testing.TB) []string {
	root := testdata.Dir(t)
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".dmp") || strings.HasSuffix(p, ".mdmp")) {
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 50 {
		t.Fatalf("only %d dumps found under %s", len(out), root)
	}
	return out
}

// TestCorpus analyzes every dump: each gives a report or a clear error, and
// the report survives a JSON round trip unchanged.
func TestCorpus(t *testing.T) {
	for _, p := range corpus(t) {
		name := strings.TrimPrefix(p, testdata.Dir(t))
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			rep, err := Analyze(context.Background(), f, st.Size(), Options{})
			if err != nil {
				if !strings.Contains(name, "fuzzed") && !strings.Contains(name, "invalid-") && !strings.Contains(name, "trunc_") {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if rep.SystemInfo.OS == "" || rep.SystemInfo.CPUArch == "" {
				t.Errorf("no OS/arch: %+v", rep.SystemInfo)
			}
			b1, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			// The generated encoder writes what reflection would, but for
			// padding addresses to the pointer width, which an unknown
			// arch turns off.
			type plainReport report.Report
			arch := rep.SystemInfo.CPUArch
			rep.SystemInfo.CPUArch = "?"
			b0 := rep.AppendJSON(nil)
			ref, _ := json.Marshal((*plainReport)(rep))
			rep.SystemInfo.CPUArch = arch
			if !bytes.Equal(b0, ref) {
				i := 0
				for i < len(b0) && i < len(ref) && b0[i] == ref[i] {
					i++
				}
				t.Errorf("AppendJSON differs from encoding/json at byte %d: %.80s vs %.80s", i, b0[i:], ref[i:])
			}
			var back report.Report
			if err := json.Unmarshal(b1, &back); err != nil {
				t.Fatal(err)
			}
			b2, _ := json.Marshal(&back)
			if !bytes.Equal(b1, b2) {
				t.Errorf("JSON round trip changed the report")
			}
			// A memory-mapped dump (the CLI's reader) gives the same report.
			m, err := mmapfile.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if mrep, err := Analyze(context.Background(), m, m.Size(), Options{}); err != nil {
				t.Errorf("mapped: %v", err)
			} else if mb := mrep.AppendJSON(nil); !bytes.Equal(mb, b1) {
				t.Errorf("the mapped dump gives a different report")
			}
			if rep.CrashingThread != nil && rep.CrashingThread.ThreadID != rep.Threads[rep.CrashingThread.ThreadsIndex].ThreadID {
				t.Errorf("crashing_thread does not match threads[threads_index]")
			}
		})
	}
}

// TestCrashReasons checks crash_info against what each source recorded.
func TestCrashReasons(t *testing.T) {
	bp := filepath.Join("public", "google__breakpad", "src", "processor", "testdata")
	cases := []struct {
		file, typ, addr, desc string
	}{
		{filepath.Join(bp, "minidump2.dmp"), "EXCEPTION_ACCESS_VIOLATION_WRITE", "0x45", "write of address 0x45"},
		// A sign-extended 32-bit address is truncated, as minidump-stackwalk does.
		{filepath.Join(bp, "minidump_32bit_crash_addr.dmp"), "EXCEPTION_ACCESS_VIOLATION_WRITE", "0x45", ""},
		{filepath.Join(bp, "null_read_av.dmp"), "EXCEPTION_ACCESS_VIOLATION_READ", "0x0", "read of address 0x0"},
		{filepath.Join(bp, "exec_av_on_stack.dmp"), "EXCEPTION_ACCESS_VIOLATION_EXEC", "0x3df944", "execute (DEP) of address 0x3df944"},
		{filepath.Join(bp, "write_av_non_canonical.dmp"), "EXCEPTION_ACCESS_VIOLATION_READ", "0xffffffffffffffff", ""},
		{filepath.Join(bp, "stack_exhaustion.dmp"), "EXCEPTION_STACK_OVERFLOW", "", "stack overflow"},
		{filepath.Join(bp, "tiny-exe-fastfail.dmp"), "STATUS_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT", "", ""},
		{filepath.Join("public", "rust-minidump__rust-minidump", "testdata", "invalid-parameter.dmp"), "STATUS_INVALID_PARAMETER", "", ""},
		{filepath.Join("public", "radareorg__radare2-testbins", "mdmp", "calc.dmp"), "EXCEPTION_BREAKPOINT", "", ""},
		{filepath.Join("wine", "dumps", "heap_nomem", "heap_nomem_x64_mingw_normal.dmp"), "STATUS_NO_MEMORY", "", "out of memory (STATUS_NO_MEMORY)"},
		{filepath.Join("wine", "dumps", "oom_vector", "oom_vector_msvcthrow_x64_mingw_rich.dmp"), "EXCEPTION_MSVC_CPP", "", ""},
		{filepath.Join("wine", "dumps", "va_commit", "va_commit_x64_mingw_normal.dmp"), "EXCEPTION_ACCESS_VIOLATION_WRITE", "0x40", "write of address 0x40"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			rep := analyzeFile(t, testdata.Path(t, c.file), Options{})
			ci := rep.CrashInfo
			if ci.Type != c.typ {
				t.Errorf("type %q, want %q", ci.Type, c.typ)
			}
			if c.addr != "" && (ci.Address == nil || ci.Address.String() != c.addr) {
				t.Errorf("address %v, want %s", ci.Address, c.addr)
			}
			if c.desc != "" && ci.Description != c.desc {
				t.Errorf("description %q, want %q", ci.Description, c.desc)
			}
		})
	}
}

// TestThreadNames: thread names from the ThreadNames stream.
func TestThreadNames(t *testing.T) {
	rep := analyzeFile(t, testdata.Path(t, "public", "rust-minidump__rust-minidump", "testdata", "stability-report.dmp"), Options{})
	names := map[uint32]string{}
	for _, th := range rep.Threads {
		if th.ThreadName != nil {
			names[th.ThreadID] = *th.ThreadName
		}
	}
	if names[0x3124] != "CrRendererMain" || names[0x4184] != "Compositor" {
		t.Errorf("thread names: %v", names)
	}
}

// TestNonWindows: Linux and macOS dumps at least report their OS and arch.
func TestNonWindows(t *testing.T) {
	for file, want := range map[string][2]string{
		"public/rust-minidump__rust-minidump/testdata/linux-mini.dmp":      {"Linux", "amd64"},
		"public/rust-minidump__rust-minidump/testdata/simple-crashpad.dmp": {"Mac OS X", "amd64"},
		"public/getsentry__symbolicator/tests/fixtures/macos-no-fp.dmp":    {"Mac OS X", "arm64"},
	} {
		rep := analyzeFile(t, testdata.Path(t, file), Options{})
		if rep.SystemInfo.OS != want[0] || rep.SystemInfo.CPUArch != want[1] {
			t.Errorf("%s: %s/%s, want %v", file, rep.SystemInfo.OS, rep.SystemInfo.CPUArch, want)
		}
	}
}

// TestCommitFigures: dumps with SystemMemoryInfo show commit total and limit.
func TestCommitFigures(t *testing.T) {
	rep := analyzeFile(t, testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata", "thread_name_list.dmp"), Options{})
	p := rep.Process
	if p.CommitTotalBytes == nil || p.CommitLimitBytes == nil || *p.CommitTotalBytes != 3116650*4096 || *p.CommitLimitBytes != 4852205*4096 {
		t.Errorf("commit figures: %+v", p)
	}
}

// TestGolden compares whole reports with reviewed golden files.
func TestGolden(t *testing.T) {
	bp := testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata")
	heap := testdata.Path(t, "wine", "dumps", "heap_nomem")
	cases := []struct {
		name, file string
		opts       Options
	}{
		{"minidump2-symbols", filepath.Join(bp, "minidump2.dmp"), Options{SymbolPath: filepath.Join(bp, "symbols")}},
		// With a PDB: frames[].locals.
		{"heap_nomem-pdb", filepath.Join(heap, "heap_nomem_x64_pdb_aug.dmp"),
			Options{SymbolPath: heap + ";" + testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := analyzeFile(t, c.file, c.opts)
			// Paths differ between machines.
			for i := range rep.Modules {
				for _, st := range []*report.FileStatus{rep.Modules[i].Image, rep.Modules[i].Symbols} {
					if st != nil {
						st.Source = filepath.Base(st.Source)
						st.Why = ""
					}
				}
			}
			got, _ := json.MarshalIndent(rep, "", "  ")
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				os.WriteFile(path, got, 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("report differs from %s; rerun with -update and review the diff", path)
			}
		})
	}
}

func BenchmarkAnalyzeCorpus(b *testing.B) {
	paths := corpus(b)
	cache := NewSymbolCache(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			f, _ := os.Open(p)
			st, _ := f.Stat()
			Analyze(context.Background(), f, st.Size(), Options{Symbols: cache})
			f.Close()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(paths)), "µs/dump")
}

// TestMappedDumpTruncated: a memory-mapped dump cut short while it is
// analyzed gives an error or a partial report, not a crash (the CLI sets
// SetPanicOnFault, as this test does).
func TestMappedDumpTruncated(t *testing.T) {
	src, err := os.ReadFile(testdata.Path(t, "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "crash.dmp")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := mmapfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	rep, err := Analyze(context.Background(), m, m.Size(), Options{})
	if err == nil && len(rep.Warnings) == 0 {
		t.Errorf("no error and no warnings from a dump truncated under the mapping")
	}
	if err != nil && !strings.Contains(err.Error(), "truncated while") {
		t.Errorf("error does not say what happened: %.200v", err)
	}
}
