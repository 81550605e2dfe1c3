package pe

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mapLikeLoader lays a PE file out as the loader maps it, independently of
// the package's code: headers at 0, each section's raw data at its
// VirtualAddress, zeros elsewhere.
func mapLikeLoader(t testing.TB, data []byte, im *Image) []byte {
	t.Helper()
	mem := make([]byte, im.SizeOfImage())
	copy(mem, data[:min(len(data), int(im.h.sizeOfHeaders))])
	for _, s := range im.Sections() {
		n := min(s.SizeOfRawData, s.VirtualSize)
		if s.VirtualSize == 0 {
			n = s.SizeOfRawData
		}
		copy(mem[s.VirtualAddress:], data[s.PointerToRawData:s.PointerToRawData+n])
	}
	return mem
}

func readerOver(mem []byte, hole func(rva uint32) bool) func(uint32, []byte) (int, error) {
	return func(rva uint32, p []byte) (int, error) {
		if int64(rva) >= int64(len(mem)) {
			return 0, errors.New("out of range")
		}
		n := 0
		for n < len(p) && int(rva)+n < len(mem) {
			if hole != nil && hole(rva+uint32(n)) {
				return n, errors.New("page not in dump")
			}
			p[n] = mem[int(rva)+n]
			n++
		}
		if n < len(p) {
			return n, errors.New("short")
		}
		return n, nil
	}
}

type answers struct {
	Machine                              uint16
	Is64, LAA                            bool
	ImageBase, Reserve, Commit           uint64
	SizeOfImage, TimeDateStamp           uint32
	CodeID, DebugID, PDB, Version        string
	CV                                   CodeViewInfo
	HasCV, HasVersion                    bool
	Exports                              []Export
	SectionVAs, SectionSizes, SectionChr []uint32
	Dirs                                 [16][2]uint32
	Exec                                 []bool
}

func answersOf(im *Image) answers {
	a := answers{
		Machine: im.Machine(), Is64: im.Is64(), LAA: im.LargeAddressAware(),
		ImageBase: im.ImageBase(), Reserve: im.SizeOfStackReserve(), Commit: im.SizeOfStackCommit(),
		SizeOfImage: im.SizeOfImage(), TimeDateStamp: im.TimeDateStamp(),
		CodeID: im.CodeID(), DebugID: im.DebugID(), PDB: im.PDBBaseName(),
		Exports: im.Exports(),
	}
	a.CV, a.HasCV = im.CodeViewRecord()
	a.Version, a.HasVersion = im.VersionInfo()
	for _, s := range im.Sections() {
		a.SectionVAs = append(a.SectionVAs, s.VirtualAddress)
		a.SectionSizes = append(a.SectionSizes, s.VirtualSize)
		a.SectionChr = append(a.SectionChr, s.Characteristics)
		a.Exec = append(a.Exec, im.IsExecutableRVA(s.VirtualAddress))
	}
	for i := range a.Dirs {
		a.Dirs[i][0], a.Dirs[i][1] = im.DataDirectory(i)
	}
	return a
}

// TestOpenMapped maps each test image into a buffer like the loader does and
// checks that OpenMapped gives the same answers as Open on the file.
func TestOpenMapped(t *testing.T) {
	for _, path := range testImages(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fim, data := openTestFile(t, path)
			mem := mapLikeLoader(t, data, fim)
			mim, err := OpenMapped(readerOver(mem, nil), uint32(len(mem)))
			if err != nil {
				t.Fatal(err)
			}
			if mim.Partial || len(mim.Missing) != 0 {
				t.Errorf("Partial = %v, Missing = %v", mim.Partial, mim.Missing)
			}
			if diff := cmp.Diff(answersOf(fim), answersOf(mim)); diff != "" {
				t.Errorf("file vs mapped (-file +mapped):\n%s", diff)
			}
			// ReadRVA agrees over the whole image.
			a, b := make([]byte, len(mem)), make([]byte, len(mem))
			na, _ := fim.ReadRVA(0, a)
			nb, _ := mim.ReadRVA(0, b)
			if nb != len(mem) {
				t.Errorf("mapped ReadRVA read %d of %d", nb, len(mem))
			}
			for _, s := range fim.Sections() {
				end := min(int(alignUp(s.mappedSize(), 0x1000)), len(mem)-int(s.VirtualAddress)) + int(s.VirtualAddress)
				if end > na || !bytes.Equal(a[s.VirtualAddress:end], b[s.VirtualAddress:end]) {
					t.Errorf("section %s differs between file and mapped reads", s.Name)
				}
			}
			if !bytes.Equal(b, mem) {
				t.Errorf("mapped image was modified by parsing")
			}
		})
	}
}

// TestOpenMappedHoles drops pages, as a dump without them would, and checks
// they are reported and read as zeros while the rest still parses.
func TestOpenMappedHoles(t *testing.T) {
	path := filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64", "kernelbase.dll")
	fim, data := openTestFile(t, path)
	mem := mapLikeLoader(t, data, fim)
	text := fim.Sections()[0]
	holeStart := text.VirtualAddress + 0x3000
	hole := func(rva uint32) bool { return rva >= holeStart && rva < holeStart+0x2000 }
	mim, err := OpenMapped(readerOver(mem, hole), uint32(len(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Range{{holeStart, 0x2000}}; !mim.Partial || !cmp.Equal(mim.Missing, want) {
		t.Errorf("Partial %v Missing %v, want %v", mim.Partial, mim.Missing, want)
	}
	buf := make([]byte, 0x2000)
	if _, err := mim.ReadRVA(holeStart, buf); err != nil || bytes.ContainsFunc(buf, func(r rune) bool { return r != 0 }) {
		t.Errorf("hole not zero-filled: %v", err)
	}
	if len(mim.Exports()) != len(fim.Exports()) || mim.CodeID() != fim.CodeID() {
		t.Errorf("exports/code id changed by a hole in .text")
	}

	// Headers missing: nothing to parse.
	noHdr := func(rva uint32) bool { return rva < 0x1000 }
	if _, err := OpenMapped(readerOver(mem, noHdr), uint32(len(mem))); !errors.Is(err, ErrNotPE) {
		t.Errorf("missing headers: err = %v", err)
	}
	// A reader that panics is contained.
	boom := func(uint32, []byte) (int, error) { panic("boom") }
	if _, err := OpenMapped(boom, 0x10000); err == nil {
		t.Errorf("panicking reader: no error")
	}
	if _, err := OpenMapped(readerOver(mem, nil), MaxImageSize+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err = %v", err)
	}
}
