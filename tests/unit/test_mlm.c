/* test_mlm.c - the masked-LM head, the pooled-feature gradient hook, the
 * optional arena slots and BERT masking (issue 18) against PyTorch.
 *
 * Fixtures from tests/ref/gen_mlm.py:
 *   - tests/ref/tiny_mlm: the tiny random BERT (2 layers, C 16, V 40) as a
 *     BertForMaskedLM with a random head; tiny_mlm_grads.safetensors: one
 *     padded batch with masked inputs and labels (-100 elsewhere; one
 *     sequence without a labelled position), dropout off:
 *       the loss of tl_bert_train_mlm_loss equals BertForMaskedLM(labels=)
 *       .loss within 1e-5 relative; the logits of the labelled positions
 *       within 1e-5 absolute; the gradient of every parameter (the tied
 *       word embeddings carry the embedding and the decoder gradient;
 *       cls.predictions.*) within test_backward.c's bar: max_i |c_i - t_i|
 *       / max_i |t_i| <= 1e-3 (attention key biases, exactly 0 in theory:
 *       below 1e-5 of the largest gradient); the pooler gets none;
 *       central finite differences of the C loss (|num - ana| <= 2e-3 +
 *       2e-2 |ana|, as test_backward.c) on entries of every MLM tensor,
 *       of wte (rows used and unused by the batch: the decoder reaches
 *       every row) and of the encoder;
 *       the names tl_bert_train_tensors gives the model equal the list the
 *       generator loaded into transformers' BertForMaskedLM with no
 *       missing, unexpected or mismatched key (tiny_mlm/tl_names.txt), with
 *       the shapes; a save under those names loads back bit for bit.
 *     And the pooled hook on the tiny BertModel: pooled output within
 *     1e-5, the gradient of sum(pooled * R) through
 *     tl_bert_train_add_pooled_grad (two calls of 0.5: accumulation) for
 *     the pooler and the encoder within 1e-3 relative, the classifier 0.
 *   - all-MiniLM-L6-v2 (skipped where `make models` has not run):
 *     minilm_mlm_grads.safetensors, 8 SST-2 sentences 15% masked with
 *     transformers' fresh head: loss within 1e-5 relative, 256 sampled
 *     entries of each large gradient and every small one within 1e-3
 *     relative, every tensor's gradient norm within 1e-3 relative.
 *   - tl_mlm_mask: statistics over 20,000 sequences (chosen fraction p =
 *     0.15 within 0.005; of the chosen, [MASK] 0.8, random 0.1, kept 0.1
 *     within 0.01), specials never chosen, at least one per sequence,
 *     whole words chosen together, determinism from (seed, stream), bad
 *     arguments. */
#include "testhelp.h"

#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/mlm.h"
#include "tl/rng.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backward_util.h"

static double mlm_run(tl_bert_train *t, const int32_t *ids, const int32_t *types, const int32_t *lens, int B,
		      int T, const int32_t *y)
{
	tl_bert_train_forward(t, ids, types, lens, B, T, 0, 0, 0);
	return tl_bert_train_mlm_loss(t, y, 1.0f, NULL);
}

