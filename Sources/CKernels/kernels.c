// See CKernels.h. Each public function dispatches once per call on `ck_uses_avx2()`; the AVX2
// bodies carry a `target` attribute so the rest of the package builds for the baseline x86-64 (or
// any other architecture, where only the portable bodies exist).
#include "ck_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#include <immintrin.h>
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define CK_X86 0
#endif

static int ck_avx2_state = -1;
static int ck_avx512_state = -1;
/// The level this thread's kernels are held to (-1: no limit); see ck_set_thread_level.
static _Thread_local int ck_thread_limit = -1;

int ck_environment_level(void) {
    const char *value = getenv("STEER_KERNEL_LEVEL");
    if (value == NULL || value[0] == 0) return -1;
    if (strcmp(value, "portable") == 0 || strcmp(value, "0") == 0) return 0;
    if (strcmp(value, "avx2") == 0 || strcmp(value, "1") == 0) return 1;
    if (strcmp(value, "avx512") == 0 || strcmp(value, "2") == 0) return 2;
    return -2;
}

/// Sets both process-wide levels from what the CPU has, capped at `STEER_KERNEL_LEVEL` when that
/// names a level. Idempotent, so threads racing through it store the same values.
static void ck_detect(void) {
    int level = 2;
    int forced = ck_environment_level();
    if (forced >= 0 && forced < level) level = forced;
#if CK_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    ck_avx512_state = avx2 && __builtin_cpu_supports("avx512f") && level >= 2;
    ck_avx2_state = avx2 && level >= 1;
#else
    (void)level;
    ck_avx512_state = 0;
    ck_avx2_state = 0;
#endif
}

int ck_uses_avx2(void) {
    if (ck_avx2_state < 0) ck_detect();
    return ck_avx2_state && (ck_thread_limit < 0 || ck_thread_limit >= 1);
}

int ck_uses_avx512(void) {
    if (ck_avx2_state < 0) ck_detect();
    return ck_avx512_state && (ck_thread_limit < 0 || ck_thread_limit >= 2);
}

void ck_set_thread_level(int level) { ck_thread_limit = level; }

int ck_thread_level(void) { return ck_thread_limit; }

int ck_level(void) { return ck_uses_avx512() ? 2 : ck_uses_avx2(); }

// MARK: - Scalar math shared by the portable bodies and the loop tails

// exp(x) by Cody–Waite range reduction x = n·ln2 + r and a degree-6 polynomial for e^r (the
// Cephes coefficients), scaled by 2^n through the exponent bits. Relative error ≈ 1e-7.
static const float ck_exp_hi = 88.3762626647949f, ck_exp_lo = -87.3365447504f;
static const float ck_log2e = 1.44269504088896341f, ck_ln2_hi = 0.693359375f, ck_ln2_lo = -2.12194440e-4f;
static const float ck_p0 = 1.9875691500e-4f, ck_p1 = 1.3981999507e-3f, ck_p2 = 8.3334519073e-3f,
                   ck_p3 = 4.1665795894e-2f, ck_p4 = 1.6666665459e-1f, ck_p5 = 5.0000001201e-1f;
// tanh(x) for |x| < 0.625: x + x³·P(x²) (Cephes tanhf); above it 1 − 2/(e^{2|x|} + 1).
static const float ck_t0 = -5.70498872745e-3f, ck_t1 = 2.06390887954e-2f, ck_t2 = -5.37397155531e-2f,
                   ck_t3 = 1.33314422036e-1f, ck_t4 = -3.33332819422e-1f;

static inline float ck_expf(float x) {
    if (x > ck_exp_hi) x = ck_exp_hi;
    if (x < ck_exp_lo) x = ck_exp_lo;
    float n = nearbyintf(x * ck_log2e);
    float r = x - n * ck_ln2_hi - n * ck_ln2_lo;
    float z = r * r;
    float y = ((((ck_p0 * r + ck_p1) * r + ck_p2) * r + ck_p3) * r + ck_p4) * r + ck_p5;
    y = y * z + r + 1.0f;
    union { uint32_t u; float f; } scale = {.u = (uint32_t)((int32_t)n + 127) << 23};
    return y * scale.f;
}

static inline float ck_tanhf(float x) {
    float a = fabsf(x);
    float result;
    if (a < 0.625f) {
        float z = x * x;
        float p = (((ck_t0 * z + ck_t1) * z + ck_t2) * z + ck_t3) * z + ck_t4;
        return x + x * z * p;
    }
    if (a > 9.0f) {
        result = 1.0f;
    } else {
        result = 1.0f - 2.0f / (ck_expf(2.0f * a) + 1.0f);
    }
    return x < 0 ? -result : result;
}

static const float ck_gelu_beta = 0.7978845608028654f, ck_gelu_kappa = 0.044715f;

