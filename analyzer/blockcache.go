package analyzer

import "io"

// blockCache serves small reads of the dump from cached 64 KiB blocks. The
// reader and the stack walker read a few bytes at a time, and a system call
// per read cost more than the analysis. At most maxBlocks are kept, so
// memory does not grow with the size of the dump.
type blockCache struct {
	r      io.ReaderAt
	size   int64
	blocks map[int64][]byte
	order  []int64 // insertion order, for eviction
}

const (
	blockSize = 64 << 10
	maxBlocks = 256 // 16 MiB
)

func newBlockCache(r io.ReaderAt, size int64) *blockCache {
	return &blockCache{r: r, size: size, blocks: map[int64][]byte{}}
}

func (c *blockCache) block(i int64) ([]byte, error) {
	if b, ok := c.blocks[i]; ok {
		return b, nil
	}
	off := i * blockSize
	n := int64(blockSize)
	if off+n > c.size {
		n = c.size - off
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	if len(c.order) >= maxBlocks {
		delete(c.blocks, c.order[0])
		c.order = c.order[1:]
	}
	c.blocks[i] = b
	c.order = append(c.order, i)
	return b, nil
}

// ReadAt reads through the cache; large reads go straight to the file.
func (c *blockCache) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= c.size {
		return 0, io.EOF
	}
	if len(p) > blockSize {
		return c.r.ReadAt(p, off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= c.size {
			return n, io.EOF
		}
		b, err := c.block(pos / blockSize)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], b[pos%blockSize:])
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}
