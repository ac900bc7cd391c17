#!/usr/bin/env bash
# GPU check for restoregrad, for a machine with a GPU and no network, from a binary built elsewhere.
#
#   scripts/gpu_check.sh [--bin PATH] [--model DIR] [--device vulkan|vulkan:N|cuda[:N]]
#                        [--unpack-debs DIR] [--skip-bench]
#
# What it does (see docs/GPU.md for the whole procedure):
#   1. Finds the Vulkan loader and driver: with --unpack-debs DIR it first unpacks DIR/*.deb into /
#      (dpkg -x; as root); if VK_ICD_FILENAMES / VK_DRIVER_FILES are unset and an NVIDIA ICD json
#      exists in a usual place, points both at it.
#   2. Agreement: enhances tests/fixtures/noisy/p232_005.wav with --device cpu and with the GPU
#      device (same model, seed 0, --chunk-frames 32, --steps 2, --float) and compares the outputs
#      sample by sample. TOLERANCE: PASS when the SNR of the GPU output against the CPU output
#      (CPU energy over the energy of the difference) is at least 40 dB, SI-SDR (from
#      `restoregrad score`) at least 40 dB, score's delay 0 samples, and the largest absolute sample
#      difference at most 0.01 of full scale (-40 dBFS). float32 on both sides with the same host
#      noise draws differs only by rounding, which lands far above 40 dB; a wrong kernel lands
#      far below it.
#   3. Speed: `restoregrad bench --quick --stagger --device cpu,GPU` (CPU on the same machine as baseline).
#
# Results go to $OUT when it is set (else ./gpu-check-results): gpu_check.log, gpu_check.json
# (verdict and numbers), score.json, bench.json, bench.md. Exit status: 0 PASS, 1 FAIL (outputs
# disagree, or the GPU device failed), 2 usage or setup error.
#
# Arguments and environment:
#   --bin PATH      the restoregrad binary (default $RESTOREGRAD_BIN, else .gpu/restoregrad,
#                   .gpu/restoregrad.gz, .gpu/restoregrad.xz, target/release/restoregrad); built with
#                   `--features vulkan` (or cuda). A .gz or .xz file is unpacked to a temporary folder
#                   first: the vulkan binary is ~86 MB stripped, over the device tool's 64 MiB, ~22 MB
#                   gzipped.
#   --model DIR     model folder (config.json + weights.bpk; default $RESTOREGRAD_MODEL, else
#                   .gpu/model if present, else the binary's own default: models/default).
#   --device NAME   GPU device to check (default vulkan).
#   --unpack-debs DIR  unpack DIR/*.deb into / and run ldconfig first (the carried Vulkan loader).
#   --skip-bench    agreement only.
set -euo pipefail

die() { echo "gpu_check: $*" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT=$PWD

BIN=${RESTOREGRAD_BIN:-}
MODEL=${RESTOREGRAD_MODEL:-}
DEVICE=vulkan
DEBS=
BENCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --model) MODEL=${2:?--model needs a folder}; shift 2 ;;
    --device) DEVICE=${2:?--device needs a name}; shift 2 ;;
    --unpack-debs) DEBS=${2:?--unpack-debs needs a folder}; shift 2 ;;
    --skip-bench) BENCH=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "$BIN" ]; then
  for c in .gpu/restoregrad .gpu/restoregrad.gz .gpu/restoregrad.xz target/release/restoregrad; do
    if [ -f "$c" ]; then BIN=$c; break; fi
  done
fi
[ -n "$BIN" ] || die "no restoregrad binary: pass --bin PATH (build it with: cargo build --release --features vulkan)"
[ -f "$BIN" ] || die "$BIN: no such file"
case "$BIN" in
  *.gz) gzip -dc "$BIN" >"$WORK/restoregrad" || die "cannot gunzip $BIN"; BIN=$WORK/restoregrad; chmod +x "$BIN" ;;
  *.xz) xz -dc "$BIN" >"$WORK/restoregrad" || die "cannot unxz $BIN"; BIN=$WORK/restoregrad; chmod +x "$BIN" ;;
