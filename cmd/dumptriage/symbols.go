package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const symbolsUsage = `usage: dumptriage symbols upload [--server URL] [--token T] PATH...

Uploads symbol files to a dumptriage server: PDBs, PE images (.exe, .dll),
Breakpad .sym files and zips of them. Directories are walked for those.
--server defaults to $DUMPTRIAGE_SERVER or http://127.0.0.1:8080, --token to
$DUMPTRIAGE_TOKEN (an API token with the upload scope).
`

func runSymbols(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "upload" {
		fmt.Fprint(stderr, symbolsUsage)
		return errors.New("symbols: want the upload subcommand")
	}
	fs := flag.NewFlagSet("symbols upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr("DUMPTRIAGE_SERVER", "http://127.0.0.1:8080"), "server URL ($DUMPTRIAGE_SERVER)")
	token := fs.String("token", os.Getenv("DUMPTRIAGE_TOKEN"), "API token with the upload scope ($DUMPTRIAGE_TOKEN)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, symbolsUsage)
		return errors.New("symbols upload: no paths")
	}
	files, err := symbolPaths(fs.Args())
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("symbols upload: no symbol files (.pdb, .exe, .dll, .sys, .sym, .zip) under the given paths")
	}
	endpoint, err := url.JoinPath(*server, "/api/symbols")
	if err != nil {
		return fmt.Errorf("symbols upload: bad --server: %w", err)
	}
	client := &http.Client{Timeout: 0} // large PDBs take as long as they take
	var failed int
	for _, p := range files {
		res, err := uploadSymbolFile(client, endpoint, *token, p)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %v\n", p, err)
			continue
		}
		isZip := strings.EqualFold(filepath.Ext(p), ".zip")
		for _, f := range res {
			switch f.Status {
			case "skipped":
				// A build folder's zip holds much else; a file named
				// on its own must be stored.
				if !isZip {
					failed++
				}
				fmt.Fprintf(stdout, "skipped  %s: %s\n", f.Name, f.Reason)
			default:
				id := f.DebugID
				if f.Kind == "pe" {
					id = f.CodeID
				}
				fmt.Fprintf(stdout, "%-9s%s (%s %s)", f.Status, f.Name, f.Kind, id)
				if f.Reanalyses > 0 {
					fmt.Fprintf(stdout, ", %d dump(s) queued for re-analysis", f.Reanalyses)
				}
				fmt.Fprintln(stdout)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("symbols upload: %d file(s) not stored", failed)
	}
	return nil
}

// symbolPaths expands directories to the symbol files and zips under them.
func symbolPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && symbolExt(p) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func symbolExt(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".pdb", ".exe", ".dll", ".sys", ".sym", ".zip", ".ocx", ".drv", ".cpl", ".scr", ".efi":
		return true
	}
	return false
}

type symbolUploadResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	Kind       string `json:"kind"`
	DebugID    string `json:"debug_id"`
	CodeID     string `json:"code_id"`
	Reanalyses int    `json:"reanalyses"`
}

// uploadSymbolFile streams one file as a multipart part.
func uploadSymbolFile(client *http.Client, endpoint, token, path string) ([]symbolUploadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filepath.Base(path))
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, endpoint, pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Files []symbolUploadResult `json:"files"`
		Error string               `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("HTTP %d after %s: unreadable answer: %v", resp.StatusCode, time.Since(start).Round(time.Millisecond), err)
	}
	if resp.StatusCode != http.StatusOK {
		if body.Error == "" {
			body.Error = resp.Status
		}
		return body.Files, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body.Error)
	}
	return body.Files, nil
}
