/* bench/train_gemm.c - the fp32 training products of a linear layer, tl's
 * micro-kernel against OpenBLAS sgemm split by rows over the threads (as
 * kernels/cpu/matmul.c did before): the forward Y = X W^T on the weight
 * packed once (tl_cpu_gemm_pack, whose cost is timed apart: once per
 * optimizer step in training) and dX += dY W on W read in place
 * (tl_cpu_gemm_nn), on MiniLM's four shapes. GFLOP/s, best of REPS.
 *
 * usage: train_gemm [N] [THREADS] [REPS]   (N rows, default 337: one SST-2
 * batch of 32 sentences; 1 thread; 30)
 * build: cc -O2 -fopenmp -Iinclude -I. bench/train_gemm.c build/libtl.a \
 *          $(pkg-config --cflags --libs openblas msgpack jansson libutf8proc zlib) -lm */
#include "kernels/cpu/gemm.h"
#include "tl/kernels.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *rnd(size_t n)
{
	float *p = malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
	return p;
}

/* C[N,M] (+)= A[N,K] op(B), sgemm on rows [r0, r1) per thread, blocks of
 * per rows: how kernels/cpu/matmul.c split its products before */
static void sgemm_rows(int NT, int per, int N, CBLAS_TRANSPOSE tb, int M, int K, const float *A, const float *B,
		       int ldb, float beta, float *C)
{
#pragma omp parallel num_threads(NT)
	{
		int id = omp_get_thread_num(), r0 = id * per, r1 = r0 + per < N ? r0 + per : N;
		if (r0 < r1)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, r1 - r0, M, K, 1.0f, A + (size_t)r0 * K, K, B, ldb,
				    beta, C + (size_t)r0 * M, M);
	}
}

int main(int argc, char **argv)
{
	int N = argc > 1 ? atoi(argv[1]) : 337, NT = argc > 2 ? atoi(argv[2]) : 1, REPS = argc > 3 ? atoi(argv[3]) : 30;
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(NT); /* OpenBLAS at one thread, on its AVX-512 kernels where the CPU has them */
	if (!tl_cpu_gemm_available()) {
		printf("train_gemm: no AVX-512 here (or TL_GEMM=blas): tl's kernels do not run\n");
		return 0;
	}
	int shapes[4][2] = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}};
	printf("N %d, %d thread(s), best of %d, GFLOP/s\n", N, NT, REPS);
	for (int s = 0; s < 4; s++) {
		int IC = shapes[s][0], OC = shapes[s][1];
		float *X = rnd((size_t)N * IC), *W = rnd((size_t)OC * IC), *Y = rnd((size_t)N * OC);
		float *dY = rnd((size_t)N * OC), *dX = rnd((size_t)N * IC), *P = rnd((size_t)OC * IC);
		int tag = 3; /* 48-wide panels: OC % 48 == 0 for all four */
		double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
		int per = (N + NT - 1) / NT;
		per = (per + 15) / 16 * 16;
		for (int r = 0; r < REPS; r++) {
			double t[6];
			t[0] = now();
			sgemm_rows(NT, per, N, CblasTrans, OC, IC, X, W, IC, 0.0f, Y);
			t[1] = now();
			tl_cpu_gemm_pack(P, W, IC, OC, tag);
			t[2] = now();
			tl_cpu_gemm(Y, X, P, tag, NULL, N, IC, OC, 0);
			t[3] = now();
			sgemm_rows(NT, per, N, CblasNoTrans, IC, OC, dY, W, IC, 1.0f, dX);
			t[4] = now();
			tl_cpu_gemm_nn(dX, dY, W, N, OC, IC, 1);
			t[5] = now();
			for (int i = 0; i < 5; i++)
				if (t[i + 1] - t[i] < best[i])
					best[i] = t[i + 1] - t[i];
		}
		double fl = 2.0 * N * IC * OC / 1e9;
		printf("IC %4d OC %4d: forward sgemm %5.0f tl %5.0f (pack %.0f us) | dX sgemm %5.0f tl %5.0f\n", IC, OC,
		       fl / best[0], fl / best[2], best[1] * 1e6, fl / best[3], fl / best[4]);
		free(X), free(W), free(Y), free(dY), free(dX), free(P);
	}
	return 0;
}
