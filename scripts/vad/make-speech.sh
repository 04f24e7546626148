#!/usr/bin/env bash
# Regenerates data/speech/sample.wav: two synthetic English sentences with a 1 s pause, 0.5 s of
# silence at each end, 16 kHz mono 16-bit PCM. Needs espeak-ng and sox (only to regenerate:
# the WAV is committed, so builds and tests never run this).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

espeak-ng -v en-us -s 160 -w "$tmp/a.wav" "Hello, this is a short test."
espeak-ng -v en-us -s 160 -w "$tmp/b.wav" "Please call me back tomorrow."

# -D: no dither, so the pauses stay exact digital silence and reruns are byte-identical.
# silence/reverse/silence/reverse trims espeak-ng's own leading and trailing silence first.
trim='silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse'
sox -D "$tmp/a.wav" -r 16000 -c 1 -b 16 "$tmp/a16.wav" $trim gain -n -3 pad 0.5 1
sox -D "$tmp/b.wav" -r 16000 -c 1 -b 16 "$tmp/b16.wav" $trim gain -n -3 pad 0 0.5
sox -D "$tmp/a16.wav" "$tmp/b16.wav" data/speech/sample.wav
soxi data/speech/sample.wav
