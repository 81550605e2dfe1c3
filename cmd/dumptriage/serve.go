package main

import (
	"errors"
	"flag"
	"net/http"
	"os"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// runServe is a placeholder until the store and web packages land.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("DUMPTRIAGE_ADDR", "127.0.0.1:8080"), "listen address")
	fs.String("data", envOr("DUMPTRIAGE_DATA", "./data"), "data folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("dumptriage\n")) })
	return http.ListenAndServe(*addr, mux)
}

func runWorker(args []string) error { return errors.New("worker: not implemented yet") }
