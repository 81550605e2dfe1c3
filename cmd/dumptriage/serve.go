package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web"
)

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("DUMPTRIAGE_ADDR", "127.0.0.1:8080"), "listen address ($DUMPTRIAGE_ADDR)")
	pf := addPipelineFlags(fs)
	maxUpload := byteFlag(fs, "max-upload", "DUMPTRIAGE_MAX_UPLOAD", web.DefaultMaxUploadBytes, "upload size limit, e.g. 32G")
	noWorkers := fs.Bool("no-workers", false, "take uploads only; leave analysis to `dumptriage worker` processes")
	if err := pf.parse(fs, args); err != nil {
		return err
	}
	log, ctx, stop := startDaemon()
	defer stop()

	lock, err := store.LockUploads(pf.data)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := store.Open(ctx, pf.data, pf.storeConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	sym, err := pf.openSymbols(st)
	if err != nil {
		return err
	}
	rs, err := st.Recover(ctx)
	if err != nil {
		return err
	}
	if rs != (store.RecoverStats{}) {
		log.Info("recovered after an unclean stop", "partial_files", rs.PartialFiles, "orphan_files", rs.OrphanFiles,
			"jobs_resumed", rs.Leases)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: web.New(st, web.Config{MaxUploadBytes: *maxUpload, AnalyzerVersion: analyzer.Version,
			Logger: log, Symbols: sym, Authorize: web.TokenAuthorizer(st)}).Routes(),
		// No read or write timeout: multi-gigabyte uploads and downloads.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "data", pf.data, "workers", pf.workerCount(*noWorkers))

	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunRetention(ctx, 10*time.Minute, func(rs store.RetentionStats, err error) {
			if err != nil {
				log.Error("retention", "err", err)
				return
			}
			log.Info("retention expired dump files", "files", rs.Expired, "bytes", rs.Freed)
		})
	})
	if !*noWorkers {
		wg.Go(func() { st.RunWorkers(ctx, pf.workerConfig(log), pf.analyzeFunc(sym)) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
		stop()
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
