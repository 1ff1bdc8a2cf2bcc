/* test_backward_kd.c - the distillation and pruning objectives of issue 17
 * (tl/bert_train.h: tl_bert_train_kd_loss, _kd_loss_ml,
 * _hidden_cos_loss, _head_grad_on) against PyTorch.
 *
 * Fixture tests/ref/tiny_kd_grads.safetensors from tests/ref/gen_kd_grads.py:
 * the tiny random BERT of tests/ref/tiny_bert and the batch of
 * tiny_grads.safetensors, dropout off, seeded teacher logits and hidden
 * states. Checked, with test_backward.c's bounds:
 *   - KD losses (single-label with hard labels, soft only, sample weights
 *     with an unlabelled record; multi-label with and without hard
 *     targets): |loss - torch| <= 1e-5 and the logits gradient
 *     max|c - t| / max|t| <= 1e-3;
 *   - the hidden-state cosine loss alone and added to the KD loss: loss
 *     (1e-5) and the gradient of every parameter tensor (<= 1e-3
 *     relative; attention key biases, exactly zero in theory, below 1e-5
 *     of the largest gradient);
 *   - the head-mask gradient dL/dm[L,NH] of the cross-entropy (<= 1e-3
 *     relative);
 *   - central finite differences of the C losses themselves (float model,
 *     h = 1e-2, |num - ana| <= 2e-3 + 2e-2 |ana| as test_backward.c):
 *     3 entries of every tensor for KD + cosine, the classifier for the
 *     other KD variants, and the head mask through the value projection
 *     (scaling head h's value weights and bias by 1 + e scales its context
 *     by 1 + e when attention dropout is off);
 *   - the same head-mask finite differences with dropout on (fixed seed
 *     and step), frozen layers left at 0, accumulation over backwards and
 *     zeroing by tl_bert_train_zero_grad;
 *   - the token head takes the hidden gradient exactly as the sequence
 *     head (same encoder gradient, none on the heads); gradients linear in
 *     scale; a second cosine call adds;
 *   - invalid T / alpha / head kinds: NAN and the logits gradient untouched;
 *     alpha = 0 is the plain cross-entropy; teacher == student gives 0;
 *   - all-MiniLM-L6-v2 (tests/ref/minilm_kd_grads.safetensors; skipped, and
 *     counted as skipped, only where make models has not run): the 6 x 12
 *     head-mask gradient, the KD loss and logits gradient, and the cosine
 *     loss against its own second-to-last hidden state with the gradient of
 *     every tensor (sampled entries and norms, test_backward.c's bars). */
#include "testhelp.h"

#include "backward_util.h"
#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int32_t *ids, *types, *lens, *y, *y_ign;
static float *ym, *teacher, *thid, *sw;
static float KT, alpha, weight;
static int B, T;

/* which loss a finite difference evaluates */
enum { L_KD, L_KDSOFT, L_KDSW, L_KDML, L_KDMLSOFT, L_HCOS, L_BOTH, L_CE };

static double run(tl_bert_train *t, int which)
{
	tl_bert_train_forward(t, ids, types, lens, B, T, 0, 0, 0);
	t->multi_label = which == L_KDML || which == L_KDMLSOFT;
	switch (which) {
	case L_KD: return tl_bert_train_kd_loss(t, teacher, KT, alpha, y, NULL, 1.0f);
	case L_KDSOFT: return tl_bert_train_kd_loss(t, teacher, KT, alpha, NULL, NULL, 1.0f);
	case L_KDSW: return tl_bert_train_kd_loss(t, teacher, KT, alpha, y_ign, sw, 1.0f);
	case L_KDML: return tl_bert_train_kd_loss_ml(t, teacher, KT, alpha, ym, NULL, 1.0f);
	case L_KDMLSOFT: return tl_bert_train_kd_loss(t, teacher, KT, alpha, NULL, NULL, 1.0f);
	case L_HCOS: return tl_bert_train_hidden_cos_loss(t, thid, weight, 1.0f);
	case L_BOTH:
		return tl_bert_train_kd_loss(t, teacher, KT, alpha, y, NULL, 1.0f) +
		       tl_bert_train_hidden_cos_loss(t, thid, weight, 1.0f);
	default: return tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	}
}

