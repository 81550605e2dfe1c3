package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web"
)

func TestUploadCommand(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddUser(ctx, "ci", store.RoleMember, "ci-password-123"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.CreateToken(ctx, "ci", "ci", store.ScopeUpload, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(st, web.Config{}).Routes())
	defer srv.Close()
	dir := t.TempDir()
	dump := filepath.Join(dir, "crash.dmp")
	if err := os.WriteFile(dump, append([]byte("MDMP\x93\xa7\x00\x00"), bytes.Repeat([]byte{1}, 300<<10)...), 0o644); err != nil {
		t.Fatal(err)
	}
	ue4crash := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash")
	junk := filepath.Join(dir, "notes.txt")
	os.WriteFile(junk, []byte("not a dump"), 0o644)
	tests := []struct {
		name    string
		args    []string
		tty     bool
		wantErr string
		out     []string // lines of stdout that must appear
		errOut  []string
	}{
		{"uploads and prints the report URL", []string{"--server", srv.URL, "--token", tok, dump}, false, "",
			[]string{srv.URL + "/dumps/", "\t" + dump}, nil},
		{"progress bar on a terminal", []string{"--server", srv.URL + "/", "--token", tok, dump}, true, "",
			[]string{srv.URL + "/dumps/"}, []string{"crash.dmp", "100%"}},
		{"a refused file fails the command", []string{"--server", srv.URL, "--token", tok, dump, junk}, false, "1 of 2 uploads failed",
			[]string{srv.URL + "/dumps/"}, []string{"notes.txt: 422"}},
		{"missing file", []string{"--server", srv.URL, "--token", tok, filepath.Join(dir, "nope.dmp")}, false, "1 of 1", nil, []string{"no such file"}},
		{"no token", []string{"--server", srv.URL, dump}, false, "1 of 1", nil, []string{"401"}},
		{"bad server URL", []string{"--server", "ftp://x", dump}, false, "not an http(s) URL", nil, nil},
		{"no files", []string{"--server", srv.URL}, false, "usage", nil, nil},
		{"an Unreal crash report", []string{"--server", srv.URL, "--token", tok, "--unreal", ue4crash}, false, "",
			[]string{srv.URL + "/dumps/", "\t" + ue4crash}, nil},
		{"an Unreal crash report needs the token", []string{"--server", srv.URL, "--unreal", ue4crash}, false, "--unreal needs --token", nil, nil},
		{"a dump is no Unreal crash report", []string{"--server", srv.URL, "--token", tok, "--unreal", dump}, false, "1 of 1",
			nil, []string{"400", "zlib"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runUpload(tt.args, &out, &errb, tt.tty)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q; stderr %s", err, tt.wantErr, errb.String())
			}
			for _, w := range tt.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout %q lacks %q", out.String(), w)
				}
			}
			for _, w := range tt.errOut {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr %q lacks %q", errb.String(), w)
				}
			}
		})
	}
}
