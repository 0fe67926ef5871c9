#!/usr/bin/env bash
# Builds and runs the whole test suite (release mode: the numeric tests are 10-50x faster).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
swift build -c release --build-tests
swift test -c release --skip-build
# The concurrency tests again under ThreadSanitizer (a debug build of its own).
swift build --build-tests --sanitize=thread
swift test --sanitize=thread --skip-build --filter LiveConcurrency 2>&1 | tee .build/tsan.log
if grep -q "ThreadSanitizer" .build/tsan.log; then echo "ThreadSanitizer reported a race (see above)" >&2; exit 1; fi
