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

static void reference(const uint8_t *codes, size_t blocks, size_t m, const uint8_t *lut, uint16_t threshold,
                      uint16_t *out, uint32_t *masks) {
    for (size_t b = 0; b < blocks; b++) {
        masks[b] = 0;
        for (int j = 0; j < 32; j++) {
            uint16_t sum = 0;
            for (size_t s = 0; s < m; s++) {
                uint8_t byte = codes[b * m * 16 + s * 16 + (j & 15)];
                sum += lut[s * 16 + (j < 16 ? byte & 15 : byte >> 4)];
            }
            out[b * 32 + j] = sum;
            if (sum > threshold) masks[b] |= 1u << j;
        }
    }
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
    size_t ms[] = {2, 4, 6, 8, 16, 30, 32, 64, 256};
    size_t bl[] = {1, 3, 17};
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t bi = 0; bi < sizeof bl / sizeof *bl; bi++) {
            size_t m = ms[mi], blocks = bl[bi];
            uint8_t *codes = malloc(blocks * m * 16), *lut = malloc(m * 16);
            uint16_t *want = malloc(blocks * 64), *got = malloc(blocks * 64);
            uint32_t *wmask = malloc(blocks * 4), *gmask = malloc(blocks * 4);
            for (size_t i = 0; i < blocks * m * 16; i++) codes[i] = next_byte();
            for (size_t i = 0; i < m * 16; i++) lut[i] = i % 5 == 0 ? 255 : next_byte();
            uint16_t thresholds[] = {0, (uint16_t)(127 * m / 2), 0xFFFF};
            for (int ti = 0; ti < 3; ti++) {
                reference(codes, blocks, m, lut, thresholds[ti], want, wmask);
                for (int k = 0; k < 2; k++) {
                    if (!(f & (1u << k))) continue;
                    memset(got, 0xAB, blocks * 64);
                    memset(gmask, 0xAB, blocks * 4);
                    (k == 0 ? hpq_fast_scan_avx2 : hpq_fast_scan_avx512)(codes, blocks, m, lut, thresholds[ti], got, gmask);
                    checks++;
                    if (memcmp(got, want, blocks * 64) != 0 || memcmp(gmask, wmask, blocks * 4) != 0) {
                        failures++;
                        printf("MISMATCH %s M=%zu blocks=%zu threshold=%u\n", k == 0 ? "avx2" : "avx512", m, blocks, thresholds[ti]);
                    }
                }
            }
            // The two-query AVX2 kernel equals two single passes (second table: reversed bytes).
            if (f & 1u) {
                uint8_t *lut2 = malloc(m * 16);
                uint16_t *want2 = malloc(blocks * 64), *got2 = malloc(blocks * 64);
                uint32_t *wmask2 = malloc(blocks * 4), *gmask2 = malloc(blocks * 4);
                for (size_t i = 0; i < m * 16; i++) lut2[i] = lut[m * 16 - 1 - i];
                uint16_t t0 = (uint16_t)(100 * m / 2), t1 = (uint16_t)(140 * m / 2);
                reference(codes, blocks, m, lut, t0, want, wmask);
                reference(codes, blocks, m, lut2, t1, want2, wmask2);
                hpq_fast_scan_avx2_pair(codes, blocks, m, lut, lut2, t0, t1, got, got2, gmask, gmask2);
                checks++;
                if (memcmp(got, want, blocks * 64) || memcmp(got2, want2, blocks * 64) ||
                    memcmp(gmask, wmask, blocks * 4) || memcmp(gmask2, wmask2, blocks * 4)) {
                    failures++;
                    printf("MISMATCH avx2_pair M=%zu blocks=%zu\n", m, blocks);
                }
                free(lut2); free(want2); free(got2); free(wmask2); free(gmask2);
            }
            free(codes); free(lut); free(want); free(got); free(wmask); free(gmask);
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
                    (k == 0 ? hpq_fast_scan_avx2 : hpq_fast_scan_avx512)(codes + b * m * 16, blocks - b < 64 ? blocks - b : 64, m, lut, 0xFFF0, out, mk);
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
