package crashhandler

import (
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

func fr(mod, fn string) report.Frame { return report.Frame{Module: mod, Function: fn} }

func TestCount(t *testing.T) {
	for _, c := range []struct {
		name     string
		frames   []report.Frame
		code     uint32
		reporter []string
		want     int
	}{
		{"unreal assert with symbols", []report.Frame{fr("KERNELBASE.dll", "RaiseException"), fr("Game.exe", "FDebug::AssertFailed"),
			fr("Game.exe", "AActor::BeginPlay")}, 1, nil, 2},
		{"unreal ensure", []report.Frame{fr("Game.exe", "FDebug::EnsureFailed"), fr("Game.exe", "ReportEnsure"), fr("Game.exe", "Tick")}, 1, nil, 2},
		{"unity crash handler", []report.Frame{fr("UnityPlayer.dll", "winutils::ProcessInternalCrash"), fr("UnityPlayer.dll", "Foo")}, 0xC0000005, nil, 1},
		{"dump writer", []report.Frame{fr("dbghelp.dll", "MiniDumpWriteDump"), fr("app.exe", "main")}, 0, nil, 1},
		{"nameless RaiseException of a software code", []report.Frame{fr("KERNELBASE.dll", ""), fr("Game.exe", "")}, 1, nil, 1},
		{"nameless kernelbase frame of an access violation is the fault", []report.Frame{fr("KERNELBASE.dll", ""), fr("Game.exe", "")}, 0xC0000005, nil, 0},
		{"C++ throw is the fault's own", []report.Frame{fr("KERNELBASE.dll", ""), fr("app.exe", "")}, 0xE06D7363, nil, 0},
		{"reporter names the nameless game frame", []report.Frame{fr("KERNELBASE.dll", ""), fr("MyProject.exe", ""), fr("MyProject.exe", "")},
			1, []string{"MyProject!FDebug::AssertFailed()", "MyProject!AActor::BeginPlay()"}, 2},
		{"reporter's module differs", []report.Frame{fr("KERNELBASE.dll", ""), fr("Other.dll", ""), fr("MyProject.exe", "")},
			1, []string{"MyProject!FDebug::AssertFailed()"}, 1},
		{"never the whole stack", []report.Frame{fr("KERNELBASE.dll", "RaiseException")}, 1, nil, 0},
		{"plain crash", []report.Frame{fr("app.exe", "crash"), fr("app.exe", "main")}, 0xC0000005, nil, 0},
	} {
		if got := Count(c.frames, c.code, c.reporter); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// TestRules: every rule is a plain substring and matches its own frame.
func TestRules(t *testing.T) {
	if len(rules) < 10 {
		t.Fatalf("%d rules", len(rules))
	}
	for _, r := range rules {
		f := fr("m.dll", r[1:]+"x")
		if r[0] != '!' || Match(&f) != r {
			t.Errorf("rule %q does not match %q", r, f.Function)
		}
	}
}
