package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"assetd/internal/asset"
	"assetd/internal/config"
	"assetd/internal/fetch"
	"assetd/internal/filestore"
	"assetd/internal/httpapi"
	"assetd/internal/imaging"
	"assetd/internal/lqip"
	"assetd/internal/s3store"
	"assetd/internal/signing"
	"assetd/internal/sqldb"
)

// app is the wired service and what must be closed with it.
type app struct {
	svc    *asset.Service
	db     *sqldb.DB
	store  asset.ObjectStore
	signer httpapi.URLSigner // nil when signing is off
}

// close releases the database and, when it holds anything (the filesystem
// store holds its root directory open), the object store.
func (a *app) close() {
	a.db.Close()
	if c, ok := a.store.(io.Closer); ok {
		c.Close()
	}
}

// wire builds every adapter from cfg and the Service over them.
func wire(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
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
	var signer httpapi.URLSigner
	if cfg.URLSigning.Enabled {
		if signer, err = signing.New(cfg.URLSigning.Algorithm, cfg.URLSigning.Secret); err != nil {
			return nil, fmt.Errorf("url-signing: %w", err)
		}
	}
	db, err := sqldb.Open(ctx, cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	workers := cfg.Imaging.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	svc := asset.NewService(asset.Deps{
		Repository: db, Store: store, Processor: processor, Placeholders: lqip.New(),
		Fetcher: fetcher, Policies: cfg, Buckets: cfg.Buckets(), Logger: log,
		Limits:  asset.Limits{MaxSide: cfg.Imaging.MaxSide, MaxPixels: cfg.Imaging.MaxPixels},
		Renders: workers,
	})
	return &app{svc: svc, db: db, store: store, signer: signer}, nil
}

// openStore opens the configured object store.
func openStore(ctx context.Context, cfg *config.Config) (asset.ObjectStore, error) {
	switch cfg.Objects.Backend {
	case config.BackendS3:
		s3 := cfg.Objects.S3
		store, err := s3store.New(ctx, s3store.Config{
			Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region,
			Secure: s3.Secure, PathStyle: s3.PathStyle, CreateBuckets: s3.CreateBuckets,
		}, cfg.Buckets())
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
