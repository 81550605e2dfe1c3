package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
)

// runReanalyze queues dumps for a new analysis; running serve or worker
// processes pick the jobs up, or --run analyses them here.
func runReanalyze(args []string) error {
	fs := flag.NewFlagSet("reanalyze", flag.ContinueOnError)
	all := fs.Bool("all", false, "re-analyse every dump whose file is kept")
	outdated := fs.Bool("outdated", false, "re-analyse the dumps not analysed by this analyzer version ("+analyzer.Version+")")
	run := fs.Bool("run", false, "analyse the queued dumps in this process and wait for them")
	pf := addPipelineFlags(fs)
	if err := pf.parse(fs, args); err != nil {
		return err
	}
	if (*all || *outdated) == (fs.NArg() > 0) {
		return errors.New("reanalyze: give dump ids, or --all, or --outdated")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := pf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sym, err := pf.openSymbols(st)
	if err != nil {
		return err
	}
	n := 0
	if fs.NArg() > 0 {
		var failed error
		for _, id := range fs.Args() {
			if err := st.Reanalyze(ctx, id); err != nil {
				fmt.Fprintf(os.Stderr, "dumptriage: %s: %v\n", id, err)
				failed = errors.New("some dumps could not be queued")
				continue
			}
			n++
		}
		if failed != nil && n == 0 {
			return failed
		}
	} else {
		skip := ""
		if *outdated {
			skip = analyzer.Version
		}
		if n, err = st.ReanalyzeAll(ctx, skip); err != nil {
			return err
		}
	}
	fmt.Printf("queued %d dumps\n", n)
	if !*run || n == 0 {
		return nil
	}
	log := newLogger()
	if _, err := st.RecoverLeases(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		st.RunWorkers(wctx, pf.workerConfig(log), pf.analyzeFunc(st, sym))
		close(done)
	}()
	for {
		time.Sleep(200 * time.Millisecond)
		left, err := st.Queue.Pending(ctx)
		if err != nil || left == 0 || ctx.Err() != nil {
			cancel()
			<-done
			return err
		}
	}
}
