package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Addr is an address or size written as a "0x..." string, as minidump-stackwalk writes addresses.
type Addr uint64

func (a Addr) String() string { return fmt.Sprintf("0x%x", uint64(a)) }

// MarshalJSON writes "0x...".
func (a Addr) MarshalJSON() ([]byte, error) { return []byte(`"` + a.String() + `"`), nil }

// UnmarshalJSON accepts "0x..." strings and plain numbers.
func (a *Addr) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b)
	*a = Addr(v)
	return err
}

// Hex32 is a 32-bit value written as "0x%08x", e.g. an exception code.
type Hex32 uint32

func (h Hex32) String() string { return fmt.Sprintf("0x%08x", uint32(h)) }

// MarshalJSON writes "0x%08x".
func (h Hex32) MarshalJSON() ([]byte, error) { return []byte(`"` + h.String() + `"`), nil }

// UnmarshalJSON accepts "0x..." strings and plain numbers.
func (h *Hex32) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b)
	*h = Hex32(v)
	return err
}

// Hex64 is a 64-bit flag word written as "0x%x".
type Hex64 uint64

func (h Hex64) String() string { return fmt.Sprintf("0x%x", uint64(h)) }

// MarshalJSON writes "0x...".
func (h Hex64) MarshalJSON() ([]byte, error) { return []byte(`"` + h.String() + `"`), nil }

// UnmarshalJSON accepts "0x..." strings and plain numbers.
func (h *Hex64) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b)
	*h = Hex64(v)
	return err
}

func parseHex(b []byte) (uint64, error) {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 0, 64)
}

// AddrPtr returns a pointer to an Addr, for optional fields.
func AddrPtr(v uint64) *Addr { a := Addr(v); return &a }
