// AVX2+FMA bodies of the matrix products for CPUs without AVX-512 (see CKernels.h and
// ck_internal.h): the packed product with many input rows (prefill, batched generation, the head)
// and the one-row product (batch-1 decoding). kernels.c dispatches to them when the level in use is
// AVX2.
#include "ck_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define CK_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

/// Weight rows per micro-tile; inputs per micro-tile (two 8-wide vectors: one half of a packed
/// block of 32); k values per cache block; weight rows per row block; halves per input group.
#ifndef CK_A2_KC
#define CK_A2_KC 256
#endif
#ifndef CK_A2_NC
#define CK_A2_NC 96
#endif
#ifndef CK_A2_GROUP
#define CK_A2_GROUP 8
#endif
enum { CK_A2_ROWS = 6, CK_A2_INPUTS = 16 };

/// Six weight rows (each value broadcast; `rows[i]` at the first k) against 16 packed inputs (two
/// vectors per k at stride `CK_PACKED_BLOCK` floats, `xp` at the first k) for `count` values of k:
/// twelve accumulators, which start at zero when `first` and from `acc` otherwise, stored back to
/// `acc` (`6 × 16` floats, weight-row major).
CK_AVX2_FMA static void ck_tile_6x16(const float *const rows[CK_A2_ROWS], const float *xp, long count, int first,
                                     float *acc) {
    __m256 a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5;
    if (first) {
        a0 = _mm256_setzero_ps();
        a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
    } else {
        a0 = _mm256_load_ps(acc + 0), b0 = _mm256_load_ps(acc + 8);
        a1 = _mm256_load_ps(acc + 16), b1 = _mm256_load_ps(acc + 24);
        a2 = _mm256_load_ps(acc + 32), b2 = _mm256_load_ps(acc + 40);
        a3 = _mm256_load_ps(acc + 48), b3 = _mm256_load_ps(acc + 56);
        a4 = _mm256_load_ps(acc + 64), b4 = _mm256_load_ps(acc + 72);
        a5 = _mm256_load_ps(acc + 80), b5 = _mm256_load_ps(acc + 88);
    }
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3], *r4 = rows[4], *r5 = rows[5];
#define CK_A2_STEP(r, a, b)              \
    w = _mm256_broadcast_ss(r + j);      \
    a = _mm256_fmadd_ps(w, x0, a);       \
    b = _mm256_fmadd_ps(w, x1, b);
#define CK_A2_K_STEP                                                                                              \
    {                                                                                                             \
        __m256 x0 = _mm256_loadu_ps(xp + j * CK_PACKED_BLOCK), x1 = _mm256_loadu_ps(xp + j * CK_PACKED_BLOCK + 8); \
        __m256 w;                                                                                                 \
        CK_A2_STEP(r0, a0, b0) CK_A2_STEP(r1, a1, b1) CK_A2_STEP(r2, a2, b2) CK_A2_STEP(r3, a3, b3)               \
        CK_A2_STEP(r4, a4, b4) CK_A2_STEP(r5, a5, b5)                                                             \
    }
    long j = 0;
    // Sixteen k at a time (one cache line of each weight row), fetching each row's line 8 lines ahead.
    for (; j + 16 <= count;) {
        const long ahead = j + 128;
        _mm_prefetch((const char *)(r0 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r1 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r2 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r3 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r4 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r5 + ahead), _MM_HINT_T0);
        for (long end = j + 16; j < end; j++) CK_A2_K_STEP
    }
    for (; j < count; j++) CK_A2_K_STEP
#undef CK_A2_K_STEP
#undef CK_A2_STEP
    _mm256_store_ps(acc + 0, a0), _mm256_store_ps(acc + 8, b0);
    _mm256_store_ps(acc + 16, a1), _mm256_store_ps(acc + 24, b1);
    _mm256_store_ps(acc + 32, a2), _mm256_store_ps(acc + 40, b2);
    _mm256_store_ps(acc + 48, a3), _mm256_store_ps(acc + 56, b3);
    _mm256_store_ps(acc + 64, a4), _mm256_store_ps(acc + 72, b4);
    _mm256_store_ps(acc + 80, a5), _mm256_store_ps(acc + 88, b5);
}

