// Command assetd is the image asset service. See README.md.
//
//	assetd [-config PATH]                    serve the HTTP API
//	assetd check [-config PATH]              verify storage consistency; exit 1 on a problem
//	assetd sweep [-config PATH] [-grace D]   reap expired entries and the trash, delete orphan objects
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

	"github.com/gin-gonic/gin"

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

// run is the whole program. It runs the subcommand in args (serving by
// default): serve loads the configuration, wires the adapters to the domain,
// serves until ctx is done, and then shuts down gracefully. Logs go to stdout
// as JSON; the first line after start-up is "listening" with the bound
// address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	command := "serve"
	if len(args) > 0 && (args[0] == "check" || args[0] == "sweep" || args[0] == "serve") {
		command, args = args[0], args[1:]
	}
	flags := flag.NewFlagSet("assetd "+command, flag.ContinueOnError)
	flags.SetOutput(stdout)
	configPath := flags.String("config", "", "configuration file (default $ASSETD_CONFIG, else config/assetd.yaml if present)")
	grace := flags.Duration("grace", sweepGrace, "sweep: delete unreferenced objects older than this")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
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
	switch command {
	case "check":
		return check(ctx, app.svc, stdout)
	case "sweep":
		return sweep(ctx, app.svc, *grace, log)
	}
	return serve(ctx, cfg, app, log)
}

// serve runs the HTTP server and the background jobs until ctx is done.
func serve(ctx context.Context, cfg *config.Config, app *app, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	// gin's mode is process-wide; release mode keeps its debug lines out of
	// the JSON logs.
	gin.SetMode(gin.ReleaseMode)
	srv := &http.Server{
		Handler:           httpapi.New(app.svc, httpapi.Options{PublicURL: cfg.Server.PublicURL, Logger: log, Signer: app.signer}),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Std(),
		ReadTimeout:       cfg.Server.ReadTimeout.Std(),
		WriteTimeout:      cfg.Server.WriteTimeout.Std(),
		IdleTimeout:       cfg.Server.IdleTimeout.Std(),
		MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", cfg.Database.Driver, "objects", cfg.Objects.Backend)

	// The background jobs stop before run returns, so that nothing uses
	// the database after app.close.
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	jobsDone := make(chan struct{}, 2)
	go func() { maintain(jobsCtx, app.svc, log); jobsDone <- struct{}{} }()
	go func() { app.svc.RunJobs(jobsCtx); jobsDone <- struct{}{} }()
	waitJobs := func() {
		stopJobs()
		<-jobsDone
		<-jobsDone
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		waitJobs()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Std())
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	waitJobs()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", cfg.Server.ShutdownTimeout)
	}
	return err
}

// check prints every consistency problem and fails when there is one.
func check(ctx context.Context, svc *asset.Service, stdout io.Writer) error {
	report, err := svc.Check(ctx)
	if err != nil {
		return err
	}
	for _, m := range report.Missing {
		fmt.Fprintf(stdout, "missing object: %s/%s (variant %d)\n", m.Bucket, m.Key, m.ID)
	}
	for _, o := range report.Orphans {
		fmt.Fprintf(stdout, "orphan object: %s/%s\n", o.Bucket, o.Key)
	}
	if n := len(report.Missing) + len(report.Orphans); n > 0 {
		return fmt.Errorf("check: %d rows point at missing objects, %d objects are not referenced", len(report.Missing), len(report.Orphans))
	}
	fmt.Fprintln(stdout, "check: consistent")
	return nil
}

// sweep runs the reaper and the sweeper once.
func sweep(ctx context.Context, svc *asset.Service, grace time.Duration, log *slog.Logger) error {
	expired, trashed, err := svc.Reap(ctx)
	if err != nil {
		return fmt.Errorf("reap: %w", err)
	}
	orphans, err := svc.Sweep(ctx, grace)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	log.Info("swept", "expired_entries", expired, "trashed_objects", trashed, "orphan_objects", orphans)
	return nil
}

// Background job timing. Orphans come only from uploads cut short by a
// crash, so a slow sweep is fine; its grace period must exceed the longest
// upload (the server's read timeout).
const (
	reapInterval  = 30 * time.Second
	sweepInterval = time.Hour
	sweepGrace    = 6 * time.Hour
)

// maintain reaps now and every reapInterval, and sweeps every sweepInterval,
// until ctx is done. Expired entries and the objects of deleted rows go
// away even when the immediate attempt failed or the process died before
// it.
func maintain(ctx context.Context, svc *asset.Service, log *slog.Logger) {
	reap := time.NewTicker(reapInterval)
	defer reap.Stop()
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	for {
		if expired, trashed, err := svc.Reap(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reaping failed; retrying later", "err", err)
		} else if expired+trashed > 0 {
			log.Info("reaped", "expired_entries", expired, "trashed_objects", trashed)
		}
		select {
		case <-ctx.Done():
			return
		case <-reap.C:
		case <-sweep.C:
			if n, err := svc.Sweep(ctx, sweepGrace); err != nil && ctx.Err() == nil {
				log.Warn("sweeping failed; retrying later", "err", err)
			} else if n > 0 {
				log.Info("swept orphan objects", "objects", n)
			}
		}
	}
}
