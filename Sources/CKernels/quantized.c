// See CKernels.h, "Quantised GGUF weights". Products over GGUF blocks read in place: every block
// is decoded 32 values at a time into small integers q with per-16-value scales d (and additive
// offsets m for the types with minimums). Types with one scale per 32 values and no minimum (Q4_0,
// Q5_0, Q8_0, Q8_K) accumulate d · Σ q·x per 32 values; the others form each weight as the
// dequantiser does (one float32 product d·q, then + m) and multiply it into the input with an FMA.
// Either way the result is the float32 product over the dequantised rows up to rounding in the
// order of the sums (the portable body: the dequantised weights, summed in order).
//
// Three bodies: AVX-512F (sixteen floats per vector), AVX2/FMA/F16C (eight), portable C (a block is
// dequantised into a buffer, then dotted). `ck_uses_avx512` / `ck_uses_avx2` pick one per call, so
// `ck_set_thread_level` applies here as everywhere else.
#include "ck_internal.h"

#include <string.h>

// Products and sums below round as written (d·q, then + m): no contraction into FMAs.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) || defined(__i386__)
#define CKQ_X86 1
#include <immintrin.h>
#define CKQ_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CKQ_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
#else
#define CKQ_X86 0
#endif

#define CKQ_INLINE static inline __attribute__((always_inline))

/// Bytes ahead of the block being decoded that software prefetch requests (file mappings have no
/// huge pages, and hardware prefetchers stop at 4 KiB page boundaries).
#ifndef CKQ_PREFETCH_BYTES
#define CKQ_PREFETCH_BYTES 1536
#endif

long ck_quant_block_elements(int type) {
    switch (type) {
        case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0: return 32;
        case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: case CK_Q8_K: return 256;
        default: return 0;
    }
}

long ck_quant_block_bytes(int type) {
    switch (type) {
        case CK_Q4_0: return 18;
        case CK_Q4_1: return 20;
        case CK_Q5_0: return 22;
        case CK_Q5_1: return 24;
        case CK_Q8_0: return 34;
        case CK_Q4_K: return 144;
        case CK_Q5_K: return 176;
        case CK_Q6_K: return 210;
        case CK_Q8_K: return 292;
        default: return 0;
    }
}

// MARK: - Decoding (shared by every body)

