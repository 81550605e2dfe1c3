package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

func (s *Server) symbolsView(r *http.Request) (components.SymbolsView, error) {
	v := components.SymbolsView{Meta: s.meta("Symbols", "symbols"), ServerURL: s.absURL(""),
		MaxBytes: store.FormatBytes(s.cfg.MaxUploadBytes)}
	var err error
	if v.Sources, err = s.cfg.Symbols.Sources(r.Context()); err != nil {
		return v, err
	}
	if v.Files, v.Total, err = s.cfg.Symbols.List(r.Context(), 200); err != nil {
		return v, err
	}
	v.Missing, err = s.cfg.Symbols.Missing(r.Context(), 50)
	return v, err
}

// symbolList is the symbols page.
func (s *Server) symbolList(w http.ResponseWriter, r *http.Request) {
	v, err := s.symbolsView(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, components.Symbols(v))
}

// symbolUploadForm takes the page's upload (drag and drop submits the
// form). The page lists the outcomes.
func (s *Server) symbolUploadForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	v, err := s.symbolsView(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	mr, err := formMultipart(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	by := s.uploaderName(r)
	var results []store.SymbolResult
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			_, v.Error = httpStatus(fmt.Errorf("%w: %w", store.ErrBadRequest, err))
			break
		}
		if part.FileName() == "" {
			part.Close()
			continue
		}
		res, err := s.symbolUpload(r.Context(), part, cleanName(part.FileName()), by, "page")
		part.Close()
		results = append(results, res...)
		if err != nil {
			_, v.Error = httpStatus(err)
			if code, _ := httpStatus(err); code >= 500 {
				s.logger(r).Error("symbol upload", "err", err)
			}
			break
		}
	}
	for _, x := range results {
		v.Results = append(v.Results, pageResult(x))
	}
	if len(results) > 0 {
		if v.Files, v.Total, err = s.cfg.Symbols.List(r.Context(), 200); err != nil {
			s.failPage(w, r, err)
			return
		}
	} else if v.Error == "" {
		v.Error = "No files in the upload."
	}
	s.render(w, r, http.StatusOK, components.Symbols(v))
}

func pageResult(x store.SymbolResult) components.SymbolResult {
	j := symbolJSON(x)
	return components.SymbolResult{Name: j.Name, Status: j.Status, Reason: j.Reason, Kind: j.Kind, DebugID: j.DebugID,
		CodeID: j.CodeID, Path: j.Path, Reanalyses: j.Reanalyses}
}

// symbolSettings changes the symbol servers (admins only, by the route's
// rule): form fields action (enable, disable, up, down, add, remove), id
// and url; or, as before the list, "upstream" alone, which enables that
// server ("" disables them all).
func (s *Server) symbolSettings(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.failPage(w, r, store.ErrBadRequest)
		return
	}
	f := r.PostForm
	var err error
	if f.Has("action") {
		err = s.cfg.Symbols.ChangeUpstreams(r.Context(), f.Get("action"), f.Get("id"), f.Get("url"))
	} else {
		err = s.cfg.Symbols.SetUpstream(r.Context(), f.Get("upstream"))
	}
	if err != nil {
		if errors.Is(err, store.ErrBadRequest) {
			v, verr := s.symbolsView(r)
			if verr != nil {
				s.failPage(w, r, verr)
				return
			}
			v.Error = err.Error()
			s.render(w, r, http.StatusBadRequest, components.Symbols(v))
			return
		}
		s.failPage(w, r, err)
		return
	}
	s.logger(r).Info("symbol servers changed", "action", f.Get("action"), "id", f.Get("id"), "url", f.Get("url"), "upstream", f.Get("upstream"))
	http.Redirect(w, r, "/symbols", http.StatusSeeOther)
}
