/* test_domain.c - the domain-adaptation losses of tl/domain.h (issue 18)
 * against PyTorch float64 autograd and central finite differences.
 *
 * Fixture tests/ref/domain.safetensors from tests/ref/gen_domain.py:
 * - DANN: a gradient reversal layer as a torch.autograd.Function (identity
 *   forward, -lambda * grad backward), Linear-ReLU-Linear-CrossEntropy;
 *   5 cases of (n, C, H, D, lambda, scale): D = 2, 3, 4, lambda 0, a domain
 *   absent from the batch.
 * - CORAL: Deep CORAL's loss; 4 cases (constant features, n = 2, 32 x 32).
 * - MMD: DAN's multi-kernel Gaussian MMD^2, bandwidth base detached;
 *   4 cases (a zero cross-domain distance, custom multipliers, ns = 1).
 * Bounds: the loss within 1e-9 relative (both sides compute in double);
 * every gradient within 1e-5 of max_i |ref_i| (bu_rel_err; the reference
 * is rounded to fp32 like the C output), the worst printed; DANN's accuracy
 * exactly. Central finite differences of the C loss (double loss, fp32
 * inputs stepped by about 1e-3, the exact step used) on a few entries of
 * each input: |fd - ana| <= 1e-4 max_i |ana_i| (MMD's with its bandwidth
 * base held at the batch's value, tl_mmd_loss_base: the gradient treats it
 * as a constant, so FD of tl_mmd_loss itself differs). For DANN the FD of scale *
 * loss with respect to f equals -df / lambda: the reversal's sign. Also the
 * documented edge cases (n < 2, constant features, all distances zero, an
 * empty batch, NaN input, a domain out of range, lambda = 0), ADDED versus
 * ASSIGNED gradients, bitwise determinism, the lambda schedule, and one
 * timing of a 2 x 32 x 384 batch (printed, not checked). */
#include "testhelp.h"

#include "backward_util.h" /* before <cblas.h>: its complex.h defines I, a field of tl/bert.h */
#include "tl/cli.h"
#include "tl/domain.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOSS_TOL 1e-9
#define GRAD_TOL 1e-5
#define FD_TOL 1e-4

static double worst_grad; /* the largest gradient error against torch */
static double worst_loss, worst_fd; /* ... loss error, finite-difference error */

static double getd(const char *name)
{
	const tl_st_tensor *t = bu_need(name);
	double v;
	if (t->dtype != TL_ST_F64 || t->numel != 1) {
		fprintf(stderr, "%s: not an F64 scalar\n", name);
		exit(1);
	}
	memcpy(&v, tl_st_bytes(&bu_F, t), sizeof v);
	return v;
}

static size_t numel(const char *name)
{
	return bu_need(name)->numel;
}

static int64_t dim(const char *name, int i)
{
	return bu_need(name)->shape[i];
}

static void check_grad(const char *what, const float *c, const float *ref, size_t n)
{
	double e = bu_rel_err(c, ref, n);
	if (e > worst_grad)
		worst_grad = e;
	if (e > GRAD_TOL)
		fprintf(stderr, "%s: error %.3g\n", what, e);
	CHECK(e <= GRAD_TOL);
}

static void check_loss(const char *what, double c, double ref)
{
	double e = fabs(c - ref) / fmax(fabs(ref), 1e-300);
	worst_loss = fmax(worst_loss, e);
	if (!(e <= LOSS_TOL))
		fprintf(stderr, "%s: loss %.17g, torch %.17g\n", what, c, ref);
	CHECK(e <= LOSS_TOL);
}

static float *fill(size_t n, float v)
{
	float *x = malloc(n * sizeof *x + 4);
	for (size_t i = 0; i < n; i++)
		x[i] = v;
	return x;
}

/* the step actually taken when x is moved by about h in fp32 */
static double fstep(float *x, double h)
{
	float old = *x;
	*x = (float)(old + h);
	return (double)*x - old;
}

/* ---- DANN ---- */

