package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func listByStatus(t testing.TB, url, status string) []dumpStatus {
	t.Helper()
	resp, err := http.Get(url + "/api/dumps?limit=500&status=" + status)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct{ Dumps []dumpStatus }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l.Dumps
}

// TestKill9 kills `serve` with SIGKILL mid-upload, right after
// acknowledgements and mid-analysis, twice, and checks on restart that
// every acknowledged dump is there and gets analysed, and that no partial
// file survives.
func TestKill9(t *testing.T) {
	dumps := cornerDumps(t)
	data := t.TempDir()
	tmpDir := filepath.Join(data, "tmp")
	slow := []string{"DUMPTRIAGE_TEST_ANALYSIS_DELAY=1500ms", "DUMPTRIAGE_WORKERS=1"}

	var mu sync.Mutex
	acked := map[string]string{} // id -> sha256 of the uploaded bytes
	ack := func(u uploadResult, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		acked[u.ID] = hexSum(body)
	}

	// Round 1.
	s := startServer(t, data, slow)
	for _, d := range dumps[:3] {
		u, err := upload(s.url, bytes.NewReader(d))
		if err != nil {
			t.Fatal(err)
		}
		ack(u, d)
	}
	// An upload stalled halfway: the server has a partial file.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tokensMu.Lock()
	tok := tokens[s.addr]
	tokensMu.Unlock()
	fmt.Fprintf(conn, "POST /api/dumps HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", s.addr, tok, 8<<20)
	conn.Write(dumps[0])
	conn.Write(make([]byte, 2<<20))
	waitFor(t, "a partial upload file", 5*time.Second, func() bool { return len(dirEntries(t, tmpDir)) > 0 })
	// Uploads in flight while the process dies.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				body := append(bytes.Clone(dumps[(g+n)%len(dumps)]), binary.LittleEndian.AppendUint64([]byte{byte(g)}, uint64(n))...)
				if u, err := upload(s.url, bytes.NewReader(body)); err == nil {
					ack(u, body)
				}
			}
		})
	}
	waitFor(t, "an analysis to start", 5*time.Second, func() bool { return len(listByStatus(t, s.url, "analyzing")) > 0 })
	waitFor(t, "more uploads", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 15 })
	s.kill()
	close(stop)
	wg.Wait()
	if len(dirEntries(t, tmpDir)) == 0 {
		t.Fatal("expected a partial file left by the kill")
	}

	// Round 2: the interrupted analysis resumes at once; kill it again.
	s = startServer(t, data, slow)
	if left := dirEntries(t, tmpDir); len(left) != 0 {
		t.Fatalf("partial files not removed at restart: %v", left)
	}
	waitFor(t, "the analysis to resume", 5*time.Second, func() bool { return len(listByStatus(t, s.url, "analyzing")) > 0 })
	s.kill()

	// Round 3: everything acknowledged is analysed and intact.
	s = startServer(t, data, nil)
	for id, sum := range acked {
		var d dumpStatus
		waitFor(t, "dump "+id+" analysed", 20*time.Second, func() bool {
			d = getDump(t, s.url, id)
			return d.Status == "done" || d.Status == "failed"
		})
		if d.Status != "done" || d.SHA256 != sum || len(d.Report) < 100 {
			t.Errorf("dump %s: status %s error %v sha %s (want %s)", id, d.Status, d.Error, d.SHA256, sum)
		}
	}
	// Every stored file is complete: its name is its content's hash.
	files, _ := filepath.Glob(filepath.Join(data, "dumps", "*", "*.dmp"))
	if len(files) < len(acked) {
		t.Errorf("%d files for %d acknowledged dumps", len(files), len(acked))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".dmp"); hexSum(b) != want {
			t.Errorf("%s: content hash %s", f, hexSum(b))
		}
	}
	for id := range acked {
		resp, err := http.Get(s.url + "/api/dumps/" + id + "/file")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if hexSum(b) != acked[id] {
			t.Errorf("download of %s differs", id)
		}
		break
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.log)
	}
	t.Logf("%d uploads acknowledged across the kills", len(acked))
}
