/* test_lowprec_attention.c - the bf16 attention of --precision bf16
 * (kernels/cpu/attention_bf16.c) on every kernel path this machine has.
 *
 * For each shape (keys len, head size hd, queries nq): each path (C
 * reference, AVX-512F fallback, vdpbf16ps) against the double-precision
 * attention of the fp32 inputs, element by element within a bound from the
 * format (u = 2^-8, a bf16 rounding's relative error with margin):
 *   scores: q and k rounded (2u + u^2), summed in fp32 over hd terms,
 *     times scale: |s_j - s*_j| <= D_j = scale (2u + u^2 + 1.01 hd 2^-24)
 *     sum_d |q_d k_jd| + 2^-23 |s*_j|; with D = max_j D_j,
 *   softmax: scores off by at most D move each probability by a factor in
 *     [e^-2D, e^2D]; the exponentials' own error (< 4e-6 relative), the
 *     probabilities' and v's bf16 rounding (u each, and the fp32 sum's
 *     normalisation of unrounded exponentials: u) and the fp32 sum over
 *     len terms (1.01 len 2^-24):
 *   |o_c - o*_c| <= ((e^2D - 1) 1.02 + 3.1 u + 1.01 len 2^-24 + 1e-5)
 *     sum_j p*_j |v_jc| + 1e-7.
 * The rms error relative to rms |o| is printed for information.
 * Exact: the AVX-512F fallback equals vdpbf16ps bit for bit (shared
 * conversions and softmax, exponentials clamped to normal floats on both);
 * the reference (exp2f, no AVX-512) is held to the bound only. The bf16
 * rows out (tl_cpu_attention_bf16_one_io, mode TL_ATT_OUT_BF16) are the
 * fp32 results rounded, bit for bit, on every path and for an odd width;
 * bf16 rows in (TL_ATT_IN_BF16: q, k, v rounded by the producer) give the
 * bits of the fp32 rows, and put short sequences on the bf16 kernel.
 * Deterministic (kernels.h attention_forward_packed_bf16): the same bits for
 * 1, 2 and 3 threads, for a sequence alone and inside a batch, and for the
 * first query alone (first_only) and inside the whole sequence; a sequence
 * under TL_ATT_BF16_MIN_LEN tokens gets attention.c's fp32 bits.
 * A path the machine lacks is reported as SKIP, never as a pass. */
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lowprec.h"
#include "testhelp.h"
#include "tl/cli.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;
static const char *const pname[] = {"ref", "avx512", "dp", "amx"};

static float *rnd(size_t n, float scale)
{
	float *p = tl_xmalloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = test_frand(&rng) * scale;
	return p;
}

static int bits_equal(const float *a, const float *b, size_t n, size_t *diff)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
	if (diff)
		*diff = d;
	return d == 0;
}

/* o[nq, hd] (row stride ldo) against the double attention of q, k, v
 * (row stride ld) */
