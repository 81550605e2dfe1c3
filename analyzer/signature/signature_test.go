package signature

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// fr is a frame with a module and a function ("module!function"), only a
// module ("module+0xoff") or neither ("@0xaddr").
func fr(spec string) report.Frame {
	var f report.Frame
	switch {
	case strings.HasPrefix(spec, "@"):
		fmt.Sscanf(spec, "@0x%x", (*uint64)(&f.Offset))
	case strings.Contains(spec, "!"):
		f.Module, f.Function, _ = strings.Cut(spec, "!")
	case strings.Contains(spec, "+0x"):
		m, off, _ := strings.Cut(spec, "+0x")
		f.Module = m
		fmt.Sscanf(off, "%x", (*uint64)(&f.ModuleOffset))
		f.Offset = 0x140000000 + f.ModuleOffset
	default:
		f.Function = spec
	}
	return f
}

func frames(specs ...string) []report.Frame {
	out := make([]report.Frame, len(specs))
	for i, s := range specs {
		out[i] = fr(s)
		out[i].Frame = i
	}
	return out
}

func repeat(n int, specs ...string) []string {
	var out []string
	for range n {
		out = append(out, specs...)
	}
	return out
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
		// notes must each appear, in order, as substrings of the notes.
		notes []string
	}{
		{
			name: "founding case: MSVC bad_alloc from vector growth",
			in: Input{
				CrashType: "0xe06d7363", OOM: "large",
				Frames: frames(
					"KERNELBASE.dll!RaiseException",
					"VCRUNTIME140.dll!_CxxThrowException",
					"msvcp140.dll!void __cdecl std::_Xbad_alloc(void)",
					"app.exe!void * __cdecl operator new(unsigned __int64)",
					"app.exe!public: void __cdecl std::vector<struct Entry16,class std::allocator<struct Entry16> >::_Emplace_reallocate<struct Entry16 const &>(struct Entry16 * const,struct Entry16 const &) __ptr64",
					"app.exe!void __cdecl fill_vector(class std::vector<struct Entry16,class std::allocator<struct Entry16> > &)",
					"app.exe!main",
					"app.exe!__scrt_common_main_seh",
					"KERNEL32.DLL!BaseThreadInitThunk",
					"ntdll.dll!RtlUserThreadStart",
				),
			},
			want: "OOM | large | fill_vector",
			notes: []string{
				`irrelevant: skipped frame 0 "RaiseException" [irrelevant_signature_re.txt:`,
				`irrelevant: skipped frame 1 "_CxxThrowException"`,
				`irrelevant: skipped frame 2 "std::_Xbad_alloc"`,
				`oom allocator: skipped frame 3 "operator new" [oom_irrelevant_signature_re.txt:`,
				`oom allocator: skipped frame 4 "std::vector<T>::_Emplace_reallocate<T>" [oom_irrelevant_signature_re.txt:`,
				`end: kept frame 5 "fill_vector", which matches no prefix rule`,
				`oom: prefixed "OOM | large | "`,
			},
		},
		{
			name: "not out of memory: the allocator frames are prefixes, so heap corruption in malloc says so",
			in: Input{
				CrashType: "EXCEPTION_ACCESS_VIOLATION_READ",
				Frames: frames("ntdll.dll!RtlpAllocateHeapInternal", "ntdll.dll!RtlAllocateHeap", "ucrtbase.dll!_malloc_base",
					"app.exe!operator new(unsigned __int64)", "app.exe!std::vector<int,std::allocator<int> >::_Emplace_reallocate<int>(int *,int &&)",
					"app.exe!fill_vector(std::vector<int> &)", "app.exe!main"),
			},
			want: "RtlpAllocateHeapInternal | RtlAllocateHeap | _malloc_base | operator new | std::vector<T>::_Emplace_reallocate<T> | fill_vector",
		},
		{
			name: "Wine heap_nomem: RtlAllocateHeap raises STATUS_NO_MEMORY",
			in: Input{
				CrashType: "STATUS_NO_MEMORY", OOM: "large",
				Frames: frames("ntdll.dll!raise_status", "ntdll.dll!RtlRaiseStatus", "ntdll.dll!RtlAllocateHeap",
					"heap_nomem.exe!allocate_cache_block", "heap_nomem.exe!load_texture_cache", "heap_nomem.exe!main",
					"heap_nomem.exe+0x13ae", "heap_nomem.exe+0x14e6", "kernel32.dll!BaseThreadInitThunk", "ntdll.dll!RtlUserThreadStart"),
			},
			want:  "OOM | large | allocate_cache_block",
			notes: []string{`skipped frame 0 "raise_status"`, `skipped frame 1 "RtlRaiseStatus"`, `oom allocator: skipped frame 2 "RtlAllocateHeap"`, `kept frame 3 "allocate_cache_block"`},
		},
		{
			name: "OOM implied by STATUS_NO_MEMORY when the caller did not say",
			in:   Input{CrashType: "STATUS_NO_MEMORY", Frames: frames("ntdll.dll!RtlRaiseStatus", "ntdll.dll!RtlAllocateHeap", "app.exe!load")},
			want: "OOM | large | load",
			notes: []string{
				`oom: implied by crash type STATUS_NO_MEMORY, size unknown so large [crash_types.txt:`,
			},
		},
		{
			name: "OOM small",
			in:   Input{OOM: "small", Frames: frames("ucrtbase.dll!_malloc_base", "app.exe!std::string::_Reallocate_grow_by<lambda_1>(unsigned __int64)")},
			want: "OOM | small | std::string::_Reallocate_grow_by<T>",
		},
		{
			name:  "OOM class the caller did not name is large",
			in:    Input{OOM: "unknown", Frames: frames("app.exe!f")},
			want:  "OOM | large | f",
			notes: []string{`oom: unknown OOM class "unknown" taken as large`},
		},
		{
			name: "stack overflow: parse_expression repeated 400 times",
			in: Input{
				CrashType: "EXCEPTION_STACK_OVERFLOW", StackOverflow: true,
				Frames: frames(cat([]string{"so.exe!___chkstk_ms"}, repeat(400, "so.exe!parse_expression"),
					[]string{"so.exe!evaluate", "so.exe!main", "so.exe!__tmainCRTStartup", "so.exe!mainCRTStartup", "kernel32.dll!BaseThreadInitThunk", "ntdll.dll!RtlUserThreadStart"})...),
			},
			want:  "stackoverflow | parse_expression",
			notes: []string{`recursion cycle "parse_expression" repeats 400 times from frame 1`, `skipped frame 0 "___chkstk_ms"`, `stackoverflow: prefixed "stackoverflow | "`},
		},
		{
			name: "stack overflow implied by crash type, with the caller's cycle",
			in: Input{
				CrashType: "EXCEPTION_STACK_OVERFLOW", Recursion: []string{"walk_tree(node*)", "visit(node*)"},
				Frames: frames(cat([]string{"app.exe!__chkstk", "app.exe!log_line"}, repeat(50, "app.exe!visit(node*)", "app.exe!walk_tree(node*)"), []string{"app.exe!main"})...),
			},
			want: "stackoverflow | visit | walk_tree",
			notes: []string{
				`stackoverflow: implied by crash type EXCEPTION_STACK_OVERFLOW [crash_types.txt:`,
				`recursion cycle "visit | walk_tree" (from the caller) starts at frame 2`,
				`skipped frame 0 "__chkstk"`, `dropped frame 1 "log_line" above the recursion`,
			},
		},
		{
			name: "stack overflow: the caller's cycle is not in the frames, one is detected",
			in: Input{
				StackOverflow: true, Recursion: []string{"elsewhere"},
				Frames: frames(cat(repeat(10, "a.exe!f", "a.exe!g", "a.exe!h"), []string{"a.exe!main"})...),
			},
			want:  "stackoverflow | f | g | h",
			notes: []string{`(from the caller) is not among the first 40 relevant frames`, `recursion cycle "f | g | h" repeats 10 times from frame 0`},
		},
		{
			name: "stack overflow: the caller's cycle of unnamed frames, as the stackoverflow package writes it",
			in: Input{
				StackOverflow: true, Recursion: []string{"SO.exe+0x1ebf", "SO.exe+0x1f00"},
				Frames: frames(cat([]string{"SO.exe+0x3f7b"}, repeat(2, "SO.exe+0x1f00", "SO.exe+0x1ebf"))...),
			},
			want:  "stackoverflow | so.exe@0x1f00 | so.exe@0x1ebf",
			notes: []string{`recursion cycle "so.exe@0x1f00 | so.exe@0x1ebf" (from the caller) starts at frame 1`},
		},
		{
			// Frames without a module are irrelevant, so a cycle of them is too.
			name: "stack overflow: the caller's cycle of bare addresses is irrelevant",
			in: Input{
				StackOverflow: true, Recursion: []string{"0x7FF0"},
				Frames: frames("@0x10", "@0x7ff0", "@0x7ff0", "@0x7ff0", "app.exe!main"),
			},
			want:  "stackoverflow | main",
			notes: []string{`recursion cycle "@0x7ff0" (from the caller) is not among the first 40 relevant frames`, "no recursion cycle found"},
		},
		{
			name:  "stack overflow without recursion walks the frames",
			in:    Input{StackOverflow: true, Frames: frames("app.exe!__chkstk", "app.exe!big_locals", "app.exe!main")},
			want:  "stackoverflow | big_locals",
			notes: []string{"no recursion cycle found"},
		},
		{
			name: "stack overflow in a module without symbols",
			in: Input{
				StackOverflow: true,
				Frames:        frames(cat([]string{"so.exe+0x3f7b", "@0x1", "so.exe+0xa379", "so.exe+0x1e2a"}, repeat(200, "so.exe+0x1ebf"), []string{"so.exe+0x13ae"})...),
			},
			want: "stackoverflow | so.exe@0x1ebf",
		},
		{
			name:  "null read in copy_field",
			in:    Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ", Frames: frames("av.exe!copy_field", "av.exe!parse_header", "av.exe!process_request", "av.exe!main")},
			want:  "copy_field",
			notes: []string{`end: kept frame 0 "copy_field", which matches no prefix rule`},
		},
		{
			name: "null read inside memcpy names the caller",
			in:   Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ", Frames: frames("vcruntime140.dll!memcpy", "av.exe!copy_field", "av.exe!main")},
			want: "memcpy | copy_field",
		},
		{
			name: "frames with only module offsets",
			in:   Input{Frames: frames("app.exe+0x1234", "app.exe+0x5678")},
			want: "app.exe@0x1234",
		},
		{
			name:  "system DLLs without symbols are trimmed, merged and passed",
			in:    Input{Frames: frames("ntdll.dll+0x9a0b4", "ntdll.dll+0x1234", "KERNELBASE.dll+0x4455", "plugin.dll+0x77", "app.exe+0x10")},
			want:  "ntdll.dll | kernelbase.dll | plugin.dll@0x77",
			notes: []string{`trim: merged frame 1 "ntdll.dll" into the frame above`},
		},
		{
			name: "an export name far from the address is not trusted",
			in: Input{Frames: []report.Frame{
				{Module: "UnityPlayer.dll", ModuleOffset: 0x7021fd, Function: "UnityMain", FunctionOffset: 0x1f21fd, SymbolSource: "exports"},
				{Module: "UnityPlayer.dll", ModuleOffset: 0x6ffed5, Function: "UnityMain", FunctionOffset: 0x1efed5, SymbolSource: "exports"},
			}},
			want:  "unityplayer.dll@0x7021fd",
			notes: []string{`exports: frame 0 is 0x1f21fd bytes past the export "UnityMain", too far (>= 0x10000) to be in it; named "unityplayer.dll@0x7021fd"`},
		},
		{
			name: "an export name near the address is used",
			in: Input{Frames: []report.Frame{
				{Module: "ntdll.dll", Function: "RtlSetLastWin32ErrorAndNtStatusFromNtStatus", FunctionOffset: 1992, SymbolSource: "exports"},
				{Module: "ntdll.dll", Function: "RtlAllocateHeap", FunctionOffset: 0x581, SymbolSource: "exports"},
				{Module: "app.exe", Function: "load", SymbolSource: "pdb"},
			}},
			want: "RtlAllocateHeap | load",
		},
		{
			name: "a frame without a module at a non-null address is skipped",
			in:   Input{Frames: frames("@0x7ff6deadbeef", "app.exe!dispatch")},
			want: "dispatch",
		},
		{
			name: "a call through a null pointer keeps @0x0 and its caller",
			in:   Input{Frames: frames("@0x0", "app.exe!Widget::notify(int)", "app.exe!main")},
			want: "@0x0 | Widget::notify",
		},
		{
			name: "file and line without a function",
			in:   Input{Frames: []report.Frame{{Module: "app.exe", ModuleOffset: 0x10, File: `c:\src\parser\lexer.c`, Line: 42}}},
			want: "lexer.c#42",
		},
		{
			name:  "sentinel: a pure virtual call",
			in:    Input{Frames: frames("ucrtbase.dll!abort", "app.exe!Renderer::draw", "app.exe!_purecall", "app.exe!Scene::render()", "app.exe!main")},
			want:  "_purecall | Scene::render",
			notes: []string{`sentinel: starting at frame 2 "_purecall" [signature_sentinels.txt:`},
		},
		{
			name:  "collapse a recursion cycle among prefix frames",
			in:    Input{Frames: frames("m.dll!memcpy", "m.dll!memmove", "m.dll!memcpy", "m.dll!memmove", "m.dll!memcpy", "app.exe!copy")},
			want:  "memcpy | memmove | copy",
			notes: []string{`recursion: collapsed "memcpy | memmove" repeated 2 times to one`},
		},
		{
			name:  "every frame irrelevant: use the first",
			in:    Input{Frames: frames("KERNELBASE.dll!RaiseException", "ntdll.dll!RtlUserThreadStart")},
			want:  "RaiseException",
			notes: []string{`empty: every frame was irrelevant; using frame 0 "RaiseException"`},
		},
		{
			name:  "no frames",
			in:    Input{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"},
			want:  "EMPTY: no frame data available",
			notes: []string{"empty: the crashing thread has no frames"},
		},
		{
			name:  "prefix frames to the end",
			in:    Input{Frames: frames("ucrtbase.dll!malloc", "ucrtbase.dll!_malloc_base")},
			want:  "malloc | _malloc_base",
			notes: []string{"end: ran out of frames while in prefix frames"},
		},
		{
			name: "only the first 40 frames are walked",
			in:   Input{Frames: frames(append(repeat(41, "KERNELBASE.dll!RaiseException"), "app.exe!deep")...)},
			want: "RaiseException",
		},
		{
			name:  "long signatures are truncated to 255 characters",
			in:    Input{Frames: frames("malloc", "app.exe!"+strings.Repeat("Namespace::", 30)+"f")},
			want:  "malloc | " + strings.Repeat("Namespace::", 30)[:255-3-len("malloc | ")] + "...",
			notes: []string{"truncated to 255 characters"},
		},
		{
			name: "both an OOM and a stack overflow",
			in:   Input{OOM: "large", StackOverflow: true, Frames: frames("app.exe!f")},
			want: "OOM | large | stackoverflow | f",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := Generate(tt.in)
			if got != tt.want {
				t.Errorf("Generate() = %q, want %q\nnotes:\n  %s", got, tt.want, strings.Join(notes, "\n  "))
			}
			checkNotes(t, notes, tt.notes)
		})
	}
}

