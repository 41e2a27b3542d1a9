#!/usr/bin/env bash
# Installs every Debian package wattlab needs (apt-get update first; idempotent
# and quick when everything is already there), then configures and builds
# wattlab into build/. Works on a fresh Debian 12 machine as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev python3-torch          # LibTorch for train/, the same build for the PyTorch bench
  libsqlite3-dev sqlite3 nlohmann-json3-dev libcli11-dev zlib1g-dev
  libboost-dev                        # Boost.Asio/Beast (header-only): the tracking server's HTTP
  clang libclang-rt-14-dev            # libFuzzer targets of fuzz/ (scripts/fuzz.sh)
  libyaml-cpp-dev                     # train --config f.yaml
  libpq-dev postgresql                # PostgreSQL store (libpq), and the server its tests start
  slurm-wlm munge                     # study run --executor slurm, and the one-node cluster its test starts
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus                          # promtool checks the server's /metrics in the tests
  libstb-dev                          # stb_image: PNG/JPEG image folders in train/
  dataset-fashion-mnist               # /usr/share/datasets/fashion-mnist
  fonts-dejavu-core fonts-freefont-ttf  # chess glyphs (U+2654-U+265F) for chess/render
  chromium                            # the web UI's browser tests (ui/e2e), analysis_report_browser_test (the study report)
  libeigen3-dev                       # analysis/: PRE's kernel ridge regression, the two-way ANOVA's least squares
  libboost-math-dev                   # analysis/: distributions and special functions (Boost.Math)
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
echo "==> installing Debian packages (${#PACKAGES[@]})"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null

# The web UI (ui/) is built by the CMake build below with npm (Node.js 20+,
# not from Debian): `npm ci` once, then Vite; without npm it serves a placeholder.
if ! command -v npm >/dev/null; then
  echo "==> npm not found: wattlab will serve a placeholder page instead of the web UI (install Node.js 20+ with npm)"
fi

# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
echo "==> building wattlab into build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DWATTLAB_WITH_TORCH=ON >/dev/null
ninja -C build
echo "==> built build/wattlab ($(build/wattlab --version))"
