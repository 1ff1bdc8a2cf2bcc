/* test_backend_ops.c - every entry of the kernel table (include/tl/kernels.h)
 * of every backend built in (tl_kernels_at), on seeded random inputs,
 * against the CPU backend as the reference (in the style of ggml's
 * test-backend-ops), and against double-precision references where the
 * definition is simple enough to write down (matmul, LayerNorm, GELU,
 * residual, scale, sum of squares).
 *
 * Tolerances: the CPU backend against itself must agree bit for bit (the
 * kernels are deterministic for a fixed thread count); another backend
 * against the CPU within TOL_FWD (forward ops, absolute, inputs in
 * [-1, 1] or [-3, 3]), TOL_BWD (gradients, optimizer state) or TOL_LOSS
 * (the double losses). Each comparison prints one line:
 *   "cpu vs NAME: OP max abs diff D (tol T): ok|FAIL".
 *
 * Coverage: every test marks the table slots it exercised (COVER); a slot
 * of the table that no test marks fails the run, so a kernel added to the
 * table without a test here cannot pass. */
#include "testhelp.h"
#include "tl/cli.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOL_FWD 1e-4
#define TOL_BWD 1e-4
#define TOL_LOSS 1e-5
#define TOL_REF 2e-5 /* float kernels against the double references */

/* ---------------- coverage of the table's slots ---------------- */

/* Function-pointer slots: everything from alloc to the end of the struct. */
#define NSLOTS ((sizeof(tl_kernels) - offsetof(tl_kernels, alloc)) / sizeof(void (*)(void)))
static unsigned char covered[256];
#define COVER(field) (covered[(offsetof(tl_kernels, field) - offsetof(tl_kernels, alloc)) / sizeof(void (*)(void))] = 1)

/* ---------------- random host data, device copies ---------------- */

static uint64_t rng;
static float *rnd(size_t n, float scale)
{
	float *p = tl_xmalloc((n ? n : 1) * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = test_frand(&rng) * scale;
	return p;
}

static float *up(const tl_kernels *k, const float *h, size_t n)
{
	float *d = k->alloc((n ? n : 1) * sizeof(float));
	k->to_device(d, h, n * sizeof(float));
	return d;
}

static int32_t *upi(const tl_kernels *k, const int32_t *h, size_t n)
{
	int32_t *d = k->alloc((n ? n : 1) * sizeof(int32_t));
	k->to_device(d, h, n * sizeof(int32_t));
	return d;
}

/* A host copy of n floats of backend memory d (caller frees); frees d
 * when own. */
static float *down(const tl_kernels *k, float *d, size_t n, int own)
{
	float *h = tl_xmalloc((n ? n : 1) * sizeof *h);
	k->to_host(h, d, n * sizeof(float));
	if (own)
		k->free(d);
	return h;
}

static const char *rname, *kname;
static int same; /* the backend under test is the reference itself: bitwise */

static void cmp(const char *op, const float *a, const float *b, size_t n, double tol)
{
	double m = 0;
	int bits = 1;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m))
			m = d; /* NaN sticks */
		bits &= memcmp(&a[i], &b[i], sizeof(float)) == 0;
	}
	int ok = same ? bits : m <= tol;
	printf("%s vs %s: %s max abs diff %.3g (tol %g): %s\n", rname, kname, op, m, same ? 0.0 : tol,
	       ok ? "ok" : "FAIL");
	CHECK(ok);
}

/* a against b within tol even when the backend is the reference (two
 * different operations: a lower precision against fp32) */
static void cmp_tol(const char *op, const float *a, const float *b, size_t n, double tol)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m))
			m = d; /* NaN sticks */
	}
	printf("%s: %s max abs diff %.3g (tol %g): %s\n", kname, op, m, tol, m <= tol ? "ok" : "FAIL");
	CHECK(m <= tol);
}

static void cmpd(const char *op, double a, double b, double tol)
{
	double m = fabs(a - b);
	int ok = same ? memcmp(&a, &b, sizeof a) == 0 : m <= tol * (1 + fabs(b));
	printf("%s vs %s: %s abs diff %.3g (tol %g): %s\n", rname, kname, op, m, same ? 0.0 : tol, ok ? "ok" : "FAIL");
	CHECK(ok);
}

static void refcmp(const char *op, const float *a, const double *ref, size_t n, double tol)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(a[i] - ref[i]);
		if (!(d <= m))
			m = d;
	}
	printf("%s vs double: %s max abs diff %.3g (tol %g): %s\n", kname, op, m, tol, m <= tol ? "ok" : "FAIL");
	CHECK(m <= tol);
}

/* ---------------- memory ---------------- */

static void t_memory(const tl_kernels *k)
{
	size_t n = 1000;
	float *h = rnd(n, 1), *z = tl_xcalloc(n, sizeof *z);
	float *a = k->alloc(n * sizeof(float)), *b = k->alloc(n * sizeof(float));
	float *back = down(k, a, n, 0);
	printf("%s: alloc zeroed: %s\n", kname, !memcmp(back, z, n * sizeof *z) ? "ok" : "FAIL");
	CHECK(!memcmp(back, z, n * sizeof *z));
	free(back);
	k->to_device(a, h, n * sizeof(float));
	k->copy(b, a, n * sizeof(float));
	k->memset(a + 10, 0, 20 * sizeof(float));
	k->set_threads(2);
	k->synchronize();
	float *hb = down(k, b, n, 0), *ha = down(k, a, n, 0);
	int ok = !memcmp(hb, h, n * sizeof *h) && !memcmp(ha, h, 10 * sizeof *h) && !memcmp(ha + 10, z, 20 * sizeof *z) &&
		 !memcmp(ha + 30, h + 30, (n - 30) * sizeof *h);
	printf("%s: to_device, copy, memset, to_host round trip: %s\n", kname, ok ? "ok" : "FAIL");
	CHECK(ok);
	free(ha), free(hb), free(h), free(z);
	k->free(a), k->free(b);
	/* small and large blocks: zeroed, 64-byte aligned, writable to the
	 * last byte; free(NULL) */
	size_t sizes[] = {1, 64, (2u << 20) - 64, 2u << 20, (3u << 20) + 5, 40u << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t nb = sizes[i];
		unsigned char *p = k->alloc(nb), *hp = tl_xmalloc(nb);
		k->to_host(hp, p, nb);
		int zero = 1;
		for (size_t j = 0; j < nb; j++)
			zero &= hp[j] == 0;
		memset(hp, 0xa5, nb);
		k->to_device(p, hp, nb);
		k->to_host(hp, p, nb);
		int ok2 = zero && ((uintptr_t)p % 64) == 0 && hp[0] == 0xa5 && hp[nb - 1] == 0xa5;
		printf("%s: alloc(%zu) zeroed, aligned, writable: %s\n", kname, nb, ok2 ? "ok" : "FAIL");
		CHECK(ok2);
		k->free(p);
		free(hp);
	}
	k->free(NULL);
	COVER(alloc), COVER(free), COVER(to_device), COVER(to_host), COVER(copy), COVER(memset);
	COVER(set_threads), COVER(synchronize);
}

/* ---------------- forward ---------------- */

enum { N = 37, IC = 65, OC = 96, B = 3, T = 11, C = 64, NH = 4, V = 50, K = 5 };
static const int32_t LENS[B] = {11, 4, 7};

static void matmul_ref(double *ref, const float *x, const float *w, const float *b, int n_, int ic, int oc)
{
	for (int n = 0; n < n_; n++)
		for (int o = 0; o < oc; o++) {
			double s = b ? b[o] : 0;
			for (int i = 0; i < ic; i++)
				s += (double)x[(size_t)n * ic + i] * w[(size_t)o * ic + i];
			ref[(size_t)n * oc + o] = s;
		}
}

static float *matmul_run(const tl_kernels *k, const float *x, const float *w, const float *b)
{
	float *dx = up(k, x, (size_t)N * IC), *dw = up(k, w, (size_t)OC * IC), *db = b ? up(k, b, OC) : NULL;
	float *o = k->alloc((size_t)N * OC * sizeof(float));
	k->matmul_forward(o, dx, dw, db, N, IC, OC);
	k->free(dx), k->free(dw);
	if (db)
		k->free(db);
	return down(k, o, (size_t)N * OC, 1);
}

/* prepared weights: prepare, the product (act), unprepare bit for bit */
static float *prepared_run(const tl_kernels *k, const float *x, const float *w, const float *b, int act)
{
	float *dx = up(k, x, (size_t)N * IC), *dw = up(k, w, (size_t)OC * IC), *db = up(k, b, OC);
	float *o = k->alloc((size_t)N * OC * sizeof(float));
	int tag = k->matmul_prepare(dw, IC, OC);
	k->matmul_forward_prepared(o, dx, dw, tag, db, N, IC, OC, act);
	k->matmul_unprepare(dw, IC, OC, tag);
	float *hw = down(k, dw, (size_t)OC * IC, 1);
	int ok = !memcmp(hw, w, (size_t)OC * IC * sizeof(float));
	printf("%s: matmul_prepare (tag %d) + matmul_unprepare restores the weight: %s\n", k->name, tag,
	       ok ? "ok" : "FAIL");
	CHECK(ok);
	free(hw);
	k->free(dx), k->free(db);
	return down(k, o, (size_t)N * OC, 1);
}

