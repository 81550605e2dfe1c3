package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/dumptriage/dumptriage/store"
)

// TestSymbolServersPage: the symbols page lists every preset with what it
// serves; administrators enable, order, add and remove servers through the
// settings form, and see why a URL is refused; others see the list only
// and cannot change it.
func TestSymbolServersPage(t *testing.T) {
	e := newSymEnv(t)
	page := func(token string) *goquery.Document {
		t.Helper()
		code, b := e.do(t, "GET", "/symbols", token, "", nil)
		if code != 200 {
			t.Fatalf("/symbols: %d", code)
		}
		doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
		return doc
	}
	change := func(token string, form url.Values) (int, *goquery.Document) {
		t.Helper()
		code, b := e.do(t, "POST", "/settings/symbols", token, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
		return code, doc
	}
	row := func(doc *goquery.Document, id string) *goquery.Selection {
		return doc.Find(`[data-testid="upstream-row"][data-id="` + id + `"]`)
	}
	enabled := func(doc *goquery.Document) string {
		var ids []string
		doc.Find(`[data-testid="upstream-row"][data-enabled="true"]`).Each(func(_ int, s *goquery.Selection) {
			ids = append(ids, s.AttrOr("data-id", ""))
		})
		return strings.Join(ids, ",")
	}

	doc := page(e.admin)
	if n := doc.Find(`[data-testid="upstream-row"]`).Length(); n != len(store.SymbolPresets) {
		t.Fatalf("%d rows, want the %d presets", n, len(store.SymbolPresets))
	}
	for _, p := range store.SymbolPresets {
		r := row(doc, p.ID)
		if r.Find(`[data-testid="upstream-url"]`).Text() != p.URL || r.Find(`[data-testid="upstream-serves"]`).Text() != p.Serves ||
			r.AttrOr("data-enabled", "") != "false" || r.Find(`[data-testid="upstream-enable"] input[name="csrf"]`).Length() != 1 {
			t.Errorf("row %s: %q", p.ID, r.Text())
		}
	}
	if !strings.Contains(row(doc, "unity").Find(`[data-testid="upstream-note"]`).Text(), "Plain http") {
		t.Errorf("unity's note: %q", row(doc, "unity").Text())
	}
	if doc.Find(`[data-testid="add-upstream"] input[name="csrf"]`).Length() != 1 || doc.Find(`[data-testid="upstream"]`).Length() != 0 {
		t.Error("admin page: no add form, or a server searched before any was enabled")
	}

	// Readers see the list, no forms; members may not change it.
	reader := page(e.read)
	if reader.Find(`[data-testid="upstream-row"]`).Length() != len(store.SymbolPresets) ||
		reader.Find(`form[action="/settings/symbols"]`).Length() != 0 {
		t.Errorf("reader page: %d rows, %d forms", reader.Find(`[data-testid="upstream-row"]`).Length(),
			reader.Find(`form[action="/settings/symbols"]`).Length())
	}
	if code, _ := change(e.member, url.Values{"action": {"enable"}, "id": {"unity"}}); code != http.StatusForbidden {
		t.Errorf("a member enabled a server: %d", code)
	}
	if code, _ := change("", url.Values{"action": {"add"}, "url": {"http://169.254.169.254/"}}); code != http.StatusUnauthorized {
		t.Errorf("anonymous add: %d", code)
	}

	for _, step := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"enable"}, "id": {"unity"}}, "unity"},
		{url.Values{"action": {"enable"}, "id": {"microsoft"}}, "unity,microsoft"},
		{url.Values{"action": {"up"}, "id": {"microsoft"}}, "microsoft,unity"},
		{url.Values{"action": {"add"}, "url": {"https://symbols.example.com/store"}}, "microsoft,unity,custom-1"},
		{url.Values{"action": {"disable"}, "id": {"unity"}}, "microsoft,custom-1"},
	} {
		code, doc := change(e.admin, step.form)
		if code != 200 || enabled(doc) != step.want {
			t.Errorf("%v: %d, enabled %q, want %q", step.form, code, enabled(doc), step.want)
		}
	}
	doc = page(e.admin)
	if s := row(doc, "microsoft").Find(`[data-testid="upstream-state"]`).Text(); s != "searched 1st" {
		t.Errorf("microsoft's state %q", s)
	}
	if li := doc.Find(`[data-testid="upstream"]`); li.Length() != 2 || !strings.Contains(li.Last().Text(), "https://symbols.example.com/store") {
		t.Errorf("search order: %q", li.Text())
	}
	custom := row(doc, "custom-1")
	if custom.Find(`[data-testid="upstream-remove"]`).Length() != 1 || row(doc, "microsoft").Find(`[data-testid="upstream-remove"]`).Length() != 0 {
		t.Error("only custom servers can be removed")
	}
	if row(doc, "microsoft").Find(`[data-testid="upstream-up"]`).Length() != 0 || row(doc, "microsoft").Find(`[data-testid="upstream-down"]`).Length() != 1 {
		t.Error("the first server moves down, not up")
	}

	// A refused URL says why, and changes nothing.
	code, doc := change(e.admin, url.Values{"action": {"add"}, "url": {"https://user:secret@symbols.example.com/"}})
	if code != http.StatusBadRequest || !strings.Contains(doc.Find(`[data-testid="symbol-error"]`).Text(), "credentials") {
		t.Errorf("a URL with credentials: %d %q", code, doc.Find(`[data-testid="symbol-error"]`).Text())
	}
	if enabled(page(e.admin)) != "microsoft,custom-1" || strings.Contains(page(e.read).Text(), "secret") {
		t.Error("a refused change took effect")
	}
	if code, doc := change(e.admin, url.Values{"action": {"remove"}, "id": {"custom-1"}}); code != 200 || row(doc, "custom-1").Length() != 0 {
		t.Errorf("remove: %d", code)
	}
}

