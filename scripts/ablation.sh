#!/usr/bin/env bash
# Prior ablation in one command: train the standard, energy and learned priors with the same
# budget, data order and seed, export each run's best and last EMA weights, measure quality
# against sampling steps on the trainer's validation sets, and draw the plots and tables.
#
#   scripts/ablation.sh [DATA=../shared/data]
#   RECIPE=final scripts/ablation.sh [DATA]     the same comparison with the shipped model's recipe
#
# env: RECIPE=first|final, RUNS, OUT, MODELS (exported weights), STEPS=1,2,3,6, PRIORS,
#      EVAL_PER_SNR=10 (validation mixtures per SNR for the steps evaluation: 40 mixtures from the
#      validation pools; 4 gives exactly the runs' own 16-mixture validation set, on which the best
#      weights were selected), SKIP_TRAIN=1 (use the runs as they are), TRAIN_BIN and DEVICE (e.g.
#      a `--features tch` build and `tch`, docs/TCH.md; the final recipe's runs used them).
# A run whose log.csv already reaches the final step is not trained again; an unfinished one is
# resumed (same data order). Training uses one compute thread (RAYON_NUM_THREADS=1,
# OMP_NUM_THREADS=1) like the committed runs; evaluations run at nice 5.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
RECIPE=${RECIPE:-first}
STEPS=${STEPS:-1,2,3,6}
EVAL_PER_SNR=${EVAL_PER_SNR:-10}
DEVICE=${DEVICE:-cpu}
case "$RECIPE" in
  first)
    # The first ablation predates clean prediction, the speech-weighted and magnitude losses and
    # the held-out validation split: these flags keep reproducing it (noise prediction, plain
    # loss, validation on the test material).
    RUNS=${RUNS:-runs/ablation}; OUT=${OUT:-docs/ablation}; MODELS=${MODELS:-runs/ablation_models}
    PRIORS=${PRIORS:-standard energy learned}
    TRAIN_STEPS=1200
    VALIDATION=test
    TRAIN_FLAGS=(--batch 8 --val-every 100 --val-per-snr 4 --seed 7 --gamma 100 --fast-fraction 0.8 --fast-pool 3
      --predict noise --speech-weight 0) ;;
  final)
    # The shipped model's recipe (models/default/MODEL_CARD.md); only --prior differs.
    RUNS=${RUNS:-runs/ablation_final}; OUT=${OUT:-docs/ablation/final}; MODELS=${MODELS:-runs/ablation_final_models}
    PRIORS=${PRIORS:-standard learned}
    TRAIN_STEPS=9000
    VALIDATION=holdout
    TRAIN_FLAGS=(--batch 8 --val-every 500 --val-per-snr 4 --seed 7 --gamma 100 --fast-fraction 0.8 --fast-pool 3
      --predict clean --speech-weight 1 --mag-weight 1 --compress-beta 2 --lr 1e-3) ;;
  *) echo "RECIPE must be first or final" >&2; exit 2 ;;
esac
TRAIN_FLAGS+=(--steps "$TRAIN_STEPS" --validation "$VALIDATION" --device "$DEVICE")

cargo build --release -q
BIN=target/release/restoregrad
TRAIN_BIN=${TRAIN_BIN:-$BIN}
mkdir -p "$RUNS" "$OUT" "$MODELS"

# The last step any row of a log reached (0 without a log).
last_step() {
  [ -f "$1" ] || { echo 0; return; }
  awk -F, 'NR > 1 && $1 ~ /^[0-9]+$/ && $1 + 0 > m { m = $1 + 0 } END { print m + 0 }' "$1"
}

if [ -z "${SKIP_TRAIN:-}" ]; then
  for p in $PRIORS; do
    run="$RUNS/$p"
    done_steps=$(last_step "$run/log.csv")
    if [ "$done_steps" -ge "$TRAIN_STEPS" ]; then
      echo "== $p: log already at step $done_steps, not training"
      continue
    fi
    resume=()
    [ -d "$run/checkpoint" ] && resume=(--resume)
    echo "== training $p (from step $done_steps)"
    RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 "$TRAIN_BIN" train -q --data "$DATA" --out "$run" --prior "$p" "${TRAIN_FLAGS[@]}" "${resume[@]}"
  done
fi

for p in $PRIORS; do
  for which in best last; do
    model="$MODELS/${p}_$which"
    csv="$OUT/${p}_steps.csv"
    [ "$which" = last ] && csv="$OUT/${p}_steps_last.csv"
    echo "== $p ($which weights): export, eval at steps $STEPS"
    "$BIN" export -q --run "$RUNS/$p" --checkpoint "$which" --out "$model"
    nice -n 5 "$BIN" eval -q --model "$model" --data "$DATA" --val-per-snr "$EVAL_PER_SNR" --validation "$VALIDATION" --steps "$STEPS" --out "$csv"
  done
done

"$BIN" plot-ablation --runs "$RUNS" --out "$OUT" --names "$(echo $PRIORS | tr ' ' ',')"
