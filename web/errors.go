package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"syscall"

	"github.com/dumptriage/dumptriage/crashupload"
	"github.com/dumptriage/dumptriage/store"
)

type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// httpStatus maps an error to its status code and the message a user may
// see. This is the one place sentinel errors meet HTTP.
func httpStatus(err error) (int, string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, err.Error()
	case errors.Is(err, errForbidden):
		return http.StatusForbidden, err.Error()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "the upload is larger than the " + store.FormatBytes(tooBig.Limit) + " limit"
	case errors.Is(err, crashupload.ErrNoDump), errors.Is(err, crashupload.ErrMalformed), errors.Is(err, crashupload.ErrTooMany):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, crashupload.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "the upload is larger than the " + store.FormatBytes(tooBig.Limit) + " limit"
	case errors.Is(err, errSlowBody):
		return http.StatusRequestTimeout, err.Error()
	case errors.Is(err, store.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, store.ErrInvalidDump):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrExpired):
		return http.StatusGone, "dump file expired"
	case errors.Is(err, store.ErrBadRequest):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrNoSpace), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		strings.Contains(err.Error(), "database or disk is full"):
		return http.StatusInsufficientStorage, "the server is out of disk space: the upload was not stored; try again after an admin frees space"
	case errors.Is(err, store.ErrBadCredentials):
		return http.StatusUnauthorized, "wrong name, password or token"
	case errors.Is(err, store.ErrGone):
		return http.StatusGone, "expired"
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, err.Error()
	case errors.Is(err, store.ErrRateLimited):
		return http.StatusTooManyRequests, err.Error()
	}
	return http.StatusInternalServerError, "internal error"
}

// fail answers with err's status and safe message, and logs the cause.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := httpStatus(err)
	log := s.logger(r)
	if code >= 500 {
		log.Error("request failed", "status", code, "err", err)
	} else {
		log.Info("request refused", "status", code, "err", err)
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, code, errorBody{Error: msg, RequestID: requestIDFrom(r.Context())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