/// IEEE binary16 → binary32, exact (subnormals normalised, infinities and NaNs kept).
static inline float ckq_half(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            int shift = 0;
            while ((mantissa & 0x400u) == 0) {
                mantissa <<= 1;
                shift++;
            }
            bits = sign | ((uint32_t)(127 - 15 + 1 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline uint32_t ckq_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;  // little-endian hosts only (x86-64, arm64)
}

/// Sub-blocks of 32 values per block.
CKQ_INLINE int ckq_subs(int type) { return ck_quant_block_elements(type) / 32; }

/// Whether the type adds a minimum after scaling (d·q + m).
CKQ_INLINE int ckq_has_offset(int type) {
    return type == CK_Q4_1 || type == CK_Q5_1 || type == CK_Q4_K || type == CK_Q5_K;
}

/// The 6-bit scale and minimum of sub-block `j` of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
CKQ_INLINE void ckq_scale_min(const uint8_t *s, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/// Scales and offsets of values 0–15 and 16–31 of sub-block `s`: value = d[h] · q (+ m[h]).
typedef struct {
    float d[2], m[2];
} ckq_scales;

/// Defines `NAME(type, block, s)`: the scales of sub-block `s`, halves widened by `HALF`. Minimums
/// are stored negated (d·q − m ≡ d·q + (−m) in IEEE arithmetic).
#define CKQ_SUB_SCALES(NAME, ATTR, HALF) \
ATTR CKQ_INLINE ckq_scales NAME(int type, const uint8_t *b, int s) {                    \
    ckq_scales out = {{0, 0}, {0, 0}};                                                  \
    switch (type) {                                                                     \
        case CK_Q4_0: case CK_Q5_0: case CK_Q8_0: out.d[0] = out.d[1] = HALF(b); break; \
        case CK_Q4_1: case CK_Q5_1:                                                     \
            out.d[0] = out.d[1] = HALF(b);                                              \
            out.m[0] = out.m[1] = HALF(b + 2);                                          \
            break;                                                                      \
        case CK_Q4_K: case CK_Q5_K: {                                                   \
            int scale, min;                                                             \
            ckq_scale_min(b + 4, s, &scale, &min);                                      \
            out.d[0] = out.d[1] = HALF(b) * (float)scale;                               \
            out.m[0] = out.m[1] = -(HALF(b + 2) * (float)min);                          \
            break;                                                                      \
        }                                                                               \
        case CK_Q6_K: {                                                                 \
            float d = HALF(b + 208);                                                    \
            const int8_t *scales = (const int8_t *)(b + 192 + 8 * (s / 4));             \
            out.d[0] = d * (float)scales[2 * (s % 4)];                                  \
            out.d[1] = d * (float)scales[2 * (s % 4) + 1];                              \
            break;                                                                      \
        }                                                                               \
        case CK_Q8_K: {                                                                 \
            float d;                                                                    \
            memcpy(&d, b, 4);                                                           \
            out.d[0] = out.d[1] = d;                                                    \
            break;                                                                      \
        }                                                                               \
        default: break;                                                                 \
    }                                                                                   \
    return out;                                                                         \
}

CKQ_SUB_SCALES(ckq_sub_scales, , ckq_half)

/// The 32 integers of sub-block `s` (portable).
CKQ_INLINE void ckq_sub_ints(int type, const uint8_t *b, int s, int q[32]) {
    switch (type) {
        case CK_Q4_0:
            for (int j = 0; j < 16; j++) {
                q[j] = (b[2 + j] & 0x0F) - 8;
                q[j + 16] = (b[2 + j] >> 4) - 8;
            }
            break;
        case CK_Q4_1:
            for (int j = 0; j < 16; j++) {
                q[j] = b[4 + j] & 0x0F;
                q[j + 16] = b[4 + j] >> 4;
            }
            break;
        case CK_Q5_0: case CK_Q5_1: {
            int off = type == CK_Q5_0 ? 2 : 4, bias = type == CK_Q5_0 ? 16 : 0;
            uint32_t qh = ckq_u32(b + off);
            for (int j = 0; j < 16; j++) {
                q[j] = (int)((b[off + 4 + j] & 0x0F) | ((qh >> j) & 1) << 4) - bias;
                q[j + 16] = (int)((b[off + 4 + j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - bias;
            }
            break;
        }
        case CK_Q8_0:
            for (int j = 0; j < 32; j++) q[j] = (int8_t)b[2 + j];
            break;
        case CK_Q4_K: {
            const uint8_t *qs = b + 16 + 32 * (s / 2);
            for (int j = 0; j < 32; j++) q[j] = s % 2 ? qs[j] >> 4 : qs[j] & 0x0F;
            break;
        }
        case CK_Q5_K: {
            const uint8_t *qs = b + 48 + 32 * (s / 2), *qh = b + 16;
            for (int j = 0; j < 32; j++) q[j] = (s % 2 ? qs[j] >> 4 : qs[j] & 0x0F) | ((qh[j] >> s) & 1) << 4;
            break;
        }
        case CK_Q6_K: {
            int h = s / 4, k = s % 4;
            const uint8_t *ql = b + 64 * h + 32 * (k & 1), *qh = b + 128 + 32 * h;
            for (int j = 0; j < 32; j++)
                q[j] = (int)(((k >= 2 ? ql[j] >> 4 : ql[j] & 0x0F)) | ((qh[j] >> (2 * k)) & 3) << 4) - 32;
            break;
        }
        case CK_Q8_K:
            for (int j = 0; j < 32; j++) q[j] = (int8_t)b[4 + 32 * s + j];
            break;
        default: break;
    }
}

/// Dequantises one block into `out` (block-elements floats), as the float32 dequantiser does.
CKQ_INLINE void ckq_dequantize_block(int type, const uint8_t *b, float *out) {
    int subs = ckq_subs(type), offset = ckq_has_offset(type);
    for (int s = 0; s < subs; s++) {
        ckq_scales sc = ckq_sub_scales(type, b, s);
        int q[32];
        ckq_sub_ints(type, b, s, q);
        for (int j = 0; j < 32; j++) {
            float v = sc.d[j / 16] * (float)q[j];
            out[32 * s + j] = offset ? v + sc.m[j / 16] : v;
        }
    }
}

void ck_quant_dequantize(ck_quant_type type, const void *blocks, long block_count, float *dst) {
    long elements = ck_quant_block_elements(type), bytes = ck_quant_block_bytes(type);
    const uint8_t *b = (const uint8_t *)blocks;
    switch (type) {  // one instance per type, so the decoding is specialised
#define CKQ_CASE(T) \
    case T: for (long i = 0; i < block_count; i++) ckq_dequantize_block(T, b + i * bytes, dst + i * elements); break;
        CKQ_CASE(CK_Q4_0) CKQ_CASE(CK_Q4_1) CKQ_CASE(CK_Q5_0) CKQ_CASE(CK_Q5_1) CKQ_CASE(CK_Q8_0)
        CKQ_CASE(CK_Q4_K) CKQ_CASE(CK_Q5_K) CKQ_CASE(CK_Q6_K) CKQ_CASE(CK_Q8_K)
#undef CKQ_CASE
        default: break;
    }
}

// MARK: - Portable body

CKQ_INLINE void ckq_rows_portable_body(int type, const uint8_t *w, long k, long row_begin, long row_end,
                                       const float *x, long m, long ldx, float *y, long ldy) {
    long elements = ck_quant_block_elements(type), bytes = ck_quant_block_bytes(type);
    long blocks = k / elements, row_bytes = blocks * bytes;
    float buffer[256];
    for (long r = row_begin; r < row_end; r++) {
        float acc[8] = {0};
        for (long i0 = 0; i0 < m; i0 += 8) {
            long mi = m - i0 < 8 ? m - i0 : 8;
            for (int i = 0; i < 8; i++) acc[i] = 0;
            for (long bi = 0; bi < blocks; bi++) {
                ckq_dequantize_block(type, w + r * row_bytes + bi * bytes, buffer);
                for (long i = 0; i < mi; i++) {
                    const float *input = x + (i0 + i) * ldx + bi * elements;
                    float sum = acc[i];
                    for (long j = 0; j < elements; j++) sum += buffer[j] * input[j];
                    acc[i] = sum;
                }
            }
            for (long i = 0; i < mi; i++) y[(i0 + i) * ldy + r] = acc[i];
        }
    }
}

static void ckq_rows_portable(int type, const uint8_t *w, long k, long row_begin, long row_end, const float *x,
                              long m, long ldx, float *y, long ldy) {
    switch (type) {
#define CKQ_CASE(T) \
    case T: ckq_rows_portable_body(T, w, k, row_begin, row_end, x, m, ldx, y, ldy); break;
        CKQ_CASE(CK_Q4_0) CKQ_CASE(CK_Q4_1) CKQ_CASE(CK_Q5_0) CKQ_CASE(CK_Q5_1) CKQ_CASE(CK_Q8_0)
        CKQ_CASE(CK_Q4_K) CKQ_CASE(CK_Q5_K) CKQ_CASE(CK_Q6_K) CKQ_CASE(CK_Q8_K)
#undef CKQ_CASE
        default: break;
    }
}

// MARK: - Vector decoding (SSE/AVX2 integer operations, shared by the AVX2 and AVX-512 bodies)

#if CKQ_X86
CKQ_AVX2 CKQ_INLINE float ckq_half_f16c(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

CKQ_SUB_SCALES(ckq_sub_scales_f16c, CKQ_AVX2, ckq_half_f16c)

/// The 32 integers of a sub-block as signed bytes: values 0–15 in `lo`, 16–31 in `hi`.
typedef struct {
    __m128i lo, hi;
} ckq_bytes;

/// Bytes 0x10 where bit j of `bits` (16 bits) is set, else 0, for j = 0…15.
CKQ_AVX2 CKQ_INLINE __m128i ckq_bits_to_16(uint32_t bits) {
    __m128i spread = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)bits),
                                      _mm_set_epi8(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
    __m128i select = _mm_set_epi8((char)0x80, 0x40, 0x20, 0x10, 8, 4, 2, 1, (char)0x80, 0x40, 0x20, 0x10, 8, 4, 2, 1);
    return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(spread, select), select), _mm_set1_epi8(0x10));
}

CKQ_AVX2 CKQ_INLINE ckq_bytes ckq_sub_bytes(int type, const uint8_t *b, int s) {
    const __m128i low4 = _mm_set1_epi8(0x0F);
    ckq_bytes out;
    switch (type) {
        case CK_Q4_0: case CK_Q4_1: {
            __m128i raw = _mm_loadu_si128((const __m128i *)(b + (type == CK_Q4_0 ? 2 : 4)));
            out.lo = _mm_and_si128(raw, low4);
            out.hi = _mm_and_si128(_mm_srli_epi16(raw, 4), low4);
            if (type == CK_Q4_0) {
                out.lo = _mm_sub_epi8(out.lo, _mm_set1_epi8(8));
                out.hi = _mm_sub_epi8(out.hi, _mm_set1_epi8(8));
            }
            break;
        }
        case CK_Q5_0: case CK_Q5_1: {
            int off = type == CK_Q5_0 ? 2 : 4;
            uint32_t qh = ckq_u32(b + off);
            __m128i raw = _mm_loadu_si128((const __m128i *)(b + off + 4));
            out.lo = _mm_or_si128(_mm_and_si128(raw, low4), ckq_bits_to_16(qh & 0xFFFF));
            out.hi = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), ckq_bits_to_16(qh >> 16));
            if (type == CK_Q5_0) {
                out.lo = _mm_sub_epi8(out.lo, _mm_set1_epi8(16));
                out.hi = _mm_sub_epi8(out.hi, _mm_set1_epi8(16));
            }
            break;
        }
        case CK_Q8_0: case CK_Q8_K: {
            const uint8_t *qs = type == CK_Q8_0 ? b + 2 : b + 4 + 32 * s;
            out.lo = _mm_loadu_si128((const __m128i *)qs);
            out.hi = _mm_loadu_si128((const __m128i *)(qs + 16));
            break;
        }
        case CK_Q4_K: case CK_Q5_K: {
            const uint8_t *qs = b + (type == CK_Q4_K ? 16 : 48) + 32 * (s / 2);
            __m128i shift = _mm_cvtsi32_si128(4 * (s % 2));
            out.lo = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)qs), shift), low4);
            out.hi = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(qs + 16)), shift), low4);
            if (type == CK_Q5_K) {
                __m128i bit = _mm_set1_epi8((char)(1 << s)), sixteen = _mm_set1_epi8(0x10);
                __m128i h0 = _mm_loadu_si128((const __m128i *)(b + 16)), h1 = _mm_loadu_si128((const __m128i *)(b + 32));
                out.lo = _mm_or_si128(out.lo, _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(h0, bit), bit), sixteen));
                out.hi = _mm_or_si128(out.hi, _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(h1, bit), bit), sixteen));
            }
            break;
        }
        case CK_Q6_K: {
            int h = s / 4, k = s % 4;
            const uint8_t *ql = b + 64 * h + 32 * (k & 1), *qh = b + 128 + 32 * h;
            __m128i nibble = _mm_cvtsi32_si128(k >= 2 ? 4 : 0), top = _mm_cvtsi32_si128(2 * k);
            const __m128i three = _mm_set1_epi8(3), bias = _mm_set1_epi8(32);
            __m128i l0 = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)ql), nibble), low4);
            __m128i l1 = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(ql + 16)), nibble), low4);
            __m128i t0 = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)qh), top), three);
            __m128i t1 = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(qh + 16)), top), three);
            out.lo = _mm_sub_epi8(_mm_or_si128(l0, _mm_slli_epi16(t0, 4)), bias);
            out.hi = _mm_sub_epi8(_mm_or_si128(l1, _mm_slli_epi16(t1, 4)), bias);
            break;
        }
        default: out.lo = out.hi = _mm_setzero_si128(); break;
    }
    return out;
}

