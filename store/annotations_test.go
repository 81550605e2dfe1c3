package store

import (
	"bytes"
	"context"
	"testing"
)

func TestProductVersion(t *testing.T) {
	tests := []struct {
		name          string
		ann           map[string]string
		product, vers string
	}{
		{"none", nil, "", ""},
		{"crashpad", map[string]string{"prod": "Bars", "ver": "1.2"}, "Bars", "1.2"},
		{"electron names its app apart", map[string]string{"prod": "Electron", "ver": "30.0.1", "_productName": "App", "_version": "2.0"}, "App", "2.0"},
		{"sentry release", map[string]string{"release": "bars@7.8.9", "sentry.project": "42"}, "bars", "7.8.9"},
		{"release without product", map[string]string{"release": "7.8.9", "sentry.project": "42"}, "42", "7.8.9"},
		{"prod wins over release", map[string]string{"prod": "P", "release": "bars@7.8.9"}, "P", "7.8.9"},
		{"blank values ignored", map[string]string{"prod": "  ", "sentry.project": "web"}, "web", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, v := ProductVersion(tt.ann)
			if p != tt.product || v != tt.vers {
				t.Errorf("got %q %q, want %q %q", p, v, tt.product, tt.vers)
			}
		})
	}
}

func TestAnnotationsStoredFilteredAndGrouped(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		up := Upload{Annotations: map[string]string{"prod": "Bars", "ver": "4.5.6", "guid": "g1"},
			Attachments: []Attachment{{Field: "log", FileName: "app.log", ContentType: "text/plain", Size: 5, Data: []byte("hello")}}}
		res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(30, 4000)), up)
		if err != nil {
			t.Fatal(err)
		}
		plain := ingest(t, st, 31)
		if res.Dump.Product != "Bars" || res.Dump.ProductVersion != "4.5.6" {
			t.Fatalf("dump %+v", res.Dump)
		}
		// A duplicate upload adds new keys, keeps old values.
		if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(30, 4000)), Upload{Annotations: map[string]string{"ver": "9", "extra": "x"}}); err != nil {
			t.Fatal(err)
		}
		ann, err := st.Annotations(ctx, res.Dump.ID)
		if err != nil || ann["prod"] != "Bars" || ann["ver"] != "4.5.6" || ann["extra"] != "x" || len(ann) != 4 {
			t.Fatalf("annotations %v %v", ann, err)
		}
		atts, err := st.Attachments(ctx, res.Dump.ID)
		if err != nil || len(atts) != 1 || atts[0].FileName != "app.log" || atts[0].Data != nil {
			t.Fatalf("attachments %+v %v", atts, err)
		}
		a, err := st.Attachment(ctx, res.Dump.ID, atts[0].ID)
		if err != nil || string(a.Data) != "hello" {
			t.Fatalf("attachment %+v %v", a, err)
		}
		if _, err := st.Attachment(ctx, plain.ID, atts[0].ID); !isNotFound(err) {
			t.Fatalf("another dump's attachment: %v", err)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
		for _, tt := range []struct {
			q    SearchQuery
			want []string
		}{
			{SearchQuery{ListQuery: ListQuery{Product: "Bars"}}, []string{res.Dump.ID}},
			{SearchQuery{ListQuery: ListQuery{Product: "bars"}}, nil},
			{SearchQuery{ListQuery: ListQuery{Annotations: []KeyValue{{"guid", "g1"}}}}, []string{res.Dump.ID}},
			{SearchQuery{ListQuery: ListQuery{Annotations: []KeyValue{{"guid", "g1"}, {"prod", "Other"}}}}, nil},
			// The annotation's version files the crash, not the module's 1.2.3.4.
			{SearchQuery{Version: "4.5.6"}, []string{res.Dump.ID}},
			{SearchQuery{ListQuery: ListQuery{Product: "Bars"}, Version: "1.2.3.4"}, nil},
		} {
			page, err := st.SearchDumps(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range page.Dumps {
				got = append(got, d.ID)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("%+v: got %v, want %v", tt.q, got, tt.want)
			}
		}
		g, err := st.Groups(ctx, GroupQuery{Dim: DimVersion})
		if err != nil {
			t.Fatal(err)
		}
		versions := map[string]int{}
		for _, x := range g.Groups {
			versions[x.Key] = x.Count
		}
		if versions["4.5.6"] != 1 {
			t.Errorf("version groups %v", versions)
		}
	})
}

// TestReporterLog: the analysis gets the crash reporter's own log among a
// dump's attachments, by name and preference, on both backends.
func TestReporterLog(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		att := func(name, data string) Attachment {
			return Attachment{Field: "f", FileName: name, Size: int64(len(data)), Data: []byte(data)}
		}
		res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(40, 4000)), Upload{Attachments: []Attachment{
			att("Game.log", "game"), att("Player.log", "player"), att("CrashContext.runtime-xml", "<ctx/>")}})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := st.ReporterLog(ctx, res.Dump.SHA256); err != nil || string(b) != "<ctx/>" {
			t.Errorf("reporter log %q %v, want the crash context", b, err)
		}
		unity, err := st.Ingest(ctx, bytes.NewReader(fakeDump(41, 4000)), Upload{Attachments: []Attachment{
			att("a.txt", "a"), att("PLAYER.LOG", "player")}})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := st.ReporterLog(ctx, unity.Dump.SHA256); err != nil || string(b) != "player" {
			t.Errorf("reporter log %q %v, want Player.log", b, err)
		}
		plain := ingest(t, st, 42)
		if b, err := st.ReporterLog(ctx, plain.SHA256); err != nil || b != nil {
			t.Errorf("a dump without a log: %q %v", b, err)
		}
	})
}

// TestDuplicateAttachments: a retried upload does not add its files again;
// a new file is added.
func TestDuplicateAttachments(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		log := Attachment{Field: "ue4crash", FileName: "Game.log", Size: 3, Data: []byte("abc")}
		var id string
		for _, atts := range [][]Attachment{{log}, {log}, {log, {Field: "ue4crash", FileName: "Game.log", Size: 3, Data: []byte("xyz")}}} {
			res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(43, 4000)), Upload{Attachments: atts})
			if err != nil {
				t.Fatal(err)
			}
			id = res.Dump.ID
		}
		atts, err := st.Attachments(ctx, id)
		if err != nil || len(atts) != 2 {
			t.Fatalf("%d attachments %v, want 2", len(atts), err)
		}
	})
}
