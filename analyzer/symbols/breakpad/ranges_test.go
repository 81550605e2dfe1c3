package breakpad

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// naiveAccept is the obvious quadratic file-order insertion that the segment
// tree versions must match.
func naiveAccept(spans []span, laminar bool) []bool {
	keep := make([]bool, len(spans))
	for i, s := range spans {
		ok := true
		for j := 0; j < i && ok; j++ {
			if !keep[j] {
				continue
			}
			k := spans[j]
			overlap := k.start <= s.last && s.start <= k.last
			if !laminar {
				ok = !overlap
				continue
			}
			contains := func(a, b span) bool { return a.start <= b.start && b.last <= a.last }
			if k == s || (overlap && !contains(k, s) && !contains(s, k)) {
				ok = false
			}
		}
		keep[i] = ok
	}
	return keep
}

func TestAcceptMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 300; round++ {
		n := rng.Intn(60)
		spans := make([]span, n)
		for i := range spans {
			a := uint64(rng.Intn(100))
			spans[i] = span{a, a + uint64(rng.Intn(30))}
		}
		for _, laminar := range []bool{false, true} {
			want := naiveAccept(spans, laminar)
			var got []bool
			if laminar {
				got = acceptLaminar(spans)
			} else {
				got = acceptExclusive(spans)
			}
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("laminar=%v spans=%v: span %d kept=%v, want %v", laminar, spans, i, got[i], want[i])
				}
			}
		}
	}
}

// TestAcceptKernel32 replays kernel32.sym's unsorted, partially overlapping
// STACK WIN 4 records, where file order decides which record survives.
func TestAcceptKernel32(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdataDir(t), kernel32Sym))
	if err != nil {
		t.Fatal(err)
	}
	var spans []span
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "STACK WIN 4 ") {
			continue
		}
		fs := strings.Fields(l)
		a, _ := strconv.ParseUint(fs[3], 16, 64)
		n, _ := strconv.ParseUint(fs[4], 16, 64)
		spans = append(spans, span{a, a + n - 1})
	}
	want := naiveAccept(spans, true)
	got := acceptLaminar(spans)
	dropped := 0
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("span %d %#x: kept=%v, want %v", i, spans[i].start, got[i], want[i])
		}
		if !want[i] {
			dropped++
		}
	}
	t.Logf("%d of %d STACK WIN 4 records refused", dropped, len(spans))
}
