package web

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/store"
)

// TestLocalsSection uploads the heap_nomem dumps (one with its PDB, one
// with DWARF) and reads the report page's arguments and locals: the
// element count of the failed request, 60,540,697 = 0x039bc719, is
// load_texture_cache's entries; main's inner-block locals have no value
// at the call; a dump without debug info has no section.
func TestLocalsSection(t *testing.T) {
	srv, st := liveServer(t, 0)
	raw, _, err := st.CreateToken(context.Background(), "admin", "test", store.ScopeAll, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &pageEnv{t: t, st: st, srv: srv, creds: testCreds{"admin-session": {name: "admin", token: raw}}}
	ctx := context.Background()
	upload := func(rel string) string {
		b, err := os.ReadFile(testdata(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{FileName: rel[strings.LastIndexByte(rel, '/')+1:]})
		if err != nil {
			t.Fatal(err)
		}
		return res.Dump.ID
	}
	ids := map[string]string{
		"pdb":   upload("wine/dumps/heap_nomem/heap_nomem_x64_pdb_aug.dmp"),
		"dwarf": upload("wine/dumps/heap_nomem/heap_nomem_x64_mingw_normal.dmp"),
		"none":  upload("public/LYJ-Kerman__crash-log/crash.dmp"),
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		for {
			d, err := st.Dump(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == store.StatusDone {
				break
			}
			if d.Status == store.StatusFailed || time.Now().After(deadline) {
				t.Fatalf("dump %s: %s %s", id, d.Status, d.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, kind := range []string{"pdb", "dwarf"} {
		t.Run(kind, func(t *testing.T) {
			_, b := e.get("/dumps/" + ids[kind])
			d := doc(t, b)
			sec := d.Find(tid("crashing-thread") + " " + tid("locals"))
			if sec.Length() != 1 {
				t.Fatalf("%d locals sections in the crashing thread", sec.Length())
			}
			frames := map[string]*goquery.Selection{}
			sec.Find(tid("frame-locals")).Each(func(_ int, s *goquery.Selection) {
				fn, _ := s.Attr("data-function")
				frames[fn] = s
			})
			for _, fn := range []string{"allocate_cache_block", "load_texture_cache", "main"} {
				if frames[fn] == nil {
					t.Fatalf("no locals for %s (have %d frames)", fn, len(frames))
				}
			}
			if _, open := frames["allocate_cache_block"].Attr("open"); !open {
				t.Error("the first frame with locals is not open")
			}
			row := func(fn, name string) *goquery.Selection {
				var r *goquery.Selection
				frames[fn].Find(tid("local")).Each(func(_ int, s *goquery.Selection) {
					if s.Find(tid("local-name")).Text() == name {
						r = s
					}
				})
				if r == nil {
					t.Fatalf("%s: no row for %s", fn, name)
				}
				return r
			}
			entries := row("load_texture_cache", "entries")
			if v := entries.Find(tid("local-value")).Text(); v != "0x039bc719 (60540697)" {
				t.Errorf("entries = %q", v)
			}
			if v := entries.Find(tid("local-bytes")).Text(); v != "19 c7 9b 03" {
				t.Errorf("entries bytes = %q", v)
			}
			if k, _ := entries.Attr("data-kind"); k != "parameter" || !strings.Contains(entries.Text(), "unsigned int") {
				t.Errorf("entries row %q (kind %q)", entries.Text(), k)
			}
			if v := row("allocate_cache_block", "bytes").Find(tid("local-value")).Text(); v != "0x0000000039bc7190 (968651152)" {
				t.Errorf("bytes = %q", v)
			}
			buf := row("main", "buf")
			if buf.Find(tid("local-value")).Length() != 0 || !strings.Contains(buf.Find(tid("local-note")).Text(), "not") {
				t.Errorf("buf, out of its range: %q", buf.Text())
			}
			// The table scrolls in its own box rather than widening the page.
			if entries.ParentsFiltered(".table-box").Length() != 1 {
				t.Error("the locals table is not inside its scrolling box")
			}
		})
	}
	_, b := e.get("/dumps/" + ids["none"])
	if n := doc(t, b).Find(tid("locals")).Length(); n != 0 {
		t.Errorf("a dump without debug info has %d locals sections", n)
	}
}
