package analyzer

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// breakpadWalk is Breakpad's crashing-thread walk of one dump, from
// testdata/breakpad/stackwalk.golden (gen.sh there regenerates it).
type breakpadWalk struct {
	rel    string
	thread int
	addrs  []uint64
}

func readBreakpadGolden(t *testing.T) []breakpadWalk {
	f, err := os.Open(filepath.Join("testdata", "breakpad", "stackwalk.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []breakpadWalk
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		fs := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "#") || len(fs) == 0:
		case fs[0] == "dump" && len(fs) == 3:
			n, _ := strconv.Atoi(fs[2])
			out = append(out, breakpadWalk{rel: fs[1], thread: n})
		case len(out) > 0:
			a, err := strconv.ParseUint(strings.TrimPrefix(fs[0], "0x"), 16, 64)
			if err != nil {
				t.Fatalf("golden line %q: %v", l, err)
			}
			out[len(out)-1].addrs = append(out[len(out)-1].addrs, a)
		}
	}
	if len(out) < 60 {
		t.Fatalf("%d dumps in the golden, want every real Windows dump (60+)", len(out))
	}
	return out
}

// followsCall reports whether the dump captured the bytes before ra and
// they end with a call instruction, decoded independently of the walker's
// own check (x86asm, every call length from 2 to 7 bytes).
func followsCall(d *minidump.Dump, ra uint64, mode int) bool {
	var b [8]byte
	if ra < 8 {
		return false
	}
	if n, _ := d.ReadMemory(ra-8, b[:]); n < len(b) {
		return false
	}
	for l := 2; l <= 7; l++ {
		in, err := x86asm.Decode(b[8-l:], mode)
		if err == nil && in.Len == l && in.Op == x86asm.CALL {
			return true
		}
	}
	return false
}

// TestNeverBehindBreakpad holds our crashing-thread frames against
// Breakpad's on every real Windows dump in the shared test data, both
// without symbols or images: every return address Breakpad found that the
// dump's own bytes support (the code before it is captured and ends with a
// call) must be among ours. Breakpad prints return addresses either as they
// are or less one, so both readings are tried.
func TestNeverBehindBreakpad(t *testing.T) {
	root := testdata.Dir(t)
	walks := readBreakpadGolden(t)
	supported, missed := 0, 0
	for _, w := range walks {
		t.Run(w.rel, func(t *testing.T) {
			p := filepath.Join(root, w.rel)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("dump missing: %v", err)
			}
			rep := analyzeFile(t, p, Options{})
			d := openDumpFile(t, p)
			mode := 64
			if d.Arch() == minidump.ArchX86 {
				mode = 32
			}
			ours := map[uint64]bool{}
			for _, f := range rep.CrashingThread.Frames {
				ours[uint64(f.Offset)] = true
			}
			var diff []string
			for k, a := range w.addrs {
				if k == 0 {
					continue
				}
				for _, ra := range []uint64{a, a + 1} {
					if !followsCall(d, ra, mode) {
						continue
					}
					supported++
					if !ours[ra] && !ours[ra-1] {
						missed++
						diff = append(diff, fmt.Sprintf("%#x (Breakpad frame %d)", ra, k))
					}
					break
				}
			}
			if len(diff) > 0 {
				t.Errorf("Breakpad finds return addresses after a call that we miss: %s", strings.Join(diff, ", "))
			}
			t.Logf("ours %d frames, Breakpad %d", len(rep.CrashingThread.Frames), len(w.addrs))
		})
	}
	if supported == 0 {
		t.Fatal("no Breakpad frame had supporting code bytes: the check proved nothing")
	}
	t.Logf("%d of Breakpad's return addresses are supported by the dumps' bytes; we miss %d", supported, missed)
}

func openDumpFile(t *testing.T, p string) *minidump.Dump {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
