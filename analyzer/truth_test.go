package analyzer

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// wineCase is one dump of a Wine scenario with what its program knew.
type wineCase struct {
	path  string
	facts map[string]any
}

func wineCases(t *testing.T) []wineCase {
	root := testdata.Path(t, "wine", "dumps")
	files, _ := filepath.Glob(filepath.Join(root, "*", "facts.json"))
	var out []wineCase
	for _, fj := range files {
		var doc struct {
			Runs map[string]struct {
				DumpSets map[string]struct {
					ProgramFacts map[string]any `json:"program_facts"`
					Dumps        []struct {
						File string `json:"file"`
					} `json:"dumps"`
				} `json:"dump_sets"`
			} `json:"runs"`
		}
		b, err := os.ReadFile(fj)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, run := range doc.Runs {
			for _, ds := range run.DumpSets {
				for _, d := range ds.Dumps {
					out = append(out, wineCase{path: filepath.Join(filepath.Dir(fj), d.File), facts: ds.ProgramFacts})
				}
			}
		}
	}
	if len(out) < 37 {
		t.Fatalf("only %d Wine dumps listed", len(out))
	}
	return out
}

func factNum(v any) (uint64, bool) {
	switch x := v.(type) {
	case float64:
		return uint64(x), true
	case string:
		n, err := strconv.ParseUint(strings.TrimPrefix(x, "0x"), 16, 64)
		return n, err == nil
	}
	return 0, false
}

var templateRe = regexp.MustCompile(`<[^<>]*>`)

// expectedNames turns "std::__new_allocator<Entry16>::allocate" or
// "RtlRaiseException/RtlRaiseStatus (ntdll)" into the alternatives a frame
// name must contain.
func expectedNames(e string) []string {
	e = strings.SplitN(strings.SplitN(e, " (", 2)[0], "(", 2)[0]
	var out []string
	for _, alt := range strings.Split(e, "/") {
		for strings.Contains(alt, "<") {
			next := templateRe.ReplaceAllString(alt, "")
			if next == alt {
				break
			}
			alt = next
		}
		parts := strings.Split(strings.TrimSpace(alt), "::")
		out = append(out, parts[len(parts)-1])
	}
	return out
}

// inOrder reports whether each expected name appears in frames, in order.
// An empty expectation proves nothing, so it fails, as does a stack that
// ends before every expected name was found.
func inOrder(want [][]string, frames []report.Frame) bool {
	if len(want) == 0 {
		return false
	}
	k := 0
	for _, alts := range want {
		found := false
		for ; k < len(frames) && !found; k++ {
			for _, a := range alts {
				if a != "" && strings.Contains(frames[k].Module+"!"+frames[k].Function, a) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func unzstdTemp(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".zst"))
	w, _ := os.Create(out)
	if _, err := io.Copy(w, zr); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return out
}

// TestWineFacts checks each Wine dump against what its crashing program
// recorded: exception, crash thread, stack, allocation size, stack facts.
func TestWineFacts(t *testing.T) {
	dlls := testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")
	for _, c := range wineCases(t) {
		c := c
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			path := c.path
			if strings.HasSuffix(path, ".zst") {
				if testing.Short() {
					t.Skip("full dump")
				}
				path = unzstdTemp(t, path)
			}
			pf := c.facts
			rep := analyzeFile(t, path, Options{SymbolPath: filepath.Dir(c.path) + ";" + dlls})
			if rep.CrashingThread == nil {
				t.Fatal("no crashing thread")
			}
			if want, ok := factNum(pf["crash_thread_id"]); ok && uint64(rep.CrashingThread.ThreadID) != want {
				t.Errorf("crashing thread %d, want %d", rep.CrashingThread.ThreadID, want)
			}
			var want [][]string
			if exp, ok := pf["expected_crash_stack_functions"].([]any); ok {
				for _, e := range exp {
					s := e.(string)
					if !strings.HasPrefix(s, "...") && !strings.Contains(s, " or ") {
						want = append(want, expectedNames(s))
					}
				}
			}
			if !inOrder(want, rep.CrashingThread.Frames) {
				var got []string
				for _, f := range rep.CrashingThread.Frames {
					got = append(got, f.Module+"!"+f.Function)
				}
				t.Errorf("frames %v, want in order %v", got, want)
			}
			if req, ok := factNum(pf["requested_bytes"]); ok {
				af := rep.AllocationFailure
				if af == nil || af.RequestedBytes == nil || *af.RequestedBytes != req {
					t.Errorf("allocation failure %+v, want %d bytes", af, req)
				} else if n, ok := factNum(pf["requested_element_count"]); ok && af.ElementCount != nil && *af.ElementCount != n {
					t.Errorf("element count %d, want %d", *af.ElementCount, n)
				}
			}
			if pf["expected_crash_stack_innermost_user_function"] == "parse_expression" {
				so := rep.StackOverflow
				if so == nil {
					t.Fatal("no stack_overflow")
				}
				if r, _ := factNum(pf["pe_size_of_stack_reserve_bytes"]); so.StackReserveBytes == nil || *so.StackReserveBytes != r {
					t.Errorf("reserve %v, want %d", so.StackReserveBytes, r)
				}
				if b, _ := factNum(pf["crash_thread_teb_stack_base"]); so.StackBase == nil || uint64(*so.StackBase) != b {
					t.Errorf("stack base %v, want %#x", so.StackBase, b)
				}
				if so.Recursion == nil || !strings.Contains(strings.Join(so.Recursion.Frames, " "), "parse_expression") {
					t.Errorf("recursion %+v", so.Recursion)
				}
				w, _ := factNum(pf["dump_writer_thread_id"])
				ct, _ := factNum(pf["crash_thread_id"])
				if so.DumpedFromOther == nil || *so.DumpedFromOther != (w != ct) {
					t.Errorf("dumped from other thread %v, want %v", so.DumpedFromOther, w != ct)
				}
			}
		})
	}
}

