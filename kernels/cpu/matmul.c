/* kernels/cpu/matmul.c - the linear layer: out = inp W^T + b (OpenBLAS
 * sgemm split by rows over the OpenMP threads), the same on prepared weights
 * (gemm.c, the AVX-512 engine) with a fused GELU, and the backward pass.
 *
 * Built with -fno-math-errno (mk/train.mk), as every file that holds
 * training kernels. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS sends products of up to about 100^3 multiply-adds to its
 * small-matrix kernels, which sum in another order than its regular ones.
 * Row n of a regular product depends on row n of inp only, so a product
 * below that size is padded with zero rows up to it: then every row's
 * result is the same whatever the batch size, the packing or the thread
 * split, and inference is bitwise reproducible across all three. */
#define SMALL_MNK 1.1e6

void tl_cpu_sgemm_rows(float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC)
{
	double per_row = (double)IC * OC;
	if (N > 0 && (double)N * per_row <= SMALL_MNK) {
		int M = (int)(SMALL_MNK / per_row) + 1;
		float *pin = calloc((size_t)M * IC, sizeof(float)), *pout = malloc(sizeof(float) * (size_t)M * OC);
		if (!pin || !pout)
			tl_oom("out of memory");
		memcpy(pin, inp, sizeof(float) * (size_t)N * IC);
		tl_cpu_sgemm_rows(pout, pin, weight, bias, M, IC, OC);
		memcpy(out, pout, sizeof(float) * (size_t)N * OC);
		free(pin);
		free(pout);
		return;
	}
	float beta = 0.0f;
	if (bias) {
		for (int n = 0; n < N; n++)
			memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
		beta = 1.0f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, weight, IC, beta, out,
		    OC);
}

void tl_cpu_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
			   int IC, int OC)
{
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	/* row blocks, a multiple of 16 rows each where possible */
	int per = nt > 1 ? (N + nt - 1) / nt : N;
	per = (per + 15) / 16 * 16;
	if (nt <= 1 || (double)per * IC * OC <= 2 * SMALL_MNK || N < 2 * nt) {
		tl_cpu_sgemm_rows(out, inp, weight, bias, N, IC, OC);
		return;
	}
#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		int r0 = t * per, r1 = r0 + per < N ? r0 + per : N;
		if (r0 < r1)
			tl_cpu_sgemm_rows(out + (size_t)r0 * OC, inp + (size_t)r0 * IC, weight, bias, r1 - r0, IC, OC);
	}
}

void tl_cpu_matmul_forward_prepared(float *out, const float *inp, const float *weight, int tag, const float *bias,
				    int N, int IC, int OC, int act)
{
	if (tag > 0) {
		tl_cpu_gemm(out, inp, weight, tag, bias, N, IC, OC, act);
		return;
	}
	if (act == TL_ACT_GELU) {
		tl_cpu_matmul_forward(out, inp, weight, NULL, N, IC, OC);
		tl_cpu_bias_gelu_forward(out, out, bias, N, OC);
	} else {
		tl_cpu_matmul_forward(out, inp, weight, bias, N, IC, OC);
	}
}

/* [*r0, *r1): part id of nt of n rows, a multiple of 16 rows each where
 * possible. */
static inline void row_share(int n, int nt, int id, int *r0, int *r1)
{
	int per = (n + nt - 1) / nt;
	per = (per + 15) / 16 * 16;
	*r0 = id * per < n ? id * per : n;
	*r1 = *r0 + per < n ? *r0 + per : n;
}

/* dinp += dout W: on AVX-512 the inference micro-kernel reading W in
 * place (gemm.c tl_cpu_gemm_nn: no packing, one copy of W for all
 * threads; each element one chain of FMAs over o in order, whatever the
 * threads), else sgemm below. OpenBLAS runs single-threaded (memory.c
 * tl_cpu_set_threads), so its products are split across the OpenMP
 * threads: dinp by rows n, dweight by rows o (each thread reduces over all
 * N for its rows), dbias by columns o, summed over n in row order. Every
 * output element is computed by one thread with a partition fixed by the
 * thread count: bitwise reproducible. */
void tl_cpu_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			    const float *weight, int N, int IC, int OC)
{
	if (N <= 0)
		return;
	if (dinp && tl_cpu_gemm_nn(dinp, dout, weight, N, OC, IC, 1))
		dinp = NULL;
	if (!dweight && !dbias && !dinp)
		return;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((size_t)N * IC * OC < ((size_t)1 << 19))
		nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		int id = omp_get_thread_num(), n = omp_get_num_threads(), r0, r1;
		if (dinp) {
			row_share(N, n, id, &r0, &r1);
			if (r0 < r1)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, IC, OC, 1.0f,
					    dout + (size_t)r0 * OC, OC, weight, IC, 1.0f, dinp + (size_t)r0 * IC, IC);
		}
		row_share(OC, n, id, &r0, &r1);
		if (dweight && r0 < r1)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, IC, N, 1.0f, dout + r0, OC, inp, IC,
				    1.0f, dweight + (size_t)r0 * IC, IC);
		if (dbias) {
			for (int o0 = r0; o0 < r1; o0 += TL_CPU_CB) {
				int o1 = o0 + TL_CPU_CB < r1 ? o0 + TL_CPU_CB : r1;
				float acc[TL_CPU_CB];
				for (int o = o0; o < o1; o++)
					acc[o - o0] = 0.0f;
				for (int i = 0; i < N; i++) {
					const float *d = dout + (size_t)i * OC;
					for (int o = o0; o < o1; o++)
						acc[o - o0] += d[o];
				}
				for (int o = o0; o < o1; o++)
					dbias[o] += acc[o - o0];
			}
		}
	}
}

/* kernels.h matmul_backward_gelu: on AVX-512 dX with GELU's backward on
 * each finished tile (gemm.c tl_cpu_gemm_nn_gelu), else dX into a zeroed
 * dpre and gelu_backward in place; the bits are those of a separate
 * gelu_backward into a zeroed buffer either way (+ 0 keeps a -0 product
 * +0). dweight and dbias as matmul_backward. */
void tl_cpu_matmul_backward_gelu(float *dpre, float *dweight, float *dbias, const float *dout, const float *inp,
				 const float *weight, const float *pre, int N, int IC, int OC)
{
	if (N <= 0)
		return;
	if (!tl_cpu_gemm_nn_gelu(dpre, dout, weight, pre, N, OC, IC)) {
		size_t n = (size_t)N * IC;
		memset(dpre, 0, n * sizeof(float));
		tl_cpu_matmul_backward(dpre, NULL, NULL, dout, inp, weight, N, IC, OC);
		tl_cpu_gelu_backward_zeroed(dpre, pre, n);
	}
	tl_cpu_matmul_backward(NULL, dweight, dbias, dout, inp, weight, N, IC, OC);
}
