package pe

import "sort"

const (
	exportDirSize   = 40      // sizeof(IMAGE_EXPORT_DIRECTORY)
	maxExports      = 1 << 17 // ordinals are 16-bit; leave room for odd bases
	maxExportName   = 4096    // long C++ mangled names fit
	maxExportBytes  = 32 << 20
	maxForwarderLen = 512
)

// Export is one exported function: an entry of the export address table,
// with its name if the name pointer table has one. A function exported
// under several names appears once per name.
type Export struct {
	Name    string // "" for exports by ordinal only
	Ordinal uint32 // IMAGE_EXPORT_DIRECTORY.Base + index
	RVA     uint32 // for a forwarder, the RVA of its "DLL.Name" string
	// Forwarder is "DLL.Name" or "DLL.#Ordinal" when the export address
	// points inside the export directory.
	Forwarder string
}

// Exports returns the exports sorted by RVA (then ordinal).
func (im *Image) Exports() []Export { return append([]Export(nil), im.exports...) }

// ExportAt returns the nearest non-forwarded export at or below rva and
// rva's offset from it.
func (im *Image) ExportAt(rva uint32) (Export, uint32, bool) {
	i := sort.Search(len(im.exports), func(i int) bool { return im.exports[i].RVA > rva })
	for i--; i >= 0; i-- {
		if e := im.exports[i]; e.Forwarder == "" {
			// Prefer a named export among aliases at the same RVA.
			for j := i - 1; j >= 0 && im.exports[j].RVA == e.RVA; j-- {
				if e.Name == "" && im.exports[j].Name != "" && im.exports[j].Forwarder == "" {
					e = im.exports[j]
				}
			}
			return e, rva - e.RVA, true
		}
	}
	return Export{}, 0, false
}

// parseExports decodes IMAGE_EXPORT_DIRECTORY { Name; Base;
// NumberOfFunctions; NumberOfNames; AddressOfFunctions; AddressOfNames;
// AddressOfNameOrdinals } through the mapped view.
func (im *Image) parseExports() []Export {
	dirRVA, dirSize := im.DataDirectory(DirExport)
	if dirRVA == 0 {
		return nil
	}
	d, err := im.readBytes(dirRVA, exportDirSize)
	if err != nil {
		im.warnf("export directory: %v", err)
		return nil
	}
	base := le32(d[16:])
	nFuncs, nNames := le32(d[20:]), le32(d[24:])
	if nFuncs > maxExports || nNames > maxExports {
		im.warnf("export directory: %d functions, %d names; reading %d", nFuncs, nNames, maxExports)
		nFuncs, nNames = min(nFuncs, maxExports), min(nNames, maxExports)
	}
	funcs, err := im.readBytes(le32(d[28:]), nFuncs*4)
	if err != nil {
		im.warnf("export address table: %v", err)
		return nil
	}
	names, err1 := im.readBytes(le32(d[32:]), nNames*4)
	ords, err2 := im.readBytes(le32(d[36:]), nNames*2)
	if err1 != nil || err2 != nil {
		im.warnf("export name tables unreadable; exports by ordinal only")
		nNames = 0
	}

	named := make([]bool, nFuncs)
	var out []Export
	// Strings are shared by RVA and counted against a budget, so that
	// entries pointing at the same long string cannot multiply memory.
	budget := maxExportBytes
	strs := map[uint32]string{}
	str := func(rva uint32, max int) string {
		if s, ok := strs[rva]; ok {
			return s
		}
		s, _ := im.readCString(rva, max)
		strs[rva] = s
		budget -= len(s) + 1
		return s
	}
	add := func(idx uint32, name string) {
		rva := le32(funcs[idx*4:])
		e := Export{Name: name, Ordinal: base + idx, RVA: rva}
		if rva >= dirRVA && uint64(rva) < uint64(dirRVA)+uint64(dirSize) {
			e.Forwarder = str(rva, maxForwarderLen)
		}
		out = append(out, e)
	}
	for i := uint32(0); i < nNames && budget > 0; i++ {
		idx := uint32(le16(ords[i*2:]))
		if idx >= nFuncs || le32(funcs[idx*4:]) == 0 {
			continue
		}
		name := str(le32(names[i*4:]), maxExportName)
		named[idx] = true
		add(idx, name)
	}
	for idx := uint32(0); idx < nFuncs && budget > 0; idx++ {
		if !named[idx] && le32(funcs[idx*4:]) != 0 {
			add(idx, "")
		}
	}
	if budget <= 0 {
		im.warnf("export strings exceed %d bytes; rest dropped", maxExportBytes)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RVA != out[j].RVA {
			return out[i].RVA < out[j].RVA
		}
		return out[i].Ordinal < out[j].Ordinal
	})
	return out
}
