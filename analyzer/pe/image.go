// Package pe reads the parts of a Windows PE image that crash analysis needs:
// headers, sections, exports, the CodeView record that names the PDB, the
// file version, and the image's bytes as mapped at any RVA.
//
// It opens a file (file layout) or an image as mapped in a process (from a
// full dump's memory). The headers, section table, exports and version
// resource are decoded here with bounds checks; the debug directory is
// parsed by github.com/saferwall/pe behind the guards described in
// README.md. Nothing here prints, logs or panics on hostile input.
package pe

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// MaxImageSize bounds the bytes Open and OpenMapped read into memory.
const MaxImageSize = 256 << 20

// ErrTooLarge is returned (wrapped) for images above MaxImageSize.
var ErrTooLarge = errors.New("image too large")

// ErrUnmapped is returned (wrapped) by ReadRVA for RVAs no section maps.
var ErrUnmapped = errors.New("rva not mapped")

// Range is a span of RVAs.
type Range struct{ RVA, Size uint32 }

// Image is a parsed PE image. It is safe for concurrent use once opened.
type Image struct {
	h        *headers
	segs     []segment // sorted by rva
	extent   uint64    // end of the highest segment
	file     []byte    // file layout (nil for mapped images)
	mapped   bool
	exports  []Export
	cv       CodeViewInfo
	hasCV    bool
	version  string
	hasVer   bool
	warnings []string

	// Partial is set by OpenMapped when some pages of the image could not
	// be read; Missing lists them (they read as zeros).
	Partial bool
	Missing []Range
}

// segment is one mapped span: RVAs [rva, rva+size) whose first len(raw)
// bytes come from raw and the rest read as zeros.
type segment struct {
	rva, size uint32
	raw       []byte
}

// Open parses a PE file (file layout) of the given size. It reads the whole
// file into memory, so size must not exceed MaxImageSize.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	if size < 0 {
		return nil, fmt.Errorf("pe.Open: negative size %d", size)
	}
	if size > MaxImageSize {
		return nil, fmt.Errorf("pe.Open: %d bytes: %w (limit %d)", size, ErrTooLarge, MaxImageSize)
	}
	data := make([]byte, size)
	// A ReaderAt may return io.EOF along with a full read.
	if n, err := r.ReadAt(data, 0); int64(n) != size {
		return nil, fmt.Errorf("pe.Open: read %d of %d bytes: %w", n, size, err)
	}
	return openFile(data)
}

func openFile(data []byte) (*Image, error) {
	h, err := parseHeaders(data)
	if err != nil {
		return nil, fmt.Errorf("pe.Open: %w", err)
	}
	h.resolveLongNames(data)
	im := &Image{h: h}
	im.segs = fileSegments(h, data)
	im.file = data
	im.cv, im.hasCV = im.codeViewFromSaferwall(data, false)
	im.finish()
	return im, nil
}

// fileSegments reproduces what the Windows loader maps from a file: the
// headers at RVA 0, and each section's raw data at its VirtualAddress,
// zero-filled up to its VirtualSize rounded to SectionAlignment.
func fileSegments(h *headers, data []byte) []segment {
	fileLen := uint64(len(data))
	limit := uint64(h.sizeOfImage)
	clip := func(rva uint32, size uint64) uint32 {
		if uint64(rva) >= limit {
			return 0
		}
		return uint32(min(size, limit-uint64(rva)))
	}
	var segs []segment
	hdr := min(uint64(h.sizeOfHeaders), fileLen)
	if hs := clip(0, alignUp(h.sizeOfHeaders, h.sectionAlignment)); hs > 0 {
		segs = append(segs, segment{rva: 0, size: hs, raw: data[:min(hdr, uint64(hs))]})
	}
	for _, s := range h.sections {
		size := clip(s.VirtualAddress, alignUp(s.mappedSize(), h.sectionAlignment))
		if size == 0 {
			continue
		}
		// The loader rounds PointerToRawData down to 512 bytes when the file
		// alignment is at least that.
		ptr := uint64(s.PointerToRawData)
		if h.fileAlignment >= 0x200 {
			ptr &^= 0x1FF
		}
		n := min(uint64(s.SizeOfRawData), uint64(s.mappedSize()), uint64(size))
		var raw []byte
		if ptr < fileLen {
			raw = data[ptr:min(ptr+n, fileLen)]
		}
		segs = append(segs, segment{rva: s.VirtualAddress, size: size, raw: raw})
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].rva < segs[j].rva })
	return segs
}

