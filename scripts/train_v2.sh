#!/usr/bin/env bash
# Trains model v2 from ../shared/data: the learned-prior model (runs/v2_learned) and, with the
# identical recipe and budget, its standard-prior control (runs/v2_standard). Resumable: run it
# again after an interruption and each run continues from its last checkpoint.
#
#   scripts/train_v2.sh [learned|standard|both]        (default: both, side by side)
#   scripts/train_v2.sh finetune                        (stage 2, after `standard`)
#   scripts/train_v2.sh shipped                         (the shipped model's last runs, 8 and 9)
#   STEPS=6000 scripts/train_v2.sh dualpath             (stage 3: `standard` plus a GRU across bands)
#   scripts/train_v2.sh grow                            (stage 4: the shipped model plus dual-path branches;
#                                                        GROW_RUNS="freq dual" picks them, THREADS each)
#   STEPS=6000 scripts/train_v2.sh freqpath             (stage 5: the frequency path on the shipped
#                                                        architecture, from scratch, beside its control)
#   scripts/train_v2.sh v1                              (runs 1-7 of the shipped model, from the data)
#   scripts/train_v2.sh all                             (v1, then shipped from its model: the whole chain)
#
# `v1` reproduces the standard-prior model of runs 1-7 (models/default/MODEL_CARD.md) from
# ../shared/data: seven runs in turn on the corpus they had (--without-extra: the train-extra
# folders came later), each continued from the previous run's last checkpoint, THREADS each
# (default 1: as the originals ran, and on one thread LibTorch repeats them exactly); run 7's last EMA is exported to runs/v1_model, the FROM of `all`'s runs 8 and 9.
# V1_NAME (default v1) names the runs (runs/V1_NAME_1 ..), V1_RUNS (default "1 2 3 4 5 6 7")
# picks them, and V1_EXTRA adds train flags to run 1 (e.g. --freq-hidden 32; later runs inherit
# the architecture).
#
# `shipped` reproduces the shipped model's last two runs (models/default/MODEL_CARD.md): run 8, the
# standard-prior model of runs 1-7 (FROM; default: taken from git history) continued 2,000 steps as a learned-prior run in
# runs/v3_learned, then run 9, that run's best continued with the magnitude term charging noise left
# in four times more than speech removed (--under-weight 0.25) in runs/v4_u25, whose best (the EMA
# at step 1,000) is the shipped model (copy its config.json and weights.bpk into models/default). Both on both cores.
#
# Stage 2 continues the standard run for FT_STEPS more optimiser steps at a lower learning rate,
# twice side by side with the identical recipe: as the learned-prior model (runs/v2_learned_ft:
# new Prior/Posterior Nets starting at Σ = I, half the items drawn with Σ_prior(y)) and as its
# standard-prior control (runs/v2_standard_ft). Why: trained from scratch, the learned run fell
# behind the control after 2,000 steps as its prior stopped matching its posterior
# (docs/training/v2.md).
#
# Environment:
#   DATA    the shared data folder (default ../shared/data)
#   DEVICE  cpu, tch (LibTorch on the CPU, docs/TCH.md) or cuda[:N] (default: tch if the binary
#           was built with it, else cpu)
#   BIN     the restoregrad binary (default: target-tch's if present, else target/release)
#   STEPS   optimiser steps of each run (default 12000)
#   FT_STEPS, FT_LR   stage 2's optimiser steps and peak learning rate (default 3000, 3e-4)
#   NICE    niceness of the runs (default 19: builds and tests keep the cores when they need them)
#   THREADS threads of each run of dualpath, grow and v1 (default 1)
#
# Each run uses one thread (OMP_NUM_THREADS=1, RAYON_NUM_THREADS=1) so that the two runs share a
# 2-core machine without spinning against each other (docs/TCH.md). Logs: runs/NAME/log.csv and
# runs/NAME/train.out; validation every 500 steps on held-out speakers, noise files and the
# real p287 pairs the run does not train on (--train-pairs 3).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-../shared/data}
STEPS=${STEPS:-12000}
NICE=${NICE:-19}
if [[ -z "${BIN:-}" ]]; then
  if [[ -x /work/target-tch/release/restoregrad ]]; then BIN=/work/target-tch/release/restoregrad; else BIN=target/release/restoregrad; fi
fi
if [[ -z "${DEVICE:-}" ]]; then
  if [[ "$BIN" == *target-tch* ]]; then DEVICE=tch; else DEVICE=cpu; fi
fi
if [[ "$DEVICE" == tch ]]; then
  TORCH_LIB=${TORCH_LIB:-/work/venv-torch/lib/python3.11/site-packages/torch/lib}
  export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# The v2 recipe: the shipped model's losses (clean prediction, γ = 100 with speech weighting,
