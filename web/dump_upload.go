package web

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

func (s *Server) uploadView() components.UploadView {
	return components.UploadView{Meta: s.meta("Upload", "upload"), MaxBytes: store.FormatBytes(s.cfg.MaxUploadBytes)}
}

// dumpUploadForm is the upload page. Its script sends each file to
// POST /api/dumps with XMLHttpRequest, for the progress bars.
func (s *Server) dumpUploadForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, components.Upload(s.uploadView()))
}

// dumpUpload takes the upload form without JavaScript: every "file" part
// is streamed to the store in turn, and the page lists the outcomes.
func (s *Server) dumpUpload(w http.ResponseWriter, r *http.Request) {
	if err := s.checkUploadLimits(r, r.ContentLength); err != nil {
		s.failPage(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	mr, err := formMultipart(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := s.uploadView()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				_, msg := httpStatus(err)
				v.Results = append(v.Results, components.UploadResult{Name: "(rest of the upload)", Error: msg})
				break
			}
			s.failPage(w, r, store.ErrBadRequest)
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		name := cleanName(part.FileName())
		res, err := s.ingest(r, part, name)
		part.Close()
		if err != nil {
			code, msg := httpStatus(err)
			if code >= 500 {
				s.logger(r).Error("form upload", "file", name, "err", err)
			}
			v.Results = append(v.Results, components.UploadResult{Name: name, Error: msg})
			continue
		}
		v.Results = append(v.Results, components.UploadResult{Name: name, ID: res.Dump.ID,
			Status: string(res.Dump.Status), Duplicate: res.Duplicate})
	}
	s.render(w, r, http.StatusOK, components.Upload(v))
}

// formMultipart reads a page form's multipart body; anything else is a bad
// request.
func formMultipart(r *http.Request) (*multipart.Reader, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "multipart/form-data" {
		return nil, store.ErrBadRequest
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, store.ErrBadRequest
	}
	return mr, nil
}
