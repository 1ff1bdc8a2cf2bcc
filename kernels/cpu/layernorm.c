/* kernels/cpu/layernorm.c - LayerNorm forward (plain and fused with the
 * residual add) and backward. Built without -fno-math-errno (see
 * mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/lowprec.h"
#include "tl/dropout.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* One row: o = (x - mean) * rstd * w + b. Two passes in float, 16 lanes
 * (omp simd): exact enough for C in the thousands and four times cheaper
 * than double. o may equal x. */
static inline void layernorm_row(float *o, const float *x, const float *w, const float *b, int C, float eps,
				 float *mean, float *rstd)
{
	float s = 0.0f;
#pragma omp simd reduction(+ : s)
	for (int c = 0; c < C; c++)
		s += x[c];
	float m = s / (float)C;
	float v = 0.0f;
#pragma omp simd reduction(+ : v)
	for (int c = 0; c < C; c++) {
		float d = x[c] - m;
		v += d * d;
	}
	float r = 1.0f / sqrtf(v / (float)C + eps);
#pragma omp simd
	for (int c = 0; c < C; c++)
		o[c] = (x[c] - m) * r * w[c] + b[c];
	if (mean)
		*mean = m;
	if (rstd)
		*rstd = r;
}

void tl_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
			      const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++)
		layernorm_row(out + (size_t)n * C, inp + (size_t)n * C, weight, bias, C, eps, mean ? mean + n : NULL,
			      rstd ? rstd + n : NULL);
}

void tl_cpu_add_layernorm_forward(float *out, const float *a, const float *b, const float *bbias,
				  const float *weight, const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *o = out + (size_t)n * C;
		const float *x = a + (size_t)n * C, *y = b + (size_t)n * C;
		if (bbias) {
#pragma omp simd
			for (int c = 0; c < C; c++)
				o[c] = x[c] + (y[c] + bbias[c]);
		} else {
#pragma omp simd
			for (int c = 0; c < C; c++)
				o[c] = x[c] + y[c];
		}
		layernorm_row(o, o, weight, bias, C, eps, NULL, NULL);
	}
}

/* add_layernorm_forward (b NULL: layernorm_forward of a, in place when
 * out == a) with a bf16 copy of each output row, made while the row is in
 * L1 (kernels.h add_layernorm_forward_bf16). */
void tl_cpu_add_layernorm_forward_bf16(float *out, void *out_bf16, const float *a, const float *b,
				       const float *bbias, const float *weight, const float *bias, int N, int C,
				       float eps)
{
	int path = tl_cpu_bf16_pairs_path();
	size_t W = ((size_t)C + 1) / 2; /* pair words per bf16 row */
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *o = out + (size_t)n * C;
		const float *x = a + (size_t)n * C;
		if (!b) {
			layernorm_row(o, x, weight, bias, C, eps, NULL, NULL);
		} else {
			const float *y = b + (size_t)n * C;
			if (bbias) {
#pragma omp simd
				for (int c = 0; c < C; c++)
					o[c] = x[c] + (y[c] + bbias[c]);
			} else {
#pragma omp simd
				for (int c = 0; c < C; c++)
					o[c] = x[c] + y[c];
			}
			layernorm_row(o, o, weight, bias, C, eps, NULL, NULL);
		}
		tl_cpu_bf16_pairs(path, (uint32_t *)out_bf16 + (size_t)n * W, o, C);
	}
}

/* One row of LayerNorm's input gradient: dx (+)= (w dy - mean(w dy) - norm
 * mean(w dy norm)) rstd; acc 0 assigns as adding to a zeroed row does
 * (x + 0: a -0 becomes +0). dx may equal dy (each element is read before
 * it is written). */
static inline void ln_bwd_row(float *dx, const float *x, const float *dy, const float *weight, float m, float r,
			      int C, int acc)
{
	float a = 0.0f, b = 0.0f;
	for (int c = 0; c < C; c++) {
		float norm = (x[c] - m) * r;
		float dn = weight[c] * dy[c];
		a += dn;
		b += dn * norm;
	}
	a /= (float)C;
	b /= (float)C;
	for (int c = 0; c < C; c++) {
		float norm = (x[c] - m) * r;
		float dn = weight[c] * dy[c];
		if (acc)
			dx[c] += (dn - a - norm * b) * r;
		else
			dx[c] = (dn - a - norm * b) * r + 0.0f;
	}
}

