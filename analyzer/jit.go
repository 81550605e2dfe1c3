package analyzer

import (
	"sort"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// jitRuntimes name the code of the runtimes that register dynamic function
// tables, by the base name of the module that does it (lower case, no
// extension). Unity's own crash log says "Mono JIT Code".
var jitRuntimes = []struct{ prefix, name string }{
	{"mono", "Mono JIT code"},
	{"coreclr", ".NET JIT code"},
	{"clrjit", ".NET JIT code"},
	{"clr", ".NET JIT code"},
	{"mscorwks", ".NET JIT code"},
	{"lua51", "LuaJIT code"},
	{"luajit", "LuaJIT code"},
	{"v8", "V8 JIT code"},
	{"libcef", "V8 JIT code"},
	{"node", "V8 JIT code"},
}

// runtimeOf names a module's JIT code, or "".
func runtimeOf(m *minidump.Module) string {
	n := strings.ToLower(m.FileName())
	if i := strings.LastIndexByte(n, '.'); i > 0 {
		n = n[:i]
	}
	for _, r := range jitRuntimes {
		if strings.HasPrefix(n, r.prefix) {
			return r.name
		}
	}
	return ""
}

// jitTables builds the dump's dynamic function tables (FunctionTable
// stream) as modules for the walker, sorted by address. A table over a
// loaded module's range is left to the module. Each is named for its
// runtime: the module holding the table's callback when it has one, else
// the one JIT runtime loaded in the process.
func (a *analysis) jitTables() []*unwind.JITTable {
	u := a.unwindModules()
	if u.jit != nil || len(a.d.FunctionTables) == 0 || a.d.Arch() != minidump.ArchAMD64 {
		return u.jit
	}
	loaded := ""
	for i := range a.d.Modules {
		if r := runtimeOf(&a.d.Modules[i]); r != "" {
			loaded = r
			break
		}
	}
	mem := a.walkMemory()
	u.jit = []*unwind.JITTable{}
	for _, ft := range a.d.FunctionTables {
		base, end := ft.BaseAddress, ft.MaximumAddress
		if ft.MinimumAddress < base || end <= ft.MinimumAddress || a.d.ModuleAt(ft.MinimumAddress) != nil || a.d.ModuleAt(end-1) != nil {
			continue
		}
		name := loaded
		if m := a.d.ModuleAt(ft.Callback); m != nil {
			if r := runtimeOf(m); r != "" {
				name = r
			} else {
				name = "JIT code of " + m.FileName()
			}
		}
		if name == "" {
			name = "JIT code"
		}
		u.jit = append(u.jit, unwind.NewJITTable(base, end, ft.Entries, int(ft.EntrySize), name, mem))
	}
	sort.Slice(u.jit, func(i, j int) bool { return u.jit[i].BaseAddr < u.jit[j].BaseAddr })
	return u.jit
}

// jitAt finds the dynamic function table whose range holds addr.
func (a *analysis) jitAt(addr uint64) *unwind.JITTable {
	ts := a.jitTables()
	i := sort.Search(len(ts), func(i int) bool { return ts[i].BaseAddr > addr }) - 1
	if i >= 0 && addr < ts[i].End {
		return ts[i]
	}
	return nil
}

// symbolizeJIT labels a frame in JIT code with its runtime; the offset is
// from the table's base. JIT code has no symbols the dump could give.
func (a *analysis) symbolizeJIT(f *report.Frame, addr uint64) bool {
	t := a.jitAt(addr)
	if t == nil {
		return false
	}
	f.Module = t.Runtime
	f.ModuleOffset = report.Addr(uint64(f.Offset) - t.BaseAddr)
	f.MissingSymbols = true
	return true
}
