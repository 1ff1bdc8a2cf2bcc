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
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/train_math.h"
#include "kernels/cpu/vmath512.h"

#include "tl/util.h"

#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
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
	__m512 r[16], f = _mm512_set1_ps(scale);
	for (int i = 0; i < 16; i++)
		r[i] = i < n ? _mm512_mul_ps(_mm512_loadu_ps(src + (size_t)i * lds), f) : _mm512_setzero_ps();
	tl_vtranspose16_512(r);
	for (int c = 0; c < 16; c++)
		_mm512_storeu_ps(dst + (size_t)c * ldd, r[c]);
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

/* ---- inference attention (attention_forward, attention_forward_packed) ---- */

/* Attention, one (sequence, head) pair per task, on the real tokens only.
 * With AVX-512 and a head size that is a multiple of 16, the kernel above
 * kernel (tl_cpu_attention). Otherwise S = scale Q K^T and O = softmax(S)
 * V are two sgemm calls that read q, k and v in place (row stride 3C) and
 * write O straight into out (row stride C); the softmax between them is a
 * vectorised loop. Rows of padding positions are zero.
 *
 * One (sequence, head): q, k, v rows at qkv (row stride C3), len rows; O
 * rows at dst (row stride ldo); s: attention_scratch(len, hd) floats. The
 * softmax is left unnormalised in s (exp(s_ij - max), rows of *lds floats)
 * and each output row is scaled by its 1/sum, kept in s[len * *lds + i]:
 * hd values per row rather than len. */
static size_t attention_scratch(int len, int hd)
{
	size_t n = (size_t)len * len + (size_t)len;
	if (tl_cpu_attention_ok(hd)) {
		size_t f = tl_cpu_attention_scratch(len, hd);
		n = f > n ? f : n;
	}
	return n;
}

static void attention_one(float *dst, int ldo, const float *qkv, int C3, int C, int h, int hd, int len,
			  float scale, float *s, int *lds)
{
	const float *q = qkv + h * hd;
	if (tl_cpu_attention_ok(hd)) {
		tl_cpu_attention(dst, ldo, q, q + C, q + 2 * C, C3, hd, len, scale, s, lds);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, hd, scale, q, C3, q + C, C3, 0.0f, s, len);
	float *inv = s + (size_t)len * len;
	for (int i = 0; i < len; i++)
		inv[i] = tl_exp_row(s + (size_t)i * len, len);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hd, len, 1.0f, s, len, q + 2 * C, C3, 0.0f, dst,
		    ldo);
	for (int i = 0; i < len; i++)
		tl_scale_row(dst + (size_t)i * ldo, hd, inv[i]);
	*lds = len;
}

void tl_cpu_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T,
			      int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	int C3 = 3 * C;
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b];
			float *dst = out + (size_t)b * T * C + h * hd;
			for (int i = len; i < T; i++)
				memset(dst + (size_t)i * C, 0, sizeof(float) * hd);
			float *a = att ? att + ((size_t)b * NH + h) * T * T : NULL;
			if (len <= 0) {
				if (a)
					memset(a, 0, sizeof(float) * T * T);
				continue;
			}
			float *sc = tl_cpu_scratch(attention_scratch(len, hd));
			int lds;
			attention_one(dst, C, qkv + (size_t)b * T * C3, C3, C, h, hd, len, scale, sc, &lds);
			if (a)
				for (int i = 0; i < T; i++) {
					float *ar = a + (size_t)i * T;
					if (i < len) {
						const float *e = sc + (size_t)i * lds;
						float f = sc[(size_t)len * lds + i];
						for (int j = 0; j < len; j++)
							ar[j] = e[j] * f;
						memset(ar + len, 0, sizeof(float) * (T - len));
					} else {
						memset(ar, 0, sizeof(float) * T);
					}
				}
		}
}

