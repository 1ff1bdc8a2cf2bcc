/* test_kernels.c - the CPU kernels on known values and naive
 * double-precision references, the float erf, and the padding and packing
 * contracts of attention. test_backend_ops compares every table entry of
 * every backend with the CPU backend and holds the references of matmul
 * and LayerNorm. */
#include "testhelp.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/scratch.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
	return test_frand(&rng);
}

static float *rnd(size_t n, float scale)
{
	float *p = tl_xmalloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand() * scale;
	return p;
}

static double maxdiff(const float *a, const double *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(a[i] - b[i]);
		if (!(d <= m))
			m = d;
	}
	return m;
}

/* A thread that takes every scratch slot and exits: its buffers must be
 * freed by the key's destructor (LeakSanitizer reports them in the
 * sanitizer build otherwise). Returns 1 when the buffers were aligned,
 * kept between calls and grown on demand. */
static void *scratch_thread(void *arg)
{
	(void)arg;
	int ok = 1;
	for (int s = 0; s < TL_SCR_NSLOT; s++) {
		char *a = tl_cpu_scratch_slot(s, 1000 + (size_t)s);
		ok &= ((uintptr_t)a % 64 == 0);
		memset(a, s, 1000 + (size_t)s);
		ok &= (tl_cpu_scratch_slot(s, 10) == a); /* kept: no regrowth */
		char *b = tl_cpu_scratch_slot(s, 100000);
		ok &= ((uintptr_t)b % 64 == 0);
		memset(b, 1, 100000);
	}
	return (void *)(intptr_t)ok;
}

