/* kernels/cpu/vmath.h - float exp and erf written in plain arithmetic
 * (no calls, no branches), so that the loops of the CPU kernels that call
 * them vectorise (glibc's expf and erff are scalar calls); shared by the
 * inference and training kernels (gelu.c, attention.c) so that both use
 * the same functions. Loops calling them carry `#pragma omp simd` (rintf
 * vectorises there without -fno-trapping-math). */
#ifndef TL_CPU_VMATH_H
#define TL_CPU_VMATH_H

#include <math.h>
#include <stdint.h>

/* erf in float, branch-free so that the GELU loop vectorises (glibc's
 * erff is a scalar call and was a fifth of the forward pass): x P(x^2) /
 * Q(x^2) with x clamped to [-4, 4] (erf(4) rounds to 1 in float), P of
 * degree 6 and Q of degree 5 fitted by tests/ref/fit_erf.py (1.8e-9 in
 * exact arithmetic); evaluated in float, max abs error 2.8e-7 on [-10, 10]
 * (tests/unit/test_kernels.c checks it against libm's double erf). Half
 * the operations of the former two-piece form (a polynomial below 1,
 * 1 - exp(-x^2 + Q) above), which made GELU a sixth of the FFN's first
 * product. */
static const float erf_p[7] = {1.1283791812e+00f, 1.8476608027e-01f, 5.4324587462e-02f, 3.8397853095e-03f,
			       3.8206635372e-04f, 4.7627262185e-06f, -1.3579755036e-08f};
static const float erf_q[6] = {1.0000000000e+00f, 4.9707821059e-01f, 1.1383571092e-01f, 1.5451865768e-02f,
			       1.3087852195e-03f, 6.3839710000e-05f};

static inline float tl_vexpf(float x) /* Cephes expf: 1 ulp on [-87, 88] */
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x; /* (fminf is a call) */
	float k = rintf(x * 1.44269504088896341f);
	float r = fmaf(k, -0.693359375f, x);
	r = fmaf(k, 2.12194440e-4f, r);
	float p = 1.9875691500E-4f;
	p = fmaf(p, r, 1.3981999507E-3f);
	p = fmaf(p, r, 8.3334519073E-3f);
	p = fmaf(p, r, 4.1665795894E-2f);
	p = fmaf(p, r, 1.6666665459E-1f);
	p = fmaf(p, r, 5.0000001201E-1f);
	p = fmaf(p, r * r, r) + 1.0f;
	/* 2^k by exponent bits; a NaN x makes p NaN, and k is replaced by 0
	 * before the conversion (which would be undefined) */
	union { uint32_t i; float f; } sc = {.i = (uint32_t)((int32_t)(k == k ? k : 0.0f) + 127) << 23};
	return p * sc.f;
}

static inline float tl_verff(float a)
{
	float x = a < -4.0f ? -4.0f : a > 4.0f ? 4.0f : a; /* NaN stays NaN */
	float s = x * x;
	/* Horner, written out so that the caller's loop vectorises */
	float p = fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(erf_p[6], s, erf_p[5]), s, erf_p[4]), s, erf_p[3]), s, erf_p[2]), s,
			    erf_p[1]),
		       s, erf_p[0]);
	float q = fmaf(fmaf(fmaf(fmaf(fmaf(erf_q[5], s, erf_q[4]), s, erf_q[3]), s, erf_q[2]), s, erf_q[1]), s,
		       erf_q[0]);
	return x * p / q;
}

/* GELU, exact (erf) form as BERT: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
static inline float tl_vgelu(float x)
{
	return 0.5f * x * (1.0f + tl_verff(x * (float)M_SQRT1_2));
}

/* Row i of s (len floats) becomes exp(s_ij - max_j s_ij); returns
 * 1 / sum_j of them, the factor that makes the row a softmax. */
static inline float tl_exp_row(float *r, int len)
{
	float m = -INFINITY;
#pragma omp simd reduction(max : m)
	for (int j = 0; j < len; j++)
		m = r[j] > m ? r[j] : m;
	float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
	for (int j = 0; j < len; j++) {
		r[j] = tl_vexpf(r[j] - m);
		sum += r[j];
	}
	return 1.0f / sum;
}

/* o[0..n) *= f (a softmax row's normalisation, or an output row's) */
static inline void tl_scale_row(float *o, int n, float f)
{
#pragma omp simd
	for (int j = 0; j < n; j++)
		o[j] *= f;
}

#endif