static void t_matmul(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)OC * IC, 1), *b = rnd(OC, 1);
	double *ref = tl_xmalloc((size_t)N * OC * sizeof *ref);
	float *a = matmul_run(r, x, w, b), *c = matmul_run(k, x, w, b);
	cmp("matmul_forward", a, c, (size_t)N * OC, TOL_FWD);
	matmul_ref(ref, x, w, b, N, IC, OC);
	refcmp("matmul_forward", c, ref, (size_t)N * OC, TOL_REF);
	free(a), free(c);
	a = matmul_run(r, x, w, NULL), c = matmul_run(k, x, w, NULL);
	cmp("matmul_forward (no bias)", a, c, (size_t)N * OC, TOL_FWD);
	matmul_ref(ref, x, w, NULL, N, IC, OC);
	refcmp("matmul_forward (no bias)", c, ref, (size_t)N * OC, TOL_REF);
	free(a), free(c);
	for (int act = TL_ACT_NONE; act <= TL_ACT_GELU; act++) {
		a = prepared_run(r, x, w, b, act), c = prepared_run(k, x, w, b, act);
		cmp(act ? "matmul_forward_prepared (GELU)" : "matmul_forward_prepared", a, c, (size_t)N * OC, TOL_FWD);
		matmul_ref(ref, x, w, b, N, IC, OC);
		if (act)
			for (size_t i = 0; i < (size_t)N * OC; i++)
				ref[i] = 0.5 * ref[i] * (1 + erf(ref[i] / sqrt(2.0)));
		refcmp(act ? "matmul_forward_prepared (GELU)" : "matmul_forward_prepared", c, ref, (size_t)N * OC, TOL_REF);
		free(a), free(c);
	}
	free(x), free(w), free(b), free(ref);
	COVER(matmul_forward), COVER(matmul_prepare), COVER(matmul_unprepare), COVER(matmul_forward_prepared);
}

/* products at a precision: prepare a copy (the weight is left as it
 * is), the product with bias and GELU, free. Against the double reference
 * within the precision's bound (bf16: 2^-7 + K 2^-23 of sum |x w|, plus
 * the GELU's slope; int8: per element |x| s_w / 2 + |w| s_a + s_a s_w / 2
 * with the scales bounded by max|w| / 127 and 2 max|x| / 255);
 * tests/unit/test_lowprec.c checks every kernel path in detail. */
static float *prec_run(const tl_kernels *k, const float *x, const float *w, const float *b, int prec, int act)
{
	float *dx = up(k, x, (size_t)N * IC), *dw = up(k, w, (size_t)OC * IC), *db = up(k, b, OC);
	float *o = k->alloc((size_t)N * OC * sizeof(float));
	void *pw = k->matmul_prepare_prec(dw, IC, OC, prec);
	k->matmul_forward_prec(o, dx, pw, db, N, IC, OC, act);
	k->matmul_free_prec(pw);
	k->matmul_free_prec(NULL);
	float *hw = down(k, dw, (size_t)OC * IC, 1);
	CHECK(!memcmp(hw, w, (size_t)OC * IC * sizeof(float)));
	free(hw);
	k->free(dx), k->free(db);
	return down(k, o, (size_t)N * OC, 1);
}

/* bf16 rows (add_layernorm_forward_bf16, matmul_forward_bf16io): exact by
 * definition, so bit for bit against the backend's own fp32 forms and the
 * round-to-nearest-even bf16 of their results; an absent pair is a FAIL
 * only where one of the two is offered alone. */
static uint16_t f2bf(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static void t_bf16_rows(const tl_kernels *k)
{
	if (!k->matmul_forward_bf16io || !k->add_layernorm_forward_bf16) {
		int none = !k->matmul_forward_bf16io && !k->add_layernorm_forward_bf16;
		printf("%s: bf16 rows not offered%s\n", kname, none ? "" : " by one of the pair: FAIL");
		CHECK(none);
		if (none)
			COVER(matmul_forward_bf16io), COVER(add_layernorm_forward_bf16);
		return;
	}
	enum { LC = 40 };
	float *x = rnd((size_t)N * LC, 3), *y = rnd((size_t)N * LC, 1), *w = rnd(LC, 1), *b = rnd(LC, 1);
	float *dx = up(k, x, (size_t)N * LC), *dy = up(k, y, (size_t)N * LC), *dw = up(k, w, LC), *db = up(k, b, LC);
	float *o1 = k->alloc((size_t)N * LC * sizeof(float)), *o2 = k->alloc((size_t)N * LC * sizeof(float));
	uint16_t *cb = k->alloc((size_t)N * LC * sizeof(uint16_t)), *hc = tl_xmalloc((size_t)N * LC * sizeof *hc);
	k->add_layernorm_forward(o1, dx, dy, db, dw, db, N, LC, 1e-12f);
	k->add_layernorm_forward_bf16(o2, cb, dx, dy, db, dw, db, N, LC, 1e-12f);
	float *h1 = down(k, o1, (size_t)N * LC, 1), *h2 = down(k, o2, (size_t)N * LC, 1);
	k->to_host(hc, cb, (size_t)N * LC * sizeof *hc);
	int ok = !memcmp(h1, h2, (size_t)N * LC * sizeof(float));
	for (size_t i = 0; i < (size_t)N * LC; i++)
		ok &= hc[i] == f2bf(h1[i]);
	printf("%s: add_layernorm_forward_bf16 = add_layernorm_forward and its bf16, bit for bit: %s\n", kname,
	       ok ? "ok" : "FAIL");
	CHECK(ok);
	k->free(cb), free(hc), free(h1), free(h2);
	/* a product with bf16 rows in (the LayerNorm's copy) and out */
	float *xm = rnd((size_t)N * IC, 1), *wm = rnd((size_t)OC * IC, 1), *bm = rnd(OC, 1);
	/* bf16 rows of an odd count end in a zero pad element */
	const size_t ICW = IC + IC % 2, OCW = OC + OC % 2;
	uint16_t *xh = tl_xcalloc((size_t)N * ICW, sizeof *xh), *yh = tl_xmalloc((size_t)N * OCW * sizeof *yh);
	for (size_t n = 0; n < (size_t)N; n++)
		for (size_t i = 0; i < (size_t)IC; i++)
			xh[n * ICW + i] = f2bf(xm[n * IC + i]);
	float *fy = prec_run(k, xm, wm, bm, TL_PREC_BF16, TL_ACT_GELU);
	float *dwm = up(k, wm, (size_t)OC * IC), *dbm = up(k, bm, OC);
	uint16_t *dxh = k->alloc((size_t)N * ICW * sizeof *dxh), *dyh = k->alloc((size_t)N * OCW * sizeof *dyh);
	k->to_device(dxh, xh, (size_t)N * ICW * sizeof *xh);
	void *pw = k->matmul_prepare_prec(dwm, IC, OC, TL_PREC_BF16);
	k->matmul_forward_bf16io(dyh, dxh, pw, dbm, N, IC, OC, TL_ACT_GELU, TL_IO_IN_BF16 | TL_IO_OUT_BF16);
	k->matmul_free_prec(pw);
	k->to_host(yh, dyh, (size_t)N * OCW * sizeof *yh);
	ok = 1;
	for (size_t n = 0; n < (size_t)N; n++)
		for (size_t i = 0; i < OCW; i++)
			ok &= yh[n * OCW + i] == (i < (size_t)OC ? f2bf(fy[n * OC + i]) : 0);
	printf("%s: matmul_forward_bf16io (bf16 rows in and out, GELU) = bf16 of matmul_forward_prec: %s\n", kname,
	       ok ? "ok" : "FAIL");
	CHECK(ok);
	/* TL_IO_OUT_ACC: out += product + bias, the sum add_layernorm_forward
	 * forms from (a, b, bbias) = (out, the product without bias, bias):
	 * the same bits, and the LayerNorm of it is add_layernorm_forward's */
	{
		float *r0 = rnd((size_t)N * OC, 2), *ph = tl_xmalloc((size_t)N * OC * sizeof *ph);
		float *dp = k->alloc((size_t)N * OC * sizeof(float)), *dr = up(k, r0, (size_t)N * OC);
		pw = k->matmul_prepare_prec(dwm, IC, OC, TL_PREC_BF16);
		k->matmul_forward_bf16io(dp, dxh, pw, NULL, N, IC, OC, TL_ACT_NONE, TL_IO_IN_BF16);
		k->matmul_forward_bf16io(dr, dxh, pw, dbm, N, IC, OC, TL_ACT_NONE, TL_IO_IN_BF16 | TL_IO_OUT_ACC);
		k->matmul_free_prec(pw);
		k->to_host(ph, dp, (size_t)N * OC * sizeof *ph);
		float *rh = down(k, dr, (size_t)N * OC, 0);
		size_t bad = 0;
		for (size_t n = 0; n < (size_t)N; n++)
			for (size_t i = 0; i < (size_t)OC; i++) {
				float want = r0[n * OC + i] + (ph[n * OC + i] + bm[i]);
				bad += memcmp(&want, &rh[n * OC + i], sizeof want) != 0;
			}
		/* the LayerNorm of the accumulated rows = add_layernorm_forward's */
		float *dr0 = up(k, r0, (size_t)N * OC), *dw1 = up(k, wm, OC);
		float *l1 = k->alloc((size_t)N * OC * sizeof(float)), *l2 = k->alloc((size_t)N * OC * sizeof(float));
		uint16_t *lb = k->alloc((size_t)N * OCW * sizeof(uint16_t));
		k->add_layernorm_forward(l1, dr0, dp, dbm, dw1, dbm, N, OC, 1e-12f);
		k->add_layernorm_forward_bf16(l2, lb, dr, NULL, NULL, dw1, dbm, N, OC, 1e-12f);
		float *h1 = down(k, l1, (size_t)N * OC, 1), *h2 = down(k, l2, (size_t)N * OC, 1);
		int lok = !memcmp(h1, h2, (size_t)N * OC * sizeof(float));
		printf("%s: matmul_forward_bf16io TL_IO_OUT_ACC = out + (product + bias), bit for bit: %s (%zu differ); "
		       "its LayerNorm = add_layernorm_forward's: %s\n",
		       kname, bad ? "FAIL" : "ok", bad, lok ? "ok" : "FAIL");
		CHECK(!bad);
		CHECK(lok);
		k->free(dp), k->free(dr), k->free(dr0), k->free(dw1), k->free(lb);
		free(r0), free(ph), free(rh), free(h1), free(h2);
	}
	k->free(dwm), k->free(dbm), k->free(dxh), k->free(dyh);
	free(xm), free(wm), free(bm), free(xh), free(yh), free(fy);
	k->free(dx), k->free(dy), k->free(dw), k->free(db);
	free(x), free(y), free(w), free(b);
	COVER(matmul_forward_bf16io), COVER(add_layernorm_forward_bf16);
}

static void t_matmul_prec(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)OC * IC, 1), *b = rnd(OC, 1);
	double *ref = tl_xmalloc((size_t)N * OC * sizeof *ref), sxw = 0;
	for (int i = 0; i < IC; i++)
		sxw += 1.0; /* |x|, |w| <= 1 */
	for (int prec = TL_PREC_FP32; prec <= TL_PREC_INT8; prec++)
		for (int act = TL_ACT_NONE; act <= TL_ACT_GELU; act++) {
			char op[64];
			snprintf(op, sizeof op, "matmul_forward_prec %s%s", tl_precision_name(prec), act ? " (GELU)" : "");
			float *a = prec_run(r, x, w, b, prec, act), *c = prec_run(k, x, w, b, prec, act);
			cmp(op, a, c, (size_t)N * OC, TOL_FWD);
			matmul_ref(ref, x, w, b, N, IC, OC);
			if (act)
				for (size_t i = 0; i < (size_t)N * OC; i++)
					ref[i] = 0.5 * ref[i] * (1 + erf(ref[i] / sqrt(2.0)));
			double tol = prec == TL_PREC_FP32 ? TOL_REF
				     : prec == TL_PREC_BF16 ? 1.13 * sxw * (1.0 / 128 + IC / 8388608.0) + 1e-6
							   : 1.13 * IC * (1.0 / 254 + 2.0 / 255 + 1.0 / (255 * 127)) + 1e-5;
			refcmp(op, c, ref, (size_t)N * OC, tol);
			free(a), free(c);
		}
	/* from a weight quantized already (tl_quantize_row): the same bits as
	 * matmul_prepare_prec at int8, which quantizes the same way */
	int8_t *q = tl_xmalloc((size_t)OC * IC);
	float *s = tl_xmalloc((size_t)OC * sizeof *s);
	for (int o = 0; o < OC; o++)
		tl_quantize_row(q + (size_t)o * IC, &s[o], w + (size_t)o * IC, IC);
	float *dx = up(k, x, (size_t)N * IC), *db = up(k, b, OC);
	float *o1 = k->alloc((size_t)N * OC * sizeof(float));
	void *pw = k->matmul_prepare_q8(q, s, IC, OC);
	k->matmul_forward_prec(o1, dx, pw, db, N, IC, OC, TL_ACT_GELU);
	k->matmul_free_prec(pw);
	float *a = prec_run(k, x, w, b, TL_PREC_INT8, TL_ACT_GELU), *c = down(k, o1, (size_t)N * OC, 1);
	int same_bits = !memcmp(a, c, (size_t)N * OC * sizeof(float));
	printf("%s: matmul_prepare_q8 gives matmul_prepare_prec's int8 bits: %s\n", kname, same_bits ? "ok" : "FAIL");
	CHECK(same_bits);
	free(a), free(c), free(q), free(s);
	k->free(dx), k->free(db);
	free(x), free(w), free(b), free(ref);
	COVER(matmul_prepare_prec), COVER(matmul_prepare_q8), COVER(matmul_forward_prec), COVER(matmul_free_prec);
}

