/* kernels/cpu/pool.c - sequence-level ops: the BERT pooler, pooling of
 * the real tokens (CLS, mean, max), L2 normalisation of rows, and moving
 * rows between the padded and packed layouts. */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void tl_cpu_pack_rows(float *dst, const float *src, const int32_t *lens, int B, int T, int C, int mode)
{
	size_t o = 0, row = sizeof(float) * (size_t)C;
	for (int b = 0; b < B; b++) {
		int len = lens[b] < 0 ? 0 : mode != TL_ROWS_FIRST && lens[b] > T ? T : lens[b];
		float *pad = dst + (size_t)b * T * C;
		if (mode == TL_ROWS_UNPACK) {
			memcpy(pad, src + o * C, row * len);
			memset(pad + (size_t)len * C, 0, row * (size_t)(T - len));
		} else if (mode == TL_ROWS_PACK) {
			memcpy(dst + o * C, src + (size_t)b * T * C, row * len);
		} else if (len > 0) {
			memcpy(dst + (size_t)b * C, src + o * C, row);
		} else {
			memset(dst + (size_t)b * C, 0, row);
		}
		o += (size_t)len;
	}
}

void tl_cpu_pooler_forward(float *out, const float *hidden, const float *weight, const float *bias, int B,
			   int T, int C, int OC)
{
	/* the [CLS] rows hidden[b, 0, :] through the same product as every
	 * other layer (so that it does not depend on B either); gathered
	 * first unless they are contiguous already (T == 1: first-token-only
	 * output) */
	float *cls = NULL;
	if (T != 1) {
		cls = malloc(sizeof(float) * ((size_t)B * C + 1));
		if (!cls)
			tl_oom("out of memory");
		for (int b = 0; b < B; b++)
			memcpy(cls + (size_t)b * C, hidden + (size_t)b * T * C, sizeof(float) * C);
	}
	tl_cpu_sgemm_rows(out, cls ? cls : hidden, weight, bias, B, C, OC);
	free(cls);
	for (size_t i = 0; i < (size_t)B * OC; i++)
		out[i] = tanhf(out[i]);
}

void tl_cpu_pool_forward(float *out, const float *hidden, const int32_t *lens, int B, int T, int C, int mode)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++) {
		const float *h = hidden + (size_t)b * T * C;
		float *o = out + (size_t)b * C;
		int len = lens[b];
		if (mode == TL_POOL_CLS || len <= 0) {
			memcpy(o, h, sizeof(float) * C);
			continue;
		}
		memcpy(o, h, sizeof(float) * C);
		for (int t = 1; t < len; t++) {
			const float *r = h + (size_t)t * C;
			if (mode == TL_POOL_MAX)
				for (int c = 0; c < C; c++)
					o[c] = r[c] > o[c] ? r[c] : o[c];
			else
				for (int c = 0; c < C; c++)
					o[c] += r[c];
		}
		if (mode == TL_POOL_MEAN) {
			float inv = 1.0f / (float)len;
			for (int c = 0; c < C; c++)
				o[c] *= inv;
		}
	}
}

void tl_cpu_l2norm_forward(float *x, int N, int C)
{
	for (int n = 0; n < N; n++) {
		float *r = x + (size_t)n * C;
		double s = 0;
		for (int c = 0; c < C; c++)
			s += (double)r[c] * r[c];
		double nrm = sqrt(s);
		/* as torch.nn.functional.normalize: x / max(||x||, 1e-12) */
		float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
		for (int c = 0; c < C; c++)
			r[c] *= inv;
	}
}
