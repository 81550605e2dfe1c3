package store

import (
	"context"
	"testing"
)

// TestMigrationDamaged: 00009 flags the damaged reports stored before it,
// in analyses and (through the update trigger) in crashes, and goes down.
func TestMigrationDamaged(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 50, 50)
		ctx := context.Background()
		p := migrationsOf(t, s)
		if _, err := p.DownTo(ctx, 8); err != nil {
			t.Fatal(err)
		}
		// A report stored by an analyzer that knew of truncation, before the column.
		truncated := `{"present_bytes":1000,"needed_bytes":5000,"lost_streams":["Exception"],"cut_streams":[]}`
		q := `UPDATE analyses SET report = json_set(report, '$.dump.truncated', json(?)) WHERE dump_id % 5 = 0`
		if s.pg {
			q = `UPDATE analyses SET report = jsonb_set(report::jsonb, '{dump,truncated}', ?::jsonb)::text WHERE dump_id % 5 = 0`
		}
		if _, err := s.w.ExecContext(ctx, q, truncated); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		var want, a, c int
		for q, dst := range map[string]*int{
			`SELECT count(*) FROM analyses WHERE dump_id % 5 = 0`: &want,
			`SELECT count(*) FROM analyses WHERE damaged != 0`:    &a,
			`SELECT count(*) FROM crashes WHERE damaged`:          &c,
		} {
			if err := s.w.QueryRowContext(ctx, q).Scan(dst); err != nil {
				t.Fatal(err)
			}
		}
		if want == 0 || a != want || c != want {
			t.Errorf("damaged: %d analyses and %d crashes flagged, want %d", a, c, want)
		}
		checkRollups(t, s)
	})
}
