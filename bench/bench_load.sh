#!/usr/bin/env bash
# bench/bench_load.sh — chapter workloads on an idle machine and with one core kept busy by another
# program, as a browser or a compile does on a student's laptop (chapter 1, issue 14).
#
#   bench/bench_load.sh [--reps N] [--build DIR] [--out DIR] [--quick]
#
# Each workload runs with the default thread count (all cores, lowered under load) and with
# --threads 1, idle and beside `sh -c 'while :; do :; done'`; every time is the median of N runs
# (default 3) with the spread (max - min) / median. The last column is the target of the issue:
# busy default over busy 1 thread, at most 1.3. Chapter 8's attacks need its checkpoints: run
# `scripts/run_main.sh` once (they go to out/); without them that workload is skipped. The table
# goes into OUT/bench_results.json (default out/) as the book's <!-- table bench.load -->.
# --quick: one run each, the workloads with --smoke (the test book_bench; the times mean nothing).
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
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench_load.sh: --reps expects a positive integer" >&2; exit 2; }
bin="$build/notebooks_cpp"
[[ -x "$bin/ch07_lipschitz" ]] || { echo "$bin/ch07_lipschitz not built: run scripts/setup.sh" >&2; exit 2; }
[[ -x "$build/bench/report" ]] || { echo "$build/bench/report not built: run scripts/setup.sh" >&2; exit 2; }
load="$("$ROOT/bench/busy_cores.sh" || true)"  # cores busy with other programs, quoted under the tables
scratch="$(mktemp -d)"
busy_pid=""
cleanup() { [[ -n "$busy_pid" ]] && kill "$busy_pid" 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT

workloads=("ch07_lipschitz --cell 1 --out $scratch")
if [[ ${#quick[@]} -gt 0 ]]; then
  workloads=("ch07_lipschitz --cell 1 --smoke --out $scratch")
elif ls "$ROOT"/out/ch08_resnet_*.safetensors >/dev/null 2>&1; then
  # The checkpoints linked into a scratch folder: the partial runs must not overwrite out/'s results.
  mkdir -p "$scratch/ch08"
  ln -s "$ROOT"/out/ch08_*.safetensors* "$scratch/ch08/"
  workloads+=("ch08_robustness --cell 5 --attack-size 250 --out $scratch/ch08")
else
  echo "(no chapter 8 checkpoints in out/: skipping its attacks)"
fi

# median and spread of `reps` wall times of one command line
time_it() {
  local times=() t
  for ((i = 0; i < reps; ++i)); do
    /usr/bin/time -f "%e" -o "$scratch/time" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t=$(tail -1 "$scratch/time")
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.2f %.0f%%", m, (a[NR]-a[1])/m*100}'
}

printf '%-45s %-14s %-14s %-14s %-14s %s\n' workload "idle default" "idle 1 thr" "busy default" "busy 1 thr" "busy default/1 thr"
# The same rows as a Markdown table for the book: seconds, median (spread).
md="$scratch/table.md"
echo "| workload | idle default | idle 1 thread | busy default | busy 1 thread | busy default / 1 thread |" >"$md"
echo "|---|---|---|---|---|---|" >>"$md"
cell() { local t="${1%% *}" spread="${1##* }"; echo "$t s ($spread)"; }
for w in "${workloads[@]}"; do
  read -r -a cmd <<<"$w"
  cmd[0]="$bin/${cmd[0]}"
  idle_default=$(time_it "${cmd[@]}")
  idle_one=$(time_it "${cmd[@]}" --threads 1)
  sh -c 'while :; do :; done' &
  busy_pid=$!
  busy_default=$(time_it "${cmd[@]}")
  busy_one=$(time_it "${cmd[@]}" --threads 1)
  kill "$busy_pid"; wait "$busy_pid" 2>/dev/null || true; busy_pid=""
  ratio=$(awk -v a="${busy_default%% *}" -v b="${busy_one%% *}" 'BEGIN {printf "%.2f", a / b}')
  printf '%-45s %-14s %-14s %-14s %-14s %s\n' "${w%% --out*}" "$idle_default" "$idle_one" "$busy_default" "$busy_one" "$ratio"
  name="${w%% --out*}"
  echo "| ${name%% *} \`${name#* }\` | $(cell "$idle_default") | $(cell "$idle_one") | $(cell "$busy_default") | $(cell "$busy_one") | $ratio |" >>"$md"
done
echo "(times in seconds: median of $reps, and (max - min) / median)"
echo "" >>"$md"
echo "Times: the median of $reps runs, and in brackets the spread (max − min) / median." >>"$md"
threads="$(nproc 2>/dev/null || echo 2)"
"$build/bench/report" --table load --markdown "$md" --threads "$threads" --threads-default \
  "${quick[@]}" --out "$out" ${load:+--load "$load"}
