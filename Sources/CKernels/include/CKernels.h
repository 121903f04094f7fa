// Vectorised CPU kernels for the Gemma-2 engine: element-wise activations, RMSNorm, attention for
// one (sequence, head) pair, half-precision conversion and small-batch matrix products over
// float32, float16 or bfloat16 weights. Every function picks an AVX2/FMA/F16C body at run time when
// the CPU has those extensions and a portable C body otherwise; both compute the same formulas.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element type of a weight matrix.
typedef enum { CK_F32 = 0, CK_F16 = 1, CK_BF16 = 2 } ck_weight_type;

/// 1 when the AVX2/FMA/F16C bodies are in use, 0 for the portable ones.
int ck_uses_avx2(void);

/// 1 when the AVX-512F bodies are in use (on top of the AVX2 level).
int ck_uses_avx512(void);

/// Holds the kernels called on this thread to bodies up to `level` (0 portable, 1 AVX2, 2 AVX-512;
/// never above what the CPU has, nor above `STEER_KERNEL_LEVEL`); -1 lifts the limit. Tests use it
/// to run the lower levels on a CPU that has the higher ones without changing what other threads
/// compute (levels round differently). Parallel regions carry the caller's limit to their workers.
void ck_set_thread_level(int level);

/// This thread's limit (see ck_set_thread_level), -1 when there is none.
int ck_thread_level(void);

/// The level in use on this thread: 0 portable, 1 AVX2, 2 AVX-512.
int ck_level(void);

/// The level the environment variable `STEER_KERNEL_LEVEL` caps the kernels at (`portable` or 0,
/// `avx2` or 1, `avx512` or 2): -1 when it is unset or empty, -2 when it names no level.
int ck_environment_level(void);


/// `x[i] = cap · tanh(x[i] / cap)`.
void ck_softcap(float *x, long n, float cap);

/// `gate[i] = gelu_tanh(gate[i]) · up[i]` with gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
void ck_gelu_tanh_mul(float *gate, const float *up, long n);

/// `y[i] += x[i]`.
void ck_add(float *y, const float *x, long n);

/// Gemma RMSNorm of `rows × d` values: `y = x · rsqrt(mean(x²) + eps) · w`, the mean accumulated in
/// double precision; `w` already holds `1 + weight`. `x` and `y` may be the same buffer.
void ck_rmsnorm(const float *x, float *y, const float *w, long rows, long d, float eps);

/// Causal attention of `count` queries of one head against `start + count` cached keys/values.
/// Query t sits at absolute position `start + t` and attends to positions `low ... start + t`, where
/// `low = max(0, position − window + 1)` when `window > 0` and 0 otherwise. Scores are
/// `(q · k) · scale`, soft-capped as `cap · tanh(s / cap)` when `cap > 0`, then soft-maxed in float32.
/// `q` rows have stride `ldq`, key/value rows stride `ldkv`, output rows stride `ldo`; `scratch`
/// holds at least `start + count` floats.
void ck_attention(const float *q, long ldq, long count, long start, const float *k, const float *v, long ldkv,
                  long head_dim, float scale, float cap, long window, float *scratch, float *out, long ldo);

/// Widens `n` float16 values to float32 (exact).
void ck_f16_to_f32(const uint16_t *src, float *dst, long n);
/// Widens `n` bfloat16 values to float32 (exact).
void ck_bf16_to_f32(const uint16_t *src, float *dst, long n);
/// Rounds `n` float32 values to float16 (round to nearest even, overflow to ±inf, NaN kept).
void ck_f32_to_f16(const float *src, uint16_t *dst, long n);
/// Rounds `n` float32 values to bfloat16 (round to nearest even, NaN kept quiet).
void ck_f32_to_bf16(const float *src, uint16_t *dst, long n);
/// Widens rows `[row_begin, row_end)` of a `? × k` weight matrix of type `type` into `dst`
/// (`(row_end − row_begin) × k` floats).
void ck_widen_rows(ck_weight_type type, const void *w, long k, long row_begin, long row_end, float *dst);

/// `y[i, r] = Σ_j x[i, j] · W[r, j]` for `i < m` and `row_begin ≤ r < row_end`: the rows of a
/// row-major `? × k` weight matrix `W` of type `type` against `m` input rows `x` (stride `ldx`), written
/// to `y` with row stride `ldy`. Weight rows are read once per group of four input rows; meant for
/// small `m` (decoding), where the product is bound by memory bandwidth.
void ck_gemm_rows(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *x, long m,
                  long ldx, float *y, long ldy);

