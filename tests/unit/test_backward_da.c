/* test_backward_da.c - the domain-adaptation objectives of issue 18
 * through the encoder, against PyTorch float64 (tests/ref/gen_da_grads.py
 * -> tests/ref/tiny_da_grads.safetensors).
 *
 * The tiny random BERT of tests/ref/tiny_bert with a 3-label classifier
 * and a discriminator (H 8, D 2) whose weights come from the fixture; one
 * batch of 8 sequences, rows 0-3 of domain 0 and 4-7 of domain 1, dropout
 * off. Each objective is the classifier's mean cross-entropy plus a domain
 * term on the pooled output, composed as tl-train composes it:
 * tl_bert_train_loss, then tl_bert_train_pooled -> tl_dann_loss /
 * tl_coral_loss / tl_mmd_loss -> tl_bert_train_add_pooled_grad, then one
 * tl_bert_train_backward:
 *   dann:  CE + CE(disc(GRL_0.6(pooled)), dom)   (torch: the reversal as
 *          a torch.autograd.Function)
 *   coral: CE + 3000 CORAL(pooled[dom 0], pooled[dom 1])
 *   mmd:   CE + 0.5 MMD^2(pooled[dom 0], pooled[dom 1])
 * Checked: both losses (1e-5 relative); the gradient of every tensor
 * (encoder, pooler, classifier, and for dann the discriminator), with
 * test_backward.c's bounds (max_i |c_i - t_i| / max_i |t_i| <= 1e-3;
 * attention key biases, zero in theory, below 1e-5 of the largest
 * gradient); the discriminator's gradient exactly 0 under coral and mmd;
 * central finite differences of the C objective (|num - ana| <= 2e-3 +
 * 2e-2 |ana|, as test_backward.c) on entries of every tensor: for dann the
 * encoder's against FD of CE - 0.6 L_disc (the reversal) and the
 * discriminator's against FD of L_disc; for mmd with the bandwidth base held
 * at the unperturbed batch's (tl_mmd_loss_base: the gradient treats it as a
 * constant). */
#include "testhelp.h"

#include "tl/bert_train.h"
#include "tl/cli.h"
#include "tl/domain.h"
#include "tl/rng.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

#include "backward_util.h"

enum { OBJ_DANN, OBJ_CORAL, OBJ_MMD };
static const char *obj_name[3] = {"dann", "coral", "mmd"};
#define LAMBDA 0.6f
#define W_CORAL 3000.0f
#define W_MMD 0.5f

static int32_t *ids, *types, *lens, *y, *dom;
static int64_t B, T;
static double mmd_base0; /* the base held fixed for mmd's finite differences (0: computed) */

/* forward, CE and the domain term; *lc, *ld the two losses; the gradient
 * of CE + (dann: L_disc through the reversal; coral, mmd: W L) is left for
 * the next backward */
static void objective(tl_bert_train *t, int obj, double *lc, double *ld)
{
	int C = t->m->cfg.C, n = (int)B;
	tl_bert_train_forward(t, ids, types, lens, n, (int)T, 0, 0, 0);
	*lc = tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	const float *pd = tl_bert_train_pooled(t);
	float *f = malloc((size_t)n * C * sizeof *f), *df = calloc((size_t)n * C, sizeof *df);
	if (t->k->host_memory)
		memcpy(f, pd, (size_t)n * C * sizeof *f);
	else
		t->k->to_host(f, pd, (size_t)n * C * sizeof *f);
	if (obj == OBJ_DANN) {
		const tl_bert_params *P = &t->m->params, *G = &t->grads;
		*ld = tl_dann_loss(f, dom, n, C, t->m->cfg.disc_hidden, t->m->cfg.ndomains, P->disc_w1, P->disc_b1,
				   P->disc_w2, P->disc_b2, LAMBDA, 1.0f, G->disc_w1, G->disc_b1, G->disc_w2, G->disc_b2,
				   df, NULL);
	} else {
		/* rows 0..3 domain 0, 4..7 domain 1 (checked in main) */
		int ns = 4, nt = n - 4;
		if (obj == OBJ_CORAL)
			*ld = tl_coral_loss(f, ns, f + (size_t)ns * C, nt, C, W_CORAL, df, df + (size_t)ns * C);
		else if (mmd_base0 > 0)
			*ld = tl_mmd_loss_base(f, ns, f + (size_t)ns * C, nt, C, NULL, 0, mmd_base0, W_MMD, df,
					       df + (size_t)ns * C);
		else
			*ld = tl_mmd_loss(f, ns, f + (size_t)ns * C, nt, C, NULL, 0, W_MMD, df, df + (size_t)ns * C);
	}
	tl_bert_train_add_pooled_grad(t, df, 1.0f);
	free(f);
	free(df);
}

static int is_disc(const char *name)
{
	return !strncmp(name, "tl.domain.", 10);
}

