#!/usr/bin/env bash
# The main job: pqbench on the built-in default data set, printing its table. Extra arguments
# go to pqbench (e.g. --data ../shared/data/debian-desc --bytes 8,16,32,64).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product pqbench
exec .build/release/pqbench "$@"
