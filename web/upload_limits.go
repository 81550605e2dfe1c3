package web

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// checkUploadLimits refuses an upload past the user's rate (uploads per
// minute) or daily quota (bytes per 24 hours); size is the request's
// length when known (-1 otherwise).
func (s *Server) checkUploadLimits(r *http.Request, size int64) error {
	p := principalFrom(r.Context())
	if p == nil || s.cfg.UploadsPerMinute <= 0 && s.cfg.UploadBytesPerDay <= 0 {
		return nil
	}
	now := time.Now()
	if s.cfg.UploadsPerMinute > 0 {
		n, _, err := s.svc.UploadUsage(r.Context(), p.UserID, now.Add(-time.Minute))
		if err != nil {
			return err
		}
		if n >= s.cfg.UploadsPerMinute {
			return fmt.Errorf("%w: %s may upload %d dumps a minute; wait a minute", store.ErrRateLimited, p.Name, s.cfg.UploadsPerMinute)
		}
	}
	if s.cfg.UploadBytesPerDay > 0 {
		_, b, err := s.svc.UploadUsage(r.Context(), p.UserID, now.Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if b >= s.cfg.UploadBytesPerDay || size > 0 && b+size > s.cfg.UploadBytesPerDay {
			return fmt.Errorf("%w: %s has uploaded %s of a %s daily quota", store.ErrRateLimited, p.Name,
				store.FormatBytes(b), store.FormatBytes(s.cfg.UploadBytesPerDay))
		}
	}
	return nil
}

// ingest stores one upload for the request's principal, counts it against
// their limits and audits it.
func (s *Server) ingest(r *http.Request, body io.Reader, name string) (store.IngestResult, error) {
	up := store.Upload{FileName: name, UploadedFrom: clientIPFrom(r.Context())}
	p := principalFrom(r.Context())
	switch {
	case s.cfg.Uploader != nil:
		up.UploadedBy = s.cfg.Uploader(r)
	case p != nil:
		up.UploadedBy = p.Name
	}
	res, err := s.svc.Ingest(r.Context(), body, up)
	if err != nil {
		return res, err
	}
	s.logger(r).Info("dump stored", "dump", res.Dump.ID, "size", res.Dump.Size, "duplicate", res.Duplicate)
	if p != nil {
		if err := s.svc.RecordUpload(r.Context(), p.UserID, res.Dump.Size); err != nil {
			s.logger(r).Error("record upload", "err", err)
		}
	}
	detail := name
	if res.Duplicate {
		detail += " (duplicate)"
	}
	s.audit(r, store.AuditUpload, res.Dump.ID, detail)
	return res, nil
}