static inline float ck_gelu_tanh(float x) {
    float inner = ck_gelu_beta * (x + ck_gelu_kappa * (x * x * x));
    return 0.5f * x * (1.0f + ck_tanhf(inner));
}

static inline float ck_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int shift = 0;
            while ((mantissa & 0x400u) == 0) {
                mantissa <<= 1;
                shift++;
            }
            mantissa &= 0x3ffu;
            bits = sign | ((uint32_t)(127 - 15 + 1 - shift) << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    union { uint32_t u; float f; } out = {.u = bits};
    return out.f;
}

static inline uint16_t ck_float_to_half(float f) {
    union { float f; uint32_t u; } in = {.f = f};
    uint32_t x = in.u;
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude >= 0x7f800000u) {  // inf or NaN
        return sign | 0x7c00u | (magnitude > 0x7f800000u ? (uint16_t)(0x200u | ((magnitude >> 13) & 0x3ffu)) : 0);
    }
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // rounds to ≥ 65520: overflow
    if (magnitude < 0x38800000u) {                        // below the smallest normal half: subnormal or zero
        if (magnitude < 0x33000000u) return sign;         // < 2^-25 rounds to zero
        uint32_t exponent = magnitude >> 23;
        uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent;  // 14 + (112 - exponent)
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t rounded = magnitude - 0x38000000u;  // rebias exponent 127 → 15
    uint32_t rest = rounded & 0x1fffu;
    uint32_t half = rounded >> 13;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half++;
    return sign | (uint16_t)half;
}

static inline float ck_bf16_to_float(uint16_t b) {
    union { uint32_t u; float f; } out = {.u = (uint32_t)b << 16};
    return out.f;
}

static inline uint16_t ck_float_to_bf16(float f) {
    union { float f; uint32_t u; } in = {.f = f};
    if ((in.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((in.u >> 16) | 0x40u);
    uint32_t bias = 0x7fffu + ((in.u >> 16) & 1u);
    return (uint16_t)((in.u + bias) >> 16);
}

static inline float ck_weight_at(ck_weight_type type, const void *w, long index) {
    switch (type) {
        case CK_F16: return ck_half_to_float(((const uint16_t *)w)[index]);
        case CK_BF16: return ck_bf16_to_float(((const uint16_t *)w)[index]);
        default: return ((const float *)w)[index];
    }
}

// MARK: - AVX2 building blocks

#if CK_X86
CK_AVX2 static inline __m256 ck_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(ck_exp_lo)), _mm256_set1_ps(ck_exp_hi));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(ck_log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // Separate multiplies and subtractions (no FMA) so the reduction rounds like the scalar body.
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(ck_ln2_hi)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(ck_ln2_lo)));
    __m256 z = _mm256_mul_ps(r, r);
    __m256 y = _mm256_set1_ps(ck_p0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(ck_p1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(ck_p2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(ck_p3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(ck_p4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(ck_p5));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, z, r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

CK_AVX2 static inline __m256 ck_tanh8(__m256 x) {
    __m256 signMask = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(signMask, x);
    // Small branch: odd polynomial.
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(ck_t0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(ck_t1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(ck_t2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(ck_t3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(ck_t4));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, z), p, x);
    // Large branch: 1 − 2/(e^{2|x|} + 1), saturating to 1 above 9.
    __m256 e = ck_exp8(_mm256_add_ps(a, a));
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    large = _mm256_blendv_ps(large, _mm256_set1_ps(1.0f), _mm256_cmp_ps(a, _mm256_set1_ps(9.0f), _CMP_GT_OQ));
    large = _mm256_or_ps(large, _mm256_and_ps(x, signMask));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

/// Eight weights starting at `index`, widened to float32.
CK_AVX2 static inline __m256 ck_load8(ck_weight_type type, const void *w, long index) {
    switch (type) {
        case CK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + index)));
        case CK_BF16: {
            __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + index)));
            return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
        }
        default: return _mm256_loadu_ps((const float *)w + index);
    }
}
#endif

// MARK: - Element-wise

#if CK_X86
CK_AVX2 static void ck_softcap_avx2(float *x, long n, float cap) {
    __m256 c = _mm256_set1_ps(cap);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), c);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(ck_tanh8(v), c));
    }
    for (; i < n; i++) x[i] = ck_tanhf(x[i] / cap) * cap;
}

CK_AVX2 static void ck_gelu_tanh_mul_avx2(float *gate, const float *up, long n) {
    __m256 beta = _mm256_set1_ps(ck_gelu_beta), kappa = _mm256_set1_ps(ck_gelu_kappa);
    __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(gate + i);
        __m256 cube = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 inner = _mm256_mul_ps(beta, _mm256_add_ps(x, _mm256_mul_ps(kappa, cube)));
        __m256 g = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, ck_tanh8(inner)));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(g, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = ck_gelu_tanh(gate[i]) * up[i];
}