static int fd_bad(double num, double ana)
{
	return fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana);
}

/* central difference of loss `which` at arena entry j */
static double fd_at(tl_bert_train *t, int which, size_t j)
{
	float *w = t->m->arena + j, w0 = *w, h = 1e-2f;
	*w = w0 + h;
	tl_bert_train_weights_changed(t); /* every writer of the arena says so */
	double lp = run(t, which);
	*w = w0 - h;
	tl_bert_train_weights_changed(t);
	double lm = run(t, which);
	*w = w0;
	tl_bert_train_weights_changed(t);
	return (lp - lm) / (2.0 * h);
}

static void logits_cases(tl_bert_train *t)
{
	static const struct {
		const char *name;
		int which;
	} cs[] = {{"kd", L_KD}, {"kdsoft", L_KDSOFT}, {"kdsw", L_KDSW}, {"kdml", L_KDML}, {"kdmlsoft", L_KDMLSOFT}};
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t->m, &nt);
	const tl_bert_tensor *cw = &ts[nt - 2], *cb = &ts[nt - 1];
	CHECK(strcmp(cw->name, "classifier.weight") == 0);
	int K = t->m->cfg.nlabels;
	for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
		char name[64];
		snprintf(name, sizeof name, "%s.loss", cs[c].name);
		float *rl = bu_getf(name, NULL);
		snprintf(name, sizeof name, "%s.dlogits", cs[c].name);
		size_t n;
		float *rd = bu_getf(name, &n);
		CHECK_EQ_INT(n, (size_t)B * K);
		double l = run(t, cs[c].which);
		double e = bu_rel_err(t->a.dlogits, rd, n);
		CHECK_NEAR(l, rl[0], 1e-5);
		CHECK(e <= 1e-3);
		/* finite differences on the classifier (weight and bias) */
		tl_bert_train_zero_grad(t);
		run(t, cs[c].which);
		tl_bert_train_backward(t, 0, 0, 0);
		int bad = 0;
		for (int r = 0; r < 4; r++) {
			size_t j = r < 3 ? cw->off + (size_t)(5 * r + 3) % cw->n : cb->off + (size_t)(c % (size_t)K);
			double num = fd_at(t, cs[c].which, j), ana = t->grad_arena[j];
			if (fd_bad(num, ana)) {
				bad++;
				fprintf(stderr, "%s finite difference [%zu]: numeric %.6g analytic %.6g\n", cs[c].name, j,
					num, ana);
			}
		}
		CHECK_EQ_INT(bad, 0);
		printf("%-8s loss %.7f (torch %.7f), logits gradient relative error %.2e, classifier finite "
		       "differences %d/4\n",
		       cs[c].name, l, rl[0], e, 4 - bad);
		free(rl);
		free(rd);
	}
	free(ts);
	t->multi_label = 0;
}