// Loop nest (BLIS-like, without packing the weights): inputs in groups of up to 8 halves (128
// inputs), weight rows in blocks of 96, k in blocks of 256. Within one k block a tile's six rows
// (6 KiB) stay in L1 while every half of the group passes, and the group's inputs (128 KiB) stay in
// L2 while all sixteen tiles of the row block pass; the partial sums wait in `acc` (48 KiB).
// Each weight is read from memory once per group, each input once per row block.
CK_AVX2_FMA void ck_gemm_packed_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                     const float *packed, long m, float *y, long ldy, float *widened) {
    enum { TILES = CK_A2_NC / CK_A2_ROWS, TILE = CK_A2_ROWS * CK_A2_INPUTS };
    float acc[TILES][CK_A2_GROUP][TILE] __attribute__((aligned(32)));
    float halfRows[CK_A2_ROWS * CK_A2_KC] __attribute__((aligned(32)));
    long halves = (m + CK_A2_INPUTS - 1) / CK_A2_INPUTS;
    // One half (up to 16 inputs): all of k per pass, the inputs stay in L1/L2 and each tile's six
    // rows stream from memory in address order (measured faster there than k blocks).
    long block_k = halves <= 1 ? (k > 0 ? k : 1) : CK_A2_KC;
    long block_n = halves <= 1 ? CK_A2_ROWS : CK_A2_NC;
    for (long g0 = 0; g0 < halves; g0 += CK_A2_GROUP) {
        long group = halves - g0 < CK_A2_GROUP ? halves - g0 : CK_A2_GROUP;
        for (long nb = row_begin; nb < row_end; nb += block_n) {
            long nb_end = row_end - nb < block_n ? row_end : nb + block_n;
            long k0 = 0;
            do {
                long kc = k - k0 < block_k ? k - k0 : block_k;
                for (long n0 = nb, t = 0; n0 < nb_end; n0 += CK_A2_ROWS, t++) {
                    long valid = nb_end - n0 < CK_A2_ROWS ? nb_end - n0 : CK_A2_ROWS;
                    const float *rows[CK_A2_ROWS];
                    if (type == CK_F32) {
                        for (long i = 0; i < CK_A2_ROWS; i++)
                            rows[i] = (const float *)w + (n0 + (i < valid ? i : 0)) * k + k0;
                    } else {
                        // Widened a k block at a time: into `halfRows`, or `widened` when unblocked.
                        float *target = block_k > CK_A2_KC ? widened : halfRows;
                        for (long i = 0; i < valid; i++) {
                            const uint16_t *source = (const uint16_t *)w + (n0 + i) * k + k0;
                            if (type == CK_F16)
                                ck_f16_to_f32(source, target + i * block_k, kc);
                            else
                                ck_bf16_to_f32(source, target + i * block_k, kc);
                        }
                        for (long i = 0; i < CK_A2_ROWS; i++) rows[i] = target + (i < valid ? i : 0) * block_k;
                    }
                    for (long h = 0; h < group; h++) {
                        long half = g0 + h;
                        const float *xp =
                            packed + (half / 2) * CK_PACKED_BLOCK * k + k0 * CK_PACKED_BLOCK + (half % 2) * CK_A2_INPUTS;
                        ck_tile_6x16(rows, xp, kc, k0 == 0, acc[t][h]);
                    }
                }
                k0 += kc;
            } while (k0 < k);
            for (long n0 = nb, t = 0; n0 < nb_end; n0 += CK_A2_ROWS, t++) {
                long valid = nb_end - n0 < CK_A2_ROWS ? nb_end - n0 : CK_A2_ROWS;
                for (long h = 0; h < group; h++) {
                    long first = (g0 + h) * CK_A2_INPUTS;
                    long inputs = m - first < CK_A2_INPUTS ? m - first : CK_A2_INPUTS;
                    for (long p = 0; p < inputs; p++)
                        for (long i = 0; i < valid; i++) y[(first + p) * ldy + n0 + i] = acc[t][h][i * CK_A2_INPUTS + p];
                }
            }
        }
    }
}

CK_AVX2_FMA static inline float ck_a2_weight_at(ck_weight_type type, const void *w, long index) {
    switch (type) {
        case CK_F16: return _cvtsh_ss(((const uint16_t *)w)[index]);
        case CK_BF16: {
            union { uint32_t u; float f; } out = {.u = (uint32_t)((const uint16_t *)w)[index] << 16};
            return out.f;
        }
        default: return ((const float *)w)[index];
    }
}

CK_AVX2_FMA static inline __m256 ck_a2_load8(ck_weight_type type, const void *w, long index) {
    switch (type) {
        case CK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + index)));
        case CK_BF16: {
            __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + index)));
            return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
        }
        default: return _mm256_loadu_ps((const float *)w + index);
    }
}

/// One weight row's product with `x`: the lanes of `acc` (its first `vector_end` values) plus the
/// values after them, one at a time.
CK_AVX2_FMA static inline float ck_a2_row_total(__m256 acc, ck_weight_type type, const void *w, long base,
                                                long vector_end, long k, const float *x) {
    float sum = ck_sum8(acc);
    for (long j = vector_end; j < k; j++) sum += ck_a2_weight_at(type, w, base + j) * x[j];
    return sum;
}

/// One input row (decoding): eight weight rows at a time, each with its own accumulator, so every
/// core keeps eight sequential streams of memory in flight. On an AVX2-only Zen 3 this reads the weights
/// as fast as a plain eight-stream sum (1.4x one row at a time with four accumulators, the AVX-512
/// kernel's shape), and software prefetch ahead of the rows made it slower there, so there is none
/// (Docs/Benchmarks.md, session 18).
CK_AVX2_FMA void ck_gemv_rows_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                   const float *x, float *y) {
    enum { ROWS = 8 };
    long vector_end = k - k % 8;
    long r = row_begin;
    for (; r + ROWS <= row_end; r += ROWS) {
        long base = r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (long j = 0; j < vector_end; j += 8) {
            __m256 v = _mm256_loadu_ps(x + j);
            a0 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + j), v, a0);
            a1 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + k + j), v, a1);
            a2 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 2 * k + j), v, a2);
            a3 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 3 * k + j), v, a3);
            a4 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 4 * k + j), v, a4);
            a5 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 5 * k + j), v, a5);
            a6 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 6 * k + j), v, a6);
            a7 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + 7 * k + j), v, a7);
        }
        __m256 sums[ROWS] = {a0, a1, a2, a3, a4, a5, a6, a7};
        for (long i = 0; i < ROWS; i++) y[r + i] = ck_a2_row_total(sums[i], type, w, base + i * k, vector_end, k, x);
    }
    // The last rows of a range (fewer than eight): one at a time.
    for (; r < row_end; r++) {
        long base = r * k;
        __m256 a0 = _mm256_setzero_ps();
        for (long j = 0; j < vector_end; j += 8)
            a0 = _mm256_fmadd_ps(ck_a2_load8(type, w, base + j), _mm256_loadu_ps(x + j), a0);
        y[r] = ck_a2_row_total(a0, type, w, base, vector_end, k, x);
    }
}
#endif
