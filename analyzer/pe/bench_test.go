package pe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func benchFile(b *testing.B, name string) []byte {
	data, err := os.ReadFile(filepath.Join(sharedTestdata(b), "wine", "dumps", "_wine_dlls", "x64", name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkOpenKernelbase(b *testing.B) {
	data := benchFile(b, "kernelbase.dll")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Open(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenMappedKernelbase(b *testing.B) {
	data := benchFile(b, "kernelbase.dll")
	im, _ := Open(bytes.NewReader(data), int64(len(data)))
	mem := mapLikeLoader(b, data, im)
	fast := func(rva uint32, p []byte) (int, error) { return copy(p, mem[rva:]), nil }
	b.SetBytes(int64(len(mem)))
	for b.Loop() {
		if _, err := OpenMapped(fast, uint32(len(mem))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExportAt(b *testing.B) {
	data := benchFile(b, "kernelbase.dll")
	im, _ := Open(bytes.NewReader(data), int64(len(data)))
	n := uint32(0)
	for b.Loop() {
		im.ExportAt(0x1000 + n%0x50000)
		n += 97
	}
}

func BenchmarkReadRVA(b *testing.B) {
	data := benchFile(b, "kernelbase.dll")
	im, _ := Open(bytes.NewReader(data), int64(len(data)))
	buf := make([]byte, 16)
	n := uint32(0)
	for b.Loop() {
		im.ReadRVA(0x1000+n%0x50000, buf)
		n += 97
	}
}
