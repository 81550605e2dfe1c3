package web

import (
	"context"
	"fmt"
	shared "github.com/dumptriage/dumptriage/internal/testdata"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/seed"
	"github.com/dumptriage/dumptriage/store"
)

const chromiumPath = "/usr/bin/chromium"

// repoRoot walks up from the test's directory to the one holding go.mod.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// testdata is a path under ../shared/testdata.
func testdata(t testing.TB, rel string) string { return shared.Path(t, rel) }

// liveServer serves the dashboard over a fresh store whose workers run the
// real analyzer, with made-up analyses seeded for the list and trend pages.
// Each option may change the server's Config once the store is open.
func liveServer(t testing.TB, seeded int, opts ...func(st *store.Store, dir string, cfg *Config)) (*httptest.Server, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if seeded > 0 {
		if err := st.Index.(*store.SQLite).Seed(context.Background(), seed.Config{Dumps: seeded, Days: 120, Seed: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddUser(context.Background(), "admin", store.RoleAdmin, testPassword); err != nil {
		t.Fatal(err)
	}
	// Links are built from the public URL: the server's own, known once it listens.
	srv := httptest.NewUnstartedServer(nil)
	cfg := Config{AnalyzerVersion: analyzer.Version, PublicURL: "http://" + srv.Listener.Addr().String()}
	for _, o := range opts {
		o(st, dir, &cfg)
	}
	srv.Config.Handler = New(st, cfg).Routes()
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	cache := analyzer.NewSymbolCache(0)
	// The uploaded Wine dumps' exes, PDBs and Wine's DLLs, so the reports
	// show named frames and the out-of-memory and stack-overflow findings.
	var dirs []string
	for _, d := range []string{"heap_nomem", "stack_overflow", "av_threads", "oom_vector", "va_commit", "_wine_dlls/x64"} {
		dirs = append(dirs, testdata(t, "wine/dumps/"+d))
	}
	symbolPath := strings.Join(dirs, ";")
	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunWorkers(ctx, store.WorkerConfig{Workers: 2, Poll: 20 * time.Millisecond},
			func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
				return analyzer.Analyze(ctx, r, size, analyzer.Options{Symbols: cache, SHA256: sha, SymbolPath: symbolPath})
			})
	})
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return srv, st
}

// login signs in through the login page.
func login(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	must(t, "sign in", chromedp.Do(ctx, chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-name]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-name]`), name),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), testPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=nav-account]`))))
}

