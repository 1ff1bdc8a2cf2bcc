/* Unit tests for lib/models/linear.c: training on small data, hierarchical
 * softmax probabilities, save/load round trip, bitwise determinism across
 * thread counts, logistic regression on dense vectors. */
#include "testhelp.h"
#include "tl/fsutil.h"
#include "tl/linear.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <stdlib.h>
#include <unistd.h>

static tl_lin_data *toy(const tl_lin_opts *o, int three)
{
	tl_lin_data *d = tl_lin_data_new(o);
	char text[64], err[256];
	for (int i = 0; i < 60; i++) {
		const char *lab = i % 3 == 0 ? "pos" : i % 3 == 1 ? "neg" : three ? "mid" : "neg";
		const char *w = i % 3 == 0 ? "great fun" : i % 3 == 1 ? "dull boring" : three ? "okay fine" : "dull bad";
		snprintf(text, sizeof text, "a %s movie %d", w, i);
		size_t ll = strlen(lab);
		CHECK(tl_lin_data_add(d, text, strlen(text), NULL, NULL, 0, &lab, &ll, 1, 0, err, sizeof err) == 0);
	}
	return d;
}

static void argmax_check(tl_lin_model *m, const char *text, const char *want)
{
	tl_lin_scratch s = {0};
	float lg[8];
	CHECK(tl_lin_logits(m, &s, text, strlen(text), NULL, NULL, 0, lg) == 0);
	int b = 0;
	for (int c = 1; c < tl_lin_nlabels(m); c++)
		if (lg[c] > lg[b])
			b = c;
	CHECK_STR(tl_lin_label(m, b), want);
	tl_lin_scratch_free(&s);
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc(*n + 1);
	*n = fread(b, 1, *n, f);
	fclose(f);
	return b;
}

