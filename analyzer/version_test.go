package analyzer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// versionsFile pins, for each analyzer version, the hash of the golden
// reports it made: one "version sha256" line per version, oldest first.
const versionsFile = "testdata/golden/VERSIONS"

// goldenReportsHash hashes every golden report, by name and content.
func goldenReportsHash(t *testing.T) (string, []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden reports: %v", err)
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(p), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), paths
}

func readVersions(t *testing.T) (lines [][2]string) {
	t.Helper()
	f, err := os.Open(versionsFile)
	if err != nil {
		t.Fatalf("%v (run TestGoldenVersion with -update after bumping analyzer.Version)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 2 && !strings.HasPrefix(fs[0], "#") {
			lines = append(lines, [2]string{fs[0], fs[1]})
		}
	}
	return lines
}

// TestGoldenVersion fails when a golden report changes while
// analyzer.Version stays the same, so every change of output moves the
// version and `reanalyze --outdated` requeues the reports it affects. With
// -update it pins the goldens' hash for a version that has none yet, and
// refuses to re-pin a version that has one.
func TestGoldenVersion(t *testing.T) {
	sum, paths := goldenReportsHash(t)
	// Each golden records the version that made it.
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		var r struct {
			V string `json:"analyzer_version"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.V != Version {
			t.Errorf("%s was made by analyzer %q, this is %q: regenerate it with -update (err %v)", p, r.V, Version, err)
		}
	}
	lines := readVersions(t)
	seen := map[string]string{}
	for _, l := range lines {
		if prev, ok := seen[l[0]]; ok && prev != l[1] {
			t.Errorf("%s pins version %s twice", versionsFile, l[0])
		}
		seen[l[0]] = l[1]
	}
	pinned, ok := seen[Version]
	switch {
	case ok && pinned == sum:
	case ok:
		t.Errorf("the golden reports changed but analyzer.Version is still %s: bump it in analyze.go, "+
			"regenerate the goldens, and pin them with go test -run 'TestGolden' -update", Version)
	case *update:
		f, err := os.OpenFile(versionsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%s %s\n", Version, sum)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Errorf("analyzer.Version %s has no pinned golden hash in %s: run go test -run 'TestGolden' -update", Version, versionsFile)
	}
	for _, l := range lines {
		if l[0] != Version && l[1] == sum {
			t.Errorf("the golden reports of %s are those of %s: the version moved without a change of output, or the goldens were not regenerated", Version, l[0])
		}
	}
}
