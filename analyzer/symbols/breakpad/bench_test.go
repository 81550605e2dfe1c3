package breakpad

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func benchParseFile(b *testing.B, path string) {
	data, err := os.ReadFile(filepath.Join(testdataDir(b), path))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTestApp(b *testing.B)  { benchParseFile(b, testAppSym) }
func BenchmarkParseKernel32(b *testing.B) { benchParseFile(b, kernel32Sym) }

// largeSym builds a Linux-style symbol file of about 40 MB: 100k functions
// with 8 lines each, CFI for each, and publics.
func largeSym() []byte {
	var buf bytes.Buffer
	buf.WriteString("MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libbig.so\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&buf, "FILE %d /build/src/some/long/directory/name/file_%d.cc\n", i, i)
	}
	for i := 0; i < 100000; i++ {
		a := 0x1000 + uint64(i)*0x100
		fmt.Fprintf(&buf, "FUNC %x 100 0 namespace_%d::Class<int, std::allocator<int> >::method_%d(int, char const*)\n", a, i%50, i)
		for j := 0; j < 8; j++ {
			fmt.Fprintf(&buf, "%x 20 %d %d\n", a+uint64(j)*0x20, 100+j, i%2000)
		}
	}
	for i := 0; i < 100000; i++ {
		a := 0x1000 + uint64(i)*0x100
		fmt.Fprintf(&buf, "STACK CFI INIT %x 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n", a)
		fmt.Fprintf(&buf, "STACK CFI %x .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n", a+1)
		fmt.Fprintf(&buf, "STACK CFI %x .cfa: $rbp 16 +\n", a+4)
	}
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&buf, "PUBLIC %x 0 public_symbol_%d\n", 0x1000000+uint64(i)*0x10, i)
	}
	return buf.Bytes()
}

func BenchmarkParseLarge(b *testing.B) {
	data := largeSym()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var f *File
	for b.Loop() {
		var err error
		if f, err = Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heapMB")
	b.ReportMetric(float64(len(data))/(1<<20), "fileMB")
	runtime.KeepAlive(f)
}

func BenchmarkLookup(b *testing.B) {
	f, err := Parse(bytes.NewReader(largeSym()))
	if err != nil {
		b.Fatal(err)
	}
	i := uint64(0)
	for b.Loop() {
		i++
		f.Lookup(0x1000 + (i*7919)%(100000*0x100))
	}
}

func BenchmarkFindCFI(b *testing.B) {
	f, err := Parse(bytes.NewReader(largeSym()))
	if err != nil {
		b.Fatal(err)
	}
	i := uint64(0)
	for b.Loop() {
		i++
		f.FindCFI(0x1000 + (i*7919)%(100000*0x100))
	}
}
