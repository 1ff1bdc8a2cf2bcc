/* kernels/cpu/train_kernels.c - CPU backward kernels, losses, dropout and
 * optimizer updates of kernels/kernels_train.h (attention in
 * train_attention.c).
 *
 * Determinism: reductions over rows (dweight of LayerNorm, dbias, the
 * embedding scatter-add) are split across threads by output column, each
 * thread summing its columns over all rows in row order; nothing depends on
 * scheduling. */
#include "kernels/kernels_train.h"
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

static void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			    const float *weight, int N, int IC, int OC)
{
	if (N <= 0)
		return;
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, weight, IC, 1.0f,
			    dinp, IC);
	if (dweight)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f,
			    dweight, IC);
	if (dbias) {
		int nb = (OC + CB - 1) / CB;
#pragma omp parallel for schedule(static) if ((size_t)N * OC > 32768)
		for (int blk = 0; blk < nb; blk++) {
			int o0 = blk * CB, o1 = o0 + CB < OC ? o0 + CB : OC;
			float acc[CB];
			for (int o = o0; o < o1; o++)
				acc[o - o0] = 0.0f;
			for (int n = 0; n < N; n++) {
				const float *d = dout + (size_t)n * OC;
				for (int o = o0; o < o1; o++)
					acc[o - o0] += d[o];
			}
			for (int o = o0; o < o1; o++)
				dbias[o] += acc[o - o0];
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

/* exp(x) for x in [-87, 88] in plain arithmetic (Cephes' expf: range
 * reduction by ln 2, degree-5 polynomial, 2^n by exponent bits), so that
 * the GELU backward loop vectorises; relative error ~2e-7. */
static inline float vexpf(float x)
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
	float n = floorf(x * 1.44269504088896341f + 0.5f);
	float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t e = ((int32_t)n + 127) << 23;
	float f;
	memcpy(&f, &e, sizeof f);
	return p * f;
}

/* erf(x) as a rational function of x (Eigen's float erf: x P(x^2) / Q(x^2)
 * on [-4, 4], saturated outside), absolute error < 5e-7; vectorises. */
static inline float verff(float x)
{
	x = x < -4.0f ? -4.0f : x > 4.0f ? 4.0f : x;
	float x2 = x * x;
	float p = -2.72614225801306e-10f;
	p = p * x2 + 2.77068142495902e-08f;
	p = p * x2 + -2.10102402082508e-06f;
	p = p * x2 + -5.69250639462346e-05f;
	p = p * x2 + -7.34990630326855e-04f;
	p = p * x2 + -2.95459980854025e-03f;
	p = p * x2 + -1.60960333262415e-02f;
	float q = -1.45660718464996e-05f;
	q = q * x2 + -2.13374055278905e-04f;
	q = q * x2 + -1.68282697438203e-03f;
	q = q * x2 + -7.37332916720468e-03f;
	q = q * x2 + -1.42647390514189e-02f;
	return x * p / q;
}

static void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
	const float inv_sqrt2pi = 0.3989422804014327f;
#pragma omp parallel for simd schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		float cdf = 0.5f * (1.0f + verff(x * (float)M_SQRT1_2));
		float pdf = inv_sqrt2pi * vexpf(-0.5f * x * x);
		dinp[i] += dout[i] * (cdf + x * pdf);
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

static void adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			 float b2, float eps, float wd, int t)
{
	float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
	float step = lr / bc1, bc2s = sqrtf(bc2), decay = 1.0f - lr * wd;
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		float g = grad[i];
		float p = param[i] * decay;
		float mi = m[i] + (1.0f - b1) * (g - m[i]);
		float vi = v[i] * b2 + (1.0f - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		param[i] = p - step * (mi / (sqrtf(vi) / bc2s + eps));
	}
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

/* Fixed chunks of 4096 elements, each summed in double, then the chunk sums
 * added in order: the same result for any thread count. */
static double sumsq(const float *x, size_t n)
{
	size_t nc = (n + 4095) / 4096;
	double total = 0.0;
	if (nc <= 1) {
		for (size_t i = 0; i < n; i++)
			total += (double)x[i] * x[i];
		return total;
	}
	double *part = tl_xmalloc(nc * sizeof(double));
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t c = 0; c < nc; c++) {
		size_t i0 = c * 4096, i1 = i0 + 4096 < n ? i0 + 4096 : n;
		double s = 0.0;
		for (size_t i = i0; i < i1; i++)
			s += (double)x[i] * x[i];
		part[c] = s;
	}
	for (size_t c = 0; c < nc; c++)
		total += part[c];
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
