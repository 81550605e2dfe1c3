package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

// TestOpenAPIMatchesRouter: the document at /api/openapi.json and the
// router list the same /api routes and methods (HEAD, which every GET
// answers, aside), and every operation is complete.
func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newEnv(t, store.Config{}, 1<<20)
	resp, b := e.do("GET", "/api/openapi.json", nil, "Authorization", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	opIDs := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, raw := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
			var op struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
				Parameters  []struct{ Name, In string }
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			if op.OperationID == "" || opIDs[op.OperationID] || len(op.Responses) == 0 {
				t.Errorf("%s %s: operationId %q (unique?) and responses %d", m, p, op.OperationID, len(op.Responses))
			}
			opIDs[op.OperationID] = true
			for _, seg := range strings.Split(p, "/") {
				if strings.HasPrefix(seg, "{") && !slices.ContainsFunc(op.Parameters, func(x struct{ Name, In string }) bool {
					return x.In == "path" && "{"+x.Name+"}" == seg
				}) {
					t.Errorf("%s %s: path parameter %s undocumented", m, p, seg)
				}
			}
		}
	}
	var routed []string
	// With a symbol store, as serve runs: its routes are optional.
	sym, err := store.OpenSymbols(e.st, t.TempDir(), store.SymbolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := New(e.st, Config{Symbols: sym}).Routes()
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/") && method != http.MethodHead {
			routed = append(routed, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %s, which no route serves", d)
		}
	}
	if len(routed) < 20 {
		t.Errorf("only %d /api routes walked", len(routed))
	}
}

// TestGroupAPIs reads the JSON forms of the crash groups, modules and trends.
func TestGroupAPIs(t *testing.T) {
	e := newEnv(t, store.Config{}, 1<<20)
	u := e.upload(fakeDump(77, 3000))
	e.wait(u.ID)
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/api/signatures", `"signatures":[`},
		{"/api/modules", `"modules":`},
		{"/api/trends?days=7", `"top_crashers":`},
		{"/api/signature", `"error"`},
		{"/api/signatures/nope", `"error"`},
		{"/api/signatures/nope/events", `"error"`},
		{"/api/signatures/nope/compare", `"error"`},
		{"/api/signatures?limit=0", `"error"`},
	} {
		resp, b := e.do("GET", tt.path, nil)
		if !strings.Contains(string(b), tt.want) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %.200s", tt.path, resp.StatusCode, b)
		}
	}
}
