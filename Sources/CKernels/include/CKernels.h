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

/// One query's side of a fast-scan pass: its table, the smallest sum its top-k collector can
/// still take, and where the sums go.
typedef struct {
    /// 16 uint8 entries per sub-space.
    const uint8_t *lut;
    /// `subspaces + 1` values, `rest[m]` ≥ the most sub-spaces m, m+1, … can add to a sum
    /// (Σ_{m' ≥ m} max_k lut[m'][k]); lets the kernel stop early on blocks that cannot reach
    /// `floor`. NULL: never stop early.
    const uint16_t *rest;
    /// Items whose sum is at least `floor` are reported (0: every item).
    uint16_t floor;
    /// 32 uint16 sums per block, in item order — written only for blocks with a reported item.
    uint16_t *out;
    /// One mask per block: bit j set when item j is reported.
    uint32_t *masks;
} hpq_scan_query;

/// 4-bit fast scan. `codes` holds `blocks` blocks of 32 items in the layout of
/// docs/FAST_SCAN.md: for each of `subspaces` sub-spaces (an even number), 16 bytes whose byte j
/// is item j's code in the low nibble and item j+16's code in the high nibble. Item j's sum is
/// Σ_m lut[m][code] (exact: subspaces * 255 must not exceed 65535). For each block, writes to
/// `q.masks` the mask of items whose sum is ≥ `q.floor` and, when that mask is not 0, the 32
/// sums to `q.out`; a block with mask 0 leaves its sums in `q.out` as they were.
///
/// Stopping early changes only the speed: at checkpoints (after half and three quarters of the
/// sub-spaces, for 48 or more) a block whose partial sums are all below `floor − rest[checkpoint]`
/// cannot report an item, and the rest of it is not scanned.
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q);

/// hpq_fast_scan_avx2 for two queries at once: each code register is loaded and split into
/// nibbles once and looked up in both queries' tables (after a checkpoint, only in the tables of
/// the queries still scanning the block). Outputs are exactly those of two hpq_fast_scan_avx2 calls.
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                             hpq_scan_query q0, hpq_scan_query q1);

/// As hpq_fast_scan_avx2, four sub-spaces per 512-bit register (AVX-512 BW).
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q);

/// hpq_fast_scan_avx512 for two queries at once, as hpq_fast_scan_avx2_pair is for AVX2.
void hpq_fast_scan_avx512_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                               hpq_scan_query q0, hpq_scan_query q1);

#ifdef __cplusplus
}
#endif
