package pdb

import (
	"bytes"
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
