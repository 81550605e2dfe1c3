package analyzer

import (
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

func TestRuntimeOf(t *testing.T) {
	for name, want := range map[string]string{
		`F:\KSP\MonoBleedingEdge\EmbedRuntime\mono-2.0-bdwgc.dll`: "Mono JIT code",
		`C:\Game\mono.dll`:              "Mono JIT code",
		`C:\dotnet\coreclr.dll`:         ".NET JIT code",
		`C:\Windows\clrjit.dll`:         ".NET JIT code",
		`C:\app\lua51.dll`:              "LuaJIT code",
		`C:\app\node.exe`:               "V8 JIT code",
		`C:\app\libcef.dll`:             "V8 JIT code",
		`C:\Game\UnityPlayer.dll`:       "",
		`C:\Windows\System32\ntdll.dll`: "",
	} {
		if got := runtimeOf(&minidump.Module{Name: name}); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
