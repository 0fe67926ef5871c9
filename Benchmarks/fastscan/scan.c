// Fast-scan search loop over real codes and tables (export.py), timing kernel configurations in
// one process, interleaved, best of 5 — the VM this project is measured on drifts by ±30 % from
// minute to minute, so configurations are only compared within one run.
//
//   scan WIDE.bin NARROW.bin [queries]
//
// WIDE / NARROW: the same codes with 8-bit and 7-bit tables (export.py --bits). Configurations:
// the AVX2 pair kernel on each, with early stopping off (rest = NULL) and on. The loop is
// PQ4Index's phase 1 (tiles of 512 KiB, pairs of queries, 64 blocks per call, top 100 by
// (sum, position) in a heap); early stopping must not change the candidates.
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

typedef struct { size_t mp, n, nq; uint8_t *codes, *luts; uint16_t *rest; } data;

static data load(const char *path, size_t want) {
    data d;
    uint64_t h[3];
    FILE *f = fopen(path, "rb");
    if (!f || fread(h, 8, 3, f) != 3) { fprintf(stderr, "%s: cannot read\n", path); exit(2); }
    d.mp = h[0]; d.n = h[1]; d.nq = (want && want < h[2] ? want : h[2]) & ~(size_t)1;
    size_t blocks = (d.n + 31) / 32, bb = d.mp * 16;
    d.codes = aligned_alloc(64, (blocks * bb + 63) / 64 * 64);
    d.luts = malloc(h[2] * bb);
    if (fread(d.codes, 1, blocks * bb, f) != blocks * bb || fread(d.luts, 1, h[2] * bb, f) != h[2] * bb) {
        fprintf(stderr, "%s: truncated\n", path); exit(2);
    }
    fclose(f);
    d.rest = malloc(d.nq * (d.mp + 1) * 2);
    for (size_t q = 0; q < d.nq; q++) {
        uint16_t *r = d.rest + q * (d.mp + 1);
        r[d.mp] = 0;
        for (size_t m = d.mp; m-- > 0;) {
            int top = 0;
            for (int k = 0; k < 16; k++) if (d.luts[q * bb + m * 16 + k] > top) top = d.luts[q * bb + m * 16 + k];
            r[m] = (uint16_t)(r[m + 1] + top);
        }
    }
    return d;
}

/// One search pass over all queries; returns codes/s per query and a digest of the candidates.
static double pass(const data *d, int early, topk *tops, uint64_t *digest) {
    static uint16_t sums[2][64 * 32];
    static uint32_t masks[2][64];
    size_t bb = d->mp * 16, tile = (512u << 10) / (d->mp / 2) / 2048 * 2048;
    if (tile < 2048) tile = 2048;
    memset(tops, 0, sizeof(topk) * d->nq);
    double t0 = now();
    for (size_t start = 0; start < d->n; start += tile) {
        size_t end = start + tile < d->n ? start + tile : d->n;
        for (size_t q = 0; q < d->nq; q += 2)
            for (size_t b = start / 32; b < (end + 31) / 32; b += 64) {
                size_t nb = (end + 31) / 32 - b < 64 ? (end + 31) / 32 - b : 64;
                topk *a = &tops[q], *c = &tops[q + 1];
                hpq_scan_query qa = {d->luts + q * bb, early ? d->rest + q * (d->mp + 1) : NULL,
                                     a->count == K ? (uint16_t)(a->s[0] + 1) : 0, sums[0], masks[0]};
                hpq_scan_query qc = {d->luts + (q + 1) * bb, early ? d->rest + (q + 1) * (d->mp + 1) : NULL,
                                     c->count == K ? (uint16_t)(c->s[0] + 1) : 0, sums[1], masks[1]};
                hpq_fast_scan_avx2_pair(d->codes + b * bb, nb, d->mp, qa, qc);
                take(a, sums[0], masks[0], b, nb, d->n);
                take(c, sums[1], masks[1], b, nb, d->n);
            }
    }
    double rate = (double)d->n * d->nq / (now() - t0);
    *digest = 0;
    for (size_t q = 0; q < d->nq; q++)
        for (int i = 0; i < tops[q].count; i++) *digest += (uint64_t)tops[q].id[i] * (tops[q].s[i] + 1u);
    return rate;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: scan WIDE.bin NARROW.bin [queries]\n"); return 2; }
    size_t want = argc > 3 ? (size_t)atoi(argv[3]) : 0;
    data d[2] = {load(argv[1], want), load(argv[2], want)};
    if (d[0].mp != d[1].mp || d[0].n != d[1].n || d[0].nq != d[1].nq) { fprintf(stderr, "files differ in shape\n"); return 2; }
    topk *tops = malloc(sizeof(topk) * d[0].nq);
    double best[2][2] = {{0, 0}, {0, 0}};
    uint64_t digest[2][2];
    for (int round = 0; round < 5; round++)
        for (int w = 0; w < 2; w++)
            for (int early = 0; early < 2; early++) {
                double r = pass(&d[w], early, tops, &digest[w][early]);
                if (r > best[w][early]) best[w][early] = r;
            }
    printf("M=%zu, %zu items, %zu queries, codes/s per query (best of 5):\n", d[0].mp, d[0].n, d[0].nq);
    for (int w = 0; w < 2; w++)
        printf("  %s tables: early stopping off %.3g, on %.3g (%+.0f %%)\n", w ? "7-bit" : "8-bit",
               best[w][0], best[w][1], 100 * (best[w][1] / best[w][0] - 1));
    printf("  7-bit against 8-bit tables: %+.0f %% (off), %+.0f %% (on); early stopping changed %s\n",
           100 * (best[1][0] / best[0][0] - 1), 100 * (best[1][1] / best[0][1] - 1),
           digest[0][0] == digest[0][1] && digest[1][0] == digest[1][1] ? "no candidates" : "CANDIDATES");
    return digest[0][0] != digest[0][1] || digest[1][0] != digest[1][1];
}
