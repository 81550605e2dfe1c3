package unwind

import "github.com/dumptriage/dumptriage/analyzer/minidump"

// WalkX86 walks an x86 thread's stack.
func WalkX86(ctx *minidump.ContextX86, mem Memory, mods Modules, opts Options) []Frame {
	return nil
}