CK_AVX2 static void ck_add_avx2(float *y, const float *x, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

CK_AVX2 static void ck_rmsnorm_avx2(const float *x, float *y, const float *w, long rows, long d, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * d;
        float *target = y + r * d;
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        long i = 0;
        for (; i + 8 <= d; i += 8) {
            __m256 v = _mm256_loadu_ps(row + i);
            __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
            s0 = _mm256_fmadd_pd(lo, lo, s0);
            s1 = _mm256_fmadd_pd(hi, hi, s1);
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
        double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for (; i < d; i++) sum += (double)row[i] * (double)row[i];
        float inverse = 1.0f / sqrtf((float)(sum / (double)d) + eps);
        __m256 inv = _mm256_set1_ps(inverse);
        i = 0;
        for (; i + 8 <= d; i += 8) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(row + i), inv);
            _mm256_storeu_ps(target + i, _mm256_mul_ps(v, _mm256_loadu_ps(w + i)));
        }
        for (; i < d; i++) target[i] = (row[i] * inverse) * w[i];
    }
}
#endif

void ck_softcap(float *x, long n, float cap) {
#if CK_X86
    if (ck_uses_avx2()) { ck_softcap_avx2(x, n, cap); return; }
#endif
    for (long i = 0; i < n; i++) x[i] = ck_tanhf(x[i] / cap) * cap;
}

void ck_gelu_tanh_mul(float *gate, const float *up, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_gelu_tanh_mul_avx2(gate, up, n); return; }
#endif
    for (long i = 0; i < n; i++) gate[i] = ck_gelu_tanh(gate[i]) * up[i];
}

void ck_add(float *y, const float *x, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_add_avx2(y, x, n); return; }
#endif
    for (long i = 0; i < n; i++) y[i] += x[i];
}

void ck_rmsnorm(const float *x, float *y, const float *w, long rows, long d, float eps) {
#if CK_X86
    if (ck_uses_avx2()) { ck_rmsnorm_avx2(x, y, w, rows, d, eps); return; }
#endif
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * d;
        float *target = y + r * d;
        double sum = 0;
        for (long i = 0; i < d; i++) sum += (double)row[i] * (double)row[i];
        float inverse = 1.0f / sqrtf((float)(sum / (double)d) + eps);
        for (long i = 0; i < d; i++) target[i] = (row[i] * inverse) * w[i];
    }
}

// MARK: - Attention

/// Soft-cap, then soft-max in place over `scores[0 ..< n]`.
static void ck_softmax_scalar(float *scores, long n, float cap) {
    float maximum = -INFINITY;
    for (long j = 0; j < n; j++) {
        if (cap > 0) scores[j] = ck_tanhf(scores[j] / cap) * cap;
        if (scores[j] > maximum) maximum = scores[j];
    }
    float sum = 0;
    for (long j = 0; j < n; j++) {
        scores[j] = ck_expf(scores[j] - maximum);
        sum += scores[j];
    }
    float inverse = 1.0f / sum;
    for (long j = 0; j < n; j++) scores[j] *= inverse;
}

#if CK_X86
CK_AVX2 static void ck_attention_avx2(const float *q, long ldq, long count, long start, const float *k, const float *v,
                                      long ldkv, long head_dim, float scale, float cap, long window, float *scratch,
                                      float *out, long ldo) {
    for (long t = 0; t < count; t++) {
        long position = start + t;
        long low = window > 0 && position - window + 1 > 0 ? position - window + 1 : 0;
        long n = position - low + 1;
        const float *query = q + t * ldq;
        // Scores.
        for (long j = 0; j < n; j++) {
            const float *key = k + (low + j) * ldkv;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            long i = 0;
            for (; i + 16 <= head_dim; i += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i), _mm256_loadu_ps(key + i), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i + 8), _mm256_loadu_ps(key + i + 8), a1);
            }
            float dot = ck_sum8(_mm256_add_ps(a0, a1));
            for (; i < head_dim; i++) dot += query[i] * key[i];
            scratch[j] = dot * scale;
        }
        // Soft-cap and soft-max.
        float maximum = -INFINITY;
        long j = 0;
        if (cap > 0) {
            __m256 c = _mm256_set1_ps(cap);
            for (; j + 8 <= n; j += 8)
                _mm256_storeu_ps(scratch + j, _mm256_mul_ps(ck_tanh8(_mm256_div_ps(_mm256_loadu_ps(scratch + j), c)), c));
            for (; j < n; j++) scratch[j] = ck_tanhf(scratch[j] / cap) * cap;
        }
        for (j = 0; j < n; j++)
            if (scratch[j] > maximum) maximum = scratch[j];
        __m256 m = _mm256_set1_ps(maximum), total = _mm256_setzero_ps();
        float sum = 0;
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(scratch + j), m));
            _mm256_storeu_ps(scratch + j, e);
            total = _mm256_add_ps(total, e);
        }
        sum = ck_sum8(total);
        for (; j < n; j++) {
            scratch[j] = ck_expf(scratch[j] - maximum);
            sum += scratch[j];
        }
        float inverse = 1.0f / sum;
        // Weighted sum of values, 64 output dimensions at a time held in registers.
        float *target = out + t * ldo;
        long i = 0;
        for (; i + 64 <= head_dim; i += 64) {
            __m256 o[8];
            for (int r = 0; r < 8; r++) o[r] = _mm256_setzero_ps();
            for (j = 0; j < n; j++) {
                __m256 p = _mm256_set1_ps(scratch[j] * inverse);
                const float *value = v + (low + j) * ldkv + i;
                for (int r = 0; r < 8; r++) o[r] = _mm256_fmadd_ps(p, _mm256_loadu_ps(value + 8 * r), o[r]);
            }
            for (int r = 0; r < 8; r++) _mm256_storeu_ps(target + i + 8 * r, o[r]);
        }
        for (; i < head_dim; i++) {
            float acc = 0;
            for (j = 0; j < n; j++) acc += scratch[j] * inverse * v[(low + j) * ldkv + i];
            target[i] = acc;
        }
    }
}
#endif

