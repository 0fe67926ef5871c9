#!/usr/bin/env bash
# Checks the AVX2 and AVX-512 fast-scan kernels bit for bit against the scalar reference on any
# x86-64 or Arm machine, by building them over SIMDe (Debian: libsimde-dev), a header-only,
# portable implementation of the x86 intrinsics. This checks the kernels' logic where the
# processor lacks the instruction set; on a processor that has it, check.sh runs the real thing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../Sources/CKernels"
[ -d /usr/include/simde ] || { echo "emulate.sh: install libsimde-dev first" >&2; exit 2; }
out="$(mktemp -d)"
cc -O1 -DHPQ_SIMD_EMULATION -I "$here/simde-shim" -I "$src/include" \
   "$here/check_kernels.c" "$src/fast_scan_avx2.c" "$src/fast_scan_avx512.c" "$src/cpu_features.c" -o "$out/check"
"$out/check"
