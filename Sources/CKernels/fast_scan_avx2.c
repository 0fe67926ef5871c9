// 4-bit fast scan, AVX2: two sub-spaces per 256-bit register (one per 128-bit lane, because
// vpshufb looks up within lanes). See CKernels.h for the contract.
#include "CKernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include "fast_scan_common.h"

/// Adds sub-spaces [from, to) of one block to one query's accumulator. `narrow` (every entry
/// ≤ 127): the byte lookups of two registers (four sub-spaces) are added in 8 bits, exactly,
/// before widening — two shifts and four 16-bit adds saved per group.
HPQ_TARGET("avx2")
HPQ_INLINE void hpq_avx2_run(const uint8_t *c, const uint8_t *lut, size_t from, size_t to, int narrow, hpq_acc *s) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    size_t m = from;
    if (narrow) {
        for (; m + 4 <= to; m += 4) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(c + m * 16));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(c + m * 16 + 32));
            __m256i t0 = _mm256_loadu_si256((const __m256i *)(lut + m * 16));
            __m256i t1 = _mm256_loadu_si256((const __m256i *)(lut + m * 16 + 32));
            __m256i lo = _mm256_add_epi8(_mm256_shuffle_epi8(t0, _mm256_and_si256(x0, low4)),
                                         _mm256_shuffle_epi8(t1, _mm256_and_si256(x1, low4)));
            __m256i hi = _mm256_add_epi8(_mm256_shuffle_epi8(t0, _mm256_and_si256(_mm256_srli_epi16(x0, 4), low4)),
                                         _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(x1, 4), low4)));
            hpq_acc_add(s, lo, hi);
        }
    }
    for (; m < to; m += 2) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(c + m * 16));
        __m256i t = _mm256_loadu_si256((const __m256i *)(lut + m * 16));
        hpq_acc_add(s, _mm256_shuffle_epi8(t, _mm256_and_si256(x, low4)),
                    _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4)));
    }
}

/// hpq_avx2_run for two queries: each code register is loaded and split into nibbles once.
/// Narrow groups handle the low nibbles (items 0–15) first, then the high ones, so the eight
/// accumulators and the temporaries fit AVX2's sixteen registers.
HPQ_TARGET("avx2")
HPQ_INLINE void hpq_avx2_run_pair(const uint8_t *c, const uint8_t *lut0, const uint8_t *lut1,
                                  size_t from, size_t to, int narrow, hpq_acc *s0, hpq_acc *s1) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    size_t m = from;
    if (narrow) {
        for (; m + 4 <= to; m += 4) {
            const __m256i *x = (const __m256i *)(c + m * 16);
            const __m256i *t0 = (const __m256i *)(lut0 + m * 16), *t1 = (const __m256i *)(lut1 + m * 16);
            __m256i c0 = _mm256_and_si256(_mm256_loadu_si256(x), low4);
            __m256i c1 = _mm256_and_si256(_mm256_loadu_si256(x + 1), low4);
            __m256i r0 = _mm256_add_epi8(_mm256_shuffle_epi8(_mm256_loadu_si256(t0), c0),
                                         _mm256_shuffle_epi8(_mm256_loadu_si256(t0 + 1), c1));
            __m256i r1 = _mm256_add_epi8(_mm256_shuffle_epi8(_mm256_loadu_si256(t1), c0),
                                         _mm256_shuffle_epi8(_mm256_loadu_si256(t1 + 1), c1));
            s0->a = _mm256_add_epi16(s0->a, r0);
            s0->b = _mm256_add_epi16(s0->b, _mm256_srli_epi16(r0, 8));
            s1->a = _mm256_add_epi16(s1->a, r1);
            s1->b = _mm256_add_epi16(s1->b, _mm256_srli_epi16(r1, 8));
            c0 = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256(x), 4), low4);
            c1 = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256(x + 1), 4), low4);
            r0 = _mm256_add_epi8(_mm256_shuffle_epi8(_mm256_loadu_si256(t0), c0),
                                 _mm256_shuffle_epi8(_mm256_loadu_si256(t0 + 1), c1));
            r1 = _mm256_add_epi8(_mm256_shuffle_epi8(_mm256_loadu_si256(t1), c0),
                                 _mm256_shuffle_epi8(_mm256_loadu_si256(t1 + 1), c1));
            s0->d = _mm256_add_epi16(s0->d, r0);
            s0->e = _mm256_add_epi16(s0->e, _mm256_srli_epi16(r0, 8));
            s1->d = _mm256_add_epi16(s1->d, r1);
            s1->e = _mm256_add_epi16(s1->e, _mm256_srli_epi16(r1, 8));
        }
    }
    for (; m < to; m += 2) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(c + m * 16));
        __m256i clo = _mm256_and_si256(x, low4);
        __m256i chi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
        __m256i t = _mm256_loadu_si256((const __m256i *)(lut0 + m * 16));
        hpq_acc_add(s0, _mm256_shuffle_epi8(t, clo), _mm256_shuffle_epi8(t, chi));
        t = _mm256_loadu_si256((const __m256i *)(lut1 + m * 16));
        hpq_acc_add(s1, _mm256_shuffle_epi8(t, clo), _mm256_shuffle_epi8(t, chi));
    }
}

