package unwind

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var readobjRegs = [16]string{"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}

// readobjCode renders an UNWIND_CODE the way llvm-readobj --unwind does,
// with spaces removed.
func readobjCode(u *UnwindInfo, c UnwindCode) string {
	var s string
	switch c.Op {
	case UwopPushNonvol:
		s = "PUSH_NONVOLreg=" + readobjRegs[c.OpInfo]
	case UwopAllocLarge, UwopAllocSmall:
		s = fmt.Sprintf("%ssize=%d", c.OpName(), c.Value)
	case UwopSetFPReg:
		s = fmt.Sprintf("SET_FPREGreg=%s,offset=0x%X", readobjRegs[u.FrameRegister], u.FrameOffsetBytes())
	case UwopSaveNonvol, UwopSaveNonvolFar:
		s = fmt.Sprintf("%sreg=%s,offset=0x%X", c.OpName(), readobjRegs[c.OpInfo], c.Value)
	case UwopSaveXMM128, UwopSaveXMM128Far:
		s = fmt.Sprintf("%sreg=XMM%d,offset=0x%X", c.OpName(), c.OpInfo, c.Value)
	case UwopPushMachFrame:
		s = "PUSH_MACHFRAMEerrcode=" + map[bool]string{true: "yes", false: "no"}[c.OpInfo != 0]
	default:
		s = c.OpName()
	}
	return fmt.Sprintf("0x%02X:%s", c.CodeOffset, s)
}

// readobjLine renders a function entry in readobj2golden.py's format.
func readobjLine(base uint64, f RuntimeFunction, u *UnwindInfo) string {
	fr, fo, h := "-", "-", "-"
	if u.FrameRegister != 0 {
		fr, fo = readobjRegs[u.FrameRegister], fmt.Sprintf("%#x", u.FrameOffset)
	}
	if u.Flags&UnwFlagChainInfo == 0 && u.Flags&(UnwFlagEHandler|UnwFlagUHandler) != 0 {
		h = fmt.Sprintf("%#x", base+uint64(u.ExceptionHandler))
	}
	var codes []string
	for _, c := range u.Codes {
		codes = append(codes, readobjCode(u, c))
	}
	return fmt.Sprintf("%#x %#x %#x v%d f%#x p%d fr%s fo%s h%s | %s", base+uint64(f.BeginAddress), base+uint64(f.EndAddress),
		base+uint64(f.UnwindData), u.Version, u.Flags, u.SizeOfProlog, fr, fo, h, strings.Join(codes, ";"))
}

// TestDecodeAgainstReadobj decodes every RUNTIME_FUNCTION and UNWIND_INFO of
// Wine's ntdll, kernelbase, ucrtbase and msvcp140 and two exes (mingw gcc
// and clang/lld) and compares them with llvm-readobj --unwind, recorded in
// testdata/*.unwind.golden.gz by gen_golden.sh.
func TestDecodeAgainstReadobj(t *testing.T) {
	td := sharedTestdata(t)
	goldens, _ := filepath.Glob("testdata/*.unwind.golden.gz")
	if len(goldens) < 4 {
		t.Fatalf("found %d goldens", len(goldens))
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".unwind.golden.gz")
		t.Run(name, func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join(td, "wine", "dumps", "*", name))
			if len(paths) == 0 {
				paths, _ = filepath.Glob(filepath.Join(td, "wine", "dumps", "_wine_dlls", "x64", name))
			}
			if len(paths) == 0 {
				t.Fatalf("%s not found", name)
			}
			im := openImage(t, paths[0])
			m := &testModule{BaseAddr: im.ImageBase(), SizeOfImage: uint64(im.SizeOfImage()), ModuleName: name, Image: im}
			table, err := FunctionTableAMD64(m)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(g)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			sc := bufio.NewScanner(zr)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				want = append(want, strings.TrimRight(sc.Text(), " "))
			}
			if len(want) != len(table) {
				t.Fatalf("%d functions, llvm-readobj has %d", len(table), len(want))
			}
			bad := 0
			for i, rf := range table {
				u, err := ReadUnwindInfo(m, rf.UnwindData)
				if err != nil {
					t.Errorf("function %d (%#x): %v", i, rf.BeginAddress, err)
					continue
				}
				got := strings.TrimRight(readobjLine(m.BaseAddr, rf, u), " ")
				if got != want[i] {
					t.Errorf("function %d:\n got  %s\n want %s", i, got, want[i])
					if bad++; bad > 5 {
						t.FailNow()
					}
				}
				// The lookup must find the same entry from inside it.
				if rf.EndAddress > rf.BeginAddress {
					lf, _, err := LookupFunctionAMD64(m, rf.EndAddress-1)
					if err != nil || *lf != rf {
						t.Errorf("lookup at %#x: %v %v, want %v", rf.EndAddress-1, lf, err, rf)
					}
				}
			}
		})
	}
}
