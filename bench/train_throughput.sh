#!/usr/bin/env bash
# Training throughput of wattlab's trainer (C++, LibTorch) against PyTorch from
# Python (pytorch_train.py, models mirrored in pytorch_models.py), on the same
# models, images, batch size and threads, data already in memory on both sides:
# the small CNN, MobileNetV2 and ResNet-18 on Fashion-MNIST at 28x28 and resized
# to 32x32. Both sides make each batch (gather, uint8 -> float, normalisation)
# on the training thread inside the timed loop (train_bench --prefetch 0).
# Each run trains --warmup-epochs untimed epochs first (default 1), then one
# timed epoch of the same images: a process's first batches pay for first
# allocations and oneDNN's code generation on both sides (for ResNet-18 about
# 2.5 steady batches' time each, on either side), which a real epoch of
# ~1,000 batches hardly sees; --warmup-epochs 0 times them as before.
# Runs interleaved (wattlab, pytorch, baseline; then the reverse order) because
# single-thread speed here drifts ±30 % between runs; reports the median of the
# per-round ratios, of wall-clock images/s and of images per CPU second of the
# training thread (steadier when the machine is shared). Checks that both
# sides built models of the same size.
#
# wattlab chooses its kernels by measurement (--kernels auto): before the
# timed rounds, one untimed run per model and size measures them into a
# kernel cache of the benchmark's own (a fresh folder, so the measurement
# always happens and its cost is printed), which the timed rounds then read,
# as a user's second run reads ~/.cache/wattlab. The implementation each layer
# used is printed per model and size.
#
#   bench/train_throughput.sh [--build-dir build] [--models "cnn mobilenet_v2 resnet18"]
#                             [--sizes "28 32"] [--images N] [--batch-size 64] [--threads 1]
#                             [--rounds 3] [--kernels auto|libtorch|wattlab] [--baseline-bench PATH]
#                             [--pytorch-env "VAR=value ..."] [--warmup-epochs 1]
#
# The trainer makes glibc keep freed memory for reuse (zoo::reuse_freed_memory); PyTorch runs with
# glibc's defaults, under which a VM can spend much of a convolution faulting pages in. --pytorch-env
# "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824" gives PyTorch the same setting.
#
# --images (per epoch) defaults per model (cnn 1024, others 256: about 10-60 s a run on one busy
# thread). --baseline-bench adds a third contender (another build's train_bench, e.g. before a
# change), run with that build's own defaults: one epoch, timed whole (before this script passed
# --prefetch 0, batches were made on a worker thread that the figures leave out).
#
# Needs: the train_bench target built (-DWATTLAB_WITH_TORCH=ON -DWATTLAB_BUILD_BENCH=ON),
# Debian's python3-torch (run through /usr/bin/python3), dataset-fashion-mnist.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="$here/../build"
models="cnn mobilenet_v2 resnet18"
sizes="28 32"
images=""
batch_size=64
threads=1
rounds=3
kernels=auto
baseline=""
pytorch_env=""
warmup_epochs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --kernels) kernels="$2"; shift 2 ;;
    --baseline-bench) baseline="$2"; shift 2 ;;
    --pytorch-env) pytorch_env="$2"; shift 2 ;;
    --warmup-epochs) warmup_epochs="$2"; shift 2 ;;
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

# wattlab's kernel choices for these runs: measured by the untimed run, read by the timed ones.
kernel_cache="$(mktemp -d)"
trap 'rm -rf "$kernel_cache"' EXIT

