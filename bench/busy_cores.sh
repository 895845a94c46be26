#!/usr/bin/env bash
# bench/busy_cores.sh — how many cores other programs keep busy right now: a 2-second sample of
# /proc/stat, cores × (1 − idle share), printed with two decimals (e.g. "0.04" of 2 cores). The
# benchmark scripts quote it under their tables. Unlike the load average it does not remember the
# previous minute (a build that just ended), and it counts a running program, not a queue.
#   bench/busy_cores.sh [SECONDS]   (default 2); prints nothing where /proc/stat is missing
set -euo pipefail
seconds="${1:-2}"
[[ -r /proc/stat ]] || exit 0
sample() { awk '/^cpu /{ idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print idle, total }' /proc/stat; }
read -r idle0 total0 < <(sample)
sleep "$seconds"
read -r idle1 total1 < <(sample)
cores="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
awk -v i="$((idle1 - idle0))" -v t="$((total1 - total0))" -v c="$cores" \
  'BEGIN { if (t <= 0) exit; printf "%.2f\n", c * (1 - i / t) }'
