// Package signature computes a crash's signature: one line that names the
// crash so that crashes with the same cause group together, in the manner of
// Socorro's signature generator (mozilla-services/socorro,
// socorro/signature). The frame lists that drive it are plain text under
// rules/, embedded; README.md describes the algorithm and each file.
package signature

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

const (
	// maxFrames is how many frames the walk considers, as Socorro's
	// MAXIMUM_FRAMES_TO_CONSIDER.
	maxFrames = 40
	// maxRecursionFrames is how deep the stack-overflow rule looks for a
	// recursion cycle; it must start within the first maxFrames frames.
	maxRecursionFrames = 1000
	// maxCycle is the longest recursion cycle detected without a hint.
	maxCycle = 16
	// minRepeats is how many times a cycle must repeat to count.
	minRepeats = 3
	// maxExportOffset is how far past an exported name an address may be
	// and still be named by it. An export is only the nearest name below
	// the address; beyond this the function is some internal one (Unity
	// stacks name everything in UnityPlayer.dll "UnityMain" this way).
	maxExportOffset = 0x10000
	// maxLength is the longest signature, as Socorro's SIGNATURE_MAX_LENGTH.
	maxLength = 255

	sep = " | "
)

// Input is what the signature is computed from.
type Input struct {
	// Frames are the crashing thread's frames, innermost first.
	Frames []report.Frame
	// CrashType is report.CrashInfo.Type, e.g. EXCEPTION_ACCESS_VIOLATION_READ.
	CrashType string
	// OOM is "", "large" or "small" (see OOMClass).
	OOM string
	// StackOverflow says the thread ran out of stack.
	StackOverflow bool
	// Recursion is the repeating cycle's function names, when known.
	Recursion []string
}

// Generate returns the signature and notes that say which rule did what to
// which frame, in order.
func Generate(in Input) (sig string, notes []string) {
	rs, err := defaultRules()
	if err != nil {
		return "EMPTY: signature rules failed to load", []string{err.Error()}
	}
	return rs.generate(in)
}

// CorruptPrefix starts the signature of every damaged dump.
const CorruptPrefix = "corrupt dump" + sep

// Corrupt is the signature of a dump damaged in the given way ("truncated"):
// damaged dumps group apart whatever frames survived, since what is left
// of them may be wrong or partial.
func Corrupt(kind string) string { return CorruptPrefix + kind }

// frame is one frame's normalised name and where it came from.
type frame struct {
	index   int // report.Frame.Frame, or the position when frames are unnumbered
	pos     int // position in Input.Frames
	name    string
	trimmed bool  // a module name kept without its offset
	skip    *rule // the irrelevant (or, in an OOM, allocator) rule that matched, if any
	merged  bool  // a trimmed module frame that repeats the one above
	// distrust is an export name not used because it is too far from the
	// address to be the function.
	distrust       string
	distrustOffset uint64
}

