package unwind

import (
	"os"
	"testing"
)

func TestDbg(t *testing.T) {
	d := openDump(t, "/work/shared/testdata/public/LYJ-Kerman__crash-log/crash.dmp")
	b := make([]byte, 0x100)
	d.ReadMemory(0x7ff9f4d2217d, b)
	os.WriteFile("/tmp/code.bin", b, 0o644)
}
