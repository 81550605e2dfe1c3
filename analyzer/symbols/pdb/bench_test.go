package pdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// synthPDB builds an MSF 7.00 file shaped like a large real PDB: nMods
// modules of procsPerMod procedures each (S_GPROC32, S_FRAMEPROC,
// S_REGREL32, S_END, C13 lines), one code section contribution and one
// S_PUB32 per procedure. Procedure g sits at RVA 0x1000+64*g, size 48.
func synthPDB(nMods, procsPerMod int) []byte {
	put16 := func(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
	put32 := func(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
	pad4 := func(b []byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	// record wraps kind+data with its length, padded to 4 bytes.
	record := func(dst []byte, kind uint16, data []byte) []byte {
		n := (2 + len(data) + 3) &^ 3
		dst = put16(dst, uint16(n))
		dst = put16(dst, kind)
		dst = append(dst, data...)
		for i := 2 + len(data); i < n; i++ {
			dst = append(dst, 0)
		}
		return dst
	}

	// Streams 0-4 fixed, 5 = section headers, 6 = /names, 7 = symbol
	// records, 8.. = modules.
	const shStream, namesStream, symStream, firstMod = 5, 6, 7, 8
	streams := make([][]byte, firstMod+nMods)

	// /names
	names := []byte("\x00C:\\src\\file.cpp\x00")
	var nm []byte
	nm = put32(nm, 0xEFFEEFFE)
	nm = put32(nm, 1)
	nm = put32(nm, uint32(len(names)))
	nm = append(nm, names...)
	streams[namesStream] = nm

	// PDB info stream with a named stream map holding /names.
	var info []byte
	info = put32(info, 20000404)
	info = put32(info, 1)
	info = put32(info, 1)
	info = append(info, bytes.Repeat([]byte{0xAB}, 16)...)
	info = put32(info, 7)
	info = append(info, "/names\x00"...)
	info = put32(info, 1) // size
	info = put32(info, 1) // capacity
	info = put32(info, 1) // present words
	info = put32(info, 1)
	info = put32(info, 0) // deleted words
	info = put32(info, 0) // key
	info = put32(info, namesStream)
	streams[1] = info

	// TPI/IPI: headers only.
	var tpi []byte
	tpi = put32(tpi, 20040203)
	tpi = put32(tpi, 56)
	tpi = put32(tpi, 0x1000)
	tpi = put32(tpi, 0x1000)
	tpi = append(tpi, make([]byte, 56-16)...)
	streams[2] = tpi
	streams[4] = tpi

	// Section headers: one big .text.
	sh := make([]byte, 40)
	copy(sh, ".text")
	total := uint32(nMods * procsPerMod * 64)
	binary.LittleEndian.PutUint32(sh[8:], total)
	binary.LittleEndian.PutUint32(sh[12:], 0x1000)
	binary.LittleEndian.PutUint32(sh[36:], 0x60000020)
	streams[shStream] = sh

	var modInfo, contribs, pubs []byte
	contribs = put32(contribs, 0xeffe0000+19970605)
	for m := 0; m < nMods; m++ {
		var sym, lines []byte
		sym = put32(sym, 4)
		// FILECHKSMS: one file, no checksum.
		lines = put32(lines, debugSFileChks)
		lines = put32(lines, 8)
		lines = put32(lines, 1)
		lines = put32(lines, 0)
		for k := 0; k < procsPerMod; k++ {
			g := uint32(m*procsPerMod + k)
			off := g * 64
			name := fmt.Sprintf("ns::Class%d::method%d", m, k)
			start := len(sym)
			var p []byte
			p = put32(p, 0)
			endPos := len(p)
			p = put32(p, 0) // end, patched below
			p = put32(p, 0)
			p = put32(p, 48)
			p = put32(p, 4)
			p = put32(p, 40)
			p = put32(p, 0x74)
			p = put32(p, off)
			p = put16(p, 1)
			p = append(p, 0)
			p = append(p, name...)
			p = append(p, 0)
			sym = record(sym, sGPROC32, p)
			var fp []byte
			fp = put32(fp, 40)
			fp = append(fp, make([]byte, 18)...)
			fp = put32(fp, 1<<14|1<<16)
			sym = record(sym, sFRAMEPROC, fp)
			var rr []byte
			rr = put32(rr, 48)
			rr = put32(rr, 0x74)
			rr = put16(rr, 335)
			rr = append(rr, "x\x00"...)
			sym = record(sym, sREGREL32, rr)
			binary.LittleEndian.PutUint32(sym[start+4+endPos:], uint32(len(sym)))
			sym = record(sym, sEND, nil)

			lines = put32(lines, debugSLines)
			lines = put32(lines, 12+12+5*8)
			lines = put32(lines, off)
			lines = put16(lines, 1)
			lines = put16(lines, 0)
			lines = put32(lines, 48)
			lines = put32(lines, 0)
			lines = put32(lines, 5)
			lines = put32(lines, 12+5*8)
			for l := uint32(0); l < 5; l++ {
				lines = put32(lines, l*8)
				lines = put32(lines, (10+l)|0x80000000)
			}

			var c []byte
			c = put16(c, 1)
			c = put16(c, 0)
			c = put32(c, off)
			c = put32(c, 48)
			c = put32(c, 0x60000020)
			c = put16(c, uint16(m))
			c = put16(c, 0)
			c = put32(c, 0)
			c = put32(c, 0)
			contribs = append(contribs, c...)

			var pb []byte
			pb = put32(pb, 2)
			pb = put32(pb, off)
			pb = put16(pb, 1)
			pb = append(pb, fmt.Sprintf("?method%d@Class%d@ns@@QEAAXXZ", k, m)...)
			pb = append(pb, 0)
			pubs = record(pubs, sPUB32, pb)
		}
		streams[firstMod+m] = append(sym, lines...)

		var mi []byte
		mi = put32(mi, 0)
		mi = append(mi, make([]byte, 28)...)
		mi = put16(mi, 0)
		mi = put16(mi, uint16(firstMod+m))
		mi = put32(mi, uint32(len(sym)))
		mi = put32(mi, 0)
		mi = put32(mi, uint32(len(lines)))
		mi = append(mi, make([]byte, 16)...)
		mi = append(mi, fmt.Sprintf("C:\\obj\\mod%d.obj\x00C:\\obj\\mod%d.obj\x00", m, m)...)
		modInfo = append(modInfo, pad4(mi)...)
	}
	streams[symStream] = pubs

	dbg := make([]byte, 22)
	for i := 0; i < 11; i++ {
		binary.LittleEndian.PutUint16(dbg[2*i:], 0xFFFF)
	}
	binary.LittleEndian.PutUint16(dbg[10:], shStream)
	var dbi []byte
	dbi = put32(dbi, 0xFFFFFFFF)
	dbi = put32(dbi, 19990903)
	dbi = put32(dbi, 1)
	dbi = put16(dbi, 0xFFFF)
	dbi = put16(dbi, 0)
	dbi = put16(dbi, 0xFFFF)
	dbi = put16(dbi, 0)
	dbi = put16(dbi, symStream)
	dbi = put16(dbi, 0)
	dbi = put32(dbi, uint32(len(modInfo)))
	dbi = put32(dbi, uint32(len(contribs)))
	dbi = put32(dbi, 0)
	dbi = put32(dbi, 0)
	dbi = put32(dbi, 0)
	dbi = put32(dbi, 0)
	dbi = put32(dbi, uint32(len(dbg)))
	dbi = put32(dbi, 0)
	dbi = put16(dbi, 0)
	dbi = put16(dbi, 0x8664)
	dbi = put32(dbi, 0)
	dbi = append(dbi, modInfo...)
	dbi = append(dbi, contribs...)
	dbi = append(dbi, dbg...)
	streams[3] = dbi
	return writeMSF(streams)
}

// writeMSF lays streams out contiguously after the superblock and two free
// block map blocks, then the directory and the block map.
func writeMSF(streams [][]byte) []byte {
	const bs = 4096
	nblocks := func(n int) int { return (n + bs - 1) / bs }
	out := make([]byte, 3*bs)
	next := 3
	var dir []byte
	dir = binary.LittleEndian.AppendUint32(dir, uint32(len(streams)))
	for _, s := range streams {
		dir = binary.LittleEndian.AppendUint32(dir, uint32(len(s)))
	}
	for _, s := range streams {
		for i := 0; i < nblocks(len(s)); i++ {
			dir = binary.LittleEndian.AppendUint32(dir, uint32(next))
			next++
		}
		buf := make([]byte, nblocks(len(s))*bs)
		copy(buf, s)
		out = append(out, buf...)
	}
	dirBlock := next
	dbuf := make([]byte, nblocks(len(dir))*bs)
	copy(dbuf, dir)
	out = append(out, dbuf...)
	next += nblocks(len(dir))
	mapBlock := next
	mb := make([]byte, bs)
	for i := 0; i < nblocks(len(dir)); i++ {
		binary.LittleEndian.PutUint32(mb[4*i:], uint32(dirBlock+i))
	}
	out = append(out, mb...)
	next++
	copy(out, msfMagic)
	binary.LittleEndian.PutUint32(out[32:], bs)
	binary.LittleEndian.PutUint32(out[36:], 1)
	binary.LittleEndian.PutUint32(out[40:], uint32(next))
	binary.LittleEndian.PutUint32(out[44:], uint32(len(dir)))
	binary.LittleEndian.PutUint32(out[52:], uint32(mapBlock))
	return out
}

var (
	bigOnce sync.Once
	bigPath string
)

// bigPDB writes a ~100 MB synthetic PDB to a temporary file once.
func bigPDB(b *testing.B) string {
	bigOnce.Do(func() {
		data := synthPDB(10000, 36)
		dir, err := os.MkdirTemp("", "pdbbench")
		if err != nil {
			b.Fatal(err)
		}
		bigPath = filepath.Join(dir, "big.pdb")
		if err := os.WriteFile(bigPath, data, 0o644); err != nil {
			b.Fatal(err)
		}
	})
	return bigPath
}

func TestSynthPDB(t *testing.T) {
	data := synthPDB(20, 5)
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Lookup(0x1000 + 64*37 + 9)
	want := Symbol{Name: "ns::Class7::method2", RawName: "ns::Class7::method2", RVA: 0x1000 + 64*37, Size: 48, File: `C:\src\file.cpp`, Line: 11}
	if !ok || !reflect.DeepEqual(s, want) {
		t.Errorf("Lookup = %+v, %v; want %+v", s, ok, want)
	}
	s, ok = f.Lookup(0x1000 + 64*37 + 50)
	want = Symbol{Name: "ns::Class7::method2", RawName: "?method2@Class7@ns@@QEAAXXZ", RVA: 0x1000 + 64*37, FromPublic: true}
	if !ok || !reflect.DeepEqual(s, want) {
		t.Errorf("Lookup(past the end) = %+v, %v; want %+v", s, ok, want)
	}
}

func openFile(b *testing.B, path string) (*File, *os.File, int64) {
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	st, err := fh.Stat()
	if err != nil {
		b.Fatal(err)
	}
	f, err := Open(fh, st.Size())
	if err != nil {
		b.Fatal(err)
	}
	return f, fh, st.Size()
}

// BenchmarkOpen opens crash.pdb (1 MB, real) and a synthetic 100 MB PDB
// (10,000 modules, 360,000 procedures, contributions and publics).
func BenchmarkOpen(b *testing.B) {
	paths := map[string]string{
		"crash":     filepath.Join(sharedTestdata(b), testPDBs["crash"]),
		"synth100M": bigPDB(b),
	}
	for _, name := range []string{"crash", "synth100M"} {
		b.Run(name, func(b *testing.B) {
			st, err := os.Stat(paths[name])
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, fh, _ := openFile(b, paths[name])
				fh.Close()
			}
		})
	}
}

// BenchmarkLookup looks up addresses spread over the synthetic PDB; the first
// pass over a module parses it (lazy load), later ones hit the indexes.
func BenchmarkLookup(b *testing.B) {
	f, fh, _ := openFile(b, bigPDB(b))
	defer fh.Close()
	const n = 10000 * 36
	b.Run("cold+warm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g := uint32(i*7919) % n
			if _, ok := f.Lookup(0x1000 + g*64 + 20); !ok {
				b.Fatal("not found")
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g := uint32(i*7919) % 1000
			if _, ok := f.Lookup(0x1000 + g*64 + 20); !ok {
				b.Fatal("not found")
			}
		}
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigPath != "" {
		os.RemoveAll(filepath.Dir(bigPath))
	}
	os.Exit(code)
}
