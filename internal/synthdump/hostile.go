package synthdump

import (
	"bytes"
	"unicode/utf16"
)

// Shape is one hostile minidump: a few KB to a few MB of file (far less
// once compressed) that states huge counts, shares one long string among
// every record, or nests lists, to make a reader spend memory and time.
type Shape struct {
	Name string
	Make func() []byte
}

// Hostile lists the shapes, one for each count and RVA of the format a
// reader must bound. Each has one thread (id 1) with a context and a small
// stack, and an exception naming it, so that every analysis step runs.
func Hostile() []Shape {
	return []Shape{
		{"modules-shared-name", func() []byte { return hostile(modules(200000)) }},
		{"unloaded-modules", func() []byte { return hostile(unloaded(1000000)) }},
		{"handles-shared-name", func() []byte { return hostile(handles(1000000)) }},
		{"memory-info-regions", func() []byte { return hostile(memoryInfo(1200000)) }},
		{"memory64-ranges", func() []byte { return hostile(memory64(2500000)) }},
		{"memory64-count-lie", func() []byte { return hostile(memory64Lie()) }},
		{"memory-list-ranges", func() []byte { return hostile(memoryList(2500000)) }},
		{"thread-names", func() []byte { return hostile(threadNames(1000000)) }},
		{"thread-info", func() []byte { return hostile(threadInfo(500000)) }},
		{"threads-shared-context", func() []byte { return threadsShared(300000) }},
		{"crashpad-annotations", func() []byte { return hostile(crashpad(4096, 1024)) }},
		{"function-tables", func() []byte { return hostile(functionTables(100000)) }},
		{"comment-and-unreal", func() []byte { return hostile(bigText(), comment()) }},
	}
}

const (
	stackBase = 0x7ff0000000
	codeBase  = 0x7ff600000000
)

// longName is a MINIDUMP_STRING of n UTF-16 units, every one of which
// costs six bytes of JSON ('<' is written \u003c).
func longName(n int) []byte {
	b := make([]byte, 4+2*n)
	le.PutUint32(b, uint32(2*n))
	for i := range n {
		le.PutUint16(b[4+2*i:], '<')
	}
	return b
}

// base returns the streams every shape has: system info, one thread with a
// context and 4 KB of stack, an exception on it, and one module over the
// code its instruction pointer is in.
func base() []Stream {
	ctx := make([]byte, 1232)
	le.PutUint32(ctx[0x30:], 0x10001f)
	le.PutUint64(ctx[0x98:], stackBase+0x800)
	le.PutUint64(ctx[0xa0:], stackBase+0x900)
	le.PutUint64(ctx[0xf8:], codeBase+0x1234)
	stack := make([]byte, 4096)
	for i := 0; i < len(stack); i += 8 {
		le.PutUint64(stack[i:], codeBase+0x1000+uint64(i%512)) // plausible return addresses to scan
	}
	tl := make([]byte, 4+48)
	le.PutUint32(tl[0:], 1)
	le.PutUint32(tl[4:], 1)
	le.PutUint64(tl[28:], stackBase)
	le.PutUint32(tl[36:], 4096)
	le.PutUint32(tl[44:], 1232)
	tl = append(append(tl, ctx...), stack...)
	ex := make([]byte, 168+1232)
	le.PutUint32(ex[0:], 1)
	le.PutUint32(ex[8:], 0xc0000005)
	le.PutUint64(ex[24:], codeBase+0x1234)
	le.PutUint32(ex[160:], 1232)
	copy(ex[168:], ctx)
	ml := make([]byte, 4+108)
	le.PutUint32(ml[0:], 1)
	le.PutUint64(ml[4:], codeBase)
	le.PutUint32(ml[12:], 0x10000)
	name := utf16String(`C:\app\app.exe`)
	ml = append(ml, name...)
	return []Stream{
		{Type: 7, Data: SystemInfoAMD64()},
		{Type: 3, Data: tl, Fix: func(d []byte, at uint32) {
			le.PutUint32(d[48:], at+52)
			le.PutUint32(d[40:], at+52+1232)
		}},
		{Type: 6, Data: ex, Fix: func(d []byte, at uint32) { le.PutUint32(d[164:], at+168) }},
		{Type: 4, Data: ml, Fix: func(d []byte, at uint32) { le.PutUint32(d[4+24:], at+4+108) }},
	}
}

func utf16String(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 4+2*len(u))
	le.PutUint32(b, uint32(2*len(u)))
	for i, c := range u {
		le.PutUint16(b[4+2*i:], c)
	}
	return b
}

