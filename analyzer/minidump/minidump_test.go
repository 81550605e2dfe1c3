package minidump

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// publicFacts are the header facts recorded for each public dump.
type publicFacts struct {
	CPUArch     string            `json:"cpu_arch"`
	OS          string            `json:"os"`
	OSVersion   string            `json:"os_version"`
	CSDVersion  string            `json:"csd_version"`
	Errors      []string          `json:"errors"`
	Threads     int               `json:"threads"`
	Modules     int               `json:"modules"`
	ModuleNames []string          `json:"module_names"`
	MainBase    string            `json:"main_module_base"`
	MainSize    string            `json:"main_module_size"`
	PID         *uint32           `json:"pid"`
	NCPUs       int               `json:"ncpus"`
	Timestamp   uint32            `json:"timestamp"`
	MemRanges   int               `json:"memory_list_ranges"`
	MemInfo     int               `json:"memory_info_entries"`
	ThreadNames map[string]string `json:"thread_name_map"`
	Streams     []string          `json:"streams"`
	Exception   *struct {
		Address  string   `json:"address"`
		Code     string   `json:"code"`
		Flags    string   `json:"flags"`
		Params   []string `json:"params"`
		ThreadID string   `json:"thread_id"`
	} `json:"exception"`
}

func hexNum(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("bad hex %q", s)
	}
	return v
}

func openFile(t testing.TB, path string) (*Dump, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	return Open(f, st.Size())
}

