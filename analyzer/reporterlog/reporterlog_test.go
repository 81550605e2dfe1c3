package reporterlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

func TestUnityPlayerLog(t *testing.T) {
	dir := testdata.Path(t, "public", "LYJ-Kerman__crash-log")
	for _, c := range []struct {
		file, source string
		n            int
	}{{"Player.log", "Unity Player.log", 69}, {"error.log", "Unity error.log", 0}} {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		s := Parse(b)
		if s == nil || s.Source != c.source {
			t.Fatalf("%s: %+v", c.file, s)
		}
		want := []Frame{
			{0x7FF9F4D221FD, true, "UnityPlayer", "UnityMain"},
			{0x7FF9F4D1FED5, true, "UnityPlayer", "UnityMain"},
			{0x7FF9F4F41279, true, "UnityPlayer", "PAL_Thread_YieldExecution"},
		}
		for i, w := range want {
			if s.Frames[i] != w {
				t.Errorf("%s frame %d: %+v, want %+v", c.file, i, s.Frames[i], w)
			}
		}
		if f := s.Frames[3]; f.Address != 0x21E3438B78A || f.Module == "" {
			t.Errorf("%s frame 3: %+v", c.file, f)
		}
		if c.n > 0 && len(s.Frames) != c.n {
			t.Errorf("%s: %d frames, want %d", c.file, len(s.Frames), c.n)
		}
	}
}

func TestUnrealContext(t *testing.T) {
	p := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash.extracted", "CrashContext.runtime-xml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := Parse(b)
	if s == nil || len(s.Frames) != 16 {
		t.Fatalf("%+v", s)
	}
	if f := s.Frames[0]; f.Module != "MyProject" || f.Function != "FDebug::AssertFailed()" || f.HasAddress {
		t.Errorf("frame 0: %+v", f)
	}
	if f := s.Frames[13]; f.Function != "__scrt_common_main_seh()" {
		t.Errorf("frame 13: %+v", f)
	}
	// A PCallStack with real addresses gives them, named by CallStack.
	x := "<CallStack>A!f() [a.cpp:1]\nB!g()</CallStack><PCallStack>A 0x0000000140000000 + 10\nB 0x0000000150000000 + 20</PCallStack>"
	s = Parse([]byte(x))
	if s == nil || len(s.Frames) != 2 || s.Frames[0] != (Frame{0x140000010, true, "A", "f()"}) || s.Frames[1].Address != 0x150000020 {
		t.Errorf("%+v", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Crash!!!\n========== OUTPUTTING STACK TRACE ==================\n\n0x00007FF9F4D221FD (UnityPlayer) UnityMain\n0x1 (x\n"))
	f.Add([]byte("<CallStack>A!f()\n</CallStack><PCallStack>A 0x10 + 5</PCallStack>"))
	f.Add([]byte("Stack Trace of Crashed Thread 1:\n0xzz (a) b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Parse(b)
		if s != nil && (len(s.Frames) == 0 || len(s.Frames) > MaxFrames) {
			t.Fatalf("%d frames", len(s.Frames))
		}
	})
}
