// Package symfile identifies an uploaded symbol file: a PDB by its GUID and
// age, a PE image by TimeDateStamp and SizeOfImage, a Breakpad .sym by its
// MODULE line. The identity gives the file's place in a symbol store
// (name/ID/name) and the ids a dump's modules are matched by.
package symfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/dumptriage/dumptriage/analyzer/symbols/pdb"
	"github.com/dumptriage/dumptriage/analyzer/symbols/symstore"
)

// Kind is the format of a symbol file.
type Kind string

// The formats a symbol store takes.
const (
	KindPDB      Kind = "pdb"
	KindPE       Kind = "pe"
	KindBreakpad Kind = "breakpad"
)

// ErrUnsupported wraps the reason a file is not a symbol file we keep.
var ErrUnsupported = errors.New("unsupported symbol file")

// Info is what identifies a symbol file.
type Info struct {
	Kind Kind
	// DebugID is the Breakpad/symbol-store form: the GUID's fields as
	// upper-case hex, then the age in upper-case hex ("" for a PE image
	// without a CodeView record).
	DebugID string
	// DebugFile is the PDB name the file belongs to (for a PE image, the
	// one its CodeView record names).
	DebugFile string
	// CodeID is a PE image's TimeDateStamp (%08X) and SizeOfImage (%x),
	// as minidump modules carry it; for a Breakpad file, its INFO CODE_ID
	// line when it has one. Compare code ids ignoring case.
	CodeID string
	// CodeFile is the image's file name, when known.
	CodeFile string
	// Arch is x86, x86_64, arm64 ... when the file says.
	Arch string
	// Key is where the file goes in a symbol store.
	Key symstore.Key
}

// Identify reads a symbol file's identity. name is the file's name as
// uploaded; only its base name is used, and only for PDB and PE files
// (whose store key is their own name).
func Identify(r io.ReaderAt, size int64, name string) (Info, error) {
	name = symstore.BaseName(name)
	var head [64]byte
	n, _ := r.ReadAt(head[:], 0)
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte("Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00")):
		return identifyPDB(r, size, name)
	case bytes.HasPrefix(h, []byte("Microsoft C/C++ program database 2.00")):
		return Info{}, fmt.Errorf("%w: a PDB 2.0 file (Visual C++ 6 era); only PDB 7 (MSF 7.00) files are read", ErrUnsupported)
	case bytes.HasPrefix(h, []byte("MZ")):
		return identifyPE(r, size, name)
	case bytes.HasPrefix(h, []byte("MODULE ")):
		return identifyBreakpad(r, size)
	}
	return Info{}, fmt.Errorf("%w: %s", ErrUnsupported, describe(h))
}

