package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fill sets every field reachable from v to a non-zero value, so that a
// field added to the report but not to AppendJSON fails the test below.
func fill(v reflect.Value, seed int) {
	if v.Type() == reflect.TypeFor[RawJSON]() {
		v.SetBytes([]byte(`[{"WriteFailed":"EPERM"},"x"]`))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), seed+i)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), seed+i)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i, k := range []string{"zeta", "alpha<&>", "rip"} {
			key := reflect.New(v.Type().Key()).Elem()
			key.SetString(k)
			val := reflect.New(v.Type().Elem()).Elem()
			fill(val, seed+i)
			m.SetMapIndex(key, val)
		}
		v.Set(m)
	case reflect.String:
		v.SetString([]string{"plain", `quote" back\ slash`, "a<b>&c", "caf\u00e9 \u2028", "tab\there\n"}[seed%5])
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed*7919 + 1))
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed)*0x9e3779b97f4a7c15 | 1)
	case reflect.Float64:
		v.SetFloat([]float64{33.3333333, 1e-7, 100, 0.5, 2e21}[seed%5])
	}
}

// plain has Report's fields and none of its methods: encoding/json's
// reflective encoding of it is the reference AppendJSON must match.
type plain Report

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	var empty Report
	var full Report
	fill(reflect.ValueOf(&full).Elem(), 0)
	var partial Report
	fill(reflect.ValueOf(&partial).Elem(), 3)
	partial.Threads[0].Frames[1] = Frame{}
	partial.Threads[1].Registers = nil
	partial.MemorySummary.Usage[0].PctBusy = 0
	for i := 0; i < 60; i++ { // more registers than appendAddrMap's stack array
		partial.Threads[0].Registers[fmt.Sprintf("r%d", 97*i%61)] = Addr(i)
	}
	for name, r := range map[string]*Report{"empty": &empty, "full": &full, "partial": &partial} {
		want, err := json.Marshal((*plain)(r))
		if err != nil {
			t.Fatal(err)
		}
		got := r.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: differs at byte %d:\n got %.120s\nwant %.120s", name, i, got[i:], want[i:])
		}
		if !json.Valid(got) {
			t.Errorf("%s: invalid JSON", name)
		}
	}
}

// frameJSON is the reference for the frame's dt tags: a frame as
// encoding/json writes it with absent values as null pointers.
type frameJSON struct {
	Frame           int                   `json:"frame"`
	Trust           Trust                 `json:"trust"`
	Offset          Addr                  `json:"offset"`
	Module          *string               `json:"module"`
	ModuleOffset    *Addr                 `json:"module_offset"`
	Function        *string               `json:"function"`
	FunctionOffset  *Addr                 `json:"function_offset"`
	File            *string               `json:"file"`
	Line            *int                  `json:"line"`
	Inlines         []inlineJSON          `json:"inlines"`
	MissingSymbols  bool                  `json:"missing_symbols"`
	SymbolSource    *string               `json:"symbol_source"`
	SP              Addr                  `json:"sp"`
	Registers       map[string]Addr       `json:"registers,omitempty"`
	UnloadedModules []FrameUnloadedModule `json:"unloaded_modules"`
	Note            string                `json:"note,omitempty"`
	Locals          []Local               `json:"locals,omitempty"`
}

// inlineJSON is the reference for an inline frame: file and line null when
// unknown, as minidump-stackwalk writes them.
type inlineJSON struct {
	Function string  `json:"function"`
	File     *string `json:"file"`
	Line     *int    `json:"line"`
}

func inlinesJSON(fs []InlineFrame) []inlineJSON {
	var out []inlineJSON
	for _, f := range fs {
		j := inlineJSON{Function: f.Function}
		if f.File != "" {
			j.File = &f.File
		}
		if f.Line != 0 {
			j.Line = &f.Line
		}
		out = append(out, j)
	}
	return out
}

// TestFrameMatchesEncodingJSON checks the frame encoder (dt:"null" and
// dt:"nullunless") against encoding/json on frameJSON.
func TestFrameMatchesEncodingJSON(t *testing.T) {
	var full Frame
	fill(reflect.ValueOf(&full).Elem(), 1)
	inl := Frame{Frame: 1, Trust: TrustCFI, Module: "a.exe", Function: "main",
		Inlines: []InlineFrame{{Function: "outer", File: "a.c", Line: 3}, {Function: "inner"}, {Function: "f", File: "b.c"}}}
	for _, f := range []Frame{{}, full, {Frame: 2, Trust: TrustScan, Offset: 0x10, Module: "m.dll"}, inl} {
		j := frameJSON{Frame: f.Frame, Trust: f.Trust, Offset: f.Offset, MissingSymbols: f.MissingSymbols, SP: f.SP,
			Registers: f.Registers, UnloadedModules: f.UnloadedModules, Note: f.Note, Inlines: inlinesJSON(f.Inlines),
			Locals: f.Locals}
		if f.Module != "" {
			j.Module, j.ModuleOffset = &f.Module, &f.ModuleOffset
		}
		if f.Function != "" {
			j.Function, j.FunctionOffset = &f.Function, &f.FunctionOffset
		}
		if f.File != "" {
			j.File = &f.File
		}
		if f.Line != 0 {
			j.Line = &f.Line
		}
		if f.SymbolSource != "" {
			j.SymbolSource = &f.SymbolSource
		}
		if len(f.Registers) == 0 {
			j.Registers = nil
		}
		want, _ := json.Marshal(j)
		if got, _ := f.MarshalJSON(); !bytes.Equal(got, want) {
			t.Errorf("frame:\n got %s\nwant %s", got, want)
		}
	}
}

