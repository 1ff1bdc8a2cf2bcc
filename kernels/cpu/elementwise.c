/* kernels/cpu/elementwise.c - element-wise ops and reductions over flat
 * arrays: residual add, scale, sum of squares, the non-finite check.
 * Built with -fno-math-errno (mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

void tl_cpu_residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

/* Fixed chunks of 4096 elements, each summed in float over 64 lanes (four
 * AVX-512 registers' worth, so the loop vectorises without reassociation)
 * and the lanes added in double, then the chunk sums added in order: the
 * same result for any thread count. A lane sums 64 squares, so the
 * relative error stays ~1e-6 at worst, far below what clipping needs. */
#define SQ_CHUNK 4096
#define SQ_LANES 64
/* live: NULL, or the flags of the chunk's blocks of SQ_LANES elements
 * (a chunk starts on a block): a block with a zero flag is zero bits and
 * is skipped, which leaves every lane's sum as adding its zeros would
 * (a lane's sum is never -0) */
static double sumsq_chunk(const float *restrict x, size_t n, const unsigned char *live)
{
	float acc[SQ_LANES];
	for (int j = 0; j < SQ_LANES; j++)
		acc[j] = 0.0f;
	size_t i = 0;
	for (; i + SQ_LANES <= n; i += SQ_LANES) {
		if (live && !live[i / SQ_LANES])
			continue;
		for (int j = 0; j < SQ_LANES; j++)
			acc[j] += x[i + j] * x[i + j];
	}
	double s = 0.0;
	for (int j = 0; j < SQ_LANES; j++)
		s += acc[j];
	if (live && i < n && !live[i / SQ_LANES])
		return s;
	for (; i < n; i++)
		s += (double)x[i] * x[i];
	return s;
}

static double sumsq(const float *x, size_t n, const unsigned char *live)
{
	size_t nc = (n + SQ_CHUNK - 1) / SQ_CHUNK;
	if (nc <= 1)
		return sumsq_chunk(x, n, live);
	double total = 0.0, stackpart[64];
	double *part = nc <= 64 ? stackpart : tl_xmalloc(nc * sizeof(double));
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t c = 0; c < nc; c++) {
		size_t i0 = c * SQ_CHUNK, i1 = i0 + SQ_CHUNK < n ? i0 + SQ_CHUNK : n;
		part[c] = sumsq_chunk(x + i0, i1 - i0, live ? live + i0 / SQ_LANES : NULL);
	}
	for (size_t c = 0; c < nc; c++)
		total += part[c];
	if (part != stackpart)
		free(part);
	return total;
}

double tl_cpu_sumsq(const float *x, size_t n)
{
	return sumsq(x, n, NULL);
}

/* kernels.h sumsq_live: the live flags' blocks are sumsq's lane groups */
_Static_assert(SQ_LANES == TL_ADAMW_BLOCK && SQ_CHUNK % SQ_LANES == 0, "sumsq_live: a flag per lane group");
double tl_cpu_sumsq_live(const float *x, size_t n, const unsigned char *live)
{
	return sumsq(x, n, live);
}

void tl_cpu_scale(float *x, size_t n, float s)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++)
		x[i] *= s;
}

int tl_cpu_nonfinite(const float *x, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		bad |= !isfinite(x[i]);
	return bad;
}
