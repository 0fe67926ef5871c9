#!/usr/bin/env bash
# Checks every fast-scan kernel this processor can run against the scalar reference, natively,
# without the Swift toolchain (e.g. on an AVX-512 host), and prints their throughput.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../Sources/CKernels"
out="$(mktemp -d)"
cc -O2 -I "$src/include" "$here/check_kernels.c" "$src"/*.c -o "$out/check"
"$out/check"
