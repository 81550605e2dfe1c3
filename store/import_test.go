package store

import "testing"

func BenchmarkSeed(b *testing.B) {
	for b.Loop() {
		seeded(b, 2000)
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "dumps/s")
}
