// Command ferretdb starts FerretDB (MongoDB wire protocol) on the SQLite backend for this
// project's tests. It embeds FerretDB as a library because `go install` of the upstream CLI
// panics at start (its version.txt is generated and missing from the module zip).
//
// Usage: ferretdb -listen 127.0.0.1:27017 -dir /abs/path/to/state/
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory holding the SQLite databases (created if missing)")
	flag.Parse()

	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: -dir is required")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad -dir: %v\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: cannot create %s: %v\n", abs, err)
		os.Exit(1)
	}
	// FerretDB requires the SQLite URL to name an existing directory and end with "/".
	// synchronous(normal): in WAL mode (FerretDB's default) a commit is not fsynced, only
	// checkpoints are; a write survives a crash of FerretDB, not of the machine. With the
	// default (full), every single-document write waits for an fsync (~20 ms here), which
	// makes any write-heavy test measure the disk. Production runs on MongoDB.
	url := "file:" + strings.TrimSuffix(abs, "/") + "/?_pragma=synchronous(normal)"

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: url,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", *listen, abs)
	f.Run(ctx)
	fmt.Fprintln(os.Stderr, "ferretdb: stopped")
}
