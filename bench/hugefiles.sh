#!/usr/bin/env bash
# Memory stays flat whatever the file size: stream a >= 1.5 GiB MP3 and a
# >= 1 GiB WAV to a few listeners each and sample the server's RSS
# (VmRSS, and VmHWM, the kernel's high-water mark, so a peak between two
# samples is not missed) across startup (scan, preload, tag reads) and
# DURATION seconds of streaming. A second pass restarts the server with a
# saved state that resumes the MP3 near its end, so the station reads at a
# 1.5 GiB offset and plays through the end of the file into the next track.
#
# Exit status: 0 when the peak VmHWM of both passes stays under LIMIT_MB and
# the listeners got their audio; 1 otherwise.
#
# Needs go, ffmpeg, ffprobe, curl. The generated files (~2.8 GB) live in a
# temporary folder that is removed at exit (KEEP=1 keeps it).
#
# Knobs (environment): LIMIT_MB=40 DURATION=60 LISTENERS=3
# MP3_BYTES=1610612736 WAV_BYTES=1073741824 RESUME_TAIL_BYTES=480000
# (bytes left to play after the resume point: 30 s at 128 kbps; the pacer
# releases audio in real time, so 100 MB from the end would take 1 h 49 min
# to reach the next track).
#
# Steady state: each station keeps buffer_size (2 MiB) of recent audio,
# which fills at the stream's bitrate in ~131 s at 128 kbps, and the Go heap
# may grow to twice its live size (GOGC=100) before a collection, so RSS
# rises for the first ~4 minutes and then stays level; DURATION=300 shows
# the plateau. MP3_BYTES=15000000 WAV_BYTES=15000000 is the small-file
# control: the same curve means memory does not depend on the file size.
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT_MB=${LIMIT_MB:-40}
DURATION=${DURATION:-60}
LISTENERS=${LISTENERS:-3}
MP3_BYTES=${MP3_BYTES:-1610612736}
WAV_BYTES=${WAV_BYTES:-1073741824}
RESUME_TAIL_BYTES=${RESUME_TAIL_BYTES:-480000}

for tool in go ffmpeg ffprobe curl; do
  command -v "$tool" >/dev/null || { echo "hugefiles: $tool is required" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hugefiles.XXXXXX")
SERVER_PID=""
CURL_PIDS=()
cleanup() {
  for p in "${CURL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
size_of() { stat -c %s "$1"; }
# not_sparse fails for a file whose allocated blocks do not cover its size.
not_sparse() {
  local alloc
  alloc=$(( $(stat -c '%b * %B' "$1") ))
  [ "$alloc" -ge "$(( $(size_of "$1") * 99 / 100 ))" ] || { echo "hugefiles: $1 is sparse" >&2; exit 1; }
}
le16() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))"; }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

echo "== hugefiles: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(uname -srm), $(nproc) CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f MB RAM", $2 / 1024 }' /proc/meminfo)"
echo "go: $(go version | cut -d' ' -f3), ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f3)"
echo "work folder: $WORK"

BIN="$WORK/audio-streamer"
go build -o "$BIN" ./cmd/audio-streamer

MP3DIR="$WORK/mp3" WAVDIR="$WORK/wav" ROOTDIR="$WORK/root" STATEDIR="$WORK/state" GEN="$WORK/gen"
mkdir -p "$MP3DIR" "$WAVDIR" "$ROOTDIR" "$STATEDIR" "$GEN"
cp "demo/01 Sunrise.mp3" "$ROOTDIR/"

# --- The MP3: an ID3v2.3 tag (title "Huge MP3"), then copies of the frames
# of one 60 s encode. Without a Xing/Info frame or tags the copies are pure
# frame data; the first frame of a LAME encode has main_data_begin 0, so
# the joins are clean frames too.
t0=$SECONDS
ff -f lavfi -i sine=frequency=440:sample_rate=44100:duration=60 -ac 2 \
  -c:a libmp3lame -b:a 128k -write_xing 0 -id3v2_version 0 -f mp3 "$GEN/tone.mp3"
