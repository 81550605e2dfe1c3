package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.10", "1.9", 1}, {"1.9.1", "1.10", -1}, {"2.0", "2.0.0.1", -1},
		{"7.8.9", "7.8.9", 0}, {"1.0-beta", "1.0", 1}, {"1.0a", "1.0b", -1}, {"", "1", -1},
	} {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNewWebhook(t *testing.T) {
	for _, tt := range []struct {
		url, format, events string
		threshold           int
		ok                  bool
	}{
		{"https://hooks.slack.com/services/x", "", "new,regression", 0, true},
		{"http://127.0.0.1:9/hook", "json", "threshold", 10, true},
		{"http://127.0.0.1:9/hook", "json", "threshold", 0, false},
		{"ftp://x/", "", "new", 0, false},
		{"https://x/", "xml", "new", 0, false},
		{"https://x/", "", "new,boom", 0, false},
	} {
		w, err := NewWebhook(tt.url, tt.format, tt.events, tt.threshold, "t")
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v", tt, err)
		}
		if tt.ok && strings.Contains(tt.url, "slack") && w.Format != FormatSlack {
			t.Errorf("slack URL got format %s", w.Format)
		}
	}
}

func TestAlertsRaised(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		idx := st.Index.(*SQLite)
		hookA, err := NewWebhook("http://127.0.0.1:1/a", "slack", "new,regression", 0, "t")
		if err != nil {
			t.Fatal(err)
		}
		hookB, _ := NewWebhook("http://127.0.0.1:1/b", "json", "threshold", 3, "t")
		if _, err = st.AddWebhook(ctx, hookA); err != nil {
			t.Fatal(err)
		}
		if hookB, err = st.AddWebhook(ctx, hookB); err != nil {
			t.Fatal(err)
		}
		seed := uint64(100)
		crash := func(ver string) Dump {
			seed++
			res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(seed, 4000)), Upload{Annotations: map[string]string{"prod": "P", "ver": ver}})
			if err != nil {
				t.Fatal(err)
			}
			runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
			return res.Dump
		}
		due := func() []string {
			ds, err := idx.DueDeliveries(ctx, time.Now().Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range ds {
				out = append(out, fmt.Sprintf("%s>%s@%s", d.Alert.Kind, d.Webhook.URL[len(d.Webhook.URL)-1:], d.Alert.Version))
			}
			sort.Strings(out)
			return out
		}
		want := func(step string, w ...string) {
			t.Helper()
			got := due()
			if strings.Join(got, " ") != strings.Join(w, " ") {
				t.Fatalf("%s: deliveries %v, want %v", step, got, w)
			}
		}
		d1 := crash("1.0")
		want("first crash", "new>a@1.0")
		if _, err := st.SetGroupStatus(ctx, GroupStatus{Signature: "crash", State: GroupFixed}); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("fixed without a version: %v", err)
		}
		if _, err := st.SetGroupStatus(ctx, GroupStatus{Signature: "crash", State: GroupFixed, FixedIn: "2.0",
			BugURL: "https://bugs.example/1", UpdatedBy: "dev"}); err != nil {
			t.Fatal(err)
		}
		crash("1.5")
		want("crash in an older version", "new>a@1.0")
		crash("2.0.1")
		want("crash after the fix", "new>a@1.0", "regression>a@2.0.1", "threshold>b@2.0.1")
		g, _ := st.GroupStatus(ctx, "crash")
		if g.State != GroupNew || g.FixedIn != "" || g.BugURL != "https://bugs.example/1" {
			t.Errorf("after the regression: %+v", g)
		}
		crash("2.0.2")
		want("fourth crash: threshold passed already", "new>a@1.0", "regression>a@2.0.1", "threshold>b@2.0.1")
		if _, err := st.SetGroupStatus(ctx, GroupStatus{Signature: "crash", State: GroupIgnored}); err != nil {
			t.Fatal(err)
		}
		if err := st.Reanalyze(ctx, d1.ID); err != nil {
			t.Fatal(err)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
		want("re-analysis raises nothing", "new>a@1.0", "regression>a@2.0.1", "threshold>b@2.0.1")
		if err := st.RemoveWebhook(ctx, hookB.ID); err != nil {
			t.Fatal(err)
		}
		want("removed webhook's deliveries go", "new>a@1.0", "regression>a@2.0.1")
		if err := st.RemoveWebhook(ctx, hookB.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing twice: %v", err)
		}
	})
}
