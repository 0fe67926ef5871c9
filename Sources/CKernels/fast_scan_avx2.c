// 4-bit fast scan, AVX2: two sub-spaces per 256-bit register (one per 128-bit lane, because
// vpshufb looks up within lanes). See CKernels.h for the contract.
#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include "fast_scan_common.h"

HPQ_TARGET("avx2")
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces,
                        const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        // a: items 0,2,..,14   b: items 1,3,..,15   (16-bit lanes; low nibbles)
        // d: items 16,18,..,30 e: items 17,19,..,31 (high nibbles)
        __m256i a = _mm256_setzero_si256(), bo = _mm256_setzero_si256();
        __m256i d = _mm256_setzero_si256(), e = _mm256_setzero_si256();
        for (size_t m = 0; m < subspaces; m += 2) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(c + m * 16));
            __m256i t = _mm256_loadu_si256((const __m256i *)(lut + m * 16));
            __m256i lo = _mm256_shuffle_epi8(t, _mm256_and_si256(x, low4));
            __m256i hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4));
            // a collects even + 256 * odd items, bo the odd ones: even = a - (bo << 8), exact
            // modulo 2^16 since every sum is below 2^16 (one AND per shuffle saved).
            a = _mm256_add_epi16(a, lo);
            bo = _mm256_add_epi16(bo, _mm256_srli_epi16(lo, 8));
            d = _mm256_add_epi16(d, hi);
            e = _mm256_add_epi16(e, _mm256_srli_epi16(hi, 8));
        }
        // Add the two lanes (even and odd sub-spaces), then interleave even and odd items.
        __m128i a2 = _mm_add_epi16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        __m128i b2 = _mm_add_epi16(_mm256_castsi256_si128(bo), _mm256_extracti128_si256(bo, 1));
        __m128i d2 = _mm_add_epi16(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
        __m128i e2 = _mm_add_epi16(_mm256_castsi256_si128(e), _mm256_extracti128_si256(e, 1));
        hpq_store_block(out + b * 32, masks + b, threshold, a2, b2, d2, e2);
    }
}

HPQ_TARGET("avx2")
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                             const uint8_t *lut0, const uint8_t *lut1, uint16_t threshold0, uint16_t threshold1,
                             uint16_t *out0, uint16_t *out1, uint32_t *masks0, uint32_t *masks1) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        __m256i a0 = _mm256_setzero_si256(), b0 = _mm256_setzero_si256();
        __m256i d0 = _mm256_setzero_si256(), e0 = _mm256_setzero_si256();
        __m256i a1 = _mm256_setzero_si256(), b1 = _mm256_setzero_si256();
        __m256i d1 = _mm256_setzero_si256(), e1 = _mm256_setzero_si256();
        for (size_t m = 0; m < subspaces; m += 2) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(c + m * 16));
            __m256i clo = _mm256_and_si256(x, low4);
            __m256i chi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
            __m256i t = _mm256_loadu_si256((const __m256i *)(lut0 + m * 16));
            __m256i lo = _mm256_shuffle_epi8(t, clo), hi = _mm256_shuffle_epi8(t, chi);
            a0 = _mm256_add_epi16(a0, lo);
            b0 = _mm256_add_epi16(b0, _mm256_srli_epi16(lo, 8));
            d0 = _mm256_add_epi16(d0, hi);
            e0 = _mm256_add_epi16(e0, _mm256_srli_epi16(hi, 8));
            t = _mm256_loadu_si256((const __m256i *)(lut1 + m * 16));
            lo = _mm256_shuffle_epi8(t, clo);
            hi = _mm256_shuffle_epi8(t, chi);
            a1 = _mm256_add_epi16(a1, lo);
            b1 = _mm256_add_epi16(b1, _mm256_srli_epi16(lo, 8));
            d1 = _mm256_add_epi16(d1, hi);
            e1 = _mm256_add_epi16(e1, _mm256_srli_epi16(hi, 8));
        }
        hpq_store_block(out0 + b * 32, masks0 + b, threshold0, hpq_fold(a0), hpq_fold(b0), hpq_fold(d0), hpq_fold(e0));
        hpq_store_block(out1 + b * 32, masks1 + b, threshold1, hpq_fold(a1), hpq_fold(b1), hpq_fold(d1), hpq_fold(e1));
    }
}
#else
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                             const uint8_t *lut0, const uint8_t *lut1, uint16_t threshold0, uint16_t threshold1,
                             uint16_t *out0, uint16_t *out1, uint32_t *masks0, uint32_t *masks1) {
    (void)codes; (void)blocks; (void)subspaces; (void)lut0; (void)lut1; (void)threshold0; (void)threshold1;
    (void)out0; (void)out1; (void)masks0; (void)masks1;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX2 here
}
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces,
                        const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks) {
    (void)codes; (void)blocks; (void)subspaces; (void)lut; (void)threshold; (void)out; (void)masks;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX2 here
}
#endif
