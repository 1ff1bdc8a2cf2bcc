/* test_gemm.c - the products on prepared weights (kernels.h:
 * matmul_prepare, matmul_unprepare, matmul_forward_prepared; the CPU
 * backend's AVX-512 GEMM, kernels/cpu/gemm.c): against a double-precision
 * reference, with and without bias and GELU, on shapes that exercise both
 * panel widths, several K blocks, partial row tiles and the unprepared
 * fallback; restoring is exact; a row's result does not depend on N, on
 * its position, or on the thread count. */
#include "testhelp.h"
#include "kernels/kernels.h"
#include "kernels/cpu/gemm.h"
#include "tl/util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
	return test_frand(&rng);
}

static float *rnd(size_t n, float scale)
{
	float *p = tl_xmalloc(n * sizeof *p + 4);
	for (size_t i = 0; i < n; i++)
		p[i] = frand() * scale;
	return p;
}

/* one shape: returns the largest error relative to sum |x w| + |b| */
static double check_shape(const tl_kernels *k, int N, int IC, int OC, int act, int use_bias, int want_tag)
{
	float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)OC * IC, 0.5f), *b = rnd(OC, 1);
	float *w0 = tl_xmalloc((size_t)OC * IC * sizeof *w0);
	memcpy(w0, w, (size_t)OC * IC * sizeof *w);
	int tag = k->matmul_prepare(w, IC, OC);
	if (want_tag >= 0)
		CHECK_EQ_INT(tag, want_tag);
	if (tag)
		CHECK(memcmp(w, w0, (size_t)OC * IC * sizeof *w) != 0); /* rearranged */
	float *out = tl_xmalloc((size_t)N * OC * sizeof *out);
	k->matmul_forward_prepared(out, x, w, tag, use_bias ? b : NULL, N, IC, OC, act);
	double worst = 0;
	for (int n = 0; n < N; n++)
		for (int o = 0; o < OC; o++) {
			double s = use_bias ? b[o] : 0, mag = use_bias ? fabs(b[o]) : 0;
			for (int i = 0; i < IC; i++) {
				double p = (double)x[(size_t)n * IC + i] * w0[(size_t)o * IC + i];
				s += p;
				mag += fabs(p);
			}
			double ref = act == TL_ACT_GELU ? 0.5 * s * (1 + erf(s / sqrt(2.0))) : s;
			double e = fabs(out[(size_t)n * OC + o] - ref) / (mag + 1e-30);
			if (!(e <= worst))
				worst = e;
		}
	/* restored bit for bit */
	k->matmul_unprepare(w, IC, OC, tag);
	CHECK(memcmp(w, w0, (size_t)OC * IC * sizeof *w) == 0);
	free(x), free(w), free(w0), free(b), free(out);
	return worst;
}

/* bitwise: rows computed alone, in other batches, at other offsets and
 * thread counts equal the rows of one big product */
static void check_rows(const tl_kernels *k, int IC, int OC, int act)
{
	int N = 101;
	float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)OC * IC, 0.5f), *b = rnd(OC, 1);
	int tag = k->matmul_prepare(w, IC, OC);
	float *all = tl_xmalloc((size_t)N * OC * sizeof *all), *part = tl_xmalloc((size_t)N * OC * sizeof *part);
	k->set_threads(1);
	k->matmul_forward_prepared(all, x, w, tag, b, N, IC, OC, act);
	int same = 1;
	/* one row at a time, and odd-sized batches at odd offsets */
	for (int n = 0; n < N; n++) {
		k->matmul_forward_prepared(part, x + (size_t)n * IC, w, tag, b, 1, IC, OC, act);
		same &= !memcmp(part, all + (size_t)n * OC, (size_t)OC * sizeof *part);
	}
	CHECK(same);
	int offs[][2] = {{3, 13}, {17, 9}, {40, 61}, {0, 8}};
	same = 1;
	for (int i = 0; i < 4; i++) {
		int o = offs[i][0], m = offs[i][1];
		k->matmul_forward_prepared(part, x + (size_t)o * IC, w, tag, b, m, IC, OC, act);
		same &= !memcmp(part, all + (size_t)o * OC, (size_t)m * OC * sizeof *part);
	}
	CHECK(same);
	for (int th = 2; th <= 3; th++) {
		k->set_threads(th);
		k->matmul_forward_prepared(part, x, w, tag, b, N, IC, OC, act);
		CHECK(!memcmp(part, all, (size_t)N * OC * sizeof *part));
	}
	k->set_threads(2);
	k->matmul_unprepare(w, IC, OC, tag);
	free(x), free(w), free(b), free(all), free(part);
}

int main(void)
{
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(2);
	int avail = tl_cpu_gemm_available();
	printf("AVX-512 GEMM available: %d\n", avail);
	/* N, IC, OC, act, bias, expected tag (when available) */
	struct {
		int N, IC, OC, act, bias, tag;
	} cases[] = {
		{37, 384, 1152, TL_ACT_NONE, 1, 3},  /* QKV: 48-wide panels */
		{20, 384, 1536, TL_ACT_GELU, 1, 3},  /* FFN in: bias + GELU */
		{29, 1536, 384, TL_ACT_NONE, 0, 3},  /* FFN out: 4 K blocks */
		{8, 1000, 96, TL_ACT_GELU, 1, 3},    /* a partial K block */
		{13, 70, 64, TL_ACT_NONE, 1, 2},     /* 32-wide panels */
		{25, 33, 160, TL_ACT_GELU, 0, 2},    /* 32-wide, partial tiles */
		{1, 5, 48, TL_ACT_NONE, 1, 3},       /* one row, tiny K */
		{7, 65, 29, TL_ACT_NONE, 1, 0},      /* not prepared: sgemm */
		{11, 40, 40, TL_ACT_GELU, 1, 0},     /* not prepared, GELU */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		double e = check_shape(k, cases[i].N, cases[i].IC, cases[i].OC, cases[i].act, cases[i].bias,
				       avail ? cases[i].tag : 0);
		printf("N=%d IC=%d OC=%d act=%d bias=%d: relative error %.3g\n", cases[i].N, cases[i].IC,
		       cases[i].OC, cases[i].act, cases[i].bias, e);
		CHECK(e < 2e-6);
	}
	check_rows(k, 384, 1152, TL_ACT_NONE);
	check_rows(k, 1536, 384, TL_ACT_NONE);
	check_rows(k, 384, 1536, TL_ACT_GELU);
	check_rows(k, 70, 64, TL_ACT_GELU);
	/* N = 0 writes nothing */
	{
		float w[48 * 4], x[4] = {1, 2, 3, 4}, out[48] = {0};
		for (int i = 0; i < 48 * 4; i++)
			w[i] = (float)i;
		int tag = k->matmul_prepare(w, 4, 48);
		k->matmul_forward_prepared(out, x, w, tag, NULL, 0, 4, 48, TL_ACT_NONE);
		int zero = 1;
		for (int i = 0; i < 48; i++)
			zero &= out[i] == 0.0f;
		CHECK(zero);
	}
	TEST_REPORT("test_gemm");
}
