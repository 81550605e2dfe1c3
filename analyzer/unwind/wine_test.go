package unwind

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

var update = flag.Bool("update", false, "rewrite golden files (runs llvm-symbolizer)")

type selfFrame struct {
	PC, SP, Module string
}

type wineCase struct {
	dump      string // path
	exeDir    string
	expected  []string
	addrs     map[string]uint64
	selfWalk  []selfFrame
	recursion int
}

// wineCases lists every x64 Wine dump with the facts its program recorded.
func wineCases(t testing.TB) []wineCase {
	root := filepath.Join(sharedTestdata(t), "wine", "dumps")
	facts, _ := filepath.Glob(filepath.Join(root, "*", "facts.json"))
	if len(facts) < 5 {
		t.Fatalf("found %d facts.json under %s", len(facts), root)
	}
	var out []wineCase
	for _, fp := range facts {
		var f struct {
			Runs map[string]struct {
				DumpSets map[string]struct {
					ProgramFacts map[string]json.RawMessage `json:"program_facts"`
					Dumps        []struct {
						File string `json:"file"`
					} `json:"dumps"`
				} `json:"dump_sets"`
			} `json:"runs"`
		}
		b, err := os.ReadFile(fp)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", fp, err)
		}
		for _, run := range f.Runs {
			for _, ds := range run.DumpSets {
				pf := ds.ProgramFacts
				c := wineCase{exeDir: filepath.Dir(fp), addrs: map[string]uint64{}}
				json.Unmarshal(pf["expected_crash_stack_functions"], &c.expected)
				json.Unmarshal(pf["crash_stack_self_walk"], &c.selfWalk)
				json.Unmarshal(pf["recursion_depth_at_overflow"], &c.recursion)
				for k, v := range pf {
					if name, ok := strings.CutPrefix(k, "addr_"); ok {
						var s string
						json.Unmarshal(v, &s)
						a, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
						if err == nil {
							c.addrs[name] = a
						}
					}
				}
				for _, d := range ds.Dumps {
					if strings.HasSuffix(d.File, ".dmp") {
						c.dump = filepath.Join(c.exeDir, d.File)
						out = append(out, c)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dump < out[j].dump })
	return out
}

func wineModules(t testing.TB, d *minidump.Dump, exeDir string) testModules {
	return dumpModules(t, d, "", exeDir, filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64"))
}

func walkException(t testing.TB, d *minidump.Dump, ms testModules) []Frame {
	t.Helper()
	if d.Exception == nil || d.Exception.Context == nil || d.Exception.Context.AMD64 == nil {
		t.Fatal("no amd64 exception context")
	}
	return WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d)})
}

func hexval(s string) uint64 {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	return v
}

// TestWineSelfWalk compares the crashing thread's frames with the in-process
// RtlVirtualUnwind walk each program recorded. That walk read the pushed RAX
// and RCX of ___chkstk_ms as frames 1 and 2 (wine/README.md); those two are
// skipped, and our frame 1 must be its frame 3.
func TestWineSelfWalk(t *testing.T) {
	for _, c := range wineCases(t) {
		t.Run(filepath.Base(c.dump), func(t *testing.T) {
			d := openDump(t, c.dump)
			ms := wineModules(t, d, c.exeDir)
			frames := walkException(t, d, ms)
			self := c.selfWalk
			want := self
			if len(self) > 3 && self[1].Module == "?" {
				want = append([]selfFrame{self[0]}, self[3:]...)
			}
			if len(frames) < len(want) {
				t.Fatalf("%d frames, the program's own walk has %d:\n%s", len(frames), len(want), formatFrames(ms, frames))
			}
			for i, w := range want {
				f := frames[i]
				if f.PC != hexval(w.PC) || f.SP != hexval(w.SP) {
					t.Errorf("frame %d: pc %#x sp %#x, want pc %s sp %s\n%s", i, f.PC, f.SP, w.PC, w.SP, formatFrames(ms, frames[:min(len(frames), len(want)+2)]))
					break
				}
			}
		})
	}
}

// TestWineGolden checks every crashing thread's frames (module+offset and
// trust) against testdata/wine_stacks.golden, whose function names come from
// llvm-symbolizer over the exes (DWARF or PDB) and Wine's DLLs, and checks
// that those names contain the program's expected_crash_stack_functions in
// order.
func TestWineGolden(t *testing.T) {
	golden := filepath.Join("testdata", "wine_stacks.golden")
	var got strings.Builder
	cases := wineCases(t)
	for _, c := range cases {
		d := openDump(t, c.dump)
		ms := wineModules(t, d, c.exeDir)
		frames := walkException(t, d, ms)
		fmt.Fprintf(&got, "# %s\n", filepath.Base(c.dump))
		got.WriteString(collapse(frameKeys(ms, frames)))
	}
	if *update {
		annotated := symbolize(t, got.String(), cases)
		if err := os.WriteFile(golden, []byte(annotated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if stripNames(string(want)) != got.String() {
		t.Errorf("frames differ from %s:\n%s", golden, lineDiff(stripNames(string(want)), got.String()))
	}
	checkExpectedFunctions(t, string(want), cases)
}

// frameKeys renders frames as "module+0xoff trust".
func frameKeys(ms testModules, frames []Frame) []string {
	var out []string
	for _, f := range frames {
		where := fmt.Sprintf("%#x", f.PC)
		if m := ms.ModuleAt(f.PC); m != nil {
			where = fmt.Sprintf("%s+%#x", m.Name(), f.PC-m.Base())
		}
		out = append(out, where+" "+string(f.Trust))
	}
	return out
}

// collapse numbers the frames and folds runs of identical ones (recursion)
// into "first-last" ranges.
func collapse(keys []string) string {
	var b strings.Builder
	for i := 0; i < len(keys); {
		j := i
		for j+1 < len(keys) && keys[j+1] == keys[i] {
			j++
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d %s\n", i, j, keys[i])
		} else {
			fmt.Fprintf(&b, "%d %s\n", i, keys[i])
		}
		i = j + 1
	}
	return b.String()
}

// stripNames drops the " | function" column the golden adds.
func stripNames(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if i := strings.Index(l, " | "); i >= 0 {
			l = l[:i] + "\n"
		}
		b.WriteString(l)
	}
	return b.String()
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, a, c)
			if b.Len() > 4000 {
				break
			}
		}
	}
	return b.String()
}

