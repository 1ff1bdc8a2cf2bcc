/* test_student.c - students made of some of a teacher's encoder layers
 * (tl_bert_keep_layers, tl-train --student-layers; issue 17).
 *
 * Reference: tests/ref/tiny_student.safetensors from
 * tests/ref/gen_student.py: the tiny random BERT of tests/ref/tiny_bert
 * (2 layers, width 16, 3 labels) with its encoder's layer list cut to [1]
 * and to [0, 1] in Hugging Face transformers, eval mode, on a padded batch
 * of 4 sequences: classifier logits and last hidden state. Bound: 1e-5
 * absolute (the values are O(1); tl's fp32 forward against torch's differs
 * by float rounding only: measured worst 7.2e-7).
 * Also: the weights are the kept layers' bit for bit, keeping every layer
 * changes nothing (bitwise), and bad layer lists leave the model as it was.
 */
#include "testhelp.h"
#include "tl/bert.h"
#include "tl/safetensors.h"

#include <stdlib.h>
#include <string.h>

#define TINY "tests/ref/tiny_bert"

static tl_st_file ref;

static const float *ref_f32(const char *name, size_t numel)
{
	const tl_st_tensor *t = tl_st_find(&ref, name);
	CHECK(t && t->dtype == TL_ST_F32 && t->numel == numel);
	return t && t->dtype == TL_ST_F32 && t->numel == numel ? tl_st_bytes(&ref, t) : NULL;
}

/* worst |a - b| of the student's logits and last hidden state (real
 * tokens) against the reference called name */
static double run_against(tl_bert *m, const char *name, const int32_t *ids, const int32_t *lens, int B, int T)
{
	char k[64];
	snprintf(k, sizeof k, "%s_logits", name);
	const float *rl = ref_f32(k, (size_t)B * 3);
	snprintf(k, sizeof k, "%s_hidden", name);
	const float *rh = ref_f32(k, (size_t)B * T * 16);
	if (!rl || !rh)
		return 1e30;
	double worst = 0;
	tl_bert_forward(m, ids, NULL, lens, B, T, -1);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < lens[b]; t++)
			for (int c = 0; c < 16; c++) {
				size_t i = ((size_t)b * T + (size_t)t) * 16 + (size_t)c;
				double d = fabs((double)m->out[i] - rh[i]);
				worst = d > worst ? d : worst;
			}
	const float *lg = tl_bert_classify(m);
	CHECK(lg != NULL);
	for (int i = 0; lg && i < B * 3; i++) {
		double d = fabs((double)lg[i] - rl[i]);
		worst = d > worst ? d : worst;
	}
	return worst;
}

int main(void)
{
	char err[512];
	if (tl_st_open(&ref, "tests/ref/tiny_student.safetensors", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const tl_st_tensor *ti = tl_st_find(&ref, "ids"), *tn = tl_st_find(&ref, "lens");
	CHECK(ti && tn && ti->dtype == TL_ST_I32 && tn->dtype == TL_ST_I32 && ti->ndim == 2);
	if (!ti || !tn)
		TEST_REPORT("test_student");
	const int32_t *ids = tl_st_bytes(&ref, ti), *lens = tl_st_bytes(&ref, tn);
	int B = (int)ti->shape[0], T = (int)ti->shape[1];

	tl_bert *t = tl_bert_load(TINY, NULL, err, sizeof err);
	tl_bert *s = tl_bert_load(TINY, NULL, err, sizeof err);
	CHECK(t && s);
	if (!t || !s)
		TEST_REPORT("test_student");
	t->k->set_threads(1);
	CHECK_EQ_INT(t->cfg.L, 2);

	/* bad lists: -1, the model unchanged */
	int bad[][3] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {-1, 0, 0}, {0, 1, 2}};
	int nbad[] = {2, 2, 1, 1, 3};
	for (size_t i = 0; i < sizeof nbad / sizeof *nbad; i++) {
		err[0] = 0;
		CHECK_EQ_INT(tl_bert_keep_layers(s, bad[i], nbad[i], err, sizeof err), -1);
		CHECK(err[0] != 0);
		CHECK_EQ_INT(s->cfg.L, 2);
		CHECK_EQ_INT(s->nparams, t->nparams);
	}
	CHECK_EQ_INT(tl_bert_keep_layers(s, bad[0], 0, err, sizeof err), -1);

	/* every layer kept: the same model, the same bits */
	int all[] = {0, 1};
	double w01 = run_against(s, "student01", ids, lens, B, T); /* prepares the weights in place */
	CHECK(tl_bert_keep_layers(s, all, 2, err, sizeof err) == 0);
	CHECK_EQ_INT(s->nparams, t->nparams);
	CHECK(memcmp(s->arena, t->arena, t->nparams * sizeof(float)) == 0);
	double w01b = run_against(s, "student01", ids, lens, B, T);
	printf("layers 0,1 against transformers: worst |diff| %.3g (again after keep_layers: %.3g)\n", w01, w01b);
	CHECK(w01 <= 1e-5);
	CHECK(w01b == w01);

	/* layer 1 alone: its weights, renumbered 0; embeddings, pooler and head kept */
	int one[] = {1};
	CHECK(tl_bert_keep_layers(s, one, 1, err, sizeof err) == 0);
	CHECK_EQ_INT(s->cfg.L, 1);
	size_t per = 0;
	for (int i = 5; i <= 16; i++)
		per += t->param_sizes[i] / 2;
	CHECK_EQ_INT(s->nparams, t->nparams - per);
	tl_bert_unprepare(t);
	const float *tp[TL_BERT_NPARAMS], *sp[TL_BERT_NPARAMS];
	memcpy(tp, &t->params, sizeof tp);
	memcpy(sp, &s->params, sizeof sp);
	int same = 1;
	for (int i = 0; i < TL_BERT_NPARAMS; i++) {
		int layered = i >= 5 && i <= 16;
		size_t n = s->param_sizes[i];
		if (!n)
			continue;
		same &= memcmp(sp[i], tp[i] + (layered ? n : 0), n * sizeof(float)) == 0;
	}
	CHECK(same);
	double w1 = run_against(s, "student1", ids, lens, B, T);
	printf("layer 1 alone against transformers: worst |diff| %.3g\n", w1);
	CHECK(w1 <= 1e-5);

	tl_bert_free(t);
	tl_bert_free(s);
	tl_st_close(&ref);
	TEST_REPORT("test_student");
}