// browser starts Debian's Chromium, or skips the test when it is missing.
// The browser lives for limit (default 150 s).
func browser(t *testing.T, limit ...time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the browser tests: %s is missing (scripts/install-test-deps installs it): %v", chromiumPath, err)
		}
		t.Skipf("browser tests need %s (scripts/install-test-deps installs it): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, append(limit, 150*time.Second)[0]) // 2 cores shared with other work
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 1000)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shoot saves a full-page screenshot under artifacts/screenshots.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(repoRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestBrowser(t *testing.T) {
	files := []string{
		testdata(t, "wine/dumps/heap_nomem/heap_nomem_x64_pdb_aug.dmp"),
		testdata(t, "wine/dumps/stack_overflow/stack_overflow_x64_pdb_aug.dmp"),
		testdata(t, "wine/dumps/av_threads/av_threads_x64_pdb_rich.dmp"),
	}
	// Seed first: the browser's deadline starts when it does, and seeding
	// 1,500 dumps takes most of a minute under -race.
	srv, _ := liveServer(t, 1500)
	ctx := browser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	wait := func(what, expr string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
		must(t, what, err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		must(t, "text of "+sel, err)
		return s
	}

	login(t, ctx, srv.URL, "admin")
	// Upload three real dumps through the page: progress bars, then live
	// status until each is done.
	must(t, "open upload", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/upload"), chromedp.WaitReady(css("#file-input"))))
	must(t, "choose files", chromedp.Do(ctx, chromedp.SetUploadFiles(css("#file-input"), files)))
	wait("three uploads done", `document.querySelectorAll('[data-testid=upload-status] .status-done').length == 3`)
	if pct := text(`[data-testid=upload-percent]`); !strings.HasPrefix(pct, "uploaded") {
		t.Errorf("progress text %q", pct)
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`Array.from(document.querySelectorAll('[data-testid=upload-progress] > div')).filter(d => d.style.width == '100%').length`))
	must(t, "progress bars", err)
	if bars != 3 {
		t.Errorf("%d progress bars full, want 3", bars)
	}
	// The same bytes again: the page says so and links the first report.
	must(t, "upload a duplicate", chromedp.Do(ctx, chromedp.SetUploadFiles(css("#file-input"), files[:1])))
	wait("duplicate noted", `document.querySelectorAll('[data-testid=upload-row]').length == 4 &&
		document.querySelectorAll('[data-testid=upload-row]')[3].textContent.includes('already uploaded')`)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid=upload-report-link]')).map(a => a.getAttribute('href'))`))
	must(t, "report links", err)
	if len(links) != 4 || links[3] != links[0] {
		t.Fatalf("report links %v: the duplicate must link the first report", links)
	}
	shoot(t, ctx, "upload")

	// The out-of-memory report, opened from its link.
	must(t, "open report", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=upload-report-link]`)),
		chromedp.WaitVisible(css(`[data-testid=oom-card]`))))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, "location", err)
	if loc != srv.URL+links[0] {
		t.Errorf("report URL %s, want %s", loc, srv.URL+links[0])
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=missing-row]').length`)); n == 0 {
		t.Error("the report does not say what the dump cannot answer")
	}
	if s := text(`[data-testid=crash-type]`); s != "STATUS_NO_MEMORY" {
		t.Errorf("crash type %q", s)
	}
	share, err := chromedp.Run(ctx, chromedp.Value(css(`[data-testid=share-url]`)))
	must(t, "share url", err)
	if share != loc {
		t.Errorf("share URL %q, want %q", share, loc)
	}
	must(t, "copy link", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=copy-link]`))))
	wait("copied", `document.querySelector('[data-testid=copy-link]').textContent == 'Copied'`)
	// Sort the region table by size, largest first.
	must(t, "open regions", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=regions] > summary`))))
	must(t, "sort by size", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=region-table] th:nth-child(3)`)),
		chromedp.Click(css(`[data-testid=region-table] th:nth-child(3)`))))
	sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid=region-table] tbody tr td:nth-child(3)')).slice(0, 5).map(td => td.dataset.v)`))
	must(t, "sizes", err)
	if len(sizes) < 2 || parseCount(sizes[0]) < parseCount(sizes[1]) {
		t.Errorf("region sizes after sorting: %v", sizes)
	}
	shoot(t, ctx, "report-oom")

	// The stack overflow report.
	must(t, "open overflow", chromedp.Do(ctx, chromedp.Navigate(srv.URL+links[1]),
		chromedp.WaitVisible(css(`[data-testid=overflow-card]`))))
	shoot(t, ctx, "report-stack-overflow")
	must(t, "open av", chromedp.Do(ctx, chromedp.Navigate(srv.URL+links[2]),
		chromedp.WaitVisible(css(`[data-testid=crashing-thread]`)),
		chromedp.Click(css(`[data-testid=expand-threads]`))))
	open, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('details.thread[open]').length`))
	must(t, "expanded", err)
	if open != 4 {
		t.Errorf("%d threads open after expand all, want 4", open)
	}
	shoot(t, ctx, "report-access-violation")

	// The dumps list, filtered through the form.
	must(t, "dumps", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=nav-dumps]`)),
		chromedp.WaitVisible(css(`[data-testid=dump-table]`))))
	shoot(t, ctx, "dumps")
	must(t, "filter", chromedp.Do(ctx, chromedp.SendKeys(css(`[data-testid=filter-exception]`), "STATUS_NO_MEMORY"),
		chromedp.Click(css(`[data-testid=filter-apply]`)), chromedp.WaitVisible(css(`[data-testid=filter-clear]`))))
	types, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid=dump-exception]')).map(td => td.textContent)`))
	must(t, "filtered rows", err)
	if len(types) == 0 {
		t.Error("no dump with STATUS_NO_MEMORY listed")
	}
	for _, ty := range types {
		if ty != "STATUS_NO_MEMORY" {
			t.Errorf("filtered list shows %q", ty)
		}
	}
	shoot(t, ctx, "dumps-filtered")

	// Crash groups, one group, modules, one module, trends.
	must(t, "signatures", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=nav-signatures]`)),
		chromedp.WaitVisible(css(`[data-testid=signature-table]`))))
	shoot(t, ctx, "signatures")
	must(t, "signature", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=signature-link]`)),
		chromedp.WaitVisible(css(`[data-testid=signature-versions]`))))
	shoot(t, ctx, "signature")
	must(t, "modules", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=nav-modules]`)),
		chromedp.WaitVisible(css(`[data-testid=module-list]`))))
	shoot(t, ctx, "modules")
	must(t, "module", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=module-link]`)),
		chromedp.WaitVisible(css(`[data-testid=module-title]`))))
	shoot(t, ctx, "module")
	must(t, "trends", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=nav-trends]`)),
		chromedp.WaitVisible(css(`[data-testid=trend-chart]`)), chromedp.Click(css(`[data-testid=period-90]`)),
		chromedp.WaitVisible(css(`[data-testid=oom-chart]`))))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/trends?days=90") {
		t.Errorf("period link went to %s", loc)
	}
	shoot(t, ctx, "trends")
}

func parseCount(s string) int {
	var n int
	fmt.Sscan(strings.ReplaceAll(s, ",", ""), &n)
	return n
}

// TestBrowserShare signs in, uploads a dump, shares its report, opens the
// link in a fresh browser context without cookies, then revokes it.
func TestBrowserShare(t *testing.T) {
	dump := testdata(t, "wine/dumps/stack_overflow/stack_overflow_x64_pdb_aug.dmp")
	ctx := browser(t)
	srv, _ := liveServer(t, 0)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	wait := func(ctx context.Context, what, expr string) {
		t.Helper()
		// A form post navigates while the poll runs on the old page; poll
		// again on the new one.
		var err error
		for range 5 {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
			if err == nil || !strings.Contains(err.Error(), "navigated or closed") && !strings.Contains(err.Error(), "Cannot find context") {
				break
			}
		}
		must(t, what, err)
	}

	login(t, ctx, srv.URL, "admin")
	must(t, "upload", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/upload"), chromedp.WaitReady(css("#file-input")),
		chromedp.SetUploadFiles(css("#file-input"), []string{dump})))
	wait(ctx, "upload done", `document.querySelectorAll('[data-testid=upload-status] .status-done').length == 1`)
	must(t, "open report", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=upload-report-link]`)),
		chromedp.WaitVisible(css(`[data-testid=overflow-card]`))))
	report, err := chromedp.Run(ctx, chromedp.Location())
	must(t, "report location", err)

	// Share it: the page shows the new link once.
	must(t, "create share", chromedp.Do(ctx, chromedp.Click(css(`[data-testid=shares] > summary`)),
		chromedp.Click(css(`[data-testid=share-create]`)), chromedp.WaitVisible(css(`[data-testid=new-share-url]`))))
	link, err := chromedp.Run(ctx, chromedp.Value(css(`[data-testid=new-share-url]`)))
	must(t, "share link", err)
	if !strings.HasPrefix(link, srv.URL+"/s/dts_") {
		t.Fatalf("share link %q", link)
	}
	shoot(t, ctx, "share-created")

	// A fresh browser context: no cookies, no account.
	anon, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	must(t, "anonymous dumps", chromedp.Do(anon, chromedp.Navigate(srv.URL+"/dumps"), chromedp.WaitVisible(css(`[data-testid=login]`))))
	must(t, "open share", chromedp.Do(anon, chromedp.Navigate(link), chromedp.WaitVisible(css(`[data-testid=overflow-card]`))))
	for sel, want := range map[string]int{`[data-testid=shared-note]`: 1, `[data-testid=nav-account]`: 0,
		`[data-testid=download-dump]`: 0, `[data-testid=shares]`: 0, `[data-testid=delete-dump]`: 0} {
		n, err := chromedp.Run(anon, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
		must(t, sel, err)
		if n != want {
			t.Errorf("shared page: %d of %s, want %d", n, sel, want)
		}
	}
	shoot(t, anon, "share-opened")

	// Revoke it from the report page; the link stops working.
	must(t, "revoke", chromedp.Do(ctx, chromedp.Navigate(report), chromedp.Click(css(`[data-testid=shares] > summary`)),
		chromedp.Click(css(`[data-testid=share-revoke]`)), chromedp.WaitNotPresent(css(`[data-testid=share-revoke]`))))
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=share-state]').textContent`))
	must(t, "share state", err)
	if state != "revoked" {
		t.Errorf("share state %q after revoking", state)
	}
	must(t, "open revoked share", chromedp.Do(anon, chromedp.Navigate(link), chromedp.WaitVisible(css(`[data-testid=error]`))))
	code, err := chromedp.Run(anon, chromedp.Text(css(`[data-testid=error] h1`)))
	must(t, "error code", err)
	if code != "404" {
		t.Errorf("revoked share shows %q, want 404", code)
	}
}