static void invalid(tl_bert_train *t)
{
	int K = t->m->cfg.nlabels;
	size_t n = (size_t)B * K;
	run(t, L_KD);
	float *keep = malloc(n * sizeof(float));
	memcpy(keep, t->a.dlogits, n * sizeof(float));
	const float Ts[] = {0.0f, -1.0f, NAN, INFINITY};
	for (int i = 0; i < 4; i++) {
		CHECK(isnan(tl_bert_train_kd_loss(t, teacher, Ts[i], 0.5f, y, NULL, 1.0f)));
		t->multi_label = 1;
		CHECK(isnan(tl_bert_train_kd_loss_ml(t, teacher, Ts[i], 0.5f, ym, NULL, 1.0f)));
		t->multi_label = 0;
	}
	const float As[] = {-0.01f, 1.01f, NAN};
	for (int i = 0; i < 3; i++)
		CHECK(isnan(tl_bert_train_kd_loss(t, teacher, 2.0f, As[i], y, NULL, 1.0f)));
	CHECK(isnan(tl_bert_train_kd_loss_ml(t, teacher, 2.0f, 0.5f, ym, NULL, 1.0f))); /* single-label head */
	t->multi_label = 1;
	CHECK(isnan(tl_bert_train_kd_loss(t, teacher, 2.0f, 0.5f, y, NULL, 1.0f))); /* int labels, multi-label */
	t->multi_label = 0;
	t->token = 1;
	CHECK(isnan(tl_bert_train_kd_loss(t, teacher, 2.0f, 0.5f, y, NULL, 1.0f)));
	t->token = 0;
	CHECK(isnan(tl_bert_train_hidden_cos_loss(t, thid, NAN, 1.0f)));
	CHECK(t->dhid_set == 0);
	CHECK(memcmp(keep, t->a.dlogits, n * sizeof(float)) == 0);
	/* alpha at its ends: pure KD and pure CE */
	double l1 = tl_bert_train_kd_loss(t, teacher, KT, 0.0f, y, NULL, 1.0f);
	double l0 = tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	CHECK_NEAR(l1, l0, 1e-6);
	/* every record unlabelled: the hard term is 0 */
	int32_t none[64];
	for (int i = 0; i < B; i++)
		none[i] = TL_IGNORE_LABEL;
	CHECK_NEAR(tl_bert_train_kd_loss(t, teacher, KT, alpha, none, NULL, 1.0f),
		   tl_bert_train_kd_loss(t, teacher, KT, alpha, NULL, NULL, 1.0f), 1e-12);
	/* teacher == student at any T: KL 0, gradient 0 */
	float *same = malloc(n * sizeof(float));
	memcpy(same, t->a.logits, n * sizeof(float));
	CHECK_NEAR(tl_bert_train_kd_loss(t, same, 3.0f, 1.0f, NULL, NULL, 1.0f), 0.0, 1e-12);
	CHECK(bu_max_abs(t->a.dlogits, n) < 1e-7);
	free(same);
	free(keep);
}

/* the gradient of every parameter against PREFIX.grad.NAME */
static double param_case(tl_bert_train *t, const char *prefix, int which)
{
	char name[160];
	snprintf(name, sizeof name, "%s.loss", prefix);
	float *rl = bu_getf(name, NULL);
	tl_bert_train_zero_grad(t);
	double l = run(t, which);
	CHECK_NEAR(l, rl[0], 1e-5);
	CHECK(t->dhid_set == 1);
	tl_bert_train_backward(t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t->m, &nt);
	snprintf(name, sizeof name, "%s.grad.", prefix);
	bu_grad_cmp c = {.grad = name, .bound = 1e-3};
	double worst = bu_compare_grads(t->grad_arena, t->m->nparams, ts, nt, &c).worst;
	printf("%-8s loss %.7f (torch %.7f), worst relative gradient error %.2e over %zu tensors\n", prefix, l, rl[0],
	       worst, nt);
	free(ts);
	free(rl);
	return worst;
}

static void fd_all(tl_bert_train *t, int which, const char *what)
{
	tl_bert_train_zero_grad(t);
	run(t, which);
	tl_bert_train_backward(t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t->m, &nt);
	uint64_t s = 1717;
	int bad = 0, checked = 0;
	for (size_t i = 0; i < nt; i++)
		for (int r = 0; r < 3; r++) {
			size_t j = ts[i].off + (size_t)(tl_mix64(s++) % ts[i].n);
			if (i == 0) /* word embeddings: a row the batch uses */
				j = (size_t)ids[(tl_mix64(s++) % (uint64_t)lens[0])] * t->m->cfg.C + (size_t)r;
			double num = fd_at(t, which, j), ana = t->grad_arena[j];
			checked++;
			if (fd_bad(num, ana)) {
				bad++;
				fprintf(stderr, "%s finite difference %s[%zu]: numeric %.6g analytic %.6g\n", what,
					ts[i].name, j - ts[i].off, num, ana);
			}
		}
	CHECK_EQ_INT(bad, 0);
	CHECK(checked > 100);
	printf("%s finite differences: %d of %d entries agree\n", what, checked - bad, checked);
	free(ts);
}

