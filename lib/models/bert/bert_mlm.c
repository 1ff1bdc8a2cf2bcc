/* lib/models/bert/bert_mlm.c - continued masked-LM pretraining in the
 * fine-tuning loop: the masking of a batch, the dev MLM loss, the
 * BertForMaskedLM directory. See bert_mlm.h and man tl-train (CONTINUED
 * PRETRAINING). The head, its loss and the masking of one sequence are
 * tl/bert_train.h's and tl/mlm.h's.
 */
#include "bert_mlm.h"

#include "tl/mlm.h"
#include "tl/vocab.h"

#include <stdlib.h>
#include <string.h>

int tl_mlm_ctx_init(tl_mlm_ctx *c, const char *dir, int32_t V, float p, int whole_word, uint64_t seed, tl_err *e)
{
	memset(c, 0, sizeof *c);
	char err[512];
	tl_buf path = {0};
	tl_buf_printf(&path, "%s/vocab.txt", dir);
	tl_vocab *v = tl_vocab_load(tl_buf_cstr(&path), err, sizeof err);
	tl_buf_free(&path);
	if (!v)
		return tl_seterr(e, TL_EXIT_MODEL, "%s", err);
	int rc = -1;
	if ((int64_t)tl_vocab_size(v) != V) {
		tl_seterr(e, TL_EXIT_MODEL, "%s/vocab.txt: %zu tokens, the model's vocab_size is %d", dir, tl_vocab_size(v),
			  V);
		goto out;
	}
	c->mask_id = tl_vocab_id(v, "[MASK]", 6);
	if (c->mask_id < 0) {
		tl_seterr(e, TL_EXIT_MODEL, "%s/vocab.txt: no [MASK] token (--objective mlm replaces tokens by it)", dir);
		goto out;
	}
	static const char *const sp[] = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"};
	for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
		int32_t id = tl_vocab_id(v, sp[i], strlen(sp[i]));
		if (id >= 0)
			c->special[c->nspecial++] = id;
	}
	c->cont = tl_xcalloc((size_t)V + 1, 1);
	for (int32_t i = 0; i < V; i++) {
		size_t n;
		const char *s = tl_vocab_token(v, i, &n);
		c->cont[i] = s && n > 2 && s[0] == '#' && s[1] == '#';
	}
	c->V = V;
	c->p = p;
	c->whole_word = whole_word;
	c->seed = seed;
	rc = 0;
out:
	tl_vocab_free(v);
	return rc;
}

void tl_mlm_ctx_free(tl_mlm_ctx *c)
{
	free(c->cont);
	memset(c, 0, sizeof *c);
}

static int is_special(const tl_mlm_ctx *c, int32_t id)
{
	for (int i = 0; i < c->nspecial; i++)
		if (c->special[i] == id)
			return 1;
	return id < 0 || id >= c->V;
}

int tl_mlm_maskable(const tl_mlm_ctx *c, const int32_t *ids, int len)
{
	int n = 0;
	for (int i = 0; i < len; i++)
		n += !is_special(c, ids[i]);
	return n;
}

uint64_t tl_mlm_stream(long epoch, size_t rec)
{
	/* epoch + 1 above bit 36: 2^36 records, 2^27 epochs, dev (-1) on 0 */
	return ((uint64_t)(epoch + 1) << 36) | ((uint64_t)rec & ((1ull << 36) - 1));
}

long tl_mlm_mask_batch(const tl_mlm_ctx *c, int32_t *ids, int32_t *labels, const int32_t *lens, int B, int T,
		       const size_t *rec, long epoch)
{
	unsigned char *cont = c->whole_word ? tl_xmalloc((size_t)T + 1) : NULL;
	long n = 0;
	for (int i = 0; i < B; i++) {
		int32_t *x = ids + (size_t)i * (size_t)T, *y = labels + (size_t)i * (size_t)T;
		int len = lens[i];
		if (cont)
			for (int j = 0; j < len; j++)
				cont[j] = x[j] >= 0 && x[j] < c->V ? c->cont[x[j]] : 0;
		int k = tl_mlm_mask(x, y, len, cont, c->whole_word, c->p, c->mask_id, c->V, c->special, c->nspecial,
				    c->seed, tl_mlm_stream(epoch, rec[i]));
		n += k > 0 ? k : 0;
		for (int j = len; j < T; j++)
			y[j] = TL_IGNORE_LABEL;
	}
	free(cont);
	return n;
}

static const int *sort_len;
static int cmp_len(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (sort_len[x] != sort_len[y])
		return sort_len[x] < sort_len[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

void tl_mlm_evaluate(tl_bert_train *t, const tl_mlm_ctx *c, const int32_t *ids, const int32_t *types,
		     const size_t *off, const int *len, size_t n, double *loss, long *npos)
{
	const size_t bs = 32;
	size_t *idx = tl_xmalloc((n + 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_len = len;
	qsort(idx, n, sizeof *idx, cmp_len);
	int maxT = 0;
	for (size_t i = 0; i < n; i++)
		maxT = len[i] > maxT ? len[i] : maxT;
	size_t cap = bs * (size_t)maxT + 1;
	int32_t *bi = tl_xmalloc(cap * sizeof *bi), *bt = tl_xmalloc(cap * sizeof *bt), *by = tl_xmalloc(cap * sizeof *by);
	int32_t lens[32];
	double sum = 0;
	long m = 0;
	for (size_t i = 0; i < n; i += bs) {
		size_t B = n - i < bs ? n - i : bs;
		int T = len[idx[i + B - 1]]; /* sorted: the last is the longest */
		memset(bi, 0, B * (size_t)T * sizeof *bi);
		memset(bt, 0, B * (size_t)T * sizeof *bt);
		for (size_t j = 0; j < B; j++) {
			size_t r = idx[i + j];
			lens[j] = len[r];
			memcpy(bi + j * (size_t)T, ids + off[r], (size_t)len[r] * sizeof *bi);
			if (types)
				memcpy(bt + j * (size_t)T, types + off[r], (size_t)len[r] * sizeof *bt);
		}
		tl_mlm_mask_batch(c, bi, by, lens, (int)B, T, idx + i, -1);
		tl_bert_train_forward(t, bi, types ? bt : NULL, lens, (int)B, T, 0, 0, 0);
		long k = 0;
		/* scale 0: the loss only (the gradients it adds are zeros) */
		double l = tl_bert_train_mlm_loss(t, by, 0.0f, &k);
		sum += l * (double)k;
		m += k;
	}
	*loss = m ? sum / (double)m : 0;
	*npos = m;
	free(idx), free(bi), free(bt), free(by);
}

void tl_mlm_config(json_t *cfg)
{
	json_object_set_new(cfg, "architectures", json_pack("[s]", "BertForMaskedLM"));
	static const char *const drop[] = {"id2label", "label2id", "num_labels", "problem_type", "classifier_dropout"};
	for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
		json_object_del(cfg, drop[i]);
	json_object_set_new(cfg, "tie_word_embeddings", json_true()); /* the decoder is the word embeddings */
}

int tl_mlm_is_head_tensor(const char *name)
{
	return !strncmp(name, "cls.predictions.", 16);
}

int tl_mlm_keep_tensor(const tl_bert_tensor *ts)
{
	return !ts->ckpt_only && strncmp(ts->name, "bert.pooler.", 12) && strncmp(ts->name, "classifier.", 11) &&
	       strncmp(ts->name, "tl.", 3);
}
