package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/klauspost/compress/gzip"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

func fakeDump(seed uint64, size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, "MDMP")
	binary.LittleEndian.PutUint32(b[4:], 0xa793)
	return b
}

func fakeAnalyze(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
	var head [4]byte
	r.ReadAt(head[:], 0)
	return &report.Report{Status: "OK", AnalyzerVersion: "test", ThreadCount: 3,
		CrashInfo: report.CrashInfo{Type: "EXCEPTION_STACK_OVERFLOW"}, Dump: report.DumpInfo{SHA256: sha, Size: size},
		Process: report.ProcessInfo{Name: string(head[:])}}, nil
}

type env struct {
	t     *testing.T
	st    *store.Store
	srv   *httptest.Server
	creds testCreds
	as    cred // who do sends requests as; admin by default
}

// newEnv starts the API over a fresh store with workers running the fake analyzer.
func newEnv(t *testing.T, cfg store.Config, maxUpload int64) *env {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{MaxUploadBytes: maxUpload, AnalyzerVersion: "test"}).Routes())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunWorkers(ctx, store.WorkerConfig{Workers: 2, Poll: 20 * time.Millisecond}, fakeAnalyze)
	})
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return &env{t: t, st: st, srv: srv, creds: creds, as: creds["admin"]}
}

func (e *env) do(method, path string, body io.Reader, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	header = append(e.as.headers(), header...)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) upload(body []byte) uploadResponse {
	e.t.Helper()
	resp, b := e.do("POST", "/api/dumps", bytes.NewReader(body), "Content-Type", "application/octet-stream")
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var u uploadResponse
	json.Unmarshal(b, &u)
	return u
}

// wait polls GET /api/dumps/{id} until the analysis ends.
func (e *env) wait(id string) map[string]any {
	e.t.Helper()
	for range 500 {
		_, b := e.do("GET", "/api/dumps/"+id, nil)
		var j map[string]any
		json.Unmarshal(b, &j)
		if j["status"] == "done" || j["status"] == "failed" {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("dump %s not analysed", id)
	return nil
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func multipartBody(field, name string, data []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("comment", "first a text field")
	w, _ := mw.CreateFormFile(field, name)
	w.Write(data)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestUpload(t *testing.T) {
	dump := fakeDump(1, 10000)
	mp, mpType := multipartBody("file", `C:\crashes\app.dmp`, dump)
	mpWrong, mpWrongType := multipartBody("upload", "app.dmp", dump)
	tests := []struct {
		name     string
		body     io.Reader
		header   []string
		code     int
		errorHas string
	}{
		{"raw", bytes.NewReader(dump), []string{"Content-Type", "application/octet-stream"}, 201, ""},
		{"multipart", mp, []string{"Content-Type", mpType}, 201, ""},
		{"gzip", bytes.NewReader(gz(dump)), nil, 201, ""},
		{"not a dump", strings.NewReader("<html>hello</html>"), nil, 422, "MDMP signature"},
		{"empty", strings.NewReader(""), nil, 422, "empty"},
		{"no file field", mpWrong, []string{"Content-Type", mpWrongType}, 400, `no multipart field named "file"`},
		{"too large", bytes.NewReader(fakeDump(2, 70000)), nil, 413, "64KB limit"},
		{"too large unknown length", io.MultiReader(bytes.NewReader(fakeDump(2, 70000))), nil, 413, "64KB limit"},
		{"gzip bomb", bytes.NewReader(gz(append([]byte("MDMP"), make([]byte, 300000)...))), nil, 413, "larger than the 128KB limit"},
	}
	e := newEnv(t, store.Config{MaxDumpBytes: 128 << 10}, 64<<10)
	first := ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do("POST", "/api/dumps", tt.body, tt.header...)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.code, b)
			}
			if tt.code != 201 {
				var eb errorBody
				if err := json.Unmarshal(b, &eb); err != nil || !strings.Contains(eb.Error, tt.errorHas) || eb.RequestID == "" {
					t.Fatalf("error body %s", b)
				}
				return
			}
			var u uploadResponse
			json.Unmarshal(b, &u)
			if first == "" {
				first = u.ID
			}
			if u.ID != first || u.Duplicate != (u.ID != "" && tt.name != "raw") || u.URL != "/dumps/"+first {
				t.Fatalf("response %+v (first %s)", u, first)
			}
		})
	}
}

