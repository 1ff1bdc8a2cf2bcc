/* kernels/cpu/train_attention.c - multi-head attention for training: the
 * forward pass with dropout on the attention probabilities (saving the
 * probabilities before dropout) and its backward pass.
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
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/train_math.h"
#include "tl/kernels_train.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tl_cpu_train_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream);
void tl_cpu_train_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream);

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
static void softmax_row(float *restrict s, int np)
{
	tl_scale_row(s, np, tl_exp_row(s, np));
}

void tl_cpu_train_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream)
{
	int hd = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hd), ds = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b] < T ? lens[b] : T;
			const float *base = qkv + (size_t)b * T * C3;
			const float *q = base + h * hd, *k = base + C + h * hd, *v = base + 2 * C + h * hd;
			float *dst = out + (size_t)b * T * C + h * hd;
			size_t a0 = ((size_t)b * NH + h) * T * T;
			float *a = att + a0;
			for (int i = len > 0 ? len : 0; i < T; i++) {
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
				softmax_row(sr, lp);
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
}

void tl_cpu_train_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream)
{
	int hd = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hd), dsc = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			int len = lens[b] < T ? lens[b] : T;
			if (len <= 0)
				continue;
			const float *base = qkv + (size_t)b * T * C3;
			const float *q = base + h * hd, *k = base + C + h * hd, *v = base + 2 * C + h * hd;
			float *dbase = dqkv + (size_t)b * T * C3;
			float *dq = dbase + h * hd, *dk = dbase + C + h * hd, *dv = dbase + 2 * C + h * hd;
			const float *dO = dout + (size_t)b * T * C + h * hd;
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
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, len, hd, len, 1.0f, pd, lp, dO, C, 1.0f, dv,
				    C3);
			/* dq_i += sum_j ds_ij k_j; dk_j += sum_i ds_ij q_i */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hd, len, 1.0f, dp, lp, k, C3, 1.0f,
				    dq, C3);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, len, hd, len, 1.0f, dp, lp, q, C3, 1.0f, dk,
				    C3);
		}
}
