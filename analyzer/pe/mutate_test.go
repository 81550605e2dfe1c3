package pe

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
	"time"
)

// TestMutatedImages is a deterministic complement to the fuzzers (which run
// only with -fuzz): real images with header-heavy random 32-bit writes, in
// both layouts, must parse or fail without panicking, each within a second.
func TestMutatedImages(t *testing.T) {
	seeds := fuzzSeedsT(t)
	rng := rand.New(rand.NewSource(2))
	vals := []uint32{0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 0x10000, 0x1000, 0x200}
	for i := 0; i < 3000; i++ {
		s := append([]byte(nil), seeds[rng.Intn(len(seeds))]...)
		for k := 0; k < 1+rng.Intn(6); k++ {
			off := rng.Intn(len(s) - 4)
			if rng.Intn(2) == 0 {
				off = rng.Intn(min(len(s)-4, 1024))
			}
			v := vals[rng.Intn(len(vals))]
			if rng.Intn(3) == 0 {
				v = rng.Uint32()
			}
			binary.LittleEndian.PutUint32(s[off:], v)
		}
		st := time.Now()
		mapped := rng.Intn(2) == 0
		if mapped {
			im, err := OpenMapped(readerOver(s, nil), uint32(len(s)))
			if err == nil {
				exercise(im)
			}
		} else {
			im, err := Open(bytes.NewReader(s), int64(len(s)))
			if err == nil {
				exercise(im)
			}
		}
		if d := time.Since(st); d > time.Second {
			t.Errorf("iteration %d (mapped %v) took %v", i, mapped, d)
		}
	}
}
