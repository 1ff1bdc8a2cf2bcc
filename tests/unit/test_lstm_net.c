/* test_lstm_net.c - the LSTM network of lib/models/lstm (issue 19) against
 * PyTorch.
 *
 * Fixture tests/ref/lstm_net.safetensors from tests/ref/gen_lstm_net.py (a
 * float64 PyTorch reference of the same network: V=13, E=5, H=7, two
 * layers 5->7->5, head 4, 3 labels; dropout off):
 *   - the language model on a [2,6] window from a given state: the loss
 *     (|c - t| <= 1e-5), the final states of both layers, the gradient of
 *     every tensor (embedding tied to the decoder): max_i |c_i - t_i| /
 *     max_i |t_i| <= 1e-4 (the bar) per tensor;
 *   - the classifier (concat pooling, linear-ReLU-linear) on three
 *     sequences of lengths 6, 3, 1 padded to 6: pooled vectors and logits
 *     (1e-5), loss, every gradient (1e-4 relative);
 *   - central finite differences of both float losses on a few elements of
 *     every tensor: |num - ana| <= 2e-3 + 2e-2 |ana| (float32 differences
 *     with eps 1e-2: the bound of test_backward.c);
 *   - dropout on: two runs with the same seed and step give the same bits,
 *     another step other bits; with gradual unfreezing (lowest group 2) the
 *     embedding and the first layer get no gradient;
 *   - save and load keep every parameter bit for bit.
 */
#include "testhelp.h"

#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/lstm.h"
#include "tl/safetensors.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backward_util.h"

static const char *names[] = {"embedding.weight", "lstm.0.weight_ih", "lstm.0.weight_hh", "lstm.0.bias_ih",
			      "lstm.0.bias_hh", "lstm.1.weight_ih", "lstm.1.weight_hh", "lstm.1.bias_ih",
			      "lstm.1.bias_hh", "decoder.bias", "head.0.weight", "head.0.bias",
			      "head.1.weight", "head.1.bias"};
#define NNAMES (sizeof names / sizeof *names)

static void load_weights(tl_lstm *m)
{
	for (size_t i = 0; i < NNAMES; i++) {
		size_t n, nf;
		long off = tl_lstm_param_off(m, names[i], &n);
		if (off < 0)
			continue;
		float *v = bu_getf(names[i], &nf);
		CHECK_EQ_INT(nf, n);
		memcpy(m->arena + off, v, n * sizeof(float));
		free(v);
	}
}

static double worst_lm, worst_cls;

static void compare_grads(tl_lstm *m, const char *prefix, double *worst)
{
	for (size_t i = 0; i < NNAMES; i++) {
		size_t n, nf;
		long off = tl_lstm_param_off(m, names[i], &n);
		if (off < 0)
			continue;
		char nm[128];
		snprintf(nm, sizeof nm, "%s.grad.%s", prefix, names[i]);
		float *r = bu_getf(nm, &nf);
		CHECK_EQ_INT(nf, n);
		double e = bu_rel_err(m->grad + off, r, n);
		if (e > 1e-4)
			fprintf(stderr, "%s: relative error %.3g\n", nm, e);
		CHECK(e <= 1e-4);
		*worst = e > *worst ? e : *worst;
		free(r);
	}
}

/* LM loss from the fixture's state */
static int32_t *lm_ids, *lm_y;
static int lmB, lmT;
static float *lm_h0[2], *lm_c0[2];

static double lm_loss(tl_lstm *m, int train)
{
	tl_lstm_reset_state(m, lmB);
	for (int l = 0; l < 2; l++) {
		memcpy(m->h0[l], lm_h0[l], (size_t)lmB * m->out[l] * sizeof(float));
		memcpy(m->c0[l], lm_c0[l], (size_t)lmB * m->out[l] * sizeof(float));
	}
	return tl_lstm_lm_step(m, lm_ids, lm_y, lmB, lmT, train, 0, 0, 1.0f);
}

static int32_t *c_ids, *c_lens, *c_y;
static int cB, cT;

static double cls_loss(tl_lstm *m, int train, float *logits, float *vec)
{
	return tl_lstm_cls_step(m, c_ids, c_lens, c_y, cB, cT, train, 0, 0, 1.0f, logits, vec);
}