static void head_mask(tl_bert_train *t)
{
	const tl_bert_config *c = &t->m->cfg;
	int L = c->L, NH = c->NH, C = c->C, hs = C / NH;
	size_t n;
	float *rg = bu_getf("head.grad", &n), *rl = bu_getf("head.loss", NULL);
	CHECK_EQ_INT(n, (size_t)L * NH);
	CHECK(t->head_grad == NULL);
	tl_bert_train_head_grad_on(t);
	tl_bert_train_head_grad_on(t); /* idempotent */
	CHECK(t->head_grad != NULL);
	tl_bert_train_zero_grad(t);
	double l = run(t, L_CE);
	CHECK_NEAR(l, rl[0], 1e-5);
	tl_bert_train_backward(t, 0, 0, 0);
	double e = bu_rel_err(t->head_grad, rg, n);
	CHECK(e <= 1e-3);
	/* accumulation: a second backward doubles it; zero_grad clears it */
	float *once = malloc(n * sizeof(float));
	memcpy(once, t->head_grad, n * sizeof(float));
	run(t, L_CE);
	tl_bert_train_backward(t, 0, 0, 0);
	int dbl = 1;
	for (size_t i = 0; i < n; i++)
		dbl &= fabsf(t->head_grad[i] - 2 * once[i]) <= 1e-6f * (1 + fabsf(once[i]));
	CHECK(dbl);
	tl_bert_train_zero_grad(t);
	CHECK(bu_max_abs(t->head_grad, n) == 0.0);

	/* finite differences: head h of layer l scaled by 1 + e through its value rows */
	tl_bert_train_zero_grad(t);
	run(t, L_CE);
	tl_bert_train_backward(t, 0, 0, 0);
	int bad = 0;
	double worst_id = 0;
	for (int l2 = 0; l2 < L; l2++)
		for (int h = 0; h < NH; h++) {
			float *vw = t->m->params.qkvw + ((size_t)l2 * 3 * C + 2 * C + (size_t)h * hs) * C;
			float *vb = t->m->params.qkvb + (size_t)l2 * 3 * C + 2 * C + (size_t)h * hs;
			float *gvw = t->grads.qkvw + ((size_t)l2 * 3 * C + 2 * C + (size_t)h * hs) * C;
			float *gvb = t->grads.qkvb + (size_t)l2 * 3 * C + 2 * C + (size_t)h * hs;
			size_t nw = (size_t)hs * C;
			float *w0 = malloc((nw + hs) * sizeof(float));
			memcpy(w0, vw, nw * sizeof(float));
			memcpy(w0 + nw, vb, hs * sizeof(float));
			/* identity: dL/dm = sum over the value rows of w dL/dw */
			double id = 0;
			for (size_t i = 0; i < nw; i++)
				id += (double)vw[i] * gvw[i];
			for (int i = 0; i < hs; i++)
				id += (double)vb[i] * gvb[i];
			double lpm[2];
			const double eps = 1e-2;
			for (int sgn = 0; sgn < 2; sgn++) {
				float f = (float)(1.0 + (sgn ? -eps : eps));
				for (size_t i = 0; i < nw; i++)
					vw[i] = w0[i] * f;
				for (int i = 0; i < hs; i++)
					vb[i] = w0[nw + i] * f;
				lpm[sgn] = run(t, L_CE);
			}
			memcpy(vw, w0, nw * sizeof(float));
			memcpy(vb, w0 + nw, hs * sizeof(float));
			free(w0);
			double num = (lpm[0] - lpm[1]) / (2 * eps), ana = t->head_grad[l2 * NH + h];
			double di = fabs(id - ana) / (fabs(ana) + 1e-6);
			worst_id = di > worst_id ? di : worst_id;
			if (fd_bad(num, ana)) {
				bad++;
				fprintf(stderr, "head mask finite difference [%d,%d]: numeric %.6g analytic %.6g\n", l2, h,
					num, ana);
			}
		}
	CHECK_EQ_INT(bad, 0);
	CHECK(worst_id <= 1e-3);
	printf("head mask: loss %.7f (torch %.7f), gradient relative error %.2e (torch head_mask, %zu heads), "
	       "finite differences %d/%zu, value-row identity %.2e\n",
	       l, rl[0], e, n, (int)n - bad, n, worst_id);
	free(once);
	free(rg);
	free(rl);
}

/* Dropout on (train = 1, fixed seed and step: the same masks in every
 * forward): the head-mask gradient against finite differences through the
 * value rows (dropout is linear, so the scaling argument still holds). */
