// Command assetd is the image asset service. See README.md.
//
//	assetd [-config PATH]   serve the HTTP API
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"assetd/internal/asset"
	"assetd/internal/config"
	"assetd/internal/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := config.CheckEnv(os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "assetd:", err)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "assetd:", err)
		os.Exit(1)
	}
}

// run is the whole program: it loads the configuration, wires the adapters
// to the domain, serves until ctx is done, and then shuts down gracefully.
// Logs go to stdout as JSON; the first line after start-up is "listening"
// with the bound address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("assetd", flag.ContinueOnError)
	flags.SetOutput(stdout)
	configPath := flags.String("config", "", "configuration file (default $ASSETD_CONFIG, else config/assetd.yaml if present)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *configPath == "" {
		*configPath = getenv("ASSETD_CONFIG")
	}
	if *configPath == "" {
		if _, err := os.Stat("config/assetd.yaml"); err == nil {
			*configPath = "config/assetd.yaml"
		}
	}
	cfg, err := config.Load(*configPath, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))

	app, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	srv := &http.Server{
		Handler:           httpapi.New(app.svc, httpapi.Options{PublicURL: cfg.Server.PublicURL, Logger: log}),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Std(),
		ReadTimeout:       cfg.Server.ReadTimeout.Std(),
		WriteTimeout:      cfg.Server.WriteTimeout.Std(),
		IdleTimeout:       cfg.Server.IdleTimeout.Std(),
		MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", cfg.Database.Driver, "objects", cfg.Objects.Backend)

	reaperDone := make(chan struct{})
	go func() { defer close(reaperDone); reap(ctx, app.svc, log) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Std())
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-reaperDone
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", cfg.Server.ShutdownTimeout)
	}
	return err
}

// reapInterval is how often the trash is emptied in the background.
const reapInterval = 30 * time.Second

// reap empties the trash now and then until ctx is done, so that objects of
// deleted rows go away even when the immediate attempt failed or the process
// died before it.
func reap(ctx context.Context, svc *asset.Service, log *slog.Logger) {
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		if n, err := svc.EmptyTrash(ctx); err != nil && ctx.Err() == nil {
			log.Warn("emptying the trash failed; retrying later", "err", err)
		} else if n > 0 {
			log.Info("trash emptied", "objects", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
