#!/usr/bin/env bash
# Creates /work/main/.bench-venv with the comparison libraries used by
# bench/workforce_bench.py. They are NOT project dependencies: they are only
# installed here so the benchmark can time them side by side with ours.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.bench-venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet pyworkforce ciw simpy
echo "bench venv ready: $VENV"
