#!/usr/bin/env bash
# bench/run.sh — builds stablenn (Release, build/), runs every benchmark build/bench/bench_<x> and its
# PyTorch twin bench/bench_<x>.py, and prints a table of times and ratios (book/A-references.md §A.8).
#
#   bench/run.sh [--quick] [--threads N]      (default: 2 threads)
#
# Each side prints "BENCH <workload> <impl> <seconds>". Our benchmarks run with OMP_NUM_THREADS=N.
# PyTorch runs twice, with torch.set_num_threads(1) and (N), and the faster time per workload is kept:
# on 2 cores one intra-op thread is often PyTorch's best setting, and we compare against its best.
# A ratio stablenn/reference below 1 means stablenn is faster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=()
threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --threads) threads="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$threads" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/run.sh: --threads expects a positive integer, got '$threads'" >&2
  exit 2
fi

"$ROOT/scripts/setup.sh" --bench
export OMP_NUM_THREADS="$threads"
PYTHON=/usr/bin/python3  # Debian's Python, the one python3-torch is installed for

results="$(mktemp)"
work="$(mktemp -d)"  # bench_robust_eval writes its models and images here; its twin reads them
trap 'rm -f "$results"; rm -rf "$work"' EXIT
cd "$ROOT"
found=0
for exe in build/bench/bench_*; do
  [[ -f "$exe" && -x "$exe" ]] || continue
  name="$(basename "$exe")"
  found=1
  extra=()  # bench_robust_eval: C++ first, it writes the work folder; the twin evaluates the same
  if [[ "$name" == bench_robust_eval ]]; then  # models on the same images (the chapter's checkpoints
    extra=(--work "$work")                     # when out/ has them, else it trains its own)
    if [[ ${#quick[@]} -eq 0 && -f out/ch08_resnet_fmnist_30000_w256_e30_s0.safetensors &&
          -f out/ch08_nonexpansive_fmnist_30000_w256_e30_s0.safetensors ]]; then
      extra+=(--checkpoints out)
    fi
  fi
  echo "---- $name ${quick[*]} ${extra[*]} (OMP_NUM_THREADS=$threads)" >&2
  "$exe" "${quick[@]}" "${extra[@]}" | tee /dev/stderr | grep '^BENCH ' | awk '{print $2, $3, $4, ""}' >>"$results"
  extra=("${extra[@]:0:2}")  # the twin takes --work only
  twin="bench/$name.py"
  if [[ -f "$twin" ]]; then
    for torch_threads in $(printf '%s\n' 1 "$threads" | sort -un); do
      echo "---- $twin --threads $torch_threads ${quick[*]} ${extra[*]}" >&2
      "$PYTHON" "$twin" --threads "$torch_threads" "${quick[@]}" "${extra[@]}" | tee /dev/stderr | grep '^BENCH ' |
        awk -v t="$torch_threads" '{print $2, $3, $4, t}' >>"$results"
    done
  fi
done
if [[ $found -eq 0 ]]; then
  echo "bench/run.sh: no benchmarks in build/bench/" >&2
  exit 1
fi

# Table: one row per (workload, reference implementation); the fastest run of each kept.
echo ""
echo "stablenn benchmarks, $threads thread(s)${quick:+ (quick run)}"
awk '
  { key = $1 SUBSEP $2
    if (!(key in best) || $3 < best[key]) { best[key] = $3; threads_of[key] = $4 }
    if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1; if (length($1) > width) width = length($1) }
    if ($2 != "stablenn" && !(key in listed)) { listed[key] = 1; refs[$1] = refs[$1] " " $2 } }
  END {
    if (width < 8) width = 8
    dashes = sprintf("%*s", width, ""); gsub(/ /, "-", dashes)
    row = "%-" width "s | %11s | %-26s | %s\n"
    printf row, "workload", "stablenn s", "reference (impl) s", "ratio stablenn/reference"
    printf "%s-+-%s-+-%s-+-%s\n", dashes, "-----------", "--------------------------", "------------------------"
    for (i = 1; i <= n; ++i) {
      w = order[i]; ours = (w SUBSEP "stablenn") in best ? best[w SUBSEP "stablenn"] : ""
      split(substr(refs[w], 2), names, " ")
      if (refs[w] == "") printf row, w, ours, "-", "-"
      for (j = 1; j in names; ++j) {
        ref = names[j]; key = w SUBSEP ref
        label = ref (threads_of[key] != "" ? ", " threads_of[key] " thr" : "")
        ratio = (ours != "" && best[key] > 0) ? sprintf("%.3f", ours / best[key]) : "-"
        printf row, w, (ours == "" ? "-" : ours), sprintf("%.6f (%s)", best[key], label), ratio
      }
    }
  }' "$results"