void ck_attention(const float *q, long ldq, long count, long start, const float *k, const float *v, long ldkv,
                  long head_dim, float scale, float cap, long window, float *scratch, float *out, long ldo) {
#if CK_X86
    if (ck_uses_avx2()) {
        ck_attention_avx2(q, ldq, count, start, k, v, ldkv, head_dim, scale, cap, window, scratch, out, ldo);
        return;
    }
#endif
    for (long t = 0; t < count; t++) {
        long position = start + t;
        long low = window > 0 && position - window + 1 > 0 ? position - window + 1 : 0;
        long n = position - low + 1;
        const float *query = q + t * ldq;
        for (long j = 0; j < n; j++) {
            const float *key = k + (low + j) * ldkv;
            float dot = 0;
            for (long i = 0; i < head_dim; i++) dot += query[i] * key[i];
            scratch[j] = dot * scale;
        }
        ck_softmax_scalar(scratch, n, cap);
        float *target = out + t * ldo;
        for (long i = 0; i < head_dim; i++) target[i] = 0;
        for (long j = 0; j < n; j++) {
            const float *value = v + (low + j) * ldkv;
            for (long i = 0; i < head_dim; i++) target[i] += scratch[j] * value[i];
        }
    }
}

// MARK: - Half precision

#if CK_X86
CK_AVX2 static void ck_widen_avx2(ck_weight_type type, const uint16_t *src, float *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, ck_load8(type, src, i));
    for (; i < n; i++) dst[i] = ck_weight_at(type, src, i);
}

CK_AVX2 static void ck_f32_to_f16_avx2(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ck_float_to_half(src[i]);
}
#endif

void ck_f16_to_f32(const uint16_t *src, float *dst, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_widen_avx2(CK_F16, src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = ck_half_to_float(src[i]);
}

void ck_bf16_to_f32(const uint16_t *src, float *dst, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_widen_avx2(CK_BF16, src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = ck_bf16_to_float(src[i]);
}

void ck_f32_to_f16(const float *src, uint16_t *dst, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_f32_to_f16_avx2(src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = ck_float_to_half(src[i]);
}

#if CK_X86
/// Round to nearest even by adding 0x7fff plus the lowest kept bit, as the scalar body; NaNs keep
/// their sign and top mantissa bits and are made quiet.
CK_AVX2 static void ck_f32_to_bf16_avx2(const float *src, uint16_t *dst, long n) {
    const __m256i magnitude = _mm256_set1_epi32(0x7fffffff), infinity = _mm256_set1_epi32(0x7f800000);
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i lowest = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
        __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, lowest)), 16);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, magnitude), infinity);
        __m256i kept = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
        __m256i bits = _mm256_blendv_epi8(rounded, kept, nan);
        // Pack eight 32-bit lanes (each < 65536) into eight 16-bit values in order.
        __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(bits), _mm256_extracti128_si256(bits, 1));
        _mm_storeu_si128((__m128i *)(dst + i), packed);
    }
    for (; i < n; i++) dst[i] = ck_float_to_bf16(src[i]);
}
#endif

void ck_f32_to_bf16(const float *src, uint16_t *dst, long n) {
#if CK_X86
    if (ck_uses_avx2()) { ck_f32_to_bf16_avx2(src, dst, n); return; }
#endif
    for (long i = 0; i < n; i++) dst[i] = ck_float_to_bf16(src[i]);
}

