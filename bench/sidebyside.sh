#!/usr/bin/env bash
# Side-by-side load test: audio-streamer against Icecast 2.4 on this machine,
# same track, same listenbench load. See bench/README.md.
#
#   bench/sidebyside.sh [N ...]        listener counts, default "1000 5000"
#
# Environment (defaults in brackets):
#   RUNS [3]            runs per server and N (the table shows medians)
#   RAMP [500]          new listeners per second
#   STEADY [60s]        steady window of each run
#   OURS_ONLY [10000]   listener counts run against audio-streamer only ("" = none)
#   OURS_ONLY_RUNS [3]  runs for each of those
#   IDLE [30s]          idle-station CPU window ("" = skip)
#   STATIONS [100]      stations of the many-stations run, 10 listeners each ("" = skip)
#   ICY [0]             1: listeners send Icy-MetaData: 1 (and strip it)
#   METADATA [0]        same as ICY (metadata on: what common players ask for)
#   OUT [bench/results] where the JSON reports and table.md go
#   KEEP [0]            1: keep the temp folder (logs, configs)
#
# Every server is started fresh for each run (so RSS growth is per run),
# on a free loopback port, and stopped by its PID; nothing else is killed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAME=sidebyside
# shellcheck source=procs.sh
. bench/procs.sh

RUNS=${RUNS:-3}
RAMP=${RAMP:-500}
STEADY=${STEADY:-60s}
OURS_ONLY=${OURS_ONLY-10000}
OURS_ONLY_RUNS=${OURS_ONLY_RUNS:-3}
IDLE=${IDLE-30s}
STATIONS=${STATIONS-100}
ICY=${ICY:-${METADATA:-0}}
OUT=${OUT:-$ROOT/bench/results}
KEEP=${KEEP:-0}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 5000)

for tool in go ffmpeg icecast2 curl ss; do
  command -v "$tool" >/dev/null || { echo "sidebyside: $tool is needed (apt-get install icecast2 ffmpeg curl iproute2)" >&2; exit 2; }
done

W=$(mktemp -d /tmp/sidebyside.XXXXXX)
chmod 755 "$W" # Icecast drops to nobody and must read its web root and write its logs here
mkdir -p "$OUT" "$W/music" "$W/log"
chmod 777 "$W/log"
SERVER_PID=""
FEED_PID=""
WRITTEN=()

