package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Defaults for Config.BodyIdleTimeout and BodyMinRate.
const (
	DefaultBodyIdleTimeout = 30 * time.Second
	DefaultBodyMinRate     = 4 << 10 // bytes per second, on average after the first idle timeout
)

// errSlowBody means a request body stalled or came in slower than the
// minimum rate; the connection is dropped rather than held open.
var errSlowBody = errors.New("the request body stalled")

// slowBodies cuts off request bodies that stall or trickle. The server has
// no ReadTimeout (uploads of many GB take as long as they take), so each
// read of the body gets a deadline instead: no later than the idle timeout
// from now, and no later than the time by which the bytes received so far
// should have come at the minimum rate (after one idle timeout's grace). A client
// that sends nothing, or a byte every few seconds, cannot hold a
// connection and its file descriptor for ever.
func (s *Server) slowBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{rc: r.Body, ctl: http.NewResponseController(w), start: time.Now(),
				idle: s.cfg.BodyIdleTimeout, rate: s.cfg.BodyMinRate}
		}
		next.ServeHTTP(w, r)
	})
}

type deadlineBody struct {
	rc    io.ReadCloser
	ctl   *http.ResponseController
	start time.Time
	idle  time.Duration
	rate  int64
	n     int64
	// set is the deadline last set; it is moved only when it gets near, so
	// that small reads do not each reset a timer.
	set time.Time
	err error
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	now := time.Now()
	due := now.Add(b.idle)
	if b.rate > 0 {
		if byRate := b.start.Add(b.idle + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second))); byRate.Before(due) {
			due = byRate
		}
	}
	if !due.After(now) {
		b.err = fmt.Errorf("%w: %d bytes in %s, less than %d bytes/s", errSlowBody, b.n, now.Sub(b.start).Round(time.Second), b.rate)
		return 0, b.err
	}
	if b.set.IsZero() || due.Before(b.set) || due.Sub(b.set) > b.idle/8 {
		if err := b.ctl.SetReadDeadline(due); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
		b.set = due
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.err = fmt.Errorf("%w after %d bytes (idle timeout %s, minimum %d bytes/s)", errSlowBody, b.n, b.idle, b.rate)
		return n, b.err
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.rc.Close() }
