package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dumptriage/dumptriage/store"
)

// symbolServerJSON is one symbol server in the API.
type symbolServerJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	URL     string `json:"url"`
	Serves  string `json:"serves"`
	Note    string `json:"note,omitempty"`
	Custom  bool   `json:"custom"`
	Enabled bool   `json:"enabled"`
	// Order is the place in the search, from 1; 0 when not searched.
	Order int `json:"order"`
}

func (s *Server) writeSymbolServers(w http.ResponseWriter, r *http.Request) {
	src, err := s.cfg.Symbols.Sources(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Servers []symbolServerJSON `json:"servers"`
	}{Servers: []symbolServerJSON{}}
	for i, u := range src.Upstreams {
		j := symbolServerJSON{ID: u.ID, Name: u.Name, URL: u.URL, Serves: u.Serves, Note: u.Note, Custom: u.Custom, Enabled: u.Enabled}
		if u.Enabled {
			j.Order = i + 1
		}
		out.Servers = append(out.Servers, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// apiSymbolServers lists the symbol servers: presets and custom ones, the
// enabled ones first in search order.
func (s *Server) apiSymbolServers(w http.ResponseWriter, r *http.Request) {
	s.writeSymbolServers(w, r)
}

// apiSymbolServersChange applies one change, {"action", "id", "url"} as the
// page's form sends it (admins only, by the route's rule), and answers the
// list.
func (s *Server) apiSymbolServersChange(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var in struct {
		Action string `json:"action"`
		ID     string `json:"id"`
		URL    string `json:"url"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", store.ErrBadRequest, err))
		return
	}
	if err := s.cfg.Symbols.ChangeUpstreams(r.Context(), in.Action, in.ID, in.URL); err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger(r).Info("symbol servers changed", "action", in.Action, "id", in.ID, "url", in.URL)
	s.writeSymbolServers(w, r)
}
