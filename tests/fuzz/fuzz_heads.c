/* fuzz_heads.c - the heads list of a multi-task model (tl.json "tasks",
 * read by tl_bert_classifier_load for tl-predict and tl-eval): the input
 * is tl.json beside the config.json, model.safetensors (classifier "sent"
 * neg/pos and tl.heads.topic a/b/c on the tiny BERT) and vocab.txt of
 * tests/fuzz/data/multitask, written once. A classifier that loads has,
 * when the list has two or more tasks, heads whose label ranges tile its
 * labels in order, the first head being config.json's classifier; it
 * scores one record into a logit per stacked label. Every refusal has a
 * message and exit code 5. */
#include "fzmodel.h"
#include "tl/bert.h"
#include "tl/classifier.h"
#include "tl/kernels.h"
#include "tl/model.h"

#include <jansson.h>

static char dir[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		fz_subdir("mt", dir, sizeof dir);
		static const char *files[] = {"config.json", "model.safetensors", "vocab.txt"};
		for (int i = 0; i < 3; i++) {
			char src[256], dst[512];
			snprintf(src, sizeof src, "tests/fuzz/data/multitask/%s", files[i]);
			snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
			fz_copy(src, dst);
		}
		tl_kernels_cpu()->set_threads(1);
	}
	fz_write_in(dir, "tl.json", data, size);
	char err[512] = "";
	json_t *cfg = tl_model_read_config(dir, err, sizeof err);
	FZ_CHECK(cfg);
	tl_classifier_err e;
	memset(&e, 0, sizeof e);
	tl_classifier *cl = tl_bert_classifier_load(dir, cfg, 1, &e);
	json_decref(cfg);
	if (!cl) {
		FZ_CHECK(e.msg[0] && e.code == TL_EXIT_MODEL);
		return 0;
	}
	FZ_CHECK(cl->nlabels >= 2 && cl->labels);
	int nh = 0;
	const tl_bert_head *h = tl_bert_classifier_heads(cl, &nh);
	if (h) {
		FZ_CHECK(nh >= 2 && h[0].k0 == 0 && h[0].k == 2 && !strcmp(cl->labels[0], "neg") &&
			 !strcmp(cl->labels[1], "pos"));
		for (int i = 0; i < nh; i++) {
			FZ_CHECK(h[i].name && h[i].k >= 1);
			FZ_CHECK(i == 0 || h[i].k0 == h[i - 1].k0 + h[i - 1].k);
		}
		FZ_CHECK(h[nh - 1].k0 + h[nh - 1].k == cl->nlabels);
	} else {
		FZ_CHECK(nh == 0 && cl->nlabels == 2);
	}
	for (int i = 0; i < cl->nlabels; i++)
		FZ_CHECK(cl->labels[i]);
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	int32_t ids[4] = {2, 11, 30, 3};
	msgpack_object o;
	tl_record rec;
	fz_ids_record(&z, &sb, ids, 4, &o, &rec);
	float *lg = calloc((size_t)cl->nlabels, sizeof *lg);
	FZ_CHECK(lg);
	memset(&e, 0, sizeof e);
	FZ_CHECK(tl_classifier_predict(cl, &rec, 1, lg, &e) == 0);
	volatile float sum = 0; /* every logit read: ASan checks the size */
	for (int i = 0; i < cl->nlabels; i++)
		sum += lg[i];
	(void)sum;
	free(lg);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&z);
	tl_classifier_free(cl);
	return 0;
}
