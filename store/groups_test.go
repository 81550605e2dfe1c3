package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

func ptr[T any](v T) *T { return &v }

// TestBackendsGroupWorkflow: each change is checked, applied and logged
// field by field; the history pages newest first; a crash at or past the
// fixed version reopens the group as regressed.
func TestBackendsGroupWorkflow(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		for _, name := range []string{"Alice", "bob"} {
			if _, err := st.AddUser(ctx, name, RoleMember, "correct horse"); err != nil {
				t.Fatal(err)
			}
		}
		crash := func(seed uint64, ver string) Dump {
			res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(seed, 4000)), Upload{Annotations: map[string]string{"prod": "P", "ver": ver}})
			if err != nil {
				t.Fatal(err)
			}
			runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
			return res.Dump
		}
		first := crash(201, "1.0")
		const sig = "crash"
		for _, tt := range []struct {
			name   string
			change GroupChange
			err    string // part of the error, or "" for none
			want   string // the status after, as state/fixed/assignee/bug/note
			events int    // events logged by this change
		}{
			{"assign, with the user's own spelling", GroupChange{Assignee: ptr("alice")}, "", "new//Alice//", 1},
			{"investigate with a note", GroupChange{State: ptr(GroupInvestigating), Note: ptr(" looks like a race\r\n ")}, "", "investigating//Alice//looks like a race", 2},
			{"same again changes nothing", GroupChange{State: ptr(GroupInvestigating), Assignee: ptr("Alice")}, "", "investigating//Alice//looks like a race", 0},
			{"unknown assignee", GroupChange{Assignee: ptr("mallory")}, "no user", "", 0},
			{"fixed without version", GroupChange{State: ptr(GroupFixed)}, "needs the version", "", 0},
			{"bad state", GroupChange{State: ptr(GroupState("done"))}, "not new", "", 0},
			{"script link", GroupChange{BugURL: ptr("javascript:alert(1)")}, "not an http(s) URL", "", 0},
			{"long note", GroupChange{Note: ptr(strings.Repeat("n", MaxGroupNote+1))}, "note of at most", "", 0},
			{"long version", GroupChange{State: ptr(GroupFixed), FixedIn: ptr(strings.Repeat("9", MaxGroupVersion+1))}, "version of at most", "", 0},
			{"fixed in 2.0 with a bug, unassigned", GroupChange{State: ptr(GroupFixed), FixedIn: ptr("2.0"),
				BugURL: ptr("https://bugs.example/1"), Assignee: ptr("")}, "", "fixed/2.0//https://bugs.example/1/looks like a race", 4},
		} {
			tt.change.Signature, tt.change.By = sig, "bob"
			before, _ := st.GroupEvents(ctx, sig, 500, 0)
			g, err := st.UpdateGroup(ctx, tt.change)
			if tt.err != "" {
				if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			stored, _ := st.GroupStatus(ctx, sig)
			for _, got := range []GroupStatus{g, stored} {
				if s := fmt.Sprintf("%s/%s/%s/%s/%s", got.State, got.FixedIn, got.Assignee, got.BugURL, got.Note); s != tt.want {
					t.Errorf("%s: %s, want %s", tt.name, s, tt.want)
				}
			}
			after, _ := st.GroupEvents(ctx, sig, 500, 0)
			if after.Total-before.Total != tt.events {
				t.Errorf("%s: %d events logged, want %d", tt.name, after.Total-before.Total, tt.events)
			}
		}
		p, err := st.GroupEvents(ctx, sig, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 7 || len(p.Events) != 3 || !p.More || p.Events[0].Field != "bug_url" || p.Events[0].By != "bob" {
			t.Fatalf("first page: %+v", p)
		}
		p, _ = st.GroupEvents(ctx, sig, 3, 6)
		if len(p.Events) != 1 || p.More || p.Events[0].Field != "assignee" || p.Events[0].New != "Alice" || p.Events[0].Old != "" {
			t.Fatalf("last page: %+v", p)
		}

		// A crash before the fix changes nothing; one at the fix reopens it.
		crash(202, "1.9")
		if g, _ := st.GroupStatus(ctx, sig); g.State != GroupFixed || g.RegressedIn != "" {
			t.Fatalf("after a crash before the fix: %+v", g)
		}
		last := crash(203, "2.0")
		g, _ := st.GroupStatus(ctx, sig)
		if g.State != GroupNew || g.RegressedFrom != "2.0" || g.RegressedIn != "2.0" || g.RegressedAt.IsZero() || g.Note != "looks like a race" {
			t.Fatalf("after a crash in the fixed version: %+v", g)
		}
		p, _ = st.GroupEvents(ctx, sig, 2, 0)
		if len(p.Events) != 2 || p.Events[0].By != "regression" || p.Events[1].Field != "regression" || p.Events[1].New != "2.0" {
			t.Fatalf("regression events: %+v", p.Events)
		}
		if g, _ = st.UpdateGroup(ctx, GroupChange{Signature: sig, State: ptr(GroupInvestigating), By: "bob"}); g.RegressedIn != "2.0" {
			t.Errorf("investigating cleared the regression: %+v", g)
		}
		if g, _ = st.UpdateGroup(ctx, GroupChange{Signature: sig, State: ptr(GroupFixed), FixedIn: ptr("2.1"), By: "bob"}); g.RegressedIn != "" {
			t.Errorf("fixed again kept the regression: %+v", g)
		}

		ends, err := st.GroupEnds(ctx, sig)
		if err != nil || len(ends) != 2 || ends[0].ID != last.ID || ends[1].ID != first.ID {
			t.Fatalf("group ends: %v %v, want %s and %s", ends, err, last.ID, first.ID)
		}
		if ends, err := st.GroupEnds(ctx, "nope"); err != nil || len(ends) != 0 {
			t.Errorf("unknown group's ends: %v %v", ends, err)
		}
	})
}

