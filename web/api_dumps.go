package web

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

type uploadResponse struct {
	ID        string       `json:"id"`
	Status    store.Status `json:"status"`
	URL       string       `json:"url"`
	Duplicate bool         `json:"duplicate"`
}

// uploadDrainBytes is how much of a refused upload is read so the client
// gets the error message.
const uploadDrainBytes = 8 << 20

func dumpURL(id string) string { return "/dumps/" + id }

// apiDumpUpload takes a dump as the multipart field "file" or as the raw
// body, streaming it to the store.
func (s *Server) apiDumpUpload(w http.ResponseWriter, r *http.Request) {
	limit := s.cfg.MaxUploadBytes
	if r.ContentLength > limit {
		s.fail(w, r, &http.MaxBytesError{Limit: limit})
		return
	}
	if err := s.checkUploadLimits(r, r.ContentLength); err != nil {
		s.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	body, name, err := uploadBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.ingest(r, body, name)
	if err != nil {
		// Clients that send the whole body before reading the answer see a
		// reset instead of the message when much of the body is left unread.
		io.CopyN(io.Discard, r.Body, uploadDrainBytes)
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, uploadResponse{ID: res.Dump.ID, Status: res.Dump.Status,
		URL: dumpURL(res.Dump.ID), Duplicate: res.Duplicate})
}

// uploadBody finds the dump in the request: the multipart part named
// "file", or else the body itself (named by ?name= or Content-Disposition).
func uploadBody(r *http.Request) (io.Reader, string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", store.ErrBadRequest, err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", fmt.Errorf(`%w: no multipart field named "file"`, store.ErrBadRequest)
			}
			if err != nil {
				return nil, "", fmt.Errorf("%w: reading the multipart body: %v", store.ErrBadRequest, err)
			}
			if part.FormName() == "file" {
				return part, cleanName(part.FileName()), nil
			}
			part.Close()
		}
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = params["filename"]
		}
	}
	return r.Body, cleanName(name), nil
}

func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	if len(name) > 255 {
		name = name[:255]
	}
	return name
}

// dumpJSON is a dump as the API shows it.
type dumpJSON struct {
	ID              string       `json:"id"`
	URL             string       `json:"url"`
	Status          store.Status `json:"status"`
	Error           *string      `json:"error"`
	SHA256          string       `json:"sha256"`
	Size            int64        `json:"size"`
	FileName        string       `json:"file_name"`
	Wrapper         string       `json:"wrapper,omitempty"`
	UploadedAt      time.Time    `json:"uploaded_at"`
	UploadedBy      string       `json:"uploaded_by,omitempty"`
	UploadCount     int          `json:"upload_count"`
	LastUploadedAt  time.Time    `json:"last_uploaded_at"`
	FileURL         string       `json:"file_url,omitempty"`
	FileExpired     bool         `json:"file_expired"`
	FileExpiredAt   *time.Time   `json:"file_expired_at,omitempty"`
	FileStatus      string       `json:"file_status,omitempty"` // "dump file expired"
	AnalyzerVersion string       `json:"analyzer_version,omitempty"`
	AnalyzedAt      *time.Time   `json:"analyzed_at,omitempty"`
	CrashType       string       `json:"crash_type,omitempty"`
	CrashAddress    string       `json:"crash_address,omitempty"`
	Signature       string       `json:"signature,omitempty"`
	Module          string       `json:"module,omitempty"`
	ModuleVersion   string       `json:"module_version,omitempty"`
	OS              string       `json:"os,omitempty"`
	OSVersion       string       `json:"os_version,omitempty"`
	Arch            string       `json:"arch,omitempty"`
	ProcessName     string       `json:"process_name,omitempty"`
	DumpTime        *time.Time   `json:"dump_time,omitempty"`
	// ClockImplausible: dump_time cannot be right (before the program was
	// built, or after the upload), so trends count it at uploaded_at.
	ClockImplausible bool    `json:"clock_implausible,omitempty"`
	AllocBytes       *uint64 `json:"alloc_bytes,omitempty"`
	StackOverflow    bool    `json:"stack_overflow,omitempty"`
	Product          string  `json:"product,omitempty"`
	ProductVersion   string  `json:"product_version,omitempty"`
	// Annotations and Attachments are shown with one dump, not in lists.
	Annotations map[string]string `json:"annotations,omitempty"`
	Attachments []attachmentJSON  `json:"attachments,omitempty"`
	// SymbolsArrivedAt is when symbols for one of the dump's modules last
	// arrived (SymbolsArrived names them); later than analyzed_at means a
	// re-analysis is pending.
	SymbolsArrivedAt *time.Time      `json:"symbols_arrived_at,omitempty"`
	SymbolsArrived   string          `json:"symbols_arrived,omitempty"`
	Report           json.RawMessage `json:"report,omitempty"`
}

