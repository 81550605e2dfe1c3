package signature

import (
	"bufio"
	"encoding/json"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// wineDumps is ../shared/testdata/wine/dumps.
func wineDumps(t *testing.T) string { return testdata.Path(t, "wine", "dumps") }

var (
	lldbImage = regexp.MustCompile(`^\[\s*\d+\]\s+(?:\S+\s+)?0x([0-9a-f]+) (.+?)\s*$`)
	lldbFrame = regexp.MustCompile(`^\s*\*?\s*frame #(\d+): 0x([0-9a-f]+) (.*)$`)
	lldbAt    = regexp.MustCompile(` at [^ ]+:\d+(:\d+)?$`)
	lldbPlus  = regexp.MustCompile(` \+ \d+$`)
)

// lldbCrashFrames reads the crashing thread's frames (thread #1 of `bt all`)
// from an LLDB transcript, with module offsets from `image list`.
func lldbCrashFrames(t *testing.T, path string) []report.Frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bases := map[string]uint64{}
	var out []report.Frame
	state := 0 // 0 before bt all, 1 in bt all before thread #1, 2 in thread #1
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if m := lldbImage.FindStringSubmatch(l); m != nil && state == 0 {
			base, _ := strconv.ParseUint(m[1], 16, 64)
			name := m[2]
			if k := strings.LastIndexAny(name, `/\`); k >= 0 {
				name = name[k+1:]
			}
			bases[name] = base
			continue
		}
		switch {
		case strings.HasPrefix(l, "(lldb) bt all"):
			state = 1
		case state == 1 && strings.HasPrefix(l, "* thread #1"):
			state = 2
		case state == 2 && (strings.HasPrefix(l, "  thread #") || strings.HasPrefix(l, "(lldb)")):
			return out
		case state == 2:
			m := lldbFrame.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			pc, _ := strconv.ParseUint(m[2], 16, 64)
			mod, fn, _ := strings.Cut(m[3], "`")
			mod = strings.TrimSpace(mod)
			fn = lldbPlus.ReplaceAllString(lldbAt.ReplaceAllString(fn, ""), "")
			fr := report.Frame{Frame: n, Offset: report.Addr(pc), Module: mod, Function: fn}
			if b, ok := bases[mod]; ok {
				fr.ModuleOffset = report.Addr(pc - b)
			}
			out = append(out, fr)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wineInputs are the crash facts per program, from each scenario's
// facts.json and wine/README.md, and the signature each must get.
var wineInputs = map[string]struct {
	in   Input
	want string
}{
	"heap_nomem_x64_mingw": {Input{CrashType: "STATUS_NO_MEMORY", OOM: "large"}, "OOM | large | allocate_cache_block"},
	"heap_nomem_x64_pdb":   {Input{CrashType: "STATUS_NO_MEMORY", OOM: "large"}, "OOM | large | allocate_cache_block"},
	"oom_vector_x64_mingw": {Input{CrashType: "0x20474343", OOM: "large"},
		"OOM | large | fill_vector"},
	"oom_vector_msvcthrow_x64_mingw": {Input{CrashType: "0xe06d7363", OOM: "large"},
		"OOM | large | fill_vector"},
	"av_threads_x64_mingw":           {Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"}, "copy_field"},
	"av_threads_newthread_x64_mingw": {Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"}, "copy_field"},
	"av_threads_x64_pdb":             {Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"}, "copy_field"},
	"va_commit_x64_mingw":            {Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_WRITE"}, "init_frame_pool"},
	"va_commit_x64_pdb":              {Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_WRITE"}, "init_frame_pool"},
	"stack_overflow_x64_mingw":       {Input{CrashType: "EXCEPTION_STACK_OVERFLOW", StackOverflow: true}, "stackoverflow | parse_expression"},
	// LLDB cannot unwind out of ___chkstk_ms in these (wine/README.md), so
	// its stacks stop at the unnamed probe.
	"stack_overflow_x64_pdb":          {Input{CrashType: "EXCEPTION_STACK_OVERFLOW", StackOverflow: true}, "stackoverflow | stack_overflow_x64_pdb.exe@0x3f7b"},
	"stack_overflow_custom_x64_mingw": {Input{CrashType: "EXCEPTION_STACK_OVERFLOW", StackOverflow: true}, "stackoverflow | stack_overflow_custom_x64_mingw.exe@0x4566"},
}

var dumpKind = regexp.MustCompile(`_(normal|rich|aug|full)\.lldb\.txt$`)

// TestWineLLDBStacks computes signatures from LLDB's reading of every Wine
// dump's crashing thread: real names as a DWARF reader and Wine's exports
// give them, including the export misnaming of ntdll's raise_status.
func TestWineLLDBStacks(t *testing.T) {
	root := wineDumps(t)
	files, err := filepath.Glob(filepath.Join(root, "*", "*.lldb.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		base := filepath.Base(path)
		if strings.HasPrefix(base, "va_commit_probe") {
			continue
		}
		prog := dumpKind.ReplaceAllString(base, "")
		tc, ok := wineInputs[prog]
		if !ok {
			t.Errorf("%s: no expected signature for program %q", base, prog)
			continue
		}
		t.Run(base, func(t *testing.T) {
			in := tc.in
			in.Frames = lldbCrashFrames(t, path)
			if len(in.Frames) == 0 {
				t.Fatal("no frames for thread #1")
			}
			got, notes := Generate(in)
			if got != tc.want {
				t.Errorf("Generate() = %q, want %q\nnotes:\n  %s", got, tc.want, strings.Join(notes, "\n  "))
			}
		})
		n++
	}
	if n < 37 {
		t.Errorf("only %d transcripts", n)
	}
}

// TestWineSelfWalks computes signatures from the stacks the crashing programs
// walked themselves (facts.json crash_stack_self_walk, names from Wine's
// dbghelp; "?" where it had none).
func TestWineSelfWalks(t *testing.T) {
	root := wineDumps(t)
	want := map[string]string{
		"heap_nomem_x64_mingw": "OOM | large | allocate_cache_block",
		// Without names for __cxa_throw and operator new (Wine's dbghelp
		// reads no COFF symbols), the first exe frame ends the signature.
		"oom_vector_x64_mingw":           "OOM | large | oom_vector_x64_mingw.exe@0xde21",
		"oom_vector_msvcthrow_x64_mingw": "OOM | large | fill_vector",
		"av_threads_x64_mingw":           "copy_field",
		// Wine's dbghelp reads no PDB: the exe frames are unnamed.
		"av_threads_x64_pdb": "av_threads_x64_pdb.exe@0x1f1e",
		"heap_nomem_x64_pdb": "OOM | large | heap_nomem_x64_pdb.exe@0x1ee3",
		// The in-process walk read pushed registers as return addresses
		// (wine/README.md); the repeating frame is still found.
		"stack_overflow_x64_pdb":          "stackoverflow | stack_overflow_x64_pdb.exe@0x1ebf",
		"stack_overflow_custom_x64_mingw": "stackoverflow | parse_expression",
		"stack_overflow_x64_mingw":        "stackoverflow | parse_expression",
	}
	type walkFrame struct {
		Frame  int    `json:"frame"`
		PC     string `json:"pc"`
		Module string `json:"module"`
		RVA    string `json:"rva"`
		Symbol string `json:"symbol"`
	}
	var facts struct {
		Runs map[string]struct {
			DumpSets map[string]struct {
				ProgramFacts struct {
					Walk []walkFrame `json:"crash_stack_self_walk"`
				} `json:"program_facts"`
			} `json:"dump_sets"`
		} `json:"runs"`
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "facts.json"))
	seen := 0
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		facts.Runs = nil
		if err := json.Unmarshal(b, &facts); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for run, r := range facts.Runs {
			for set, ds := range r.DumpSets {
				if len(ds.ProgramFacts.Walk) == 0 || set != run {
					continue
				}
				w, ok := want[run]
				if !ok {
					continue
				}
				seen++
				in := wineInputs[run].in
				for _, wf := range ds.ProgramFacts.Walk {
					pc, _ := strconv.ParseUint(strings.TrimPrefix(wf.PC, "0x"), 16, 64)
					rva, _ := strconv.ParseUint(strings.TrimPrefix(wf.RVA, "0x"), 16, 64)
					f := report.Frame{Frame: wf.Frame, Offset: report.Addr(pc)}
					if wf.Module != "?" {
						f.Module, f.ModuleOffset = wf.Module, report.Addr(rva)
					}
					if wf.Symbol != "?" {
						f.Function, _, _ = strings.Cut(wf.Symbol, "+0x")
					}
					in.Frames = append(in.Frames, f)
				}
				got, notes := Generate(in)
				if got != w {
					t.Errorf("%s: Generate() = %q, want %q\nnotes:\n  %s", run, got, w, strings.Join(notes, "\n  "))
				}
			}
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d self walks, want %d", seen, len(want))
	}
}
