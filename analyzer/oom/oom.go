// Package oom recognises out-of-memory crashes, names the allocator that
// failed and which argument held the size, and gives the verdict: commit
// limit, exhausted or fragmented address space, or an absurd request.
package oom

import (
	"bufio"
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

//go:embed allocators.txt
var allocatorsText string

// Kind says how an allocator's argument gives the size.
type Kind string

const (
	KindSize    Kind = "size"    // the argument is the byte count
	KindCount   Kind = "count"   // the argument is an element count (std::allocator<T>::allocate)
	KindCalloc  Kind = "calloc"  // arguments Arg and Arg+1 multiply
	KindSizePtr Kind = "sizeptr" // the argument points at the byte count
)

// Allocator is one rule of allocators.txt.
type Allocator struct {
	Pattern *regexp.Regexp
	Arg     int
	Kind    Kind
}

// Allocators returns the rules, in file order, compiled on first use.
var Allocators = sync.OnceValue(func() []Allocator { return mustParse(allocatorsText) })

func mustParse(text string) []Allocator {
	var out []Allocator
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			panic(fmt.Sprintf("allocators.txt:%d: want 3 fields", n))
		}
		arg, err := strconv.Atoi(f[1])
		if err != nil {
			panic(fmt.Sprintf("allocators.txt:%d: %v", n, err))
		}
		out = append(out, Allocator{Pattern: regexp.MustCompile(f[0]), Arg: arg, Kind: Kind(f[2])})
	}
	return out
}

// StripTemplates removes template argument lists and parameter lists.
// Each pass removes every innermost <...> (one with no '<' or '>' inside),
// up to 16 passes, which is what replacing the regexp `<[^<>]*>` with ""
// until nothing changes did.
func StripTemplates(name string) string {
	if i := strings.Index(name, "("); i > 0 && !strings.HasPrefix(name, "operator()") {
		name = name[:i]
	}
	for i := 0; i < 16 && strings.Contains(name, "<"); i++ {
		next, changed := stripInnermost(name)
		if !changed {
			break
		}
		name = next
	}
	return strings.TrimSpace(name)
}

// stripInnermost removes each '<' whose next '<' or '>' is a '>', and the
// text up to that '>', and says whether it removed any.
func stripInnermost(s string) (string, bool) {
	var b strings.Builder
	done := 0 // s[:done] is written or dropped
	for i := strings.IndexByte(s, '<'); i >= 0; {
		j := strings.IndexAny(s[i+1:], "<>")
		if j < 0 {
			break
		}
		j += i + 1
		if s[j] == '>' {
			if done == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:i])
			done = j + 1
			k := strings.IndexByte(s[done:], '<')
			if k < 0 {
				break
			}
			i = done + k
			continue
		}
		i = j // another '<': it may be an innermost one
	}
	if done == 0 {
		return s, false
	}
	b.WriteString(s[done:])
	return b.String(), true
}

// Match returns the allocator rule for a function name.
func Match(function string) (*Allocator, bool) {
	name := StripTemplates(function)
	rules := Allocators()
	for i := range rules {
		if rules[i].Pattern.MatchString(name) {
			return &rules[i], true
		}
	}
	return nil, false
}

// Exception codes that mean out of memory.
const (
	codeNoMemory        = 0xC0000017
	codeCommitmentLimit = 0xC000012D
	codeChromeOOM       = 0xE0000008
)

// Recognize says whether the crash is an out-of-memory crash and why.
// thrownType is the C++ exception type when known; frames are the crashing
// thread's; unreal holds Unreal crash-context fields.
func Recognize(code uint32, thrownType string, frames []report.Frame, unreal map[string]string) (string, bool) {
	switch code {
	case codeNoMemory:
		return "exception STATUS_NO_MEMORY (0xC0000017)", true
	case codeCommitmentLimit:
		return "exception STATUS_COMMITMENT_LIMIT (0xC000012D)", true
	case codeChromeOOM:
		return "exception 0xE0000008 (Chromium out of memory)", true
	}
	if strings.Contains(thrownType, "bad_alloc") || strings.Contains(thrownType, "bad_array_new_length") {
		return "C++ exception " + thrownType, true
	}
	if v := unreal["bIsOOM"]; strings.EqualFold(v, "true") || v == "1" {
		return "the application's crash context says it ran out of memory (Unreal bIsOOM)", true
	}
	if unreal["OOMAllocationSize"] != "" && unreal["OOMAllocationSize"] != "0" {
		return "the application's crash context records a failed allocation (Unreal OOMAllocationSize)", true
	}
	// A C++ throw (any ABI) on top of an allocator frame.
	for i, f := range frames {
		if i > 12 {
			break
		}
		n := StripTemplates(f.Function)
		if strings.Contains(n, "_Xbad_alloc") || strings.Contains(n, "__throw_bad_alloc") || strings.Contains(n, "throw_bad_alloc") {
			return "the stack throws std::bad_alloc (" + n + ")", true
		}
		// Only a frame below a throw or raise can be the allocator that
		// failed; the cheap test goes first, so that a stack without one
		// never compiles the allocator rules.
		if i > 0 && isThrowOrRaise(frames[:i]) {
			if a, ok := Match(f.Function); ok && a.Kind != KindCount {
				return "an exception raised inside " + n, true
			}
		}
	}
	return "", false
}