type attachmentJSON struct {
	Field       string `json:"field"`
	FileName    string `json:"file_name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	Truncated   bool   `json:"truncated,omitempty"`
	URL         string `json:"url"`
}

func toJSON(d store.Dump) dumpJSON {
	j := dumpJSON{ID: d.ID, URL: dumpURL(d.ID), Status: d.Status, SHA256: d.SHA256, Size: d.Size, FileName: d.FileName,
		Wrapper: d.Wrapper, UploadedAt: d.UploadedAt, UploadedBy: d.UploadedBy, UploadCount: d.UploadCount,
		LastUploadedAt: d.LastUploadedAt, FileExpired: d.FileExpired(), FileExpiredAt: d.FileExpiredAt,
		Product: d.Product, ProductVersion: d.ProductVersion}
	if d.Error != "" {
		e := d.Error
		j.Error = &e
	}
	if d.FileExpired() {
		j.FileStatus = "dump file expired"
	} else {
		j.FileURL = "/api/dumps/" + d.ID + "/file"
	}
	if a := d.Summary; a != nil {
		at := a.AnalyzedAt
		j.AnalyzerVersion, j.AnalyzedAt = a.AnalyzerVersion, &at
		j.CrashType, j.CrashAddress, j.Signature = a.CrashType, a.CrashAddress, a.Signature
		j.Module, j.ModuleVersion, j.OS, j.OSVersion, j.Arch = a.Module, a.ModuleVersion, a.OS, a.OSVersion, a.Arch
		j.ProcessName, j.DumpTime, j.AllocBytes, j.StackOverflow = a.ProcessName, a.DumpTime, a.AllocBytes, a.StackOverflow
		j.ClockImplausible = a.ClockImplausible
	}
	return j
}

// apiDumpShow returns a dump with its report; report is null until the
// first analysis ends.
func (s *Server) apiDumpShow(w http.ResponseWriter, r *http.Request) {
	d, rep, err := s.svc.Report(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := toJSON(d)
	if j.Annotations, err = s.svc.Annotations(r.Context(), d.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	atts, err := s.svc.Attachments(r.Context(), d.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, a := range atts {
		j.Attachments = append(j.Attachments, attachmentJSON{Field: a.Field, FileName: a.FileName, ContentType: a.ContentType,
			Size: a.Size, Truncated: a.Truncated, URL: fmt.Sprintf("/api/dumps/%s/attachments/%d", d.ID, a.ID)})
	}
	j.Report = json.RawMessage("null")
	if len(rep) > 0 {
		j.Report = rep
	}
	if s.cfg.Symbols != nil {
		if a, err := s.cfg.Symbols.Arrival(r.Context(), d.ID); err == nil && a != nil {
			j.SymbolsArrivedAt, j.SymbolsArrived = &a.At, a.Files
		}
	}
	writeJSON(w, http.StatusOK, j)
}

type listResponse struct {
	Dumps []dumpJSON `json:"dumps"`
	Next  *string    `json:"next"`
}

// apiDumpList lists dumps newest first. Query: limit, cursor (from next),
// status, crash_type, signature, module, module_version, process, os, arch,
// has_module, sha256, stack_overflow, since, until (RFC 3339), product,
// version, annotation=key:value (repeatable).
func (s *Server) apiDumpList(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.SearchDumps(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := listResponse{Dumps: make([]dumpJSON, 0, len(page.Dumps))}
	for _, d := range page.Dumps {
		out.Dumps = append(out.Dumps, toJSON(d))
	}
	if page.Next != "" {
		out.Next = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

// listQuery reads /api/dumps' query by the shared rules (query.go):
// signature, module, process, product and version are text searches.
func listQuery(r *http.Request) (store.SearchQuery, error) {
	qv := newQuery(r.URL.Query())
	q := store.SearchQuery{Matches: qv.Matches(), ListQuery: store.ListQuery{Cursor: qv.String("cursor"),
		Status:    store.Status(qv.Enum("status", "queued", "analyzing", "done", "failed")),
		CrashType: qv.String("crash_type"), ModuleVersion: qv.String("module_version"), OS: qv.String("os"),
		Arch: qv.String("arch"), HasModule: qv.String("has_module"), SHA256: qv.String("sha256"),
		Limit: qv.Int("limit", listLimit, 1, 500), Since: qv.Time("since"), Until: qv.Time("until")}}
	if qv.String("stack_overflow") != "" {
		b := qv.Bool("stack_overflow")
		q.StackOverflow = &b
	}
	var err error
	if q.Annotations, err = annotationFilters(r.URL.Query()["annotation"]); err != nil {
		return q, err
	}
	return q, qv.Err()
}

// annotationFilters reads ?annotation=key:value, repeatable.
func annotationFilters(vs []string) ([]store.KeyValue, error) {
	if len(vs) > 10 {
		return nil, fmt.Errorf("%w: at most 10 annotation filters", store.ErrBadRequest)
	}
	var out []store.KeyValue
	for _, a := range vs {
		k, v, ok := strings.Cut(a, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: annotation filter %q is not key:value", store.ErrBadRequest, a)
		}
		out = append(out, store.KeyValue{Key: k, Value: v})
	}
	return out, nil
}

// apiDumpAttachment downloads one attachment. It is served as an
// attachment of its declared type only when that type is plain text;
// anything else is octet-stream, so an upload cannot plant a page here.
func (s *Server) apiDumpAttachment(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(chi.URLParam(r, "att"), 10, 64)
	if err != nil {
		s.fail(w, r, store.ErrNotFound)
		return
	}
	a, err := s.svc.Attachment(r.Context(), chi.URLParam(r, "id"), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct := "application/octet-stream"
	if strings.HasPrefix(a.ContentType, "text/plain") {
		ct = "text/plain; charset=utf-8"
	}
	name := a.FileName
	if name == "" {
		name = a.Field
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Write(a.Data)
}

// apiDumpFile downloads the dump file (decompressed), with Range support.
func (s *Server) apiDumpFile(w http.ResponseWriter, r *http.Request) {
	s.serveDumpFile(w, r, chi.URLParam(r, "id"))
}

func (s *Server) serveDumpFile(w http.ResponseWriter, r *http.Request, id string) {
	d, blob, err := s.svc.OpenFile(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer blob.Close()
	name := d.FileName
	if name == "" || d.Wrapper != "" {
		name = strings.TrimSuffix(name, path.Ext(name))
		if name == "" {
			name = d.ID
		}
		if !strings.HasSuffix(strings.ToLower(name), ".dmp") {
			name += ".dmp"
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("ETag", `"`+d.SHA256+`"`)
	http.ServeContent(w, r, "", d.UploadedAt, io.NewSectionReader(blob, 0, blob.Size()))
}

// apiDumpReanalyze queues a new analysis of one dump.
func (s *Server) apiDumpReanalyze(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := s.svc.Reanalyze(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, store.AuditReanalyze, id, "")
	d, err := s.svc.Dump(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isForm(r) {
		// The report page's Reanalyze button: back to the page, which
		// follows the new analysis.
		http.Redirect(w, r, dumpURL(d.ID), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusAccepted, uploadResponse{ID: d.ID, Status: d.Status, URL: dumpURL(d.ID)})
}

// apiReanalyzeAll queues every dump with a kept file; with outdated=1 only
// those not analysed by the running analyzer version.
func (s *Server) apiReanalyzeAll(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(r.URL.Query())
	outdated := qv.Bool("outdated")
	if err := qv.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	skip := ""
	if outdated {
		skip = s.cfg.AnalyzerVersion
	}
	n, err := s.svc.ReanalyzeAll(r.Context(), skip)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, store.AuditReanalyzeAll, "", strconv.Itoa(n)+" dumps")
	writeJSON(w, http.StatusAccepted, map[string]int{"queued": n})
}

// isForm says whether a request was sent by an HTML form rather than an API
// client.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}
