/* test_backward_mt.c - the multi-task heads list (issue 17) against
 * PyTorch: two heads on one encoder, a weighted sum of their losses.
 *
 * Fixture tests/ref/tiny_mt_grads.safetensors from tests/ref/gen_mt_grads.py:
 * the tiny random BERT of tests/ref/tiny_bert as BertModel (pooler kept),
 * head "a" (3 labels, softmax cross-entropy) and head "b" (2 labels,
 * multi-label, BCEWithLogitsLoss) as nn.Linear on the pooled output, one
 * batch per task, loss = 1.0 L_a + 0.5 L_b, dropout off. Here the heads
 * are rows 0..2 and 3..4 of the stacked classifier (tl/bert.h) and each
 * batch's loss goes through tl_bert_train_head_loss with its weight as
 * the scale, the gradients accumulating over the two backwards, as
 * tl-train's micro-batches do. Checked: each task's loss (1e-5); the
 * gradient of every parameter tensor, encoder and both heads, with the
 * bounds of test_backward.c (max_i |c_i - t_i| / max_i |t_i| <= 1e-3;
 * attention key biases, exactly zero in theory, below 1e-5 of the
 * largest gradient); a batch of task a leaves head b's rows at exactly 0;
 * central finite differences of the C weighted loss on entries of every
 * tensor (|num - ana| <= 2e-3 + 2e-2 |ana|, as test_backward.c). */
#include "testhelp.h"

#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

#include "backward_util.h"

typedef struct {
	int32_t *ids, *types, *lens, *y;
	float *ym;
	int64_t B, T;
} tbatch;

static tl_bert_head heads[2] = {{"a", 0, 3, 0}, {"b", 3, 2, 1}};
static const double W[2] = {1.0, 0.5};

/* forward of task h's batch and its weighted loss (gradient scaled by W[h]) */
static double task_loss(tl_bert_train *t, const tbatch *b, int h)
{
	tl_bert_train_forward(t, b->ids, b->types, b->lens, (int)b->B, (int)b->T, 0, 0, 0);
	return tl_bert_train_head_loss(t, &heads[h], b->y, b->ym, NULL, NULL, 0.0f, (float)W[h]);
}

/* bu_compare_grads' split: the classifier's rows are compared head by head
 * (reference grad.head.NAME.weight / .bias); ctx: the hidden size C */
static int head_parts(const tl_bert_tensor *ts, int p, char *ref, size_t refsz, size_t *off, size_t *n, void *ctx)
{
	if (strncmp(ts->name, "classifier.", 11))
		return 0;
	size_t row = !strcmp(ts->name, "classifier.weight") ? (size_t)*(const int *)ctx : 1;
	snprintf(ref, refsz, "head.%s.%s", heads[p].name, row > 1 ? "weight" : "bias");
	*off = (size_t)heads[p].k0 * row;
	*n = (size_t)heads[p].k * row;
	return 2;
}

static double total_loss(tl_bert_train *t, const tbatch *bt)
{
	return W[0] * task_loss(t, &bt[0], 0) + W[1] * task_loss(t, &bt[1], 1);
}

