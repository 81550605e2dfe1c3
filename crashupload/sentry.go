package crashupload

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/internal/msgpack"
)

// sentryKey turns a bracketed form field (sentry[tags][os]) into a dotted
// annotation key (tags.os); sentry[release] is release.
func sentryKey(name string) string {
	rest := strings.TrimPrefix(name, "sentry")
	var parts []string
	for strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		parts = append(parts, rest[1:end])
		rest = rest[end+1:]
	}
	if len(parts) == 0 {
		return name
	}
	return strings.Join(parts, ".")
}

// sentryEvent reads the __sentry-event attachment: MessagePack from
// sentry-native, or JSON.
func sentryEvent(b []byte, into map[string]string) bool {
	var ev map[string]any
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &ev) == nil {
		flattenEvent(ev, into)
		return true
	}
	v, _, err := msgpack.Decode(b)
	if m, ok := v.(map[string]any); err == nil && ok {
		flattenEvent(m, into)
		return true
	}
	return false
}

// The event fields kept as annotations; the rest (breadcrumbs, contexts,
// the module list) is the dump's business or too large.
var eventStrings = []string{"release", "dist", "environment", "platform", "server_name", "level", "transaction", "logger"}

// flattenEvent keeps an event's release, environment, user and tags.
func flattenEvent(ev map[string]any, into map[string]string) {
	for _, k := range eventStrings {
		if s := scalar(ev[k]); s != "" {
			into[k] = s
		}
	}
	if u, ok := ev["user"].(map[string]any); ok {
		for _, k := range sortedKeys(u) {
			if s := scalar(u[k]); s != "" {
				into["user."+k] = s
			}
		}
	}
	switch tags := ev["tags"].(type) {
	case map[string]any:
		for _, k := range sortedKeys(tags) {
			if s := scalar(tags[k]); s != "" {
				into["tags."+k] = s
			}
		}
	case []any: // [["k", "v"], ...], an older form
		for _, t := range tags {
			if kv, ok := t.([]any); ok && len(kv) == 2 {
				if k, s := scalar(kv[0]), scalar(kv[1]); k != "" && s != "" {
					into["tags."+k] = s
				}
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
