#!/usr/bin/env bash
# bench/run.sh — builds stablenn (Release, build/), runs the benchmarks build/bench/bench_<x> and their
# PyTorch twins bench/bench_<x>.py, prints a table of times and ratios per benchmark, and merges the
# tables into OUT/bench_results.json, from which scripts/update_book.sh fills the book's
# <!-- table bench.<x> --> markers (book/A-references.md §A.8).
#
#   bench/run.sh [--quick] [--threads N] [--reps N] [--out DIR] [--no-twins] [--build DIR] [NAME ...]
#
# NAME: only these benchmarks (e.g. `bench/run.sh node train`); default all. Each side prints
# "BENCH <workload> <impl> <seconds>" (and "PEAKMEM <workload> <impl> <MiB>"). Our benchmarks run
# with OMP_NUM_THREADS=N (default 2). PyTorch runs with torch.set_num_threads(1) and (N), and the
# faster time per workload counts: on 2 cores one intra-op thread is often PyTorch's best setting,
# and we compare against its best. A ratio stablenn/reference below 1 means stablenn is faster.
# Every benchmark and twin runs --reps times (default 3; 1 with --quick): the tables give the
# median and the spread, since one run on a shared machine can be off by tens of percent.
# --no-twins runs our side only; --build DIR uses that build as it is (no setup, no build): the
# test book_bench does `--quick --no-twins --build build` to check the book's bench markers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=()
threads=2
reps=""
threads_default=(--threads-default)
out="$ROOT/out"
twins=1
build=""
names=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --threads) threads="${2:-}"; threads_default=(); shift ;;
    --reps) reps="${2:-}"; shift ;;
    --out) out="${2:-}"; shift ;;
    --no-twins) twins=0 ;;
    --build) build="${2:-}"; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done
if ! [[ "$threads" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/run.sh: --threads expects a positive integer, got '$threads'" >&2
  exit 2
fi
[[ -n "$reps" ]] || reps=$([[ ${#quick[@]} -gt 0 ]] && echo 1 || echo 3)
if ! [[ "$reps" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/run.sh: --reps expects a positive integer, got '$reps'" >&2
  exit 2
fi
[[ -n "$out" ]] || { echo "bench/run.sh: --out expects a folder" >&2; exit 2; }

if [[ -z "$build" ]]; then
  "$ROOT/scripts/setup.sh" --bench
  build="$ROOT/build"
fi
[[ -x "$build/bench/report" ]] || { echo "bench/run.sh: $build/bench/report is not built" >&2; exit 2; }
for name in "${names[@]}"; do
  [[ -x "$build/bench/bench_$name" ]] ||
    { echo "bench/run.sh: no benchmark '$name' ($build/bench/bench_$name is not built)" >&2; exit 2; }
done
mkdir -p "$out"
export OMP_NUM_THREADS="$threads"
PYTHON=/usr/bin/python3  # Debian's Python, the one python3-torch is installed for

load="$("$ROOT/bench/busy_cores.sh" || true)"  # cores busy with other programs, quoted under the tables
results="$(mktemp)"
work="$(mktemp -d)"  # bench_robust_eval writes its models and images here; its twin reads them
trap 'rm -f "$results"; rm -rf "$work"' EXIT
cd "$ROOT"
found=0
for exe in "$build"/bench/bench_*; do
  [[ -f "$exe" && -x "$exe" ]] || continue
  name="$(basename "$exe")"
  short="${name#bench_}"
  if [[ ${#names[@]} -gt 0 && " ${names[*]} " != *" $short "* ]]; then continue; fi
  found=1
  extra=()  # bench_robust_eval: C++ first, it writes the work folder; the twin evaluates the same
  if [[ "$name" == bench_robust_eval ]]; then  # models on the same images (the chapter's checkpoints
    extra=(--work "$work")                     # when out/ has them, else it trains its own)
    if [[ ${#quick[@]} -eq 0 && -f out/ch08_resnet_fmnist_30000_w256_e30_s0.safetensors &&
          -f out/ch08_nonexpansive_fmnist_30000_w256_e30_s0.safetensors ]]; then
      extra+=(--checkpoints out)
    fi
  fi
  twin="bench/$name.py"
  for ((rep = 1; rep <= reps; ++rep)); do
    echo "---- $name ${quick[*]} ${extra[*]} (OMP_NUM_THREADS=$threads; run $rep of $reps)" >&2
    # Lines for the report: "<bench> BENCH|PEAKMEM <workload> <impl> <value> <impl threads>".
    # (tee -a: without it, a stderr redirected to a file is truncated at every benchmark.)
    "$exe" "${quick[@]}" "${extra[@]}" | tee -a /dev/stderr |
      awk -v b="$short" '$1 == "BENCH" || $1 == "PEAKMEM" {print b, $1, $2, $3, $4, "-"}' >>"$results"
    [[ $twins -eq 1 && -f "$twin" ]] || continue
    for torch_threads in $(printf '%s\n' 1 "$threads" | sort -un); do
      echo "---- $twin --threads $torch_threads ${quick[*]} ${extra[*]:0:2} (run $rep of $reps)" >&2
      "$PYTHON" "$twin" --threads "$torch_threads" "${quick[@]}" "${extra[@]:0:2}" | tee -a /dev/stderr |
        awk -v b="$short" -v t="$torch_threads" \
          '$1 == "BENCH" || $1 == "PEAKMEM" {print b, $1, $2, $3, $4, ($3 == "pytorch" ? t : "-")}' >>"$results"
    done
  done
done
if [[ $found -eq 0 ]]; then
  echo "bench/run.sh: no benchmarks in $build/bench/" >&2
  exit 1
fi

# One table per benchmark, printed and merged into $out/bench_results.json (bench/report.cpp).
"$build/bench/report" --lines "$results" --threads "$threads" "${threads_default[@]}" "${quick[@]}" \
  --out "$out" ${load:+--load "$load"}
