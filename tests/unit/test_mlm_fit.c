/* test_mlm_fit.c - the masking side of `tl-train --objective mlm`
 * (lib/models/bert/bert_mlm.c): special ids and "##" pieces read from a
 * vocabulary, the batch masking (labels, padding, the rate, 80/10/10,
 * whole words, determinism from (seed, epoch, record), the fixed dev
 * masking), the BertForMaskedLM config and tensor choice. The head's
 * numerics are test_backward's (issue 18, tl_bert_train_mlm_loss); the
 * loop end to end is tests/bats/mlm.bats. */
#include "lib/models/bert/bert_mlm.h"
#include "testhelp.h"
#include "tl/fsutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a vocabulary of 40: the 5 specials, 20 words w0..w19 and 15 continuations ##c0..##c14 */
static char *make_vocab(void)
{
	char *dir = strdup("/tmp/test_mlm_fit.XXXXXX");
	if (!mkdtemp(dir))
		return NULL;
	tl_buf p = {0}, v = {0};
	tl_buf_printf(&p, "%s/vocab.txt", dir);
	tl_buf_adds(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
	for (int i = 0; i < 20; i++)
		tl_buf_printf(&v, "w%d\n", i);
	for (int i = 0; i < 15; i++)
		tl_buf_printf(&v, "##c%d\n", i);
	tl_fs_write_file(tl_buf_cstr(&p), v.data, v.len);
	tl_buf_free(&p);
	tl_buf_free(&v);
	return dir;
}

int main(void)
{
	char *dir = make_vocab();
	CHECK(dir != NULL);
	tl_mlm_ctx c;
	tl_err e = {0};
	/* a vocabulary of another size than the model's: refused */
	CHECK_EQ_INT(tl_mlm_ctx_init(&c, dir, 41, 0.15f, 0, 1, &e), -1);
	CHECK_EQ_INT(e.code, TL_EXIT_MODEL);
	CHECK_EQ_INT(tl_mlm_ctx_init(&c, dir, 40, 0.15f, 0, 1, &e), 0);
	CHECK_EQ_INT(c.mask_id, 4);
	CHECK_EQ_INT(c.nspecial, 5);
	int cont = 0;
	for (int i = 0; i < 40; i++)
		cont += c.cont[i];
	CHECK_EQ_INT(cont, 15);
	CHECK(c.cont[25] && c.cont[39] && !c.cont[24] && !c.cont[5]);
	{
		int32_t a[] = {2, 3}, b[] = {2, 1, 4, 3}, d[] = {2, 7, 30, 3};
		CHECK_EQ_INT(tl_mlm_maskable(&c, a, 2), 0);
		CHECK_EQ_INT(tl_mlm_maskable(&c, b, 4), 0); /* [UNK] and [MASK] are special */
		CHECK_EQ_INT(tl_mlm_maskable(&c, d, 4), 2);
	}
	CHECK(tl_mlm_stream(0, 5) != tl_mlm_stream(1, 5));
	CHECK(tl_mlm_stream(-1, 5) != tl_mlm_stream(0, 5));

	/* a batch of B rows of length up to T, padded */
	enum { B = 64, T = 32 };
	static int32_t ids[B * T], orig[B * T], lab[B * T], ids2[B * T], lab2[B * T];
	int32_t lens[B];
	size_t rec[B];
	for (int i = 0; i < B; i++) {
		lens[i] = 8 + i % 24;
		rec[i] = (size_t)(100 + i);
		for (int j = 0; j < T; j++) {
			int32_t x = 0;
			if (j == 0)
				x = 2;
			else if (j == lens[i] - 1)
				x = 3;
			else if (j < lens[i])
				x = (i + j) % 3 == 0 ? 25 + (i * 7 + j) % 15 : 5 + (i * 3 + j) % 20; /* words and pieces */
			orig[i * T + j] = x;
		}
	}
	memcpy(ids, orig, sizeof ids);
	long n = tl_mlm_mask_batch(&c, ids, lab, lens, B, T, rec, 0);
	long total = 0, chosen = 0, masked = 0, kept = 0, other = 0, bad = 0;
	for (int i = 0; i < B; i++)
		for (int j = 0; j < T; j++) {
			int k = i * T + j;
			if (j >= lens[i]) {
				bad += lab[k] != TL_IGNORE_LABEL || ids[k] != 0;
				continue;
			}
			int sp = orig[k] == 2 || orig[k] == 3;
			total += !sp;
			if (lab[k] == TL_IGNORE_LABEL) {
				bad += ids[k] != orig[k];
				continue;
			}
			bad += sp || lab[k] != orig[k];
			chosen++;
			if (ids[k] == 4)
				masked++;
			else if (ids[k] == orig[k])
				kept++;
			else
				other++;
		}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(n, chosen);
	/* 64 rows of 6..29 maskable tokens: 1,056; 15% (158) within 4 sd (+-46), 80/10/10 */
	CHECK_EQ_INT(total, 1056);
	CHECK(chosen > 0.15 * 1056 - 46 && chosen < 0.15 * 1056 + 46);
	CHECK(masked > 0.8 * chosen - 25 && masked < 0.8 * chosen + 25);
	CHECK(kept + other > 0.2 * chosen - 25 && kept + other < 0.2 * chosen + 25);
	CHECK(other > 0 && kept > 0);

	/* determinism: the same (seed, epoch, record) gives the same bits; another epoch, record or seed not */
	memcpy(ids2, orig, sizeof ids2);
	tl_mlm_mask_batch(&c, ids2, lab2, lens, B, T, rec, 0);
	CHECK(!memcmp(ids, ids2, sizeof ids) && !memcmp(lab, lab2, sizeof lab));
	memcpy(ids2, orig, sizeof ids2);
	tl_mlm_mask_batch(&c, ids2, lab2, lens, B, T, rec, 1);
	CHECK(memcmp(lab, lab2, sizeof lab) != 0);
	/* a record's masking does not depend on its batch or row: row 5 alone */
	{
		int32_t one[T], l1[T];
		memcpy(one, orig + 5 * T, sizeof one);
		tl_mlm_mask_batch(&c, one, l1, lens + 5, 1, T, rec + 5, 0);
		CHECK(!memcmp(one, ids + 5 * T, sizeof one) && !memcmp(l1, lab + 5 * T, sizeof l1));
	}
	/* dev (epoch -1): the same at every call, not an epoch's */
	memcpy(ids2, orig, sizeof ids2);
	tl_mlm_mask_batch(&c, ids2, lab2, lens, B, T, rec, -1);
	CHECK(memcmp(lab, lab2, sizeof lab) != 0);
	memcpy(ids, orig, sizeof ids);
	tl_mlm_mask_batch(&c, ids, lab, lens, B, T, rec, -1);
	CHECK(!memcmp(lab, lab2, sizeof lab));
	tl_mlm_ctx_free(&c);
	CHECK_EQ_INT(tl_mlm_ctx_init(&c, dir, 40, 0.15f, 0, 2, &e), 0);
	memcpy(ids2, orig, sizeof ids2);
	tl_mlm_mask_batch(&c, ids2, lab2, lens, B, T, rec, -1);
	CHECK(memcmp(lab, lab2, sizeof lab) != 0); /* another seed */
	tl_mlm_ctx_free(&c);

	/* whole words: a "##" piece is labelled exactly when the piece before it is */
	CHECK_EQ_INT(tl_mlm_ctx_init(&c, dir, 40, 0.3f, 1, 1, &e), 0);
	memcpy(ids, orig, sizeof ids);
	tl_mlm_mask_batch(&c, ids, lab, lens, B, T, rec, 0);
	long groups = 0;
	bad = 0;
	for (int i = 0; i < B; i++)
		for (int j = 1; j < lens[i] - 1; j++) {
			int k = i * T + j;
			if (orig[k] >= 25 && orig[k - 1] != 2) {
				bad += (lab[k] != TL_IGNORE_LABEL) != (lab[k - 1] != TL_IGNORE_LABEL);
				groups += lab[k] != TL_IGNORE_LABEL;
			}
		}
	CHECK_EQ_INT(bad, 0);
	CHECK(groups > 0);
	tl_mlm_ctx_free(&c);

	/* the model directory: BertForMaskedLM, no labels; the tensors written */
	json_t *cfg = json_pack("{s:[s],s:{s:s},s:{s:i},s:i,s:s,s:i}", "architectures", "BertForSequenceClassification",
				"id2label", "0", "a", "label2id", "a", 0, "num_labels", 1, "problem_type",
				"single_label_classification", "hidden_size", 16);
	tl_mlm_config(cfg);
	CHECK_STR(json_string_value(json_array_get(json_object_get(cfg, "architectures"), 0)), "BertForMaskedLM");
	CHECK(!json_object_get(cfg, "id2label") && !json_object_get(cfg, "num_labels") &&
	      !json_object_get(cfg, "problem_type"));
	CHECK(json_is_true(json_object_get(cfg, "tie_word_embeddings")));
	CHECK_EQ_INT(json_integer_value(json_object_get(cfg, "hidden_size")), 16);
	json_decref(cfg);
	tl_bert_tensor ts;
	memset(&ts, 0, sizeof ts);
	static const char *const keep[] = {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.output.dense.bias",
					   "cls.predictions.bias", "cls.predictions.transform.dense.weight"};
	static const char *const drop[] = {"bert.pooler.dense.weight", "classifier.weight", "tl.domain.dense.weight"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(ts.name, sizeof ts.name, "%s", keep[i]);
		CHECK(tl_mlm_keep_tensor(&ts));
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(ts.name, sizeof ts.name, "%s", drop[i]);
		CHECK(!tl_mlm_keep_tensor(&ts));
	}
	CHECK(tl_mlm_is_head_tensor("cls.predictions.transform.LayerNorm.bias"));
	CHECK(!tl_mlm_is_head_tensor("classifier.bias"));

	tl_fs_rmtree(dir);
	free(dir);
	TEST_REPORT("test_mlm_fit");
}