static void tiny_mlm(void)
{
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_mlm", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ_INT(m->cfg.mlm, 1);
	CHECK_EQ_INT(m->has_pooler, 0);
	CHECK_EQ_INT(m->cfg.nlabels, 0);
	CHECK(tl_st_open(&bu_F, "tests/ref/tiny_mlm_grads.safetensors", err, sizeof err) == 0);

	/* names: what transformers loaded as BertForMaskedLM with no missing weights */
	{
		size_t nt;
		tl_bert_tensor *ts = tl_bert_train_tensors(m, &nt);
		FILE *fn = fopen("tests/ref/tiny_mlm/tl_names.txt", "r");
		CHECK(fn != NULL);
		char line[200];
		size_t i = 0;
		int same = 1;
		while (fn && fgets(line, sizeof line, fn)) {
			line[strcspn(line, "\n")] = 0;
			same &= i < nt && !strcmp(line, ts[i].name) && !ts[i].ckpt_only;
			i++;
		}
		if (fn)
			fclose(fn);
		CHECK(same);
		CHECK_EQ_INT(i, nt);
		/* shapes as in the checkpoint transformers wrote */
		tl_st_file F;
		CHECK(tl_st_open(&F, "tests/ref/tiny_mlm/model.safetensors", err, sizeof err) == 0);
		int shapes = 0;
		for (i = 0; i < nt; i++) {
			const tl_st_tensor *st = tl_st_find(&F, ts[i].name);
			shapes += st && st->ndim == ts[i].ndim && st->shape[0] == ts[i].shape[0] &&
				  (ts[i].ndim == 1 || st->shape[1] == ts[i].shape[1]);
		}
		CHECK_EQ_INT(shapes, nt);
		tl_st_close(&F);
		free(ts);
	}

	tl_bert_train t;
	/* a BertForMaskedLM has no pooler: init rebuilds the arena with one
	 * and must keep the MLM head */
	float head0 = m->params.mlm_bias[3];
	tl_bert_train_init(&t, m, 0, 0, 0.02f, 1);
	CHECK(t.m->has_pooler && t.m->cfg.mlm);
	CHECK(t.m->params.mlm_bias[3] == head0);
	CHECK(tl_bert_train_mlm_init(&t, 0.02f, 9, err, sizeof err) == 0); /* keeps the checkpoint's */
	CHECK(t.m->params.mlm_bias[3] == head0);
	t.mlm_only = 1;
	int64_t B, T;
	int32_t *ids = bu_geti("ids", &B, &T), *types = bu_geti("type_ids", NULL, NULL), *lens = bu_geti("lens", NULL, NULL);
	int32_t *y = bu_geti("labels", NULL, NULL);
	float *loss = bu_getf("loss", NULL), *rlog = bu_getf("logits", NULL);
	int V = t.m->cfg.vocab_size, C = t.m->cfg.C;

	tl_bert_train_zero_grad(&t);
	CHECK(tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0) == NULL);
	CHECK(tl_bert_train_pooled(&t) == NULL);
	long M = -1;
	double l = tl_bert_train_mlm_loss(&t, y, 1.0f, &M);
	CHECK_EQ_INT(M, 8);
	CHECK(fabs(l - loss[0]) <= 1e-5 * fabs(loss[0]));
	double worst_l = 0;
	for (long j = 0; j < M; j++)
		for (int v = 0; v < V; v++) {
			double d = fabs(t.mlm.logits[(size_t)j * V + v] - rlog[(size_t)t.mlm.rows[j] * V + v]);
			worst_l = d > worst_l ? d : worst_l;
		}
	CHECK(worst_l <= 1e-5);
	CHECK(t.dhid_set == 1);
	tl_bert_train_backward(&t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	bu_grad_cmp gc = {.grad = "grad.", .zero = "pooler", .bound = 1e-3};
	bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
	double worst = gr.worst;
	int compared = gr.compared;
	CHECK_EQ_INT(compared, 5 + 2 * 16 + 5);
	printf("tiny MLM: loss %.7f (torch %.7f, relative %.1e), logits max error %.2e, worst relative gradient "
	       "error %.2e over %d tensors\n",
	       l, loss[0], fabs(l - loss[0]) / loss[0], worst_l, worst, compared);

	/* finite differences of the C loss (mlm_run adds to the gradients:
	 * compare with a copy) */
	float *g0 = malloc(t.m->nparams * sizeof(float));
	memcpy(g0, t.grad_arena, t.m->nparams * sizeof(float));
	uint64_t s = 101;
	int bad = 0, checked = 0, mlm_checked = 0;
	for (size_t i = 0; i < nt; i++) {
		if (strstr(ts[i].name, "pooler"))
			continue;
		int is_mlm = !strncmp(ts[i].name, "cls.", 4), reps = is_mlm || i == 0 ? 6 : 2;
		for (int r = 0; r < reps; r++) {
			size_t j = ts[i].off + (size_t)(tl_mix64(s++) % ts[i].n);
			if (i == 0) { /* word embeddings: rows of the batch and rows only the decoder reaches */
				uint64_t u1 = tl_mix64(s++), u2 = tl_mix64(s++);
				int32_t rw = r % 2 ? ids[u1 % (uint64_t)lens[0]] : (int32_t)(30 + r);
				j = (size_t)rw * C + (size_t)(u2 % (uint64_t)C);
			}
			float *w = t.m->arena + j, w0 = *w, h = 1e-2f;
			*w = w0 + h;
			tl_bert_train_weights_changed(&t); /* every writer of the arena says so */
			double lp = mlm_run(&t, ids, types, lens, (int)B, (int)T, y);
			*w = w0 - h;
			tl_bert_train_weights_changed(&t);
			double lm = mlm_run(&t, ids, types, lens, (int)B, (int)T, y);
			*w = w0;
			tl_bert_train_weights_changed(&t);
			double num = (lp - lm) / (2.0 * h), ana = g0[j];
			checked++;
			mlm_checked += is_mlm;
			if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana)) {
				bad++;
				fprintf(stderr, "finite difference %s[%zu]: numeric %.6g analytic %.6g\n", ts[i].name,
					j - ts[i].off, num, ana);
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(mlm_checked, 30);
	printf("tiny MLM finite differences: %d of %d entries agree (%d in the MLM head)\n", checked - bad, checked,
	       mlm_checked);
	free(g0);

	/* scale: the gradient of the loss times scale, ADDED */
	{
		float *g1 = malloc(t.m->nparams * sizeof(float));
		tl_bert_train_zero_grad(&t);
		mlm_run(&t, ids, types, lens, (int)B, (int)T, y);
		tl_bert_train_backward(&t, 0, 0, 0);
		memcpy(g1, t.grad_arena, t.m->nparams * sizeof(float));
		tl_bert_train_zero_grad(&t);
		tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0);
		double l2 = tl_bert_train_mlm_loss(&t, y, 0.25f, NULL);
		CHECK(l2 == l || fabs(l2 - l) <= 1e-12); /* the loss is unscaled */
		tl_bert_train_backward(&t, 0, 0, 0);
		double e = 0;
		for (size_t i = 0; i < t.m->nparams; i++)
			e = fmax(e, fabs(t.grad_arena[i] - 0.25 * g1[i]));
		CHECK(e <= 1e-6 * bu_max_abs(g1, t.m->nparams));
		free(g1);
	}
	/* nothing labelled: loss 0, nothing written */
	{
		int32_t *none = malloc((size_t)B * T * sizeof *none);
		for (size_t i = 0; i < (size_t)B * T; i++)
			none[i] = i % 3 ? TL_IGNORE_LABEL : V + 5; /* an id outside [0, V) is ignored too */
		tl_bert_train_zero_grad(&t);
		long m0 = -1;
		tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0);
		CHECK(tl_bert_train_mlm_loss(&t, none, 1.0f, &m0) == 0.0);
		CHECK_EQ_INT(m0, 0);
		CHECK_EQ_INT(t.dhid_set, 0);
		tl_bert_train_backward(&t, 0, 0, 0);
		CHECK(bu_max_abs(t.grad_arena, t.m->nparams) == 0.0);
		free(none);
	}

	/* a save under tl's names loads back bit for bit (with a
	 * discriminator: ckpt_only, not written) */
	{
		CHECK(tl_bert_train_disc_init(&t, 8, 3, 0.02f, 5, err, sizeof err) == 0);
		CHECK(tl_bert_train_disc_init(&t, 8, 3, 0.02f, 6, err, sizeof err) == 0); /* kept */
		CHECK(tl_bert_train_disc_init(&t, 4, 3, 0.02f, 6, err, sizeof err) == -1);
		CHECK(tl_bert_train_disc_init(&t, 4, 1, 0.02f, 6, err, sizeof err) == -1);
		CHECK(t.m->params.mlm_bias[3] == head0);
		size_t n2;
		tl_bert_tensor *t2 = tl_bert_train_tensors(t.m, &n2);
		int ck = 0;
		char dir[] = "/tmp/test_mlm_XXXXXX";
		CHECK(mkdtemp(dir) != NULL);
		char path[600];
		tl_st_saver *sv = tl_st_saver_init();
		for (size_t i = 0; i < n2; i++) {
			ck += t2[i].ckpt_only;
			if (!t2[i].ckpt_only)
				tl_st_saver_add(sv, t2[i].name, "F32", t2[i].shape, t2[i].ndim, t.m->arena + t2[i].off,
						t2[i].n * sizeof(float));
		}
		CHECK_EQ_INT(ck, 4);
		CHECK_STR(t2[n2 - 4].name, "tl.domain.dense.weight");
		CHECK_EQ_INT(t2[n2 - 1].shape[0], 3);
		snprintf(path, sizeof path, "%s/model.safetensors", dir);
		CHECK(tl_st_saver_write(sv, path) == 0);
		tl_st_saver_free(sv);
		char cmd[800];
		snprintf(cmd, sizeof cmd, "cp tests/ref/tiny_mlm/config.json %s/", dir);
		CHECK(system(cmd) == 0);
		tl_bert *r = tl_bert_load(dir, NULL, err, sizeof err);
		CHECK(r != NULL);
		if (r) {
			CHECK(r->cfg.mlm == 1 && r->has_pooler == 1 && r->cfg.disc_hidden == 0);
			size_t n3;
			tl_bert_tensor *t3 = tl_bert_train_tensors(r, &n3);
			CHECK_EQ_INT(n3, n2 - 4);
			int eq = 1;
			for (size_t i = 0; i < n3 && i < n2; i++)
				eq &= !strcmp(t3[i].name, t2[i].name) &&
				      !memcmp(r->arena + t3[i].off, t.m->arena + t2[i].off, t2[i].n * sizeof(float));
			CHECK(eq);
			free(t3);
			tl_bert_free(r);
		}
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
		free(t2);
	}
	/* dropping the head (fine-tuning an MLM checkpoint): every other
	 * tensor kept bit for bit, the discriminator included */
	{
		size_t n4, n5;
		tl_bert_tensor *t4 = tl_bert_train_tensors(t.m, &n4);
		float *keep = malloc(t.m->nparams * sizeof(float));
		memcpy(keep, t.m->arena, t.m->nparams * sizeof(float));
		CHECK_EQ_INT(tl_bert_train_mlm_drop(&t), 1);
		CHECK_EQ_INT(tl_bert_train_mlm_drop(&t), 0);
		CHECK(t.m->cfg.mlm == 0 && t.m->params.mlm_dw == NULL && t.grads.mlm_bias == NULL);
		tl_bert_tensor *t5 = tl_bert_train_tensors(t.m, &n5);
		CHECK_EQ_INT(n5, n4 - 5);
		int eq = 1;
		for (size_t i = 0, j = 0; i < n4; i++) {
			if (!strncmp(t4[i].name, "cls.", 4))
				continue;
			eq &= j < n5 && !strcmp(t4[i].name, t5[j].name) &&
			      !memcmp(keep + t4[i].off, t.m->arena + t5[j].off, t4[i].n * sizeof(float));
			j++;
		}
		CHECK(eq);
		CHECK(bu_max_abs(t.grad_arena, t.m->nparams) == 0.0);
		free(keep);
		free(t4);
		free(t5);
	}
	free(ts);
	free(ids);
	free(types);
	free(lens);
	free(y);
	free(loss);
	free(rlog);
	tl_bert_train_free(&t);

	/* a model without the head: NAN, nothing written */
	m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	tl_bert_train_init(&t, m, 3, 0, 0.02f, 1);
	int32_t one[3] = {2, 4, 3}, l1 = 3, lab[3] = {-100, 7, -100};
	tl_bert_train_forward(&t, one, NULL, &l1, 1, 3, 0, 0, 0);
	CHECK(isnan(tl_bert_train_mlm_loss(&t, lab, 1.0f, NULL)));
	/* mlm_init on it: fresh head (dense N(0, std), LayerNorm 1/0, biases 0), the rest kept */
	float *before = malloc(t.m->nparams * sizeof(float));
	size_t np0 = t.m->nparams;
	memcpy(before, t.m->arena, np0 * sizeof(float));
	CHECK(tl_bert_train_mlm_init(&t, 0.02f, 9, err, sizeof err) == 0);
	CHECK_EQ_INT(t.m->nparams, np0 + 16 * 16 + 3 * 16 + 40);
	CHECK(!memcmp(before, t.m->arena, np0 * sizeof(float)));
	CHECK(t.m->params.mlm_lnw[0] == 1.0f && t.m->params.mlm_lnb[0] == 0.0f && t.m->params.mlm_bias[39] == 0.0f);
	double sd = 0;
	for (int i = 0; i < 256; i++)
		sd += (double)t.m->params.mlm_dw[i] * t.m->params.mlm_dw[i];
	sd = sqrt(sd / 256);
	CHECK(sd > 0.015 && sd < 0.025);
	free(before);
	tl_bert_train_forward(&t, one, NULL, &l1, 1, 3, 0, 0, 0);
	double lf = tl_bert_train_mlm_loss(&t, lab, 1.0f, NULL);
	CHECK(isfinite(lf) && lf > 0);
	tl_bert_train_free(&t);
}

