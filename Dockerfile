# assetd image: built with cgo against libvips, run as a non-root user with
# its SQLite database and objects in the /data volume.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o /out/assetd ./cmd/assetd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin assetd \
 && mkdir -p /data/objects \
 && chown -R assetd:assetd /data
COPY --from=build /out/assetd /usr/local/bin/assetd
COPY config/assetd.yaml /etc/assetd/assetd.yaml
# The documented defaults, moved to the volume and to every interface.
# MALLOC_ARENA_MAX=2: glibc's per-thread arenas bloat RSS under libvips.
ENV ASSETD_CONFIG=/etc/assetd/assetd.yaml \
    ASSETD_DATABASE_DSN=/data/assetd.db \
    ASSETD_OBJECTS_FILESYSTEM_ROOT=/data/objects \
    ASSETD_SERVER_LISTEN=0.0.0.0:8080 \
    MALLOC_ARENA_MAX=2
USER assetd
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/assetd"]