int main(void)
{
	tl_init("test_backward_mt");
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		TEST_REPORT("test_backward_mt");
	}
	tl_bert_train t;
	tl_bert_train_init(&t, m, 5, 0, 0.02f, 1); /* 3 + 2 stacked rows */
	CHECK(t.m->cfg.nlabels == 5);
	CHECK(tl_st_open(&bu_F, "tests/ref/tiny_mt_grads.safetensors", err, sizeof err) == 0);
	int C = t.m->cfg.C;
	tbatch bt[2] = {{0}};
	bt[0].ids = bu_geti("a.ids", &bt[0].B, &bt[0].T);
	bt[0].types = bu_geti("a.type_ids", NULL, NULL);
	bt[0].lens = bu_geti("a.lens", NULL, NULL);
	bt[0].y = bu_geti("a.y", NULL, NULL);
	bt[1].ids = bu_geti("b.ids", &bt[1].B, &bt[1].T);
	bt[1].types = bu_geti("b.type_ids", NULL, NULL);
	bt[1].lens = bu_geti("b.lens", NULL, NULL);
	bt[1].ym = bu_getf("b.y", NULL);
	/* the heads' weights into their rows */
	for (int h = 0; h < 2; h++) {
		char name[64];
		snprintf(name, sizeof name, "head.%s.weight", heads[h].name);
		float *w = bu_getf(name, NULL);
		memcpy(t.m->params.clsw + (size_t)heads[h].k0 * C, w, (size_t)heads[h].k * C * sizeof(float));
		free(w);
		snprintf(name, sizeof name, "head.%s.bias", heads[h].name);
		w = bu_getf(name, NULL);
		memcpy(t.m->params.clsb + heads[h].k0, w, (size_t)heads[h].k * sizeof(float));
		free(w);
	}
	float *la = bu_getf("loss.a", NULL), *lb = bu_getf("loss.b", NULL);

	/* task a alone: head b's rows get no gradient */
	tl_bert_train_zero_grad(&t);
	double l0 = task_loss(&t, &bt[0], 0);
	CHECK_NEAR(l0, la[0], 1e-5);
	tl_bert_train_backward(&t, 0, 0, 0);
	CHECK(bu_max_abs(t.grads.clsw + 3 * (size_t)C, 2 * (size_t)C) == 0.0);
	CHECK(bu_max_abs(t.grads.clsb + 3, 2) == 0.0);
	CHECK(bu_max_abs(t.grads.clsw, 3 * (size_t)C) > 0.0);
	/* then task b: the weighted sum's gradient */
	double l1 = task_loss(&t, &bt[1], 1);
	CHECK_NEAR(l1, lb[0], 1e-5);
	tl_bert_train_backward(&t, 0, 0, 0);

	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	bu_grad_cmp gc = {.grad = "grad.", .bound = 1e-3, .split = head_parts, .ctx = &C};
	bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
	double worst = gr.worst;
	int compared = gr.compared;
	/* embeddings 5, 2 layers x 16, pooler 2, two heads x 2 */
	CHECK_EQ_INT(compared, 5 + 2 * 16 + 2 + 4);
	printf("two heads: loss a %.7f (torch %.7f), loss b %.7f (torch %.7f), worst relative gradient error %.2e "
	       "over %d tensors\n",
	       l0, la[0], l1, lb[0], worst, compared);

	/* finite differences of the C weighted loss */
	uint64_t s = 1717;
	int bad = 0, checked = 0;
	for (size_t i = 0; i < nt; i++) {
		for (int r = 0; r < 4; r++) {
			size_t j = ts[i].off + (size_t)(tl_mix64(s++) % ts[i].n);
			if (i == 0) /* word embeddings: a row batch a uses */
				j = (size_t)bt[0].ids[(tl_mix64(s++) % (uint64_t)bt[0].lens[0])] * C + (size_t)r;
			if (!strcmp(ts[i].name, "classifier.weight") || !strcmp(ts[i].name, "classifier.bias"))
				/* both heads: rows of a (r even) and of b (r odd) */
				j = ts[i].off + (r & 1 ? 3 : 0) * (ts[i].n / 5) + (size_t)(tl_mix64(s++) % ((r & 1 ? 2 : 3) * (ts[i].n / 5)));
			float *w = t.m->arena + j, w0 = *w, h = 1e-2f;
			*w = w0 + h;
			tl_bert_train_weights_changed(&t); /* every writer of the arena says so */
			double lp = total_loss(&t, bt);
			*w = w0 - h;
			tl_bert_train_weights_changed(&t);
			double lm = total_loss(&t, bt);
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
	CHECK(checked > 150);
	printf("two heads finite differences: %d of %d entries agree\n", checked - bad, checked);

	free(ts);
	for (int i = 0; i < 2; i++) {
		free(bt[i].ids);
		free(bt[i].types);
		free(bt[i].lens);
		free(bt[i].y);
		free(bt[i].ym);
	}
	free(la);
	free(lb);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
	TEST_REPORT("test_backward_mt");
}
