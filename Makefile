# The developer's interface to assetd. Each target is a line or two; anything
# longer is a Go program under cmd/ (cmd/testenv, cmd/depcheck).

# The MinIO that `make test` runs; .ci/run builds it through `make minio`.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
# Where `go install` puts binaries; deferred (=) so only `make minio` asks go.
GOBIN_DIR = $(or $(shell go env GOBIN),$(firstword $(subst :, ,$(shell go env GOPATH)))/bin)
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: build deps run minio postgres test lint bench imgproxy clean

## build: compile bin/assetd (cgo, needs libvips)
build: deps
	go build -o bin/assetd ./cmd/assetd

## deps: install libvips and pkg-config with apt when they are missing
deps:
	@pkg-config --exists vips 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y libvips-dev pkg-config; }

## run: build, then serve with the documented default configuration
run: deps build
	MALLOC_ARENA_MAX=2 ./bin/assetd -config config/assetd.yaml

## minio: install the pinned MinIO for the tests unless one is already there
minio:
	@command -v minio >/dev/null || test -x "$(GOBIN_DIR)/minio" || go install github.com/minio/minio@$(MINIO_VERSION)

## postgres: install the PostgreSQL server with apt when it is missing (the tests start their own)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y postgresql; }

## test: every test (GOTESTFLAGS=-v lists each one), against a throwaway PostgreSQL and MinIO (cmd/testenv)
test: deps postgres minio
	go run ./cmd/testenv -- go test -count=1 $(GOTESTFLAGS) ./...

## lint: formatting, go vet, and the dependency rule (cmd/depcheck)
lint:
	@out=$$(gofmt -l .); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	go vet ./... && go run ./cmd/depcheck

## bench: the Go benchmarks, then cmd/loadgen against bin/assetd on loopback (BENCHFLAGS=-compare-imgproxy adds imgproxy)
bench: build
	go test -run='^$$' -bench=. -benchmem ./internal/... && go run ./cmd/loadgen -assetd bin/assetd $(BENCHFLAGS)

## imgproxy: build imgproxy v3.31.4 for the comparison once, into the user cache directory (~5 min)
imgproxy:
	go run ./cmd/loadgen -imgproxy-only

## clean: remove build output (never data/, which holds your local assets)
clean:
	rm -rf bin