/// Requests the cache lines of the block `CKQ_PREFETCH_BYTES` ahead of `b`.
CKQ_AVX2 CKQ_INLINE void ckq_prefetch(int type, const uint8_t *b) {
    long bytes = ck_quant_block_bytes(type);
    for (long off = 0; off < bytes; off += 64) _mm_prefetch((const char *)(b + CKQ_PREFETCH_BYTES + off), _MM_HINT_T0);
}

// MARK: - AVX2 body

/// `M` (1–4) input rows against rows `[row_begin, row_end)`.
CKQ_AVX2 CKQ_INLINE void ckq_rows_avx2_body(int type, const int M, const uint8_t *w, long k, long row_begin,
                                            long row_end, const float *x, long ldx, float *y, long ldy) {
    long elements = ck_quant_block_elements(type), bytes = ck_quant_block_bytes(type);
    long blocks = k / elements, row_bytes = blocks * bytes;
    int subs = ckq_subs(type), offset = ckq_has_offset(type), single = !offset && type != CK_Q6_K;
    for (long r = row_begin; r < row_end; r++) {
        __m256 acc0[4], acc1[4];
        for (int i = 0; i < M; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
        const uint8_t *row = w + r * row_bytes;
        for (long bi = 0; bi < blocks; bi++) {
            const uint8_t *b = row + bi * bytes;
            ckq_prefetch(type, b);
            // Fully unrolled (subs is a per-type constant): the sub-block's scale and parity fold to constants.
            // -O3 would do this unasked; the package builds at SwiftPM's release -O2 without unsafe flags.
#pragma clang loop unroll(full)
            for (int s = 0; s < subs; s++) {
                ckq_scales sc = ckq_sub_scales_f16c(type, b, s);
                ckq_bytes q = ckq_sub_bytes(type, b, s);
                __m256 d0 = _mm256_set1_ps(sc.d[0]), d1 = _mm256_set1_ps(sc.d[1]);
                __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q.lo));
                __m256 w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q.lo, 8)));
                __m256 w2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q.hi));
                __m256 w3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q.hi, 8)));
                if (single) {  // d · (q·x) per sub-block, as in the AVX-512 body
                    for (int i = 0; i < M; i++) {
                        const float *input = x + i * ldx + 32 * s + bi * elements;
                        __m256 t = _mm256_mul_ps(w0, _mm256_loadu_ps(input));
                        __m256 u = _mm256_mul_ps(w1, _mm256_loadu_ps(input + 8));
                        t = _mm256_fmadd_ps(w2, _mm256_loadu_ps(input + 16), t);
                        u = _mm256_fmadd_ps(w3, _mm256_loadu_ps(input + 24), u);
                        acc0[i] = _mm256_fmadd_ps(d0, t, acc0[i]);
                        acc1[i] = _mm256_fmadd_ps(d0, u, acc1[i]);
                    }
                    continue;
                }
                w0 = _mm256_mul_ps(w0, d0);
                w1 = _mm256_mul_ps(w1, d0);
                w2 = _mm256_mul_ps(w2, d1);
                w3 = _mm256_mul_ps(w3, d1);
                if (offset) {
                    __m256 m0 = _mm256_set1_ps(sc.m[0]), m1 = _mm256_set1_ps(sc.m[1]);
                    w0 = _mm256_add_ps(w0, m0);
                    w1 = _mm256_add_ps(w1, m0);
                    w2 = _mm256_add_ps(w2, m1);
                    w3 = _mm256_add_ps(w3, m1);
                }
                long column = bi * elements + 32 * s;
                for (int i = 0; i < M; i++) {
                    const float *input = x + i * ldx + column;
                    acc0[i] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(input), acc0[i]);
                    acc1[i] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(input + 8), acc1[i]);
                    acc0[i] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(input + 16), acc0[i]);
                    acc1[i] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(input + 24), acc1[i]);
                }
            }
        }
        for (int i = 0; i < M; i++) y[i * ldy + r] = ck_sum8(_mm256_add_ps(acc0[i], acc1[i]));
    }
}

