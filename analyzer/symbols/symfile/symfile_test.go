package symfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestIdentifyAgreesWithSentryCLI checks every PE and PDB in the shared test
// data against `sentry-cli debug-files check --json`: the same debug id and
// code id, in Sentry's spelling.
func TestIdentifyAgreesWithSentryCLI(t *testing.T) {
	cli := testdata.SentryCLI(t)
	var files []string
	filepath.WalkDir(testdata.Dir(t), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".pdb", ".exe", ".dll":
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 20 {
		t.Fatalf("only %d PE/PDB files found in the test data", len(files))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			// It exits 1 for files it deems unusable, after printing them.
			out, err := exec.Command(cli, "debug-files", "check", "--json", p).Output()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("sentry-cli: %v", err)
			}
			var peer struct {
				Type     string `json:"type"`
				Variants []struct {
					DebugID string  `json:"debug_id"`
					CodeID  *string `json:"code_id"`
				} `json:"variants"`
			}
			if err := json.Unmarshal(out, &peer); err != nil || len(peer.Variants) != 1 {
				t.Fatalf("sentry-cli output %q: %v", out, err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			in, err := Identify(f, st.Size(), filepath.Base(p))
			if err != nil {
				t.Fatalf("Identify: %v", err)
			}
			if want := map[string]Kind{"pdb": KindPDB, "pe": KindPE}[peer.Type]; in.Kind != want {
				t.Errorf("kind %s, sentry-cli says %s", in.Kind, peer.Type)
			}
			if got, want := SentryDebugID(in.DebugID), peer.Variants[0].DebugID; got != want {
				t.Errorf("debug id %s (%s), sentry-cli says %s", got, in.DebugID, want)
			}
			wantCode := ""
			if peer.Variants[0].CodeID != nil {
				wantCode = *peer.Variants[0].CodeID
			}
			if got := SentryCodeID(in.CodeID); got != wantCode {
				t.Errorf("code id %q, sentry-cli says %q", got, wantCode)
			}
		})
	}
}

func TestIdentifyBreakpad(t *testing.T) {
	p := testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata", "symbols", "test_app.pdb",
		"5A9832E5287241C1838ED98914E9B7FF1", "test_app.sym")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Identify(bytes.NewReader(b), int64(len(b)), "whatever.sym")
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != KindBreakpad || in.DebugID != "5A9832E5287241C1838ED98914E9B7FF1" || in.DebugFile != "test_app.pdb" ||
		in.Key.String() != "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym" {
		t.Errorf("got %+v key %s", in, in.Key)
	}
}

func TestIdentifyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, data, why string
	}{
		{"empty.pdb", "", "empty"},
		{"a.so", "\x7fELF\x02\x01\x01", "ELF"},
		{"a.dylib", "\xcf\xfa\xed\xfe", "Mach-O"},
		{"crash.dmp", "MDMP\x93\xa7", "minidump"},
		{"notes.txt", "hello", "not a PDB"},
		{"bad.sym", "MODULE windows x86\n", "MODULE line"},
		{"bad2.sym", "MODULE windows x86 zz12 a.pdb\n", "not a debug id"},
		{"trunc.pdb", "Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00", "cannot be read"},
		{"trunc.dll", "MZ\x90\x00", "cannot be read"},
	} {
		_, err := Identify(strings.NewReader(tc.data), int64(len(tc.data)), tc.name)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, err, tc.why)
		}
	}
}

func TestDebugIDForms(t *testing.T) {
	for _, tc := range []struct{ breakpad, sentry string }{
		{"3249D99D0C4049318610F4E4FB0B69361", "3249d99d-0c40-4931-8610-f4e4fb0b6936-1"},
		{"3249D99D0C4049318610F4E4FB0B6936A", "3249d99d-0c40-4931-8610-f4e4fb0b6936-a"},
		{"3249D99D0C4049318610F4E4FB0B69360", "3249d99d-0c40-4931-8610-f4e4fb0b6936"},
	} {
		if got := SentryDebugID(tc.breakpad); got != tc.sentry {
			t.Errorf("SentryDebugID(%s) = %s, want %s", tc.breakpad, got, tc.sentry)
		}
		if got := BreakpadDebugID(tc.sentry); got != tc.breakpad {
			t.Errorf("BreakpadDebugID(%s) = %s, want %s", tc.sentry, got, tc.breakpad)
		}
	}
	if BreakpadDebugID("nope") != "" || BreakpadDebugID("../../etc/passwd") != "" {
		t.Error("non-ids accepted")
	}
}

func FuzzIdentify(f *testing.F) {
	f.Add([]byte("MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb\nINFO CODE_ID 45D2A1E0E000 test_app.exe\n"))
	f.Add([]byte("Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00"))
	f.Add([]byte("MZ\x90\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Identify(bytes.NewReader(b), int64(len(b)), "x.pdb")
		if err == nil && in.Key.ID == "" {
			t.Fatalf("identified without a key: %+v", in)
		}
	})
}
