/* kernels/cpu/attention.c - one (sequence, head) of inference attention
 * in AVX-512, for head sizes that are a multiple of 16 up to 64 (BERT's
 * 64, MiniLM's 32): O = softmax(scale Q K^T) V over the len real tokens.
 *
 * Why not two sgemm calls: on the short sequences of sentence tasks
 * (SST-2 averages 25 tokens) each (sequence, head) is a 25 x 25 x 32
 * product, where OpenBLAS's call and small-matrix overheads and the
 * scalar tails of a 25-wide softmax row cost more than the arithmetic
 * (7-9% of a forward pass on one thread). Here the keys are transposed
 * once, by 16 x 16 register blocks, into rows of hd x Lp floats (Lp: len
 * rounded up to 16; pad keys are 0), so that the scores of a tile of 8
 * queries against 16, 32 or 48 keys are the GEMM micro-kernel's shape (8 x
 * 3 zmm accumulators, a key row loaded, a query element broadcast); the
 * softmax runs on whole zmm with the pad lanes masked; O = P V is a tile
 * of 8 (or 6) queries x hd on the same micro-kernel (tile()), one value
 * row loaded and a probability broadcast per step.
 *
 * Every output element is one chain of FMAs in key (or dimension) order:
 * a sequence's result depends on that sequence only, never on the batch
 * around it or the thread that runs it. Built with target attributes, as
 * gemm.c, and used only where tl_cpu_gemm_available(). */
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vmath512.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define TGT TL_TGT512
#define AI __attribute__((always_inline)) inline
#define QR 8 /* queries per score tile */

int tl_cpu_attention_ok(int hd)
{
	return tl_cpu_gemm_available() && hd > 0 && hd % 16 == 0 && hd <= 64;
}

size_t tl_cpu_attention_scratch(int len, int hd)
{
	size_t lp = ((size_t)len + 15) & ~(size_t)15;
	return lp * (size_t)len + lp + (size_t)hd * lp;
}

/* The one micro-kernel of both products: O[rows, 16 NV] (row stride ldo)
 * = A[rows, K] (row stride lda) B[K, 16 NV] (row stride ldb), each row
 * times f[r] when f is not NULL. MR rows at most; rows past `rows` read
 * row 0 and are not stored. Scores: A = q, B = K^T (K = hd); output:
 * A = P, B = V (K = len). */
TGT static AI void tile(const int MR, const int NV, float *O, size_t ldo, const float *A, size_t lda,
			const float *B, size_t ldb, int K, const float *f, int rows)
{
	__m512 acc[8][4];
	const float *ar[8];
	for (int r = 0; r < MR; r++)
		ar[r] = A + (r < rows ? (size_t)r * lda : 0);
#pragma GCC unroll 8
	for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
		for (int c = 0; c < NV; c++)
			acc[r][c] = _mm512_setzero_ps();
	for (int k = 0; k < K; k++) {
		__m512 b[4];
#pragma GCC unroll 4
		for (int c = 0; c < NV; c++)
			b[c] = _mm512_loadu_ps(B + (size_t)k * ldb + 16 * c);
#pragma GCC unroll 8
		for (int r = 0; r < MR; r++) {
			__m512 a = _mm512_set1_ps(ar[r][k]);
#pragma GCC unroll 4
			for (int c = 0; c < NV; c++)
				acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
		}
	}
	for (int r = 0; r < MR && r < rows; r++) {
		__m512 s = _mm512_set1_ps(f ? f[r] : 1.0f);
#pragma GCC unroll 4
		for (int c = 0; c < NV; c++)
			_mm512_storeu_ps(O + (size_t)r * ldo + 16 * c, f ? _mm512_mul_ps(acc[r][c], s) : acc[r][c]);
	}
}

/* tile() for NV = nv zmm columns: 8 rows for nv <= 3, 6 for nv = 4 (24
 * accumulators either way) */
TGT static void tile_nv(int nv, float *O, size_t ldo, const float *A, size_t lda, const float *B, size_t ldb, int K,
			const float *f, int rows)
{
	switch (nv) {
	case 1:
		tile(8, 1, O, ldo, A, lda, B, ldb, K, f, rows);
		break;
	case 2:
		tile(8, 2, O, ldo, A, lda, B, ldb, K, f, rows);
		break;
	case 3:
		tile(8, 3, O, ldo, A, lda, B, ldb, K, f, rows);
		break;
	default:
		tile(6, 4, O, ldo, A, lda, B, ldb, K, f, rows);
		break;
	}
}

