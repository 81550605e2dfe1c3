package unwind

import (
	"fmt"
	"os"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

func TestExplore(t *testing.T) {
	path := os.Getenv("DUMP")
	if path == "" {
		t.Skip()
	}
	b, _ := os.ReadFile(path)
	d, err := minidump.Open(bytesReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.Modules {
		fmt.Printf("mod %x %x %s\n", m.Base, m.Size, m.Name)
		for _, r := range d.MemoryRanges() {
			if r.Start < m.End() && r.End() > m.Base {
				fmt.Printf("   mem %x +%x\n", r.Start, r.Size)
			}
		}
	}
	for _, th := range d.Threads {
		fmt.Printf("thread %d stack %x +%x\n", th.ID, th.Stack.Start, th.Stack.DataSize)
	}
	if d.Exception != nil {
		fmt.Printf("exc thread %d ctx %+v\n", d.Exception.ThreadID, d.Exception.Context.AMD64)
	}
}
