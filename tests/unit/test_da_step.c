/* test_da_step.c - the domain-adaptation step of tl-train -m bert
 * (lib/models/bert/bert_da.c, issue 18) on the tiny random BERT of
 * tests/ref/tiny_bert: how tl_da_loss combines the classification, source
 * and domain losses into the gradient one backward produces.
 *
 * One micro-batch of 8 records, 4 of domain 0 (the SRC stream, labelled)
 * and 4 of domain 1 (the training stream: 2 labelled, 2 without a label),
 * dropout off (the forward is a pure function of the weights). Checked:
 *  - CORAL weight W: the gradient is g(W) = g(0) + W g_coral, with g_coral
 *    the gradient of tl_coral_loss(pooled of domain 0, pooled of domain 1)
 *    through the encoder: (g(W) - g(0)) / W against central finite
 *    differences of that CORAL loss on entries of the pooler, an encoder
 *    layer and the word embeddings (|num - ana| <= 2e-3 max|ana| + 3e-2
 *    |ana|); the classifier's gradient is bit-identical for every W (CORAL
 *    acts on the pooled features, before the head), and g(W) is linear in
 *    W (g(2W) - g(0) = 2 (g(W) - g(0)) within 1e-4 of the largest entry).
 *  - MMD likewise (finite differences of tl_mmd_loss with its bandwidth
 *    held at the unperturbed batch's, as the analytic gradient treats it).
 *  - DANN: the encoder receives minus W lambda(p) times the gradient of
 *    the discriminator's loss (the gradient reversal): (g(W) - g(0)) on the
 *    encoder against -W lambda(p) times finite differences of the
 *    discriminator's loss; the discriminator's own gradient does not depend
 *    on W (bit-identical), and it is the gradient of its loss (finite
 *    differences on its entries; step 3e-3, same bounds).
 *  - The source weight: with W = 0 the classifier's gradient is L_train's
 *    gradient (mean over the 2 labelled target records) + lambda times
 *    L_source's (mean over the 4 source records), each computed on its own
 *    from a forward of those records alone (relative 1e-4): records
 *    without a label add nothing.
 */
#include "testhelp.h"

#include "lib/models/bert/bert_da.h"
#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/domain.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

/* finite-difference step and relative bound of the DANN checks (the ReLU
 * kinks of the discriminator want a small step; fp32 forward noise a large one) */
#define H_DANN 3e-3
#define TOL_DANN 3e-2
#define B 8
#define T 8
static int32_t ids[B * T], types[B * T], lens[B], y[B];
static float sw[B];
static size_t idx[B];

static tl_bert_train t;
static tl_da da;
static size_t NP;

/* the gradient of one step: tl_da_loss with domain weight W at progress p */
static double grads(float *g, double W, double p)
{
	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, ids, types, lens, B, T, 0, 0, 0);
	da.dw = W;
	double l = tl_da_loss(&da, &t, idx, B, y, sw, NULL, 0.0f, 1.0f, p);
	tl_bert_train_backward(&t, 0, 0, 0);
	memcpy(g, t.grad_arena, NP * sizeof *g);
	return l;
}

/* MMD: the bandwidth base held at the unperturbed weights' value (0: the
 * loss's own), as the analytic gradient treats it (a constant, .detach()) */
static double mmd_base0;

/* mean squared distance over the ordered pairs of distinct rows, floored (tl/domain.h) */
static double joint_base(const float *f, int n, int C)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if (i == j)
				continue;
			for (int c = 0; c < C; c++) {
				double d = (double)f[(size_t)i * C + c] - f[(size_t)j * C + c];
				s += d * d;
			}
		}
	s /= (double)n * (n - 1);
	return s < TL_MMD_BASE_FLOOR ? TL_MMD_BASE_FLOOR : s;
}

