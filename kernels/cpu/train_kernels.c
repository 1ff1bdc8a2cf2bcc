/* kernels/cpu/train_kernels.c - CPU backward kernels, losses, dropout and
 * optimizer updates of include/tl/kernels_train.h (attention in
 * train_attention.c).
 *
 * Determinism: reductions over rows (dweight of LayerNorm, dbias, the
 * embedding scatter-add) are split across threads by output column, each
 * thread summing its columns over all rows in row order; nothing depends on
 * scheduling. */
#include "kernels/cpu/train_math.h"
#include "tl/kernels_train.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void tl_cpu_train_attention_forward(float *out, float *att, const float *qkv, const int32_t *lens, int B,
				    int T, int C, int NH, float p, uint64_t seed, uint64_t stream);
void tl_cpu_train_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
				     const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				     uint64_t stream);

/* Built with -fno-math-errno (mk/train.mk) so that sqrtf in the optimizer
 * loop vectorises (its arguments are never negative). */
/* Column blocks of 64 floats: the unit of work of column reductions. */
#define CB 64

/* [*r0, *r1): part id of nt of n rows, a multiple of 16 rows each where
 * possible. */
static inline void row_share(int n, int nt, int id, int *r0, int *r1)
{
	int per = (n + nt - 1) / nt;
	per = (per + 15) / 16 * 16;
	*r0 = id * per < n ? id * per : n;
	*r1 = *r0 + per < n ? *r0 + per : n;
}

/* OpenBLAS runs single-threaded (kernels.c cpu_set_threads), so the two
 * products are split across the OpenMP threads: dinp by rows n, dweight by
 * rows o (each thread reduces over all N for its rows), dbias by columns
 * o, summed over n in row order. Every output element is computed by one
 * thread with a partition fixed by the thread count: bitwise reproducible. */
static void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			    const float *weight, int N, int IC, int OC)
{
	if (N <= 0)
		return;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((size_t)N * IC * OC < ((size_t)1 << 19))
		nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int id = omp_get_thread_num(), n = omp_get_num_threads(), r0, r1;
		if (dinp) {
			row_share(N, n, id, &r0, &r1);
			if (r0 < r1)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, IC, OC, 1.0f,
					    dout + (size_t)r0 * OC, OC, weight, IC, 1.0f, dinp + (size_t)r0 * IC, IC);
		}
		row_share(OC, n, id, &r0, &r1);
		if (dweight && r0 < r1)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, IC, N, 1.0f, dout + r0, OC, inp, IC,
				    1.0f, dweight + (size_t)r0 * IC, IC);
		if (dbias) {
			for (int o0 = r0; o0 < r1; o0 += CB) {
				int o1 = o0 + CB < r1 ? o0 + CB : r1;
				float acc[CB];
				for (int o = o0; o < o1; o++)
					acc[o - o0] = 0.0f;
				for (int i = 0; i < N; i++) {
					const float *d = dout + (size_t)i * OC;
					for (int o = o0; o < o1; o++)
						acc[o - o0] += d[o];
				}
				for (int o = o0; o < o1; o++)
					dbias[o] += acc[o - o0];
			}
		}
	}
}

static void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			       const float *weight, const float *mean, const float *rstd, int N, int C)
{
	if (dinp) {
#pragma omp parallel for schedule(static)
		for (int n = 0; n < N; n++) {
			const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
			float *dx = dinp + (size_t)n * C;
			float m = mean[n], r = rstd[n];
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
				dx[c] += (dn - a - norm * b) * r;
			}
		}
	}
	if (dweight || dbias) {
		int nb = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static)
		for (int blk = 0; blk < nb; blk++) {
			int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
			float aw[CB], ab[CB];
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

/* gelu'(x) = Phi(x) + x phi(x) */
static inline float gelu_grad(float x)
{
	const float inv_sqrt2pi = 0.3989422804014327f;
	float cdf = 0.5f * (1.0f + tl_verff(x * (float)M_SQRT1_2));
	float pdf = inv_sqrt2pi * tl_vexpf(-0.5f * x * x);
	return cdf + x * pdf;
}

/* This thread's share [*i0, *i1) of n elements under a static partition
 * (whole multiples of 16 floats, so every share but the last starts on a
 * 64-byte boundary when the array does). Element-wise loops give the same
 * bits under any partition; the partition only spreads the work. */
static inline void thread_share(size_t n, size_t *i0, size_t *i1)
{
	size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
	size_t per = ((n + nt - 1) / nt + 15) & ~(size_t)15;
	*i0 = id * per < n ? id * per : n;
	*i1 = *i0 + per < n ? *i0 + per : n;
}

static void gelu_backward_acc(float *restrict dinp, const float *restrict inp, const float *restrict dout,
			      size_t n)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * gelu_grad(inp[i]);
}

static void gelu_backward_inplace(float *restrict d, const float *restrict inp, size_t n)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		d[i] *= gelu_grad(inp[i]);
}

