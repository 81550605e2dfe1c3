// Package components holds the dashboard's templ components and the
// helpers they format values with.
package components

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

// Bytes writes a size the way people read it: 1.5 GiB.
func Bytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// BytesPtr is Bytes of an optional size, "unknown" when absent.
func BytesPtr(n *uint64) string {
	if n == nil {
		return "unknown"
	}
	return Bytes(*n)
}

// BytesExact writes a size with its exact byte count: 1.5 GiB (1,610,612,736 bytes).
func BytesExact(n uint64) string {
	if n < 1024 {
		return Count(int(n)) + " bytes"
	}
	return Bytes(n) + " (" + CountU(n) + " bytes)"
}

// Count writes an integer with thousands separators.
func Count(n int) string {
	if n < 0 {
		return "-" + CountU(uint64(-n))
	}
	return CountU(uint64(n))
}

// Plural writes a count and its noun: "1 dump", "2 dumps".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Count(n) + " " + many
}

// CountU writes an unsigned integer with thousands separators.
func CountU(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Itoa is strconv.Itoa, for templates.
func Itoa(n int) string { return strconv.Itoa(n) }

// Time writes a time in UTC to the minute.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// TimeISO is the machine-readable time for <time datetime>.
func TimeISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Day writes a day.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Ago says how long ago t was, roughly.
func Ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return t.UTC().Format("2006-01-02")
}

// Or returns s, or def when s is empty.
func Or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Pct writes a share as a percentage.
func Pct(n, total int) string {
	if total == 0 {
		return "0%"
	}
	p := 100 * float64(n) / float64(total)
	if p < 1 && n > 0 {
		return "<1%"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// Change writes the change from prev to n: "+35%", "new", "-10%".
func Change(n, prev int) string {
	if prev == 0 {
		if n == 0 {
			return "0%"
		}
		return "new"
	}
	c := 100 * (float64(n) - float64(prev)) / float64(prev)
	return fmt.Sprintf("%+.0f%%", c)
}

// ChangeClass colours a change: up is bad.
func ChangeClass(n, prev int) string {
	switch {
	case prev == 0 && n > 0, n > prev*11/10:
		return "up"
	case n < prev*9/10:
		return "down"
	}
	return "flat"
}

// Hex writes an address as 0x...
func Hex(a report.Addr) string { return a.String() }

// HexPtr writes an optional address.
func HexPtr(a *report.Addr) string {
	if a == nil {
		return "unknown"
	}
	return a.String()
}

// Hex16 writes an address padded to the pointer size, as WinDbg does.
func Hex16(a report.Addr, ptr int) string {
	if ptr == 4 {
		return fmt.Sprintf("%08x", uint64(a))
	}
	v := uint64(a)
	return fmt.Sprintf("%08x`%08x", v>>32, v&0xffffffff)
}

// Name writes a process or module name, "(unknown)" when the dump lost it.
func Name(s string) string { return Or(s, "(unknown)") }

// DamageHeadline says what a truncated dump lost, for the report's headline.
func DamageHeadline(t *report.Truncation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Damaged dump: the file is truncated, %s of the at least %s its directory needs are present.",
		BytesExact(uint64(max(t.PresentBytes, 0))), BytesExact(t.NeededBytes))
	if len(t.LostStreams) > 0 {
		fmt.Fprintf(&b, " Lost: %s.", strings.Join(t.LostStreams, ", "))
	}
	if len(t.CutStreams) > 0 {
		fmt.Fprintf(&b, " Cut short: %s.", strings.Join(t.CutStreams, ", "))
	}
	b.WriteString(" This report shows only what survived.")
	return b.String()
}

// Frame writes a frame as WinDbg's k does.
func Frame(f report.Frame) string {
	s := report.FrameText(f)
	if i := strings.Index(s, " ["); i > 0 {
		return s[:i]
	}
	return s
}

// InlinesInnermostFirst orders a frame's inlined calls as WinDbg lists
// them: innermost on top, above their physical frame.
func InlinesInnermostFirst(f report.Frame) []report.InlineFrame {
	out := make([]report.InlineFrame, len(f.Inlines))
	for i, in := range f.Inlines {
		out[len(out)-1-i] = in
	}
	return out
}

// InlineFrame writes an inlined call as WinDbg's k does.
func InlineFrame(f report.Frame, in report.InlineFrame) string {
	return "(Inline Function) " + report.InlineText(f.Module, report.InlineFrame{Function: in.Function})
}

// InlineSource writes an inlined call's file:line, or "".
func InlineSource(in report.InlineFrame) string {
	return FrameSource(report.Frame{File: in.File, Line: in.Line})
}

// FrameSource writes a frame's file:line, or "".
func FrameSource(f report.Frame) string {
	if f.File == "" {
		return ""
	}
	file := f.File
	if i := strings.LastIndexAny(file, `\/`); i >= 0 && len(file)-i < len(file) {
		file = file[i+1:]
	}
	if f.Line > 0 {
		return file + ":" + strconv.Itoa(f.Line)
	}
	return file
}

// Query builds a URL path with query parameters, skipping empty ones.
func Query(path string, kv ...string) templ.SafeURL {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return templ.SafeURL(path)
	}
	return templ.SafeURL(path + "?" + v.Encode())
}

