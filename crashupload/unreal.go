package crashupload

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dumptriage/dumptriage/crashupload/ue4crash"
)

// UnrealContextFile is the file of an Unreal crash report that holds the
// crash context (FGenericCrashContext as XML).
const UnrealContextFile = "CrashContext.runtime-xml"

// UnrealPrefix begins the annotations read from an Unreal crash context.
const UnrealPrefix = "unreal."

// The crash context fields kept as annotations: what identifies the build
// and what the user and the engine said about the crash. The call stacks
// stay in the attached file, which the analyzer reads.
var unrealKeys = map[string]bool{
	"CrashGUID": true, "CrashType": true, "GameName": true, "ExecutableName": true, "EngineVersion": true,
	"BuildVersion": true, "BuildConfiguration": true, "PlatformName": true, "PlatformFullName": true,
	"EngineMode": true, "UserDescription": true, "UserActivityHint": true, "ErrorMessage": true,
	"CrashReporterMessage": true, "IsEnsure": true, "IsAssert": true, "SecondsSinceStart": true,
	"DeploymentName": true, "CommandLine": true, "Misc.CPUBrand": true, "Misc.PrimaryGPUBrand": true,
	"Misc.OSVersionMajor": true, "Misc.OSVersionMinor": true, "MemoryStats.bIsOOM": true,
}

// ReadUnreal reads the body CrashReportClient uploads: the compressed
// crash report container, decompressing at most max bytes. The first
// minidump in it goes to dump as it arrives; every other file is an
// attachment, within lim, and the crash context's fields become
// annotations ("unreal.EngineVersion", ...). A container without a
// minidump is ErrNoDump; one that does not parse is ErrMalformed.
func ReadUnreal(body io.Reader, max int64, lim Limits, dump func(r io.Reader, fileName string) error) (Upload, error) {
	lim.defaults()
	u := Upload{Annotations: map[string]string{}}
	ur, err := ue4crash.NewReader(body, max)
	if err != nil {
		return u, unrealErr(err)
	}
	var attBytes int64
	sawDump := false
	for {
		f, err := ur.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u, unrealErr(err)
		}
		name := fieldName(f.Name)
		if !sawDump && ue4crash.IsMinidump(ur.Peek(4)) {
			sawDump = true
			if err := dump(ur, name); err != nil {
				return u, unrealErr(err)
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(ur, lim.MaxAttachmentBytes))
		if err != nil {
			return u, unrealErr(err)
		}
		if _, err := io.Copy(io.Discard, ur); err != nil {
			return u, unrealErr(err)
		}
		a := File{Field: "ue4crash", FileName: name, ContentType: unrealType(name), Size: f.Size,
			Truncated: int64(len(data)) < f.Size, Data: data}
		if name == UnrealContextFile {
			if err := unrealContext(data, lim, u.Annotations); err != nil {
				u.Notes = append(u.Notes, err.Error())
			}
		}
		if f.Size == 0 {
			continue
		}
		if len(u.Attachments) >= lim.MaxAttachments || attBytes+int64(len(data)) > lim.MaxAttachmentsTotal {
			u.Notes = append(u.Notes, "attachment "+name+" dropped: over the attachment limit")
			continue
		}
		if a.Truncated {
			u.Notes = append(u.Notes, fmt.Sprintf("attachment %s cut to %d of %d bytes", name, len(data), f.Size))
		}
		attBytes += int64(len(data))
		u.Attachments = append(u.Attachments, a)
	}
	// The game names the product, as the project names it in Sentry.
	if g := u.Annotations[UnrealPrefix+"GameName"]; g != "" {
		if _, ok := u.Annotations["ProductName"]; !ok {
			u.Annotations["ProductName"] = strings.TrimPrefix(strings.TrimPrefix(g, "UE4-"), "UE5-")
		}
	}
	if h := ur.Header; h.DirectoryName != "" {
		u.Annotations[UnrealPrefix+"report"] = h.DirectoryName
	}
	if len(u.Notes) > 0 {
		u.Annotations[NotesKey] = strings.Join(u.Notes, "; ")
	}
	if !sawDump {
		return u, fmt.Errorf("%w: the Unreal crash report's files (%d) hold none", ErrNoDump, ur.Files())
	}
	return u, nil
}

// unrealErr maps the container's errors to the package's.
func unrealErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ue4crash.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, ue4crash.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

func unrealType(name string) string {
	switch {
	case strings.HasSuffix(name, ".log"), strings.HasSuffix(name, ".ini"):
		return "text/plain"
	case strings.HasSuffix(name, "-xml"), strings.HasSuffix(name, ".xml"):
		return "text/xml"
	}
	return "application/octet-stream"
}

// maxContextElements bounds the elements of a crash context read.
const maxContextElements = 10000

// unrealContext reads the fields of FGenericCrashContext's
// RuntimeProperties that unrealKeys names into annotations. encoding/xml
// expands no entities beyond the predefined ones, so the text is safe to
// read; values are cut at lim.MaxValueBytes.
func unrealContext(b []byte, lim Limits, into map[string]string) error {
	d := xml.NewDecoder(strings.NewReader(strings.ToValidUTF8(string(b), "\uFFFD")))
	d.Strict = false
	var path []string
	var text strings.Builder
	for n := 0; n < maxContextElements; n++ {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", UnrealContextFile, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text.Reset()
			if len(path) > 32 {
				return fmt.Errorf("%s: nested too deep", UnrealContextFile)
			}
		case xml.CharData:
			if text.Len() < lim.MaxValueBytes {
				text.Write(t[:min(len(t), lim.MaxValueBytes-text.Len())])
			}
		case xml.EndElement:
			if l := len(path); l >= 2 && path[l-2] == "RuntimeProperties" && unrealKeys[path[l-1]] {
				if v := strings.TrimSpace(text.String()); v != "" {
					into[UnrealPrefix+path[l-1]] = v
				}
			}
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
			text.Reset()
		}
	}
	return fmt.Errorf("%s: more than %d elements", UnrealContextFile, maxContextElements)
}
