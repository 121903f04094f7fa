// Where reading GGUF blocks stops paying: wall time of one product y[m × n] = x[m × k] · Wᵀ on two
// threads (rows split in halves, as the runtime's pool splits them), for m = 1…16 input rows, with
// the weights as GGUF blocks (ck_quant_rows) against the same weights as float32 rows (ck_gemm_rows,
// the streaming kernel the runtime uses up to 8 rows; the packed kernel above that). Shapes: the
// google/gemma-3-270m head (262,144 × 640, Q8_0) and one block's FFN projections (Q4_K gate/up
// 2,048 × 640, Q6_K down 640 × 2,048). Random blocks (finite scales); the median of 7 runs after a
// warm-up. Kernels.quantizedBatchLimit is set from this on each CPU kind we have.
//
// Build and run (from the repository root):
//   cc -O2 -pthread -ISources/CKernels/include -ISources/CKernels -o /tmp/bench_quantized_rows
//      Tests/Reference/bench_quantized_rows.c Sources/CKernels/kernels.c Sources/CKernels/gemm_avx2.c
//      Sources/CKernels/quantized.c Sources/CKernels/pool.c -lm                 (one command line)
//   /tmp/bench_quantized_rows [M...]          (default: 1 2 3 4 6 8 12 16)
#include "CKernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    int quantized, type;
    const void *w;
    const float *packed;
    long k, n, row_begin, row_end, m;
    const float *x;
    float *y;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    if (j->quantized)
        ck_quant_rows(j->type, j->w, j->k, j->row_begin, j->row_end, j->x, j->m, j->k, j->y, j->n);
    else if (j->m <= 8)
        ck_gemm_rows(CK_F32, j->w, j->k, j->row_begin, j->row_end, j->x, j->m, j->k, j->y, j->n);
    else
        ck_gemm_packed(CK_F32, j->w, j->k, j->row_begin, j->row_end, j->packed, j->m, j->y, j->n, NULL);
    return NULL;
}

/// Median wall seconds of the product on two threads.
static double timed(int quantized, int type, const void *w, const float *packed, long n, long k, const float *x, long m,
                    float *y) {
    double times[7];
    for (int run = -1; run < 7; run++) {
        long half = (n / 2 + 63) / 64 * 64;
        job a = {quantized, type, w, packed, k, n, 0, half, m, x, y};
        job b = {quantized, type, w, packed, k, n, half, n, m, x, y};
        pthread_t other;
        double t0 = wall_seconds();
        pthread_create(&other, NULL, run_job, &b);
        run_job(&a);
        pthread_join(other, NULL);
        if (run >= 0) times[run] = wall_seconds() - t0;
    }
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++)
            if (times[j] < times[i]) {
                double t = times[i];
                times[i] = times[j];
                times[j] = t;
            }
    return times[3];
}

static uint8_t *random_blocks(int type, long n, long k) {
    long bytes = n * (k / ck_quant_block_elements(type)) * ck_quant_block_bytes(type);
    uint8_t *b = malloc(bytes);
    uint64_t s = 88172645463325252ull;
    for (long i = 0; i < bytes; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        b[i] = (uint8_t)s;
    }
    // Every half-precision scale a small finite value (0x2C00 ≈ 0.0625 with random low bits).
    long block_bytes = ck_quant_block_bytes(type), blocks = bytes / block_bytes;
    for (long i = 0; i < blocks; i++) {
        uint8_t *p = b + i * block_bytes;
        long at = type == CK_Q6_K ? 208 : 0;
        p[at + 1] = 0x2C;
        if (type == CK_Q4_K) p[3] = 0x2C;
    }
    return b;
}

int main(int argc, char **argv) {
    long ms[16] = {1, 2, 3, 4, 6, 8, 12, 16};
    int count = 8;
    if (argc > 1) {
        count = 0;
        for (int i = 1; i < argc && count < 16; i++) ms[count++] = atol(argv[i]);
    }
    struct {
        const char *name;
        int type;
        long n, k;
    } shapes[] = {{"head Q8_0 262144x640", CK_Q8_0, 262144, 640},
                  {"gate Q4_K 2048x640", CK_Q4_K, 2048, 640},
                  {"down Q6_K 640x2048", CK_Q6_K, 640, 2048}};
    printf("| shape | input rows | GGUF blocks, ms | float32 rows, ms | blocks / float32 |\n|---|---:|---:|---:|---:|\n");
    for (int s = 0; s < 3; s++) {
        long n = shapes[s].n, k = shapes[s].k;
        uint8_t *blocks = random_blocks(shapes[s].type, n, k);
        float *f32 = malloc(n * k * sizeof(float));
        ck_quant_dequantize(shapes[s].type, blocks, n * k / ck_quant_block_elements(shapes[s].type), f32);
        float *x = malloc(16 * k * sizeof(float)), *y = malloc(16 * n * sizeof(float));
        float *packed = malloc(ck_packed_input_floats(16, k) * sizeof(float));
        for (long i = 0; i < 16 * k; i++) x[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
        for (int i = 0; i < count; i++) {
            long m = ms[i];
            if (m > 8) ck_pack_input(x, m, k, k, packed);
            double q = timed(1, shapes[s].type, blocks, NULL, n, k, x, m, y);
            double f = timed(0, 0, f32, packed, n, k, x, m, y);
            printf("| %s | %ld | %.2f | %.2f | %.2f |\n", shapes[s].name, m, q * 1e3, f * 1e3, q / f);
        }
        free(blocks), free(f32), free(x), free(y), free(packed);
    }
    return 0;
}
