// Command dumptriage analyzes Windows crash dumps and serves the dashboard.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: dumptriage <command> [flags]

commands:
  analyze [--json] [--symbols PATH] FILE...   analyze dumps (.dmp, or .gz/.zst/.zip) and print the report
  serve [--addr 127.0.0.1:8080] [--data ./data]  run the web server and workers
  worker [--data ./data]                      run only analysis workers
  reanalyze [--all | --outdated | ID...]      queue dumps for analysis again
  seed [--data ./data] [--dumps 100000]       add made-up analyses (demos, benchmarks)
  user add|list|remove|passwd|role            manage accounts (dumptriage user for details)
  token create|list|revoke                    manage API tokens (dumptriage token for details)
  upload [--server URL] [--token T] [--unreal] FILE...  send dumps (--unreal: .ue4crash reports), print report URLs
  webhook add URL --events new,regression     alert webhooks (dumptriage webhook for details)
  symbols upload [--server URL] [--token T] PATH...  upload PDBs, images, .sym files or zips to a server
  migrate --from DIR --to-db URL --to-blobs URL   copy everything to PostgreSQL + S3 (or back: --from-db, --from-blobs, --to)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "analyze":
		err = runAnalyze(os.Args[2:], os.Stdout, os.Stderr)
	case "serve":
		err = runServe(os.Args[2:])
	case "worker":
		err = runWorker(os.Args[2:])
	case "reanalyze":
		err = runReanalyze(os.Args[2:])
	case "seed":
		err = runSeed(os.Args[2:])
	case "user":
		err = runUser(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	case "token":
		err = runToken(os.Args[2:], os.Stdout, os.Stderr)
	case "webhook":
		err = runWebhook(os.Args[2:], os.Stdout, os.Stderr)
	case "upload":
		err = runUpload(os.Args[2:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	case "symbols":
		err = runSymbols(os.Args[2:], os.Stdout, os.Stderr)
	case "migrate":
		err = runMigrate(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "dumptriage: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dumptriage: %v\n", err)
		os.Exit(1)
	}
}