CKQ_AVX2 CKQ_INLINE void ckq_rows_avx2_type(int type, const uint8_t *w, long k, long row_begin, long row_end,
                                            const float *x, long m, long ldx, float *y, long ldy) {
    for (long i0 = 0; i0 < m; i0 += 4) {
        const float *xi = x + i0 * ldx;
        float *yi = y + i0 * ldy;
        switch (m - i0 < 4 ? m - i0 : 4) {
            case 1: ckq_rows_avx2_body(type, 1, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 2: ckq_rows_avx2_body(type, 2, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 3: ckq_rows_avx2_body(type, 3, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            default: ckq_rows_avx2_body(type, 4, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
        }
    }
}

CKQ_AVX2 static void ckq_rows_avx2(int type, const uint8_t *w, long k, long row_begin, long row_end, const float *x,
                                   long m, long ldx, float *y, long ldy) {
    switch (type) {
#define CKQ_CASE(T) \
    case T: ckq_rows_avx2_type(T, w, k, row_begin, row_end, x, m, ldx, y, ldy); break;
        CKQ_CASE(CK_Q4_0) CKQ_CASE(CK_Q4_1) CKQ_CASE(CK_Q5_0) CKQ_CASE(CK_Q5_1) CKQ_CASE(CK_Q8_0)
        CKQ_CASE(CK_Q4_K) CKQ_CASE(CK_Q5_K) CKQ_CASE(CK_Q6_K) CKQ_CASE(CK_Q8_K)
#undef CKQ_CASE
        default: break;
    }
}

// MARK: - AVX-512 body

/// The 32 integers of sub-block `s` as two vectors of sixteen int32. Q5_0/Q5_1 take their fifth
/// bits straight from the 32-bit `qh` word as lane masks.
CKQ_AVX512 CKQ_INLINE void ckq_sub_ints_avx512(int type, const uint8_t *b, int s, __m512i *lo, __m512i *hi) {
    if (type == CK_Q5_0 || type == CK_Q5_1) {
        int off = type == CK_Q5_0 ? 2 : 4;
        uint32_t qh = ckq_u32(b + off);
        const __m128i low4 = _mm_set1_epi8(0x0F);
        __m128i raw = _mm_loadu_si128((const __m128i *)(b + off + 4));
        __m512i n0 = _mm512_cvtepu8_epi32(_mm_and_si128(raw, low4));
        __m512i n1 = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(raw, 4), low4));
        const __m512i sixteen = _mm512_set1_epi32(16);
        if (type == CK_Q5_0) {  // (n | bit·16) − 16 = bit ? n : n − 16
            *lo = _mm512_mask_sub_epi32(n0, (__mmask16)~qh, n0, sixteen);
            *hi = _mm512_mask_sub_epi32(n1, (__mmask16)~(qh >> 16), n1, sixteen);
        } else {
            *lo = _mm512_mask_add_epi32(n0, (__mmask16)qh, n0, sixteen);
            *hi = _mm512_mask_add_epi32(n1, (__mmask16)(qh >> 16), n1, sixteen);
        }
        return;
    }
    ckq_bytes q = ckq_sub_bytes(type, b, s);
    *lo = _mm512_cvtepi8_epi32(q.lo);
    *hi = _mm512_cvtepi8_epi32(q.hi);
}

/// `M` (1–8) input rows against rows `[row_begin, row_end)`. Types with one scale per sub-block and
/// no minimum accumulate d · (q·x) per sub-block (one multiply per input instead of one per
/// weight vector); the others form each weight d·q (+ m) first.
CKQ_AVX512 CKQ_INLINE void ckq_rows_avx512_body(int type, const int M, const uint8_t *w, long k, long row_begin,
                                                long row_end, const float *x, long ldx, float *y, long ldy) {
    long elements = ck_quant_block_elements(type), bytes = ck_quant_block_bytes(type);
    long blocks = k / elements, row_bytes = blocks * bytes;
    int subs = ckq_subs(type), offset = ckq_has_offset(type), single = !offset && type != CK_Q6_K;
    for (long r = row_begin; r < row_end; r++) {
        __m512 acc0[8], acc1[8];
        for (int i = 0; i < M; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
        const uint8_t *row = w + r * row_bytes;
        for (long bi = 0; bi < blocks; bi++) {
            const uint8_t *b = row + bi * bytes;
            ckq_prefetch(type, b);
            // Fully unrolled (subs is a per-type constant): the sub-block's scale and parity fold to constants.
            // -O3 would do this unasked; the package builds at SwiftPM's release -O2 without unsafe flags.
#pragma clang loop unroll(full)
            for (int s = 0; s < subs; s++) {
                ckq_scales sc = ckq_sub_scales_f16c(type, b, s);
                __m512i i0, i1;
                ckq_sub_ints_avx512(type, b, s, &i0, &i1);
                __m512 f0 = _mm512_cvtepi32_ps(i0), f1 = _mm512_cvtepi32_ps(i1);
                long column = bi * elements + 32 * s;
                if (single) {
                    __m512 d = _mm512_set1_ps(sc.d[0]);
                    for (int i = 0; i < M; i++) {
                        const float *input = x + i * ldx + column;
                        __m512 t = _mm512_mul_ps(f0, _mm512_loadu_ps(input));
                        t = _mm512_fmadd_ps(f1, _mm512_loadu_ps(input + 16), t);
                        if (s & 1)
                            acc1[i] = _mm512_fmadd_ps(d, t, acc1[i]);
                        else
                            acc0[i] = _mm512_fmadd_ps(d, t, acc0[i]);
                    }
                    continue;
                }
                __m512 w0 = _mm512_mul_ps(f0, _mm512_set1_ps(sc.d[0]));
                __m512 w1 = _mm512_mul_ps(f1, _mm512_set1_ps(sc.d[1]));
                if (offset) {
                    w0 = _mm512_add_ps(w0, _mm512_set1_ps(sc.m[0]));
                    w1 = _mm512_add_ps(w1, _mm512_set1_ps(sc.m[1]));
                }
                for (int i = 0; i < M; i++) {
                    const float *input = x + i * ldx + column;
                    acc0[i] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(input), acc0[i]);
                    acc1[i] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(input + 16), acc1[i]);
                }
            }
        }
        for (int i = 0; i < M; i++) y[i * ldy + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[i], acc1[i]));
    }
}

