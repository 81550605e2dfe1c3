package unwind

// chunkSize is the unit in which a walk caches memory: stacks are read on
// demand, a chunk at a time, so a deep stack costs one read per chunk and a
// short walk reads little.
const (
	chunkSize = 4 << 10
	// maxChunks bounds the cache (16 MiB).
	maxChunks = 1024
)

// memReader serves a walk's reads through a chunk cache.
type memReader struct {
	mem     Memory
	lo, hi  uint64 // stack bounds, when known
	bounded bool
	ptrSize int
	chunks  map[uint64]chunk
	scratch []byte
	// With a RangeLender, reads come from the lent range last used (cur,
	// starting at curStart) and no chunks are cached.
	lender   RangeLender
	cur      []byte
	curStart uint64
	// wordBuf holds copied u64 and u32 reads: a local array would escape
	// through the Memory interface and cost an allocation per read.
	wordBuf [8]byte
}

// chunk holds the captured bytes of [start, start+len(b)) within one
// chunkSize-aligned block; captured ranges rarely start on a block
// boundary, so a block is read from the first address asked for.
type chunk struct {
	start uint64
	b     []byte
}

func newMemReader(mem Memory, opts Options, sp uint64, ptrSize int) *memReader {
	r := &memReader{mem: mem, ptrSize: ptrSize}
	if l, ok := mem.(RangeLender); ok {
		r.lender = l
	} else {
		r.chunks = map[uint64]chunk{}
	}
	if opts.StackLimits != nil {
		if lo, hi, ok := opts.StackLimits(sp); ok && lo < hi {
			r.lo, r.hi, r.bounded = lo, hi, true
		}
	}
	return r
}

// fetch returns the cached bytes of the block at base that hold addr,
// reading the block from addr on when the cache starts above it.
func (r *memReader) fetch(base, addr uint64) chunk {
	if c, ok := r.chunks[base]; ok && c.start <= addr {
		return c
	}
	if len(r.chunks) >= maxChunks {
		clear(r.chunks)
	}
	if r.scratch == nil {
		r.scratch = make([]byte, chunkSize)
	}
	buf := r.scratch[:base+chunkSize-addr]
	n, _ := r.mem.ReadMemory(addr, buf)
	// Most probes of uncaptured memory (code bytes) read nothing: keep
	// only what was read.
	c := chunk{start: addr, b: append([]byte(nil), buf[:max0(n, len(buf))]...)}
	r.chunks[base] = c
	return c
}

// lent returns the lent bytes from addr to the end of its captured range,
// or nil.
func (r *memReader) lent(addr uint64) []byte {
	if addr-r.curStart >= uint64(len(r.cur)) {
		start, b := r.lender.RangeAt(addr)
		if b == nil {
			return nil
		}
		r.cur, r.curStart = b, start
	}
	return r.cur[addr-r.curStart:]
}

// read fills p from memory.
func (r *memReader) read(addr uint64, p []byte) bool {
	if r.mem == nil || addr+uint64(len(p)) < addr {
		return false
	}
	if r.lender != nil {
		if b := r.lent(addr); len(b) >= len(p) {
			copy(p, b)
			return true
		}
		// Not captured, or continued in another range or an image.
		n, _ := r.mem.ReadMemory(addr, p)
		return n == len(p)
	}
	base := addr &^ (chunkSize - 1)
	if end := base + chunkSize; end > base && addr+uint64(len(p)) <= end {
		c := r.fetch(base, addr)
		off := addr - c.start
		if off+uint64(len(p)) > uint64(len(c.b)) {
			return false
		}
		copy(p, c.b[off:])
		return true
	}
	n, _ := r.mem.ReadMemory(addr, p)
	return n == len(p)
}

// word returns n bytes at addr: straight from the lent range when it holds
// them, else copied into wordBuf.
func (r *memReader) word(addr uint64, n int) ([]byte, bool) {
	if off := addr - r.curStart; off < uint64(len(r.cur)) && uint64(len(r.cur))-off >= uint64(n) {
		return r.cur[off:], true
	}
	if !r.read(addr, r.wordBuf[:n]) {
		return nil, false
	}
	return r.wordBuf[:], true
}

