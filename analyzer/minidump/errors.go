package minidump

import (
	"errors"
	"fmt"
)

// ErrNotMinidump is returned when the file does not start with the MDMP signature.
var ErrNotMinidump = errors.New("not a minidump: no MDMP signature")

// FormatError reports a malformed or truncated structure, naming the stream and
// the file offset where reading failed, so a user can see which part is damaged.
type FormatError struct {
	Stream string // stream name, or "header" / "directory"
	Offset int64  // file offset of the structure that could not be read
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s at offset %#x: %s", e.Stream, e.Offset, e.Msg)
}

func formatErr(stream string, off int64, format string, args ...any) error {
	return &FormatError{Stream: stream, Offset: off, Msg: fmt.Sprintf(format, args...)}
}
