// Shared by the fast-scan kernels: the accumulators of one query over one block, the
// "any sum at least" test and the end of a block (see CKernels.h).
#pragma once
#include "CKernels.h"
#include <immintrin.h>

#define HPQ_INLINE static inline __attribute__((always_inline))

/// One query's sums over one block, in 16-bit lanes. A byte shuffle gives, per 128-bit lane
/// (one sub-space), 16 bytes for items 0–15 (`lo`, low nibbles) or 16–31 (`hi`, high nibbles).
/// `a` collects lo as 16-bit words, i.e. even item + 256 × odd item, and `b` the odd items
/// (lo >> 8); the even items' sums are then a − (b << 8), exact modulo 2^16 since every sum is
/// below 2^16 — one shift per shuffle instead of a shift and an AND. `d`/`e` do the same for hi.
typedef struct { __m256i a, b, d, e; } hpq_acc;

HPQ_TARGET("avx2")
HPQ_INLINE void hpq_acc_zero(hpq_acc *s) {
    s->a = s->b = s->d = s->e = _mm256_setzero_si256();
}

HPQ_TARGET("avx2")
HPQ_INLINE void hpq_acc_add(hpq_acc *s, __m256i lo, __m256i hi) {
    s->a = _mm256_add_epi16(s->a, lo);
    s->b = _mm256_add_epi16(s->b, _mm256_srli_epi16(lo, 8));
    s->d = _mm256_add_epi16(s->d, hi);
    s->e = _mm256_add_epi16(s->e, _mm256_srli_epi16(hi, 8));
}

/// The block's 32 sums from an accumulator: `even` = items 0, 2, …, 14 | 16, 18, …, 30 and
/// `odd` = items 1, 3, …, 15 | 17, …, 31 (low | high 128-bit lane). Adds the two lanes of each
/// accumulator (the even and odd sub-spaces of each pair), two accumulators per permute pair.
HPQ_TARGET("avx2")
HPQ_INLINE void hpq_acc_sums(const hpq_acc *s, __m256i *even, __m256i *odd) {
    __m256i ad = _mm256_add_epi16(_mm256_permute2x128_si256(s->a, s->d, 0x20),
                                  _mm256_permute2x128_si256(s->a, s->d, 0x31));
    __m256i be = _mm256_add_epi16(_mm256_permute2x128_si256(s->b, s->e, 0x20),
                                  _mm256_permute2x128_si256(s->b, s->e, 0x31));
    *even = _mm256_sub_epi16(ad, _mm256_slli_epi16(be, 8));
    *odd = be;
}

/// Whether some lane of `even` or `odd` is ≥ `floor` (unsigned: x ≥ f  <=>  max(x, f) == x).
HPQ_TARGET("avx2")
HPQ_INLINE int hpq_any_at_least(__m256i even, __m256i odd, __m256i floor) {
    __m256i top = _mm256_max_epu16(even, odd);
    return _mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_max_epu16(top, floor), top)) != 0;
}

/// Whether some item's (partial) sum in the accumulator is ≥ `floor`.
HPQ_TARGET("avx2")
HPQ_INLINE int hpq_acc_any_at_least(const hpq_acc *s, __m256i floor) {
    __m256i even, odd;
    hpq_acc_sums(s, &even, &odd);
    return hpq_any_at_least(even, odd, floor);
}

/// Ends a block: its mask of sums ≥ `floor`, and its sums (item order) when the mask is not 0.
/// Once a top-k collector is full almost no block has such a sum, so the common path is one
/// test; interleaving and storing are left to the rare blocks that need them.
HPQ_TARGET("avx2")
HPQ_INLINE void hpq_acc_finish(const hpq_acc *s, uint16_t *o, uint32_t *mask, __m256i floor) {
    __m256i even, odd;
    hpq_acc_sums(s, &even, &odd);
    if (!hpq_any_at_least(even, odd, floor)) { *mask = 0; return; }
    __m256i lo = _mm256_unpacklo_epi16(even, odd), hi = _mm256_unpackhi_epi16(even, odd);
    __m256i s0 = _mm256_permute2x128_si256(lo, hi, 0x20);   // items 0–15
    __m256i s1 = _mm256_permute2x128_si256(lo, hi, 0x31);   // items 16–31
    _mm256_storeu_si256((__m256i *)o, s0);
    _mm256_storeu_si256((__m256i *)(o + 16), s1);
    __m256i g0 = _mm256_cmpeq_epi16(_mm256_max_epu16(s0, floor), s0);
    __m256i g1 = _mm256_cmpeq_epi16(_mm256_max_epu16(s1, floor), s1);
    // packs works within lanes: quarters come out as items 0–7, 16–23, 8–15, 24–31.
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(g0, g1), 0xD8);
    *mask = (uint32_t)_mm256_movemask_epi8(packed);
}

/// Checkpoints: after half and three quarters of the sub-spaces (multiples of 4, so the
/// narrow-table path keeps whole groups), for 48 or more. A test costs a few instructions and a
/// branch the processor cannot predict well, so it pays only when much work is left behind it:
/// on 1M synthetic codes it gained 11–19 % at M = 64, −12 to +3 % at M = 32 and lost 15 % at
/// M = 16 (Benchmarks/fastscan, docs/FAST_SCAN.md).
#ifndef HPQ_CHECKPOINT_MIN
#define HPQ_CHECKPOINT_MIN 48   // Benchmarks/fastscan/run.sh lowers it to measure smaller M
#endif
HPQ_INLINE void hpq_checkpoints(size_t subspaces, size_t cp[2]) {
    if (subspaces < HPQ_CHECKPOINT_MIN || subspaces < 8) { cp[0] = cp[1] = 0; return; }
    cp[0] = subspaces / 8 * 4;
    cp[1] = subspaces * 3 / 16 * 4;
}

/// Whether every entry of the table is at most 127 (its bytes' top bits are all clear): then the
/// kernels add two registers' lookups in 8 bits before widening them (`narrow` paths).
HPQ_TARGET("avx2")
HPQ_INLINE int hpq_is_narrow(const uint8_t *lut, size_t subspaces) {
    __m256i any = _mm256_setzero_si256();
    for (size_t m = 0; m < subspaces; m += 2)
        any = _mm256_or_si256(any, _mm256_loadu_si256((const __m256i *)(lut + m * 16)));
    return _mm256_movemask_epi8(any) == 0;
}

/// Whether the query can stop early at all: it has `rest` bounds and a floor above the bound
/// at the last checkpoint (a collector that is not full yet has floor 0).
HPQ_INLINE int hpq_stops(hpq_scan_query q, const size_t cp[2]) {
    return q.rest != NULL && cp[0] != 0 && q.floor > q.rest[cp[1]];
}

/// The floor partial sums must reach at checkpoint `cp` (0 when the bound exceeds the floor:
/// every block goes on).
HPQ_TARGET("avx2")
HPQ_INLINE __m256i hpq_partial_floor(hpq_scan_query q, size_t cp) {
    uint16_t r = q.rest[cp];
    return _mm256_set1_epi16((short)(uint16_t)(q.floor > r ? q.floor - r : 0));
}
