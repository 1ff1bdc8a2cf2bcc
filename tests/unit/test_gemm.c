/* test_gemm.c - the products on prepared weights (kernels.h:
 * matmul_prepare, matmul_unprepare, matmul_forward_prepared; the CPU
 * backend's AVX-512 GEMM, kernels/cpu/gemm.c): against a double-precision
 * reference, with and without bias and GELU, on shapes that exercise both
 * panel widths, several K blocks, partial row tiles and the unprepared
 * fallback; restoring is exact; a row's result does not depend on N, on
 * its position, or on the thread count. And the AVX-512 attention
 * (kernels/cpu/attention.c, behind attention_forward and
 * attention_forward_packed) for head sizes 16, 32, 48 and 64 on sequence
 * lengths around its 8-query and 16/32/48-key tiles: against a double
 * reference, packed = padded bitwise, a sequence's result the same alone
 * or in a batch and on 1 or 2 threads, probabilities summing to one.
 * The zmm exp and GELU (vmath512.h) give the scalar forms' bits.
 * Training (fp32): tl_cpu_gemm_pack, the out-of-place packing of a weight
 * that changes every step, gives tl_cpu_gemm_prepare's bits, and
 * matmul_update_fp32 on a handle the forward of a fresh one, bitwise;
 * tl_cpu_gemm_nn (dinp += dout W, W read in place) against a double
 * reference with and without accumulation, a row's result independent of
 * N and the thread count, and the shapes it refuses. */
#include "testhelp.h"
#include "tl/kernels.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lowprec.h"
#include "kernels/cpu/vmath512.h"
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

/* attention of B sequences (lens) with NH heads of hd: packed layout */
static void check_attention(const tl_kernels *k, int hd, int NH)
{
	int lens[] = {1, 5, 8, 16, 17, 25, 33, 48, 49, 64, 100, 130};
	int B = (int)(sizeof lens / sizeof *lens), C = hd * NH, C3 = 3 * C, T = 130, real = 0;
	for (int b = 0; b < B; b++)
		real += lens[b];
	float *pq = rnd((size_t)real * C3, 1), *po = tl_xmalloc((size_t)real * C * sizeof *po);
	double worst = 0;
	k->set_threads(2);
	k->attention_forward_packed(po, pq, lens, B, C, NH, 0);
	size_t off = 0;
	int alone = 1;
	float *one = tl_xmalloc((size_t)T * C * sizeof *one);
	for (int b = 0; b < B; b++) {
		const float *base = pq + off * C3;
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < lens[b]; i++) {
				double s[130], m = -1e300, z = 0;
				for (int j = 0; j < lens[b]; j++) {
					s[j] = 0;
					for (int d = 0; d < hd; d++)
						s[j] += (double)base[(size_t)i * C3 + h * hd + d] *
							base[(size_t)j * C3 + C + h * hd + d];
					s[j] /= sqrt(hd);
					m = s[j] > m ? s[j] : m;
				}
				for (int j = 0; j < lens[b]; j++)
					z += (s[j] = exp(s[j] - m));
				for (int d = 0; d < hd; d++) {
					double o = 0;
					for (int j = 0; j < lens[b]; j++)
						o += s[j] / z * base[(size_t)j * C3 + 2 * C + h * hd + d];
					double e = fabs(o - po[(off + i) * C + h * hd + d]);
					worst = e > worst ? e : worst;
				}
			}
		/* alone, on one thread: the same bits */
		k->set_threads(1);
		k->attention_forward_packed(one, base, &lens[b], 1, C, NH, 0);
		alone &= !memcmp(one, po + off * C, (size_t)lens[b] * C * sizeof *one);
		k->set_threads(2);
		off += lens[b];
	}
	printf("attention hd=%d NH=%d: max abs error %.3g\n", hd, NH, worst);
	CHECK(worst < 2e-6);
	CHECK(alone);
	/* padded = packed, bitwise; probabilities sum to one, zero on padding */
	float *qkv = tl_xmalloc((size_t)B * T * C3 * sizeof *qkv), *out = tl_xmalloc((size_t)B * T * C * sizeof *out);
	float *att = tl_xmalloc((size_t)B * NH * T * T * sizeof *att), *back = tl_xmalloc((size_t)B * T * C * sizeof *back);
	for (size_t i = 0; i < (size_t)B * T * C3; i++)
		qkv[i] = 1e6f; /* padding garbage changes nothing */
	k->pack_rows(qkv, pq, lens, B, T, C3, TL_ROWS_UNPACK);
	k->attention_forward(out, att, qkv, lens, B, T, C, NH);
	k->pack_rows(back, out, lens, B, T, C, TL_ROWS_PACK);
	CHECK(!memcmp(back, po, (size_t)real * C * sizeof *po));
	double sumerr = 0;
	int zeros = 1;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < lens[b]; i++) {
				const float *a = att + (((size_t)b * NH + h) * T + i) * T;
				double z = 0;
				for (int j = 0; j < T; j++)
					z += a[j];
				sumerr = fabs(z - 1) > sumerr ? fabs(z - 1) : sumerr;
				for (int j = lens[b]; j < T; j++)
					zeros &= a[j] == 0.0f;
			}
	CHECK(sumerr < 1e-5);
	CHECK(zeros);
	/* the [CLS] query alone matches the full result's first rows */
	float *first = tl_xmalloc((size_t)B * C * sizeof *first);
	k->attention_forward_packed(first, pq, lens, B, C, NH, 1);
	double fd = 0;
	off = 0;
	for (int b = 0; b < B; b++) {
		for (int c = 0; c < C; c++)
			fd = fabs(first[(size_t)b * C + c] - po[off * C + c]) > fd ? fabs(first[(size_t)b * C + c] - po[off * C + c]) : fd;
		off += lens[b];
	}
	CHECK(fd < 1e-6);
	free(pq), free(po), free(one), free(qkv), free(out), free(att), free(back), free(first);
}

