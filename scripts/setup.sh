#!/usr/bin/env bash
# scripts/setup.sh — installs the Debian 12 packages stablenn needs (only the missing ones) and builds it.
#
#   scripts/setup.sh                 packages, then a Release build in build/
#   scripts/setup.sh --bench         also python3-torch (the PyTorch side of bench/run.sh)
#   scripts/setup.sh --fuzz          also clang and libFuzzer (scripts/fuzz.sh; use with --no-build)
#   scripts/setup.sh --sanitize      an AddressSanitizer + UBSan build in build-asan/ instead
#   scripts/setup.sh --no-build      packages only
#   options: --build-dir DIR, --jobs N (default: nproc), --target T (repeatable; default: all)
#
# As root it installs with apt-get; otherwise it prints the exact `sudo apt-get install` line and stops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/sanitizer_env.sh
source "$ROOT/scripts/sanitizer_env.sh"

# What the build needs: compiler + make, CMake, OpenBLAS (OpenMP build: one thread pool shared with our
# own OpenMP loops, see book/A-references.md §A.8; it contains LAPACK too), GoogleTest,
# stb_image(_write), zlib, libpng and libjpeg-turbo (image decoding), nlohmann-json (headers only).
PACKAGES=(build-essential cmake pkg-config libopenblas-openmp-dev libgtest-dev libstb-dev zlib1g-dev
          libpng-dev libjpeg62-turbo-dev nlohmann-json3-dev)
BENCH_PACKAGES=(python3-torch)  # Debian's PyTorch for /usr/bin/python3, bench/bench_*.py only
FUZZ_PACKAGES=(clang libclang-rt-dev libomp-dev)  # libFuzzer and clang's OpenMP, scripts/fuzz.sh only

build=1
build_type=Release
build_dir=""
jobs="$(nproc 2>/dev/null || echo 2)"
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
    --fuzz) PACKAGES+=("${FUZZ_PACKAGES[@]}") ;;
    --sanitize) build_type=Sanitize ;;
    --no-build) build=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --target) targets+=("$2"); shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$build_dir" ]]; then
  if [[ "$build_type" == Sanitize ]]; then build_dir="$ROOT/build-asan"; else build_dir="$ROOT/build"; fi
fi

# ---- packages ----
is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: dpkg-query not found: this script expects Debian 12 (bookworm)." >&2
  echo "          Elsewhere, install the equivalents of: ${PACKAGES[*]}; then build with" >&2
  echo "          cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j" >&2
  exit 1
fi
missing=()
for package in "${PACKAGES[@]}"; do
  is_installed "$package" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  install_line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "" >&2
    echo "    sudo apt-get update && sudo $install_line" >&2
    echo "" >&2
    echo "then run this command again." >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image has empty package lists: only update when the plain install fails.
  if ! $install_line; then
    echo "setup.sh: install failed; running apt-get update and retrying"
    apt-get update
    $install_line
  fi
  for package in "${missing[@]}"; do
    is_installed "$package" || { echo "setup.sh: $package is still not installed" >&2; exit 1; }
  done
fi

[[ $build -eq 1 ]] || exit 0

# ---- configure and build ----
echo "setup.sh: building stablenn ($build_type) in $build_dir with $jobs jobs"
cmake -S "$ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" ${STABLENN_CMAKE_ARGS:-}
if [[ "$build_type" == Sanitize ]]; then
  # The build runs each test binary once to list its tests (gtest_discover_tests): same options.
  export_sanitizer_env
fi
if [[ ${#targets[@]} -gt 0 ]]; then
  cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
else
  cmake --build "$build_dir" -j "$jobs"
fi