func TestVersionsAtOrPast(t *testing.T) {
	vs := []Group{{Key: "1.9"}, {Key: "2.0"}, {Key: "2.0.1"}, {Key: "10.0"}, {Key: ""}}
	for _, tt := range []struct{ fixed, want string }{
		{"2.0", "2.0 2.0.1 10.0"},
		{"11", ""},
		{"", ""},
	} {
		var got []string
		for _, g := range VersionsAtOrPast(vs, tt.fixed) {
			got = append(got, g.Key)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q: %v, want %s", tt.fixed, got, tt.want)
		}
	}
}

// TestBackendsGroupConcurrentChanges: changes made at once to one group
// are applied one after another, as SQLite's single writer applies them:
// each logged change starts from the value the one before it left, and a
// fixed group that crashes in several workers at once regresses once.
func TestBackendsGroupConcurrentChanges(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		const sig = "crash"
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 4 {
					if _, err := st.UpdateGroup(ctx, GroupChange{Signature: sig, By: "bob",
						Note: ptr(fmt.Sprintf("note %d.%d", i, j))}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		p, err := st.GroupEvents(ctx, sig, 500, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 24 {
			t.Fatalf("%d events, want 24", p.Total)
		}
		prev := ""
		for i := len(p.Events) - 1; i >= 0; i-- { // oldest first
			e := p.Events[i]
			if e.Old != prev {
				t.Fatalf("event %d changed the note from %q, but the note was %q", len(p.Events)-i, e.Old, prev)
			}
			prev = e.New
		}
		if g, _ := st.GroupStatus(ctx, sig); g.Note != prev {
			t.Errorf("note %q, last logged %q", g.Note, prev)
		}

		if _, err := st.UpdateGroup(ctx, GroupChange{Signature: sig, By: "bob", State: ptr(GroupFixed), FixedIn: ptr("2.0")}); err != nil {
			t.Fatal(err)
		}
		for seed := range uint64(6) {
			if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(300+seed, 4000)), Upload{Annotations: map[string]string{"prod": "P", "ver": "2.0"}}); err != nil {
				t.Fatal(err)
			}
		}
		// Analyses that take a while finish at about the same time.
		slow := func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
			time.Sleep(50 * time.Millisecond)
			return okAnalyzer(ctx, r, size, sha)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 4}, slow)
		p, _ = st.GroupEvents(ctx, sig, 500, 0)
		regressions := 0
		for _, e := range p.Events {
			if e.Field == "regression" {
				regressions++
			}
		}
		var alerts int
		if err := st.Index.(*SQLite).r.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE kind = 'regression'`).Scan(&alerts); err != nil {
			t.Fatal(err)
		}
		if regressions != 1 || alerts != 1 {
			t.Errorf("%d regression events and %d regression alerts, want 1 and 1", regressions, alerts)
		}
	})
}
