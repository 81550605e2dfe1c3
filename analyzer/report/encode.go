package report

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
)

// AppendJSON appends the report's JSON to b. It writes exactly what
// encoding/json would write for the struct tags above (TestAppendJSONMatches
// checks every dump), without reflection: one analysis writes thousands of
// frames and addresses, and reflection plus the re-scan encoding/json does
// of every MarshalJSON result cost more than the analysis itself.
func (r *Report) AppendJSON(b []byte) []byte {
	w := objWriter{b: b}
	r.encode(&w)
	return w.b
}

// WriteJSON writes the same bytes as AppendJSON to out, through a small
// buffer rather than the whole report's worth of memory.
func (r *Report) WriteJSON(out io.Writer) error {
	w := objWriter{b: make([]byte, 0, 2*spillBytes), sink: out}
	r.encode(&w)
	w.spill(0)
	return w.err
}

func (r *Report) encode(w *objWriter) {
	w.b = append(w.b, '{')
	w.str("status", r.Status)
	w.key("pid")
	if r.PID != nil {
		w.b = strconv.AppendUint(w.b, uint64(*r.PID), 10)
	} else {
		w.null()
	}
	w.optUint("process_uptime", r.ProcessUptime)
	w.key("system_info")
	w.b = r.SystemInfo.appendJSON(w.b)
	w.key("crash_info")
	w.b = r.CrashInfo.appendJSON(w.b)
	w.key("crashing_thread")
	if r.CrashingThread != nil {
		r.CrashingThread.encode(w)
	} else {
		w.null()
	}
	w.int("thread_count", r.ThreadCount)
	w.key("threads")
	spillObjects(w, r.Threads, (*Thread).encode)
	w.key("main_module")
	if r.MainModule != nil {
		w.b = strconv.AppendInt(w.b, int64(*r.MainModule), 10)
	} else {
		w.null()
	}
	w.key("modules")
	spillSlice(w, r.Modules, (*Module).appendJSON)
	w.key("unloaded_modules")
	spillSlice(w, r.UnloadedModules, (*UnloadedModule).appendJSON)
	w.key("dump")
	w.b = r.Dump.appendJSON(w.b)
	w.key("process")
	w.b = r.Process.appendJSON(w.b)
	w.key("exception")
	if r.Exception != nil {
		w.b = r.Exception.appendJSON(w.b)
	} else {
		w.null()
	}
	w.strings("warnings", r.Warnings)
	w.key("memory_summary")
	if r.MemorySummary != nil {
		r.MemorySummary.encode(w)
	} else {
		w.null()
	}
	w.key("allocation_failure")
	if r.AllocationFailure != nil {
		w.b = r.AllocationFailure.appendJSON(w.b)
	} else {
		w.null()
	}
	w.key("stack_overflow")
	if r.StackOverflow != nil {
		w.b = r.StackOverflow.appendJSON(w.b)
	} else {
		w.null()
	}
	w.str("signature", r.Signature)
	if len(r.SignatureNotes) > 0 {
		w.strings("signature_notes", r.SignatureNotes)
	}
	if len(r.Annotations) > 0 {
		w.key("annotations")
		w.b = appendStringMap(w.b, r.Annotations)
	}
	if len(r.Handles) > 0 {
		w.key("handles")
		spillSlice(w, r.Handles, (*Handle).appendJSON)
	}
	if len(r.Comments) > 0 {
		w.strings("comments", r.Comments)
	}
	w.str("analyzer_version", r.AnalyzerVersion)
	w.b = append(w.b, '}')
}

func (r *Report) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

func (s *SystemInfo) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("os", s.OS)
	w.str("os_ver", s.OSVer)
	w.str("cpu_arch", s.CPUArch)
	w.str("cpu_info", s.CPUInfo)
	w.int("cpu_count", s.CPUCount)
	return append(w.b, '}')
}

func (c *CrashInfo) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("type", c.Type)
	w.optAddr("address", c.Address)
	w.key("crashing_thread")
	if c.CrashingThread != nil {
		w.b = strconv.AppendInt(w.b, int64(*c.CrashingThread), 10)
	} else {
		w.null()
	}
	w.key("assertion")
	if c.Assertion != nil {
		w.b = appendJSONString(w.b, *c.Assertion)
	} else {
		w.null()
	}
	if c.Description != "" {
		w.str("description", c.Description)
	}
	return append(w.b, '}')
}

