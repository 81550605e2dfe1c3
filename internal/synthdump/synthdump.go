// Package synthdump writes synthetic minidumps for tests and benchmarks:
// shapes the real corpus lacks, such as a 20 GB full-memory dump.
package synthdump

import (
	"encoding/binary"
	"os"
)

var le = binary.LittleEndian

// Stream is one stream to write: its type and bytes. Offsets inside Data
// that must point into the file are patched by Fix after layout.
type Stream struct {
	Type uint32
	Data []byte
	// Fix is called with the file offset where Data lands, to patch RVAs.
	Fix func(data []byte, at uint32)
}

// Build lays out a minidump: header, directory, then each stream.
func Build(streams []Stream, flags uint64) []byte {
	hdr := make([]byte, 32)
	le.PutUint32(hdr[0:], 0x504d444d)
	le.PutUint32(hdr[4:], 0xa793)
	le.PutUint32(hdr[8:], uint32(len(streams)))
	le.PutUint32(hdr[12:], 32)
	le.PutUint32(hdr[20:], 1700000000)
	le.PutUint64(hdr[24:], flags)
	dir := make([]byte, 12*len(streams))
	out := append(hdr, dir...)
	for i, s := range streams {
		at := uint32(len(out))
		data := append([]byte(nil), s.Data...)
		if s.Fix != nil {
			s.Fix(data, at)
		}
		le.PutUint32(out[32+12*i:], s.Type)
		le.PutUint32(out[32+12*i+4:], uint32(len(data)))
		le.PutUint32(out[32+12*i+8:], at)
		out = append(out, data...)
	}
	return out
}

// SystemInfoAMD64 is a MINIDUMP_SYSTEM_INFO for Windows 10 on amd64.
func SystemInfoAMD64() []byte {
	b := make([]byte, 56)
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[2:], 6)
	b[6] = 2
	b[7] = 1
	le.PutUint32(b[8:], 10)
	le.PutUint32(b[16:], 19045)
	le.PutUint32(b[20:], 2)
	return b
}

// WriteSparseFullDump writes an amd64 full-memory dump whose Memory64List
// covers gib GiB in 1 GiB ranges; the memory bytes are a hole in the file,
// so it costs no disk. One thread (id 0x1f00) has a 4 KB stack.
func WriteSparseFullDump(path string, gib int) error {
	const stackBase = 0xd2a0f00000
	ctx := make([]byte, 1232)
	le.PutUint32(ctx[0x30:], 0x10001f)
	le.PutUint64(ctx[0x98:], stackBase+0x800)
	le.PutUint64(ctx[0xa0:], stackBase+0x840)
	le.PutUint64(ctx[0xf8:], 0x7ff600001234)
	stack := make([]byte, 4096)
	// Thread list: count, MINIDUMP_THREAD, then the context and stack bytes.
	tl := make([]byte, 4+48)
	le.PutUint32(tl[0:], 1)
	le.PutUint32(tl[4:], 0x1f00)
	le.PutUint64(tl[20:], 0xd2a0c00000)
	le.PutUint64(tl[28:], stackBase)
	le.PutUint32(tl[36:], 4096)
	le.PutUint32(tl[44:], 1232)
	tl = append(tl, ctx...)
	tl = append(tl, stack...)
	fixThreads := func(d []byte, at uint32) {
		le.PutUint32(d[48:], at+52)      // context rva
		le.PutUint32(d[40:], at+52+1232) // stack rva
	}
	m64 := make([]byte, 16+16*gib)
	le.PutUint64(m64[0:], uint64(gib))
	for i := 0; i < gib; i++ {
		le.PutUint64(m64[16+16*i:], 0x10000000000+uint64(i)<<30)
		le.PutUint64(m64[16+16*i+8:], 1<<30)
	}
	b := Build([]Stream{
		{Type: 7, Data: SystemInfoAMD64()},
		{Type: 3, Data: tl, Fix: fixThreads},
		{Type: 9, Data: m64, Fix: func(d []byte, at uint32) { le.PutUint64(d[8:], uint64(at)+uint64(len(d))) }},
	}, 0x2)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(int64(len(b)) + int64(gib)<<30); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
