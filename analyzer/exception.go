package analyzer

import (
	"fmt"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// describeException fills crash_info and the raw exception record.
func (a *analysis) describeException() {
	a.crashIndex, a.namedIndex = -1, -1
	e := a.d.Exception
	if as := a.d.Assertion; as != nil {
		s := strings.TrimSpace(fmt.Sprintf("%s in %s (%s:%d)", as.Expression, as.Function, as.File, as.Line))
		if as.Expression == "" && as.Function == "" {
			s = map[uint32]string{1: "invalid parameter", 2: "pure virtual call"}[as.Type]
		}
		if s != "" {
			a.rep.CrashInfo.Assertion = &s
		}
	}
	if e == nil {
		return
	}
	if _, i := a.d.ThreadByID(e.ThreadID); i >= 0 {
		a.namedIndex = i
		a.crashIndex = a.crashedThread(e, i)
		idx := i // crash_info.crashing_thread keeps what the dump says, as every peer reports it
		a.rep.CrashInfo.CrashingThread = &idx
	} else {
		a.warn("the exception names thread %d, which is not in the thread list", e.ThreadID)
	}
	rec := &report.ExceptionRecord{ThreadID: e.ThreadID, Code: report.Hex32(e.Code), Name: ntstatus.NameOrHex(e.Code),
		Flags: report.Hex32(e.Flags), Record: report.Addr(e.Record), Address: report.Addr(e.Address), Parameters: []report.Addr{}}
	for _, p := range e.Parameters {
		rec.Parameters = append(rec.Parameters, report.Addr(p))
	}
	if m := a.d.ModuleAt(e.Address); m != nil {
		rec.Module = m.FileName()
	}
	a.rep.Exception = rec
	typ, addr, desc := a.crashReason(e)
	a.rep.CrashInfo.Type = typ
	a.rep.CrashInfo.Address = report.AddrPtr(addr)
	a.rep.CrashInfo.Description = desc
	a.describeUnrealCrash(e)
	switch e.Code {
	case ntstatus.MSVCCppException:
		types, err := a.msvcThrownTypes(e)
		if err != nil {
			a.warn("C++ exception type: %v", err)
		} else if len(types) > 0 {
			rec.ThrownType, rec.ThrownTypes = types[0], types
			a.rep.CrashInfo.Description = "C++ exception: " + types[0]
		}
	case ntstatus.GCCCppException:
		if t, err := a.gccThrownType(e); err == nil && t != "" {
			rec.ThrownType, rec.ThrownTypes = t, []string{t}
			a.rep.CrashInfo.Description = "C++ exception (GCC): " + t
		}
	}
}

// crashReason names the exception as minidump-stackwalk's crash_info.type
// does, gives the address to report, and says in words what happened.
func (a *analysis) crashReason(e *minidump.Exception) (typ string, addr uint64, desc string) {
	addr = e.Address
	name := ntstatus.NameOrHex(e.Code)
	param := func(i int) (uint64, bool) {
		if i < len(e.Parameters) {
			return e.Parameters[i], true
		}
		return 0, false
	}
	truncate := func(v uint64) uint64 {
		if a.d.PointerSize() == 4 {
			return v & 0xffffffff
		}
		return v
	}
	switch e.Code {
	case ntstatus.AccessViolation, ntstatus.InPageError:
		kind, ok0 := param(0)
		target, ok1 := param(1)
		if !ok0 || !ok1 {
			return name, addr, "access violation"
		}
		target = truncate(target)
		verb, suffix := "access", ""
		switch kind {
		case 0:
			verb, suffix = "read", "_READ"
		case 1:
			verb, suffix = "write", "_WRITE"
		case 8:
			verb, suffix = "execute (DEP)", "_EXEC"
		}
		desc = fmt.Sprintf("%s of address %#x", verb, target)
		if e.Code == ntstatus.InPageError {
			if st, ok := param(2); ok {
				desc += fmt.Sprintf(" (I/O error %s)", ntstatus.NameOrHex(uint32(st)))
			}
		}
		return name + suffix, target, desc
	case ntstatus.StackBufferOverrun:
		if code, ok := param(0); ok {
			ff := ntstatus.FastFailName(code)
			return name + " / " + ff, addr, "fast fail: " + ff
		}
		return name, addr, "stack buffer overrun"
	case ntstatus.StackOverflow:
		return name, addr, "stack overflow"
	case ntstatus.NoMemory:
		if sz, ok := param(0); ok {
			return name, addr, fmt.Sprintf("out of memory (heap raised STATUS_NO_MEMORY for %d bytes)", sz)
		}
		return name, addr, "out of memory (STATUS_NO_MEMORY)"
	case ntstatus.CommitmentLimit:
		return name, addr, "the system commit limit was reached"
	case ntstatus.MSVCCppException:
		return name, addr, "C++ exception"
	case ntstatus.GCCCppException:
		return name, addr, "C++ exception (GCC/MinGW)"
	}
	return name, addr, strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(name, "EXCEPTION_"), "STATUS_"), "_", " "))
}

