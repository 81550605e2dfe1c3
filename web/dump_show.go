package web

import (
	"html/template"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// dumpShowPage is a stand-in report page until the dashboard's lands: it
// shows the status and the crash type so /dumps/{id} links work.
var dumpShowPage = template.Must(template.New("dump").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dump {{.ID}} · dumptriage</title>
{{if or (eq .Status "queued") (eq .Status "analyzing")}}<meta http-equiv="refresh" content="2">{{end}}</head>
<body>
<h1>Dump <code>{{.ID}}</code></h1>
<p>Status: <strong data-testid="dump-status">{{.Status}}</strong></p>
{{with .Error}}<p data-testid="dump-error">Error: {{.}}</p>{{end}}
{{with .CrashType}}<p>Crash: <strong data-testid="crash-type">{{.}}</strong>{{with $.Module}} in {{.}}{{end}}</p>{{end}}
{{with .Signature}}<p>Signature: <code data-testid="signature">{{.}}</code></p>{{end}}
<p>{{if .FileExpired}}<span data-testid="file-expired">dump file expired</span>{{else}}<a href="{{.FileURL}}">Download the dump</a>{{end}}
· <a href="/api/dumps/{{.ID}}">Report JSON</a></p>
</body></html>
`))

func (s *Server) dumpShow(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dump(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		code, msg := httpStatus(err)
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := dumpShowPage.Execute(w, toJSON(d)); err != nil {
		s.logger(r).Error("render dump page", "err", err)
	}
}
