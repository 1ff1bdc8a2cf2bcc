/* test_backward_token.c - the token-classification head (issue 22) against
 * PyTorch's BertForTokenClassification.
 *
 * Fixture tests/ref/tiny_token_grads.safetensors from
 * tests/ref/gen_token_grads.py: the tiny random BERT of tests/ref/tiny_bert
 * loaded as BertForTokenClassification (same weights, no pooler), one
 * padded batch with per-token labels (-100 ignored: [CLS], [SEP], padding,
 * non-first sub-tokens, one sentence with no labelled token), dropout off.
 * Checked: the logits of every real position (|c - t| <= 1e-5), the loss
 * (1e-5), the gradient of every parameter tensor with the bounds of
 * test_backward.c (max_i |c_i - t_i| / max_i |t_i| <= 1e-3; attention key
 * biases, exactly zero in theory, below 1e-5 of the largest gradient), the
 * pooler gets no gradient at all; then central finite differences of the
 * C loss (|num - ana| <= 2e-3 + 2e-2 |ana|, as test_backward.c) and the
 * all-ignored batch (loss 0, gradient 0); then the packed rows (issue
 * 22): the batch padded wider, with hidden/classifier dropout on, gives
 * the same loss and gradient bit for bit. */
#include "testhelp.h"

#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

#include "backward_util.h"

static double run_loss(tl_bert_train *t, const int32_t *ids, const int32_t *types, const int32_t *lens, int B,
		       int T, const int32_t *y)
{
	tl_bert_train_forward(t, ids, types, lens, B, T, 0, 0, 0);
	return tl_bert_train_token_loss(t, y, NULL, 0.0f, 1.0f);
}