CKQ_AVX512 CKQ_INLINE void ckq_rows_avx512_type(int type, const uint8_t *w, long k, long row_begin, long row_end,
                                                const float *x, long m, long ldx, float *y, long ldy) {
    for (long i0 = 0; i0 < m; i0 += 8) {
        const float *xi = x + i0 * ldx;
        float *yi = y + i0 * ldy;
        switch (m - i0 < 8 ? m - i0 : 8) {
            case 1: ckq_rows_avx512_body(type, 1, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 2: ckq_rows_avx512_body(type, 2, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 3: ckq_rows_avx512_body(type, 3, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 4: ckq_rows_avx512_body(type, 4, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 5: ckq_rows_avx512_body(type, 5, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 6: ckq_rows_avx512_body(type, 6, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            case 7: ckq_rows_avx512_body(type, 7, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
            default: ckq_rows_avx512_body(type, 8, w, k, row_begin, row_end, xi, ldx, yi, ldy); break;
        }
    }
}

CKQ_AVX512 static void ckq_rows_avx512(int type, const uint8_t *w, long k, long row_begin, long row_end,
                                       const float *x, long m, long ldx, float *y, long ldy) {
    switch (type) {
#define CKQ_CASE(T) \
    case T: ckq_rows_avx512_type(T, w, k, row_begin, row_end, x, m, ldx, y, ldy); break;
        CKQ_CASE(CK_Q4_0) CKQ_CASE(CK_Q4_1) CKQ_CASE(CK_Q5_0) CKQ_CASE(CK_Q5_1) CKQ_CASE(CK_Q8_0)
        CKQ_CASE(CK_Q4_K) CKQ_CASE(CK_Q5_K) CKQ_CASE(CK_Q6_K) CKQ_CASE(CK_Q8_K)
#undef CKQ_CASE
        default: break;
    }
}
#endif

void ck_quant_rows(ck_quant_type type, const void *w, long k, long row_begin, long row_end, const float *x, long m,
                   long ldx, float *y, long ldy) {
    if (ck_quant_block_elements(type) == 0 || m <= 0 || row_begin >= row_end) return;
#if CKQ_X86
    if (ck_uses_avx512()) {
        ckq_rows_avx512(type, (const uint8_t *)w, k, row_begin, row_end, x, m, ldx, y, ldy);
        return;
    }
    if (ck_uses_avx2()) {
        ckq_rows_avx2(type, (const uint8_t *)w, k, row_begin, row_end, x, m, ldx, y, ldy);
        return;
    }
#endif
    ckq_rows_portable(type, (const uint8_t *)w, k, row_begin, row_end, x, m, ldx, y, ldy);
}
