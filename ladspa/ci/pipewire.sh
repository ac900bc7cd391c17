#!/usr/bin/env bash
# Headless PipeWire with the repo's filter-chain config: a pipewire daemon (no session manager,
# no D-Bus, no sound card: a dummy driver), the plugin loaded through
# ladspa/restoregrad-filter-chain.conf as a drop-in, pw-cat playing a 48 kHz WAV into the
# filter's capture side and pw-cat recording the virtual source "restoregrad denoised
# microphone"; links are made with pw-link. The recording must be `restoregrad enhance` of the
# same file at some delay (PipeWire's and the plugin's), well above the dry input.
# Needs: apt-get install pipewire pipewire-bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
for tool in pipewire pw-cat pw-link pw-cli; do
  command -v "$tool" >/dev/null || { echo "ladspa/ci/pipewire.sh: $tool not found (apt-get install pipewire pipewire-bin)" >&2; exit 1; }
done
cargo build --release -p restoregrad-ladspa --lib --example host_match
cargo build --release --bin restoregrad
W=$(mktemp -d)
PW_PID=
cleanup() { [ -n "$PW_PID" ] && kill "$PW_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR="$W/run" PIPEWIRE_RUNTIME_DIR="$W/run" PIPEWIRE_CONFIG_DIR="$W/conf"
export LADSPA_PATH; LADSPA_PATH=$(realpath "$T/release")
mkdir -p "$XDG_RUNTIME_DIR" "$PIPEWIRE_CONFIG_DIR/test.conf.d"
chmod 700 "$XDG_RUNTIME_DIR"
cp ladspa/restoregrad-filter-chain.conf "$PIPEWIRE_CONFIG_DIR/test.conf.d/"
cat > "$PIPEWIRE_CONFIG_DIR/test.conf" <<'CONF'
context.properties = {
    core.daemon = true
    core.name = pipewire-0
    support.dbus = false
    default.clock.rate = 48000
    default.clock.quantum = 1024
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
]
context.objects = [
    { factory = spa-node-factory
        args = {
            factory.name    = support.node.driver
            node.name       = Dummy-Driver
            node.group      = pipewire.dummy
            priority.driver = 20000
        }
    }
]
CONF
pipewire -c test.conf > "$W/pipewire.log" 2>&1 &
PW_PID=$!
for _ in $(seq 50); do
  pw-cli ls Node 2>/dev/null | grep -q restoregrad_source && break
  sleep 0.2
done
pw-cli ls Node | grep -E 'node.name|node.description' || true
pw-cli ls Node | grep -q restoregrad_source || { cat "$W/pipewire.log"; echo "filter-chain node not found" >&2; exit 1; }

"$T/release/examples/host_match" resample tests/fixtures/noisy/p287_002.wav "$W/in48.wav" 48000
"$T/release/restoregrad" enhance "$W/in48.wav" -o "$W/ref.wav" --chunk-frames 2 --float
pw-cat --record --rate 48000 --channels 1 --format f32 -P '{ node.name = rec }' "$W/rec.wav" &
REC=$!
sleep 1
pw-link -o
pw-link -i
pw-link restoregrad_source:capture_MONO rec:input_MONO || pw-link restoregrad_source rec
# Starts paused until linked: pw-cat plays at real-time pace through the filter.
pw-cat --playback -P '{ node.name = play }' "$W/in48.wav" &
PLAY=$!
sleep 0.5
pw-link play:output_MONO capture.restoregrad_source:input_MONO || pw-link play capture.restoregrad_source
pw-link -l
wait "$PLAY"
sleep 1
kill -INT "$REC"; wait "$REC" || true
"$T/release/examples/host_match" find "$W/in48.wav" "$W/rec.wav" "$W/ref.wav"
