package unwind

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	lldbThreadRE = regexp.MustCompile(`^\*? *thread #(\d+)`)
	lldbFrameRE  = regexp.MustCompile(`^\s*\*? *frame #(\d+): 0x([0-9a-f]+)`)
)

// lldbBacktraces reads the first "bt all" of an LLDB transcript: the PCs of
// each thread, in LLDB's thread order.
func lldbBacktraces(t *testing.T, path string) [][]uint64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]uint64
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "(lldb) ") {
			if in {
				break
			}
			in = l == "(lldb) bt all"
			continue
		}
		if !in {
			continue
		}
		if lldbThreadRE.MatchString(l) {
			out = append(out, nil)
		} else if m := lldbFrameRE.FindStringSubmatch(l); m != nil && len(out) > 0 {
			pc, _ := strconv.ParseUint(m[2], 16, 64)
			out[len(out)-1] = append(out[len(out)-1], pc)
		}
	}
	return out
}

// TestWineAgainstLLDB compares every thread of every Wine dump with LLDB
// 14's backtraces (a peer, not the truth). They must agree everywhere but
// in the dumps whose crash is inside mingw's ___chkstk_ms, which has no
// RUNTIME_FUNCTION: LLDB then loses the stack after one to three frames,
// while the programs' expected functions show ours is right
// (TestWineGolden).
func TestWineAgainstLLDB(t *testing.T) {
	for _, c := range wineCases(t) {
		name := filepath.Base(c.dump)
		transcript := strings.TrimSuffix(c.dump, ".dmp") + ".lldb.txt"
		if _, err := os.Stat(transcript); err != nil {
			continue
		}
		lldb := lldbBacktraces(t, transcript)
		d := openDump(t, c.dump)
		ms := wineModules(t, d, c.exeDir)
		if len(lldb) != len(d.Threads) {
			t.Errorf("%s: LLDB shows %d threads, the dump has %d", name, len(lldb), len(d.Threads))
			continue
		}
		chkstk := len(c.selfWalk) > 1 && c.selfWalk[1].Module == "?"
		for i, th := range d.Threads {
			ctx := th.Context
			if d.Exception != nil && th.ID == d.Exception.ThreadID {
				ctx = d.Exception.Context
			}
			var ours []uint64
			var frames []Frame
			if ctx != nil && ctx.AMD64 != nil {
				frames = WalkAMD64(ctx.AMD64, d, ms, Options{StackLimits: stackLimits(d)})
				for _, f := range frames {
					ours = append(ours, f.PC)
				}
			}
			same := len(ours) == len(lldb[i])
			for k := 0; same && k < len(ours); k++ {
				same = ours[k] == lldb[i][k]
			}
			if !same && !chkstk {
				t.Errorf("%s thread %d (tid %d): ours %#x\nlldb %#x\n%s", name, i, th.ID, ours, lldb[i], formatFrames(ms, frames))
			}
			if same && chkstk && i == 0 {
				t.Errorf("%s: expected LLDB to fail in ___chkstk_ms", name)
			}
		}
	}
}
