package analyzer

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"github.com/dumptriage/dumptriage/internal/synthdump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestUnrealContext reads the crash context an Unreal crash reporter embeds.
func TestUnrealContext(t *testing.T) {
	rep := analyzeFile(t, testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash.extracted", "UE4Minidump.dmp"), Options{})
	a := rep.Annotations
	if a["unreal:CrashType"] != "Assert" || a["unreal:TotalPhysical"] != "17112477696" || a["unreal:bIsOOM"] != "0" {
		t.Errorf("annotations: %v", a)
	}
	if rep.AllocationFailure != nil {
		t.Errorf("an assert is not an out-of-memory crash: %+v", rep.AllocationFailure)
	}
}

// TestUnrealOOM: an Unreal out-of-memory crash gives its failed allocation
// size from MemoryStats.OOMAllocationSize.
func TestUnrealOOM(t *testing.T) {
	le := binary.LittleEndian
	xml := `<?xml version="1.0"?><FGenericCrashContext><RuntimeProperties><CrashType>Crash</CrashType>` +
		`<MemoryStats.bIsOOM>true</MemoryStats.bIsOOM><MemoryStats.OOMAllocationSize>8172146688</MemoryStats.OOMAllocationSize>` +
		`</RuntimeProperties></FGenericCrashContext>`
	u := utf16.Encode([]rune(xml))
	ctx := make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(ctx[2*i:], c)
	}
	exc := make([]byte, 168)
	le.PutUint32(exc[0:], 7)
	le.PutUint32(exc[8:], 0x1)
	tl := make([]byte, 4+48)
	le.PutUint32(tl[0:], 1)
	le.PutUint32(tl[4:], 7)
	b := synthdump.Build([]synthdump.Stream{
		{Type: 7, Data: synthdump.SystemInfoAMD64()},
		{Type: 3, Data: tl},
		{Type: 6, Data: exc},
		{Type: 0x10000, Data: ctx},
	}, 0)
	rep, err := Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	af := rep.AllocationFailure
	if af == nil || af.RequestedBytes == nil || *af.RequestedBytes != 8172146688 {
		t.Fatalf("allocation failure %+v (warnings %v)", af, rep.Warnings)
	}
}
