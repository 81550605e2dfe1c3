package pe

import (
	"bytes"
	"encoding/binary"
	"fmt"

	swpe "github.com/saferwall/pe"
	swlog "github.com/saferwall/pe/log"
)

// silentLogger drops saferwall/pe's log records: libraries never print, and
// saferwall's default logger writes to stdout.
type silentLogger struct{}

func (silentLogger) Log(swlog.Level, ...any) error { return nil }

// swOptions parses only what we use. Every Omit flag is set except the debug
// directory. MaxCOFFSymbolsCount and MaxRelocEntriesCount of 1 keep the
// defaults from being applied (0 means default).
func swOptions() *swpe.Options {
	return &swpe.Options{
		Fast:                       true, // directories are parsed in a second step
		Logger:                     silentLogger{},
		MaxCOFFSymbolsCount:        1,
		MaxRelocEntriesCount:       1,
		DisableCertValidation:      true,
		DisableSignatureValidation: true,
		OmitExportDirectory:        true, // prints to stdout on bad names; ordinal bug: decoded here
		OmitImportDirectory:        true,
		OmitExceptionDirectory:     true, // wrong x64 unwind decoding
		OmitResourceDirectory:      true, // unbounded recursion; version parsing can loop
		OmitSecurityDirectory:      true,
		OmitRelocDirectory:         true,
		OmitArchitectureDirectory:  true,
		OmitGlobalPtrDirectory:     true,
		OmitTLSDirectory:           true,
		OmitLoadConfigDirectory:    true, // prints to stdout for DVRT version 2
		OmitBoundImportDirectory:   true,
		OmitIATDirectory:           true,
		OmitDelayImportDirectory:   true,
		OmitCLRHeaderDirectory:     true,
		OmitCLRMetadata:            true,
	}
}

// patcher changes bytes of the image for the duration of a saferwall parse
// and puts them back, so that hostile fields never reach the library.
type patcher struct {
	data  []byte
	saved []struct {
		off int
		old [4]byte
	}
}

func (p *patcher) put32(off uint64, v uint32) {
	if off+4 > uint64(len(p.data)) {
		return
	}
	var s struct {
		off int
		old [4]byte
	}
	s.off = int(off)
	copy(s.old[:], p.data[off:off+4])
	p.saved = append(p.saved, s)
	binary.LittleEndian.PutUint32(p.data[off:], v)
}

func (p *patcher) restore() {
	for i := len(p.saved) - 1; i >= 0; i-- {
		copy(p.data[p.saved[i].off:], p.saved[i].old[:])
	}
	p.saved = nil
}

// guard runs f, turning a panic into an error: saferwall/pe v1.6.5 panics on
// some inputs (ParseRichHeader among them).
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("saferwall/pe %s panicked: %v", what, r)
		}
	}()
	return f()
}

