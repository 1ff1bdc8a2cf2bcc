/* lib/models/bert/mlm.c - the masked-LM head of BertForMaskedLM on the
 * training forward (issue 18): loss, backward into the head, the tied
 * word embeddings and the last hidden state; and BERT's masking.
 * See tl/bert_train.h (tl_bert_train_mlm_loss) and tl/mlm.h.
 *
 * The head (transformers BertOnlyMLMHead), at the M labelled positions
 * only:
 *   x = h[rows]                    [M, C]  gathered rows of the last hidden state
 *   u = x Wd^T + bd                [M, C]  cls.predictions.transform.dense
 *   g = gelu(u)                            exact erf GELU (config "gelu")
 *   y = LN(g)                              transform.LayerNorm, eps = cfg.eps
 *   z = y wte^T + bias             [M, V]  decoder tied to the word embeddings
 *   loss = mean_j CE(z_j, target_j)
 * One [M, C] x [C, V] product for the logits and two for its backward
 * (dy = dz wte, dwte += dz^T y), all through the kernel table. */
#include "tl/bert_train.h"
#include "tl/mlm.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void mlm_scratch(tl_bert_train *t, size_t M)
{
	tl_bert_mlm_acts *s = &t->mlm;
	const tl_kernels *k = t->k;
	size_t C = (size_t)t->m->cfg.C, V = (size_t)t->m->cfg.vocab_size;
	if (M > s->cap) {
		size_t cap = M < 64 ? 64 : M + M / 4;
		if (s->arena)
			k->free(s->arena);
		free(s->rows);
		/* rounded to 16 floats per buffer */
		size_t rc = (cap * C + 15) & ~(size_t)15, r1 = (cap + 15) & ~(size_t)15, rv = (cap * V + 15) & ~(size_t)15;
		s->arena = k->alloc((7 * rc + 2 * r1 + 2 * rv) * sizeof(float));
		s->rows = tl_xmalloc(2 * cap * sizeof *s->rows);
		s->tgt = s->rows + cap;
		s->cap = cap;
		float *p = s->arena;
		float **bufs[] = {&s->x, &s->h, &s->g, &s->y, &s->dy, &s->dg, &s->dx};
		for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++, p += rc)
			*bufs[i] = p;
		s->mean = p, p += r1;
		s->rstd = p, p += r1;
		s->logits = p, p += rv;
		s->dlogits = p;
	}
}

/* The mean cross-entropy over the M rows and its gradient (times scale):
 * the kernel table's softmax_xent on fixed blocks of XENT_ROWS rows (each
 * block's mean, weighted back by its rows, summed in block order), the
 * blocks in parallel on a host-memory backend. The blocks do not depend
 * on the thread count: the same bits whatever it is. */
#define XENT_ROWS 8
static double mlm_xent(const tl_kernels *k, const tl_bert_mlm_acts *s, int M, int V, float scale)
{
	int nb = (M + XENT_ROWS - 1) / XENT_ROWS;
	double *part = tl_xmalloc((size_t)nb * sizeof *part + 8);
#pragma omp parallel for schedule(dynamic, 1) if (k->host_memory && nb > 1)
	for (int b = 0; b < nb; b++) {
		int r0 = b * XENT_ROWS, n = M - r0 < XENT_ROWS ? M - r0 : XENT_ROWS;
		size_t o = (size_t)r0 * V;
		part[b] = n * k->softmax_xent(s->dlogits + o, s->logits + o, s->tgt + r0, NULL, NULL, 0.0f,
					      (float)((double)scale * n / M), n, V);
	}
	double sum = 0;
	for (int b = 0; b < nb; b++)
		sum += part[b];
	free(part);
	return sum / M;
}