// msvcThrownTypes decodes the ThrowInfo of an MSVC C++ exception
// (ExceptionInformation: magic, object, ThrowInfo, image base on 64-bit) to
// the names of its catchable types, most derived first.
func (a *analysis) msvcThrownTypes(e *minidump.Exception) ([]string, error) {
	if len(e.Parameters) < 3 {
		return nil, fmt.Errorf("%d parameters, want 3 or 4", len(e.Parameters))
	}
	magic := e.Parameters[0]
	if magic != 0x19930520 && magic != 0x19930521 && magic != 0x19930522 && magic != 0x01994000 {
		return nil, fmt.Errorf("unknown magic %#x", magic)
	}
	mem := a.memory()
	throwInfo := e.Parameters[2]
	is64 := a.d.PointerSize() == 8
	var imageBase uint64
	if is64 {
		if len(e.Parameters) < 4 {
			return nil, fmt.Errorf("64-bit C++ exception without an image base parameter")
		}
		imageBase = e.Parameters[3]
	}
	// ptr reads a ThrowInfo field: a 32-bit RVA from imageBase on 64-bit, a pointer on x86.
	ptr := func(addr uint64) (uint64, bool) {
		v, ok := mem.ReadU32(addr)
		if !ok {
			return 0, false
		}
		if is64 {
			if v == 0 {
				return 0, false
			}
			return imageBase + uint64(v), true
		}
		return uint64(v), v != 0
	}
	// ThrowInfo: attributes, pmfnUnwind, pForwardCompat, pCatchableTypeArray.
	cta, ok := ptr(throwInfo + 12)
	if !ok {
		return nil, fmt.Errorf("ThrowInfo at %#x is not in the dump or its module image", throwInfo)
	}
	n, ok := mem.ReadU32(cta)
	if !ok || n == 0 || n > 64 {
		return nil, fmt.Errorf("CatchableTypeArray at %#x unreadable (count %d)", cta, n)
	}
	var out []string
	for i := uint32(0); i < n; i++ {
		ct, ok := ptr(cta + 4 + 4*uint64(i))
		if !ok {
			break
		}
		// CatchableType: properties, pType, thisDisplacement(12), sizeOrOffset, copyFunction.
		td, ok := ptr(ct + 4)
		if !ok {
			break
		}
		// TypeDescriptor: pVFTable, spare, name[].
		nameAddr := td + 2*uint64(a.d.PointerSize())
		buf := make([]byte, 256)
		k, _ := mem.ReadMemory(nameAddr, buf)
		raw := cString(buf[:k])
		if raw == "" {
			break
		}
		out = append(out, msvcTypeName(raw))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no catchable type names readable")
	}
	return out, nil
}

// gccThrownType reads the std::type_info of a libstdc++ exception: parameter
// 0 points at the _Unwind_Exception that ends the __cxa_exception header,
// whose exceptionType field sits 10 pointers before it.
func (a *analysis) gccThrownType(e *minidump.Exception) (string, error) {
	if len(e.Parameters) < 1 || a.d.PointerSize() != 8 {
		return "", fmt.Errorf("no _Unwind_Exception parameter")
	}
	mem := a.memory()
	ue := e.Parameters[0]
	class, ok := mem.ReadU64(ue)
	if !ok || class != 0x474E5543432B2B00 { // "GNUCC++\0"
		return "", fmt.Errorf("_Unwind_Exception at %#x not readable or not a C++ exception", ue)
	}
	ti, ok := mem.ReadU64(ue - 80)
	if !ok {
		return "", fmt.Errorf("__cxa_exception header not captured")
	}
	namePtr, ok := mem.ReadU64(ti + 8)
	if !ok {
		return "", fmt.Errorf("type_info at %#x not captured", ti)
	}
	buf := make([]byte, 256)
	k, _ := mem.ReadMemory(namePtr, buf)
	raw := cString(buf[:k])
	if raw == "" {
		return "", fmt.Errorf("type name not captured")
	}
	return itaniumTypeName(raw), nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return ""
}

