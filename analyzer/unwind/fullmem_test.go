package unwind

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/klauspost/compress/zstd"
)

// TestFullMemoryDumpImagesFromMemory walks every thread of the one
// full-memory Wine dump with images rebuilt from the dump itself (no file
// beside it), and compares the frames with LLDB's, which had the files.
func TestFullMemoryDumpImagesFromMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 94 MB")
	}
	dir := filepath.Join(sharedTestdata(t), "wine", "dumps", "av_threads")
	zf, err := os.Open(filepath.Join(dir, "av_threads_x64_mingw_full.dmp.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zr, err := zstd.NewReader(zf)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	d, err := minidump.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var ms testModules
	for i := range d.Modules {
		dm := &d.Modules[i]
		base := dm.Base
		im, err := pe.OpenMapped(func(rva uint32, p []byte) (int, error) { return d.ReadMemory(base+uint64(rva), p) }, dm.Size)
		if err != nil {
			t.Fatalf("%s: %v", dm.Name, err)
		}
		ms = append(ms, &ImageModule{BaseAddr: base, SizeOfImage: uint64(dm.Size), ModuleName: dm.FileName(), Image: im})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].BaseAddr < ms[j].BaseAddr })
	lldb := lldbBacktraces(t, filepath.Join(dir, "av_threads_x64_mingw_full.lldb.txt"))
	if len(lldb) != len(d.Threads) {
		t.Fatalf("LLDB has %d threads, the dump %d", len(lldb), len(d.Threads))
	}
	for i, th := range d.Threads {
		ctx := th.Context
		if d.Exception != nil && th.ID == d.Exception.ThreadID {
			ctx = d.Exception.Context
		}
		frames := WalkAMD64(ctx.AMD64, d, ms, Options{StackLimits: stackLimits(d)})
		var pcs []uint64
		for _, f := range frames {
			pcs = append(pcs, f.PC)
			if f.Trust != TrustCFI && f.Trust != TrustContext && f.Trust != TrustLeaf {
				t.Errorf("thread %d: frame %#x found by %s", i, f.PC, f.Trust)
			}
		}
		if len(pcs) != len(lldb[i]) {
			t.Errorf("thread %d: %#x, LLDB %#x", i, pcs, lldb[i])
			continue
		}
		for k := range pcs {
			if pcs[k] != lldb[i][k] {
				t.Errorf("thread %d frame %d: %#x, LLDB %#x", i, k, pcs[k], lldb[i][k])
			}
		}
	}
}
