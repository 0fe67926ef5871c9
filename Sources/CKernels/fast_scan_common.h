// Shared by the fast-scan kernels: the end of a block (see CKernels.h).
#pragma once
#include "CKernels.h"
#include <immintrin.h>

/// Interleaves even/odd item sums into item order, stores the 32 sums and the mask of those
/// greater than `threshold` (unsigned: x > t  <=>  max(x, t + 1) == x, for t < 65535).
HPQ_TARGET("avx2")
static inline void hpq_store_block(uint16_t *o, uint32_t *mask, uint16_t threshold,
                                   __m128i a2, __m128i b2, __m128i d2, __m128i e2) {
    // a2/d2 hold even + 256 * odd: recover the even items' sums.
    a2 = _mm_sub_epi16(a2, _mm_slli_epi16(b2, 8));
    d2 = _mm_sub_epi16(d2, _mm_slli_epi16(e2, 8));
    __m128i s0 = _mm_unpacklo_epi16(a2, b2), s1 = _mm_unpackhi_epi16(a2, b2);
    __m128i s2 = _mm_unpacklo_epi16(d2, e2), s3 = _mm_unpackhi_epi16(d2, e2);
    _mm_storeu_si128((__m128i *)(o + 0), s0);
    _mm_storeu_si128((__m128i *)(o + 8), s1);
    _mm_storeu_si128((__m128i *)(o + 16), s2);
    _mm_storeu_si128((__m128i *)(o + 24), s3);
    if (threshold == 0xFFFF) { *mask = 0; return; }
    __m128i t = _mm_set1_epi16((short)(threshold + 1));
    __m128i g0 = _mm_cmpeq_epi16(_mm_max_epu16(s0, t), s0), g1 = _mm_cmpeq_epi16(_mm_max_epu16(s1, t), s1);
    __m128i g2 = _mm_cmpeq_epi16(_mm_max_epu16(s2, t), s2), g3 = _mm_cmpeq_epi16(_mm_max_epu16(s3, t), s3);
    uint32_t lo = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(g0, g1));
    uint32_t hi = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(g2, g3));
    *mask = lo | (hi << 16);
}

/// Adds the two 128-bit lanes of an accumulator (the even and odd sub-spaces of each pair).
HPQ_TARGET("avx2")
static inline __m128i hpq_fold(__m256i v) {
    return _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}
