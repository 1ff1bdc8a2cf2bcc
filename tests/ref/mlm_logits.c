/* mlm_logits.c - the tl side of tests/ref/mlm_hf_check.py: the masked-LM
 * logits and loss of a model directory (a BertForMaskedLM written by
 * `tl-train -m bert --objective mlm`) on given ids, one JSON line each.
 *   mlm_logits DIR < ids.jsonl      ({"ids": [...]} per line)
 * writes {"loss": L, "n": N, "logits": [[V floats] per position]}:
 * loss is tl_bert_train_mlm_loss with every position but the first and
 * the last labelled with its own id (N of them); the logits are those of
 * the head, LN(gelu(h Wd^T + bd)) wte^T + bias, computed here in double
 * from tl's last hidden state (tl_bert_train_forward, no dropout) and the
 * head's weights as tl loaded them. Built by the Python script against
 * build/libtl.a; not part of the test suite. */
#include "tl/bert_train.h"
#include "tl/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mlm_logits DIR < ids.jsonl\n");
		return 2;
	}
	char err[512];
	tl_bert *m = tl_bert_load(argv[1], NULL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "mlm_logits: %s\n", err);
		return 5;
	}
	int had_head = m->cfg.mlm;
	tl_bert_train t;
	tl_bert_train_init(&t, m, 0, 0, 0.02f, 1);
	t.mlm_only = 1;
	if (tl_bert_train_mlm_init(&t, 0.02f, 1, err, sizeof err) < 0) {
		fprintf(stderr, "mlm_logits: %s\n", err);
		return 5;
	}
	if (!had_head)
		fprintf(stderr, "mlm_logits: %s has no cls.predictions.* (a fresh head is compared)\n", argv[1]);
	m = t.m;
	const tl_bert_params *p = &m->params;
	int C = m->cfg.C, V = m->cfg.vocab_size;
	char line[1 << 16];
	while (fgets(line, sizeof line, stdin)) {
		json_error_t je;
		json_t *r = json_loads(line, 0, &je), *ja = json_object_get(r, "ids");
		int T = (int)json_array_size(ja);
		if (T < 3) {
			json_decref(r);
			continue;
		}
		int32_t *ids = malloc((size_t)T * sizeof *ids), *lab = malloc((size_t)T * sizeof *lab), len = T;
		for (int i = 0; i < T; i++) {
			ids[i] = (int32_t)json_integer_value(json_array_get(ja, (size_t)i));
			lab[i] = i == 0 || i == T - 1 ? TL_IGNORE_LABEL : ids[i];
		}
		tl_bert_train_forward(&t, ids, NULL, &len, 1, T, 0, 0, 0);
		const float *h = tl_bert_train_hidden(&t); /* CPU: host memory */
		double *hs = malloc((size_t)T * C * sizeof *hs);
		memset(hs, 0, (size_t)T * C * sizeof *hs);
		for (int i = 0; i < T; i++) {
			double *y = hs + (size_t)i * C, mean = 0, var = 0;
			for (int o = 0; o < C; o++) {
				double s = p->mlm_db[o];
				for (int c = 0; c < C; c++)
					s += (double)h[(size_t)i * C + c] * p->mlm_dw[(size_t)o * C + c];
				y[o] = 0.5 * s * (1.0 + erf(s / sqrt(2.0)));
				mean += y[o];
			}
			mean /= C;
			for (int o = 0; o < C; o++)
				var += (y[o] - mean) * (y[o] - mean);
			var /= C;
			for (int o = 0; o < C; o++)
				y[o] = (y[o] - mean) / sqrt(var + m->cfg.eps) * p->mlm_lnw[o] + p->mlm_lnb[o];
		}
		long n = 0;
		double loss = tl_bert_train_mlm_loss(&t, lab, 0.0f, &n);
		printf("{\"loss\":%.9g,\"n\":%ld,\"logits\":[", loss, n);
		for (int i = 0; i < T; i++) {
			printf("%s[", i ? "," : "");
			for (int v = 0; v < V; v++) {
				double s = p->mlm_bias[v];
				for (int c = 0; c < C; c++)
					s += hs[(size_t)i * C + c] * p->wte[(size_t)v * C + c];
				printf("%s%.7g", v ? "," : "", s);
			}
			printf("]");
		}
		printf("]}\n");
		free(ids), free(lab), free(hs);
		json_decref(r);
	}
	tl_bert_train_free(&t);
	return 0;
}