int main(void)
{
	tl_init("test_backward_da");
	char err[512];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		TEST_REPORT("test_backward_da");
	}
	tl_bert_train t;
	tl_bert_train_init(&t, m, 3, 0, 0.02f, 1);
	CHECK(tl_bert_train_disc_init(&t, 8, 2, 0.02f, 1, err, sizeof err) == 0);
	CHECK(tl_st_open(&bu_F, "tests/ref/tiny_da_grads.safetensors", err, sizeof err) == 0);
	int C = t.m->cfg.C;
	ids = bu_geti("ids", &B, &T);
	types = bu_geti("type_ids", NULL, NULL);
	lens = bu_geti("lens", NULL, NULL);
	y = bu_geti("y", NULL, NULL);
	dom = bu_geti("dom", NULL, NULL);
	CHECK(B == 8);
	for (int i = 0; i < B; i++)
		CHECK(dom[i] == (i >= 4));
	struct {
		const char *name;
		float *dst;
		size_t n;
	} w[] = {{"classifier.weight", t.m->params.clsw, 3 * (size_t)C}, {"classifier.bias", t.m->params.clsb, 3},
		 {"disc.w1", t.m->params.disc_w1, 8 * (size_t)C},      {"disc.b1", t.m->params.disc_b1, 8},
		 {"disc.w2", t.m->params.disc_w2, 16},                 {"disc.b2", t.m->params.disc_b2, 2}};
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		size_t n;
		float *v = bu_getf(w[i].name, &n);
		CHECK_EQ_INT(n, w[i].n);
		memcpy(w[i].dst, v, n * sizeof *v);
		free(v);
	}

	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(t.m, &nt);
	for (int obj = 0; obj < 3; obj++) {
		char name[192];
		tl_bert_train_zero_grad(&t);
		double lc, ld;
		mmd_base0 = 0;
		objective(&t, obj, &lc, &ld);
		tl_bert_train_backward(&t, 0, 0, 0);
		snprintf(name, sizeof name, "%s.loss_cls", obj_name[obj]);
		float *rl = bu_getf(name, NULL);
		CHECK(fabs(lc - rl[0]) <= 1e-5 * fabs(rl[0]));
		free(rl);
		snprintf(name, sizeof name, "%s.loss_dom", obj_name[obj]);
		rl = bu_getf(name, NULL);
		if (!(fabs(ld - rl[0]) <= 1e-5 * fabs(rl[0])))
			fprintf(stderr, "%s: domain loss %.9g, torch %.9g\n", obj_name[obj], ld, rl[0]);
		CHECK(fabs(ld - rl[0]) <= 1e-5 * fabs(rl[0]));
		free(rl);

		snprintf(name, sizeof name, "%s.grad.", obj_name[obj]);
		bu_grad_cmp gc = {.grad = name, .zero = obj != OBJ_DANN ? "tl.domain." : NULL, .bound = 1e-3};
		bu_grad_res gr = bu_compare_grads(t.grad_arena, t.m->nparams, ts, nt, &gc);
		double worst = gr.worst;
		int compared = gr.compared;
		/* embeddings 5, 2 layers x 16, pooler 2, classifier 2, (dann) discriminator 4 */
		CHECK_EQ_INT(compared, 5 + 2 * 16 + 2 + 2 + (obj == OBJ_DANN ? 4 : 0));

		/* finite differences of the C objective */
		if (obj == OBJ_MMD) {
			/* the base of the unperturbed batch, held fixed */
			const float *pd = tl_bert_train_pooled(&t);
			float *f = malloc((size_t)B * C * sizeof *f);
			if (t.k->host_memory)
				memcpy(f, pd, (size_t)B * C * sizeof *f);
			else
				t.k->to_host(f, pd, (size_t)B * C * sizeof *f);
			mmd_base0 = tl_mmd_base(f, 4, f + 4 * (size_t)C, (int)B - 4, C);
			free(f);
		}
		/* the analytic gradient, kept: the evaluations below add to the
		 * discriminator's gradient again */
		float *ga = malloc(t.m->nparams * sizeof *ga);
		memcpy(ga, t.grad_arena, t.m->nparams * sizeof *ga);
		uint64_t s = 1818 + (uint64_t)obj;
		int bad = 0, checked = 0;
		for (size_t i = 0; i < nt; i++) {
			if (is_disc(ts[i].name) && obj != OBJ_DANN)
				continue;
			for (int r = 0; r < 3; r++) {
				size_t j = ts[i].off + (size_t)(tl_mix64(s++) % ts[i].n);
				if (i == 0) /* word embeddings: a row the batch uses */
					j = (size_t)ids[tl_mix64(s++) % (uint64_t)lens[0]] * C + (size_t)r;
				float *p = t.m->arena + j, p0 = *p, h = 1e-2f;
				double lcp, ldp, lcm, ldm;
				*p = p0 + h;
				tl_bert_train_weights_changed(&t); /* every writer of the arena says so */
				objective(&t, obj, &lcp, &ldp);
				*p = p0 - h;
				tl_bert_train_weights_changed(&t);
				objective(&t, obj, &lcm, &ldm);
				*p = p0;
				tl_bert_train_weights_changed(&t);
				double fp, fm;
				if (obj == OBJ_DANN && is_disc(ts[i].name))
					fp = ldp, fm = ldm; /* the discriminator minimises its loss */
				else if (obj == OBJ_DANN)
					fp = lcp - LAMBDA * ldp, fm = lcm - LAMBDA * ldm; /* the reversal */
				else {
					double W = obj == OBJ_CORAL ? W_CORAL : W_MMD;
					fp = lcp + W * ldp, fm = lcm + W * ldm;
				}
				double num = (fp - fm) / (2.0 * h), ana = ga[j];
				checked++;
				if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana)) {
					bad++;
					fprintf(stderr, "%s finite difference %s[%zu]: numeric %.6g analytic %.6g\n",
						obj_name[obj], ts[i].name, j - ts[i].off, num, ana);
				}
			}
		}
		free(ga);
		CHECK_EQ_INT(bad, 0);
		CHECK(checked >= 3 * (5 + 2 * 16 + 2 + 2));
		printf("%s: loss cls %.7f dom %.7g, worst relative gradient error %.2e over %d tensors; finite "
		       "differences %d of %d agree\n",
		       obj_name[obj], lc, ld, worst, compared, checked - bad, checked);
	}

	free(ts);
	free(ids);
	free(types);
	free(lens);
	free(y);
	free(dom);
	tl_st_close(&bu_F);
	tl_bert_train_free(&t);
	TEST_REPORT("test_backward_da");
}
