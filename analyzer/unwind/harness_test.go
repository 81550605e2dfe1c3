package unwind

import (
	"bytes"
	"fmt"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

// sharedTestdata is the shared test data directory (../shared/testdata).
func sharedTestdata(t testing.TB) string { return testdata.Dir(t) }

// testModule is the exported adapter, so the tests exercise it.
type testModule = ImageModule

type testModules []*ImageModule

func (ms testModules) ModuleAt(addr uint64) Module {
	i := sort.Search(len(ms), func(i int) bool { return ms[i].BaseAddr > addr }) - 1
	if i >= 0 && addr-ms[i].BaseAddr < ms[i].SizeOfImage {
		return ms[i]
	}
	return nil
}

var (
	imgCache   = map[string]*pe.Image{}
	imgCacheMu sync.Mutex
)

func openImage(t testing.TB, path string) *pe.Image {
	imgCacheMu.Lock()
	defer imgCacheMu.Unlock()
	if im, ok := imgCache[path]; ok {
		return im
	}
	data, err := os.ReadFile(path)
	if err != nil {
		imgCache[path] = nil
		return nil
	}
	im, err := pe.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	imgCache[path] = im
	return im
}

func openDump(t testing.TB, path string) *minidump.Dump {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := minidump.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// dumpModules builds the module list, looking for each image by file name
// in dirs and for <debug file>/<debug id>/<name>.sym under symDir.
func dumpModules(t testing.TB, d *minidump.Dump, symDir string, dirs ...string) testModules {
	var ms testModules
	for i := range d.Modules {
		dm := &d.Modules[i]
		m := &testModule{BaseAddr: dm.Base, SizeOfImage: uint64(dm.Size), ModuleName: dm.FileName()}
		for _, dir := range dirs {
			p := filepath.Join(dir, strings.ToLower(dm.FileName()))
			if im := openImage(t, p); im != nil {
				m.Image = im
				break
			}
		}
		if symDir != "" && dm.CodeView != nil {
			df := dm.DebugFile()
			sym := strings.TrimSuffix(df, filepath.Ext(df)) + ".sym"
			p := filepath.Join(symDir, df, dm.DebugID(), sym)
			if f, err := os.Open(p); err == nil {
				bp, err := breakpad.Parse(f)
				f.Close()
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				m.Sym = bp
			}
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].BaseAddr < ms[j].BaseAddr })
	return ms
}

// stackLimits is DumpStackLimits.
func stackLimits(d *minidump.Dump) func(sp uint64) (uint64, uint64, bool) { return DumpStackLimits(d) }

func formatFrames(ms testModules, frames []Frame) string {
	var b strings.Builder
	for i, f := range frames {
		where := ""
		if m := ms.ModuleAt(f.PC); m != nil {
			where = fmt.Sprintf("%s+0x%x", m.Name(), f.PC-m.Base())
		}
		fmt.Fprintf(&b, "%3d %#x sp=%#x fp=%#x %-13s %s %s\n", i, f.PC, f.SP, f.FP, f.Trust, where, f.Note)
	}
	return b.String()
}
