package crashupload

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	rt "github.com/dumptriage/dumptriage/internal/reportertest"
)

var dump = append([]byte("MDMP\x93\xa7\x00\x00"), bytes.Repeat([]byte{7}, 5000)...)

func read(t *testing.T, r rt.Request, lim Limits) (Upload, []byte, error) {
	t.Helper()
	body := r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(zr)
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	u, err := Read(multipart.NewReader(bytes.NewReader(body), params["boundary"]), lim, func(r io.Reader, name string) error {
		if !strings.HasSuffix(name, ".dmp") {
			return fmt.Errorf("dump file name %q", name)
		}
		got, err = io.ReadAll(r)
		return err
	})
	return u, got, err
}

func TestRead(t *testing.T) {
	event := rt.Msgpack(map[string]any{"release": "bars@7.8.9", "environment": "production", "level": "fatal",
		"user": map[string]any{"id": "u42", "ip_address": "{{auto}}"}, "tags": map[string]any{"shard": "eu"},
		"contexts": map[string]any{"os": map[string]any{"name": "Windows"}}, "breadcrumbs": []any{}})
	many := map[string]string{}
	for i := range 1200 {
		many[fmt.Sprintf("k%04d", i)] = "v"
	}
	flood := map[string]string{}
	for i := range 40 {
		flood[fmt.Sprintf("k%02d", i)] = strings.Repeat("x", 60<<10)
	}
	tests := []struct {
		name    string
		req     rt.Request
		lim     Limits
		want    map[string]string
		atts    []string // field names kept
		wantErr error
	}{
		{"crashpad gzip", rt.Crashpad(map[string]string{"prod": "BarsProduct", "ver": "4.5.6", "guid": "0123", "plat": "Win64", "ptype": "browser"}, dump,
			[]rt.File{{Name: "app.log", File: "app.log", Data: []byte("log line\n")}}, true),
			Limits{}, map[string]string{"prod": "BarsProduct", "ver": "4.5.6", "guid": "0123", "plat": "Win64", "ptype": "browser"}, []string{"app.log"}, nil},
		{"crashpad escapes names", rt.Crashpad(map[string]string{"a\"b%c": "1"}, dump, nil, false),
			Limits{}, map[string]string{"a\"b%c": "1"}, nil, nil},
		{"electron", rt.Crashpad(map[string]string{"prod": "Electron", "ver": "30.0.1", "_productName": "Bars", "_version": "2.0.0",
			"_companyName": "Bars Inc", "process_type": "renderer", "platform": "win32"}, dump, nil, true),
			Limits{}, map[string]string{"prod": "Electron", "ver": "30.0.1", "_productName": "Bars", "_version": "2.0.0",
				"_companyName": "Bars Inc", "process_type": "renderer", "platform": "win32"}, nil, nil},
		{"sentry-native msgpack event", rt.SentryNative(event, rt.Msgpack(map[string]any{"message": "hi"}), dump),
			Limits{}, map[string]string{"release": "bars@7.8.9", "environment": "production", "level": "fatal", "user.id": "u42",
				"user.ip_address": "{{auto}}", "tags.shard": "eu"}, []string{"__sentry-breadcrumb1"}, nil},
		{"sentry form fields", rt.BreakpadLinux("crash.dmp", dump, "sentry[release]", "bars@7.8.9", "sentry[tags][k]", "v",
			"sentry[user][id]", "7"),
			Limits{}, map[string]string{"release": "bars@7.8.9", "tags.k": "v", "user.id": "7"}, nil, nil},
		{"sentry json field", rt.BreakpadWindows("c.dmp", dump, "sentry", `{"release":"x@1","tags":[["a","b"]],"user":{"id":3}}`),
			Limits{}, map[string]string{"release": "x@1", "tags.a": "b", "user.id": "3"}, nil, nil},
		{"breakpad linux", rt.BreakpadLinux("crash.dmp", dump, "prod", "P", "ver", "1", "token", "secret"),
			Limits{}, map[string]string{"prod": "P", "ver": "1"}, nil, nil},
		{"huge value cut", rt.BreakpadWindows("c.dmp", dump, "big", strings.Repeat("é", 50000)),
			Limits{MaxValueBytes: 1001}, map[string]string{"big": strings.Repeat("é", 500) + "\uFFFD", NotesKey: "big cut to 1001 bytes"}, nil, nil},
		{"attachment cut", rt.Crashpad(nil, dump, []rt.File{{Name: "log", File: "log.txt", Data: bytes.Repeat([]byte("a"), 100)}}, false),
			Limits{MaxAttachmentBytes: 10}, map[string]string{NotesKey: "attachment log cut to 10 of 100 bytes"}, []string{"log"}, nil},
		{"too many attachments", rt.Crashpad(nil, dump, []rt.File{{Name: "a", File: "a", Data: []byte("1")}, {Name: "b", File: "b", Data: []byte("2")}}, false),
			Limits{MaxAttachments: 1}, map[string]string{NotesKey: "attachment b dropped: over the attachment limit"}, []string{"a"}, nil},
		{"too many parts", rt.Crashpad(many, dump, nil, true), Limits{}, nil, nil, ErrTooMany},
		{"annotation flood", rt.Crashpad(flood, dump, nil, true), Limits{}, nil, nil, ErrTooLarge},
		{"no dump", rt.Request{Body: []byte("--b\r\nContent-Disposition: form-data; name=\"prod\"\r\n\r\nx\r\n--b--\r\n"),
			Header: map[string][]string{"Content-Type": {"multipart/form-data; boundary=b"}}}, Limits{}, nil, nil, ErrNoDump},
		{"empty files dropped", rt.Crashpad(nil, dump, []rt.File{{Name: "upload_file_minidump2", File: "x.dmp"}}, false), Limits{}, nil, nil, nil},
		{"truncated body", rt.Request{Body: []byte("--b\r\nContent-Disposition: form-data; name=\"prod\"\r\n\r\nx"),
			Header: map[string][]string{"Content-Type": {"multipart/form-data; boundary=b"}}}, Limits{}, nil, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, got, err := read(t, tt.req, tt.lim)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, dump) {
				t.Errorf("dump: %d bytes, want %d", len(got), len(dump))
			}
			want := tt.want
			if want == nil {
				want = map[string]string{}
			}
			if d := cmp.Diff(want, u.Annotations); d != "" {
				t.Errorf("annotations (-want +got):\n%s", d)
			}
			var names []string
			for _, a := range u.Attachments {
				names = append(names, a.Field)
			}
			if d := cmp.Diff(tt.atts, names); d != "" {
				t.Errorf("attachments (-want +got):\n%s", d)
			}
		})
	}
}

func TestSecondDumpRefused(t *testing.T) {
	b := "--b\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"a.dmp\"\r\n\r\nMDMP\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"b.dmp\"\r\n\r\nMDMP\r\n--b--\r\n"
	_, err := Read(multipart.NewReader(strings.NewReader(b), "b"), Limits{}, func(r io.Reader, _ string) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v", err)
	}
}

func TestSentryKey(t *testing.T) {
	for in, want := range map[string]string{"sentry[release]": "release", "sentry[tags][os]": "tags.os",
		"sentry[user][id]": "user.id", "sentry[": "sentry[", "sentry[a]junk": "a"} {
		if got := sentryKey(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(rt.Crashpad(map[string]string{"prod": "P"}, dump[:64], nil, false).Body)
	f.Add(rt.SentryNative(rt.Msgpack(map[string]any{"release": "a@1"}), nil, dump[:64]).Body)
	f.Fuzz(func(t *testing.T, b []byte) {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 3 || b[0] != '-' || b[1] != '-' {
			return
		}
		Read(multipart.NewReader(bytes.NewReader(b), string(b[2:i])), Limits{MaxParts: 50}, func(r io.Reader, _ string) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
	})
}