func TestDumpLifecycle(t *testing.T) {
	e := newEnv(t, store.Config{MaxTotalBytes: 15000}, 0)
	dump := fakeDump(3, 10000)
	mp, mpType := multipartBody("file", "crash.dmp", dump)
	resp, b := e.do("POST", "/api/dumps", mp, "Content-Type", mpType)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var u uploadResponse
	json.Unmarshal(b, &u)
	if u.Status != store.StatusQueued || u.Duplicate || len(u.ID) != 12 {
		t.Fatalf("%+v", u)
	}
	j := e.wait(u.ID)
	rep, _ := j["report"].(map[string]any)
	if j["status"] != "done" || j["error"] != nil || rep["thread_count"] != 3.0 || j["file_name"] != "crash.dmp" {
		t.Fatalf("%v", j)
	}

	// Download, whole and a range.
	resp, b = e.do("GET", "/api/dumps/"+u.ID+"/file", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, dump) || !strings.Contains(resp.Header.Get("Content-Disposition"), "crash.dmp") {
		t.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, len(b), resp.Header)
	}
	resp, b = e.do("GET", "/api/dumps/"+u.ID+"/file", nil, "Range", "bytes=0-3")
	if resp.StatusCode != 206 || string(b) != "MDMP" {
		t.Fatalf("range: %d %q", resp.StatusCode, b)
	}

	// The page shows status and crash type.
	resp, b = e.do("GET", "/dumps/"+u.ID, nil)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode, err)
	}
	if s := doc.Find(`[data-testid="dump-status"]`).Text(); s != "done" {
		t.Errorf("page status %q", s)
	}
	if s := doc.Find(`[data-testid="crash-type"]`).Text(); s != "EXCEPTION_STACK_OVERFLOW" {
		t.Errorf("page crash type %q", s)
	}

	// Re-analysis, one and all.
	resp, b = e.do("POST", "/api/dumps/"+u.ID+"/reanalyze", nil)
	if resp.StatusCode != 202 {
		t.Fatalf("reanalyze: %d %s", resp.StatusCode, b)
	}
	e.wait(u.ID)
	resp, b = e.do("POST", "/api/reanalyze", nil)
	if resp.StatusCode != 202 || string(b) != "{\"queued\":1}\n" {
		t.Fatalf("reanalyze all: %d %s", resp.StatusCode, b)
	}
	e.wait(u.ID)
	if _, b = e.do("POST", "/api/reanalyze?outdated=1", nil); string(b) != "{\"queued\":0}\n" {
		t.Fatalf("reanalyze outdated: %s", b)
	}

	// A second dump pushes the total over 15000 bytes: the first file expires.
	u2 := e.upload(fakeDump(4, 10000))
	e.wait(u2.ID)
	if _, err := e.st.ApplyRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, b = e.do("GET", "/api/dumps/"+u.ID+"/file", nil)
	if resp.StatusCode != 410 || !strings.Contains(string(b), "dump file expired") {
		t.Fatalf("expired download: %d %s", resp.StatusCode, b)
	}
	j = e.wait(u.ID)
	if j["file_status"] != "dump file expired" || j["report"] == nil {
		t.Fatalf("expired dump: %v", j)
	}
	_, b = e.do("GET", "/dumps/"+u.ID, nil)
	if !strings.Contains(string(b), "dump file expired") {
		t.Error("page does not say the file expired")
	}
	resp, _ = e.do("POST", "/api/dumps/"+u.ID+"/reanalyze", nil)
	if resp.StatusCode != 410 {
		t.Errorf("reanalyze expired: %d", resp.StatusCode)
	}
}

func TestNotFoundAndBadQueries(t *testing.T) {
	e := newEnv(t, store.Config{}, 0)
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/api/dumps/nope", 404},
		{"GET", "/api/dumps/nope/file", 404},
		{"POST", "/api/dumps/nope/reanalyze", 404},
		{"GET", "/dumps/nope", 404},
		{"GET", "/api/dumps?limit=x", 400},
		{"GET", "/api/dumps?status=weird", 400},
		{"GET", "/api/dumps?cursor=zzz", 400},
		{"GET", "/api/dumps?since=yesterday", 400},
		{"GET", "/api/dumps", 200},
	} {
		if resp, b := e.do(tt.method, tt.path, nil); resp.StatusCode != tt.code {
			t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.code, b)
		}
	}
}

func TestList(t *testing.T) {
	e := newEnv(t, store.Config{}, 0)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.upload(fakeDump(uint64(10+i), 1000)).ID)
		time.Sleep(2 * time.Millisecond)
	}
	for _, id := range ids {
		e.wait(id)
	}
	var got []string
	next := ""
	for page := 0; page < 5; page++ {
		_, b := e.do("GET", "/api/dumps?limit=2&status=done&crash_type=EXCEPTION_STACK_OVERFLOW&cursor="+next, nil)
		var l struct {
			Dumps []dumpJSON `json:"dumps"`
			Next  *string    `json:"next"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		for _, d := range l.Dumps {
			got = append(got, d.ID)
		}
		if l.Next == nil {
			break
		}
		next = *l.Next
	}
	want := fmt.Sprint([]string{ids[4], ids[3], ids[2], ids[1], ids[0]})
	if fmt.Sprint(got) != want {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
	_, b := e.do("GET", "/api/dumps?process=nothing", nil)
	if string(b) != "{\"dumps\":[],\"next\":null}\n" {
		t.Fatalf("filtered list: %s", b)
	}
}

// TestConcurrentUploads sends 100 small dumps at once: all must be stored
// (no "database is locked").
func TestConcurrentUploads(t *testing.T) {
	e := newEnv(t, store.Config{}, 0)
	var wg sync.WaitGroup
	codes := make(chan string, 100)
	for i := range 100 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/dumps", bytes.NewReader(fakeDump(uint64(1000+i), 8000)))
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Authorization", "Bearer "+e.creds["member-upload"].token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				codes <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		t.Error(c)
	}
	_, b := e.do("GET", "/api/dumps?limit=500", nil)
	var l listResponse
	json.Unmarshal(b, &l)
	if len(l.Dumps) != 100 {
		t.Fatalf("%d dumps listed", len(l.Dumps))
	}
}