// TestPublicFrames checks the crashing-thread frames the public sources recorded.
func TestPublicFrames(t *testing.T) {
	pub := testdata.Path(t, "public")
	bp := filepath.Join(pub, "google__breakpad", "src", "processor", "testdata")
	win := filepath.Join(pub, "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows")
	cases := []struct {
		name, file, symbols string
		functions           [][]string
		offsets             []uint64 // return addresses or call sites, in order
	}{
		{"breakpad minidump2", filepath.Join(bp, "minidump2.dmp"), filepath.Join(bp, "symbols"),
			[][]string{{"CrashFunction"}, {"main"}, {"__tmainCRTStartup"}, {"BaseProcessStart"}}, nil},
		{"sentry mini.dmp with crash.pdb", filepath.Join(win, "mini.dmp"), win,
			[][]string{{"main"}, {"__scrt_common_main_seh"}}, nil},
		{"lldb sigsegv with its pdb", filepath.Join(pub, "llvm-mirror__lldb", "test", "Shell", "Minidump", "Windows", "Sigsegv", "Inputs", "sigsegv.dmp"),
			filepath.Join(pub, "llvm-mirror__lldb", "test", "Shell", "Minidump", "Windows", "Sigsegv", "Inputs"), [][]string{{"main"}}, nil},
		{"lldb fizzbuzz", filepath.Join(pub, "llvm-mirror__lldb", "packages", "Python", "lldbsuite", "test", "functionalities", "postmortem", "minidump", "fizzbuzz_no_heap.dmp"), "",
			nil, []uint64{0x164d14, 0x167c79, 0x167e6d, 0x7510336a, 0x77759882, 0x77759855}},
		{"unity Player.log, Mono JIT frames last", filepath.Join(pub, "LYJ-Kerman__crash-log", "crash.dmp"), "",
			nil, []uint64{0x7FF9F4D221FD, 0x7FF9F4D1FED5, 0x7FF9F4F41279, 0x21E3438B78A, 0x21E3438B6FB, 0x21E3438B163}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := analyzeFile(t, c.file, Options{SymbolPath: c.symbols})
			frames := rep.CrashingThread.Frames
			if c.functions != nil && !inOrder(c.functions, frames) {
				var got []string
				for _, f := range frames {
					got = append(got, report.FrameText(f))
				}
				t.Errorf("frames %v, want %v", got, c.functions)
			}
			k := 0
			for _, want := range c.offsets {
				for k < len(frames) && uint64(frames[k].Offset) != want && uint64(frames[k].Offset) != want-1 {
					k++
				}
				if k == len(frames) {
					t.Errorf("no frame at %#x (or the call before it)", want)
					break
				}
				if want>>32 == 0x21e && frames[k].Module != "Mono JIT code" {
					t.Errorf("frame %#x in %q, want Mono JIT code", want, frames[k].Module)
				}
			}
		})
	}
}

func TestInOrder(t *testing.T) {
	frames := func(names ...string) []report.Frame {
		var fs []report.Frame
		for _, n := range names {
			fs = append(fs, report.Frame{Module: "m", Function: n})
		}
		return fs
	}
	want := [][]string{{"a"}, {"b", "B"}, {"c"}}
	for _, tt := range []struct {
		name   string
		want   [][]string
		frames []report.Frame
		ok     bool
	}{
		{"in order with gaps", want, frames("x", "a", "y", "B", "c"), true},
		{"empty stack", want, nil, false},
		{"truncated stack", want, frames("a", "b"), false},
		{"out of order", want, frames("a", "c", "b"), false},
		{"no expectation", nil, frames("a"), false},
		{"one frame for two names", [][]string{{"a"}, {"a"}}, frames("a"), false},
	} {
		if got := inOrder(tt.want, tt.frames); got != tt.ok {
			t.Errorf("%s: inOrder = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