// throwHelpers are MSVC STL functions that throw one exception type each.
var throwHelpers = map[string]string{
	"std::_Xbad_alloc":                  "class std::bad_alloc",
	"std::_Xlength_error":               "class std::length_error",
	"std::_Xout_of_range":               "class std::out_of_range",
	"std::_Xinvalid_argument":           "class std::invalid_argument",
	"std::_Xoverflow_error":             "class std::overflow_error",
	"std::_Xruntime_error":              "class std::runtime_error",
	"std::_Xbad_function_call":          "class std::bad_function_call",
	"std::__throw_bad_alloc":            "std::bad_alloc",
	"std::__throw_length_error":         "std::length_error",
	"std::__throw_out_of_range":         "std::out_of_range",
	"std::__throw_bad_array_new_length": "std::bad_array_new_length",
}

// inferThrownType names a C++ exception's type from the STL helper that
// threw it, when its ThrowInfo or type_info was not captured.
func (a *analysis) inferThrownType() {
	rec := a.rep.Exception
	if rec == nil || rec.ThrownType != "" || a.crashIndex < 0 {
		return
	}
	if rec.Code != ntstatus.MSVCCppException && rec.Code != ntstatus.GCCCppException {
		return
	}
	frames := a.rep.Threads[a.crashIndex].Frames
	for i, f := range frames {
		if i > 8 {
			break
		}
		if t, ok := throwHelpers[f.Function]; ok {
			rec.ThrownType, rec.ThrownTypes = t, []string{t}
			a.rep.CrashInfo.Description = fmt.Sprintf("C++ exception: %s (inferred from %s on the stack)", t, f.Function)
			return
		}
		// libstdc++'s operator new throws std::bad_alloc itself, with no
		// helper between it and __cxa_throw (the type_info it passes lives
		// in the heap, which a minidump rarely holds).
		if f.Function == "__cxa_throw" && i+1 < len(frames) && isOperatorNew(frames[i+1].Function) {
			t := "std::bad_alloc"
			rec.ThrownType, rec.ThrownTypes = t, []string{t}
			a.rep.CrashInfo.Description = fmt.Sprintf("C++ exception: %s (inferred: %s called __cxa_throw)", t, frames[i+1].Function)
			return
		}
	}
}

// isOperatorNew says whether a demangled name is the global operator new or
// new[] (not a class's own operator new, which may throw anything).
func isOperatorNew(fn string) bool {
	name, _, _ := strings.Cut(fn, "(")
	return name == "operator new" || name == "operator new[]"
}

// describeUnrealCrash uses the crash context an Unreal Engine game embeds
// when its exception code is one of Unreal's pseudo-codes (asserts and
// ensures are reported as codes like 0x1 or 0x4000 with no NTSTATUS name).
func (a *analysis) describeUnrealCrash(e *minidump.Exception) {
	kind, msg := a.rep.Annotations["unreal:CrashType"], a.rep.Annotations["unreal:ErrorMessage"]
	if kind == "" || ntstatus.Name(e.Code) != "" {
		return
	}
	desc := "Unreal " + strings.ToLower(kind)
	if msg != "" {
		desc += ": " + msg
		if strings.EqualFold(kind, "assert") || strings.EqualFold(kind, "ensure") {
			m := msg
			a.rep.CrashInfo.Assertion = &m
		}
	}
	a.rep.CrashInfo.Description = desc
}

// crashedThread is the thread whose stack the exception context's stack
// pointer lies in. Writers that dump from a reporting thread (Unreal's
// crash reporter thread) name that thread in MINIDUMP_EXCEPTION_STREAM.ThreadId
// while ThreadContext is the crashed thread's; its stack then belongs to
// another thread, which is the one that crashed.
func (a *analysis) crashedThread(e *minidump.Exception, named int) int {
	if e.Context == nil {
		return named
	}
	sp := e.Context.SP()
	in := func(t *minidump.Thread) bool {
		return t.Stack.DataSize > 0 && sp >= t.Stack.Start && sp < t.Stack.Start+uint64(t.Stack.DataSize)
	}
	if in(&a.d.Threads[named]) {
		return named
	}
	for j := range a.d.Threads {
		if j != named && in(&a.d.Threads[j]) {
			a.crashedWhy = fmt.Sprintf("the exception names thread %d, which wrote the dump; its context's stack pointer %#x lies in thread %d's stack, which crashed",
				e.ThreadID, sp, a.d.Threads[j].ID)
			a.warn("crashing thread: %s", a.crashedWhy)
			return j
		}
	}
	return named
}
