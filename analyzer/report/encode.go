package report

//go:generate go run ./internal/jsongen

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
)

// The encoder's field-by-field code is generated from the structs' json tags
// into encode_gen.go (internal/jsongen); this file holds what it calls. It
// writes exactly what encoding/json writes for those tags
// (TestAppendJSONMatchesEncodingJSON), without reflection: one analysis
// writes thousands of frames and addresses, and reflection plus the re-scan
// encoding/json does of every MarshalJSON result cost more than the analysis
// itself. Unlike encoding/json it pads every Addr to the dumped process's
// pointer width, as minidump-stackwalk does ("0x0040429e" on x86).

// AppendJSON appends the report's JSON to b.
func (r *Report) AppendJSON(b []byte) []byte {
	w := objWriter{b: b, digits: r.SystemInfo.pointerDigits()}
	r.encodeJSON(&w)
	return w.b
}

// WriteJSON writes the same bytes as AppendJSON to out, through a small
// buffer rather than the whole report's worth of memory.
func (r *Report) WriteJSON(out io.Writer) error {
	w := objWriter{b: make([]byte, 0, 2*spillBytes), sink: out, digits: r.SystemInfo.pointerDigits()}
	r.encodeJSON(&w)
	w.spill(0)
	return w.err
}

// MarshalJSON is AppendJSON.
func (r *Report) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// MarshalJSON writes a frame on its own (addresses unpadded: the pointer
// width is the report's).
func (f Frame) MarshalJSON() ([]byte, error) {
	w := objWriter{b: make([]byte, 0, 320)}
	f.encodeJSON(&w)
	return w.b, nil
}

// pointerDigits is the hex width of an address in the dumped process: 8 on
// 32-bit CPUs, 16 on 64-bit ones, 0 (unpadded) when unknown.
func (s *SystemInfo) pointerDigits() int {
	switch s.CPUArch {
	case "x86", "arm", "ppc", "sparc", "mips":
		return 8
	case "amd64", "arm64", "ppc64", "mips64", "riscv64":
		return 16
	}
	return 0
}

// objWriter appends the members of one JSON object, writing the comma
// before every member but the first. With a sink, long arrays spill the
// buffer to it as they go.
type objWriter struct {
	b    []byte
	more bool
	sink io.Writer
	err  error
	// digits pads addresses to this many hex digits.
	digits int
}

// spillBytes is how much a WriteJSON buffer holds before it is written.
const spillBytes = 32 << 10

// spill writes the buffer to the sink once it holds more than limit bytes.
func (w *objWriter) spill(limit int) {
	if w.sink == nil || len(w.b) <= limit {
		return
	}
	if w.err == nil {
		_, w.err = w.sink.Write(w.b)
	}
	w.b = w.b[:0]
}

// nested starts an object inside w's buffer, sharing its sink.
func (w *objWriter) nested() objWriter {
	return objWriter{b: append(w.b, '{'), sink: w.sink, err: w.err, digits: w.digits}
}

// end closes the object nested started and hands the buffer back.
func (w *objWriter) end(inner *objWriter) {
	w.b, w.err = append(inner.b, '}'), inner.err
}

func (w *objWriter) key(k string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.more = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) null() { w.b = append(w.b, "null"...) }

// addr writes "0x" and v in hex, padded to the pointer width.
func (w *objWriter) addr(v uint64) {
	w.b = appendPaddedHex(w.b, v, w.digits)
}

// raw writes JSON kept as bytes, or null.
func (w *objWriter) raw(v RawJSON) {
	if len(v) == 0 {
		w.null()
		return
	}
	w.b = append(w.b, v...)
}

// float writes v as encoding/json does: shortest representation, in
// exponent form only for very small or large magnitudes.
func (w *objWriter) float(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// encoding/json refuses these; a percentage of zero regions is the
		// only way to get one, and 0 says the same.
		w.b = append(w.b, '0')
		return
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	n := len(w.b)
	w.b = strconv.AppendFloat(w.b, v, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if m := len(w.b) - n; m >= 4 && w.b[len(w.b)-4] == 'e' && w.b[len(w.b)-3] == '-' && w.b[len(w.b)-2] == '0' {
			w.b[len(w.b)-2] = w.b[len(w.b)-1]
			w.b = w.b[:len(w.b)-1]
		}
	}
}

func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

func (w *objWriter) addrMap(m map[string]Addr) {
	if m == nil {
		w.null()
		return
	}
	b := w.b
	// Register maps are small: sort their pairs in a stack array rather
	// than sorting keys and looking each up again.
	type pair struct {
		k string
		v Addr
	}
	var buf [40]pair
	pairs := buf[:0]
	for k, v := range m {
		pairs = append(pairs, pair{k, v})
	}
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j].k < pairs[j-1].k; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.k)
		b = append(b, ':')
		b = appendPaddedHex(b, uint64(p.v), w.digits)
	}
	w.b = append(b, '}')
}

// appendPaddedHex writes "0x" and v in hex with at least digits digits.
func appendPaddedHex(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	var buf [16]byte
	n := 0
	for x := v; x != 0 || n == 0; x >>= 4 {
		n++
		buf[16-n] = hex[x&0xf]
	}
	b = append(b, '"', '0', 'x')
	for ; digits > n; digits-- {
		b = append(b, '0')
	}
	b = append(b, buf[16-n:]...)
	return append(b, '"')
}

func appendHex(b []byte, v uint64) []byte { return appendPaddedHex(b, v, 0) }

func appendHex32(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	b = append(b, '"', '0', 'x')
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return append(b, '"')
}

// appendJSONString quotes s; plain ASCII is copied, anything else goes
// through encoding/json for its escaping rules.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
