package breakpad

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addSeedFiles(f *testing.F, max int) {
	dir := testdataDir(f)
	for _, p := range []string{testAppSym, kernel32Sym, crashSym, fizzbuzzSym} {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			continue
		}
		// Seeds are cut short to keep the fuzzer's iterations fast; the
		// head of the file has every record kind but CFI.
		if len(data) > max {
			data = data[:max]
		}
		f.Add(data)
	}
	if data, err := os.ReadFile("testdata/synthetic.sym"); err == nil {
		f.Add(data)
	}
}

func FuzzParse(f *testing.F) {
	addSeedFiles(f, 8<<10)
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, rva := range []uint64{0, 1, 0x1000, 0x1008, 0x1009, 0x1020, 0x2010, 0x4004, 1<<32 - 1, 1<<64 - 1} {
			if s, ok := sf.Lookup(rva); ok && len(s.Inlines) > maxInlineDepth+1 {
				t.Fatalf("Lookup(%#x): %d inlines", rva, len(s.Inlines))
			}
			sf.FindWin(rva)
			if rules, ok := sf.FindCFI(rva); ok {
				vars := map[string]uint64{"$rsp": 0x1000, "$esp": 0x1000}
				for _, r := range rules {
					EvalExpr(r, vars, func(uint64) (uint64, bool) { return 0, true }, 8)
				}
			}
		}
		for i := range sf.funcs {
			fn := &sf.funcs[i]
			if fn.inlLo > fn.inlHi || int(fn.inlHi) > len(sf.inlines) {
				t.Fatalf("function %d has inline range %d:%d of %d", i, fn.inlLo, fn.inlHi, len(sf.inlines))
			}
			if fn.lineLo > fn.lineHi || int(fn.lineHi) > len(sf.lines) {
				t.Fatalf("function %d has line range %d:%d of %d", i, fn.lineLo, fn.lineHi, len(sf.lines))
			}
			if i > 0 && sf.funcs[i-1].rva+sf.funcs[i-1].size > fn.rva {
				t.Fatalf("functions %d and %d overlap", i-1, i)
			}
		}
	})
}

func fuzzEval(f *testing.F, program bool) {
	for _, p := range []string{progStd8, progStd4, progRaSearchStart, progRaSearchEbp, progEbx,
		"$T0 $ebp 128 + =$eip $T0 4 + ^ = $ebp $T0 ^ =", ".cfa -8 + ^", "$rsp 8 +", "1 2 @ 3 % 4 / 5 * -"} {
		f.Add(p, uint8(4))
		f.Add(p, uint8(8))
	}
	f.Fuzz(func(t *testing.T, expr string, ws uint8) {
		vars := map[string]uint64{"$eip": 1, "$esp": 0x1000, "$ebp": 0x2000, ".cfa": 0x3000,
			".cbSavedRegs": 4, ".cbParams": 8, ".cbLocals": 16, ".raSearchStart": 0x1010, ".raSearch": 0x1010}
		read := func(a uint64) (uint64, bool) { return a ^ 0x5555, a%7 != 0 }
		if program {
			out, err := EvalProgram(expr, vars, read, int(ws))
			if err == nil {
				for k := range out {
					if k == "" || k[0] != '$' {
						t.Fatalf("assigned %q", k)
					}
				}
			}
			return
		}
		v, err := EvalExpr(expr, vars, read, int(ws))
		if err == nil && ws == 4 && v > 1<<32-1 {
			t.Fatalf("32-bit result %#x", v)
		}
	})
}

func FuzzEvalProgram(f *testing.F) { fuzzEval(f, true) }
func FuzzEvalExpr(f *testing.F)    { fuzzEval(f, false) }