static void head_mask_train(tl_bert_train *t)
{
	const tl_bert_config *c = &t->m->cfg;
	int L = c->L, NH = c->NH, C = c->C, hs = C / NH, bad = 0;
	tl_bert_train_zero_grad(t);
	tl_bert_train_forward(t, ids, types, lens, B, T, 1, 42, 7);
	tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	tl_bert_train_backward(t, 1, 42, 7);
	for (int l = 0; l < L; l++)
		for (int h = 0; h < NH; h++) {
			float *vw = t->m->params.qkvw + ((size_t)l * 3 * C + 2 * C + (size_t)h * hs) * C;
			float *vb = t->m->params.qkvb + (size_t)l * 3 * C + 2 * C + (size_t)h * hs;
			size_t nw = (size_t)hs * C;
			float *w0 = malloc((nw + hs) * sizeof(float));
			memcpy(w0, vw, nw * sizeof(float));
			memcpy(w0 + nw, vb, hs * sizeof(float));
			double lpm[2];
			for (int sgn = 0; sgn < 2; sgn++) {
				float f = sgn ? 0.99f : 1.01f;
				for (size_t i = 0; i < nw; i++)
					vw[i] = w0[i] * f;
				for (int i = 0; i < hs; i++)
					vb[i] = w0[nw + i] * f;
				tl_bert_train_forward(t, ids, types, lens, B, T, 1, 42, 7);
				lpm[sgn] = tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
			}
			memcpy(vw, w0, nw * sizeof(float));
			memcpy(vb, w0 + nw, hs * sizeof(float));
			free(w0);
			double num = (lpm[0] - lpm[1]) / 0.02, ana = t->head_grad[l * NH + h];
			if (fd_bad(num, ana)) {
				bad++;
				fprintf(stderr, "head mask (dropout) finite difference [%d,%d]: numeric %.6g analytic %.6g\n",
					l, h, num, ana);
			}
		}
	CHECK_EQ_INT(bad, 0);
	printf("head mask with dropout: finite differences %d/%d\n", L * NH - bad, L * NH);
	/* frozen layers are not traversed: their entries stay 0 */
	t->freeze_below = 1;
	tl_bert_train_zero_grad(t);
	run(t, L_CE);
	tl_bert_train_backward(t, 0, 0, 0);
	CHECK(bu_max_abs(t->head_grad, (size_t)NH) == 0.0);
	CHECK(bu_max_abs(t->head_grad + NH, (size_t)(L - 1) * NH) > 0.0);
	t->freeze_below = -1;
}

/* The token head (t->token) takes the hidden gradient too: with the cosine
 * loss alone, the encoder gradient equals the sequence head's (checked
 * against PyTorch above) and the heads get none. Then scale: the logits
 * and hidden gradients are linear in it. */
static void token_and_scale(tl_bert_train *t)
{
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t->m, &nt);
	tl_bert_train_zero_grad(t);
	run(t, L_HCOS);
	tl_bert_train_backward(t, 0, 0, 0);
	size_t enc = ts[nt - 4].off; /* pooler onwards are heads */
	float *seq = malloc(enc * sizeof(float));
	memcpy(seq, t->grad_arena, enc * sizeof(float));
	t->token = 1;
	tl_bert_train_zero_grad(t);
	double l = run(t, L_HCOS);
	tl_bert_train_backward(t, 0, 0, 0);
	CHECK(isfinite(l) && l > 0);
	CHECK(bu_rel_err(t->grad_arena, seq, enc) <= 1e-6);
	CHECK(bu_max_abs(t->grad_arena + enc, t->m->nparams - enc) == 0.0);
	t->token = 0;
	/* scale */
	int K = t->m->cfg.nlabels;
	size_t n = (size_t)B * K, nh = (size_t)B * T * t->m->cfg.C;
	run(t, L_KD);
	float *d1 = malloc(n * sizeof(float)), *h1 = malloc(nh * sizeof(float));
	memcpy(d1, t->a.dlogits, n * sizeof(float));
	double l1 = tl_bert_train_hidden_cos_loss(t, thid, weight, 1.0f);
	memcpy(h1, t->a.dhid, nh * sizeof(float));
	double l2 = tl_bert_train_kd_loss(t, teacher, KT, alpha, y, NULL, 0.25f);
	CHECK_NEAR(l2, tl_bert_train_kd_loss(t, teacher, KT, alpha, y, NULL, 1.0f), 0.0);
	tl_bert_train_kd_loss(t, teacher, KT, alpha, y, NULL, 0.25f);
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= fabsf(t->a.dlogits[i] - 0.25f * d1[i]) <= 1e-7f * (1 + fabsf(d1[i]));
	CHECK(ok);
	/* a second cosine call adds: (1 + 0.25) times the first */
	double l3 = tl_bert_train_hidden_cos_loss(t, thid, weight, 0.25f);
	CHECK_NEAR(l3, l1, 1e-12);
	ok = 1;
	for (size_t i = 0; i < nh; i++)
		ok &= fabsf(t->a.dhid[i] - 1.25f * h1[i]) <= 1e-6f * (1 + fabsf(h1[i]));
	CHECK(ok);
	free(d1);
	free(h1);
	free(seq);
	free(ts);
}

