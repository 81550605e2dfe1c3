package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

// receiver is a loopback webhook endpoint that fails its first fails
// requests with 503.
type receiver struct {
	mu     sync.Mutex
	fails  int
	status int // after the failures; default 200
	bodies []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, string(b))
	if len(rc.bodies) <= rc.fails {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if rc.status != 0 {
		w.WriteHeader(rc.status)
	}
}

func fakeDump(seed byte) []byte {
	b := bytes.Repeat([]byte{seed}, 4000)
	copy(b, "MDMP\x93\xa7\x00\x00")
	return b
}

func fakeAnalyzer(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
	return &report.Report{Status: "OK", AnalyzerVersion: "test", Signature: "crash", Dump: report.DumpInfo{SHA256: sha, Size: size}}, nil
}

func TestDispatcherRetriesAndLogs(t *testing.T) {
	for _, tt := range []struct {
		name     string
		rc       *receiver
		format   string
		state    string
		attempts int
		want     string // in every body
	}{
		{"slack after two failures", &receiver{fails: 2}, "slack", "sent", 3, `{"text":"*New crash*: \u003chttp://dt.example/signatures/`},
		{"json first time", &receiver{}, "json", "sent", 1, `"event":"new"`},
		{"gone receiver gives up at once", &receiver{status: 410}, "json", "failed", 1, `"signature":"crash"`},
		{"always failing gives up after MaxAttempts", &receiver{fails: 100}, "json", "failed", 4, `"dump_url":"http://dt.example/dumps/`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.rc)
			defer srv.Close()
			ctx := context.Background()
			st, err := store.Open(ctx, t.TempDir(), store.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			hook, err := store.NewWebhook(srv.URL+"/hook", tt.format, "new", 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.AddWebhook(ctx, hook); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(1)), store.Upload{}); err != nil {
				t.Fatal(err)
			}
			runAnalysis(t, st)
			now := time.Now()
			d := &Dispatcher{Outbox: st.Index.(Outbox), PublicURL: "http://dt.example", MaxAttempts: 4,
				Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }, Now: func() time.Time { return now }}
			for range 10 {
				if _, err := d.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				now = now.Add(time.Hour)
			}
			ds, err := st.RecentDeliveries(ctx, 10)
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries %+v %v", ds, err)
			}
			dl := ds[0]
			if dl.State != tt.state || dl.Attempts != tt.attempts || len(dl.Log) != tt.attempts || len(tt.rc.bodies) != tt.attempts {
				t.Fatalf("state %s, %d attempts, %d logged, %d received; want %s, %d", dl.State, dl.Attempts, len(dl.Log),
					len(tt.rc.bodies), tt.state, tt.attempts)
			}
			for i, a := range dl.Log {
				if (a.StatusCode == 200) != (tt.state == "sent" && i == len(dl.Log)-1) {
					t.Errorf("attempt %d: %+v", i, a)
				}
			}
			for _, b := range tt.rc.bodies {
				if !strings.Contains(b, tt.want) || !json.Valid([]byte(b)) {
					t.Errorf("body %s lacks %s", b, tt.want)
				}
			}
		})
	}
}

func runAnalysis(t *testing.T, st *store.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		st.RunWorkers(ctx, store.WorkerConfig{Workers: 1, Poll: 10 * time.Millisecond}, fakeAnalyzer)
		close(done)
	}()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if n, _ := st.Queue.Pending(context.Background()); n == 0 {
			break
		}
	}
	cancel()
	<-done
}

func TestSlackEscape(t *testing.T) {
	b, _ := Payload(store.FormatSlack, store.Alert{Kind: store.AlertRegression, Signature: "a<b>&c", Version: "2",
		Detail: "marked fixed in 1"}, "http://x")
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || !strings.Contains(m["text"], "a&lt;b&gt;&amp;c") || !strings.HasPrefix(m["text"], "*Regression*") {
		t.Fatalf("%s %v", b, err)
	}
}
