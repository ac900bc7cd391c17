#!/usr/bin/env bash
# Held-out validation with DNSMOS, for choosing models and engine settings without the test sets:
#   scripts/validate.sh [DATA=../shared/data]   (env: MODELS="name=dir ..." POST_FILTERS="0 0.2" OUT=val)
# Set: 40 seeded mixtures (10 per SNR at 0/2/5/10 dB, weighted toward the 0-5 dB of real recordings) of
# the train material that training holds out (every 16th train speaker, every 8th train noise file;
# scripts/make_eval_mixtures.py --split holdout). Each model runs through `restoregrad enhance` at its
# default settings but for `--post-filter`, once per value in POST_FILTERS. Scores: PESQ-WB, ESTOI and
# SI-SDR (scripts/reference_metrics.py) and DNSMOS SIG/BAK/OVRL (scripts/dnsmos.py), one row per
# system in OUT/validation.md. docs/eval/post_filter.md records the runs that chose the shipped model
# and its post-filter.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
MODELS=${MODELS:-default=models/default}
POST_FILTERS=${POST_FILTERS:-0 0.2}
OUT=${OUT:-val}
source scripts/lib/scoring.sh
scoring_packages
cargo build --release -q
BIN=target/release/restoregrad

rm -rf "$OUT"
python3 scripts/make_eval_mixtures.py --data "$DATA" --out "$OUT" --split holdout --snrs 0,2,5,10 --per-snr 10
systems="noisy"
for spec in $MODELS; do
  name=${spec%%=*} dir=${spec#*=}
  for p in $POST_FILTERS; do
    "$BIN" enhance -q --float --model "$dir" --post-filter "$p" "$OUT"/noisy/*.wav --out-dir "$OUT/${name}_pf$p"
    systems="$systems ${name}_pf$p"
  done
done
for sys in $systems; do
  score_intrusive "$OUT/clean" "$OUT/$sys"
  score_dnsmos "$OUT/$sys"
done
python3 - "$OUT" $systems <<'PY' | tee "$OUT/validation.md"
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| system | PESQ-WB | ESTOI | SI-SDR dB | DNSMOS SIG | DNSMOS BAK | DNSMOS OVRL |\n|---|---|---|---|---|---|---|")
for s in sys.argv[2:]:
    m = json.load(open(out / f"{s}.json"))["variants"]["noisy"]["mean"]
    d = json.load(open(out / f"{s}.dnsmos.json"))["mean"]
    print(f"| {s} | {m['pesq_wb']:.3f} | {m['estoi']:.3f} | {m['si_sdr']:.2f} | {d['sig']:.3f} | {d['bak']:.3f} | {d['ovrl']:.3f} |")
PY