HPQ_TARGET("avx2")
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q) {
    size_t cp[2];
    hpq_checkpoints(subspaces, cp);
    const int stops = hpq_stops(q, cp), narrow = hpq_is_narrow(q.lut, subspaces);
    const __m256i floor = _mm256_set1_epi16((short)q.floor);
    const __m256i partial0 = stops ? hpq_partial_floor(q, cp[0]) : floor;
    const __m256i partial1 = stops ? hpq_partial_floor(q, cp[1]) : floor;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *c = codes + b * subspaces * 16;
        hpq_acc s;
        hpq_acc_zero(&s);
        if (stops) {
            hpq_avx2_run(c, q.lut, 0, cp[0], narrow, &s);
            if (!hpq_acc_any_at_least(&s, partial0)) { q.masks[b] = 0; continue; }
            hpq_avx2_run(c, q.lut, cp[0], cp[1], narrow, &s);
            if (!hpq_acc_any_at_least(&s, partial1)) { q.masks[b] = 0; continue; }
            hpq_avx2_run(c, q.lut, cp[1], subspaces, narrow, &s);
        } else {
            hpq_avx2_run(c, q.lut, 0, subspaces, narrow, &s);
        }
        hpq_acc_finish(&s, q.out + b * 32, q.masks + b, floor);
    }
}

/// Sub-spaces [from, to) for whichever of the two queries are still scanning the block.
HPQ_TARGET("avx2")
HPQ_INLINE void hpq_avx2_run_live(const uint8_t *c, const uint8_t *lut0, const uint8_t *lut1, size_t from, size_t to,
                                  int narrow0, int narrow1, int live0, int live1, hpq_acc *s0, hpq_acc *s1) {
    if (live0 && live1) hpq_avx2_run_pair(c, lut0, lut1, from, to, narrow0 && narrow1, s0, s1);
    else if (live0) hpq_avx2_run(c, lut0, from, to, narrow0, s0);
    else if (live1) hpq_avx2_run(c, lut1, from, to, narrow1, s1);
}

HPQ_TARGET("avx2")
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
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
        hpq_acc s0, s1;
        hpq_acc_zero(&s0);
        hpq_acc_zero(&s1);
        int live0 = 1, live1 = 1;
        if (stops0 || stops1) {
            hpq_avx2_run_pair(c, q0.lut, q1.lut, 0, cp[0], narrow, &s0, &s1);
            live0 = !stops0 || hpq_acc_any_at_least(&s0, p00);
            live1 = !stops1 || hpq_acc_any_at_least(&s1, p10);
            hpq_avx2_run_live(c, q0.lut, q1.lut, cp[0], cp[1], narrow0, narrow1, live0, live1, &s0, &s1);
            live0 = live0 && (!stops0 || hpq_acc_any_at_least(&s0, p01));
            live1 = live1 && (!stops1 || hpq_acc_any_at_least(&s1, p11));
            hpq_avx2_run_live(c, q0.lut, q1.lut, cp[1], subspaces, narrow0, narrow1, live0, live1, &s0, &s1);
        } else {
            hpq_avx2_run_pair(c, q0.lut, q1.lut, 0, subspaces, narrow, &s0, &s1);
        }
        if (live0) hpq_acc_finish(&s0, q0.out + b * 32, q0.masks + b, floor0);
        else q0.masks[b] = 0;
        if (live1) hpq_acc_finish(&s1, q1.out + b * 32, q1.masks + b, floor1);
        else q1.masks[b] = 0;
    }
}
#else
void hpq_fast_scan_avx2(const uint8_t *codes, size_t blocks, size_t subspaces, hpq_scan_query q) {
    (void)codes; (void)blocks; (void)subspaces; (void)q;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX2 here
}
void hpq_fast_scan_avx2_pair(const uint8_t *codes, size_t blocks, size_t subspaces,
                             hpq_scan_query q0, hpq_scan_query q1) {
    (void)codes; (void)blocks; (void)subspaces; (void)q0; (void)q1;
    __builtin_trap(); // never dispatched: hpq_cpu_features() reports no AVX2 here
}
#endif