func (e *ExceptionRecord) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.uint("thread_id", uint64(e.ThreadID))
	w.hex32("code", e.Code)
	w.str("name", e.Name)
	w.hex32("flags", e.Flags)
	w.addr("record", e.Record)
	w.addr("address", e.Address)
	w.key("parameters")
	if e.Parameters == nil {
		w.null()
	} else {
		w.b = append(w.b, '[')
		for i, p := range e.Parameters {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendHex(w.b, uint64(p))
		}
		w.b = append(w.b, ']')
	}
	if e.ThrownType != "" {
		w.str("thrown_type", e.ThrownType)
	}
	if len(e.ThrownTypes) > 0 {
		w.strings("thrown_types", e.ThrownTypes)
	}
	if e.Module != "" {
		w.str("module", e.Module)
	}
	return append(w.b, '}')
}

func (c *CrashingThread) encode(parent *objWriter) {
	w := parent.nested()
	w.uint("thread_id", uint64(c.ThreadID))
	w.int("threads_index", c.ThreadsIndex)
	w.int("frame_count", c.FrameCount)
	w.key("frames")
	spillSlice(&w, c.Frames, (*Frame).appendJSON)
	parent.end(&w)
}

func (t *Thread) encode(parent *objWriter) {
	w := parent.nested()
	w.uint("thread_id", uint64(t.ThreadID))
	w.optStr("thread_name", t.ThreadName)
	w.optStr("last_error_value", t.LastErrorValue)
	w.int("frame_count", t.FrameCount)
	w.key("frames")
	spillSlice(&w, t.Frames, (*Frame).appendJSON)
	w.omitAddr("teb", t.Teb)
	w.omitAddr("stack_start", t.StackStart)
	w.omitAddr("stack_end", t.StackEnd)
	if len(t.Registers) > 0 {
		w.key("registers")
		w.b = appendAddrMap(w.b, t.Registers)
	}
	if t.UsesExceptionContext {
		w.key("uses_exception_context")
		w.b = append(w.b, "true"...)
	}
	if t.WalkNote != "" {
		w.str("walk_note", t.WalkNote)
	}
	w.omitAddr("start_address", t.StartAddress)
	if t.StartModule != "" {
		w.str("start_module", t.StartModule)
	}
	if t.CreateTime != "" {
		w.str("create_time", t.CreateTime)
	}
	if t.UserTimeMS != nil {
		w.optUint("user_time_ms", t.UserTimeMS)
	}
	if t.KernelTimeMS != nil {
		w.optUint("kernel_time_ms", t.KernelTimeMS)
	}
	parent.end(&w)
}

func (h *Handle) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.addr("handle", h.Handle)
	w.str("type", h.Type)
	if h.Name != "" {
		w.str("name", h.Name)
	}
	w.hex32("granted_access", h.GrantedAccess)
	w.uint("handle_count", uint64(h.HandleCount))
	w.uint("pointer_count", uint64(h.PointerCount))
	return append(w.b, '}')
}

func (m *Module) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.addr("base_addr", m.BaseAddr)
	w.addr("end_addr", m.EndAddr)
	w.str("filename", m.Filename)
	w.str("code_id", m.CodeID)
	w.str("debug_file", m.DebugFile)
	w.str("debug_id", m.DebugID)
	w.str("version", m.Version)
	w.bool("missing_symbols", m.MissingSymbols)
	w.bool("loaded_symbols", m.LoadedSymbols)
	w.str("path", m.Path)
	if m.Image != nil {
		w.key("image")
		w.b = m.Image.appendJSON(w.b)
	}
	if m.Symbols != nil {
		w.key("symbols")
		w.b = m.Symbols.appendJSON(w.b)
	}
	return append(w.b, '}')
}

func (f *FileStatus) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.bool("found", f.Found)
	if f.Kind != "" {
		w.str("kind", f.Kind)
	}
	if f.Source != "" {
		w.str("source", f.Source)
	}
	if f.Why != "" {
		w.str("why", f.Why)
	}
	return append(w.b, '}')
}

func (u *UnloadedModule) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.addr("base_addr", u.BaseAddr)
	w.addr("end_addr", u.EndAddr)
	w.str("filename", u.Filename)
	w.str("code_id", u.CodeID)
	return append(w.b, '}')
}

