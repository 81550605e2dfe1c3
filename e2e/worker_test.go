package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func analyzedAt(t *testing.T, url, id string) string {
	resp, err := http.Get(url + "/api/dumps/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct {
		AnalyzedAt string `json:"analyzed_at"`
	}
	json.NewDecoder(resp.Body).Decode(&j)
	return j.AnalyzedAt
}

// TestWorkerAndReanalyze runs `serve --no-workers` with a separate
// `dumptriage worker` on the same data folder, then re-analyses with the
// `reanalyze` command.
func TestWorkerAndReanalyze(t *testing.T) {
	dumps := cornerDumps(t)[:2]
	data := t.TempDir()
	s := startServer(t, data, nil, "--no-workers")
	var ids []string
	for _, d := range dumps {
		u, err := upload(s.url, bytes.NewReader(d))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	time.Sleep(200 * time.Millisecond)
	if d := getDump(t, s.url, ids[0]); d.Status != "queued" {
		t.Fatalf("analysed without workers: %s", d.Status)
	}
	w := exec.Command(dtBinary(t), "worker", "--data", data, "--workers", "1")
	var wlog bytes.Buffer
	w.Stderr = &syncWriter{w: &wlog}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Kill(); w.Wait() }()
	for _, id := range ids {
		waitFor(t, "worker process analysis", 20*time.Second, func() bool { return getDump(t, s.url, id).Status == "done" })
	}
	before := analyzedAt(t, s.url, ids[0])
	time.Sleep(5 * time.Millisecond)

	out, err := exec.Command(dtBinary(t), "reanalyze", "--data", data, ids[0]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queued 1 dumps") {
		t.Fatalf("reanalyze: %v %s", err, out)
	}
	waitFor(t, "re-analysis", 20*time.Second, func() bool {
		return getDump(t, s.url, ids[0]).Status == "done" && analyzedAt(t, s.url, ids[0]) != before
	})
	out, err = exec.Command(dtBinary(t), "reanalyze", "--data", data, "--outdated").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queued 0 dumps") {
		t.Fatalf("reanalyze --outdated: %v %s", err, out)
	}
	out, err = exec.Command(dtBinary(t), "reanalyze", "--data", data, "nosuchid").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not found") {
		t.Fatalf("reanalyze of unknown id: %v %s", err, out)
	}
	if t.Failed() {
		t.Logf("worker log:\n%s", wlog.String())
	}
}