void ck_widen_rows(ck_weight_type type, const void *w, long k, long row_begin, long row_end, float *dst) {
    long n = (row_end - row_begin) * k;
    switch (type) {
        case CK_F16: ck_f16_to_f32((const uint16_t *)w + row_begin * k, dst, n); break;
        case CK_BF16: ck_bf16_to_f32((const uint16_t *)w + row_begin * k, dst, n); break;
        default: memcpy(dst, (const float *)w + row_begin * k, (size_t)n * sizeof(float)); break;
    }
}

// MARK: - Small-batch products

#if CK_X86
/// Two weight rows against up to four input rows: eight accumulators, each weight vector loaded
/// and widened once per four products.
CK_AVX2 static void ck_gemm_rows_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                      const float *x, long m, long ldx, float *y, long ldy) {
    long vector_end = k - k % 8;
    for (long i0 = 0; i0 < m; i0 += 4) {
        long mi = m - i0 < 4 ? m - i0 : 4;
        const float *x0 = x + i0 * ldx;
        const float *x1 = x0 + (mi > 1 ? ldx : 0), *x2 = x0 + (mi > 2 ? 2 * ldx : 0), *x3 = x0 + (mi > 3 ? 3 * ldx : 0);
        long r = row_begin;
        for (; r + 2 <= row_end; r += 2) {
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            long base0 = r * k, base1 = (r + 1) * k;
            for (long j = 0; j < vector_end; j += 8) {
                __m256 w0 = ck_load8(type, w, base0 + j), w1 = ck_load8(type, w, base1 + j);
                __m256 v0 = _mm256_loadu_ps(x0 + j), v1 = _mm256_loadu_ps(x1 + j);
                __m256 v2 = _mm256_loadu_ps(x2 + j), v3 = _mm256_loadu_ps(x3 + j);
                a00 = _mm256_fmadd_ps(w0, v0, a00);
                a01 = _mm256_fmadd_ps(w0, v1, a01);
                a02 = _mm256_fmadd_ps(w0, v2, a02);
                a03 = _mm256_fmadd_ps(w0, v3, a03);
                a10 = _mm256_fmadd_ps(w1, v0, a10);
                a11 = _mm256_fmadd_ps(w1, v1, a11);
                a12 = _mm256_fmadd_ps(w1, v2, a12);
                a13 = _mm256_fmadd_ps(w1, v3, a13);
            }
            float s[2][4] = {{ck_sum8(a00), ck_sum8(a01), ck_sum8(a02), ck_sum8(a03)},
                             {ck_sum8(a10), ck_sum8(a11), ck_sum8(a12), ck_sum8(a13)}};
            const float *xs[4] = {x0, x1, x2, x3};
            for (long j = vector_end; j < k; j++) {
                float w0 = ck_weight_at(type, w, base0 + j), w1 = ck_weight_at(type, w, base1 + j);
                for (int c = 0; c < 4; c++) {
                    s[0][c] += w0 * xs[c][j];
                    s[1][c] += w1 * xs[c][j];
                }
            }
            for (long c = 0; c < mi; c++) {
                y[(i0 + c) * ldy + r] = s[0][c];
                y[(i0 + c) * ldy + r + 1] = s[1][c];
            }
        }
        for (; r < row_end; r++) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            long base = r * k;
            for (long j = 0; j < vector_end; j += 8) {
                __m256 w0 = ck_load8(type, w, base + j);
                a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + j), a0);
                a1 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x1 + j), a1);
                a2 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x2 + j), a2);
                a3 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x3 + j), a3);
            }
            float s[4] = {ck_sum8(a0), ck_sum8(a1), ck_sum8(a2), ck_sum8(a3)};
            const float *xs[4] = {x0, x1, x2, x3};
            for (long j = vector_end; j < k; j++) {
                float w0 = ck_weight_at(type, w, base + j);
                for (int c = 0; c < 4; c++) s[c] += w0 * xs[c][j];
            }
            for (long c = 0; c < mi; c++) y[(i0 + c) * ldy + r] = s[c];
        }
    }
}
#endif

#if CK_X86
#define CK_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

CK_AVX512 static inline __m512 ck_load16(ck_weight_type type, const void *w, long index) {
    switch (type) {
        case CK_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + index)));
        case CK_BF16: {
            __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + index)));
            return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
        }
        default: return _mm512_loadu_ps((const float *)w + index);
    }
}

/// Four weight rows against four input rows: sixteen 16-wide accumulators, each weight vector
/// loaded and widened once per four products and each input vector once per four rows.
#ifndef CK_PREFETCH_BYTES
#define CK_PREFETCH_BYTES 2048
#endif