/* Row r of S (lp floats, len real) becomes exp(s - max) with the pad
 * lanes 0; returns 1 / the sum. */
TGT static float softmax_row(float *s, int len, int lp)
{
	__mmask16 tail = (__mmask16)(len % 16 ? (1u << (len % 16)) - 1 : 0xffff);
	int last = lp - 16;
	__m512 m = _mm512_set1_ps(-INFINITY);
	for (int j = 0; j < last; j += 16)
		m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));
	m = _mm512_mask_max_ps(m, tail, m, _mm512_loadu_ps(s + last));
	__m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m)), sum = _mm512_setzero_ps();
	for (int j = 0; j < lp; j += 16) {
		__m512 e = tl_vexp512(_mm512_sub_ps(_mm512_loadu_ps(s + j), mx));
		if (j == last)
			e = _mm512_maskz_mov_ps(tail, e);
		_mm512_storeu_ps(s + j, e);
		sum = _mm512_add_ps(sum, e);
	}
	return 1.0f / _mm512_reduce_add_ps(sum);
}

/* dst[c, 0..16) (row stride ldd) = scale src[0..16, c] (row stride lds),
 * c < 16; source rows from n on read as 0. In registers: 32-bit, then
 * 64-bit interleaves within 128-bit lanes, then two lane shuffles. */
TGT static void transpose16(float *dst, size_t ldd, const float *src, size_t lds, int n, float scale)
{
	__m512 r[16], t[16], u[16], f = _mm512_set1_ps(scale);
	for (int i = 0; i < 16; i++)
		r[i] = i < n ? _mm512_mul_ps(_mm512_loadu_ps(src + (size_t)i * lds), f) : _mm512_setzero_ps();
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) { /* u[i + c], lane L: column 4 L + c of rows i..i+3 */
		u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
		u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
	}
	for (int c = 0; c < 4; c++) {
		__m512 x = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), y = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
		__m512 x2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88),
		       y2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
		_mm512_storeu_ps(dst + (size_t)c * ldd, _mm512_shuffle_f32x4(x, x2, 0x88));
		_mm512_storeu_ps(dst + (size_t)(4 + c) * ldd, _mm512_shuffle_f32x4(y, y2, 0x88));
		_mm512_storeu_ps(dst + (size_t)(8 + c) * ldd, _mm512_shuffle_f32x4(x, x2, 0xDD));
		_mm512_storeu_ps(dst + (size_t)(12 + c) * ldd, _mm512_shuffle_f32x4(y, y2, 0xDD));
	}
}

TGT void tl_cpu_attention(float *dst, int ldo, const float *q, const float *k, const float *v, int ld, int hd,
			  int len, float scale, float *s, int *lds)
{
	const int lp = (len + 15) & ~15;
	float *inv = s + (size_t)lp * len, *kt = inv + lp;
	/* K^T, scaled, pad keys 0: 16 x 16 blocks */
	for (int j0 = 0; j0 < lp; j0 += 16)
		for (int d0 = 0; d0 < hd; d0 += 16)
			transpose16(kt + (size_t)d0 * lp + j0, (size_t)lp, k + (size_t)j0 * ld + d0, (size_t)ld,
				    len - j0 < 16 ? len - j0 : 16, scale);
	for (int i0 = 0; i0 < len; i0 += QR) {
		int rows = len - i0 < QR ? len - i0 : QR;
		float *S = s + (size_t)i0 * lp;
		const float *qi = q + (size_t)i0 * ld;
		for (int j0 = 0; j0 < lp; j0 += 48) /* 48 keys at a time, then 32 or 16 */
			tile_nv(lp - j0 >= 48 ? 3 : (lp - j0) / 16, S + j0, (size_t)lp, qi, (size_t)ld, kt + j0, (size_t)lp,
				hd, NULL, rows);
		for (int r = 0; r < rows; r++)
			inv[i0 + r] = softmax_row(S + (size_t)r * lp, len, lp);
	}
	int nvd = hd / 16, mr = nvd == 4 ? 6 : 8;
	for (int i0 = 0; i0 < len; i0 += mr)
		tile_nv(nvd, dst + (size_t)i0 * ldo, (size_t)ldo, s + (size_t)i0 * lp, (size_t)lp, v, (size_t)ld, len,
			inv + i0, len - i0 < mr ? len - i0 : mr);
	*lds = lp;
}
