package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dumptriage/dumptriage/internal/seed"
	"github.com/dumptriage/dumptriage/store"
)

// runSeed fills an index (the data folder's SQLite, or --db) with made-up
// analyses, for demos and the dashboard's speed benchmark.
func runSeed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	data := fs.String("data", envOr("DUMPTRIAGE_DATA", "./data"), "data folder ($DUMPTRIAGE_DATA)")
	db := fs.String("db", os.Getenv("DUMPTRIAGE_DB"), "index database: postgres://... or empty for SQLite in the data folder ($DUMPTRIAGE_DB)")
	n := fs.Int("dumps", 100000, "how many analyses to add")
	days := fs.Int("days", 180, "spread them over this many days before now")
	seedN := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 {
		return errors.New("--dumps must be positive")
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	idx, err := store.OpenIndex(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer idx.Close()
	start := time.Now()
	err = idx.Seed(ctx, seed.Config{Dumps: *n, Days: *days, Seed: *seedN, Progress: func(done int) {
		if done%10000 == 0 || done == *n {
			fmt.Fprintf(os.Stderr, "seeded %d/%d (%.0f/s)\n", done, *n, float64(done)/time.Since(start).Seconds())
		}
	}})
	if err != nil {
		return err
	}
	fmt.Printf("added %d made-up analyses to %s in %s\n", *n, *data, time.Since(start).Round(time.Second))
	return nil
}
