/* test_lowprec.c - the bf16 and int8 products (kernels/cpu/lowprec.c) on
 * every kernel path this machine has, and the instruction-set detection
 * (kernels/cpu/isa.c).
 *
 * For each shape, precision, bias/GELU: each path (C reference, AVX-512
 * fallback, dot-product instruction) against the double-precision product
 * of the fp32 inputs, element by element within a bound derived from the
 * format:
 *   bf16: x and w are rounded to 8-bit significands (relative error
 *     u = 2^-8 each, the product of two bf16 exact in fp32), then summed in
 *     fp32 over K terms: |y - y*| <= (2u + u^2 + 1.01 K 2^-24) sum|x w|
 *     + 2^-23 (|y*| + |b|).
 *   int8: with s_a, s_w the scales of the row and channel (recomputed
 *     here as the kernel defines them), |x - x^| <= s_a (rounding plus the
 *     zero point's rounding), |w - w^| <= s_w / 2: |y - y*| <=
 *     sum (|x| s_w / 2 + |w| s_a + s_a s_w / 2), times 1.001, plus 2^-22
 *     (sum |x w| + |y*| + |b|).
 *   GELU: its slope is at most 1.13, so the bound times 1.13, plus 1e-6.
 * The rms error relative to rms |y| is printed against u sqrt(K)-style
 * expectations for information only.
 * Exact: the int8 paths equal the C reference bit for bit (integer sums),
 * and the bf16 AVX-512F fallback equals vdpbf16ps (and the C reference) bit
 * for bit on these inputs (no denormals). Deterministic: the same bits for
 * 1, 2 and 3 threads and for a subset of the rows.
 * A path the machine lacks is reported as SKIP, never as a pass. */
#include "kernels/cpu/lowprec.h"
#include "testhelp.h"
#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static const char *const pname[] = {"ref", "avx512", "dp", "amx"};

static float *rnd(size_t n, float scale)
{
	float *p = tl_xmalloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = test_frand(&rng) * scale;
	return p;
}

static float *run(const tl_kernels *k, void *pw, const float *x, const float *b, int N, int IC, int OC, int act)
{
	float *o = tl_xmalloc((size_t)N * OC * sizeof *o);
	k->matmul_forward_prec(o, x, pw, b, N, IC, OC, act);
	return o;
}

static double gelu(double v)
{
	return 0.5 * v * (1 + erf(v / sqrt(2.0)));
}

/* element-wise bound check against the double reference */
static void check_bounds(const char *what, int prec, const float *y, const float *x, const float *w, const float *b,
			 int N, int IC, int OC, int act)
{
	double worst = 0, se = 0, sy = 0;
	int bad = 0;
	float *sw = tl_xmalloc((size_t)OC * sizeof *sw);
	for (int o = 0; o < OC; o++) {
		float m = 0;
		for (int k = 0; k < IC; k++)
			m = fabsf(w[(size_t)o * IC + k]) > m ? fabsf(w[(size_t)o * IC + k]) : m;
		sw[o] = m / 127.0f;
	}
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * IC;
		float mn = 0, mx = 0;
		for (int k = 0; k < IC; k++)
			mn = xr[k] < mn ? xr[k] : mn, mx = xr[k] > mx ? xr[k] : mx;
		double sa = (mx - mn) / 255.0;
		for (int o = 0; o < OC; o++) {
			const float *wr = w + (size_t)o * IC;
			double ref = b ? b[o] : 0, sxw = 0, ib = 0;
			for (int k = 0; k < IC; k++) {
				ref += (double)xr[k] * wr[k];
				sxw += fabs((double)xr[k] * wr[k]);
				ib += fabs(xr[k]) * sw[o] / 2 + fabs(wr[k]) * sa + sa * sw[o] / 2;
			}
			double bb = b ? fabs(b[o]) : 0, tol;
			if (prec == TL_PREC_BF16)
				tol = (2.0 / 256 + 1.0 / 65536 + 1.01 * IC / 16777216.0) * sxw + (fabs(ref) + bb) / 8388608.0;
			else
				tol = 1.001 * ib + (sxw + fabs(ref) + bb) / 4194304.0;
			if (act) {
				ref = gelu(ref);
				tol = 1.13 * tol + 1e-6;
			}
			double d = fabs(y[(size_t)n * OC + o] - ref);
			if (!(d <= tol))
				bad++;
			if (d / (tol + 1e-30) > worst)
				worst = d / (tol + 1e-30);
			se += d * d;
			sy += ref * ref;
		}
	}
	printf("%s: max error / bound %.3f, rms error / rms y %.2e: %s\n", what, worst, sqrt(se / (sy + 1e-30)),
	       bad ? "FAIL" : "ok");
	CHECK(bad == 0);
	free(sw);
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

