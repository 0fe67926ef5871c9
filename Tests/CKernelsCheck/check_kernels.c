// Stand-alone check of the C fast-scan kernels against a scalar reference (the same definition
// as FastScanKernel.reference in Swift), for machines where the Swift toolchain is absent but the
// instruction set is present — e.g. verifying the AVX-512 kernel on an AVX-512 host:
//
//   cc -O2 -I ../../Sources/CKernels/include check_kernels.c ../../Sources/CKernels/*.c -o check && ./check
//
// Exits non-zero on any mismatch; kernels the processor lacks are reported as skipped.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "CKernels.h"

static void reference(const uint8_t *codes, size_t blocks, size_t m, hpq_scan_query q) {
    for (size_t b = 0; b < blocks; b++) {
        uint16_t sum[32];
        q.masks[b] = 0;
        for (int j = 0; j < 32; j++) {
            sum[j] = 0;
            for (size_t s = 0; s < m; s++) {
                uint8_t byte = codes[b * m * 16 + s * 16 + (j & 15)];
                sum[j] += q.lut[s * 16 + (j < 16 ? byte & 15 : byte >> 4)];
            }
            if (sum[j] >= q.floor) q.masks[b] |= 1u << j;
        }
        if (q.masks[b] == 0) continue;   // sums left as they were
        for (int j = 0; j < 32; j++) q.out[b * 32 + j] = sum[j];
    }
}

/// rest[s] = Σ_{s' ≥ s} max_k lut[s'][k], s = 0…m.
static void rest_bounds(const uint8_t *lut, size_t m, uint16_t *rest) {
    rest[m] = 0;
    for (size_t s = m; s-- > 0;) {
        uint8_t top = 0;
        for (int k = 0; k < 16; k++) if (lut[s * 16 + k] > top) top = lut[s * 16 + k];
        rest[s] = (uint16_t)(rest[s + 1] + top);
    }
}

static hpq_scan_query query(const uint8_t *lut, const uint16_t *rest, uint16_t floor, uint16_t *out, uint32_t *masks) {
    hpq_scan_query q = {lut, rest, floor, out, masks};
    return q;
}

static uint64_t state = 88172645463325252ull;
static uint8_t next_byte(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (uint8_t)state; }

