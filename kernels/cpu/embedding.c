/* kernels/cpu/embedding.c - token + position + type embeddings: the forward
 * sum and the backward scatter-add (split by column blocks: no atomics).
 * Built with -fno-math-errno (mk/train.mk). */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <omp.h>

void tl_cpu_embedding_forward(float *out, const int32_t *ids, const int32_t *type_ids, const float *wte,
			      const float *wpe, const float *wtt, int B, int T, int C)
{
#pragma omp parallel for schedule(static) collapse(2)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			size_t bt = (size_t)b * T + t;
			const float *w = wte + (size_t)ids[bt] * C;
			const float *p = wpe + (size_t)t * C;
			const float *y = wtt + (size_t)(type_ids ? type_ids[bt] : 0) * C;
			float *o = out + bt * C;
			for (int c = 0; c < C; c++)
				o[c] = (w[c] + y[c]) + p[c];
		}
}

void tl_cpu_embedding_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
			       const int32_t *type_ids, const int32_t *lens, int B, int T, int C)
{
	int nb = (C + TL_CPU_CB - 1) / TL_CPU_CB;
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < nb; blk++) {
		int c0 = blk * TL_CPU_CB, c1 = c0 + TL_CPU_CB < C ? c0 + TL_CPU_CB : C;
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
