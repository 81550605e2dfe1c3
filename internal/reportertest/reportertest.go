// Package reportertest builds upload requests the way real crash reporters
// build them, for tests of the endpoints that take them. Each builder
// follows its client's source (read, not copied):
//   - Crashpad: util/net/http_multipart_builder.cc and
//     handler/crash_report_upload_thread.cc. Boundary "---MultipartBoundary-"
//   - 32 alphanumerics + "---"; form fields first, sorted by key (a
//     std::map), then file parts sorted by key, each "Content-Type:
//     application/octet-stream"; names %-escape quote, CR, LF and %; the
//     whole body gzip-compressed with Content-Encoding: gzip by default.
//     Attachments are file parts named after their file, so sentry-native's
//     __sentry-event (MessagePack) precedes upload_file_minidump.
//   - Breakpad on Linux: src/common/linux/http_upload.cc hands the fields
//     and the file to libcurl's form API: curl's boundary (24 dashes and
//     hex), fields in insertion order, then the file with its base name,
//     and an empty "Expect:" header.
//   - Breakpad on Windows: src/common/windows/http_upload.cc writes the body
//     itself: boundary of 27 dashes and 16 hex digits, fields, then the file.
package reportertest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
)

// Request is a built upload: its body and the headers its client sends.
type Request struct {
	Body   []byte
	Header http.Header
}

// New makes an *http.Request of r to url.
func (r Request) New(url string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.Body))
	if err != nil {
		panic(err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	return req
}

// File is a file part.
type File struct {
	Name string // field name; Crashpad uses the file's name for attachments
	File string // file name
	Data []byte
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func crashpadBoundary() string {
	var b strings.Builder
	b.WriteString("---MultipartBoundary-")
	for range 32 {
		b.WriteByte(alnum[rand.IntN(len(alnum))])
	}
	b.WriteString("---")
	return b.String()
}

// crashpadEscape escapes a name as EncodeMIMEField does.
func crashpadEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r', '\n', '"', '%':
			fmt.Fprintf(&b, "%%%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Crashpad builds what CrashReportUploadThread sends: the report's
// annotations as form fields, the minidump as upload_file_minidump named
// <report uuid>.dmp, attachments as parts named after their files.
func Crashpad(fields map[string]string, dump []byte, attachments []File, gzipped bool) Request {
	boundary := crashpadBoundary()
	var body bytes.Buffer
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, crashpadEscape(k), fields[k])
	}
	files := append([]File{{Name: "upload_file_minidump", File: "6d2f3f2a-1b7e-4c4e-9a51-0f3a6d7c9e21.dmp", Data: dump}}, attachments...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
			boundary, crashpadEscape(f.Name), crashpadEscape(f.File))
		body.Write(f.Data)
		body.WriteString("\r\n")
	}
	fmt.Fprintf(&body, "--%s--\r\n", boundary)
	h := http.Header{}
	h.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	h.Set("User-Agent", "Crashpad/0.8.0")
	out := body.Bytes()
	if gzipped {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	return Request{Body: out, Header: h}
}

// SentryNative builds what sentry-native's Crashpad backend makes Crashpad
// send to a DSN's minidump URL: no annotations of its own, the scope as a
// MessagePack __sentry-event file and two breadcrumb files, gzipped.
func SentryNative(eventMsgpack []byte, breadcrumb []byte, dump []byte) Request {
	return Crashpad(nil, dump, []File{
		{Name: "__sentry-event", File: "__sentry-event", Data: eventMsgpack},
		{Name: "__sentry-breadcrumb1", File: "__sentry-breadcrumb1", Data: breadcrumb},
		{Name: "__sentry-breadcrumb2", File: "__sentry-breadcrumb2"},
	}, true)
}

// BreakpadLinux builds, from field name and value pairs, what Breakpad's Linux HTTPUpload sends through
// libcurl's form API.
func BreakpadLinux(fileName string, dump []byte, fields ...string) Request {
	boundary := fmt.Sprintf("------------------------%016x", rand.Uint64())
	var body bytes.Buffer
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, fields[i], fields[i+1])
	}
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, fileName)
	body.Write(dump)
	fmt.Fprintf(&body, "\r\n--%s--\r\n", boundary)
	h := http.Header{}
	h.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	h.Set("Expect", "")
	h.Set("Accept", "*/*")
	return Request{Body: body.Bytes(), Header: h}
}

