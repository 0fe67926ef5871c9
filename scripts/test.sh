#!/usr/bin/env bash
# Builds and runs the whole test suite (release mode: the numeric tests are 10-50x faster).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
swift build -c release --build-tests
swift test -c release --skip-build
