package analyzer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
	"github.com/dumptriage/dumptriage/analyzer/symbols/demangle"
	"github.com/dumptriage/dumptriage/analyzer/symbols/symstore"
)

// symbol is a resolved code address.
type symbol struct {
	Name   string
	RVA    uint64 // function start
	File   string
	Line   int
	Source string // pdb, breakpad, dwarf, exports
	// Inlines are the calls inlined at the address, outermost first; File
	// and Line are then the outermost call site in the function.
	Inlines []report.InlineFrame
}

type symbolSource interface {
	lookup(rva uint64) (symbol, bool)
}

// moduleFiles is what was found for one module: its image and its symbols.
type moduleFiles struct {
	image       *pe.Image
	imageFile   string // path of the image file, when it came from disk
	imageStatus report.FileStatus
	symbols     []symbolSource
	symStatus   report.FileStatus
	breakpad    *breakpad.File
	corrupt     bool // a symbol file was found but could not be read
}

// symbolLookupTimeout bounds the whole search for one module's files.
const symbolLookupTimeout = 30 * time.Second

// files finds and caches the image and symbols of a module.
func (a *analysis) files(m *minidump.Module) *moduleFiles {
	if a.modules == nil {
		a.modules = map[*minidump.Module]*moduleFiles{}
	}
	if f, ok := a.modules[m]; ok {
		return f
	}
	f := &moduleFiles{}
	a.modules[m] = f
	if err := a.ctx.Err(); err != nil {
		// Past the deadline no more images or symbols are loaded.
		why := report.FileStatus{Why: "not looked up: the analysis stopped (" + err.Error() + ")"}
		f.imageStatus, f.symStatus = why, why
		return f
	}
	a.findImage(m, f)
	a.findSymbols(m, f)
	return f
}

func (a *analysis) store() *symstore.Store {
	if a.opts.SymbolPath == "" {
		return nil
	}
	key := fmt.Sprintf("store:%d:%d:%s", a.opts.SymbolTimeout, a.opts.SymbolMaxDownload, a.opts.SymbolPath)
	v, err := a.opts.Symbols.get(key, nil, func() (any, int64, error) {
		p, err := symstore.ParsePath(a.opts.SymbolPath)
		if err != nil {
			return nil, 0, err
		}
		cache := a.opts.Symbols
		verify := func(path string, want symstore.Key) error { return verifyCandidate(cache, path, want) }
		return &symstore.Store{Path: p, Verify: verify, VerifyDownload: verifyDownload,
			Timeout: a.opts.SymbolTimeout, MaxDownload: a.opts.SymbolMaxDownload}, 1024, nil
	})
	if err != nil {
		if !a.badPathWarned {
			a.badPathWarned = true
			a.warn("symbol path %q: %v", a.opts.SymbolPath, err)
		}
		return nil
	}
	return v.(*symstore.Store)
}

// verifyCandidate checks that a file found by name alone is the one wanted.
func verifyCandidate(cache *SymbolCache, path string, want symstore.Key) error {
	lower := strings.ToLower(want.Name)
	switch {
	case strings.HasSuffix(lower, ".sym"):
		got, err := breakpadModuleID(path)
		if err != nil {
			return err
		}
		if want.ID != "" && !strings.EqualFold(got, want.ID) {
			return fmt.Errorf("debug id mismatch: wanted %s, found %s", want.ID, got)
		}
	case strings.HasSuffix(lower, ".pdb"):
		got, err := pdbDebugID(path)
		if err != nil {
			return err
		}
		if want.ID != "" && !strings.EqualFold(got, want.ID) {
			return fmt.Errorf("debug id mismatch: wanted %s, found %s", want.ID, got)
		}
	default:
		im, err := cache.image(path)
		if err != nil {
			return err
		}
		if want.ID != "" && !strings.EqualFold(im.CodeID(), want.ID) {
			return fmt.Errorf("image mismatch: wanted %s, found %s (TimeDateStamp+SizeOfImage)", want.ID, im.CodeID())
		}
	}
	return nil
}

// verifyDownload checks a file a symbol server sent before it enters the
// cache, without caching what it opens (the file is then renamed).
func verifyDownload(path string, want symstore.Key) error {
	lower := strings.ToLower(want.Name)
	if strings.HasSuffix(lower, ".sym") || strings.HasSuffix(lower, ".pdb") {
		return verifyCandidate(nil, path, want)
	}
	im, err := openImageFile(path)
	if err != nil {
		return fmt.Errorf("not a PE image: %v", err)
	}
	if !strings.EqualFold(im.CodeID(), want.ID) {
		return fmt.Errorf("image mismatch: wanted %s, found %s (TimeDateStamp+SizeOfImage)", want.ID, im.CodeID())
	}
	return nil
}

