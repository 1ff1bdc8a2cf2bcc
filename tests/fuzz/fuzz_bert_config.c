/* fuzz_bert_config.c - the config.json of a BERT model directory beside
 * real weights, as tl-embed, tl-predict and tl-train --pretrained read it
 * (tl_bert_load, tl_bert_classifier_load): the sizes checked against the
 * safetensors shapes before anything is allocated, the bounds, hidden_act,
 * model_type, pruned_heads, id2label/num_labels. The input is config.json;
 * an optional second part after a line "----" starting with 'p' puts it
 * beside the head-pruned model of tests/ref/pruned_bert (H 64, 4 layers,
 * heads pruned), else beside tests/ref/tiny_bert (H 16, 2 layers, 3
 * labels). The weights and vocab.txt are written once. A model that loads
 * has the sizes of its tensors and encodes a short sequence; a classifier
 * that loads scores one record (a logit per label); every refusal has a
 * message and exit code 5. */
#include "fzmodel.h"
#include "tl/bert.h"
#include "tl/classifier.h"
#include "tl/kernels.h"
#include "tl/model.h"

#include <jansson.h>

static char tiny[256], pruned[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tiny[0]) {
		fz_subdir("tiny", tiny, sizeof tiny);
		fz_subdir("pruned", pruned, sizeof pruned);
		char dst[512];
		snprintf(dst, sizeof dst, "%s/model.safetensors", tiny);
		fz_copy("tests/ref/tiny_bert/model.safetensors", dst);
		snprintf(dst, sizeof dst, "%s/vocab.txt", tiny);
		fz_copy("tests/ref/tiny_bert/vocab.txt", dst);
		snprintf(dst, sizeof dst, "%s/model.safetensors", pruned);
		fz_copy("tests/ref/pruned_bert/model.safetensors", dst);
		snprintf(dst, sizeof dst, "%s/vocab.txt", pruned);
		fz_copy("tests/ref/pruned_bert/vocab.txt", dst);
		tl_kernels_cpu()->set_threads(1);
	}
	size_t l0 = 0, l1 = 0;
	const uint8_t *p0 = fz_part(data, size, 0, &l0), *p1 = fz_part(data, size, 1, &l1);
	const char *dir = p1 && l1 && p1[0] == 'p' ? pruned : tiny;
	fz_write_in(dir, "config.json", p0, l0);
	char err[512] = "";
	tl_bert *m = tl_bert_load(dir, NULL, err, sizeof err);
	if (!m) {
		FZ_CHECK(err[0]);
	} else {
		const tl_bert_config *c = &m->cfg;
		FZ_CHECK(c->C == (dir == tiny ? 16 : 64) && c->L >= 1 && c->L <= (dir == tiny ? 2 : 4));
		FZ_CHECK(c->vocab_size == (dir == tiny ? 40 : 50) && c->max_pos >= 1 && c->type_vocab >= 1);
		FZ_CHECK(m->nparams * sizeof(float) <= 2 * 417104);
		int32_t ids[4] = {2, 5, c->vocab_size - 1, 3}, type_ids[4] = {0, 0, 0, 0};
		int n = c->max_pos < 4 ? c->max_pos : 4;
		if (tl_bert_check_seq(m, ids, type_ids, n, err, sizeof err) == 0) {
			tl_bert_seq s = {ids, type_ids, n};
			tl_bert_encode_opts o;
			memset(&o, 0, sizeof o);
			o.batch_size = 1;
			int w = tl_bert_encode_width(m, &o);
			FZ_CHECK(w >= 1);
			float *out = calloc((size_t)w, sizeof *out);
			FZ_CHECK(out);
			tl_bert_encode(m, &s, 1, &o, out);
			free(out);
		}
		tl_bert_free(m);
	}
	err[0] = 0;
	json_t *cfg = tl_model_read_config(dir, err, sizeof err);
	if (!cfg) {
		FZ_CHECK(err[0]);
		return 0;
	}
	tl_classifier_err e;
	memset(&e, 0, sizeof e);
	tl_classifier *cl = tl_bert_classifier_load(dir, cfg, 1, &e);
	if (cl) {
		FZ_CHECK(cl->nlabels >= 1 && cl->labels);
		for (int i = 0; i < cl->nlabels; i++)
			FZ_CHECK(cl->labels[i]);
		if (!cl->token) {
			msgpack_zone z;
			msgpack_zone_init(&z, 1024);
			msgpack_sbuffer sb;
			msgpack_sbuffer_init(&sb);
			int32_t ids[3] = {2, 7, 3};
			msgpack_object o;
			tl_record rec;
			fz_ids_record(&z, &sb, ids, 3, &o, &rec);
			float *lg = calloc((size_t)cl->nlabels, sizeof *lg);
			FZ_CHECK(lg);
			memset(&e, 0, sizeof e);
			if (tl_classifier_predict(cl, &rec, 1, lg, &e) == 0) {
				volatile float sum = 0; /* read every logit: ASan checks the size */
				for (int i = 0; i < cl->nlabels; i++)
					sum += lg[i];
				(void)sum;
			} else
				FZ_CHECK(e.msg[0]);
			free(lg);
			msgpack_sbuffer_destroy(&sb);
			msgpack_zone_destroy(&z);
		}
		tl_classifier_free(cl);
	} else {
		FZ_CHECK(e.msg[0] && (e.code == TL_EXIT_MODEL || e.code == TL_EXIT_USAGE));
	}
	json_decref(cfg);
	return 0;
}