typedef struct {
	float *f, *W1, *b1, *W2, *b2;
	int32_t *dom;
	int n, C, H, D;
	float lambda, scale;
} dann_in;

static double dann_eval(const dann_in *d, float *dW1, float *db1, float *dW2, float *db2, float *df, double *acc)
{
	return tl_dann_loss(d->f, d->dom, d->n, d->C, d->H, d->D, d->W1, d->b1, d->W2, d->b2, d->lambda, d->scale,
			    dW1, db1, dW2, db2, df, acc);
}

/* scale * loss at the current inputs (gradients into scratch) */
static double dann_obj(const dann_in *d)
{
	size_t nc = (size_t)d->n * d->C;
	float *g1 = fill((size_t)d->H * d->C, 0), *g2 = fill(d->H, 0), *g3 = fill((size_t)d->D * d->H, 0),
	      *g4 = fill(d->D, 0), *g5 = fill(nc, 0);
	double l = dann_eval(d, g1, g2, g3, g4, g5, NULL);
	free(g1), free(g2), free(g3), free(g4), free(g5);
	return (double)d->scale * l;
}

/* central difference of scale * loss in x[i] */
static double dann_fd(const dann_in *d, float *x, size_t i)
{
	float old = x[i];
	double hp = fstep(&x[i], 1e-3);
	double lp = dann_obj(d);
	x[i] = old;
	double hm = -fstep(&x[i], -1e-3);
	double lm = dann_obj(d);
	x[i] = old;
	return (lp - lm) / (hp + hm);
}

static void fd_check(const char *what, double fd, double ana, double gmax)
{
	double e = fabs(fd - ana) / fmax(gmax, 1e-30);
	worst_fd = fmax(worst_fd, e);
	if (!(e <= FD_TOL))
		fprintf(stderr, "%s: fd %.9g analytic %.9g (err %.3g of max)\n", what, fd, ana, e);
	CHECK(e <= FD_TOL);
}

