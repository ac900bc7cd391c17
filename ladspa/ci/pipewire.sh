#!/usr/bin/env bash
# Headless PipeWire with the repo's filter-chain config, as a user would install it: a pipewire
# daemon (no sound card: a virtual "test microphone" node drives the graph), WirePlumber in a
# private D-Bus session, ladspa/restoregrad-filter-chain.conf as a drop-in, pw-cat playing a
# 48 kHz WAV into the test microphone and pw-cat recording "restoregrad denoised microphone".
# The recording must be the enhanced signal rather than the dry one (see `host_match find`).
# Needs: apt-get install pipewire pipewire-bin wireplumber dbus.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
for tool in pipewire wireplumber dbus-daemon pw-cat pw-link pw-dump; do
  command -v "$tool" >/dev/null || { echo "ladspa/ci/pipewire.sh: $tool not found (apt-get install pipewire pipewire-bin wireplumber dbus)" >&2; exit 1; }
done
cargo build --release -p restoregrad-ladspa --lib --example host_match
cargo build --release --bin restoregrad
W=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR="$W/run" PIPEWIRE_RUNTIME_DIR="$W/run" PIPEWIRE_CONFIG_DIR="$W/conf"
export LADSPA_PATH; LADSPA_PATH=$(realpath "$T/release")
mkdir -p "$XDG_RUNTIME_DIR" "$PIPEWIRE_CONFIG_DIR/test.conf.d"
chmod 700 "$XDG_RUNTIME_DIR"
cp ladspa/restoregrad-filter-chain.conf "$PIPEWIRE_CONFIG_DIR/test.conf.d/"
# PIPEWIRE_CONFIG_DIR is also where the clients (pw-cat, pw-link, pw-dump) look.
cp /usr/share/pipewire/client.conf /usr/share/pipewire/client-rt.conf "$PIPEWIRE_CONFIG_DIR/"
cat > "$PIPEWIRE_CONFIG_DIR/test.conf" <<'CONF'
context.properties = {
    core.daemon = true
    core.name = pipewire-0
    support.dbus = false
    default.clock.rate = 48000
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
    # Without it clients get no permissions and every request hangs.
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    # WirePlumber 0.4 needs it.
    { name = libpipewire-module-session-manager }
]
context.objects = [
    { factory = metadata args = { metadata.name = default } }
    { factory = adapter
        args = {
            factory.name     = support.null-audio-sink
            node.name        = test_mic
            node.description = "test microphone"
            media.class      = Audio/Source/Virtual
            audio.position   = [ MONO ]
            priority.session = 5000
            priority.driver  = 5000
            object.linger    = true
        }
    }
]
CONF
wait_for() { # wait_for DESCRIPTION COMMAND...: up to 20 s
  for _ in $(seq 100); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "ladspa/ci/pipewire.sh: timed out waiting for $1" >&2
  tail -20 "$W"/*.log >&2
  exit 1
}
pipewire -c test.conf > "$W/pipewire.log" 2>&1 &
PIDS+=($!)
sleep 1
# WirePlumber configures the stream nodes' ports and links the filter to the default source
# (the test microphone); it needs a D-Bus session bus.
dbus-daemon --session --nofork --address="unix:path=$W/bus" > "$W/dbus.log" 2>&1 &
PIDS+=($!)
export DBUS_SESSION_BUS_ADDRESS="unix:path=$W/bus"
wait_for "the D-Bus session bus" test -S "$W/bus"
wireplumber > "$W/wireplumber.log" 2>&1 &
PIDS+=($!)
linked() { pw-link -l | grep -q -- "$1"; }
wait_for "the filter-chain's source port" sh -c 'pw-link -o | grep -q restoregrad_source:capture_MONO'
wait_for "the filter's capture link to the test microphone" linked "|<- test_mic:capture_MONO"

"$T/release/examples/host_match" resample tests/fixtures/noisy/p287_002.wav "$W/in48.wav" 48000
"$T/release/restoregrad" enhance "$W/in48.wav" -o "$W/ref.wav" --chunk-frames 2 --float
pw-cat --record --rate 48000 --channels 1 --format f32 --target restoregrad_source -P '{ node.name = rec }' "$W/rec.wav" &
REC=$!
PIDS+=($REC)
wait_for "the recorder's link" linked "|-> rec:input_MONO"
# WirePlumber does not link a playback stream into a source: link it by hand.
pw-cat --playback -P '{ node.name = play, node.autoconnect = false }' "$W/in48.wav" &
PLAY=$!
PIDS+=($PLAY)
wait_for "the player's port" sh -c 'pw-link -o | grep -q "^play:output_"'
pw-link "$(pw-link -o | grep '^play:output_' | head -1)" test_mic:input_MONO
pw-link -l
wait "$PLAY"
sleep 1
kill -INT "$REC"
wait "$REC" || true
"$T/release/examples/host_match" find "$W/in48.wav" "$W/rec.wav" "$W/ref.wav"
echo "ladspa/ci/pipewire.sh: PipeWire filter-chain OK"