static void check_bounds(const char *what, const float *o, int ldo, const float *q, const float *k, const float *v,
			 int ld, int hd, int len, int nq, float scale)
{
	const double u = 1.0 / 256;
	double *s = tl_xmalloc((size_t)len * sizeof *s), worst = 0, se = 0, so = 0;
	int bad = 0;
	for (int i = 0; i < nq; i++) {
		double mx = -INFINITY, D = 0, sum = 0;
		for (int j = 0; j < len; j++) {
			double a = 0, sabs = 0;
			for (int d = 0; d < hd; d++) {
				a += (double)q[(size_t)i * ld + d] * k[(size_t)j * ld + d];
				sabs += fabs((double)q[(size_t)i * ld + d] * k[(size_t)j * ld + d]);
			}
			s[j] = a * scale;
			double Dj = scale * (2 * u + u * u + 1.01 * hd / 16777216.0) * sabs + fabs(s[j]) / 8388608.0;
			D = Dj > D ? Dj : D;
			mx = s[j] > mx ? s[j] : mx;
		}
		for (int j = 0; j < len; j++)
			sum += s[j] = exp(s[j] - mx);
		double rel = (exp(2 * D) - 1) * 1.02 + 3.1 * u + 1.01 * len / 16777216.0 + 1e-5;
		for (int c = 0; c < hd; c++) {
			double ref = 0, pv = 0;
			for (int j = 0; j < len; j++) {
				ref += s[j] / sum * v[(size_t)j * ld + c];
				pv += s[j] / sum * fabs(v[(size_t)j * ld + c]);
			}
			double tol = rel * pv + 1e-7, d = fabs(o[(size_t)i * ldo + c] - ref);
			if (!(d <= tol))
				bad++;
			if (d / tol > worst)
				worst = d / tol;
			se += d * d;
			so += ref * ref;
		}
	}
	printf("%s: max error / bound %.3f, rms error / rms o %.2e: %s\n", what, worst, sqrt(se / (so + 1e-30)),
	       bad ? "FAIL" : "ok");
	CHECK(bad == 0);
	free(s);
}

/* One (sequence, head) on every path: len keys, head size hd, the first
 * nq queries; q, k, v rows of stride ld = 3 hd + 5 (not a multiple of 16). */
static void t_one(int len, int hd, int nq, float amp)
{
	int ld = 3 * hd + 5;
	float *qkv = rnd((size_t)len * ld, amp), scale = 1.0f / sqrtf((float)hd);
	const float *q = qkv, *k = qkv + hd, *v = qkv + 2 * hd;
	float *o[4] = {NULL, NULL, NULL, NULL};
	for (int path = TL_LP_REF; path <= TL_LP_AMX; path++) {
		char what[128];
		snprintf(what, sizeof what, "bf16 attention %s len=%d hd=%d nq=%d amp=%g", pname[path], len, hd, nq,
			 amp);
		if (!tl_cpu_prec_path_ok(TL_PREC_BF16, path)) {
			TEST_SKIP("%s: the CPU lacks this path's instructions", what);
			continue;
		}
		o[path] = tl_xcalloc((size_t)nq * (hd + 3), sizeof(float));
		tl_cpu_attention_bf16_one(path, o[path], hd + 3, q, k, v, ld, hd, len, nq, scale);
		check_bounds(what, o[path], hd + 3, q, k, v, ld, hd, len, nq, scale);
		/* the columns past hd of each output row are left alone */
		int untouched = 1;
		for (int i = 0; i < nq; i++)
			for (int c = hd; c < hd + 3; c++)
				untouched &= o[path][(size_t)i * (hd + 3) + c] == 0.0f;
		CHECK(untouched);
		/* bf16 rows out: the bf16 of each fp32 result; bf16 rows in (q, k,
		 * v rounded): the same results; bit for bit */
		uint16_t *ob = tl_xcalloc((size_t)nq * (hd + 3), sizeof(uint16_t));
		uint16_t *qkvb = tl_xmalloc((size_t)len * ld * sizeof(uint16_t));
		float *oi = tl_xcalloc((size_t)nq * (hd + 3), sizeof(float));
		for (size_t i = 0; i < (size_t)len * ld; i++)
			qkvb[i] = tl_cpu_f2bf(qkv[i]);
		tl_cpu_attention_bf16_one_io(path, ob, hd + 3, q, k, v, ld, hd, len, nq, scale, TL_IO_OUT_BF16);
		tl_cpu_attention_bf16_one_io(path, oi, hd + 3, qkvb, qkvb + hd, qkvb + 2 * hd, ld, hd, len, nq, scale,
					     TL_IO_IN_BF16);
		size_t nbad = 0, ibad = 0;
		for (int i = 0; i < nq; i++)
			for (int c = 0; c < hd + 3; c++) {
				size_t at = (size_t)i * (hd + 3) + c;
				nbad += ob[at] != (c < hd ? tl_cpu_f2bf(o[path][at]) : 0);
				ibad += memcmp(&oi[at], &o[path][at], sizeof(float)) != 0;
			}
		printf("%s: bf16 rows out are the rounded fp32 ones: %s (%zu differ); bf16 rows in give the same bits: "
		       "%s (%zu differ)\n",
		       what, nbad ? "FAIL" : "ok", nbad, ibad ? "FAIL" : "ok", ibad);
		CHECK(nbad == 0);
		CHECK(ibad == 0);
		free(ob), free(qkvb), free(oi);
	}
	if (o[TL_LP_AVX512] && o[TL_LP_DP]) {
		size_t nd;
		int eq = bits_equal(o[TL_LP_AVX512], o[TL_LP_DP], (size_t)nq * (hd + 3), &nd);
		printf("bf16 attention len=%d hd=%d: avx512 bitwise equal to dp: %s (%zu differ)\n", len, hd,
		       eq ? "ok" : "FAIL", nd);
		CHECK(eq);
	}
	if (o[TL_LP_AMX] && o[TL_LP_DP]) {
		size_t nd;
		bits_equal(o[TL_LP_AMX], o[TL_LP_DP], (size_t)nq * (hd + 3), &nd);
		printf("bf16 attention len=%d hd=%d: amx: %zu of %zu differ from dp in their bits (allowed: the tile "
		       "unit's rounding; bounded above)\n",
		       len, hd, nd, (size_t)nq * (hd + 3));
	}
	for (int p = 0; p < 4; p++)
		free(o[p]);
	free(qkv);
}