func (d *DumpInfo) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	if d.SHA256 != "" {
		w.str("sha256", d.SHA256)
	}
	w.key("size")
	w.b = strconv.AppendInt(w.b, d.Size, 10)
	w.key("flags")
	w.b = appendHex(w.b, uint64(d.Flags))
	w.strings("flag_names", d.FlagNames)
	if d.Time != "" {
		w.str("time", d.Time)
	}
	w.key("streams")
	w.b = appendSlice(w.b, d.Streams, (*StreamInfo).appendJSON)
	if len(d.Missing) > 0 {
		w.key("missing")
		w.b = appendSlice(w.b, d.Missing, (*MissingData).appendJSON)
	}
	if d.WriterThreadID != nil {
		w.key("writer_thread_id")
		w.b = strconv.AppendUint(w.b, uint64(*d.WriterThreadID), 10)
	}
	if t := d.Truncated; t != nil {
		w.key("truncated")
		g := objWriter{b: append(w.b, '{')}
		g.key("present_bytes")
		g.b = strconv.AppendInt(g.b, t.PresentBytes, 10)
		g.uint("needed_bytes", t.NeededBytes)
		g.strings("lost_streams", t.LostStreams)
		g.strings("cut_streams", t.CutStreams)
		if t.MissingDirectoryEntries != 0 {
			g.uint("missing_directory_entries", uint64(t.MissingDirectoryEntries))
		}
		w.b = append(g.b, '}')
	}
	return append(w.b, '}')
}

func (s *StreamInfo) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.uint("type", uint64(s.Type))
	w.str("name", s.Name)
	w.uint("size", uint64(s.Size))
	w.hex32("rva", s.Rva)
	w.bool("known", s.Known)
	return append(w.b, '}')
}

func (m *MissingData) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("what", m.What)
	w.str("fix", m.Fix)
	return append(w.b, '}')
}

func (p *ProcessInfo) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.omitStr("name", p.Name)
	w.omitStr("path", p.Path)
	w.omitStr("version", p.Version)
	w.omitStr("create_time", p.CreateTime)
	w.omitStr("build_string", p.BuildString)
	if p.ProcessorMaxMHz != 0 {
		w.uint("processor_max_mhz", uint64(p.ProcessorMaxMHz))
	}
	w.omitStr("time_zone", p.TimeZone)
	w.omitStr("integrity_level", p.IntegrityLevel)
	w.omitUint("private_bytes", p.PrivateBytes)
	w.omitUint("commit_total_bytes", p.CommitTotalBytes)
	w.omitUint("commit_limit_bytes", p.CommitLimitBytes)
	w.omitUint("commit_peak_bytes", p.CommitPeakBytes)
	w.omitUint("physical_bytes", p.PhysicalBytes)
	return append(w.b, '}')
}

func (m *MemorySummary) encode(parent *objWriter) {
	w := parent.nested()
	w.uint("address_space_bytes", m.AddressSpaceBytes)
	for _, t := range [...]struct {
		name    string
		entries []SummaryEntry
	}{{"usage", m.Usage}, {"type", m.Type}, {"state", m.State}, {"protect", m.Protect}} {
		w.key(t.name)
		w.b = appendSlice(w.b, t.entries, (*SummaryEntry).appendJSON)
	}
	w.key("largest")
	w.b = appendSlice(w.b, m.Largest, (*LargestEntry).appendJSON)
	w.uint("largest_free_bytes", m.LargestFreeBytes)
	w.str("text", m.Text)
	w.key("regions")
	spillSlice(&w, m.Regions, (*Region).appendJSON)
	w.str("source", m.Source)
	if len(m.Notes) > 0 {
		w.strings("notes", m.Notes)
	}
	if m.PointerSize != 0 {
		w.int("pointer_size", m.PointerSize)
	}
	parent.end(&w)
}

func (e *SummaryEntry) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("name", e.Name)
	w.int("regions", e.Regions)
	w.uint("bytes", e.Bytes)
	w.float("pct_busy", e.PctBusy)
	w.float("pct_total", e.PctTotal)
	return append(w.b, '}')
}

func (e *LargestEntry) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("usage", e.Usage)
	w.addr("base", e.Base)
	w.uint("bytes", e.Bytes)
	return append(w.b, '}')
}

func (r *Region) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.addr("base", r.Base)
	w.addr("end", r.End)
	w.uint("size", r.Size)
	w.str("state", r.State)
	w.str("protect", r.Protect)
	w.str("type", r.Type)
	w.str("usage", r.Usage)
	w.omitStr("detail", r.Detail)
	w.addr("allocation_base", r.AllocationBase)
	w.omitStr("allocation_protect", r.AllocationProtect)
	return append(w.b, '}')
}

