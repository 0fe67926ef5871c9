// 4-bit fast scan, AVX-512 BW: four sub-spaces per 512-bit register (one per 128-bit lane).
// A trailing pair of sub-spaces (subspaces % 4 == 2) is handled with 256-bit registers.
#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include "fast_scan_common.h"

HPQ_TARGET("avx512f,avx512bw,avx2")
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces,
                          const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m256i low4y = _mm256_set1_epi8(0x0F);
    const size_t quads = subspaces / 4 * 4;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        __m512i a = _mm512_setzero_si512(), bo = _mm512_setzero_si512();
        __m512i d = _mm512_setzero_si512(), e = _mm512_setzero_si512();
        for (size_t m = 0; m < quads; m += 4) {
            __m512i x = _mm512_loadu_si512((const void *)(c + m * 16));
            __m512i t = _mm512_loadu_si512((const void *)(lut + m * 16));
            __m512i lo = _mm512_shuffle_epi8(t, _mm512_and_si512(x, low4));
            __m512i hi = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(x, 4), low4));
            // a collects even + 256 * odd items, bo the odd ones: even = a - (bo << 8), exact
            // modulo 2^16 since every sum is below 2^16 (one AND per shuffle saved).
            a = _mm512_add_epi16(a, lo);
            bo = _mm512_add_epi16(bo, _mm512_srli_epi16(lo, 8));
            d = _mm512_add_epi16(d, hi);
            e = _mm512_add_epi16(e, _mm512_srli_epi16(hi, 8));
        }
        // Fold 512 -> 256 bits (sub-spaces m, m+1 with m+2, m+3).
        __m256i ay = _mm256_add_epi16(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
        __m256i by = _mm256_add_epi16(_mm512_castsi512_si256(bo), _mm512_extracti64x4_epi64(bo, 1));
        __m256i dy = _mm256_add_epi16(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
        __m256i ey = _mm256_add_epi16(_mm512_castsi512_si256(e), _mm512_extracti64x4_epi64(e, 1));
        if (quads < subspaces) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(c + quads * 16));
            __m256i t = _mm256_loadu_si256((const __m256i *)(lut + quads * 16));
            __m256i lo = _mm256_shuffle_epi8(t, _mm256_and_si256(x, low4y));
            __m256i hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4y));
            ay = _mm256_add_epi16(ay, lo);
            by = _mm256_add_epi16(by, _mm256_srli_epi16(lo, 8));
            dy = _mm256_add_epi16(dy, hi);
            ey = _mm256_add_epi16(ey, _mm256_srli_epi16(hi, 8));
        }
        __m128i a2 = _mm_add_epi16(_mm256_castsi256_si128(ay), _mm256_extracti128_si256(ay, 1));
        __m128i b2 = _mm_add_epi16(_mm256_castsi256_si128(by), _mm256_extracti128_si256(by, 1));
        __m128i d2 = _mm_add_epi16(_mm256_castsi256_si128(dy), _mm256_extracti128_si256(dy, 1));
        __m128i e2 = _mm_add_epi16(_mm256_castsi256_si128(ey), _mm256_extracti128_si256(ey, 1));
        hpq_store_block(out + b * 32, masks + b, threshold, a2, b2, d2, e2);
    }
}
#else
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces,
                          const uint8_t *lut, uint16_t threshold, uint16_t *out, uint32_t *masks) {
    (void)codes; (void)blocks; (void)subspaces; (void)lut; (void)threshold; (void)out; (void)masks;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX-512 here
}
#endif
