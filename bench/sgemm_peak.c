/* sgemm_peak.c - the machine's OpenBLAS sgemm throughput, the yardstick of
 * bench/bert.sh: GFLOP/s for the GEMM shapes of a MiniLM/BERT forward pass
 * (N tokens x 384 -> 1152/384/1536 and back) and a large square product.
 * usage: sgemm_peak THREADS */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double run(int M, int N, int K)
{
	float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * N * K), *c = malloc(sizeof(float) * M * N);
	for (long i = 0; i < (long)M * K; i++)
		a[i] = (float)(i % 7) * 0.1f;
	for (long i = 0; i < (long)N * K; i++)
		b[i] = (float)(i % 5) * 0.1f;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
	double best = 0;
	for (int rep = 0; rep < 5; rep++) {
		int iters = 0;
		double t0 = now(), t;
		do {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
			iters++;
		} while ((t = now() - t0) < 0.2);
		double g = 2.0 * M * N * K * iters / t / 1e9;
		best = g > best ? g : best;
	}
	free(a), free(b), free(c);
	return best;
}

int main(int argc, char **argv)
{
	int th = argc > 1 ? atoi(argv[1]) : 1;
	openblas_set_num_threads(th);
	int shapes[][3] = {{4096, 1152, 384}, {4096, 384, 384}, {4096, 1536, 384}, {4096, 384, 1536}, {2048, 2048, 2048}};
	double best = 0;
	for (int i = 0; i < 5; i++) {
		double g = run(shapes[i][0], shapes[i][1], shapes[i][2]);
		printf("sgemm %dx%dx%d threads %d: %.1f GFLOP/s\n", shapes[i][0], shapes[i][1], shapes[i][2], th, g);
		best = g > best ? g : best;
	}
	printf("peak %.1f\n", best);
	return 0;
}
