package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// BenchmarkPages renders every dashboard page on the server over a data
// folder filled by `dumptriage seed`:
//
//	go run ./cmd/dumptriage seed --data /tmp/dt100k --dumps 100000
//	DUMPTRIAGE_BENCH_DATA=/tmp/dt100k go test ./web -run '^$' -bench Pages -benchtime 20x
//
// On PostgreSQL, seed with --db and name the same database here:
//
//	go run ./cmd/dumptriage seed --data /tmp/dtpg --db postgres://... --dumps 1000000
//	DUMPTRIAGE_BENCH_DATA=/tmp/dtpg DUMPTRIAGE_BENCH_DB=postgres://... go test ./web -run '^$' -bench Pages
//
// Targets: lists, groups, modules and trends under 100 ms, a report under 50 ms.
func BenchmarkPages(b *testing.B) {
	dir := os.Getenv("DUMPTRIAGE_BENCH_DATA")
	if dir == "" {
		b.Skip("set DUMPTRIAGE_BENCH_DATA to a data folder filled by `dumptriage seed`")
	}
	ctx := context.Background()
	st, err := store.OpenBackends(ctx, dir, store.Backends{DB: os.Getenv("DUMPTRIAGE_BENCH_DB")}, store.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := New(st, Config{}).Routes()
	// Pages are read as a signed-in viewer: the session lookup is part of the cost.
	if _, err := st.AddUser(ctx, "bench-viewer", store.RoleViewer, testPassword); err != nil && !errors.Is(err, store.ErrExists) {
		b.Fatal(err)
	}
	u, err := st.User(ctx, "bench-viewer")
	if err != nil {
		b.Fatal(err)
	}
	session, _, err := st.CreateSession(ctx, u.ID, "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	first := func(q store.SearchQuery) store.Dump {
		q.Limit = 1
		p, err := st.SearchDumps(ctx, q)
		if err != nil || len(p.Dumps) == 0 {
			b.Fatalf("no dump for %+v: %v", q, err)
		}
		return p.Dumps[0]
	}
	sigs, _ := st.Groups(ctx, store.GroupQuery{Dim: store.DimSignature, Limit: 500})
	top, rare := sigs.Groups[0].Key, sigs.Groups[len(sigs.Groups)-1].Key
	mods, _ := st.ModuleStats(ctx, store.ModuleQuery{Sort: "faulting", Limit: 1})
	vers, _ := st.Groups(ctx, store.GroupQuery{Dim: store.DimVersion, Limit: 1})
	ntdll, err := st.ModuleInfo(ctx, store.ModuleInfoQuery{Name: "ntdll.dll"})
	if err != nil || len(ntdll.Versions) == 0 {
		b.Fatalf("ntdll.dll: %v", err)
	}
	page1, _ := st.SearchDumps(ctx, store.SearchQuery{})
	oom := first(store.SearchQuery{ListQuery: store.ListQuery{CrashType: "STATUS_NO_MEMORY"}})
	so := first(store.SearchQuery{ListQuery: store.ListQuery{CrashType: "EXCEPTION_STACK_OVERFLOW"}})
	av := first(store.SearchQuery{ListQuery: store.ListQuery{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"}})
	esc := url.QueryEscape
	for _, p := range []struct{ name, path string }{
		{"report/oom", "/dumps/" + oom.ID},
		{"report/stack-overflow", "/dumps/" + so.ID},
		{"report/access-violation", "/dumps/" + av.ID},
		{"dumps", "/dumps"},
		{"dumps/page2", "/dumps?cursor=" + esc(page1.Next)},
		{"dumps/status", "/dumps?status=done"},
		{"dumps/exception", "/dumps?exception=EXCEPTION_INT_DIVIDE_BY_ZERO"},
		{"dumps/signature-top", "/dumps?signature=" + esc(top)},
		{"dumps/signature-rare", "/dumps?signature=" + esc(rare)},
		{"dumps/module", "/dumps?module=" + esc(mods.Modules[0].Name)},
		{"dumps/version", "/dumps?version=" + esc(vers.Groups[0].Key)},
		{"dumps/process", "/dumps?process=sync_agent.exe"},
		{"dumps/date-range", "/dumps?from=2020-01-01&to=2020-02-01"},
		{"dumps/all-filters", "/dumps?exception=EXCEPTION_ACCESS_VIOLATION_READ&process=player.exe&version=" +
			esc(vers.Groups[0].Key) + "&from=2020-01-01"},
		{"signatures", "/signatures"},
		{"signatures/search", "/signatures?q=Render"},
		{"signatures/offset", "/signatures?offset=2000"},
		{"signature/top", string(components.SignatureURL(top))},
		{"signature/rare", string(components.SignatureURL(rare))},
		{"signature/top-history", string(components.SignatureURL(top)) + "?history=0"},
		{"signature/top-compare", string(components.SignatureURL(top)) + "/compare"},
		{"modules", "/modules"},
		{"modules/faulting", "/modules?sort=faulting"},
		{"module/top", "/modules/" + mods.Modules[0].Name},
		{"module/ntdll", "/modules/ntdll.dll"},
		{"module/ntdll/365-faulting", "/modules/ntdll.dll?days=365&chart=faulting"},
		{"module/ntdll/version", "/modules/ntdll.dll?version=" + esc(ntdll.Versions[len(ntdll.Versions)-1].Version)},
		{"module/ntdll/deep", "/modules/ntdll.dll?soffset=10000&foffset=10000"},
		{"module/kernelbase", "/modules/kernelbase.dll"},
		{"trends/30", "/trends"},
		{"trends/365", "/trends?days=365"},
		{"trends/upload-clock", "/trends?clock=upload"},
		{"signature/top-upload-clock", string(components.SignatureURL(top)) + "?clock=upload"},
		{"search/dumps-substring", "/dumps?process=agent"},
		{"search/dumps-prefix", "/dumps?module=%5Env"},
		{"search/dumps-combined", "/dumps?process=player&signature=render&version=2"},
		{"search/dumps-rare-substring", "/dumps?signature=" + esc(rare[len(rare)/2:])},
		{"search/signatures-process", "/signatures?process=player"},
		{"search/signatures-version", "/signatures?version=" + esc(vers.Groups[0].Key)},
		{"search/modules-process", "/modules?process=sync"},
		{"search/trends-process", "/trends?process=player"},
		{"search/trends-signature", "/trends?signature=" + esc(top) + "&days=90"},
		{"search/api-dumps", "/api/dumps?module=kernel&limit=50"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", p.path, nil)
				r.Host = "localhost" // httptest's example.com fails the Host check (421)
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%s: %d", p.path, w.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}
