package analyzer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/locals"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/pdb"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// lldbVar is one line of lldb 14's `frame variable -L -T`.
type lldbVar struct {
	addr  uint64
	typ   string
	value string
}

var lldbVarLine = regexp.MustCompile(`^0x([0-9a-f]+): \(([^)]*)\) (\w+) = (.*)$`)

// readLLDBVars reads an lldb transcript of `frame select N` and `frame
// variable -L -T` into frame → name → variable.
func readLLDBVars(t *testing.T, path string) map[int]map[string]lldbVar {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]map[string]lldbVar{}
	frame := -1
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "(lldb) frame select "); ok {
			frame, _ = strconv.Atoi(n)
			out[frame] = map[string]lldbVar{}
			continue
		}
		if m := lldbVarLine.FindStringSubmatch(line); m != nil && frame >= 0 {
			a, _ := strconv.ParseUint(m[1], 16, 64)
			out[frame][m[3]] = lldbVar{addr: a, typ: m[2], value: m[4]}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no frames", path)
	}
	return out
}

func findLocal(f report.Frame, name string) *report.Local {
	for i := range f.Locals {
		if f.Locals[i].Name == name {
			return &f.Locals[i]
		}
	}
	return nil
}

// TestLocalsMatchLLDB: the heap_nomem dumps, with their PDB (clang
// -gcodeview: S_LOCAL + S_DEFRANGE_FRAMEPOINTER_REL) and with DWARF (gcc
// -O0: DW_OP_fbreg on DW_OP_call_frame_cfa), give every variable lldb 14
// lists at the same address with the same value; the variables of main's
// inner block, whose range does not cover the call, get no value. The
// element count of the founding OOM case, 60,540,697 = 0x039bc719, is
// load_texture_cache's entries.
func TestLocalsMatchLLDB(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps", "heap_nomem")
	symPath := dir + ";" + testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")
	for _, tt := range []struct {
		dump, source string
		outOfScope   []string
	}{
		{"heap_nomem_x64_pdb_aug", "pdb", []string{"buf", "i", "len"}},
		{"heap_nomem_x64_mingw_normal", "dwarf", []string{"buf", "i", "len"}},
	} {
		t.Run(tt.dump, func(t *testing.T) {
			rep := analyzeFile(t, filepath.Join(dir, tt.dump+".dmp"), Options{SymbolPath: symPath})
			want := readLLDBVars(t, filepath.Join("testdata", "locals", tt.dump+".lldb.txt"))
			frames := rep.CrashingThread.Frames
			checked := 0
			for k, vars := range want {
				if k >= len(frames) {
					t.Fatalf("frame %d missing", k)
				}
				for name, lv := range vars {
					l := findLocal(frames[k], name)
					if l == nil {
						t.Errorf("frame %d (%s): no %s", k, frames[k].Function, name)
						continue
					}
					if l.Source != tt.source {
						t.Errorf("%s: source %q", name, l.Source)
					}
					if slicesContain(tt.outOfScope, name) {
						// lldb's PDB reader ignores the S_DEFRANGE range.
						if l.Value != "" || l.Address != nil || !strings.Contains(l.Note, "not") {
							t.Errorf("%s out of its range has a value: %+v", name, *l)
						}
						continue
					}
					if l.Address == nil || uint64(*l.Address) != lv.addr {
						t.Errorf("frame %d %s: address %v, lldb %#x", k, name, l.Address, lv.addr)
					}
					if !valueAgrees(l.Value, lv.value) {
						t.Errorf("frame %d %s: value %q, lldb %q", k, name, l.Value, lv.value)
					}
					if l.Confidence != report.ConfidenceHigh {
						t.Errorf("frame %d %s: confidence %q", k, name, l.Confidence)
					}
					checked++
				}
			}
			if checked < 7 {
				t.Errorf("only %d variables checked", checked)
			}
			var entries *report.Local
			for _, f := range frames {
				if f.Function == "load_texture_cache" {
					entries = findLocal(f, "entries")
				}
			}
			if entries == nil || entries.Kind != report.VarParameter || entries.Type != "unsigned int" ||
				entries.Size != 4 || entries.Bytes != "19 c7 9b 03" || entries.Value != "0x039bc719 (60540697)" {
				t.Errorf("load_texture_cache entries = %+v", entries)
			}
			if tt.source != "dwarf" {
				return
			}
			// MinGW's CRT is optimized: DWARF 5 location lists. At the call
			// to main, ret is the constant 0xff and lpszCommandLine is not
			// live (llvm-dwarfdump's lists).
			for _, f := range frames {
				switch f.Function {
				case "mainCRTStartup":
					if l := findLocal(f, "ret"); l == nil || l.Value != "0x000000ff (255)" || l.Location != "constant (location list)" {
						t.Errorf("mainCRTStartup ret = %+v", l)
					}
				case "__tmainCRTStartup":
					if l := findLocal(f, "lpszCommandLine"); l == nil || l.Value != "" || !strings.Contains(l.Note, "not live") {
						t.Errorf("__tmainCRTStartup lpszCommandLine = %+v", l)
					}
				}
			}
		})
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// valueAgrees compares a decoded value with lldb's: decimal for integers,
// 0x%016x for pointers.
func valueAgrees(ours, lldb string) bool {
	if strings.HasPrefix(lldb, "0x") {
		return strings.HasPrefix(ours, lldb)
	}
	return strings.Contains(ours, "("+lldb+")")
}

// TestLocalsUncertain: the stack-overflow dumps. The mingw build faulted
// in parse_expression's prologue, before it stored its arguments: frame 0's
// values are low-confidence, and frame 1's are the real ones (depth 412,
// the recursion depth the program recorded). In the clang build the fault
// is in ___chkstk_ms, called before the S_DEFRANGE ranges begin: no value.
func TestLocalsUncertain(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps", "stack_overflow")
	symPath := dir + ";" + testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")
	rep := analyzeFile(t, filepath.Join(dir, "stack_overflow_x64_mingw_normal.dmp"), Options{SymbolPath: symPath})
	fr := rep.CrashingThread.Frames
	if len(fr) < 2 || fr[0].Function != "parse_expression" || fr[1].Function != "parse_expression" {
		t.Fatalf("frames %+v", fr[:min(2, len(fr))])
	}
	if d := findLocal(fr[0], "depth"); d == nil || d.Confidence != report.ConfidenceLow || !strings.Contains(d.Note, "prologue") {
		t.Errorf("frame 0 depth = %+v", d)
	}
	if d := findLocal(fr[1], "depth"); d == nil || d.Value != "0x0000019c (412)" || d.Confidence != report.ConfidenceHigh {
		t.Errorf("frame 1 depth = %+v", d)
	}
	if s := findLocal(fr[1], "text"); s == nil || !strings.HasSuffix(s.Value, `"1+2*(3-4)/5"`) {
		t.Errorf("frame 1 text = %+v", s)
	}

	rep = analyzeFile(t, filepath.Join(dir, "stack_overflow_x64_pdb_normal.dmp"), Options{SymbolPath: symPath})
	fr = rep.CrashingThread.Frames
	if len(fr) < 2 || fr[1].Function != "parse_expression" {
		t.Fatalf("frames %+v", fr[:min(2, len(fr))])
	}
	if len(fr[1].Locals) == 0 {
		t.Fatal("parse_expression has no locals")
	}
	for _, l := range fr[1].Locals {
		if l.Value != "" || !strings.Contains(l.Note, "not live") {
			t.Errorf("%s before its range: %+v", l.Name, l)
		}
	}
}

// TestLocalPlaces: where a variable is read from, and how sure that is, by
// the frame's trust and the location's kind (synthetic frames).
func TestLocalPlaces(t *testing.T) {
	a := &analysis{}
	var regs unwind.Regs
	regs.Set(5, 0x2000) // rbp
	regs.Set(1, 0x77)   // rcx
	proc := &pdb.Procedure{LocalBasePointer: 335, ParamBasePointer: 334}
	for _, tt := range []struct {
		name    string
		loc     pdb.VarLocation
		param   bool
		frame   int
		trust   report.Trust
		text    string
		addr    uint64
		inReg   bool
		conf    string
		noValue string
	}{
		{"framerel local on rsp", pdb.VarLocation{Kind: "framerel", Offset: 0x24}, false, 1, report.TrustCFI, "rsp+0x24", 0x1024, false, "high", ""},
		{"framerel param on rbp", pdb.VarLocation{Kind: "framerel", Offset: -0x18}, true, 1, report.TrustCFI, "rbp-0x18", 0x2000 - 0x18, false, "high", ""},
		{"scanned frame", pdb.VarLocation{Kind: "regrel", Register: 335, Offset: 8}, false, 3, report.TrustScan, "rsp+0x8", 0x1008, false, "low", ""},
		{"frame-pointer frame", pdb.VarLocation{Kind: "bprel", Register: 334, Offset: 16}, false, 2, report.TrustFramePointer, "rbp+0x10", 0x2010, false, "medium", ""},
		{"register in frame 0", pdb.VarLocation{Kind: "register", Register: 330}, false, 0, report.TrustContext, "rcx", 0, true, "high", ""},
		{"32-bit register", pdb.VarLocation{Kind: "register", Register: 18}, false, 0, report.TrustContext, "ecx", 0, true, "high", ""},
		{"xmm register", pdb.VarLocation{Kind: "register", Register: 154}, false, 0, report.TrustContext, "register 154", 0, false, "", "does not track"},
		{"piece in a register", pdb.VarLocation{Kind: "register", Register: 330, Offset: 4}, false, 0, report.TrustContext, "rcx (bytes from 4)", 0, false, "", "piece"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf := localFrame{index: tt.frame, regs: &regs, sp: 0x1000, trust: tt.trust, ptrSize: 8}
			p := a.pdbPlace(proc, tt.loc, tt.param, lf)
			if p.text != tt.text || p.inReg != tt.inReg || p.conf != tt.conf || (tt.addr != 0 && (p.addr != tt.addr || !p.addrOK)) ||
				!strings.Contains(p.whyNoVal, tt.noValue) || (tt.noValue == "") != (p.whyNoVal == "") {
				t.Errorf("place = %+v", p)
			}
		})
	}
	// A register variable outside frame 0 gets no value.
	var l report.Local
	a.readValue(&l, "int", place{text: "rcx", inReg: true, reg: mustCV(t, 330), conf: "high"}, localFrame{index: 2, regs: &regs, ptrSize: 8}, new(int))
	if l.Value != "" || l.Bytes != "" || !strings.Contains(l.Note, "only in frame 0") {
		t.Errorf("register local in frame 2: %+v", l)
	}
	// In frame 0 it is read from the context, at the variable's size.
	l = report.Local{Size: 4}
	a.readValue(&l, "int", place{text: "rcx", inReg: true, reg: mustCV(t, 330), conf: "high"}, localFrame{index: 0, regs: &regs, ptrSize: 8}, new(int))
	if l.Value != "0x00000077 (119)" || l.Bytes != "77 00 00 00" || l.Confidence != "high" {
		t.Errorf("register local in frame 0: %+v", l)
	}
	// rbp not recovered: no address.
	lf := localFrame{index: 1, regs: &unwind.Regs{}, sp: 0x1000, trust: report.TrustCFI, ptrSize: 8}
	if p := a.pdbPlace(proc, pdb.VarLocation{Kind: "framerel", Offset: 8}, true, lf); p.addrOK || !strings.Contains(p.how, "not recovered") {
		t.Errorf("rbp unknown: %+v", p)
	}
}

func mustCV(t *testing.T, id uint16) locals.Register {
	t.Helper()
	r, ok := locals.CVRegister(id, false)
	if !ok {
		t.Fatalf("CVRegister(%d)", id)
	}
	return r
}

// TestLocalsMSVC: MSVC PDBs of the public corpus. sigsegv.dmp (x64,
// S_REGREL32 on rsp): crash_self is true at rsp+0x30, as lldb 14 reads it
// (testdata/locals/sigsegv.lldb.txt). mini.dmp (x86, S_LOCAL with two
// S_DEFRANGE_REGISTER_REL): argc is esp+0xd0 on main's first byte only and
// ebp+0xd4 over the body, where frame 0 stopped.
func TestLocalsMSVC(t *testing.T) {
	sig := testdata.Path(t, "public", "llvm-mirror__lldb", "test", "Shell", "Minidump", "Windows", "Sigsegv", "Inputs")
	mini := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows")
	lldb := readLLDBVars(t, filepath.Join("testdata", "locals", "sigsegv.lldb.txt"))
	for _, tt := range []struct {
		dump, symbols, function, name string
		location, value               string
		addr                          uint64 // 0: no oracle
	}{
		{filepath.Join(sig, "sigsegv.dmp"), sig, "crash", "crash_self", "rsp+0x30", lldb[0]["crash_self"].value, lldb[0]["crash_self"].addr},
		{filepath.Join(mini, "mini.dmp"), mini, "main", "argc", "ebp+0xd4", "0x00000001 (1)", 0},
	} {
		rep := analyzeFile(t, tt.dump, Options{SymbolPath: tt.symbols})
		f := rep.CrashingThread.Frames[0]
		l := findLocal(f, tt.name)
		if f.Function != tt.function || l == nil {
			t.Fatalf("%s: frame 0 %s has no %s: %+v", tt.dump, f.Function, tt.name, f.Locals)
		}
		if l.Location != tt.location || l.Value != tt.value || l.Source != "pdb" || l.Confidence != report.ConfidenceHigh ||
			l.Kind != report.VarParameter {
			t.Errorf("%s: %s = %+v, want %s = %s", tt.dump, tt.name, *l, tt.location, tt.value)
		}
		if tt.addr != 0 && (l.Address == nil || uint64(*l.Address) != tt.addr) {
			t.Errorf("%s: %s at %v, lldb %#x", tt.dump, tt.name, l.Address, tt.addr)
		}
	}
}

// TestLocalsVectorGrowth: the founding OOM case as libstdc++ builds it
// (oom_vector, MinGW DWARF). _M_realloc_insert, libstdc++'s counterpart of
// MSVC's _Emplace_reallocate, holds the new capacity in __len and the old
// size in __elems_before; allocate's __n is the element count lldb shows.
// The program's own facts are the truth.
func TestLocalsVectorGrowth(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps", "oom_vector")
	raw, err := os.ReadFile(filepath.Join(dir, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var facts struct {
		Runs map[string]struct {
			DumpSets map[string]struct {
				ProgramFacts struct {
					Count    uint64 `json:"requested_element_count"`
					Capacity uint64 `json:"vector_capacity_at_throw"`
				} `json:"program_facts"`
			} `json:"dump_sets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatal(err)
	}
	pf := facts.Runs["oom_vector_x64_mingw"].DumpSets["oom_vector_x64_mingw"].ProgramFacts
	if pf.Count == 0 || pf.Capacity == 0 {
		t.Fatalf("facts: %+v", pf)
	}
	dec := func(n uint64) string { return "(" + strconv.FormatUint(n, 10) + ")" }
	rep := analyzeFile(t, filepath.Join(dir, "oom_vector_x64_mingw_normal.dmp"),
		Options{SymbolPath: dir + ";" + testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")})
	want := map[string]map[string]string{
		"std::__new_allocator<Entry16>::allocate": {"__n": dec(pf.Count)},
		"std::vector<Entry16, std::allocator<Entry16> >::_M_realloc_insert<const Entry16&>": {
			"__len": dec(pf.Count), "__elems_before": dec(pf.Capacity)},
	}
	found := 0
	for _, f := range rep.CrashingThread.Frames {
		for name, v := range want[f.Function] {
			l := findLocal(f, name)
			if l == nil || !strings.HasSuffix(l.Value, v) || l.Confidence != report.ConfidenceHigh {
				t.Errorf("%s %s = %+v, want %s", f.Function, name, l, v)
			}
			found++
		}
	}
	if found != 3 {
		t.Errorf("%d of 3 variables found", found)
	}
}