static float *layernorm_run(const tl_kernels *k, const float *x, const float *w, const float *b, float *mr)
{
	float *dx = up(k, x, (size_t)N * C), *dw = up(k, w, C), *db = up(k, b, C);
	float *o = k->alloc((size_t)N * C * sizeof(float)), *dm = k->alloc(N * sizeof(float)),
	      *dr = k->alloc(N * sizeof(float));
	k->layernorm_forward(o, dm, dr, dx, dw, db, N, C, 1e-12f);
	k->to_host(mr, dm, N * sizeof(float));
	k->to_host(mr + N, dr, N * sizeof(float));
	k->free(dx), k->free(dw), k->free(db), k->free(dm), k->free(dr);
	return down(k, o, (size_t)N * C, 1);
}

static void t_layernorm(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * C, 3), *w = rnd(C, 1), *b = rnd(C, 1), ma[2 * N], mc[2 * N];
	float *a = layernorm_run(r, x, w, b, ma), *c = layernorm_run(k, x, w, b, mc);
	cmp("layernorm_forward", a, c, (size_t)N * C, TOL_FWD);
	cmp("layernorm_forward mean, rstd", ma, mc, 2 * N, TOL_FWD);
	double *ref = tl_xmalloc((size_t)N * C * sizeof *ref), rs[2 * N];
	for (int n = 0; n < N; n++) {
		double s = 0, v = 0;
		for (int i = 0; i < C; i++)
			s += x[n * C + i];
		s /= C;
		for (int i = 0; i < C; i++)
			v += (x[n * C + i] - s) * (x[n * C + i] - s);
		v /= C;
		rs[n] = s;
		rs[N + n] = 1 / sqrt(v + 1e-12);
		for (int i = 0; i < C; i++)
			ref[n * C + i] = (x[n * C + i] - s) * rs[N + n] * w[i] + b[i];
	}
	refcmp("layernorm_forward", c, ref, (size_t)N * C, TOL_REF);
	refcmp("layernorm_forward mean", mc, rs, N, 1e-6);
	double rel = 0;
	for (int n = 0; n < N; n++)
		rel = fmax(rel, fabs(mc[N + n] - rs[N + n]) / rs[N + n]);
	printf("%s vs double: layernorm_forward rstd max rel diff %.3g (tol 1e-5): %s\n", kname, rel,
	       rel <= 1e-5 ? "ok" : "FAIL");
	CHECK(rel <= 1e-5);
	free(a), free(c), free(ref);

	/* LayerNorm backward: every output accumulates into random values */
	float *dy = rnd((size_t)N * C, 1), *g0 = rnd((size_t)N * C + 2 * C, 1);
	float *res[2];
	const tl_kernels *ks[2] = {r, k};
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, (size_t)N * C), *dw = up(q, w, C), *ddy = up(q, dy, (size_t)N * C);
		float *m = up(q, i ? mc : ma, N), *rr = up(q, (i ? mc : ma) + N, N);
		float *g = up(q, g0, (size_t)N * C + 2 * C);
		q->layernorm_backward(g, g + (size_t)N * C, g + (size_t)N * C + C, ddy, dx, dw, m, rr, N, C);
		res[i] = down(q, g, (size_t)N * C + 2 * C, 1);
		q->free(dx), q->free(dw), q->free(ddy), q->free(m), q->free(rr);
	}
	cmp("layernorm_backward", res[0], res[1], (size_t)N * C + 2 * C, TOL_BWD);
	free(res[0]), free(res[1]), free(dy), free(g0);

	/* add_layernorm_forward: LayerNorm(a + (b + bias)) */
	float *y = rnd((size_t)N * C, 3), *bb = rnd(C, 1);
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, (size_t)N * C), *dy2 = up(q, y, (size_t)N * C), *dbb = up(q, bb, C);
		float *dw = up(q, w, C), *db = up(q, b, C), *o = q->alloc((size_t)N * C * sizeof(float));
		q->add_layernorm_forward(o, dx, dy2, dbb, dw, db, N, C, 1e-12f);
		res[i] = down(q, o, (size_t)N * C, 1);
		q->free(dx), q->free(dy2), q->free(dbb), q->free(dw), q->free(db);
	}
	cmp("add_layernorm_forward", res[0], res[1], (size_t)N * C, TOL_FWD);
	ref = tl_xmalloc((size_t)N * C * sizeof *ref);
	for (int n = 0; n < N; n++) {
		double rw[C], m = 0, v = 0;
		for (int i = 0; i < C; i++)
			m += rw[i] = (double)x[n * C + i] + ((double)y[n * C + i] + bb[i]);
		m /= C;
		for (int i = 0; i < C; i++)
			v += (rw[i] - m) * (rw[i] - m);
		v /= C;
		for (int i = 0; i < C; i++)
			ref[n * C + i] = (rw[i] - m) / sqrt(v + 1e-12) * w[i] + b[i];
	}
	refcmp("add_layernorm_forward", res[1], ref, (size_t)N * C, TOL_REF);
	free(res[0]), free(res[1]), free(ref), free(y), free(bb), free(x), free(w), free(b);
	COVER(layernorm_forward), COVER(layernorm_backward), COVER(add_layernorm_forward);
}

/* Element-wise ops of one input (and an accumulated output): GELU, bias
 * GELU, their backward, tanh backward, residual, scale. */