/* the domain loss alone at the current weights */
static double dom_loss(void)
{
	int C = t.m->cfg.C;
	tl_bert_train_forward(&t, ids, types, lens, B, T, 0, 0, 0);
	const float *f = tl_bert_train_pooled(&t);
	float *fs = malloc(sizeof(float) * B * C), *ft = malloc(sizeof(float) * B * C);
	float *gs = malloc(sizeof(float) * B * C), *gt = malloc(sizeof(float) * B * C);
	int ns = 0, nt = 0;
	for (int i = 0; i < B; i++)
		memcpy((da.dom[i] ? ft + (size_t)nt++ * C : fs + (size_t)ns++ * C), f + (size_t)i * C, sizeof(float) * C);
	double l = 0;
	if (da.method == TL_DA_CORAL)
		l = tl_coral_loss(fs, ns, ft, nt, C, 1.0f, gs, gt);
	else if (da.method == TL_DA_MMD) {
		double base = joint_base(f, B, C);
		if (mmd_base0 == 0)
			mmd_base0 = base;
		float mult[5] = {0.25f, 0.5f, 1.0f, 2.0f, 4.0f};
		for (int k = 0; k < 5; k++) /* base x mult = mmd_base0 x the default multiplier */
			mult[k] = (float)(mult[k] * mmd_base0 / base);
		l = tl_mmd_loss(fs, ns, ft, nt, C, mult, 5, 1.0f, gs, gt);
	}
	else {
		const tl_bert_params *P = &t.m->params;
		int H = t.m->cfg.disc_hidden, D = t.m->cfg.ndomains;
		float *z1 = calloc((size_t)H * C + H + (size_t)D * H + D, sizeof(float));
		float *df = malloc(sizeof(float) * B * C);
		int32_t dm[B];
		for (int i = 0; i < B; i++)
			dm[i] = da.dom[i];
		l = tl_dann_loss(f, dm, B, C, H, D, P->disc_w1, P->disc_b1, P->disc_w2, P->disc_b2, 1.0f, 1.0f, z1,
				 z1 + (size_t)H * C, z1 + (size_t)H * C + H, z1 + (size_t)H * C + H + (size_t)D * H, df, NULL);
		free(z1);
		free(df);
	}
	free(fs), free(ft), free(gs), free(gt);
	return l;
}

/* central finite difference of dom_loss in parameter arena entry j */
static double fd(size_t j, double h)
{
	float *w = t.m->arena + j, w0 = *w;
	*w = (float)(w0 + h);
	tl_bert_train_weights_changed(&t); /* every writer of the arena says so */
	double lp = dom_loss();
	*w = (float)(w0 - h);
	tl_bert_train_weights_changed(&t);
	double lm = dom_loss();
	*w = w0;
	tl_bert_train_weights_changed(&t);
	return (lp - lm) / (2 * h);
}

/* offset of tensor NAME's entry k */
static size_t off_of(const char *name, size_t k)
{
	size_t n;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &n);
	size_t o = (size_t)-1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ts[i].name, name))
			o = ts[i].off + k % ts[i].n;
	free(ts);
	if (o == (size_t)-1) {
		fprintf(stderr, "no tensor %s\n", name);
		exit(1);
	}
	return o;
}

/* (g1 - g0) / scale against finite differences at the entries of names */
static void check_fd(const char *const *names, int nn, const float *g0, const float *g1, double scale, double h,
		     double tol, const char *what)
{
	double ana[64], num[64], mx = 0;
	int k = 0;
	mmd_base0 = 0;
	dom_loss(); /* MMD: fixes mmd_base0 at the unperturbed weights */
	for (int a = 0; a < nn; a++)
		for (int e = 0; e < 6 && k < 64; e++, k++) {
			size_t j = off_of(names[a], (size_t)(37 * e + 5 * a + 1));
			ana[k] = ((double)g1[j] - (double)g0[j]) / scale;
			num[k] = fd(j, h);
			mx = fabs(ana[k]) > mx ? fabs(ana[k]) : mx;
		}
	int bad = 0;
	for (int i = 0; i < k; i++)
		if (fabs(num[i] - ana[i]) > 2e-3 * mx + tol * fabs(ana[i])) {
			bad++;
			fprintf(stderr, "%s: entry %d: analytic %.6g, numeric %.6g\n", what, i, ana[i], num[i]);
		}
	CHECK(mx > 0);
	CHECK(bad == 0);
	if (!bad)
		printf("%s: %d entries, largest |gradient| %.3g, finite differences agree\n", what, k, mx);
}