func isThrowOrRaise(frames []report.Frame) bool {
	for _, f := range frames {
		n := f.Function
		if strings.Contains(n, "RaiseException") || strings.Contains(n, "CxxThrowException") || strings.Contains(n, "__cxa_throw") ||
			strings.Contains(n, "_Unwind_RaiseException") || strings.Contains(n, "RtlRaiseStatus") || strings.Contains(n, "raise_status") {
			return true
		}
	}
	return false
}

// Facts are the figures the verdict weighs.
type Facts struct {
	Is64              bool
	AddressSpaceBytes uint64  // user address space of the process
	CommitTotal       *uint64 // SystemMemoryInfo
	CommitLimit       *uint64
	ProcessPrivate    *uint64 // ProcessVmCounters
	LargestFree       *uint64 // from the memory summary
	ExceptionCode     uint32
}

// Verdict fills af.Verdict and af.Explanation from the request and facts.
func Verdict(af *report.AllocationFailure, f Facts) {
	af.CommitTotalBytes, af.CommitLimitBytes, af.ProcessPrivateBytes, af.LargestFreeBytes = f.CommitTotal, f.CommitLimit, f.ProcessPrivate, f.LargestFree
	req := af.RequestedBytes
	var parts []string
	what := "The allocation"
	if req != nil {
		what = fmt.Sprintf("The request for %s", Human(*req))
		if af.ElementCount != nil && af.ElementSize != nil {
			what += fmt.Sprintf(" (%d elements of %d bytes)", *af.ElementCount, *af.ElementSize)
		}
	}
	space := f.AddressSpaceBytes
	switch {
	case req != nil && space > 0 && *req >= space:
		af.Verdict = "absurd_request"
		af.Explanation = fmt.Sprintf("%s is larger than the whole %s address space: the size computation probably overflowed or used a corrupt length.", what, Human(space))
		return
	case f.ExceptionCode == codeCommitmentLimit || commitFull(req, f):
		af.Verdict = "commit_limit"
		s := fmt.Sprintf("%s failed because the system commit limit was reached", what)
		if f.CommitTotal != nil && f.CommitLimit != nil {
			s += fmt.Sprintf(": %s of %s was committed system-wide", Human(*f.CommitTotal), Human(*f.CommitLimit))
		}
		if f.ProcessPrivate != nil {
			s += fmt.Sprintf(", %s of it by this process", Human(*f.ProcessPrivate))
		}
		s += ". RAM plus page file were used up; address space was not the problem"
		if f.LargestFree != nil {
			s += fmt.Sprintf(" (the largest free region is %s)", Human(*f.LargestFree))
		}
		af.Explanation = s + ". Reduce memory use, or enlarge the page file."
		return
	case req != nil && f.LargestFree != nil && *f.LargestFree < *req:
		af.Verdict = "address_space"
		af.Explanation = fmt.Sprintf("%s failed because no free region of the address space was large enough: the largest is %s. The address space is exhausted or fragmented", what, Human(*f.LargestFree))
		if !f.Is64 {
			af.Explanation += ", as is typical of 32-bit processes; a 64-bit build, or large-address-aware, would help"
		}
		af.Explanation += "."
		return
	}
	af.Verdict = "unknown"
	if f.CommitTotal == nil {
		parts = append(parts, "the dump carries no system commit figures (SystemMemoryInfo)")
	} else if f.CommitLimit != nil {
		parts = append(parts, fmt.Sprintf("system commit was %s of %s", Human(*f.CommitTotal), Human(*f.CommitLimit)))
	}
	if f.LargestFree == nil {
		parts = append(parts, "no MemoryInfoList to measure free address space")
	} else {
		parts = append(parts, fmt.Sprintf("the largest free region was %s", Human(*f.LargestFree)))
	}
	af.Explanation = fmt.Sprintf("%s failed, but the dump does not show why: %s. A per-process or job memory limit (or, under Wine, ulimit) would fail it this way.", what, strings.Join(parts, "; "))
}

// commitFull: the request could not fit under the commit limit, or commit
// was within 2% of it.
func commitFull(req *uint64, f Facts) bool {
	if f.CommitTotal == nil || f.CommitLimit == nil || *f.CommitLimit == 0 {
		return false
	}
	total, limit := *f.CommitTotal, *f.CommitLimit
	if req != nil && total+*req > limit {
		return true
	}
	return total >= limit-limit/50
}

// Human writes a byte count as 923.8 MiB (968651152 bytes).
func Human(n uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", v, units[u], n)
}
