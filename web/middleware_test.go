package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestIDAndClientIP(t *testing.T) {
	var gotID, gotIP string
	h := requestID(clientIP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotID, gotIP = requestIDFrom(r.Context()), clientIPFrom(r.Context())
	})))
	for _, c := range []struct {
		name, header, remote, wantIP string
		wantID                       func(string) bool
	}{
		{"generated", "", "192.0.2.7:5123", "192.0.2.7", func(id string) bool { return strings.Contains(id, "-") }},
		{"client's", "abc-123", "[2001:db8::1]:80", "2001:db8::1", func(id string) bool { return id == "abc-123" }},
		{"too long", strings.Repeat("x", 65), "pipe", "pipe", func(id string) bool { return len(id) < 65 }},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.header != "" {
			r.Header.Set("X-Request-Id", c.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !c.wantID(gotID) || w.Header().Get("X-Request-Id") != gotID {
			t.Errorf("%s: request id %q (header %q)", c.name, gotID, w.Header().Get("X-Request-Id"))
		}
		if gotIP != c.wantIP {
			t.Errorf("%s: client ip %q, want %q", c.name, gotIP, c.wantIP)
		}
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &statusWriter{ResponseWriter: rec}
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte("abc"))
	w.ReadFrom(strings.NewReader("defg"))
	if w.status != http.StatusTeapot || w.bytes != 7 || rec.Body.String() != "abcdefg" {
		t.Errorf("status %d, bytes %d, body %q", w.status, w.bytes, rec.Body.String())
	}
	if w.Unwrap() != rec {
		t.Error("Unwrap does not return the wrapped writer")
	}
}
