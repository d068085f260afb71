#!/usr/bin/env bash
# Rebuilds the bundled demo station (demo/*.mp3): short synthesised tones,
# tagged, 128 kbit/s MPEG-1 Layer III. Needs ffmpeg with libmp3lame.
set -euo pipefail
cd "$(dirname "$0")/../demo"
make() { # file, artist, title, ffmpeg lavfi source
  ffmpeg -v error -y -f lavfi -i "$4" -t 12 -ac 2 -ar 44100 -c:a libmp3lame -b:a 128k \
    -metadata artist="$2" -metadata title="$3" -id3v2_version 4 "$1"
}
make "01 Sunrise.mp3" "audio-streamer demo" "Sunrise (A major chord)" \
  "aevalsrc=0.2*sin(2*PI*440*t)*(0.6+0.4*sin(2*PI*0.5*t))+0.15*sin(2*PI*554.37*t)+0.12*sin(2*PI*659.25*t):s=44100"
make "02 Радио.mp3" "Демо-станция" "Радио (glide)" \
  "aevalsrc=0.3*sin(2*PI*(220+40*t)*t):s=44100"
make "03 波.mp3" "audio-streamer demo" "波 Waves 🌊" \
  "aevalsrc=0.25*sin(2*PI*330*t)*sin(2*PI*0.25*t)+0.1*sin(2*PI*495*t):s=44100"
ls -l
