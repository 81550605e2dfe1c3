package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// runUpload sends dumps to a server's POST /api/dumps and prints each
// report's URL; with a terminal on stderr it draws a progress bar. It
// fails when any upload fails.
func runUpload(args []string, stdout, stderr io.Writer, tty bool) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr("DUMPTRIAGE_SERVER", "http://127.0.0.1:8080"), "server URL ($DUMPTRIAGE_SERVER)")
	token := fs.String("token", os.Getenv("DUMPTRIAGE_TOKEN"), "API token with the upload scope ($DUMPTRIAGE_TOKEN)")
	unreal := fs.Bool("unreal", false, "each FILE is an Unreal crash report (.ue4crash), sent as CrashReportClient sends it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: dumptriage upload [--server URL] [--token T] [--unreal] FILE…")
	}
	if *unreal && *token == "" {
		return errors.New("--unreal needs --token: CrashReportClient sends it in the URL")
	}
	base, err := url.Parse(strings.TrimSuffix(*server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--server %q is not an http(s) URL", *server)
	}
	client := &http.Client{Transport: http.DefaultTransport} // no timeout: dumps may be gigabytes
	failed := 0
	for _, path := range fs.Args() {
		u, err := uploadOne(context.Background(), client, base, *token, path, *unreal, stderr, tty)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			continue
		}
		ref, _ := url.Parse(u.URL)
		fmt.Fprintf(stdout, "%s\t%s\n", base.ResolveReference(ref), path)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d uploads failed", failed, fs.NArg())
	}
	return nil
}

type uploadAnswer struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error"`
}

func uploadOne(ctx context.Context, client *http.Client, base *url.URL, token, path string, unreal bool, stderr io.Writer, tty bool) (uploadAnswer, error) {
	var ans uploadAnswer
	f, err := os.Open(path)
	if err != nil {
		return ans, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ans, err
	}
	if !st.Mode().IsRegular() {
		return ans, errors.New("not a regular file")
	}
	var body io.Reader = f
	var bar *progress
	if tty {
		bar = &progress{w: stderr, name: filepath.Base(path), total: st.Size(), start: time.Now()}
		body = io.TeeReader(f, bar)
		defer bar.done()
	}
	u := base.JoinPath("/api/dumps")
	u.RawQuery = url.Values{"name": {filepath.Base(path)}}.Encode()
	if unreal {
		// The DataRouterUrl endpoint, as CrashReportClient posts to it.
		u = base.JoinPath("/api/unreal", token, "/")
		u.RawQuery = url.Values{"AppID": {"CrashReporter"}, "UploadType": {"crashreports"}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return ans, err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(b, &ans); err != nil && resp.StatusCode < 300 {
		return ans, fmt.Errorf("the server answered %s with no JSON", resp.Status)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		msg := ans.Error
		if msg == "" {
			msg = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		return ans, fmt.Errorf("%s: %s", resp.Status, msg)
	}
	if ans.URL == "" {
		ans.URL = "/dumps/" + ans.ID
	}
	return ans, nil
}

// progress draws "name [=====     ] 45% 12.0 MiB/s" on one terminal line,
// at most ten times a second.
type progress struct {
	w     io.Writer
	name  string
	total int64
	sent  int64
	start time.Time
	last  time.Time
	mu    sync.Mutex
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += int64(len(b))
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || p.sent == p.total {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.sent) / float64(p.total)
	}
	n := int(frac * width)
	rate := float64(p.sent) / max(time.Since(p.start).Seconds(), 0.001) / (1 << 20)
	fmt.Fprintf(p.w, "\r%-24.24s [%s%s] %3.0f%% %6.1f MiB/s", p.name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, rate)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(p.w)
}

// isTerminal says whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
