package memmap

import "testing"

// TestSummarize100k summarises 100,000 regions correctly; the speed
// bar (under 50 ms) is measured by BenchmarkSummarize100k, not here, since a
// timed test fails on a busy machine.
func TestSummarize100k(t *testing.T) {
	s, err := Summarize(synthDump(100_000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, e := range s.State {
		sum += e.Bytes
	}
	if sum != s.AddressSpaceBytes || len(s.Regions) < 100_000 {
		t.Fatalf("states sum to 0x%x of 0x%x, %d regions", sum, s.AddressSpaceBytes, len(s.Regions))
	}
}