int main(void)
{
	const tl_kernels *k = tl_kernels_get("cpu");
	CHECK(k != NULL && k == tl_kernels_cpu());
	CHECK(tl_kernels_get("no-such-backend") == NULL);
	k->set_threads(2);

	/* scratch.h: per-thread buffers, freed at thread exit (4 threads that
	 * each take all slots and exit), aligned, kept and grown */
	for (int i = 0; i < 4; i++) {
		pthread_t th;
		void *ok = NULL;
		CHECK(pthread_create(&th, NULL, scratch_thread, NULL) == 0);
		CHECK(pthread_join(th, &ok) == 0);
		CHECK(ok == (void *)1);
	}
	CHECK(tl_cpu_scratch_slot(TL_SCR_ATTN, 64) != tl_cpu_scratch_slot(TL_SCR_LP, 64));

	/* matmul_forward and layernorm_forward against double references:
	 * test_backend_ops (for every backend) */
	/* GELU: exact erf form; known values */
	{
		float in[5] = {-3, -1, 0, 0.5f, 2}, out[5];
		k->gelu_forward(out, in, 5);
		CHECK_NEAR(out[0], -0.0040496, 1e-6);
		CHECK_NEAR(out[1], -0.15865525, 1e-6);
		CHECK_NEAR(out[2], 0, 0);
		CHECK_NEAR(out[3], 0.34573123, 1e-6);
		CHECK_NEAR(out[4], 1.95449974, 1e-6);
	}
	/* the vectorisable erf behind GELU, against libm's double erf */
	{
		double worst = 0;
		for (int i = -100000; i <= 100000; i++) {
			float x = (float)i * 1e-4f;
			double d = fabs(tl_cpu_erf(x) - erf((double)x));
			worst = d > worst ? d : worst;
		}
		printf("erf max abs error on [-10, 10]: %.3g\n", worst);
		CHECK(worst < 3e-7);
		CHECK(tl_cpu_erf(-0.0f) == 0.0f && tl_cpu_erf(30.0f) == 1.0f && tl_cpu_erf(-30.0f) == -1.0f);
		/* NaN in, NaN out (training detects a diverged run by it), and no
		 * undefined behaviour on the way (this runs under UBSan in CI) */
		CHECK(isnan(tl_cpu_erf(NAN)));
		float in[4096], out[4096];
		for (int i = 0; i < 4096; i++)
			in[i] = (float)(i - 2048) / 256.0f;
		k->gelu_forward(out, in, 4096);
		worst = 0;
		for (int i = 0; i < 4096; i++) {
			double x = in[i], d = fabs(out[i] - 0.5 * x * (1 + erf(x / sqrt(2.0))));
			worst = d > worst ? d : worst;
		}
		CHECK(worst < 1e-6);
	}
	/* embeddings */
	{
		int B = 2, T = 3, C = 8, V = 5;
		float *wte = rnd((size_t)V * C, 1), *wpe = rnd((size_t)T * C, 1), *wtt = rnd(2 * (size_t)C, 1);
		int32_t ids[6] = {4, 0, 2, 1, 1, 3}, tt[6] = {0, 0, 1, 1, 0, 0};
		float out[48];
		k->embedding_forward(out, ids, tt, wte, wpe, wtt, B, T, C);
		CHECK_NEAR(out[(1 * T + 2) * C + 5], wte[3 * C + 5] + wpe[2 * C + 5] + wtt[0 * C + 5], 1e-6);
		CHECK_NEAR(out[(0 * T + 2) * C + 1], wte[2 * C + 1] + wpe[2 * C + 1] + wtt[1 * C + 1], 1e-6);
		k->embedding_forward(out, ids, NULL, wte, wpe, wtt, B, T, C);
		CHECK_NEAR(out[(0 * T + 2) * C + 1], wte[2 * C + 1] + wpe[2 * C + 1] + wtt[1], 1e-6);
		free(wte), free(wpe), free(wtt);
	}
	/* attention against a naive reference; padding changes nothing */
	{
		int B = 3, T = 11, C = 24, NH = 3, hd = 8;
		int32_t lens[3] = {11, 4, 7};
		float *qkv = rnd((size_t)B * T * 3 * C, 2);
		float *out = k->alloc((size_t)B * T * C * 4), *att = k->alloc((size_t)B * NH * T * T * 4);
		double *ref = tl_xcalloc((size_t)B * T * C, sizeof *ref);
		for (int b = 0; b < B; b++)
			for (int h = 0; h < NH; h++)
				for (int i = 0; i < lens[b]; i++) {
					double s[11], m = -1e300, z = 0;
					const float *q = qkv + ((size_t)b * T + i) * 3 * C + h * hd;
					for (int j = 0; j < lens[b]; j++) {
						const float *kk = qkv + ((size_t)b * T + j) * 3 * C + C + h * hd;
						s[j] = 0;
						for (int d = 0; d < hd; d++)
							s[j] += (double)q[d] * kk[d];
						s[j] /= sqrt(hd);
						m = s[j] > m ? s[j] : m;
					}
					for (int j = 0; j < lens[b]; j++)
						z += (s[j] = exp(s[j] - m));
					for (int j = 0; j < lens[b]; j++) {
						const float *v = qkv + ((size_t)b * T + j) * 3 * C + 2 * C + h * hd;
						for (int d = 0; d < hd; d++)
							ref[((size_t)b * T + i) * C + h * hd + d] += s[j] / z * v[d];
					}
				}
		k->attention_forward(out, att, qkv, lens, B, T, C, NH);
		CHECK(maxdiff(out, ref, (size_t)B * T * C) < 1e-5);
		/* probabilities sum to one over real keys, zero on padding */
		double sum = 0;
		for (int j = 0; j < T; j++)
			sum += att[((size_t)(1 * NH + 2) * T + 3) * T + j];
		CHECK_NEAR(sum, 1.0, 1e-5);
		CHECK(att[((size_t)(1 * NH + 2) * T + 3) * T + 5] == 0.0f);
		/* garbage in padded positions does not change real rows */
		float *out2 = k->alloc((size_t)B * T * C * 4);
		for (int t = lens[1]; t < T; t++)
			for (int c = 0; c < 3 * C; c++)
				qkv[((size_t)1 * T + t) * 3 * C + c] = 1e6f;
		k->attention_forward(out2, NULL, qkv, lens, B, T, C, NH);
		CHECK(memcmp(out, out2, (size_t)B * T * C * 4) == 0);
		/* the packed layout: pack qkv, attend, unpack = the padded result
		 * (bitwise: the same products on the same rows) */
		int real = lens[0] + lens[1] + lens[2];
		float *pq = k->alloc((size_t)real * 3 * C * 4), *po = k->alloc((size_t)real * C * 4);
		k->pack_rows(pq, qkv, lens, B, T, 3 * C, TL_ROWS_PACK);
		CHECK(memcmp(pq + (size_t)(lens[0] + 2) * 3 * C, qkv + (size_t)(T + 2) * 3 * C, (size_t)3 * C * 4) == 0);
		k->attention_forward_packed(po, pq, lens, B, C, NH, 0);
		for (size_t i = 0; i < (size_t)B * T * C; i++)
			out2[i] = 7.0f;
		k->pack_rows(out2, po, lens, B, T, C, TL_ROWS_UNPACK);
		CHECK(memcmp(out, out2, (size_t)B * T * C * 4) == 0);
		CHECK(out2[((size_t)1 * T + 4) * C] == 0.0f && out2[((size_t)2 * T + 10) * C + C - 1] == 0.0f);
		CHECK(maxdiff(out2, ref, (size_t)B * T * C) < 1e-5);
		/* first query only: the [CLS] rows of the full result */
		float *pf = k->alloc((size_t)B * C * 4), *pg = k->alloc((size_t)B * C * 4);
		k->attention_forward_packed(pf, pq, lens, B, C, NH, 1);
		k->pack_rows(pg, po, lens, B, 0, C, TL_ROWS_FIRST);
		double fd = 0;
		for (size_t i = 0; i < (size_t)B * C; i++)
			fd = fabs(pf[i] - pg[i]) > fd ? fabs(pf[i] - pg[i]) : fd;
		CHECK(fd < 1e-6);
		CHECK(memcmp(pg + C, out + (size_t)T * C, (size_t)C * 4) == 0);
		k->free(pq), k->free(po), k->free(pf), k->free(pg);
		free(qkv), free(ref), k->free(out), k->free(out2), k->free(att);
	}
	/* fused inference forms against their unfused definitions */
	{
		int N = 19, C = 37;
		float *x = rnd((size_t)N * C, 3), *y = rnd((size_t)N * C, 3), *bb = rnd(C, 1);
		float *w = rnd(C, 1), *b = rnd(C, 1);
		float *o = k->alloc((size_t)N * C * 4), *t = k->alloc((size_t)N * C * 4);
		double *ref = tl_xmalloc((size_t)N * C * sizeof *ref);
		/* bias + GELU: 0.5 v (1 + erf(v / sqrt 2)) */
		k->bias_gelu_forward(o, x, bb, N, C);
		for (int n = 0; n < N; n++)
			for (int c = 0; c < C; c++) {
				double v = (double)x[n * C + c] + bb[c];
				ref[n * C + c] = 0.5 * v * (1 + erf(v / sqrt(2.0)));
			}
		CHECK(maxdiff(o, ref, (size_t)N * C) < 1e-5);
		memcpy(t, x, (size_t)N * C * 4);
		k->bias_gelu_forward(t, t, NULL, N, C); /* in place, no bias */
		k->gelu_forward(o, x, (size_t)N * C);
		CHECK(memcmp(o, t, (size_t)N * C * 4) == 0);
		/* LayerNorm(a + (b + bias)) in double */
		for (int n = 0; n < N; n++) {
			double r[64], m = 0, v = 0;
			for (int c = 0; c < C; c++)
				m += r[c] = (double)x[n * C + c] + ((double)y[n * C + c] + bb[c]);
			m /= C;
			for (int c = 0; c < C; c++)
				v += (r[c] - m) * (r[c] - m);
			v /= C;
			for (int c = 0; c < C; c++)
				ref[n * C + c] = (r[c] - m) / sqrt(v + 1e-12) * w[c] + b[c];
		}
		k->add_layernorm_forward(o, x, y, bb, w, b, N, C, 1e-12f);
		CHECK(maxdiff(o, ref, (size_t)N * C) < 2e-5);
		memcpy(t, y, (size_t)N * C * 4);
		k->add_layernorm_forward(t, x, t, bb, w, b, N, C, 1e-12f); /* out == b */
		CHECK(memcmp(o, t, (size_t)N * C * 4) == 0);
		/* without the extra bias it is residual + LayerNorm */
		k->add_layernorm_forward(o, x, y, NULL, w, b, N, C, 1e-12f);
		k->residual_forward(t, x, y, (size_t)N * C);
		k->layernorm_forward(t, NULL, NULL, t, w, b, N, C, 1e-12f);
		CHECK(memcmp(o, t, (size_t)N * C * 4) == 0);
		free(x), free(y), free(bb), free(w), free(b), free(ref), k->free(o), k->free(t);
	}
	/* pooling and normalisation */
	{
		int B = 2, T = 3, C = 2;
		float h[12] = {1, 2, 3, -4, 100, 100, /* b0: len 2 */ 5, 6, 7, 8, 9, -10};
		int32_t lens[2] = {2, 3};
		float out[4];
		k->pool_forward(out, h, lens, B, T, C, TL_POOL_MEAN);
		CHECK_NEAR(out[0], 2, 1e-6);
		CHECK_NEAR(out[1], -1, 1e-6);
		CHECK_NEAR(out[2], 7, 1e-6);
		CHECK_NEAR(out[3], 4.0 / 3, 1e-6);
		k->pool_forward(out, h, lens, B, T, C, TL_POOL_MAX);
		CHECK_NEAR(out[0], 3, 0);
		CHECK_NEAR(out[1], 2, 0);
		CHECK_NEAR(out[3], 8, 0);
		k->pool_forward(out, h, lens, B, T, C, TL_POOL_CLS);
		CHECK_NEAR(out[2], 5, 0);
		float v[4] = {3, 4, 0, 0};
		k->l2norm_forward(v, 2, 2);
		CHECK_NEAR(v[0], 0.6, 1e-7);
		CHECK_NEAR(v[1], 0.8, 1e-7);
		CHECK(v[2] == 0 && v[3] == 0);
	}
	/* pooler: tanh(W h[CLS] + b) */
	{
		int B = 2, T = 3, C = 4;
		float *h = rnd((size_t)B * T * C, 1), *w = rnd((size_t)C * C, 1), *b = rnd(C, 1), out[8];
		k->pooler_forward(out, h, w, b, B, T, C, C);
		double s = b[2];
		for (int i = 0; i < C; i++)
			s += (double)w[2 * C + i] * h[1 * T * C + i];
		CHECK_NEAR(out[1 * C + 2], tanh(s), 1e-6);
		free(h), free(w), free(b);
	}
	TEST_REPORT("test_kernels");
}
