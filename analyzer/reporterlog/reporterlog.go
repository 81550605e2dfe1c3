// Package reporterlog reads the crashing stack that a program's own crash
// reporter logged at crash time: Unity's Player.log / output_log.txt /
// error.log ("OUTPUTTING STACK TRACE", "Stack Trace of Crashed Thread")
// and Unreal's crash context (CrashContext.runtime-xml: CallStack and
// PCallStack). The analyzer holds it against its own walk.
package reporterlog

import (
	"bytes"
	"strconv"
	"strings"
)

// Frame is one logged frame, innermost first.
type Frame struct {
	Address    uint64
	HasAddress bool
	Module     string
	Function   string
}

// Stack is a logged crashing stack.
type Stack struct {
	Source string // "Unity Player.log", "Unreal CrashContext"
	// How says how the reporter found the stack, so a reader can weigh it.
	How    string
	Frames []Frame
}

// Bounds on hostile logs.
const (
	MaxInput  = 64 << 20
	MaxFrames = 512
	maxLine   = 4096
)

const (
	unityHow = "logged by Unity's crash handler at crash time: it walked the stack in the process with the " +
		"loaded images' unwind data and Mono's JIT tables, so its addresses are exact; its names are the nearest export"
	unrealHow = "logged by Unreal's crash reporter at crash time with the game's own symbols; " +
		"its first frames are the assert or crash handler's"
)

// Parse finds a crashing stack in a reporter's log or crash context, or
// returns nil.
func Parse(b []byte) *Stack {
	if len(b) > MaxInput {
		b = b[:MaxInput]
	}
	if s := parseUnity(b); s != nil {
		return s
	}
	return parseUnreal(string(b))
}

var (
	unityStart = []byte("========== OUTPUTTING STACK TRACE ==================")
	unityCrash = []byte("Crash!!!")
	errorStart = []byte("Stack Trace of Crashed Thread")
)

func parseUnity(b []byte) *Stack {
	src := "Unity Player.log"
	i := -1
	// The trace after "Crash!!!" is the crash's; a log may hold others.
	if c := bytes.Index(b, unityCrash); c >= 0 {
		if j := bytes.Index(b[c:], unityStart); j >= 0 {
			i = c + j
		}
	}
	if i < 0 {
		i = bytes.LastIndex(b, unityStart)
	}
	if i < 0 {
		if i = bytes.Index(b, errorStart); i < 0 {
			return nil
		}
		src = "Unity error.log"
	}
	rest := b[i:]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[nl+1:]
	} else {
		return nil
	}
	s := &Stack{Source: src, How: unityHow}
	started := false
	for len(rest) > 0 && len(s.Frames) < MaxFrames {
		line := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line, rest = rest[:nl], rest[nl+1:]
		} else {
			rest = nil
		}
		l := strings.TrimSpace(string(line[:min(len(line), maxLine)]))
		if l == "" {
			if started {
				break
			}
			continue
		}
		f, ok := unityFrame(l)
		if !ok {
			break
		}
		started = true
		s.Frames = append(s.Frames, f)
	}
	if len(s.Frames) == 0 {
		return nil
	}
	return s
}

// unityFrame parses "0x00007FF9F4D221FD (UnityPlayer) UnityMain".
func unityFrame(l string) (Frame, bool) {
	addr, rest, ok := strings.Cut(l, " ")
	if !ok || !strings.HasPrefix(addr, "0x") {
		return Frame{}, false
	}
	a, err := strconv.ParseUint(addr[2:], 16, 64)
	if err != nil {
		return Frame{}, false
	}
	f := Frame{Address: a, HasAddress: true}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "(") {
		if j := strings.IndexByte(rest, ')'); j > 0 {
			f.Module, rest = rest[1:j], strings.TrimSpace(rest[j+1:])
		}
	}
	f.Function = rest
	return f, true
}

// element returns the text of the first <tag>...</tag>.
func element(s, tag string) (string, bool) {
	i := strings.Index(s, "<"+tag+">")
	if i < 0 {
		return "", false
	}
	s = s[i+len(tag)+2:]
	j := strings.Index(s, "</"+tag+">")
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && len(out) < MaxFrames {
			out = append(out, l)
		}
	}
	return out
}

func parseUnreal(s string) *Stack {
	cs, ok1 := element(s, "CallStack")
	ps, ok2 := element(s, "PCallStack")
	if !ok1 && !ok2 {
		return nil
	}
	st := &Stack{Source: "Unreal CrashContext", How: unrealHow}
	names := lines(cs)
	// PCallStack: "Module 0xBASE + offset" per frame; Unreal writes
	// "0x00000000ffffffff + ffffffff" for frames it could not resolve.
	for _, l := range lines(ps) {
		fs := strings.Fields(l)
		if len(fs) != 4 || fs[2] != "+" || !strings.HasPrefix(fs[1], "0x") {
			continue
		}
		base, err1 := strconv.ParseUint(fs[1][2:], 16, 64)
		off, err2 := strconv.ParseUint(fs[3], 16, 64)
		if err1 != nil || err2 != nil || base == 0xffffffff || base+off < base {
			continue
		}
		st.Frames = append(st.Frames, Frame{Address: base + off, HasAddress: true, Module: fs[0]})
	}
	if len(st.Frames) > 0 && len(st.Frames) == len(names) {
		for i, n := range names {
			_, fn, _ := strings.Cut(n, "!")
			st.Frames[i].Function = unrealName(fn)
		}
	} else if len(st.Frames) == 0 {
		for _, n := range names {
			mod, fn, _ := strings.Cut(n, "!")
			st.Frames = append(st.Frames, Frame{Module: mod, Function: unrealName(fn)})
		}
	}
	if len(st.Frames) == 0 {
		return nil
	}
	return st
}

// unrealName drops the source location Unreal appends ("f() [file:line]").
func unrealName(s string) string {
	if i := strings.Index(s, " ["); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
