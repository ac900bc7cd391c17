#!/usr/bin/env bash
# Quality tables for the README and the model card, in one command:
#   scripts/evaluate.sh [DATA=../shared/data]      (env: MODEL=models/default OUT=eval STEPS="1 2 3 6")
# Sets: (a) the 10 real VoiceBank-DEMAND p232 test pairs, (b) 40 seeded mixtures of speech/test x
# noise/test at 0/5/10/15 dB (scripts/make_eval_mixtures.py). Systems: the noisy input, RNNoise
# (the nnnoiseless crate, via `restoregrad enhance --rnnoise`) and restoregrad at each step count.
# Scores come from the field's reference packages (pesq, pystoi; scripts/reference_metrics.py);
# `restoregrad score` agrees with them to about 0.001 (tests/metrics_golden.rs). DNSMOS P.835 (SIG/BAK/OVRL,
# non-intrusive: no clean reference needed, so the clean speech gets a row too) comes from the `speechmos`
# package's bundled ONNX models (scripts/dnsmos.py); the tables print BAK and OVRL, the JSON has SIG too.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
MODEL=${MODEL:-models/default}
OUT=${OUT:-eval}
STEPS=${STEPS:-1 2 3 6}
source scripts/lib/scoring.sh
scoring_packages
cargo build --release -q
BIN=target/release/restoregrad

rm -rf "$OUT"
mkdir -p "$OUT/vb/clean" "$OUT/vb/noisy"
cp "$DATA"/vbdemand/clean/p232_*.wav "$OUT/vb/clean/"
cp "$DATA"/vbdemand/noisy/p232_*.wav "$OUT/vb/noisy/"
python3 scripts/make_eval_mixtures.py --data "$DATA" --out "$OUT/mix" --per-snr 10

for set in vb mix; do
  systems="noisy rnnoise"
  "$BIN" enhance -q --float --rnnoise "$OUT/$set"/noisy/*.wav --out-dir "$OUT/$set/rnnoise"
  for s in $STEPS; do
    "$BIN" enhance -q --float --model "$MODEL" --steps "$s" "$OUT/$set"/noisy/*.wav --out-dir "$OUT/$set/steps$s"
    systems="$systems steps$s"
  done
  for sys in $systems; do
    score_intrusive "$OUT/$set/clean" "$OUT/$set/$sys"
  done
  for sys in clean $systems; do
    score_dnsmos "$OUT/$set/$sys"
  done
done
python3 - "$OUT" "$STEPS" <<'PY' | tee "$OUT/quality.md"
import json, sys, pathlib
out, steps = pathlib.Path(sys.argv[1]), sys.argv[2].split()
names = {"noisy": "noisy input", "rnnoise": "RNNoise (nnnoiseless 0.5.2)"}
for set_name, title in [("vb", "(a) VoiceBank-DEMAND p232 test pairs (10, real)"), ("mix", "(b) speech/test x noise/test at 0/5/10/15 dB (40, seeded)")]:
    print(f"\n{title}\n\n| system | PESQ-WB | STOI | ESTOI | SI-SDR dB | DNSMOS BAK | DNSMOS OVRL |\n|---|---|---|---|---|---|---|")
    d = json.load(open(out / set_name / "clean.dnsmos.json"))["mean"]
    print(f"| clean reference | – | – | – | – | {d['bak']:.2f} | {d['ovrl']:.2f} |")
    for sys_ in ["noisy", "rnnoise"] + [f"steps{s}" for s in steps]:
        m = json.load(open(out / set_name / f"{sys_}.json"))["variants"]["noisy"]["mean"]
        d = json.load(open(out / set_name / f"{sys_}.dnsmos.json"))["mean"]
        label = names.get(sys_, f"restoregrad, {sys_[5:]} step{'s' if sys_[5:] != '1' else ''}")
        print(f"| {label} | {m['pesq_wb']:.2f} | {m['stoi']:.3f} | {m['estoi']:.3f} | {m['si_sdr']:.1f} | {d['bak']:.2f} | {d['ovrl']:.2f} |")
PY
