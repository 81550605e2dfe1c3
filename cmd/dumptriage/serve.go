package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dumptriage/dumptriage/alert"
	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web"
)

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("DUMPTRIAGE_ADDR", "127.0.0.1:8080"), "listen address ($DUMPTRIAGE_ADDR)")
	pf := addPipelineFlags(fs)
	maxUpload := byteFlag(fs, "max-upload", "DUMPTRIAGE_MAX_UPLOAD", web.DefaultMaxUploadBytes, "upload size limit, e.g. 32G")
	publicURL := fs.String("public-url", os.Getenv("DUMPTRIAGE_PUBLIC_URL"),
		"the URL users reach the server at, e.g. https://dumps.example.com; links and share URLs use it ($DUMPTRIAGE_PUBLIC_URL; default http://ADDR)")
	uploadRate := fs.Int("upload-rate", pf.envInt("DUMPTRIAGE_UPLOAD_RATE", 120), "uploads per minute per user; 0 is no limit ($DUMPTRIAGE_UPLOAD_RATE)")
	uploadQuota := byteFlag(fs, "upload-quota", "DUMPTRIAGE_UPLOAD_QUOTA", 256<<30, "bytes a user may upload per 24 hours, e.g. 256G; 0 is no limit")
	noWorkers := fs.Bool("no-workers", false, "take uploads only; leave analysis to `dumptriage worker` processes (as --workers 0)")
	if err := pf.parse(fs, args); err != nil {
		return err
	}
	// --workers 0 makes a web node only: analysis runs in `dumptriage worker`
	// processes, on this machine or others sharing the DB and blobs.
	*noWorkers = *noWorkers || pf.workers == 0
	log, ctx, stop := startDaemon()
	defer stop()

	lock, err := store.LockUploads(pf.data)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := pf.openStore(ctx)
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
	if *publicURL == "" {
		*publicURL = web.PublicURLFor(ln.Addr().String())
	}
	if u, err := url.Parse(*publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--public-url %q: want http(s)://host[:port]", *publicURL)
	}
	setupToken := ""
	if n, err := st.UserCount(ctx); err != nil {
		return err
	} else if n == 0 {
		// No account yet: nothing but the setup page is served. From
		// another machine (a container's host) it takes this token.
		setupToken = rand.Text()
		log.Warn("no user exists yet: create the first admin at this URL (or run `dumptriage user add NAME --role admin`)",
			"setup_url", strings.TrimSuffix(*publicURL, "/")+"/setup?token="+setupToken)
	}
	srv := &http.Server{
		Handler: web.New(st, web.Config{MaxUploadBytes: *maxUpload, AnalyzerVersion: analyzer.Version,
			Logger: log, PublicURL: *publicURL, ListenAddr: ln.Addr().String(), SetupToken: setupToken,
			UploadsPerMinute: *uploadRate, UploadBytesPerDay: *uploadQuota, Symbols: sym}).Routes(),
		// No read or write timeout: multi-gigabyte uploads and downloads.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "public_url", *publicURL, "data", pf.data, "workers", pf.workerCount(*noWorkers))

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
		wg.Go(func() { st.RunWorkers(ctx, pf.workerConfig(log), pf.analyzeFunc(st, sym)) })
	}
	if outbox, ok := st.Index.(alert.Outbox); ok {
		d := &alert.Dispatcher{Outbox: outbox, PublicURL: strings.TrimSuffix(*publicURL, "/"), Log: log}
		wg.Go(func() { d.Run(ctx, 5*time.Second) })
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