int main(void)
{
	tl_init("test_backward_token");
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		TEST_REPORT("test_backward_token");
	}
	tl_bert_train t;
	tl_bert_train_init(&t, m, 3, 0, 0.02f, 1);
	t.token = 1;
	CHECK(t.m->cfg.nlabels == 3);
	CHECK(tl_st_open(&bu_F, "tests/ref/tiny_token_grads.safetensors", err, sizeof err) == 0);
	int64_t B, T;
	int32_t *ids = bu_geti("ids", &B, &T), *types = bu_geti("type_ids", NULL, NULL), *lens = bu_geti("lens", NULL, NULL);
	int32_t *y = bu_geti("labels", NULL, NULL);
	float *loss = bu_getf("loss", NULL), *rlog = bu_getf("logits", NULL);
	int K = 3;

	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0);
	double worst_l = 0;
	for (int b = 0; b < B; b++)
		for (int p = 0; p < lens[b]; p++)
			for (int c = 0; c < K; c++) {
				size_t j = ((size_t)b * T + p) * K + c;
				double d = fabs(t.a.logits[j] - rlog[j]);
				worst_l = d > worst_l ? d : worst_l;
			}
	CHECK(worst_l <= 1e-5);
	double l = tl_bert_train_token_loss(&t, y, NULL, 0.0f, 1.0f);
	CHECK_NEAR(l, loss[0], 1e-5);
	tl_bert_train_backward(&t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	/* transformers names the token model's encoder "bert." too */
	bu_grad_cmp gc = {.grad = "grad.", .zero = "pooler", .bound = 1e-3};
	bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
	double worst = gr.worst;
	int compared = gr.compared;
	CHECK_EQ_INT(compared, 5 + 2 * 16 + 2);
	printf("token head: logits max error %.2e, loss %.7f (torch %.7f), worst relative gradient error %.2e over %d "
	       "tensors\n",
	       worst_l, l, loss[0], worst, compared);

	/* finite differences on the C model */
	uint64_t s = 77;
	int bad = 0, checked = 0;
	for (size_t i = 0; i < nt; i++) {
		if (strstr(ts[i].name, "pooler"))
			continue;
		for (int r = 0; r < 3; r++) {
			size_t j = ts[i].off + (size_t)(tl_mix64(s++) % ts[i].n);
			if (i == 0) /* word embeddings: a row the batch uses */
				j = (size_t)ids[(tl_mix64(s++) % (uint64_t)lens[0])] * t.m->cfg.C + (size_t)r;
			float *w = t.m->arena + j, w0 = *w, h = 1e-2f;
			*w = w0 + h;
			tl_bert_train_weights_changed(&t); /* every writer of the arena says so */
			double lp = run_loss(&t, ids, types, lens, (int)B, (int)T, y);
			*w = w0 - h;
			tl_bert_train_weights_changed(&t);
			double lm = run_loss(&t, ids, types, lens, (int)B, (int)T, y);
			*w = w0;
			tl_bert_train_weights_changed(&t);
			double num = (lp - lm) / (2.0 * h), ana = t.grad_arena[j];
			checked++;
			if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana)) {
				bad++;
				fprintf(stderr, "finite difference %s[%zu]: numeric %.6g analytic %.6g\n", ts[i].name,
					j - ts[i].off, num, ana);
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(checked > 100);
	printf("token head finite differences: %d of %d entries agree\n", checked - bad, checked);

	/* every position ignored: loss 0, no gradient */
	int32_t *none = malloc((size_t)B * T * sizeof *none);
	for (size_t i = 0; i < (size_t)B * T; i++)
		none[i] = TL_IGNORE_LABEL;
	tl_bert_train_zero_grad(&t);
	CHECK(run_loss(&t, ids, types, lens, (int)B, (int)T, none) == 0.0);
	tl_bert_train_backward(&t, 0, 0, 0);
	CHECK(bu_max_abs(t.grad_arena, t.m->nparams) == 0.0);
	free(none);

	/* packed rows (issue 22): the same batch padded 5 positions wider,
	 * hidden and classifier dropout on (masks over the packed elements),
	 * attention dropout off (its masks index the padded [T, T] scores):
	 * the same loss and the same gradient bit for bit */
	{
		int T2 = (int)T + 5;
		size_t n2 = (size_t)B * T2;
		int32_t *ids2 = calloc(n2, sizeof *ids2), *ty2 = calloc(n2, sizeof *ty2), *y2 = malloc(n2 * sizeof *y2);
		for (size_t i = 0; i < n2; i++)
			y2[i] = TL_IGNORE_LABEL;
		for (int b = 0; b < B; b++)
			for (int p = 0; p < T; p++) {
				ids2[(size_t)b * T2 + p] = ids[b * T + p];
				ty2[(size_t)b * T2 + p] = types[b * T + p];
				y2[(size_t)b * T2 + p] = y[b * T + p];
			}
		t.p_att = 0.0f;
		size_t np = t.m->nparams;
		float *g1 = malloc(np * sizeof *g1);
		tl_bert_train_zero_grad(&t);
		tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 1, 7, 3);
		double l1 = tl_bert_train_token_loss(&t, y, NULL, 0.0f, 1.0f);
		tl_bert_train_backward(&t, 1, 7, 3);
		memcpy(g1, t.grad_arena, np * sizeof *g1);
		tl_bert_train_zero_grad(&t);
		tl_bert_train_forward(&t, ids2, ty2, lens, (int)B, T2, 1, 7, 3);
		double l2 = tl_bert_train_token_loss(&t, y2, NULL, 0.0f, 1.0f);
		tl_bert_train_backward(&t, 1, 7, 3);
		CHECK(l1 == l2);
		CHECK(memcmp(g1, t.grad_arena, np * sizeof *g1) == 0);
		CHECK(bu_max_abs(g1, np) > 0);
		printf("padding width: loss %.9g at T %d and %.9g at T %d\n", l1, (int)T, l2, T2);
		free(g1);
		free(ids2);
		free(ty2);
		free(y2);
	}

	free(ts);
	free(ids);
	free(types);
	free(lens);
	free(y);
	free(loss);
	free(rlog);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
	TEST_REPORT("test_backward_token");
}