/// Floats needed by ``ck_pack_input`` for `m` rows of `k` values (rows padded to blocks of 32).
long ck_packed_input_floats(long m, long k);

/// Packs `m` input rows (`m × k`, row stride `ldx`) for ``ck_gemm_packed``: blocks of 32 rows,
/// each stored k-major (32 consecutive floats per k), the last block zero-padded.
void ck_pack_input(const float *x, long m, long k, long ldx, float *packed);

/// Floats of the `widened` buffer ``ck_gemm_packed`` needs for half-precision weights of `k` columns.
long ck_packed_widened_floats(long k);

/// 1 when ``ck_gemm_packed`` has a vector body (AVX-512 or AVX2) at the level in use (otherwise use BLAS).
int ck_gemm_packed_available(void);

/// `y[i, r] = Σ_j x[i, j] · W[r, j]` for all `m` packed input rows and weight rows
/// `[row_begin, row_end)`: each weight value is broadcast against many input rows at once (AVX-512:
/// 12 weight rows × 32 inputs per tile; AVX2: 6 × 16, blocked over k), so weights stream once per
/// call whatever `m` is. Half-precision weights are widened a block of rows at a time into `widened`
/// (``ck_packed_widened_floats`` floats; unused for f32).
void ck_gemm_packed(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *packed,
                    long m, float *y, long ldy, float *widened);

// MARK: Quantised GGUF weights

/// GGUF block types the quantised kernels read (the values are ggml's type numbers).
typedef enum {
    CK_Q4_0 = 2,
    CK_Q4_1 = 3,
    CK_Q5_0 = 6,
    CK_Q5_1 = 7,
    CK_Q8_0 = 8,
    CK_Q4_K = 12,
    CK_Q5_K = 13,
    CK_Q6_K = 14,
    CK_Q8_K = 15
} ck_quant_type;

/// Values per block of ggml type `type` (32 or 256), or 0 when the kernels do not read it.
long ck_quant_block_elements(int type);
/// Bytes per block of ggml type `type`, or 0 when the kernels do not read it.
long ck_quant_block_bytes(int type);

/// Dequantises `block_count` consecutive blocks into `dst` (block_count · block-elements floats),
/// with the float32 operations of gguf-py's dequantiser (bit-identical results).
void ck_quant_dequantize(ck_quant_type type, const void *blocks, long block_count, float *dst);

/// `y[i, r] = Σ_j x[i, j] · W[r, j]` for `i < m` and `row_begin ≤ r < row_end`, where `W` is a
/// row-major `? × k` matrix stored as consecutive GGUF blocks of `type` (`k` a multiple of the block
/// size; rows of `k / elements · bytes` bytes, blocks unaligned), read in place, against `x` (row
/// stride `ldx`). Results equal the float32 product over the dequantised rows (``ck_quant_dequantize``)
/// up to the rounding of reassociated sums: per 32 values, d·Σ q·x where a sub-block has one scale and
/// no minimum, Σ (d·q + m)·x otherwise. `y` has row stride `ldy`. Meant for small `m` (decoding): the
/// blocks are decoded once per group of up to eight (AVX-512; four with AVX2) input rows.
void ck_quant_rows(ck_quant_type type, const void *w, long k, long row_begin, long row_end, const float *x, long m,
                   long ldx, float *y, long ldy);

// MARK: Worker pool

/// One index of a parallel region: `task(context, index)`.
typedef void (*ck_task)(void *context, long index);

/// CPUs this process may run on (its affinity mask, so `taskset` and cpusets count; else the
/// online CPUs).
int ck_cpu_count(void);

/// Number of worker threads beside the caller (``ck_cpu_count`` − 1), started on first use.
int ck_pool_workers(void);

/// Calls `task(context, i)` once for every `i < count`, on the calling thread and the pool's workers
/// (which spin briefly between regions, then sleep), and returns 1 when all have finished. Returns 0
/// without running anything when the pool is already running a region (a nested or concurrent call):
/// the caller then runs the indices some other way.
int ck_pool_run(long count, ck_task task, void *context);

#ifdef __cplusplus
}
#endif

#endif
