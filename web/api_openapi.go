package web

import (
	_ "embed"
	"net/http"
)

// openAPI describes every /api route; TestOpenAPIMatchesRouter keeps it
// and the router in step.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI)
}
