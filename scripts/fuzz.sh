#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) into
# build-fuzz/ and runs each for WATTLAB_FUZZ_SECONDS seconds (default 15)
# from its committed corpus; a crash or a broken property fails the run and
# leaves the input that did it (crash-*) in the working folder.
#   scripts/fuzz.sh            build and run (CI: scripts/test.sh calls this)
#   scripts/fuzz.sh --merge    also fold what the run found into fuzz/corpus/
#                              (minimised; commit the result)
# Needs clang and libclang-rt-14-dev (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${WATTLAB_FUZZ_SECONDS:-15}"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

echo "==> fuzz targets (build-fuzz/, clang with libFuzzer, ASan, UBSan), ${SECONDS_EACH} s each"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DWATTLAB_FUZZ=ON -DWATTLAB_WITH_TORCH=OFF -DWATTLAB_BUILD_TESTS=OFF -DWATTLAB_BUILD_BENCH=OFF \
  -DWATTLAB_FUZZ_SECONDS="$SECONDS_EACH" >/dev/null
ninja -C build-fuzz fuzz_filter fuzz_log_batch_reader fuzz_rest_api
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  ctest --test-dir build-fuzz --output-on-failure -j2

if [[ "${1:-}" == "--merge" ]]; then
  for target in filter log_batch_reader rest_api; do
    build-fuzz/fuzz/fuzz_$target -merge=1 fuzz/corpus/$target build-fuzz/fuzz/found/$target >/dev/null 2>&1
    echo "fuzz/corpus/$target: $(ls fuzz/corpus/$target | wc -l) inputs"
  done
fi