static void dann_case(int k)
{
	char p[32], nm[64];
	snprintf(p, sizeof p, "dann.%d.", k);
#define N(s) (snprintf(nm, sizeof nm, "%s%s", p, s), nm)
	dann_in d;
	d.f = bu_getf(N("f"), NULL);
	d.n = (int)dim(nm, 0);
	d.C = (int)dim(nm, 1);
	d.W1 = bu_getf(N("W1"), NULL);
	d.H = (int)dim(nm, 0);
	d.b1 = bu_getf(N("b1"), NULL);
	d.W2 = bu_getf(N("W2"), NULL);
	d.D = (int)dim(nm, 0);
	d.b2 = bu_getf(N("b2"), NULL);
	d.dom = bu_geti(N("dom"), NULL, NULL);
	d.lambda = (float)getd(N("lambda"));
	d.scale = (float)getd(N("scale"));
	size_t nc = (size_t)d.n * d.C, hc = (size_t)d.H * d.C, dh = (size_t)d.D * d.H;
	float *rdf = bu_getf(N("df"), NULL), *rdW1 = bu_getf(N("dW1"), NULL), *rdb1 = bu_getf(N("db1"), NULL),
	      *rdW2 = bu_getf(N("dW2"), NULL), *rdb2 = bu_getf(N("db2"), NULL);

	/* from zero against torch; df (ASSIGNED) starts at garbage */
	float *dW1 = fill(hc, 0), *db1 = fill(d.H, 0), *dW2 = fill(dh, 0), *db2 = fill(d.D, 0), *df = fill(nc, 7.0f);
	double acc = -1;
	double loss = dann_eval(&d, dW1, db1, dW2, db2, df, &acc);
	char what[64];
	snprintf(what, sizeof what, "dann %d (n %d C %d H %d D %d lambda %g)", k, d.n, d.C, d.H, d.D, d.lambda);
	check_loss(what, loss, getd(N("loss")));
	CHECK(acc == getd(N("acc")));
	check_grad("dann dW1", dW1, rdW1, hc);
	check_grad("dann db1", db1, rdb1, d.H);
	check_grad("dann dW2", dW2, rdW2, dh);
	check_grad("dann db2", db2, rdb2, d.D);
	if (d.lambda == 0) {
		/* no reversed gradient, and the discriminator still learns */
		CHECK(bu_max_abs(df, nc) == 0);
		CHECK(bu_max_abs(dW1, hc) > 0);
	} else {
		check_grad("dann df", df, rdf, nc);
	}

	/* bitwise determinism, and the discriminator's gradients do not
	 * depend on lambda */
	float *e1 = fill(hc, 0), *e2 = fill(d.H, 0), *e3 = fill(dh, 0), *e4 = fill(d.D, 0), *e5 = fill(nc, 0);
	/* e5 is df at lambda as given (g5 below); f5 at lambda 0.123 */
	float *f1 = fill(hc, 0), *f2 = fill(d.H, 0), *f3 = fill(dh, 0), *f4 = fill(d.D, 0), *f5 = fill(nc, 0);
	double l1 = dann_eval(&d, e1, e2, e3, e4, e5, NULL);
	float lam = d.lambda;
	d.lambda = 0.123f;
	double l2 = dann_eval(&d, f1, f2, f3, f4, f5, NULL);
	d.lambda = lam;
	CHECK(l1 == loss && l2 == loss);
	CHECK(memcmp(e1, f1, hc * sizeof *e1) == 0 && memcmp(e3, f3, dh * sizeof *e3) == 0);
	CHECK(memcmp(e2, f2, d.H * sizeof *e2) == 0 && memcmp(e4, f4, d.D * sizeof *e4) == 0);
	/* ADDED: a second call onto f1..f4 doubles them (2 round(x) + (x -
	 * round(x)) rounds to 2 round(x): exact); df the same bits again */
	float *g5 = fill(nc, 0);
	dann_eval(&d, f1, f2, f3, f4, g5, NULL);
	CHECK(memcmp(e5, g5, nc * sizeof *e5) == 0);
	int twice = 1;
	for (size_t i = 0; i < hc; i++)
		twice &= f1[i] == 2 * e1[i];
	for (size_t i = 0; i < dh; i++)
		twice &= f3[i] == 2 * e3[i];
	for (int i = 0; i < d.H; i++)
		twice &= f2[i] == 2 * e2[i];
	for (int i = 0; i < d.D; i++)
		twice &= f4[i] == 2 * e4[i];
	CHECK(twice);

	/* finite differences (cases 0, 1, 3): the reversal's sign on f (with
	 * lambda 0.123 so that it is never 0), and W1, b1, W2, b2 */
	if (k == 0 || k == 1 || k == 3) {
		d.lambda = 0.123f;
		double gf = bu_max_abs(f5, nc), g1 = bu_max_abs(e1, hc), g2 = bu_max_abs(e2, d.H),
		       g3 = bu_max_abs(e3, dh), g4 = bu_max_abs(e4, d.D);
		size_t fi[3] = {0, nc / 2 + 1, nc - 1}, wi[3] = {1, hc / 3, hc - 2};
		for (int j = 0; j < 3; j++) {
			double fd = dann_fd(&d, d.f, fi[j]);
			/* df = -lambda * d(scale loss)/df: fd == -df / lambda */
			fd_check("dann fd f (reversed)", fd, -f5[fi[j]] / d.lambda, gf / d.lambda);
			fd_check("dann fd W1", dann_fd(&d, d.W1, wi[j]), e1[wi[j]], g1);
		}
		fd_check("dann fd b1", dann_fd(&d, d.b1, (size_t)d.H / 2), e2[d.H / 2], g2);
		fd_check("dann fd W2", dann_fd(&d, d.W2, dh - 1), e3[dh - 1], g3);
		fd_check("dann fd b2", dann_fd(&d, d.b2, 1), e4[1], g4);
		d.lambda = lam;
	}

	if (k == 0) {
		/* n = 0: loss 0, nothing written */
		float *z1 = fill(hc, 0.5f);
		double a0 = -1;
		CHECK(tl_dann_loss(d.f, d.dom, 0, d.C, d.H, d.D, d.W1, d.b1, d.W2, d.b2, 1, 1, z1, db1, dW2, db2, df,
				   &a0) == 0);
		CHECK(a0 == 0 && z1[0] == 0.5f && z1[hc - 1] == 0.5f);
		/* a domain out of range, a NaN feature, D < 2: NaN; ADDED
		 * gradients untouched, df zeroed */
		memcpy(z1, dW1, hc * sizeof *z1);
		int32_t keep = d.dom[1];
		d.dom[1] = d.D;
		CHECK(isnan(dann_eval(&d, z1, db1, dW2, db2, df, NULL)));
		CHECK(memcmp(z1, dW1, hc * sizeof *z1) == 0 && bu_max_abs(df, nc) == 0);
		d.dom[1] = -1;
		CHECK(isnan(dann_eval(&d, z1, db1, dW2, db2, df, NULL)));
		d.dom[1] = keep;
		float fk = d.f[3];
		d.f[3] = NAN;
		df[0] = 3;
		CHECK(isnan(dann_eval(&d, z1, db1, dW2, db2, df, NULL)));
		CHECK(memcmp(z1, dW1, hc * sizeof *z1) == 0 && df[0] == 0);
		d.f[3] = INFINITY;
		CHECK(isnan(dann_eval(&d, z1, db1, dW2, db2, df, NULL)));
		d.f[3] = fk;
		d.D = 1;
		df[0] = 3;
		CHECK(isnan(dann_eval(&d, z1, db1, dW2, db2, df, NULL)));
		CHECK(df[0] == 0);
		d.D = 2;
		/* constant features (all rows equal): finite */
		float *cf = fill(nc, 0.3f), *cdf = fill(nc, 0);
		double cl = tl_dann_loss(cf, d.dom, d.n, d.C, d.H, d.D, d.W1, d.b1, d.W2, d.b2, 1, 1, z1, db1, dW2,
					 db2, cdf, NULL);
		CHECK(isfinite(cl) && cl > 0 && isfinite(bu_max_abs(cdf, nc)));
		free(cf), free(cdf), free(z1);
	}
#undef N
	free(e1), free(e2), free(e3), free(e4), free(e5), free(f1), free(f2), free(f3), free(f4), free(f5), free(g5);
	free(dW1), free(db1), free(dW2), free(db2), free(df);
	free(rdf), free(rdW1), free(rdb1), free(rdW2), free(rdb2);
	free(d.f), free(d.W1), free(d.b1), free(d.W2), free(d.b2), free(d.dom);
}

