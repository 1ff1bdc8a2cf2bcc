/* kernels/cpu/train_math.h - inline float math of the CPU training kernels
 * (train_kernels.c, train_attention.c), written in plain arithmetic with
 * no calls and no branches so that the loops calling it vectorise (glibc's
 * expf/erff are scalar calls). */
#ifndef TL_CPU_TRAIN_MATH_H
#define TL_CPU_TRAIN_MATH_H

#include "kernels/kernels_train.h"

#include <stdint.h>
#include <string.h>

/* exp(x) for x in [-87, 88] in plain arithmetic (Cephes' expf: range
 * reduction by ln 2, degree-5 polynomial, 2^n by exponent bits), so that
 * the loops calling it vectorise; relative error ~2e-7. n is rounded to
 * nearest by the 1.5*2^23 trick rather than floorf, which gcc vectorises
 * only with -fno-trapping-math; the bits of t + 1.5*2^23 hold n itself. */
static inline float vexpf(float x)
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
	float t = x * 1.44269504088896341f + 12582912.0f;
	float n = t - 12582912.0f;
	float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t e;
	memcpy(&e, &t, sizeof e);
	e = (e - 0x4b400000 + 127) << 23;
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

/* f[j] = keep(i0 + j) ? s : 0 for j < n: the dropout mask of n consecutive
 * elements as factors (tl_dropout_keep, vectorised: AVX-512DQ has the
 * 64-bit multiplies of the hash). */
static inline void tl_dropout_factors(float *restrict f, uint64_t seed, uint64_t stream, uint64_t i0, size_t n,
				      float p, float s)
{
	for (size_t j = 0; j < n; j++)
		f[j] = tl_dropout_keep(seed, stream, i0 + j, p) ? s : 0.0f;
}

#endif
