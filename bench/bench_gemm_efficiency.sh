#!/usr/bin/env bash
# bench/bench_gemm_efficiency.sh — how close chapter 8's toy example comes to the sgemm limit (chapter 8,
# issue 14). Almost all of its arithmetic is GEMM, so its GEMM work over its time, against the GFLOP/s
# OpenBLAS reaches alone at the same shapes and at n = 1024, says how much the rest (the element-wise
# ops, the optimiser, the threads' waits) costs.
#
#   bench/bench_gemm_efficiency.sh [--reps N] [--build DIR] [--out DIR] [--quick]
#
# Runs build/bench/bench_robustness N times (default 3; its "# part: X GFLOP in GEMM" lines count
# the GEMM work of each part, and its BENCH lines time it), each time after build/bench/bench_matmul
# (its "GFLOPS" lines: sgemm alone at each shape, C zeroed and beta = 1 as stablenn calls it). Each
# row gives the median time and its spread (max - min) / median; a peak is the highest of the N
# measurements, since other programs' load only ever lowers it (one measurement on the shared
# 2-core machine once gave 158 GFLOP/s at n = 1024, against 189 an hour before). Training
# multiplies batches of 128 rows, the attacks batches of 250: those are the shapes each part is
# compared with. The table goes into OUT/bench_results.json (default out/) as the book's
# <!-- table bench.gemm_efficiency -->.
# --quick: one run each, with --quick (the test book_bench; the numbers mean nothing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reps=3
build="$ROOT/build"
out="$ROOT/out"
quick=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="${2:-}"; shift 2 ;;
    --build) build="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --quick) quick=(--quick); reps=1; shift ;;
    *) echo "usage: $0 [--reps N] [--build DIR] [--out DIR] [--quick]" >&2; exit 2 ;;
  esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench_gemm_efficiency.sh: --reps expects a positive integer" >&2; exit 2; }
for exe in bench_matmul bench_robustness report; do
  [[ -x "$build/bench/$exe" ]] || { echo "$build/bench/$exe not built: run scripts/setup.sh --bench" >&2; exit 2; }
done
threads_default=(--threads-default)  # the programs' own choice (all cores), unless OMP_NUM_THREADS says
[[ -n "${OMP_NUM_THREADS:-}" ]] && threads_default=()
threads="${OMP_NUM_THREADS:-$(nproc 2>/dev/null || echo 2)}"
load="$("$ROOT/bench/busy_cores.sh" || true)"  # cores busy with other programs, quoted under the table
mkdir -p "$out"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for ((rep = 1; rep <= reps; ++rep)); do
  echo "---- bench_matmul ${quick[*]} ($threads threads; run $rep of $reps)"
  "$build/bench/bench_matmul" "${quick[@]}" | tee -a "$scratch/matmul" | grep '^GFLOPS'
  echo "---- bench_robustness ${quick[*]} (run $rep of $reps)"
  "$build/bench/bench_robustness" "${quick[@]}" | tee "$scratch/robustness.$rep"
done

# One row per part. The GEMM work is the last run's: the runs agree on it unless one lowered its thread
# count under load (then it trained a slightly different network, whose attacks stop elsewhere).
md="$scratch/table.md"
cat "$scratch"/robustness.* | awk -v threads="$threads" -v matmul="$scratch/matmul" '
  BEGIN {  # the peaks: the highest "zeroed, beta 1" column of bench_matmul, GFLOP/s
    while ((getline line < matmul) > 0) {
      split(line, f, " ")
      if (f[1] == "GFLOPS" && f[4] + 0 > peak[f[2]] + 0) peak[f[2]] = f[4]
    }
    if (!("128x256x256" in peak) || !("250x256x256" in peak) || !("1024x1024x1024" in peak)) {
      print "bench_gemm_efficiency.sh: bench_matmul printed no peak for 128x256x256, 250x256x256 or n = 1024" > "/dev/stderr"
      exit 1
    }
  }
  $1 == "BENCH" { sub(/^robustness_/, "", $2); t[$2] = t[$2] " " $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  $1 == "#" && $4 == "GFLOP" && $6 == "GEMM," { part = $2; sub(/:$/, "", part); gflop[part] = $3 }
  END {
    if (n == 0) exit 1
    print "| part | GEMM work | time | GFLOP/s | peak at its shape | share of it | share of the n = 1024 peak |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; ++i) {
      p = order[i]
      k = split(substr(t[p], 2), v, " ")
      for (a = 1; a <= k; ++a) for (b = a + 1; b <= k; ++b) if (v[b] < v[a]) { x = v[a]; v[a] = v[b]; v[b] = x }
      med = v[int((k + 1) / 2)]
      rate = gflop[p] / med
      shape = p ~ /^train/ ? "128x256x256" : p ~ /^attack/ ? "250x256x256" : ""
      at_shape = shape == "" ? "–" : sprintf("%.0f GFLOP/s (%s)", peak[shape], shape)
      share = shape == "" ? "–" : sprintf("%.0f %%", 100 * rate / peak[shape])
      spread = k > 1 ? sprintf(" (%.0f%%)", 100 * (v[k] - v[1]) / med) : ""
      printf "| %s | %.0f GFLOP | %.1f s%s | %.1f | %s | %s | %.0f %% |\n", p, gflop[p], med, spread, rate,
             at_shape, share, 100 * rate / peak["1024x1024x1024"]
    }
    if (k > 1) printf "\nTimes: the median of %d runs of bench_robustness, and in brackets the spread (max − min) / median. ", k
    else printf "\nTimes: one run of bench_robustness. "
    printf "Peaks: bench_matmul before each run, sgemm alone with C zeroed and beta = 1, on %s threads, %s; at n = 1024 %.0f GFLOP/s, ", threads, (k > 1 ? "the highest of " k " measurements" : "one measurement"), peak["1024x1024x1024"]
    printf "at which the whole GEMM work would take %.0f s.\n", gflop["total"] / peak["1024x1024x1024"]
  }' >"$md"
"$build/bench/report" --table gemm_efficiency --markdown "$md" --threads "$threads" "${threads_default[@]}" \
  "${quick[@]}" --out "$out" ${load:+--load "$load"}