var keyRE = regexp.MustCompile(`^(\d+(?:-\d+)?) (\S+)\+0x([0-9a-f]+) (\S+)$`)

// symbolize names each frame with llvm-symbolizer (return addresses minus
// one, so the call is what gets named).
func symbolize(t *testing.T, s string, cases []wineCase) string {
	dirs := map[string]string{}
	for _, c := range cases {
		dirs[filepath.Base(c.dump)] = c.exeDir
	}
	dlls := filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64")
	var b strings.Builder
	dir := ""
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if name, ok := strings.CutPrefix(l, "# "); ok {
			dir = dirs[name]
			b.WriteString(l + "\n")
			continue
		}
		m := keyRE.FindStringSubmatch(l)
		if m == nil {
			b.WriteString(l + "\n")
			continue
		}
		mod, off := m[2], hexval(m[3])
		if !strings.HasPrefix(m[1], "0 ") && m[1] != "0" {
			off--
		}
		obj := filepath.Join(dir, mod)
		if _, err := os.Stat(obj); err != nil {
			obj = filepath.Join(dlls, strings.ToLower(mod))
		}
		im := openImage(t, obj)
		name := "?"
		if im != nil {
			out, err := exec.Command("llvm-symbolizer", "--obj="+obj, fmt.Sprintf("%#x", im.ImageBase()+off)).Output()
			if err != nil {
				t.Fatalf("llvm-symbolizer: %v", err)
			}
			name = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
		b.WriteString(l + " | " + name + "\n")
	}
	return b.String()
}

// checkExpectedFunctions finds each dump's expected functions, in order,
// among the golden's names. Entries like "RtlAllocateHeap (ntdll)" or
// "A/B (ntdll)" name alternatives in a module; C++ names are compared up to
// their first '<' or '(' ; "...(recursion)" and descriptions are skipped.
func checkExpectedFunctions(t *testing.T, golden string, cases []wineCase) {
	byDump := map[string][]string{}
	counts := map[string]map[string]int{}
	cur := ""
	for _, l := range strings.Split(golden, "\n") {
		if name, ok := strings.CutPrefix(l, "# "); ok {
			cur = name
			counts[cur] = map[string]int{}
			continue
		}
		i := strings.Index(l, " | ")
		if i < 0 {
			continue
		}
		fn := l[i+3:]
		n := 1
		if r := strings.Fields(l)[0]; strings.Contains(r, "-") {
			a, _ := strconv.Atoi(strings.Split(r, "-")[0])
			b, _ := strconv.Atoi(strings.Split(r, "-")[1])
			n = b - a + 1
		}
		byDump[cur] = append(byDump[cur], strings.Fields(l)[1]+" "+fn)
		counts[cur][strings.Fields(l)[1]+" "+fn] += n
	}
	for _, c := range cases {
		name := filepath.Base(c.dump)
		fns := byDump[name]
		pos := 0
		for k, e := range c.expected {
			if strings.HasPrefix(e, "...") || (k == 0 && strings.Contains(e, "chkstk")) {
				continue
			}
			// "A/B (module...)": either name, or any function of that
			// module (Wine's msvcp140 names _Xbad_alloc's code _Xmem).
			alts := []string{e}
			mod := ""
			if i := strings.Index(e, " ("); i > 0 {
				alts = strings.Split(e[:i], "/")
				mod = strings.FieldsFunc(e[i+2:], func(r rune) bool { return r == '/' || r == ')' || r == ',' || r == ' ' })[0]
			}
			found := false
			for j := pos; j < len(fns) && !found; j++ {
				where, fn, _ := strings.Cut(fns[j], " ")
				for _, a := range alts {
					if shortName(fn) == shortName(a) || mod != "" && strings.HasPrefix(strings.ToLower(where), mod+".") {
						found, pos = true, j+1
						break
					}
				}
			}
			if !found {
				t.Errorf("%s: expected function %q not found in order among %q", name, e, fns)
				break
			}
		}
		if c.recursion > 0 {
			n := 0
			for fn, k := range counts[name] {
				if strings.HasSuffix(fn, " parse_expression") {
					n += k
				}
			}
			if n < c.recursion || n > c.recursion+2 {
				t.Errorf("%s: %d parse_expression frames, recursion depth was %d", name, n, c.recursion)
			}
		}
	}
}

// shortName reduces a C++ name to its qualified name: template arguments,
// the argument list and a return type are dropped.
func shortName(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '<':
			depth++
		case r == '>':
			depth--
		case r == '(' && depth == 0:
			f := strings.Fields(b.String())
			if len(f) == 0 {
				return ""
			}
			return f[len(f)-1]
		case depth == 0:
			b.WriteRune(r)
		}
	}
	f := strings.Fields(b.String())
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

var _ = bufio.NewReader
