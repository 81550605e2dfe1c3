package pe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedTestdata is the shared test data directory (../shared/testdata).
func sharedTestdata(t testing.TB) string { return testdata.Dir(t) }

// testImages lists the Wine DLLs and the scenario exes.
func testImages(t testing.TB) []string {
	wine := filepath.Join(sharedTestdata(t), "wine", "dumps")
	dlls, _ := filepath.Glob(filepath.Join(wine, "_wine_dlls", "x64", "*.dll"))
	exes, _ := filepath.Glob(filepath.Join(wine, "*", "*.exe"))
	all := append(dlls, exes...)
	if len(all) < 20 {
		t.Fatalf("expected the Wine DLLs and exes, found %d files", len(all))
	}
	return all
}

func openTestFile(t testing.TB, path string) (*Image, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return im, data
}

// readobj is what the tests take from llvm-readobj's output.
type readobj struct {
	Machine, Characteristics  uint64
	TimeDateStamp             uint64
	Magic, ImageBase          uint64
	SizeOfImage               uint64
	StackReserve, StackCommit uint64
	Dirs                      [][2]uint64
	Sections                  []Section
	CV                        *CodeViewInfo
	Exports                   []Export
}

var parenHex = regexp.MustCompile(`\(0x([0-9A-Fa-f]+)\)`)

