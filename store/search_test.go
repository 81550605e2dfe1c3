package store

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestSearch: text filters on both backends, on the dump list, the groups,
// the modules and the trends, each against what the rows hold.
func TestSearch(t *testing.T) {
	type crash struct{ sig, proc, mod, product, version string }
	crashes := []crash{
		{"OOM | large | ntdll.dll | main", "oom_vector.exe", "KERNELBASE.dll", "Acme", "1.2.0"},
		{"OOM | small | heap", "Heap_NoMem.exe", "ntdll.dll", "Acme", "1.2.10"},
		{"app.exe@0x10", "App.exe", "app.exe", "Other", "2.0"},
		{"kernelbase.dll | app.exe@0x20", "app.exe", "kernelbase.dll", "", "2.0"},
		{"100%_done | x", "tool.exe", "t_x.dll", "Acme", "1.2"},
	}
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		s := st.Index.(*SQLite)
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		for i, c := range crashes {
			var id int64
			if err := s.w.QueryRowContext(ctx, `INSERT INTO dumps (uid, sha256, size, uploaded_at, last_uploaded_at, status,
					product, product_version) VALUES (?, ?, 1, ?, ?, 'done', ?, ?) RETURNING id`, newUID(),
				fmtCodeID(uint32(i))+"cd", ms(now.Add(-time.Duration(i)*time.Hour)), ms(now), c.product, c.version).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.w.ExecContext(ctx, `INSERT INTO analyses (dump_id, analyzer_version, analyzed_at, report, signature,
					module, process_name, crash_type) VALUES (?, 'x', ?, '{}', ?, ?, ?, 'T')`, id, ms(now), c.sig, c.mod, c.proc); err != nil {
				t.Fatal(err)
			}
		}
		has := func(c crash, f Field, m Match) bool {
			v := map[Field]string{FieldSignature: c.sig, FieldProcess: c.proc, FieldModule: strings.ToLower(c.mod),
				FieldProduct: c.product, FieldVersion: c.version}[f]
			switch m.Mode {
			case Exact:
				if f == FieldProcess || f == FieldModule {
					return strings.EqualFold(v, m.Text)
				}
				return v == m.Text
			case Prefix:
				return strings.HasPrefix(strings.ToLower(v), strings.ToLower(m.Text))
			}
			return strings.Contains(strings.ToLower(v), strings.ToLower(m.Text))
		}
		for _, c := range []struct {
			name string
			ms   []FieldMatch
		}{
			{"signature substring, any case", []FieldMatch{{FieldSignature, Match{Text: "oom"}}}},
			{"process substring", []FieldMatch{{FieldProcess, Match{Text: "NOMEM"}}}},
			{"module substring", []FieldMatch{{FieldModule, Match{Text: "KernelBase"}}}},
			{"module prefix", []FieldMatch{{FieldModule, Match{Text: "kernel", Mode: Prefix}}}},
			{"module prefix inside", []FieldMatch{{FieldModule, Match{Text: "base", Mode: Prefix}}}},
			{"module exact", []FieldMatch{{FieldModule, Match{Text: "KERNELBASE.DLL", Mode: Exact}}}},
			{"process exact any case", []FieldMatch{{FieldProcess, Match{Text: "APP.EXE", Mode: Exact}}}},
			{"signature exact", []FieldMatch{{FieldSignature, Match{Text: "OOM", Mode: Exact}}}},
			{"product", []FieldMatch{{FieldProduct, Match{Text: "acme"}}}},
			{"version prefix", []FieldMatch{{FieldVersion, Match{Text: "1.2", Mode: Prefix}}}},
			{"version exact", []FieldMatch{{FieldVersion, Match{Text: "1.2", Mode: Exact}}}},
			{"LIKE characters are literal", []FieldMatch{{FieldSignature, Match{Text: "100%_"}}}},
			{"underscore is literal", []FieldMatch{{FieldModule, Match{Text: "t_"}}}},
			{"combined", []FieldMatch{{FieldProduct, Match{Text: "acme"}}, {FieldSignature, Match{Text: "OOM |", Mode: Prefix}},
				{FieldVersion, Match{Text: "1.2.1"}}}},
			{"none", []FieldMatch{{FieldProcess, Match{Text: "zzz"}}}},
		} {
			var want []string
			wantSigs := map[string]int{}
			for _, cr := range crashes {
				ok := true
				for _, m := range c.ms {
					ok = ok && has(cr, m.Field, m.Match)
				}
				if ok {
					want = append(want, cr.sig)
					wantSigs[cr.sig]++
				}
			}
			sort.Strings(want)
			page, err := s.SearchDumps(ctx, SearchQuery{Matches: c.ms})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var got []string
			for _, d := range page.Dumps {
				got = append(got, d.Summary.Signature)
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: dumps %q, want %q", c.name, got, want)
			}
			gp, err := s.Groups(ctx, GroupQuery{Dim: DimSignature, Matches: c.ms})
			if err != nil {
				t.Fatalf("%s: groups: %v", c.name, err)
			}
			if gp.Total != len(wantSigs) || len(gp.Groups) != len(wantSigs) {
				t.Errorf("%s: %d groups, want %d", c.name, gp.Total, len(wantSigs))
			}
			for _, g := range gp.Groups {
				if wantSigs[g.Key] != g.Count {
					t.Errorf("%s: group %q counts %d, want %d", c.name, g.Key, g.Count, wantSigs[g.Key])
				}
			}
			tr, err := s.Trends(ctx, TrendQuery{Days: 7, Matches: c.ms, Clock: ClockUpload})
			if err != nil {
				t.Fatalf("%s: trends: %v", c.name, err)
			}
			if tr.Total != len(want) {
				t.Errorf("%s: trends total %d, want %d", c.name, tr.Total, len(want))
			}
			mp, err := s.ModuleStats(ctx, ModuleQuery{Matches: c.ms})
			if err != nil {
				t.Fatalf("%s: modules: %v", c.name, err)
			}
			if c.ms[0].Field != FieldModule && len(c.ms) == 1 {
				n := 0
				for _, m := range mp.Modules {
					n += m.Faulting
				}
				if n != len(want) {
					t.Errorf("%s: faulting modules count %d crashes, want %d", c.name, n, len(want))
				}
			}
		}
		// Trends without a search agree with the filtered path on everything.
		all, err := s.Trends(ctx, TrendQuery{Days: 7, Clock: ClockUpload})
		if err != nil {
			t.Fatal(err)
		}
		any, err := s.Trends(ctx, TrendQuery{Days: 7, Clock: ClockUpload, Matches: []FieldMatch{{FieldSignature, Match{Text: ""}}}})
		if err != nil {
			t.Fatal(err)
		}
		if all.Total != len(crashes) || any.Total != all.Total || len(any.TopCrashers) != len(all.TopCrashers) ||
			len(any.ByModule) != len(all.ByModule) {
			t.Errorf("trends: %d from the rollups, %d from the rows (%d/%d crashers, %d/%d modules)", all.Total, any.Total,
				len(all.TopCrashers), len(any.TopCrashers), len(all.ByModule), len(any.ByModule))
		}
		if _, err := s.SearchDumps(ctx, SearchQuery{Matches: []FieldMatch{{FieldSignature,
			Match{Text: strings.Repeat("x", MaxSearchBytes+1)}}}}); !isBadRequestErr(err) {
			t.Errorf("a search too long: %v", err)
		}
	})
}

func isBadRequestErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), ErrBadRequest.Error())
}