void tl_cpu_attention_forward_packed(float *out, const float *qkv, const int32_t *lens, int B, int C, int NH,
				     int first_only)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	int C3 = 3 * C;
	size_t *offs = malloc(sizeof(size_t) * ((size_t)B + 1));
	if (!offs)
		tl_oom("out of memory");
	offs[0] = 0;
	for (int b = 0; b < B; b++)
		offs[b + 1] = offs[b] + (size_t)(lens[b] > 0 ? lens[b] : 0);
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = (int)(offs[b + 1] - offs[b]);
			const float *base = qkv + offs[b] * C3;
			if (len <= 0) {
				if (first_only)
					memset(out + (size_t)b * C + h * hd, 0, sizeof(float) * hd);
			} else if (first_only) {
				/* one query: scores and output are vector products */
				float *sc = tl_cpu_scratch((size_t)len);
				cblas_sgemv(CblasRowMajor, CblasNoTrans, len, hd, scale, base + C + h * hd, C3,
					    base + h * hd, 1, 0.0f, sc, 1);
				float inv = tl_exp_row(sc, len);
				cblas_sgemv(CblasRowMajor, CblasTrans, len, hd, 1.0f, base + 2 * C + h * hd, C3,
					    sc, 1, 0.0f, out + (size_t)b * C + h * hd, 1);
				tl_scale_row(out + (size_t)b * C + h * hd, hd, inv);
			} else {
				int lds;
				attention_one(out + offs[b] * C + h * hd, C, base, C3, C, h, hd, len, scale,
					      tl_cpu_scratch(attention_scratch(len, hd)), &lds);
			}
		}
	free(offs);
}

/* ---- training attention: forward with dropout on the probabilities (saved
 * before dropout) and its backward ----
 *
 * Layout as kernels.h attention_forward: qkv[B,T,3C] holds q, k, v of each
 * token, head h in columns h*hd..(h+1)*hd of each part. One task per
 * (sequence, head) pair; a task writes only its own head's columns of its
 * own sequence, so the result does not depend on the thread schedule.
 * The products of a task are single-threaded sgemm calls on the strided
 * q/k/v columns (lda = 3C: no copies), small enough for OpenBLAS's
 * small-matrix kernels; softmax and dropout are vectorised row loops.
 * The dropout element index of probability (b, h, i, j) is
 * ((b*NH + h)*T + i)*T + j. */

/* Rows of the per-head score matrices are padded to a multiple of 16 floats
 * (one AVX-512 vector) and the row loops run over the padded length, so
 * that they have no scalar remainder; the products use only the first len
 * columns. */
static inline int pad16(int n)
{
	return (n + 15) & ~15;
}

/* In place over np = pad16(n) floats: s[j] = softmax(s[0..n))[j] for j < n.
 * The padding s[n..np) must hold -1e30: it adds exp(-87) ~ 1e-38 per
 * element to a sum >= 1, which leaves the sum unchanged, and gets ~1e-38,
 * which the caller ignores. (No j < n test in the loops: gcc would split
 * them at n and run the rest of the row in scalar code.) */
static void train_softmax_row(float *restrict s, int np)
{
	tl_scale_row(s, np, tl_exp_row(s, np));
}

/* The first row of each sequence: b T (padded), or the real rows of the
 * sequences before it (packed); the caller frees. */
static size_t *row_starts(const int32_t *lens, int B, int T, int packed)
{
	size_t *r0 = tl_xmalloc(((size_t)B + 1) * sizeof *r0), n = 0;
	for (int b = 0; b < B; b++) {
		int len = lens[b] < T ? lens[b] : T;
		r0[b] = packed ? n : (size_t)b * T;
		n += len > 0 ? (size_t)len : 0;
	}
	return r0;
}