// OpenMapped parses an image as mapped in a process. read returns the bytes
// at an RVA (for a dump: at module base + rva). The headers are read at RVA 0
// and the sections at their VirtualAddress; unreadable pages become zeros and
// are listed in Missing. sizeOfImage is the mapped size (MINIDUMP_MODULE.
// SizeOfImage), at most MaxImageSize.
//
// The loader writes the actual load address into the mapped
// IMAGE_OPTIONAL_HEADER.ImageBase, so ImageBase returns that.
func OpenMapped(read func(rva uint32, p []byte) (int, error), sizeOfImage uint32) (*Image, error) {
	if sizeOfImage > MaxImageSize {
		return nil, fmt.Errorf("pe.OpenMapped: %d bytes: %w (limit %d)", sizeOfImage, ErrTooLarge, MaxImageSize)
	}
	mem := make([]byte, sizeOfImage)
	im := &Image{mapped: true}
	first := min(sizeOfImage, pageSize)
	if n, _ := safeRead(read, 0, mem[:first]); n < 64 {
		return nil, fmt.Errorf("pe.OpenMapped: headers unreadable (%d bytes): %w", n, ErrNotPE)
	} else if uint32(n) < first {
		im.addMissing(uint32(n), first-uint32(n))
	}
	h, err := parseHeaders(mem[:first])
	if err != nil {
		// The headers may be longer than a page.
		if hs := binaryHeaderSize(mem[:first]); hs > first && hs <= sizeOfImage {
			im.fill(read, mem, first, hs-first)
			h, err = parseHeaders(mem[:hs])
		}
		if err != nil {
			return nil, fmt.Errorf("pe.OpenMapped: %w", err)
		}
	} else if hs := min(h.sizeOfHeaders, sizeOfImage); hs > first {
		im.fill(read, mem, first, hs-first)
	}
	for _, s := range h.sections {
		if s.VirtualAddress >= sizeOfImage {
			continue
		}
		n := uint32(min(alignUp(s.mappedSize(), h.sectionAlignment), uint64(sizeOfImage-s.VirtualAddress)))
		im.fill(read, mem, s.VirtualAddress, n)
	}
	if h.sizeOfImage != sizeOfImage {
		im.warnf("SizeOfImage in the headers is 0x%x, mapped size is 0x%x", h.sizeOfImage, sizeOfImage)
	}
	im.h = h
	im.segs = []segment{{rva: 0, size: sizeOfImage, raw: mem}}
	im.cv, im.hasCV = im.codeViewFromSaferwall(mem, true)
	im.finish()
	return im, nil
}

const pageSize = 0x1000

// binaryHeaderSize reads SizeOfHeaders from a possibly truncated header.
func binaryHeaderSize(b []byte) uint32 {
	if len(b) < 0x40 {
		return 0
	}
	lfanew := uint64(le32(b[0x3C:]))
	off := lfanew + 4 + fileHeaderSize + 60
	if off+4 > uint64(len(b)) {
		return 0
	}
	return le32(b[off:])
}