/* all-MiniLM-L6-v2 (skipped, and counted as skipped, only where make
 * models has not run): the head-mask gradient of its 6 x 12 heads, the KD
 * logits gradient and the cosine loss against its own second-to-last
 * hidden state, gradient sampled as test_backward.c's minilm(). */
static void minilm(void)
{
	const char *dir = getenv("TL_TEST_MINILM");
	if (!dir) {
		dir = "models/all-MiniLM-L6-v2";
		if (access("models/all-MiniLM-L6-v2/model.safetensors", F_OK) != 0) {
			TEST_SKIP("minilm kd/head-mask gradients: %s not installed (make models)", dir);
			return;
		}
	}
	char err[512];
	tl_bert *m = tl_bert_load(dir, NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	tl_bert_train t;
	tl_bert_train_init(&t, m, 2, 0, 0.02f, 1);
	int C = t.m->cfg.C, L = t.m->cfg.L, NH = t.m->cfg.NH;
	CHECK(tl_st_open(&bu_F, "tests/ref/minilm_grads.safetensors", err, sizeof err) == 0);
	float *cw = bu_getf("head.classifier.weight", NULL), *cb = bu_getf("head.classifier.bias", NULL);
	memcpy(t.m->params.clsw, cw, sizeof(float) * 2 * C);
	memcpy(t.m->params.clsb, cb, sizeof(float) * 2);
	int64_t B_, T_;
	int32_t *mids = bu_geti("ids", &B_, &T_), *mlens = bu_geti("lens", NULL, NULL);
	int32_t *my = bu_geti("labels", NULL, NULL);
	tl_st_close(&bu_F);
	int Bm = (int)B_, Tm = (int)T_;
	size_t BT = (size_t)Bm * Tm;
	CHECK(tl_st_open(&bu_F, "tests/ref/minilm_kd_grads.safetensors", err, sizeof err) == 0);

	/* head mask */
	size_t n;
	float *rg = bu_getf("head.grad", &n), *rl = bu_getf("head.loss", NULL);
	CHECK_EQ_INT(n, (size_t)L * NH);
	tl_bert_train_head_grad_on(&t);
	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, mids, NULL, mlens, Bm, Tm, 0, 0, 0);
	double l = tl_bert_train_loss(&t, my, NULL, NULL, NULL, 0.0f, 1.0f);
	CHECK_NEAR(l, rl[0], 1e-5);
	tl_bert_train_backward(&t, 0, 0, 0);
	double eh = bu_rel_err(t.head_grad, rg, n);
	CHECK(eh <= 1e-3);
	free(rg);
	free(rl);

	/* KD */
	float *te = bu_getf("teacher", NULL), *rd = bu_getf("kd.dlogits", &n);
	rl = bu_getf("kd.loss", NULL);
	double lk = tl_bert_train_kd_loss(&t, te, 2.0f, 0.5f, my, NULL, 1.0f), lk_ref = rl[0];
	CHECK_NEAR(lk, lk_ref, 1e-5);
	double ek = bu_rel_err(t.a.dlogits, rd, n);
	CHECK(ek <= 1e-3);
	free(te);
	free(rd);
	free(rl);

	/* cosine against the second-to-last hidden state */
	rl = bu_getf("hcos.loss", NULL);
	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, mids, NULL, mlens, Bm, Tm, 0, 0, 0);
	float *th = calloc(BT * C, sizeof(float));
	/* the layer's rows are packed (t.poff, t.plen); the teacher is padded */
	for (int b = 0; b < t.B; b++)
		memcpy(th + (size_t)b * t.T * C, t.a.ln2 + (size_t)(L - 2) * BT * C + (size_t)t.poff[b] * C,
		       (size_t)t.plen[b] * C * sizeof(float));
	double lc = tl_bert_train_hidden_cos_loss(&t, th, 1.0f, 1.0f);
	CHECK_NEAR(lc, rl[0], 1e-5);
	tl_bert_train_backward(&t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	bu_grad_cmp c = {.grad = "hcos.grad.", .idx = "hcos.idx.", .norm = "hcos.norm.", .label = "minilm hcos",
			 .bound = 1e-3};
	bu_grad_res r = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &c);
	double worst = r.worst, worstn = r.worstn;
	printf("minilm: head mask (%d x %d) relative error %.2e; kd loss %.7f (torch %.7f), logits gradient %.2e; "
	       "cosine loss %.7f (torch %.7f), worst relative gradient error %.2e, norm error %.2e over %zu tensors\n",
	       L, NH, eh, lk, lk_ref, ek, lc, rl[0], worst, worstn, nt);
	free(rl);
	free(ts);
	free(th);
	free(cw);
	free(cb);
	free(mids);
	free(mlens);
	free(my);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
}