static void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
#pragma omp parallel if (n > 16384)
	{
		size_t i0, i1;
		thread_share(n, &i0, &i1);
		if (dinp == dout)
			gelu_backward_inplace(dinp + i0, inp + i0, i1 - i0);
		else
			gelu_backward_acc(dinp + i0, inp + i0, dout + i0, i1 - i0);
	}
}

static void tanh_backward(float *dinp, const float *out, const float *dout, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

static void embedding_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
			       const int32_t *type_ids, const int32_t *lens, int B, int T, int C)
{
	int nb = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < nb; blk++) {
		int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
		for (int b = 0; b < B; b++) {
			int len = lens ? lens[b] : T;
			for (int t = 0; t < len; t++) {
				size_t bt = (size_t)b * T + t;
				const float *d = dout + bt * C;
				if (dwte) {
					float *w = dwte + (size_t)ids[bt] * C;
					for (int c = c0; c < c1; c++)
						w[c] += d[c];
				}
				if (dwpe) {
					float *w = dwpe + (size_t)t * C;
					for (int c = c0; c < c1; c++)
						w[c] += d[c];
				}
				if (dwtt) {
					float *w = dwtt + (size_t)(type_ids ? type_ids[bt] : 0) * C;
					for (int c = c0; c < c1; c++)
						w[c] += d[c];
				}
			}
		}
	}
}

static void dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream)
{
	if (p <= 0.0f) {
		if (out != inp)
			memcpy(out, inp, n * sizeof(float));
		return;
	}
	float s = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++)
		out[i] = tl_dropout_keep(seed, stream, i, p) ? inp[i] * s : 0.0f;
}

static void dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed, uint64_t stream)
{
	float s = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
	if (dinp == dout) {
		if (p <= 0.0f)
			return;
#pragma omp parallel for schedule(static) if (n > 16384)
		for (size_t i = 0; i < n; i++)
			dinp[i] = tl_dropout_keep(seed, stream, i, p) ? dout[i] * s : 0.0f;
		return;
	}
#pragma omp parallel for schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++)
		if (p <= 0.0f || tl_dropout_keep(seed, stream, i, p))
			dinp[i] += dout[i] * s;
}

static double softmax_xent(float *dlogits, const float *logits, const int32_t *y, const float *w,
			   const float *sw, float ls, float scale, int N, int K)
{
	double W = 0.0, denom = 0.0, total = 0.0;
	for (int c = 0; c < K; c++)
		W += w ? w[c] : 1.0;
	for (int i = 0; i < N; i++)
		denom += (w ? w[y[i]] : 1.0) * (sw ? sw[i] : 1.0);
	if (denom <= 0.0)
		denom = 1.0;
	for (int i = 0; i < N; i++) {
		const float *z = logits + (size_t)i * K;
		float *dz = dlogits + (size_t)i * K;
		double mx = z[0];
		for (int c = 1; c < K; c++)
			mx = z[c] > mx ? z[c] : mx;
		double se = 0.0;
		for (int c = 0; c < K; c++)
			se += exp(z[c] - mx);
		double lse = mx + log(se);
		double wy = w ? w[y[i]] : 1.0, si = sw ? sw[i] : 1.0;
		double row = -(1.0 - ls) * wy * (z[y[i]] - lse);
		double sm = 0.0;
		for (int c = 0; c < K; c++)
			sm += (w ? w[c] : 1.0) * (z[c] - lse);
		row -= ls / K * sm;
		total += si * row;
		double f = si / denom * scale;
		for (int c = 0; c < K; c++) {
			double pc = exp(z[c] - lse);
			double wc = w ? w[c] : 1.0;
			double g = (1.0 - ls) * wy * (pc - (c == y[i])) + ls / K * (W * pc - wc);
			dz[c] = (float)(g * f);
		}
	}
	return total / denom;
}

static double softplus(double x)
{
	return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double sigmoid_bce(float *dlogits, const float *logits, const float *y, const float *pw, float ls,
			  float scale, int N, int K)
{
	double total = 0.0, inv = 1.0 / ((double)N * K);
	for (int i = 0; i < N; i++)
		for (int c = 0; c < K; c++) {
			size_t j = (size_t)i * K + c;
			double z = logits[j], t = y[j] * (1.0 - ls) + ls / 2.0, q = pw ? pw[c] : 1.0;
			/* -[q t log s(z) + (1-t) log(1-s(z))] */
			total += q * t * softplus(-z) + (1.0 - t) * softplus(z);
			double s = 1.0 / (1.0 + exp(-z));
			dlogits[j] = (float)((q * t * (s - 1.0) + (1.0 - t) * s) * inv * scale);
		}
	return total * inv;
}

/* The AdamW update of n elements, gradient g = grad * gscale; zero: then
 * grad[i] = 0 (the zero_grad of the next step, folded into this pass). */
static inline void adamw_body(float *restrict param, float *restrict grad, float *restrict m, float *restrict v,
			      size_t n, float decay, float b1, float b2, float step, float bc2s, float eps,
			      float gscale, int scaled, int zero)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++) {
		float g = scaled ? grad[i] * gscale : grad[i];
		float p = param[i] * decay;
		float mi = m[i] + (1.0f - b1) * (g - m[i]);
		float vi = v[i] * b2 + (1.0f - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		param[i] = p - step * (mi / (sqrtf(vi) / bc2s + eps));
		if (zero)
			grad[i] = 0.0f;
	}
}

