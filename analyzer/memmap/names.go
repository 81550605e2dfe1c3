package memmap

import (
	"fmt"
	"strconv"
	"strings"
)

// MEMORY_BASIC_INFORMATION.State values.
const (
	memCommit  = 0x1000
	memReserve = 0x2000
	memFree    = 0x10000
)

// MEMORY_BASIC_INFORMATION.Type values.
const (
	memPrivate = 0x20000
	memMapped  = 0x40000
	memImage   = 0x1000000
)

// Page protection constants (winnt.h).
const (
	pageNoAccess         = 0x01
	pageReadOnly         = 0x02
	pageReadWrite        = 0x04
	pageWriteCopy        = 0x08
	pageExecute          = 0x10
	pageExecuteRead      = 0x20
	pageExecuteReadWrite = 0x40
	pageExecuteWriteCopy = 0x80
	pageGuard            = 0x100
	pageNoCache          = 0x200
	pageWriteCombine     = 0x400
	pageTargetsInvalid   = 0x40000000
)

var baseProtectNames = []struct {
	v    uint32
	name string
}{
	{pageNoAccess, "PAGE_NOACCESS"},
	{pageReadOnly, "PAGE_READONLY"},
	{pageReadWrite, "PAGE_READWRITE"},
	{pageWriteCopy, "PAGE_WRITECOPY"},
	{pageExecute, "PAGE_EXECUTE"},
	{pageExecuteRead, "PAGE_EXECUTE_READ"},
	{pageExecuteReadWrite, "PAGE_EXECUTE_READWRITE"},
	{pageExecuteWriteCopy, "PAGE_EXECUTE_WRITECOPY"},
	{pageGuard, "PAGE_GUARD"},
	{pageNoCache, "PAGE_NOCACHE"},
	{pageWriteCombine, "PAGE_WRITECOMBINE"},
	{pageTargetsInvalid, "PAGE_TARGETS_INVALID"},
}

// StateName names a MEMORY_BASIC_INFORMATION.State value as WinDbg does.
func StateName(s uint32) string {
	switch s {
	case memCommit:
		return "MEM_COMMIT"
	case memReserve:
		return "MEM_RESERVE"
	case memFree:
		return "MEM_FREE"
	}
	return fmt.Sprintf("0x%08x", s)
}

// TypeName names a MEMORY_BASIC_INFORMATION.Type value as WinDbg does.
func TypeName(t uint32) string {
	switch t {
	case memPrivate:
		return "MEM_PRIVATE"
	case memMapped:
		return "MEM_MAPPED"
	case memImage:
		return "MEM_IMAGE"
	}
	return fmt.Sprintf("0x%08x", t)
}

// ProtectName names a page protection as WinDbg's summary does: the base
// protection followed by the GUARD, NOCACHE and WRITECOMBINE modifiers,
// joined by "|", e.g. "PAGE_READWRITE|PAGE_GUARD". Bits without a name are
// appended in hex; 0 (reserved or free memory) is "".
func ProtectName(p uint32) string {
	if p == 0 {
		return ""
	}
	var parts []string
	rest := p
	for _, n := range baseProtectNames {
		if p&n.v != 0 {
			parts = append(parts, n.name)
			rest &^= n.v
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", rest))
	}
	return strings.Join(parts, "|")
}

// parseName reverses StateName, TypeName and ProtectName; unknown words are
// read as hex.
func parseName(s string) uint32 {
	var v uint32
	for _, w := range strings.Split(s, "|") {
		w = strings.TrimSpace(w)
		switch w {
		case "":
			continue
		case "MEM_COMMIT":
			v |= memCommit
		case "MEM_RESERVE":
			v |= memReserve
		case "MEM_FREE":
			v |= memFree
		case "MEM_PRIVATE":
			v |= memPrivate
		case "MEM_MAPPED":
			v |= memMapped
		case "MEM_IMAGE":
			v |= memImage
		default:
			found := false
			for _, n := range baseProtectNames {
				if n.name == w {
					v |= n.v
					found = true
					break
				}
			}
			if !found {
				x, err := strconv.ParseUint(strings.TrimPrefix(w, "0x"), 16, 32)
				if err == nil {
					v |= uint32(x)
				}
			}
		}
	}
	return v
}
