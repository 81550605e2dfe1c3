package analyzer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// expectedMissing are rust-minidump keys the report does not write yet.
var expectedMissing = []string{}

// TestRustMinidumpSchema: for Breakpad's minidump2.dmp the report has every
// key minidump-stackwalk --json writes (rust-minidump's snapshots), and each
// value has the same form: a hex string of the same width, a number, a
// string, a bool, a list or an object (null matches anything: a value
// either tool may not know).
func TestRustMinidumpSchema(t *testing.T) {
	snaps := testdata.Path(t, "public", "rust-minidump__rust-minidump", "minidump-stackwalk", "tests", "snapshots")
	bp := testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata")
	for _, c := range []struct {
		snap string
		opts Options
	}{
		{"test_minidump_stackwalk__json-pretty.snap", Options{}},
		{"test_minidump_stackwalk__json-pretty-symbols.snap", Options{SymbolPath: filepath.Join(bp, "symbols")}},
	} {
		t.Run(c.snap, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(snaps, c.snap))
			if err != nil {
				t.Fatal(err)
			}
			var ref any
			if err := json.Unmarshal(text[strings.IndexByte(string(text), '{'):], &ref); err != nil {
				t.Fatal(err)
			}
			rep := analyzeFile(t, filepath.Join(bp, "minidump2.dmp"), c.opts)
			var ours any
			if err := json.Unmarshal(rep.AppendJSON(nil), &ours); err != nil {
				t.Fatal(err)
			}
			want, have := forms(ref, "", map[string]map[string]bool{}), forms(ours, "", map[string]map[string]bool{})
			if len(want) < 90 {
				t.Fatalf("only %d keys in %s", len(want), c.snap)
			}
			for k, wf := range want {
				hf, ok := have[k]
				if !ok {
					if !slices.Contains(expectedMissing, k) {
						t.Errorf("key %s missing", k)
					}
					continue
				}
				if slices.Contains(expectedMissing, k) {
					t.Errorf("key %s is there now: take it off expectedMissing", k)
				}
				for f := range wf {
					if f != "null" && !hf[f] && !hf["null"] {
						t.Errorf("%s: theirs is %s, ours %v", k, f, keys(hf))
					}
				}
				for f := range hf {
					if f != "null" && !wf[f] && !wf["null"] {
						t.Errorf("%s: ours is %s, theirs %v", k, f, keys(wf))
					}
				}
			}
		})
	}
}

var hexForm = regexp.MustCompile(`^0x[0-9a-f]+$`)

// forms maps each key path to the forms of its values.
func forms(v any, prefix string, out map[string]map[string]bool) map[string]map[string]bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := prefix + k
			if out[p] == nil {
				out[p] = map[string]bool{}
			}
			out[p][form(x)] = true
			forms(x, p+".", out)
		}
	case []any:
		for _, x := range v {
			forms(x, prefix+"[].", out)
		}
	}
	return out
}

func form(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if hexForm.MatchString(v) {
			return "hex" + string(rune('0'+len(v)-2)) // width, e.g. hex8
		}
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "list"
	}
	return "object"
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// TestLinuxMiniMatchesRustMinidump: on rust-minidump's linux-mini.dmp the
// crash instruction's analysis and the Linux and Mozilla streams say what
// minidump-stackwalk says (its snapshot): the memory access, the bit-flip
// candidate with its details and confidence, the map count, lsb-release and
// the writer's soft errors. The disassembly's wording differs (x86asm
// writes "dword ptr"), so the instruction is compared without it.
func TestLinuxMiniMatchesRustMinidump(t *testing.T) {
	root := testdata.Path(t, "public", "rust-minidump__rust-minidump")
	text, err := os.ReadFile(filepath.Join(root, "minidump-stackwalk", "tests", "snapshots", "test_minidump_stackwalk__linux_json_pretty.snap"))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]any
	if err := json.Unmarshal(text[strings.IndexByte(string(text), '{'):], &ref); err != nil {
		t.Fatal(err)
	}
	rep := analyzeFile(t, filepath.Join(root, "testdata", "linux-mini.dmp"), Options{})
	var ours map[string]any
	if err := json.Unmarshal(rep.AppendJSON(nil), &ours); err != nil {
		t.Fatal(err)
	}
	refCI, ourCI := ref["crash_info"].(map[string]any), ours["crash_info"].(map[string]any)
	for _, k := range []string{"address", "memory_accesses", "possible_bit_flips", "adjusted_address", "instruction_pointer_update", "crash_inconsistencies"} {
		if a, b := jsonOf(refCI[k]), jsonOf(ourCI[k]); a != b {
			t.Errorf("crash_info.%s: rust-minidump %s, ours %s", k, a, b)
		}
	}
	if got, _ := ourCI["instruction"].(string); strings.ReplaceAll(got, " ptr", "") != refCI["instruction"] {
		t.Errorf("instruction %q, rust-minidump %q", got, refCI["instruction"])
	}
	for _, k := range []string{"linux_memory_map_count", "lsb_release", "soft_errors", "proc_limits", "handles"} {
		if a, b := jsonOf(ref[k]), jsonOf(ours[k]); a != b {
			t.Errorf("%s: rust-minidump %s, ours %s", k, a, b)
		}
	}
	if a, b := jsonOf(ref["crashing_thread"].(map[string]any)["frames"].([]any)[0].(map[string]any)["registers"]),
		jsonOf(ours["crashing_thread"].(map[string]any)["frames"].([]any)[0].(map[string]any)["registers"]); !strings.Contains(b, strings.Trim(a, "{}")) {
		t.Errorf("frame 0 registers: rust-minidump %s, ours %s", a, b)
	}
}

// jsonOf writes v canonically (sorted keys).
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