# asymmetric magnitude term, ESTOI term), y context 3, a per-band GRU over time, SNRs -5..15 dB
# (real recordings sit at 0-5 dB), the real-pair mix chosen by docs/training/real_pairs.md, and
# 80% of items at the 3 noisiest sampling times.
common=(
  --data "$DATA" --device "$DEVICE" --seed 7 --batch 8 --segment-secs 1
  --predict clean --gamma 100 --speech-weight 1 --mag-weight 4 --under-weight 0.5
  --estoi-weight 4 --y-context 3 --snr-max 15
  --train-pairs 3 --pair-fraction 0.3 --pair-remix 0.75 --pair-cross 0.67
  --fast-fraction 0.8 --fast-pool 3 --val-every 500 --val-per-snr 10 --val-sampling-steps 1 --ckpt-every 100
)
# Stage 1's architecture and compression (stage 2 inherits them from its source run); stage 5 runs
# it without the per-band GRU, i.e. on the shipped architecture.
recipe_no_band=("${common[@]}" --compress-beta 2 --steps "$STEPS" --lr 1e-3)
recipe=("${recipe_no_band[@]}" --band-hidden 32)

# nice alone does not reach other sessions' processes under the kernel's autogroup scheduling;
# setting the group's niceness does (where the kernel allows it).
echo "$NICE" > /proc/self/autogroup 2>/dev/null || true

# One run, resumed where its checkpoint exists, else started from FROM's weights (a run or model
# folder; empty: from scratch): OUT PRIOR THREADS FROM TRAIN_FLAGS...
train_or_resume() {
  local out=$1 prior=$2 threads=$3 from=$4
  shift 4
  mkdir -p "$out"
  local start=()
  [[ -n "$from" ]] && start=(--init-from "$from")
  [[ -f "$out/checkpoint/state.json" ]] && start=(--resume)
  OMP_NUM_THREADS=$threads RAYON_NUM_THREADS=$threads nice -n "$NICE" "$BIN" -q train --out "$out" --prior "$prior" "${start[@]}" "$@" \
    >>"$out/train.out" 2>&1
}

train_run() {
  train_or_resume "runs/v2_$1" "$1" 1 "" "${recipe[@]}"
}

finetune_run() {
  local prior=$1
  local extra=()
  [[ "$prior" == learned ]] && extra=(--prior-draw-fraction 0.5)
  train_or_resume "runs/v2_$1_ft" "$prior" 1 runs/v2_standard \
    "${common[@]}" --steps "${FT_STEPS:-3000}" --lr "${FT_LR:-3e-4}" "${extra[@]}"
}

# Stage 3 (session 10): stage 1's standard run with the frequency path of dual-path designs added
# (a bidirectional GRU across the bottleneck bands within each frame, --freq-hidden 32): the same
# recipe, seed and budget, so runs/v2_standard is its control.
dualpath_run() {
  train_or_resume runs/v2_dualpath_standard standard "${THREADS:-1}" "" "${recipe[@]}" --freq-hidden 32
}

# Stage 5 (session 12): the frequency path on the shipped architecture (no per-band time GRU, which
# puts the dual-path model over the live budget), from scratch beside its control: stage 1's recipe
# without --band-hidden, with and without --freq-hidden 32, same seed, one thread each
# (runs/v8_standard, runs/v8_freq).
freqpath_run() {
  local name=$1
  shift
  train_or_resume "runs/v8_$name" standard 1 "" "${recipe_no_band[@]}" "$@"
}