static void t_shape(const tl_kernels *k, int N, int IC, int OC)
{
	float *x = rnd((size_t)N * IC, 1.5f), *w = rnd((size_t)OC * IC, 0.1f), *b = rnd((size_t)OC, 0.5f);
	for (int prec = TL_PREC_BF16; prec <= TL_PREC_INT8; prec++) {
		tl_cpu_prec_w *pw = k->matmul_prepare_prec(w, IC, OC, prec);
		int best = pw->path;
		for (int act = TL_ACT_NONE; act <= TL_ACT_GELU; act++) {
			const float *bias = act ? b : (N % 2 ? NULL : b);
			float *refy = NULL;
			for (int path = TL_LP_REF; path <= TL_LP_AMX; path++) {
				char what[160];
				snprintf(what, sizeof what, "%s %s N=%d IC=%d OC=%d %s%s", tl_precision_name(prec), pname[path],
					 N, IC, OC, bias ? "bias" : "no bias", act ? " GELU" : "");
				if (!tl_cpu_prec_path_ok(prec, path)) {
					TEST_SKIP("%s: the CPU lacks this path's instructions", what);
					continue;
				}
				pw->path = path;
				omp_set_num_threads(1);
				float *y = run(k, pw, x, bias, N, IC, OC, act);
				check_bounds(what, prec, y, x, w, bias, N, IC, OC, act);
				if (!refy) {
					refy = y;
				} else if (path == TL_LP_AMX && prec == TL_PREC_BF16) {
					/* the tile unit's own rounding inside an instruction: bounded
					 * above, not the other paths' bits */
					size_t nd;
					bits_equal(y, refy, (size_t)N * OC, &nd);
					printf("%s: %zu of %zu differ from the C reference in their bits (allowed)\n", what, nd,
					       (size_t)N * OC);
				} else {
					size_t nd;
					int eq = bits_equal(y, refy, (size_t)N * OC, &nd);
					printf("%s: bitwise equal to the C reference: %s (%zu differ)\n", what, eq ? "ok" : "FAIL", nd);
					CHECK(eq);
				}
				/* determinism: threads and a subset of the rows */
				for (int nt = 2; nt <= 3; nt++) {
					omp_set_num_threads(nt);
					float *z = run(k, pw, x, bias, N, IC, OC, act);
					int eq = bits_equal(z, y, (size_t)N * OC, NULL);
					if (!eq)
						printf("%s: %d threads differ from 1: FAIL\n", what, nt);
					CHECK(eq);
					free(z);
				}
				int M = N / 2 + 1;
				float *z = run(k, pw, x + (size_t)(N - M) * IC, bias, M, IC, OC, act);
				int eq = bits_equal(z, y + (size_t)(N - M) * OC, (size_t)M * OC, NULL);
				if (!eq)
					printf("%s: rows alone differ from the same rows in the batch: FAIL\n", what);
				CHECK(eq);
				free(z);
				if (y != refy)
					free(y);
			}
			free(refy);
		}
		pw->path = best;
		k->matmul_free_prec(pw);
	}
	omp_set_num_threads(2);
	free(x), free(w), free(b);
}