double tl_bert_train_mlm_loss(tl_bert_train *t, const int32_t *labels, float scale, long *n_out)
{
	tl_bert *m = t->m;
	const tl_kernels *k = t->k;
	const tl_bert_config *c = &m->cfg;
	const tl_bert_params *p = &m->params;
	tl_bert_params *g = &t->grads;
	int B = t->B, T = t->T, C = c->C, V = c->vocab_size, L = c->L;
	size_t BT = (size_t)B * T, M = 0;
	if (n_out)
		*n_out = 0;
	if (!c->mlm || !p->mlm_dw)
		return NAN;
	for (size_t i = 0; i < BT; i++)
		M += labels[i] != TL_IGNORE_LABEL && labels[i] >= 0 && labels[i] < V;
	if (n_out)
		*n_out = (long)M;
	if (!M)
		return 0;
	mlm_scratch(t, M);
	tl_bert_mlm_acts *s = &t->mlm;
	size_t j = 0;
	for (size_t i = 0; i < BT; i++)
		if (labels[i] != TL_IGNORE_LABEL && labels[i] >= 0 && labels[i] < V) {
			s->rows[j] = (int32_t)i;
			s->tgt[j++] = labels[i];
		}
	const float *hid = tl_bert_train_hidden(t);
	size_t row = (size_t)C * sizeof(float);
	for (j = 0; j < M; j++)
		k->copy(s->x + j * C, hid + (size_t)s->rows[j] * C, row);
	int Mi = (int)M;
	size_t MC = M * (size_t)C;
	/* forward */
	k->matmul_forward(s->h, s->x, p->mlm_dw, p->mlm_db, Mi, C, C);
	k->gelu_forward(s->g, s->h, MC);
	k->layernorm_forward(s->y, s->mean, s->rstd, s->g, p->mlm_lnw, p->mlm_lnb, Mi, C, c->eps);
	k->matmul_forward(s->logits, s->y, p->wte, p->mlm_bias, Mi, C, V);
	double loss = mlm_xent(k, s, Mi, V, scale);
	/* backward: the decoder (tied: dwte += dz^T y), LayerNorm, GELU, dense */
	k->memset(s->dy, 0, MC * sizeof(float));
	k->matmul_backward(s->dy, g->wte, g->mlm_bias, s->dlogits, s->y, p->wte, Mi, C, V);
	t->wte_dense = 1; /* every row of the tied decoder's gradient */
	k->memset(s->dg, 0, MC * sizeof(float));
	k->layernorm_backward(s->dg, g->mlm_lnw, g->mlm_lnb, s->dy, s->g, p->mlm_lnw, s->mean, s->rstd, Mi, C);
	k->gelu_backward(s->dg, s->h, s->dg, MC); /* in place: assigned */
	int enc = t->freeze_below < L;
	if (enc)
		k->memset(s->dx, 0, MC * sizeof(float));
	k->matmul_backward(enc ? s->dx : NULL, g->mlm_dw, g->mlm_db, s->dg, s->x, p->mlm_dw, Mi, C, C);
	if (enc) { /* scatter into the hidden-state gradient of the next backward */
		if (!t->dhid_set)
			k->memset(t->a.dhid, 0, BT * row);
		t->dhid_set = 1;
		for (j = 0; j < M; j++) {
			float *d = t->a.dhid + (size_t)s->rows[j] * C;
			k->residual_forward(d, d, s->dx + j * C, (size_t)C);
		}
	}
	return loss;
}

/* ---------------- masking ---------------- */

static int is_special(int32_t id, int32_t V, const int32_t *special, int nspecial)
{
	if (id < 0 || id >= V)
		return 1;
	for (int i = 0; i < nspecial; i++)
		if (special[i] == id)
			return 1;
	return 0;
}

/* End (exclusive) of the unit that starts at maskable position i: with
 * whole-word grouping, the continuation pieces that follow it. */
static int unit_end(const int32_t *ids, int len, int i, const unsigned char *cont, int ww, int32_t V,
		    const int32_t *special, int nspecial)
{
	int e = i + 1;
	if (ww)
		while (e < len && cont[e] && !is_special(ids[e], V, special, nspecial))
			e++;
	return e;
}

int tl_mlm_mask(int32_t *ids, int32_t *labels, int len, const unsigned char *cont, int whole_word, float p,
		int32_t mask_id, int32_t V, const int32_t *special, int nspecial, uint64_t seed, uint64_t stream)
{
	if (len < 0 || !(p >= 0.0f && p <= 1.0f) || V < 1 || (len > 0 && (!ids || !labels)) || nspecial < 0)
		return -1;
	int ww = whole_word && cont;
	uint64_t st = seed ^ (stream * 0x9e3779b97f4a7c15ull) ^ 0x6d6c6d6d61736bull; /* "mlmmask" */
	/* pass 1: one draw per unit, in order: chosen when u < p */
	int nunits = 0, chosen = 0;
	for (int i = 0; i < len; i++)
		labels[i] = TL_IGNORE_LABEL;
	for (int i = 0; i < len;) {
		if (is_special(ids[i], V, special, nspecial)) {
			i++;
			continue;
		}
		int e = unit_end(ids, len, i, cont, ww, V, special, nspecial);
		nunits++;
		if (tl_splitmix64_unit(&st) < (double)p)
			for (int q = i; q < e; q++, chosen++)
				labels[q] = ids[q];
		i = e;
	}
	if (!nunits)
		return 0;
	/* at least one: a unit drawn uniformly */
	if (!chosen) {
		size_t want = tl_splitmix64_index(&st, (size_t)nunits), u = 0;
		for (int i = 0; i < len;) {
			if (is_special(ids[i], V, special, nspecial)) {
				i++;
				continue;
			}
			int e = unit_end(ids, len, i, cont, ww, V, special, nspecial);
			if (u++ == want) {
				for (int q = i; q < e; q++, chosen++)
					labels[q] = ids[q];
				break;
			}
			i = e;
		}
	}
	/* pass 2: each chosen position in order: [MASK] 80%, random 10%, kept 10% */
	for (int i = 0; i < len; i++) {
		if (labels[i] == TL_IGNORE_LABEL)
			continue;
		double r = tl_splitmix64_unit(&st);
		if (r < 0.8)
			ids[i] = mask_id;
		else if (r < 0.9)
			ids[i] = (int32_t)tl_splitmix64_index(&st, (size_t)V);
	}
	return chosen;
}
