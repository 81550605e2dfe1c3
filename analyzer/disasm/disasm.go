// Package disasm decodes the x86 or amd64 instructions around an address,
// as WinDbg's ub and u show them: a few before it and a few from it.
//
// x86 code cannot be decoded backwards: an instruction's first byte is only
// known by decoding from an earlier one. Window therefore decodes from the
// function's start when it is known (symbols, RUNTIME_FUNCTION) and lands
// on the address; otherwise it tries every start in the bytes before the
// address, keeps those that decode cleanly onto it (and, for a return
// address, end in a call), and picks the one whose instruction boundaries
// the others share most. The report says which way the start was found.
package disasm

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Memory reads the process's code: captured memory, or module images.
type Memory interface {
	// ReadMemory fills p from addr and returns how many bytes, from addr
	// on, it could read.
	ReadMemory(addr uint64, p []byte) (int, error)
}

// Request is one window to decode.
type Request struct {
	Mode    int    // 32 or 64
	Address uint64 // the instruction pointer, or a return address
	// Return says Address is a return address: the instruction that ends
	// at it is the call, and is marked; else the instruction at Address is.
	Return bool
	// FunctionStart is the start of the function holding the address, when
	// known (HasFunctionStart).
	FunctionStart    uint64
	HasFunctionStart bool
	// Before and After are how many instructions to show before Address
	// and from it.
	Before, After int
	// Symbol names an address for operands (x86asm.SymLookup); may be nil.
	Symbol x86asm.SymLookup
}

// Bounds on the bytes read around an address.
const (
	// maxInst is the longest x86 instruction.
	maxInst = 15
	// maxFunctionBytes bounds the decode from a function's start: beyond
	// it the aligned search is as good and cheaper.
	maxFunctionBytes = 16 << 10
	// maxBefore and maxAfter bound the instructions of a window.
	maxBefore, maxAfter = 32, 32
)

