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
var expectedMissing = []string{
	// Inline frames are the symbols branch's (issue 12 item 6).
	"crashing_thread.frames.[].inlines",
	"threads.[].frames.[].inlines",
}

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
