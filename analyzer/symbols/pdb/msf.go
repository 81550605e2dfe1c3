package pdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors returned by Open.
var (
	ErrNotPDB  = errors.New("pdb: not an MSF 7.00 file")
	ErrCorrupt = errors.New("pdb: corrupt file")
)

var msfMagic = []byte("Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00")

const nilStreamSize = 0xFFFFFFFF

// msf is the multi-stream container: an MSF 7.00 SuperBlock
// (BlockSize, NumBlocks, NumDirectoryBytes, BlockMapAddr) and the stream
// directory (NumStreams, StreamSizes[], StreamBlocks[][]).
type msf struct {
	r         io.ReaderAt
	blockSize uint32
	numBlocks uint32
	sizes     []uint32
	blocks    [][]uint32
}

func openMSF(r io.ReaderAt, size int64) (*msf, error) {
	var sb [56]byte
	if size < int64(len(sb)) {
		return nil, ErrNotPDB
	}
	if _, err := r.ReadAt(sb[:], 0); err != nil {
		return nil, fmt.Errorf("pdb: reading superblock: %w", err)
	}
	if !bytes.Equal(sb[:32], msfMagic) {
		return nil, ErrNotPDB
	}
	m := &msf{r: r}
	m.blockSize = binary.LittleEndian.Uint32(sb[32:])
	m.numBlocks = binary.LittleEndian.Uint32(sb[40:])
	dirBytes := binary.LittleEndian.Uint32(sb[44:])
	blockMapAddr := binary.LittleEndian.Uint32(sb[52:])
	switch m.blockSize {
	case 512, 1024, 2048, 4096, 8192, 16384, 32768:
	default:
		return nil, fmt.Errorf("%w: block size %d", ErrCorrupt, m.blockSize)
	}
	// Files are sometimes truncated; the blocks actually present bound everything.
	if avail := uint64(size) / uint64(m.blockSize); uint64(m.numBlocks) > avail {
		m.numBlocks = uint32(avail)
	}
	if blockMapAddr >= m.numBlocks {
		return nil, fmt.Errorf("%w: block map address %d", ErrCorrupt, blockMapAddr)
	}
	if uint64(dirBytes) > uint64(m.numBlocks)*uint64(m.blockSize) || dirBytes < 4 {
		return nil, fmt.Errorf("%w: directory size %d", ErrCorrupt, dirBytes)
	}
	nDirBlocks := (dirBytes + m.blockSize - 1) / m.blockSize
	if nDirBlocks*4 > m.blockSize {
		return nil, fmt.Errorf("%w: directory needs %d blocks", ErrCorrupt, nDirBlocks)
	}
	mapBuf := make([]byte, nDirBlocks*4)
	if _, err := r.ReadAt(mapBuf, int64(blockMapAddr)*int64(m.blockSize)); err != nil {
		return nil, fmt.Errorf("pdb: reading block map: %w", err)
	}
	dirBlocks := make([]uint32, nDirBlocks)
	for i := range dirBlocks {
		dirBlocks[i] = binary.LittleEndian.Uint32(mapBuf[i*4:])
	}
	dir, err := m.read(dirBlocks, dirBytes)
	if err != nil {
		return nil, fmt.Errorf("pdb: reading stream directory: %w", err)
	}
	n := binary.LittleEndian.Uint32(dir)
	if uint64(n)*4+4 > uint64(len(dir)) {
		return nil, fmt.Errorf("%w: %d streams", ErrCorrupt, n)
	}
	m.sizes = make([]uint32, n)
	m.blocks = make([][]uint32, n)
	off := 4 + int(n)*4
	for i := range m.sizes {
		s := binary.LittleEndian.Uint32(dir[4+i*4:])
		if s == nilStreamSize {
			s = 0
		}
		nb := (uint64(s) + uint64(m.blockSize) - 1) / uint64(m.blockSize)
		if uint64(off)+nb*4 > uint64(len(dir)) {
			return nil, fmt.Errorf("%w: stream %d block list", ErrCorrupt, i)
		}
		bl := make([]uint32, nb)
		for j := range bl {
			bl[j] = binary.LittleEndian.Uint32(dir[off:])
			off += 4
		}
		m.sizes[i] = s
		m.blocks[i] = bl
	}
	return m, nil
}

// read assembles size bytes from the given blocks, coalescing runs of
// consecutive blocks into single reads.
func (m *msf) read(blocks []uint32, size uint32) ([]byte, error) {
	if uint64(len(blocks))*uint64(m.blockSize) < uint64(size) {
		return nil, ErrCorrupt
	}
	buf := make([]byte, size)
	bs := int64(m.blockSize)
	for i, done := 0, uint32(0); done < size; {
		j := i + 1
		for j < len(blocks) && blocks[j] == blocks[j-1]+1 && uint64(j-i)*uint64(bs) < uint64(size-done) {
			j++
		}
		for _, b := range blocks[i:j] {
			if b >= m.numBlocks {
				return nil, fmt.Errorf("%w: block %d out of range", ErrCorrupt, b)
			}
		}
		n := uint64(j-i) * uint64(bs)
		if n > uint64(size-done) {
			n = uint64(size - done)
		}
		if _, err := m.r.ReadAt(buf[done:done+uint32(n)], int64(blocks[i])*bs); err != nil {
			return nil, err
		}
		done += uint32(n)
		i = j
	}
	return buf, nil
}

// stream returns the whole content of stream i; a missing stream reads as
// empty.
func (m *msf) stream(i int) ([]byte, error) {
	if i < 0 || i >= len(m.sizes) {
		return nil, nil
	}
	return m.read(m.blocks[i], m.sizes[i])
}

// le is a bounds-checked little-endian view over a byte slice: reads past
// the end return zero and set bad.
type le struct {
	b   []byte
	bad bool
}

func (r *le) u8(off int) uint8 {
	if off < 0 || off+1 > len(r.b) {
		r.bad = true
		return 0
	}
	return r.b[off]
}

func (r *le) u16(off int) uint16 {
	if off < 0 || off+2 > len(r.b) {
		r.bad = true
		return 0
	}
	return binary.LittleEndian.Uint16(r.b[off:])
}

func (r *le) u32(off int) uint32 {
	if off < 0 || off+4 > len(r.b) {
		r.bad = true
		return 0
	}
	return binary.LittleEndian.Uint32(r.b[off:])
}

func (r *le) i32(off int) int32 { return int32(r.u32(off)) }

// cstr reads a zero-terminated string starting at off.
func (r *le) cstr(off int) string {
	if off < 0 || off > len(r.b) {
		r.bad = true
		return ""
	}
	i := bytes.IndexByte(r.b[off:], 0)
	if i < 0 {
		return string(r.b[off:])
	}
	return string(r.b[off : off+i])
}