func (r *memReader) u64(addr uint64) (uint64, bool) {
	b, ok := r.word(addr, 8)
	if !ok {
		return 0, false
	}
	return le.Uint64(b), true
}

func (r *memReader) u32(addr uint64) (uint64, bool) {
	b, ok := r.word(addr, 4)
	if !ok {
		return 0, false
	}
	return uint64(le.Uint32(b)), true
}

// ptr reads one pointer-sized word.
func (r *memReader) ptr(addr uint64) (uint64, bool) {
	if r.ptrSize == 4 {
		return r.u32(addr)
	}
	return r.u64(addr)
}

// inStack reports whether addr may be a stack address of this thread.
func (r *memReader) inStack(addr uint64) bool {
	if !r.bounded {
		return true
	}
	return addr >= r.lo && addr <= r.hi
}

// codeReader reads code bytes from module images, falling back to dump
// memory (minidumps capture code around instruction pointers).
type codeReader struct {
	mem  *memReader
	mods Modules
	// buf holds codeAt's copies; each result is used before the next call.
	buf []byte
}

// imageOf is the module to read code from before dump memory: none when
// its bytes are only the dump's and the dump lends them.
func (c *codeReader) imageOf(m Module) Module {
	if m != nil && !m.HasImage() && c.mem.lender != nil {
		return nil
	}
	return m
}

// readCode reads the len(p) bytes at addr: from the image when it has them,
// else from dump memory.
func (c *codeReader) readCode(m Module, addr uint64, p []byte) bool {
	if m = c.imageOf(m); m != nil && addr >= m.Base() && addr-m.Base()+uint64(len(p)) <= 1<<32 {
		if n, _ := m.ReadRVA(uint32(addr-m.Base()), p); n == len(p) {
			return true
		}
	}
	return c.mem.read(addr, p)
}

// codeAt reads up to max bytes at addr, as many as the image or dump
// memory holds. The result may be lent memory, or a buffer the next call
// reuses: callers must not change it or keep it.
func (c *codeReader) codeAt(m Module, addr uint64, max int) []byte {
	if cap(c.buf) < max {
		c.buf = make([]byte, max)
	}
	buf := c.buf[:max]
	n := 0
	if m = c.imageOf(m); m != nil && addr >= m.Base() && addr-m.Base() < m.Size() && addr-m.Base() <= 0xffffffff {
		lim := min(uint64(max), m.Size()-(addr-m.Base()))
		n, _ = m.ReadRVA(uint32(addr-m.Base()), buf[:lim])
		n = max0(n, int(lim))
	}
	if n == 0 && c.mem.lender != nil {
		// Lent bytes read the same as copied ones when the range holds all
		// max of them, or when nothing can be read where it ends.
		if b := c.mem.lent(addr); len(b) >= max || len(b) > 0 && !c.mem.read(addr+uint64(len(b)), c.mem.wordBuf[:1]) {
			return b[:min(len(b), max):min(len(b), max)]
		}
	}
	if n == 0 && c.mem.mem != nil {
		n, _ = c.mem.mem.ReadMemory(addr, buf)
		n = max0(n, len(buf))
	}
	return buf[:n]
}

// max0 clamps a read count to [0, limit].
func max0(n, limit int) int { return max(0, min(n, limit)) }

// moduleCode reports whether addr is in a module and, when the module's
// sections are known, in an executable one.
func (c *codeReader) moduleCode(addr uint64) (Module, bool) {
	if c.mods == nil {
		return nil, false
	}
	m := c.mods.ModuleAt(addr)
	if m == nil {
		return nil, false
	}
	off := addr - m.Base()
	if addr < m.Base() || off >= m.Size() || off > 0xffffffff {
		return nil, false
	}
	if _, jit := m.(FunctionLookup); jit {
		// A JIT's code is what its table's entries cover.
		return m, m.IsExecutableRVA(uint32(off))
	}
	if m.HasImage() && !m.IsExecutableRVA(uint32(off)) {
		return nil, false
	}
	// Without a section table, the first page (the PE headers) is still
	// never code.
	if off < 0x1000 {
		return nil, false
	}
	return m, true
}

