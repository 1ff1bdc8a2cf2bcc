/* bench/lstm_bench.c - training speed of tl's LSTM kernels
 * (lstm_forward + lstm_backward, include/tl/kernels.h), the tl side of
 * bench/lstm.sh.
 *
 *   lstm_bench B T I H THREADS ITERS [PREC]
 *
 * PREC fp32 (the default) or bf16: lstm_forward/backward's pw_ih and
 * pw_hh, every product on bf16 operands with fp32 sums (handles of w_ih
 * and w_hh, rounded again at every step as training does: their cost is
 * in the step's time); the line then starts with "tl-bf16".
 *
 * One layer, every gradient wanted (dx, dh0, dc0, dw_ih, dw_hh, db_ih,
 * db_hh), h0/c0 given, all sequences of length T, weights uniform in
 * +-1/sqrt(H) as nn.LSTM initialises them. One warm-up step, then ITERS
 * timed steps (forward + backward); prints
 *   tl B T I H threads: median_ms M tokens_per_s X cpu_ms C
 * (tokens = B*T per step, the median step's wall time; C the median
 * step's process CPU time, all threads, the figure that load on the
 * machine disturbs least at one thread; bits: a hash of every output and
 * gradient after the run, the same for every thread count). */
#include "tl/kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rnd(const tl_kernels *k, size_t n, float scale, unsigned *s)
{
	float *h = malloc(n * sizeof(float) + 4), *d = k->alloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		*s = *s * 1664525u + 1013904223u;
		h[i] = ((float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f) * scale;
	}
	k->to_device(d, h, n * sizeof(float));
	free(h);
	return d;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: lstm_bench B T I H THREADS ITERS [fp32|bf16]\n");
		return 2;
	}
	int bf16 = argc == 8 && !strcmp(argv[7], "bf16");
	if (argc == 8 && !bf16 && strcmp(argv[7], "fp32")) {
		fprintf(stderr, "lstm_bench: precision '%s': fp32 or bf16\n", argv[7]);
		return 2;
	}
	int B = atoi(argv[1]), T = atoi(argv[2]), I = atoi(argv[3]), H = atoi(argv[4]), th = atoi(argv[5]),
	    it = atoi(argv[6]);
	if (B < 1 || T < 1 || I < 1 || H < 1 || th < 1 || it < 1) {
		fprintf(stderr, "lstm_bench: sizes, threads and iterations must be positive\n");
		return 2;
	}
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(th);
	unsigned s = 1;
	size_t G = 4 * (size_t)H, BT = (size_t)B * T;
	float w = 1.0f / sqrtf((float)H);
	float *x = rnd(k, BT * I, 1.0f, &s), *h0 = rnd(k, (size_t)B * H, 0.5f, &s), *c0 = rnd(k, (size_t)B * H, 0.5f, &s);
	float *wih = rnd(k, G * I, w, &s), *whh = rnd(k, G * H, w, &s), *bih = rnd(k, G, w, &s), *bhh = rnd(k, G, w, &s);
	float *dh = rnd(k, BT * H, 1e-3f, &s);
	float *h = k->alloc(BT * H * 4), *c = k->alloc(BT * H * 4), *g = k->alloc(BT * G * 4);
	float *hT = k->alloc((size_t)B * H * 4), *cT = k->alloc((size_t)B * H * 4);
	float *dx = k->alloc(BT * I * 4), *dh0 = k->alloc((size_t)B * H * 4), *dc0 = k->alloc((size_t)B * H * 4);
	float *dwih = k->alloc(G * I * 4), *dwhh = k->alloc(G * H * 4), *dbih = k->alloc(G * 4), *dbhh = k->alloc(G * 4);
	int32_t *lens = k->alloc((size_t)B * 4);
	int32_t *hl = malloc((size_t)B * 4);
	for (int b = 0; b < B; b++)
		hl[b] = T;
	k->to_device(lens, hl, (size_t)B * 4);
	double *ms = malloc(sizeof(double) * (size_t)(it + 1)), *cpu = malloc(sizeof(double) * (size_t)(it + 1));
	void *pw = NULL, *pwh = NULL;
	for (int r = 0; r <= it; r++) {
		double t0 = now(CLOCK_MONOTONIC), c0t = now(CLOCK_PROCESS_CPUTIME_ID);
		if (bf16 && pw) {
			k->matmul_update_bf16_train(pw, wih);
			k->matmul_update_bf16_train(pwh, whh);
		} else if (bf16) {
			pw = k->matmul_prepare_bf16_train(wih, I, (int)G);
			pwh = k->matmul_prepare_bf16_train(whh, H, (int)G);
		}
		k->lstm_forward(h, c, g, hT, cT, x, h0, c0, wih, whh, bih, bhh, lens, B, T, I, H, pw, pwh);
		k->lstm_backward(dx, dh0, dc0, dwih, dwhh, dbih, dbhh, dh, NULL, NULL, x, h0, c0, h, c, g, wih, whh, lens,
				 B, T, I, H, pw, pwh);
		k->synchronize();
		ms[r] = (now(CLOCK_MONOTONIC) - t0) * 1e3;
		cpu[r] = (now(CLOCK_PROCESS_CPUTIME_ID) - c0t) * 1e3;
	}
	qsort(ms + 1, (size_t)it, sizeof *ms, cmp);
	qsort(cpu + 1, (size_t)it, sizeof *cpu, cmp);
	double med = ms[1 + it / 2];
	/* FNV-1a of the last step's outputs and (accumulated) gradients: equal
	 * across thread counts when the kernels' bits do not depend on them */
	uint64_t fh = 1469598103934665603ull;
	const float *outs[] = {h, c, g, hT, cT, dx, dh0, dc0, dwih, dwhh, dbih, dbhh};
	size_t ns[] = {BT * H, BT * H, BT * G, (size_t)B * H, (size_t)B * H, BT * I, (size_t)B * H, (size_t)B * H,
		       G * I, G * H, G, G};
	for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
		float *hb = malloc(ns[i] * sizeof(float));
		k->to_host(hb, outs[i], ns[i] * sizeof(float));
		const unsigned char *p = (const unsigned char *)hb;
		for (size_t j = 0; j < ns[i] * sizeof(float); j++)
			fh = (fh ^ p[j]) * 1099511628211ull;
		free(hb);
	}
	printf("%s B %d T %d I %d H %d threads %d: median_ms %.2f tokens_per_s %.0f cpu_ms %.2f bits %016llx\n",
	       bf16 ? "tl-bf16" : "tl", B, T, I, H, th, med, BT / (med * 1e-3), cpu[1 + it / 2], (unsigned long long)fh);
	if (pw) {
		k->matmul_free_prec(pw);
		k->matmul_free_prec(pwh);
	}
	return 0;
}
