// Declarations shared between the C files of CKernels (not part of the public header): the bodies
// kernels.c dispatches to.
#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H

#include "CKernels.h"

/// Input rows per block of the packed, k-major input (``ck_pack_input``).
#define CK_PACKED_BLOCK 32
/// Weight rows per row block of the AVX-512 packed product (and rows widened at a time).
#define CK_512_NC 96

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// The sum of an AVX vector's eight lanes (the AVX2 bodies' horizontal reduction).
__attribute__((target("avx2,fma,f16c"))) static inline float ck_sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// ``ck_gemm_packed`` with AVX2+FMA (6 weight rows × 16 inputs per micro-tile, blocked over k).
void ck_gemm_packed_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *packed,
                         long m, float *y, long ldy, float *widened);

/// One input row against weight rows `[row_begin, row_end)` with AVX2+FMA (`y[r]` for each row).
void ck_gemv_rows_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *x,
                       float *y);
#endif

#endif
