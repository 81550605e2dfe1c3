package symstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrUnavailable is returned (wrapped) when a server failed as a whole: no
// connection, a timeout, or an answer that says it is overloaded or down.
var ErrUnavailable = errors.New("server unavailable")

// ErrRefused is returned (wrapped) when a server's answer would lead us
// where it may not: a redirect or file.ptr to an internal address, or a
// file.ptr naming a local or UNC path.
var ErrRefused = errors.New("refused")

// Bounds of what a server may send.
const (
	// imageSlack is what an image file may hold beyond twice its
	// SizeOfImage (certificates, debug data, overlays).
	imageSlack = 16 << 20
	// maxPtrBytes bounds a file.ptr: one line naming a path.
	maxPtrBytes = 4096
	// maxRedirects bounds the redirects of one request.
	maxRedirects = 5
	// defaultDownTTL is how long a failed server is skipped.
	defaultDownTTL = time.Minute
)

type downMark struct {
	until time.Time
	why   string
}

func (s *Store) isDown(base string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.down[base]
	if !ok {
		return "", false
	}
	if !s.clock().Before(m.until) {
		delete(s.down, base)
		return "", false
	}
	return m.why, true
}

func (s *Store) setDown(base string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down == nil {
		s.down = map[string]downMark{}
	}
	if len(s.down) >= maxNegative {
		clear(s.down)
	}
	ttl := s.DownTTL
	if ttl <= 0 {
		ttl = defaultDownTTL
	}
	now := s.clock()
	s.down[base] = downMark{until: now.Add(ttl),
		why: fmt.Sprintf("the server failed at %s (%v); asked again after %s", now.UTC().Format("15:04:05"), err, ttl)}
}

// unavailable marks transport errors and timeouts as the server's failure.
func unavailable(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// request sends GET u; cancel ends the request once its body is read.
// Timeout bounds the wait for the answer's headers; the context (or
// DefaultTimeout) bounds the whole.
func (s *Store) request(ctx context.Context, u, base string, redirected bool) (*http.Response, context.CancelFunc, error) {
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
	}
	wait := s.Timeout
	if wait <= 0 {
		wait = DefaultAnswerTimeout
	}
	var late atomic.Bool
	timer := time.AfterFunc(wait, func() { late.Store(true); cancel() })
	bu, err := url.Parse(base)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, nil, err
	}
	pol := &netPolicy{origin: strings.ToLower(bu.Host)}
	pol.redirected.Store(redirected)
	ctx = context.WithValue(ctx, policyKey{}, pol)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, nil, err
	}
	ua := s.UserAgent
	if ua == "" {
		ua = "Microsoft-Symbol-Server/10.0.0.0"
	}
	req.Header.Set("User-Agent", ua)
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if !timer.Stop() && late.Load() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, nil, fmt.Errorf("no answer within %s: %w", wait, ErrUnavailable)
	}
	if err != nil {
		cancel()
		if errors.Is(err, ErrRefused) {
			return nil, nil, err
		}
		return nil, nil, unavailable(err)
	}
	return resp, cancel, nil
}

// status turns a non-200 answer into an error; 404s are remembered.
func (s *Store) status(resp *http.Response, u string) error {
	switch c := resp.StatusCode; {
	case c == http.StatusOK:
		return nil
	case c == http.StatusNotFound || c == http.StatusGone:
		s.setNegative(u)
		return fmt.Errorf("HTTP %d: %w", c, ErrNotFound)
	case c == http.StatusTooManyRequests || c == http.StatusBadGateway || c == http.StatusServiceUnavailable ||
		c == http.StatusGatewayTimeout:
		return fmt.Errorf("HTTP %s: %w", resp.Status, ErrUnavailable)
	}
	return fmt.Errorf("HTTP %s", resp.Status)
}

// limit is the most a server may send for k.
func (s *Store) limit(k Key) int64 {
	limit := s.MaxDownload
	if limit <= 0 {
		limit = DefaultMaxDownload
	}
	if k.SizeOfImage > 0 {
		limit = min(limit, 2*int64(k.SizeOfImage)+imageSlack)
	}
	return limit
}

// judge accepts a downloaded file only if it is what was asked for.
func (s *Store) judge(path string, k Key) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if bytes.Equal(head[:n], []byte("MSCF")) {
		// SymSrv's compressed form (a cabinet, as name.pd_ would be).
		return errors.New("a CAB-compressed file, which is not supported: not used")
	}
	if s.VerifyDownload != nil {
		if err := s.VerifyDownload(path, k); err != nil {
			return fmt.Errorf("not the file asked for (%v): not used", err)
		}
	}
	return nil
}