[ "$(head -c 2 "$GEN/tone.mp3" | od -An -tx1 | tr -d ' ')" = fffb ] ||
  { echo "hugefiles: the tone encode does not start with an MPEG-1 Layer III frame" >&2; exit 1; }
if head -c 4096 "$GEN/tone.mp3" | grep -aq -e Xing -e Info -e ID3; then
  echo "hugefiles: the tone encode has a tag or an Info frame" >&2; exit 1
fi
# 64 copies (~61 MB) per append keeps the number of writes small.
cp "$GEN/tone.mp3" "$GEN/block.mp3"
for _ in 1 2 3 4 5 6; do cat "$GEN/block.mp3" "$GEN/block.mp3" > "$GEN/b2" && mv "$GEN/b2" "$GEN/block.mp3"; done
HUGE_MP3="$MP3DIR/huge.mp3"
printf 'ID3\x03\x00\x00\x00\x00\x00\x13TIT2\x00\x00\x00\x09\x00\x00\x00Huge MP3' > "$HUGE_MP3"
block=$(size_of "$GEN/block.mp3") tone=$(size_of "$GEN/tone.mp3") have=$(size_of "$HUGE_MP3")
while [ $((have + block)) -le "$MP3_BYTES" ]; do cat "$GEN/block.mp3" >> "$HUGE_MP3"; have=$((have + block)); done
while [ "$have" -lt "$MP3_BYTES" ]; do cat "$GEN/tone.mp3" >> "$HUGE_MP3"; have=$((have + tone)); done
rm "$GEN/block.mp3"
not_sparse "$HUGE_MP3"
# The next track, so the resumed pass can run off the end of the huge one.
ff -f lavfi -i sine=frequency=880:sample_rate=44100:duration=20 -ac 2 \
  -c:a libmp3lame -b:a 128k -id3v2_version 3 -metadata title="After Huge" "$MP3DIR/next.mp3"

# --- The WAV: a RIFF/WAVE header with the real data size, then a 10 s
# 440 Hz PCM chunk (a whole number of cycles, so the joins are seamless)
# repeated, appended 32 chunks at a time.
ff -f lavfi -i sine=frequency=440:sample_rate=44100:duration=10 -ac 2 -c:a pcm_s16le -f s16le "$GEN/chunk.raw"
chunk=$(size_of "$GEN/chunk.raw")
[ "$chunk" -eq 1764000 ] || { echo "hugefiles: PCM chunk is $chunk bytes, want 1764000" >&2; exit 1; }
chunks=$(( (WAV_BYTES + chunk - 1) / chunk ))
data=$((chunks * chunk))
for _ in 1 2 3 4 5; do cat "$GEN/chunk.raw" "$GEN/chunk.raw" > "$GEN/c2" && mv "$GEN/c2" "$GEN/chunk.raw"; done # 32 chunks
HUGE_WAV="$WAVDIR/huge.wav"
{ printf RIFF; le32 $((36 + data)); printf 'WAVEfmt '; le32 16; le16 1; le16 2; le32 44100; le32 176400; le16 4; le16 16; printf data; le32 "$data"; } > "$HUGE_WAV"
for ((i = 0; i < chunks / 32; i++)); do cat "$GEN/chunk.raw" >> "$HUGE_WAV"; done
head -c $(( (chunks % 32) * 1764000 )) "$GEN/chunk.raw" >> "$HUGE_WAV"
rm -rf "$GEN"
not_sparse "$HUGE_WAV"
[ "$(size_of "$HUGE_WAV")" -eq $((44 + data)) ] || { echo "hugefiles: WAV size mismatch" >&2; exit 1; }

