package ue4crash

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rt "github.com/dumptriage/dumptriage/internal/reportertest"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

func fixture(t testing.TB) string {
	return testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash")
}

type entry struct {
	File
	Data []byte
}

// readAll reads every file of a compressed container.
func readAll(b []byte, max int64) (*Reader, []entry, error) {
	r, err := NewReader(bytes.NewReader(b), max)
	if err != nil {
		return nil, nil, err
	}
	var out []entry
	for {
		f, err := r.Next()
		if err == io.EOF {
			return r, out, nil
		}
		if err != nil {
			return r, out, err
		}
		d, err := io.ReadAll(r)
		if err != nil {
			return r, out, err
		}
		out = append(out, entry{*f, d})
	}
}

// TestFixture reads the real container of symbolic's tests and checks
// each file against the extracted copy beside it.
func TestFixture(t *testing.T) {
	path := fixture(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, files, err := readAll(b, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CrashContext.runtime-xml", "CrashReportClient.ini", "MyProject.log", "UE4Minidump.dmp"}
	if len(files) != len(want) {
		t.Fatalf("%d files, want %d", len(files), len(want))
	}
	for i, f := range files {
		if f.Name != want[i] || f.Index != int32(i) {
			t.Errorf("file %d: %d %q, want %q", i, f.Index, f.Name, want[i])
		}
		x, err := os.ReadFile(filepath.Join(path+".extracted", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, f.Data) || f.Size != int64(len(x)) {
			t.Errorf("%s: %d bytes differ from the extracted %d", f.Name, len(f.Data), len(x))
		}
	}
	if !IsMinidump(files[3].Data) {
		t.Error("UE4Minidump.dmp is not a minidump")
	}
	if r.Header.DirectoryName != "UE4CC-Windows-379993BB42BD8FBED67986857D8844B5_0000" || r.Header.FileName != r.Header.DirectoryName+".ue4crash" {
		t.Errorf("header %+v", r.Header)
	}
	if r.Trailer == nil || r.Trailer.FileCount != 4 || r.Trailer.UncompressedSize != 440216 {
		t.Errorf("trailer %+v", r.Trailer)
	}
}

func fstr(s string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(s)+1))
	return append(append(b, s...), 0)
}

func i32(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func header(size, count int32) []byte {
	b := append(fstr("UE4CC-Windows-X_0000"), fstr("UE4CC-Windows-X_0000.ue4crash")...)
	return append(append(b, i32(size)...), i32(count)...)
}

func record(idx int32, name string, data []byte) []byte {
	b := append(i32(idx), fstr(name)...)
	return append(append(b, i32(int32(len(data)))...), data...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func compress(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// container builds a well-formed decompressed container.
func container(files ...[]byte) []byte {
	b := header(0, 0)
	n := len(b)
	for i, d := range files {
		r := record(int32(i), "f"+string(rune('0'+i)), d)
		b = append(b, r...)
		n += len(r)
	}
	return append(b, header(int32(n), int32(len(files)))...)
}

func TestReader(t *testing.T) {
	dmp := append([]byte("MDMP"), bytes.Repeat([]byte{1}, 100)...)
	good := container([]byte("<xml/>"), dmp)
	utf16Name := append(i32(-3), 'a', 0, 'b', 0, 0, 0)
	cases := []struct {
		name    string
		body    []byte // compressed
		max     int64
		wantErr error
		errText string
		files   []string
	}{
		{name: "well formed", body: compress(good), files: []string{"f0", "f1"}},
		{name: "no trailing header", body: compress(good[:len(good)-len(header(0, 0))]), files: []string{"f0", "f1"}},
		{name: "UTF-16 name", body: compress(cat(header(0, 0), i32(0), utf16Name, i32(2), []byte("hi"))), files: []string{"ab"}},
		{name: "not zlib", body: good, wantErr: ErrMalformed, errText: "zlib"},
		{name: "empty", body: nil, wantErr: ErrMalformed},
		{name: "header only", body: compress(header(0, 0)), wantErr: ErrMalformed, errText: "no files"},
		{name: "truncated header", body: compress(header(0, 0)[:10]), wantErr: ErrMalformed, errText: "truncated"},
		{name: "truncated inside a file", body: compress(good[:len(header(0, 0))+20]), wantErr: ErrMalformed},
		{name: "truncated zlib stream", body: compress(good)[:len(compress(good))/2], wantErr: ErrMalformed},
		{name: "file of 2 GiB declared", body: compress(append(header(0, 0), append(append(i32(0), fstr("big")...), i32(0x7fffffff)...)...)),
			wantErr: ErrMalformed, errText: "declares 2147483647 bytes"},
		{name: "negative file length", body: compress(append(header(0, 0), append(append(i32(0), fstr("neg")...), i32(-5)...)...)),
			wantErr: ErrMalformed, errText: "declares -5 bytes"},
		{name: "huge name", body: compress(append(header(0, 0), append(i32(0), i32(0x7fffffff)...)...)),
			wantErr: ErrMalformed, errText: "characters"},
		{name: "huge directory name", body: compress(i32(-0x80000000)), wantErr: ErrMalformed, errText: "characters"},
		{name: "trailer declares 2^31 files", body: compress(append(good[:len(good)-4], i32(-0x80000000)...)),
			wantErr: ErrMalformed, errText: "declares -2147483648 files"},
		{name: "trailer declares another size", body: compress(append(append(good[:len(good)-8], i32(5)...), i32(2)...)),
			wantErr: ErrMalformed, errText: "bytes of files"},
		{name: "too many files", body: compress(func() []byte {
			b := header(0, 0)
			for i := range MaxFiles + 1 {
				b = append(b, record(int32(i), "x", nil)...)
			}
			return b
		}()), wantErr: ErrMalformed, errText: "more than 256 files"},
		{name: "zip bomb", body: compress(func() []byte {
			// A file that fills the limit exactly, then megabytes more.
			pre := cat(header(0, 0), i32(0), fstr("zeros"))
			n := 1<<20 - len(pre) - 4
			return cat(pre, i32(int32(n)), make([]byte, n+8<<20))
		}()), max: 1 << 20, wantErr: ErrTooLarge},
		{name: "declared past the limit", body: compress(append(header(0, 0), record(0, "zeros", make([]byte, 2<<20))...)), max: 1 << 20,
			wantErr: ErrMalformed, errText: "more than the"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			max := c.max
			if max == 0 {
				max = 64 << 20
			}
			r, files, err := readAll(c.body, max)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("err %v, want %v containing %q", err, c.wantErr, c.errText)
				}
				if r != nil && r.Offset() > max {
					t.Errorf("read %d bytes past the limit %d", r.Offset(), max)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.files, ",") {
				t.Errorf("files %v, want %v", names, c.files)
			}
		})
	}
}

// TestPeek: the dump is told by its first bytes, before it is read.
func TestPeek(t *testing.T) {
	r, err := NewReader(bytes.NewReader(compress(container([]byte("MD"), []byte("MDMPxyz")))), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, IsMinidump(r.Peek(4)))
	}
	if len(got) != 2 || got[0] || !got[1] {
		t.Errorf("minidump by peek: %v", got)
	}
}

// FuzzReader: the real container is TestFixture's; with its 43 KB as a
// seed the fuzzing engine ran a few inputs a minute here, so the seed is a
// small container written as CrashReportClient writes it.
func FuzzReader(f *testing.F) {
	f.Add(rt.Unreal(rt.UnrealContainer("UE4CC-Windows-X_0000", []rt.UnrealFile{
		{Name: "CrashContext.runtime-xml", Data: []byte("<FGenericCrashContext/>")}, {Name: "Game.log", Data: []byte("log\n")},
		{Name: "UE4Minidump.dmp", Data: []byte("MDMP\x93\xa7\x00\x00")}})).Body)
	f.Add(compress(container([]byte("<x/>"), []byte("MDMP1234"))))
	f.Add(compress(header(0, 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 4 << 20
		r, files, err := readAll(b, max)
		if r != nil && r.Offset() > max {
			t.Fatalf("read %d bytes past the limit", r.Offset())
		}
		if err == nil && len(files) == 0 {
			t.Fatal("a container without files was accepted")
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unclassified error %v", err)
		}
		for _, e := range files {
			if int64(len(e.Data)) != e.Size {
				t.Fatalf("%s: %d bytes, declared %d", e.Name, len(e.Data), e.Size)
			}
		}
	})
}
