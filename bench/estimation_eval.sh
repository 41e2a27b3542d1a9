#!/usr/bin/env bash
# STEP, PRE and the TDP baselines evaluated on runs this script makes itself:
# `wattlab train` on Fashion-MNIST subsets for every model x thread count x
# repetition (repetition-major, so that drift of a shared machine spreads over
# all configurations), into a fresh store; then estimation_eval prints MAPE and
# RMSE per method (see bench/estimation_eval.cpp).
#
#   bench/estimation_eval.sh [--build-dir build] [--out DIR] [--models "cnn lenet5 resnet18"]
#                            [--width 0.25] [--threads "1 2"] [--reps 3] [--epochs 6]
#                            [--subset 2000] [--test-subset 1000] [--device cpu]
#
# --width applies to every model but cnn and lenet5 (whose width is fixed).
# Needs: build/wattlab and build/bench/estimation_eval (-DWATTLAB_WITH_TORCH=ON
# -DWATTLAB_BUILD_BENCH=ON), dataset-fashion-mnist.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="$here/../build"
out=""
models="cnn lenet5 resnet18"
width=0.25
threads="1 2"
reps=3
epochs=6
subset=2000
test_subset=1000
device=cpu
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --width) width="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --subset) subset="$2"; shift 2 ;;
    --test-subset) test_subset="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
wattlab="$build_dir/wattlab"
eval_bin="$build_dir/bench/estimation_eval"
for f in "$wattlab" "$eval_bin"; do
  [[ -x $f ]] || { echo "missing $f: build with -DWATTLAB_WITH_TORCH=ON -DWATTLAB_BUILD_BENCH=ON" >&2; exit 1; }
done
[[ -n $out ]] || out="$(mktemp -d)"
mkdir -p "$out"
store="$out/estimation.db"
rm -f "$store" "$store"-wal "$store"-shm

lscpu | grep -E "^Model name|^CPU\(s\)" || true
started=$(date +%s)
for rep in $(seq 1 "$reps"); do
  for model in $models; do
    for t in $threads; do
      w=1; [[ $model == cnn || $model == lenet5 ]] || w=$width
      "$wattlab" --store "$store" train --experiment estimation-eval --model "$model" --width-multiplier "$w" \
        --threads "$t" --device "$device" --subset "$subset" --test-subset "$test_subset" --epochs "$epochs" \
        --seed "$rep" --run-name "$model-t$t-r$rep" --quiet
    done
  done
done
echo "made $((reps * $(wc -w <<<"$models") * $(wc -w <<<"$threads"))) runs in $(( $(date +%s) - started )) s; store: $store"
"$eval_bin" --store "$store" --experiment estimation-eval
