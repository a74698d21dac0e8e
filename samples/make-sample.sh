#!/usr/bin/env bash
# Makes samples/sample.ts: 23 s of H.264 (testsrc2, 640x360, 25 fps, GOP 50) + AAC (1 kHz sine) in MPEG-TS.
# Deterministic for a given ffmpeg/x264 build: one thread, no sliced threads, fixed GOP, bit-exact flags.
set -euo pipefail
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25:duration=23" \
  -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=23" \
  -c:v libx264 -threads 1 -x264-params "sliced-threads=0:keyint=50:min-keyint=50:scenecut=0" \
  -preset veryfast -b:v 700k -maxrate 800k -bufsize 1600k -pix_fmt yuv420p \
  -c:a aac -b:a 96k \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -mpegts_flags +resend_headers -muxrate 960k -f mpegts sample.ts
sha256sum sample.ts
