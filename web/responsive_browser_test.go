package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

// The widths every page is checked at: a phone and a desktop.
var checkWidths = []int{390, 1400}

// auditJS measures the page as it is laid out: horizontal overflow (and the
// outermost elements that cause it), the contrast of every visible text
// node against its effective background (WCAG AA), chart labels smaller
// than 11 px on screen, and elements that take a click but not the
// keyboard.
const auditJS = `(() => {
  // The width left beside a vertical scroll bar: a phone's overlay bar
  // hides nothing, the test browser's takes 15 px.
  const W = document.documentElement.clientWidth;
  const out = {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, clientWidth: W, wide: [], contrast: [], tiny: [], clickOnly: [], charts: []};
  const desc = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.getAttribute('data-testid')) s += '[data-testid=' + el.getAttribute('data-testid') + ']';
    else if (typeof el.className === 'string' && el.className) s += '.' + el.className.trim().split(/\s+/).join('.');
    const p = el.parentElement;
    return (p && p !== document.body ? desc1(p) + ' > ' : '') + s;
  };
  const desc1 = (el) => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  // rgb(a) -> [r, g, b, a]
  const parse = (c) => {
    const m = c && c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const v = m[1].split(/[ ,\/]+/).filter(Boolean).map(parseFloat);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
  };
  const over = (top, bot) => {
    const a = top[3];
    return [top[0]*a + bot[0]*(1-a), top[1]*a + bot[1]*(1-a), top[2]*a + bot[2]*(1-a), 1];
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126*f(c[0]) + 0.7152*f(c[1]) + 0.0722*f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  // The colour behind el: its and its ancestors' backgrounds, composited
  // over the white canvas; null where an image or gradient paints it.
  const bgCache = new Map();
  const bgOf = (el) => {
    if (!el || el.nodeType !== 1) return [255, 255, 255, 1];
    if (bgCache.has(el)) return bgCache.get(el);
    const cs = getComputedStyle(el);
    let res;
    if (cs.backgroundImage && cs.backgroundImage !== 'none') res = null;
    else {
      const c = parse(cs.backgroundColor) || [0, 0, 0, 0];
      if (c[3] >= 1) res = c;
      else {
        const under = bgOf(el.parentElement);
        res = under && (c[3] > 0 ? over(c, under) : under);
      }
    }
    bgCache.set(el, res);
    return res;
  };
  const opacity = (el) => { let o = 1; for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; };
  const disabled = (el) => !!el.closest('[disabled], .disabled, [aria-disabled=true]');

  if (out.scrollWidth > W) {
    // The outermost elements that stick out of the viewport, outside any
    // box that scrolls or clips them.
    const clips = (el) => { for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) { const o = getComputedStyle(e).overflowX; if (o !== 'visible') return true; } return false; };
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= W + 0.5 || clips(el)) continue;
      const pr = el.parentElement.getBoundingClientRect();
      if (el.parentElement !== document.body && pr.right > W + 0.5) continue;
      out.wide.push(desc(el) + ' (right edge at ' + Math.round(r.right) + ' px)');
      if (out.wide.length >= 8) break;
    }
  }

  const seen = new Set();
  const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = tw.nextNode(); n; n = tw.nextNode()) {
    const text = n.nodeValue.trim();
    const el = n.parentElement;
    if (!text || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('title, desc, script, style, noscript, template, option')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    if (disabled(el)) continue;
    const cs = getComputedStyle(el);
    const inSVG = el instanceof SVGElement;
    let fg = parse(inSVG ? cs.fill : cs.color);
    const bg = bgOf(inSVG ? el.closest('svg').parentElement : el);
    if (!fg || !bg) continue;
    fg = [fg[0], fg[1], fg[2], fg[3] * opacity(el)];
    if (fg[3] === 0) continue;
    const c = ratio(over(fg, bg), bg);
    const px = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight) >= 700;
    const large = px >= 24 || (bold && px >= 18.66);
    const need = large ? 3 : 4.5;
    if (c < need - 0.005) {
      out.contrast.push(desc(el) + ' "' + text.slice(0, 40) + '": ' + c.toFixed(2) + ':1 (' + (inSVG ? cs.fill : cs.color) + ' on rgb(' + bg.slice(0, 3).map(Math.round).join(',') + '), needs ' + need + ':1)');
    }
    if (inSVG && el.getScreenCTM) {
      const m = el.getScreenCTM();
      const eff = px * Math.min(Math.hypot(m.a, m.b), Math.hypot(m.c, m.d));
      if (eff < 10.95) out.tiny.push(desc(el) + ' "' + text.slice(0, 20) + '": ' + eff.toFixed(1) + ' px');
    }
  }

  // Chart axis labels are HTML: at least 11 px, and none on top of another.
  for (const axis of document.querySelectorAll('.xaxis, .yaxis')) {
    const spans = Array.from(axis.children).filter(e => e.checkVisibility());
    const rs = spans.map(e => e.getBoundingClientRect());
    spans.forEach((e, i) => {
      if (parseFloat(getComputedStyle(e).fontSize) < 10.95) out.tiny.push(desc(e) + ' "' + e.textContent + '": ' + getComputedStyle(e).fontSize);
      for (let j = 0; j < i; j++) {
        const a = rs[i], b = rs[j];
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) out.tiny.push(desc(e) + ' "' + e.textContent + '" overlaps "' + spans[j].textContent + '"');
      }
    });
  }

  // A box that scrolls sideways takes the keyboard's focus and says what
  // it holds.
  out.scrollers = [];
  for (const el of document.body.querySelectorAll('*')) {
    const o = getComputedStyle(el).overflowX;
    if ((o !== 'auto' && o !== 'scroll') || el.scrollWidth <= el.clientWidth + 1 || !el.checkVisibility()) continue;
    if (el.tabIndex < 0 || !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') && !el.matches('textarea, input, select')) out.scrollers.push(desc(el));
    if (out.scrollers.length >= 8) break;
  }

  // Charts say what they show to those who cannot see them.
  for (const svg of document.querySelectorAll('svg.chart')) {
    const named = svg.getAttribute('aria-label') || svg.getAttribute('aria-labelledby') || svg.querySelector(':scope > title');
    if (!named || !svg.getAttribute('role')) out.charts.push(desc(svg) + ': no role and name');
    if (!svg.getAttribute('aria-describedby') && !svg.querySelector(':scope > desc')) out.charts.push(desc(svg) + ': no description (desc or aria-describedby)');
  }

  // What takes a click (a pointer cursor) must take the keyboard: it is
  // focusable itself, or inside something focusable, or labels a control.
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, label, [tabindex]:not([tabindex="-1"])';
  for (const el of document.body.querySelectorAll('*')) {
    if (getComputedStyle(el).cursor !== 'pointer' || disabled(el)) continue;
    if (el.closest(focusable)) continue;
    if (!el.checkVisibility()) continue;
    out.clickOnly.push(desc(el));
    if (out.clickOnly.length >= 8) break;
  }
  return out;
})()`