// Window decodes the instructions around req.Address.
func Window(mem Memory, req Request) report.Disassembly {
	req.Before = min(max(req.Before, 0), maxBefore)
	req.After = min(max(req.After, 0), maxAfter)
	if req.Mode != 32 {
		req.Mode = 64
	}
	out := report.Disassembly{Address: report.Addr(req.Address), Instructions: []report.Instruction{}}

	var before []inst
	how, note := report.StartAddress, ""
	if req.Before > 0 {
		if req.HasFunctionStart {
			before, note = fromFunctionStart(mem, req)
			if before != nil {
				how = report.StartFunction
			}
		}
		if before == nil {
			var n2 string
			before, n2 = aligned(mem, req)
			if before != nil {
				how = report.StartAligned
			}
			note = joinNotes(note, n2)
		}
	}
	if len(before) > req.Before {
		before = before[len(before)-req.Before:]
	}
	after, n3 := forward(mem, req)
	note = joinNotes(note, n3)
	if len(before) == 0 && len(after) == 0 {
		note = "no code around the address is in the dump or in a module image"
	}

	out.StartFrom = how
	out.BeforeCertain = how == report.StartFunction
	out.Start = report.Addr(req.Address)
	if len(before) > 0 {
		out.Start = report.Addr(before[0].addr)
	}
	if req.Return && len(before) > 0 && before[len(before)-1].Op != x86asm.CALL {
		note = joinNotes(note, "the instruction before the return address is not a call")
	}
	for i, in := range before {
		out.Instructions = append(out.Instructions, in.report(req, req.Return && i == len(before)-1))
	}
	for i, in := range after {
		out.Instructions = append(out.Instructions, in.report(req, !req.Return && i == 0))
	}
	out.Note = note
	return out
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// inst is one decoded instruction; bad marks a byte that did not decode.
type inst struct {
	addr  uint64
	bytes []byte
	bad   bool
	x86asm.Inst
}

func (in inst) report(req Request, marked bool) report.Instruction {
	text := "(bad)"
	if !in.bad {
		text = x86asm.IntelSyntax(in.Inst, in.addr, req.Symbol)
		if req.Mode == 32 {
			text = tidy32(text)
		}
	}
	return report.Instruction{Address: report.Addr(in.addr), Bytes: hex.EncodeToString(in.bytes), Text: text, Marked: marked}
}

// decodeRun decodes buf (at addr base) linearly from offset from until it
// reaches offset to; ok is false when an instruction does not decode or
// the run steps over to instead of landing on it.
func decodeRun(buf []byte, base uint64, from, to, mode int) ([]inst, bool) {
	var out []inst
	for off := from; off < to; {
		in, err := x86asm.Decode(buf[off:], mode)
		if err != nil || in.Len == 0 {
			return out, false
		}
		out = append(out, inst{addr: base + uint64(off), bytes: buf[off : off+in.Len], Inst: in})
		off += in.Len
		if off > to {
			return out, false
		}
	}
	return out, true
}

// fromFunctionStart decodes from the function's start up to the address.
func fromFunctionStart(mem Memory, req Request) ([]inst, string) {
	start, addr := req.FunctionStart, req.Address
	if start > addr || addr-start > maxFunctionBytes {
		return nil, ""
	}
	n := int(addr - start)
	if n == 0 {
		return nil, ""
	}
	buf := make([]byte, n+maxInst)
	got, _ := mem.ReadMemory(start, buf)
	if got < n {
		return nil, "the code from the function start is not all available"
	}
	run, ok := decodeRun(buf[:got], start, 0, n, req.Mode)
	if !ok {
		return nil, "decoding from the function start does not land on the address"
	}
	return run, ""
}

// aligned tries every start in the bytes before the address.
func aligned(mem Memory, req Request) ([]inst, string) {
	addr := req.Address
	back := uint64(min(maxInst*req.Before, 8*maxInst))
	back = min(back, addr)
	if back == 0 {
		return nil, ""
	}
	// The bytes available before the address are a suffix of the range:
	// find where it begins.
	lo, hi := addr-back, addr
	probe := make([]byte, back+1)
	readsTo := func(s uint64) bool {
		n, _ := mem.ReadMemory(s, probe[:addr-s+1])
		return uint64(n) > addr-s
	}
	if !readsTo(lo) {
		for lo+1 < hi {
			mid := lo + (hi-lo)/2
			if readsTo(mid) {
				hi = mid
			} else {
				lo = mid
			}
		}
		lo = hi
	}
	if lo >= addr {
		return nil, "no code before the address is available"
	}
	buf := make([]byte, addr-lo+maxInst)
	got, _ := mem.ReadMemory(lo, buf)
	buf = buf[:got]
	to := int(addr - lo)
	// A run from start s is the chain s, s+len(s), ... that lands on to:
	// decode each offset once, then follow the chains from every start.
	at := make([]step, to)
	for s := range at {
		in, err := x86asm.Decode(buf[s:], req.Mode)
		if err != nil || in.Len == 0 {
			continue
		}
		at[s] = step{len: in.Len, call: in.Op == x86asm.CALL, rare: rare(inst{bytes: buf[s : s+in.Len], Inst: in})}
	}
	// run walks the chain from s: ok when it lands on to; n instructions;
	// the last is a call; one is rare.
	run := func(s int) (ok bool, n int, call, anyRare bool) {
		for off := s; off < to; {
			st := at[off]
			if st.len == 0 || off+st.len > to {
				return false, 0, false, false
			}
			n++
			call, anyRare = st.call, anyRare || st.rare
			off += st.len
		}
		return true, n, call, anyRare
	}
	type cand struct {
		start, n   int
		call, rare bool
	}
	var cands []cand
	for s := 0; s < to; s++ {
		if ok, n, call, anyRare := run(s); ok {
			cands = append(cands, cand{s, n, call, anyRare})
		}
	}
	if req.Return {
		// A return address follows a call: keep the starts that say so,
		// when any does.
		if calls := slices.DeleteFunc(slices.Clone(cands), func(c cand) bool { return !c.call }); len(calls) > 0 {
			cands = calls
		}
	}
	if len(cands) == 0 {
		return nil, "no start in the bytes before the address decodes cleanly onto it"
	}
	// Misaligned starts tend to decode instructions compilers do not
	// emit; drop those runs when any other remains.
	if plausible := slices.DeleteFunc(slices.Clone(cands), func(c cand) bool { return c.rare }); len(plausible) > 0 {
		cands = plausible
	}
	votes := make([]int, to)
	for _, c := range cands {
		for off := c.start; off < to; off += at[off].len {
			votes[off]++
		}
	}
	// Score only the instructions the window shows, so that a long run is
	// not preferred for its length alone.
	best, bestScore := -1, -1
	for _, c := range cands {
		score := 0
		for i, off := 0, c.start; off < to; i, off = i+1, off+at[off].len {
			if i >= c.n-req.Before {
				score += votes[off]
			}
		}
		// Ties go to the earliest start (cands are in start order), which
		// shows the most context.
		if score > bestScore {
			best, bestScore = c.start, score
		}
	}
	chosen, _ := decodeRun(buf, lo, best, to, req.Mode)
	return chosen, "x86 cannot be decoded backwards: the instructions before the address come from the start most candidate starts agree on, and may be misaligned"
}

// step is what aligned keeps of the instruction decoded at one offset:
// its length (0 when it does not decode), whether it is a call, and
// whether it is rare.
type step struct {
	len        int
	call, rare bool
}

// negDisp is a 32-bit displacement x86asm writes unsigned.
var negDisp = regexp.MustCompile(`\+0x([89a-f][0-9a-f]{7})\]`)

// tidy32 writes 32-bit code as WinDbg does where x86asm differs: a
// negative displacement as [ebp-0x1b8], not [ebp+0xfffffe48], and a named
// immediate without x86asm's "$".
func tidy32(s string) string {
	s = strings.ReplaceAll(s, " $", " ")
	return negDisp.ReplaceAllStringFunc(s, func(m string) string {
		v, err := strconv.ParseUint(m[3:len(m)-1], 16, 32)
		if err != nil {
			return m
		}
		return fmt.Sprintf("-%#x]", uint32(-int32(uint32(v))))
	})
}

// rare says an instruction is one compilers hardly emit in user code, so
// that a run holding it is likely misaligned: port I/O, privileged and
// legacy opcodes, and "op byte ptr [rax], al" (00 00, 10 00 ...), which is
// what zero bytes decode to.
func rare(in inst) bool {
	if len(in.bytes) == 2 && in.bytes[1] == 0 && in.bytes[0] < 0x40 && in.bytes[0]&7 == 0 {
		return true
	}
	switch in.Op {
	case x86asm.IN, x86asm.INSB, x86asm.INSW, x86asm.INSD, x86asm.OUT, x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD,
		x86asm.HLT, x86asm.CLI, x86asm.STI, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.LDS, x86asm.LES,
		x86asm.ARPL, x86asm.INTO, x86asm.BOUND, x86asm.AAA, x86asm.AAS, x86asm.AAM, x86asm.AAD, x86asm.DAA, x86asm.DAS,
		x86asm.LJMP, x86asm.LCALL, x86asm.LRET, x86asm.SAHF, x86asm.LAHF, x86asm.XLATB, x86asm.CMC, x86asm.FWAIT,
		x86asm.INVD, x86asm.WBINVD, x86asm.RDMSR, x86asm.WRMSR, x86asm.LGDT, x86asm.LIDT, x86asm.LLDT, x86asm.LTR:
		return true
	}
	return false
}

// forward decodes from the address; a byte that does not decode is shown
// as (bad) and skipped, as objdump does.
func forward(mem Memory, req Request) ([]inst, string) {
	if req.After == 0 {
		return nil, ""
	}
	buf := make([]byte, req.After*maxInst)
	got, _ := mem.ReadMemory(req.Address, buf)
	buf = buf[:got]
	if got == 0 {
		return nil, "the code at the address is neither in the dump nor in a module image"
	}
	var out []inst
	for off := 0; off < len(buf) && len(out) < req.After; {
		in, err := x86asm.Decode(buf[off:], req.Mode)
		if err != nil || in.Len == 0 {
			if len(buf)-off < maxInst && len(out) > 0 {
				break // the instruction may run past the bytes read
			}
			out = append(out, inst{addr: req.Address + uint64(off), bytes: buf[off : off+1], bad: true})
			off++
			continue
		}
		out = append(out, inst{addr: req.Address + uint64(off), bytes: buf[off : off+in.Len], Inst: in})
		off += in.Len
	}
	return out, ""
}
