package analyzer

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/dumptriage/dumptriage/internal/synthdump"
)

// TestMSVCThrowInfo decodes the thrown type of an MSVC C++ exception from a
// ThrowInfo captured in the dump (x64: 32-bit RVAs from the image base).
func TestMSVCThrowInfo(t *testing.T) {
	le := binary.LittleEndian
	const imageBase, tid = 0x7ff700000000, 0x42
	// The image's read-only data, laid out at imageBase+0x1000.
	data := make([]byte, 0x100)
	le.PutUint32(data[0x0c:], 0x1010) // ThrowInfo.pCatchableTypeArray
	le.PutUint32(data[0x10:], 2)      // CatchableTypeArray.nCatchableTypes
	le.PutUint32(data[0x14:], 0x1020)
	le.PutUint32(data[0x18:], 0x1040)
	le.PutUint32(data[0x24:], 0x1060) // CatchableType.pType
	le.PutUint32(data[0x44:], 0x1090)
	copy(data[0x70:], ".?AVbad_alloc@std@@\x00") // TypeDescriptor name after two pointers
	copy(data[0xa0:], ".?AVexception@std@@\x00")

	exc := make([]byte, 168)
	le.PutUint32(exc[0:], tid)
	le.PutUint32(exc[8:], 0xE06D7363)
	le.PutUint32(exc[12:], 1)
	le.PutUint64(exc[24:], imageBase+0x5000)
	le.PutUint32(exc[32:], 4)
	for i, p := range []uint64{0x19930520, 0x1234, imageBase + 0x1000, imageBase} {
		le.PutUint64(exc[40+8*i:], p)
	}
	ml := make([]byte, 4+16)
	le.PutUint32(ml[0:], 1)
	le.PutUint64(ml[4:], imageBase+0x1000)
	le.PutUint32(ml[12:], uint32(len(data)))
	ml = append(ml, data...)
	b := synthdump.Build([]synthdump.Stream{
		{Type: 7, Data: synthdump.SystemInfoAMD64()},
		{Type: 6, Data: exc},
		{Type: 5, Data: ml, Fix: func(d []byte, at uint32) { le.PutUint32(d[16:], at+20) }},
	}, 0)
	rep, err := Analyze(context.Background(), bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := rep.Exception
	if e == nil || e.ThrownType != "class std::bad_alloc" || len(e.ThrownTypes) != 2 || e.ThrownTypes[1] != "class std::exception" {
		t.Fatalf("thrown types: %+v (warnings %v)", e, rep.Warnings)
	}
	if rep.CrashInfo.Description != "C++ exception: class std::bad_alloc" {
		t.Errorf("description %q", rep.CrashInfo.Description)
	}
}
