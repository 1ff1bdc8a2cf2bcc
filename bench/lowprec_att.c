/* bench/lowprec_att.c - one (sequence, head) of inference attention: the
 * bf16 kernel (kernels/cpu/attention_bf16.c, on the best path here) against
 * attention.c's fp32 one, by sequence length, MiniLM's head size (32) and
 * row stride (3 x 384), in CPU time of the calling thread. It decides
 * TL_ATT_BF16_MIN_LEN (kernels/cpu/lowprec.h).
 *
 *   make -j2 all && cc -O2 -fopenmp -std=c11 -D_GNU_SOURCE -Iinclude -I. \
 *       -o lowprec_att bench/lowprec_att.c build/libtl.a \
 *       $(pkg-config --libs msgpack jansson libutf8proc openblas zlib) -lm -lpthread
 *   ./lowprec_att [hd] [len ...]
 *
 * Prints per length: microseconds per (sequence, head) and GFLOP/s (4 len^2
 * hd per call: both products) of each kernel, the best of 5 rounds: bf16
 * on fp32 rows, bf16 on bf16 rows in and out (--precision bf16's form:
 * tl_cpu_attention_bf16_one_io, TL_IO_IN_BF16 | TL_IO_OUT_BF16), fp32. */
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/scratch.h"
#include "tl/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	int hd = argc > 1 ? atoi(argv[1]) : 32;
	int def[] = {8, 16, 25, 32, 48, 64, 96, 128, 222, 256};
	int nl = argc > 2 ? argc - 2 : (int)(sizeof def / sizeof def[0]);
	int ld = 3 * 384, path = tl_cpu_attention_bf16_path();
	if (hd <= 0 || hd > 384) {
		fprintf(stderr, "lowprec_att: head size %d out of range\n", hd);
		return 2;
	}
	size_t n = (size_t)512 * ld;
	float *qkv = malloc(n * sizeof(float)), *o = malloc((size_t)512 * 384 * sizeof(float));
	uint16_t *qkvb = malloc(n * sizeof(uint16_t));
	if (!qkv || !o || !qkvb)
		return 1;
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		qkv[i] = (float)((x >> 8) & 0xffff) / 32768.0f - 1.0f;
		qkvb[i] = tl_cpu_f2bf(qkv[i]);
	}
	float scale = 1.0f / sqrtf((float)hd);
	printf("# hd=%d bf16 path=%d (0 ref, 1 avx512, 2 vdpbf16ps); fp32 kernel %s\n", hd, path,
	       tl_cpu_attention_ok(hd) ? "present" : "absent");
	printf("len\tbf16_us\tbf16_gflops\tbf16io_us\tbf16io_gflops\tfp32_us\tfp32_gflops\n");
	for (int a = 0; a < nl; a++) {
		int len = argc > 2 ? atoi(argv[2 + a]) : def[a];
		if (len <= 0 || len > 512) {
			fprintf(stderr, "lowprec_att: length %d out of range (1..512)\n", len);
			return 2;
		}
		int reps = (int)(2e7 / (4.0 * len * len * hd + 2e4)) + 1;
		double best[3] = {1e30, 1e30, 1e30};
		for (int round = 0; round < 5; round++)
			for (int kind = 0; kind < 3; kind++) {
				if (kind == 1 && !tl_cpu_attention_ok(hd))
					continue;
				double t0 = cpu_now();
				for (int r = 0; r < reps; r++) {
					if (kind == 0) {
						tl_cpu_attention_bf16_one(path, o, 384, qkv, qkv + 384, qkv + 768, ld, hd, len, len,
									  scale);
					} else if (kind == 2) {
						tl_cpu_attention_bf16_one_io(path, o, 384, qkvb, qkvb + 384, qkvb + 768, ld, hd, len,
									     len, scale, TL_IO_IN_BF16 | TL_IO_OUT_BF16);
					} else {
						int lds;
						tl_cpu_attention(o, 384, qkv, qkv + 384, qkv + 768, ld, hd, len, scale,
								 tl_cpu_scratch(tl_cpu_attention_scratch(len, hd)), &lds);
					}
				}
				double us = (cpu_now() - t0) / reps * 1e6;
				best[kind] = us < best[kind] ? us : best[kind];
			}
		double fl = 4.0 * len * len * hd;
		printf("%d\t%.2f\t%.1f\t%.2f\t%.1f\t", len, best[0], fl / best[0] / 1e3, best[2], fl / best[2] / 1e3);
		if (best[1] < 1e30)
			printf("%.2f\t%.1f\n", best[1], fl / best[1] / 1e3);
		else
			printf("absent\tabsent\n");
	}
	free(qkv);
	free(qkvb);
	free(o);
	return 0;
}
