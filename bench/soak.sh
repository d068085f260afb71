#!/usr/bin/env bash
# Soak test: audio-streamer with two stations under churning listeners for a
# long time, on 127.0.0.1 only. Opt-in; not part of go test.
#
#   bench/soak.sh [minutes, default 30] [listeners, default 1000]
#
# Builds the server and bench/soakclient, makes two stations of generated
# 128 kbit/s tracks, starts the server and runs soakclient: every listener
# connects, listens 2–10 s, leaves and reconnects (alternating stations)
# until the time is up; one monitor listener per station stays connected
# throughout. After the warm-up (WARMUP, default 3 min: each station's
# 2 MiB buffer takes 131 s of 128 kbit/s audio to fill, and RSS grows until
# it is full) and at the end it samples the server's goroutines (/metrics
# go_goroutines), open files (/proc/PID/fd) and RSS (VmRSS), each the median
# of 10 samples 1 s apart.
#
# Fails (exit 1) when any of them grew by 5 % or more (goroutines: and by
# more than 10, the swing of fasthttp's idle worker pool), when a monitor saw a
# read gap of 2 s or more or was cut off, when audio_stream_track_seconds_total
# did not advance at wall-clock rate (±1 %), or when more than 0.1 % of
# sessions failed. The table is printed and appended to OUT
# (default bench/results/soak.txt).
#
# Environment: WARMUP [3m], OUT [bench/results/soak.txt], KEEP [0] (1: keep
# the temp folder with the server log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAME=soak
# shellcheck source=procs.sh
. bench/procs.sh

MINUTES=${1:-30}
LISTENERS=${2:-1000}
WARMUP=${WARMUP:-3m}
OUT=${OUT:-$ROOT/bench/results/soak.txt}
KEEP=${KEEP:-0}
case "$MINUTES$LISTENERS" in *[!0-9]*) echo "usage: bench/soak.sh [minutes] [listeners]" >&2; exit 2 ;; esac
# soakclient refuses a run no longer than the warm-up and its two samples.

for tool in go ffmpeg curl ss; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is needed (apt-get install ffmpeg curl iproute2)" >&2; exit 2; }
done

W=$(mktemp -d /tmp/soak.XXXXXX)
SERVER_PID=""
stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [ "$KEEP" = 1 ]; then echo "soak: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "soak: building into $W" >&2
go build -o "$W/audio-streamer" ./cmd/audio-streamer
go build -o "$W/soakclient" ./bench/soakclient

# Two stations of three tracks each (sine tones, 128 kbit/s CBR), so track
# changes happen every minute or so during the run.
mkdir -p "$W/one" "$W/two"
n=0
for st in one two; do
  for f in 330 440 550; do
    n=$((n + 1))
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=$f:sample_rate=44100:duration=$((40 + n * 5))" \
      -ac 2 -c:a libmp3lame -b:a 128k -metadata artist="Soak $st" -metadata title="Tone $f" "$W/$st/tone-$f.mp3"
  done
done

PORT=$(free_port)
"$W/audio-streamer" --host 127.0.0.1 --port "$PORT" --audio-dir "$W/one" \
  --directory-routes "{\"two\":\"$W/two\"}" --log-level warn >"$W/server.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 20))
until curl -fsS --max-time 2 "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "soak: the server exited:" >&2; cat "$W/server.log" >&2; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "soak: server not ready after 20 s" >&2; exit 1; }
  sleep 0.2
done

echo "soak: $LISTENERS listeners for $MINUTES min on 127.0.0.1:$PORT (server pid $SERVER_PID)" >&2
rc=0
"$W/soakclient" --addr "127.0.0.1:$PORT" --routes /,/two --listeners "$LISTENERS" \
  --duration "${MINUTES}m" --warmup "$WARMUP" --pid "$SERVER_PID" >"$W/report.txt" || rc=$?
alive=yes
kill -0 "$SERVER_PID" 2>/dev/null || { alive=no; rc=1; }
warnings=$(grep -c . "$W/server.log" || true)

{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC'): $MINUTES min, $LISTENERS listeners"
  echo
  echo "machine: $(nproc) cores, $(uname -r), $(go version | cut -d' ' -f3); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + local changes')"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "server alive at the end: $alive; lines in its log at level warn or above: $warnings"
  echo
  cat "$W/report.txt"
} | tee -a "$OUT"
if [ "$warnings" -gt 0 ]; then
  echo "soak: server log (first 20 lines):" >&2
  head -20 "$W/server.log" >&2
fi
exit "$rc"
