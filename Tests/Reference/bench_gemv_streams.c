// Batch-1 decode's product, y = W·x for one input row, on the Gemma-2-2B block shapes (f32): how fast
// each way of streaming W's rows reads memory on this CPU, on two threads that each take half of the
// rows. Variants, alternating within every round so drift hits them all alike:
//   - a plain sum of the weights, one sequential stream per thread, and eight row streams per thread
//     (no multiplications: what this memory system delivers to such a pattern);
//   - one row at a time with software prefetch 2 KiB ahead (the AVX2 kernel's shape before session 18,
//     and still the AVX-512 kernel's);
//   - our one-row kernel at the AVX2 level and, where the CPU has it, at the AVX-512 level (ck_gemm_rows).
// The matrices total 1 GiB, so nothing stays in the caches between rounds. Prints the median, minimum
// and maximum GB/s of weights read per variant, and checks every product against the first one.
// Docs/Benchmarks.md, "Every CPU", session 18, has the figures that moved the AVX2 kernel to eight rows.
//
// Build and run (from the repository root):
//   cc -O2 -pthread -ISources/CKernels/include -ISources/CKernels -o /tmp/bench_gemv_streams
//      Tests/Reference/bench_gemv_streams.c Sources/CKernels/kernels.c Sources/CKernels/gemm_avx2.c
//      Sources/CKernels/pool.c -lm                                              (one command line)
//   /tmp/bench_gemv_streams [ROUNDS]        (default 15)
#include "ck_internal.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AVX2_FMA __attribute__((target("avx2,fma,f16c")))

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// Rows [r0, r1) of W (k columns, k a multiple of 32) against x into y, by variant.
typedef void (*variant_fn)(const float *w, long k, long r0, long r1, const float *x, float *y);

AVX2_FMA static void sum_one_stream(const float *w, long k, long r0, long r1, const float *x, float *y) {
    (void)x;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (const float *p = w + r0 * k, *end = w + r1 * k; p < end; p += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + 24));
    }
    y[r0] = ck_sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

AVX2_FMA static void sum_eight_streams(const float *w, long k, long r0, long r1, const float *x, float *y) {
    (void)x;
    for (long r = r0; r + 8 <= r1; r += 8) {
        __m256 a[8];
        for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
        for (long j = 0; j < k; j += 8)
            for (int i = 0; i < 8; i++) a[i] = _mm256_add_ps(a[i], _mm256_loadu_ps(w + (r + i) * k + j));
        for (int i = 0; i < 8; i++) y[r + i] = ck_sum8(a[i]);
    }
}

AVX2_FMA static void one_row_prefetch(const float *w, long k, long r0, long r1, const float *x, float *y) {
    for (long r = r0; r < r1; r++) {
        const float *row = w + r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long j = 0; j < k; j += 32) {
            _mm_prefetch((const char *)(row + j) + 2048, _MM_HINT_T0);
            _mm_prefetch((const char *)(row + j) + 2048 + 64, _MM_HINT_T0);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 8), _mm256_loadu_ps(x + j + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 16), _mm256_loadu_ps(x + j + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 24), _mm256_loadu_ps(x + j + 24), a3);
        }
        y[r] = ck_sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}

static void ours_avx2(const float *w, long k, long r0, long r1, const float *x, float *y) {
    ck_set_thread_level(1);
    ck_gemm_rows(CK_F32, w, k, r0, r1, x, 1, k, y, 0);
}

static void ours_avx512(const float *w, long k, long r0, long r1, const float *x, float *y) {
    ck_set_thread_level(2);
    ck_gemm_rows(CK_F32, w, k, r0, r1, x, 1, k, y, 0);
}

typedef struct {
    const char *name;
    variant_fn fn;
    int is_product;  // checked against the first product variant
} variant;

typedef struct {
    variant_fn fn;
    const float *w, *x;
    float *y;
    long k, r0, r1;
} piece;

