package analyzer

import (
	"strconv"
	"strings"
)

// msvcTypeName turns an RTTI type descriptor name (".?AVbad_alloc@std@@")
// into "class std::bad_alloc".
func msvcTypeName(raw string) string {
	kind := map[string]string{".?AV": "class ", ".?AU": "struct ", ".?AW": "enum "}
	if len(raw) < 6 || kind[raw[:4]] == "" || !strings.HasSuffix(raw, "@@") || strings.ContainsAny(raw[4:], "?$") {
		return raw
	}
	parts := strings.Split(strings.TrimSuffix(raw[4:], "@@"), "@")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return kind[raw[:4]] + strings.Join(parts, "::")
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