static void t_bf16_rounding(void)
{
	/* round to nearest even on the 16 dropped bits */
	float v[] = {1.0f, 1.00390625f /* 1 + 2^-8: tie, to even (1) */, 1.01171875f /* 1 + 3 2^-8: tie, up */,
		     1.0039064f /* just above the tie: up */, -2.5f, 3.4028235e38f /* max float: to inf */};
	uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc020, 0x7f80};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		CHECK_EQ_INT(tl_cpu_f2bf(v[i]), want[i]);
	float nan = NAN;
	CHECK((tl_cpu_f2bf(nan) & 0x7fc0) == 0x7fc0);

	/* tl_cpu_bf16_pairs on every path: tl_cpu_f2bf's bits on rows of 16-lane
	 * vectors (and a scalar tail) holding ties, NaNs of both signs with
	 * payloads, infinities, zeros, the largest float, and denormals (which
	 * AVX512-BF16's instruction alone would flush to zero), one vector
	 * with a single denormal among normal values and one without */
	enum { N = 16 * 6 + 5 };
	uint32_t bits[N];
	uint32_t special[] = {0x7fc00000u, 0xffc12345u, 0x7f800001u, 0x7fbfffffu, 0x7f800000u, 0xff800000u, 0,
			      0x80000000u, 0x7f7fffffu, 0x00000001u, 0x807fffffu, 0x00008000u, 0x00018000u,
			      0x3f808000u, 0x3f818000u, 0xbf7f8000u};
	uint64_t st = 12345;
	for (int i = 0; i < N; i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		bits[i] = (uint32_t)(st >> 32) & 0x3fffffffu; /* normal values, |x| < 2 */
	}
	memcpy(bits, special, sizeof special); /* vector 0: the special values */
	bits[16 + 7] = 0x00400001u;            /* vector 1: one denormal */
	for (int i = 0; i < 16; i++)           /* vector 3: ties to even and up */
		bits[48 + i] = 0x3f800000u + ((uint32_t)i << 16) + 0x8000u;
	float x[N];
	memcpy(x, bits, sizeof x);
	const char *names[] = {"ref", "avx512", "dp (avx512-bf16)"};
	for (int path = TL_LP_REF; path <= TL_LP_DP; path++) {
		if (!tl_cpu_prec_path_ok(TL_PREC_BF16, path)) {
			TEST_SKIP("bf16 rounding, %s path: the CPU lacks this path's instructions", names[path]);
			continue;
		}
		uint32_t w[(N + 1) / 2];
		tl_cpu_bf16_pairs(path, w, x, N);
		int bad = 0;
		for (int i = 0; i < N; i++) {
			uint16_t got = (uint16_t)(w[i / 2] >> (16 * (i & 1))), want = tl_cpu_f2bf(x[i]);
			if (got != want && bad++ < 3)
				printf("bf16 rounding, %s path: element %d (0x%08x): 0x%04x, want 0x%04x\n", names[path], i,
				       bits[i], got, want);
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(w[N / 2] >> 16, 0); /* the odd count's last word: upper half zero */
	}
}

static void t_isa(const tl_kernels *k)
{
	char err[256];
	int d = tl_isa_detected();
	printf("isa: detected %s, in use %s; vnni %d, bf16 %d\n", tl_isa_name(d), tl_isa_name(tl_isa_level()),
	       tl_isa_has(TL_FEAT_VNNI), tl_isa_has(TL_FEAT_BF16));
	CHECK(tl_isa_level() <= d);
	CHECK_EQ_INT(tl_isa_parse("avx512"), TL_ISA_AVX512);
	CHECK_EQ_INT(tl_isa_parse("sse"), -1);
	CHECK_EQ_INT(tl_precision_parse("int8"), TL_PREC_INT8);
	CHECK_EQ_INT(tl_precision_parse("fp16"), -1);
	CHECK_STR(tl_precision_name(TL_PREC_BF16), "bf16");
	setenv("TL_ISA", "sse", 1);
	CHECK(tl_isa_check(err, sizeof err) < 0 && strstr(err, "unknown"));
	CHECK_EQ_INT(tl_isa_level(), d); /* ignored by the library */
	if (d < TL_ISA_AMX) {
		setenv("TL_ISA", "amx", 1);
		CHECK(tl_isa_check(err, sizeof err) < 0 && strstr(err, "lacks"));
		printf("TL_ISA=amx here: %s\n", err);
	} else {
		TEST_SKIP("this CPU has AMX: no level above it to refuse");
	}
	float w[64 * 8], x[8];
	for (int i = 0; i < 64 * 8; i++)
		w[i] = (float)(i % 7) - 3;
	for (int i = 0; i < 8; i++)
		x[i] = 0.25f * i;
	/* forcing a lower level picks that level's path */
	const char *lv[] = {"avx2", "avx512", "vnni", "amx"};
	int want_bf[] = {TL_LP_REF, TL_LP_AVX512, TL_LP_DP, TL_LP_AMX};
	for (int i = 0; i < 4; i++) {
		if (tl_isa_parse(lv[i]) > d) {
			TEST_SKIP("TL_ISA=%s: the CPU lacks it", lv[i]);
			continue;
		}
		setenv("TL_ISA", lv[i], 1);
		CHECK(tl_isa_check(err, sizeof err) == 0);
		CHECK_EQ_INT(tl_isa_level(), tl_isa_parse(lv[i]));
		for (int prec = TL_PREC_BF16; prec <= TL_PREC_INT8; prec++) {
			tl_cpu_prec_w *pw = k->matmul_prepare_prec(w, 8, 64, prec);
			int want = want_bf[i];
			if (want == TL_LP_AMX && !tl_cpu_amx_built())
				want = TL_LP_DP;
			if (want == TL_LP_DP && !tl_isa_has(prec == TL_PREC_BF16 ? TL_FEAT_BF16 : TL_FEAT_VNNI))
				want = TL_LP_AVX512;
			printf("TL_ISA=%s %s: path %s\n", lv[i], tl_precision_name(prec), pname[pw->path]);
			CHECK_EQ_INT(pw->path, want);
			float y[64];
			k->matmul_forward_prec(y, x, pw, NULL, 1, 8, 64, TL_ACT_NONE);
			CHECK(isfinite(y[63]));
			k->matmul_free_prec(pw);
		}
	}
	unsetenv("TL_ISA");
}

