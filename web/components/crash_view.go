package components

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// The crash view lays out registers, code and memory as WinDbg's r, u and
// db do, in fixed-width text; the page only adds the marks.

// A stored report is read as it was written, so the page bounds what it
// shows of a crash view even though the analyzer writes far less.
const (
	maxHexBytes    = 4096
	maxAsmLines    = 128
	maxCallerRows  = 256
	maxMemoryViews = 16
	maxOtherRegs   = 96
)

// regLayout is WinDbg's r layout per architecture: rows of register names.
var regLayout = map[string][][]string{
	"amd64": {
		{"rax", "rbx", "rcx"}, {"rdx", "rsi", "rdi"}, {"rip", "rsp", "rbp"},
		{"r8", "r9", "r10"}, {"r11", "r12", "r13"}, {"r14", "r15"},
	},
	"x86": {
		{"eax", "ebx", "ecx", "edx", "esi", "edi"}, {"eip", "esp", "ebp"},
	},
}

// RegisterText writes the registers known in a frame as WinDbg's r does:
// fixed-width rows, "?" for a register the frame does not know, then the
// flags decoded (iopl and nv up ei pl nz na pe nc). Registers outside the
// layout (other architectures) follow, sorted, three to a row.
func RegisterText(regs map[string]report.Addr, arch string) string {
	if len(regs) == 0 {
		return ""
	}
	digits := 16
	if arch == "x86" {
		digits = 8
	}
	var b strings.Builder
	used := map[string]bool{}
	value := func(name string) string {
		used[name] = true
		if v, ok := regs[name]; ok {
			return fmt.Sprintf("%0*x", digits, uint64(v))
		}
		return strings.Repeat("?", digits)
	}
	for _, row := range regLayout[arch] {
		for i, name := range row {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%3s=%s", name, value(name))
		}
		b.WriteByte('\n')
	}
	if v, ok := regs["eflags"]; ok {
		used["eflags"] = true
		fmt.Fprintf(&b, "iopl=%d %s efl=%08x\n", (uint64(v)>>12)&3, flagText(uint64(v)), uint64(v))
	}
	var rest []string
	for name := range regs {
		if !used[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	rest = rest[:min(len(rest), maxOtherRegs)]
	for i, name := range rest {
		if i%3 > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%3s=%016x", name, uint64(regs[name]))
		if i%3 == 2 || i == len(rest)-1 {
			b.WriteByte('\n')
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// flagText is WinDbg's flags mnemonics: of df if sf zf af pf cf.
func flagText(v uint64) string {
	bits := []struct {
		bit      uint
		set, clr string
	}{{11, "ov", "nv"}, {10, "dn", "up"}, {9, "ei", "di"}, {7, "ng", "pl"}, {6, "zr", "nz"}, {4, "ac", "na"}, {2, "pe", "po"}, {0, "cy", "nc"}}
	out := make([]string, len(bits))
	for i, f := range bits {
		out[i] = f.clr
		if v&(1<<f.bit) != 0 {
			out[i] = f.set
		}
	}
	return strings.Join(out, " ")
}

// windbgAddr writes an address as WinDbg does: 8 digits, or 16 split by a
// backtick.
func windbgAddr(a uint64, arch string) string {
	if arch == "x86" {
		return fmt.Sprintf("%08x", uint32(a))
	}
	return fmt.Sprintf("%08x`%08x", a>>32, uint32(a))
}

// AsmLine is one line of a disassembly window.
type AsmLine struct {
	Addr, Bytes, Text string
	Marked            bool
}

// AsmLines lays out a window's instructions: address, encoding padded to
// 8 bytes, text.
func AsmLines(w report.Disassembly, arch string) []AsmLine {
	ins := w.Instructions[:min(len(w.Instructions), maxAsmLines)]
	out := make([]AsmLine, 0, len(ins))
	for _, in := range ins {
		out = append(out, AsmLine{Addr: windbgAddr(uint64(in.Address), arch), Bytes: fmt.Sprintf("%-16s", in.Bytes), Text: in.Text, Marked: in.Marked})
	}
	return out
}

// HexCell is one byte of a memory window.
type HexCell struct {
	Text    string // two hex digits, or ?? when not captured
	Sep     string // what precedes it: " ", or "-" between the two halves
	Marked  bool   // the byte at the address
	Missing bool
}

// HexLine is one 16-byte line of a memory window.
type HexLine struct {
	Addr  string
	Cells []HexCell
	ASCII string
}

// HexLines lays out a memory window as WinDbg's db does.
func HexLines(m report.MemoryView, arch string) []HexLine {
	if m.Size <= 0 || m.Size > maxHexBytes || len(m.Bytes) != 2*m.Size {
		return nil
	}
	var out []HexLine
	for row := 0; row < m.Size; row += 16 {
		l := HexLine{Addr: windbgAddr(uint64(m.Start)+uint64(row), arch)}
		var ascii strings.Builder
		for i := row; i < min(row+16, m.Size); i++ {
			c := HexCell{Text: m.Bytes[2*i : 2*i+2], Sep: " ", Marked: uint64(m.Start)+uint64(i) == uint64(m.Address)}
			if i-row == 8 {
				c.Sep = "-"
			}
			c.Missing = c.Text == "??"
			ch := byte('?')
			if !c.Missing {
				fmt.Sscanf(c.Text, "%02x", &ch)
				if ch < 0x20 || ch > 0x7e {
					ch = '.'
				}
			}
			ascii.WriteByte(ch)
			l.Cells = append(l.Cells, c)
		}
		l.ASCII = ascii.String()
		out = append(out, l)
	}
	return out
}

// HexSegment is a run of a memory window's text: plain, a byte not
// captured, or the byte at the address.
type HexSegment struct {
	Text            string
	Marked, Missing bool
}

// HexSegments flattens lines into runs of text, so that the page writes
// them with no whitespace of its own between them.
func HexSegments(lines []HexLine) []HexSegment {
	var out []HexSegment
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			out = append(out, HexSegment{Text: plain.String()})
			plain.Reset()
		}
	}
	for _, l := range lines {
		plain.WriteString(l.Addr + " ")
		for _, c := range l.Cells {
			plain.WriteString(c.Sep)
			if c.Marked || c.Missing {
				flush()
				out = append(out, HexSegment{Text: c.Text, Marked: c.Marked, Missing: c.Missing})
				continue
			}
			plain.WriteString(c.Text)
		}
		plain.WriteString("  " + l.ASCII + "\n")
	}
	flush()
	return out
}

// Fold is a thread's frame list split around its recursion: the frames
// before it, one cycle, the rest of the repetitions and the frames after.
type Fold struct {
	Before, Cycle, Rest, After []report.Frame
	Repeats                    int
}

// FoldFrames splits frames (a thread's, from frame skip on) around the
// thread's recursion; ok is false when there is nothing to fold.
func FoldFrames(frames []report.Frame, r *report.Recursion, skip int) (Fold, bool) {
	if r == nil || len(r.Frames) == 0 || r.Repeats < 2 {
		return Fold{}, false
	}
	first, n := r.FirstFrame-skip, len(r.Frames)
	if first < 0 || first+n > len(frames) {
		return Fold{}, false
	}
	end := min(first+n*min(r.Repeats, len(frames)), len(frames)) // a stored report's count may be anything
	return Fold{Before: frames[:first], Cycle: frames[first : first+n], Rest: frames[first+n : end], After: frames[end:], Repeats: r.Repeats}, true
}

// CallerItem is one line of the crash view's callers: a frame's window,
// or a run of consecutive frames that return to the address an earlier
// frame's window shows (a recursion), listed once.
type CallerItem struct {
	Window report.Disassembly
	Run    []report.Disassembly // set for a run of two or more
}

// callerItems are the crash view's windows of frames 1 and up, with runs
// of repeated return addresses grouped.
func callerItems(cv *report.CrashView) []CallerItem {
	var out []CallerItem
	for _, w := range cv.Disassembly[:min(len(cv.Disassembly), maxCallerRows)] {
		if w.Frame == 0 {
			continue
		}
		if n := len(out); n > 0 && w.SameAs != nil {
			last := &out[n-1]
			prev := last.Window
			if len(last.Run) > 0 {
				prev = last.Run[len(last.Run)-1]
			}
			if prev.SameAs != nil && *prev.SameAs == *w.SameAs && prev.Frame+1 == w.Frame {
				if len(last.Run) == 0 {
					last.Run = []report.Disassembly{prev}
				}
				last.Run = append(last.Run, w)
				continue
			}
		}
		out = append(out, CallerItem{Window: w})
	}
	return out
}

// runSummary names a run of frames that repeat one call.
func runSummary(frames []report.Frame, run []report.Disassembly) string {
	first, last := run[0], run[len(run)-1]
	s := "frames " + Itoa(first.Frame) + "–" + Itoa(last.Frame)
	if f, ok := frameAt(frames, first.Frame); ok {
		s += " " + Frame(f)
	}
	return s + " (×" + Itoa(len(run)) + ", the same call as frame " + Itoa(*first.SameAs) + ")"
}

// frame0Window is the crash view's window at the instruction pointer.
func frame0Window(cv *report.CrashView) (report.Disassembly, bool) {
	for _, w := range cv.Disassembly {
		if w.Frame == 0 {
			return w, true
		}
	}
	return report.Disassembly{}, false
}

// crashFrames are the frames the crash view's windows number.
func crashFrames(r *report.Report) []report.Frame {
	if r.CrashingThread != nil {
		return r.CrashingThread.Frames
	}
	return nil
}

func frameAt(frames []report.Frame, k int) (report.Frame, bool) {
	if k < 0 || k >= len(frames) {
		return report.Frame{}, false
	}
	return frames[k], true
}

// howText says where a window's code came from and how its start was found.
func howText(w report.Disassembly) string {
	var parts []string
	switch w.Source {
	case "dump":
		parts = append(parts, "Code captured in the dump")
	case "image":
		parts = append(parts, "Code from the module's image file")
	case "dump+image":
		parts = append(parts, "Code from the dump and the module's image file")
	}
	switch w.StartFrom {
	case report.StartFunction:
		parts = append(parts, "decoded from the function's start")
	case report.StartAligned:
		parts = append(parts, "the instructions before the address are a best guess (x86 cannot be decoded backwards)")
	}
	if w.Frame > 0 {
		parts = append(parts, "the marked instruction is the call")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "."
}

// frameSummary names frame k for a caller's summary line.
func frameSummary(frames []report.Frame, k int) string {
	if f, ok := frameAt(frames, k); ok {
		return Itoa(k) + " " + Frame(f)
	}
	return Itoa(k)
}

func cycleText(n int) string {
	if n == 1 {
		return "this frame repeats"
	}
	return "these " + Itoa(n) + " frames repeat"
}