func (a *AllocationFailure) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.optUint("requested_bytes", a.RequestedBytes)
	w.optUint("element_count", a.ElementCount)
	w.optUint("element_size", a.ElementSize)
	w.str("allocator", a.Allocator)
	w.str("method", a.Method)
	w.str("confidence", a.Confidence)
	if len(a.Evidence) > 0 {
		w.strings("evidence", a.Evidence)
	}
	w.str("verdict", a.Verdict)
	w.str("explanation", a.Explanation)
	w.str("recognized", a.Recognized)
	w.optUint("commit_total_bytes", a.CommitTotalBytes)
	w.optUint("commit_limit_bytes", a.CommitLimitBytes)
	w.optUint("process_private_bytes", a.ProcessPrivateBytes)
	w.optUint("largest_free_bytes", a.LargestFreeBytes)
	return append(w.b, '}')
}

func (s *StackOverflow) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.uint("thread_id", uint64(s.ThreadID))
	w.optUint("stack_reserve_bytes", s.StackReserveBytes)
	w.optUint("stack_commit_bytes", s.StackCommitBytes)
	w.omitStr("reserve_source", s.ReserveSource)
	w.optUint("thread_reserve_bytes", s.ThreadReserveBytes)
	w.key("reserve_differs")
	if s.ReserveDiffers != nil {
		w.b = strconv.AppendBool(w.b, *s.ReserveDiffers)
	} else {
		w.null()
	}
	w.optAddr("stack_base", s.StackBase)
	w.optAddr("stack_limit", s.StackLimit)
	w.optAddr("deallocation_stack", s.DeallocationStack)
	w.key("guard_page")
	if s.GuardPage != nil {
		w.b = append(w.b, '{')
		g := objWriter{b: w.b}
		g.addr("base", s.GuardPage.Base)
		g.uint("size", s.GuardPage.Size)
		g.omitStr("state", s.GuardPage.State)
		g.omitStr("protect", s.GuardPage.Protect)
		w.b = append(g.b, '}')
	} else {
		w.null()
	}
	w.optUint("used_bytes", s.UsedBytes)
	w.optUint("remaining_bytes", s.RemainingBytes)
	w.key("recursion")
	if s.Recursion != nil {
		g := objWriter{b: append(w.b, '{')}
		g.strings("frames", s.Recursion.Frames)
		g.int("repeats", s.Recursion.Repeats)
		g.int("first_frame", s.Recursion.FirstFrame)
		w.b = append(g.b, '}')
	} else {
		w.null()
	}
	w.key("largest_frames")
	w.b = appendSlice(w.b, s.LargestFrames, (*FrameSize).appendJSON)
	w.key("dumped_from_other_thread")
	if s.DumpedFromOther != nil {
		w.b = strconv.AppendBool(w.b, *s.DumpedFromOther)
	} else {
		w.null()
	}
	w.str("explanation", s.Explanation)
	w.str("confidence", s.Confidence)
	if len(s.Notes) > 0 {
		w.strings("notes", s.Notes)
	}
	w.key("sources")
	w.b = appendSlice(w.b, s.Sources, (*FactSource).appendJSON)
	return append(w.b, '}')
}

func (f *FactSource) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.str("fact", f.Fact)
	w.str("source", f.Source)
	w.str("confidence", f.Confidence)
	w.omitStr("detail", f.Detail)
	return append(w.b, '}')
}

func (f *FrameSize) appendJSON(b []byte) []byte {
	w := objWriter{b: append(b, '{')}
	w.int("frame", f.Frame)
	w.str("function", f.Function)
	w.uint("bytes", f.Bytes)
	return append(w.b, '}')
}

// objWriter appends the members of one JSON object, writing the comma
// before every member but the first. With a sink, long arrays spill the
// buffer to it as they go.
type objWriter struct {
	b    []byte
	more bool
	sink io.Writer
	err  error
}

// spillBytes is how much a WriteJSON buffer holds before it is written.
const spillBytes = 32 << 10

// spill writes the buffer to the sink once it holds more than limit bytes.
func (w *objWriter) spill(limit int) {
	if w.sink == nil || len(w.b) <= limit {
		return
	}
	if w.err == nil {
		_, w.err = w.sink.Write(w.b)
	}
	w.b = w.b[:0]
}