/// One input row (decoding): the weight rows are read strictly in address order, one row at a
/// time with four independent accumulators, so each core streams one sequential run of memory
/// (what hardware prefetchers handle best); software prefetch runs ahead across the 4 KiB page
/// boundaries where hardware prefetchers stop (file mappings have no huge pages).
CK_AVX512 static void ck_gemv_rows_avx512(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                          const float *x, float *y) {
    long vector_end = k - k % 64;
    const char *bytes = (const char *)w;
    long width = type == CK_F32 ? 4 : 2;
    for (long r = row_begin; r < row_end; r++) {
        long base = r * k;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        long j = 0;
        for (; j < vector_end; j += 64) {
            _mm_prefetch(bytes + (base + j) * width + CK_PREFETCH_BYTES, _MM_HINT_T0);
            _mm_prefetch(bytes + (base + j) * width + CK_PREFETCH_BYTES + 64, _MM_HINT_T0);
            if (width == 4) {
                _mm_prefetch(bytes + (base + j) * width + CK_PREFETCH_BYTES + 128, _MM_HINT_T0);
                _mm_prefetch(bytes + (base + j) * width + CK_PREFETCH_BYTES + 192, _MM_HINT_T0);
            }
            a0 = _mm512_fmadd_ps(ck_load16(type, w, base + j), _mm512_loadu_ps(x + j), a0);
            a1 = _mm512_fmadd_ps(ck_load16(type, w, base + j + 16), _mm512_loadu_ps(x + j + 16), a1);
            a2 = _mm512_fmadd_ps(ck_load16(type, w, base + j + 32), _mm512_loadu_ps(x + j + 32), a2);
            a3 = _mm512_fmadd_ps(ck_load16(type, w, base + j + 48), _mm512_loadu_ps(x + j + 48), a3);
        }
        for (; j + 16 <= k; j += 16) a0 = _mm512_fmadd_ps(ck_load16(type, w, base + j), _mm512_loadu_ps(x + j), a0);
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        for (; j < k; j++) sum += ck_weight_at(type, w, base + j) * x[j];
        y[r] = sum;
    }
}

CK_AVX512 static void ck_gemm_rows_avx512(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                          const float *x, long m, long ldx, float *y, long ldy) {
    if (m == 1) {
        ck_gemv_rows_avx512(type, w, k, row_begin, row_end, x, y);
        return;
    }
    long vector_end = k - k % 16;
    for (long i0 = 0; i0 < m; i0 += 4) {
        long mi = m - i0 < 4 ? m - i0 : 4;
        const float *xs[4];
        for (int c = 0; c < 4; c++) xs[c] = x + (i0 + (c < mi ? c : 0)) * ldx;
        long r = row_begin;
        for (; r < row_end; r += 4) {
            long ri = row_end - r < 4 ? row_end - r : 4;
            long base[4];
            for (int q = 0; q < 4; q++) base[q] = (r + (q < ri ? q : 0)) * k;
            __m512 acc[4][4];
            for (int q = 0; q < 4; q++)
                for (int c = 0; c < 4; c++) acc[q][c] = _mm512_setzero_ps();
            for (long j = 0; j < vector_end; j += 16) {
                __m512 v0 = _mm512_loadu_ps(xs[0] + j), v1 = _mm512_loadu_ps(xs[1] + j);
                __m512 v2 = _mm512_loadu_ps(xs[2] + j), v3 = _mm512_loadu_ps(xs[3] + j);
                for (int q = 0; q < 4; q++) {
                    __m512 wq = ck_load16(type, w, base[q] + j);
                    acc[q][0] = _mm512_fmadd_ps(wq, v0, acc[q][0]);
                    acc[q][1] = _mm512_fmadd_ps(wq, v1, acc[q][1]);
                    acc[q][2] = _mm512_fmadd_ps(wq, v2, acc[q][2]);
                    acc[q][3] = _mm512_fmadd_ps(wq, v3, acc[q][3]);
                }
            }
            for (int q = 0; q < ri; q++) {
                for (int c = 0; c < mi; c++) {
                    float sum = _mm512_reduce_add_ps(acc[q][c]);
                    for (long j = vector_end; j < k; j++) sum += ck_weight_at(type, w, base[q] + j) * xs[c][j];
                    y[(i0 + c) * ldy + r + q] = sum;
                }
            }
        }
    }
}
#endif

void ck_gemm_rows(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *x, long m,
                  long ldx, float *y, long ldy) {
#if CK_X86
    if (ck_uses_avx512()) {
        ck_gemm_rows_avx512(type, w, k, row_begin, row_end, x, m, ldx, y, ldy);
        return;
    }
    if (ck_uses_avx2()) {
        if (m == 1)
            ck_gemv_rows_avx2(type, w, k, row_begin, row_end, x, y);
        else
            ck_gemm_rows_avx2(type, w, k, row_begin, row_end, x, m, ldx, y, ldy);
        return;
    }
#endif
    for (long i = 0; i < m; i++) {
        const float *input = x + i * ldx;
        for (long r = row_begin; r < row_end; r++) {
            float acc = 0;
            for (long j = 0; j < k; j++) acc += ck_weight_at(type, w, r * k + j) * input[j];
            y[i * ldy + r] = acc;
        }
    }
}