// describe names common formats that are refused, so the reason is useful.
func describe(h []byte) string {
	switch {
	case len(h) == 0:
		return "the file is empty"
	case bytes.HasPrefix(h, []byte("\x7fELF")):
		return "an ELF file; only Windows symbols (PDB, PE) and Breakpad .sym files are kept"
	case bytes.HasPrefix(h, []byte{0xcf, 0xfa, 0xed, 0xfe}) || bytes.HasPrefix(h, []byte{0xce, 0xfa, 0xed, 0xfe}) ||
		bytes.HasPrefix(h, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "a Mach-O file; only Windows symbols (PDB, PE) and Breakpad .sym files are kept"
	case bytes.HasPrefix(h, []byte("BSJB")):
		return "a portable PDB (.NET); only native PDB files are read"
	case bytes.HasPrefix(h, []byte("MDMP")):
		return "a minidump; upload dumps at /upload or POST /api/dumps"
	case bytes.HasPrefix(h, []byte("PK\x03\x04")):
		return "a zip archive inside the upload; nested archives are not opened"
	}
	return "not a PDB, PE image or Breakpad .sym file"
}

func identifyPDB(r io.ReaderAt, size int64, name string) (Info, error) {
	f, err := pdb.Open(r, size)
	if err != nil {
		return Info{}, fmt.Errorf("%w: the PDB cannot be read: %v", ErrUnsupported, err)
	}
	if name == "" || !strings.HasSuffix(strings.ToLower(name), ".pdb") {
		return Info{}, fmt.Errorf("%w: a PDB must be uploaded under its own name (name.pdb), as debuggers look it up by that name", ErrUnsupported)
	}
	id := strings.ToUpper(f.DebugID())
	return Info{Kind: KindPDB, DebugID: id, DebugFile: name, Arch: machineArch(f.Machine()),
		Key: symstore.PDBKey(name, id)}, nil
}

func identifyPE(r io.ReaderAt, size int64, name string) (Info, error) {
	if size > pe.MaxImageSize {
		return Info{}, fmt.Errorf("%w: a PE image of %d bytes is over the %d-byte limit", ErrUnsupported, size, pe.MaxImageSize)
	}
	im, err := pe.Open(r, size)
	if err != nil {
		return Info{}, fmt.Errorf("%w: the PE image cannot be read: %v", ErrUnsupported, err)
	}
	if name == "" {
		return Info{}, fmt.Errorf("%w: an image must be uploaded under its own name (name.dll or name.exe)", ErrUnsupported)
	}
	in := Info{Kind: KindPE, CodeID: im.CodeID(), CodeFile: name, Arch: machineArch(im.Machine()),
		Key: symstore.ImageKey(name, im.TimeDateStamp(), im.SizeOfImage())}
	if id := im.DebugID(); id != "" {
		in.DebugID, in.DebugFile = strings.ToUpper(id), im.PDBBaseName()
	}
	return in, nil
}

// maxModuleLine bounds the first line of a Breakpad file.
const maxModuleLine = 4096

func identifyBreakpad(r io.ReaderAt, size int64) (Info, error) {
	br := bufio.NewReader(io.NewSectionReader(r, 0, size))
	line, err := readLine(br)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	// MODULE operatingsystem architecture id name
	f := strings.SplitN(line, " ", 5)
	if len(f) != 5 || f[0] != "MODULE" || f[3] == "" || f[4] == "" {
		return Info{}, fmt.Errorf("%w: the MODULE line must be \"MODULE os arch id name\"", ErrUnsupported)
	}
	id := strings.ToUpper(f[3])
	if len(id) < 9 || len(id) > 40 || strings.IndexFunc(id, func(c rune) bool { return !isHex(c) }) >= 0 {
		return Info{}, fmt.Errorf("%w: the MODULE line's id %q is not a debug id", ErrUnsupported, f[3])
	}
	debugFile := symstore.BaseName(strings.TrimSpace(f[4]))
	in := Info{Kind: KindBreakpad, DebugID: id, DebugFile: debugFile, Arch: breakpadArch(f[2])}
	// INFO records follow the MODULE line; CODE_ID gives the image's id.
	for i := 0; i < 8; i++ {
		l, err := readLine(br)
		if err != nil || !strings.HasPrefix(l, "INFO ") {
			break
		}
		if rest, ok := strings.CutPrefix(l, "INFO CODE_ID "); ok {
			parts := strings.Fields(rest)
			if len(parts) > 0 && strings.IndexFunc(parts[0], func(c rune) bool { return !isHex(c) }) < 0 && len(parts[0]) <= 40 {
				in.CodeID = parts[0]
			}
			if len(parts) > 1 {
				in.CodeFile = symstore.BaseName(parts[1])
			}
		}
	}
	symName := debugFile
	if strings.HasSuffix(strings.ToLower(symName), ".pdb") {
		symName = symName[:len(symName)-4]
	}
	in.Key = symstore.Key{Name: symName + ".sym", ID: id, Dir: debugFile}
	return in, nil
}

func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		part, more, err := br.ReadLine()
		if err != nil {
			if len(b) > 0 {
				break
			}
			return "", err
		}
		b = append(b, part...)
		if len(b) > maxModuleLine {
			return "", errors.New("a line is too long")
		}
		if !more {
			break
		}
	}
	return strings.TrimRight(string(b), "\r"), nil
}

func isHex(c rune) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func machineArch(m uint16) string {
	switch m {
	case 0x14c:
		return "x86"
	case 0x8664:
		return "x86_64"
	case 0xaa64:
		return "arm64"
	case 0x1c0, 0x1c4:
		return "arm"
	}
	return ""
}

func breakpadArch(a string) string {
	switch a {
	case "x86", "x86_64", "arm64", "arm":
		return a
	case "amd64":
		return "x86_64"
	}
	return ""
}

// SentryDebugID writes a Breakpad debug id (32 hex digits of GUID, then
// the age) the way Sentry and sentry-cli print it:
// "3249d99d-0c40-4931-8610-f4e4fb0b6936-1"; the age is left out when 0.
// An empty id is the nil UUID, as sentry-cli shows for an image without a
// CodeView record.
func SentryDebugID(id string) string {
	if id == "" {
		return "00000000-0000-0000-0000-000000000000"
	}
	id = strings.ToLower(id)
	if len(id) < 32 {
		// An NB10 signature: 8 hex digits then the age.
		if len(id) < 8 {
			return id
		}
		id = id[:8] + strings.Repeat("0", 24) + id[8:]
	}
	u := id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
	age, err := strconv.ParseUint(id[32:], 16, 32)
	if err != nil || age == 0 {
		return u
	}
	return u + "-" + strconv.FormatUint(age, 16)
}

// BreakpadDebugID is the inverse of SentryDebugID: it accepts either form
// (with or without dashes, any case) and returns the upper-case Breakpad
// form, or "" when s is not a debug id.
func BreakpadDebugID(s string) string {
	t := strings.ReplaceAll(s, "-", "")
	if len(t) < 32 || len(t) > 40 || strings.IndexFunc(t, func(c rune) bool { return !isHex(c) }) >= 0 {
		return ""
	}
	if len(t) == 32 {
		t += "0"
	}
	age, err := strconv.ParseUint(t[32:], 16, 32)
	if err != nil {
		return ""
	}
	return strings.ToUpper(t[:32]) + strings.ToUpper(strconv.FormatUint(age, 16))
}

// SentryCodeID is a PE code id as Sentry prints it: lower case.
func SentryCodeID(id string) string { return strings.ToLower(id) }