/* ---------------- bf16 training products ----------------
 * matmul_backward_bf16 on every path against the double reference:
 * dX[n,i] = dX0 + sum_o dY[n,o] W[o,i] (K = OC), dW[o,i] = dW0 + sum_n
 * dY[n,o] X[n,i] (K = N), within the bf16 bound above plus the final add
 * to the accumulated output (2^-23 (|y*| + |y0|)); the paths equal the C
 * reference bit for bit, the threads do not change the bits, dbias equals
 * matmul_backward's bit for bit, and matmul_update_bf16_train gives the
 * bits of a handle prepared from the new weight. */
static void check_acc(const char *what, const float *y, const float *y0, const double *ref, const double *sabs,
		      size_t n, int K)
{
	double worst = 0;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		double tol = (2.0 / 256 + 1.0 / 65536 + 1.01 * K / 16777216.0) * sabs[i] +
			     (fabs(ref[i]) + fabs(y0[i])) / 8388608.0;
		double d = fabs(y[i] - ref[i]);
		if (!(d <= tol))
			bad++;
		if (d / (tol + 1e-30) > worst)
			worst = d / (tol + 1e-30);
	}
	printf("%s: max error / bound %.3f: %s\n", what, worst, bad ? "FAIL" : "ok");
	CHECK(bad == 0);
}

static void bwd_run(const tl_kernels *k, void *pw, float *dx, float *dw, float *db, const float *dx0,
		    const float *dw0, const float *dy, const float *x, int N, int IC, int OC)
{
	memcpy(dx, dx0, (size_t)N * IC * sizeof *dx);
	memcpy(dw, dw0, (size_t)OC * IC * sizeof *dw);
	memset(db, 0, (size_t)OC * sizeof *db);
	k->matmul_backward_bf16(dx, dw, db, dy, x, pw, N, IC, OC);
}