void tl_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			       const float *weight, const float *mean, const float *rstd, int N, int C)
{
	if (dinp) {
#pragma omp parallel for schedule(static)
		for (int n = 0; n < N; n++)
			ln_bwd_row(dinp + (size_t)n * C, inp + (size_t)n * C, dout + (size_t)n * C, weight, mean[n], rstd[n],
				   C, 1);
	}
	if (dweight || dbias) {
		int nb = (C + TL_CPU_CB - 1) / TL_CPU_CB;
#pragma omp parallel for schedule(static)
		for (int blk = 0; blk < nb; blk++) {
			int c0 = blk * TL_CPU_CB, c1 = c0 + TL_CPU_CB < C ? c0 + TL_CPU_CB : C;
			float aw[TL_CPU_CB], ab[TL_CPU_CB];
			for (int c = c0; c < c1; c++)
				aw[c - c0] = ab[c - c0] = 0.0f;
			for (int n = 0; n < N; n++) {
				const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
				float m = mean[n], r = rstd[n];
				for (int c = c0; c < c1; c++) {
					aw[c - c0] += (x[c] - m) * r * dy[c];
					ab[c - c0] += dy[c];
				}
			}
			for (int c = c0; c < c1; c++) {
				if (dweight)
					dweight[c] += aw[c - c0];
				if (dbias)
					dbias[c] += ab[c - c0];
			}
		}
	}
}

/* kernels.h layernorm_backward_dropout: dweight and dbias first (they read
 * dout, which dres may overwrite), then one pass over the rows writing
 * both gradients; each element's arithmetic and order are
 * layernorm_backward's into a zeroed dinp (0 + x, here x + 0), then
 * dropout_backward's mask (element n C + c of the stream). */
void tl_cpu_layernorm_backward_dropout(float *dres, float *ddrop, float *dweight, float *dbias, const float *dout,
				       const float *inp, const float *weight, const float *mean, const float *rstd,
				       int N, int C, float p, uint64_t seed, uint64_t stream)
{
	tl_cpu_layernorm_backward(NULL, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
	float s = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *dr = dres + (size_t)n * C, *dd = ddrop + (size_t)n * C;
		ln_bwd_row(dr, inp + (size_t)n * C, dout + (size_t)n * C, weight, mean[n], rstd[n], C, 0);
		/* the mask in its own loop, which vectorises (the row is in L1) */
		size_t i0 = (size_t)n * C;
		if (p <= 0.0f)
			memcpy(dd, dr, (size_t)C * sizeof(float));
		else
#pragma omp simd
			for (int c = 0; c < C; c++)
				dd[c] = tl_dropout_keep(seed, stream, i0 + (size_t)c, p) ? dr[c] * s : 0.0f;
	}
}

/* kernels.h dropout_add_layernorm_forward: per row, dropout_forward's mask
 * (element n C + c of the stream), residual_forward's add, then the row's
 * LayerNorm, while the row is in L1 */
void tl_cpu_dropout_add_layernorm_forward(float *res, float *out, float *mean, float *rstd, const float *x,
					  const float *weight, const float *bias, int N, int C, float eps, float p,
					  uint64_t seed, uint64_t stream)
{
	float s = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *r = res + (size_t)n * C;
		const float *xr = x + (size_t)n * C;
		size_t i0 = (size_t)n * C;
		if (p > 0.0f) {
#pragma omp simd
			for (int c = 0; c < C; c++)
				r[c] = tl_dropout_keep(seed, stream, i0 + (size_t)c, p) ? r[c] * s : 0.0f;
		}
#pragma omp simd
		for (int c = 0; c < C; c++)
			r[c] = r[c] + xr[c];
		layernorm_row(out + (size_t)n * C, r, weight, bias, C, eps, mean + n, rstd + n);
	}
}
