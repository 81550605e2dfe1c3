package pdb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected records are llvm-pdbutil dump -symbols' reading of the same
// procedures.
func TestProcedure(t *testing.T) {
	tests := []struct {
		pdb  string
		rva  uint32
		want Procedure
	}{
		{
			// std::__new_allocator<Entry16>::allocate(size_type __n, const void*)
			pdb: "oom_vector_x64", rva: 0x40a5,
			want: Procedure{
				Name: "std::__new_allocator<Entry16>::allocate", RVA: 0x4070, Size: 107, FrameSize: 72,
				LocalBasePointer: cvAMD64RSP, ParamBasePointer: cvAMD64RSP,
				Vars: []Variable{
					{Name: "this", IsParam: true, TypeName: "std::__new_allocator<Entry16> *", TypeSize: 8,
						Locations: []VarLocation{{Kind: "framerel", Offset: 64, Start: 0x4088, End: 0x4088 + 83}}},
					{Name: "__n", IsParam: true, TypeName: "unsigned __int64", TypeSize: 8,
						Locations: []VarLocation{{Kind: "framerel", Offset: 56, Start: 0x4088, End: 0x4088 + 83}}},
					{Name: "", IsParam: true, TypeName: "void const *", TypeSize: 8,
						Locations: []VarLocation{{Kind: "framerel", Offset: 48, Start: 0x4088, End: 0x4088 + 83}}},
				},
			},
		},
		{
			// MSVC x64: S_REGREL32 only; int foo(int x, float y, const char *msg) with a local.
			pdb: "sigsegv", rva: 0x1100,
			want: Procedure{
				Name: "foo", RVA: 0x1100, Size: 124, DebugStart: 19, DebugEnd: 119, FrameSize: 56,
				LocalBasePointer: cvAMD64RSP, ParamBasePointer: cvAMD64RSP,
				Vars: []Variable{
					{Name: "x", IsParam: true, TypeName: "int", TypeSize: 4, Locations: []VarLocation{{Kind: "regrel", Register: cvAMD64RSP, Offset: 64}}},
					{Name: "y", IsParam: true, TypeName: "float", TypeSize: 4, Locations: []VarLocation{{Kind: "regrel", Register: cvAMD64RSP, Offset: 72}}},
					{Name: "msg", IsParam: true, TypeName: "char const *", TypeSize: 8, Locations: []VarLocation{{Kind: "regrel", Register: cvAMD64RSP, Offset: 80}}},
					{Name: "flag", IsParam: false, TypeName: "bool", TypeSize: 1, Locations: []VarLocation{{Kind: "regrel", Register: cvAMD64RSP, Offset: 32}}},
				},
			},
		},
		{
			// MSVC x86 optimized: S_LOCAL + S_DEFRANGE_*, then the legacy
			// S_REGISTER/S_REGREL32 records merged into the same variables;
			// the S_LOCALs inside S_INLINESITE belong to the inlinee.
			pdb: "crash", rva: 0x1000,
			want: Procedure{
				Name: "google_breakpad::CrashGenerationClient::RequestDump", RVA: 0x1000, Size: 276, DebugStart: 17, DebugEnd: 253, FrameSize: 12,
				Vars: []Variable{
					{Name: "this", IsParam: true, TypeName: "google_breakpad::CrashGenerationClient *", TypeSize: 4, Locations: []VarLocation{
						{Kind: "register", Register: 18, Start: 0x1000, End: 0x1011},
						{Kind: "register", Register: 20, Start: 0x1011, End: 0x1011 + 243},
						{Kind: "register", Register: 18},
					}},
					{Name: "ex_info", IsParam: true, TypeName: "_EXCEPTION_POINTERS *", TypeSize: 4, Locations: []VarLocation{
						{Kind: "framerel", Offset: 4},
						{Kind: "regrel", Register: 21, Offset: 4, Start: 0x1000, End: 0x1001},
						{Kind: "regrel", Register: 21, Offset: 4},
					}},
					{Name: "assert_info", IsParam: true, TypeName: "MDRawAssertionInfo *", TypeSize: 4, Locations: []VarLocation{
						{Kind: "register", Register: 23, Start: 0x1000 + 61, End: 0x1000 + 61 + 49},
						{Kind: "framerel", Offset: 8},
						{Kind: "regrel", Register: 21, Offset: 8, Start: 0x1000, End: 0x1001},
						{Kind: "regrel", Register: 21, Offset: 8},
					}},
				},
			},
		},
	}
	for _, tt := range tests {
		f := openPDB(t, tt.pdb)
		got, ok := f.Procedure(tt.rva)
		if !ok {
			t.Errorf("%s: Procedure(%#x) not found", tt.pdb, tt.rva)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("%s: Procedure(%#x) mismatch (-want +got):\n%s", tt.pdb, tt.rva, diff)
		}
	}
}

func TestProcedureNotFound(t *testing.T) {
	f := openPDB(t, "sigsegv")
	for _, rva := range []uint32{0, 0x10, 0xFFFFFFFF} {
		if p, ok := f.Procedure(rva); ok {
			t.Errorf("Procedure(%#x) = %+v, want none", rva, p)
		}
	}
}

// TestConcurrent runs lookups from several goroutines (go test -race).
func TestConcurrent(t *testing.T) {
	f := openPDB(t, "crash")
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- true }()
			for rva := uint32(0x1000); rva < 0x4000; rva += 0x40 {
				f.Lookup(rva)
				f.Procedure(rva)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