// hostile builds the base streams plus extra; a stream of a type the base
// has replaces it.
func hostile(extra ...Stream) []byte {
	streams := base()
	for _, e := range extra {
		replaced := false
		for i := range streams {
			if streams[i].Type == e.Type {
				streams[i], replaced = e, true
			}
		}
		if !replaced {
			streams = append(streams, e)
		}
	}
	return Build(streams, 0)
}

// modules: n MINIDUMP_MODULEs sharing one 32,767-unit name and one 60 KB
// CodeView record.
func modules(n int) Stream {
	d := make([]byte, 4+108*n)
	le.PutUint32(d, uint32(n))
	name := longName(32767)
	cv := append([]byte("RSDS"), make([]byte, 20)...)
	cv = append(cv, bytes.Repeat([]byte{'<'}, 60000)...)
	d = append(append(d, name...), cv...)
	return Stream{Type: 4, Data: d, Fix: func(d []byte, at uint32) {
		nameAt, cvAt := at+4+108*uint32(n), at+4+108*uint32(n)+uint32(len(name))
		for i := range n {
			e := d[4+108*i:]
			le.PutUint64(e[0:], codeBase+uint64(i)<<16)
			le.PutUint32(e[8:], 0x10000)
			le.PutUint32(e[20:], nameAt)
			le.PutUint32(e[76:], uint32(len(cv)))
			le.PutUint32(e[80:], cvAt)
		}
	}}
}

func unloaded(n int) Stream {
	d := make([]byte, 12+24*n)
	le.PutUint32(d[0:], 12)
	le.PutUint32(d[4:], 24)
	le.PutUint32(d[8:], uint32(n))
	name := longName(32767)
	d = append(d, name...)
	return Stream{Type: 14, Data: d, Fix: func(d []byte, at uint32) {
		for i := range n {
			le.PutUint64(d[12+24*i:], uint64(i)<<16)
			le.PutUint32(d[12+24*i+8:], 0x1000)
			le.PutUint32(d[12+24*i+20:], at+12+24*uint32(n))
		}
	}}
}

func handles(n int) Stream {
	d := make([]byte, 16+32*n)
	le.PutUint32(d[0:], 16)
	le.PutUint32(d[4:], 32)
	le.PutUint32(d[8:], uint32(n))
	d = append(d, longName(32767)...)
	return Stream{Type: 12, Data: d, Fix: func(d []byte, at uint32) {
		for i := range n {
			e := d[16+32*i:]
			le.PutUint64(e[0:], uint64(4*i))
			le.PutUint32(e[8:], at+16+32*uint32(n))
			le.PutUint32(e[12:], at+16+32*uint32(n))
		}
	}}
}

func memoryInfo(n int) Stream {
	d := make([]byte, 16+48*n)
	le.PutUint32(d[0:], 16)
	le.PutUint32(d[4:], 48)
	le.PutUint64(d[8:], uint64(n))
	for i := range n {
		e := d[16+48*i:]
		le.PutUint64(e[0:], uint64(i)<<12)
		le.PutUint64(e[8:], uint64(i)<<12)
		le.PutUint32(e[16:], 4)
		le.PutUint64(e[24:], 0x1000)
		le.PutUint32(e[32:], 0x1000)
		le.PutUint32(e[36:], 4)
		le.PutUint32(e[40:], 0x20000)
	}
	return Stream{Type: 16, Data: d}
}

func memory64(n int) Stream {
	d := make([]byte, 16+16*n)
	le.PutUint64(d[0:], uint64(n))
	for i := range n {
		le.PutUint64(d[16+16*i:], 0x10000000+uint64(i)<<12)
		le.PutUint64(d[16+16*i+8:], 1)
	}
	d = append(d, make([]byte, n)...)
	return Stream{Type: 9, Data: d, Fix: func(d []byte, at uint32) { le.PutUint64(d[8:], uint64(at)+16+16*uint64(n)) }}
}

// memory64Lie states 2^40 ranges in a stream of one.
func memory64Lie() Stream {
	d := make([]byte, 32)
	le.PutUint64(d[0:], 1<<40)
	le.PutUint64(d[16:], 0x10000000)
	le.PutUint64(d[24:], 1<<40)
	return Stream{Type: 9, Data: d}
}

func memoryList(n int) Stream {
	d := make([]byte, 4+16*n+64)
	le.PutUint32(d, uint32(n))
	return Stream{Type: 5, Data: d, Fix: func(d []byte, at uint32) {
		for i := range n {
			le.PutUint64(d[4+16*i:], 0x10000000+uint64(i)<<12)
			le.PutUint32(d[4+16*i+8:], 64)
			le.PutUint32(d[4+16*i+12:], at+4+16*uint32(n))
		}
	}}
}

