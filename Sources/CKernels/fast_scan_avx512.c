// 4-bit fast scan, AVX-512 BW: four sub-spaces per 512-bit register (one per 128-bit lane).
// A trailing pair of sub-spaces in a run (an odd number of pairs) uses the low 256 bits.
#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include "fast_scan_common.h"

#define HPQ_AVX512 "avx512f,avx512bw,avx2"

/// hpq_acc with four sub-spaces (lanes) per register.
typedef struct { __m512i a, b, d, e; } hpq_acc512;

HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE void hpq_acc512_add(hpq_acc512 *s, __m512i lo, __m512i hi) {
    s->a = _mm512_add_epi16(s->a, lo);
    s->b = _mm512_add_epi16(s->b, _mm512_srli_epi16(lo, 8));
    s->d = _mm512_add_epi16(s->d, hi);
    s->e = _mm512_add_epi16(s->e, _mm512_srli_epi16(hi, 8));
}

/// Adds sub-spaces [from, to) of one block (`to − from` even). `narrow` (every entry ≤ 127): the
/// byte lookups of two registers (eight sub-spaces) are added in 8 bits before widening.
HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE void hpq_avx512_run(const uint8_t *c, const uint8_t *lut, size_t from, size_t to, int narrow,
                               hpq_acc512 *s) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    size_t m = from;
    if (narrow) {
        for (; m + 8 <= to; m += 8) {
            __m512i x0 = _mm512_loadu_si512((const void *)(c + m * 16));
            __m512i x1 = _mm512_loadu_si512((const void *)(c + m * 16 + 64));
            __m512i t0 = _mm512_loadu_si512((const void *)(lut + m * 16));
            __m512i t1 = _mm512_loadu_si512((const void *)(lut + m * 16 + 64));
            __m512i lo = _mm512_add_epi8(_mm512_shuffle_epi8(t0, _mm512_and_si512(x0, low4)),
                                         _mm512_shuffle_epi8(t1, _mm512_and_si512(x1, low4)));
            __m512i hi = _mm512_add_epi8(_mm512_shuffle_epi8(t0, _mm512_and_si512(_mm512_srli_epi16(x0, 4), low4)),
                                         _mm512_shuffle_epi8(t1, _mm512_and_si512(_mm512_srli_epi16(x1, 4), low4)));
            hpq_acc512_add(s, lo, hi);
        }
    }
    for (; m + 4 <= to; m += 4) {
        __m512i x = _mm512_loadu_si512((const void *)(c + m * 16));
        __m512i t = _mm512_loadu_si512((const void *)(lut + m * 16));
        hpq_acc512_add(s, _mm512_shuffle_epi8(t, _mm512_and_si512(x, low4)),
                       _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(x, 4), low4)));
    }
    if (m < to) {   // two sub-spaces left: the low half of a register, the high half zero
        __m512i x = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(c + m * 16)), 0);
        __m512i t = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(lut + m * 16)), 0);
        hpq_acc512_add(s, _mm512_shuffle_epi8(t, _mm512_and_si512(x, low4)),
                       _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(x, 4), low4)));
    }
}

/// Folds 512 → 256 bits (sub-spaces m, m+1 with m+2, m+3): an hpq_acc.
HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE hpq_acc hpq_acc512_fold(const hpq_acc512 *s) {
    hpq_acc r;
    r.a = _mm256_add_epi16(_mm512_castsi512_si256(s->a), _mm512_extracti64x4_epi64(s->a, 1));
    r.b = _mm256_add_epi16(_mm512_castsi512_si256(s->b), _mm512_extracti64x4_epi64(s->b, 1));
    r.d = _mm256_add_epi16(_mm512_castsi512_si256(s->d), _mm512_extracti64x4_epi64(s->d, 1));
    r.e = _mm256_add_epi16(_mm512_castsi512_si256(s->e), _mm512_extracti64x4_epi64(s->e, 1));
    return r;
}

/// Whether some item's partial sum in a 512-bit accumulator is ≥ `floor`.
HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE int hpq_acc512_any_at_least(const hpq_acc512 *s, __m256i floor) {
    hpq_acc folded = hpq_acc512_fold(s);
    return hpq_acc_any_at_least(&folded, floor);
}

