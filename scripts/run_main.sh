#!/usr/bin/env bash
# scripts/run_main.sh — the README's first command: installs what is missing, builds (Release, build/)
# and runs the main program. Arguments go to the program, e.g. scripts/run_main.sh --smoke
set -euo pipefail

# The main program: the chapter 8 toy robustness example (ResNet vs non-expansive network under PGD).
MAIN_PROGRAM=ch08_robustness

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --target "$MAIN_PROGRAM"
cd "$ROOT"
exec "$ROOT/build/notebooks_cpp/$MAIN_PROGRAM" "$@"
