// Package demangle undecorates Microsoft Visual C++ symbol names.
//
// MSVC gives the llvm-undname spelling of a whole decorated name; MSVCName
// gives only the qualified name, spelled the way MSVC writes procedure names
// into PDBs and WinDbg prints stack frames. Both return ok=false for input
// they cannot parse, so callers can fall back to the raw name.
package demangle

// MSVC undecorates a complete MSVC decorated name, e.g.
// "?Foo@Bar@@QEAAHH@Z" -> "public: int __cdecl Bar::Foo(int)".
func MSVC(decorated string) (full string, ok bool) {
	sym, ok := parse(decorated)
	if !ok {
		return "", false
	}
	pr := printer{style: styleLLVM}
	pr.symbol(sym)
	if pr.over {
		return "", false
	}
	return pr.String(), true
}

// MSVCName returns the qualified name of a decorated symbol without return
// type, calling convention or parameters, e.g.
// "std::vector<int,std::allocator<int> >::_Emplace_reallocate<int const &>".
func MSVCName(decorated string) (name string, ok bool) {
	sym, ok := parse(decorated)
	if !ok {
		return "", false
	}
	pr := printer{style: styleMS}
	pr.symbolName(sym)
	if pr.over || pr.b.Len() == 0 {
		return "", false
	}
	return pr.String(), true
}

// MSVCTypeName undecorates an RTTI type name as stored in a TypeDescriptor
// (and in C++ exception ThrowInfo), e.g. ".?AVbad_alloc@std@@" ->
// "class std::bad_alloc", ".?AUfoo@@" -> "struct foo".
func MSVCTypeName(s string) (string, bool) {
	if len(s) < 2 || s[0] != '.' {
		return "", false
	}
	p := parser{s: s[1:]}
	t := p.typ(qmResult)
	if p.err || t == nil || len(p.s) != 0 {
		return "", false
	}
	pr := printer{style: styleLLVM}
	pr.typ(t)
	if pr.over {
		return "", false
	}
	return pr.String(), true
}

func parse(decorated string) (sym *symbol, ok bool) {
	if len(decorated) == 0 || len(decorated) > 4096 {
		return nil, false
	}
	p := parser{s: decorated}
	sym = p.symbol()
	if p.err || sym == nil {
		return nil, false
	}
	return sym, true
}
