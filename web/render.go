package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// meta is the layout's part of every page.
func (s *Server) meta(title, nav string) components.Meta {
	return components.Meta{Title: title, Nav: nav, Assets: assetVersion()}
}

// render writes a page. It is rendered into a buffer first, so a failure
// mid-page becomes a clean 500 rather than a truncated 200; report pages are
// bounded in size, so the buffer is too.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	buf.Reset()
	if err := c.Render(s.viewerContext(r), buf); err != nil {
		s.logger(r).Error("render page", "path", logPath(r), "err", err)
		http.Error(w, "Something went wrong rendering this page (request "+requestIDFrom(r.Context())+").",
			http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putPageBuffer keeps buffers of ordinary pages for reuse and lets a
// rare huge one go.
func putPageBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		pageBuffers.Put(b)
	}
}

// failPage answers a page request with an error page; the cause is logged.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := httpStatus(err)
	if code >= 500 {
		s.logger(r).Error("page failed", "status", code, "err", err)
		msg = "Something went wrong (request " + requestIDFrom(r.Context()) + ")."
	} else if code == http.StatusNotFound {
		msg = "There is nothing here."
	}
	s.render(w, r, code, components.ErrorPage(s.meta(http.StatusText(code), ""), code, msg))
}

// queryNotice turns a malformed query (store.ErrBadRequest) into the
// page's notice and a 400, so the page still renders and says what was
// wrong; any other error is handed back for failPage.
func (s *Server) queryNotice(r *http.Request, m components.Meta, err error) (components.Meta, int, error) {
	if err == nil {
		return m, http.StatusOK, nil
	}
	if !errors.Is(err, store.ErrBadRequest) {
		return m, 0, err
	}
	s.logger(r).Info("request refused", "status", http.StatusBadRequest, "err", err)
	_, msg := httpStatus(err)
	m.Notice = "This page's address has a value it cannot use: " + msg
	return m, http.StatusBadRequest, nil
}

// viewerContext gives the layout who is looking.
func (s *Server) viewerContext(r *http.Request) context.Context {
	v := components.ViewerFrom(r.Context())
	if p := principalFrom(r.Context()); p != nil && !v.Shared {
		v.Name, v.Role, v.CSRF = p.Name, string(p.Role), p.CSRF
	}
	return components.WithViewer(r.Context(), v)
}

// renderError answers with an error page carrying msg.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, components.ErrorPage(s.meta(http.StatusText(code), ""), code, msg))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, components.ErrorPage(s.meta("Not found", ""), http.StatusNotFound,
		"There is nothing here."))
}