// BreakpadWindows builds, from field name and value pairs, what Breakpad's Windows HTTPUpload sends.
func BreakpadWindows(fileName string, dump []byte, fields ...string) Request {
	boundary := fmt.Sprintf("---------------------------%08X%08X", rand.Uint32(), rand.Uint32())
	var body bytes.Buffer
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, fields[i], fields[i+1])
	}
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, fileName)
	body.Write(dump)
	fmt.Fprintf(&body, "\r\n--%s--\r\n", boundary)
	h := http.Header{}
	h.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	h.Set("User-Agent", "Breakpad/1.0 (Windows)")
	return Request{Body: body.Bytes(), Header: h}
}

// Msgpack encodes a map of strings and nested maps of strings as
// MessagePack (sentry-native's sentry_value_to_msgpack, for the values a
// scope holds), so tests need no encoder dependency.
func Msgpack(v any) []byte {
	var b bytes.Buffer
	var enc func(v any)
	str := func(s string) {
		switch {
		case len(s) < 32:
			b.WriteByte(0xa0 | byte(len(s)))
		case len(s) < 256:
			b.Write([]byte{0xd9, byte(len(s))})
		default:
			b.Write([]byte{0xda, byte(len(s) >> 8), byte(len(s))})
		}
		b.WriteString(s)
	}
	enc = func(v any) {
		switch v := v.(type) {
		case string:
			str(v)
		case int:
			b.Write([]byte{0xd3, byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.Write([]byte{0xde, byte(len(v) >> 8), byte(len(v))})
			for _, k := range keys {
				str(k)
				enc(v[k])
			}
		case []any:
			b.Write([]byte{0xdc, byte(len(v) >> 8), byte(len(v))})
			for _, e := range v {
				enc(e)
			}
		case nil:
			b.WriteByte(0xc0)
		default:
			panic(fmt.Sprintf("reportertest.Msgpack: %T", v))
		}
	}
	enc(v)
	return b.Bytes()
}

// UnrealFile is a file of an Unreal crash report.
type UnrealFile struct {
	Name string
	Data []byte
}

// UnrealContainer builds the decompressed .ue4crash container the way
// CrashReportClient's CompressAndSendData writes it (CrashUpload.cpp, read
// not copied): a placeholder FCompressedHeader, each file as index, FString
// name and byte array, then the header again with the uncompressed size
// and file count; FStrings in fixed 260-byte buffers, NUL-padded.
func UnrealContainer(dir string, files []UnrealFile) []byte {
	le := func(b []byte, v int32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	fstr := func(b []byte, s string) []byte {
		b = le(b, 260)
		return append(b, (s + strings.Repeat("\x00", 260-len(s)))...)
	}
	header := func(b []byte, size, count int32) []byte {
		b = fstr(b, dir)
		b = fstr(b, dir+".ue4crash")
		return le(le(b, size), count)
	}
	b := header(nil, 0, 0)
	for i, f := range files {
		b = le(b, int32(i))
		b = fstr(b, f.Name)
		b = le(b, int32(len(f.Data)))
		b = append(b, f.Data...)
	}
	return header(b, int32(len(b)), int32(len(files)))
}

// Unreal builds CrashReportClient's upload of a container: the zlib
// stream as the body, "application/octet-stream".
func Unreal(container []byte) Request {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(container)
	w.Close()
	return Request{Body: buf.Bytes(), Header: http.Header{"Content-Type": {"application/octet-stream"},
		"User-Agent": {"CrashReportClient/++UE4+Release-4.20-CL-4369336 Windows/10.0.17134.1.256.64bit"}}}
}

// UnrealQuery is the query CrashReportClient appends to its DataRouterUrl.
const UnrealQuery = "AppID=CrashReporter&AppVersion=4.20.3-4369336%2B%2B%2BUE4%2BRelease-4.20&AppEnvironment=Dev&UploadType=crashreports&UserID=6b5ef42f48669c4d7dfe11b7f59bb6ac%7C%7C6B5EF42F48669C4D7DFE11B7F59BB6AC"