cleanup() {
  stop_pid "$FEED_PID"
  stop_pid "$SERVER_PID"
  if [ "$KEEP" = 1 ]; then echo "sidebyside: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "sidebyside: building into $W" >&2
go build -o "$W/audio-streamer" ./cmd/audio-streamer
go build -o "$W/listenbench" ./cmd/listenbench
# One 128 kbit/s CBR track, 3 minutes, looped by both servers.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=180" \
  -ac 2 -c:a libmp3lame -b:a 128k -metadata artist=listenbench -metadata title="Bench tone" "$W/music/track.mp3"

# The burst (64 KiB = 4 s at 128 kbit/s) must be in each server's buffer
# before listeners come: a fixed warm-up, since it is audio time that must pass.
WARMUP=6

start_ours() { # [extra flags...]
  PORT=$(free_port)
  "$W/audio-streamer" --host 127.0.0.1 --port "$PORT" --audio-dir "$W/music" --log-level warn "$@" \
    >>"$W/ours.log" 2>&1 &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$PORT/readyz" . 20
  sleep "$WARMUP"
}

start_icecast() {
  PORT=$(free_port)
  local pass owner=""
  pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  # Icecast refuses to run as root unless told whom to become.
  [ "$(id -u)" = 0 ] && owner="<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
  sed -e "s|@PORT@|$PORT|g" -e "s|@PASS@|$pass|g" -e "s|@DIR@|$W|g" -e "s|@OWNER@|$owner|" \
    "$ROOT/bench/icecast.xml.in" >"$W/icecast.xml"
  icecast2 -c "$W/icecast.xml" >>"$W/icecast.out" 2>&1 &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$PORT/status-json.xsl" icestats 20
  # -id3v2_version 0 -write_xing 0: no tag or Xing frame at the source's
  # start, so both servers carry the same pure frame stream.
  ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$W/music/track.mp3" -c copy \
    -id3v2_version 0 -write_xing 0 -content_type audio/mpeg -f mp3 \
    "icecast://source:$pass@127.0.0.1:$PORT/live" >>"$W/ffmpeg.log" 2>&1 &
  FEED_PID=$!
  wait_http "http://127.0.0.1:$PORT/status-json.xsl" '"listenurl"' 20
  sleep "$WARMUP"
}

stop_server() { # forget each PID once stopped, so cleanup never signals a reused one
  stop_pid "$FEED_PID"
  FEED_PID=""
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

icy_flag=()
[ "$ICY" = 1 ] && icy_flag=(--icy)

load() { # LABEL N URL OUTFILE [extra listenbench flags]
  local label=$1 n=$2 url=$3 out=$4
  shift 4
  echo "sidebyside: $label, $n listeners, $(cut -d' ' -f1-3 /proc/loadavg) load average" >&2
  "$W/listenbench" --label "$label" --url "$url" --listeners "$n" --rate "$RAMP" --duration "$STEADY" \
    --pid "$SERVER_PID" --json --quiet "${icy_flag[@]}" "$@" >"$out"
  WRITTEN+=("$out")
  "$W/listenbench" table "$out" | sed -n '/^| \(connected\|rate p1\|server CPU steady\|RSS growth\|TTFB p99\)/p' >&2
}

{
  echo "--- bench/sidebyside.sh ${COUNTS[*]}"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -r)"
  echo "go: $(go version | cut -d' ' -f3)"
  echo "source: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes in the work tree')"
  echo "icecast: $(dpkg-query -W -f '${Version}' icecast2 2>/dev/null || icecast2 -v 2>&1 | head -1)"
  echo "ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f3)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: runs=$RUNS ramp=$RAMP/s steady=$STEADY icy=$ICY ours_only=[$OURS_ONLY]x$OURS_ONLY_RUNS idle=$IDLE stations=$STATIONS"
} >>"$OUT/env.txt"

for n in "${COUNTS[@]}"; do
  for run in $(seq "$RUNS"); do
    # The same backlog as Icecast's queue-size, so both hold equal buffers.
    start_ours --buffer-size 524288
    load ours "$n" "http://127.0.0.1:$PORT/" "$OUT/ours-$n-run$run.json"
    stop_server
    start_icecast
    load icecast "$n" "http://127.0.0.1:$PORT/live" "$OUT/icecast-$n-run$run.json"
    stop_server
  done
done

for n in $OURS_ONLY; do
  for run in $(seq "$OURS_ONLY_RUNS"); do
    start_ours
    load ours "$n" "http://127.0.0.1:$PORT/" "$OUT/ours-$n-run$run.json"
    stop_server
  done
done

if [ -n "$IDLE" ]; then
  start_ours
  load ours 0 "http://127.0.0.1:$PORT/" "$OUT/idle-ours.json" --duration "$IDLE"
  stop_server
  start_icecast
  load icecast 0 "http://127.0.0.1:$PORT/live" "$OUT/idle-icecast.json" --duration "$IDLE"
  stop_server
fi

if [ -n "$STATIONS" ]; then
  {
    echo "# $STATIONS stations on one track, written by bench/sidebyside.sh"
    echo "audio_dir = \"$W/music\""
    for i in $(seq 0 $((STATIONS - 1))); do
      printf '[[station]]\nroute = "/s%d"\ndir = "%s"\n' "$i" "$W/music"
    done
  } >"$W/stations.toml"
  start_ours --config "$W/stations.toml"
  load ours $((STATIONS * 10)) "http://127.0.0.1:$PORT/s%d" "$OUT/stations$STATIONS-ours.json" --stations "$STATIONS"
  stop_server
fi

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
"$W/listenbench" table --ref icecast "${WRITTEN[@]}" | tee "$OUT/table.md"