static double seconds(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
#ifdef HPQ_SIMD_EMULATION
    unsigned f = 3;   // kernels built over SIMDe: run both whatever the processor
#else
    unsigned f = hpq_cpu_features();
#endif
    printf("cpu features: avx2=%u avx512bw=%u\n", f & 1, (f >> 1) & 1);
    int failures = 0, checks = 0;
    size_t ms[] = {2, 4, 6, 8, 16, 30, 32, 50, 64, 256};
    size_t bl[] = {1, 3, 17};
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t bi = 0; bi < sizeof bl / sizeof *bl; bi++) {
            size_t m = ms[mi], blocks = bl[bi];
            uint8_t *codes = malloc(blocks * m * 16), *lut = malloc(m * 16), *lut2 = malloc(m * 16);
            uint16_t *want = malloc(blocks * 64), *got = malloc(blocks * 64);
            uint16_t *want2 = malloc(blocks * 64), *got2 = malloc(blocks * 64);
            uint32_t *wmask = malloc(blocks * 4), *gmask = malloc(blocks * 4);
            uint32_t *wmask2 = malloc(blocks * 4), *gmask2 = malloc(blocks * 4);
            for (size_t i = 0; i < blocks * m * 16; i++) codes[i] = next_byte();
            for (size_t i = 0; i < m * 16; i++) lut[i] = i % 5 == 0 ? 255 : next_byte();
            for (size_t i = 0; i < m * 16; i++) lut2[i] = lut[m * 16 - 1 - i];
            for (int skew = 0; skew < 4; skew++) {
                // Tables: full range; narrow (every entry ≤ 127: the kernels' 8-bit pre-summing
                // paths); skewed (small entries in the second half: the kernels stop early on
                // blocks), full range then narrow again.
                if (skew == 1) for (size_t i = 0; i < m * 16; i++) { lut[i] &= 127; lut2[i] &= 127; }
                if (skew == 2) for (size_t i = 0; i < m * 16; i++) {
                    if (i >= m * 8) { lut[i] &= 7; lut2[i] &= 15; }
                    else if (i % 3 == 0) { lut[i] |= 128; lut2[i] |= 128; }
                }
                if (skew == 3) for (size_t i = 0; i < m * 8; i++) { lut[i] &= 127; lut2[i] &= 127; }
                uint16_t *rest = malloc((m + 1) * 2), *rest2 = malloc((m + 1) * 2);
                rest_bounds(lut, m, rest);
                rest_bounds(lut2, m, rest2);
                // Floors: every item, about a third of the items, the best item of the first
                // query (few blocks report), none.
                uint16_t best = 0;
                reference(codes, blocks, m, query(lut, NULL, 0, want, wmask));
                for (size_t i = 0; i < blocks * 32; i++) if (want[i] > best) best = want[i];
                uint16_t floors[] = {0, (uint16_t)(135 * m / (skew ? 2 : 1)), best, 0xFFFF};
                for (int fi = 0; fi < 4; fi++)
                    for (int ri = 0; ri < 2; ri++) {   // with and without early stopping
                        uint16_t f0 = floors[fi], f1 = (uint16_t)(floors[fi] * 9 / 10);
                        const uint16_t *r0 = ri ? rest : NULL, *r1 = ri ? rest2 : NULL;
                        memset(want, 0xAB, blocks * 64);
                        memset(want2, 0xAB, blocks * 64);
                        reference(codes, blocks, m, query(lut, NULL, f0, want, wmask));
                        reference(codes, blocks, m, query(lut2, NULL, f1, want2, wmask2));
                        // avx2, avx512, avx2 pair, the pair swapped, avx512 pair, the pair swapped
                        for (int k = 0; k < 6; k++) {
                            if (!(f & (1u << (k == 1 || k >= 4 ? 1 : 0)))) continue;
                            memset(got, 0xAB, blocks * 64);
                            memset(got2, 0xAB, blocks * 64);
                            memset(gmask, 0xCD, blocks * 4);
                            memset(gmask2, 0xCD, blocks * 4);
                            if (k == 0) hpq_fast_scan_avx2(codes, blocks, m, query(lut, r0, f0, got, gmask));
                            if (k == 1) hpq_fast_scan_avx512(codes, blocks, m, query(lut, r0, f0, got, gmask));
                            if (k == 2) hpq_fast_scan_avx2_pair(codes, blocks, m, query(lut, r0, f0, got, gmask),
                                                                query(lut2, r1, f1, got2, gmask2));
                            if (k == 3) hpq_fast_scan_avx2_pair(codes, blocks, m, query(lut2, r1, f1, got2, gmask2),
                                                                query(lut, r0, f0, got, gmask));
                            if (k == 4) hpq_fast_scan_avx512_pair(codes, blocks, m, query(lut, r0, f0, got, gmask),
                                                                  query(lut2, r1, f1, got2, gmask2));
                            if (k == 5) hpq_fast_scan_avx512_pair(codes, blocks, m, query(lut2, r1, f1, got2, gmask2),
                                                                  query(lut, r0, f0, got, gmask));
                            checks++;
                            if (memcmp(got, want, blocks * 64) != 0 || memcmp(gmask, wmask, blocks * 4) != 0 ||
                                (k != 1 && k != 0 && (memcmp(got2, want2, blocks * 64) != 0 || memcmp(gmask2, wmask2, blocks * 4) != 0))) {
                                failures++;
                                printf("MISMATCH %s M=%zu blocks=%zu floor=%u rest=%d skew=%d\n",
                                       (const char *[]){"avx2", "avx512", "avx2_pair", "avx2_pair swapped", "avx512_pair",
                                                        "avx512_pair swapped"}[k], m, blocks, f0, ri, skew);
                            }
                        }
                    }
                free(rest); free(rest2);
            }
            free(codes); free(lut); free(lut2); free(want); free(got); free(want2); free(got2);
            free(wmask); free(gmask); free(wmask2); free(gmask2);
        }
    // Throughput on 1M items (M = 16 and 32) for each available kernel.
    for (size_t m = 16; m <= 32; m *= 2) {
        size_t blocks = 1000000 / 32;
        uint8_t *codes = malloc(blocks * m * 16), *lut = malloc(m * 16);
        uint16_t *out = malloc(64 * 64);
        uint32_t *mk = malloc(64 * 4);
        for (size_t i = 0; i < blocks * m * 16; i++) codes[i] = next_byte();
        for (size_t i = 0; i < m * 16; i++) lut[i] = next_byte() & 127;
        for (int k = 0; k < 2; k++) {
            if (!(f & (1u << k))) { printf("%s: not available, skipped\n", k == 0 ? "avx2" : "avx512"); continue; }
            double best = 1e9;
            for (int rep = 0; rep < 5; rep++) {
                double t0 = seconds();
                for (size_t b = 0; b < blocks; b += 64)
                    (k == 0 ? hpq_fast_scan_avx2 : hpq_fast_scan_avx512)(codes + b * m * 16, blocks - b < 64 ? blocks - b : 64, m,
                                                                         query(lut, NULL, 0xFFF0, out, mk));
                double t = seconds() - t0;
                if (t < best) best = t;
            }
            printf("%s M=%zu: %.3g codes/s (%.1f GB/s of codes)\n", k == 0 ? "avx2" : "avx512", m, blocks * 32 / best,
                   blocks * 32 * m / 2 / best / 1e9);
        }
        free(codes); free(lut); free(out); free(mk);
    }
    printf("%d kernel checks, %d failures\n", checks, failures);
    return failures != 0;
}