static void t_elementwise(const tl_kernels *r, const tl_kernels *k)
{
	size_t n = (size_t)N * C;
	float *x = rnd(n, 3), *y = rnd(n, 1), *acc = rnd(n, 1), *bias = rnd(C, 1);
	const tl_kernels *ks[2] = {r, k};
	float *gf[2], *bg[2], *gb[2], *gbi[2], *tb[2], *rf[2], *sc[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, n), *dy = up(q, y, n), *o = q->alloc(n * sizeof(float)), *db = up(q, bias, C);
		q->gelu_forward(o, dx, n);
		gf[i] = down(q, o, n, 0);
		q->bias_gelu_forward(o, dx, db, N, C);
		bg[i] = down(q, o, n, 0);
		q->to_device(o, acc, n * sizeof(float));
		q->gelu_backward(o, dx, dy, n);
		gb[i] = down(q, o, n, 0);
		q->to_device(o, y, n * sizeof(float));
		q->gelu_backward(o, dx, o, n); /* in place: assigned */
		gbi[i] = down(q, o, n, 0);
		q->to_device(o, acc, n * sizeof(float));
		q->tanh_backward(o, dy, dx, n);
		tb[i] = down(q, o, n, 0);
		q->residual_forward(o, dx, dy, n);
		rf[i] = down(q, o, n, 0);
		q->scale(o, n, 0.37f);
		sc[i] = down(q, o, n, 1);
		q->free(dx), q->free(dy), q->free(db);
	}
	cmp("gelu_forward", gf[0], gf[1], n, TOL_FWD);
	cmp("bias_gelu_forward", bg[0], bg[1], n, TOL_FWD);
	cmp("gelu_backward", gb[0], gb[1], n, TOL_BWD);
	cmp("gelu_backward (in place)", gbi[0], gbi[1], n, TOL_BWD);
	cmp("tanh_backward", tb[0], tb[1], n, TOL_BWD);
	cmp("residual_forward", rf[0], rf[1], n, TOL_FWD);
	cmp("scale", sc[0], sc[1], n, TOL_FWD);
	double *ref = tl_xmalloc(n * sizeof *ref);
	for (size_t i = 0; i < n; i++)
		ref[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
	refcmp("gelu_forward", gf[1], ref, n, 1e-6);
	for (size_t i = 0; i < n; i++) {
		double v = (double)x[i] + bias[i % C];
		ref[i] = 0.5 * v * (1 + erf(v / sqrt(2.0)));
	}
	refcmp("bias_gelu_forward", bg[1], ref, n, 1e-5);
	for (size_t i = 0; i < n; i++)
		ref[i] = (double)x[i] + y[i];
	refcmp("residual_forward", rf[1], ref, n, 1e-6);
	for (size_t i = 0; i < n; i++)
		ref[i] *= 0.37f;
	refcmp("scale", sc[1], ref, n, 1e-6);
	for (int i = 0; i < 2; i++)
		free(gf[i]), free(bg[i]), free(gb[i]), free(gbi[i]), free(tb[i]), free(rf[i]), free(sc[i]);
	free(ref), free(x), free(y), free(acc), free(bias);
	COVER(gelu_forward), COVER(bias_gelu_forward), COVER(gelu_backward), COVER(tanh_backward);
	COVER(residual_forward), COVER(scale);
}

/* reductions: sumsq (against double), nonfinite */
static void t_reduce(const tl_kernels *r, const tl_kernels *k)
{
	size_t n = 100003;
	float *x = rnd(n, 2);
	float *dr = up(r, x, n), *dk = up(k, x, n);
	double a = r->sumsq(dr, n), c = k->sumsq(dk, n), ref = 0;
	cmpd("sumsq", a, c, TOL_LOSS);
	for (size_t i = 0; i < n; i++)
		ref += (double)x[i] * x[i];
	printf("%s vs double: sumsq rel diff %.3g (tol 1e-6): %s\n", kname, fabs(c - ref) / ref,
	       fabs(c - ref) <= 1e-6 * ref ? "ok" : "FAIL");
	CHECK(fabs(c - ref) <= 1e-6 * ref);
	int f0 = k->nonfinite(dk, n);
	x[777] = INFINITY;
	k->to_device(dk + 777, x + 777, sizeof(float));
	int f1 = k->nonfinite(dk, n);
	x[777] = NAN;
	k->to_device(dk + 777, x + 777, sizeof(float));
	int f2 = k->nonfinite(dk, n);
	printf("%s: nonfinite finite %d, inf %d, nan %d: %s\n", kname, f0, f1, f2, !f0 && f1 && f2 ? "ok" : "FAIL");
	CHECK(!f0 && f1 && f2 && r->nonfinite(dr, n) == 0);
	r->free(dr), k->free(dk), free(x);
	COVER(sumsq), COVER(nonfinite);
}

static void t_embedding(const tl_kernels *r, const tl_kernels *k)
{
	size_t bt = (size_t)B * T;
	int32_t ids[B * T], tt[B * T];
	for (size_t i = 0; i < bt; i++)
		ids[i] = (int32_t)(i * 7919 % V), tt[i] = (int32_t)(i % 3 == 0);
	float *wte = rnd((size_t)V * C, 1), *wpe = rnd((size_t)T * C, 1), *wtt = rnd(2 * (size_t)C, 1);
	float *dout = rnd(bt * C, 1), *g0 = rnd(((size_t)V + T + 2) * C, 1);
	const tl_kernels *ks[2] = {r, k};
	float *f[2], *f0[2], *g[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		int32_t *di = upi(q, ids, bt), *dt = upi(q, tt, bt), *dl = upi(q, LENS, B);
		float *a = up(q, wte, (size_t)V * C), *p = up(q, wpe, (size_t)T * C), *y = up(q, wtt, 2 * (size_t)C);
		float *o = q->alloc(bt * C * sizeof(float)), *dd = up(q, dout, bt * C);
		q->embedding_forward(o, di, dt, a, p, y, B, T, C);
		f[i] = down(q, o, bt * C, 0);
		q->embedding_forward(o, di, NULL, a, p, y, B, T, C);
		f0[i] = down(q, o, bt * C, 1);
		float *dg = up(q, g0, ((size_t)V + T + 2) * C);
		q->embedding_backward(dg, dg + (size_t)V * C, dg + ((size_t)V + T) * C, dd, di, dt, dl, B, T, C);
		q->embedding_backward(dg, NULL, dg + ((size_t)V + T) * C, dd, di, NULL, NULL, B, T, C);
		g[i] = down(q, dg, ((size_t)V + T + 2) * C, 1);
		q->free(di), q->free(dt), q->free(dl), q->free(a), q->free(p), q->free(y), q->free(dd);
	}
	cmp("embedding_forward", f[0], f[1], bt * C, TOL_FWD);
	cmp("embedding_forward (no type ids)", f0[0], f0[1], bt * C, TOL_FWD);
	cmp("embedding_backward", g[0], g[1], ((size_t)V + T + 2) * C, TOL_BWD);
	for (int i = 0; i < 2; i++)
		free(f[i]), free(f0[i]), free(g[i]);
	free(wte), free(wpe), free(wtt), free(dout), free(g0);
	COVER(embedding_forward), COVER(embedding_backward);
}

static void t_attention(const tl_kernels *r, const tl_kernels *k)
{
	size_t bt = (size_t)B * T, nq = bt * 3 * C, no = bt * C, na = (size_t)B * NH * T * T;
	size_t real = (size_t)LENS[0] + LENS[1] + LENS[2];
	float *qkv = rnd(nq, 2), *dout = rnd(no, 1), *dq0 = rnd(nq, 1);
	const tl_kernels *ks[2] = {r, k};
	float *o[2], *at[2], *pk[2], *pf[2], *up_[2], *to[2], *ta[2], *dq[2], *ft[2];
	float *pb[2] = {NULL, NULL}, *pbf[2] = {NULL, NULL}; /* attention_forward_packed_bf16 */
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dqkv = up(q, qkv, nq), *dd = up(q, dout, no), *out = q->alloc(no * sizeof(float));
		float *att = q->alloc(na * sizeof(float));
		int32_t *dl = upi(q, LENS, B);
		q->attention_forward(out, att, dqkv, dl, B, T, C, NH);
		o[i] = down(q, out, no, 0);
		at[i] = down(q, att, na, 0);
		/* packed: pack qkv, attend, unpack; the first rows */
		float *pq = q->alloc(real * 3 * C * sizeof(float)), *po = q->alloc(real * C * sizeof(float));
		float *pfirst = q->alloc((size_t)B * C * sizeof(float));
		q->pack_rows(pq, dqkv, dl, B, T, 3 * C, TL_ROWS_PACK);
		q->attention_forward_packed(po, pq, dl, B, C, NH, 0);
		pk[i] = down(q, po, real * C, 0);
		q->pack_rows(out, po, dl, B, T, C, TL_ROWS_UNPACK);
		up_[i] = down(q, out, no, 0);
		q->attention_forward_packed(pfirst, pq, dl, B, C, NH, 1);
		pf[i] = down(q, pfirst, (size_t)B * C, 0);
		q->pack_rows(pfirst, po, dl, B, 0, C, TL_ROWS_FIRST);
		ft[i] = down(q, pfirst, (size_t)B * C, 1);
		if (q->attention_forward_packed_bf16) {
			float *pf2 = q->alloc((size_t)B * C * sizeof(float));
			q->attention_forward_packed_bf16(po, pq, dl, B, C, NH, 0);
			pb[i] = down(q, po, real * C, 0);
			q->attention_forward_packed_bf16(pf2, pq, dl, B, C, NH, 1);
			pbf[i] = down(q, pf2, (size_t)B * C, 1);
		}
		q->free(pq), q->free(po);
		/* training: dropout on the probabilities, then the backward */
		uint64_t stream = tl_dropout_stream(3, 9);
		q->attention_forward_train(out, att, dqkv, dl, B, T, C, NH, 0.1f, 42, stream, 0);
		to[i] = down(q, out, no, 1);
		ta[i] = down(q, att, na, 0);
		float *g = up(q, dq0, nq);
		q->attention_backward(g, dd, dqkv, att, dl, B, T, C, NH, 0.1f, 42, stream, 0);
		dq[i] = down(q, g, nq, 1);
		q->free(att), q->free(dqkv), q->free(dd), q->free(dl);
	}
	cmp("attention_forward", o[0], o[1], no, TOL_FWD);
	cmp("attention_forward probabilities", at[0], at[1], na, TOL_FWD);
	cmp("pack_rows + attention_forward_packed", pk[0], pk[1], real * C, TOL_FWD);
	cmp("pack_rows (unpack)", up_[0], up_[1], no, TOL_FWD);
	cmp("attention_forward_packed (first only)", pf[0], pf[1], (size_t)B * C, TOL_FWD);
	cmp("pack_rows (first)", ft[0], ft[1], (size_t)B * C, TOL_FWD);
	cmp("attention_forward_train", to[0], to[1], no, TOL_FWD);
	cmp("attention_forward_train probabilities", ta[0], ta[1], na, TOL_FWD);
	cmp("attention_backward", dq[0], dq[1], nq, TOL_BWD);
	if (pb[0] && pb[1]) {
		cmp("attention_forward_packed_bf16", pb[0], pb[1], real * C, TOL_FWD);
		cmp("attention_forward_packed_bf16 (first only)", pbf[0], pbf[1], (size_t)B * C, TOL_FWD);
		/* against the fp32 attention: bf16 q, k, v and probabilities (inputs
		 * in [-2, 2]; test_lowprec_attention.c has the element-wise bounds) */
		cmp_tol("attention_forward_packed_bf16 against fp32", pb[1], pk[1], real * C, 5e-2);
		cmp_tol("attention_forward_packed_bf16 (first only: bf16) against fp32", pbf[1], pf[1], (size_t)B * C,
			5e-2);
		COVER(attention_forward_packed_bf16);
	}
	for (int i = 0; i < 2; i++)
		free(pb[i]), free(pbf[i]);
	for (int i = 0; i < 2; i++)
		free(o[i]), free(at[i]), free(pk[i]), free(pf[i]), free(up_[i]), free(to[i]), free(ta[i]), free(dq[i]),
			free(ft[i]);
	free(qkv), free(dout), free(dq0);
	COVER(attention_forward), COVER(attention_forward_packed), COVER(pack_rows);
	COVER(attention_forward_train), COVER(attention_backward);
}

