package analyzer

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// directory reads a whole dump's stream directory: type, rva, size.
func directory(t *testing.T, b []byte) (out [][3]uint32) {
	t.Helper()
	n, rva := binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
	for i := uint32(0); i < n; i++ {
		e := b[rva+12*i:]
		if typ := binary.LittleEndian.Uint32(e); typ != 0 {
			out = append(out, [3]uint32{typ, binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[4:])})
		}
	}
	return out
}

// TestTruncatedDumps cuts real dumps short at several points and checks that
// the report says so: how much is there, what was lost, a signature of its
// own, advice about the damage rather than the dump flags, and no "." for a
// name the cut lost.
func TestTruncatedDumps(t *testing.T) {
	pub := testdata.Path(t, "public")
	wine := testdata.Path(t, "wine", "dumps")
	files := []string{
		filepath.Join(pub, "LYJ-Kerman__crash-log", "crash.dmp"), // Unity, the "." case
		filepath.Join(pub, "google__breakpad", "src", "processor", "testdata", "minidump2.dmp"),
		filepath.Join(pub, "rust-minidump__rust-minidump", "testdata", "stability-report.dmp"),
		filepath.Join(wine, "stack_overflow", "stack_overflow_x64_mingw_aug.dmp"),
		filepath.Join(wine, "oom_vector", "oom_vector_x64_mingw_rich.dmp"),
	}
	for _, path := range files {
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := directory(t, orig)
		whole := analyzeBytes(t, orig)
		if whole.Dump.Truncated != nil || strings.HasPrefix(whole.Signature, "corrupt dump") {
			t.Errorf("%s: the whole file is reported damaged: %+v %q", filepath.Base(path), whole.Dump.Truncated, whole.Signature)
		}
		hadException := whole.Exception != nil
		for _, frac := range []float64{0.02, 0.1, 0.3, 0.6, 0.95} {
			cut := max(int(float64(len(orig))*frac), 1000)
			cut = min(cut, len(orig)-1)
			t.Run(filepath.Base(path)+"/"+strconv.Itoa(cut), func(t *testing.T) {
				rep := analyzeBytes(t, orig[:cut])
				tr := rep.Dump.Truncated
				if tr == nil {
					t.Fatal("not reported as truncated")
				}
				if tr.PresentBytes != int64(cut) || tr.NeededBytes <= uint64(cut) || tr.NeededBytes > uint64(len(orig)) {
					t.Errorf("present %d (want %d), needed %d (want in (%d, %d])", tr.PresentBytes, cut, tr.NeededBytes, cut, len(orig))
				}
				var lost, short []string
				for _, s := range dir {
					name := streamName(whole, s[0], s[1])
					switch {
					case uint64(s[1]) >= uint64(cut):
						lost = append(lost, name)
					case uint64(s[1])+uint64(s[2]) > uint64(cut):
						short = append(short, name)
					}
				}
				slices.Sort(lost)
				slices.Sort(short)
				gotLost, gotCut := slices.Sorted(slices.Values(tr.LostStreams)), slices.Sorted(slices.Values(tr.CutStreams))
				if !slices.Equal(gotLost, lost) {
					t.Errorf("lost streams %v, want %v", gotLost, lost)
				}
				if len(short) > 0 && !slices.Equal(gotCut, short) {
					t.Errorf("cut streams %v, want %v", gotCut, short)
				}
				if rep.Signature != "corrupt dump | truncated" {
					t.Errorf("signature %q", rep.Signature)
				}
				if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "truncated") {
					t.Errorf("first warning %q", rep.Warnings)
				}
				exceptionLost := hadException && rep.Exception == nil
				sawDamage := false
				for _, m := range rep.Dump.Missing {
					if strings.Contains(m.Fix, "MINIDUMP_EXCEPTION_INFORMATION") && hadException {
						t.Errorf("advice to pass an exception record for a dump that had one: %+v", m)
					}
					if strings.Contains(m.What, "exception") && strings.Contains(m.What, "truncated file") {
						sawDamage = true
						if !strings.Contains(m.Fix, "upload the whole dump") {
							t.Errorf("advice %q", m.Fix)
						}
					}
				}
				if exceptionLost && !sawDamage {
					t.Errorf("the lost exception is not put down to the damage: %+v", rep.Dump.Missing)
				}
				checkNoDotNames(t, rep)
			})
		}
	}
}

// streamName names a directory entry as the report does.
func streamName(whole *report.Report, typ, rva uint32) string {
	for _, s := range whole.Dump.Streams {
		if s.Type == typ && uint32(s.Rva) == rva {
			return s.Name
		}
	}
	return ""
}

func analyzeBytes(t *testing.T, b []byte) *report.Report {
	t.Helper()
	rep, err := Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatalf("%d bytes: %v", len(b), err)
	}
	return rep
}

// checkNoDotNames: a name the dump lost is empty (shown as "(unknown)"),
// never path.Base's ".".
func checkNoDotNames(t *testing.T, rep *report.Report) {
	t.Helper()
	bad := func(s string) bool { return s == "." || s == "/" }
	if bad(rep.Process.Name) {
		t.Errorf("process name %q", rep.Process.Name)
	}
	if rep.Exception != nil && bad(rep.Exception.Module) {
		t.Errorf("exception module %q", rep.Exception.Module)
	}
	for _, m := range rep.Modules {
		if bad(m.Filename) {
			t.Errorf("module at %s named %q", m.BaseAddr, m.Filename)
			break
		}
	}
	for _, th := range rep.Threads {
		for _, f := range th.Frames {
			if bad(f.Module) {
				t.Errorf("frame module %q", f.Module)
				return
			}
		}
	}
}

// TestMalformedDumps: the malformed files in the shared data give a report
// or a clean error; a report with a cut directory has the damaged
// signature, and no name is ".".
func TestMalformedDumps(t *testing.T) {
	pub := testdata.Path(t, "public")
	var files []string
	filepath.WalkDir(pub, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".mdmp") || strings.HasPrefix(d.Name(), "invalid-") || strings.HasPrefix(d.Name(), "trunc_")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 5 {
		t.Fatalf("only %d malformed files", len(files))
	}
	damaged := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), Options{})
		if err != nil {
			continue
		}
		if rep.Dump.Truncated != nil {
			damaged++
			if rep.Signature != "corrupt dump | truncated" {
				t.Errorf("%s: truncated, signature %q", filepath.Base(p), rep.Signature)
			}
		}
		checkNoDotNames(t, rep)
	}
	if damaged < 3 {
		t.Errorf("only %d malformed files reported as truncated", damaged)
	}
}

// TestTruncatedFullDump cuts the full-memory dump inside its Memory64List
// data: every stream is whole, and only the memory is short.
func TestTruncatedFullDump(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses a 94 MB dump")
	}
	path := unzstdTemp(t, testdata.Path(t, "wine", "dumps", "av_threads", "av_threads_x64_mingw_full.dmp.zst"))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := len(orig) * 9 / 10
	rep := analyzeBytes(t, orig[:cut])
	tr := rep.Dump.Truncated
	if tr == nil || tr.NeededBytes != uint64(len(orig)) || len(tr.LostStreams) != 0 || !slices.Equal(tr.CutStreams, []string{"Memory64List memory"}) {
		t.Fatalf("truncation %+v, want only the memory cut, needing %d bytes", tr, len(orig))
	}
	if rep.Signature != "corrupt dump | truncated" || rep.CrashInfo.Type == "" {
		t.Errorf("signature %q, crash type %q", rep.Signature, rep.CrashInfo.Type)
	}
}