// focusJS focuses every focusable element in turn (after a real Tab, so
// script focus counts as keyboard focus) and reports those whose focus is
// not shown: no outline or box-shadow change on them or on the box around
// them, or an outline below 3:1 against what is behind it.
const focusJS = `(() => {
  const parse = (c) => { const m = c && c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const v = m[1].split(/[ ,\/]+/).filter(Boolean).map(parseFloat); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (t, b) => [t[0]*t[3] + b[0]*(1-t[3]), t[1]*t[3] + b[1]*(1-t[3]), t[2]*t[3] + b[2]*(1-t[3]), 1];
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126*f(c[0]) + 0.7152*f(c[1]) + 0.0722*f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const bgOf = (el) => { const cs = el && el.nodeType === 1 ? getComputedStyle(el) : null; if (!cs) return [255, 255, 255, 1]; const c = parse(cs.backgroundColor) || [0,0,0,0]; if (c[3] >= 1) return c; const u = bgOf(el.parentElement); return c[3] > 0 ? over(c, u) : u; };
  const desc = (el) => el.tagName.toLowerCase() + (el.getAttribute('data-testid') ? '[data-testid=' + el.getAttribute('data-testid') + ']' : '') +
    (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
  const snap = (el) => { const s = getComputedStyle(el); return {o: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ? s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor : '', oc: s.outlineColor, b: s.boxShadow}; };
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const els = Array.from(document.querySelectorAll(sel)).filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0 && el.checkVisibility({visibilityProperty: true}));
  const bad = [], positive = [];
  let checked = 0;
  for (const el of els) {
    if (el.tabIndex > 0) positive.push(desc(el));
    // The element and the two boxes around it (a focus-within ring).
    const chain = [el, el.parentElement, el.parentElement && el.parentElement.parentElement].filter(e => e && parseFloat(getComputedStyle(e).opacity) > 0);
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    const before = chain.map(snap);
    el.focus({preventScroll: true});
    if (document.activeElement !== el) continue;
    checked++;
    const after = chain.map(snap);
    let shown = false, weak = '';
    for (let i = 0; i < chain.length && !shown; i++) {
      if (after[i].o && after[i].o !== before[i].o) {
        const oc = parse(after[i].oc), bg = bgOf(chain[i].parentElement);
        const r = oc ? ratio(over(oc, bg), bg) : 0;
        if (r >= 3) shown = true; else weak = 'outline ' + after[i].oc + ' at ' + r.toFixed(2) + ':1';
      } else if (after[i].b !== before[i].b && after[i].b !== 'none') shown = true;
    }
    if (!shown) bad.push(desc(el) + (weak ? ': ' + weak : ': no outline or box-shadow when focused'));
  }
  document.activeElement && document.activeElement.blur && document.activeElement.blur();
  return {checked: checked, total: els.length, bad: bad.slice(0, 12), badCount: bad.length, positive: positive};
})()`

