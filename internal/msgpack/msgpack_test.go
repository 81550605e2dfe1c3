package msgpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// enc is a tiny encoder for the tests, written from the MessagePack spec.
type enc struct{ bytes.Buffer }

func (e *enc) str(s string) *enc {
	switch {
	case len(s) < 32:
		e.WriteByte(0xa0 | byte(len(s)))
	case len(s) < 256:
		e.WriteByte(0xd9)
		e.WriteByte(byte(len(s)))
	default:
		e.WriteByte(0xda)
		binary.Write(e, binary.BigEndian, uint16(len(s)))
	}
	e.WriteString(s)
	return e
}
func (e *enc) fixmap(n int) *enc   { e.WriteByte(0x80 | byte(n)); return e }
func (e *enc) fixarray(n int) *enc { e.WriteByte(0x90 | byte(n)); return e }
func (e *enc) raw(b ...byte) *enc  { e.Write(b); return e }

func TestDecode(t *testing.T) {
	event := new(enc).fixmap(4).
		str("release").str("bars@7.8.9").
		str("tags").fixmap(1).str("k").str("v").
		str("user").fixmap(1).str("id").raw(0xcd, 0x01, 0x00).
		str("n").fixarray(5).raw(0x05, 0xff, 0xc3, 0xc0).raw(0xcb).raw(f64(1.5)...)
	tests := []struct {
		name string
		in   []byte
		want any
		err  bool
	}{
		{"event", event.Bytes(), map[string]any{"release": "bars@7.8.9", "tags": map[string]any{"k": "v"},
			"user": map[string]any{"id": 256.0}, "n": []any{5.0, -1.0, true, nil, 1.5}}, false},
		{"int8", []byte{0xd0, 0x80}, -128.0, false},
		{"int16", []byte{0xd1, 0xff, 0xfe}, -2.0, false},
		{"str8", new(enc).str(string(bytes.Repeat([]byte("x"), 40))).Bytes(), string(bytes.Repeat([]byte("x"), 40)), false},
		{"bin8", []byte{0xc4, 2, 'h', 'i'}, "hi", false},
		{"fixext skipped", []byte{0xd4, 1, 2}, nil, false},
		{"map16 huge count", []byte{0xde, 0xff, 0xff}, nil, true},
		{"array32 huge count", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, nil, true},
		{"str32 past end", []byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'}, nil, true},
		{"truncated", []byte{0xcb, 0, 0}, nil, true},
		{"reserved", []byte{0xc1}, nil, true},
		{"empty", nil, nil, true},
		{"too deep", bytes.Repeat([]byte{0x91}, MaxDepth+5), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := Decode(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || n != len(tt.in) {
				t.Fatalf("err %v, used %d of %d", err, n, len(tt.in))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

func f64(v float64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(v))
	return b[:]
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x81, 0xa1, 'k', 0xa1, 'v'})
	f.Add([]byte{0xdf, 0, 0, 0, 1, 0xc0, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := Decode(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		_ = v
	})
}
