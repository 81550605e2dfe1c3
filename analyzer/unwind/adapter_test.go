package unwind

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/pe"
)

// TestImageModuleHoles rebuilds an exe "as mapped" with one page missing,
// as from a dump, and checks that ImageModule reads the hole short instead
// of as zeros, and that the lookup degrades to ErrNoUnwindData there.
func TestImageModuleHoles(t *testing.T) {
	file := openImage(t, filepath.Join(sharedTestdata(t), "wine", "dumps", "stack_overflow", "stack_overflow_x64_pdb.exe"))
	pdata, _ := file.DataDirectory(3)
	hole := pe.Range{RVA: pdata &^ 0xfff, Size: 0x1000}
	read := func(rva uint32, p []byte) (int, error) {
		if rva < hole.RVA+hole.Size && rva+uint32(len(p)) > hole.RVA {
			if rva >= hole.RVA {
				return 0, errShort
			}
			return file.ReadRVA(rva, p[:hole.RVA-rva])
		}
		return file.ReadRVA(rva, p)
	}
	im, err := pe.OpenMapped(read, file.SizeOfImage())
	if err != nil {
		t.Fatal(err)
	}
	if !im.Partial {
		t.Fatal("OpenMapped did not record the hole")
	}
	m := &ImageModule{BaseAddr: 0x140000000, SizeOfImage: uint64(file.SizeOfImage()), ModuleName: "x.exe", Image: im}
	var b [16]byte
	if n, err := m.ReadRVA(hole.RVA-8, b[:]); n != 8 || !errors.Is(err, ErrNotInImage) {
		t.Errorf("read across the hole: %d, %v", n, err)
	}
	if n, _ := m.ReadRVA(0x1000, b[:]); n != 16 {
		t.Errorf("read of code: %d", n)
	}
	if _, _, err := LookupFunctionAMD64(m, 0x1e30); !errors.Is(err, ErrNoUnwindData) {
		t.Errorf("lookup with .pdata missing: %v", err)
	}
	var nilSym *ImageModule = &ImageModule{}
	if nilSym.Breakpad() != nil || nilSym.HasImage() {
		t.Error("empty ImageModule claims an image or symbols")
	}
	l := NewModuleList([]Module{m, &ImageModule{BaseAddr: 0x1000, SizeOfImage: 0x1000}})
	if l.ModuleAt(0x140001000) != m || l.ModuleAt(0x1fff) == nil || l.ModuleAt(0x2000) != nil {
		t.Error("ModuleList lookups")
	}
}

// TestCallThroughNull: RIP 0 (a call through a null pointer) is in no
// module; the return address the call pushed is found at [rsp].
func TestCallThroughNull(t *testing.T) {
	m, s := newSynth()
	got := WalkAMD64(ctxAt(0, entrySP, rbp0), s, m, Options{MaxFrames: 2})
	if len(got) != 2 || got[1].PC != synthBase+0x1025 || got[1].SP != entrySP+8 || got[1].Trust != TrustScan {
		t.Fatalf("frames %+v", got)
	}
}