func breakpadModuleID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "MODULE" {
		return "", errors.New("not a Breakpad symbol file")
	}
	return fields[3], nil
}

// image opens a PE image file once per cache.
func (c *SymbolCache) image(path string) (*pe.Image, error) {
	v, err := c.get("image:"+path, nil, func() (any, int64, error) {
		im, err := openImageFile(path)
		if err != nil {
			return nil, 0, err
		}
		return im, int64(im.SizeOfImage()), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*pe.Image), nil
}

func openImageFile(path string) (*pe.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return pe.Open(f, st.Size())
}

// findImage looks for the module's PE image: in the dump's own memory when
// it was captured (full dumps), else along the symbol path.
func (a *analysis) findImage(m *minidump.Module, f *moduleFiles) {
	// A file from the symbol path is complete and may carry DWARF; the
	// dump's own copy (full dumps) needs nothing external.
	if a.findImageFile(m, f) {
		return
	}
	d := a.d
	if d.FullMemory && d.HasMemory(m.Base, 0x1000) {
		read := func(rva uint32, p []byte) (int, error) { return d.ReadMemory(m.Base+uint64(rva), p) }
		if im, err := pe.OpenMapped(read, m.Size); err == nil {
			f.image = im
			f.imageStatus = report.FileStatus{Found: true, Kind: "dump-memory", Source: "captured in the dump"}
			if im.Partial {
				f.imageStatus.Source += " (some pages missing)"
			}
		}
	}
}

// findImageFile looks for the image along the symbol path.
func (a *analysis) findImageFile(m *minidump.Module, f *moduleFiles) bool {
	st := a.store()
	if st == nil {
		f.imageStatus = report.FileStatus{Why: "no symbol path configured"}
		return false
	}
	key := symstore.ImageKey(m.FileName(), m.TimeDateStamp, m.Size)
	ctx, cancel := context.WithTimeout(a.ctx, symbolLookupTimeout)
	defer cancel()
	res, err := st.Find(ctx, key)
	a.noteServers(res)
	unverified := ""
	if err != nil {
		// A file of the right name whose TimeDateStamp/SizeOfImage differ
		// is used only when the code the dump captured matches it byte for
		// byte (Wine's builtin DLLs, rebuilt images with the same code).
		cand, why := a.contentMatchedCandidate(m, res)
		if cand == "" {
			f.imageStatus = report.FileStatus{Why: whyNotFound(res, err)}
			return false
		}
		res.Path, unverified = cand, why
	}
	im, err := a.opts.Symbols.image(res.Path)
	if err != nil {
		f.imageStatus = report.FileStatus{Why: fmt.Sprintf("%s: %v", res.Path, err)}
		return false
	}
	f.image = im
	f.imageFile = res.Path
	f.imageStatus = report.FileStatus{Found: true, Kind: "file", Source: res.Path, Why: unverified,
		URL: symbolURL(res.Source, key.Name, key.ID)}
	return true
}

// minMatchedBytes is how much captured code must agree with an image file
// whose identity differs before it is trusted.
const minMatchedBytes = 256

// contentMatchedCandidate returns a rejected image candidate whose bytes
// agree with every byte the dump captured inside the module, and why it
// was rejected by identity.
func (a *analysis) contentMatchedCandidate(m *minidump.Module, res symstore.Result) (string, string) {
	for _, t := range res.Tried {
		if !strings.Contains(t.Reason, "mismatch") {
			continue
		}
		im, err := a.opts.Symbols.image(t.Where)
		if err != nil {
			continue
		}
		if n, ok := a.capturedBytesMatch(m, im); ok && n >= minMatchedBytes {
			return t.Where, fmt.Sprintf("%s; used because the %d bytes of it the dump captured match the file", t.Reason, n)
		}
	}
	return "", ""
}

// capturedBytesMatch compares the dump's captured memory inside the module
// with the image file at the same RVAs.
func (a *analysis) capturedBytesMatch(m *minidump.Module, im *pe.Image) (int, bool) {
	compared := 0
	buf, img := make([]byte, 4096), make([]byte, 4096)
	for _, r := range a.d.MemoryRanges() {
		if r.End() <= m.Base || r.Start >= m.End() {
			continue
		}
		start, end := max(r.Start, m.Base), min(r.End(), m.End())
		for addr := start; addr < end && compared < 1<<20; addr += uint64(len(buf)) {
			n := int(min(uint64(len(buf)), end-addr))
			k, _ := a.d.ReadMemory(addr, buf[:n])
			j, _ := im.ReadRVA(uint32(addr-m.Base), img[:k])
			if j < k {
				return compared, false
			}
			for i := 0; i < k; i++ {
				if buf[i] != img[i] {
					return compared, false
				}
			}
			compared += k
		}
	}
	return compared, compared > 0
}

// noteServers warns, once per symbol server and analysis, when a server
// failed or sent a file that was not used: modules may then lack what it
// has. Plain 404s are the normal answer for files a server lacks.
func (a *analysis) noteServers(res symstore.Result) {
	for _, t := range res.Tried {
		u, err := url.Parse(t.Where)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || strings.Contains(t.Reason, "not found") {
			continue
		}
		server := u.Scheme + "://" + u.Host
		if a.serversNoted[server] {
			continue
		}
		if a.serversNoted == nil {
			a.serversNoted = map[string]bool{}
		}
		a.serversNoted[server] = true
		a.warn("symbol server %s: %s: %s", server, t.Where, t.Reason)
	}
}

// whyNotFound summarises a failed search: the most telling attempt.
func whyNotFound(res symstore.Result, err error) string {
	for _, t := range res.Tried {
		if t.Reason != "" && !strings.Contains(t.Reason, "not found") {
			return fmt.Sprintf("%s: %s", t.Where, t.Reason)
		}
	}
	if len(res.Tried) > 0 {
		return fmt.Sprintf("not found in %d place(s) on the symbol path", len(res.Tried))
	}
	return err.Error()
}

// debugIdentity is the module's PDB name and debug id: from the dump's
// CodeView record, else from the image's debug directory.
func debugIdentity(m *minidump.Module, im *pe.Image) (pdbName, debugID string) {
	if m.CodeView != nil && m.CodeView.PDBName != "" {
		return m.DebugFile(), m.DebugID()
	}
	if im != nil {
		if cv, ok := im.CodeViewRecord(); ok {
			return symstore.BaseName(cv.PDBName), cv.DebugID()
		}
	}
	return "", ""
}

// findSymbols tries, in order: a PDB, a Breakpad .sym, DWARF in the image,
// and the image's exports.
func (a *analysis) findSymbols(m *minidump.Module, f *moduleFiles) {
	pdbName, debugID := debugIdentity(m, f.image)
	var whys []string
	if st := a.store(); st != nil && pdbName != "" {
		ctx, cancel := context.WithTimeout(a.ctx, symbolLookupTimeout)
		defer cancel()
		if src, status, why := a.loadPDB(ctx, st, pdbName, debugID); src != nil {
			f.symbols = append(f.symbols, src)
			f.symStatus = status
		} else if why != "" {
			whys = append(whys, "pdb: "+why)
			f.corrupt = f.corrupt || status.Corrupt
		}
		if len(f.symbols) == 0 {
			res, err := st.Find(ctx, symstore.BreakpadKey(pdbName, debugID))
			a.noteServers(res)
			if err == nil {
				if bf, err := a.loadBreakpad(res.Path); err == nil {
					f.breakpad = bf
					f.symbols = append(f.symbols, breakpadSource{bf})
					f.symStatus = report.FileStatus{Found: true, Kind: "breakpad", Source: res.Path,
						URL: symbolURL(res.Source, pdbName, debugID)}
				} else {
					whys = append(whys, fmt.Sprintf("sym: %s: %v", res.Path, err))
					f.corrupt = true
				}
			} else {
				whys = append(whys, "sym: "+whyNotFound(res, err))
			}
		}
	} else if a.store() == nil {
		whys = append(whys, "no symbol path configured")
	} else {
		whys = append(whys, "the module has no CodeView record naming its PDB")
	}
	if len(f.symbols) == 0 && f.imageFile != "" {
		if src, err := a.loadDWARF(f.imageFile); err == nil && src != nil {
			f.symbols = append(f.symbols, src)
			f.symStatus = report.FileStatus{Found: true, Kind: "dwarf", Source: f.imageFile}
		}
	}
	if f.image != nil && len(f.image.Exports()) > 0 {
		f.symbols = append(f.symbols, exportSource{f.image})
		if len(f.symbols) == 1 {
			f.symStatus = report.FileStatus{Found: true, Kind: "exports", Source: f.imageStatus.Source,
				Why: "no debug symbols: names are the nearest exports and may be wrong for internal functions"}
		}
	}
	if len(f.symbols) == 0 {
		f.symStatus = report.FileStatus{Why: strings.Join(whys, "; ")}
	}
}

func (a *analysis) loadBreakpad(path string) (*breakpad.File, error) {
	v, err := a.opts.Symbols.get("sym:"+path, nil, func() (any, int64, error) {
		fh, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		defer fh.Close()
		st, _ := fh.Stat()
		bf, err := breakpad.Parse(bufio.NewReaderSize(fh, 1<<16))
		if err != nil {
			return nil, 0, err
		}
		return bf, st.Size(), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*breakpad.File), nil
}

type breakpadSource struct{ f *breakpad.File }

func (s breakpadSource) lookup(rva uint64) (symbol, bool) {
	sym, ok := s.f.Lookup(rva)
	if !ok {
		return symbol{}, false
	}
	out := symbol{Name: sym.Name, RVA: sym.RVA, File: sym.File, Line: sym.Line, Source: "breakpad"}
	for _, in := range sym.Inlines {
		out.Inlines = append(out.Inlines, report.InlineFrame{Function: in.Name, File: in.File, Line: in.Line})
	}
	return out, true
}

type exportSource struct{ im *pe.Image }

// maxExportDistance: past this distance from the nearest export, the name
// is more likely wrong than right, so the frame stays unnamed.
const maxExportDistance = 1 << 20

func (s exportSource) lookup(rva uint64) (symbol, bool) {
	if !s.im.IsExecutableRVA(uint32(rva)) {
		return symbol{}, false
	}
	e, off, ok := s.im.ExportAt(uint32(rva))
	if !ok || e.Forwarder != "" || off > maxExportDistance {
		return symbol{}, false
	}
	name := e.Name
	if name == "" {
		name = fmt.Sprintf("Ordinal%d", e.Ordinal)
	} else if strings.HasPrefix(name, "?") {
		if n, ok := demangle.MSVCName(name); ok {
			name = n
		}
	}
	return symbol{Name: name, RVA: uint64(e.RVA), Source: "exports"}, true
}

func (a *analysis) lookupSymbol(m *minidump.Module, rva uint64) (symbol, bool) {
	for _, s := range a.files(m).symbols {
		if sym, ok := s.lookup(rva); ok {
			return sym, true
		}
	}
	return symbol{}, false
}

// imageReader serves process memory from module images found on disk.
func (a *analysis) imageReader(addr uint64) (func(rva uint32, p []byte) (int, error), uint64, bool) {
	m := a.d.ModuleAt(addr)
	if m == nil {
		return nil, 0, false
	}
	f := a.files(m)
	if f.image == nil || f.imageStatus.Kind == "dump-memory" {
		return nil, 0, false
	}
	// Writable sections hold run-time state the file does not: serve only
	// read-only sections (code, constants, unwind data) from the file.
	im := f.image
	read := func(rva uint32, p []byte) (int, error) {
		sec, ok := im.SectionAt(rva)
		if !ok || sec.Characteristics&pe.ImageScnMemWrite != 0 {
			return 0, minidump.ErrNoMemory
		}
		if end := sec.VirtualAddress + max(sec.VirtualSize, sec.SizeOfRawData); rva+uint32(len(p)) > end && end > rva {
			p = p[:end-rva]
		}
		return im.ReadRVA(rva, p)
	}
	return read, m.Base, true
}

// describeModuleFiles records, per module, what was found and where. Only
// modules the analysis needed (a frame, a code or data read, the main
// module's header) were looked up, as Socorro and rust-minidump do: a dump
// of a hundred modules should not download a hundred PDBs.
func (a *analysis) describeModuleFiles() {
	for i := range a.d.Modules {
		m := &a.d.Modules[i]
		f, looked := a.modules[m]
		if !looked {
			why := report.FileStatus{Why: "not looked up: no frame or analysis needed this module"}
			a.rep.Modules[i].Image, a.rep.Modules[i].Symbols = &why, &why
			continue
		}
		rm := &a.rep.Modules[i]
		is, ss := f.imageStatus, f.symStatus
		rm.Image, rm.Symbols = &is, &ss
		rm.LoadedSymbols = ss.Found && ss.Kind != "exports"
		rm.MissingSymbols = !rm.LoadedSymbols
		rm.CorruptSymbols = f.corrupt && !rm.LoadedSymbols
		if ss.URL != "" {
			u := ss.URL
			rm.SymbolURL = &u
		}
		if rm.DebugID == "" {
			if name, id := debugIdentity(m, f.image); id != "" {
				rm.DebugFile, rm.DebugID = name, id
			}
		}
		if rm.Version == "" && f.image != nil {
			if v, ok := f.image.VersionInfo(); ok {
				rm.Version = v
			}
		}
	}
}