static void t_train_shape(const tl_kernels *k, int N, int IC, int OC)
{
	float *x = rnd((size_t)N * IC, 1.5f), *w = rnd((size_t)OC * IC, 0.1f), *dy = rnd((size_t)N * OC, 0.01f);
	float *dx0 = rnd((size_t)N * IC, 0.01f), *dw0 = rnd((size_t)OC * IC, 0.05f);
	double *rx = tl_xmalloc((size_t)N * IC * sizeof *rx), *ax = tl_xmalloc((size_t)N * IC * sizeof *ax);
	double *rw = tl_xmalloc((size_t)OC * IC * sizeof *rw), *aw = tl_xmalloc((size_t)OC * IC * sizeof *aw);
	for (int n = 0; n < N; n++)
		for (int i = 0; i < IC; i++) {
			double s = dx0[(size_t)n * IC + i], a = 0;
			for (int o = 0; o < OC; o++) {
				double t = (double)dy[(size_t)n * OC + o] * w[(size_t)o * IC + i];
				s += t, a += fabs(t);
			}
			rx[(size_t)n * IC + i] = s, ax[(size_t)n * IC + i] = a;
		}
	for (int o = 0; o < OC; o++)
		for (int i = 0; i < IC; i++) {
			double s = dw0[(size_t)o * IC + i], a = 0;
			for (int n = 0; n < N; n++) {
				double t = (double)dy[(size_t)n * OC + o] * x[(size_t)n * IC + i];
				s += t, a += fabs(t);
			}
			rw[(size_t)o * IC + i] = s, aw[(size_t)o * IC + i] = a;
		}
	/* dbias as matmul_backward computes it */
	float *fb = tl_xcalloc((size_t)OC, sizeof *fb);
	omp_set_num_threads(1);
	k->matmul_backward(NULL, NULL, fb, dy, x, w, N, IC, OC);
	tl_cpu_prec_w *pw = k->matmul_prepare_bf16_train(w, IC, OC);
	int best = pw->path;
	float *dx = tl_xmalloc((size_t)N * IC * sizeof *dx), *dw = tl_xmalloc((size_t)OC * IC * sizeof *dw);
	float *db = tl_xmalloc((size_t)OC * sizeof *db), *refx = NULL, *refw = NULL;
	for (int path = TL_LP_REF; path <= TL_LP_AMX; path++) {
		char what[160];
		snprintf(what, sizeof what, "bf16 backward %s N=%d IC=%d OC=%d", pname[path], N, IC, OC);
		if (!tl_cpu_prec_path_ok(TL_PREC_BF16, path)) {
			TEST_SKIP("%s: the CPU lacks this path's instructions", what);
			continue;
		}
		pw->path = path;
		omp_set_num_threads(1);
		bwd_run(k, pw, dx, dw, db, dx0, dw0, dy, x, N, IC, OC);
		char w2[200];
		snprintf(w2, sizeof w2, "%s dX", what);
		check_acc(w2, dx, dx0, rx, ax, (size_t)N * IC, OC);
		snprintf(w2, sizeof w2, "%s dW", what);
		check_acc(w2, dw, dw0, rw, aw, (size_t)OC * IC, N);
		int eqb = bits_equal(db, fb, (size_t)OC, NULL);
		printf("%s: dbias equals matmul_backward's bits: %s\n", what, eqb ? "ok" : "FAIL");
		CHECK(eqb);
		if (!refx) {
			refx = tl_xmalloc((size_t)N * IC * sizeof *refx), refw = tl_xmalloc((size_t)OC * IC * sizeof *refw);
			memcpy(refx, dx, (size_t)N * IC * sizeof *dx), memcpy(refw, dw, (size_t)OC * IC * sizeof *dw);
		} else if (path == TL_LP_AMX) {
			size_t n1, n2;
			bits_equal(dx, refx, (size_t)N * IC, &n1), bits_equal(dw, refw, (size_t)OC * IC, &n2);
			printf("%s: %zu, %zu differ from the C reference in their bits (allowed: the tile unit's rounding)\n",
			       what, n1, n2);
		} else {
			size_t n1, n2;
			int eq = bits_equal(dx, refx, (size_t)N * IC, &n1) & bits_equal(dw, refw, (size_t)OC * IC, &n2);
			printf("%s: bitwise equal to the C reference: %s (%zu, %zu differ)\n", what, eq ? "ok" : "FAIL", n1, n2);
			CHECK(eq);
		}
		for (int nt = 2; nt <= 3; nt++) {
			omp_set_num_threads(nt);
			float *ex = tl_xmalloc((size_t)N * IC * sizeof *ex), *ew = tl_xmalloc((size_t)OC * IC * sizeof *ew);
			float *eb = tl_xmalloc((size_t)OC * sizeof *eb);
			bwd_run(k, pw, ex, ew, eb, dx0, dw0, dy, x, N, IC, OC);
			int eq = bits_equal(ex, dx, (size_t)N * IC, NULL) && bits_equal(ew, dw, (size_t)OC * IC, NULL) &&
				 bits_equal(eb, db, (size_t)OC, NULL);
			if (!eq)
				printf("%s: %d threads differ from 1: FAIL\n", what, nt);
			CHECK(eq);
			free(ex), free(ew), free(eb);
		}
	}
	/* the per-step refresh: the bits of a handle made from the new weight */
	pw->path = best;
	omp_set_num_threads(2);
	float *w2 = rnd((size_t)OC * IC, 0.1f);
	k->matmul_update_bf16_train(pw, w2);
	tl_cpu_prec_w *fresh = k->matmul_prepare_bf16_train(w2, IC, OC);
	float *y1 = run(k, pw, x, NULL, N, IC, OC, TL_ACT_NONE), *y2 = run(k, fresh, x, NULL, N, IC, OC, TL_ACT_NONE);
	bwd_run(k, pw, dx, dw, db, dx0, dw0, dy, x, N, IC, OC);
	float *fx = tl_xmalloc((size_t)N * IC * sizeof *fx), *fw = tl_xmalloc((size_t)OC * IC * sizeof *fw);
	bwd_run(k, fresh, fx, fw, db, dx0, dw0, dy, x, N, IC, OC);
	int eq = bits_equal(y1, y2, (size_t)N * OC, NULL) && bits_equal(dx, fx, (size_t)N * IC, NULL) &&
		 bits_equal(dw, fw, (size_t)OC * IC, NULL);
	printf("bf16 update N=%d IC=%d OC=%d: the bits of a fresh handle: %s\n", N, IC, OC, eq ? "ok" : "FAIL");
	CHECK(eq);
	k->matmul_free_prec(fresh);
	k->matmul_free_prec(pw);
	free(y1), free(y2), free(fx), free(fw), free(w2);
	free(x), free(w), free(dy), free(dx0), free(dw0), free(rx), free(ax), free(rw), free(aw), free(fb);
	free(dx), free(dw), free(db), free(refx), free(refw);
}

