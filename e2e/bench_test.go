package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procKB reads a VmXXX line of /proc/pid/status, in kB.
func procKB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkUpload4GB uploads a 4 GiB sparse full dump (make_bigdump.py)
// over loopback to `serve --no-workers` and reports MB/s and the server's
// peak RSS growth. Goal: >= 300 MB/s, < 50 MB.
func BenchmarkUpload4GB(b *testing.B) {
	tool := filepath.Join(repoRoot(b), "..", "shared", "tools", "make_bigdump.py")
	if _, err := os.Stat(tool); err != nil {
		b.Skip("no make_bigdump.py")
	}
	dir := b.TempDir()
	big := filepath.Join(dir, "big4.dmp")
	if out, err := exec.Command("python3", tool, big, "4").CombinedOutput(); err != nil {
		b.Fatalf("make_bigdump: %v %s", err, out)
	}
	st, _ := os.Stat(big)
	s := startServer(b, filepath.Join(dir, "data"), nil, "--no-workers")
	// Warm up the handler path, then take the baseline.
	if _, err := upload(s.url, bytes.NewReader(append([]byte("MDMP"), make([]byte, 100)...))); err != nil {
		b.Fatal(err)
	}
	pid := s.cmd.Process.Pid
	base := procKB(pid, "VmRSS")
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		// The file itself as the body lets the client use sendfile. Rounds
		// after the first are duplicates, which stream and hash the same.
		f, err := os.Open(big)
		if err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest("POST", s.url+"/api/dumps", f)
		req.ContentLength = st.Size()
		resp, err := http.DefaultClient.Do(req)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	secs := time.Since(start).Seconds()
	b.StopTimer()
	peak := procKB(pid, "VmHWM")
	b.SetBytes(st.Size())
	b.ReportMetric(float64(st.Size()*int64(b.N))/secs/1e6, "MB/s")
	b.ReportMetric(float64(peak-base)/1024, "MB-rss-growth")
}

// BenchmarkConcurrentUploads sends 100 small dumps at once to the binary;
// every one must be stored.
func BenchmarkConcurrentUploads(b *testing.B) {
	dumps := cornerDumps(b)
	s := startServer(b, b.TempDir(), nil, "--no-workers")
	b.ResetTimer()
	for i := range b.N {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for k := range 100 {
			wg.Go(func() {
				body := append(bytes.Clone(dumps[k%len(dumps)]), binary.LittleEndian.AppendUint64(nil, uint64(i*1000+k))...)
				if _, err := upload(s.url, bytes.NewReader(body)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Error(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "uploads/s")
}

// corpus lists every .dmp of the shared test data.
func corpus(b *testing.B) [][]byte {
	root := sharedTestdata(b)
	var out [][]byte
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, ".dmp") {
			if data, err := os.ReadFile(p); err == nil {
				out = append(out, data)
			}
		}
		return nil
	})
	return out
}

// BenchmarkCorpusEndToEnd uploads the shared corpus (each round with a
// distinct tail, so nothing is a duplicate) with 8 clients and waits until
// every dump's analysis is stored. Goal: >= 100 dumps/s on 2 cores.
func BenchmarkCorpusEndToEnd(b *testing.B) {
	dumps := corpus(b)
	s := startServer(b, b.TempDir(), nil)
	cpu0 := procCPU(s.cmd.Process.Pid)
	b.ResetTimer()
	total := 0
	for i := range b.N {
		jobs := make(chan []byte)
		var mu sync.Mutex
		var ids []string
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for body := range jobs {
					u, err := upload(s.url, bytes.NewReader(body))
					if err != nil {
						continue // malformed files are refused at upload
					}
					mu.Lock()
					ids = append(ids, u.ID)
					mu.Unlock()
				}
			})
		}
		for _, d := range dumps {
			jobs <- append(bytes.Clone(d), binary.LittleEndian.AppendUint64(nil, uint64(i+1))...)
		}
		close(jobs)
		wg.Wait()
		for len(listByStatus(b, s.url, "queued&limit=1"))+len(listByStatus(b, s.url, "analyzing&limit=1")) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		total += len(dumps)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "dumps/s")
	// CPU per dump tells the server's cost apart from the machine's load.
	b.ReportMetric((procCPU(s.cmd.Process.Pid)-cpu0).Seconds()*1000/float64(total), "server-cpu-ms/dump")
}

// procCPU is a process's user+system time, from /proc/pid/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