// ClockNote explains a dump clock that cannot be right.
func ClockNote(t time.Time) string {
	return "The dump says it was written " + Time(t) + " UTC: before its program was built, or after it was uploaded. " +
		"Trends count it at its upload time."
}

// Exact is a search value that matches only the whole value (see web/query.go).
func Exact(v string) string { return `"` + v + `"` }

// SignatureURL is a crash group's page: /signatures/ and the signature as
// one path segment (slashes, spaces and % escaped).
func SignatureURL(sig string) templ.SafeURL { return templ.SafeURL(SignaturePath("/signatures/", sig)) }

// SignaturePath is prefix and the signature escaped as one path segment.
func SignaturePath(prefix, sig string) string { return prefix + EscapeSegment(sig) }

// EscapeSegment escapes s as one path segment, keeping the characters
// RFC 3986 allows in one (so "app.exe!Foo::Bar" reads as itself) and
// escaping the rest: "/", "?", "#", "%", spaces, <>, non-ASCII bytes.
func EscapeSegment(s string) string {
	const keep = "-._~!$&'()*+,;=:@"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ModuleURL is a module's page.
func ModuleURL(name string) templ.SafeURL {
	return templ.SafeURL("/modules/" + url.PathEscape(strings.ToLower(name)))
}

// DumpURL is a dump's report page.
func DumpURL(id string) templ.SafeURL { return templ.SafeURL("/dumps/" + url.PathEscape(id)) }

// Summary returns a dump's summary, empty before its first analysis.
func Summary(d store.Dump) store.Summary {
	if d.Summary == nil {
		return store.Summary{}
	}
	return *d.Summary
}

// ThreadTitle names a thread: "Thread 3 · 0x1a2c · RenderThread".
func ThreadTitle(i int, t report.Thread) string {
	s := fmt.Sprintf("Thread %d · id 0x%x", i, t.ThreadID)
	if t.ThreadName != nil && *t.ThreadName != "" {
		s += " · " + *t.ThreadName
	}
	return s
}

// TrustClass gives a frame's trust its colour.
func TrustClass(trust report.Trust) string {
	switch trust {
	case report.TrustContext, report.TrustCFI, report.TrustInline:
		return "trust trust-good"
	case report.TrustFramePointer, report.TrustEmulation, report.TrustLeaf:
		return "trust trust-ok"
	}
	return "trust trust-bad"
}

// TrustTitle explains how a frame was found, with the unwinder's note.
func TrustTitle(f report.Frame) string {
	if f.Note == "" {
		return f.Trust.Describe()
	}
	return f.Trust.Describe() + " (" + f.Note + ")"
}

// StatusClass colours a status badge.
func StatusClass(s store.Status) string { return "badge status-" + string(s) }

// Short cuts s to n runes with an ellipsis.
func Short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// U64 dereferences an optional count.
func U64(p *uint64) string {
	if p == nil {
		return "unknown"
	}
	return CountU(*p)
}

// BoolText writes an optional flag.
func BoolText(b *bool, yes, no string) string {
	if b == nil {
		return "unknown"
	}
	if *b {
		return yes
	}
	return no
}

// SplitPair splits a "pair" group key.
func SplitPair(s string) (string, string) {
	a, b, _ := strings.Cut(s, "\x1f")
	return a, b
}

func hex32(v uint32) string { return strconv.FormatUint(uint64(v), 16) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func noFrames(t report.Thread) string {
	if t.WalkNote != "" {
		return "No frames: " + t.WalkNote + "."
	}
	return "No frames."
}

// handlerFrames is how many of thread c's frames are the crash handler's
// (folded on the page), when c is the crashing thread.
func handlerFrames(r *report.Report, c int) int {
	ct := r.CrashingThread
	if ct == nil || ct.ThreadsIndex != c || ct.HandlerFrames <= 0 || ct.HandlerFrames >= len(r.Threads[c].Frames) {
		return 0
	}
	return ct.HandlerFrames
}

func reporterAgrees(f report.ReporterFrame) string {
	if f.OurFrame != nil {
		return "yes"
	}
	return "no"
}

func reporterFrameText(f report.ReporterFrame) string {
	s := ""
	if f.Address != nil {
		s = fmt.Sprintf("%#x ", uint64(*f.Address))
	}
	if f.Module != "" {
		s += f.Module + "!"
	}
	return s + f.Function
}