/* ---- CORAL and MMD ---- */

typedef struct {
	int mmd;
	float *fs, *ft, *mult;
	int ns, nt, C, nk;
	float scale;
	double base; /* MMD's finite differences: the base held fixed */
} pair_in;

static double pair_eval(const pair_in *q, float *dfs, float *dft)
{
	if (q->mmd)
		return tl_mmd_loss(q->fs, q->ns, q->ft, q->nt, q->C, q->mult, q->nk, q->scale, dfs, dft);
	return tl_coral_loss(q->fs, q->ns, q->ft, q->nt, q->C, q->scale, dfs, dft);
}

static double pair_obj(const pair_in *q)
{
	float *a = fill((size_t)q->ns * q->C, 0), *b = fill((size_t)q->nt * q->C, 0);
	/* MMD's gradient treats the base as a constant (torch's .detach()):
	 * differentiate the loss at the unperturbed batch's base */
	double l = q->mmd ? tl_mmd_loss_base(q->fs, q->ns, q->ft, q->nt, q->C, q->mult, q->nk, q->base, q->scale, a, b)
			  : pair_eval(q, a, b);
	free(a), free(b);
	return (double)q->scale * l;
}

static double pair_fd(const pair_in *q, float *x, size_t i)
{
	float old = x[i];
	double hp = fstep(&x[i], 1e-3);
	double lp = pair_obj(q);
	x[i] = old;
	double hm = -fstep(&x[i], -1e-3);
	double lm = pair_obj(q);
	x[i] = old;
	return (lp - lm) / (hp + hm);
}

