#!/usr/bin/env bash
# Runs the FAISS peer benchmark (peer.py) in its own virtualenv, creating it on first use.
#   Benchmarks/faiss/run.sh --data ../shared/data/debian-desc --methods flat,pq --bytes 16,32,64
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${FAISS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q faiss-cpu numpy
fi
exec "$venv/bin/python" "$here/peer.py" "$@"
