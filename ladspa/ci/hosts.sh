#!/usr/bin/env bash
# The plugin in two real LADSPA hosts, Debian's ladspa-sdk: analyseplugin must list the labels
# and ports; applyplugin must process WAVs (16 kHz 16-bit fixture, and a 48 kHz float resample)
# with the output equal to `restoregrad enhance` on the same file after the reported latency.
# Run by .ci/run; needs `apt-get install ladspa-sdk`. Fails if the tools are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
for tool in analyseplugin applyplugin; do
  command -v "$tool" >/dev/null || { echo "ladspa/ci/hosts.sh: $tool not found (apt-get install ladspa-sdk)" >&2; exit 1; }
done
cargo build --release -p restoregrad-ladspa --lib --example host_match
cargo build --release --bin restoregrad
SO=$(realpath "$T/release/librestoregrad_ladspa.so")
MATCH="$T/release/examples/host_match"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# analyseplugin: both labels, every port with its direction, kind, range and default.
analyseplugin "$SO" > "$W/analyse.txt"
cat "$W/analyse.txt"
expect() { # expect COUNT LINE: LINE appears COUNT times
  local n; n=$(grep -cF -- "$2" "$W/analyse.txt" || true)
  [ "$n" = "$1" ] || { echo "analyseplugin: expected $1 x '$2', found $n" >&2; exit 1; }
}
expect 1 'Plugin Label: "restoregrad_mono"'
expect 1 'Plugin Label: "restoregrad_stereo"'
expect 1 '"in" input, audio'
expect 1 '"out" output, audio'
for p in left right; do expect 1 "\"in $p\" input, audio"; expect 1 "\"out $p\" output, audio"; done
expect 2 '"attenuation limit (dB)" input, control, 0 to 100, default 0'
expect 2 '"reverse steps" input, control, 1 to 6, default 1, integer'
expect 2 '"samples" input, control, 1 to 2, default 2, integer'
expect 2 '"bypass" input, control, toggled, default 0'
expect 2 '"offline" input, control, toggled, default 0'
expect 2 '"latency" output, control'
expect 2 '"underruns" output, control'
expect 2 'Environment: Normal or Hard Real-Time'

# applyplugin runs as fast as it can. Controls in port order: attenuation limit 0, steps 1,
# samples 2, bypass 0, then offline: 1 makes run() wait for the worker (every sample wet).
# -s 1 appends a second of silence so the delayed output is complete.
IN16=tests/fixtures/noisy/p287_002.wav
"$MATCH" resample "$IN16" "$W/in48.wav" 48000
for IN in "$IN16" "$W/in48.wav"; do
  b=$(basename "$IN" .wav)
  applyplugin -s 1 "$IN" "$W/$b.offline.wav" "$SO" restoregrad_mono 0 1 2 0 1
  applyplugin -s 1 "$IN" "$W/$b.realtime.wav" "$SO" restoregrad_mono 0 1 2 0 0
  "$T/release/restoregrad" enhance "$IN" -o "$W/$b.ref.wav" --chunk-frames 2 --float
  # Tolerance: applyplugin writes 16-bit PCM whatever the input (the reference is float), so
  # the output is the reference rounded to 16 bits: 2 LSB = 6.1e-5 (measured: 1 LSB, 3.05e-5).
  tol=6.2e-5
  "$MATCH" compare "$IN" "$W/$b.offline.wav" "$W/$b.ref.wav" "$tol"
  # Real-time mode in a faster-than-real-time host: each sample is wet or, where the worker
  # was late, the dry input, both at the same constant latency.
  "$MATCH" dry-or-wet "$IN" "$W/$b.realtime.wav" "$W/$b.ref.wav" "$tol"
done
echo "ladspa/ci/hosts.sh: analyseplugin and applyplugin OK"
