package main

import (
	"flag"
)

// runWorker runs analysis workers only, on the same data folder as a
// running `serve`, for more analysis capacity.
func runWorker(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	pf := addPipelineFlags(fs)
	if err := pf.parse(fs, args); err != nil {
		return err
	}
	log, ctx, stop := startDaemon()
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
	if n, err := st.RecoverLeases(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("resumed jobs of dead workers", "jobs", n)
	}
	log.Info("working", "data", pf.data, "workers", pf.workerCount(false))
	st.RunWorkers(ctx, pf.workerConfig(log), pf.analyzeFunc(st, sym))
	return nil
}