int main(void)
{
	tl_init("test_backward_kd");
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		TEST_REPORT("test_backward_kd");
	}
	tl_st_file W;
	CHECK(tl_st_open(&W, "tests/ref/tiny_bert/model.safetensors", err, sizeof err) == 0);
	tl_bert_train t;
	tl_bert_train_init(&t, m, 3, 0, 0.02f, 1);
	CHECK(tl_st_read_f32(&W, tl_st_find(&W, "classifier.weight"), t.m->params.clsw, err, sizeof err) == 0);
	CHECK(tl_st_read_f32(&W, tl_st_find(&W, "classifier.bias"), t.m->params.clsb, err, sizeof err) == 0);
	tl_st_close(&W);

	CHECK(tl_st_open(&bu_F, "tests/ref/tiny_kd_grads.safetensors", err, sizeof err) == 0);
	int64_t B_, T_;
	ids = bu_geti("ids", &B_, &T_);
	B = (int)B_, T = (int)T_;
	types = bu_geti("type_ids", NULL, NULL);
	lens = bu_geti("lens", NULL, NULL);
	y = bu_geti("labels", NULL, NULL);
	y_ign = bu_geti("labels", NULL, NULL);
	y_ign[1] = TL_IGNORE_LABEL; /* as the generator */
	ym = bu_getf("mlabels", NULL);
	teacher = bu_getf("teacher", NULL);
	thid = bu_getf("teacher_hidden", NULL);
	sw = bu_getf("sw", NULL);
	float *f = bu_getf("T", NULL);
	KT = f[0];
	free(f);
	f = bu_getf("alpha", NULL);
	alpha = f[0];
	free(f);
	f = bu_getf("weight", NULL);
	weight = f[0];
	free(f);

	logits_cases(&t);
	invalid(&t);
	param_case(&t, "hcos", L_HCOS);
	param_case(&t, "both", L_BOTH);
	/* a forward clears the hidden gradient */
	run(&t, L_CE);
	CHECK(t.dhid_set == 0);
	fd_all(&t, L_BOTH, "kd + cosine");
	fd_all(&t, L_HCOS, "cosine");
	token_and_scale(&t);
	head_mask(&t);
	head_mask_train(&t);

	free(ids);
	free(types);
	free(lens);
	free(y);
	free(y_ign);
	free(ym);
	free(teacher);
	free(thid);
	free(sw);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
	minilm();
	TEST_REPORT("test_backward_kd");
}
