// Package e2e tests the dumptriage binary as users run it: built, started as
// a child process, and spoken to over HTTP.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func sharedTestdata(t testing.TB) string { return testdata.Dir(t) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dtBinary builds cmd/dumptriage once per test run.
func dtBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dt-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dumptriage")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/dumptriage")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running `dumptriage serve`.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	url  string
	log  *bytes.Buffer
	done chan struct{}
}

// tokens holds the API token of each server's data folder by its address;
// authTransport sends it, so the tests speak to servers as an admin's
// upload+read token does.
var (
	tokensMu sync.Mutex
	tokens   = map[string]string{}
)

type authTransport struct{}

func (authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tokensMu.Lock()
	tok := tokens[r.URL.Host]
	tokensMu.Unlock()
	if tok != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func init() { http.DefaultClient.Transport = authTransport{} }

// adminToken makes sure the data folder has an admin (through the CLI, as
// users do) and returns a new upload+read token of theirs.
func adminToken(t testing.TB, data string) string {
	t.Helper()
	add := exec.Command(dtBinary(t), "user", "add", "e2e-admin", "--role", "admin", "--data", data)
	add.Stdin = strings.NewReader("e2e-password-1\n")
	add.CombinedOutput() // fails once the user exists: a restart on the same data
	out, err := exec.Command(dtBinary(t), "token", "create", "--user", "e2e-admin", "--scope", "upload,read", "--data", data).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func startServer(t testing.TB, data string, env []string, args ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	tok := adminToken(t, data)
	tokensMu.Lock()
	tokens[addr] = tok
	tokensMu.Unlock()
	s := &server{t: t, addr: addr, url: "http://" + addr, log: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(dtBinary(t), append([]string{"serve", "--addr", addr, "--data", data}, args...)...)
	// Per-user upload limits are tested in web; here one token sends bursts.
	s.cmd.Env = append(append(os.Environ(), "DUMPTRIAGE_UPLOAD_RATE=0", "DUMPTRIAGE_UPLOAD_QUOTA=0"), env...)
	s.cmd.Stderr = &syncWriter{w: s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.kill() })
	for range 200 {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("server exited at start:\n%s", s.log)
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", s.log)
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

type uploadResult struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	URL       string `json:"url"`
	Duplicate bool   `json:"duplicate"`
}

func upload(url string, body io.Reader) (uploadResult, error) {
	var u uploadResult
	resp, err := http.Post(url+"/api/dumps", "application/octet-stream", body)
	if err != nil {
		return u, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return u, fmt.Errorf("upload: %d %s", resp.StatusCode, b)
	}
	return u, json.Unmarshal(b, &u)
}

type dumpStatus struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Error  *string         `json:"error"`
	SHA256 string          `json:"sha256"`
	Report json.RawMessage `json:"report"`
}

func getDump(t testing.TB, url, id string) dumpStatus {
	t.Helper()
	resp, err := http.Get(url + "/api/dumps/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d dumpStatus
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET dump %s: %d %s", id, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitFor polls until cond holds.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dirEntries(t testing.TB, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func cornerDumps(t testing.TB) [][]byte {
	root := sharedTestdata(t)
	paths, _ := filepath.Glob(filepath.Join(root, "wine", "dumps", "*", "*_x64_*_normal.dmp"))
	var out [][]byte
	for _, p := range paths {
		if strings.Contains(p, "newthread") || strings.Contains(p, "stack_overflow") {
			continue // keep the test small
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		t.Fatal("no wine dumps under " + root)
	}
	return out
}