/* classifier rows/bias of g0 and g1 identical */
static int same_tensor(const char *name, const float *a, const float *b)
{
	size_t o = off_of(name, 0), n;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &n);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ts[i].name, name))
			len = ts[i].n;
	free(ts);
	return len > 0 && !memcmp(a + o, b + o, len * sizeof *a);
}

static double max_abs_diff_lin(const float *g0, const float *g1, const float *g2, double *mx)
{
	double e = 0;
	*mx = 0;
	for (size_t j = 0; j < NP; j++) {
		double a = (double)g1[j] - g0[j], b = (double)g2[j] - g0[j];
		e = fabs(b - 2 * a) > e ? fabs(b - 2 * a) : e;
		*mx = fabs(b) > *mx ? fabs(b) : *mx;
	}
	return e;
}

int main(void)
{
	tl_init("test_da_step");
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		TEST_REPORT("test_da_step");
	}
	tl_bert_train_init(&t, m, 2, 0, 0.02f, 1);
	t.p_hidden = t.p_att = t.p_cls = 0;
	/* the batch: records 0..3 SRC (domain 0, labelled), 4..7 training
	 * stream (domain 1; 4 and 5 labelled) */
	uint64_t s = 12345;
	for (int i = 0; i < B; i++) {
		lens[i] = 5 + i % 4;
		ids[i * T] = 2;
		for (int j = 1; j < lens[i] - 1; j++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			ids[i * T + j] = (int32_t)(i < 4 ? 5 + (s >> 33) % 20 : 20 + (s >> 33) % 20);
		}
		ids[i * T + lens[i] - 1] = 3;
		y[i] = i >= 6 ? TL_IGNORE_LABEL : i % 2;
		sw[i] = 1.0f;
		idx[i] = (size_t)i;
	}
	da.n = B;
	da.dom = malloc(B * sizeof *da.dom);
	da.lab = malloc(B);
	da.src = malloc(B);
	for (int i = 0; i < B; i++) {
		da.dom[i] = i >= 4;
		da.lab[i] = i < 6;
		da.src[i] = i < 4;
	}
	da.nd = 0; /* no names: tl_da_free frees none */
	da.sw = 1.0;

	/* ---- CORAL and MMD ---- */
	static const char *const enc[] = {"bert.pooler.dense.weight", "bert.encoder.layer.1.output.dense.weight",
					  "bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight"};
	for (int meth = TL_DA_CORAL; meth <= TL_DA_MMD; meth++) {
		da.method = meth;
		NP = t.m->nparams;
		float *g0 = malloc(NP * sizeof *g0), *g1 = malloc(NP * sizeof *g1), *g2 = malloc(NP * sizeof *g2);
		double W = meth == TL_DA_CORAL ? 1000.0 : 10.0;
		grads(g0, 0, 0.5);
		double l1 = grads(g1, W, 0.5);
		grads(g2, 2 * W, 0.5);
		CHECK(isfinite(l1));
		CHECK(same_tensor("classifier.weight", g0, g1) && same_tensor("classifier.bias", g0, g2));
		CHECK(!same_tensor("bert.pooler.dense.weight", g0, g1));
		double mx, e = max_abs_diff_lin(g0, g1, g2, &mx);
		printf("%s: linear in W: max |g(2W) - g(0) - 2 (g(W) - g(0))| = %.3g (largest %.3g)\n",
		       tl_da_method_name(meth), e, mx);
		CHECK(e <= 1e-4 * mx);
		check_fd(enc, 4, g0, g1, W, 1e-2, 3e-2, tl_da_method_name(meth));
		free(g0), free(g1), free(g2);
	}

	/* ---- DANN: the reversal ---- */
	CHECK(tl_bert_train_disc_init(&t, 8, 2, 0.2f, 7, err, sizeof err) == 0);
	da.method = TL_DA_DANN;
	NP = t.m->nparams;
	{
		float *g0 = malloc(NP * sizeof *g0), *g1 = malloc(NP * sizeof *g1);
		double p = 0.3, W = 2.0, lam = W * tl_dann_lambda(p, 10.0);
		grads(g0, 0, p);
		grads(g1, W, p);
		static const char *const disc[] = {"tl.domain.dense.weight", "tl.domain.dense.bias", "tl.domain.out.weight",
						   "tl.domain.out.bias"};
		int same = 1;
		for (int i = 0; i < 4; i++)
			same &= same_tensor(disc[i], g0, g1);
		CHECK(same); /* the discriminator learns the same whatever W */
		CHECK(same_tensor("classifier.weight", g0, g1));
		/* encoder: g(W) - g(0) = -W lambda(p) dL_d/dtheta */
		check_fd(enc, 4, g0, g1, -lam, H_DANN, TOL_DANN, "dann reversal (encoder)");
		/* discriminator: its gradient is that of its loss: g(0) - 0 against FD */
		float *zero = calloc(NP, sizeof *zero);
		check_fd(disc, 4, zero, g0, 1.0, H_DANN, TOL_DANN, "dann discriminator");
		free(zero);
		free(g0), free(g1);
	}

	/* ---- the source weight: L_train + lambda L_source, unlabelled rows add nothing ---- */
	{
		da.method = TL_DA_NONE;
		da.sw = 0.7;
		float *g = malloc(NP * sizeof *g);
		grads(g, 0, 0.5);
		size_t ow = off_of("classifier.weight", 0), ob = off_of("classifier.bias", 0);
		int K = 2, C = t.m->cfg.C;
		/* reference: each stream's labelled records on their own */
		double *ref = calloc((size_t)K * C + K, sizeof *ref);
		int groups[2][4] = {{0, 1, 2, 3}, {4, 5, -1, -1}};
		double wgt[2] = {0.7, 1.0};
		for (int gi = 0; gi < 2; gi++) {
			int n = gi ? 2 : 4;
			int32_t bi[4 * T], bt[4 * T], bl[4], by[4];
			for (int r = 0; r < n; r++) {
				int i = groups[gi][r];
				memcpy(bi + r * T, ids + i * T, T * sizeof *bi);
				memcpy(bt + r * T, types + i * T, T * sizeof *bt);
				bl[r] = lens[i];
				by[r] = y[i];
			}
			tl_bert_train_zero_grad(&t);
			tl_bert_train_forward(&t, bi, bt, bl, n, T, 0, 0, 0);
			tl_bert_train_loss(&t, by, NULL, NULL, NULL, 0.0f, 1.0f);
			tl_bert_train_backward(&t, 0, 0, 0);
			for (int c = 0; c < K * C; c++)
				ref[c] += wgt[gi] * t.grad_arena[ow + (size_t)c];
			for (int c = 0; c < K; c++)
				ref[K * C + c] += wgt[gi] * t.grad_arena[ob + (size_t)c];
		}
		double e = 0, mx = 0;
		for (int c = 0; c < K * C + K; c++) {
			double a = c < K * C ? g[ow + (size_t)c] : g[ob + (size_t)(c - K * C)];
			e = fabs(a - ref[c]) > e ? fabs(a - ref[c]) : e;
			mx = fabs(ref[c]) > mx ? fabs(ref[c]) : mx;
		}
		printf("source weight 0.7: classifier gradient vs per-stream references: max error %.3g (largest %.3g)\n", e, mx);
		CHECK(mx > 0);
		CHECK(e <= 1e-4 * mx);
		free(ref);
		free(g);
	}
	tl_da_free(&da);
	tl_bert_train_free(&t);
	TEST_REPORT("test_da_step");
}
