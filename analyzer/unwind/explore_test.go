package unwind

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplore(t *testing.T) {
	path := os.Getenv("DUMP")
	if path == "" {
		t.Skip()
	}
	d := openDump(t, path)
	dirs := []string{filepath.Dir(path)}
	if strings.Contains(path, "/wine/") {
		dirs = append(dirs, filepath.Join(sharedTestdata(t), "wine/dumps/_wine_dlls/x64"))
	}
	ms := dumpModules(t, d, os.Getenv("SYMS"), dirs...)
	opts := Options{StackLimits: stackLimits(d), MaxFrames: 40}
	if d.Exception != nil && d.Exception.Context != nil {
		c := d.Exception.Context
		fmt.Printf("exception thread %d\n", d.Exception.ThreadID)
		if c.AMD64 != nil {
			fmt.Print(formatFrames(ms, WalkAMD64(c.AMD64, d, ms, opts)))
		} else if c.X86 != nil {
			fmt.Print(formatFrames(ms, WalkX86(c.X86, d, ms, opts)))
		}
	}
	if os.Getenv("ALL") != "" {
		for _, th := range d.Threads {
			fmt.Printf("thread %d\n", th.ID)
			if th.Context == nil {
				continue
			}
			if th.Context.AMD64 != nil {
				fmt.Print(formatFrames(ms, WalkAMD64(th.Context.AMD64, d, ms, opts)))
			} else if th.Context.X86 != nil {
				fmt.Print(formatFrames(ms, WalkX86(th.Context.X86, d, ms, opts)))
			}
		}
	}
}
