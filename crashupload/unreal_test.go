package crashupload

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rt "github.com/dumptriage/dumptriage/internal/reportertest"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

func readUnreal(t *testing.T, body []byte, max int64, lim Limits) (Upload, []byte, string, error) {
	t.Helper()
	var got []byte
	var name string
	u, err := ReadUnreal(bytes.NewReader(body), max, lim, func(r io.Reader, n string) error {
		var err error
		got, err = io.ReadAll(r)
		name = n
		return err
	})
	return u, got, name, err
}

// TestReadUnrealFixture reads the real container of symbolic's tests.
func TestReadUnrealFixture(t *testing.T) {
	path := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, dmp, name, err := readUnreal(t, body, 64<<20, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(path+".extracted", "UE4Minidump.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	if name != "UE4Minidump.dmp" || !bytes.Equal(dmp, want) {
		t.Errorf("dump %q: %d bytes, want %d", name, len(dmp), len(want))
	}
	var names []string
	for _, a := range u.Attachments {
		names = append(names, a.FileName)
		x, err := os.ReadFile(filepath.Join(path+".extracted", a.FileName))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, a.Data) || a.Truncated || a.Size != int64(len(x)) {
			t.Errorf("attachment %s differs from the extracted file", a.FileName)
		}
	}
	if got := strings.Join(names, ","); got != "CrashContext.runtime-xml,CrashReportClient.ini,MyProject.log" {
		t.Errorf("attachments %s", got)
	}
	for k, v := range map[string]string{
		"unreal.EngineVersion":      "4.20.3-4369336+++UE4+Release-4.20",
		"unreal.BuildVersion":       "++UE4+Release-4.20-CL-4369336",
		"unreal.BuildConfiguration": "Development",
		"unreal.CrashType":          "Assert",
		"unreal.ErrorMessage":       `Assertion failed: false [File:C:\Users\bruno\OneDrive\Documents\Unreal Projects\MyProject\Source\MyProject\NewActorComponent.cpp] [Line: 21] test`,
		"unreal.report":             "UE4CC-Windows-379993BB42BD8FBED67986857D8844B5_0000",
		"ProductName":               "MyProject",
	} {
		if u.Annotations[k] != v {
			t.Errorf("%s = %q, want %q", k, u.Annotations[k], v)
		}
	}
	if _, ok := u.Annotations["unreal.UserDescription"]; ok {
		t.Error("an empty user description is no annotation")
	}
	if _, ok := u.Annotations["unreal.MachineId"]; ok {
		t.Error("fields outside the kept set are not annotations")
	}
}

