package pe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Format constants from winnt.h.
const (
	imageDOSSignature = 0x5A4D     // IMAGE_DOS_HEADER.e_magic "MZ"
	imageNTSignature  = 0x00004550 // IMAGE_NT_HEADERS.Signature "PE\0\0"
	optMagicPE32      = 0x10B      // IMAGE_NT_OPTIONAL_HDR32_MAGIC
	optMagicPE32Plus  = 0x20B      // IMAGE_NT_OPTIONAL_HDR64_MAGIC

	fileHeaderSize    = 20 // sizeof(IMAGE_FILE_HEADER)
	sectionHeaderSize = 40 // sizeof(IMAGE_SECTION_HEADER)
	coffSymbolSize    = 18 // sizeof(IMAGE_SYMBOL)

	imageFileLargeAddressAware = 0x0020 // IMAGE_FILE_LARGE_ADDRESS_AWARE

	// Section characteristics (IMAGE_SECTION_HEADER.Characteristics).
	ImageScnCntCode    = 0x00000020 // IMAGE_SCN_CNT_CODE
	ImageScnMemExecute = 0x20000000 // IMAGE_SCN_MEM_EXECUTE
	ImageScnMemRead    = 0x40000000 // IMAGE_SCN_MEM_READ
	ImageScnMemWrite   = 0x80000000 // IMAGE_SCN_MEM_WRITE

	// Machine values (IMAGE_FILE_HEADER.Machine).
	MachineI386  = 0x014C // IMAGE_FILE_MACHINE_I386
	MachineAMD64 = 0x8664 // IMAGE_FILE_MACHINE_AMD64
	MachineARM64 = 0xAA64 // IMAGE_FILE_MACHINE_ARM64

	// Data directory indexes (IMAGE_OPTIONAL_HEADER.DataDirectory).
	DirExport    = 0  // IMAGE_DIRECTORY_ENTRY_EXPORT
	DirImport    = 1  // IMAGE_DIRECTORY_ENTRY_IMPORT
	DirResource  = 2  // IMAGE_DIRECTORY_ENTRY_RESOURCE
	DirException = 3  // IMAGE_DIRECTORY_ENTRY_EXCEPTION
	DirSecurity  = 4  // IMAGE_DIRECTORY_ENTRY_SECURITY
	DirBaseReloc = 5  // IMAGE_DIRECTORY_ENTRY_BASERELOC
	DirDebug     = 6  // IMAGE_DIRECTORY_ENTRY_DEBUG
	DirTLS       = 9  // IMAGE_DIRECTORY_ENTRY_TLS
	DirLoadCfg   = 10 // IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG
	DirIAT       = 12 // IMAGE_DIRECTORY_ENTRY_IAT
	numDirs      = 16 // IMAGE_NUMBEROF_DIRECTORY_ENTRIES
)

// ErrNotPE is returned (wrapped) when the bytes are not a PE image.
var ErrNotPE = errors.New("not a PE image")