static void t_pool(const tl_kernels *r, const tl_kernels *k)
{
	size_t bt = (size_t)B * T;
	float *h = rnd(bt * C, 2), *w = rnd((size_t)C * C, 1), *b = rnd(C, 1);
	const tl_kernels *ks[2] = {r, k};
	float *pl[2], *pm[3][2], *l2[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dh = up(q, h, bt * C), *dw = up(q, w, (size_t)C * C), *db = up(q, b, C);
		float *o = q->alloc((size_t)B * C * sizeof(float));
		int32_t *dl = upi(q, LENS, B);
		q->pooler_forward(o, dh, dw, db, B, T, C, C);
		pl[i] = down(q, o, (size_t)B * C, 0);
		for (int m = 0; m < 3; m++) {
			q->pool_forward(o, dh, dl, B, T, C, m);
			pm[m][i] = down(q, o, (size_t)B * C, 0);
		}
		q->l2norm_forward(dh, (int)bt, C);
		l2[i] = down(q, dh, bt * C, 1);
		q->free(o), q->free(dw), q->free(db), q->free(dl);
	}
	cmp("pooler_forward", pl[0], pl[1], (size_t)B * C, TOL_FWD);
	cmp("pool_forward cls", pm[TL_POOL_CLS][0], pm[TL_POOL_CLS][1], (size_t)B * C, TOL_FWD);
	cmp("pool_forward mean", pm[TL_POOL_MEAN][0], pm[TL_POOL_MEAN][1], (size_t)B * C, TOL_FWD);
	cmp("pool_forward max", pm[TL_POOL_MAX][0], pm[TL_POOL_MAX][1], (size_t)B * C, TOL_FWD);
	cmp("l2norm_forward", l2[0], l2[1], bt * C, TOL_FWD);
	for (int i = 0; i < 2; i++)
		free(pl[i]), free(pm[0][i]), free(pm[1][i]), free(pm[2][i]), free(l2[i]);
	free(h), free(w), free(b);
	COVER(pooler_forward), COVER(pool_forward), COVER(l2norm_forward);
}

/* ---------------- training ---------------- */

static void t_matmul_backward(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)OC * IC, 1), *dout = rnd((size_t)N * OC, 1);
	size_t ng = (size_t)N * IC + (size_t)OC * IC + OC;
	float *g0 = rnd(ng, 1);
	const tl_kernels *ks[2] = {r, k};
	float *g[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, (size_t)N * IC), *dw = up(q, w, (size_t)OC * IC), *dd = up(q, dout, (size_t)N * OC);
		float *dg = up(q, g0, ng);
		q->matmul_backward(dg, dg + (size_t)N * IC, dg + (size_t)N * IC + (size_t)OC * IC, dd, dx, dw, N, IC, OC);
		q->matmul_backward(NULL, dg + (size_t)N * IC, NULL, dd, dx, dw, N, IC, OC);
		g[i] = down(q, dg, ng, 1);
		q->free(dx), q->free(dw), q->free(dd);
	}
	cmp("matmul_backward", g[0], g[1], ng, TOL_BWD);
	free(g[0]), free(g[1]), free(x), free(w), free(dout), free(g0);
	COVER(matmul_backward);
}

/* bf16 training products: the handle's forward and backward (with the
 * per-step update), against the other backend and against the fp32
 * matmul_backward's gradients within the bf16 bound (|x|, |w|, |dout| <= 1:
 * (2^-7 + K 2^-23) K per element, K = OC for dX, N for dW, plus the
 * accumulated value's rounding); dbias exactly matmul_backward's.
 * tests/unit/test_lowprec.c checks every kernel path in detail. */
/* fp32 training's forward handle: made from w0, packed again from w by
 * matmul_update_fp32 (as after an optimizer step), the forward against the
 * other backend, against double (fp32 bound: IC 2^-23 per element of
 * |x|, |w|, |b| <= 1, plus the output's rounding), and bitwise equal to a
 * handle made from w itself. */
static void t_matmul_fp32_train(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * IC, 1), *w0 = rnd((size_t)OC * IC, 1), *w = rnd((size_t)OC * IC, 1), *b = rnd(OC, 1);
	const tl_kernels *ks[2] = {r, k};
	float *y[2], *y2 = NULL;
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, (size_t)N * IC), *dw = up(q, w, (size_t)OC * IC), *dw0 = up(q, w0, (size_t)OC * IC);
		float *db = up(q, b, OC), *o = q->alloc((size_t)N * OC * sizeof(float));
		float *o2 = q->alloc((size_t)N * OC * sizeof(float));
		void *pw = q->matmul_prepare_prec(dw0, IC, OC, TL_PREC_FP32), *fresh = q->matmul_prepare_prec(dw, IC, OC, TL_PREC_FP32);
		int tag = q->matmul_update_fp32(pw, dw);
		printf("%s: matmul_update_fp32 layout tag %d\n", q->name, tag);
		q->matmul_forward_prec(o, dx, pw, db, N, IC, OC, TL_ACT_NONE);
		q->matmul_forward_prec(o2, dx, fresh, db, N, IC, OC, TL_ACT_NONE);
		q->matmul_free_prec(pw);
		q->matmul_free_prec(fresh);
		y[i] = down(q, o, (size_t)N * OC, 1);
		free(y2);
		y2 = down(q, o2, (size_t)N * OC, 1);
		CHECK(memcmp(y[i], y2, (size_t)N * OC * sizeof(float)) == 0);
		q->free(dx), q->free(dw), q->free(dw0), q->free(db);
	}
	cmp("matmul_forward_prec (fp32 train handle)", y[0], y[1], (size_t)N * OC, TOL_FWD);
	double *ref = tl_xmalloc((size_t)N * OC * sizeof *ref);
	matmul_ref(ref, x, w, b, N, IC, OC);
	refcmp("matmul_forward_prec (fp32 train handle)", y[1], ref, (size_t)N * OC, (IC + 2) * 2.0 / 8388608.0 * (IC + 1));
	free(y[0]), free(y[1]), free(y2), free(x), free(w0), free(w), free(b), free(ref);
	COVER(matmul_update_fp32);
}

static void t_matmul_bf16_train(const tl_kernels *r, const tl_kernels *k)
{
	float *x = rnd((size_t)N * IC, 1), *w0 = rnd((size_t)OC * IC, 1), *w = rnd((size_t)OC * IC, 1);
	float *dout = rnd((size_t)N * OC, 1), *b = rnd(OC, 1);
	size_t ng = (size_t)N * IC + (size_t)OC * IC + OC;
	float *g0 = rnd(ng, 1);
	const tl_kernels *ks[2] = {r, k};
	float *g[2], *y[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, (size_t)N * IC), *dw = up(q, w, (size_t)OC * IC), *dw0 = up(q, w0, (size_t)OC * IC);
		float *dd = up(q, dout, (size_t)N * OC), *db = up(q, b, OC), *dg = up(q, g0, ng);
		float *o = q->alloc((size_t)N * OC * sizeof(float));
		void *pw = q->matmul_prepare_bf16_train(dw0, IC, OC);
		q->matmul_update_bf16_train(pw, dw); /* as after an optimizer step */
		q->matmul_forward_prec(o, dx, pw, db, N, IC, OC, TL_ACT_NONE);
		q->matmul_backward_bf16(dg, dg + (size_t)N * IC, dg + (size_t)N * IC + (size_t)OC * IC, dd, dx, pw, N,
					IC, OC);
		q->matmul_backward_bf16(NULL, NULL, NULL, dd, dx, pw, N, IC, OC);
		q->matmul_free_prec(pw);
		g[i] = down(q, dg, ng, 1);
		y[i] = down(q, o, (size_t)N * OC, 1);
		q->free(dx), q->free(dw), q->free(dw0), q->free(dd), q->free(db);
	}
	cmp("matmul_forward_prec (bf16 train handle)", y[0], y[1], (size_t)N * OC, TOL_FWD);
	cmp("matmul_backward_bf16", g[0], g[1], ng, TOL_BWD);
	/* against fp32 */
	double *ref = tl_xmalloc((size_t)N * OC * sizeof *ref);
	matmul_ref(ref, x, w, b, N, IC, OC);
	refcmp("matmul_forward_prec (bf16 train handle)", y[1], ref, (size_t)N * OC,
	       IC * (1.0 / 128 + IC / 8388608.0) + 1e-6);
	float *f = tl_xmalloc(ng * sizeof *f);
	memcpy(f, g0, ng * sizeof *f);
	r->matmul_backward(f, f + (size_t)N * IC, f + (size_t)N * IC + (size_t)OC * IC, dout, x, w, N, IC, OC);
	double *fd = tl_xmalloc(ng * sizeof *fd);
	for (size_t i = 0; i < ng; i++)
		fd[i] = f[i];
	refcmp("matmul_backward_bf16 dX", g[1], fd, (size_t)N * IC, OC * (1.0 / 128 + OC / 8388608.0) + 2 * OC / 8388608.0);
	refcmp("matmul_backward_bf16 dW", g[1] + (size_t)N * IC, fd + (size_t)N * IC, (size_t)OC * IC,
	       N * (1.0 / 128 + N / 8388608.0) + 2 * N / 8388608.0);
	refcmp("matmul_backward_bf16 dbias", g[1] + (size_t)N * IC + (size_t)OC * IC, fd + (size_t)N * IC + (size_t)OC * IC,
	       OC, 0);
	free(g[0]), free(g[1]), free(y[0]), free(y[1]), free(x), free(w0), free(w), free(dout), free(b), free(g0);
	free(ref), free(f), free(fd);
	COVER(matmul_prepare_bf16_train), COVER(matmul_update_bf16_train), COVER(matmul_backward_bf16);
}

