package analyzer

import (
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/symbols/demangle"
)

// msvcTypeName turns an RTTI type descriptor name (".?AVbad_alloc@std@@")
// into "class std::bad_alloc".
func msvcTypeName(raw string) string {
	if s, ok := demangle.MSVCTypeName(raw); ok {
		return s
	}
	return raw
}

// itaniumTypeName demangles the simple Itanium type names a type_info holds
// ("St9bad_alloc", "N5boost6system12system_errorE"); others are returned as is.
func itaniumTypeName(raw string) string {
	s := raw
	var parts []string
	if strings.HasPrefix(s, "St") {
		parts = append(parts, "std")
		s = s[2:]
	}
	nested := strings.HasPrefix(s, "N")
	if nested {
		s = s[1:]
		if strings.HasPrefix(s, "St") {
			parts = append(parts, "std")
			s = s[2:]
		}
	}
	for len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || i+n > len(s) {
			return raw
		}
		parts = append(parts, s[i:i+n])
		s = s[i+n:]
	}
	if nested {
		if s != "E" {
			return raw
		}
		s = ""
	}
	if s != "" || len(parts) == 0 {
		return raw
	}
	return strings.Join(parts, "::")
}
