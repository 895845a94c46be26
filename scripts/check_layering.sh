#!/usr/bin/env bash
# scripts/check_layering.sh — dependencies between the libraries point one way. For each folder,
# the folders its .h/.cpp files may include (`#include "folder/..."`); any other include of ours
# fails, naming the file and line. Run by ctest as the test `layering`.
#   core <- core/cuda (the CUDA backend, chapter 12: core itself never includes it)
#   core <- io <- autodiff <- ode <- layers <- layers/stable <- robust;  plot low;  train beside robust.
#   (autodiff writes its tape drawings through io's atomic writer.)
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$ROOT"

declare -A allowed=(
  [core]="core"
  [core/cuda]="core core/cuda"
  [io]="core io"
  [plot]="core io plot"
  [autodiff]="core io autodiff"
  [ode]="core autodiff ode"
  [datasets]="core io datasets"
  [layers]="core autodiff ode layers"
  [layers/stable]="core autodiff ode layers layers/stable"
  [robust]="core io autodiff ode layers layers/stable robust"
  [train]="core io autodiff ode datasets layers train"
  [tools]="core io tools"
)

status=0
for folder in "${!allowed[@]}"; do
  for file in "$folder"/*.h "$folder"/*.cpp "$folder"/*.cu; do
    [[ -f "$file" ]] || continue
    while IFS=: read -r line include; do
      # "layers/stable/x.h" belongs to layers/stable, "layers/x.h" to layers, "io/x.h" to io.
      target="${include%/*}"
      ok=0
      for a in ${allowed[$folder]}; do [[ "$target" == "$a" ]] && ok=1; done
      if [[ $ok -eq 0 ]]; then
        echo "$file:$line: includes \"$include\", but $folder/ may include only: ${allowed[$folder]}" >&2
        status=1
      fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
             sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
  done
done
if [[ $status -eq 0 ]]; then echo "check_layering: every include points down"; fi
exit $status
