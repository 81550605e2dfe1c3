package signature

import (
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// Templates collapse to <T>, as Socorro does.
		{"template args", "std::vector<int,std::allocator<int> >::push_back", "std::vector<T>::push_back"},
		{"member template", "std::vector<Entry16,std::allocator<Entry16> >::_Emplace_reallocate<Entry16 const &>", "std::vector<T>::_Emplace_reallocate<T>"},
		{"nested templates", "std::_Func_impl_no_alloc<std::function<void (int)>,void,std::map<int,std::pair<int,int> > >::_Do_call", "std::_Func_impl_no_alloc<T>::_Do_call"},
		{"empty template", "f<>", "f<T>"},
		{"gcc template spacing", "std::vector<Entry16, std::allocator<Entry16> >::_M_realloc_insert<const Entry16&>", "std::vector<T>::_M_realloc_insert<T>"},
		{"destructor", "std::basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >::~basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >", "std::basic_string<T>::~basic_string<T>"},

		// Argument lists, return types, access, calling conventions, qualifiers.
		{"full msvc name", "public: void __cdecl std::vector<int,std::allocator<int> >::push_back(int const &) __ptr64", "std::vector<T>::push_back"},
		{"operator new msvc", "void * __cdecl operator new(unsigned __int64)", "operator new"},
		{"operator new gcc", "operator new(unsigned long long)", "operator new"},
		{"operator new[]", "void * __cdecl operator new[](unsigned __int64)", "operator new[]"},
		{"operator delete[] spaced", "operator delete [](void*)", "operator delete[]"},
		{"static member operator new", "public: static void * __cdecl Op::operator new(unsigned int, void *)", "Op::operator new"},
		{"const member", "public: virtual char const * __thiscall std::bad_alloc::what(void) const", "std::bad_alloc::what"},
		{"ref qualifier", "Foo::get() const&", "Foo::get"},
		{"rvalue qualifier", "Foo::take() &&", "Foo::take"},
		{"noexcept", "Foo::swap(Foo&) noexcept", "Foo::swap"},
		{"space before args", "somefunc (int a, int b)", "somefunc"},
		{"stdcall private static", "private: static unsigned long __stdcall google_breakpad::ExceptionHandler::ExceptionHandlerThreadMain(void *)", "google_breakpad::ExceptionHandler::ExceptionHandlerThreadMain"},
		{"return type template", "class std::basic_string<char,struct std::char_traits<char>,class std::allocator<char> > __cdecl make_name(int)", "make_name"},
		{"function pointer return", "int (__cdecl * __cdecl f(void))(int)", "f"},
		{"lldb argument values", "std::__new_allocator<Entry16>::allocate(this=0x000000000021fcc0, __n=67108864, (null)=0x0000000000000000)", "std::__new_allocator<T>::allocate"},
		{"lldb leading ::", "::fill_vector(v=size=33554432)", "fill_vector"},
		{"C name", "copy_field", "copy_field"},

		// Operators stay whole.
		{"operator<< with template", "class std::basic_ostream<char, struct std::char_traits<char>> & __cdecl std::operator<<<struct std::char_traits<char>>(class std::basic_ostream<char, struct std::char_traits<char>> &, char const *)", "std::operator<<<T>"},
		{"operator<", "bool __cdecl Foo::operator<(Foo const &) const", "Foo::operator<"},
		{"operator>", "Foo::operator>(Foo const&) const", "Foo::operator>"},
		{"operator>>", "public: struct Op __thiscall Op::operator>>(int) const", "Op::operator>>"},
		{"operator->", "std::unique_ptr<Foo,std::default_delete<Foo> >::operator->() const", "std::unique_ptr<T>::operator->"},
		{"operator()", "std::less<int>::operator()(int const &, int const &) const", "std::less<T>::operator()"},
		{"operator!=", "public: bool __thiscall std::map<int, int, int>::iterator::operator!=(struct std::map<int, int, int>::iterator const &) const", "std::map<T>::iterator::operator!="},
		{"operator=", "public: struct Op & __thiscall Op::operator=(struct Op const &)", "Op::operator="},
		{"operator<=>", "Foo::operator<=>(Foo const&) const", "Foo::operator<=>"},
		{"operator, ", "Foo::operator,(int)", "Foo::operator,"},
		{"conversion operator", "Foo::operator bool() const", "Foo::operator bool"},
		{"conversion to template", "Foo::operator std::basic_string<char>() const", "Foo::operator std::basic_string<T>"},
		{"conversion to pointer", "public: __cdecl Foo::operator char const * (void) const", "Foo::operator char const*"},
		{"operator inside template", "std::_Func_impl<Foo::operator<, int>::_Do_call", "std::_Func_impl<T>::_Do_call"},

		// Namespaces, lambdas, MSVC scopes.
		{"msvc anonymous namespace", "`anonymous namespace'::Foo::bar(int)", "(anonymous namespace)::Foo::bar"},
		{"gcc anonymous namespace", "(anonymous namespace)::Foo::bar(int)", "(anonymous namespace)::Foo::bar"},
		{"anonymous namespace with return type", "void (anonymous namespace)::run(int)", "(anonymous namespace)::run"},
		{"msvc lambda", "`void __cdecl main(void)'::`2'::<lambda_1a2b3c>::operator()(void) const", "`main'::`2'::<lambda>::operator()"},
		{"gcc lambda", "main::{lambda(int)#1}::operator()(int) const", "main::{lambda#1}::operator()"},
		{"clang lambda number", "foo::$_12::operator()(int) const", "foo::$::operator()"},
		{"clang lambda number at end", "foo::$_3", "foo::$"},
		{"msvc local static guard", "int `int __cdecl counter2(void)'::`2'::$TSS0", "`counter2'::`2'::$TSS0"},
		{"msvc dynamic initializer", "void __cdecl `dynamic initializer for 'gTable''(void)", "`dynamic initializer for 'gTable''"},
		{"msvc thunk", "[thunk]:public: virtual void __cdecl Foo::bar(void)", "Foo::bar"},

		// GCC clones, Rust, x86 decoration.
		{"gcc cold clone", "foo(int) [clone .cold.1]", "foo"},
		{"gcc two clones", "foo(int) [clone .isra.0] [clone .cold]", "foo"},
		{"gcc abi tag kept", "name[abi:cxx11](int)", "name[abi:cxx11]"},
		{"rust qualified path", "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop::h0123456789abcdef", "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop"},
		{"rust generic", "core::ptr::drop_in_place<alloc::vec::Vec<u8>>", "core::ptr::drop_in_place<T>"},
		{"stdcall decoration", "_RaiseException@16", "RaiseException"},
		{"stdcall decoration keeps underscore", "__CxxThrowException@8", "_CxxThrowException"},
		{"fastcall decoration", "@fastfn@8", "fastfn"},

		// Whitespace and junk.
		{"whitespace", "  foo::bar\t( int\n)  ", "foo::bar"},
		{"control chars", "fo\x00o\x01", "foo"},
		{"invalid utf8", "f\xffoo", "foo"},
		{"empty", "", ""},
		{"only qualifiers", "const volatile", ""},
		{"unclosed template", "std::vector<int", "std::vector<T>"},
		{"unclosed args", "foo(int", "foo"},
		{"stray closer", "a>b::c)", "a>b::c)"},
		{"comma spacing", "Foo::operator,", "Foo::operator,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeIdempotent checks that a normalised name normalises to itself,
// so names the dashboard stores can be normalised again safely.
func TestNormalizeIdempotent(t *testing.T) {
	for _, in := range []string{
		"std::vector<T>::_Emplace_reallocate<T>", "operator new", "operator new[]", "(anonymous namespace)::Foo::bar",
		"`main'::`2'::<lambda>::operator()", "std::operator<<<T>", "Foo::operator bool", "main::{lambda#1}::operator()",
		"<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop", "module.dll@0x1234",
	} {
		if got := Normalize(in); got != in {
			t.Errorf("Normalize(%q) = %q, want it unchanged", in, got)
		}
	}
}

// TestNormalizePathological checks that deep nesting and long names cost
// linear time.
func TestNormalizePathological(t *testing.T) {
	n := 200000
	cases := map[string]string{
		"deep templates":   "f" + strings.Repeat("<", n) + strings.Repeat(">", n),
		"unclosed":         strings.Repeat("<", n),
		"stray closers":    strings.Repeat("<", n) + strings.Repeat(")", n),
		"deep parens":      strings.Repeat("(", n) + strings.Repeat(")", n),
		"deep backticks":   strings.Repeat("`(", n),
		"deep braces":      strings.Repeat("{", n) + strings.Repeat("}", n),
		"many operators":   strings.Repeat("operator<", n/8),
		"many conversions": strings.Repeat("operator a<b>", n/12),
		"rust as nesting":  strings.Repeat("< as ", n/5),
		"long plain":       strings.Repeat("a::", n),
		"many spaces":      strings.Repeat("a ", n),
	}
	for name, in := range cases {
		start := time.Now()
		Normalize(in)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s: Normalize of %d bytes took %v", name, len(in), d)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	in := "public: void __cdecl std::vector<struct Entry16,class std::allocator<struct Entry16> >::_Emplace_reallocate<struct Entry16 const &>(struct Entry16 * const,struct Entry16 const &) __ptr64"
	for b.Loop() {
		Normalize(in)
	}
}
