#!/usr/bin/env bash
# Checks wattlab's NVML metering on a machine with an NVIDIA GPU: `wattlab
# devices`, then bench/gpu_training.py metered twice, once by the GPU's energy
# counter and once by its integrated power (--gpu-integrate-power), each phase
# also metered by the script itself through pynvml. Writes the runs to
# $OUT_DIR/gpu.db and prints every figure. Usage: bench/gpu_check.sh WATTLAB OUT_DIR
set -uo pipefail
wattlab=${1:?usage: gpu_check.sh WATTLAB OUT_DIR} out=${2:?usage: gpu_check.sh WATTLAB OUT_DIR}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,power.draw,power.limit --format=csv
"$wattlab" devices
for mode in counter power; do
  flag=(); [[ $mode == power ]] && flag=(--gpu-integrate-power)
  echo "== measure ($mode)"
  "$wattlab" --store "$out/gpu.db" measure --experiment gpu-check --run-name "resnet50-$mode" "${flag[@]}" \
    --format json -- python3 "$(dirname "$0")/gpu_training.py" --seconds "${SECONDS_TRAIN:-20}" \
    >"$out/measure-$mode.json"
  echo "exit $?"; cat "$out/measure-$mode.json"
done
"$wattlab" --store "$out/gpu.db" runs ls --experiment gpu-check
ids=$("$wattlab" --store "$out/gpu.db" runs ls --experiment gpu-check --format json |
  python3 -c 'import json, sys; print(" ".join(r["run_id"] for r in json.load(sys.stdin)))')
for id in $ids; do
  "$wattlab" --store "$out/gpu.db" runs show "$id" --format json
done
