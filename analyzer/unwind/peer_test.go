package unwind

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPeerDump writes, for the comparison with minidump_stackwalk described
// in README.md, the crashing thread's frames of every dump as
// "file|frame|module|offset|trust". It runs only when PEER_OUT is set.
func TestPeerDump(t *testing.T) {
	out := os.Getenv("PEER_OUT")
	if out == "" {
		t.Skip("set PEER_OUT")
	}
	var b strings.Builder
	for _, p := range allDumps(t) {
		w := openWalk(t, p)
		if w == nil || w.d.Exception == nil || w.d.Exception.Context == nil {
			continue
		}
		c := w.d.Exception.Context
		var frames []Frame
		opts := Options{StackLimits: stackLimits(w.d)}
		switch {
		case c.AMD64 != nil:
			frames = WalkAMD64(c.AMD64, w.d, w.ms, opts)
		case c.X86 != nil:
			frames = WalkX86(c.X86, w.d, w.ms, opts)
		}
		rel := strings.TrimPrefix(p, sharedTestdata(t)+string(filepath.Separator))
		for i, f := range frames {
			mod, off := "", f.PC
			if m := w.ms.ModuleAt(f.PC); m != nil {
				mod, off = m.Name(), f.PC-m.Base()
			}
			fmt.Fprintf(&b, "%s|%d|%s|%#x|%s\n", rel, i, mod, off, f.Trust)
		}
		w.f.Close()
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
