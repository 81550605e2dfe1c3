package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// TestSlowBodyCutOff: an upload that stalls, or trickles in below the
// minimum rate, is answered and its connection closed, instead of holding
// a file descriptor for ever.
func TestSlowBodyCutOff(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	creds := seedUsers(t, st)
	auth := "Authorization: Bearer " + creds["member-upload"].token + "\r\n"
	srv := httptest.NewServer(New(st, Config{BodyIdleTimeout: 300 * time.Millisecond, BodyMinRate: 1 << 20}).Routes())
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		name  string
		every time.Duration // between bytes of the body after the first 8; 0 stalls
	}{
		{"stall", 0},
		{"trickle", 50 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /api/dumps HTTP/1.1\r\nHost: localhost\r\n%sContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nMDMP\x93\xa7\x00\x00", auth)
			start := time.Now()
			stop := make(chan struct{})
			defer close(stop)
			if tt.every > 0 {
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(tt.every):
							conn.Write([]byte{0})
						}
					}
				}()
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer after %s: %v", time.Since(start), err)
			}
			body, _ := io.ReadAll(resp.Body)
			took := time.Since(start)
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d, want 408: %s", resp.StatusCode, body)
			}
			if took > 3*time.Second {
				t.Errorf("cut off after %s", took)
			}
			if !strings.Contains(string(body), "stalled") {
				t.Errorf("body %s", body)
			}
		})
	}
	// A body that keeps the pace is not cut.
	req, _ := http.NewRequest("POST", srv.URL+"/api/dumps", strings.NewReader("MDMP\x93\xa7\x00\x00"+strings.Repeat("x", 64<<10)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+creds["member-upload"].token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("steady upload: %d", resp.StatusCode)
	}
}

func TestSearchTooLong(t *testing.T) {
	e := newEnv(t, store.Config{}, 0)
	long := strings.Repeat("a", 60000)
	for _, path := range []string{"/signatures?q=" + long, "/modules?q=" + long, "/signatures?q=" + long[:store.MaxSearchBytes]} {
		want := 400
		if len(path) < 2000 {
			want = 200
		}
		if resp, b := e.do("GET", path, nil); resp.StatusCode != want {
			t.Errorf("%s...: %d, want %d: %.200s", path[:20], resp.StatusCode, want, b)
		}
	}
}