# Runs a command; sets $out, $ips, $cpu_ips, $params and $macs from its output.
run_one() {
  out="$("$@")" || { echo "train_throughput.sh: failed: $*" >&2; echo "$out" >&2; exit 1; }
  params="$(echo "$out" | sed -n 's/^parameters=//p' | tail -1)"
  macs="$(echo "$out" | sed -n 's/^macs_per_image=//p' | tail -1)"
  ips="$(echo "$out" | sed -n 's/^images_per_s=//p' | tail -1)"
  cpu_ips="$(echo "$out" | sed -n 's/^images_per_cpu_s=//p' | tail -1)"
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# The CPU beside the figures: which implementation is faster depends on it.
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p'), $(nproc) CPU(s), L2 $(lscpu | sed -n 's/^L2 cache: *//p'), AVX2 $([[ "$cpu_flags" == *" avx2"* ]] && echo yes || echo no), AVX-512 $([[ "$cpu_flags" == *" avx512f"* ]] && echo yes || echo no)"
echo "batch size $batch_size, $threads thread(s), $rounds rounds, $warmup_epochs untimed warm-up epoch(s) per run (A = wattlab --kernels $kernels, B = pytorch${pytorch_env:+ with $pytorch_env}${baseline:+, C = baseline}); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# One contender's run for $model at $size; each sets its figures ($a..., $b..., $c...).
run_wattlab() {
  run_one env XDG_CACHE_HOME="$kernel_cache" "$bench_bin" --model "$model" --resize "$resize" --images "$n" \
    --test-images 100 --batch-size "$batch_size" --threads "$threads" --kernels "$kernels" --prefetch 0 \
    --epochs $((warmup_epochs + 1)) --warmup-epochs "$warmup_epochs"
  a="$ips" a_cpu="$cpu_ips" a_params="$params" a_macs="$macs"
}
run_pytorch() {
  # shellcheck disable=SC2086  # the VAR=value words split on purpose
  run_one env $pytorch_env /usr/bin/python3 "$here/pytorch_train.py" --model "$model" --resize "$resize" --images "$n" \
    --batch-size "$batch_size" --threads "$threads" --epochs $((warmup_epochs + 1)) --warmup-epochs "$warmup_epochs"
  b="$ips" b_cpu="$cpu_ips" b_params="$params"
}
run_baseline() {
  [[ -z "$baseline" ]] && return
  run_one "$baseline" --model "$model" --resize "$resize" --images "$n" --test-images 100 \
    --batch-size "$batch_size" --threads "$threads"
  c="$ips" c_cpu="$cpu_ips"
}
summary=""
for model in $models; do
  for size in $sizes; do
    n="$images"
    [[ -z "$n" ]] && { [[ "$model" == cnn ]] && n=1024 || n=256; }
    resize=0; [[ "$size" != 28 ]] && resize="$size"
    a_all="" b_all="" c_all="" ratio_all="" cratio_all="" cpu_ratio_all="" cpu_cratio_all="" a_cpu_all=""
    # Untimed: measures the kernels (into the cache the timed runs read) and shows what each layer runs.
    run_wattlab
    echo "$model $size: measuring the kernels took $(echo "$out" | sed -n 's/^kernel_measure_s=//p') s; each layer's:"
    echo "$out" | sed -n '/^kernels (/,/^kernel_measure_s=/p' | sed '1d;$d' | sed 's/^/    /'
    for ((r = 1; r <= rounds; r++)); do
      # Odd rounds run wattlab first, even rounds last: runs here favour a
      # position in the sequence, and alternating cancels that in the medians.
      if ((r % 2)); then run_wattlab; run_pytorch; run_baseline; else run_baseline; run_pytorch; run_wattlab; fi
      if [[ "$b_params" != "$a_params" ]]; then
        echo "train_throughput.sh: $model at $size: wattlab has $a_params parameters, pytorch $b_params — not the same model" >&2
        exit 1
      fi
      ratio="$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
      cpu_ratio="$(awk -v a="$a_cpu" -v b="$b_cpu" 'BEGIN {print a / b}')"
      line="$(printf '%s %s round %d: wattlab %7.1f  pytorch %7.1f images/s  ratio %.3f | per CPU s: %7.1f %7.1f ratio %.3f' \
        "$model" "$size" "$r" "$a" "$b" "$ratio" "$a_cpu" "$b_cpu" "$cpu_ratio")"
      if [[ -n "$baseline" ]]; then
        c_all="$c_all $c" cratio_all="$cratio_all $(awk -v c="$c" -v b="$b" 'BEGIN {print c / b}')"
        cpu_cratio_all="$cpu_cratio_all $(awk -v c="$c_cpu" -v b="$b_cpu" 'BEGIN {print c / b}')"
        line="$line$(printf ' | baseline %7.1f images/s, %7.1f per CPU s' "$c" "$c_cpu")"
      fi
      echo "$line"
      a_all="$a_all $a" b_all="$b_all $b" ratio_all="$ratio_all $ratio"
      a_cpu_all="$a_cpu_all $a_cpu" cpu_ratio_all="$cpu_ratio_all $cpu_ratio"
    done
    a_med="$(echo "$a_all" | median)"
    a_cpu_med="$(echo "$a_cpu_all" | median)"
    # Training FLOP per image ≈ 3 x forward MACs x 2 (forward, and backward's two products),
    # per CPU second of the training thread.
    gflops="$(awk -v ips="$a_cpu_med" -v m="$a_macs" 'BEGIN {printf "%.1f", ips * 6 * m / 1e9}')"
    row="$(printf '%-12s %2s params %8s MACs/img %9s | wattlab %6.1f pytorch %6.1f images/s, median ratio %.3f | per CPU s %6.1f, median ratio %.3f, %s GFLOP/CPU-s' \
      "$model" "$size" "$a_params" "$a_macs" "$a_med" "$(echo "$b_all" | median)" "$(echo "$ratio_all" | median)" \
      "$a_cpu_med" "$(echo "$cpu_ratio_all" | median)" "$gflops")"
    [[ -n "$baseline" ]] && row="$row$(printf ' | baseline/pytorch %.3f, per CPU s %.3f' "$(echo "$cratio_all" | median)" "$(echo "$cpu_cratio_all" | median)")"
    summary="$summary$row"$'\n'
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s' "$summary"
