#!/usr/bin/env bash
# scripts/run_main.sh — the README's first command: installs what is missing, builds (Release, build/)
# and runs the main program. Arguments go to the program, e.g. scripts/run_main.sh --smoke
# scripts/run_main.sh --help prints this text without building; the program's own flags are listed by
# build/notebooks_cpp/ch08_robustness --help once it is built.
set -euo pipefail

for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done

# The main program: the chapter 8 toy robustness example (ResNet vs non-expansive network under PGD).
MAIN_PROGRAM=ch08_robustness

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --target "$MAIN_PROGRAM"
cd "$ROOT"
exec "$ROOT/build/notebooks_cpp/$MAIN_PROGRAM" "$@"
