/* fuzz_config.c - a model directory's config.json and
 * tokenizer_config.json: the input is tokenizer_config.json, a line
 * "----", then config.json (either part may be absent). Read as the tools
 * do: tl_vocab_read_config (tokenizer settings), tl_model_read_config and
 * tl_model_config_int for the BERT sizes, tl_classifier_read_labels for
 * id2label/num_labels/problem_type. Every refusal has a message. */
#include "fuzz.h"
#include "tl/classifier.h"
#include "tl/model.h"
#include "tl/vocab.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t l0 = 0, l1 = 0;
	const uint8_t *p0 = fz_part(data, size, 0, &l0), *p1 = fz_part(data, size, 1, &l1);
	if (l0 || !p1)
		fz_write("tokenizer_config.json", p0, l0);
	else
		fz_unlink("tokenizer_config.json");
	if (p1)
		fz_write("config.json", p1, l1);
	else
		fz_unlink("config.json");
	const char *dir = fz_dir();
	char err[512] = "";
	tl_vocab_config c;
	tl_vocab_config_default(&c);
	if (tl_vocab_read_config(dir, &c, err, sizeof err) < 0)
		FZ_CHECK(err[0]);
	else
		FZ_CHECK(c.max_len >= 0 && (c.lower == 0 || c.lower == 1) && c.strip_accents >= -1 &&
			 c.strip_accents <= 1 && (c.chinese == 0 || c.chinese == 1));
	err[0] = 0;
	json_t *cfg = tl_model_read_config(dir, err, sizeof err);
	if (!cfg) {
		FZ_CHECK(err[0]);
		return 0;
	}
	static const char *keys[] = {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
				     "vocab_size", "max_position_embeddings", "type_vocab_size", "num_labels"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		long v = -7;
		err[0] = 0;
		if (tl_model_config_int(cfg, dir, keys[i], -1, &v, err, sizeof err) < 0)
			FZ_CHECK(err[0]);
	}
	tl_classifier cl;
	memset(&cl, 0, sizeof cl);
	tl_classifier_err e;
	memset(&e, 0, sizeof e);
	if (tl_classifier_read_labels(&cl, cfg, data[0] % 4, &e) == 0) {
		FZ_CHECK(cl.nlabels >= 0 && (cl.nlabels == 0 || cl.labels));
		for (int i = 0; i < cl.nlabels; i++)
			FZ_CHECK(cl.labels[i]);
	} else {
		FZ_CHECK(e.msg[0]);
	}
	for (int i = 0; i < cl.nlabels && cl.labels; i++)
		free(cl.labels[i]);
	free(cl.labels);
	json_decref(cfg);
	return 0;
}
