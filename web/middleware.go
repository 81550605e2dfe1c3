package web

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

// The request-id and client-IP middlewares are ours rather than
// chi/middleware's: that package imports net/http/pprof and expvar, and it
// and they do work at start-up in every command of the binary (hostname and
// random reads, handler and variable registration), analyze included.

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientIPKey
)

// requestIDPrefix tells this process's request ids from another's.
var requestIDPrefix = sync.OnceValue(func() string {
	var b [5]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
})

var requestSeq atomic.Uint64

// requestID gives every request an id: the client's X-Request-Id when it
// sent a short one, else prefix-sequence. Logs and error bodies carry it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = requestIDPrefix() + "-" + strconv.FormatUint(requestSeq.Add(1), 10)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// clientIP records the peer's address. Forwarding headers are not trusted:
// anyone can send them.
func clientIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			ip = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey, ip)))
	})
}

func clientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)
	return ip
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps sendfile for dump downloads.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type loggerKey struct{}

// logger returns the request's logger, which carries the request id.
func (s *Server) logger(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		log := s.log.With("req", requestIDFrom(r.Context()))
		ww := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), loggerKey{}, log)))
		if ww.status == 0 {
			ww.status = http.StatusOK // what net/http sends for an empty response
		}
		log.Info("request", "method", r.Method, "path", logPath(r), "status", ww.status, "bytes", ww.bytes,
			"took", time.Since(start), "ip", clientIPFrom(r.Context()))
	})
}

// logPath is the request's path for the log, without the secrets some
// paths carry: an upload key (Sentry's Unreal endpoint, a
// CrashReportClient DataRouterUrl) and a share link's token.
func logPath(r *http.Request) string {
	p := r.URL.Path
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return p
	}
	for i, k := range rc.URLParams.Keys {
		if (k == "key" || k == "token") && i < len(rc.URLParams.Values) && rc.URLParams.Values[i] != "" {
			p = strings.Replace(p, rc.URLParams.Values[i], "{"+k+"}", 1)
		}
	}
	return p
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger(r).Error("handler panic", "panic", p, "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error",
				RequestID: requestIDFrom(r.Context())})
		}()
		next.ServeHTTP(w, r)
	})
}
