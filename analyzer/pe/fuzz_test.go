package pe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are the smaller real images (the fuzzer mutates whole inputs,
// so large seeds only slow it down, minimisation most).
func fuzzSeeds(f *testing.F) [][]byte { return fuzzSeedsT(f) }

func fuzzSeedsT(f testing.TB) [][]byte {
	var seeds [][]byte
	for _, p := range testImages(f) {
		if st, err := os.Stat(p); err == nil && st.Size() <= 80<<10 {
			if b, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	return seeds
}

// exercise calls every accessor, as a consumer would.
func exercise(im *Image) {
	im.Machine()
	im.Is64()
	im.CodeID()
	im.DebugID()
	im.CodeView()
	im.PDBBaseName()
	im.VersionInfo()
	im.LargeAddressAware()
	im.Warnings()
	for i := -1; i <= 16; i++ {
		im.DataDirectory(i)
	}
	buf := make([]byte, 64)
	for _, s := range im.Sections() {
		im.ReadRVA(s.VirtualAddress, buf)
		im.ReadRVA(s.VirtualAddress+s.VirtualSize-8, buf)
		im.IsExecutableRVA(s.VirtualAddress)
	}
	im.ReadRVA(0xFFFFFFF0, buf)
	for i, e := range im.Exports() {
		if i > 64 {
			break
		}
		im.ExportAt(e.RVA + 1)
	}
}

func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(im)
	})
}

// FuzzOpenMapped treats the input as image memory; the last byte chooses
// which pages are unreadable.
func FuzzOpenMapped(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		im, err := Open(bytes.NewReader(s), int64(len(s)))
		if err != nil || im.SizeOfImage() > 1<<20 {
			continue
		}
		mem := make([]byte, im.SizeOfImage())
		for _, sec := range im.Sections() {
			im.ReadRVA(sec.VirtualAddress, mem[sec.VirtualAddress:min(uint64(len(mem)), uint64(sec.VirtualAddress)+uint64(sec.VirtualSize))])
		}
		copy(mem, s[:min(len(s), 0x1000)])
		f.Add(append(mem, 0))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mask := data[len(data)-1]
		mem := data[:len(data)-1]
		hole := func(rva uint32) bool { return mask != 0 && (rva/pageSize)%8 == uint32(mask%8) && mask&0x80 != 0 }
		im, err := OpenMapped(readerOver(mem, hole), uint32(len(mem)))
		if err != nil {
			return
		}
		exercise(im)
	})
}

// TestNoStdout checks that parsing writes nothing to stdout (saferwall/pe
// has two fmt.Print paths and a stdout default logger).
func TestNoStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	for _, p := range testImages(t) {
		data, _ := os.ReadFile(p)
		if im, err := Open(bytes.NewReader(data), int64(len(data))); err == nil {
			exercise(im)
		}
	}
	os.Stdout = old
	w.Close()
	var out bytes.Buffer
	out.ReadFrom(r)
	if out.Len() != 0 {
		t.Errorf("parsing printed to stdout: %q", out.String())
	}
}

// TestCodeViewSources checks that saferwall/pe (after sanitising) and the
// package's own decoder agree, in both layouts.
func TestCodeViewSources(t *testing.T) {
	n := 0
	for _, p := range testImages(t) {
		im, data := openTestFile(t, p)
		own, okOwn := im.codeViewOwn()
		sw, okSW := im.codeViewFromSaferwall(data, false)
		if okOwn != okSW || own != sw {
			t.Errorf("%s: own %+v %v, saferwall %+v %v", filepath.Base(p), own, okOwn, sw, okSW)
		}
		if okSW {
			n++
			mem := mapLikeLoader(t, data, im)
			mim, err := OpenMapped(readerOver(mem, nil), uint32(len(mem)))
			if err != nil {
				t.Fatal(err)
			}
			if msw, ok := mim.codeViewFromSaferwall(mem, true); !ok || msw != sw {
				t.Errorf("%s: mapped saferwall %+v %v", filepath.Base(p), msw, ok)
			}
		}
	}
	if n < 7 {
		t.Errorf("saferwall found %d CodeView records, want the 7 pdb builds", n)
	}
}