type pageAudit struct {
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	ClientWidth int      `json:"clientWidth"`
	Wide        []string `json:"wide"`
	Contrast    []string `json:"contrast"`
	Tiny        []string `json:"tiny"`
	ClickOnly   []string `json:"clickOnly"`
	Charts      []string `json:"charts"`
	Scrollers   []string `json:"scrollers"`
}

type focusAudit struct {
	Checked  int      `json:"checked"`
	Total    int      `json:"total"`
	Bad      []string `json:"bad"`
	BadCount int      `json:"badCount"`
	Positive []string `json:"positive"`
}

// page is one URL to check, with a name for its screenshots.
type webPage struct{ name, url string }

// pageFill knows how to fill the path parameters of page routes from the
// seeded data. A route whose parameter has no filler fails the test: a new
// page must be checked at every width too.
type pageFill struct {
	dumps   []webPage // real dumps: name and id
	share   string    // a share token
	sigs    []string  // signatures of real dumps
	pair    [3]string // a signature and two of its dumps, to compare
	modules []string  // module names of real dumps
}

// pages turns a GET route pattern into URLs, or says why it cannot.
func (f pageFill) pages(pattern string) ([]webPage, error) {
	params := regexp.MustCompile(`\{([^}/]+)\}`).FindAllStringSubmatch(pattern, -1)
	out := []webPage{{name: "", url: pattern}}
	for _, m := range params {
		name := strings.SplitN(m[1], ":", 2)[0]
		var vals []webPage
		switch {
		case name == "id" && strings.HasPrefix(pattern, "/dumps/"):
			vals = f.dumps
		case name == "token" && strings.HasPrefix(pattern, "/s/"):
			vals = []webPage{{"share", f.share}}
		case name == "name" && strings.HasPrefix(pattern, "/modules/"):
			for i, m := range f.modules {
				vals = append(vals, webPage{fmt.Sprintf("mod%d", i), m})
			}
		case (name == "signature" || name == "sig") && strings.HasSuffix(pattern, "/compare"):
			vals = []webPage{{"pair", f.pair[0]}}
		case name == "signature" || name == "sig":
			for i, s := range f.sigs {
				vals = append(vals, webPage{fmt.Sprintf("sig%d", i), s})
			}
		default:
			return nil, fmt.Errorf("no way to fill {%s} in %s: give TestBrowserEveryWidth a filler for it", m[1], pattern)
		}
		var next []webPage
		for _, p := range out {
			for _, v := range vals {
				next = append(next, webPage{name: strings.Trim(p.name+"-"+v.name, "-"), url: strings.Replace(p.url, m[0], url.PathEscape(v.url), 1)})
			}
		}
		out = next
	}
	// Routes that need a query to show anything but an error.
	if strings.HasSuffix(pattern, "/compare") {
		for i := range out {
			out[i].url += "?a=" + url.QueryEscape(f.pair[1]) + "&b=" + url.QueryEscape(f.pair[2])
		}
	}
	if pattern == "/signature" {
		out = nil
		for i, s := range f.sigs {
			out = append(out, webPage{fmt.Sprintf("sig%d", i), "/signature?sig=" + url.QueryEscape(s)})
		}
	}
	return out, nil
}