static void pair_case(const char *kind, int k)
{
	char p[32], nm[64];
	snprintf(p, sizeof p, "%s.%d.", kind, k);
#define N(s) (snprintf(nm, sizeof nm, "%s%s", p, s), nm)
	pair_in q = {0};
	q.mmd = kind[0] == 'm';
	q.fs = bu_getf(N("fs"), NULL);
	q.ns = (int)dim(nm, 0);
	q.C = (int)dim(nm, 1);
	q.ft = bu_getf(N("ft"), NULL);
	q.nt = (int)dim(nm, 0);
	q.scale = (float)getd(N("scale"));
	if (tl_st_find(&bu_F, N("mult"))) {
		q.nk = (int)numel(nm);
		q.mult = bu_getf(nm, NULL);
	}
	size_t nsc = (size_t)q.ns * q.C, ntc = (size_t)q.nt * q.C;
	float *rs = bu_getf(N("dfs"), NULL), *rt = bu_getf(N("dft"), NULL);
	float *dfs = fill(nsc, 9), *dft = fill(ntc, 9); /* ASSIGNED: garbage before */
	double loss = pair_eval(&q, dfs, dft);
	char what[64];
	snprintf(what, sizeof what, "%s %d (ns %d nt %d C %d)", kind, k, q.ns, q.nt, q.C);
	check_loss(what, loss, getd(N("loss")));
	check_grad(q.mmd ? "mmd dfs" : "coral dfs", dfs, rs, nsc);
	check_grad(q.mmd ? "mmd dft" : "coral dft", dft, rt, ntc);
	float *a = fill(nsc, 0), *b = fill(ntc, 0);
	CHECK(pair_eval(&q, a, b) == loss && memcmp(a, dfs, nsc * sizeof *a) == 0 &&
	      memcmp(b, dft, ntc * sizeof *b) == 0);
	if (q.mmd) {
		q.base = tl_mmd_base(q.fs, q.ns, q.ft, q.nt, q.C);
		CHECK(q.base > 0);
		CHECK(tl_mmd_loss_base(q.fs, q.ns, q.ft, q.nt, q.C, q.mult, q.nk, q.base, q.scale, a, b) == loss &&
		      memcmp(a, dfs, nsc * sizeof *a) == 0 && memcmp(b, dft, ntc * sizeof *b) == 0);
	}
	/* finite differences on entries of both inputs (incl. CORAL case 1's
	 * constant features, columns 3 and 5) */
	double gs = bu_max_abs(dfs, nsc), gt = bu_max_abs(dft, ntc), gm = fmax(gs, gt);
	size_t si[4] = {0, (size_t)q.C + 3, nsc / 2 + 5, nsc - 1}, ti[4] = {1, (size_t)q.C + 5, ntc / 2, ntc - 1};
	for (int j = 0; j < 4; j++) {
		if (si[j] < nsc)
			fd_check(q.mmd ? "mmd fd fs" : "coral fd fs", pair_fd(&q, q.fs, si[j]), dfs[si[j]], gm);
		if (ti[j] < ntc)
			fd_check(q.mmd ? "mmd fd ft" : "coral fd ft", pair_fd(&q, q.ft, ti[j]), dft[ti[j]], gm);
	}
#undef N
	free(a), free(b), free(dfs), free(dft), free(rs), free(rt), free(q.fs), free(q.ft), free(q.mult);
}