// fill reads [rva, rva+n) into mem, in large reads where possible and page
// by page where a large read fails, recording what could not be read.
func (im *Image) fill(read func(uint32, []byte) (int, error), mem []byte, rva, n uint32) {
	const chunk = 64 << 10
	end := uint64(rva) + uint64(n)
	for cur := uint64(rva); cur < end; {
		next := min(end, cur+chunk)
		got, _ := safeRead(read, uint32(cur), mem[cur:next])
		if uint64(got) == next-cur {
			cur = next
			continue
		}
		// Retry the rest of this chunk page by page.
		for p := cur + uint64(got); p < next; {
			pe := min(next, (p/pageSize+1)*pageSize)
			g, _ := safeRead(read, uint32(p), mem[p:pe])
			if uint64(g) < pe-p {
				clear(mem[p+uint64(g) : pe])
				im.addMissing(uint32(p)+uint32(g), uint32(pe-p)-uint32(g))
			}
			p = pe
		}
		cur = next
	}
}

// safeRead calls read, clamping its count and turning a panic into a short
// read: the reader is the caller's code over hostile dump data.
func safeRead(read func(uint32, []byte) (int, error), rva uint32, p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("read panicked: %v", r)
		}
	}()
	n, err = read(rva, p)
	n = max(0, min(n, len(p)))
	return n, err
}

func (im *Image) addMissing(rva, size uint32) {
	im.Partial = true
	if k := len(im.Missing); k > 0 {
		last := &im.Missing[k-1]
		if uint64(last.RVA)+uint64(last.Size) == uint64(rva) {
			last.Size += size
			return
		}
	}
	im.Missing = append(im.Missing, Range{rva, size})
}

func (im *Image) warnf(format string, args ...any) {
	if len(im.warnings) < 32 {
		im.warnings = append(im.warnings, fmt.Sprintf(format, args...))
	}
}

// finish decodes what both layouts share, through ReadRVA.
func (im *Image) finish() {
	for _, s := range im.segs {
		im.extent = max(im.extent, uint64(s.rva)+uint64(s.size))
	}
	if !im.hasCV {
		im.cv, im.hasCV = im.codeViewOwn()
	}
	im.exports = im.parseExports()
	im.version, im.hasVer = im.parseVersion()
}

// Warnings lists what looked wrong while parsing (truncated tables,
// guarded library failures). The image is still usable.
func (im *Image) Warnings() []string { return append([]string(nil), im.warnings...) }

// Machine is IMAGE_FILE_HEADER.Machine.
func (im *Image) Machine() uint16 { return im.h.machine }

// Is64 reports a PE32+ optional header.
func (im *Image) Is64() bool { return im.h.is64() }

// ImageBase is IMAGE_OPTIONAL_HEADER.ImageBase.
func (im *Image) ImageBase() uint64 { return im.h.imageBase }

// SizeOfImage is IMAGE_OPTIONAL_HEADER.SizeOfImage.
func (im *Image) SizeOfImage() uint32 { return im.h.sizeOfImage }

// TimeDateStamp is IMAGE_FILE_HEADER.TimeDateStamp.
func (im *Image) TimeDateStamp() uint32 { return im.h.timeDateStamp }

// CodeID is the symbol-store key of the image file (Breakpad's code id):
// TimeDateStamp as %08X followed by SizeOfImage as %x.
func (im *Image) CodeID() string {
	return fmt.Sprintf("%08X%x", im.h.timeDateStamp, im.h.sizeOfImage)
}

// SizeOfStackReserve is IMAGE_OPTIONAL_HEADER.SizeOfStackReserve.
func (im *Image) SizeOfStackReserve() uint64 { return im.h.stackReserve }

// SizeOfStackCommit is IMAGE_OPTIONAL_HEADER.SizeOfStackCommit.
func (im *Image) SizeOfStackCommit() uint64 { return im.h.stackCommit }

// Characteristics is IMAGE_FILE_HEADER.Characteristics.
func (im *Image) Characteristics() uint16 { return im.h.characteristics }

// DllCharacteristics is IMAGE_OPTIONAL_HEADER.DllCharacteristics.
func (im *Image) DllCharacteristics() uint16 { return im.h.dllCharacteristics }

// LargeAddressAware reports IMAGE_FILE_LARGE_ADDRESS_AWARE.
func (im *Image) LargeAddressAware() bool {
	return im.h.characteristics&imageFileLargeAddressAware != 0
}