HPQ_TARGET(HPQ_AVX512)
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q) {
    size_t cp[2];
    hpq_checkpoints(subspaces, cp);
    const int stops = hpq_stops(q, cp), narrow = hpq_is_narrow(q.lut, subspaces);
    const __m256i floor = _mm256_set1_epi16((short)q.floor);
    const __m256i partial0 = stops ? hpq_partial_floor(q, cp[0]) : floor;
    const __m256i partial1 = stops ? hpq_partial_floor(q, cp[1]) : floor;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        hpq_acc512 s;
        s.a = s.b = s.d = s.e = _mm512_setzero_si512();
        if (stops) {
            hpq_avx512_run(c, q.lut, 0, cp[0], narrow, &s);
            if (!hpq_acc512_any_at_least(&s, partial0)) { q.masks[b] = 0; continue; }
            hpq_avx512_run(c, q.lut, cp[0], cp[1], narrow, &s);
            if (!hpq_acc512_any_at_least(&s, partial1)) { q.masks[b] = 0; continue; }
            hpq_avx512_run(c, q.lut, cp[1], subspaces, narrow, &s);
        } else {
            hpq_avx512_run(c, q.lut, 0, subspaces, narrow, &s);
        }
        hpq_acc total = hpq_acc512_fold(&s);
        hpq_acc_finish(&total, q.out + b * 32, q.masks + b, floor);
    }
}
/// hpq_avx512_run for two queries: each code register is loaded and split into nibbles once and
/// looked up in both queries' tables. AVX-512 has 32 vector registers, so both queries' eight
/// accumulators and the split codes fit without the low/high staging the AVX2 pair needs.
HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE void hpq_avx512_run_pair(const uint8_t *c, const uint8_t *lut0, const uint8_t *lut1, size_t from, size_t to,
                                    int narrow, hpq_acc512 *s0, hpq_acc512 *s1) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    size_t m = from;
    if (narrow) {
        for (; m + 8 <= to; m += 8) {
            __m512i x0 = _mm512_loadu_si512((const void *)(c + m * 16));
            __m512i x1 = _mm512_loadu_si512((const void *)(c + m * 16 + 64));
            __m512i l0 = _mm512_and_si512(x0, low4), l1 = _mm512_and_si512(x1, low4);
            __m512i h0 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), low4), h1 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), low4);
            __m512i t0 = _mm512_loadu_si512((const void *)(lut0 + m * 16));
            __m512i t1 = _mm512_loadu_si512((const void *)(lut0 + m * 16 + 64));
            hpq_acc512_add(s0, _mm512_add_epi8(_mm512_shuffle_epi8(t0, l0), _mm512_shuffle_epi8(t1, l1)),
                           _mm512_add_epi8(_mm512_shuffle_epi8(t0, h0), _mm512_shuffle_epi8(t1, h1)));
            t0 = _mm512_loadu_si512((const void *)(lut1 + m * 16));
            t1 = _mm512_loadu_si512((const void *)(lut1 + m * 16 + 64));
            hpq_acc512_add(s1, _mm512_add_epi8(_mm512_shuffle_epi8(t0, l0), _mm512_shuffle_epi8(t1, l1)),
                           _mm512_add_epi8(_mm512_shuffle_epi8(t0, h0), _mm512_shuffle_epi8(t1, h1)));
        }
    }
    for (; m + 4 <= to; m += 4) {
        __m512i x = _mm512_loadu_si512((const void *)(c + m * 16));
        __m512i lo = _mm512_and_si512(x, low4), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low4);
        __m512i t = _mm512_loadu_si512((const void *)(lut0 + m * 16));
        hpq_acc512_add(s0, _mm512_shuffle_epi8(t, lo), _mm512_shuffle_epi8(t, hi));
        t = _mm512_loadu_si512((const void *)(lut1 + m * 16));
        hpq_acc512_add(s1, _mm512_shuffle_epi8(t, lo), _mm512_shuffle_epi8(t, hi));
    }
    if (m < to) {   // two sub-spaces left: the low half of a register, the high half zero
        __m512i x = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(c + m * 16)), 0);
        __m512i lo = _mm512_and_si512(x, low4), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low4);
        __m512i t = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(lut0 + m * 16)), 0);
        hpq_acc512_add(s0, _mm512_shuffle_epi8(t, lo), _mm512_shuffle_epi8(t, hi));
        t = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(lut1 + m * 16)), 0);
        hpq_acc512_add(s1, _mm512_shuffle_epi8(t, lo), _mm512_shuffle_epi8(t, hi));
    }
}

