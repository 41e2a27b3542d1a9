#!/usr/bin/env bash
# The chess case study end to end, in a throw-away store: trains the square
# classifier (`wattlab chess train`, a tracked run), runs the experiment
# (`wattlab chess study`: three decoders x two difficulties x repetitions, one
# CPU thread), then `wattlab infer-bench` on that classifier and on a second
# model trained the same way, at two batch sizes. Prints the CPU, the study's
# table and the benchmark tables; the store is left in --out for
# `wattlab runs ls` / the statistics report.
#
#   bench/chess_study.sh [--build-dir build] [--out /tmp/chess-study] [--boards 2000] [--epochs 6]
#                        [--repetitions 5] [--games 6] [--plies 30] [--difficulties 0.2,1]
#                        [--second-model lenet5] [--duration 10s]
#
# About 15-25 minutes on 2 vCPUs. Needs build/wattlab built with -DWATTLAB_WITH_TORCH=ON
# and the fonts of fonts-dejavu-core and fonts-freefont-ttf.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="$here/../build"
out=/tmp/chess-study
boards=2000
epochs=6
repetitions=5
games=6
plies=30
difficulties=0.2,1
second_model=lenet5
duration=10s
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --boards) boards="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --repetitions) repetitions="$2"; shift 2 ;;
    --games) games="$2"; shift 2 ;;
    --plies) plies="$2"; shift 2 ;;
    --difficulties) difficulties="$2"; shift 2 ;;
    --second-model) second_model="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
wattlab="$build_dir/wattlab"
mkdir -p "$out"
export WATTLAB_STORE="$out/wattlab.db"

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(grep -o -w -m1 -e avx2 -e avx512f /proc/cpuinfo | sort -u | tr '\n' ' '))"
train() {  # model width -> run id
  "$wattlab" chess train --model "$1" --width-multiplier "$2" --boards "$boards" --epochs "$epochs" \
    --run-name "squares-$1" | tee /dev/stderr | sed -n 's/^run \([0-9a-f]*\) .*/\1/p'
}
cnn_run=$(train cnn 0.5)
other_run=$(train "$second_model" 1)
"$wattlab" chess study --run "$cnn_run" --difficulties "$difficulties" --repetitions "$repetitions" \
  --games "$games" --plies "$plies" --threads 1
for run in "$cnn_run" "$other_run"; do
  "$wattlab" infer-bench --run "$run" --batch-sizes 1,64 --threads 1 --duration "$duration" --warmup 2s
done
echo "store: $WATTLAB_STORE"
