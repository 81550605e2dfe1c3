package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// maxIndexedFrames bounds the crashing-thread frames indexed per dump.
const maxIndexedFrames = 128

// NewAnalysis makes the stored form of a report: its JSON and the columns
// and rows the dashboard filters on.
func NewAnalysis(rep *report.Report, at time.Time, took time.Duration) (*Analysis, error) {
	a := &Analysis{Report: rep.AppendJSON(nil)}
	a.AnalyzerVersion = rep.AnalyzerVersion
	a.AnalyzedAt = at
	a.Duration = took
	a.CrashType = rep.CrashInfo.Type
	if rep.CrashInfo.Address != nil {
		a.CrashAddress = rep.CrashInfo.Address.String()
	}
	a.Signature = rep.Signature
	if rep.Exception != nil && rep.Exception.Module != "" {
		a.Module = rep.Exception.Module
		for _, m := range rep.Modules {
			if strings.EqualFold(m.Filename, a.Module) {
				a.ModuleVersion = m.Version
				break
			}
		}
	}
	a.OS, a.OSVersion, a.Arch = rep.SystemInfo.OS, rep.SystemInfo.OSVer, rep.SystemInfo.CPUArch
	a.ProcessName = rep.Process.Name
	if t, err := time.Parse(time.RFC3339, rep.Dump.Time); err == nil {
		a.DumpTime = &t
	}
	if af := rep.AllocationFailure; af != nil && af.RequestedBytes != nil {
		v := *af.RequestedBytes
		a.AllocBytes = &v
	}
	a.BuildTime = buildTime(rep, a.Module, at)
	a.ProcessVersion = rep.Process.Version
	if af := rep.AllocationFailure; af != nil {
		a.OOM = true
		a.LargestFree = af.LargestFreeBytes
	}
	a.StackOverflow = rep.StackOverflow != nil
	a.Damaged = rep.Dump.Truncated != nil
	for _, m := range rep.Modules {
		row := ModuleRow{Name: m.Filename, Version: m.Version, DebugID: m.DebugID, DebugFile: m.DebugFile, CodeID: m.CodeID}
		if m.Symbols != nil && m.Symbols.Found {
			row.Symbols = m.Symbols.Kind
		}
		a.Modules = append(a.Modules, row)
	}
	if ct := rep.CrashingThread; ct != nil {
		frames := ct.Frames
		if len(frames) > maxIndexedFrames {
			frames = frames[:maxIndexedFrames] // the report keeps them all
		}
		for _, f := range frames {
			r := FrameRow{Module: f.Module, Function: f.Function, Trust: f.Trust}
			if f.Module != "" {
				r.ModuleOffset = f.ModuleOffset.String()
			}
			if f.Function != "" {
				r.FunctionOffset = f.FunctionOffset.String()
			}
			a.Frames = append(a.Frames, r)
		}
	}
	return a, nil
}

// minClock is 1990-01-01: no PE image or dump of a Windows process is
// older, so a time before it is not a date.
var minClock = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// buildTime is the latest build time (IMAGE_FILE_HEADER.TimeDateStamp, the
// first 8 hex digits of MINIDUMP_MODULE's code id) of the faulting and main
// modules that is a date: reproducible builds write a hash there instead,
// which lands anywhere from 1970 to 2106, so stamps before minClock or after
// the analysis (with a day's slack) are left out. Nil when none is left.
func buildTime(rep *report.Report, faulting string, analyzed time.Time) *time.Time {
	var best *time.Time
	for i, m := range rep.Modules {
		main := rep.MainModule != nil && *rep.MainModule == i
		if !main && (faulting == "" || !strings.EqualFold(m.Filename, faulting)) {
			continue
		}
		if len(m.CodeID) < 8 {
			continue
		}
		v, err := strconv.ParseUint(m.CodeID[:8], 16, 32)
		if err != nil {
			continue
		}
		t := time.Unix(int64(v), 0).UTC()
		if t.Before(minClock) || t.After(analyzed.Add(24*time.Hour)) {
			continue
		}
		if best == nil || t.After(*best) {
			best = &t
		}
	}
	return best
}