/* ---------------- bf16 training of a whole model ----------------
 * The tiny random BERT (tests/ref/tiny_bert), one batch without dropout:
 * the bf16 loss within 1% of fp32's and every gradient tensor within 5% of
 * fp32's (max |bf16 - fp32| / max |fp32|: bf16 keeps 8 significant bits,
 * u = 2^-8, compounded over 2 layers' forward and backward; the key biases,
 * whose gradient is 0 but for rounding, within 1e-6 of 0); after the
 * weights change (tl_bert_train_weights_changed) the next forward gives
 * the bits of a fresh run on the new weights (the handles were re-rounded). */
static tl_bert_train *tiny_train(int prec, const float *arena)
{
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	tl_bert_train *t = tl_xcalloc(1, sizeof *t);
	tl_bert_train_init(t, m, 3, 0, 0.2f, 7);
	if (arena)
		memcpy(t->m->arena, arena, t->m->nparams * sizeof(float));
	CHECK(tl_bert_train_set_precision(t, prec) == 0);
	return t;
}

static double step(tl_bert_train *t, const int32_t *ids, const int32_t *lens, const int32_t *y, int B, int T)
{
	tl_bert_train_zero_grad(t);
	tl_bert_train_forward(t, ids, NULL, lens, B, T, 0, 0, 0);
	double l = tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	tl_bert_train_backward(t, 0, 0, 0);
	return l;
}

static void t_train_model(void)
{
	enum { B = 3, T = 7 };
	int32_t ids[B * T], lens[B] = {7, 5, 3}, y[B] = {0, 2, 1};
	for (int i = 0; i < B * T; i++)
		ids[i] = 5 + (int)(test_frand(&rng) * 17 + 17);
	tl_bert_train *f = tiny_train(TL_PREC_FP32, NULL), *b = tiny_train(TL_PREC_BF16, NULL);
	CHECK(f && b);
	if (!f || !b)
		return;
	CHECK(tl_bert_train_set_precision(b, TL_PREC_INT8) < 0);
	double lf = step(f, ids, lens, y, B, T), lb = step(b, ids, lens, y, B, T);
	printf("bf16 model: loss %.6f, fp32 %.6f: %s\n", lb, lf, fabs(lb - lf) <= 0.01 * fabs(lf) ? "ok" : "FAIL");
	CHECK(fabs(lb - lf) <= 0.01 * fabs(lf));
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(f->m, &nt);
	double worst = 0;
	const char *wn = "";
	for (size_t i = 0; i < nt; i++) {
		const float *gf = f->grad_arena + ts[i].off, *gb = b->grad_arena + ts[i].off;
		double md = 0, mf = 0;
		for (size_t j = 0; j < ts[i].n; j++) {
			md = fabs((double)gb[j] - gf[j]) > md ? fabs((double)gb[j] - gf[j]) : md;
			mf = fabs(gf[j]) > mf ? fabs(gf[j]) : mf;
		}
		double r = mf > 0 ? md / mf : md;
		if (strstr(ts[i].name, "key.bias")) {
			/* softmax does not see a key bias: its gradient is 0 up to rounding */
			if (!(md <= 1e-6 && mf <= 1e-6))
				printf("bf16 model: %s gradient %.3g, fp32 %.3g, not ~0: FAIL\n", ts[i].name, md, mf);
			CHECK(md <= 1e-6 && mf <= 1e-6);
			continue;
		}
		if (r > worst)
			worst = r, wn = ts[i].name;
	}
	printf("bf16 model: worst gradient tensor %s, max|bf16 - fp32| / max|fp32| %.4f (bound 0.05): %s\n", wn, worst,
	       worst <= 0.05 ? "ok" : "FAIL");
	CHECK(worst <= 0.05);
	CHECK(worst > 0); /* the bf16 products did run */
	free(ts);
	/* an optimizer-like change of the weights, then the next forward */
	for (size_t i = 0; i < b->m->nparams; i++)
		b->m->arena[i] *= 1.01f;
	tl_bert_train_weights_changed(b);
	tl_bert_train *c = tiny_train(TL_PREC_BF16, b->m->arena);
	step(b, ids, lens, y, B, T);
	step(c, ids, lens, y, B, T);
	int eq = bits_equal(b->grad_arena, c->grad_arena, b->m->nparams, NULL) &&
		 bits_equal(b->a.logits, c->a.logits, (size_t)B * 3, NULL);
	printf("bf16 model: after tl_bert_train_weights_changed, the bits of a fresh run: %s\n", eq ? "ok" : "FAIL");
	CHECK(eq);
	tl_bert_train_free(f), tl_bert_train_free(b), tl_bert_train_free(c);
	free(f), free(b), free(c);
}