func threadNames(n int) Stream {
	d := make([]byte, 4+12*n)
	le.PutUint32(d, uint32(n))
	d = append(d, longName(32767)...)
	return Stream{Type: 24, Data: d, Fix: func(d []byte, at uint32) {
		for i := range n {
			le.PutUint32(d[4+12*i:], uint32(i%4+1))
			le.PutUint64(d[4+12*i+4:], uint64(at)+4+12*uint64(n))
		}
	}}
}

func threadInfo(n int) Stream {
	d := make([]byte, 12+64*n)
	le.PutUint32(d[0:], 12)
	le.PutUint32(d[4:], 64)
	le.PutUint32(d[8:], uint32(n))
	for i := range n {
		le.PutUint32(d[12+64*i:], uint32(i+2)) // none matches thread 1 until the last
	}
	le.PutUint32(d[12+64*(n-1):], 1)
	return Stream{Type: 17, Data: d}
}

// threadsShared: n thread entries sharing one context and one stack.
func threadsShared(n int) []byte {
	s := base()
	tl := s[1].Data
	entry := tl[4:52]
	d := make([]byte, 4, 4+48*n+len(tl)-52)
	le.PutUint32(d, uint32(n))
	for i := range n {
		e := append([]byte(nil), entry...)
		le.PutUint32(e, uint32(i+1))
		d = append(d, e...)
	}
	d = append(d, tl[52:]...)
	s[1] = Stream{Type: 3, Data: d, Fix: func(d []byte, at uint32) {
		for i := range n {
			le.PutUint32(d[4+48*i+44:], at+4+48*uint32(n))
			le.PutUint32(d[4+48*i+36:], 4096)
			le.PutUint32(d[4+48*i+40:], at+4+48*uint32(n)+1232)
		}
	}}
	// The exception names the last thread.
	le.PutUint32(s[2].Data[0:], uint32(n))
	return Build(s, 0)
}

// crashpad: a CrashpadInfo whose module list has mods entries, each with a
// list of per annotations that all point at one 1 MB string.
func crashpad(mods, per int) Stream {
	d := make([]byte, 52)
	le.PutUint32(d[0:], 1)
	// module list: count, then (index, size, rva) entries
	listOff := len(d)
	d = append(d, make([]byte, 4+12*mods)...)
	le.PutUint32(d[listOff:], uint32(mods))
	modOff := len(d)
	d = append(d, make([]byte, 20)...) // one MinidumpModuleCrashpadInfo shared by all
	annOff := len(d)
	d = append(d, make([]byte, 4+4*per)...)
	le.PutUint32(d[annOff:], uint32(per))
	strOff := len(d)
	str := make([]byte, 4+1<<20)
	le.PutUint32(str, 1<<20)
	for i := 4; i < len(str); i++ {
		str[i] = '<'
	}
	d = append(d, str...)
	return Stream{Type: 0x43500001, Data: d, Fix: func(d []byte, at uint32) {
		le.PutUint32(d[44:], uint32(4+12*mods))
		le.PutUint32(d[48:], at+uint32(listOff))
		for i := range mods {
			e := d[listOff+4+12*i:]
			le.PutUint32(e[0:], uint32(i))
			le.PutUint32(e[4:], 20)
			le.PutUint32(e[8:], at+uint32(modOff))
		}
		le.PutUint32(d[modOff+4:], uint32(4+4*per))
		le.PutUint32(d[modOff+8:], at+uint32(annOff))
		for j := range per {
			le.PutUint32(d[annOff+4+4*j:], at+uint32(strOff))
		}
	}}
}

// functionTables states 2^32-1 descriptors; each real one has entries.
func functionTables(n int) Stream {
	d := make([]byte, 24)
	le.PutUint32(d[0:], 24)
	le.PutUint32(d[4:], 32)
	le.PutUint32(d[8:], 0)
	le.PutUint32(d[12:], 12)
	le.PutUint32(d[16:], 0xffffffff)
	for range n {
		desc := make([]byte, 32+12*4)
		le.PutUint32(desc[24:], 4)
		d = append(d, desc...)
	}
	return Stream{Type: 13, Data: d}
}

// bigText: a 4 MB Unreal crash context of fields and a long comment.
func bigText() Stream {
	var b bytes.Buffer
	for i := 0; b.Len() < 4<<20; i++ {
		b.WriteString("<F")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(">")
		b.WriteString(string(bytes.Repeat([]byte{'<'}, 5000)))
		b.WriteString("</F>")
	}
	return Stream{Type: 0x00010000, Data: b.Bytes()}
}

func comment() Stream {
	return Stream{Type: 10, Data: bytes.Repeat([]byte{'<'}, 1<<20)}
}
