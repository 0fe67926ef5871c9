// HybridPQ's SIMD byte-shuffle kernels: the only C in the project.
//
// Portable Swift cannot express pshufb-style in-register table lookups today, so just these
// inner loops live here. Each function is compiled for its instruction set with
// __attribute__((target(...))) — no compiler flags — and the library calls one only after
// hpq_cpu_features() says the processor has it. Every kernel has a portable Swift reference
// (FastScanKernel.reference) that the tests compare it against, bit for bit.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Compiles a kernel for its instruction set. HPQ_SIMD_EMULATION (used only by
// Tests/CKernelsCheck/emulate.sh, which builds the kernels over SIMDe's portable intrinsics to
// check the AVX-512 code on processors without AVX-512) drops the attribute.
#ifdef HPQ_SIMD_EMULATION
#define HPQ_TARGET(isa)
#else
#define HPQ_TARGET(isa) __attribute__((target(isa)))
#endif

/// Bit 0: AVX2. Bit 1: AVX-512 F+BW. Read once from CPUID via __builtin_cpu_supports.
unsigned hpq_cpu_features(void);

/// 4-bit fast scan. `codes` holds `blocks` blocks of 32 items in the layout of
/// docs/FAST_SCAN.md: for each of `subspaces` sub-spaces (an even number), 16 bytes whose byte j
/// is item j's code in the low nibble and item j+16's code in the high nibble. `lut` holds
/// 16 uint8 entries per sub-space. Writes, per block, 32 uint16 sums (item order) to `out` and
/// a 32-bit mask to `masks` whose bit j is set when item j's sum is greater than `threshold`
/// (so a top-k collector visits only items that can enter it).
/// Sums are exact integers: subspaces * 255 must not exceed 65535.
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces,
                        const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks);

/// hpq_fast_scan_avx2 for two queries at once: each code register is loaded and split into
/// nibbles once and looked up in both queries' tables, so the pair costs ~15 % less than two
/// single passes. Outputs are exactly those of two hpq_fast_scan_avx2 calls.
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                             const uint8_t *lut0, const uint8_t *lut1, uint16_t threshold0, uint16_t threshold1,
                             uint16_t *out0, uint16_t *out1, uint32_t *masks0, uint32_t *masks1);

/// As hpq_fast_scan_avx2, four sub-spaces per 512-bit register (AVX-512 BW).
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces,
                          const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks);

#ifdef __cplusplus
}
#endif
