package pe

import (
	"fmt"
	"strings"
)

const (
	debugDirEntrySize = 28 // sizeof(IMAGE_DEBUG_DIRECTORY)
	debugTypeCodeView = 2  // IMAGE_DEBUG_TYPE_CODEVIEW
	maxDebugEntries   = 32 // real images have a handful
	maxCodeViewSize   = 4096

	cvSigRSDS = 0x53445352 // "RSDS": CV_INFO_PDB70
	cvSigNB10 = 0x3031424E // "NB10": CV_INFO_PDB20
)

// CodeViewInfo is the CodeView record an IMAGE_DEBUG_TYPE_CODEVIEW debug
// directory entry points to: CV_INFO_PDB70 ("RSDS") or CV_INFO_PDB20
// ("NB10").
type CodeViewInfo struct {
	Format    string   // "RSDS" or "NB10"
	GUID      [16]byte // RSDS: CV_INFO_PDB70.Signature, bytes as stored
	Signature uint32   // NB10: CV_INFO_PDB20.Signature (a time stamp)
	Age       uint32
	PDBName   string // as stored: a bare name or a full build path
}

// DebugID is the id symbol stores and Breakpad file PDBs under: for RSDS
// the GUID as uppercase hex with Data1..Data3 read little-endian, then
// the age in lowercase hex; for NB10 the signature as %08X then the age.
func (cv CodeViewInfo) DebugID() string {
	if cv.Format == "NB10" {
		return fmt.Sprintf("%08X%x", cv.Signature, cv.Age)
	}
	g := cv.GUID
	return fmt.Sprintf("%08X%04X%04X%X%x", le32(g[0:]), le16(g[4:]), le16(g[6:]), g[8:16], cv.Age)
}

// CodeView returns the image's PDB name, GUID and age. For an NB10 record
// the GUID holds the 4-byte signature (little-endian) and zeros.
func (im *Image) CodeView() (pdbName string, guid [16]byte, age uint32, ok bool) {
	if !im.hasCV {
		return "", guid, 0, false
	}
	guid = im.cv.GUID
	if im.cv.Format == "NB10" {
		guid = [16]byte{byte(im.cv.Signature), byte(im.cv.Signature >> 8), byte(im.cv.Signature >> 16), byte(im.cv.Signature >> 24)}
	}
	return im.cv.PDBName, guid, im.cv.Age, true
}

// CodeViewRecord returns the full CodeView record.
func (im *Image) CodeViewRecord() (CodeViewInfo, bool) { return im.cv, im.hasCV }

// DebugID is CodeViewRecord().DebugID(), or "" without a CodeView record.
func (im *Image) DebugID() string {
	if !im.hasCV {
		return ""
	}
	return im.cv.DebugID()
}

// PDBBaseName is the file name part of the CodeView PDB path, which may be
// a Windows path.
func (im *Image) PDBBaseName() string {
	if !im.hasCV {
		return ""
	}
	return baseName(im.cv.PDBName)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// debugEntry is the part of IMAGE_DEBUG_DIRECTORY used here.
type debugEntry struct {
	typ, sizeOfData, addressOfRawData, pointerToRawData uint32
}

func decodeDebugEntry(b []byte) debugEntry {
	return debugEntry{typ: le32(b[12:]), sizeOfData: le32(b[16:]), addressOfRawData: le32(b[20:]), pointerToRawData: le32(b[24:])}
}

// codeViewOwn decodes the first valid CodeView record itself. It is used
// when saferwall/pe could not parse the image.
func (im *Image) codeViewOwn() (CodeViewInfo, bool) {
	rva, size := im.DataDirectory(DirDebug)
	if rva == 0 {
		return CodeViewInfo{}, false
	}
	n := min(size/debugDirEntrySize, maxDebugEntries)
	dir, err := im.readBytes(rva, n*debugDirEntrySize)
	if err != nil {
		return CodeViewInfo{}, false
	}
	for i := uint32(0); i < n; i++ {
		e := decodeDebugEntry(dir[i*debugDirEntrySize:])
		if e.typ != debugTypeCodeView || e.sizeOfData < 16 {
			continue
		}
		sz := min(e.sizeOfData, maxCodeViewSize)
		var rec []byte
		switch {
		case e.addressOfRawData != 0:
			rec, _ = im.readBytes(e.addressOfRawData, sz)
		case im.file != nil && uint64(e.pointerToRawData)+uint64(sz) <= uint64(len(im.file)):
			rec = im.file[e.pointerToRawData : e.pointerToRawData+sz]
		}
		if cv, ok := decodeCodeView(rec); ok {
			return cv, true
		}
	}
	return CodeViewInfo{}, false
}

// decodeCodeView decodes CV_INFO_PDB70 { Signature; GUID; Age; PdbFileName }
// or CV_INFO_PDB20 { Signature; Offset; Signature; Age; PdbFileName }.
func decodeCodeView(b []byte) (CodeViewInfo, bool) {
	if len(b) < 16 {
		return CodeViewInfo{}, false
	}
	switch le32(b) {
	case cvSigRSDS:
		if len(b) < 24 {
			return CodeViewInfo{}, false
		}
		cv := CodeViewInfo{Format: "RSDS", Age: le32(b[20:]), PDBName: cString(b[24:])}
		copy(cv.GUID[:], b[4:20])
		return cv, true
	case cvSigNB10:
		return CodeViewInfo{Format: "NB10", Signature: le32(b[8:]), Age: le32(b[12:]), PDBName: cString(b[16:])}, true
	}
	return CodeViewInfo{}, false
}