# One learned-prior continuation of a model folder:
#   OUT FROM SEED UNDER_WEIGHT [POSTERIOR_START [LR [STEPS [EXTRA TRAIN FLAGS...]]]]
# (runs 8 and 9; run 9 predates --posterior-start and ran with a fresh Posterior Net).
continue_learned() {
  local out=$1 from=$2 seed=$3 under=$4 posterior=${5:-prior} lr=${6:-3e-4} steps=${7:-2000}
  shift $(( $# < 7 ? $# : 7 ))
  train_or_resume "$out" learned "${OMP_THREADS_EACH:-2}" "$from" \
    --data "$DATA" --device "$DEVICE" --seed "$seed" --batch 8 --segment-secs 1 --gamma 100 --speech-weight 1 \
    --mag-weight 4 --under-weight "$under" --estoi-weight 4 --train-pairs 6 --pair-fraction 0.3 --pair-remix 0.75 \
    --pair-cross 0.67 --fast-fraction 0.8 --fast-pool 3 --val-every 500 --val-per-snr 10 --val-sampling-steps 1 \
    --ckpt-every 100 --lr "$lr" --steps "$steps" --prior-draw-fraction 0.5 --posterior-start "$posterior" "$@"
}
shipped_run() {
  if [[ -z "${FROM:-}" ]]; then
    # The model of runs 1-7 as committed before run 8 replaced it (not runs/v1_model, which `v1`
    # exports).
    FROM=runs/v1_model_committed
    mkdir -p "$FROM"
    for f in config.json weights.bpk; do git show "8503b40:models/default/$f" > "$FROM/$f"; done
  fi
  # Run 8: the learned prior.
  continue_learned runs/v3_learned "$FROM" 43 0.5
  # Run 9: less noise left in (docs/eval/post_filter.md chose it against an under-weight 0.5 control).
  continue_learned runs/v4_u25 runs/v3_learned/best 47 0.25 fresh
}
# Stage 4 (session 12): the shipped model grown into the dual-path architecture. The branches
# start with zero output projections (train --init-from), so each run starts exactly at the
# shipped model; run 9's continuations of sessions 9-10 (v5_ctl_log.csv at 3e-4,
# v6_ctl_post_log.csv at 1e-4, same recipe without the branches) are the controls. Side by side on
# one thread each: the frequency path alone, and with the per-band time path too.
grow_run() {
  local from=${FROM:-models/default} steps=${GROW_STEPS:-2000} threads=${THREADS:-1}
  for branch in ${GROW_RUNS:-freq dual}; do
    case "$branch" in
      freq) OMP_THREADS_EACH=$threads continue_learned runs/v7_grow_freq "$from" 67 0.25 prior 3e-4 "$steps" --freq-hidden 32 & ;;
      dual) OMP_THREADS_EACH=$threads continue_learned runs/v7_grow_dual "$from" 67 0.25 prior 3e-4 "$steps" \
        --freq-hidden 32 --band-hidden 32 & ;;
      *) echo "GROW_RUNS: freq or dual, not $branch" >&2; exit 2 ;;
    esac
  done
  wait
}
# One run of the v1 chain: N SOURCE_N (empty for run 1) SEED STEPS LR TRAIN_FLAGS...
# Every loss weight is passed, since the flags' defaults are today's recipe, not run 1's.
v1_step() {
  local name=runs/${V1_NAME:-v1} from=
  [[ -n "$2" ]] && from=${name}_$2
  local out=${name}_$1 seed=$3 steps=$4 lr=$5
  shift 5
  train_or_resume "$out" standard "${THREADS:-1}" "$from" --data "$DATA" --device "$DEVICE" --without-extra \
    --seed "$seed" --steps "$steps" --lr "$lr" --batch 8 --segment-secs 1 --predict clean --gamma 100 --speech-weight 1 \
    --fast-fraction 0.8 --fast-pool 3 --val-every 500 --ckpt-every 100 "$@"
}
v1_run() {
  local val1=(--val-sampling-steps 2 --val-per-snr 4) val=(--val-sampling-steps 1 --val-per-snr 10)
  local sym=(--mag-weight 4 --under-weight 1) asym=(--mag-weight 4 --under-weight 0.5)
  for n in ${V1_RUNS:-1 2 3 4 5 6 7}; do
    case "$n" in
      # shellcheck disable=SC2086
      1) v1_step 1 "" 7 9000 1e-3 "${val1[@]}" --compress-beta 2 --hidden 128 --y-context 0 --mag-weight 1 \
           --under-weight 1 --estoi-weight 0 ${V1_EXTRA:-} ;;
      2) v1_step 2 1 13 3000 3e-4 "${val1[@]}" "${sym[@]}" --estoi-weight 0 ;;
      3) v1_step 3 2 17 3000 3e-4 "${val[@]}" "${sym[@]}" --estoi-weight 0 --y-context 3 ;;
      4) v1_step 4 3 19 3000 3e-4 "${val[@]}" "${sym[@]}" --estoi-weight 2 ;;
      5) v1_step 5 4 23 4000 3e-4 "${val[@]}" "${sym[@]}" --estoi-weight 4 ;;
      6) v1_step 6 5 31 3000 2e-4 "${val[@]}" "${asym[@]}" --estoi-weight 4 ;;
      7) v1_step 7 6 41 3000 2e-4 "${val[@]}" "${asym[@]}" --estoi-weight 4 --train-pairs 6 --pair-fraction 0.3 \
           --pair-remix 0.75 --pair-cross 0.67 ;;
      *) echo "V1_RUNS: 1-7, not $n" >&2; exit 2 ;;
    esac
  done
  if [[ -f "runs/${V1_NAME:-v1}_7/checkpoint/state.json" ]]; then
    "$BIN" -q export --run "runs/${V1_NAME:-v1}_7" --checkpoint last --out-dir "runs/${V1_NAME:-v1}_model"
  fi
}
case "${1:-both}" in
  shipped) shipped_run ;;
  v1) v1_run ;;
  all)
    v1_run
    FROM=runs/v1_model shipped_run
    ;;
  grow) grow_run ;;
  freqpath)
    freqpath_run standard &
    freqpath_run freq --freq-hidden 32 &
    wait
    ;;
  dualpath) dualpath_run ;;
  finetune)
    finetune_run learned &
    finetune_run standard &
    wait
    ;;
  learned) train_run learned ;;
  standard) train_run standard ;;
  both)
    train_run learned &
    train_run standard &
    wait
    ;;
  *) echo "usage: $0 [learned|standard|both|finetune|shipped|v1|all|dualpath|grow|freqpath]" >&2; exit 2 ;;
esac
