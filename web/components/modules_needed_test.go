package components

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestModulesNotNeeded: on a real dump analysed without symbols, a module
// whose symbols or image are missing is marked as a problem only when a
// frame lies in it; the others say the file was not needed.
func TestModulesNotNeeded(t *testing.T) {
	path := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal",
		"unreal_crash.extracted", "UE4Minidump.dmp")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := analyzer.Analyze(context.Background(), f, st.Size(), analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Which modules the walked frames lie in, read from the report.
	inFrames := map[string]bool{}
	for _, th := range rep.Threads {
		for _, fr := range th.Frames {
			inFrames[fr.Module] = true
		}
	}
	var b bytes.Buffer
	if err := reportBody(DumpView{Report: rep}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	var missing, neutral int
	d.Find(tid("module-row")).Each(func(_ int, row *goquery.Selection) {
		name := strings.TrimSpace(row.Find("td").Eq(1).Text())
		if row.Find(tid("needed-missing")).Length() > 0 {
			missing++
			if !inFrames[name] {
				t.Errorf("%s is marked missing, but no frame lies in it", name)
			}
		}
		if row.Find(tid("not-needed")).Length() > 0 {
			neutral++
			if inFrames[name] {
				t.Errorf("%s is marked not needed, but a frame lies in it", name)
			}
		}
	})
	if missing == 0 || neutral == 0 {
		t.Errorf("%d modules missing a needed file, %d not needed: want both", missing, neutral)
	}
}
