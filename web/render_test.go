package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// TestRenderFailureIsClean500 renders a page that fails after writing half
// of itself: the client must get a 500 and none of the half page.
func TestRenderFailureIsClean500(t *testing.T) {
	s := New(nil, Config{})
	half := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		io.WriteString(w, "<html><body><h1>Half a report")
		return errors.New("template blew up")
	})
	whole := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<html>whole</html>")
		return err
	})
	for _, c := range []struct {
		name, method string
		comp         templ.Component
		code         int
		body         string
	}{
		{"failure", "GET", half, http.StatusInternalServerError, "Something went wrong"},
		{"success", "GET", whole, http.StatusOK, "<html>whole</html>"},
		{"head", "HEAD", whole, http.StatusOK, ""},
	} {
		w := httptest.NewRecorder()
		s.render(w, httptest.NewRequest(c.method, "/x", nil), http.StatusOK, c.comp)
		if w.Code != c.code {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.code)
		}
		if got := w.Body.String(); !strings.Contains(got, c.body) || strings.Contains(got, "Half a report") || (c.body == "" && got != "") {
			t.Errorf("%s: body %q, want %q and nothing of the failed page", c.name, got, c.body)
		}
	}
}
