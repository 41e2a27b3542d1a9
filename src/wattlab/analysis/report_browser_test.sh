#!/usr/bin/env bash
# The study report opened in headless Chromium: every figure is in the DOM
# with the expected number of marks, and a screenshot and a printed PDF are
# kept under ARTIFACT_DIR for a person to look at.
#   report_browser_test.sh WATTLAB WRITE_DEMO_STUDY ARTIFACT_DIR
# Exits 77 (CTest SKIP_RETURN_CODE) when Chromium is not installed.
set -euo pipefail
wattlab=$1 write_demo_study=$2 artifacts=$3
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
  echo "SKIP: chromium is not installed (Debian: apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

"$write_demo_study" "$work/runs.db" 5 >/dev/null
"$wattlab" study report green-cv --out "$artifacts/report.html" --store "$work/runs.db"

browser() {
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-sync --disable-dev-shm-usage \
    --user-data-dir="$work/profile" "$@" 2>"$work/chromium.log"
}
browser --dump-dom "file://$artifacts/report.html" >"$work/dom.html"
browser --screenshot="$artifacts/report.png" --window-size=1100,4200 --hide-scrollbars "file://$artifacts/report.html"
browser --print-to-pdf="$artifacts/report.pdf" --no-pdf-header-footer "file://$artifacts/report.html"

failures=0
expect_count() {  # NAME PATTERN EXPECTED
  local got
  got=$(grep -o "$2" "$work/dom.html" | wc -l)
  if [[ "$got" -ne "$3" ]]; then
    echo "FAIL: $1: $got in the rendered DOM, expected $3"
    failures=$((failures + 1))
  else
    echo "ok: $1: $got"
  fi
}
# 3 models x 2 environments x 5 repetitions.
expect_count "figures (svg)" '<svg' 4
expect_count "boxes (one per configuration)" 'class="box"' 6
expect_count "run points (one per run)" 'class="run-point' 30
expect_count "interaction lines (one per model)" 'class="model-line"' 3
expect_count "interaction markers" 'class="cell-median"' 6
expect_count "Pareto points (two scatters)" 'class="pareto-point' 12
expect_count "Pareto fronts" 'class="pareto-front"' 2
expect_count "energy label" 'id="energy-kind"' 1
for artifact in report.png report.pdf; do
  size=$(stat -c %s "$artifacts/$artifact" 2>/dev/null || echo 0)
  if [[ "$size" -lt 20000 ]]; then
    echo "FAIL: $artifact is $size bytes; chromium said:"; cat "$work/chromium.log"
    failures=$((failures + 1))
  else
    echo "ok: $artifact ($size bytes) in $artifacts"
  fi
done
exit $((failures > 0))