func (rs *ruleSet) generate(in Input) (string, []string) {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }

	kind := rs.crashKindOf(in, note)

	// Normalise the frames the walk, and for a stack overflow the recursion
	// rule, may need.
	limit := min(len(in.Frames), maxFrames)
	if kind.stackOverflow {
		limit = min(len(in.Frames), maxRecursionFrames)
	}
	// Deep recursion repeats a few names many times: normalise and classify
	// each distinct one once.
	type seenFrame struct {
		f    frame
		skip *rule
	}
	type frameKey struct {
		function, module, file string
		line                   int
		moduleOffset, offset   report.Addr
	}
	seen := map[frameKey]seenFrame{}
	frames := make([]frame, 0, limit)
	for i := range limit {
		src := &in.Frames[i]
		key := frameKey{function: src.Function, module: src.Module, file: src.File, line: src.Line, moduleOffset: src.ModuleOffset}
		if src.Function == "" && src.Module == "" {
			key.offset = src.Offset
		}
		sf, ok := seen[key]
		if !ok {
			sf.f = rs.normalizeFrame(*src, i)
			sf.skip = match(rs.irrelevant, sf.f.name)
			if sf.skip == nil && kind.oom != "" {
				sf.skip = match(rs.oomSkip, sf.f.name)
			}
			seen[key] = sf
		}
		f := sf.f
		f.index, f.pos, f.skip = frameIndex(*src, i), i, sf.skip
		frames = append(frames, f)
	}

	// Sentinels: start at the first one present.
	if f, r := rs.findSentinel(frames); r != nil {
		note("sentinel: starting at frame %d %q [%s]", frames[f].index, frames[f].name, r)
		frames = frames[f:]
	}

	// Classify each frame once, for the walk and the recursion rule.
	relevant := make([]frame, 0, len(frames))
	for i := range frames {
		f := &frames[i]
		if f.skip != nil {
			continue
		}
		if f.trimmed && len(relevant) > 0 && relevant[len(relevant)-1].name == f.name {
			f.merged = true
			continue
		}
		relevant = append(relevant, *f)
	}

	var parts []string
	if kind.stackOverflow {
		if p, start, ok := rs.recursionParts(relevant, in.Recursion, note); ok {
			// The frames above the recursion are only where the stack
			// happened to run out.
			for _, f := range frames {
				if f.pos >= start.pos {
					break
				}
				if f.skip != nil {
					note("%s: skipped frame %d %q [%s]", skipKind(f.skip), f.index, f.name, f.skip)
				} else {
					note("stackoverflow: dropped frame %d %q above the recursion", f.index, f.name)
				}
			}
			parts = p
		}
	}
	if parts == nil {
		// The walk considers only the first maxFrames frames, as Socorro does.
		parts = rs.walk(frames[:min(len(frames), maxFrames)], note)
	}
	if len(parts) == 0 {
		switch {
		case len(in.Frames) == 0:
			parts = []string{"EMPTY: no frame data available"}
			note("empty: the crashing thread has no frames")
		case len(frames) > 0:
			parts = []string{frames[0].name}
			note("empty: every frame was irrelevant; using frame %d %q", frames[0].index, frames[0].name)
		default:
			parts = []string{"EMPTY: no frame data available"}
			note("empty: no frames left")
		}
	}
	parts = collapseCycles(parts, note)

	if kind.stackOverflow {
		parts = append([]string{"stackoverflow"}, parts...)
		note("stackoverflow: prefixed %q", "stackoverflow"+sep)
	}
	if kind.oom != "" {
		parts = append([]string{"OOM", kind.oom}, parts...)
		note("oom: prefixed %q", "OOM"+sep+kind.oom+sep)
	}
	sig := strings.Join(parts, sep)
	if len(sig) > maxLength {
		cut := maxLength - 3
		for cut > 0 && !isRuneStart(sig[cut]) {
			cut--
		}
		sig = sig[:cut] + "..."
		note("truncated to %d characters", maxLength)
	}
	return sig, notes
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// normalizeFrame names a frame as the signature shows it: the normalised
// function; else file#line; else module@0xoffset (just the module for
// modules in trim_module_re.txt); else @0xaddress. Windows module names are
// case-insensitive, so they are lower-cased, as Socorro does on Windows.
func (rs *ruleSet) normalizeFrame(f report.Frame, i int) frame {
	out := frame{index: frameIndex(f, i), pos: i}
	if f.Function != "" && f.SymbolSource == "exports" && f.FunctionOffset >= maxExportOffset {
		out.distrust, out.distrustOffset = f.Function, uint64(f.FunctionOffset)
	} else if f.Function != "" {
		if n := Normalize(f.Function); n != "" {
			out.name = n
			return out
		}
	}
	if f.File != "" && f.Line > 0 {
		file := f.File
		if k := strings.LastIndexAny(file, `/\`); k >= 0 {
			file = file[k+1:]
		}
		out.name = fmt.Sprintf("%s#%d", clean(file), f.Line)
		return out
	}
	if f.Module != "" {
		m := strings.ToLower(clean(path.Base(strings.ReplaceAll(f.Module, `\`, "/"))))
		if match(rs.trimModule, m) != nil {
			out.name, out.trimmed = m, true
			return out
		}
		out.name = fmt.Sprintf("%s@0x%x", m, uint64(f.ModuleOffset))
		return out
	}
	out.name = fmt.Sprintf("@0x%x", uint64(f.Offset))
	return out
}

// frameIndex is the frame's number: report.Frame.Frame, or its position when
// the frames are unnumbered.
func frameIndex(f report.Frame, i int) int {
	if f.Frame != 0 || i == 0 {
		return f.Frame
	}
	return i
}

func (rs *ruleSet) findSentinel(frames []frame) (int, *rule) {
	for i, f := range frames[:min(len(frames), maxFrames)] {
		for _, r := range rs.sentinels {
			if f.name == r.text {
				return i, r
			}
		}
	}
	return 0, nil
}

// walk is Socorro's loop: skip irrelevant frames, keep prefix frames, and
// stop after the first frame that is not one.
func (rs *ruleSet) walk(frames []frame, note func(string, ...any)) []string {
	var parts []string
	for _, f := range frames {
		switch {
		case f.skip != nil:
			note("%s: skipped frame %d %q [%s]", skipKind(f.skip), f.index, f.name, f.skip)
			continue
		case f.merged:
			note("trim: merged frame %d %q into the frame above", f.index, f.name)
			continue
		}
		if f.distrust != "" {
			note("exports: frame %d is %#x bytes past the export %q, too far (>= %#x) to be in it; named %q",
				f.index, f.distrustOffset, f.distrust, uint64(maxExportOffset), f.name)
		}
		parts = append(parts, f.name)
		if r := match(rs.prefix, f.name); r != nil {
			note("prefix: kept frame %d %q and continued [%s]", f.index, f.name, r)
			continue
		}
		note("end: kept frame %d %q, which matches no prefix rule", f.index, f.name)
		return parts
	}
	if len(parts) > 0 {
		note("end: ran out of frames while in prefix frames")
	}
	return parts
}

// skipKind names the list a skipping rule comes from, for notes.
func skipKind(r *rule) string {
	if r.file == fileOOMSkip {
		return "oom allocator"
	}
	return "irrelevant"
}

type crashKind struct {
	stackOverflow bool
	oom           string
}

// crashKindOf decides the prefixes from the input and crash_types.txt.
func (rs *ruleSet) crashKindOf(in Input, note func(string, ...any)) crashKind {
	k := crashKind{stackOverflow: in.StackOverflow}
	switch in.OOM {
	case "":
	case "large", "small":
		k.oom = in.OOM
	default:
		k.oom = "large"
		note("oom: unknown OOM class %q taken as large", in.OOM)
	}
	if r := rs.crashTypes[in.CrashType]; r != nil {
		switch rs.crashKind[in.CrashType] {
		case "stackoverflow":
			if !k.stackOverflow {
				k.stackOverflow = true
				note("stackoverflow: implied by crash type %s [%s]", in.CrashType, r)
			}
		case "oom":
			if k.oom == "" {
				k.oom = "large"
				note("oom: implied by crash type %s, size unknown so large [%s, %s]", in.CrashType, r, rs.largeRule)
			}
		}
	}
	return k
}

// recursionParts finds the recursion cycle in a stack overflow and returns it
// once, in stack order, in place of the frames above it: those frames are
// only where the stack happened to run out. The cycle is the caller's hint
// when it is found in the frames, else the shortest cycle that repeats
// minRepeats times and starts within the first maxFrames relevant frames.
func (rs *ruleSet) recursionParts(frames []frame, hint []string, note func(string, ...any)) (cycle []string, start frame, ok bool) {
	names := make([]string, len(frames))
	for i, f := range frames {
		names[i] = f.name
	}
	if len(hint) > 0 {
		cycle = make([]string, 0, len(hint))
		set := map[string]bool{}
		for _, h := range hint {
			if n := rs.hintName(h); n != "" {
				cycle = append(cycle, n)
				set[n] = true
			}
		}
		for i, n := range names[:min(len(names), maxFrames)] {
			if !set[n] || len(cycle) == 0 {
				continue
			}
			// Rotate the hint to start at the frame found.
			r := 0
			for cycle[r] != n {
				r++
			}
			got := append(append([]string{}, cycle[r:]...), cycle[:r]...)
			note("stackoverflow: recursion cycle %q (from the caller) starts at frame %d", strings.Join(got, sep), frames[i].index)
			return got, frames[i], true
		}
		note("stackoverflow: recursion cycle %q (from the caller) is not among the first %d relevant frames; detecting one", strings.Join(cycle, sep), maxFrames)
	}
	for i := range min(len(names), maxFrames) {
		for p := 1; p <= maxCycle && i+p*minRepeats <= len(names); p++ {
			reps := repeats(names, i, p)
			if reps < minRepeats {
				continue
			}
			got := append([]string{}, names[i:i+p]...)
			note("stackoverflow: recursion cycle %q repeats %d times from frame %d", strings.Join(got, sep), reps, frames[i].index)
			return got, frames[i], true
		}
	}
	note("stackoverflow: no recursion cycle found; walking the frames")
	return nil, frame{}, false
}

// hintName names a recursion hint entry as the frames are named. Entries
// are function names, or, for frames without one, "module+0xoffset" and
// "0xaddress" (as the stackoverflow package writes them) or this package's
// "module@0xoffset" and "@0xaddress".
func (rs *ruleSet) hintName(h string) string {
	if mod, off, ok := hintModuleOffset(h); ok {
		n, err := strconv.ParseUint(off[2:], 16, 64)
		if err == nil {
			return rs.normalizeFrame(report.Frame{Module: mod, ModuleOffset: report.Addr(n)}, 0).name
		}
	}
	if addr, ok := hintAddress(h); ok {
		return "@" + strings.ToLower(addr)
	}
	return Normalize(h)
}

// hintModuleOffset splits "module+0xoffset" or "module@0xoffset": the
// whole of h is a module name without ' ', '<', '>', '(', ')' or '!', then
// '+' or '@', then 0x and hex digits. The module is the longest that leaves
// such an offset, as `^([^ <>()!]+)[+@](0x[0-9a-fA-F]+)$` would take it;
// since 'x' is not a hex digit, only one split can.
func hintModuleOffset(h string) (module, offset string, ok bool) {
	i := len(h)
	for i > 0 && isHex(h[i-1]) {
		i--
	}
	// h[i:] is the trailing hex run; "0x" must come just before it, and the
	// separator before that.
	if i == len(h) || i < 4 || h[i-1] != 'x' || h[i-2] != '0' || h[i-3] != '+' && h[i-3] != '@' {
		return "", "", false
	}
	module = h[:i-3]
	if strings.ContainsAny(module, " <>()!") {
		return "", "", false
	}
	return module, h[i-2:], true
}

// hintAddress reads "0xaddress" or "@0xaddress" and returns the 0x part, as
// `^@?(0x[0-9a-fA-F]+)$` would.
func hintAddress(h string) (string, bool) {
	h = strings.TrimPrefix(h, "@")
	if len(h) < 3 || h[0] != '0' || h[1] != 'x' {
		return "", false
	}
	for i := 2; i < len(h); i++ {
		if !isHex(h[i]) {
			return "", false
		}
	}
	return h, true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// repeats counts how many times names[i:i+p] repeats back to back from i.
func repeats(names []string, i, p int) int {
	n := 1
	for j := i + p; j+p <= len(names); j += p {
		for k := range p {
			if names[j+k] != names[i+k] {
				return n
			}
		}
		n++
	}
	return n
}

// collapseCycles reduces any block of signature parts repeated back to back
// to one copy: `f | g | f | g | f` becomes `f | g`, and a trailing partial
// repeat is dropped too.
func collapseCycles(parts []string, note func(string, ...any)) []string {
	for p := 1; p <= len(parts)/2; p++ {
		for i := 0; i+2*p <= len(parts); i++ {
			if repeats(parts, i, p) < 2 {
				continue
			}
			reps := repeats(parts, i, p)
			end := i + reps*p
			// A partial copy after the last full one belongs to the cycle too.
			k := 0
			for end+k < len(parts) && k < p && parts[end+k] == parts[i+k] {
				k++
			}
			cycle := strings.Join(parts[i:i+p], sep)
			out := append(append([]string{}, parts[:i+p]...), parts[end+k:]...)
			note("recursion: collapsed %q repeated %d times to one", cycle, reps)
			return collapseCycles(out, note)
		}
	}
	return parts
}
