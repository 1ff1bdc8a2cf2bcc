/* sgemm_peak.c - the machine's single-precision GEMM throughput, the
 * yardstick of bench/bert.sh: GFLOP/s of OpenBLAS's sgemm and of tl's own
 * product on prepared weights (kernels.h: matmul_forward_prepared) for the
 * GEMM shapes of a MiniLM/BERT forward pass (M tokens x 384 -> 1152, 384,
 * 1536 and 1536 -> 384), and of sgemm on a large square product. Each
 * figure is the best of 7 runs of 0.15 s, the two implementations
 * alternating. "peak" is the largest figure of all.
 * usage: sgemm_peak THREADS [M]   (built against libtl.a: see bench/bert.sh) */
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
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static const tl_kernels *K;

/* one timed run of 0.15 s: GFLOP/s */
static double once(int tl, int tag, float *c, const float *a, const float *b, int M, int N, int Kd)
{
	int iters = 0;
	double t0 = now(), t;
	do {
		if (tl)
			K->matmul_forward_prepared(c, a, b, tag, NULL, M, Kd, N, TL_ACT_NONE);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, Kd, 1, a, Kd, b, Kd, 0, c, N);
		iters++;
	} while ((t = now() - t0) < 0.15);
	return 2.0 * M * N * Kd * iters / t / 1e9;
}

static void run(int M, int N, int Kd, double *blas, double *mine)
{
	float *a = malloc(sizeof(float) * M * Kd), *b = malloc(sizeof(float) * N * Kd), *bp = malloc(sizeof(float) * N * Kd),
	      *c = malloc(sizeof(float) * M * N);
	if (!a || !b || !bp || !c)
		exit(1);
	for (long i = 0; i < (long)M * Kd; i++)
		a[i] = (float)(i % 7) * 0.1f;
	for (long i = 0; i < (long)N * Kd; i++)
		b[i] = (float)(i % 5) * 0.1f;
	memcpy(bp, b, sizeof(float) * N * Kd);
	int tag = K->matmul_prepare(bp, Kd, N);
	*blas = *mine = 0;
	for (int rep = 0; rep < 7; rep++) {
		double g = once(0, 0, c, a, b, M, N, Kd);
		*blas = g > *blas ? g : *blas;
		if (mine != blas) {
			g = once(1, tag, c, a, bp, M, N, Kd);
			*mine = g > *mine ? g : *mine;
		}
	}
	free(a), free(b), free(bp), free(c);
}

int main(int argc, char **argv)
{
	int th = argc > 1 ? atoi(argv[1]) : 1, M = argc > 2 ? atoi(argv[2]) : 4096;
	K = tl_kernels_cpu();
	K->set_threads(th);
	openblas_set_num_threads(th); /* sgemm's own threads for its figures */
	int shapes[][2] = {{1152, 384}, {384, 384}, {1536, 384}, {384, 1536}};
	double best = 0, b, m;
	for (int i = 0; i < 4; i++) {
		run(M, shapes[i][0], shapes[i][1], &b, &m);
		printf("%dx%dx%d threads %d: sgemm %.1f GFLOP/s, tl %.1f GFLOP/s (%.2fx)\n", M, shapes[i][0],
		       shapes[i][1], th, b, m, m / b);
		best = b > best ? b : best;
		best = m > best ? m : best;
	}
	run(2048, 2048, 2048, &b, &b);
	printf("sgemm 2048x2048x2048 threads %d: %.1f GFLOP/s\n", th, b);
	best = b > best ? b : best;
	printf("peak %.1f\n", best);
	return 0;
}