static void t_dropout(const tl_kernels *r, const tl_kernels *k)
{
	size_t n = 70001;
	float *x = rnd(n, 1), *acc = rnd(n, 1);
	const tl_kernels *ks[2] = {r, k};
	float *f[2], *ba[2], *bi[2];
	uint64_t stream = tl_dropout_stream(11, 5);
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, n), *o = q->alloc(n * sizeof(float));
		q->dropout_forward(o, dx, n, 0.2f, 9, stream);
		f[i] = down(q, o, n, 0);
		q->to_device(o, acc, n * sizeof(float));
		q->dropout_backward(o, dx, n, 0.2f, 9, stream);
		ba[i] = down(q, o, n, 0);
		q->dropout_backward(dx, dx, n, 0.2f, 9, stream); /* in place: assigned */
		bi[i] = down(q, dx, n, 1);
		q->free(o);
	}
	cmp("dropout_forward", f[0], f[1], n, TOL_FWD);
	cmp("dropout_backward", ba[0], ba[1], n, TOL_BWD);
	cmp("dropout_backward (in place)", bi[0], bi[1], n, TOL_BWD);
	/* the mask is tl_dropout_keep's on every backend */
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= (f[1][i] != 0.0f || x[i] == 0.0f) == tl_dropout_keep(9, stream, i, 0.2f);
	printf("%s: dropout_forward mask is tl_dropout_keep: %s\n", kname, ok ? "ok" : "FAIL");
	CHECK(ok);
	for (int i = 0; i < 2; i++)
		free(f[i]), free(ba[i]), free(bi[i]);
	free(x), free(acc);
	COVER(dropout_forward), COVER(dropout_backward);
}

/* bitwise equality of two results of one backend (a fused kernel against
 * the calls it stands for) */
static void cmp_bits(const char *op, const float *a, const float *b, size_t n)
{
	int ok = memcmp(a, b, n * sizeof *a) == 0;
	printf("%s: %s bitwise the unfused calls: %s\n", kname, op, ok ? "ok" : "FAIL");
	CHECK(ok);
}

/* The fused training kernels on each backend against the calls they stand
 * for on the same backend, bit for bit (kernels.h): matmul_forward_gelu_
 * keep, dropout_add_layernorm_forward and layernorm_backward_dropout (dres aliasing dout, as the trainer calls it; p 0.1 and 0),
 * matmul_backward_gelu (a width the AVX-512 product takes, 96, over two
 * of its k blocks, and one it does not, 40; a row whose d gelu' is -0),
 * sumsq_live and adamw_update_zero's live flags (a gradient
 * whose dead blocks are zero, the last block partial). */
static void t_fused(const tl_kernels *k)
{
	/* LayerNorm + residual copy + dropout */
	for (int pi = 0; pi < 2; pi++) {
		float p = pi ? 0.0f : 0.1f;
		size_t nc = (size_t)N * C;
		float *x = rnd(nc, 3), *w = rnd(C, 1), *b = rnd(C, 1), *dy = rnd(nc, 1), *g0 = rnd(2 * C, 1);
		float *dx = up(k, x, nc), *dw = up(k, w, C), *db = up(k, b, C), *o = k->alloc(nc * sizeof(float));
		float *mean = k->alloc(N * sizeof(float)), *rstd = k->alloc(N * sizeof(float));
		k->layernorm_forward(o, mean, rstd, dx, dw, db, N, C, 1e-12f);
		uint64_t stream = tl_dropout_stream(3, 7);
		/* unfused: memset, layernorm_backward, copy, dropout_backward in place */
		float *dA = up(k, dy, nc), *dB = k->alloc(nc * sizeof(float)), *g1 = up(k, g0, 2 * C);
		k->memset(dB, 0, nc * sizeof(float));
		k->layernorm_backward(dB, g1, g1 + C, dA, dx, dw, mean, rstd, N, C);
		k->copy(dA, dB, nc * sizeof(float));
		k->dropout_backward(dB, dB, nc, p, 9, stream);
		float *dA2 = up(k, dy, nc), *dB2 = k->alloc(nc * sizeof(float)), *g2 = up(k, g0, 2 * C);
		k->layernorm_backward_dropout(dA2, dB2, g2, g2 + C, dA2, dx, dw, mean, rstd, N, C, p, 9, stream);
		float *h[6] = {down(k, dA, nc, 1), down(k, dA2, nc, 1), down(k, dB, nc, 1), down(k, dB2, nc, 1),
			       down(k, g1, 2 * C, 1), down(k, g2, 2 * C, 1)};
		cmp_bits(p > 0 ? "layernorm_backward_dropout dres" : "layernorm_backward_dropout (p 0) dres", h[0], h[1], nc);
		cmp_bits(p > 0 ? "layernorm_backward_dropout ddrop" : "layernorm_backward_dropout (p 0) ddrop", h[2], h[3], nc);
		cmp_bits("layernorm_backward_dropout dweight, dbias", h[4], h[5], 2 * C);
		int dropped = 0;
		for (size_t i = 0; i < nc; i++)
			dropped += h[3][i] == 0.0f && h[1][i] != 0.0f;
		CHECK(p > 0 ? dropped > 0 : dropped == 0); /* the mask was applied (or not) */
		for (int i = 0; i < 6; i++)
			free(h[i]);
		/* the forward: dropout, residual add, LayerNorm */
		float *y = rnd(nc, 2), *res[2], *ln[2], *mr[2];
		for (int f = 0; f < 2; f++) {
			float *dr = up(k, y, nc), *dl = k->alloc(nc * sizeof(float)), *ms = k->alloc(2 * N * sizeof(float));
			if (f) {
				k->dropout_add_layernorm_forward(dr, dl, ms, ms + N, dx, dw, db, N, C, 1e-12f, p, 9, stream);
			} else {
				k->dropout_forward(dr, dr, nc, p, 9, stream);
				k->residual_forward(dr, dr, dx, nc);
				k->layernorm_forward(dl, ms, ms + N, dr, dw, db, N, C, 1e-12f);
			}
			res[f] = down(k, dr, nc, 1), ln[f] = down(k, dl, nc, 1), mr[f] = down(k, ms, 2 * N, 1);
		}
		cmp_bits("dropout_add_layernorm_forward res", res[0], res[1], nc);
		cmp_bits("dropout_add_layernorm_forward out", ln[0], ln[1], nc);
		cmp_bits("dropout_add_layernorm_forward mean, rstd", mr[0], mr[1], 2 * N);
		for (int f = 0; f < 2; f++)
			free(res[f]), free(ln[f]), free(mr[f]);
		free(y);
		k->free(dx), k->free(dw), k->free(db), k->free(o), k->free(mean), k->free(rstd);
		free(x), free(w), free(b), free(dy), free(g0);
	}
	/* dX of the FFN's second product with GELU's backward */
	static const int ics[2] = {96, 40};
	for (int si = 0; si < 2; si++) {
		int ic = ics[si], oc = si ? 48 : 400; /* 400: two k blocks of the AVX-512 product */
		size_t ni = (size_t)N * ic, nw = (size_t)oc * ic, no = (size_t)N * oc;
		float *pre = rnd(ni, 3), *w = rnd(nw, 1), *dy = rnd(no, 1), *g0 = rnd(nw + oc, 1);
		/* row 0: a zero gradient where gelu' < 0, so that d gelu' is
		 * -0 and only the sum into zeros makes it +0 */
		for (int i = 0; i < ic; i++)
			pre[i] = -2.0f;
		for (int o = 0; o < oc; o++)
			dy[o] = 0.0f;
		float *dpre = up(k, pre, ni), *inp = k->alloc(ni * sizeof(float)), *dw = up(k, w, nw), *ddy = up(k, dy, no);
		k->gelu_forward(inp, dpre, ni);
		float *t1 = k->alloc(ni * sizeof(float)), *o1 = k->alloc(ni * sizeof(float)), *g1 = up(k, g0, nw + oc);
		k->memset(t1, 0, ni * sizeof(float));
		k->matmul_backward(t1, g1, g1 + nw, ddy, inp, dw, N, ic, oc);
		k->memset(o1, 0, ni * sizeof(float));
		k->gelu_backward(o1, dpre, t1, ni);
		float *o2 = k->alloc(ni * sizeof(float)), *g2 = up(k, g0, nw + oc);
		k->matmul_backward_gelu(o2, g2, g2 + nw, ddy, inp, dw, dpre, N, ic, oc);
		float *h[4] = {down(k, o1, ni, 1), down(k, o2, ni, 1), down(k, g1, nw + oc, 1), down(k, g2, nw + oc, 1)};
		char what[96];
		snprintf(what, sizeof what, "matmul_backward_gelu (IC %d) dpre", ic);
		cmp_bits(what, h[0], h[1], ni);
		snprintf(what, sizeof what, "matmul_backward_gelu (IC %d) dweight, dbias", ic);
		cmp_bits(what, h[2], h[3], nw + oc);
		for (int i = 0; i < 4; i++)
			free(h[i]);
		k->free(t1), k->free(dpre), k->free(inp), k->free(dw), k->free(ddy);
		free(pre), free(w), free(dy), free(g0);
	}
	/* live flags: sumsq_live and adamw_update_zero against no flags */
	size_t n = 100003, nb = (n + TL_ADAMW_BLOCK - 1) / TL_ADAMW_BLOCK;
	for (int tail = 0; tail < 2; tail++) {
		float *g = rnd(n, 1), *p = rnd(n, 1), *m = rnd(n, 0.1f), *v = rnd(n, 0.01f);
		unsigned char *live = tl_xmalloc(nb), *cold = tl_xmalloc(nb), *cold2 = tl_xmalloc(nb);
		for (size_t j = 0; j < nb; j++) {
			live[j] = j % 3 == 0 || j % 7 == 1;
			if (j == nb - 1)
				live[j] = (unsigned char)tail; /* the partial block dead, then live */
			cold[j] = j % 5 < 2; /* cold: m, v zero there */
			for (size_t i = j * TL_ADAMW_BLOCK; i < (j + 1) * TL_ADAMW_BLOCK && i < n; i++) {
				if (!live[j])
					g[i] = 0.0f;
				if (cold[j])
					m[i] = v[i] = 0.0f;
				v[i] = fabsf(v[i]);
			}
		}
		memcpy(cold2, cold, nb);
		float *dg = up(k, g, n);
		double a = k->sumsq(dg, n), b = k->sumsq_live(dg, n, live);
		int ok = memcmp(&a, &b, sizeof a) == 0;
		printf("%s: sumsq_live (last block %s) bitwise sumsq: %s\n", kname, tail ? "live" : "dead", ok ? "ok" : "FAIL");
		CHECK(ok);
		float *res[2][4];
		for (int i = 0; i < 2; i++) {
			float *dp = up(k, p, n), *dg2 = up(k, g, n), *dm = up(k, m, n), *dv = up(k, v, n);
			k->adamw_update_zero(dp, dg2, dm, dv, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3, 0.7f, i ? cold2 : cold,
					     i ? live : NULL);
			res[i][0] = down(k, dp, n, 1), res[i][1] = down(k, dg2, n, 1);
			res[i][2] = down(k, dm, n, 1), res[i][3] = down(k, dv, n, 1);
		}
		static const char *nm[4] = {"adamw_update_zero live param", "adamw_update_zero live grad",
					    "adamw_update_zero live m", "adamw_update_zero live v"};
		for (int j = 0; j < 4; j++) {
			cmp_bits(nm[j], res[0][j], res[1][j], n);
			free(res[0][j]), free(res[1][j]);
		}
		ok = memcmp(cold, cold2, nb) == 0;
		printf("%s: adamw_update_zero live: the same cold flags after: %s\n", kname, ok ? "ok" : "FAIL");
		CHECK(ok);
		k->free(dg);
		free(g), free(p), free(m), free(v), free(live), free(cold), free(cold2);
	}
	COVER(layernorm_backward_dropout), COVER(matmul_backward_gelu), COVER(sumsq_live);
	COVER(dropout_add_layernorm_forward);
	/* the FFN's first product with GELU, both kept: a shape the packed
	 * micro-kernel takes (OC 96) and one it does not (OC 40) */
	static const int ocs[2] = {96, 40};
	for (int si = 0; si < 2; si++) {
		int oc = ocs[si];
		size_t no = (size_t)N * oc;
		float *x = rnd((size_t)N * IC, 1), *w = rnd((size_t)oc * IC, 1), *b = rnd(oc, 1);
		float *dx = up(k, x, (size_t)N * IC), *dw = up(k, w, (size_t)oc * IC), *db = up(k, b, oc);
		void *pw = k->matmul_prepare_prec(dw, IC, oc, TL_PREC_FP32);
		k->matmul_update_fp32(pw, dw);
		float *p1 = k->alloc(no * sizeof(float)), *g1 = k->alloc(no * sizeof(float));
		float *p2 = k->alloc(no * sizeof(float)), *g2 = k->alloc(no * sizeof(float));
		k->matmul_forward_prec(p1, dx, pw, db, N, IC, oc, TL_ACT_NONE);
		k->gelu_forward(g1, p1, no);
		k->matmul_forward_gelu_keep(p2, g2, dx, pw, db, N, IC, oc);
		k->matmul_free_prec(pw);
		float *h[4] = {down(k, p1, no, 1), down(k, p2, no, 1), down(k, g1, no, 1), down(k, g2, no, 1)};
		char what[96];
		snprintf(what, sizeof what, "matmul_forward_gelu_keep (OC %d) pre", oc);
		cmp_bits(what, h[0], h[1], no);
		snprintf(what, sizeof what, "matmul_forward_gelu_keep (OC %d) out", oc);
		cmp_bits(what, h[2], h[3], no);
		for (int i = 0; i < 4; i++)
			free(h[i]);
		k->free(dx), k->free(dw), k->free(db);
		free(x), free(w), free(b);
	}
	COVER(matmul_forward_gelu_keep);
}