// MARK: - Matrix products with many input rows (AVX-512)

/// Input rows per block of the packed, transposed input, and weight rows per micro-tile.
enum { CK_BLOCK_ROWS = CK_PACKED_BLOCK, CK_TILE_WEIGHTS = 12 };

long ck_packed_input_floats(long m, long k) {
    return ((m + CK_BLOCK_ROWS - 1) / CK_BLOCK_ROWS) * CK_BLOCK_ROWS * k;
}

/// Columns `[j_begin, k)` of one block of up to 32 input rows (`rows` valid, the rest zero) into its
/// k-major layout, one value at a time.
static void ck_pack_columns(const float *x, long rows, long j_begin, long k, long ldx, float *target) {
    for (long j = j_begin; j < k; j++)
        for (long r = 0; r < CK_BLOCK_ROWS; r++) target[j * CK_BLOCK_ROWS + r] = r < rows ? x[r * ldx + j] : 0;
}

#if CK_X86
/// One block of up to 32 input rows (`rows` valid, the rest zero) into its k-major layout, eight
/// rows × eight k at a time through an in-register 8 × 8 transpose.
CK_AVX2 static void ck_pack_block_avx2(const float *x, long rows, long k, long ldx, float *target) {
    long j = 0;
    for (; j + 8 <= k; j += 8) {
        for (long r0 = 0; r0 < CK_BLOCK_ROWS; r0 += 8) {
            __m256 v[8];
            for (long i = 0; i < 8; i++)
                v[i] = r0 + i < rows ? _mm256_loadu_ps(x + (r0 + i) * ldx + j) : _mm256_setzero_ps();
            __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
            __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
            __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
            __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *out = target + j * CK_BLOCK_ROWS + r0;
            _mm256_storeu_ps(out + 0 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(out + 1 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(out + 2 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(out + 3 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(out + 4 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(out + 5 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(out + 6 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(out + 7 * CK_BLOCK_ROWS, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    ck_pack_columns(x, rows, j, k, ldx, target);
}
#endif

long ck_packed_widened_floats(long k) { return CK_512_NC * k; }

void ck_pack_input(const float *x, long m, long k, long ldx, float *packed) {
    long blocks = (m + CK_BLOCK_ROWS - 1) / CK_BLOCK_ROWS;
    for (long b = 0; b < blocks; b++) {
        float *target = packed + b * CK_BLOCK_ROWS * k;
        long rows = m - b * CK_BLOCK_ROWS < CK_BLOCK_ROWS ? m - b * CK_BLOCK_ROWS : CK_BLOCK_ROWS;
        const float *source = x + b * CK_BLOCK_ROWS * ldx;
#if CK_X86
        if (ck_uses_avx2()) {
            ck_pack_block_avx2(source, rows, k, ldx, target);
            continue;
        }
#endif
        ck_pack_columns(source, rows, 0, k, ldx, target);
    }
}

#if CK_X86
/// Twelve weight rows (each value broadcast) against one block of 32 packed input rows (two
/// vectors per k): 24 accumulators over the whole of k, then written to the 32 × 12 corner of `y`.
CK_AVX512 static void ck_tile_12x32(const float *const rows[CK_TILE_WEIGHTS], const float *xp, long k, long valid_rows,
                                    long valid_inputs, float *y, long ldy) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,
           a10 = a0, a11 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0, b8 = a0,
           b9 = a0, b10 = a0, b11 = a0;
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3], *r4 = rows[4], *r5 = rows[5];
    const float *r6 = rows[6], *r7 = rows[7], *r8 = rows[8], *r9 = rows[9], *r10 = rows[10], *r11 = rows[11];
#define CK_STEP(r, a, b)                 \
    w = _mm512_set1_ps(r[j]);            \
    a = _mm512_fmadd_ps(w, x0, a);       \
    b = _mm512_fmadd_ps(w, x1, b);
#define CK_K_STEP                                                                                                  \
    {                                                                                                              \
        __m512 x0 = _mm512_loadu_ps(xp + j * CK_BLOCK_ROWS), x1 = _mm512_loadu_ps(xp + j * CK_BLOCK_ROWS + 16);    \
        __m512 w;                                                                                                  \
        CK_STEP(r0, a0, b0) CK_STEP(r1, a1, b1) CK_STEP(r2, a2, b2) CK_STEP(r3, a3, b3) CK_STEP(r4, a4, b4)        \
        CK_STEP(r5, a5, b5) CK_STEP(r6, a6, b6) CK_STEP(r7, a7, b7) CK_STEP(r8, a8, b8) CK_STEP(r9, a9, b9)        \
        CK_STEP(r10, a10, b10) CK_STEP(r11, a11, b11)                                                              \
    }
    long j = 0;
    // Sixteen k at a time (one cache line of each weight row), fetching each row's line 8 lines ahead.
    for (; j + 16 <= k; ) {
        const long ahead = j + 128;
        _mm_prefetch((const char *)(r0 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r1 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r2 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r3 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r4 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r5 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r6 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r7 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r8 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r9 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r10 + ahead), _MM_HINT_T0);
        _mm_prefetch((const char *)(r11 + ahead), _MM_HINT_T0);
        for (long end = j + 16; j < end; j++) CK_K_STEP
    }
    for (; j < k; j++) CK_K_STEP
#undef CK_K_STEP
#undef CK_STEP
    float out[CK_TILE_WEIGHTS][CK_BLOCK_ROWS] __attribute__((aligned(64)));
    __m512 lows[CK_TILE_WEIGHTS] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};
    __m512 highs[CK_TILE_WEIGHTS] = {b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11};
    for (int i = 0; i < CK_TILE_WEIGHTS; i++) {
        _mm512_store_ps(out[i], lows[i]);
        _mm512_store_ps(out[i] + 16, highs[i]);
    }
    for (long r = 0; r < valid_inputs; r++)
        for (long i = 0; i < valid_rows; i++) y[r * ldy + i] = out[i][r];
}

// Loop nest: weight rows in blocks of `CK_512_NC` (their tiles stay in L2 while every input block
// passes, and are read from memory once per call), then input blocks, then the block's tiles (the
// input block stays in L1/L2 while the tiles pass). Measured on an Intel AVX-512 CPU against tiles
// outermost (Docs/Benchmarks.md): 96 rows was best or near it from d_model 256 to 9,216.
CK_AVX512 static void ck_gemm_packed_avx512(ck_weight_type type, const void *w, long k, long row_begin, long row_end,
                                            const float *packed, long m, float *y, long ldy, float *widened) {
    enum { TILES = CK_512_NC / CK_TILE_WEIGHTS };
    long blocks = (m + CK_BLOCK_ROWS - 1) / CK_BLOCK_ROWS;
    for (long nb = row_begin; nb < row_end; nb += CK_512_NC) {
        long nb_end = row_end - nb < CK_512_NC ? row_end : nb + CK_512_NC;
        // The block's rows as float32: in place, or widened all at once (they are contiguous).
        const float *block = (const float *)w + nb * k;
        if (type != CK_F32) {
            ck_widen_rows(type, w, k, nb, nb_end, widened);
            block = widened;
        }
        const float *rows[TILES][CK_TILE_WEIGHTS];
        long valid[TILES];
        long tiles = 0;
        for (long n0 = nb; n0 < nb_end; n0 += CK_TILE_WEIGHTS, tiles++) {
            long v = nb_end - n0 < CK_TILE_WEIGHTS ? nb_end - n0 : CK_TILE_WEIGHTS;
            valid[tiles] = v;
            for (long i = 0; i < CK_TILE_WEIGHTS; i++) rows[tiles][i] = block + (n0 - nb + (i < v ? i : 0)) * k;
        }
        for (long b = 0; b < blocks; b++) {
            long inputs = m - b * CK_BLOCK_ROWS < CK_BLOCK_ROWS ? m - b * CK_BLOCK_ROWS : CK_BLOCK_ROWS;
            for (long t = 0; t < tiles; t++)
                ck_tile_12x32(rows[t], packed + b * CK_BLOCK_ROWS * k, k, valid[t], inputs,
                              y + b * CK_BLOCK_ROWS * ldy + nb + t * CK_TILE_WEIGHTS, ldy);
        }
    }
}
#endif

int ck_gemm_packed_available(void) { return ck_uses_avx2(); }

void ck_gemm_packed(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *packed,
                    long m, float *y, long ldy, float *widened) {
#if CK_X86
    if (ck_uses_avx512()) {
        ck_gemm_packed_avx512(type, w, k, row_begin, row_end, packed, m, y, ldy, widened);
        return;
    }
    if (ck_uses_avx2()) {
        ck_gemm_packed_avx2(type, w, k, row_begin, row_end, packed, m, y, ldy, widened);
        return;
    }
#endif
    // Portable body (not used on the fast path; kept so the function is total).
    for (long r = row_begin; r < row_end; r++)
        for (long i = 0; i < m; i++) {
            const float *column = packed + (i / CK_BLOCK_ROWS) * CK_BLOCK_ROWS * k + i % CK_BLOCK_ROWS;
            float acc = 0;
            for (long j = 0; j < k; j++) acc += ck_weight_at(type, w, r * k + j) * column[j * CK_BLOCK_ROWS];
            y[i * ldy + r] = acc;
        }
}