probe() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
MP3_SIZE=$(size_of "$HUGE_MP3")
echo "files (built in $((SECONDS - t0)) s, not sparse):"
echo "  mp3/huge.mp3  $MP3_SIZE bytes ($(mb $((MP3_SIZE / 1024))) MiB), ffprobe duration $(probe "$HUGE_MP3") s, 128 kbps CBR, ID3v2 title \"Huge MP3\""
echo "  mp3/next.mp3  $(size_of "$MP3DIR/next.mp3") bytes, $(probe "$MP3DIR/next.mp3") s"
echo "  wav/huge.wav  $(size_of "$HUGE_WAV") bytes ($(mb $(($(size_of "$HUGE_WAV") / 1024))) MiB), ffprobe duration $(probe "$HUGE_WAV") s, PCM s16le stereo 44.1 kHz"
echo "  root/         demo/01 Sunrise.mp3"

if command -v python3 >/dev/null; then
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
else
  PORT=$((20000 + RANDOM % 20000))
fi
BASE="http://127.0.0.1:$PORT"
CONFIG="$WORK/config.toml"
printf 'state_dir = "%s"\n' "$STATEDIR" > "$CONFIG"

SAMPLES="$WORK/samples.txt"
: > "$SAMPLES"
# sample PASS PHASE: one line of the server's VmRSS and VmHWM, its Go heap
# in use (from /metrics; -1 when not answered) and the summed PSS of its
# children, the ffmpeg encoders of the WAV station (RSS would count their
# shared libraries once per process), all in KiB, and the children count.
sample() {
  local rss hwm heap kids c
  read -r rss hwm < <(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' "/proc/$SERVER_PID/status")
  heap=$(curl -s --max-time 2 "$BASE/metrics" 2>/dev/null | awk '/^go_memstats_heap_inuse_bytes/ { h = $2 / 1024 } END { printf "%d", h ? h : -1 }')
  kids=$(for c in $({ ps --ppid "$SERVER_PID" -o pid= 2>/dev/null || true; }); do
    awk '/^Pss:/ { print $2 }' "/proc/$c/smaps_rollup" 2>/dev/null || true
  done | awk '{ s += $1; n++ } END { printf "%d %d", s, n }')
  echo "$1 $2 $SECONDS $rss $hwm $heap $kids" >> "$SAMPLES"
}

start_server() { # PASS
  "$BIN" --config "$CONFIG" --host 127.0.0.1 --port "$PORT" --audio-dir "$ROOTDIR" --shuffle=false \
    --directory-routes "{\"mp3\":\"$MP3DIR\",\"wav\":\"$WAVDIR\"}" 2> "$WORK/server-$1.log" &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30)) code=000
  while [ $SECONDS -lt $deadline ]; do
    [ -r "/proc/$SERVER_PID/status" ] || { echo "hugefiles: server exited; log:" >&2; cat "$WORK/server-$1.log" >&2; exit 1; }
    sample "$1" startup
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "hugefiles: server not ready after 30 s; log:" >&2; cat "$WORK/server-$1.log" >&2; exit 1; }
  sample "$1" startup
}