/* bf16 rows in and out (kernels.h matmul_forward_bf16io, the LayerNorm
 * with a bf16 copy): exact by definition, so checked bit for bit against
 * matmul_forward_prec on the same values (itself checked against the
 * double reference with bounds in t_shape) and tl_cpu_f2bf of its result,
 * on every path, 1 and 3 threads; the pad element of an odd row is 0. */
static void t_bf16io(const tl_kernels *k, int N, int IC, int OC)
{
	float *x = rnd((size_t)N * IC, 1.5f), *w = rnd((size_t)OC * IC, 0.1f), *b = rnd((size_t)OC, 0.5f);
	size_t GI = ((size_t)IC + 1) / 2, OW = 2 * (((size_t)OC + 1) / 2);
	uint32_t *xb = tl_xmalloc((size_t)N * GI * sizeof *xb);
	for (int n = 0; n < N; n++)
		tl_cpu_bf16_pairs(TL_LP_REF, xb + (size_t)n * GI, x + (size_t)n * IC, IC);
	tl_cpu_prec_w *pw = k->matmul_prepare_prec(w, IC, OC, TL_PREC_BF16);
	int best = pw->path;
	float *y = tl_xmalloc((size_t)N * OC * sizeof *y);
	uint16_t *yb = tl_xmalloc((size_t)N * OW * sizeof *yb);
	for (int act = TL_ACT_NONE; act <= TL_ACT_GELU; act++)
		for (int path = TL_LP_REF; path <= TL_LP_AMX; path++) {
			char what[160];
			snprintf(what, sizeof what, "bf16io %s N=%d IC=%d OC=%d%s", pname[path], N, IC, OC,
				 act ? " GELU" : "");
			if (!tl_cpu_prec_path_ok(TL_PREC_BF16, path)) {
				TEST_SKIP("%s: the CPU lacks this path's instructions", what);
				continue;
			}
			pw->path = path;
			omp_set_num_threads(1);
			float *ref = run(k, pw, x, b, N, IC, OC, act);
			for (int nt = 1; nt <= 3; nt += 2) {
				omp_set_num_threads(nt);
				k->matmul_forward_bf16io(y, xb, pw, b, N, IC, OC, act, TL_IO_IN_BF16);
				int in_ok = bits_equal(y, ref, (size_t)N * OC, NULL);
				int out_ok = 1;
				for (int io = TL_IO_OUT_BF16; io <= (TL_IO_IN_BF16 | TL_IO_OUT_BF16); io++) {
					memset(yb, 0xff, (size_t)N * OW * sizeof *yb);
					k->matmul_forward_bf16io(yb, io & TL_IO_IN_BF16 ? (const void *)xb : (const void *)x, pw, b, N,
								 IC, OC, act, io);
					for (int n = 0; n < N; n++)
						for (size_t c = 0; c < OW; c++)
							out_ok &= yb[(size_t)n * OW + c] ==
								  (c < (size_t)OC ? tl_cpu_f2bf(ref[(size_t)n * OC + c]) : 0);
				}
				printf("%s, %d thread%s: bf16 rows in: %s; out (and in + out) = tl_cpu_f2bf of the fp32 result: %s\n",
				       what, nt, nt > 1 ? "s" : "", in_ok ? "ok" : "FAIL", out_ok ? "ok" : "FAIL");
				CHECK(in_ok);
				CHECK(out_ok);
			}
			free(ref);
		}
	pw->path = best;
	k->matmul_free_prec(pw);
	omp_set_num_threads(2);
	free(x), free(w), free(b), free(xb), free(y), free(yb);
}

