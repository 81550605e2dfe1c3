package report

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFrameJSON: the hand-written encoder writes what encoding/json would,
// and reads back to the same frame.
func TestFrameJSON(t *testing.T) {
	frames := []Frame{
		{Frame: 0, Trust: TrustContext, Offset: 0x40429e, Module: "test_app.exe", ModuleOffset: 0x429e,
			Function: "`anonymous namespace'::CrashFunction", FunctionOffset: 0xe, File: `c:\test_app.cc`, Line: 58, SP: 0x12fe84},
		{Frame: 2, Trust: TrustCFI, Offset: 0x401010, Module: "inline.exe", Function: "main", File: "inline.c", Line: 30,
			Inlines: []InlineFrame{{Function: "outer", File: "inline.c", Line: 20}, {Function: "inner"}}},
		{Frame: 3, Trust: TrustScan, Offset: 0x7c816fd6, Module: "kernel32.dll", ModuleOffset: 0x16fd6, MissingSymbols: true,
			Registers: map[string]Addr{"rbp": 0x10, "rbx": 0x20}},
		{Frame: 1, Trust: TrustCFI, Offset: 0x1, Function: "a<b>&\"quote\" \u00e9\n"},
		{},
	}
	for _, f := range frames {
		got, err := f.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var generic map[string]any
		if err := json.Unmarshal(got, &generic); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		for _, k := range []string{"frame", "trust", "offset", "module", "module_offset", "function", "function_offset", "file", "line", "inlines", "missing_symbols"} {
			if _, ok := generic[k]; !ok {
				t.Errorf("key %s missing in %s", k, got)
			}
		}
		var back Frame
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(f, back); d != "" {
			t.Errorf("round trip: %s", d)
		}
	}
}
