// Fast-scan search loop over real codes and tables (export.py), timing kernel configurations in
// one process, interleaved, best of 5 — the VM this project is measured on drifts by ±30 % from
// minute to minute, so configurations are only compared within one run.
//
//   scan FILE.bin [queries]
//
// Configurations: the AVX2 pair kernel with early stopping off (rest = NULL) and on. The loop is
// PQIndex4's phase 1 (tiles of 512 KiB, pairs of queries, 64 blocks per call, top 100 by
// (sum, position) in a heap); the two configurations must give identical candidates.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "CKernels.h"

#define K 100
typedef struct { int count; uint16_t s[K]; int id[K]; } topk;   // heap, worst pair at the root

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int worse(uint16_t s1, int i1, uint16_t s2, int i2) { return s1 < s2 || (s1 == s2 && i1 > i2); }
static void offer(topk *t, uint16_t s, int id) {
    if (t->count < K) {
        int i = t->count++;
        while (i > 0) { int p = (i - 1) / 2; if (!worse(s, id, t->s[p], t->id[p])) break; t->s[i] = t->s[p]; t->id[i] = t->id[p]; i = p; }
        t->s[i] = s; t->id[i] = id;
        return;
    }
    if (!worse(t->s[0], t->id[0], s, id)) return;
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, c = l;
        if (l >= K) break;
        if (l + 1 < K && worse(t->s[l + 1], t->id[l + 1], t->s[l], t->id[l])) c = l + 1;
        if (!worse(t->s[c], t->id[c], s, id)) break;
        t->s[i] = t->s[c]; t->id[i] = t->id[c]; i = c;
    }
    t->s[i] = s; t->id[i] = id;
}
static void take(topk *t, const uint16_t *sums, const uint32_t *masks, size_t b, size_t nb, size_t n) {
    for (size_t blk = 0; blk < nb; blk++) {
        uint64_t m = masks[blk];
        if (!m) continue;
        size_t first = (b + blk) * 32;
        if (first + 32 > n) m &= (1ull << (n - first)) - 1;
        while (m) { int j = __builtin_ctzll(m); m &= m - 1; if (t->count < K || sums[blk * 32 + j] > t->s[0]) offer(t, sums[blk * 32 + j], (int)first + j); }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: scan FILE.bin [queries]\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    uint64_t h[3];
    if (!f || fread(h, 8, 3, f) != 3) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 2; }
    size_t mp = h[0], n = h[1], nq = h[2], blocks = (n + 31) / 32, bb = mp * 16;
    if (argc > 2 && (size_t)atoi(argv[2]) < nq) nq = (size_t)atoi(argv[2]);
    nq &= ~(size_t)1;
    uint8_t *codes = aligned_alloc(64, (blocks * bb + 63) / 64 * 64), *luts = malloc(h[2] * bb);
    if (fread(codes, 1, blocks * bb, f) != blocks * bb || fread(luts, 1, h[2] * bb, f) != h[2] * bb) { fprintf(stderr, "truncated\n"); return 2; }
    fclose(f);
    uint16_t *rest = malloc(nq * (mp + 1) * 2);
    for (size_t q = 0; q < nq; q++) {
        uint16_t *r = rest + q * (mp + 1);
        r[mp] = 0;
        for (size_t m = mp; m-- > 0;) { int top = 0; for (int k = 0; k < 16; k++) if (luts[q * bb + m * 16 + k] > top) top = luts[q * bb + m * 16 + k]; r[m] = (uint16_t)(r[m + 1] + top); }
    }
    size_t tile = (512u << 10) / (mp / 2) / 2048 * 2048;
    if (tile < 2048) tile = 2048;
    topk *tops = malloc(sizeof(topk) * nq);
    static uint16_t sums[2][64 * 32];
    static uint32_t masks[2][64];
    double best[2] = {0, 0};
    uint64_t digest[2] = {0, 0};
    for (int round = 0; round < 5; round++)
        for (int early = 0; early < 2; early++) {
            memset(tops, 0, sizeof(topk) * nq);
            double t0 = now();
            for (size_t start = 0; start < n; start += tile) {
                size_t end = start + tile < n ? start + tile : n;
                for (size_t q = 0; q < nq; q += 2)
                    for (size_t b = start / 32; b < (end + 31) / 32; b += 64) {
                        size_t nb = (end + 31) / 32 - b < 64 ? (end + 31) / 32 - b : 64;
                        topk *a = &tops[q], *c = &tops[q + 1];
                        hpq_scan_query qa = {luts + q * bb, early ? rest + q * (mp + 1) : NULL,
                                             a->count == K ? (uint16_t)(a->s[0] + 1) : 0, sums[0], masks[0]};
                        hpq_scan_query qc = {luts + (q + 1) * bb, early ? rest + (q + 1) * (mp + 1) : NULL,
                                             c->count == K ? (uint16_t)(c->s[0] + 1) : 0, sums[1], masks[1]};
                        hpq_fast_scan_avx2_pair(codes + b * bb, nb, mp, qa, qc);
                        take(a, sums[0], masks[0], b, nb, n);
                        take(c, sums[1], masks[1], b, nb, n);
                    }
            }
            double rate = (double)n * nq / (now() - t0);
            if (rate > best[early]) best[early] = rate;
            uint64_t dg = 0;
            for (size_t q = 0; q < nq; q++) for (int i = 0; i < tops[q].count; i++) dg += (uint64_t)tops[q].id[i] * (tops[q].s[i] + 1u);
            digest[early] = dg;
        }
    printf("M=%zu, %zu items, %zu queries: early stopping off %.3g, on %.3g codes/s per query (%+.0f %%); candidates %s\n",
           mp, n, nq, best[0], best[1], 100 * (best[1] / best[0] - 1), digest[0] == digest[1] ? "identical" : "DIFFER");
    return digest[0] != digest[1];
}
