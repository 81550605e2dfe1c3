package pdb

import (
	"bytes"
	"os"
	"testing"
)

// FuzzOpen: seeds are 100-300 KB, so run it with a short minimization
// time, e.g. go test -fuzz FuzzOpen -fuzzminimizetime 2s.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"sigsegv", "av_threads_x86", "va_commit_x64", "oom_vector_x64"} {
		f.Add(readPDB(f, name))
	}
	// crash.pdb is 1 MB: seed only its first blocks (superblock, directory
	// and the small streams usually live early).
	crash := readPDB(f, "crash")
	f.Add(crash[:64<<10])
	inl, err := os.ReadFile("../../testdata/inline/inline_pdb.pdb")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(inl)
	recoverPanics = false
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		_ = pf.DebugID()
		var rvas []uint32
		for _, c := range pf.contribs {
			rvas = append(rvas, c.rva, c.rva+c.size/2)
		}
		for _, p := range pf.pubs {
			rvas = append(rvas, p.rva)
		}
		if len(rvas) > 200 {
			rvas = rvas[:200]
		}
		for _, rva := range rvas {
			pf.Lookup(rva)
			pf.Procedure(rva)
		}
	})
}

// FuzzInlineAnnotations runs S_INLINESITE binary annotations (compressed
// opcodes and operands) against an address, in the inline fixture's module.
func FuzzInlineAnnotations(f *testing.F) {
	b, err := os.ReadFile("../../testdata/inline/inline_pdb.pdb")
	if err != nil {
		f.Fatal(err)
	}
	pf, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	m := pf.loadModule(0)
	f.Add([]byte{0x0B, 0x40, 0x0B, 0x2F, 0x0B, 0x26, 0x04, 0x03}, uint32(0x1000), uint32(0x10))
	f.Add([]byte{0x06, 0x04, 0x03, 0x33, 0x0B, 0x26, 0x04, 0x06, 0x00}, uint32(0x1001), uint32(0x35))
	f.Add([]byte{0x0C, 0x80, 0x01, 0xC0, 0x00, 0x00, 0x01, 0x05, 0x00, 0x01, 0x7F}, uint32(7), uint32(0x100))
	f.Fuzz(func(t *testing.T, ann []byte, inlinee, target uint32) {
		pf.siteAt(m, inlinee, ann, target)
	})
}

func TestOpenCorrupt(t *testing.T) {
	good := readPDB(t, "sigsegv")
	cases := map[string][]byte{
		"empty":     nil,
		"short":     good[:40],
		"magic":     append([]byte("Microsoft C/C++ MSF 2.00"), good[24:]...),
		"truncated": good[:8192],
	}
	for name, b := range cases {
		if _, err := Open(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
	// Every truncation must fail cleanly or produce a usable File.
	for n := 0; n < len(good); n += 997 {
		f, err := Open(bytes.NewReader(good[:n]), int64(n))
		if err == nil {
			f.Lookup(0x10d9)
			f.Procedure(0x10d9)
		}
	}
}