// TestBrowserEveryWidth opens every page the router serves as HTML, with
// its parameters filled from real dumps (and a hostile one), at 390 and
// 1400 px: no page may scroll sideways, text must meet WCAG AA contrast,
// chart labels stay at least 11 px, nothing takes only a click, and every
// focusable element shows its focus. Screenshots go to
// $DUMPTRIAGE_SCREENSHOTS, or the test's temporary directory.
func TestBrowserEveryWidth(t *testing.T) {
	dumps := []struct{ name, path string }{
		{"oom-heap", testdata(t, "wine/dumps/heap_nomem/heap_nomem_x64_pdb_aug.dmp")},
		{"oom-heap-rich", testdata(t, "wine/dumps/heap_nomem/heap_nomem_x64_pdb_rich.dmp")}, // the same group
		{"oom-vector", testdata(t, "wine/dumps/oom_vector/oom_vector_x64_mingw_rich.dmp")},
		{"stack-overflow", testdata(t, "wine/dumps/stack_overflow/stack_overflow_x64_pdb_aug.dmp")},
		{"av-threads", testdata(t, "wine/dumps/av_threads/av_threads_x64_pdb_rich.dmp")},
		{"many-modules", testdata(t, "public/getsentry__symbolicator/tests/fixtures/macos-no-fp.dmp")},
		{"unreal", testdata(t, "public/getsentry__symbolic/symbolic-testutils/fixtures/unreal/unreal_crash.extracted/UE4Minidump.dmp")},
		{"long-paths", testdata(t, "public/LYJ-Kerman__crash-log/crash.dmp")},
	}
	// The hostile dump: script and markup in module, thread and comment
	// strings, long and unbroken.
	if _, err := exec.LookPath("python3"); err == nil {
		dir := t.TempDir()
		cmd := exec.Command("python3", filepath.Join(repoRoot(t), "..", "shared", "tools", "hostile", "make_xss.py"))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make_xss.py: %v\n%s", err, out)
		}
		dumps = append(dumps, struct{ name, path string }{"hostile", filepath.Join(dir, "xss.dmp")})
	}
	shots := os.Getenv("DUMPTRIAGE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	withSymbols := func(st *store.Store, dir string, cfg *Config) {
		sym, err := store.OpenSymbols(st, dir, store.SymbolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Symbols = sym
	}
	srv, st := liveServer(t, 400, withSymbols)
	ctx := context.Background()
	fill := pageFill{}
	modules := map[string]bool{}
	for _, d := range dumps {
		f, err := os.Open(d.path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Ingest(ctx, f, store.Upload{FileName: filepath.Base(d.path), UploadedBy: "admin"})
		f.Close()
		if err != nil {
			t.Fatalf("ingest %s: %v", d.name, err)
		}
		fill.dumps = append(fill.dumps, webPage{d.name, res.Dump.ID})
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, d := range fill.dumps {
		for {
			dd, rep, err := st.Report(ctx, d.url)
			if err == nil && dd.Status == store.StatusDone && rep != nil {
				if d.name == "oom-heap" || d.name == "oom-heap-rich" {
					fill.pair[0] = dd.Summary.Signature
					fill.pair[map[string]int{"oom-heap": 1, "oom-heap-rich": 2}[d.name]] = d.url
				}
				if dd.Summary != nil && dd.Summary.Signature != "" && len(fill.sigs) < 3 && (d.name == "oom-vector" || d.name == "hostile" || d.name == "unreal") {
					fill.sigs = append(fill.sigs, dd.Summary.Signature)
				}
				var r report.Report
				if err := json.Unmarshal(rep, &r); err == nil {
					// The longest module name, and the hostile one.
					for _, m := range r.Modules {
						if d.name == "hostile" && strings.Contains(m.Filename, "<") || d.name == "long-paths" && len(m.Filename) > 12 && len(modules) < 1 {
							modules[m.Filename] = true
							break
						}
					}
				}
				break
			}
			if err == nil && dd.Status == store.StatusFailed {
				t.Fatalf("%s failed to analyse: %s", d.name, dd.Error)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not analysed in time (%v)", d.name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for m := range modules {
		fill.modules = append(fill.modules, m)
	}
	sort.Strings(fill.modules)
	if len(fill.modules) == 0 {
		fill.modules = []string{"ntdll.dll"}
	}
	raw, _, err := st.CreateShare(ctx, fill.dumps[0].url, "admin", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	fill.share = raw

	bctx := browser(t, 6*time.Minute)
	login(t, bctx, srv.URL, "admin")
	cookies, err := chromedp.Run(bctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
		return r.Cookies, err
	})
	must(t, "cookies", err)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	htmlPage := func(u string) (bool, int) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+u, nil)
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		return strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && resp.StatusCode < 300, resp.StatusCode
	}

	// Every GET route that answers with an HTML page.
	var pages []webPage
	err = chi.Walk(srv.Config.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodGet || strings.HasPrefix(route, "/api/") || strings.HasPrefix(route, "/static/") {
			return nil
		}
		ps, err := fill.pages(route)
		if err != nil {
			t.Error(err)
			return nil
		}
		for _, p := range ps {
			if ok, code := htmlPage(p.url); !ok {
				if code >= 400 && code != http.StatusForbidden {
					t.Errorf("GET %s (route %s) answers %d: give it what it needs in pageFill.pages", p.url, route, code)
				}
				continue
			}
			name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(route, "")), "-"), "-")
			pages = append(pages, webPage{name: strings.Trim(cmp.Or(name, "root")+"-"+p.name, "-"), url: p.url})
		}
		return nil
	})
	must(t, "walk routes", err)
	// The error page, and the login page as a stranger sees it.
	pages = append(pages, webPage{"error-404", "/no-such-page"})
	if len(pages) < 12 {
		t.Fatalf("only %d pages found: %v", len(pages), pages)
	}
	t.Logf("%d pages at %v px; screenshots in %s", len(pages), checkWidths, shots)

	anon, cancelAnon := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	defer cancelAnon()
	type visit struct {
		ctx  context.Context
		p    webPage
		keys bool // tab through it
	}
	visits := []visit{{anon, webPage{"login", "/login"}, true}}
	for _, p := range pages {
		visits = append(visits, visit{bctx, p, true})
	}
	// DUMPTRIAGE_PAGES (a regexp of URLs) narrows the run while working on
	// a page.
	if only := os.Getenv("DUMPTRIAGE_PAGES"); only != "" {
		re := regexp.MustCompile(only)
		visits = slices.DeleteFunc(visits, func(v visit) bool { return !re.MatchString(v.p.url) })
	}
	// Two tabs take turns: each acts as the focused page, or script focus
	// would not count as keyboard focus in the one behind.
	focused := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})

	// An empty file on the upload page: rejected, and its row says so, not
	// "waiting".
	empty := filepath.Join(t.TempDir(), "empty.dmp")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, "upload an empty file", chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/upload"), chromedp.WaitReady(chromedp.CSS("#file-input")),
		chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{empty})))
	waitPage(t, bctx, "empty file rejected", `document.querySelectorAll('[data-testid=upload-status] .status-failed').length == 1`)
	row, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=upload-row]').innerText`))
	must(t, "empty file row", err)
	if strings.Contains(row, "waiting") || !strings.Contains(row, "rejected") || !strings.Contains(row, "empty") ||
		strings.Count(row, "not a minidump") > 1 {
		t.Errorf("the empty file's row: %q", row)
	}

	for _, w := range checkWidths {
		for _, v := range visits {
			label := fmt.Sprintf("%s at %d px", v.p.url, w)
			must(t, "viewport", chromedp.Do(v.ctx, chromedp.EmulateViewport(int64(w), 900), focused))
			must(t, "open "+label, chromedp.Do(v.ctx, chromedp.Navigate(srv.URL+v.p.url), chromedp.WaitReady(chromedp.CSS("main"))))
			a, err := chromedp.Run(v.ctx, chromedp.Evaluate[pageAudit](auditJS))
			must(t, "audit "+label, err)
			if a.ScrollWidth > a.InnerWidth || a.ScrollWidth > a.ClientWidth {
				t.Errorf("%s scrolls sideways: scrollWidth %d > innerWidth %d or the %d px beside the scroll bar; sticking out: %s",
					label, a.ScrollWidth, a.InnerWidth, a.ClientWidth, strings.Join(a.Wide, "; "))
			}
			report := func(what string, list []string) {
				if len(list) > 0 {
					t.Errorf("%s: %d %s:\n\t%s", label, len(list), what, strings.Join(list[:min(len(list), 10)], "\n\t"))
				}
			}
			report("texts below WCAG AA contrast", a.Contrast)
			report("chart labels under 11 px or overlapping", a.Tiny)
			report("click-only elements", a.ClickOnly)
			report("charts without a text alternative", a.Charts)
			report("boxes that scroll sideways but take no focus or have no name", a.Scrollers)
			shot(t, v.ctx, filepath.Join(shots, fmt.Sprintf("%d-%s.png", w, v.p.name)))
			// The keyboard at the phone width everywhere; at the desktop
			// width the report pages are left out for time (the same
			// elements and styles).
			if v.keys && (w == checkWidths[0] || !strings.HasPrefix(v.p.url, "/dumps/")) {
				checkKeyboard(t, v.ctx, label)
			}
		}
	}
}