/* the pooled-feature gradient hook against torch */
static void tiny_pooled(void)
{
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m)
		return;
	tl_bert_train t;
	tl_bert_train_init(&t, m, 3, 0, 0.02f, 1);
	int64_t B, T;
	int32_t *ids = bu_geti("ids", &B, &T), *types = bu_geti("type_ids", NULL, NULL), *lens = bu_geti("lens", NULL, NULL);
	float *R = bu_getf("pool.R", NULL), *rp = bu_getf("pool.pooled", NULL);
	int C = t.m->cfg.C;
	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0);
	const float *pooled = tl_bert_train_pooled(&t);
	CHECK(pooled != NULL);
	double pe = 0;
	for (size_t i = 0; i < (size_t)B * C; i++)
		pe = fmax(pe, fabs(pooled[i] - rp[i]));
	CHECK(pe <= 1e-5);
	tl_bert_train_add_pooled_grad(&t, R, 0.5f);
	tl_bert_train_add_pooled_grad(&t, R, 0.5f);
	tl_bert_train_backward(&t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	bu_grad_cmp gc = {.grad = "pool.grad.", .zero = "classifier.", .label = "pooled", .bound = 1e-3};
	bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
	double worst = gr.worst;
	int compared = gr.compared;
	CHECK_EQ_INT(compared, 5 + 2 * 16 + 2);
	printf("pooled hook: pooled max error %.2e, worst relative gradient error %.2e over %d tensors\n", pe, worst,
	       compared);
	/* the next forward clears it */
	tl_bert_train_zero_grad(&t);
	tl_bert_train_forward(&t, ids, types, lens, (int)B, (int)T, 0, 0, 0);
	CHECK_EQ_INT(t.dpool_set, 0);
	tl_bert_train_backward(&t, 0, 0, 0);
	CHECK(bu_max_abs(t.grad_arena, t.m->nparams) == 0.0);
	free(ts);
	free(ids);
	free(types);
	free(lens);
	free(R);
	free(rp);
	tl_bert_train_free(&t);
}