// Sections returns a copy of the section table.
func (im *Image) Sections() []Section { return append([]Section(nil), im.h.sections...) }

// DataDirectory returns IMAGE_OPTIONAL_HEADER.DataDirectory[i], or zeros for
// an index the header does not have.
func (im *Image) DataDirectory(i int) (rva, size uint32) {
	if i < 0 || i >= numDirs {
		return 0, 0
	}
	d := im.h.dirs[i]
	return d.rva, d.size
}

// SectionAt returns the section whose mapped span holds rva.
func (im *Image) SectionAt(rva uint32) (Section, bool) {
	for _, s := range im.h.sections {
		if rva >= s.VirtualAddress && uint64(rva) < uint64(s.VirtualAddress)+alignUp(s.mappedSize(), im.h.sectionAlignment) {
			return s, true
		}
	}
	return Section{}, false
}

// IsExecutableRVA reports whether rva lies in a section marked
// IMAGE_SCN_MEM_EXECUTE.
func (im *Image) IsExecutableRVA(rva uint32) bool {
	s, ok := im.SectionAt(rva)
	return ok && s.Executable() && rva < im.h.sizeOfImage
}

// ReadRVA reads the bytes mapped at rva, as the loader would map them:
// section data beyond SizeOfRawData reads as zeros. It returns fewer than
// len(p) bytes, with an error wrapping ErrUnmapped, at the first RVA that no
// header or section maps.
func (im *Image) ReadRVA(rva uint32, p []byte) (int, error) {
	n := 0
	cur := uint64(rva)
	for n < len(p) {
		s := im.segmentAt(cur)
		if s == nil {
			return n, fmt.Errorf("pe: read at rva 0x%x: %w", cur, ErrUnmapped)
		}
		off := cur - uint64(s.rva)
		want := min(uint64(len(p)-n), uint64(s.size)-off)
		dst := p[n : n+int(want)]
		var c int
		if off < uint64(len(s.raw)) {
			c = copy(dst, s.raw[off:])
		}
		clear(dst[c:])
		n += int(want)
		cur += want
	}
	return n, nil
}

func (im *Image) segmentAt(rva uint64) *segment {
	// Segments are sorted by start; the nearest one starting at or below rva
	// that contains it wins. Hostile overlaps are searched only so far back.
	i := sort.Search(len(im.segs), func(i int) bool { return uint64(im.segs[i].rva) > rva })
	for j := i - 1; j >= 0 && i-j <= 16; j-- {
		s := &im.segs[j]
		if rva < uint64(s.rva)+uint64(s.size) {
			return s
		}
	}
	return nil
}

// maxRead bounds one table read, so hostile counts cannot size an
// allocation (the largest table read is 2^17 export addresses).
const maxRead = 16 << 20

// readBytes reads n bytes at rva, or fails.
func (im *Image) readBytes(rva uint32, n uint32) ([]byte, error) {
	if n > maxRead {
		return nil, fmt.Errorf("pe: read of 0x%x bytes refused", n)
	}
	if uint64(rva)+uint64(n) > im.extent {
		return nil, fmt.Errorf("pe: read 0x%x bytes at rva 0x%x: %w", n, rva, ErrUnmapped)
	}
	b := make([]byte, n)
	if _, err := im.ReadRVA(rva, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readCString reads a NUL-terminated string of at most max bytes at rva.
func (im *Image) readCString(rva uint32, max int) (string, bool) {
	var buf [256]byte
	var out []byte
	for len(out) < max {
		n, _ := im.ReadRVA(rva+uint32(len(out)), buf[:min(len(buf), max-len(out))])
		if n == 0 {
			return string(out), false
		}
		for i, c := range buf[:n] {
			if c == 0 {
				return string(append(out, buf[:i]...)), true
			}
		}
		out = append(out, buf[:n]...)
		if uint64(rva)+uint64(len(out)) > 0xFFFFFFFF {
			break
		}
	}
	return string(out), false
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