/* tl_vexp512 and tl_vgelu512 against tl_vexpf and tl_vgelu, bit for bit
 * (NaN for NaN), on a sweep and the edges of their pieces */
TL_TGT512 static void check_vmath512(void)
{
	enum { N = 16 * 1024 };
	static float x[N];
	float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1.0f, -1.0f, 1.41421356f, -1.41421356f, 5.656854f,
			-5.656854f, 87.0f, -87.0f, 88.0f, 88.5f, -87.5f, -100.0f, 100.0f, 1e-30f, -1e-30f, 3e38f, -3e38f};
	int ne = (int)(sizeof edge / sizeof *edge);
	for (int i = 0; i < N; i++)
		x[i] = i < ne ? edge[i] : -12.0f + 24.0f * (float)(i - ne) / (float)(N - ne);
	int bad_e = 0, bad_g = 0;
	for (int i = 0; i < N; i += 16) {
		float e[16], g[16];
		_mm512_storeu_ps(e, tl_vexp512(_mm512_loadu_ps(x + i)));
		_mm512_storeu_ps(g, tl_vgelu512(_mm512_loadu_ps(x + i)));
		for (int j = 0; j < 16; j++) {
			float se = tl_vexpf(x[i + j]), sg = tl_vgelu(x[i + j]);
			bad_e += !(memcmp(&se, &e[j], 4) == 0 || (isnan(se) && isnan(e[j])));
			bad_g += !(memcmp(&sg, &g[j], 4) == 0 || (isnan(sg) && isnan(g[j])));
		}
	}
	CHECK_EQ_INT(bad_e, 0);
	CHECK_EQ_INT(bad_g, 0);
}

/* tl_cpu_gemm_pack = tl_cpu_gemm_prepare bit for bit; matmul_update_fp32
 * after a weight change = a fresh matmul_prepare_prec(FP32), bitwise on
 * the forward */
static void check_pack(const tl_kernels *k, int N, int IC, int OC)
{
	float *w = rnd((size_t)OC * IC, 0.5f), *p = tl_xmalloc((size_t)OC * IC * sizeof *p);
	float *dst = tl_xmalloc((size_t)OC * IC * sizeof *dst);
	memcpy(p, w, (size_t)OC * IC * sizeof *w);
	int tag = tl_cpu_gemm_prepare(p, IC, OC);
	CHECK(tag > 0);
	if (tag > 0) {
		memset(dst, 0xff, (size_t)OC * IC * sizeof *dst);
		tl_cpu_gemm_pack(dst, w, IC, OC, tag);
		CHECK(memcmp(dst, p, (size_t)OC * IC * sizeof *p) == 0);
	}
	/* a handle made from w0, updated to w, against one made from w */
	float *w0 = rnd((size_t)OC * IC, 0.5f), *x = rnd((size_t)N * IC, 1), *b = rnd(OC, 1);
	void *h = k->matmul_prepare_prec(w0, IC, OC, TL_PREC_FP32), *h2 = k->matmul_prepare_prec(w, IC, OC, TL_PREC_FP32);
	k->matmul_update_fp32(h, w);
	float *o1 = tl_xmalloc((size_t)N * OC * sizeof *o1), *o2 = tl_xmalloc((size_t)N * OC * sizeof *o2);
	k->matmul_forward_prec(o1, x, h, b, N, IC, OC, TL_ACT_NONE);
	k->matmul_forward_prec(o2, x, h2, b, N, IC, OC, TL_ACT_NONE);
	CHECK(memcmp(o1, o2, (size_t)N * OC * sizeof *o1) == 0);
	k->matmul_free_prec(h);
	k->matmul_free_prec(h2);
	free(w);
	free(p);
	free(dst);
	free(w0);
	free(x);
	free(b);
	free(o1);
	free(o2);
}

