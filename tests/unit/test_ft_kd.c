/* Unit tests of the fastText distillation loss (tl_lin_kd_loss,
 * lib/models/linear.c): loss and gradient against PyTorch autograd in
 * float64 (tests/ref/gen_ft_kd.py -> tests/ref/ft_kd_ref.h; bound 1e-5,
 * relative to max(1, |value|)), the gradient against central finite
 * differences of the loss (h = 2^-12, exact in float32; bound 1e-5), and
 * tl_lin_train with --distill: learns the teacher from soft targets only,
 * the teacher's label order is permuted into the model's, bitwise the same
 * for 1 and 3 threads, and the refusals (hs loss, logits count). */
#include "testhelp.h"
#include "tl/linear.h"
#include "tl/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ref/ft_kd_ref.h"

static double rel(double x)
{
	return fabs(x) > 1 ? fabs(x) : 1;
}

/* 60 texts of two kinds; soft targets from a "teacher" whose labels are
 * listed as (pos, neg): logits favour pos for "great" texts. With labelled,
 * every third record also has its hard label. */
static tl_lin_data *toy(const tl_lin_opts *o, int labelled, int k)
{
	tl_lin_data *d = tl_lin_data_new(o);
	char text[64], err[256];
	const char *tn[] = {"pos", "neg"};
	CHECK(tl_lin_data_set_teacher(d, tn, 2, err, sizeof err) == 0);
	for (int i = 0; i < 60; i++) {
		int pos = i % 2 == 0;
		snprintf(text, sizeof text, "a %s movie %d", pos ? "great fun" : "dull boring", i);
		const char *lab = pos ? "pos" : "neg";
		size_t ll = strlen(lab);
		int nl = labelled && i % 3 == 0;
		CHECK(tl_lin_data_add(d, text, strlen(text), NULL, NULL, 0, &lab, &ll, nl, 0, err, sizeof err) == 0);
		float lg[3] = {pos ? 2.5f : -1.5f, pos ? -2.0f : 1.75f, 0};
		int rc = tl_lin_data_add_logits(d, lg, k, err, sizeof err);
		if (k == 2)
			CHECK(rc == 0);
		else if (rc < 0)
			break;
	}
	return d;
}

static int argmax(tl_lin_model *m, const char *text)
{
	tl_lin_scratch s = {0};
	float lg[4];
	CHECK(tl_lin_logits(m, &s, text, strlen(text), NULL, NULL, 0, lg) == 0);
	tl_lin_scratch_free(&s);
	return lg[1] > lg[0];
}

