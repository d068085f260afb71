# syntax=docker/dockerfile:1
#
# audio-streamer: folders of MP3/WAV files as Icecast-compatible radio stations.
#
#   docker build -t audio-streamer .
#   docker run -p 9999:9999 -v "$PWD/music:/app/audio:ro" audio-streamer
#   docker run --rm -v "$PWD/music:/app/audio:ro" audio-streamer check   # what will play
#
# See deploy/README.md for compose and systemd.

# ---- build: a static binary (no cgo, so it runs on any base image) ----
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so editing code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/audio-streamer ./cmd/audio-streamer

# ---- runtime ----
FROM debian:bookworm-slim

# ffmpeg plays WAV (and transcode = "always" stations); wget is for the
# HEALTHCHECK only (slim has no curl or wget, and wget pulls in less).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates wget \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid, so host folders can be chowned/ACLed to it. The default
# station folders exist and belong to it, so a named volume mounted there
# starts out writable for it (bind mounts keep the host's owner).
RUN groupadd --system --gid 10001 audio-streamer \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin audio-streamer \
 && mkdir -p /app/audio /app/humor /app/science /var/lib/audio-streamer \
 && chown -R 10001:10001 /app /var/lib/audio-streamer

COPY --from=build /out/audio-streamer /usr/local/bin/audio-streamer

# The seed's settings, as build args with the seed's defaults. They reach
# the server as IMAGE_DEFAULT_<name>, which counts only when the container
# gets neither <name> itself (docker run -e DIRECTORY_ROUTES=... wins) nor
# a config file (a mounted config keeps its own routes and mode: under the
# plain names they would beat the file).
ARG AUDIO_STREAM_ROUTES="/,/humor,/science"
ARG DIRECTORY_ROUTES='{"humor":"/app/humor","science":"/app/science"}'
ARG STREAM_MODE=radio
ARG BUFFER_SIZE=2097152
ARG MAX_PRELOAD_TRACKS=2
ENV IMAGE_DEFAULT_AUDIO_STREAM_ROUTES=${AUDIO_STREAM_ROUTES} \
    IMAGE_DEFAULT_DIRECTORY_ROUTES=${DIRECTORY_ROUTES} \
    IMAGE_DEFAULT_STREAM_MODE=${STREAM_MODE} \
    IMAGE_DEFAULT_BUFFER_SIZE=${BUFFER_SIZE} \
    IMAGE_DEFAULT_MAX_PRELOAD_TRACKS=${MAX_PRELOAD_TRACKS}

# Volumes: mount your music over /app/audio (route /), /app/humor and
# /app/science, read-only (-v /srv/music:/app/audio:ro); the server never
# writes there. No VOLUME instruction: it would leave an anonymous volume
# behind on every `docker run`. Resume state needs a config file with
# state_dir = "/var/lib/audio-streamer" and a volume there.
USER 10001:10001
WORKDIR /app
EXPOSE 9999

# /healthz answers 200 while the server runs. Shell form so a PORT given
# at run time is followed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD wget -q -T 4 -O /dev/null "http://127.0.0.1:${PORT:-9999}/healthz" || exit 1

# SIGTERM (docker stop) shuts down cleanly; SIGHUP rescans the folders.
ENTRYPOINT ["/usr/local/bin/audio-streamer"]