// TestSymbolServersAPI: the list as JSON for readers; one change per POST
// for administrators, answered with the new list.
func TestSymbolServersAPI(t *testing.T) {
	e := newSymEnv(t)
	type server struct {
		ID      string `json:"id"`
		URL     string `json:"url"`
		Serves  string `json:"serves"`
		Enabled bool   `json:"enabled"`
		Order   int    `json:"order"`
	}
	decode := func(b []byte) []server {
		var j struct{ Servers []server }
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return j.Servers
	}
	code, b := e.do(t, "GET", "/api/symbols/servers", e.read, "", nil)
	if list := decode(b); code != 200 || len(list) != len(store.SymbolPresets) || list[0].ID != "microsoft" || list[0].Enabled || list[0].Serves == "" {
		t.Fatalf("list: %d %s", code, b)
	}
	post := func(token, body string) (int, []byte) {
		return e.do(t, "POST", "/api/symbols/servers", token, "application/json", strings.NewReader(body))
	}
	if code, _ := post(e.member, `{"action":"enable","id":"mozilla"}`); code != http.StatusForbidden {
		t.Errorf("member: %d", code)
	}
	code, b = post(e.admin, `{"action":"enable","id":"mozilla"}`)
	if list := decode(b); code != 200 || list[0].ID != "mozilla" || !list[0].Enabled || list[0].Order != 1 || list[1].Order != 0 {
		t.Errorf("enable: %d %s", code, b)
	}
	code, b = post(e.admin, `{"action":"add","url":"http://symbols.internal:8080/store/"}`)
	if list := decode(b); code != 200 || list[1].URL != "http://symbols.internal:8080/store" || list[1].Order != 2 {
		t.Errorf("add: %d %s", code, b)
	}
	for _, bad := range []string{`{"action":"add","url":"file:///etc"}`, `{"action":"launch"}`, `not json`, `{"action":"enable","id":"../x"}`} {
		if code, b := post(e.admin, bad); code != http.StatusBadRequest || !strings.Contains(string(b), "error") {
			t.Errorf("%s: %d %s", bad, code, b)
		}
	}
}