static void finite_diff(tl_lstm *m, int cls)
{
	float logits[64];
	memset(m->grad, 0, m->n * sizeof(float));
	if (cls)
		cls_loss(m, 1, logits, NULL);
	else
		lm_loss(m, 1);
	int bad = 0, tried = 0;
	for (size_t i = 0; i < NNAMES; i++) {
		size_t n;
		long off = tl_lstm_param_off(m, names[i], &n);
		if (off < 0)
			continue;
		size_t picks[3] = {0, n / 2, n - 1};
		for (int q = 0; q < 3; q++) {
			size_t j = (size_t)off + picks[q];
			float keep = m->arena[j], eps = 1e-2f;
			m->arena[j] = keep + eps;
			double lp = cls ? cls_loss(m, 0, logits, NULL) : lm_loss(m, 0);
			m->arena[j] = keep - eps;
			double lm = cls ? cls_loss(m, 0, logits, NULL) : lm_loss(m, 0);
			m->arena[j] = keep;
			double num = (lp - lm) / (2.0 * eps), ana = m->grad[j];
			tried++;
			if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana)) {
				bad++;
				fprintf(stderr, "%s %s[%zu]: numeric %.6g analytic %.6g\n", cls ? "cls" : "lm", names[i], picks[q],
					num, ana);
			}
		}
	}
	CHECK(tried > 20);
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	tl_init("test_lstm_net");
	char err[512];
	CHECK(tl_st_open(&bu_F, "tests/ref/lstm_net.safetensors", err, sizeof err) == 0);
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(1);

	/* ---- language model ---- */
	tl_lstm_cfg cfg = {.V = 13, .E = 5, .H = 7, .L = 2, .NL = 0};
	tl_lstm *m = tl_lstm_new(&cfg, k, 1, err, sizeof err);
	CHECK(m != NULL);
	if (!m)
		TEST_REPORT("test_lstm_net");
	load_weights(m);
	tl_lstm_train_init(m);
	int64_t B, T;
	lm_ids = bu_geti("lm.ids", &B, &T);
	lm_y = bu_geti("lm.y", NULL, NULL);
	lmB = (int)B;
	lmT = (int)T;
	for (int l = 0; l < 2; l++) {
		char nm[32];
		snprintf(nm, sizeof nm, "lm.h0.%d", l);
		lm_h0[l] = bu_getf(nm, NULL);
		snprintf(nm, sizeof nm, "lm.c0.%d", l);
		lm_c0[l] = bu_getf(nm, NULL);
	}
	float *rl = bu_getf("lm.loss", NULL);
	double l = lm_loss(m, 1);
	CHECK_NEAR(l, rl[0], 1e-5);
	for (int q = 0; q < 2; q++) {
		char nm[32];
		size_t n;
		snprintf(nm, sizeof nm, "lm.hT.%d", q);
		float *h = bu_getf(nm, &n);
		CHECK(bu_rel_err(m->h0[q], h, n) <= 1e-5);
		free(h);
		snprintf(nm, sizeof nm, "lm.cT.%d", q);
		float *c = bu_getf(nm, &n);
		CHECK(bu_rel_err(m->c0[q], c, n) <= 1e-5);
		free(c);
	}
	compare_grads(m, "lm", &worst_lm);
	finite_diff(m, 0);
	/* --precision bf16: the tied decoder's three products and every
	 * product of the LSTM layers (their bf16 handles exist after the step)
	 * on bf16 operands (each rounded to 8 significant bits, relative
	 * 2^-9) with fp32 sums: the loss within 1e-3 relative and every
	 * gradient within 2e-2 (max |diff| / max |ref| per tensor) of the fp32
	 * ones, and not their bits (the bf16 path was taken); the fp32 model
	 * is untouched */
	{
		memset(m->grad, 0, m->n * sizeof(float));
		double l32 = lm_loss(m, 1);
		float *g32 = tl_xmalloc(m->n * sizeof(float)), *a32 = tl_xmalloc(m->n * sizeof(float));
		memcpy(g32, m->grad, m->n * sizeof(float));
		memcpy(a32, m->arena, m->n * sizeof(float));
		m->prec = TL_PREC_BF16;
		memset(m->grad, 0, m->n * sizeof(float));
		double lb = lm_loss(m, 1);
		CHECK(fabs(lb - l32) <= 1e-3 * fabs(l32));
		CHECK(lb != l32);
		for (int l = 0; l < m->cfg.L; l++)
			CHECK(m->ih_pw[l] && m->hh_pw[l]);
		double wb = 0;
		for (size_t i = 0; i < NNAMES; i++) {
			size_t n;
			long off = tl_lstm_param_off(m, names[i], &n);
			if (off < 0)
				continue;
			double e = bu_rel_err(m->grad + off, g32 + off, n);
			wb = e > wb ? e : wb;
		}
		printf("bf16 decoder and layers: loss %.9f against fp32 %.9f, worst relative gradient difference %.3g (bound 2e-2)\n", lb,
		       l32, wb);
		CHECK(wb <= 2e-2);
		CHECK(memcmp(m->grad, g32, m->n * sizeof(float)) != 0);
		CHECK(memcmp(m->arena, a32, m->n * sizeof(float)) == 0);
		/* a second step re-rounds the handle from the weights: the same bits */
		memcpy(g32, m->grad, m->n * sizeof(float));
		memset(m->grad, 0, m->n * sizeof(float));
		CHECK(lm_loss(m, 1) == lb);
		CHECK(memcmp(m->grad, g32, m->n * sizeof(float)) == 0);
		m->prec = TL_PREC_FP32;
		free(g32);
		free(a32);
	}
	/* save + load: the same bits */
	{
		char tmpl[] = "/tmp/test_lstm_net.XXXXXX";
		char *d = mkdtemp(tmpl);
		CHECK(d != NULL);
		m->eos = 3;
		CHECK(tl_lstm_save(m, d, NULL, NULL) == 0);
		tl_lstm *m2 = tl_lstm_load(d, k, err, sizeof err);
		CHECK(m2 != NULL);
		if (m2) {
			CHECK_EQ_INT(m2->n, m->n);
			CHECK(memcmp(m2->arena, m->arena, m->n * sizeof(float)) == 0);
			CHECK_EQ_INT(m2->eos, 3);
			tl_lstm_free(m2);
		} else
			fprintf(stderr, "%s\n", err);
		tl_fs_rmtree(d);
	}
	tl_lstm_free(m);

	/* ---- classifier ---- */
	cfg.NL = 3;
	cfg.head = 4;
	m = tl_lstm_new(&cfg, k, 1, err, sizeof err);
	load_weights(m);
	tl_lstm_train_init(m);
	c_ids = bu_geti("cls.ids", &B, &T);
	c_lens = bu_geti("cls.lens", NULL, NULL);
	c_y = bu_geti("cls.y", NULL, NULL);
	cB = (int)B;
	cT = (int)T;
	float logits[9], vec[3 * 15];
	float *rlog = bu_getf("cls.logits", NULL), *rpool = bu_getf("cls.pool", NULL), *rcl = bu_getf("cls.loss", NULL);
	l = cls_loss(m, 1, logits, vec);
	CHECK_NEAR(l, rcl[0], 1e-5);
	CHECK(bu_rel_err(logits, rlog, 9) <= 1e-5);
	CHECK(bu_rel_err(vec, rpool, 45) <= 1e-5);
	compare_grads(m, "cls", &worst_cls);
	finite_diff(m, 1);

	/* ---- dropout: reproducible masks; gradual unfreezing ---- */
	m->cfg.p_emb = 0.1f;
	m->cfg.p_in = 0.2f;
	m->cfg.p_hid = 0.2f;
	m->cfg.p_out = 0.2f;
	m->cfg.p_w = 0.3f;
	m->cfg.p_head = 0.1f;
	float *g1 = malloc(m->n * sizeof(float));
	memset(m->grad, 0, m->n * sizeof(float));
	double d1 = tl_lstm_cls_step(m, c_ids, c_lens, c_y, cB, cT, 1, 7, 3, 1.0f, logits, NULL);
	memcpy(g1, m->grad, m->n * sizeof(float));
	memset(m->grad, 0, m->n * sizeof(float));
	double d2 = tl_lstm_cls_step(m, c_ids, c_lens, c_y, cB, cT, 1, 7, 3, 1.0f, logits, NULL);
	CHECK(d1 == d2);
	CHECK(memcmp(g1, m->grad, m->n * sizeof(float)) == 0);
	memset(m->grad, 0, m->n * sizeof(float));
	double d3 = tl_lstm_cls_step(m, c_ids, c_lens, c_y, cB, cT, 1, 7, 4, 1.0f, logits, NULL);
	CHECK(d3 != d1);
	CHECK(d1 != l); /* dropout changed something */
	m->lowest = 2; /* layer 1 and the head train; embedding and layer 0 frozen */
	memset(m->grad, 0, m->n * sizeof(float));
	tl_lstm_cls_step(m, c_ids, c_lens, c_y, cB, cT, 1, 7, 3, 1.0f, logits, NULL);
	{
		size_t n1;
		long o_emb = tl_lstm_param_off(m, "embedding.weight", &n1);
		long o_l1 = tl_lstm_param_off(m, "lstm.1.weight_ih", &n1);
		double s0 = 0, s1 = 0;
		for (long i = o_emb; i < o_l1; i++)
			s0 += fabs(m->grad[i]);
		for (size_t i = (size_t)o_l1; i < m->n; i++)
			s1 += fabs(m->grad[i]);
		CHECK(s0 == 0.0);
		CHECK(s1 > 0.0);
		/* the trained groups' gradient is the full pass's */
		CHECK(memcmp(m->grad + o_l1, g1 + o_l1, (m->n - (size_t)o_l1) * sizeof(float)) == 0);
	}
	free(g1);
	tl_lstm_free(m);
	free(lm_ids);
	free(lm_y);
	for (int q = 0; q < 2; q++) {
		free(lm_h0[q]);
		free(lm_c0[q]);
	}
	free(rl);
	free(c_ids);
	free(c_lens);
	free(c_y);
	free(rlog);
	free(rpool);
	free(rcl);
	printf("worst relative gradient error: LM %.3g, classifier %.3g (bound 1e-4)\n", worst_lm, worst_cls);
	tl_st_close(&bu_F);
	TEST_REPORT("test_lstm_net");
}