// codeViewFromSaferwall parses the debug directory with saferwall/pe and
// returns its CodeView record. data is the file layout, or for a mapped
// image the image memory (sections then lie at PointerToRawData ==
// VirtualAddress, which is arranged by patching the section headers).
//
// Before the parse it neutralises, in data, what saferwall mishandles, and
// restores those bytes afterwards:
//   - "Rich" in the DOS stub (ParseRichHeader panics and allocates by the
//     stub's size);
//   - the COFF symbol table pointer (an unbounded string-table walk);
//   - debug entries other than valid CodeView ones (a CodeView SizeOfData
//     below 25 underflows into a 4 GiB allocation; POGO below 4 loops).
func (im *Image) codeViewFromSaferwall(data []byte, mapped bool) (CodeViewInfo, bool) {
	h := im.h
	dbgRVA, dbgSize := h.dirs[DirDebug].rva, h.dirs[DirDebug].size
	if dbgRVA == 0 || dbgSize < debugDirEntrySize {
		return CodeViewInfo{}, false
	}
	p := &patcher{data: data}
	defer p.restore()

	stub := data[:min(uint64(h.lfanew), uint64(len(data)))]
	for i := 0; i < 64; i++ {
		j := bytes.Index(stub, []byte("Rich"))
		if j < 0 {
			break
		}
		p.put32(uint64(j), 0x68636972) // "rich"
	}
	fh := uint64(h.lfanew) + 4
	p.put32(fh+8, 0)  // PointerToSymbolTable
	p.put32(fh+12, 0) // NumberOfSymbols

	if mapped {
		oo := uint64(h.optionalHeaderOff())
		// Alignments of 1 make saferwall's offset arithmetic the identity.
		p.put32(oo+32, 1) // SectionAlignment
		p.put32(oo+36, 1) // FileAlignment
		for i, s := range h.sections {
			sh := uint64(h.sectionTableOff) + uint64(i)*sectionHeaderSize
			raw := uint32(0)
			if uint64(s.VirtualAddress) < uint64(len(data)) {
				raw = uint32(min(uint64(s.mappedSize()), uint64(len(data))-uint64(s.VirtualAddress)))
			}
			p.put32(sh+16, raw)              // SizeOfRawData
			p.put32(sh+20, s.VirtualAddress) // PointerToRawData
		}
	}

	f, err := swpe.NewBytes(data, swOptions())
	if err == nil {
		err = guard("Parse", f.Parse)
	}
	if err != nil {
		im.warnf("saferwall/pe: %v", err)
		return CodeViewInfo{}, false
	}

	// Sanitise the debug entries where saferwall will read them.
	count := min(dbgSize/debugDirEntrySize, maxDebugEntries)
	for i := uint32(0); i < count; i++ {
		var off uint32
		if guard("GetOffsetFromRva", func() error { off = f.GetOffsetFromRva(dbgRVA + i*debugDirEntrySize); return nil }) != nil {
			count = i
			break
		}
		eo := uint64(off)
		if eo+debugDirEntrySize > uint64(len(data)) {
			count = i
			break
		}
		e := decodeDebugEntry(data[eo:])
		if mapped {
			e.pointerToRawData = e.addressOfRawData
			p.put32(eo+24, e.addressOfRawData)
		}
		if !codeViewEntryOK(data, e, mapped) {
			p.put32(eo+12, 0) // IMAGE_DEBUG_TYPE_UNKNOWN: saferwall skips it
		}
	}
	if count == 0 {
		return CodeViewInfo{}, false
	}
	if !setDebugDirOnly(f, count*debugDirEntrySize) {
		return CodeViewInfo{}, false
	}
	if err := guard("ParseDataDirectories", f.ParseDataDirectories); err != nil {
		im.warnf("saferwall/pe: debug directory: %v", err)
	}
	for _, d := range f.Debugs {
		switch info := d.Info.(type) {
		case swpe.CVInfoPDB70:
			cv := CodeViewInfo{Format: "RSDS", Age: info.Age, PDBName: cString([]byte(info.PDBFileName))}
			binary.LittleEndian.PutUint32(cv.GUID[0:], info.Signature.Data1)
			binary.LittleEndian.PutUint16(cv.GUID[4:], info.Signature.Data2)
			binary.LittleEndian.PutUint16(cv.GUID[6:], info.Signature.Data3)
			copy(cv.GUID[8:], info.Signature.Data4[:])
			return cv, true
		case swpe.CVInfoPDB20:
			return CodeViewInfo{Format: "NB10", Signature: info.Signature, Age: info.Age, PDBName: cString([]byte(info.PDBFileName))}, true
		}
	}
	return CodeViewInfo{}, false
}

// codeViewEntryOK accepts a CodeView entry whose record saferwall can read
// without underflowing SizeOfData.
func codeViewEntryOK(data []byte, e debugEntry, mapped bool) bool {
	if e.typ != debugTypeCodeView || e.sizeOfData > maxCodeViewSize || (mapped && e.addressOfRawData == 0) {
		return false
	}
	ptr := uint64(e.pointerToRawData)
	if ptr+uint64(e.sizeOfData) > uint64(len(data)) || e.sizeOfData < 4 {
		return false
	}
	switch le32(data[ptr:]) {
	case cvSigRSDS:
		return e.sizeOfData >= 25
	case cvSigNB10:
		return e.sizeOfData >= 17
	}
	return false
}

// setDebugDirOnly leaves only the (clamped) debug directory in saferwall's
// copy of the optional header.
func setDebugDirOnly(f *swpe.File, size uint32) bool {
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case swpe.ImageOptionalHeader64:
		d := oh.DataDirectory[DirDebug]
		oh.DataDirectory = [16]swpe.DataDirectory{}
		oh.DataDirectory[DirDebug] = swpe.DataDirectory{VirtualAddress: d.VirtualAddress, Size: size}
		f.NtHeader.OptionalHeader = oh
	case swpe.ImageOptionalHeader32:
		d := oh.DataDirectory[DirDebug]
		oh.DataDirectory = [16]swpe.DataDirectory{}
		oh.DataDirectory[DirDebug] = swpe.DataDirectory{VirtualAddress: d.VirtualAddress, Size: size}
		f.NtHeader.OptionalHeader = oh
	default:
		return false
	}
	return true
}
