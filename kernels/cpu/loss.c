/* kernels/cpu/loss.c - the classification losses (softmax cross-entropy,
 * sigmoid binary cross-entropy) and their logit gradients, in double; the
 * language model's cross-entropy over its vocabulary in float with
 * vmath's exp (vectorised: tens of thousands of classes a row).
 * Built with -fno-math-errno (mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"
#include "tl/util.h"

#include <math.h>

double tl_cpu_softmax_xent(float *dlogits, const float *logits, const int32_t *y, const float *w,
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

double tl_cpu_sigmoid_bce(float *dlogits, const float *logits, const float *y, const float *pw, float ls,
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

/* One pass for the maximum, one that turns the row into exp(z - max) and
 * sums it (in double lanes), one that scales it by f / sum: the softmax
 * times f without a second exp (glibc's expf is a scalar call: two of
 * them a logit were a third of a word-level LM's training step). */
void tl_cpu_lm_xent(float *z, const int32_t *y, double *rowloss, int n, int V, float f, int grad)
{
#pragma omp parallel for schedule(static)
	for (int i = 0; i < n; i++) {
		float *r = z + (size_t)i * V;
		float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
		for (int c = 0; c < V; c++)
			mx = r[c] > mx ? r[c] : mx;
		float zy = r[y[i]];
		double se = 0.0;
		if (grad) {
#pragma omp simd reduction(+ : se)
			for (int c = 0; c < V; c++) {
				float e = tl_vexpf(r[c] - mx);
				r[c] = e;
				se += (double)e;
			}
		} else {
#pragma omp simd reduction(+ : se)
			for (int c = 0; c < V; c++)
				se += (double)tl_vexpf(r[c] - mx);
		}
		rowloss[i] = (double)mx + log(se) - (double)zy;
		if (grad) {
			float s = (float)((double)f / se);
#pragma omp simd
			for (int c = 0; c < V; c++)
				r[c] *= s;
			r[y[i]] -= f;
		}
	}
}
