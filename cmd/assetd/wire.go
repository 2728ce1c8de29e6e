package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"assetd/internal/asset"
	"assetd/internal/config"
	"assetd/internal/fetch"
	"assetd/internal/filestore"
	"assetd/internal/imaging"
	"assetd/internal/lqip"
	"assetd/internal/s3store"
	"assetd/internal/sqldb"
)

// app is the wired service and what must be closed with it.
type app struct {
	svc *asset.Service
	db  *sqldb.DB
}

func (a *app) close() { a.db.Close() }

// wire builds every adapter from cfg and the Service over them.
func wire(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	if err := checkImplemented(cfg); err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	processor, err := imaging.New(imaging.Config{
		Workers: cfg.Imaging.Workers, MaxPixels: int(cfg.Imaging.MaxPixels),
		MaxSide: cfg.Imaging.MaxSide, MaxFrames: cfg.Imaging.MaxFrames,
	})
	if err != nil {
		return nil, err
	}
	var fetcher asset.Fetcher
	if len(cfg.Source.URL.AllowedDomains) > 0 {
		client, err := fetch.New(fetch.Config{
			AllowedDomains: cfg.Source.URL.AllowedDomains, Timeout: cfg.Source.URL.Timeout.Std(),
			MaxRedirects: cfg.Source.URL.MaxRedirects, AllowLoopback: cfg.Source.URL.AllowLoopback,
			Logger: log,
		})
		if err != nil {
			return nil, err
		}
		fetcher = client
	}
	db, err := sqldb.Open(ctx, cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	svc := asset.NewService(asset.Deps{
		Repository: db, Store: store, Processor: processor, Placeholders: lqip.New(),
		Fetcher: fetcher, Policies: cfg, Logger: log,
	})
	return &app{svc: svc, db: db}, nil
}

// openStore opens the configured object store.
func openStore(ctx context.Context, cfg *config.Config) (asset.ObjectStore, error) {
	switch cfg.Objects.Backend {
	case config.BackendS3:
		s3 := cfg.Objects.S3
		store, err := s3store.New(ctx, s3store.Config{
			Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region,
			Secure: s3.Secure, PathStyle: s3.PathStyle, CreateBuckets: s3.CreateBuckets,
		}, buckets(cfg))
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		return store, nil
	default:
		store, err := filestore.New(cfg.Objects.Filesystem.Root)
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		return store, nil
	}
}

// buckets lists every bucket the path rules name, plus the default one, so
// that the S3 store can create them at start-up.
func buckets(cfg *config.Config) []string {
	seen := map[string]bool{config.DefaultBucket: true}
	out := []string{config.DefaultBucket}
	for _, rule := range cfg.Paths {
		if rule.Bucket != nil && !seen[*rule.Bucket] {
			seen[*rule.Bucket] = true
			out = append(out, *rule.Bucket)
		}
	}
	return out
}

// checkImplemented refuses settings that the configuration contract defines
// but this build does not act on yet. Accepting them silently would be worse
// than refusing: a user who turns on url-signing must not get public URLs.
func checkImplemented(cfg *config.Config) error {
	var problems []string
	if len(cfg.Profiles) > 0 {
		problems = append(problems, "profiles: transformations are not implemented yet")
	}
	if cfg.URLSigning.Enabled {
		problems = append(problems, "url-signing.enabled: URL signing is not implemented yet")
	}
	for pattern, rule := range cfg.Paths {
		key := fmt.Sprintf("paths.%q.", pattern)
		for name, set := range map[string]bool{
			"preprocessing":   rule.Preprocessing != nil,
			"eager-variants":  rule.EagerVariants != nil,
			"output-limits":   rule.OutputLimits != nil,
			"cache-control":   rule.CacheControl != nil,
			"redirect":        rule.Redirect != nil,
			"default-expires": rule.DefaultExpires != nil,
		} {
			if set {
				problems = append(problems, key+name+": not implemented yet")
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return errors.New("this build cannot honour these settings; remove them:\n" + strings.Join(problems, "\n"))
	}
	return nil
}
