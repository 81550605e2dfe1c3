package seed

import (
	"reflect"
	"testing"
	"time"
)

// TestDeterministic: one seed makes the same dumps, another different ones,
// with the crash kinds the dashboard shows.
func TestDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	a, b, c := New(Config{Dumps: 300, Now: now, Seed: 7}), New(Config{Dumps: 300, Now: now, Seed: 7}), New(Config{Dumps: 300, Now: now, Seed: 8})
	kinds := map[string]int{}
	differ := false
	for i := range 300 {
		x, y, z := a.Dump(i), b.Dump(i), c.Dump(i)
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("dump %d differs between two generators of one seed", i)
		}
		differ = differ || x.SHA256 != z.SHA256 || x.Report.Signature != z.Report.Signature
		kinds[x.Report.CrashInfo.Type]++
		if x.UploadedAt.After(now) || x.UploadedAt.Before(now.Add(-180*24*time.Hour-48*time.Hour)) || x.Report.Signature == "" {
			t.Errorf("dump %d: uploaded %v, signature %q", i, x.UploadedAt, x.Report.Signature)
		}
	}
	if !differ {
		t.Error("seeds 7 and 8 make the same dumps")
	}
	for _, k := range []string{"STATUS_NO_MEMORY", "EXCEPTION_STACK_OVERFLOW", "EXCEPTION_ACCESS_VIOLATION_READ"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among %v", k, kinds)
		}
	}
}
