package pdb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWineFacts checks Lookup against the function addresses the wine
// corpus programs recorded about themselves (facts.json program_facts
// addr_<function>, with exe_image_base), and the PDB GUID/age their
// executables' CodeView records carry.
func TestWineFacts(t *testing.T) {
	for _, sc := range []struct{ dir, run, pdb string }{
		{"av_threads", "av_threads_x64_pdb", "av_threads_x64"},
		{"heap_nomem", "heap_nomem_x64_pdb", "heap_nomem_x64"},
		{"stack_overflow", "stack_overflow_x64_pdb", "stack_overflow_x64"},
		{"va_commit", "va_commit_x64_pdb", "va_commit_x64"},
	} {
		t.Run(sc.run, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(sharedTestdata(t), "wine/dumps", sc.dir, "facts.json"))
			if err != nil {
				t.Fatal(err)
			}
			var facts struct {
				Runs map[string]struct {
					ExeCodeview struct {
						GUID string `json:"guid"`
						Age  int    `json:"age"`
					} `json:"exe_codeview"`
					DumpSets map[string]struct {
						ProgramFacts map[string]any `json:"program_facts"`
					} `json:"dump_sets"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(b, &facts); err != nil {
				t.Fatal(err)
			}
			run, ok := facts.Runs[sc.run]
			if !ok {
				t.Fatalf("no run %s", sc.run)
			}
			f := openPDB(t, sc.pdb)
			if want := run.ExeCodeview.GUID + strconv.FormatInt(int64(run.ExeCodeview.Age), 16); f.DebugID() != strings.ToUpper(want) {
				t.Errorf("DebugID() = %s, want %s", f.DebugID(), want)
			}
			checked := 0
			for _, ds := range run.DumpSets {
				pf := ds.ProgramFacts
				base, _ := strconv.ParseUint(strings.TrimPrefix(pf["exe_image_base"].(string), "0x"), 16, 64)
				for k, v := range pf {
					fn, ok := strings.CutPrefix(k, "addr_")
					if !ok {
						continue
					}
					addr, err := strconv.ParseUint(strings.TrimPrefix(v.(string), "0x"), 16, 64)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					rva := uint32(addr - base)
					s, ok := f.Lookup(rva)
					if !ok || s.Name != fn || s.RVA != rva || s.FromPublic {
						t.Errorf("Lookup(%#x) = %+v, %v; want procedure %s", rva, s, ok, fn)
					}
					checked++
				}
			}
			if checked == 0 && sc.dir != "va_commit" {
				t.Error("no addresses checked")
			}
		})
	}
}