static void edge_cases(void)
{
	enum { C = 6 };
	float s[4 * C], t[3 * C], ds[4 * C], dt[3 * C];
	for (int i = 0; i < 4 * C; i++)
		s[i] = (float)((i * 7) % 11) / 5 - 1;
	for (int i = 0; i < 3 * C; i++)
		t[i] = (float)((i * 5) % 13) / 4 - 1.5f;

	/* CORAL with fewer than 2 rows in a domain: 0, zero gradients */
	for (int i = 0; i < 4 * C; i++)
		ds[i] = 5;
	for (int i = 0; i < 3 * C; i++)
		dt[i] = 5;
	CHECK(tl_coral_loss(s, 1, t, 3, C, 1, ds, dt) == 0);
	CHECK(bu_max_abs(ds, C) == 0 && bu_max_abs(dt, 3 * C) == 0);
	CHECK(tl_coral_loss(s, 4, t, 0, C, 1, ds, NULL) == 0);
	/* constant features everywhere: loss 0, gradients 0, no NaN */
	float cs[4 * C], ct[3 * C];
	for (int i = 0; i < 4 * C; i++)
		cs[i] = 2.5f;
	for (int i = 0; i < 3 * C; i++)
		ct[i] = -1;
	CHECK(tl_coral_loss(cs, 4, ct, 3, C, 1, ds, dt) == 0);
	CHECK(bu_max_abs(ds, 4 * C) == 0 && bu_max_abs(dt, 3 * C) == 0);
	/* NaN: NaN, gradients zeroed */
	s[5] = NAN;
	dt[0] = 1;
	CHECK(isnan(tl_coral_loss(s, 4, t, 3, C, 1, ds, dt)));
	CHECK(bu_max_abs(ds, 4 * C) == 0 && dt[0] == 0);
	CHECK(isnan(tl_mmd_loss(s, 4, t, 3, C, NULL, 0, 1, ds, dt)));
	s[5] = 0.5f;

	/* MMD, all distances zero (every row equal): base floored, loss 0 */
	for (int i = 0; i < 3 * C; i++)
		ct[i] = 2.5f;
	double l = tl_mmd_loss(cs, 4, ct, 3, C, NULL, 0, 1, ds, dt);
	CHECK(isfinite(l) && fabs(l) <= 1e-12);
	CHECK(bu_max_abs(ds, 4 * C) == 0 && bu_max_abs(dt, 3 * C) == 0); /* pair differences: exact */
	/* the same rows in both domains: loss 0 */
	float ds2[4 * C];
	l = tl_mmd_loss(s, 4, s, 4, C, NULL, 0, 1, ds, ds2);
	CHECK(fabs(l) <= 1e-12);
	/* tl_mmd_base: the floor when every row is equal, NaN on NaN; a bad
	 * base given: NaN */
	CHECK(tl_mmd_base(cs, 4, ct, 3, C) == TL_MMD_BASE_FLOOR);
	CHECK(tl_mmd_base(cs, 1, ct, 0, C) == TL_MMD_BASE_FLOOR);
	CHECK(isnan(tl_mmd_loss_base(s, 4, t, 3, C, NULL, 0, 0, 1, ds, dt)));
	CHECK(isnan(tl_mmd_loss_base(s, 4, t, 3, C, NULL, 0, -1, 1, ds, dt)));
	/* an empty domain: 0, zero gradients */
	CHECK(tl_mmd_loss(s, 4, t, 0, C, NULL, 0, 1, ds, NULL) == 0 && bu_max_abs(ds, 4 * C) == 0);
	/* bad multipliers: NaN */
	float badm[2] = {1, 0};
	CHECK(isnan(tl_mmd_loss(s, 4, t, 3, C, badm, 2, 1, ds, dt)));
	CHECK(isnan(tl_mmd_loss(s, 4, t, 3, C, badm, 0, 1, ds, dt)));
	/* the default multipliers equal passing them explicitly */
	float defm[5] = {0.25f, 0.5f, 1, 2, 4};
	CHECK(tl_mmd_loss(s, 4, t, 3, C, defm, 5, 1, ds, dt) == tl_mmd_loss(s, 4, t, 3, C, NULL, 0, 1, ds, dt));

	/* the DANN schedule: tanh(gamma p / 2), clamped */
	CHECK(tl_dann_lambda(0, 10) == 0);
	CHECK_NEAR(tl_dann_lambda(0.1, 10), 0.46211715726000974, 1e-15);
	CHECK_NEAR(tl_dann_lambda(0.5, 10), 0.98661429815143031, 1e-15);
	CHECK_NEAR(tl_dann_lambda(1, 10), 0.99990920426259511, 1e-15);
	CHECK(tl_dann_lambda(-1, 10) == 0 && tl_dann_lambda(2, 10) == tl_dann_lambda(1, 10));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* one timing of the realistic size: 32 source + 32 target rows of 384 */
static void timing(void)
{
	enum { B = 32, C = 384, H = 384, D = 2 };
	float *f = fill(2 * B * C, 0), *W1 = fill((size_t)H * C, 0), *b1 = fill(H, 0.01f), *W2 = fill(D * H, 0),
	      *b2 = fill(D, 0), *dW1 = fill((size_t)H * C, 0), *db1 = fill(H, 0), *dW2 = fill(D * H, 0),
	      *db2 = fill(D, 0), *df = fill(2 * B * C, 0);
	int32_t dom[2 * B];
	for (int i = 0; i < 2 * B * C; i++)
		f[i] = sinf(i * 0.37f);
	for (int i = 0; i < H * C; i++)
		W1[i] = 0.05f * cosf(i * 0.11f);
	for (int i = 0; i < D * H; i++)
		W2[i] = 0.05f * sinf(i * 0.7f);
	for (int i = 0; i < 2 * B; i++)
		dom[i] = i >= B;
	/* the best of 3 (the first call also starts OpenBLAS) */
	double l1 = 0, l2 = 0, l3 = 0, best[3] = {1e9, 1e9, 1e9};
	for (int r = 0; r < 3; r++) {
		double t0 = now();
		l1 = tl_dann_loss(f, dom, 2 * B, C, H, D, W1, b1, W2, b2, 1, 1, dW1, db1, dW2, db2, df, NULL);
		double t1 = now();
		l2 = tl_coral_loss(f, B, f + B * C, B, C, 1, df, df + B * C);
		double t2 = now();
		l3 = tl_mmd_loss(f, B, f + B * C, B, C, NULL, 0, 1, df, df + B * C);
		double t3 = now();
		best[0] = fmin(best[0], t1 - t0);
		best[1] = fmin(best[1], t2 - t1);
		best[2] = fmin(best[2], t3 - t2);
	}
	CHECK(isfinite(l1) && isfinite(l2) && isfinite(l3));
	printf("timing (2 x %d x %d, H %d): dann %.2f ms, coral %.2f ms, mmd %.2f ms\n", B, C, H, best[0] * 1e3,
	       best[1] * 1e3, best[2] * 1e3);
	free(f), free(W1), free(b1), free(W2), free(b2), free(dW1), free(db1), free(dW2), free(db2), free(df);
}

int main(void)
{
	tl_init("test_domain");
	openblas_set_num_threads(1); /* as the tools run it (kernels/cpu/memory.c) */
	char err[512];
	if (tl_st_open(&bu_F, "tests/ref/domain.safetensors", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		TEST_REPORT("test_domain");
	}
	for (int k = 0; k < 5; k++)
		dann_case(k);
	for (int k = 0; k < 4; k++)
		pair_case("coral", k);
	for (int k = 0; k < 4; k++)
		pair_case("mmd", k);
	printf("worst error against torch: loss %.3g (bar %g), gradients %.3g (bar %g); finite differences %.3g (bar "
	       "%g)\n",
	       worst_loss, LOSS_TOL, worst_grad, GRAD_TOL, worst_fd, FD_TOL);
	edge_cases();
	timing();
	tl_st_close(&bu_F);
	TEST_REPORT("test_domain");
}