int main(void)
{
	/* against PyTorch */
	size_t nc = sizeof kd_cases / sizeof kd_cases[0];
	for (size_t i = 0; i < nc; i++) {
		const struct kd_case *c = &kd_cases[i];
		double g[8];
		double l = tl_lin_kd_loss(c->z, c->t, c->C, c->y, c->T, c->alpha, g);
		CHECK_NEAR(l, c->loss, 1e-5 * rel(c->loss));
		for (int j = 0; j < c->C; j++)
			CHECK_NEAR(g[j], c->grad[j], 1e-5 * rel(c->grad[j]));
		CHECK_NEAR(tl_lin_kd_loss(c->z, c->t, c->C, c->y, c->T, c->alpha, NULL), l, 0);
	}
	/* against central finite differences of the loss */
	const double h = 1.0 / 4096;
	for (size_t i = 0; i < nc; i++) {
		const struct kd_case *c = &kd_cases[i];
		double g[8];
		float z[8];
		tl_lin_kd_loss(c->z, c->t, c->C, c->y, c->T, c->alpha, g);
		for (int j = 0; j < c->C; j++) {
			memcpy(z, c->z, sizeof z);
			z[j] = (float)(c->z[j] + h);
			double lp = tl_lin_kd_loss(z, c->t, c->C, c->y, c->T, c->alpha, NULL);
			z[j] = (float)(c->z[j] - h);
			double lm = tl_lin_kd_loss(z, c->t, c->C, c->y, c->T, c->alpha, NULL);
			CHECK_NEAR((lp - lm) / (2 * h), g[j], 1e-5 * rel(g[j]));
		}
	}
	/* equal logits, alpha 1: zero loss and gradient */
	{
		float z[3] = {0.5f, -1.0f, 2.0f};
		double g[3];
		CHECK_NEAR(tl_lin_kd_loss(z, z, 3, -1, 2.0, 1.0, g), 0, 1e-12);
		for (int j = 0; j < 3; j++)
			CHECK_NEAR(g[j], 0, 1e-12);
	}

	/* training */
	char err[512];
	int code;
	tl_lin_opts o;
	tl_lin_opts_default(&o, TL_LIN_FASTTEXT);
	o.dim = 8;
	o.epochs = 10;
	o.min_count_ngram = 1;
	o.batch = 4;
	o.threads = 1;
	o.distill = 1;
	o.temperature = 2;
	o.alpha = 0.5;
	for (int labelled = 0; labelled < 2; labelled++) {
		tl_lin_data *d = toy(&o, labelled, 2);
		o.threads = 1;
		tl_lin_model *m1 = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
		tl_lin_data_free(d);
		CHECK(m1 != NULL);
		if (!m1) {
			fprintf(stderr, "%s\n", err);
			continue;
		}
		/* the model's labels are sorted (neg, pos): the teacher's (pos, neg) logits were permuted */
		CHECK_STR(tl_lin_label(m1, 0), "neg");
		CHECK_STR(tl_lin_label(m1, 1), "pos");
		CHECK(argmax(m1, "great fun") == 1);
		CHECK(argmax(m1, "dull boring") == 0);
		o.threads = 3;
		d = toy(&o, labelled, 2);
		tl_lin_model *m2 = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
		tl_lin_data_free(d);
		CHECK(m2 != NULL);
		if (m2) {
			tl_lin_scratch s1 = {0}, s2 = {0};
			float a[2], b[2];
			const char *t = "a great dull movie";
			tl_lin_logits(m1, &s1, t, strlen(t), NULL, NULL, 0, a);
			tl_lin_logits(m2, &s2, t, strlen(t), NULL, NULL, 0, b);
			CHECK(memcmp(a, b, sizeof a) == 0);
			CHECK(tl_lin_train_loss(m1) == tl_lin_train_loss(m2));
			tl_lin_scratch_free(&s1);
			tl_lin_scratch_free(&s2);
			tl_lin_free(m2);
		}
		tl_lin_free(m1);
	}
	/* refusals: hs loss (usage), logits of another count (data) */
	o.threads = 1;
	o.loss = TL_LOSS_HS;
	tl_lin_data *d = toy(&o, 1, 2);
	CHECK(tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err) == NULL);
	CHECK_EQ_INT(code, TL_EXIT_USAGE);
	tl_lin_data_free(d);
	o.loss = TL_LOSS_SOFTMAX;
	d = tl_lin_data_new(&o);
	const char *tn[] = {"pos", "neg"};
	CHECK(tl_lin_data_set_teacher(d, tn, 2, err, sizeof err) == 0);
	const char *lab = "pos";
	size_t ll = 3;
	CHECK(tl_lin_data_add(d, "x y", 3, NULL, NULL, 0, &lab, &ll, 1, 0, err, sizeof err) == 0);
	float lg[3] = {1, 2, 3};
	CHECK(tl_lin_data_add_logits(d, lg, 3, err, sizeof err) == -1);
	CHECK(strstr(err, "2 labels") != NULL);
	tl_lin_data_free(d);
	d = tl_lin_data_new(&o);
	const char *dup[] = {"a", "a"};
	CHECK(tl_lin_data_set_teacher(d, dup, 2, err, sizeof err) == -1);
	tl_lin_data_free(d);
	TEST_REPORT("test_ft_kd");
}