// Section is one IMAGE_SECTION_HEADER.
type Section struct {
	// Name is IMAGE_SECTION_HEADER.Name. Long names ("/4") are resolved
	// through the COFF string table when the file has one (MinGW's
	// .debug_* sections); in mapped images they stay "/4".
	Name             string
	VirtualAddress   uint32
	VirtualSize      uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// Executable reports IMAGE_SCN_MEM_EXECUTE, which is what the loader turns
// into an executable page protection.
func (s Section) Executable() bool { return s.Characteristics&ImageScnMemExecute != 0 }

// mappedSize is how many bytes the loader maps for the section:
// VirtualSize, or SizeOfRawData when VirtualSize is 0 (old linkers).
func (s Section) mappedSize() uint32 {
	if s.VirtualSize != 0 {
		return s.VirtualSize
	}
	return s.SizeOfRawData
}

// headers holds the decoded IMAGE_NT_HEADERS fields this package uses.
type headers struct {
	lfanew             uint32 // IMAGE_DOS_HEADER.e_lfanew
	machine            uint16 // IMAGE_FILE_HEADER.Machine
	numberOfSections   uint16
	timeDateStamp      uint32
	pointerToSymTable  uint32
	numberOfSymbols    uint32
	sizeOfOptHeader    uint16
	characteristics    uint16
	magic              uint16 // IMAGE_OPTIONAL_HEADER.Magic
	imageBase          uint64
	sectionAlignment   uint32
	fileAlignment      uint32
	sizeOfImage        uint32
	sizeOfHeaders      uint32
	dllCharacteristics uint16
	stackReserve       uint64
	stackCommit        uint64
	numberOfRvaAndSize uint32
	dirs               [numDirs]struct{ rva, size uint32 }
	sectionTableOff    uint32 // file offset of the first IMAGE_SECTION_HEADER
	sections           []Section
}

func (h *headers) is64() bool { return h.magic == optMagicPE32Plus }

// optionalHeaderOff is the file offset of IMAGE_OPTIONAL_HEADER.
func (h *headers) optionalHeaderOff() uint32 { return h.lfanew + 4 + fileHeaderSize }

// parseHeaders decodes IMAGE_DOS_HEADER, IMAGE_NT_HEADERS and the section
// table from the start of b (file layout and mapped layout agree there).
func parseHeaders(b []byte) (*headers, error) {
	if len(b) < 64 || binary.LittleEndian.Uint16(b) != imageDOSSignature {
		return nil, fmt.Errorf("%w: no MZ signature", ErrNotPE)
	}
	h := &headers{lfanew: binary.LittleEndian.Uint32(b[0x3C:])}
	nt := uint64(h.lfanew)
	if nt+4+fileHeaderSize > uint64(len(b)) {
		return nil, fmt.Errorf("%w: e_lfanew 0x%x beyond the headers", ErrNotPE, h.lfanew)
	}
	if binary.LittleEndian.Uint32(b[nt:]) != imageNTSignature {
		return nil, fmt.Errorf("%w: no PE signature at 0x%x", ErrNotPE, h.lfanew)
	}
	fh := b[nt+4:]
	h.machine = binary.LittleEndian.Uint16(fh[0:])
	h.numberOfSections = binary.LittleEndian.Uint16(fh[2:])
	h.timeDateStamp = binary.LittleEndian.Uint32(fh[4:])
	h.pointerToSymTable = binary.LittleEndian.Uint32(fh[8:])
	h.numberOfSymbols = binary.LittleEndian.Uint32(fh[12:])
	h.sizeOfOptHeader = binary.LittleEndian.Uint16(fh[16:])
	h.characteristics = binary.LittleEndian.Uint16(fh[18:])

	oo := uint64(h.optionalHeaderOff())
	optEnd := oo + uint64(h.sizeOfOptHeader)
	if optEnd > uint64(len(b)) {
		return nil, fmt.Errorf("%w: optional header (%d bytes) beyond the data", ErrNotPE, h.sizeOfOptHeader)
	}
	opt := b[oo:optEnd]
	if len(opt) < 2 {
		return nil, fmt.Errorf("%w: no optional header", ErrNotPE)
	}
	h.magic = binary.LittleEndian.Uint16(opt)
	var need int
	switch h.magic {
	case optMagicPE32:
		need = 96
	case optMagicPE32Plus:
		need = 112
	default:
		return nil, fmt.Errorf("%w: optional header magic 0x%x", ErrNotPE, h.magic)
	}
	if len(opt) < need {
		return nil, fmt.Errorf("%w: optional header too small (%d bytes)", ErrNotPE, len(opt))
	}
	le := binary.LittleEndian
	if h.is64() {
		h.imageBase = le.Uint64(opt[24:])
		h.stackReserve = le.Uint64(opt[72:])
		h.stackCommit = le.Uint64(opt[80:])
		h.numberOfRvaAndSize = le.Uint32(opt[108:])
	} else {
		h.imageBase = uint64(le.Uint32(opt[28:]))
		h.stackReserve = uint64(le.Uint32(opt[72:]))
		h.stackCommit = uint64(le.Uint32(opt[76:]))
		h.numberOfRvaAndSize = le.Uint32(opt[92:])
	}
	h.sectionAlignment = le.Uint32(opt[32:])
	h.fileAlignment = le.Uint32(opt[36:])
	h.sizeOfImage = le.Uint32(opt[56:])
	h.sizeOfHeaders = le.Uint32(opt[60:])
	h.dllCharacteristics = le.Uint16(opt[70:])

	// The loader trusts NumberOfRvaAndSizes only as far as the optional
	// header reaches.
	n := int(min(h.numberOfRvaAndSize, numDirs))
	dd := opt[need:]
	for i := 0; i < n && 8*i+8 <= len(dd); i++ {
		h.dirs[i].rva = le.Uint32(dd[8*i:])
		h.dirs[i].size = le.Uint32(dd[8*i+4:])
	}

	h.sectionTableOff = uint32(optEnd)
	count := uint64(h.numberOfSections)
	if optEnd+count*sectionHeaderSize > uint64(len(b)) {
		return nil, fmt.Errorf("%w: section table (%d entries) beyond the data", ErrNotPE, count)
	}
	h.sections = make([]Section, count)
	for i := range h.sections {
		s := b[optEnd+uint64(i)*sectionHeaderSize:]
		h.sections[i] = Section{
			Name:             cString(s[:8]),
			VirtualSize:      le.Uint32(s[8:]),
			VirtualAddress:   le.Uint32(s[12:]),
			SizeOfRawData:    le.Uint32(s[16:]),
			PointerToRawData: le.Uint32(s[20:]),
			Characteristics:  le.Uint32(s[36:]),
		}
	}
	return h, nil
}

// resolveLongNames replaces "/N" section names by the string at offset N of
// the COFF string table, which follows the IMAGE_SYMBOL table at
// PointerToSymbolTable (GNU ld writes long names this way).
func (h *headers) resolveLongNames(file []byte) {
	if h.pointerToSymTable == 0 {
		return
	}
	strtab := uint64(h.pointerToSymTable) + uint64(h.numberOfSymbols)*coffSymbolSize
	if strtab+4 > uint64(len(file)) {
		return
	}
	size := uint64(binary.LittleEndian.Uint32(file[strtab:]))
	end := min(strtab+size, uint64(len(file)))
	for i := range h.sections {
		name := h.sections[i].Name
		if !strings.HasPrefix(name, "/") {
			continue
		}
		off, err := strconv.ParseUint(name[1:], 10, 32)
		if err != nil || off < 4 || strtab+off >= end {
			continue
		}
		if s := cString(file[strtab+off : min(strtab+off+256, end)]); s != "" {
			h.sections[i].Name = s
		}
	}
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func alignUp(v, a uint32) uint64 {
	if a == 0 {
		return uint64(v)
	}
	return (uint64(v) + uint64(a) - 1) / uint64(a) * uint64(a)
}
