#!/usr/bin/env bash
# Live-source load test: the same listener load on a folder station and on
# a live station fed by a source client, with source-to-listener latency.
# Method and results: docs/benchmarks.md, "Live source: latency and CPU".
#
#   bench/live.sh [N]                  listeners per run, default 1000
#
# Environment (defaults in brackets):
#   RUNS [3]            runs per station kind, the kinds alternating
#   KINDS ["folder live takeover"]  which stations to load (see below)
#   RAMP [500]          new listeners per second
#   STEADY [60s]        steady window of each run
#   SAMPLE [100]        listeners that record the latency of every frame
#   WARMUP [6]          seconds of audio before the first listener (both kinds)
#   OUT [bench/results/live] where the JSON reports, env.txt and table.md go
#   KEEP [0]            1: keep the temp folder (server logs, config)
#
# One server is started fresh for every run, on a free loopback port, with
# three stations: "/" plays a folder (one 128 kbit/s track), "/live" is
# live_only with a source password, "/show" plays the same folder and
# takes a source (a DJ taking over a playing station). Kinds: "folder"
# loads "/", "live" loads "/live" and "takeover" loads "/show", both with
# listenbench itself as the source (--source): it PUTs tagged 128 kbit/s
# frames in real time and measures, per frame, the time from its write to
# each sampled listener's read. Every process is stopped by its PID;
# nothing else is signalled.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAME=live
# shellcheck source=procs.sh
. bench/procs.sh

N=${1:-1000}
RUNS=${RUNS:-3}
KINDS=${KINDS:-folder live takeover}
RAMP=${RAMP:-500}
STEADY=${STEADY:-60s}
SAMPLE=${SAMPLE:-100}
WARMUP=${WARMUP:-6}
OUT=${OUT:-$ROOT/bench/results/live}
KEEP=${KEEP:-0}

for tool in go ffmpeg curl ss; do
  command -v "$tool" >/dev/null || { echo "live: $tool is needed (apt-get install ffmpeg curl iproute2)" >&2; exit 2; }
done

W=$(mktemp -d /tmp/livebench.XXXXXX)
mkdir -p "$OUT" "$W/music"
SERVER_PID=""
WRITTEN=()

cleanup() {
  stop_pid "$SERVER_PID"
  if [ "$KEEP" = 1 ]; then echo "live: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "live: building into $W" >&2
go build -o "$W/audio-streamer" ./cmd/audio-streamer
go build -o "$W/listenbench" ./cmd/listenbench
# The folder station's track: 3 minutes of 128 kbit/s CBR, as sidebyside.sh.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=180" \
  -ac 2 -c:a libmp3lame -b:a 128k -metadata artist=listenbench -metadata title="Bench tone" "$W/music/track.mp3"

# A fresh random source password, kept out of argv (env and a 0600 file).
LISTENBENCH_SOURCE_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export LISTENBENCH_SOURCE_PASSWORD

start_server() {
  PORT=$(free_port)
  (
    umask 077
    cat >"$W/live.toml" <<EOF
# Written by bench/live.sh: a folder station, a live-only station, and a
# folder station that takes a source.
host = "127.0.0.1"
port = $PORT
audio_dir = "$W/music"
log_level = "info"

[[station]]
route = "/"
dir = "$W/music"

[[station]]
route = "/live"
live_only = true
source_password = "$LISTENBENCH_SOURCE_PASSWORD"

[[station]]
route = "/show"
dir = "$W/music"
source_password = "$LISTENBENCH_SOURCE_PASSWORD"
EOF
  )
  "$W/audio-streamer" --config "$W/live.toml" >>"$W/server.log" 2>&1 &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz" . 20
}

stop_server() { # forget the PID once stopped, so cleanup never signals a reused one
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

run() { # KIND RUN
  local kind=$1 i=$2 out="$OUT/$1-$N-run$2.json" extra=()
  start_server
  case $kind in
  folder)
    sleep "$WARMUP" # the folder's burst must be in the ring, as for the live station
    extra=(--url "http://127.0.0.1:$PORT/")
    ;;
  live | takeover)
    local route=/live
    if [ "$kind" = takeover ]; then
      route=/show
      sleep "$WARMUP" # the folder plays first, then the DJ takes over
    fi
    # listenbench pushes WARMUP seconds before the first listener.
    extra=(--url "http://127.0.0.1:$PORT$route" --source --source-warmup "${WARMUP}s" --latency-sample "$SAMPLE")
    ;;
  *)
    echo "live: unknown kind $kind" >&2
    exit 2
    ;;
  esac
  echo "live: $kind run $i, $N listeners, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  echo "$kind run $i: load average before $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
  local lines_before
  lines_before=$(wc -l <"$W/server.log")
  "$W/listenbench" --label "$kind" --listeners "$N" --rate "$RAMP" --duration "$STEADY" \
    --pid "$SERVER_PID" --json --quiet "${extra[@]}" >"$out"
  echo "$kind run $i: load average after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
  WRITTEN+=("$out")
  stop_server
  # What the server said about the live stream (frames dropped because
  # it ran ahead, silence played because it ran dry) and any warning.
  tail -n +"$((lines_before + 1))" "$W/server.log" |
    grep -E 'stream (attached|ended|runs ahead|ran dry|buffer refilled)|source (connected|disconnected|switched)|level=(WARN|ERROR)' |
    sed "s/^/$kind run $i: /" >>"$OUT/server-log.txt" || true
  "$W/listenbench" table --ref folder "$out" |
    sed -n '/^| \(connected\|rate p1\|latency wire p50\|latency wire p99\|latency audible p50\|server CPU steady\|server RSS end\)/p' >&2
}

{
  echo "--- bench/live.sh $N"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -r)"
  echo "go: $(go version | cut -d' ' -f3)"
  echo "source: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes in the work tree')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: kinds=[$KINDS] listeners=$N runs=$RUNS ramp=$RAMP/s steady=$STEADY sample=$SAMPLE warmup=${WARMUP}s; server defaults (burst 64KiB, publish_interval 400ms, buffer_size 2MiB, live jitter buffer 1s)"
} >>"$OUT/env.txt"

for i in $(seq "$RUNS"); do
  for kind in $KINDS; do
    run "$kind" "$i"
  done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
"$W/listenbench" table --ref folder "${WRITTEN[@]}" | tee "$OUT/table.md"
