// Command ferretdb-test runs an embedded FerretDB v1 server (SQLite handler) for
// taskpool's MongoDB backend tests. It listens on 127.0.0.1 only.
//
// Usage: ferretdb-test -port 27017 -dir /dev/shm/taskpool-ferretdb/
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	port := flag.String("port", "27017", "TCP port on 127.0.0.1")
	dir := flag.String("dir", "", "directory for the SQLite files (created if missing)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		log.Fatal(err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:" + *port},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb listening on 127.0.0.1:%s, data in %s", *port, abs)
	f.Run(ctx)
}