/* lstm_forward / lstm_backward (issue 19): lengths {4, 2, 0}, initial
 * state, both biases, final-state gradients; the forward's h also against
 * a double-precision LSTM (tests/unit/test_lstm_kernel.c checks both
 * against nn.LSTM). */
static void t_lstm(const tl_kernels *r, const tl_kernels *k)
{
	enum { LB = 3, LT = 4, LI = 5, LH = 20, LG = 4 * LH };
	int32_t lens[LB] = {4, 2, 0};
	float *x = rnd(LB * LT * LI, 1), *h0 = rnd(LB * LH, 1), *c0 = rnd(LB * LH, 1), *wi = rnd(LG * LI, 0.5f);
	float *wh = rnd(LG * LH, 0.5f), *bi = rnd(LG, 0.5f), *bh = rnd(LG, 0.5f), *dh = rnd(LB * LT * LH, 1);
	float *dhT = rnd(LB * LH, 1), *dcT = rnd(LB * LH, 1);
	size_t nout = LB * LT * LH * 2 + LB * LT * LG + 2 * LB * LH;
	size_t ngr = LB * LT * LI + 2 * LB * LH + LG * LI + LG * LH + 2 * LG;
	float *g0 = rnd(ngr, 1);
	const tl_kernels *ks[2] = {r, k};
	float *o[2], *g[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dx = up(q, x, LB * LT * LI), *dh0 = up(q, h0, LB * LH), *dc0 = up(q, c0, LB * LH);
		float *dwi = up(q, wi, LG * LI), *dwh = up(q, wh, LG * LH), *dbi = up(q, bi, LG), *dbh = up(q, bh, LG);
		float *ddh = up(q, dh, LB * LT * LH), *ddhT = up(q, dhT, LB * LH), *ddcT = up(q, dcT, LB * LH);
		int32_t *dl = upi(q, lens, LB);
		float *out = q->alloc(nout * sizeof(float)), *gr = up(q, g0, ngr);
		float *h = out, *c = h + LB * LT * LH, *ga = c + LB * LT * LH, *hT = ga + LB * LT * LG, *cT = hT + LB * LH;
		q->lstm_forward(h, c, ga, hT, cT, dx, dh0, dc0, dwi, dwh, dbi, dbh, dl, LB, LT, LI, LH, NULL, NULL);
		float *gx = gr, *gh0 = gx + LB * LT * LI, *gc0 = gh0 + LB * LH, *gwi = gc0 + LB * LH, *gwh = gwi + LG * LI;
		float *gbi = gwh + LG * LH, *gbh = gbi + LG;
		q->lstm_backward(gx, gh0, gc0, gwi, gwh, gbi, gbh, ddh, ddhT, ddcT, dx, dh0, dc0, h, c, ga, dwi, dwh, dl,
				 LB, LT, LI, LH, NULL, NULL);
		o[i] = down(q, out, nout, 1);
		g[i] = down(q, gr, ngr, 1);
		q->free(dx), q->free(dh0), q->free(dc0), q->free(dwi), q->free(dwh), q->free(dbi), q->free(dbh);
		q->free(ddh), q->free(ddhT), q->free(ddcT), q->free(dl);
	}
	cmp("lstm_forward", o[0], o[1], nout, TOL_FWD);
	cmp("lstm_backward", g[0], g[1], ngr, TOL_BWD);
	/* h against a double LSTM */
	double *ref = tl_xcalloc(LB * LT * LH, sizeof *ref), hs[LH], cs[LH], a[LG];
	for (int b = 0; b < LB; b++) {
		for (int j = 0; j < LH; j++)
			hs[j] = h0[b * LH + j], cs[j] = c0[b * LH + j];
		for (int t = 0; t < lens[b]; t++) {
			for (int row = 0; row < LG; row++) {
				double v = (double)bi[row] + bh[row];
				for (int m = 0; m < LI; m++)
					v += (double)wi[row * LI + m] * x[(b * LT + t) * LI + m];
				for (int m = 0; m < LH; m++)
					v += (double)wh[row * LH + m] * hs[m];
				a[row] = v;
			}
			for (int j = 0; j < LH; j++) {
				double ig = 1 / (1 + exp(-a[j])), fg = 1 / (1 + exp(-a[LH + j])), gg = tanh(a[2 * LH + j]);
				double og = 1 / (1 + exp(-a[3 * LH + j]));
				cs[j] = fg * cs[j] + ig * gg;
				hs[j] = og * tanh(cs[j]);
				ref[(b * LT + t) * LH + j] = hs[j];
			}
		}
	}
	refcmp("lstm_forward h", o[1], ref, LB * LT * LH, TOL_REF);
	for (int i = 0; i < 2; i++)
		free(o[i]), free(g[i]);
	free(x), free(h0), free(c0), free(wi), free(wh), free(bi), free(bh), free(dh), free(dhT), free(dcT), free(g0);
	free(ref);
	COVER(lstm_forward), COVER(lstm_backward);
}