void tl_cpu_attention_forward_train(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream, int packed)
{
	int hd = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hd), ds = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
	size_t *r0 = row_starts(lens, B, T, packed);
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b] < T ? lens[b] : T;
			const float *base = qkv + r0[b] * C3;
			const float *q = base + h * hd, *k = base + C + h * hd, *v = base + 2 * C + h * hd;
			float *dst = out + r0[b] * C + h * hd;
			size_t a0 = ((size_t)b * NH + h) * T * T;
			float *a = att + a0;
			for (int i = len > 0 ? len : 0; i < T; i++) {
				if (!packed)
					memset(dst + (size_t)i * C, 0, sizeof(float) * hd);
				memset(a + (size_t)i * T, 0, sizeof(float) * T);
			}
			if (len <= 0)
				continue;
			int lp = pad16(len);
			float *sc = tl_cpu_scratch((size_t)len * lp + (size_t)lp), *f = sc + (size_t)len * lp;
			/* scores, rows padded to lp */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, hd, scale, q, C3, k, C3, 0.0f,
				    sc, lp);
			for (int i = 0; i < len; i++) {
				float *sr = sc + (size_t)i * lp, *ar = a + (size_t)i * T;
				for (int j = len; j < lp; j++)
					sr[j] = -1e30f;
				train_softmax_row(sr, lp);
				memcpy(ar, sr, sizeof(float) * len);
				memset(ar + len, 0, sizeof(float) * (T - len));
				if (p > 0.0f) {
					/* sr becomes the dropped probabilities */
					tl_dropout_factors(f, seed, stream, a0 + (size_t)i * T, (size_t)lp, p, ds);
#pragma omp simd
					for (int j = 0; j < lp; j++)
						sr[j] *= f[j];
				}
			}
			/* out_i = sum_j dropout(a)_ij v_j */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hd, len, 1.0f, sc, lp, v, C3, 0.0f,
				    dst, C);
		}
	free(r0);
}

void tl_cpu_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream, int packed)
{
	int hd = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hd), dsc = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
	float beta = packed ? 0.0f : 1.0f; /* packed: every element is one product's, assigned */
	size_t *r0 = row_starts(lens, B, T, packed);
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b] < T ? lens[b] : T;
			if (len <= 0)
				continue;
			const float *base = qkv + r0[b] * C3;
			const float *q = base + h * hd, *k = base + C + h * hd, *v = base + 2 * C + h * hd;
			float *dbase = dqkv + r0[b] * C3;
			float *dq = dbase + h * hd, *dk = dbase + C + h * hd, *dv = dbase + 2 * C + h * hd;
			const float *dO = dout + r0[b] * C + h * hd;
			size_t a0 = ((size_t)b * NH + h) * T * T;
			const float *a = att + a0;
			int lp = pad16(len);
			size_t LP = (size_t)len * lp;
			float *w = tl_cpu_scratch(2 * LP + (size_t)lp);
			float *dp = w, *pd = w + LP, *f = w + 2 * LP;
			/* dp_ij = dout_i . v_j (gradient of the dropped probabilities) */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, hd, 1.0f, dO, C, v, C3, 0.0f, dp,
				    lp);
			for (int i = 0; i < len; i++) {
				float *dpr = dp + (size_t)i * lp, *pdr = pd + (size_t)i * lp;
				/* pdr: the probabilities, zero-padded */
				memcpy(pdr, a + (size_t)i * T, sizeof(float) * len);
				memset(pdr + len, 0, sizeof(float) * (lp - len));
				memset(dpr + len, 0, sizeof(float) * (lp - len));
				/* softmax backward through dropout: with f the dropout factors,
				 * ds_j = a_j (f_j dp_j - sum_k a_k f_k dp_k) * scale */
				float dot = 0.0f;
				if (p > 0.0f) {
					tl_dropout_factors(f, seed, stream, a0 + (size_t)i * T, (size_t)lp, p, dsc);
#pragma omp simd reduction(+ : dot)
					for (int j = 0; j < lp; j++) {
						float g = dpr[j] * f[j];
						dpr[j] = g;
						dot += pdr[j] * g;
					}
				} else {
#pragma omp simd reduction(+ : dot)
					for (int j = 0; j < lp; j++)
						dot += pdr[j] * dpr[j];
				}
#pragma omp simd
				for (int j = 0; j < lp; j++) {
					float aj = pdr[j];
					dpr[j] = aj * (dpr[j] - dot) * scale;
					pdr[j] = p > 0.0f ? aj * f[j] : aj;
				}
			}
			/* dv_j += sum_i pd_ij dout_i */
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, len, hd, len, 1.0f, pd, lp, dO, C, beta, dv,
				    C3);
			/* dq_i += sum_j ds_ij k_j; dk_j += sum_i ds_ij q_i */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hd, len, 1.0f, dp, lp, k, C3, beta,
				    dq, C3);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, len, hd, len, 1.0f, dp, lp, q, C3, beta, dk,
				    C3);
		}
	free(r0);
}