static void minilm(void)
{
	const char *dir = getenv("TL_TEST_MINILM");
	if (!dir) {
		dir = "models/all-MiniLM-L6-v2";
		if (access("models/all-MiniLM-L6-v2/model.safetensors", F_OK) != 0) {
			TEST_SKIP("minilm MLM gradients: %s not installed (make models)", dir);
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
	CHECK_EQ_INT(m->cfg.mlm, 0);
	tl_bert_train t;
	tl_bert_train_init(&t, m, 0, 0, 0.02f, 1);
	CHECK(tl_bert_train_mlm_init(&t, 0.02f, 1, err, sizeof err) == 0);
	t.mlm_only = 1;
	tl_st_open(&bu_F, "tests/ref/minilm_mlm_grads.safetensors", err, sizeof err);
	int C = t.m->cfg.C;
	float *dw = bu_getf("head.cls.predictions.transform.dense.weight", NULL);
	memcpy(t.m->params.mlm_dw, dw, sizeof(float) * C * C); /* biases 0, LayerNorm 1 and 0 as mlm_init */
	int64_t B, T;
	int32_t *ids = bu_geti("ids", &B, &T), *lens = bu_geti("lens", NULL, NULL), *y = bu_geti("labels", NULL, NULL);
	float *loss = bu_getf("loss", NULL);
	tl_bert_train_zero_grad(&t);
	double l = mlm_run(&t, ids, NULL, lens, (int)B, (int)T, y);
	CHECK(fabs(l - loss[0]) <= 1e-5 * fabs(loss[0]));
	tl_bert_train_backward(&t, 0, 0, 0);
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	bu_grad_cmp gc = {.grad = "grad.", .idx = "idx.", .norm = "norm.", .zero = "pooler", .label = "minilm MLM",
			  .bound = 1e-3};
	bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
	double worst = gr.worst, worstn = gr.worstn;
	int compared = gr.compared;
	CHECK_EQ_INT(compared, 5 + 6 * 16 + 5);
	printf("minilm MLM: loss %.7f (torch %.7f, relative %.1e), worst relative gradient error %.2e, norm error "
	       "%.2e over %d tensors\n",
	       l, loss[0], fabs(l - loss[0]) / loss[0], worst, worstn, compared);
	free(ts);
	free(dw);
	free(ids);
	free(lens);
	free(y);
	free(loss);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
}

/* ---------------- masking ---------------- */

static void masking(void)
{
	enum { V = 30522, MASK = 103, CLS = 101, SEP = 102, PAD = 0, LEN = 64, NSEQ = 20000 };
	const int32_t special[] = {PAD, 100, CLS, SEP, MASK};
	int32_t ids[LEN], orig[LEN], lab[LEN];
	long units = 0, chosen = 0, masked = 0, rnd = 0, kept = 0, spec_bad = 0, none = 0, lab_bad = 0;
	for (int s = 0; s < NSEQ; s++) {
		for (int i = 0; i < LEN; i++)
			orig[i] = ids[i] = 1000 + (int32_t)(tl_mix64((uint64_t)s * LEN + i) % 20000);
		orig[0] = ids[0] = CLS;
		orig[LEN - 1] = ids[LEN - 1] = SEP;
		orig[LEN - 2] = ids[LEN - 2] = PAD;
		int n = tl_mlm_mask(ids, lab, LEN, NULL, 0, 0.15f, MASK, V, special, 5, 42, (uint64_t)s);
		units += LEN - 3;
		chosen += n;
		none += n == 0;
		int cnt = 0;
		for (int i = 0; i < LEN; i++) {
			if (lab[i] == TL_IGNORE_LABEL) {
				lab_bad += ids[i] != orig[i];
				continue;
			}
			cnt++;
			lab_bad += lab[i] != orig[i];
			spec_bad += orig[i] == CLS || orig[i] == SEP || orig[i] == PAD;
			if (ids[i] == MASK)
				masked++;
			else if (ids[i] == orig[i])
				kept++;
			else
				rnd++;
		}
		lab_bad += cnt != n;
	}
	double fc = (double)chosen / units, fm = (double)masked / chosen, fr = (double)rnd / chosen,
	       fk = (double)kept / chosen;
	printf("tl_mlm_mask over %d sequences: chosen %.4f (p 0.15), of them [MASK] %.4f, random %.4f, kept %.4f\n",
	       NSEQ, fc, fm, fr, fk);
	CHECK(fabs(fc - 0.15) <= 0.005);
	CHECK(fabs(fm - 0.8) <= 0.01);
	CHECK(fabs(fr - 0.1) <= 0.01);
	CHECK(fabs(fk - 0.1) <= 0.01);
	CHECK_EQ_INT(spec_bad, 0);
	CHECK_EQ_INT(none, 0);
	CHECK_EQ_INT(lab_bad, 0);

	/* determinism: same (seed, stream) same result, another stream another */
	int32_t a[LEN], b[LEN], la[LEN], lb[LEN];
	for (int i = 0; i < LEN; i++)
		a[i] = b[i] = 2000 + i;
	tl_mlm_mask(a, la, LEN, NULL, 0, 0.15f, MASK, V, special, 5, 7, 3);
	tl_mlm_mask(b, lb, LEN, NULL, 0, 0.15f, MASK, V, special, 5, 7, 3);
	CHECK(!memcmp(a, b, sizeof a) && !memcmp(la, lb, sizeof la));
	for (int i = 0; i < LEN; i++)
		b[i] = 2000 + i;
	tl_mlm_mask(b, lb, LEN, NULL, 0, 0.15f, MASK, V, special, 5, 7, 4);
	CHECK(memcmp(la, lb, sizeof la) != 0);
	for (int i = 0; i < LEN; i++)
		b[i] = 2000 + i;
	tl_mlm_mask(b, lb, LEN, NULL, 0, 0.15f, MASK, V, special, 5, 8, 3);
	CHECK(memcmp(la, lb, sizeof la) != 0);

	/* whole words: "##" pieces chosen with their first piece */
	unsigned char cont[LEN];
	long split = 0, wchosen = 0, wunits = 0, wsel = 0;
	for (int s = 0; s < 4000; s++) {
		for (int i = 0; i < LEN; i++) {
			ids[i] = 3000 + i;
			cont[i] = i > 1 && (tl_mix64((uint64_t)s * 977 + i) % 3 == 0); /* about a third are ## pieces */
		}
		ids[0] = CLS;
		ids[LEN - 1] = SEP;
		cont[LEN - 1] = 1; /* a special is never part of a word */
		int n = tl_mlm_mask(ids, lab, LEN, cont, 1, 0.15f, MASK, V, special, 5, 99, (uint64_t)s);
		int cnt = 0;
		for (int i = 1; i < LEN - 1; i++) {
			cnt += lab[i] != TL_IGNORE_LABEL;
			if (!cont[i]) {
				wunits++;
				wsel += lab[i] != TL_IGNORE_LABEL;
			} else if (i > 1)
				split += (lab[i] != TL_IGNORE_LABEL) != (lab[i - 1] != TL_IGNORE_LABEL);
		}
		split += lab[0] != TL_IGNORE_LABEL || lab[LEN - 1] != TL_IGNORE_LABEL;
		wchosen += n;
		CHECK(cnt == n);
	}
	CHECK_EQ_INT(split, 0);
	printf("tl_mlm_mask whole words: %.4f of the words chosen (p 0.15)\n", (double)wsel / wunits);
	CHECK(fabs((double)wsel / wunits - 0.15) <= 0.01);

	/* at least one; nothing maskable; bad arguments */
	int32_t few[4] = {CLS, 5000, 5001, SEP}, lf[4];
	CHECK_EQ_INT(tl_mlm_mask(few, lf, 4, NULL, 0, 0.0f, MASK, V, special, 5, 1, 1), 1);
	int32_t sp[3] = {CLS, SEP, PAD}, ls3[3];
	CHECK_EQ_INT(tl_mlm_mask(sp, ls3, 3, NULL, 0, 0.15f, MASK, V, special, 5, 1, 1), 0);
	CHECK(ls3[0] == TL_IGNORE_LABEL && ls3[1] == TL_IGNORE_LABEL && ls3[2] == TL_IGNORE_LABEL && sp[0] == CLS);
	few[1] = 5000, few[2] = 5001;
	CHECK_EQ_INT(tl_mlm_mask(few, lf, 4, NULL, 0, 1.0f, MASK, V, special, 5, 1, 1), 2);
	CHECK_EQ_INT(tl_mlm_mask(few, lf, 4, NULL, 0, 1.5f, MASK, V, special, 5, 1, 1), -1);
	CHECK_EQ_INT(tl_mlm_mask(few, lf, 4, NULL, 0, NAN, MASK, V, special, 5, 1, 1), -1);
	CHECK_EQ_INT(tl_mlm_mask(few, lf, -1, NULL, 0, 0.1f, MASK, V, special, 5, 1, 1), -1);
	CHECK_EQ_INT(tl_mlm_mask(few, lf, 4, NULL, 0, 0.1f, MASK, 0, special, 5, 1, 1), -1);
	CHECK_EQ_INT(tl_mlm_mask(NULL, NULL, 0, NULL, 0, 0.1f, MASK, V, special, 5, 1, 1), 0);
}

int main(void)
{
	tl_init("test_mlm");
	tiny_mlm();
	tiny_pooled();
	tl_st_close(&bu_F);
	minilm();
	masking();
	TEST_REPORT("test_mlm");
}