static void adamw_run(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1, float b2,
		      float eps, float wd, int t, float gscale, int zero)
{
	float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
	float step = lr / bc1, bc2s = sqrtf(bc2), decay = 1.0f - lr * wd;
	int scaled = gscale != 1.0f;
#pragma omp parallel if (n > 65536)
	{
		size_t i0, i1;
		thread_share(n, &i0, &i1);
		float *P = param + i0, *G = grad + i0, *M = m + i0, *V = v + i0;
		size_t k = i1 - i0;
		/* one specialised loop per flag combination */
		if (zero && scaled)
			adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, gscale, 1, 1);
		else if (zero)
			adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, 1.0f, 0, 1);
		else if (scaled)
			adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, gscale, 1, 0);
		else
			adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, 1.0f, 0, 0);
	}
}

static void adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			 float b2, float eps, float wd, int t)
{
	/* grad is only read: zero = 0 */
	adamw_run(param, (float *)grad, m, v, n, lr, b1, b2, eps, wd, t, 1.0f, 0);
}

static void adamw_update_zero(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1,
			      float b2, float eps, float wd, int t, float gscale)
{
	adamw_run(param, grad, m, v, n, lr, b1, b2, eps, wd, t, gscale, 1);
}

static void sgd_update(float *param, const float *grad, float *buf, size_t n, float lr, float mom, float wd,
		       int t)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		float g = grad[i] + wd * param[i];
		if (mom != 0.0f) {
			buf[i] = t <= 1 ? g : mom * buf[i] + g;
			g = buf[i];
		}
		param[i] -= lr * g;
	}
}

/* Fixed chunks of 4096 elements, each summed in float over 64 lanes (four
 * AVX-512 registers' worth, so the loop vectorises without reassociation)
 * and the lanes added in double, then the chunk sums added in order: the
 * same result for any thread count. A lane sums 64 squares, so the
 * relative error stays ~1e-6 at worst, far below what clipping needs. */
#define SQ_CHUNK 4096
#define SQ_LANES 64
static double sumsq_chunk(const float *restrict x, size_t n)
{
	float acc[SQ_LANES];
	for (int j = 0; j < SQ_LANES; j++)
		acc[j] = 0.0f;
	size_t i = 0;
	for (; i + SQ_LANES <= n; i += SQ_LANES)
		for (int j = 0; j < SQ_LANES; j++)
			acc[j] += x[i + j] * x[i + j];
	double s = 0.0;
	for (int j = 0; j < SQ_LANES; j++)
		s += acc[j];
	for (; i < n; i++)
		s += (double)x[i] * x[i];
	return s;
}

static double sumsq(const float *x, size_t n)
{
	size_t nc = (n + SQ_CHUNK - 1) / SQ_CHUNK;
	if (nc <= 1)
		return sumsq_chunk(x, n);
	double total = 0.0, stackpart[64];
	double *part = nc <= 64 ? stackpart : tl_xmalloc(nc * sizeof(double));
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t c = 0; c < nc; c++) {
		size_t i0 = c * SQ_CHUNK, i1 = i0 + SQ_CHUNK < n ? i0 + SQ_CHUNK : n;
		part[c] = sumsq_chunk(x + i0, i1 - i0);
	}
	for (size_t c = 0; c < nc; c++)
		total += part[c];
	if (part != stackpart)
		free(part);
	return total;
}

static void scale(float *x, size_t n, float s)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++)
		x[i] *= s;
}

static int nonfinite(const float *x, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		bad |= !isfinite(x[i]);
	return bad;
}

static const tl_train_kernels cpu_train = {
	.name = "cpu",
	.matmul_backward = matmul_backward,
	.layernorm_backward = layernorm_backward,
	.gelu_backward = gelu_backward,
	.tanh_backward = tanh_backward,
	.embedding_backward = embedding_backward,
	.attention_forward = tl_cpu_train_attention_forward,
	.attention_backward = tl_cpu_train_attention_backward,
	.dropout_forward = dropout_forward,
	.dropout_backward = dropout_backward,
	.softmax_xent = softmax_xent,
	.sigmoid_bce = sigmoid_bce,
	.adamw_update = adamw_update,
	.adamw_update_zero = adamw_update_zero,
	.sgd_update = sgd_update,
	.sumsq = sumsq,
	.scale = scale,
	.nonfinite = nonfinite,
};

const tl_train_kernels *tl_train_kernels_cpu(void)
{
	return &cpu_train;
}

const tl_train_kernels *tl_train_kernels_get(const char *name)
{
	if (!name || !strcmp(name, "cpu"))
		return &cpu_train;
	return NULL;
}