func readGolden(t testing.TB, name string) *bufio.Scanner {
	f, err := os.Open(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(z)
	s.Buffer(nil, 1<<20)
	return s
}

func num(t testing.TB, s string) uint64 {
	t.Helper()
	if m := parenHex.FindStringSubmatch(s); m != nil {
		s = "0x" + m[1]
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return v
}

func parseReadobj(t testing.TB, base string) *readobj {
	t.Helper()
	sc := readGolden(t, base+".readobj.txt.gz")
	r := &readobj{}
	block := ""
	var dirRVA uint64
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "ImageFileHeader {", "ImageOptionalHeader {", "DOSHeader {", "DebugEntry {", "DataDirectory {":
			block = strings.TrimSuffix(line, " {")
			continue
		case "Section {":
			block = "Section"
			r.Sections = append(r.Sections, Section{})
			continue
		case "Export {":
			block = "Export"
			r.Exports = append(r.Exports, Export{})
			continue
		case "PDBInfo {":
			block = "PDBInfo"
			r.CV = &CodeViewInfo{Format: "RSDS"}
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if rest, found := strings.CutPrefix(line, "Characteristics ["); found {
			key, val, ok = "Characteristics [", rest, true
		}
		if !ok {
			key, val, ok = strings.Cut(line, ":")
			if !ok {
				continue
			}
		}
		switch block {
		case "ImageFileHeader":
			switch key {
			case "Machine":
				r.Machine = num(t, val)
			case "TimeDateStamp":
				r.TimeDateStamp = num(t, val)
			case "Characteristics [":
				r.Characteristics = num(t, val)
			}
		case "ImageOptionalHeader":
			switch key {
			case "Magic":
				r.Magic = num(t, val)
			case "ImageBase":
				r.ImageBase = num(t, val)
			case "SizeOfImage":
				r.SizeOfImage = num(t, val)
			case "SizeOfStackReserve":
				r.StackReserve = num(t, val)
			case "SizeOfStackCommit":
				r.StackCommit = num(t, val)
			}
		case "DataDirectory":
			if strings.HasSuffix(key, "RVA") {
				dirRVA = num(t, val)
			} else if strings.HasSuffix(key, "Size") {
				r.Dirs = append(r.Dirs, [2]uint64{dirRVA, num(t, val)})
			}
		case "Section":
			s := &r.Sections[len(r.Sections)-1]
			switch key {
			case "Name":
				s.Name, _, _ = strings.Cut(val, " (")
			case "VirtualSize":
				s.VirtualSize = uint32(num(t, val))
			case "VirtualAddress":
				s.VirtualAddress = uint32(num(t, val))
			case "RawDataSize":
				s.SizeOfRawData = uint32(num(t, val))
			case "PointerToRawData":
				s.PointerToRawData = uint32(num(t, val))
			case "Characteristics [":
				s.Characteristics = uint32(num(t, val))
			}
		case "PDBInfo":
			switch key {
			case "PDBGUID":
				b, err := hex.DecodeString(strings.NewReplacer("(", "", ")", "", " ", "").Replace(val))
				if err != nil || len(b) != 16 {
					t.Fatalf("PDBGUID %q", val)
				}
				copy(r.CV.GUID[:], b)
			case "PDBAge":
				r.CV.Age = uint32(num(t, val))
			case "PDBFileName":
				r.CV.PDBName = val
			}
		case "Export":
			e := &r.Exports[len(r.Exports)-1]
			switch key {
			case "Ordinal":
				e.Ordinal = uint32(num(t, val))
			case "Name":
				e.Name = val
			case "RVA":
				e.RVA = uint32(num(t, val))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// forwarders reads llvm-objdump -p's export table: ordinal -> forwarder.
func forwarders(t testing.TB, base string) map[uint32]string {
	sc := readGolden(t, base+".exports.txt.gz")
	re := regexp.MustCompile(`^\s*(\d+)\s+(.*) \(forwarded to (.*)\)$`)
	out := map[uint32]string{}
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out[uint32(num(t, m[1]))] = m[3]
		}
	}
	return out
}

// TestAgainstReadobj compares every test image with llvm-readobj's and
// llvm-objdump's reading of it (testdata/golden, see gen_golden.sh).
func TestAgainstReadobj(t *testing.T) {
	for _, path := range testImages(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			im, _ := openTestFile(t, path)
			want := parseReadobj(t, base)
			if got := uint64(im.Machine()); got != want.Machine {
				t.Errorf("Machine = 0x%x, want 0x%x", got, want.Machine)
			}
			if got := uint64(im.TimeDateStamp()); got != want.TimeDateStamp {
				t.Errorf("TimeDateStamp = 0x%x, want 0x%x", got, want.TimeDateStamp)
			}
			if got := uint64(im.Characteristics()); got != want.Characteristics {
				t.Errorf("Characteristics = 0x%x, want 0x%x", got, want.Characteristics)
			}
			if got := im.LargeAddressAware(); got != (want.Characteristics&0x20 != 0) {
				t.Errorf("LargeAddressAware = %v", got)
			}
			if im.Is64() != (want.Magic == 0x20B) {
				t.Errorf("Is64 = %v, magic 0x%x", im.Is64(), want.Magic)
			}
			if im.ImageBase() != want.ImageBase || uint64(im.SizeOfImage()) != want.SizeOfImage {
				t.Errorf("ImageBase, SizeOfImage = 0x%x, 0x%x, want 0x%x, 0x%x", im.ImageBase(), im.SizeOfImage(), want.ImageBase, want.SizeOfImage)
			}
			if im.SizeOfStackReserve() != want.StackReserve || im.SizeOfStackCommit() != want.StackCommit {
				t.Errorf("stack reserve/commit = %d/%d, want %d/%d", im.SizeOfStackReserve(), im.SizeOfStackCommit(), want.StackReserve, want.StackCommit)
			}
			if len(want.Dirs) != 16 {
				t.Fatalf("golden has %d data directories", len(want.Dirs))
			}
			for i, d := range want.Dirs {
				if rva, size := im.DataDirectory(i); uint64(rva) != d[0] || uint64(size) != d[1] {
					t.Errorf("DataDirectory(%d) = 0x%x,0x%x want 0x%x,0x%x", i, rva, size, d[0], d[1])
				}
			}
			if diff := cmp.Diff(want.Sections, im.Sections()); diff != "" {
				t.Errorf("Sections (-readobj +got):\n%s", diff)
			}
			cv, ok := im.CodeViewRecord()
			if want.CV == nil {
				if ok {
					t.Errorf("CodeView = %+v, readobj has none", cv)
				}
			} else if diff := cmp.Diff(*want.CV, cv); diff != "" {
				t.Errorf("CodeView (-readobj +got):\n%s", diff)
			}
			checkExports(t, im, want.Exports, forwarders(t, base))
		})
	}
}

func checkExports(t *testing.T, im *Image, want []Export, fwd map[uint32]string) {
	t.Helper()
	got := im.Exports()
	byOrd := map[uint32][]Export{}
	for _, e := range got {
		byOrd[e.Ordinal] = append(byOrd[e.Ordinal], e)
	}
	if len(byOrd) != len(want) {
		t.Errorf("%d exported ordinals, readobj lists %d", len(byOrd), len(want))
	}
	for _, w := range want {
		es := byOrd[w.Ordinal]
		found := false
		for _, e := range es {
			if e.RVA == w.RVA && (w.Name == "" || e.Name == w.Name) && e.Forwarder == fwd[w.Ordinal] {
				found = true
			}
		}
		if !found {
			t.Errorf("export %+v (forwarder %q): got %+v", w, fwd[w.Ordinal], es)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].RVA < got[i-1].RVA {
			t.Fatalf("exports not sorted at %d", i)
		}
	}
}

func TestExportAt(t *testing.T) {
	im, _ := openTestFile(t, filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64", "kernelbase.dll"))
	exps := im.Exports()
	var e Export
	for _, x := range exps {
		if x.Name == "GetLastError" {
			e = x
		}
	}
	if e.Name == "" {
		t.Fatal("no GetLastError export")
	}
	tests := []struct {
		rva      uint32
		wantName string
		wantOff  uint32
		wantOK   bool
	}{
		{e.RVA, "GetLastError", 0, true},
		{e.RVA + 3, "GetLastError", 3, true},
		{0, "", 0, false},
	}
	for _, tt := range tests {
		got, off, ok := im.ExportAt(tt.rva)
		if ok != tt.wantOK || (ok && (got.Name != tt.wantName || off != tt.wantOff)) {
			t.Errorf("ExportAt(0x%x) = %q+0x%x %v, want %q+0x%x %v", tt.rva, got.Name, off, ok, tt.wantName, tt.wantOff, tt.wantOK)
		}
	}
	// Never a forwarder.
	for _, x := range exps {
		if got, _, ok := im.ExportAt(x.RVA); ok && got.Forwarder != "" {
			t.Fatalf("ExportAt(0x%x) returned forwarder %+v", x.RVA, got)
		}
	}
}

// TestFacts checks the exes against what facts.json recorded when they were
// built and run.
func TestFacts(t *testing.T) {
	facts, _ := filepath.Glob(filepath.Join(sharedTestdata(t), "wine", "dumps", "*", "facts.json"))
	n := 0
	for _, fp := range facts {
		raw, err := os.ReadFile(fp)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Runs map[string]struct {
				Exe      string `json:"exe"`
				PEHeader *struct {
					SizeOfStackReserve uint64
					SizeOfStackCommit  uint64
					TimeDateStamp      uint32
					Machine            string `json:"machine"`
				} `json:"pe_header"`
				CodeView *struct {
					GUID        string `json:"guid"`
					Age         uint32 `json:"age"`
					PDBFileName string `json:"pdb_file_name"`
					SymstoreKey string `json:"symstore_key"`
				} `json:"exe_codeview"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", fp, err)
		}
		for name, run := range f.Runs {
			if run.Exe == "" || run.PEHeader == nil {
				continue
			}
			n++
			t.Run(name, func(t *testing.T) {
				im, _ := openTestFile(t, filepath.Join(filepath.Dir(fp), run.Exe))
				h := run.PEHeader
				if got := fmt.Sprintf("0x%x", im.Machine()); got != h.Machine {
					t.Errorf("Machine = %s, want %s", got, h.Machine)
				}
				if im.SizeOfStackReserve() != h.SizeOfStackReserve || im.SizeOfStackCommit() != h.SizeOfStackCommit || im.TimeDateStamp() != h.TimeDateStamp {
					t.Errorf("reserve/commit/timestamp = %d/%d/%d, want %+v", im.SizeOfStackReserve(), im.SizeOfStackCommit(), im.TimeDateStamp(), *h)
				}
				if run.CodeView == nil {
					if _, _, _, ok := im.CodeView(); ok {
						t.Errorf("unexpected CodeView record")
					}
					return
				}
				cv := run.CodeView
				name, _, age, ok := im.CodeView()
				if !ok || name != cv.PDBFileName || age != cv.Age {
					t.Errorf("CodeView = %q age %d ok %v, want %q age %d", name, age, ok, cv.PDBFileName, cv.Age)
				}
				if got, want := im.DebugID(), fmt.Sprintf("%s%x", cv.GUID, cv.Age); got != want {
					t.Errorf("DebugID = %s, want %s", got, want)
				}
				if got := im.PDBBaseName() + "/" + im.DebugID() + "/" + im.PDBBaseName(); got != cv.SymstoreKey {
					t.Errorf("symstore key = %s, want %s", got, cv.SymstoreKey)
				}
			})
		}
	}
	if n < 15 {
		t.Errorf("only %d runs with PE facts", n)
	}
}

func TestCodeID(t *testing.T) {
	im, _ := openTestFile(t, filepath.Join(sharedTestdata(t), "wine", "dumps", "av_threads", "av_threads_x64_pdb.exe"))
	// TimeDateStamp 1795457796 = 0x6B048304, SizeOfImage 0x29000.
	if got, want := im.CodeID(), "6B04830429000"; got != want {
		t.Errorf("CodeID = %s, want %s", got, want)
	}
}

func TestDebugIDFormats(t *testing.T) {
	tests := []struct {
		cv   CodeViewInfo
		want string
	}{
		{CodeViewInfo{Format: "RSDS", GUID: [16]byte{0xE5, 0x32, 0x98, 0x5A, 0x72, 0x28, 0xC1, 0x41, 0x83, 0x8E, 0xD9, 0x89, 0x14, 0xE9, 0xB7, 0xFF}, Age: 1}, "5A9832E5287241C1838ED98914E9B7FF1"},
		{CodeViewInfo{Format: "RSDS", Age: 0x1a}, "000000000000000000000000000000001a"},
		{CodeViewInfo{Format: "NB10", Signature: 0x3A5B1C2D, Age: 2}, "3A5B1C2D2"},
	}
	for _, tt := range tests {
		if got := tt.cv.DebugID(); got != tt.want {
			t.Errorf("%+v.DebugID() = %s, want %s", tt.cv, got, tt.want)
		}
	}
}

// TestReadRVA checks ReadRVA against the file bytes: each section's raw data
// at its VirtualAddress, zeros after it, and an error past the last section.
func TestReadRVA(t *testing.T) {
	for _, path := range testImages(t)[:9] {
		im, data := openTestFile(t, path)
		for _, s := range im.Sections() {
			buf := make([]byte, alignUp(s.mappedSize(), 0x1000))
			if n, err := im.ReadRVA(s.VirtualAddress, buf); err != nil || n != len(buf) {
				t.Fatalf("%s: ReadRVA(%s) = %d, %v", path, s.Name, n, err)
			}
			raw := min(s.SizeOfRawData, s.mappedSize())
			if !bytes.Equal(buf[:raw], data[s.PointerToRawData:s.PointerToRawData+raw]) {
				t.Errorf("%s: section %s bytes differ from the file", path, s.Name)
			}
			if bytes.ContainsFunc(buf[raw:], func(r rune) bool { return r != 0 }) {
				t.Errorf("%s: section %s not zero-filled after raw data", path, s.Name)
			}
			if s.Executable() != im.IsExecutableRVA(s.VirtualAddress) {
				t.Errorf("%s: IsExecutableRVA(%s) disagrees with the section", path, s.Name)
			}
		}
		buf := make([]byte, 16)
		if n, err := im.ReadRVA(im.SizeOfImage()-8, buf); n != 8 || !errors.Is(err, ErrUnmapped) {
			t.Errorf("%s: read across SizeOfImage = %d, %v", path, n, err)
		}
		hdr := make([]byte, 64)
		if _, err := im.ReadRVA(0, hdr); err != nil || !bytes.Equal(hdr, data[:64]) {
			t.Errorf("%s: headers at rva 0: %v", path, err)
		}
	}
}

func TestLongSectionNames(t *testing.T) {
	im, _ := openTestFile(t, filepath.Join(sharedTestdata(t), "wine", "dumps", "av_threads", "av_threads_x64_mingw.exe"))
	var names []string
	for _, s := range im.Sections() {
		names = append(names, s.Name)
	}
	if !strings.Contains(strings.Join(names, " "), ".debug_info") {
		t.Errorf("sections %v: no .debug_info", names)
	}
}

func TestVersionInfo(t *testing.T) {
	dir := filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64")
	tests := []struct {
		dll, want string
	}{
		{"ntdll.dll", "6.1.7601.24059"},
		{"kernel32.dll", "10.0.18362.1350"},
		{"version.dll", "5.1.2600.2180"},
		{"msvcrt.dll", "7.0.2600.2180"},
		{"ucrtbase.dll", "10.0.14393.2247"},
	}
	for _, tt := range tests {
		im, _ := openTestFile(t, filepath.Join(dir, tt.dll))
		if got, ok := im.VersionInfo(); !ok || got != tt.want {
			t.Errorf("%s: VersionInfo = %q %v, want %q", tt.dll, got, ok, tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		size int64
		want error
	}{
		{"empty", nil, 0, ErrNotPE},
		{"not MZ", bytes.Repeat([]byte{'x'}, 512), 512, ErrNotPE},
		{"too large", nil, MaxImageSize + 1, ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := Open(bytes.NewReader(tt.data), tt.size)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Shorter than claimed.
	if _, err := Open(bytes.NewReader([]byte("MZ")), 4096); err == nil || !errors.Is(err, io.EOF) {
		t.Errorf("short file: err = %v", err)
	}
}