esac
[ -x "$BIN" ] || die "$BIN is not executable"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [ -z "$MODEL" ] && [ -f .gpu/model/config.json ]; then MODEL=.gpu/model; fi
MODEL_ARGS=()
if [ -n "$MODEL" ]; then
  [ -f "$MODEL/config.json" ] || die "$MODEL is not a model folder (no config.json)"
  MODEL_ARGS=(--model "$MODEL")
fi

FIXTURE=tests/fixtures/noisy/p232_005.wav
command -v python3 >/dev/null 2>&1 || die "python3 is needed to compare the outputs"
[ -f "$FIXTURE" ] || die "fixture $FIXTURE missing: run from a checkout of the repository"

RESULTS=${OUT:-$ROOT/gpu-check-results}
mkdir -p "$RESULTS"
LOG=$RESULTS/gpu_check.log
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
# Runs a command, its output into the log and onto the terminal; keeps its exit status.
logged() { set +e; "$@" 2>&1 | tee -a "$LOG"; local rc=${PIPESTATUS[0]}; set -e; return "$rc"; }

# 1. Loader and driver.
if [ -n "$DEBS" ]; then
  [ -d "$DEBS" ] || die "--unpack-debs $DEBS: no such folder"
  [ "$(id -u)" = 0 ] || die "--unpack-debs needs root (it unpacks into /)"
  n=0
  for f in "$DEBS"/*.deb; do [ -e "$f" ] || continue; dpkg -x "$f" /; n=$((n + 1)); done
  [ "$n" -gt 0 ] || die "--unpack-debs $DEBS: no .deb files there"
  ldconfig
  say "unpacked $n packages from $DEBS"
fi
case "$DEVICE" in
  vulkan*|wgpu*)
    if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
      say "warning: no libvulkan.so.1 in the linker cache: carry the Debian package libvulkan1 and pass --unpack-debs (docs/GPU.md)"
    fi
    if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
      for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
                 /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
        if [ -f "$icd" ]; then
          export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
          break
        fi
      done
    fi
    say "Vulkan driver list: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-(loader default)}}"
    ;;
esac
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L 2>&1 | tee -a "$LOG" || true
fi
say "binary: $BIN"
say "model: ${MODEL:-(binary default)}"
say "device: $DEVICE"

# 2. Agreement.
COMMON=(-q enhance "$FIXTURE" --seed 0 --steps 2 --chunk-frames 32 --float "${MODEL_ARGS[@]}")
now() { date +%s.%N; }
t0=$(now)
logged "$BIN" "${COMMON[@]}" --device cpu -o "$WORK/cpu.wav" || die "CPU enhance failed (binary or model broken, not the GPU)"
t1=$(now)
if ! logged "$BIN" "${COMMON[@]}" --device "$DEVICE" -o "$WORK/gpu.wav"; then
  say "FAIL: enhance on $DEVICE failed (its error is above)"
  printf '{"verdict":"FAIL","device":"%s","reason":"enhance on the device failed"}\n' "$DEVICE" >"$RESULTS/gpu_check.json"
  exit 1
fi
t2=$(now)
logged "$BIN" -q score --clean "$WORK/cpu.wav" --enhanced "$WORK/gpu.wav" --json "$RESULTS/score.json" \
  || die "restoregrad score failed"

# Compares the two float WAVs (Python's wave module reads no float WAV, so the chunks are parsed
# here) and writes the verdict.
VERDICT=0
python3 - "$WORK/cpu.wav" "$WORK/gpu.wav" "$RESULTS/score.json" "$RESULTS/gpu_check.json" "$DEVICE" \
  "$t0" "$t1" "$t2" <<'PY' 2>&1 | tee -a "$LOG" || VERDICT=$?
import array, json, math, struct, sys

def read_wav(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"RIFF" or b[8:12] != b"WAVE":
        raise SystemExit(f"{path}: not a WAV file")
    pos, fmt, fmt_body, data = 12, None, b"", None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], struct.unpack("<I", b[pos + 4:pos + 8])[0]
        body = b[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt, fmt_body = struct.unpack("<HHIIHH", body[:16]), body
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise SystemExit(f"{path}: no fmt or data chunk")
    tag, ch, rate, _, _, bits = fmt
    if tag == 0xFFFE and len(fmt_body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = struct.unpack("<H", fmt_body[24:26])[0]
    if bits == 32 and tag == 3:
        x = array.array("f"); x.frombytes(data[: len(data) // 4 * 4]); x = list(x)
    elif bits == 16:
        x = array.array("h"); x.frombytes(data[: len(data) // 2 * 2]); x = [v / 32768 for v in x]
    else:
        raise SystemExit(f"{path}: {bits}-bit format {tag} not handled")
    return rate, ch, x

cpu_path, gpu_path, score_path, out_path, device = sys.argv[1:6]
t0, t1, t2 = map(float, sys.argv[6:9])
t_cpu, t_gpu = t1 - t0, t2 - t1
rc, cc, cpu = read_wav(cpu_path)
rg, cg, gpu = read_wav(gpu_path)
if (rc, cc) != (rg, cg) or len(cpu) != len(gpu):
    print(f"FAIL: shapes differ: cpu {rc} Hz x{cc} {len(cpu)} samples, gpu {rg} Hz x{cg} {len(gpu)}")
    sys.exit(1)
finite = all(math.isfinite(v) for v in gpu)
diff = [a - b for a, b in zip(cpu, gpu)] if finite else []
max_abs = max((abs(d) for d in diff), default=float("inf"))
e_ref = sum(v * v for v in cpu)
e_diff = sum(d * d for d in diff) if finite else float("inf")
snr = float("inf") if e_diff == 0 else (10 * math.log10(e_ref / e_diff) if finite and e_ref > 0 else float("-inf"))
score = json.load(open(score_path))["files"][0]["scores"]
si_sdr, delay = score["si_sdr"], score["delay_samples"]

MIN_SNR_DB, MIN_SI_SDR_DB, MAX_ABS = 40.0, 40.0, 0.01
ok = finite and snr >= MIN_SNR_DB and si_sdr >= MIN_SI_SDR_DB and delay == 0 and max_abs <= MAX_ABS
verdict = "PASS" if ok else "FAIL"
res = {
    "verdict": verdict,
    "device": device,
    "fixture": "tests/fixtures/noisy/p232_005.wav",
    "samples": len(cpu), "rate": rc, "channels": cc,
    "snr_db": None if math.isinf(snr) else snr, "identical": e_diff == 0,
    "si_sdr_db": si_sdr, "delay_samples": delay,
    "max_abs_diff": None if math.isinf(max_abs) else max_abs,
    "all_finite": finite,
    "tolerance": {"min_snr_db": MIN_SNR_DB, "min_si_sdr_db": MIN_SI_SDR_DB, "max_abs_diff": MAX_ABS, "delay_samples": 0},
    "enhance_wall_s": {"cpu": t_cpu, "gpu": t_gpu},
}
json.dump(res, open(out_path, "w"), indent=2)
snr_s = "identical" if e_diff == 0 else f"{snr:.1f} dB"
print(f"{verdict}: {device} vs cpu on {len(cpu)} samples: SNR {snr_s} (>= {MIN_SNR_DB:g}), "
      f"SI-SDR {si_sdr:.1f} dB (>= {MIN_SI_SDR_DB:g}), delay {delay}, max |diff| {max_abs:.3g} (<= {MAX_ABS:g}), "
      f"finite {finite}; enhance wall cpu {t_cpu:.2f} s, {device} {t_gpu:.2f} s (start-up included)")
sys.exit(0 if ok else 1)
PY

# 3. Speed.
if [ "$BENCH" = 1 ]; then
  say "bench --quick on cpu and $DEVICE"
  if logged "$BIN" bench --quick --stagger --device "cpu,$DEVICE" --out-dir "$WORK/bench" "${MODEL_ARGS[@]}"; then
    for f in bench.json bench.md; do
      if [ -f "$WORK/bench/$f" ]; then cp "$WORK/bench/$f" "$RESULTS/$f"; fi
    done
  else
    say "FAIL: bench on $DEVICE failed (its error is above)"
    if [ "$VERDICT" = 0 ]; then VERDICT=1; fi
  fi
fi

say "results in $RESULTS"
if [ "$VERDICT" = 0 ]; then say "gpu_check: PASS"; else say "gpu_check: FAIL"; fi
exit "$VERDICT"
