/* kernels/cpu/train_math.h - inline helpers of the CPU training kernels
 * (attention.c): vmath.h's exp and erf, and
 * dropout masks as factors. */
#ifndef TL_CPU_TRAIN_MATH_H
#define TL_CPU_TRAIN_MATH_H

#include "kernels/cpu/vmath.h"
#include "tl/dropout.h"

#include <stdint.h>
#include <string.h>

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