// TestPaddedAddresses: an x86 report writes every address with 8 digits and
// an amd64 one with 16, as minidump-stackwalk does; otherwise the bytes are
// encoding/json's.
func TestPaddedAddresses(t *testing.T) {
	var r Report
	fill(reflect.ValueOf(&r).Elem(), 4)
	r.CrashInfo.Address = AddrPtr(0x45)
	r.Threads[0].Frames[0] = Frame{Offset: 0x40429e, Module: "a.exe", ModuleOffset: 0x429e, Registers: map[string]Addr{"eip": 0x40429e}}
	ref, _ := json.Marshal((*plain)(&r))
	for arch, digits := range map[string]int{"x86": 8, "amd64": 16} {
		r.SystemInfo.CPUArch = arch
		want, _ := json.Marshal((*plain)(&r))
		got := r.AppendJSON(nil)
		short := regexp.MustCompile(`"0x[0-9a-f]{1,` + strconv.Itoa(digits-1) + `}"`)
		for _, s := range []string{`"address":"0x45"`, `"offset":"0x40429e"`, `"eip":"0x40429e"`} {
			if !bytes.Contains(ref, []byte(s)) {
				t.Fatalf("reference lacks %s", s)
			}
		}
		if m := short.Find(got); m != nil && !bytes.Contains(want, m) {
			// Only Hex64 flag words and Hex32 values may stay short, and
			// encoding/json writes those the same way.
			t.Errorf("%s: unpadded address %s", arch, m)
		}
		pad := func(s string) string {
			return `"0x` + strings.Repeat("0", digits-(len(s)-4)) + s[3:]
		}
		for _, s := range []string{`"0x45"`, `"0x40429e"`, `"0x429e"`} {
			if !bytes.Contains(got, []byte(pad(s))) {
				t.Errorf("%s: no %s", arch, pad(s))
			}
		}
		// Stripping the padding gives encoding/json's bytes back.
		strip := regexp.MustCompile(`"0x0+([0-9a-f])`).ReplaceAll(got, []byte(`"0x$1`))
		wantStrip := regexp.MustCompile(`"0x0+([0-9a-f])`).ReplaceAll(want, []byte(`"0x$1`))
		if !bytes.Equal(strip, wantStrip) {
			t.Errorf("%s: differs from encoding/json beyond padding", arch)
		}
	}
}

// TestWriteJSON: writing through the small buffer gives AppendJSON's bytes,
// and a failing writer's error comes back.
func TestWriteJSON(t *testing.T) {
	var r Report
	fill(reflect.ValueOf(&r).Elem(), 2)
	for len(r.Threads) < 2000 { // several spills
		r.Threads = append(r.Threads, r.Threads[0])
	}
	r.MemorySummary.Regions = append(r.MemorySummary.Regions, make([]Region, 3000)...)
	// Spills inside one thread's frames and the crashing thread's.
	for len(r.Threads[1].Frames) < 3000 {
		r.Threads[1].Frames = append(r.Threads[1].Frames, r.Threads[1].Frames[0])
	}
	r.CrashingThread.Frames = r.Threads[1].Frames
	var out bytes.Buffer
	if err := r.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if want := r.AppendJSON(nil); !bytes.Equal(out.Bytes(), want) {
		t.Errorf("WriteJSON wrote %d bytes that differ from AppendJSON's %d", out.Len(), len(want))
	}
	if err := r.WriteJSON(failingWriter{}); err == nil {
		t.Error("no error from a failing writer")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestGeneratedEncoderIsCurrent: encode_gen.go is what go generate writes
// from the structs as they are.
func TestGeneratedEncoderIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "encode_gen.go")
	if b, err := exec.Command("go", "run", "./internal/jsongen", ".", out).CombinedOutput(); err != nil {
		t.Fatalf("jsongen: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("encode_gen.go")
	if !bytes.Equal(got, want) {
		t.Error("encode_gen.go is stale: run go generate ./analyzer/report")
	}
}
