/* kernels/cpu/dropout.c - inverted dropout with the counter-based mask of
 * include/tl/dropout.h: forward and backward recompute the same mask.
 * Built with -fno-math-errno (mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include "tl/dropout.h"

#include <omp.h>
#include <string.h>

void tl_cpu_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream)
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

void tl_cpu_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed, uint64_t stream)
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