/* kernels.h attention_forward_packed_bf16 on a batch: threads, batch
 * composition and first_only change no bit. */
static void t_packed(const tl_kernels *k)
{
	if (!k->attention_forward_packed_bf16) {
		printf("attention_forward_packed_bf16: not offered by the CPU backend: FAIL\n");
		CHECK(0);
		return;
	}
	int NH = 3, hd = 32, C = NH * hd, B = 4;
	int32_t lens[4] = {25, 1, 70, 0};
	int N = 25 + 1 + 70;
	float *qkv = rnd((size_t)N * 3 * C, 1.0f);
	float *o1 = tl_xcalloc((size_t)N * C, sizeof(float)), *o2 = tl_xcalloc((size_t)N * C, sizeof(float));
	omp_set_num_threads(1);
	k->attention_forward_packed_bf16(o1, qkv, lens, B, C, NH, 0);
	int ok = 1;
	for (int nt = 2; nt <= 3; nt++) {
		omp_set_num_threads(nt);
		memset(o2, 0, sizeof(float) * (size_t)N * C);
		k->attention_forward_packed_bf16(o2, qkv, lens, B, C, NH, 0);
		if (!bits_equal(o1, o2, (size_t)N * C, NULL)) {
			printf("attention_forward_packed_bf16: %d threads differ from 1: FAIL\n", nt);
			ok = 0;
		}
	}
	/* the third sequence alone */
	int32_t one = 70;
	memset(o2, 0, sizeof(float) * (size_t)N * C);
	k->attention_forward_packed_bf16(o2, qkv + (size_t)26 * 3 * C, &one, 1, C, NH, 0);
	if (!bits_equal(o1 + (size_t)26 * C, o2, (size_t)70 * C, NULL)) {
		printf("attention_forward_packed_bf16: a sequence alone differs from it in the batch: FAIL\n");
		ok = 0;
	}
	/* first_only: row 0 of each sequence (a zero row for the empty one);
	 * the bf16 kernel's row 0 for the 70-token one; the short ones ran the
	 * fp32 kernel in full (below), their first row alone the bf16 one */
	float *f = rnd((size_t)B * C, 1.0f);
	k->attention_forward_packed_bf16(f, qkv, lens, B, C, NH, 1);
	if (!bits_equal(f + (size_t)2 * C, o1 + (size_t)26 * C, (size_t)C, NULL)) {
		printf("attention_forward_packed_bf16: first_only differs from row 0 of the 70-token sequence: FAIL\n");
		ok = 0;
	}
	for (int c = 0; c < C; c++)
		ok &= f[(size_t)3 * C + c] == 0.0f;
	/* under TL_ATT_BF16_MIN_LEN tokens: attention.c's fp32 kernel, its bits */
	if (tl_cpu_attention_ok(hd)) {
		for (int h = 0; h < NH; h++) {
			int lds;
			float *s = tl_xmalloc(sizeof(float) * tl_cpu_attention_scratch(25, hd));
			tl_cpu_attention(o2 + h * hd, C, qkv + h * hd, qkv + C + h * hd, qkv + 2 * C + h * hd, 3 * C, hd, 25,
					 1.0f / sqrtf((float)hd), s, &lds);
			free(s);
		}
		if (!bits_equal(o2, o1, (size_t)25 * C, NULL)) {
			printf("attention_forward_packed_bf16: a 25-token sequence is not the fp32 kernel's: FAIL\n");
			ok = 0;
		}
	} else {
		TEST_SKIP("attention.c's fp32 kernel does not run here: short sequences take the bf16 one");
	}
	printf("attention_forward_packed_bf16: threads, batch and first_only give the same bits: %s\n",
	       ok ? "ok" : "FAIL");
	CHECK(ok);
	/* TL_ATT_OUT_BF16: bf16 rows, each the rounded fp32 result (both
	 * kernels: the 25-token sequence's and the 70-token one's), with and
	 * without TL_ATT_FIRST_ONLY, on 3 threads (o1: 1 thread; the thread
	 * count only grows here: a thread that exits would leave its
	 * scratch.h buffer to the leak checker) */
	uint16_t *ob = tl_xcalloc((size_t)N * C, sizeof(uint16_t));
	size_t nbad = 0;
	for (int nt = 3; nt <= 3; nt++) {
		omp_set_num_threads(nt);
		memset(ob, 0xff, sizeof(uint16_t) * (size_t)N * C);
		k->attention_forward_packed_bf16((float *)(void *)ob, qkv, lens, B, C, NH, TL_ATT_OUT_BF16);
		for (size_t i = 0; i < (size_t)N * C; i++)
			nbad += ob[i] != tl_cpu_f2bf(o1[i]);
		memset(ob, 0xff, sizeof(uint16_t) * (size_t)B * C);
		k->attention_forward_packed_bf16((float *)(void *)ob, qkv, lens, B, C, NH,
						 TL_ATT_FIRST_ONLY | TL_ATT_OUT_BF16);
		for (size_t i = 0; i < (size_t)B * C; i++)
			nbad += ob[i] != tl_cpu_f2bf(f[i]);
	}
	printf("attention_forward_packed_bf16 TL_ATT_OUT_BF16: the rounded fp32 rows: %s (%zu differ)\n",
	       nbad ? "FAIL" : "ok", nbad);
	CHECK(nbad == 0);
	/* TL_ATT_IN_BF16: qkv as bf16 rows (the fp32 ones rounded); every
	 * sequence on the bf16 kernel, whose bits it gives (the short ones:
	 * tl_cpu_attention_bf16_one's, not the fp32 kernel's) */
	{
		int path = tl_cpu_attention_bf16_path();
		uint16_t *qb = tl_xmalloc(sizeof(uint16_t) * (size_t)N * 3 * C);
		float *want = tl_xcalloc((size_t)N * C, sizeof(float)), *got = tl_xcalloc((size_t)N * C, sizeof(float));
		for (size_t i = 0; i < (size_t)N * 3 * C; i++)
			qb[i] = tl_cpu_f2bf(qkv[i]);
		for (int b = 0, off = 0; b < B; off += lens[b], b++)
			for (int h = 0; h < NH && lens[b] > 0; h++) {
				const float *qq = qkv + (size_t)off * 3 * C + h * hd;
				tl_cpu_attention_bf16_one(path, want + (size_t)off * C + h * hd, C, qq, qq + C, qq + 2 * C, 3 * C,
							  hd, lens[b], lens[b], 1.0f / sqrtf((float)hd));
			}
		size_t ib = 0;
		for (int nt = 3; nt <= 3; nt++) {
			omp_set_num_threads(nt);
			k->attention_forward_packed_bf16(got, (const float *)(const void *)qb, lens, B, C, NH, TL_ATT_IN_BF16);
			ib += !bits_equal(got, want, (size_t)N * C, NULL);
			k->attention_forward_packed_bf16((float *)(void *)ob, (const float *)(const void *)qb, lens, B, C, NH,
							 TL_ATT_IN_BF16 | TL_ATT_OUT_BF16);
			for (size_t i = 0; i < (size_t)N * C; i++)
				ib += ob[i] != tl_cpu_f2bf(want[i]);
		}
		ib += !bits_equal(want + (size_t)26 * C, o1 + (size_t)26 * C, (size_t)70 * C, NULL);
		printf("attention_forward_packed_bf16 TL_ATT_IN_BF16 (and OUT): the bf16 kernel's bits (1 thread's), 3 threads: "
		       "%s\n",
		       ib ? "FAIL" : "ok");
		CHECK(ib == 0);
		free(qb), free(want), free(got);
	}
	free(ob);
	/* an odd width (C = 21: three heads of 7): bf16 rows of 22, the pad
	 * element 0 */
	{
		int oNH = 3, ohd = 7, oC = 21;
		int32_t olens[2] = {5, 0};
		float *oq = rnd((size_t)5 * 3 * oC, 1.0f), *of = tl_xcalloc((size_t)5 * oC, sizeof(float));
		uint16_t *obb = tl_xmalloc(sizeof(uint16_t) * 5 * 22);
		memset(obb, 0xff, sizeof(uint16_t) * 5 * 22);
		k->attention_forward_packed_bf16(of, oq, olens, 2, oC, oNH, 0);
		k->attention_forward_packed_bf16((float *)(void *)obb, oq, olens, 2, oC, oNH, TL_ATT_OUT_BF16);
		size_t od = 0;
		for (int r = 0; r < 5; r++)
			for (int c = 0; c < 22; c++)
				od += obb[r * 22 + c] != (c < oC ? tl_cpu_f2bf(of[r * oC + c]) : 0);
		printf("attention_forward_packed_bf16 TL_ATT_OUT_BF16, C = %d (heads of %d): rows of 22, pad 0: %s\n", oC,
		       ohd, od ? "FAIL" : "ok");
		CHECK(od == 0);
		free(oq), free(of), free(obb);
	}
	omp_set_num_threads(2);
	free(qkv), free(o1), free(o2), free(f);
}

int main(void)
{
	tl_init("test_lowprec_attention");
	const tl_kernels *k = tl_kernels_cpu();
	omp_set_dynamic(0);
	t_one(1, 32, 1, 1.0f);    /* one key */
	t_one(25, 32, 25, 1.0f);  /* SST-2's mean length, MiniLM's head size: partial tiles and panels */
	t_one(37, 32, 1, 1.0f);   /* the first query only */
	t_one(70, 64, 70, 1.0f);  /* BERT-base's head size, two output panels */
	t_one(222, 32, 222, 1.0f); /* IMDB's mean length */
	t_one(33, 20, 33, 1.0f);  /* a head size with masked columns */
	t_one(19, 7, 19, 1.0f);   /* an odd head size: a padded pair */
	t_one(64, 32, 64, 4.0f);  /* peaked softmax rows (scores of tens: exponentials far below 1) */
	t_packed(k);
	TEST_REPORT("test_lowprec_attention");
}