static void *run_piece(void *arg) {
    piece *p = arg;
    p->fn(p->w, p->k, p->r0, p->r1, p->x, p->y);
    return NULL;
}

/// Seconds for one product on two threads (this one and one more).
static double timed_product(variant_fn fn, const float *w, long n, long k, const float *x, float *y) {
    piece halves[2] = {{fn, w, x, y, k, 0, n / 2}, {fn, w, x, y, k, n / 2, n}};
    double t0 = now();
    pthread_t other;
    pthread_create(&other, NULL, run_piece, &halves[1]);
    run_piece(&halves[0]);
    pthread_join(other, NULL);
    return now() - t0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 15;
    if (rounds < 1 || rounds > 99) {
        fprintf(stderr, "ROUNDS must be 1-99\n");
        return 2;
    }
    if (!ck_uses_avx2()) {
        fprintf(stderr, "this CPU has no AVX2+FMA: nothing to compare\n");
        return 1;
    }
    variant variants[] = {
        {"plain sum, one stream per thread", sum_one_stream, 0},
        {"plain sum, eight row streams per thread", sum_eight_streams, 0},
        {"one row, prefetch 2 KiB ahead", one_row_prefetch, 1},
        {"ours, AVX2 level (eight rows)", ours_avx2, 1},
        {"ours, AVX-512 level", ours_avx512, 1},
    };
    int count = ck_uses_avx512() ? 5 : 4;
    const long shapes[2][2] = {{9216, 2304}, {2304, 9216}};  // MLP gate/up rows, MLP down rows
    for (int s = 0; s < 2; s++) {
        long n = shapes[s][0], k = shapes[s][1];
        long matrices = (1L << 30) / (n * k * 4);
        float **w = malloc(matrices * sizeof(float *));
        for (long i = 0; i < matrices; i++) {
            w[i] = aligned_alloc(64, n * k * sizeof(float));
            for (long q = 0; q < n * k; q++) w[i][q] = (float)((q * 104729 + i) % 1000) / 1000 - 0.5f;
        }
        float *x = aligned_alloc(64, k * sizeof(float)), *y = aligned_alloc(64, n * sizeof(float));
        float *reference = malloc(n * sizeof(float));
        for (long q = 0; q < k; q++) x[q] = (float)((q * 7919) % 1000) / 1000 - 0.5f;
        double rates[5][99];
        int checked = 0;
        for (int round = 0; round < rounds; round++) {
            for (int v = 0; v < count; v++) {
                double seconds = 0;
                for (long i = 0; i < matrices; i++) seconds += timed_product(variants[v].fn, w[i], n, k, x, y);
                rates[v][round] = (double)matrices * n * k * 4 / seconds / 1e9;
                if (!variants[v].is_product) continue;
                // y holds the last matrix's product: compare it with the first product variant's.
                if (!checked) {
                    memcpy(reference, y, n * sizeof(float));
                    checked = 1;
                    continue;
                }
                for (long r = 0; r < n; r++) {
                    double bound = 1e-4 * (fabs(reference[r]) + 1);
                    if (fabs(y[r] - reference[r]) > bound) {
                        fprintf(stderr, "%s: row %ld is %g, expected %g\n", variants[v].name, r, y[r], reference[r]);
                        return 1;
                    }
                }
            }
        }
        printf("W %ld x %ld f32, %ld matrices (%.2f GiB), two threads, %d rounds: GB/s median (min-max)\n", n, k,
               matrices, matrices * n * k * 4.0 / (1 << 30), rounds);
        for (int v = 0; v < count; v++) {
            qsort(rates[v], rounds, sizeof(double), by_value);
            printf("  %-42s %6.2f (%.2f-%.2f)\n", variants[v].name, rates[v][rounds / 2], rates[v][0],
                   rates[v][rounds - 1]);
        }
        for (long i = 0; i < matrices; i++) free(w[i]);
        free(w), free(x), free(y), free(reference);
    }
    return 0;
}
