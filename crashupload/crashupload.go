// Package crashupload reads the multipart/form-data uploads of crash
// reporters: Crashpad (and Electron's crashReporter, which is Crashpad),
// Breakpad's HTTPUpload, and sentry-native's Crashpad backend, which posts
// to Sentry's minidump endpoint.
//
// The dump is the part upload_file_minidump and is handed to a callback as
// a stream, never buffered. Every other text part is an annotation, every
// other file part an attachment. Sentry's fields (sentry[release],
// sentry[tags][k], a JSON "sentry" field, the __sentry-event file in
// MessagePack or JSON) become flat annotations: release, environment,
// user.id, tags.k, ... Everything is bounded by Limits.
package crashupload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf8"
)

// DumpField is the part Crashpad, Breakpad and Sentry put the minidump in.
const DumpField = "upload_file_minidump"

// Errors; the web layer maps them to status codes.
var (
	ErrMalformed = errors.New("malformed upload")
	ErrNoDump    = errors.New("the upload has no minidump")
	ErrTooMany   = errors.New("too many parts")
	ErrTooLarge  = errors.New("annotations too large")
)

// Limits bound what an upload may carry beside the dump.
type Limits struct {
	MaxParts            int   // parts of any kind (default 1000)
	MaxValueBytes       int   // one annotation value; longer ones are cut (default 64 KiB)
	MaxAnnotationBytes  int   // all annotation keys and values (default 1 MiB); more is refused
	MaxAttachmentBytes  int64 // one attachment; longer ones are cut (default 1 MiB)
	MaxAttachments      int   // attachments kept; later ones are dropped (default 20)
	MaxAttachmentsTotal int64 // all attachments kept (default 8 MiB)
}

func (l *Limits) defaults() {
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	set(&l.MaxParts, 1000)
	set(&l.MaxValueBytes, 64<<10)
	set(&l.MaxAnnotationBytes, 1<<20)
	set(&l.MaxAttachments, 20)
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 1 << 20
	}
	if l.MaxAttachmentsTotal <= 0 {
		l.MaxAttachmentsTotal = 8 << 20
	}
}

// File is an attachment.
type File struct {
	Field       string
	FileName    string
	ContentType string
	Size        int64 // as uploaded
	Truncated   bool
	Data        []byte
}

// Upload is what an upload carried beside its dump.
type Upload struct {
	Annotations map[string]string
	Attachments []File
	// Notes say what was cut or dropped; they are also kept as the
	// annotation "dumptriage.notes".
	Notes []string
}

// NotesKey is the annotation that records what the limits cut.
const NotesKey = "dumptriage.notes"

// Keys the reader skips: they carry credentials, not facts about the crash.
var secretKeys = map[string]bool{"token": true, "sentry_key": true, "sentry_secret": true, "api_key": true}

