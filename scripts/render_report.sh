#!/usr/bin/env bash
# Render a run's HTML report in headless Chromium (Debian's package: apt-get install chromium) and save a
# screenshot, to check by eye that the page and its embedded figures render.
# Usage: scripts/render_report.sh RUN_DIR [OUT.png]
set -euo pipefail
run_dir=${1:?usage: scripts/render_report.sh RUN_DIR [OUT.png]}
out=${2:-$run_dir/report.png}
command -v chromium >/dev/null || { echo "chromium not found: apt-get install chromium" >&2; exit 2; }
[[ -f $run_dir/report.html ]] || nasprior report "$run_dir"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1000,3800 \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$run_dir/report.html")" 2>/dev/null
[[ -s $out ]] || { echo "no screenshot written" >&2; exit 1; }
echo "screenshot: $out ($(stat -c %s "$out") bytes)"