stop_server() {
  kill -TERM "$SERVER_PID"
  local deadline=$((SECONDS + 10))
  while kill -0 "$SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

FAIL=0
# stream PASS: LISTENERS readers per station (one asking for ICY metadata)
# for DURATION seconds, sampling every second; then checks what they got.
stream() {
  local pass=$1 route i out
  CURL_PIDS=()
  for route in mp3 wav; do
    for ((i = 1; i <= LISTENERS; i++)); do
      out="$WORK/listener-$pass-$route-$i"
      if [ "$i" = 1 ]; then
        curl -s -N -H 'Icy-MetaData: 1' -o /dev/null --max-time "$DURATION" -w '%{size_download}' "$BASE/$route" > "$out" &
      else
        curl -s -N -o /dev/null --max-time "$DURATION" -w '%{size_download}' "$BASE/$route" > "$out" &
      fi
      CURL_PIDS+=($!)
    done
  done
  for ((i = 0; i < DURATION; i++)); do
    sleep 1
    sample "$pass" streaming
  done
  for p in "${CURL_PIDS[@]}"; do wait "$p" || true; done
  CURL_PIDS=()
  sample "$pass" streaming
  # 128 kbps is 16000 bytes/s; allow for the connect time.
  local want=$((16000 * DURATION * 9 / 10)) got
  for out in "$WORK"/listener-"$pass"-*; do
    got=$(cat "$out")
    if [ "${got:-0}" -lt "$want" ]; then
      echo "FAIL: ${out##*/listener-} received $got bytes, want >= $want" >&2
      FAIL=1
    fi
  done
  echo "  listeners ($pass): $(for out in "$WORK"/listener-"$pass"-*; do printf '%s=%s ' "${out##*/listener-$pass-}" "$(cat "$out")"; done)bytes"
}

echo
echo "== pass 1: fresh start, every track from its beginning"
start_server start
echo "  now playing: $(curl -s "$BASE/now-playing?route=/mp3" | grep -o '"track":"[^"]*"')"
stream start
stop_server
echo "  saved state: $(cat "$STATEDIR/station-mp3.json" 2>/dev/null || echo none)"

echo
echo "== pass 2: resume mp3/huge.mp3 $RESUME_TAIL_BYTES bytes before its end (offset $((MP3_SIZE - RESUME_TAIL_BYTES)))"
cat > "$STATEDIR/station-mp3.json" <<EOF
{"version":1,"order":["huge.mp3","next.mp3"],"pos":0,"current":"huge.mp3","offset_bytes":$((MP3_SIZE - RESUME_TAIL_BYTES)),"saved_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
EOF
start_server resume
grep -q 'resuming station.*route=/mp3.*offset=' "$WORK/server-resume.log" ||
  { echo "FAIL: the mp3 station did not resume from the state file" >&2; FAIL=1; }
stream resume
history=$(curl -s "$BASE/history?route=/mp3")
stop_server
echo "  mp3 history: $(echo "$history" | grep -o '"file":"[^"]*"' | tr '\n' ' ')"
echo "$history" | grep -q '"file":"next.mp3"' ||
  { echo "FAIL: the resumed station did not reach the next track" >&2; FAIL=1; }

echo
echo "== memory of the server (MiB; VmHWM is the kernel's peak RSS, between samples too)"
printf '%-7s %-10s %7s %8s %8s %8s %8s %10s   %s\n' pass phase samples "RSS start" peak end VmHWM "heap peak" "ffmpeg children: peak PSS sum (count)"
awk '{
  k = $1 " " $2
  if (!(k in n)) { order[++m] = k; start[k] = $4 }
  n[k]++; end[k] = $4
  if ($4 > peak[k]) peak[k] = $4
  if ($5 > hwm[k]) hwm[k] = $5
  if ($6 > heap[k]) heap[k] = $6
  if ($7 > kid[k]) kid[k] = $7
  if ($8 > kn[k]) kn[k] = $8
} END {
  for (i = 1; i <= m; i++) {
    k = order[i]; split(k, p, " ")
    printf "%-7s %-10s %7d %8.1f %8.1f %8.1f %8.1f %10.1f   %.1f (%d)\n", p[1], p[2], n[k], start[k] / 1024, peak[k] / 1024, end[k] / 1024, hwm[k] / 1024, heap[k] / 1024, kid[k] / 1024, kn[k]
  }
}' "$SAMPLES"
peak_kb=$(awk '$5 > m { m = $5 } END { print m + 0 }' "$SAMPLES")
# The limit is decimal megabytes (40 MB = 38.1 MiB), the stricter reading.
limit_kb=$((LIMIT_MB * 1000000 / 1024))
if [ "$peak_kb" -ge "$limit_kb" ]; then
  echo "FAIL: peak VmHWM $(mb "$peak_kb") MiB >= $LIMIT_MB MB ($(mb "$limit_kb") MiB)"
  FAIL=1
else
  echo "PASS: peak VmHWM $(mb "$peak_kb") MiB < $LIMIT_MB MB ($(mb "$limit_kb") MiB)"
fi
exit "$FAIL"