static void t_layernorm_bf16(const tl_kernels *k, int N, int C)
{
	float *x = rnd((size_t)N * C, 2.0f), *y = rnd((size_t)N * C, 1.0f), *bb = rnd((size_t)C, 0.3f);
	float *lw = rnd((size_t)C, 1.0f), *lb = rnd((size_t)C, 0.2f);
	size_t W = ((size_t)C + 1) / 2;
	float *o1 = tl_xmalloc((size_t)N * C * sizeof *o1), *o2 = tl_xmalloc((size_t)N * C * sizeof *o2);
	uint16_t *cb = tl_xmalloc((size_t)N * 2 * W * sizeof *cb);
	for (int form = 0; form < 3; form++) { /* residual + bias, residual, plain (in place) */
		if (form < 2) {
			k->add_layernorm_forward(o1, x, y, form ? NULL : bb, lw, lb, N, C, 1e-12f);
			k->add_layernorm_forward_bf16(o2, cb, x, y, form ? NULL : bb, lw, lb, N, C, 1e-12f);
		} else {
			memcpy(o1, x, (size_t)N * C * sizeof *o1);
			memcpy(o2, x, (size_t)N * C * sizeof *o2);
			k->layernorm_forward(o1, NULL, NULL, o1, lw, lb, N, C, 1e-12f);
			k->add_layernorm_forward_bf16(o2, cb, o2, NULL, NULL, lw, lb, N, C, 1e-12f);
		}
		int f_ok = bits_equal(o1, o2, (size_t)N * C, NULL), c_ok = 1;
		for (int n = 0; n < N; n++)
			for (size_t c = 0; c < 2 * W; c++)
				c_ok &= cb[(size_t)n * 2 * W + c] == (c < (size_t)C ? tl_cpu_f2bf(o1[(size_t)n * C + c]) : 0);
		printf("add_layernorm_forward_bf16 N=%d C=%d (%s): fp32 bits of add_layernorm_forward: %s; bf16 copy: %s\n", N,
		       C, form == 0 ? "residual + bias" : form == 1 ? "residual" : "plain, in place", f_ok ? "ok" : "FAIL",
		       c_ok ? "ok" : "FAIL");
		CHECK(f_ok);
		CHECK(c_ok);
	}
	free(x), free(y), free(bb), free(lw), free(lb), free(o1), free(o2), free(cb);
}

int main(void)
{
	tl_init("test_lowprec");
	const tl_kernels *k = tl_kernels_cpu();
	omp_set_dynamic(0);
	t_isa(k);
	t_bf16_rounding();
	t_shape(k, 37, 65, 70);   /* odd K (bf16 pair and int8 group padding), a partial panel */
	t_shape(k, 50, 384, 1152); /* MiniLM's QKV shape, several column blocks */
	t_shape(k, 13, 1536, 384); /* the FFN output projection's K */
	t_shape(k, 250, 1536, 100); /* several row blocks of the driver (LP_ABLOCK), a partial last one */
	t_shape(k, 1, 7, 3);
	t_shape(k, 16, 128, 32); /* AMX: one tile of rows exactly, K in whole chunks (no tail) */
	t_shape(k, 33, 64, 40); /* AMX: 32 rows and a block of one row; int8 G = 16 words, bf16 32 */
	t_shape(k, 70, 200, 64); /* AMX: K = 200, a tail of 4 bf16 words, 2 int8 (the LSTM LM's E) */
	t_bf16io(k, 37, 65, 71);    /* odd K and odd OC (pad elements), partial tiles */
	t_bf16io(k, 250, 1536, 96); /* several row blocks, a last partial tile read from the bf16 rows */
	t_layernorm_bf16(k, 29, 384);
	t_layernorm_bf16(k, 5, 37);
	t_train_shape(k, 37, 65, 70);  /* odd K both ways, partial panels and tiles */
	t_train_shape(k, 96, 384, 1152); /* MiniLM's QKV shape */
	t_train_shape(k, 25, 1536, 384); /* the FFN output projection */
	t_train_shape(k, 1, 7, 3);
	t_train_shape(k, 71, 33, 53); /* dW's operand: two blocks of 16 pairs, 3 pairs and an odd row past them, 5 channels past the last 16 */
	t_train_model();
	TEST_REPORT("test_lowprec");
}