/// Sub-spaces [from, to) for whichever of the two queries are still scanning the block.
HPQ_TARGET(HPQ_AVX512)
HPQ_INLINE void hpq_avx512_run_live(const uint8_t *c, const uint8_t *lut0, const uint8_t *lut1, size_t from, size_t to,
                                    int narrow0, int narrow1, int live0, int live1, hpq_acc512 *s0, hpq_acc512 *s1) {
    if (live0 && live1) hpq_avx512_run_pair(c, lut0, lut1, from, to, narrow0 && narrow1, s0, s1);
    else if (live0) hpq_avx512_run(c, lut0, from, to, narrow0, s0);
    else if (live1) hpq_avx512_run(c, lut1, from, to, narrow1, s1);
}

HPQ_TARGET(HPQ_AVX512)
void hpq_fast_scan_avx512_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                               hpq_scan_query q0, hpq_scan_query q1) {
    size_t cp[2];
    hpq_checkpoints(subspaces, cp);
    const int stops0 = hpq_stops(q0, cp), stops1 = hpq_stops(q1, cp);
    const int narrow0 = hpq_is_narrow(q0.lut, subspaces), narrow1 = hpq_is_narrow(q1.lut, subspaces);
    const int narrow = narrow0 && narrow1;
    const __m256i floor0 = _mm256_set1_epi16((short)q0.floor), floor1 = _mm256_set1_epi16((short)q1.floor);
    const __m256i p00 = stops0 ? hpq_partial_floor(q0, cp[0]) : floor0, p01 = stops0 ? hpq_partial_floor(q0, cp[1]) : floor0;
    const __m256i p10 = stops1 ? hpq_partial_floor(q1, cp[0]) : floor1, p11 = stops1 ? hpq_partial_floor(q1, cp[1]) : floor1;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        hpq_acc512 s0, s1;
        s0.a = s0.b = s0.d = s0.e = _mm512_setzero_si512();
        s1.a = s1.b = s1.d = s1.e = _mm512_setzero_si512();
        int live0 = 1, live1 = 1;
        if (stops0 || stops1) {
            hpq_avx512_run_pair(c, q0.lut, q1.lut, 0, cp[0], narrow, &s0, &s1);
            live0 = !stops0 || hpq_acc512_any_at_least(&s0, p00);
            live1 = !stops1 || hpq_acc512_any_at_least(&s1, p10);
            hpq_avx512_run_live(c, q0.lut, q1.lut, cp[0], cp[1], narrow0, narrow1, live0, live1, &s0, &s1);
            live0 = live0 && (!stops0 || hpq_acc512_any_at_least(&s0, p01));
            live1 = live1 && (!stops1 || hpq_acc512_any_at_least(&s1, p11));
            hpq_avx512_run_live(c, q0.lut, q1.lut, cp[1], subspaces, narrow0, narrow1, live0, live1, &s0, &s1);
        } else {
            hpq_avx512_run_pair(c, q0.lut, q1.lut, 0, subspaces, narrow, &s0, &s1);
        }
        if (live0) { hpq_acc t = hpq_acc512_fold(&s0); hpq_acc_finish(&t, q0.out + b * 32, q0.masks + b, floor0); }
        else q0.masks[b] = 0;
        if (live1) { hpq_acc t = hpq_acc512_fold(&s1); hpq_acc_finish(&t, q1.out + b * 32, q1.masks + b, floor1); }
        else q1.masks[b] = 0;
    }
}
#else
void hpq_fast_scan_avx512(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q) {
    (void)codes; (void)blocks; (void)subspaces; (void)q;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX-512 here
}
void hpq_fast_scan_avx512_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                               hpq_scan_query q0, hpq_scan_query q1) {
    (void)codes; (void)blocks; (void)subspaces; (void)q0; (void)q1;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX-512 here
}
#endif
