package signature

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// ruleCase is one frame and the rule that must classify it. Together the
// cases exercise every line of every rules file (TestRulesCoverage).
type ruleCase struct {
	fn     string // Function; empty for a module-only frame
	module string
	want   string // file that decides: the first matching line of it must be rule
	rule   string // the line's text; "" means no line of want matches
}

var ruleCases = []ruleCase{
	// irrelevant_signature_re.txt
	{fn: "KiRaiseUserExceptionDispatcher", want: fileIrrelevant, rule: "KiRaiseUserExceptionDispatcher"},
	{fn: "KiUserExceptionDispatcher", want: fileIrrelevant, rule: "KiUserExceptionDispatcher"},
	{fn: "KiUserCallbackDispatcher", want: fileIrrelevant, rule: "KiUserCallbackDispatcher"},
	{fn: "RtlDispatchException", want: fileIrrelevant, rule: "RtlDispatchException"},
	{fn: "RtlpExecuteHandlerForException", want: fileIrrelevant, rule: "RtlpExecuteHandlerForException"},
	{fn: "RtlRaiseException", want: fileIrrelevant, rule: "RtlRaiseException"},
	{fn: "RtlRaiseStatus", want: fileIrrelevant, rule: "RtlRaiseStatus"},
	{fn: "raise_status", want: fileIrrelevant, rule: "raise_status"},
	{fn: "RtlSetLastWin32ErrorAndNtStatusFromNtStatus", want: fileIrrelevant, rule: "RtlSetLastWin32ErrorAndNtStatusFromNtStatus"},
	{fn: "RaiseException", want: fileIrrelevant, rule: "RaiseException"},
	{fn: "_RaiseException@16", want: fileIrrelevant, rule: "RaiseException"},
	{fn: "RaiseFailFastException", want: fileIrrelevant, rule: "RaiseFailFastException"},
	{fn: "RtlReportException", want: fileIrrelevant, rule: "RtlReportException"},
	{fn: "RtlReportFatalFailure", want: fileIrrelevant, rule: "RtlReportFatalFailure"},
	{fn: "RtlReportCriticalFailure", want: fileIrrelevant, rule: "RtlReportCriticalFailure"},
	{fn: "RtlFailFast2", want: fileIrrelevant, rule: "RtlFailFast2?"},
	{fn: "RtlpHpHeapHandleError", want: fileIrrelevant, rule: "Rtlp(Hp)?HeapHandleError"},
	{fn: "RtlpHeapHandleError", want: fileIrrelevant, rule: "Rtlp(Hp)?HeapHandleError"},
	{fn: "RtlpLogHeapFailure", want: fileIrrelevant, rule: "RtlpLogHeapFailure"},
	{fn: "RtlpReportHeapFailure", want: fileIrrelevant, rule: "RtlpReportHeapFailure"},
	{fn: "NtWaitForSingleObject", want: fileIrrelevant, rule: "(Nt|Zw)WaitFor[A-Za-z]+"},
	{fn: "ZwWaitForMultipleObjects", want: fileIrrelevant, rule: "(Nt|Zw)WaitFor[A-Za-z]+"},
	{fn: "NtWaitForAlertByThreadId", want: fileIrrelevant, rule: "(Nt|Zw)WaitFor[A-Za-z]+"},
	{fn: "NtDelayExecution", want: fileIrrelevant, rule: "(Nt|Zw)DelayExecution"},
	{fn: "WaitForSingleObjectEx", want: fileIrrelevant, rule: "WaitFor(SingleObject|MultipleObjects)(Ex)?"},
	{fn: "WaitForMultipleObjects", want: fileIrrelevant, rule: "WaitFor(SingleObject|MultipleObjects)(Ex)?"},
	{fn: "Sleep", want: fileIrrelevant, rule: "Sleep(Ex)?"},
	{fn: "_CxxThrowException", want: fileIrrelevant, rule: "_?_CxxThrowException"},
	{fn: "__CxxThrowException@8", want: fileIrrelevant, rule: "_?_CxxThrowException"},
	{fn: "_Unwind_RaiseException", want: fileIrrelevant, rule: "_Unwind_RaiseException"},
	{fn: "_Unwind_Resume", want: fileIrrelevant, rule: "_Unwind_Resume"},
	{fn: "__cxa_throw", want: fileIrrelevant, rule: "__cxa_throw"},
	{fn: "__cxa_rethrow", want: fileIrrelevant, rule: "__cxa_rethrow"},
	{fn: "void std::_Xbad_alloc(void)", want: fileIrrelevant, rule: "std::_X(bad_alloc|bad_function_call|length_error|out_of_range|invalid_argument|overflow_error|runtime_error|regex_error)"},
	{fn: "void __cdecl std::_Xlength_error(char const *)", want: fileIrrelevant, rule: "std::_X(bad_alloc|bad_function_call|length_error|out_of_range|invalid_argument|overflow_error|runtime_error|regex_error)"},
	{fn: "std::__throw_length_error(char const*)", want: fileIrrelevant, rule: "std::__throw_[a-z_]+"},
	{fn: "std::vector<int,std::allocator<int> >::_Xlength()", want: fileIrrelevant, rule: "std::[a-z_]+<T>::_X(len|length|range)"},
	{fn: "std::basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >::_Xlen()", want: fileIrrelevant, rule: "std::[a-z_]+<T>::_X(len|length|range)"},
	{fn: "std::_Throw_bad_array_new_length()", want: fileIrrelevant, rule: "std::_Throw_[A-Za-z_]+"},
	{fn: "_Xmem", want: fileIrrelevant, rule: "_Xmem"},
	{fn: "__scrt_throw_std_bad_alloc", want: fileIrrelevant, rule: ".*[Tt]hrow_(std_)?bad_(alloc|array_new_length).*"}, // first match wins over __scrt_.*
	{fn: "::throw_bad_alloc_msvc_abi()", want: fileIrrelevant, rule: ".*[Tt]hrow_(std_)?bad_(alloc|array_new_length).*"},
	{fn: "__CxxFrameHandler4", want: fileIrrelevant, rule: "__CxxFrameHandler[0-9]*"},
	{fn: "__InternalCxxFrameHandler<__FrameHandler4>", want: fileIrrelevant, rule: ""}, // <T> is not part of the line
	{fn: "__InternalCxxFrameHandler", want: fileIrrelevant, rule: "__InternalCxxFrameHandler"},
	{fn: "__C_specific_handler", want: fileIrrelevant, rule: "__C_specific_handler"},
	{fn: "_C_specific_handler", want: fileIrrelevant, rule: "_C_specific_handler"},
	{fn: "_CallSettingFrame", want: fileIrrelevant, rule: "_CallSettingFrame"},
	{fn: "RtlUnwindEx", want: fileIrrelevant, rule: "RtlUnwindEx"},
	{fn: "__std_terminate", want: fileIrrelevant, rule: "__std_terminate"},
	{fn: "std::terminate()", want: fileIrrelevant, rule: "(std::)?terminate"},
	{fn: "terminate", want: fileIrrelevant, rule: "(std::)?terminate"},
	{fn: "abort", want: fileIrrelevant, rule: "abort"},
	{fn: "raise", want: fileIrrelevant, rule: "raise"},
	{fn: "__report_gsfailure", want: fileIrrelevant, rule: "__report_gsfailure"},
	{fn: "__report_rangecheckfailure", want: fileIrrelevant, rule: "__report_rangecheckfailure"},
	{fn: "__GSHandlerCheck_EH4", want: fileIrrelevant, rule: "__GSHandlerCheck.*"},
	{fn: "__security_check_cookie", want: fileIrrelevant, rule: "_?_security_check_cookie"},
	{fn: "__stack_chk_fail", want: fileIrrelevant, rule: "__stack_chk_fail"},
	{fn: "_invalid_parameter_noinfo_noreturn", want: fileIrrelevant, rule: "_invalid_parameter.*"},
	{fn: "_invoke_watson", want: fileIrrelevant, rule: "_invoke_watson"},
	{fn: "_call_reportfault", want: fileIrrelevant, rule: "_call_reportfault"},
	{fn: "__fastfail", want: fileIrrelevant, rule: "__fastfail"},
	{fn: "DebugBreak", want: fileIrrelevant, rule: "DebugBreak"},
	{fn: "DbgBreakPoint", want: fileIrrelevant, rule: "DbgBreakPoint"},
	{fn: "__chkstk", want: fileIrrelevant, rule: "_?_chkstk"},
	{fn: "_chkstk", want: fileIrrelevant, rule: "_?_chkstk"},
	{fn: "___chkstk_ms", want: fileIrrelevant, rule: "___chkstk_ms"},
	{fn: "_alloca_probe_16", want: fileIrrelevant, rule: "_alloca_probe(_16)?"},
	{fn: "_guard_dispatch_icall_nop", want: fileIrrelevant, rule: "_?guard_dispatch_icall(_nop)?"},
	{fn: "__scrt_common_main_seh()", want: fileIrrelevant, rule: "__scrt_.*"},
	{fn: "BaseThreadInitThunk", want: fileIrrelevant, rule: "BaseThreadInitThunk"},
	{fn: "BaseProcessStart", want: fileIrrelevant, rule: "Base(Process|Thread)Start(Thunk)?"},
	{fn: "RtlUserThreadStart", want: fileIrrelevant, rule: "_?RtlUserThreadStart"},
	{fn: "mainCRTStartup", want: fileIrrelevant, rule: "w?mainCRTStartup"},
	{fn: "wWinMainCRTStartup", want: fileIrrelevant, rule: "w?WinMainCRTStartup"},
	{fn: "__tmainCRTStartup", want: fileIrrelevant, rule: "__tmainCRTStartup"},
	{fn: "invoke_main()", want: fileIrrelevant, rule: "invoke_main"},
	{fn: "", module: "", want: fileIrrelevant, rule: "@0x[1-9a-f][0-9a-f]*"}, // offset 0x1234, see below
	{fn: "main", want: fileIrrelevant, rule: ""},
	{fn: "raise_exception_handler", want: fileIrrelevant, rule: ""},

	// prefix_signature_re.txt
	{fn: "", module: "", want: filePrefix, rule: "@0x0"}, // offset 0, see below
	{fn: "void * __cdecl operator new(unsigned __int64)", want: filePrefix, rule: `operator new(\[\])?`},
	{fn: "operator new[](unsigned long)", want: filePrefix, rule: `operator new(\[\])?`},
	{fn: "void __cdecl operator delete(void *)", want: filePrefix, rule: `operator delete(\[\])?`},
	{fn: "std::_Allocate<16,std::_Default_allocate_traits,0>(unsigned __int64)", want: filePrefix, rule: "std::_Allocate(<T>)?"},
	{fn: "static void * __cdecl std::_Default_allocate_traits::_Allocate(unsigned __int64)", want: filePrefix, rule: "std::_Default_allocate_traits::_Allocate"},
	{fn: "std::_Allocate_manually_vector_aligned<std::_Default_allocate_traits>(unsigned __int64)", want: filePrefix, rule: "std::_Allocate_manually_vector_aligned<T>"},
	{fn: "std::allocator<Entry16>::allocate(unsigned __int64)", want: filePrefix, rule: "std::allocator<T>::(allocate|deallocate)"},
	{fn: "__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)", want: filePrefix, rule: "__gnu_cxx::new_allocator<T>::(allocate|deallocate)"},
	{fn: "std::__new_allocator<Entry16>::allocate(unsigned long long, void const*)", want: filePrefix, rule: "std::__new_allocator<T>::(allocate|deallocate)"},
	{fn: "std::allocator_traits<std::allocator<Entry16> >::allocate", want: filePrefix, rule: "std::allocator_traits<T>::(allocate|deallocate)"},
	{fn: "std::_Vector_base<Entry16, std::allocator<Entry16> >::_M_allocate", want: filePrefix, rule: "std::_Vector_base<T>::_M_allocate"},
	{fn: "malloc", want: filePrefix, rule: "_?(malloc|calloc|realloc|free)(_base)?"},
	{fn: "_realloc_base", want: filePrefix, rule: "_?(malloc|calloc|realloc|free)(_base)?"},
	{fn: "_aligned_malloc", want: filePrefix, rule: "_aligned_(malloc|realloc|free)"},
	{fn: "_malloc_dbg", want: filePrefix, rule: "_(malloc|calloc|realloc|free)_dbg"},
	{fn: "moz_xmalloc", want: filePrefix, rule: "moz_x(malloc|calloc|realloc)"},
	{fn: "HeapAlloc", want: filePrefix, rule: "Heap(Alloc|ReAlloc|Free)"},
	{fn: "LocalAlloc", want: filePrefix, rule: "(Local|Global)(Alloc|ReAlloc|Free)"},
	{fn: "RtlAllocateHeap", want: filePrefix, rule: "Rtl(Allocate|ReAllocate|Free)Heap"},
	{fn: "RtlpAllocateHeapInternal", want: filePrefix, rule: "Rtlp[A-Za-z]*Heap[A-Za-z]*"},
	{fn: "VirtualAlloc", want: filePrefix, rule: "VirtualAlloc(Ex|FromApp)?"},
	{fn: "VirtualFreeEx", want: filePrefix, rule: "VirtualFree(Ex)?"},
	{fn: "NtAllocateVirtualMemory", want: filePrefix, rule: "(Nt|Zw)(Allocate|Free)VirtualMemory(Ex)?"},
	{fn: "CoTaskMemAlloc", want: filePrefix, rule: "CoTaskMem(Alloc|Realloc|Free)"},
	{fn: "SysAllocString", want: filePrefix, rule: "SysAlloc(String|StringLen|StringByteLen)"},
	{fn: "memcpy", want: filePrefix, rule: "_*mem(cpy|move|set|cmp|chr)(_[a-z0-9_]+)?"},
	{fn: "__memset_avx2_unaligned_erms", want: filePrefix, rule: "_*mem(cpy|move|set|cmp|chr)(_[a-z0-9_]+)?"},
	{fn: "strlen", want: filePrefix, rule: "_*(str|wcs)(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str|dup)(_s)?"},
	{fn: "wcscpy_s", want: filePrefix, rule: "_*(str|wcs)(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str|dup)(_s)?"},
	{fn: "lstrlenW", want: filePrefix, rule: "lstr(len|cpy|cat|cmp|cmpi)[AW]"},
	{fn: "RtlCopyMemory", want: filePrefix, rule: "Rtl(Copy|Move|Fill|Zero|Compare)Memory"},
	{fn: "_purecall", want: filePrefix, rule: "_purecall"},
	{module: "ntdll.dll", want: filePrefix, rule: `[a-z0-9_.-]+\.dll`},
	{fn: "std::vector<Entry16,std::allocator<Entry16> >::_Emplace_reallocate<Entry16 const &>", want: filePrefix, rule: "std::vector<T>::(_M_realloc_insert|_M_realloc_append|_Emplace_reallocate)(<T>)?"},
	{fn: "std::vector<Entry16, std::allocator<Entry16> >::_M_realloc_insert<const Entry16&>", want: filePrefix, rule: "std::vector<T>::(_M_realloc_insert|_M_realloc_append|_Emplace_reallocate)(<T>)?"},
	{fn: "std::vector<Entry16, std::allocator<Entry16> >::push_back", want: filePrefix, rule: ""},
	{fn: "copy_field", want: filePrefix, rule: ""},
	{module: "app.dll", want: filePrefix, rule: ""}, // app.dll@0x1234 is not trimmed, so it ends the walk

	// oom_irrelevant_signature_re.txt (skipped only in out-of-memory signatures)
	{fn: "void * __cdecl operator new(unsigned __int64)", want: fileOOMSkip, rule: `operator new(\[\])?`},
	{fn: "operator new[](unsigned long)", want: fileOOMSkip, rule: `operator new(\[\])?`},
	{fn: "operator delete(void*)", want: fileOOMSkip, rule: ""}, // freeing does not fail for lack of memory
	{fn: "std::_Allocate<16,std::_Default_allocate_traits,0>(unsigned __int64)", want: fileOOMSkip, rule: "std::_Allocate(<T>)?"},
	{fn: "static void * __cdecl std::_Default_allocate_traits::_Allocate(unsigned __int64)", want: fileOOMSkip, rule: "std::_Default_allocate_traits::_Allocate"},
	{fn: "std::_Allocate_manually_vector_aligned<std::_Default_allocate_traits>(unsigned __int64)", want: fileOOMSkip, rule: "std::_Allocate_manually_vector_aligned<T>"},
	{fn: "std::allocator<Entry16>::allocate(unsigned __int64)", want: fileOOMSkip, rule: "std::allocator<T>::allocate"},
	{fn: "__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)", want: fileOOMSkip, rule: "__gnu_cxx::new_allocator<T>::allocate"},
	{fn: "std::__new_allocator<Entry16>::allocate(unsigned long long, void const*)", want: fileOOMSkip, rule: "std::__new_allocator<T>::allocate"},
	{fn: "std::allocator_traits<std::allocator<Entry16> >::allocate", want: fileOOMSkip, rule: "std::allocator_traits<T>::allocate"},
	{fn: "std::_Vector_base<Entry16, std::allocator<Entry16> >::_M_allocate", want: fileOOMSkip, rule: "std::_Vector_base<T>::_M_allocate"},
	{fn: "std::vector<Entry16, std::allocator<Entry16> >::_M_realloc_insert<const Entry16&>", want: fileOOMSkip, rule: "std::vector<T>::(_M_realloc_insert|_M_realloc_append|_M_default_append|_M_fill_insert|_M_range_insert)(<T>)?"},
	{fn: "std::vector<int, std::allocator<int> >::_M_default_append(unsigned long)", want: fileOOMSkip, rule: "std::vector<T>::(_M_realloc_insert|_M_realloc_append|_M_default_append|_M_fill_insert|_M_range_insert)(<T>)?"},
	{fn: "public: void __cdecl std::vector<struct Entry16,class std::allocator<struct Entry16> >::_Emplace_reallocate<struct Entry16 const &>(struct Entry16 * const,struct Entry16 const &) __ptr64", want: fileOOMSkip, rule: "std::vector<T>::(_Emplace_reallocate|_Emplace_one_at_back|_Emplace_back_with_unused_capacity|_Resize_reallocate|_Resize)(<T>)?"},
	{fn: "std::vector<Entry16, std::allocator<Entry16> >::push_back", want: fileOOMSkip, rule: "std::vector<T>::(push_back|emplace_back|emplace|insert|resize|reserve)(<T>)?"},
	{fn: "std::vector<int,std::allocator<int> >::emplace_back<int>(int&&)", want: fileOOMSkip, rule: "std::vector<T>::(push_back|emplace_back|emplace|insert|resize|reserve)(<T>)?"},
	{fn: "std::vector<int,std::allocator<int> >::size() const", want: fileOOMSkip, rule: ""},
	{fn: "malloc", want: fileOOMSkip, rule: "_?(malloc|calloc|realloc)(_base)?"},
	{fn: "_malloc_base", want: fileOOMSkip, rule: "_?(malloc|calloc|realloc)(_base)?"},
	{fn: "free", want: fileOOMSkip, rule: ""},
	{fn: "_aligned_malloc", want: fileOOMSkip, rule: "_aligned_(malloc|realloc)"},
	{fn: "_calloc_dbg", want: fileOOMSkip, rule: "_(malloc|calloc|realloc)_dbg"},
	{fn: "moz_xrealloc", want: fileOOMSkip, rule: "moz_x(malloc|calloc|realloc)"},
	{fn: "HeapAlloc", want: fileOOMSkip, rule: "Heap(Alloc|ReAlloc)"},
	{fn: "GlobalReAlloc", want: fileOOMSkip, rule: "(Local|Global)(Alloc|ReAlloc)"},
	{fn: "RtlAllocateHeap", want: fileOOMSkip, rule: "Rtl(Allocate|ReAllocate)Heap"},
	{fn: "RtlpAllocateHeapInternal", want: fileOOMSkip, rule: "Rtlp[A-Za-z]*Heap[A-Za-z]*"},
	{fn: "VirtualAllocEx", want: fileOOMSkip, rule: "VirtualAlloc(Ex|FromApp)?"},
	{fn: "NtAllocateVirtualMemory", want: fileOOMSkip, rule: "(Nt|Zw)AllocateVirtualMemory(Ex)?"},
	{fn: "CoTaskMemAlloc", want: fileOOMSkip, rule: "CoTaskMem(Alloc|Realloc)"},
	{fn: "fill_vector", want: fileOOMSkip, rule: ""},

	// trim_module_re.txt
	{module: "ntdll.dll", want: fileTrimModule, rule: `ntdll\.dll`},
	{module: "KERNELBASE.dll", want: fileTrimModule, rule: `kernel(base|32)\.dll`},
	{module: `C:\Windows\System32\ucrtbase.dll`, want: fileTrimModule, rule: `(ucrtbase|msvcrt)\.dll`},
	{module: "VCRUNTIME140_1.dll", want: fileTrimModule, rule: `(vcruntime140(_1)?|msvcp140)\.dll`},
	{module: "user32.dll", want: fileTrimModule, rule: `(user32|win32u|gdi32|gdi32full|combase|ole32|rpcrt4)\.dll`},
	{module: "d3d11.dll", want: fileTrimModule, rule: `(d3d11|d3d12|dxgi|d3d9)\.dll`},
	{module: "nvwgf2umx.dll", want: fileTrimModule, rule: `nv(wgf2um|d3dum|oglv|umdshim)(x|32|64)?\.dll`},
	{module: "igd10iumd64.dll", want: fileTrimModule, rule: `igd(10iumd|12umd|umdim|usc)(32|64)\.dll`},
	{module: "atidxx64.dll", want: fileTrimModule, rule: `(atidxx|amdxx|atiumd[a-z0-9]*|amdxc)(32|64)?\.dll`},
	{module: "app.exe", want: fileTrimModule, rule: ""},

	// signature_sentinels.txt
	{fn: "_purecall", want: fileSentinels, rule: "_purecall"},
	{fn: "purecall_helper", want: fileSentinels, rule: ""},
}