func TestReadUnreal(t *testing.T) {
	dmp := append([]byte("MDMP\x93\xa7\x00\x00"), bytes.Repeat([]byte{7}, 500)...)
	ctx := []byte(`<?xml version="1.0"?><FGenericCrashContext><RuntimeProperties><EngineVersion>5.3.2</EngineVersion>` +
		`<UserDescription>it &lt;crashed&gt; when I &amp; my friend jumped</UserDescription><Nested><ErrorMessage>not this one</ErrorMessage></Nested>` +
		`</RuntimeProperties></FGenericCrashContext>`)
	c := func(files ...rt.UnrealFile) []byte { return rt.Unreal(rt.UnrealContainer("UE5CC-X", files)).Body }
	big := bytes.Repeat([]byte("log line\n"), 300)
	cases := []struct {
		name    string
		body    []byte
		lim     Limits
		wantErr error
		check   func(t *testing.T, u Upload, dump []byte)
	}{
		{name: "context and dump", body: c(rt.UnrealFile{Name: UnrealContextFile, Data: ctx}, rt.UnrealFile{Name: "UEMinidump.dmp", Data: dmp}),
			check: func(t *testing.T, u Upload, d []byte) {
				if !bytes.Equal(d, dmp) || u.Annotations["unreal.EngineVersion"] != "5.3.2" ||
					u.Annotations["unreal.UserDescription"] != "it <crashed> when I & my friend jumped" {
					t.Errorf("%v", u.Annotations)
				}
				if _, ok := u.Annotations["unreal.ErrorMessage"]; ok {
					t.Error("only RuntimeProperties' own children are read")
				}
			}},
		{name: "the first minidump is the dump, a second an attachment", body: c(rt.UnrealFile{Name: "a.dmp", Data: dmp}, rt.UnrealFile{Name: "b.dmp", Data: dmp[:100]}),
			check: func(t *testing.T, u Upload, d []byte) {
				if len(d) != len(dmp) || len(u.Attachments) != 1 || u.Attachments[0].FileName != "b.dmp" {
					t.Errorf("dump %d bytes, attachments %+v", len(d), u.Attachments)
				}
			}},
		{name: "a long log is cut and noted", body: c(rt.UnrealFile{Name: "Game.log", Data: big}, rt.UnrealFile{Name: "d.dmp", Data: dmp}),
			lim: Limits{MaxAttachmentBytes: 100},
			check: func(t *testing.T, u Upload, d []byte) {
				a := u.Attachments[0]
				if !a.Truncated || len(a.Data) != 100 || a.Size != int64(len(big)) || !strings.Contains(u.Annotations[NotesKey], "Game.log cut to 100") {
					t.Errorf("%+v %q", a.Size, u.Annotations[NotesKey])
				}
			}},
		{name: "attachments past the count are dropped", body: c(rt.UnrealFile{Name: "1.log", Data: []byte("x")}, rt.UnrealFile{Name: "2.log", Data: []byte("y")},
			rt.UnrealFile{Name: "d.dmp", Data: dmp}), lim: Limits{MaxAttachments: 1},
			check: func(t *testing.T, u Upload, d []byte) {
				if len(u.Attachments) != 1 || !strings.Contains(u.Annotations[NotesKey], "2.log dropped") {
					t.Errorf("%+v", u.Attachments)
				}
			}},
		{name: "broken context XML is noted, not fatal", body: c(rt.UnrealFile{Name: UnrealContextFile, Data: []byte("<a><b>")}, rt.UnrealFile{Name: "d.dmp", Data: dmp}),
			check: func(t *testing.T, u Upload, d []byte) {
				if len(u.Attachments) != 1 || !strings.Contains(u.Annotations[NotesKey], UnrealContextFile) {
					t.Errorf("%v", u.Annotations)
				}
			}},
		{name: "no minidump", body: c(rt.UnrealFile{Name: "a.log", Data: []byte("x")}), wantErr: ErrNoDump},
		{name: "not a container", body: []byte("MDMP not compressed"), wantErr: ErrMalformed},
		{name: "truncated inside the dump", body: rt.Unreal(rt.UnrealContainer("X", []rt.UnrealFile{{Name: "d.dmp", Data: dmp}})[:700]).Body, wantErr: ErrMalformed},
		{name: "zip bomb", body: c(rt.UnrealFile{Name: "d.dmp", Data: append(dmp, make([]byte, 4<<20)...)}), wantErr: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, d, _, err := readUnreal(t, tc.body, 1<<20, tc.lim)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, u, d)
		})
	}
}

func FuzzReadUnreal(f *testing.F) {
	f.Add(rt.Unreal(rt.UnrealContainer("X", []rt.UnrealFile{{Name: UnrealContextFile, Data: []byte(
		"<FGenericCrashContext><RuntimeProperties><EngineVersion>5</EngineVersion></RuntimeProperties></FGenericCrashContext>")},
		{Name: "d.dmp", Data: []byte("MDMP....")}})).Body)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, _, _, err := readUnreal(t, b, 1<<20, Limits{})
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoDump) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unclassified error %v", err)
		}
		for k, v := range u.Annotations {
			if len(v) > 64<<10 || len(k) > 300 {
				t.Fatalf("annotation %s of %d bytes", k, len(v))
			}
		}
	})
}
