package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dumptriage/dumptriage/store"
)

const migrateUsage = `usage:
  dumptriage migrate --from DATA_DIR --to-db postgres://... --to-blobs s3://...    move a single machine's data out
  dumptriage migrate --from-db postgres://... --from-blobs s3://... --to DATA_DIR   back up to one machine

Copies the index (accounts, dumps, analyses, jobs, shares, symbols metadata,
audit log), the dump files and the symbol files. Run it again after an
interruption: what was copied is skipped. Stop the servers writing either
side first. Either side may mix, e.g. --from DIR --to-db URL keeps files local.
`

// runMigrate copies a whole store from one set of backends to another.
func runMigrate(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), migrateUsage); fs.PrintDefaults() }
	from := fs.String("from", "", "source data folder (its index.db and files, unless --from-db/--from-blobs)")
	fromDB := fs.String("from-db", "", "source PostgreSQL URL")
	fromBlobs := fs.String("from-blobs", "", "source s3:// URL")
	to := fs.String("to", "", "destination data folder")
	toDB := fs.String("to-db", "", "destination PostgreSQL URL")
	toBlobs := fs.String("to-blobs", "", "destination s3:// URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n%s", fs.Args(), migrateUsage)
	}
	src := store.Backends{DB: *fromDB, Blobs: *fromBlobs}
	dst := store.Backends{DB: *toDB, Blobs: *toBlobs}
	if *from == "" && (src.DB == "" || src.Blobs == "") {
		return fmt.Errorf("name the source: --from DATA_DIR and/or --from-db and --from-blobs\n%s", migrateUsage)
	}
	if *to == "" && (dst.DB == "" || dst.Blobs == "") {
		return fmt.Errorf("name the destination: --to DATA_DIR and/or --to-db and --to-blobs\n%s", migrateUsage)
	}
	if src == dst && *from == *to {
		return errors.New("the source and the destination are the same")
	}
	tmp := func(dir string) (string, error) {
		if dir != "" {
			return dir, nil
		}
		return os.MkdirTemp("", "dumptriage-migrate-")
	}
	srcDir, err := tmp(*from)
	if err != nil {
		return err
	}
	dstDir, err := tmp(*to)
	if err != nil {
		return err
	}
	if *from == "" {
		defer os.RemoveAll(srcDir)
	} else if _, err := os.Stat(srcDir); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if *to == "" {
		defer os.RemoveAll(dstDir)
	}
	ctx := context.Background()
	s, err := store.OpenBackends(ctx, srcDir, src, store.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := store.OpenBackends(ctx, dstDir, dst, store.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	ss, err := store.OpenSymbols(s, srcDir, store.SymbolConfig{})
	if err != nil {
		return err
	}
	ds, err := store.OpenSymbols(d, dstDir, store.SymbolConfig{})
	if err != nil {
		return err
	}
	st, err := store.Migrate(ctx, s, d, ss, ds, func(msg string) { fmt.Fprintln(out, msg) })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "done: %d rows, %d dump files (%s), %d symbol files copied\n", st.Rows, st.Files, store.FormatBytes(st.Bytes), st.SymbolFiles)
	return nil
}