// Results of checking a candidate return address.
const (
	raInvalid    = iota // not in a module's code, or not after a call
	raUnverified        // in a module's code; no bytes to check the call
	raVerified          // preceded by a call instruction
)

// checkReturnAddress classifies ra as a return address: it must be in a
// module's executable code and, when the code bytes before it are known,
// follow a call (E8 rel32 into a module, or FF /2).
func (c *codeReader) checkReturnAddress(ra uint64, ptrSize int) int {
	m, ok := c.moduleCode(ra)
	if !ok || ra < 8 {
		return raInvalid
	}
	var b [8]byte
	if !c.readCode(m, ra-8, b[:]) {
		// The first bytes of a module cannot follow a call in it.
		return raUnverified
	}
	if c.callBefore(b[:], ra, ptrSize) {
		return raVerified
	}
	return raInvalid
}

// callBefore reports whether the bytes b, which end at ra, end with a call
// instruction: E8 rel32 whose target is in a module, or FF /2 in any of its
// ModRM forms (call reg, call [reg], call [reg+disp], call [rip+disp32] /
// [disp32], with or without SIB).
func (c *codeReader) callBefore(b []byte, ra uint64, ptrSize int) bool {
	n := len(b)
	if n >= 5 && b[n-5] == 0xE8 {
		rel := int64(int32(le.Uint32(b[n-4:])))
		target := ra + uint64(rel)
		if ptrSize == 4 {
			target &= 0xffffffff
		}
		if _, ok := c.moduleCode(target); ok {
			return true
		}
	}
	for l := 2; l <= 7 && l <= n; l++ {
		if b[n-l] == 0xFF && callFF2Len(b[n-l+1:]) == l {
			return true
		}
	}
	return false
}

// callFF2Len returns the length of "FF /2" (call r/m) whose ModRM byte starts
// rest, or 0 when the ModRM's reg field is not 2. SIB and displacement
// bytes are counted; rest may be shorter than the instruction.
func callFF2Len(rest []byte) int {
	if len(rest) == 0 {
		return 0
	}
	modrm := rest[0]
	if (modrm>>3)&7 != 2 {
		return 0
	}
	mod, rm := modrm>>6, modrm&7
	l := 2 // opcode + ModRM
	if mod == 3 {
		return l
	}
	if rm == 4 { // SIB follows
		if len(rest) < 2 {
			return 0
		}
		l++
		if mod == 0 && rest[1]&7 == 5 {
			return l + 4 // [index*s + disp32]
		}
	}
	switch mod {
	case 0:
		if rm == 5 {
			l += 4 // [rip+disp32] (amd64) or [disp32] (x86)
		}
	case 1:
		l++
	case 2:
		l += 4
	}
	return l
}

// scanWindow is how many words a scan reads: more from the context frame,
// whose function may not have been entered cleanly, as Breakpad does.
func scanWindow(contextFrame bool) int {
	if contextFrame {
		return 512
	}
	return 256
}

// scanFound is a return address found on the stack.
type scanFound struct {
	loc, ra  uint64
	verified bool
}

// scan looks for a return address in the words at and above start and takes
// the first plausible one: verified after a call when the code bytes are
// known, else merely inside a module's code. A word equal to skip is
// passed over: the context frame's own PC, saved on the stack in a CONTEXT
// record by the code that raised the exception, is not its caller.
func (c *codeReader) scan(start uint64, words, ptrSize int, skip uint64) (scanFound, bool) {
	ps := uint64(ptrSize)
	start = (start + ps - 1) &^ (ps - 1)
	for i := 0; i < words; i++ {
		loc := start + uint64(i)*ps
		if !c.mem.inStack(loc) {
			break
		}
		v, ok := c.mem.ptr(loc)
		if !ok {
			break
		}
		if v == skip {
			continue
		}
		switch c.checkReturnAddress(v, ptrSize) {
		case raVerified:
			return scanFound{loc, v, true}, true
		case raUnverified:
			return scanFound{loc, v, false}, true
		}
	}
	return scanFound{}, false
}

// contextPC is the PC a scan from this frame passes over: the context
// frame's own.
func contextPC(f *Frame) uint64 {
	if f.Trust == TrustContext {
		return f.PC
	}
	return 0
}