// checkNotes checks that each wanted substring appears in the notes, in order.
func checkNotes(t *testing.T, notes, want []string) {
	t.Helper()
	i := 0
	for _, w := range want {
		for i < len(notes) && !strings.Contains(notes[i], w) {
			i++
		}
		if i == len(notes) {
			t.Errorf("no note containing %q (in order); notes:\n  %s", w, strings.Join(notes, "\n  "))
			return
		}
		i++
	}
}

// TestGenerateFrameNumbers checks that notes quote report.Frame.Frame.
func TestGenerateFrameNumbers(t *testing.T) {
	fs := frames("KERNELBASE.dll!RaiseException", "app.exe!f")
	fs[0].Frame, fs[1].Frame = 7, 8
	_, notes := Generate(Input{Frames: fs})
	checkNotes(t, notes, []string{`skipped frame 7 "RaiseException"`, `kept frame 8 "f"`})
}

func BenchmarkGenerate(b *testing.B) {
	in := Input{
		CrashType: "0xe06d7363", OOM: "large",
		Frames: frames("KERNELBASE.dll!RaiseException", "VCRUNTIME140.dll!_CxxThrowException", "msvcp140.dll!std::_Xbad_alloc",
			"app.exe!void * __cdecl operator new(unsigned __int64)",
			"app.exe!public: void __cdecl std::vector<struct Entry16,class std::allocator<struct Entry16> >::_Emplace_reallocate<struct Entry16 const &>(struct Entry16 * const,struct Entry16 const &) __ptr64",
			"app.exe!main"),
	}
	for b.Loop() {
		Generate(in)
	}
}

func BenchmarkGenerateStackOverflow(b *testing.B) {
	in := Input{StackOverflow: true, Frames: frames(cat([]string{"so.exe!___chkstk_ms"}, repeat(2000, "so.exe!parse_expression(char const*, int)"))...)}
	for b.Loop() {
		Generate(in)
	}
}
