package web

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	rt "github.com/dumptriage/dumptriage/internal/reportertest"
	shared "github.com/dumptriage/dumptriage/internal/testdata"
	"github.com/dumptriage/dumptriage/store"
)

// newAnalyzingEnv is newEnv with the real analyzer, given the crash
// reporter's log attached to each dump as the serve command gives it.
func newAnalyzingEnv(t *testing.T) (*env, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{MaxUploadBytes: 8 << 20, AnalyzerVersion: "test"}).Routes())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunWorkers(ctx, store.WorkerConfig{Workers: 1, Poll: 20 * time.Millisecond},
			func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
				rlog, err := st.ReporterLog(ctx, sha)
				if err != nil {
					return nil, err
				}
				return analyzer.Analyze(ctx, r, size, analyzer.Options{SHA256: sha, ReporterLog: rlog})
			})
	})
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return &env{t: t, st: st, srv: srv, creds: creds, as: creds["admin"]}, dir
}

func unrealFixture(t *testing.T) (string, []byte) {
	t.Helper()
	path := shared.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// post sends a CrashReportClient upload of body to path, unauthenticated
// but for the key in the path.
func postUnreal(t *testing.T, e *env, path string, body []byte) (int, map[string]any) {
	t.Helper()
	req := rt.Unreal(nil)
	req.Body = body
	resp, err := http.DefaultClient.Do(req.New(e.srv.URL + path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &j)
	if j == nil {
		j = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, j
}

// TestUnrealUpload sends the real .ue4crash of symbolic's tests as
// CrashReportClient sends it, to Sentry's path: the minidump is analysed,
// every other file is an attachment, and the crash context is on the
// report page, the API and, with its stacks, beside our own stack.
func TestUnrealUpload(t *testing.T) {
	e, _ := newAnalyzingEnv(t)
	path, body := unrealFixture(t)
	key := e.creds["member-upload"].token
	code, j := postUnreal(t, e, "/api/7/unreal/"+key+"/?"+rt.UnrealQuery, body)
	if code != 200 {
		t.Fatalf("status %d: %v", code, j)
	}
	id, _ := j["id"].(string)
	if id == "" {
		t.Fatalf("no id: %v", j)
	}
	d := e.wait(id)
	if d["status"] != "done" {
		t.Fatalf("analysis: %v", d)
	}
	ann, _ := d["annotations"].(map[string]any)
	for k, v := range map[string]string{
		"unreal.EngineVersion": "4.20.3-4369336+++UE4+Release-4.20",
		"unreal.ErrorMessage":  `Assertion failed: false [File:C:\Users\bruno\OneDrive\Documents\Unreal Projects\MyProject\Source\MyProject\NewActorComponent.cpp] [Line: 21] test`,
		"unreal.BuildVersion":  "++UE4+Release-4.20-CL-4369336", "unreal.BuildConfiguration": "Development",
		"AppID": "CrashReporter", "UploadType": "crashreports", "sentry.project": "7",
	} {
		if ann[k] != v {
			t.Errorf("annotation %s = %v, want %q", k, ann[k], v)
		}
	}
	if ann["token"] != nil || ann["key"] != nil {
		t.Error("the key is no annotation")
	}
	if d["product"] != "MyProject" {
		t.Errorf("product %v", d["product"])
	}
	atts, _ := d["attachments"].([]any)
	var names []string
	for _, a := range atts {
		m := a.(map[string]any)
		name := m["file_name"].(string)
		names = append(names, name)
		resp, b := e.do("GET", m["url"].(string), nil)
		want, err := os.ReadFile(filepath.Join(path+".extracted", name))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(b, want) {
			t.Errorf("attachment %s: %d, %d bytes, want %d", name, resp.StatusCode, len(b), len(want))
		}
	}
	if strings.Join(names, ",") != "CrashContext.runtime-xml,CrashReportClient.ini,MyProject.log" {
		t.Errorf("attachments %v", names)
	}
	// The dump is the container's minidump, byte for byte.
	resp, dmp := e.do("GET", "/api/dumps/"+id+"/file", nil)
	want, _ := os.ReadFile(filepath.Join(path+".extracted", "UE4Minidump.dmp"))
	if resp.StatusCode != 200 || !bytes.Equal(dmp, want) {
		t.Errorf("dump file: %d, %d bytes, want %d", resp.StatusCode, len(dmp), len(want))
	}

	// The report: the crash reporter's own stack, from its crash context.
	_, rj := e.do("GET", "/dumps/"+id+"/report.json", nil)
	var rep report.Report
	if err := json.Unmarshal(rj, &rep); err != nil {
		t.Fatal(err)
	}
	rs := rep.ReporterStack
	if rs == nil || rs.Source != "Unreal CrashContext" || len(rs.Frames) != 16 ||
		rs.Frames[0].Function != "FDebug::AssertFailed()" || rs.Frames[1].Function != "AActor::BeginPlay()" || rs.Frames[0].Module != "MyProject" {
		t.Fatalf("reporter stack %+v", rs)
	}

	// The page shows the context and the reporter's stack.
	e.as = e.creds["admin-session"]
	resp, page := e.do("GET", "/dumps/"+id, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("page %d", resp.StatusCode)
	}
	doc := doc(t, page)
	card := doc.Find(tid("unreal"))
	if got := card.Find(tid("unreal-engineversion")).Text(); got != "4.20.3-4369336+++UE4+Release-4.20" {
		t.Errorf("engine version %q", got)
	}
	if got := card.Find(tid("unreal-errormessage")).Text(); !strings.HasPrefix(got, "Assertion failed: false") {
		t.Errorf("error message %q", got)
	}
	if got := card.Find(tid("unreal-buildversion")).Text(); got != "++UE4+Release-4.20-CL-4369336" {
		t.Errorf("build %q", got)
	}
	if got := card.Find(tid("unreal-buildconfiguration")).Text(); got != "Development" {
		t.Errorf("build configuration %q", got)
	}
	if n := card.Find(tid("unreal-file")).Length(); n != 3 {
		t.Errorf("%d files listed in the Unreal card", n)
	}
	rf := doc.Find(tid("reporter-stack") + " " + tid("reporter-frame"))
	if rf.Length() != 16 || !strings.Contains(rf.First().Text(), "FDebug::AssertFailed()") {
		t.Errorf("reporter frames on the page: %d %q", rf.Length(), rf.First().Text())
	}
	if n := doc.Find(tid("attachments") + " a").Length(); n != 3 {
		t.Errorf("%d attachments on the page", n)
	}

	// The DataRouterUrl path takes the same report: a duplicate.
	e.as = e.creds["admin"]
	code, j = postUnreal(t, e, "/api/unreal/"+key+"?"+rt.UnrealQuery, body)
	if code != 200 || j["id"] != id {
		t.Fatalf("DataRouterUrl path: %d %v, want the id %s", code, j, id)
	}
	if again := e.wait(id)["attachments"].([]any); len(again) != 3 {
		t.Errorf("%d attachments after the report came again, want 3", len(again))
	}
}

// TestUnrealHostile: broken and hostile containers get a 400 that says
// why, and leave neither a dump nor a file behind.
func TestUnrealHostile(t *testing.T) {
	e, dir := newAnalyzingEnv(t)
	_, body := unrealFixture(t)
	zr, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(off int, v uint32) []byte {
		b := bytes.Clone(raw)
		if off < 0 {
			off += len(b)
		}
		binary.LittleEndian.PutUint32(b[off:], v)
		return rt.Unreal(b).Body
	}
	key := e.creds["member-upload"].token
	const firstLength = 536 + 4 + 4 + 260 // header, then file 0's index and name
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
		says   string
	}{
		{"truncated stream", "/api/1/unreal/" + key + "/", body[:len(body)/2], 400, "truncated"},
		{"truncated container", "/api/1/unreal/" + key + "/", rt.Unreal(raw[:len(raw)/2]).Body, 400, "malformed"},
		{"file count 2^31", "/api/1/unreal/" + key + "/", edit(-4, 1<<31), 400, "declares -2147483648 files"},
		{"huge declared file", "/api/1/unreal/" + key + "/", edit(firstLength, 0x7fffffff), 400, "declares 2147483647 bytes"},
		{"huge declared name", "/api/1/unreal/" + key + "/", edit(536+4, 0x7fffffff), 400, "characters"},
		{"past the upload limit once decompressed", "/api/1/unreal/" + key + "/",
			rt.Unreal(rt.UnrealContainer("X", []rt.UnrealFile{{Name: "d.dmp", Data: append([]byte("MDMP"), make([]byte, 9<<20)...)}})).Body, 400, "more than the"},
		{"not compressed", "/api/1/unreal/" + key + "/", raw, 400, "zlib"},
		{"no minidump", "/api/unreal/" + key + "/", rt.Unreal(rt.UnrealContainer("X", []rt.UnrealFile{{Name: "a.log", Data: []byte("x")}})).Body, 400, "no minidump: the Unreal crash report's files (1) hold none"},
		{"bad key", "/api/1/unreal/nope/", body, 401, ""},
		{"read-only key", "/api/1/unreal/" + e.creds["viewer-read"].token + "/", body, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, j := postUnreal(t, e, tt.path, tt.body)
			msg, _ := j["error"].(string)
			if code != tt.status || !strings.Contains(msg, tt.says) {
				t.Errorf("%d %v, want %d saying %q", code, j, tt.status, tt.says)
			}
		})
	}
	page, err := e.st.ListDumps(context.Background(), store.ListQuery{})
	if err != nil || len(page.Dumps) != 0 {
		t.Errorf("dumps stored: %d %v", len(page.Dumps), err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "tmp", "*"))
	dumps, _ := filepath.Glob(filepath.Join(dir, "dumps", "*", "*"))
	if left = append(left, dumps...); len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}

// TestUnrealContextFromContainer: a minidump without the crash context
// stream still gets the crash reporter's stack and the context on its page,
// from the container's CrashContext.runtime-xml.
func TestUnrealContextFromContainer(t *testing.T) {
	e, _ := newAnalyzingEnv(t)
	path, _ := unrealFixture(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(path+".extracted", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// What the user typed is shown as text.
	const payload = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	// Hide the minidump's own copy of the context: its directory entry
	// becomes UnusedStream.
	dmp := read("UE4Minidump.dmp")
	le := binary.LittleEndian
	n, dir := le.Uint32(dmp[8:]), le.Uint32(dmp[12:])
	hidden := 0
	for i := range n {
		if at := dir + 12*i; le.Uint32(dmp[at:]) == 0x10000 {
			le.PutUint32(dmp[at:], 0)
			hidden++
		}
	}
	if hidden != 1 {
		t.Fatalf("%d crash context streams in the fixture", hidden)
	}
	body := rt.Unreal(rt.UnrealContainer("UE4CC-Windows-X_0000", []rt.UnrealFile{
		{Name: "CrashContext.runtime-xml", Data: bytes.Replace(read("CrashContext.runtime-xml"), []byte("<UserDescription />"),
			[]byte("<UserDescription>"+html.EscapeString(payload)+"</UserDescription>"), 1)},
		{Name: "UE4Minidump.dmp", Data: dmp}})).Body
	code, j := postUnreal(t, e, "/api/unreal/"+e.creds["member-upload"].token+"/?"+rt.UnrealQuery, body)
	if code != 200 {
		t.Fatalf("%d %v", code, j)
	}
	id := j["id"].(string)
	if d := e.wait(id); d["status"] != "done" {
		t.Fatalf("analysis %v", d)
	}
	_, rj := e.do("GET", "/dumps/"+id+"/report.json", nil)
	var rep report.Report
	if err := json.Unmarshal(rj, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Annotations["unreal:EngineVersion"] != "" {
		t.Fatal("the minidump still carries its crash context")
	}
	if rs := rep.ReporterStack; rs == nil || len(rs.Frames) != 16 || rs.Frames[1].Function != "AActor::BeginPlay()" {
		t.Fatalf("reporter stack %+v", rs)
	}
	e.as = e.creds["admin-session"]
	_, page := e.do("GET", "/dumps/"+id, nil)
	card := doc(t, page).Find(tid("unreal"))
	if got := card.Find(tid("unreal-engineversion")).Text(); got != "4.20.3-4369336+++UE4+Release-4.20" {
		t.Errorf("engine version %q", got)
	}
	if got := card.Find(tid("unreal-userdescription")).Text(); got != payload {
		t.Errorf("user description %q", got)
	}
	if card.Find("script, img").Length() != 0 || bytes.Contains(page, []byte("<script>alert")) {
		t.Error("the user description is markup on the page")
	}
}

// TestUnrealKeyNotLogged: the upload key in the path stays out of the
// request log, accepted or refused.
func TestUnrealKeyNotLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	e := newAuthEnv(t, Config{Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))})
	good := e.creds["member-upload"].token
	body := rt.Unreal(rt.UnrealContainer("X", []rt.UnrealFile{{Name: "d.dmp", Data: fakeDump(77, 4000)}})).Body
	for _, key := range []string{good, "dtt_notAValidKeyAtAll"} {
		w := e.do("POST", "/api/9/unreal/"+key+"/?"+rt.UnrealQuery, bytes.NewReader(body), cred{})
		if (key == good) != (w.Code == 200) {
			t.Errorf("key %d…: %d %s", len(key), w.Code, w.Body)
		}
		mu.Lock()
		logged := buf.String()
		mu.Unlock()
		if strings.Contains(logged, key) || !strings.Contains(logged, "path=/api/9/unreal/{key}/") {
			t.Errorf("the log shows the key or not the route:\n%s", logged)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
