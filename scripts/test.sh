#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs every test: the full build's suite,
# the non-torch code again under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the fuzz targets for a bounded time (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> tests (build/), with a throw-away PostgreSQL server for the store tests"
scripts/with_postgres.sh ctest --test-dir build --output-on-failure -j2 --timeout 600

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
echo "==> tests under ASan/UBSan, without LibTorch (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWATTLAB_WITH_TORCH=OFF \
  -DWATTLAB_SANITIZE=ON -DWATTLAB_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  scripts/with_postgres.sh ctest --test-dir build-asan --output-on-failure -j2 --timeout 600

bash scripts/fuzz.sh