// checkKeyboard tabs from the top of the page: the first stop is the skip
// link to the main content and every stop shows its focus; then every
// other focusable element is focused from script and must show it too.
func checkKeyboard(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	tab := func() { must(t, "tab", chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab))) }
	tab()
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const a = document.activeElement; return a && a.matches('a.skip-link[href="#main"]') && document.getElementById('main') && a.matches(':focus-visible') ? 'ok' : (a ? a.outerHTML.slice(0, 120) : 'nothing'); })()`))
	must(t, "first tab stop", err)
	if first != "ok" {
		t.Errorf("%s: the first Tab stop is %s, want a visible skip link to #main", label, first)
	}
	// Real Tab presses through the first stops: each lands on something
	// that shows it is focused.
	for i := range 12 {
		tab()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const a = document.activeElement; if (!a || a === document.body) return 'end';
			const s = getComputedStyle(a); const p = a.parentElement ? getComputedStyle(a.parentElement) : s;
			return a.matches(':focus-visible') && (s.outlineStyle !== 'none' || s.boxShadow !== 'none' || p.outlineStyle !== 'none' || p.boxShadow !== 'none') ? 'ok' : a.outerHTML.slice(0, 120); })()`))
		must(t, "tab stop", err)
		if s == "end" {
			break
		}
		if s != "ok" {
			t.Errorf("%s: Tab stop %d shows no focus: %s", label, i+2, s)
		}
	}
	f, err := chromedp.Run(ctx, chromedp.Evaluate[focusAudit](focusJS))
	must(t, "focus audit", err)
	if f.Total > 0 && f.Checked == 0 {
		t.Errorf("%s: none of %d focusable elements took focus", label, f.Total)
	}
	if f.BadCount > 0 {
		t.Errorf("%s: %d of %d focusable elements show no focus:\n\t%s", label, f.BadCount, f.Checked, strings.Join(f.Bad, "\n\t"))
	}
	if len(f.Positive) > 0 {
		t.Errorf("%s: positive tabindex breaks the focus order: %v", label, f.Positive)
	}
}

// shot saves a screenshot of the whole page, cut at 6,000 px of height
// (a report with hundreds of threads is longer, and no more telling).
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, tg, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil || m.CSSContentSize == nil {
			return nil, fmt.Errorf("layout metrics: %v", err)
		}
		// Beyond the viewport the page is laid out without a scroll bar:
		// the whole window's width.
		w, err := chromedp.Evaluate[float64](`Math.max(window.innerWidth, document.scrollingElement.scrollWidth)`)(ctx, tg)
		if err != nil {
			return nil, err
		}
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true), FromSurface: new(true),
			Clip: &page.Viewport{Width: w, Height: min(m.CSSContentSize.Height, 6000), Scale: 1}})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	if err != nil {
		t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}
