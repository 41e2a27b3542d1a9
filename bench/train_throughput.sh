#!/usr/bin/env bash
# Training throughput of wattlab's trainer (C++, LibTorch) against PyTorch from
# Python, on the same small CNN, images, batch size and threads, data already
# in memory on both sides. Runs interleaved (wattlab, pytorch, wattlab, ...)
# because single-thread speed here drifts ±30 % between runs; compare medians.
#
#   bench/train_throughput.sh [--build-dir build] [--images 10000] [--batch-size 64]
#                             [--threads 1] [--rounds 3]
#
# Needs: the train_bench target built (-DWATTLAB_WITH_TORCH=ON -DWATTLAB_BUILD_BENCH=ON),
# Debian's python3-torch (run through /usr/bin/python3), dataset-fashion-mnist.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="$here/../build"
images=10000
batch_size=64
threads=1
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "train_throughput.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_bin="$build_dir/bench/train_bench"
if [[ ! -x "$bench_bin" ]]; then
  echo "train_throughput.sh: $bench_bin not found — build it with \`ninja -C $build_dir train_bench\` or pass --build-dir" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "train_throughput.sh: /usr/bin/python3 cannot import torch — apt-get install python3-torch" >&2
  exit 1
fi

# Prints the value of the last "images_per_s=" line of a command's output.
images_per_s() {
  local out
  out="$("$@")" || { echo "train_throughput.sh: failed: $*" >&2; echo "$out" >&2; exit 1; }
  echo "$out" | sed -n 's/^images_per_s=//p' | tail -1
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "cnn, $images images, batch size $batch_size, $threads thread(s), $rounds rounds (A = wattlab, B = pytorch)"
a_all="" b_all="" ratio_all=""
for ((r = 1; r <= rounds; r++)); do
  a="$(images_per_s "$bench_bin" --model cnn --images "$images" --test-images 100 --batch-size "$batch_size" --threads "$threads")"
  b="$(images_per_s /usr/bin/python3 "$here/pytorch_cnn.py" --images "$images" --batch-size "$batch_size" --threads "$threads")"
  ratio="$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
  printf 'round %d: wattlab %8.1f images/s   pytorch %8.1f images/s   ratio %.3f\n' "$r" "$a" "$b" "$ratio"
  a_all="$a_all $a" b_all="$b_all $b" ratio_all="$ratio_all $ratio"
done
a_med="$(echo "$a_all" | median)"
b_med="$(echo "$b_all" | median)"
printf 'median:  wattlab %8.1f images/s   pytorch %8.1f images/s   ratio of medians %.3f\n' \
  "$a_med" "$b_med" "$(awk -v a="$a_med" -v b="$b_med" 'BEGIN {print a / b}')"
printf 'median of the per-round ratios wattlab/pytorch: %.3f\n' "$(echo "$ratio_all" | median)"