static void t_losses(const tl_kernels *r, const tl_kernels *k)
{
	enum { NR = 7 };
	float *z = rnd(NR * K, 3), *w = rnd(K, 1), *sw = rnd(NR, 1), *pw = rnd(K, 1), ym[NR * K];
	int32_t y[NR];
	for (int i = 0; i < K; i++)
		w[i] = 1.5f + w[i], pw[i] = 1.5f + pw[i];
	for (int i = 0; i < NR; i++)
		y[i] = (int32_t)((i * 3 + 1) % K), sw[i] = 1.5f + sw[i];
	for (int i = 0; i < NR * K; i++)
		ym[i] = (float)((i * 5) % 3 == 0);
	const tl_kernels *ks[2] = {r, k};
	double lx[2], lb[2];
	float *gx[2], *gb[2];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		float *dz = up(q, z, NR * K), *dw = up(q, w, K), *dsw = up(q, sw, NR), *dpw = up(q, pw, K);
		float *dym = up(q, ym, NR * K), *g = q->alloc(NR * K * sizeof(float));
		int32_t *dy = upi(q, y, NR);
		lx[i] = q->softmax_xent(g, dz, dy, dw, dsw, 0.1f, 0.5f, NR, K);
		gx[i] = down(q, g, NR * K, 0);
		lb[i] = q->sigmoid_bce(g, dz, dym, dpw, 0.1f, 0.5f, NR, K);
		gb[i] = down(q, g, NR * K, 1);
		q->free(dz), q->free(dw), q->free(dsw), q->free(dpw), q->free(dym), q->free(dy);
	}
	cmpd("softmax_xent loss", lx[0], lx[1], TOL_LOSS);
	cmp("softmax_xent dlogits", gx[0], gx[1], NR * K, TOL_BWD);
	cmpd("sigmoid_bce loss", lb[0], lb[1], TOL_LOSS);
	cmp("sigmoid_bce dlogits", gb[0], gb[1], NR * K, TOL_BWD);
	for (int i = 0; i < 2; i++)
		free(gx[i]), free(gb[i]);
	free(z), free(w), free(sw), free(pw);
	COVER(softmax_xent), COVER(sigmoid_bce);
}

/* lm_xent: a language model's loss over a vocabulary, in place. Rows
 * against a double reference: the gradient within 1e-6 absolute (it is a
 * probability, f = 1; vmath's exp is 1 ulp), the row loss within 1e-6;
 * V not a multiple of a vector, one row of logits up to +-60 (the max
 * subtracted), the loss-only call leaves z as it was. */
static void t_lm_xent(const tl_kernels *r, const tl_kernels *k)
{
	enum { NR = 5, V = 1037 };
	float *z = rnd((size_t)NR * V, 3);
	for (int c = 0; c < V; c++)
		z[(size_t)3 * V + c] *= 20.0f;
	int32_t y[NR] = {0, 17, V - 1, 500, 3};
	double ref[NR * V], rl[NR];
	for (int i = 0; i < NR; i++) {
		const float *zi = z + (size_t)i * V;
		double mx = zi[0], se = 0;
		for (int c = 1; c < V; c++)
			mx = zi[c] > mx ? zi[c] : mx;
		for (int c = 0; c < V; c++)
			se += exp(zi[c] - mx);
		rl[i] = mx + log(se) - zi[y[i]];
		for (int c = 0; c < V; c++)
			ref[(size_t)i * V + c] = exp(zi[c] - mx) / se - (c == y[i]);
	}
	const tl_kernels *ks[2] = {r, k};
	float *g[2];
	double loss[2][NR], l0[NR];
	for (int q = 0; q < 2; q++) {
		float *d = up(ks[q], z, (size_t)NR * V);
		int32_t *dy = upi(ks[q], y, NR);
		ks[q]->lm_xent(d, dy, l0, NR, V, 1.0f, 0);
		float *same_z = down(ks[q], d, (size_t)NR * V, 0);
		CHECK(memcmp(same_z, z, sizeof(float) * NR * V) == 0);
		free(same_z);
		ks[q]->lm_xent(d, dy, loss[q], NR, V, 1.0f, 1);
		for (int i = 0; i < NR; i++)
			CHECK(memcmp(&l0[i], &loss[q][i], sizeof(double)) == 0);
		g[q] = down(ks[q], d, (size_t)NR * V, 1);
		ks[q]->free(dy);
	}
	refcmp("lm_xent dz", g[1], ref, (size_t)NR * V, 1e-6);
	double m = 0;
	for (int i = 0; i < NR; i++)
		m = fmax(m, fabs(loss[1][i] - rl[i]));
	printf("%s vs double: lm_xent row loss max abs diff %.3g (tol 1e-6): %s\n", kname, m, m <= 1e-6 ? "ok" : "FAIL");
	CHECK(m <= 1e-6);
	cmp("lm_xent dz", g[0], g[1], (size_t)NR * V, TOL_BWD);
	for (int i = 0; i < NR; i++)
		cmpd("lm_xent row loss", loss[0][i], loss[1][i], TOL_LOSS);
	free(g[0]), free(g[1]), free(z);
	COVER(lm_xent);
}

static void t_optimizer(const tl_kernels *r, const tl_kernels *k)
{
	size_t n = 100003;
	float *p = rnd(n, 1), *g = rnd(n, 1), *m = rnd(n, 0.1f), *v = rnd(n, 0.01f);
	for (size_t i = 0; i < n; i++)
		v[i] = fabsf(v[i]);
	const tl_kernels *ks[2] = {r, k};
	float *res[3][2][4];
	for (int i = 0; i < 2; i++) {
		const tl_kernels *q = ks[i];
		for (int kind = 0; kind < 3; kind++) {
			float *dp = up(q, p, n), *dg = up(q, g, n), *dm = up(q, m, n), *dv = up(q, v, n);
			if (kind == 0)
				q->adamw_update(dp, dg, dm, dv, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
			else if (kind == 1)
				q->adamw_update_zero(dp, dg, dm, dv, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3, 0.7f, NULL, NULL);
			else
				q->sgd_update(dp, dg, dm, n, 1e-2f, 0.9f, 0.01f, 2);
			res[kind][i][0] = down(q, dp, n, 1), res[kind][i][1] = down(q, dg, n, 1);
			res[kind][i][2] = down(q, dm, n, 1), res[kind][i][3] = down(q, dv, n, 1);
		}
	}
	static const char *names[3][4] = {
		{"adamw_update param", "adamw_update grad", "adamw_update m", "adamw_update v"},
		{"adamw_update_zero param", "adamw_update_zero grad", "adamw_update_zero m", "adamw_update_zero v"},
		{"sgd_update param", "sgd_update grad", "sgd_update buf", "sgd_update (v untouched)"}};
	for (int kind = 0; kind < 3; kind++)
		for (int j = 0; j < 4; j++) {
			cmp(names[kind][j], res[kind][0][j], res[kind][1][j], n, TOL_BWD);
			free(res[kind][0][j]), free(res[kind][1][j]);
		}
	free(p), free(g), free(m), free(v);
	COVER(adamw_update), COVER(adamw_update_zero), COVER(sgd_update);
}

int main(void)
{
	tl_init("test_backend_ops");
	const tl_kernels *ref = tl_kernels_cpu();
	CHECK(tl_kernels_at(0) == ref && tl_kernels_get("cpu") == ref && tl_kernels_get("no-such-backend") == NULL);
	CHECK(tl_kernels_at(-1) == NULL);
	int nb = 0;
	while (tl_kernels_at(nb))
		nb++;
	printf("backends built in: %d; table slots: %zu\n", nb, (size_t)NSLOTS);
	CHECK(NSLOTS <= sizeof covered);
	ref->set_threads(2);
	for (int bi = 0; bi < nb; bi++) {
		const tl_kernels *k = tl_kernels_at(bi);
		rname = ref->name, kname = k->name, same = k == ref;
		k->set_threads(2);
		rng = 88172645463325252ull; /* the same inputs for every backend */
		memset(covered, 0, sizeof covered);
		t_memory(k);
		t_matmul(ref, k);
		t_matmul_prec(ref, k);
		t_bf16_rows(k);
		t_layernorm(ref, k);
		t_elementwise(ref, k);
		t_reduce(ref, k);
		t_embedding(ref, k);
		t_attention(ref, k);
		t_pool(ref, k);
		t_matmul_backward(ref, k);
		t_matmul_bf16_train(ref, k);
		t_matmul_fp32_train(ref, k);
		t_dropout(ref, k);
		t_fused(k);
		t_lstm(ref, k);
		t_losses(ref, k);
		t_lm_xent(ref, k);
		t_optimizer(ref, k);
		size_t nc = 0;
		for (size_t i = 0; i < NSLOTS; i++) {
			nc += covered[i];
			if (!covered[i])
				printf("%s: table slot %zu (after alloc) has no test here: FAIL\n", k->name, i);
		}
		printf("%s: %zu of %zu table entries covered: %s\n", k->name, nc, (size_t)NSLOTS,
		       nc == NSLOTS ? "ok" : "FAIL");
		CHECK(nc == NSLOTS);
	}
	TEST_REPORT("test_backend_ops");
}