// caseFrame builds the frame a case describes. The two @0x cases use
// offsets 0x1234 (irrelevant) and 0 (prefix).
func caseFrame(c ruleCase) report.Frame {
	f := report.Frame{Function: c.fn, Module: c.module, ModuleOffset: 0x1234}
	if c.fn == "" && c.module == "" {
		if c.want == fileIrrelevant {
			f.Offset = 0x1234
		}
	}
	return f
}

// classify returns the first line of file that matches the frame, and the
// frame's name.
func classify(rs *ruleSet, c ruleCase) (*rule, string) {
	f := rs.normalizeFrame(caseFrame(c), 0)
	switch c.want {
	case fileIrrelevant:
		return match(rs.irrelevant, f.name), f.name
	case filePrefix:
		return match(rs.prefix, f.name), f.name
	case fileOOMSkip:
		return match(rs.oomSkip, f.name), f.name
	case fileTrimModule:
		m := strings.ToLower(c.module)
		if k := strings.LastIndexAny(m, `/\`); k >= 0 {
			m = m[k+1:]
		}
		return match(rs.trimModule, m), f.name
	case fileSentinels:
		for _, r := range rs.sentinels {
			if r.text == f.name {
				return r, f.name
			}
		}
		return nil, f.name
	}
	panic("unknown file " + c.want)
}

func TestRules(t *testing.T) {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ruleCases {
		t.Run(c.want+"/"+c.fn+c.module, func(t *testing.T) {
			r, name := classify(rs, c)
			got := ""
			if r != nil {
				got = r.text
			}
			if got != c.rule {
				t.Errorf("frame %q (normalised %q): first matching line of %s is %q, want %q", c.fn+c.module, name, c.want, got, c.rule)
			}
		})
	}
}

// TestRulesCoverage checks that every line of every rules file is the
// deciding line for at least one case, here or in the generator tests.
func TestRulesCoverage(t *testing.T) {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	hit := map[*rule]bool{}
	for _, c := range ruleCases {
		if r, _ := classify(rs, c); r != nil {
			hit[r] = true
		}
	}
	// crash_types.txt and oom_size.txt are exercised by TestGenerate cases;
	// check here that those cases exist by running one per line.
	for ct, r := range rs.crashTypes {
		_, notes := Generate(Input{CrashType: ct, Frames: []report.Frame{{Function: "f"}}})
		if strings.Contains(strings.Join(notes, "\n"), r.String()) {
			hit[r] = true
		}
	}
	if _, note := OOMClass(nil); strings.Contains(note, rs.largeRule.String()) {
		hit[rs.largeRule] = true
	}
	all := [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule, rs.sentinels, {rs.largeRule}}
	for _, r := range rs.crashTypes {
		all = append(all, []*rule{r})
	}
	for _, list := range all {
		for _, r := range list {
			if !hit[r] {
				t.Errorf("no test case exercises %s", r)
			}
		}
	}
}

func TestOOMClass(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		req  *uint64
		want string
	}{
		{nil, "large"},
		{u(1 << 30), "large"},
		{u(256 << 20), "large"},
		{u(256<<20 - 1), "small"},
		{u(16), "small"},
		{u(968651152), "large"}, // the heap_nomem request
	}
	for _, tt := range tests {
		got, note := OOMClass(tt.req)
		if got != tt.want || !strings.Contains(note, "oom_size.txt:") {
			t.Errorf("OOMClass(%v) = %q, %q; want %q and a note naming the rule", tt.req, got, note, tt.want)
		}
	}
}

// TestLoadRulesErrors checks that a bad rules file is reported with its line:
// by loadRules, or, for an expression that does not compile (expressions
// are compiled on first use, not at load), by compiling the rules.
func TestLoadRulesErrors(t *testing.T) {
	good := map[string]string{
		fileIrrelevant: "abort\n", filePrefix: "malloc\n", fileOOMSkip: "malloc\n", fileSentinels: "_purecall\n", fileTrimModule: `ntdll\.dll` + "\n",
		fileCrashTypes: "EXCEPTION_STACK_OVERFLOW stackoverflow\n", fileOOMSize: "large_bytes 1024\n",
	}
	tests := []struct{ file, text, want string }{
		{fileIrrelevant, "# c\n\nabort(\n", fileIrrelevant + ":3"},
		{filePrefix, "[\n", filePrefix + ":1"},
		{fileOOMSkip, "a\n(\n", fileOOMSkip + ":2"},
		{fileTrimModule, "(\n", fileTrimModule + ":1"},
		{fileTrimModule, "ok\\.dll\n(?i\n", fileTrimModule + ":2"},
		{fileCrashTypes, "X overflow\n", fileCrashTypes + ":1"},
		{fileOOMSize, "large_bytes lots\n", fileOOMSize + ":1"},
		{fileOOMSize, "small_bytes 1\n", fileOOMSize + ":1"},
		{fileOOMSize, "# nothing\n", "no large_bytes"},
		{fileSentinels, "", ""},
	}
	for _, tt := range tests {
		fsys := fstest.MapFS{}
		for k, v := range good {
			fsys["r/"+k] = &fstest.MapFile{Data: []byte(v)}
		}
		fsys["r/"+tt.file] = &fstest.MapFile{Data: []byte(tt.text)}
		rs, err := loadRules(fsys, "r")
		if err == nil {
			err = compileRules(rs)
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %q: %v", tt.file, tt.text, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %q: error %v, want one containing %q", tt.file, tt.text, err, tt.want)
		}
	}
	delete(good, fileSentinels)
	fsys := fstest.MapFS{}
	for k, v := range good {
		fsys["r/"+k] = &fstest.MapFile{Data: []byte(v)}
	}
	if _, err := loadRules(fsys, "r"); err == nil {
		t.Error("missing file: no error")
	}
}

// compileRules compiles every expression rule, as match would on first
// use, and returns the first error, which names the file and line.
func compileRules(rs *ruleSet) error {
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, r := range list {
			if _, err := r.compile(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestRuleCompilePanics checks that a rule that does not compile names its
// line when match first needs it.
func TestRuleCompilePanics(t *testing.T) {
	r := &rule{file: "x.txt", line: 7, text: "a("}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "x.txt:7") {
			t.Errorf("panic %v, want one naming x.txt:7", p)
		}
	}()
	match([]*rule{r}, "a(")
}

// TestRulesFilesReadable checks the house style of the rules files: a
// comment header, no trailing spaces, no duplicate lines.
func TestRulesFilesReadable(t *testing.T) {
	entries, err := rulesFS.ReadDir("rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := rulesFS.ReadFile("rules/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# ") {
			t.Errorf("%s: does not start with a comment saying what it is", e.Name())
		}
		seen := map[string]int{}
		for i, l := range strings.Split(string(b), "\n") {
			if strings.TrimRight(l, " \t") != l {
				t.Errorf("%s:%d: trailing space", e.Name(), i+1)
			}
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if j, ok := seen[l]; ok {
				t.Errorf("%s:%d: duplicate of line %d", e.Name(), i+1, j)
			}
			seen[l] = i + 1
		}
	}
}

// TestRulesCompile: every embedded expression rule compiles (loadRules does
// not check them; they compile lazily in use), and its literal prefix is one
// every match starts with.
func TestRulesCompile(t *testing.T) {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	if err := compileRules(rs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, r := range list {
			n++
			if r.complete {
				if regexp.QuoteMeta(r.prefix) != r.text {
					t.Errorf("%s: marked the plain name %q", r, r.prefix)
				}
				continue
			}
			// LiteralPrefix of the unanchored form is what every match starts with.
			if lit, _ := regexp.MustCompile(`(?:` + r.text + `)`).LiteralPrefix(); !strings.HasPrefix(lit, r.prefix) {
				t.Errorf("%s: prefix %q is not a prefix of every match (%q)", r, r.prefix, lit)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d expression rules", n)
	}
}
