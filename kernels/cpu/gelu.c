/* kernels/cpu/gelu.c - the exact (erf) GELU: forward, fused with a bias,
 * backward; the backward of tanh (the pooler's activation); the float erf
 * (vmath.h). Built with -fno-math-errno (mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>

float tl_cpu_erf(float x)
{
	return tl_verff(x);
}

void tl_cpu_gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 16384)
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		out[i] = tl_vgelu(x);
	}
}

void tl_cpu_bias_gelu_forward(float *out, const float *inp, const float *bias, int N, int C)
{
	if (!bias) {
		tl_cpu_gelu_forward(out, inp, (size_t)N * C);
		return;
	}
#pragma omp parallel for schedule(static) if ((size_t)N * C > 16384)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			float v = x[c] + bias[c];
			o[c] = tl_vgelu(v);
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

/* in place, as a sum into zeros: 0 + d g (a -0 product becomes +0) */
static void gelu_backward_zeroed(float *restrict d, const float *restrict inp, size_t n)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		d[i] = 0.0f + d[i] * gelu_grad(inp[i]);
}

/* The threads' shares of one of the three forms: accumulate (dinp !=
 * dout), in place, in place with the bits of a sum into zeros. */
static void gelu_backward_run(float *dinp, const float *inp, const float *dout, size_t n, int zeroed)
{
#pragma omp parallel if (n > 16384)
	{
		size_t i0, i1;
		tl_cpu_thread_share(n, &i0, &i1);
		if (dinp != dout)
			gelu_backward_acc(dinp + i0, inp + i0, dout + i0, i1 - i0);
		else if (zeroed)
			gelu_backward_zeroed(dinp + i0, inp + i0, i1 - i0);
		else
			gelu_backward_inplace(dinp + i0, inp + i0, i1 - i0);
	}
}

void tl_cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
	gelu_backward_run(dinp, inp, dout, n, 0);
}

/* d = d * gelu'(inp), in place, with the bits of tl_cpu_gelu_backward into
 * a zeroed buffer. */
void tl_cpu_gelu_backward_zeroed(float *d, const float *inp, size_t n)
{
	gelu_backward_run(d, inp, d, n, 1);
}

void tl_cpu_tanh_backward(float *dinp, const float *out, const float *dout, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}
