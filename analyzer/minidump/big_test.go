package minidump

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/internal/synthdump"
)

func bigDump(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "big20.dmp")
	if err := synthdump.WriteSparseFullDump(p, 20); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestBigDump opens a 20 GB sparse full dump: the reader must not touch the
// memory data, only the directory and descriptors.
func TestBigDump(t *testing.T) {
	d, err := openFile(t, bigDump(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Threads) != 1 || d.Threads[0].ID != 0x1f00 || !d.FullMemory {
		t.Fatalf("threads %+v full %v", d.Threads, d.FullMemory)
	}
	last := uint64(0x10000000000) + 20<<30 - 8
	if v, ok := d.ReadU64(last); !ok || v != 0 {
		t.Errorf("read at the end of the 20th GiB: %#x %v", v, ok)
	}
	if _, ok := d.ReadU64(last + 8); ok {
		t.Errorf("read past the captured memory succeeded")
	}
	if got := d.Threads[0].Context.AMD64.Rip; got != 0x7ff600001234 {
		t.Errorf("rip %#x", got)
	}
}

func BenchmarkOpenBigDump(b *testing.B) {
	p := bigDump(b)
	f, _ := os.Open(p)
	defer f.Close()
	st, _ := f.Stat()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Open(f, st.Size()); err != nil {
			b.Fatal(err)
		}
	}
}
