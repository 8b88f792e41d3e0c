// Command ferretdb runs FerretDB 1.x as a local MongoDB-wire server.
//
// The embedded default is the PostgreSQL handler (--handler postgresql --postgresql-url ...);
// the SQLite handler (--handler sqlite --data-dir ...) is kept for the storage benchmark's
// side-by-side comparison only. It embeds github.com/FerretDB/FerretDB/ferretdb because the
// upstream cmd/ferretdb panics when built with `go install` (missing generated version file).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "postgresql", "storage handler: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL for the postgresql handler")
	dataDir := flag.String("data-dir", "data/ferretdb", "directory for the sqlite handler's databases")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	config := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Handler:  *handler,
		Logger:   logger,
	}

	switch *handler {
	case "postgresql":
		if *pgURL == "" {
			logger.Error("--postgresql-url is required with --handler postgresql")
			os.Exit(2)
		}
		config.PostgreSQLURL = *pgURL
	case "sqlite":
		dir, err := filepath.Abs(*dataDir)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			logger.Error("cannot prepare data directory", "dir", *dataDir, "error", err)
			os.Exit(1)
		}
		config.SQLiteURL = "file:" + dir + "/"
	default:
		logger.Error("unknown --handler; use postgresql or sqlite", "handler", *handler)
		os.Exit(2)
	}

	f, err := ferretdb.New(config)
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Warn("FerretDB listening", "addr", *listen, "handler", *handler)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("FerretDB stopped", "error", err)
		os.Exit(1)
	}
}