// TestPublicFacts checks every fact recorded for the public dumps.
func TestPublicFacts(t *testing.T) {
	root := testdata.Path(t, "public")
	raw, err := os.ReadFile(filepath.Join(root, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var facts map[string]publicFacts
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatal(err)
	}
	archNames := map[string]string{"x86": "x86", "amd64": "amd64", "arm64": "arm64"}
	for rel, f := range facts {
		t.Run(rel, func(t *testing.T) {
			d, err := openFile(t, filepath.Join(root, rel))
			if len(f.Errors) > 0 || f.CPUArch == "" {
				// Malformed on purpose: a clear error or a partial report.
				if err == nil && len(d.Warnings) == 0 && len(d.Threads) > 0 {
					t.Errorf("malformed file read without any warning")
				}
				if err != nil && !strings.Contains(err.Error(), "offset") && !errors.Is(err, ErrNotMinidump) {
					t.Errorf("error does not name an offset: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := d.Arch().String(); got != archNames[f.CPUArch] {
				t.Errorf("arch %s, want %s", got, f.CPUArch)
			}
			if len(d.Threads) != f.Threads {
				t.Errorf("threads %d, want %d", len(d.Threads), f.Threads)
			}
			if len(d.Modules) != f.Modules {
				t.Errorf("modules %d, want %d", len(d.Modules), f.Modules)
			}
			for i, n := range f.ModuleNames {
				if i < len(d.Modules) && d.Modules[i].Name != n {
					t.Errorf("module %d name %q, want %q", i, d.Modules[i].Name, n)
				}
			}
			if f.MainBase != "" && len(d.Modules) > 0 {
				if d.Modules[0].Base != hexNum(t, f.MainBase) || uint64(d.Modules[0].Size) != hexNum(t, f.MainSize) {
					t.Errorf("main module %#x+%#x, want %s+%s", d.Modules[0].Base, d.Modules[0].Size, f.MainBase, f.MainSize)
				}
			}
			if f.PID != nil && (d.MiscInfo == nil || d.MiscInfo.ProcessID != *f.PID) {
				t.Errorf("pid mismatch, want %d", *f.PID)
			}
			if d.Header.TimeDateStamp != f.Timestamp {
				t.Errorf("timestamp %d, want %d", d.Header.TimeDateStamp, f.Timestamp)
			}
			if si := d.SystemInfo; si != nil {
				if si.OS() != strings.Replace(f.OS, "macOS", "Mac OS X", 1) {
					t.Errorf("os %q, want %q", si.OS(), f.OS)
				}
				if f.NCPUs != 0 && int(si.NumberOfProcessors) != f.NCPUs {
					t.Errorf("cpus %d, want %d", si.NumberOfProcessors, f.NCPUs)
				}
				if f.OSVersion != "" && !strings.HasPrefix(si.OSVersion(), f.OSVersion) {
					t.Errorf("os version %q, want %q", si.OSVersion(), f.OSVersion)
				}
				if f.CSDVersion != "" && !strings.Contains(si.CSDVersion, f.CSDVersion) {
					t.Errorf("csd %q, want %q", si.CSDVersion, f.CSDVersion)
				}
			}
			if f.MemInfo != 0 && len(d.MemoryInfo) != f.MemInfo {
				t.Errorf("memory info entries %d, want %d", len(d.MemoryInfo), f.MemInfo)
			}
			for id, name := range f.ThreadNames {
				if got := d.ThreadNames[uint32(hexNum(t, id))]; got != name {
					t.Errorf("thread %s name %q, want %q", id, got, name)
				}
			}
			var names []string
			for _, s := range d.Streams {
				names = append(names, s.Type.String())
			}
			for _, s := range f.Streams {
				if strings.HasPrefix(s, "0x") || s == "Unused" {
					continue
				}
				found := false
				for _, n := range names {
					found = found || n == s || strings.HasPrefix(s, n)
				}
				if !found {
					t.Errorf("stream %s not listed (have %v)", s, names)
				}
			}
			if e := f.Exception; e != nil {
				x := d.Exception
				if x == nil {
					t.Fatal("no exception")
				}
				if uint64(x.Code) != hexNum(t, e.Code) || uint64(x.ThreadID) != hexNum(t, e.ThreadID) ||
					x.Address != hexNum(t, e.Address) || uint64(x.Flags) != hexNum(t, e.Flags) {
					t.Errorf("exception %#x tid %#x at %#x flags %#x, want %+v", x.Code, x.ThreadID, x.Address, x.Flags, *e)
				}
				if len(x.Parameters) != len(e.Params) {
					t.Errorf("exception params %v, want %v", x.Parameters, e.Params)
				} else {
					for i, p := range e.Params {
						if x.Parameters[i] != hexNum(t, p) {
							t.Errorf("param %d %#x, want %s", i, x.Parameters[i], p)
						}
					}
				}
				if x.Context == nil && f.OS == "Windows NT" {
					t.Errorf("exception context unreadable: %v", x.ContextErr)
				}
			}
			for i, th := range d.Threads {
				if th.Context == nil && f.OS == "Windows NT" {
					t.Errorf("thread %d context: %v", i, th.ContextErr)
				}
			}
		})
	}
}

// TestMinidump2 checks values Breakpad's minidump_dump printed for minidump2.dmp.
func TestMinidump2(t *testing.T) {
	d, err := openFile(t, testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata", "minidump2.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	m := d.Modules[0]
	if m.Name != `c:\test_app.exe` || m.CodeID() != "45D35F6C2d000" || m.DebugID() != "5A9832E5287241C1838ED98914E9B7FF1" || m.DebugFile() != "test_app.pdb" {
		t.Errorf("module 0: %q %s %s %s", m.Name, m.CodeID(), m.DebugID(), m.DebugFile())
	}
	if v := d.Modules[1].Version.FileVersion(); v != "5.1.2600.2180" {
		t.Errorf("ntdll version %s", v)
	}
	c := d.Exception.Context.X86
	if c.Eip != 0x0040429e || c.Esp != 0x0012fe84 || c.Ebp != 0x0012fe88 || c.Eax != 0x45 {
		t.Errorf("exception context %+v", *c)
	}
	if got := d.SystemInfo.CPUInfo(); got != "GenuineIntel family 6 model 13 stepping 8" {
		t.Errorf("cpu info %q", got)
	}
	// Stack memory is readable through the memory index.
	if v, ok := d.ReadU32(0x0012fe88); !ok || v == 0 {
		t.Errorf("stack read at ebp: %#x %v", v, ok)
	}
}

// TestSystemMemory checks the commit figures a Windows 10 dump carries.
func TestSystemMemory(t *testing.T) {
	d, err := openFile(t, testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata", "thread_name_list.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	sm := d.SystemMemory
	if sm == nil || d.VmCounters == nil {
		t.Fatal("SystemMemoryInfo or ProcessVmCounters missing")
	}
	if sm.PageSize != 4096 || sm.CommitLimitBytes == 0 || sm.CommittedBytes == 0 || sm.CommittedBytes > sm.CommitLimitBytes*2 {
		t.Errorf("implausible system memory: %+v", *sm)
	}
	if d.VmCounters.PrivateUsage == 0 {
		t.Errorf("no private usage: %+v", *d.VmCounters)
	}
}

// TestMalformed feeds truncations and junk; each must give an error or a
// partial result, never a panic.
func TestMalformed(t *testing.T) {
	good, err := os.ReadFile(testdata.Path(t, "public", "google__breakpad", "src", "processor", "testdata", "minidump2.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, I am not a dump"),
		"header":    good[:32],
		"directory": good[:80],
		"half":      good[:len(good)/2],
	}
	huge := append([]byte{}, good[:32]...)
	le.PutUint32(huge[8:], 0xFFFFFFFF) // stream count
	cases["huge stream count"] = huge
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := Open(bytes.NewReader(b), int64(len(b)))
			if err == nil && len(d.Warnings) == 0 {
				t.Errorf("no error and no warning")
			}
			if err != nil && !errors.Is(err, ErrNotMinidump) && !strings.Contains(err.Error(), "offset") {
				t.Errorf("error should name an offset: %v", err)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	root := testdata.Dir(f)
	for _, p := range []string{
		"public/google__breakpad/src/processor/testdata/minidump2.dmp",
		"public/getsentry__sentry-native/tests/fixtures/minidump.dmp",
		"public/google__breakpad/src/processor/testdata/tiny-exe-with-cet-xsave-x86.dmp",
		"public/rust-minidump__rust-minidump/testdata/invalid-range.dmp",
		"public/radareorg__radare2-testbins/mdmp/trunc_memory64.dmp",
		"public/rust-minidump__rust-minidump/testdata/simple-crashpad.dmp",
	} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Half the inputs go through a Mapped reader, whose bytes the
		// parser lends out and must never change.
		var r io.ReaderAt = bytes.NewReader(b)
		var orig []byte
		if len(b)%2 == 1 {
			orig = bytes.Clone(b)
			r = mappedBytes{bytes.NewReader(b), b}
			defer func() {
				if !bytes.Equal(b, orig) {
					t.Fatal("parsing changed the mapped bytes")
				}
			}()
		}
		d, err := Open(r, int64(len(b)))
		if err != nil {
			return
		}
		buf := make([]byte, 64)
		for _, r := range d.MemoryRanges() {
			d.ReadMemory(r.Start, buf)
			d.ReadMemory(r.End()-1, buf)
		}
		for _, th := range d.Threads {
			if th.Context != nil {
				th.Context.Registers()
			}
		}
	})
}

// mappedBytes is a Mapped reader over a byte slice, as a memory-mapped
// file is.
type mappedBytes struct {
	*bytes.Reader
	b []byte
}

func (m mappedBytes) Bytes() []byte { return m.b }

// TestFunctionTableUnity reads the 46 dynamic function tables Mono
// registered in the Unity crash: the one over 0x21E34380000 covers the JIT
// frames of Player.log's stack.
func TestFunctionTableUnity(t *testing.T) {
	d, err := openFile(t, filepath.Join(testdata.Dir(t), "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.FunctionTables) != 46 {
		t.Fatalf("%d tables, want 46", len(d.FunctionTables))
	}
	found := false
	for _, ft := range d.FunctionTables {
		if ft.EntrySize != 12 || len(ft.Entries) != int(ft.EntryCount)*12 {
			t.Errorf("table %#x: %d bytes for %d entries of %d", ft.MinimumAddress, len(ft.Entries), ft.EntryCount, ft.EntrySize)
		}
		if ft.MinimumAddress != 0x21E34380000 {
			continue
		}
		found = true
		if ft.MaximumAddress != 0x21E34390000 || ft.BaseAddress != 0x21E34380000 || ft.EntryCount != 186 {
			t.Errorf("table %+v", ft)
		}
	}
	if !found {
		t.Error("no table at 0x21E34380000")
	}
}

// FuzzFunctionTable parses a FunctionTable stream of arbitrary bytes inside
// an otherwise valid header: counts and sizes must be checked against the
// stream before anything is allocated or read.
func FuzzFunctionTable(f *testing.F) {
	d, err := openFile(f, filepath.Join(testdata.Dir(f), "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	if err != nil {
		f.Fatal(err)
	}
	s, _ := d.Stream(FunctionTableStream)
	b, err := d.ReadStream(s, 4096)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(b), uint32(len(b)))
	f.Add([]byte{24, 0, 0, 0, 32, 0, 0, 0, 0x88, 0, 0, 0, 12, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, uint32(24))
	f.Fuzz(func(t *testing.T, stream []byte, size uint32) {
		// MINIDUMP_HEADER with one directory entry, then the stream.
		hdr := make([]byte, 32+12)
		copy(hdr, "MDMP")
		le.PutUint32(hdr[4:], 0xa793)
		le.PutUint32(hdr[8:], 1)
		le.PutUint32(hdr[12:], 32)
		le.PutUint32(hdr[32:], uint32(FunctionTableStream))
		le.PutUint32(hdr[36:], size)
		le.PutUint32(hdr[40:], 44)
		b := append(hdr, stream...)
		d, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, ft := range d.FunctionTables {
			if uint64(len(ft.Entries)) != uint64(ft.EntryCount)*uint64(ft.EntrySize) || len(ft.Entries) > len(b) {
				t.Fatalf("%d entry bytes for %d entries of %d", len(ft.Entries), ft.EntryCount, ft.EntrySize)
			}
		}
	})
}