/* out[N,M] (+)= A[N,K] B[K,M]: against double, relative to sum |a b| + |out0|;
 * row n alone gives the same bits; 1 and 2 threads the same bits */
static double check_nn(const tl_kernels *k, int N, int K, int M, int accum)
{
	float *a = rnd((size_t)N * K, 1), *bm = rnd((size_t)K * M, 0.5f), *o0 = rnd((size_t)N * M, 1);
	float *out = tl_xmalloc((size_t)N * M * sizeof *out), *one = tl_xmalloc((size_t)M * sizeof *one);
	memcpy(out, o0, (size_t)N * M * sizeof *out);
	CHECK_EQ_INT(tl_cpu_gemm_nn(out, a, bm, N, K, M, accum), 1);
	double worst = 0;
	for (int n = 0; n < N; n++)
		for (int m = 0; m < M; m++) {
			double s = accum ? o0[(size_t)n * M + m] : 0, mag = fabs(s);
			for (int i = 0; i < K; i++) {
				double p = (double)a[(size_t)n * K + i] * bm[(size_t)i * M + m];
				s += p;
				mag += fabs(p);
			}
			double e = fabs(out[(size_t)n * M + m] - s) / (mag > 0 ? mag : 1);
			worst = e > worst ? e : worst;
		}
	int rows_same = 1;
	for (int n = 0; n < N; n += (N > 3 ? N / 3 : 1)) {
		memcpy(one, o0 + (size_t)n * M, (size_t)M * sizeof *one);
		tl_cpu_gemm_nn(one, a + (size_t)n * K, bm, 1, K, M, accum);
		rows_same &= memcmp(one, out + (size_t)n * M, (size_t)M * sizeof *one) == 0;
	}
	CHECK(rows_same);
	k->set_threads(1);
	float *out1 = tl_xmalloc((size_t)N * M * sizeof *out1);
	memcpy(out1, o0, (size_t)N * M * sizeof *out1);
	tl_cpu_gemm_nn(out1, a, bm, N, K, M, accum);
	k->set_threads(2);
	CHECK(memcmp(out1, out, (size_t)N * M * sizeof *out) == 0);
	free(a);
	free(bm);
	free(o0);
	free(out);
	free(one);
	free(out1);
	return worst;
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
	printf("AVX-512 attention for hd 16, 32, 48, 64: %d %d %d %d\n", tl_cpu_attention_ok(16),
	       tl_cpu_attention_ok(32), tl_cpu_attention_ok(48), tl_cpu_attention_ok(64));
	if (avail)
		check_vmath512();
	else
		TEST_SKIP("the AVX-512 vector math (vmath512.h): this CPU has no AVX-512");
	check_attention(k, 32, 3);
	check_attention(k, 64, 2);
	check_attention(k, 16, 2);
	check_attention(k, 48, 1);
	check_attention(k, 8, 2); /* the sgemm path */
	if (avail) {
		check_pack(k, 19, 384, 1152);
		check_pack(k, 5, 1536, 384);
		check_pack(k, 7, 1000, 96); /* a partial K block: kc 232, not a multiple of 16 */
		check_pack(k, 3, 33, 160);  /* 32-wide panels, kc 33 */
		/* N, K (= OC of the layer), M (= IC): dinp of QKV, FFN in and out,
		 * 32-wide panels, partial tiles, a partial K block */
		int nn[][3] = {{37, 1152, 384}, {29, 1536, 384}, {20, 384, 1536}, {13, 70, 64}, {25, 33, 160},
			       {1, 5, 48}, {8, 1000, 96}, {130, 384, 384}};
		for (size_t i = 0; i < sizeof nn / sizeof *nn; i++)
			for (int acc = 0; acc < 2; acc++) {
				double e = check_nn(k, nn[i][0], nn[i][1], nn[i][2], acc);
				printf("gemm_nn N=%d K=%d M=%d accum=%d: relative error %.3g\n", nn[i][0], nn[i][1],
				       nn[i][2], acc, e);
				CHECK(e < 2e-6);
			}
		/* refused: M not a multiple of 32; nothing written */
		float o[29] = {0}, a1[3] = {1, 2, 3}, b1[3 * 29];
		for (int i = 0; i < 3 * 29; i++)
			b1[i] = 1.0f;
		CHECK_EQ_INT(tl_cpu_gemm_nn(o, a1, b1, 1, 3, 29, 0), 0);
		CHECK(o[0] == 0.0f && o[28] == 0.0f);
	} else {
		float o[32] = {0}, a1[1] = {1}, b1[32] = {0};
		CHECK_EQ_INT(tl_cpu_gemm_nn(o, a1, b1, 1, 1, 32, 0), 0);
		TEST_SKIP("tl_cpu_gemm_pack, tl_cpu_gemm_nn: this CPU has no AVX-512 (training uses sgemm)");
	}
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
