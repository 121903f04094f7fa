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
/// ``ck_gemm_packed`` with AVX2+FMA (6 weight rows × 16 inputs per micro-tile, blocked over k).
void ck_gemm_packed_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *packed,
                         long m, float *y, long ldy, float *widened);

/// One input row against weight rows `[row_begin, row_end)` with AVX2+FMA (`y[r]` for each row).
void ck_gemv_rows_avx2(ck_weight_type type, const void *w, long k, long row_begin, long row_end, const float *x,
                       float *y);
#endif

#endif