// hugeReport is a report about as long as the analyzer's bounds allow.
func hugeReport() *report.Report {
	r := &report.Report{Status: "OK", AnalyzerVersion: "test", ThreadCount: 100000}
	frame := func(k int) report.Frame {
		return report.Frame{Frame: k, Trust: "scan", Offset: report.Addr(0x7ff600001000 + k), Module: "app.exe",
			Function: strings.Repeat("namespace::Class::", 6) + "function", File: `C:\src\very\long\path\to\file.cpp`, Line: 42}
	}
	for i := range 4096 {
		t := report.Thread{ThreadID: uint32(i), Registers: map[string]report.Addr{"rip": 1, "rsp": 2, "rbp": 3}}
		n := 1
		if i < 120 {
			n = 256
		}
		if i == 0 {
			n = 1024
		}
		for k := range n {
			t.Frames = append(t.Frames, frame(k))
		}
		t.FrameCount = n
		r.Threads = append(r.Threads, t)
	}
	r.CrashingThread = &report.CrashingThread{ThreadsIndex: 0, Frames: r.Threads[0].Frames, FrameCount: 1024}
	for i := range 8192 {
		r.Modules = append(r.Modules, report.Module{BaseAddr: report.Addr(i << 20), Filename: fmt.Sprintf("m%d.dll", i),
			Path: `C:\Windows\System32\` + strings.Repeat("x", 40)})
	}
	for i := range 20000 {
		r.Handles = append(r.Handles, report.Handle{Handle: uint64(i * 4), Type: "File", Name: `\Device\HarddiskVolume3\x`})
	}
	ms := &report.MemorySummary{Source: "MemoryInfoList", PointerSize: 8}
	for i := range 16384 {
		ms.Regions = append(ms.Regions, report.Region{Base: report.Addr(i << 16), End: report.Addr(i<<16 + 4096), Size: 4096,
			State: "MEM_COMMIT", Protect: "PAGE_READWRITE", Type: "MEM_PRIVATE", Usage: "Heap"})
	}
	r.MemorySummary = ms
	r.Truncated = []report.ListCut{{What: "threads", Count: 100000, Listed: 4096}}
	return r
}

// TestLongReportPage: the report page of the longest report the analyzer
// makes stays a few MB, shows a page of each list, and links the rest.
func TestLongReportPage(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, _, err := st.Index.AddDump(ctx, store.NewDump{SHA256: strings.Repeat("a", 64), Size: 1234, FileName: "huge.dmp"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := st.Queue.Claim(ctx, "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.NewAnalysis(hugeReport(), time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report JSON: %.1f MB", float64(len(a.Report))/1e6)
	if err := st.Queue.Finish(ctx, j, a, ""); err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{}).Routes())
	t.Cleanup(srv.Close)
	e := &pageEnv{t: t, st: st, srv: srv, creds: creds}
	for _, tt := range []struct {
		query   string
		counts  map[string]int
		texts   []string
		maxSize int
	}{
		{"", map[string]int{"thread": components.ThreadsPerPage, "crash-frame": 1024, "module-row": components.ModulesPerPage, "all-frames": components.ThreadsPerPage,
			"frame": components.ThreadsPerPage * components.FramesShown}, []string{"4,096 listed of 100,000", "page 1 of 82"}, 4 << 20},
		{"?threads=3", map[string]int{"thread": components.ThreadsPerPage, "frame": 20*components.FramesShown + 30}, []string{"page 3 of 82"}, 4 << 20},
		{"?threads=82", map[string]int{"thread": 4096 - 81*components.ThreadsPerPage, "frame": 4096 - 81*components.ThreadsPerPage}, nil, 4 << 20},
		{"?threads=999999", map[string]int{"thread": 4096 - 81*components.ThreadsPerPage}, []string{"page 82 of 82"}, 4 << 20},
		{"?thread=100", map[string]int{"focused-frame": 256}, nil, 4 << 20},
		{"?modules=17", map[string]int{"module-row": 8192 - 16*components.ModulesPerPage}, nil, 4 << 20},
		{"?handles=2", nil, []string{"page 2 of 40"}, 4 << 20},
		{"?regions=-5", nil, []string{"page 1 of 17"}, 4 << 20},
	} {
		start := time.Now()
		resp, b := e.get("/dumps/" + d.ID + tt.query)
		took := time.Since(start)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", tt.query, resp.StatusCode)
		}
		t.Logf("%q: %.2f MB in %s", tt.query, float64(len(b))/1e6, took.Round(time.Millisecond))
		if len(b) > tt.maxSize {
			t.Errorf("%q: page of %d bytes", tt.query, len(b))
		}
		page := doc(t, b)
		for id, want := range tt.counts {
			if got := page.Find(tid(id)).Length(); got != want {
				t.Errorf("%q: %d %s, want %d", tt.query, got, id, want)
			}
		}
		for _, s := range tt.texts {
			if !strings.Contains(page.Text(), s) {
				t.Errorf("%q: no %q", tt.query, s)
			}
		}
	}
}

// TestDecodeForPage: the entries the page shows decode as in full.
func TestDecodeForPage(t *testing.T) {
	full := hugeReport()
	js := full.AppendJSON(nil)
	var want report.Report
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	got, err := decodeForPage(js, components.Pages{Threads: 2, Handles: 3, Regions: 2, Thread: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Threads) != len(want.Threads) || len(got.Handles) != len(want.Handles) || len(got.MemorySummary.Regions) != len(want.MemorySummary.Regions) {
		t.Fatalf("lengths differ")
	}
	for _, i := range []int{0, 50, 99, 3000} {
		if !reflect.DeepEqual(got.Threads[i], want.Threads[i]) {
			t.Errorf("thread %d differs", i)
		}
	}
	if got.Threads[100].ThreadID != 0 || len(got.Threads[100].Frames) != 0 {
		t.Errorf("thread 100 is not on the page but was decoded")
	}
	if !reflect.DeepEqual(got.CrashingThread, want.CrashingThread) || !reflect.DeepEqual(got.Handles[1000:1500], want.Handles[1000:1500]) ||
		!reflect.DeepEqual(got.MemorySummary.Regions[1000:2000], want.MemorySummary.Regions[1000:2000]) || got.ThreadCount != 100000 {
		t.Errorf("crashing thread, handles or regions differ")
	}
}
