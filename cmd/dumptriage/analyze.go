package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/memmap"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/dumpfile"
	"github.com/dumptriage/dumptriage/internal/mmapfile"
)

// hashLimit: dumps up to this size are hashed for the report; bigger ones
// would cost seconds of reading for an identity the CLI doesn't need.
const hashLimit = 256 << 20

func runAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON (compact, as minidump-stackwalk --json)")
	pretty := fs.Bool("pretty", false, "indent the JSON")
	address := fs.String("address", "", "also describe this address as WinDbg's !address ADDR does")
	symbols := fs.String("symbols", symbolPathFromEnv(), "symbol path (_NT_SYMBOL_PATH syntax); default $DUMPTRIAGE_SYMBOL_PATH")
	reporterLog := fs.String("reporter-log", "", "the crash reporter's own log (Unity Player.log or error.log, Unreal CrashContext.runtime-xml), held against our stack")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("analyze: no dump file given")
	}
	var rlog []byte
	if *reporterLog != "" {
		f, err := os.Open(*reporterLog)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		rlog, err = io.ReadAll(io.LimitReader(f, 64<<20))
		f.Close()
		if err != nil {
			return fmt.Errorf("analyze: reading %s: %w", *reporterLog, err)
		}
	}
	// A short-lived command that allocates a few MB: collecting less often
	// costs a little memory and saves a good share of the run time.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// Dumps are memory-mapped: one truncated while it is read faults, and
	// this makes the fault a panic that Analyze reports as an error.
	debug.SetPanicOnFault(true)
	cache := analyzer.NewSymbolCache(0)
	// The text outputs print line by line; the JSON writer has its own buffer.
	var out *bufio.Writer
	if !*asJSON || *pretty {
		out = bufio.NewWriterSize(stdout, 16<<10)
	}
	defer func() {
		if out != nil {
			out.Flush()
		}
	}()
	var failed error
	for _, path := range fs.Args() {
		rep, err := analyzeFile(path, analyzer.Options{SymbolPath: *symbols, Symbols: cache, ReporterLog: rlog})
		if err != nil {
			fmt.Fprintf(stderr, "dumptriage: %s: %v\n", path, firstLine(err.Error()))
			failed = errors.New("some dumps could not be analyzed")
			continue
		}
		if *asJSON && *pretty {
			var ind bytes.Buffer
			json.Indent(&ind, rep.AppendJSON(nil), "", "  ")
			ind.WriteByte('\n')
			if _, err := out.Write(ind.Bytes()); err != nil {
				return err
			}
		} else if *asJSON {
			if err := rep.WriteJSON(stdout); err != nil {
				return err
			}
			if _, err := io.WriteString(stdout, "\n"); err != nil {
				return err
			}
		} else if *address != "" {
			if err := writeAddress(out, rep, *address); err != nil {
				return err
			}
		} else {
			if fs.NArg() > 1 {
				fmt.Fprintf(out, "==> %s <==\n", path)
			}
			if err := report.WriteText(out, rep); err != nil {
				return err
			}
		}
	}
	if failed != nil {
		// The per-file errors are already printed; exit non-zero quietly.
		if out != nil {
			out.Flush()
		}
		os.Exit(1)
	}
	return nil
}

func analyzeFile(path string, opts analyzer.Options) (*report.Report, error) {
	// A mapping lets the analysis read only the pages it needs, without
	// copies; the CLI keeps it until it exits.
	m, err := mmapfile.Open(path)
	if err != nil {
		return nil, err
	}
	var head [4]byte
	if n, _ := m.ReadAt(head[:], 0); n == 4 && !dumpfile.IsMinidump(head[:]) {
		defer m.Close()
		return analyzeWrapped(m, opts)
	}
	if m.Size() > hashLimit {
		return analyzer.Analyze(context.Background(), m, m.Size(), opts)
	}
	// Hash on another core while the analysis runs: the two only read.
	sum := make(chan string, 1)
	go func() {
		h := sha256.New()
		if b := m.Bytes(); b != nil {
			h.Write(b)
		} else {
			io.Copy(h, io.NewSectionReader(m, 0, m.Size()))
		}
		sum <- hex.EncodeToString(h.Sum(nil))
	}()
	rep, err := analyzer.Analyze(context.Background(), m, m.Size(), opts)
	digest := <-sum
	if rep != nil {
		rep.Dump.SHA256 = digest
	}
	return rep, err
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func symbolPathFromEnv() string {
	if v := os.Getenv("DUMPTRIAGE_SYMBOL_PATH"); v != "" {
		return v
	}
	return os.Getenv("_NT_SYMBOL_PATH")
}

// maxUnwrapped bounds a dump decompressed from a .gz, .zst or .zip.
const maxUnwrapped = 64 << 30

// analyzeWrapped decompresses a wrapped dump into a temporary file (the
// analyzer needs random access) and analyzes that.
func analyzeWrapped(f io.ReaderAt, opts analyzer.Options) (*report.Report, error) {
	scratch := func() (*os.File, error) { return os.CreateTemp("", "dumptriage-zip-*") }
	r, wrapper, cleanup, err := dumpfile.Unwrap(io.NewSectionReader(f, 0, 1<<62), scratch)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "dumptriage-*.dmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := dumpfile.CopyLimited(io.MultiWriter(tmp, h), r, maxUnwrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrapping %s: %w", wrapper, err)
	}
	opts.SHA256 = hex.EncodeToString(h.Sum(nil))
	return analyzer.Analyze(context.Background(), tmp, n, opts)
}

// writeAddress prints the !address ADDR view of one address.
func writeAddress(w io.Writer, rep *report.Report, s string) error {
	addr, err := strconv.ParseUint(strings.TrimPrefix(strings.ReplaceAll(s, "`", ""), "0x"), 16, 64)
	if err != nil {
		return fmt.Errorf("--address %q: not a hex address", s)
	}
	if rep.MemorySummary == nil {
		return fmt.Errorf("--address: the dump has no MemoryInfoList, so regions are unknown")
	}
	r, ok := memmap.Lookup(rep.MemorySummary, addr)
	if !ok {
		return fmt.Errorf("--address %#x: not in any region of the dump", addr)
	}
	_, err = fmt.Fprintln(w, memmap.FormatLookup(r, addr))
	return err
}