// followPtr reads a SymSrv file.ptr ("PATH:<where>" or "MSG:<text>") and
// fetches the file it names, if that is an http(s) URL. A server may not
// make us read a local or UNC path.
func (s *Store) followPtr(ctx context.Context, u, base, cache string, k Key, res *Result) (string, error) {
	if why, ok := s.negWhy(u); ok {
		return "", remembered(u, why, res)
	}
	target, err := s.readPtr(ctx, u, base)
	if err != nil {
		res.Tried = append(res.Tried, Attempt{u, err.Error()})
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			s.setDown(base, err)
		}
		return "", err
	}
	return s.get(ctx, target, base, cache, k, true, res)
}

func (s *Store) readPtr(ctx context.Context, u, base string) (string, error) {
	resp, cancel, err := s.request(ctx, u, base, false)
	if err != nil {
		return "", err
	}
	defer cancel()
	defer resp.Body.Close()
	if err := s.status(resp, u); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPtrBytes+1))
	if err != nil {
		return "", fmt.Errorf("file.ptr: %w", err)
	}
	if len(b) > maxPtrBytes {
		err := fmt.Errorf("file.ptr over %d bytes: not used", maxPtrBytes)
		s.setRejected(u, err.Error())
		return "", err
	}
	target, err := parsePtr(string(b))
	if err != nil {
		s.setRejected(u, err.Error())
	}
	return target, err
}

// parsePtr reads a file.ptr: "PATH:<where>" gives the file's address, which
// must be an http(s) URL; "MSG:<text>" says why there is none.
func parsePtr(content string) (string, error) {
	line := strings.TrimSpace(content)
	switch {
	case strings.HasPrefix(line, "MSG:"):
		return "", fmt.Errorf("file.ptr says %q", clip(strings.TrimSpace(line[4:])))
	case strings.HasPrefix(line, "PATH:"):
		target := strings.TrimSpace(line[5:])
		if !isURL(target) || checkURL(target) != nil || strings.ContainsAny(target, "\r\n") {
			return "", fmt.Errorf("file.ptr names %q, not an http(s) URL: %w", clip(target), ErrRefused)
		}
		return target, nil
	}
	return "", fmt.Errorf("file.ptr is neither PATH: nor MSG: (%q)", clip(line))
}

// remembered records a remembered answer as an attempt and returns its
// error: ErrNotFound for a 404, else why it was not used.
func remembered(u, why string, res *Result) error {
	if why == "" {
		res.Tried = append(res.Tried, Attempt{u, "not found (remembered)"})
		return ErrNotFound
	}
	res.Tried = append(res.Tried, Attempt{u, why + " (remembered)"})
	return errors.New(why)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// netPolicy travels with a request: a redirect, or a file.ptr, may not
// lead to a loopback, private or link-local address unless the upstream
// the administrator chose is itself on one.
type netPolicy struct {
	origin     string // the upstream's host:port as written
	redirected atomic.Bool
}

type policyKey struct{}

// internalHosts remembers, per upstream host, whether it was reached on an
// internal address (learned when it is dialed).
var internalHosts sync.Map

// isInternal is internal, replaced by a test that plays a public server on
// the loopback network.
var isInternal = internal

func internal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

func dialControl(ctx context.Context, network, address string, _ syscall.RawConn) error {
	pol, _ := ctx.Value(policyKey{}).(*netPolicy)
	if pol == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrRefused)
	}
	in := isInternal(ap.Addr())
	if !pol.redirected.Load() {
		internalHosts.Store(pol.origin, in)
		return nil
	}
	if v, _ := internalHosts.Load(pol.origin); in && v != true {
		return fmt.Errorf("a redirect from %s leads to the internal address %s: %w", pol.origin, ap.Addr(), ErrRefused)
	}
	return nil
}

// defaultClient fetches from symbol servers: bounded redirects, http(s)
// only, and the netPolicy checked on every connection it opens.
var defaultClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second, ControlContext: dialControl}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects: %w", maxRedirects, ErrRefused)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("a redirect to %s: %w", req.URL.Scheme, ErrRefused)
		}
		if pol, _ := req.Context().Value(policyKey{}).(*netPolicy); pol != nil && !strings.EqualFold(req.URL.Host, pol.origin) {
			pol.redirected.Store(true)
		}
		return nil
	},
}