// Read reads every part of mr. The dump part goes to dump as it arrives;
// a second dump part is malformed. Without a dump part it returns ErrNoDump.
func Read(mr *multipart.Reader, lim Limits, dump func(r io.Reader, fileName string) error) (Upload, error) {
	lim.defaults()
	u := Upload{Annotations: map[string]string{}}
	var attBytes int64
	parts, sawDump := 0, false
	// Annotation bytes are counted as they arrive, so a flood of fields is
	// refused before it is held.
	spent := func() error {
		n := 0
		for k, v := range u.Annotations {
			n += len(k) + len(v)
		}
		if n > lim.MaxAnnotationBytes {
			return fmt.Errorf("%w: more than %d bytes of annotations", ErrTooLarge, lim.MaxAnnotationBytes)
		}
		return nil
	}
	var total int
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		parts++
		if parts > lim.MaxParts {
			p.Close()
			return u, fmt.Errorf("%w: more than %d", ErrTooMany, lim.MaxParts)
		}
		name := fieldName(p.FormName())
		switch {
		case name == DumpField:
			if sawDump {
				p.Close()
				return u, fmt.Errorf("%w: two %s parts", ErrMalformed, DumpField)
			}
			sawDump = true
			if err := dump(p, p.FileName()); err != nil {
				p.Close()
				return u, err
			}
		case name == "" || secretKeys[name]:
			if _, err := io.Copy(io.Discard, p); err != nil {
				return u, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		case p.FileName() == "" && name == "sentry":
			// The whole event as JSON, as Sentry's minidump endpoint takes it.
			v, cut, err := readValue(p, lim.MaxAnnotationBytes)
			if err != nil {
				return u, err
			}
			var ev map[string]any
			if cut || json.Unmarshal([]byte(v), &ev) != nil {
				u.Notes = append(u.Notes, "the sentry field is not a JSON event")
				break
			}
			flattenEvent(ev, u.Annotations)
			if err := spent(); err != nil {
				return u, err
			}
		case p.FileName() == "":
			v, cut, err := readValue(p, lim.MaxValueBytes)
			if err != nil {
				return u, err
			}
			if cut {
				u.Notes = append(u.Notes, fmt.Sprintf("%s cut to %d bytes", name, lim.MaxValueBytes))
			}
			if strings.HasPrefix(name, "sentry[") {
				name = sentryKey(name)
			}
			u.Annotations[name] = v
			if total += len(name) + len(v); total > lim.MaxAnnotationBytes {
				return u, fmt.Errorf("%w: more than %d bytes of annotations", ErrTooLarge, lim.MaxAnnotationBytes)
			}
		default:
			f, err := readFile(p, name, lim.MaxAttachmentBytes)
			if err != nil {
				return u, err
			}
			if name == "__sentry-event" {
				if !f.Truncated && sentryEvent(f.Data, u.Annotations) {
					break
				}
				u.Notes = append(u.Notes, "the __sentry-event attachment is not a MessagePack or JSON event")
			}
			if f.Size == 0 {
				break // sentry-native's breadcrumb files are often empty
			}
			if len(u.Attachments) >= lim.MaxAttachments || attBytes+int64(len(f.Data)) > lim.MaxAttachmentsTotal {
				u.Notes = append(u.Notes, "attachment "+name+" dropped: over the attachment limit")
				break
			}
			if f.Truncated {
				u.Notes = append(u.Notes, fmt.Sprintf("attachment %s cut to %d of %d bytes", name, len(f.Data), f.Size))
			}
			attBytes += int64(len(f.Data))
			u.Attachments = append(u.Attachments, f)
		}
		p.Close()
	}
	if len(u.Notes) > 0 {
		u.Annotations[NotesKey] = strings.Join(u.Notes, "; ")
	}
	if err := spent(); err != nil {
		return u, err
	}
	if !sawDump {
		return u, fmt.Errorf("%w: no %s part", ErrNoDump, DumpField)
	}
	return u, nil
}

// fieldName undoes the %-escapes Crashpad's HTTPMultipartBuilder puts in
// names (quote, CR, LF and %), and keeps names printable and short.
func fieldName(n string) string {
	if strings.Contains(n, "%") {
		if d, err := url.PathUnescape(n); err == nil {
			n = d
		}
	}
	n = strings.ToValidUTF8(strings.TrimSpace(n), "\uFFFD")
	if len(n) > 256 {
		n = n[:256]
		for !utf8.ValidString(n) {
			n = n[:len(n)-1]
		}
	}
	return n
}

// readValue reads a text part, keeping at most max bytes and draining
// the rest.
func readValue(p io.Reader, max int) (string, bool, error) {
	b, err := io.ReadAll(io.LimitReader(p, int64(max)+1))
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cut := len(b) > max
	if cut {
		b = b[:max]
		if _, err := io.Copy(io.Discard, p); err != nil {
			return "", false, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), cut, nil
}

func readFile(p *multipart.Part, name string, max int64) (File, error) {
	f := File{Field: name, FileName: p.FileName(), ContentType: p.Header.Get("Content-Type")}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(p, max))
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	rest, err := io.Copy(io.Discard, p)
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	f.Data, f.Size, f.Truncated = buf.Bytes(), n+rest, rest > 0
	if len(f.ContentType) > 100 {
		f.ContentType = f.ContentType[:100]
	}
	if len(f.FileName) > 255 {
		f.FileName = f.FileName[:255]
	}
	return f, nil
}