int main(void)
{
	char err[512], dir1[] = "/tmp/tl-test-lin-XXXXXX", dir2[] = "/tmp/tl-test-lin2-XXXXXX";
	int code;
	CHECK(mkdtemp(dir1) && mkdtemp(dir2));
	char p1[256], p2[256];
	snprintf(p1, sizeof p1, "%s/m", dir1);
	snprintf(p2, sizeof p2, "%s/m", dir2);

	/* fastText softmax: learns, thread count does not change a bit */
	tl_lin_opts o;
	tl_lin_opts_default(&o, TL_LIN_FASTTEXT);
	o.dim = 16;
	o.epochs = 20;
	o.min_count_ngram = 1;
	o.batch = 4;
	o.threads = 1;
	tl_lin_data *d = toy(&o, 1);
	tl_lin_model *m1 = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
	tl_lin_data_free(d);
	CHECK(m1 != NULL);
	argmax_check(m1, "great fun", "pos");
	argmax_check(m1, "boring", "neg");
	argmax_check(m1, "okay", "mid");
	o.threads = 3;
	d = toy(&o, 1);
	tl_lin_model *m2 = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
	tl_lin_data_free(d);
	CHECK(tl_lin_save(m1, p1, 0, NULL, err, sizeof err) == 0);
	CHECK(tl_lin_save(m2, p2, 0, NULL, err, sizeof err) == 0);
	char f1[300], f2[300];
	snprintf(f1, sizeof f1, "%s/model.safetensors", p1);
	snprintf(f2, sizeof f2, "%s/model.safetensors", p2);
	size_t n1 = 0, n2 = 0;
	char *b1 = read_all(f1, &n1), *b2 = read_all(f2, &n2);
	CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
	free(b1);
	free(b2);
	/* save refuses an existing directory without force */
	CHECK(tl_lin_save(m1, p1, 0, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "exists") != NULL);
	/* load gives the same scores */
	tl_lin_model *l1 = tl_lin_load(p1, err, sizeof err);
	CHECK(l1 != NULL);
	if (l1) {
		tl_lin_scratch s = {0};
		float a[3], b[3];
		const char *t = "a great movie but dull";
		tl_lin_logits(m1, &s, t, strlen(t), NULL, NULL, 0, a);
		tl_lin_logits(l1, &s, t, strlen(t), NULL, NULL, 0, b);
		for (int i = 0; i < 3; i++)
			CHECK(a[i] == b[i]);
		tl_lin_scratch_free(&s);
		tl_lin_free(l1);
	}
	tl_lin_free(m1);
	tl_lin_free(m2);

	/* hierarchical softmax: probabilities of all labels sum to 1 */
	o.loss = TL_LOSS_HS;
	o.threads = 2;
	d = toy(&o, 1);
	tl_lin_model *mh = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
	tl_lin_data_free(d);
	CHECK(mh != NULL);
	if (mh) {
		tl_lin_scratch s = {0};
		float lg[3];
		tl_lin_logits(mh, &s, "fun okay", 8, NULL, NULL, 0, lg);
		double sum = 0;
		for (int c = 0; c < 3; c++)
			sum += exp(lg[c]);
		CHECK_NEAR(sum, 1.0, 1e-5);
		argmax_check(mh, "great fun", "pos");
		argmax_check(mh, "okay fine", "mid");
		tl_lin_scratch_free(&s);
		tl_lin_free(mh);
	}

	/* a single class is refused */
	tl_lin_opts_default(&o, TL_LIN_FASTTEXT);
	d = tl_lin_data_new(&o);
	const char *lab = "x";
	size_t ll = 1;
	tl_lin_data_add(d, "a", 1, NULL, NULL, 0, &lab, &ll, 1, 0, err, sizeof err);
	CHECK(tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err) == NULL);
	CHECK_EQ_INT(code, TL_EXIT_DATA);
	tl_lin_data_free(d);

	/* logistic regression on dense vectors: y = [x0 > x1] */
	tl_lin_opts_default(&o, TL_LIN_LOGREG);
	o.input = TL_IN_VEC;
	o.epochs = 20;
	d = tl_lin_data_new(&o);
	uint64_t rng = 5;
	for (int i = 0; i < 400; i++) {
		float v[2] = {(float)tl_splitmix64_unit(&rng), (float)tl_splitmix64_unit(&rng)};
		const char *l = v[0] > v[1] ? "a" : "b";
		size_t len = 1;
		CHECK(tl_lin_data_add(d, NULL, 0, NULL, v, 2, &l, &len, 1, 0, err, sizeof err) == 0);
	}
	float bad[3] = {0, 0, 0};
	CHECK(tl_lin_data_add(d, NULL, 0, NULL, bad, 3, &lab, &ll, 1, 0, err, sizeof err) == -1);
	CHECK(strstr(err, "length 3") != NULL);
	tl_lin_model *lr = tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err);
	tl_lin_data_free(d);
	CHECK(lr != NULL);
	if (lr) {
		tl_lin_scratch s = {0};
		float lg[2], x[2] = {0.9f, 0.1f}, y[2] = {0.1f, 0.8f};
		CHECK(tl_lin_logits(lr, &s, NULL, 0, NULL, x, 2, lg) == 0);
		CHECK(lg[0] > lg[1]);
		CHECK(tl_lin_logits(lr, &s, NULL, 0, NULL, y, 2, lg) == 0);
		CHECK(lg[1] > lg[0]);
		CHECK(tl_lin_logits(lr, &s, NULL, 0, NULL, y, 1, lg) == -1);
		tl_lin_scratch_free(&s);
		tl_lin_free(lr);
	}
	/* a corrupt model directory */
	snprintf(f1, sizeof f1, "%s/model.safetensors", p1);
	FILE *f = fopen(f1, "r+b");
	CHECK(f != NULL);
	if (f) {
		fputs("garbage", f);
		fclose(f);
	}
	CHECK(tl_lin_load(p1, err, sizeof err) == NULL);
	tl_fs_rmtree(dir1);
	tl_fs_rmtree(dir2);
	TEST_REPORT("test_linear");
}
