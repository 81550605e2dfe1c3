// Package msgpack decodes MessagePack into the values encoding/json
// produces (map[string]any, []any, string, float64, bool, nil), for the
// event file sentry-native's Crashpad backend attaches to its uploads
// (__sentry-event). Input is untrusted: every length is checked against
// the bytes left before anything is allocated, and nesting is bounded.
package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrMalformed is returned for anything that is not one well-formed value.
var ErrMalformed = errors.New("malformed msgpack")

// MaxDepth bounds the nesting of maps and arrays.
const MaxDepth = 64

// Decode decodes the first value in b and returns it with the number of
// bytes it took.
func Decode(b []byte) (any, int, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, d.i, nil
}

type decoder struct {
	b []byte
	i int
}

func (d *decoder) fail(format string, a ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrMalformed, d.i, fmt.Sprintf(format, a...))
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.i {
		return nil, d.fail("%d bytes wanted, %d left", n, len(d.b)-d.i)
	}
	p := d.b[d.i : d.i+n]
	d.i += n
	return p, nil
}

// uint reads a big-endian unsigned integer of n bytes (1, 2, 4 or 8).
func (d *decoder) uint(n int) (uint64, error) {
	p, err := d.take(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// length reads a length of n bytes; each element or byte it counts needs
// at least one byte of input, so a length past the end is malformed.
func (d *decoder) length(n int) (int, error) {
	v, err := d.uint(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(len(d.b)-d.i) {
		return 0, d.fail("length %d past the end", v)
	}
	return int(v), nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.fail("nested deeper than %d", MaxDepth)
	}
	p, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return float64(c), nil
	case c >= 0xe0:
		return float64(int8(c)), nil
	case c >= 0x80 && c <= 0x8f:
		return d.mapOf(int(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return d.arrayOf(int(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return d.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32: kept as a string, as JSON would base64 it
		n, err := d.length(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32: type byte, then data; skipped
		n, err := d.length(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		_, err = d.take(n + 1)
		return nil, err
	case 0xca:
		v, err := d.uint(4)
		return float64(math.Float32frombits(uint32(v))), err
	case 0xcb:
		v, err := d.uint(8)
		return math.Float64frombits(v), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uint(1 << (c - 0xcc))
		return float64(v), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		v, err := d.uint(n)
		shift := 64 - 8*n
		return float64(int64(v<<shift) >> shift), err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16
		_, err := d.take(1 + 1<<(c-0xd4))
		return nil, err
	case 0xd9, 0xda, 0xdb:
		n, err := d.length(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xdc, 0xdd:
		n, err := d.length(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.arrayOf(n, depth)
	case 0xde, 0xdf:
		n, err := d.length(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapOf(n, depth)
	}
	return nil, d.fail("reserved type byte 0x%02x", c)
}

func (d *decoder) str(n int) (string, error) {
	p, err := d.take(n)
	return string(p), err
}

func (d *decoder) arrayOf(n int, depth int) ([]any, error) {
	if n > len(d.b)-d.i {
		return nil, d.fail("%d elements past the end", n)
	}
	out := make([]any, 0, n)
	for range n {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *decoder) mapOf(n int, depth int) (map[string]any, error) {
	if 2*n > len(d.b)-d.i {
		return nil, d.fail("%d entries past the end", n)
	}
	out := make(map[string]any, n)
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[keyString(k)] = v
	}
	return out, nil
}

func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case float64:
		return strconv.FormatFloat(k, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(k)
	case nil:
		return "null"
	}
	return fmt.Sprint(k)
}
