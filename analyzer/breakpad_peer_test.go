package analyzer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
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

// codeBytes reads the len(b) bytes at addr from the dump's memory, else
// from the module's image when it lies beside the dump (the Wine programs
// and DLLs the dumps were written from).
func codeBytes(d *minidump.Dump, images map[string]*pe.Image, addr uint64, b []byte) bool {
	if n, _ := d.ReadMemory(addr, b); n == len(b) {
		return true
	}
	m := d.ModuleAt(addr)
	if m == nil {
		return false
	}
	im := images[strings.ToLower(m.FileName())]
	if im == nil {
		return false
	}
	n, _ := im.ReadRVA(uint32(addr-m.Base), b)
	return n == len(b)
}

// functionStart is the first byte of the function holding addr, by the
// .pdata of the module's image beside the dump (chained entries followed
// to their primary entry).
func functionStart(d *minidump.Dump, images map[string]*pe.Image, addr uint64) (uint64, bool) {
	m := d.ModuleAt(addr)
	if m == nil {
		return 0, false
	}
	im := images[strings.ToLower(m.FileName())]
	if im == nil {
		return 0, false
	}
	um := &unwind.ImageModule{BaseAddr: m.Base, SizeOfImage: uint64(m.Size), ModuleName: m.FileName(), Image: im}
	rf, info, err := unwind.LookupFunctionAMD64(um, uint32(addr-m.Base))
	if err != nil {
		return 0, false
	}
	start := rf.BeginAddress
	for c := info; c != nil && c.Chained != nil; c = c.ChainedInfo {
		start = c.Chained.BeginAddress
	}
	return m.Base + uint64(start), true
}

// consistentCall reports whether the call before ra can have entered the
// function holding callee (the frame inside it): an indirect call always
// can; a direct call must target that function's first byte, or a jump
// thunk, when the function's bounds are known from .pdata. Stale return
// addresses left in a frame follow calls too, but into other functions.
func consistentCall(d *minidump.Dump, images map[string]*pe.Image, ra, callee uint64) bool {
	var b [5]byte
	if !codeBytes(d, images, ra-5, b[:]) || b[0] != 0xE8 {
		return true
	}
	target := ra + uint64(int64(int32(binary.LittleEndian.Uint32(b[1:]))))
	start, ok := functionStart(d, images, callee)
	if !ok || target == start {
		return true
	}
	var t [2]byte
	return codeBytes(d, images, target, t[:]) && (t[0] == 0xFF && t[1] == 0x25 || t[0] == 0xE9 || t[0] == 0xEB)
}

// imagesBeside opens the images of the dump's modules found in its own
// folder or among the Wine DLLs of the test data.
func imagesBeside(t *testing.T, d *minidump.Dump, dirs ...string) map[string]*pe.Image {
	out := map[string]*pe.Image{}
	for i := range d.Modules {
		name := strings.ToLower(d.Modules[i].FileName())
		for _, dir := range dirs {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			im, err := pe.Open(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out[name] = im
			break
		}
	}
	return out
}

// followsCall reports whether the bytes before ra (captured in the dump,
// or in the module's image beside it) end with a call instruction, decoded
// independently of the walker's own check (x86asm, every call length from
// 2 to 7 bytes).
func followsCall(d *minidump.Dump, images map[string]*pe.Image, ra uint64, mode int) bool {
	var b [8]byte
	if ra < 8 || !codeBytes(d, images, ra-8, b[:]) {
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
// dump's own bytes support (the code before it, captured in the dump or in
// the image the Wine dumps were written from, ends with a call) must be
// among ours. Breakpad prints return addresses either as they
// are or less one, so both readings are tried.
func TestNeverBehindBreakpad(t *testing.T) {
	root := testdata.Dir(t)
	walks := readBreakpadGolden(t)
	supported, missed, refuted := 0, 0, 0
	for _, w := range walks {
		t.Run(w.rel, func(t *testing.T) {
			p := filepath.Join(root, w.rel)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("dump missing: %v", err)
			}
			rep := analyzeFile(t, p, Options{})
			d := openDumpFile(t, p)
			mode, wineDLLs := 64, filepath.Join(root, "wine", "dumps", "_wine_dlls", "x64")
			if d.Arch() == minidump.ArchX86 {
				mode, wineDLLs = 32, filepath.Join(root, "wine", "dumps", "_wine_dlls", "x86")
			}
			images := map[string]*pe.Image{}
			// With the images, the Wine dumps unwind by their .pdata (known
			// function boundaries), which the programs' own RtlVirtualUnwind
			// confirms: a return address that walk does not reach is stale.
			var proven map[uint64]bool
			if strings.HasPrefix(w.rel, "wine/") {
				images = imagesBeside(t, d, filepath.Dir(p), wineDLLs)
				proven = map[uint64]bool{}
				for _, f := range analyzeFile(t, p, Options{SymbolPath: filepath.Dir(p) + ";" + wineDLLs}).CrashingThread.Frames {
					proven[uint64(f.Offset)+1] = true
				}
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
				// The frame inside the callee: frame 0's PC, or a caller's
				// return address less one.
				callee := w.addrs[k-1]
				if k-1 > 0 {
					callee--
				}
				for _, ra := range []uint64{a, a + 1} {
					if !followsCall(d, images, ra, mode) {
						continue
					}
					if mode == 64 && !consistentCall(d, images, ra, callee) || proven != nil && !proven[ra] {
						refuted++
						break
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
			// And the other way, for the record: supported return
			// addresses of ours that Breakpad lacks.
			theirs := map[uint64]bool{}
			for _, a := range w.addrs {
				theirs[a], theirs[a+1] = true, true
			}
			onlyOurs := 0
			for k, f := range rep.CrashingThread.Frames {
				ra := uint64(f.Offset) + 1
				if k == 0 || theirs[ra] || !followsCall(d, images, ra, mode) || proven != nil && !proven[ra] {
					continue
				}
				callee := uint64(rep.CrashingThread.Frames[k-1].Offset)
				if mode == 64 && !consistentCall(d, images, ra, callee) {
					continue
				}
				onlyOurs++
			}
			t.Logf("ours %d frames, Breakpad %d; supported return addresses only Breakpad has: %d, only we have: %d",
				len(rep.CrashingThread.Frames), len(w.addrs), len(diff), onlyOurs)
		})
	}
	if supported == 0 {
		t.Fatal("no Breakpad frame had supporting code bytes: the check proved nothing")
	}
	t.Logf("%d of Breakpad's return addresses are supported by the dumps' bytes (%d more follow a call but are refuted by function bounds); we miss %d",
		supported, refuted, missed)
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
