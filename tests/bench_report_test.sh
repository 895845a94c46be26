#!/usr/bin/env bash
# tests/bench_report_test.sh REPORT — bench/report.cpp (chapter 3): a workload measured several
# times (bench/run.sh --reps) shows its median and spread, the ratio compares medians, and the
# table says it is a median.
set -euo pipefail
report="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cat >"$dir/lines" <<EOF
demo BENCH work stablenn 1.0 -
demo BENCH work stablenn 4.0 -
demo BENCH work stablenn 2.0 -
demo BENCH work pytorch 8.0 1
demo BENCH work pytorch 4.0 1
demo BENCH once stablenn 3.0 -
EOF
"$report" --lines "$dir/lines" --threads 2 --out "$dir" >"$dir/printed"
expect() {
  grep -qF -- "$1" "$2" || { echo "bench_report_test: expected '$1' in $2:"; cat "$2"; exit 1; }
}
# stablenn: median of 1, 2, 4 = 2, spread (4 - 1) / 2; PyTorch: median 6, spread 4 / 6; ratio 2 / 6
expect '| `work` | 2.00 s (150%) | 6.00 s (67%) | 0.33 |' "$dir/printed"
expect '| `once` | 3.00 s | – | – |' "$dir/printed"
expect 'each time the median of 3 runs' "$dir/bench_results.json"
echo "bench_report_test: ok"