// nested starts an object inside w's buffer, sharing its sink.
func (w *objWriter) nested() objWriter {
	return objWriter{b: append(w.b, '{'), sink: w.sink, err: w.err}
}

// end closes the object nested started and hands the buffer back.
func (w *objWriter) end(inner *objWriter) {
	w.b, w.err = append(inner.b, '}'), inner.err
}

// spillObjects writes s as spillSlice does, for elements that spill inside.
func spillObjects[T any](w *objWriter, s []T, each func(*T, *objWriter)) {
	if s == nil {
		w.null()
		return
	}
	w.b = append(w.b, '[')
	for i := range s {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		each(&s[i], w)
		w.spill(spillBytes)
	}
	w.b = append(w.b, ']')
}

// spillSlice writes s as appendSlice does, spilling between elements.
func spillSlice[T any](w *objWriter, s []T, each func(*T, []byte) []byte) {
	if s == nil {
		w.null()
		return
	}
	w.b = append(w.b, '[')
	for i := range s {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = each(&s[i], w.b)
		w.spill(spillBytes)
	}
	w.b = append(w.b, ']')
}

func (w *objWriter) key(k string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.more = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) null() { w.b = append(w.b, "null"...) }

func (w *objWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

func (w *objWriter) omitStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *objWriter) optStr(k string, v *string) {
	w.key(k)
	if v == nil {
		w.null()
		return
	}
	w.b = appendJSONString(w.b, *v)
}

func (w *objWriter) int(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

func (w *objWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *objWriter) optUint(k string, v *uint64) {
	w.key(k)
	if v == nil {
		w.null()
		return
	}
	w.b = strconv.AppendUint(w.b, *v, 10)
}

func (w *objWriter) omitUint(k string, v *uint64) {
	if v != nil {
		w.optUint(k, v)
	}
}

func (w *objWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *objWriter) addr(k string, v Addr) {
	w.key(k)
	w.b = appendHex(w.b, uint64(v))
}

func (w *objWriter) optAddr(k string, v *Addr) {
	w.key(k)
	if v == nil {
		w.null()
		return
	}
	w.b = appendHex(w.b, uint64(*v))
}

func (w *objWriter) omitAddr(k string, v *Addr) {
	if v != nil {
		w.optAddr(k, v)
	}
}

func (w *objWriter) hex32(k string, v Hex32) {
	w.key(k)
	w.b = appendHex32(w.b, uint32(v))
}

func (w *objWriter) strings(k string, v []string) {
	w.key(k)
	if v == nil {
		w.null()
		return
	}
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, s)
	}
	w.b = append(w.b, ']')
}

// float writes v as encoding/json does: shortest representation, in
// exponent form only for very small or large magnitudes.
func (w *objWriter) float(k string, v float64) {
	w.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// encoding/json refuses these; a percentage of zero regions is the
		// only way to get one, and 0 says the same.
		w.b = append(w.b, '0')
		return
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	n := len(w.b)
	w.b = strconv.AppendFloat(w.b, v, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if m := len(w.b) - n; m >= 4 && w.b[len(w.b)-4] == 'e' && w.b[len(w.b)-3] == '-' && w.b[len(w.b)-2] == '0' {
			w.b[len(w.b)-2] = w.b[len(w.b)-1]
			w.b = w.b[:len(w.b)-1]
		}
	}
}

// appendSlice writes a nil slice as null and others as an array, as
// encoding/json does.
func appendSlice[T any](b []byte, s []T, each func(*T, []byte) []byte) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(&s[i], b)
	}
	return append(b, ']')
}

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

func appendAddrMap(b []byte, m map[string]Addr) []byte {
	// Register maps are small: sort their pairs in a stack array rather
	// than sorting keys and looking each up again.
	type pair struct {
		k string
		v Addr
	}
	var buf [40]pair
	pairs := buf[:0]
	for k, v := range m {
		pairs = append(pairs, pair{k, v})
	}
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j].k < pairs[j-1].k; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.k)
		b = append(b, ':')
		b = appendHex(b, uint64(p.v))
	}
	return append(b, '}')
}

func appendHex32(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	b = append(b, '"', '0', 'x')
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return append(b, '"')
}

// appendJSONString quotes s; plain ASCII is copied, anything else goes
// through encoding/json for its escaping rules.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
