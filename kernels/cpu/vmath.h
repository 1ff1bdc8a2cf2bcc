/* kernels/cpu/vmath.h - float exp and erf written in plain arithmetic
 * (no calls, no branches), so that the loops of the CPU kernels that call
 * them vectorise (glibc's expf and erff are scalar calls); shared by the
 * inference (kernels.c) and training (train_*.c) kernels so that both use
 * the same functions. Loops calling them carry `#pragma omp simd` (rintf
 * vectorises there without -fno-trapping-math). */
#ifndef TL_CPU_VMATH_H
#define TL_CPU_VMATH_H

#include <math.h>
#include <stdint.h>

/* erf in float, branch-free so that the GELU loop vectorises (glibc's
 * erff is a scalar call and was a fifth of the forward pass). |x| < 1:
 * x P(x^2); 1 <= |x| < 4: 1 - exp(-x^2 + Q(|x|)) (P, Q least-squares fits,
 * tests/unit/test_kernels.c checks it against erf over [-10, 10]); max abs error 1.4e-7, about 2 ulp near 1. */
static const float erf_p[7] = {7.9328754514e-05f,-8.0346482195e-04f,5.1911939866e-03f,-2.6855385151e-02f,1.1283625322e-01f,-3.7612629830e-01f,1.1283791666e+00f};
static const float erf_q[9] = {1.6140616143e-06f,-1.3309390389e-05f,7.7394425515e-05f,-4.2014456752e-04f,2.1651603098e-03f,-1.0858517013e-02f,5.6106359727e-02f,-3.5268068107e-01f,-1.5568152771e+00f};

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
	float t = fabsf(a), s = a * a;
	/* Horner, written out so that the caller's loop vectorises */
	float p = fmaf(fmaf(fmaf(fmaf(fmaf(fmaf(erf_p[0], s, erf_p[1]), s, erf_p[2]), s, erf_p[3]), s, erf_p[4]),
			    s, erf_p[5]),
		       s, erf_p[6]);
	float tt = t > 4.0f ? 4.0f : t, u = tt - 2.5f; /* NaN stays NaN */
	float q = fmaf(fmaf(fmaf(fmaf(erf_q[0], u, erf_q[1]), u, erf_q[2]), u, erf_q[3]), u, erf_q[4]);
	q = fmaf(fmaf(fmaf(fmaf(q, u, erf_q[5]), u, erf_q[6]), u, erf_q[7]), u, erf_q[8]);
	float big = copysignf(1.0f - tl_vexpf(fmaf(-tt, tt, q)), a);
	return t < 1.0f ? p * a : big;
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
