// One-core GFLOP/s of the packed product kernels at each level against OpenBLAS sgemm, on the
// shapes of one Gemma-2-2B block: C[m × n] = X[m × k] · W[n × k]ᵀ, f32, for the row counts given.
// Time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the best of 5 runs after a
// warm-up, so other processes on a shared machine shift it less than wall time (they still share
// the caches and memory bandwidth). Each result is checked against a double-precision product.
// Kernels.avx2BLASCrossover was first set from it (one core); the current value also rests on steer-bench's
// two-thread (e) figures on a real AVX2-only CPU (Docs/Benchmarks.md, "Every CPU", session 17).
//
// Build and run (from the repository root; needs clang or gcc and OpenBLAS):
//   cc -O3 -ISources/CKernels/include -ISources/CKernels -o /tmp/bench_packed_kernels
//      Tests/Reference/bench_packed_kernels.c Sources/CKernels/kernels.c Sources/CKernels/gemm_avx2.c
//      -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lm        (one command line)
//   OPENBLAS_NUM_THREADS=1 /tmp/bench_packed_kernels [ROWS...]      (default rows: 16 32 64 128 512 1024 2048)
#include "CKernels.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// GFLOP/s of one product at `level` (-1: OpenBLAS sgemm); the worst error against double
/// precision over 64 sampled outputs, relative to Σ|x·w|, goes to `error`.
static double measure(long m, long n, long k, int level, double *error) {
    float *x = malloc(m * k * sizeof(float)), *w = malloc(n * k * sizeof(float)), *y = malloc(m * n * sizeof(float));
    float *packed = malloc(ck_packed_input_floats(m, k) * sizeof(float));
    for (long i = 0; i < m * k; i++) x[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
    for (long i = 0; i < n * k; i++) w[i] = (float)((i * 104729) % 1000) / 1000 - 0.5f;
    if (level >= 0) ck_set_thread_level(level);
    double best = INFINITY;
    for (int run = 0; run < 6; run++) {
        double t0 = cpu_seconds();
        if (level < 0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, 0, y, n);
        } else {
            ck_pack_input(x, m, k, k, packed);
            ck_gemm_packed(CK_F32, w, k, 0, n, packed, m, y, n, NULL);
        }
        double t = cpu_seconds() - t0;
        if (run > 0 && t < best) best = t;
    }
    *error = 0;
    for (long s = 0; s < 64; s++) {
        long i = (s * 37) % m, r = (s * 101) % n;
        double sum = 0, magnitude = 0;
        for (long j = 0; j < k; j++) {
            double term = (double)x[i * k + j] * w[r * k + j];
            sum += term;
            magnitude += fabs(term);
        }
        double e = fabs(sum - y[i * n + r]) / magnitude;
        if (e > *error) *error = e;
    }
    free(x), free(w), free(y), free(packed);
    ck_set_thread_level(-1);
    return 2.0 * m * n * k / best / 1e9;
}

int main(int argc, char **argv) {
    long defaults[] = {16, 32, 64, 128, 512, 1024, 2048};
    long count = argc > 1 ? argc - 1 : 7;
    // (n, k) of q, k, v, o, gate, up, down: the mix is weighted by flops like steer-bench's (e).
    long gemma2_2b[][2] = {{2048, 2304}, {1024, 2304}, {1024, 2304}, {2304, 2048}, {9216, 2304}, {9216, 2304}, {2304, 9216}};
    // STEER_BENCH_SHAPES=demo: the embedded demo model (d_model 256); 270m: Gemma 3 270M (d_model 640).
    long demo[][2] = {{256, 256}, {128, 256}, {128, 256}, {256, 256}, {768, 256}, {768, 256}, {256, 768}};
    long gemma3_270m[][2] = {{1024, 640}, {256, 640}, {256, 640}, {640, 1024}, {2048, 640}, {2048, 640}, {640, 2048}};
    const char *choice = getenv("STEER_BENCH_SHAPES");
    long (*shapes)[2] = gemma2_2b;
    if (choice && strcmp(choice, "demo") == 0) shapes = demo;
    if (choice && strcmp(choice, "270m") == 0) shapes = gemma3_270m;
    printf("shapes: %s\n", choice ? choice : "2b");
    int top = ck_level();
    printf("level in use by default: %d (0 portable, 1 AVX2, 2 AVX-512)\n", top);
    printf("%6s  %12s  %12s  %12s  %s\n", "rows", "AVX-512", "AVX2", "sgemm", "AVX2/sgemm");
    for (long c = 0; c < count; c++) {
        long m = argc > 1 ? atol(argv[c + 1]) : defaults[c];
        double rate[3], worst = 0;
        int levels[3] = {2, 1, -1};
        for (int l = 0; l < 3; l++) {
            if (levels[l] == 2 && top < 2) {
                rate[l] = NAN;
                continue;
            }
            double flops = 0, seconds = 0;
            for (int s = 0; s < 7; s++) {
                double error, f = 2.0 * m * shapes[s][0] * shapes[s][1];
                double r = measure(m, shapes[s][0], shapes[s][1], levels[l], &error);
                flops += f, seconds += f / (r * 1e9);
                if (error > worst) worst = error;
            }
            rate[l] = flops / seconds / 1e9;
        }
        printf("%6ld  %8.1f GF/s %8.1f GF/s %8.1f GF/s  %.2f×  (worst error %.1e × Σ|x·w|)\n", m, rate[0], rate[1], rate[2],
               rate[1] / rate[2], worst);
        fflush(stdout);
    }
    return 0;
}
