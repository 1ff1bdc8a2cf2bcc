/* lib/models/bert/bert_train.c - training forward (dropout, all activations kept),
 * backward in reverse layer order, heads and losses for BERT sequence
 * classification. See tl/bert_train.h.
 *
 * The forward is the list of layer calls of Hugging Face's BertModel:
 *   x = dropout(LN(wte[ids] + wtt[types] + wpe[t]))
 *   per layer: qkv = x Wqkv^T; a = attention(qkv) (probability dropout);
 *              r1 = x + dropout(a Wo^T); h = LN1(r1);
 *              r2 = h + dropout(gelu(h W1^T) W2^T); x = LN2(r2)
 *   pooled = tanh(x[CLS] Wp^T); logits = dropout(pooled) Wc^T
 * and the backward is the same list reversed. Dropout masks come from the
 * counter-based generator of tl/dropout.h: stream (step, site) with
 * site 0 = embeddings, 8l+1.. = layer l, 8L+1 = classifier.
 * Token classification (t->token, BertForTokenClassification): no pooler;
 * logits[b*T+t] = dropout(x[b,t]) Wc^T + bc, the dropout on site 8L+1.
 * Rows (issue 22): everything but attention runs on the packed real
 * tokens (N = sum of lens rows, no work on padding, as tl_bert_forward);
 * attention keeps its padded [B, T] kernels, its qkv unpacked before and
 * its output packed after (the reverse in the backward). The dropout masks
 * index the packed elements. */
#include "tl/bert_train.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- set-up ---------------- */

/* dst[0..n) = N(0, std) as Hugging Face initialises a new head's weights:
 * Box-Muller on the counter stream *s, which goes on from where it is. */
static void fill_normal(float *dst, size_t n, float std, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (float)(std * tl_mix64_normal(s));
}

/* The stream of the classifier head (and a new pooler) of seed. */
static uint64_t head_stream(uint64_t seed)
{
	return seed ^ 0x6865616400000000ull; /* "head" */
}

/* Rebuild m's arena for cfg (pooler present when has_pooler): slot i keeps
 * its values when keep[i] (its size must be unchanged), the others start
 * at 0. Returns the new arena's host image (the arena itself on a host
 * backend) for the caller to fill at off[i]; rebuild_end uploads it and
 * points m at the new arena. */
static float *rebuild_begin(tl_bert *m, const tl_bert_config *cfg, int has_pooler, const int keep[TL_BERT_NPARAMS],
			    size_t sizes[TL_BERT_NPARAMS], size_t off[TL_BERT_NPARAMS], float **arena_out)
{
	const tl_kernels *k = m->k;
	size_t n = 0, oo = 0;
	tl_bert_params_layout(cfg, has_pooler, sizes);
	for (int i = 0; i < TL_BERT_NPARAMS; i++) {
		off[i] = n;
		n += sizes[i];
	}
	float *arena = k->alloc(n * sizeof(float) + 64);
	float *host = k->host_memory ? arena : tl_xcalloc(n + 16, sizeof(float));
	for (int i = 0; i < TL_BERT_NPARAMS; i++) {
		if (keep[i] && sizes[i] && sizes[i] == m->param_sizes[i])
			k->to_host(host + off[i], m->arena + oo, sizes[i] * sizeof(float));
		oo += m->param_sizes[i];
	}
	*arena_out = arena;
	return host;
}

static void rebuild_end(tl_bert *m, const tl_bert_config *cfg, int has_pooler, const size_t sizes[TL_BERT_NPARAMS],
			float *arena, float *host)
{
	const tl_kernels *k = m->k;
	size_t n = 0;
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		n += sizes[i];
	if (!k->host_memory) {
		k->to_device(arena, host, n * sizeof(float));
		free(host);
	}
	k->free(m->arena);
	m->arena = arena;
	m->cfg = *cfg;
	m->has_pooler = has_pooler;
	memcpy(m->param_sizes, sizes, TL_BERT_NPARAMS * sizeof *sizes);
	m->nparams = n;
	tl_bert_params_point(&m->params, m->arena, m->param_sizes);
}

void tl_bert_train_init(tl_bert_train *t, tl_bert *m, int nlabels, int multi_label, float init_std,
			uint64_t seed)
{
	memset(t, 0, sizeof *t);
	tl_bert_unprepare(m);
	t->m = m;
	t->k = m->k;
	t->multi_label = multi_label;
	t->p_hidden = t->p_att = t->p_cls = 0.1f;
	t->freeze_below = -1;
	if (m->cfg.nlabels != nlabels || !m->has_pooler) {
		tl_bert_config cfg = m->cfg;
		cfg.nlabels = nlabels;
		size_t sizes[TL_BERT_NPARAMS], off[TL_BERT_NPARAMS];
		int keep[TL_BERT_NPARAMS];
		/* the encoder, the pooler when present and the optional slots
		 * keep their values; the classifier is new */
		for (int i = 0; i < TL_BERT_NPARAMS; i++)
			keep[i] = i < 17 || i > 20 || ((i == 17 || i == 18) && m->has_pooler);
		float *arena, *host = rebuild_begin(m, &cfg, 1, keep, sizes, off, &arena);
		uint64_t s = head_stream(seed);
		size_t C = (size_t)cfg.C;
		if (!m->has_pooler) /* weight N(0, std), bias 0 */
			fill_normal(host + off[17], C * C, init_std, &s);
		fill_normal(host + off[19], (size_t)nlabels * C, init_std, &s);
		rebuild_end(m, &cfg, 1, sizes, arena, host);
	}
	t->grad_arena = m->k->alloc(m->nparams * sizeof(float));
	tl_bert_params_point(&t->grads, t->grad_arena, m->param_sizes);
}

void tl_bert_train_relabel_head(tl_bert_train *t, const int *perm, float init_std, uint64_t seed)
{
	tl_bert *m = t->m;
	size_t K = (size_t)m->cfg.nlabels, C = (size_t)m->cfg.C;
	float *w = tl_xmalloc((K * C + 1) * sizeof *w), *b = tl_xmalloc((K + 1) * sizeof *b);
	if (perm) {
		float *w0 = tl_xmalloc((K * C + 1) * sizeof *w0), *b0 = tl_xmalloc((K + 1) * sizeof *b0);
		m->k->to_host(w0, m->params.clsw, K * C * sizeof *w0);
		m->k->to_host(b0, m->params.clsb, K * sizeof *b0);
		for (size_t i = 0; i < K; i++) {
			memcpy(w + (size_t)perm[i] * C, w0 + i * C, C * sizeof *w);
			b[perm[i]] = b0[i];
		}
		free(w0);
		free(b0);
	} else { /* the draw of tl_bert_train_init for a model with a pooler */
		uint64_t s = head_stream(seed);
		fill_normal(w, K * C, init_std, &s);
		memset(b, 0, K * sizeof *b);
	}
	m->k->to_device(m->params.clsw, w, K * C * sizeof *w);
	m->k->to_device(m->params.clsb, b, K * sizeof *b);
	tl_bert_train_weights_changed(t);
	free(w);
	free(b);
}

/* After a rebuild of t->m's arena: a new (zeroed) gradient arena, bf16
 * handles refreshed at the next forward. */
static void grads_rebuilt(tl_bert_train *t)
{
	t->k->free(t->grad_arena);
	t->grad_arena = t->k->alloc(t->m->nparams * sizeof(float));
	tl_bert_params_point(&t->grads, t->grad_arena, t->m->param_sizes);
	t->pw_stale = 1;
}

int tl_bert_train_mlm_init(tl_bert_train *t, float init_std, uint64_t seed, char *err, size_t errsz)
{
	tl_bert *m = t->m;
	if (!(init_std >= 0.0f) || !isfinite(init_std))
		return tl_errf(err, errsz, "MLM head: init_std %g is not a finite number >= 0", (double)init_std);
	if (m->cfg.mlm)
		return 0; /* the checkpoint's own head */
	tl_bert_config cfg = m->cfg;
	cfg.mlm = 1;
	size_t sizes[TL_BERT_NPARAMS], off[TL_BERT_NPARAMS];
	int keep[TL_BERT_NPARAMS];
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		keep[i] = i < 21 || i > 25;
	float *arena, *host = rebuild_begin(m, &cfg, m->has_pooler, keep, sizes, off, &arena);
	uint64_t s = seed ^ 0x6d6c6d0000000000ull; /* "mlm" */
	size_t C = (size_t)cfg.C;
	fill_normal(host + off[21], C * C, init_std, &s); /* transform.dense.weight; its bias 0 */
	for (size_t i = 0; i < C; i++) /* transform.LayerNorm weight 1, bias 0 */
		host[off[23] + i] = 1.0f;
	rebuild_end(m, &cfg, m->has_pooler, sizes, arena, host); /* decoder bias 0 */
	grads_rebuilt(t);
	return 0;
}

int tl_bert_train_mlm_drop(tl_bert_train *t)
{
	tl_bert *m = t->m;
	if (!m->cfg.mlm)
		return 0;
	tl_bert_config cfg = m->cfg;
	cfg.mlm = 0;
	size_t sizes[TL_BERT_NPARAMS], off[TL_BERT_NPARAMS];
	int keep[TL_BERT_NPARAMS];
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		keep[i] = 1; /* the MLM slots are size 0 in cfg */
	float *arena, *host = rebuild_begin(m, &cfg, m->has_pooler, keep, sizes, off, &arena);
	rebuild_end(m, &cfg, m->has_pooler, sizes, arena, host);
	grads_rebuilt(t);
	return 1;
}

int tl_bert_train_disc_init(tl_bert_train *t, int H, int D, float init_std, uint64_t seed, char *err,
			    size_t errsz)
{
	tl_bert *m = t->m;
	if (H < 1 || D < 2)
		return tl_errf(err, errsz, "domain discriminator: %d hidden units and %d domains (need >= 1 and >= 2)", H,
			       D);
	if (!(init_std >= 0.0f) || !isfinite(init_std))
		return tl_errf(err, errsz, "domain discriminator: init_std %g is not a finite number >= 0",
			       (double)init_std);
	if (m->cfg.disc_hidden > 0 && m->cfg.ndomains >= 2) {
		if (m->cfg.disc_hidden == H && m->cfg.ndomains == D)
			return 0; /* kept (a resumed run) */
		return tl_errf(err, errsz,
			       "domain discriminator: the model has one of %d hidden units and %d domains, not %d and %d",
			       m->cfg.disc_hidden, m->cfg.ndomains, H, D);
	}
	tl_bert_config cfg = m->cfg;
	cfg.disc_hidden = H;
	cfg.ndomains = D;
	size_t sizes[TL_BERT_NPARAMS], off[TL_BERT_NPARAMS];
	int keep[TL_BERT_NPARAMS];
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		keep[i] = i < 26;
	float *arena, *host = rebuild_begin(m, &cfg, m->has_pooler, keep, sizes, off, &arena);
	uint64_t s = seed ^ 0x6469736300000000ull; /* "disc" */
	fill_normal(host + off[26], sizes[26], init_std, &s);
	fill_normal(host + off[28], sizes[28], init_std, &s);
	rebuild_end(m, &cfg, m->has_pooler, sizes, arena, host);
	grads_rebuilt(t);
	return 0;
}

/* Free the linear layers' handles, if any. */
static void pw_drop(tl_bert_train *t)
{
	if (!t->pw)
		return;
	for (int i = 0; i < 4 * t->m->cfg.L; i++)
		t->m->k->matmul_free_prec(t->pw[i]);
	free(t->pw);
	t->pw = NULL;
}

void tl_bert_train_free(tl_bert_train *t)
{
	if (!t->m)
		return;
	const tl_kernels *k = t->m->k;
	k->free(t->grad_arena);
	pw_drop(t);
	if (t->acts_arena)
		k->free(t->acts_arena);
	if (t->ids)
		k->free(t->ids);
	free(t->head_grad);
	free(t->wte_rows);
	free(t->plen);
	if (t->mlm.arena)
		k->free(t->mlm.arena);
	free(t->mlm.rows);
	tl_bert_free(t->m);
	memset(t, 0, sizeof *t);
}

void tl_bert_train_rows_clear(tl_bert_train *t)
{
	if (t->wte_rows)
		memset(t->wte_rows, 0, (size_t)t->m->cfg.vocab_size);
	t->wte_dense = 0;
}

/* wte_rows of the last batch's tokens (the rows embedding_backward adds to) */
static void rows_mark(tl_bert_train *t)
{
	const tl_kernels *k = t->m->k;
	int V = t->m->cfg.vocab_size;
	if (!k->host_memory) {
		t->wte_dense = 1;
		return;
	}
	if (!t->wte_rows)
		t->wte_rows = tl_xcalloc((size_t)V, 1);
	for (int b = 0; b < t->B; b++) {
		const int32_t *id = t->ids + (size_t)b * t->T;
		for (int i = 0; i < t->plen[b]; i++)
			if (id[i] >= 0 && id[i] < V)
				t->wte_rows[id[i]] = 1;
			else
				t->wte_dense = 1; /* not a row: promise nothing */
	}
}

void tl_bert_train_zero_grad(tl_bert_train *t)
{
	t->m->k->memset(t->grad_arena, 0, t->m->nparams * sizeof(float));
	if (t->head_grad)
		memset(t->head_grad, 0, (size_t)t->m->cfg.L * t->m->cfg.NH * sizeof(float));
}

int tl_bert_train_set_precision(tl_bert_train *t, int prec)
{
	if (prec != TL_PREC_FP32 && prec != TL_PREC_BF16)
		return -1;
	t->precision = prec;
	t->pw_stale = 1;
	return 0;
}

void tl_bert_train_weights_changed(tl_bert_train *t)
{
	t->pw_stale = 1;
}

/* The weight of linear j (0 qkv, 1 attention output, 2 intermediate, 3
 * output) of layer l, and its shape. */
static const float *lin_w(const tl_bert *m, int l, int j, int *IC, int *OC)
{
	const tl_bert_params *p = &m->params;
	size_t C = (size_t)m->cfg.C, I = (size_t)m->cfg.I;
	switch (j) {
	case 0: *IC = (int)C, *OC = (int)(3 * C); return p->qkvw + (size_t)l * 3 * C * C;
	case 1: *IC = (int)C, *OC = (int)C; return p->attprojw + (size_t)l * C * C;
	case 2: *IC = (int)C, *OC = (int)I; return p->fcw + (size_t)l * I * C;
	default: *IC = (int)I, *OC = (int)C; return p->fcprojw + (size_t)l * C * I;
	}
}

/* The handles of the encoder's linear layers up to date with the fp32
 * weights: bf16, rounded again; fp32, packed again into the inference
 * micro-kernel's layout (matmul_update_fp32), so that the forward products
 * read a layout packed once per optimizer step. */
static void pw_sync(tl_bert_train *t)
{
	const tl_kernels *k = t->m->k;
	int L = t->m->cfg.L, IC, OC, bf = t->precision == TL_PREC_BF16;
	if (t->pw && !t->pw_stale)
		return;
	if (t->pw_prec != t->precision)
		pw_drop(t); /* made at the other precision (before the plain check: fp32 after bf16 must not keep bf16 handles) */
	if (!bf && (!k->matmul_update_fp32 || t->pw_plain))
		return;
	if (!t->pw)
		t->pw = tl_xcalloc((size_t)4 * L, sizeof *t->pw);
	for (int l = 0; l < L; l++)
		for (int j = 0; j < 4; j++) {
			const float *w = lin_w(t->m, l, j, &IC, &OC);
			void **h = &t->pw[4 * l + j];
			if (*h && bf)
				k->matmul_update_bf16_train(*h, w);
			else if (*h)
				k->matmul_update_fp32(*h, w);
			else if (bf)
				*h = k->matmul_prepare_bf16_train(w, IC, OC);
			else if (!k->matmul_update_fp32(*h = k->matmul_prepare_prec(w, IC, OC, TL_PREC_FP32), w)) {
				/* no packed layout here (no AVX-512, TL_GEMM=blas, the
				 * shape): matmul_forward on the weights themselves */
				pw_drop(t);
				t->pw_plain = 1;
				return;
			}
		}
	t->pw_prec = t->precision;
	t->pw_stale = 0;
}

/* out = inp W^T + b for linear j of layer l (w: its fp32 weight), at the
 * run's precision, on its handle where it has one. */
static void lin_fwd(const tl_bert_train *t, int l, int j, float *out, const float *inp, const float *w,
		    const float *b, int N, int IC, int OC)
{
	if (t->pw)
		t->k->matmul_forward_prec(out, inp, t->pw[4 * l + j], b, N, IC, OC, TL_ACT_NONE);
	else
		t->k->matmul_forward(out, inp, w, b, N, IC, OC);
}

static void lin_bwd(const tl_bert_train *t, int l, int j, float *dinp, float *dw, float *db, const float *dout,
		    const float *inp, const float *w, int N, int IC, int OC)
{
	if (t->precision == TL_PREC_BF16)
		t->k->matmul_backward_bf16(dinp, dw, db, dout, inp, t->pw[4 * l + j], N, IC, OC);
	else
		t->k->matmul_backward(dinp, dw, db, dout, inp, w, N, IC, OC);
}

static void acts_alloc(tl_bert_train *t, int B, int T)
{
	const tl_bert_config *c = &t->m->cfg;
	size_t BT = (size_t)B * T, C = (size_t)c->C, I = (size_t)c->I, L = (size_t)c->L;
	size_t NL = (size_t)(c->nlabels ? c->nlabels : 1), B_ = (size_t)B;
	size_t R = t->token ? BT : B_; /* rows of the logits */
	tl_bert_train_acts *a = &t->a;
	struct {
		float **p;
		size_t n;
	} bufs[] = {
		{&a->emb, BT * C},         {&a->emb_ln, BT * C},       {&a->emb_mean, BT},
		{&a->emb_rstd, BT},        {&a->qkv, L * BT * 3 * C},  {&a->att, L * B_ * c->NH * T * T},
		{&a->atty, L * BT * C},    {&a->res1, L * BT * C},     {&a->ln1, L * BT * C},
		{&a->ln1_mean, L * BT},    {&a->ln1_rstd, L * BT},     {&a->fch, L * BT * I},
		{&a->fch_gelu, L * BT * I}, {&a->res2, L * BT * C},    {&a->ln2, L * BT * C},
		{&a->ln2_mean, L * BT},    {&a->ln2_rstd, L * BT},     {&a->pooled, B_ * C},
		{&a->pooled_d, B_ * C},    {&a->logits, R * NL},      {&a->dA, BT * C},
		{&a->dB, BT * C},          {&a->dC, BT * C},           {&a->dI1, BT * I},
		{&a->dI2, BT * I},         {&a->dpooled, 4 * B_ * C},
		{&a->dlogits, R * NL},      {&a->hid_d, t->token ? BT * C : 0},
		{&a->dhid, BT * C},        {&a->dpool_x, B_ * C},
		{&a->hid_pad, BT * C},     {&a->pad_c, BT * C},        {&a->pk3, BT * 3 * C},
		{&a->logits_p, t->token ? BT * NL : 0}, {&a->dlogits_p, t->token ? BT * NL : 0},
	};
	size_t nb = sizeof bufs / sizeof *bufs, n = 0;
	for (size_t i = 0; i < nb; i++)
		n += (bufs[i].n + 15) & ~(size_t)15;
	if (n > t->acts_cap) {
		if (t->acts_arena)
			t->m->k->free(t->acts_arena);
		t->acts_arena = t->m->k->alloc(n * sizeof(float));
		t->acts_cap = n;
	}
	float *p = t->acts_arena;
	for (size_t i = 0; i < nb; i++) {
		*bufs[i].p = p;
		p += (bufs[i].n + 15) & ~(size_t)15;
	}
	if (BT > t->in_cap) {
		if (t->ids)
			t->m->k->free(t->ids);
		/* ids, type_ids, lens: 2 BT + B <= 3 BT for any B of a later batch with BT <= in_cap */
		t->ids = t->m->k->alloc((3 * BT + 32) * sizeof(int32_t));
		t->in_cap = BT;
	}
	t->type_ids = t->ids + BT;
	t->lens = t->ids + 2 * BT;
}

void tl_bert_train_reserve(tl_bert_train *t, int B, int T)
{
	acts_alloc(t, B, T);
}

/* ---------------- packed rows (issue 22) ----------------
 * Sequence b's real tokens are rows poff[b] .. poff[b] + plen[b] - 1 of a
 * packed buffer and rows b*T .. b*T + plen[b] - 1 of a padded one; w is
 * the row width in floats. */

/* The packing of a batch: plen, poff and N from the host lens. */
static void pack_set(tl_bert_train *t, const int32_t *lens, int B, int T)
{
	if (B > t->pcap) {
		free(t->plen);
		t->plen = tl_xmalloc(2 * (size_t)B * sizeof *t->plen);
		t->pcap = B;
	}
	t->poff = t->plen + B;
	int n = 0;
	for (int b = 0; b < B; b++) {
		int l = lens[b] < 0 ? 0 : lens[b] > T ? T : lens[b];
		t->plen[b] = l;
		t->poff[b] = n;
		n += l;
	}
	t->N = n;
}

/* packed dst <- padded src */
static void pack_rows(const tl_bert_train *t, float *dst, const float *src, size_t w)
{
	for (int b = 0; b < t->B; b++)
		if (t->plen[b])
			t->k->copy(dst + (size_t)t->poff[b] * w, src + (size_t)b * t->T * w,
				   (size_t)t->plen[b] * w * sizeof(float));
}

/* packed dst += padded src */
static void pack_add(const tl_bert_train *t, float *dst, const float *src, size_t w)
{
	for (int b = 0; b < t->B; b++)
		if (t->plen[b]) {
			float *d = dst + (size_t)t->poff[b] * w;
			t->k->residual_forward(d, d, src + (size_t)b * t->T * w, (size_t)t->plen[b] * w);
		}
}

/* padded dst <- packed src, padding rows zeroed */
static void unpack_rows(const tl_bert_train *t, float *dst, const float *src, size_t w)
{
	for (int b = 0; b < t->B; b++) {
		float *d = dst + (size_t)b * t->T * w;
		size_t n = (size_t)t->plen[b] * w;
		if (n)
			t->k->copy(d, src + (size_t)t->poff[b] * w, n * sizeof(float));
		if (t->plen[b] < t->T)
			t->k->memset(d + n, 0, ((size_t)t->T * w - n) * sizeof(float));
	}
}

/* ---------------- forward ---------------- */

/* A residual block's end, r = x + dropout(r), out = LN(r) with its mean
 * and rstd: one fused pass where the backend has it, the same bits as
 * the three calls. */
static void drop_add_ln(const tl_bert_train *t, float *r, float *out, float *mean, float *rstd, const float *x,
			const float *w, const float *b, float p, uint64_t seed, uint64_t stream)
{
	const tl_kernels *k = t->m->k;
	int N = t->N, C = t->m->cfg.C;
	float eps = t->m->cfg.eps;
	if (k->dropout_add_layernorm_forward) {
		k->dropout_add_layernorm_forward(r, out, mean, rstd, x, w, b, N, C, eps, p, seed, stream);
		return;
	}
	k->dropout_forward(r, r, (size_t)N * C, p, seed, stream);
	k->residual_forward(r, r, x, (size_t)N * C);
	k->layernorm_forward(out, mean, rstd, r, w, b, N, C, eps);
}

const float *tl_bert_train_forward(tl_bert_train *t, const int32_t *ids, const int32_t *type_ids,
				   const int32_t *lens, int B, int T, int train, uint64_t seed, uint64_t step)
{
	tl_bert *m = t->m;
	const tl_kernels *k = m->k;
	const tl_bert_config *c = &m->cfg;
	const tl_bert_params *p = &m->params;
	tl_bert_train_acts *a = &t->a;
	int C = c->C, I = c->I, NH = c->NH, L = c->L;
	size_t BT = (size_t)B * T;
	float ph = train ? t->p_hidden : 0.0f, pa = train ? t->p_att : 0.0f, pc = train ? t->p_cls : 0.0f;
	acts_alloc(t, B, T);
	pack_set(t, lens, B, T);
	int N = t->N;
	size_t NR = (size_t)N; /* packed rows */
	pw_sync(t);
	t->B = B;
	t->T = T;
	t->has_types = type_ids != NULL;
	t->dhid_set = 0;
	t->dpool_set = 0;
	k->memset(a->dlogits, 0, (t->token ? BT : (size_t)B) * (size_t)(c->nlabels ? c->nlabels : 1) * sizeof(float));
	k->to_device(t->ids, ids, BT * sizeof(int32_t));
	if (type_ids)
		k->to_device(t->type_ids, type_ids, BT * sizeof(int32_t));
	k->to_device(t->lens, lens, (size_t)B * sizeof(int32_t));

	k->embedding_forward(a->pad_c, t->ids, type_ids ? t->type_ids : NULL, p->wte, p->wpe, p->wtt, B, T, C);
	pack_rows(t, a->emb, a->pad_c, (size_t)C);
	k->layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb, p->emb_lnw, p->emb_lnb, N, C, c->eps);
	k->dropout_forward(a->emb_ln, a->emb_ln, NR * C, ph, seed, tl_dropout_stream(step, 0));
	const float *x = a->emb_ln;
	for (int l = 0; l < L; l++) {
		size_t lC = (size_t)l * C;
		float *qkv = a->qkv + l * BT * 3 * C, *att = a->att + (size_t)l * B * NH * T * T;
		float *atty = a->atty + l * BT * C, *res1 = a->res1 + l * BT * C, *ln1 = a->ln1 + l * BT * C;
		float *fch = a->fch + l * BT * I, *fch_gelu = a->fch_gelu + l * BT * I;
		float *res2 = a->res2 + l * BT * C, *ln2 = a->ln2 + l * BT * C;
		uint64_t site = 8 * (uint64_t)l + 1;

		/* the products and attention on packed rows */
		lin_fwd(t, l, 0, qkv, x, p->qkvw + lC * 3 * C, p->qkvb + lC * 3, N, C, 3 * C);
		k->attention_forward_train(atty, att, qkv, t->lens, B, T, C, NH, pa, seed,
					   tl_dropout_stream(step, site), 1);
		lin_fwd(t, l, 1, res1, atty, p->attprojw + lC * C, p->attprojb + lC, N, C, C);
		drop_add_ln(t, res1, ln1, a->ln1_mean + l * BT, a->ln1_rstd + l * BT, x, p->ln1w + lC, p->ln1b + lC,
			    ph, seed, tl_dropout_stream(step, site + 1));
		if (t->pw && k->matmul_forward_gelu_keep) /* GELU on the product's tiles, fch kept */
			k->matmul_forward_gelu_keep(fch, fch_gelu, ln1, t->pw[4 * l + 2], p->fcb + (size_t)l * I, N, C, I);
		else {
			lin_fwd(t, l, 2, fch, ln1, p->fcw + (size_t)l * I * C, p->fcb + (size_t)l * I, N, C, I);
			k->gelu_forward(fch_gelu, fch, NR * I);
		}
		lin_fwd(t, l, 3, res2, fch_gelu, p->fcprojw + lC * I, p->fcprojb + lC, N, I, C);
		drop_add_ln(t, res2, ln2, a->ln2_mean + l * BT, a->ln2_rstd + l * BT, ln1, p->ln2w + lC, p->ln2b + lC,
			    ph, seed, tl_dropout_stream(step, site + 2));
		x = ln2;
	}
	unpack_rows(t, a->hid_pad, x, (size_t)C); /* tl_bert_train_hidden, the pooler */
	if (t->token) {
		/* BertForTokenClassification: classifier(dropout(h)) at every real
		 * position, unpacked to [B*T, NL] (padding rows 0) */
		k->dropout_forward(a->hid_d, x, NR * C, pc, seed, tl_dropout_stream(step, 8 * (uint64_t)L + 1));
		k->matmul_forward(a->logits_p, a->hid_d, p->clsw, p->clsb, N, C, c->nlabels);
		unpack_rows(t, a->logits, a->logits_p, (size_t)c->nlabels);
		return a->logits;
	}
	if (t->mlm_only) /* the MLM head works on the hidden state (tl_bert_train_mlm_loss) */
		return NULL;
	k->pooler_forward(a->pooled, a->hid_pad, p->poolw, p->poolb, B, T, C, C);
	k->dropout_forward(a->pooled_d, a->pooled, (size_t)B * C, pc, seed,
			    tl_dropout_stream(step, 8 * (uint64_t)L + 1));
	k->matmul_forward(a->logits, a->pooled_d, p->clsw, p->clsb, B, C, c->nlabels);
	return a->logits;
}

double tl_bert_train_loss(tl_bert_train *t, const int32_t *y, const float *ym, const float *w, const float *sw,
			  float ls, float scale)
{
	int B = t->B, K = t->m->cfg.nlabels;
	if (t->multi_label)
		return t->m->k->sigmoid_bce(t->a.dlogits, t->a.logits, ym, w, ls, scale, B, K);
	return t->m->k->softmax_xent(t->a.dlogits, t->a.logits, y, w, sw, ls, scale, B, K);
}

double tl_bert_train_token_loss(tl_bert_train *t, const int32_t *y, const float *w, float ls, float scale)
{
	size_t N = (size_t)t->B * t->T;
	int K = t->m->cfg.nlabels;
	int32_t *yy = tl_xmalloc((N + 1) * sizeof *yy);
	float *sw = tl_xmalloc((N + 1) * sizeof *sw);
	size_t used = 0;
	for (size_t i = 0; i < N; i++) {
		int keep = y[i] != TL_IGNORE_LABEL;
		yy[i] = keep ? y[i] : 0;
		sw[i] = keep ? 1.0f : 0.0f;
		used += (size_t)keep;
	}
	double l = 0;
	if (used)
		l = t->m->k->softmax_xent(t->a.dlogits, t->a.logits, yy, w, sw, ls, scale, (int)N, K);
	else
		t->m->k->memset(t->a.dlogits, 0, N * (size_t)K * sizeof(float));
	free(yy);
	free(sw);
	return l;
}

/* ---------------- distillation (issue 17) ----------------
 * Small [B, NL] host computations in double: the logits and their gradient
 * cross to the host and back (no copy on the CPU backend's host memory). */

/* Host view of n floats of backend memory: the memory itself on a host
 * backend, else a malloc'd copy (*tmp, to free). */
static float *host_view(const tl_kernels *k, float *dev, size_t n, float **tmp)
{
	*tmp = NULL;
	if (k->host_memory)
		return dev;
	*tmp = tl_xmalloc(n * sizeof(float) + 4);
	k->to_host(*tmp, dev, n * sizeof(float));
	return *tmp;
}

static void host_view_done(const tl_kernels *k, float *dev, float *tmp, size_t n, int write_back)
{
	if (!tmp)
		return;
	if (write_back)
		k->to_device(dev, tmp, n * sizeof(float));
	free(tmp);
}

static int kd_args_bad(float T, float alpha)
{
	return !(T > 0.0f) || !isfinite(T) || !(alpha >= 0.0f && alpha <= 1.0f);
}

/* log-softmax of x[K] / T into out[K] (double). */
static void log_softmax_t(double *out, const float *x, int K, double T)
{
	double mx = -INFINITY, s = 0;
	for (int c = 0; c < K; c++)
		mx = x[c] / T > mx ? x[c] / T : mx;
	for (int c = 0; c < K; c++)
		s += exp(x[c] / T - mx);
	double lse = mx + log(s);
	for (int c = 0; c < K; c++)
		out[c] = x[c] / T - lse;
}

/* log(sigmoid(x)) without overflow */
static double log_sigmoid(double x)
{
	return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
}

static double sigmoid(double x)
{
	return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

double tl_bert_train_kd_loss(tl_bert_train *t, const float *teacher_logits, float T, float alpha,
			     const int32_t *y, const float *sw, float scale)
{
	if (t->multi_label)
		return y ? NAN : tl_bert_train_kd_loss_ml(t, teacher_logits, T, alpha, NULL, sw, scale);
	if (kd_args_bad(T, alpha) || t->token)
		return NAN;
	const tl_kernels *k = t->k;
	int B = t->B, K = t->m->cfg.nlabels;
	size_t n = (size_t)B * K;
	float *tl_, *tg = NULL;
	const float *lg = host_view(k, t->a.logits, n, &tl_);
	float *dl = k->host_memory ? t->a.dlogits : (tg = tl_xmalloc(n * sizeof(float) + 4));
	double *ls = tl_xmalloc(2 * (size_t)K * sizeof(double) + 16), *lt = ls + K;
	double wsum = 0, hsum = 0, kl = 0, ce = 0;
	for (int i = 0; i < B; i++) {
		double w = sw ? sw[i] : 1.0;
		wsum += w;
		if (y && y[i] != TL_IGNORE_LABEL)
			hsum += w;
	}
	double ks = wsum != 0 ? alpha * (double)T * T / wsum : 0; /* KL term: alpha T^2 / sum w */
	double hs = hsum != 0 ? (1.0 - alpha) / hsum : 0;        /* CE term: (1 - alpha) / sum w */
	for (int i = 0; i < B; i++) {
		const float *s = lg + (size_t)i * K, *te = teacher_logits + (size_t)i * K;
		double w = sw ? sw[i] : 1.0, kli = 0;
		log_softmax_t(ls, s, K, T);
		log_softmax_t(lt, te, K, T);
		for (int c = 0; c < K; c++) {
			double pt = exp(lt[c]);
			if (pt > 0)
				kli += pt * (lt[c] - ls[c]);
			/* d(T^2 KL)/ds_c = T (p_s - p_t): ks holds T^2 */
			dl[(size_t)i * K + c] = (float)(scale * ks * w / T * (exp(ls[c]) - pt));
		}
		kl += w * kli;
		if (y && y[i] != TL_IGNORE_LABEL) {
			log_softmax_t(ls, s, K, 1.0);
			ce -= w * ls[y[i]];
			for (int c = 0; c < K; c++)
				dl[(size_t)i * K + c] += (float)(scale * hs * w * (exp(ls[c]) - (c == y[i])));
		}
	}
	free(ls);
	host_view_done(k, t->a.logits, tl_, n, 0);
	if (!k->host_memory) {
		k->to_device(t->a.dlogits, tg, n * sizeof(float));
		free(tg);
	}
	return ks * kl + hs * ce;
}

double tl_bert_train_kd_loss_ml(tl_bert_train *t, const float *teacher_logits, float T, float alpha,
				const float *ym, const float *sw, float scale)
{
	if (kd_args_bad(T, alpha) || t->token || !t->multi_label)
		return NAN;
	const tl_kernels *k = t->k;
	int B = t->B, K = t->m->cfg.nlabels;
	size_t n = (size_t)B * K;
	float *tl_, *tg = NULL;
	const float *lg = host_view(k, t->a.logits, n, &tl_);
	float *dl = k->host_memory ? t->a.dlogits : (tg = tl_xmalloc(n * sizeof(float) + 4));
	double wsum = 0;
	for (int i = 0; i < B; i++)
		wsum += sw ? sw[i] : 1.0;
	/* both terms: sum_i w_i sum_c l_ic / (K sum_i w_i) */
	double ks = wsum != 0 ? alpha * (double)T * T / (wsum * K) : 0;
	double hs = wsum != 0 && ym ? (1.0 - alpha) / (wsum * K) : 0;
	double soft = 0, hard = 0;
	for (int i = 0; i < B; i++) {
		double w = sw ? sw[i] : 1.0;
		for (int c = 0; c < K; c++) {
			size_t j = (size_t)i * K + c;
			double x = lg[j] / (double)T, q = sigmoid(teacher_logits[j] / (double)T);
			/* BCE with logits: -(q log s(x) + (1-q) log s(-x)) */
			soft -= w * (q * log_sigmoid(x) + (1 - q) * log_sigmoid(-x));
			double d = ks * w / T * (sigmoid(x) - q);
			if (ym) {
				double z = lg[j];
				hard -= w * (ym[j] * log_sigmoid(z) + (1 - ym[j]) * log_sigmoid(-z));
				d += hs * w * (sigmoid(z) - ym[j]);
			}
			dl[j] = (float)(scale * d);
		}
	}
	host_view_done(k, t->a.logits, tl_, n, 0);
	if (!k->host_memory) {
		k->to_device(t->a.dlogits, tg, n * sizeof(float));
		free(tg);
	}
	return ks * soft + hs * hard;
}

const float *tl_bert_train_hidden(const tl_bert_train *t)
{
	return t->a.hid_pad;
}

double tl_bert_train_hidden_cos_loss(tl_bert_train *t, const float *teacher_hidden, float weight, float scale)
{
	if (!isfinite(weight))
		return NAN;
	const tl_kernels *k = t->k;
	int B = t->B, T = t->T, C = t->m->cfg.C;
	size_t n = (size_t)B * T * C;
	int32_t *lens = tl_xmalloc((size_t)B * sizeof *lens + 4);
	k->to_host(lens, t->lens, (size_t)B * sizeof *lens);
	size_t M = 0;
	for (int b = 0; b < B; b++)
		M += (size_t)(lens[b] < T ? lens[b] : T);
	if (!t->dhid_set)
		k->memset(t->a.dhid, 0, n * sizeof(float));
	t->dhid_set = 1;
	if (!M) {
		free(lens);
		return 0;
	}
	float *th, *tg;
	const float *h = host_view(k, (float *)tl_bert_train_hidden(t), n, &th);
	float *dh = host_view(k, t->a.dhid, n, &tg);
	const double eps = 1e-12; /* torch's EPSILON in cosine_embedding_loss */
	double sum = 0, gs = (double)weight * scale / (double)M;
	for (int b = 0; b < B; b++)
		for (int p = 0; p < lens[b] && p < T; p++) {
			size_t o = ((size_t)b * T + p) * C;
			const float *x = h + o, *z = teacher_hidden + o;
			double xz = 0, xx = 0, zz = 0;
			for (int c = 0; c < C; c++) {
				xz += (double)x[c] * z[c];
				xx += (double)x[c] * x[c];
				zz += (double)z[c] * z[c];
			}
			xx += eps;
			zz += eps;
			double den = sqrt(xx * zz), cs = xz / den;
			sum += 1.0 - cs;
			/* d(1 - cos)/dx = -(z / den - cos x / |x|^2) */
			for (int c = 0; c < C; c++)
				dh[o + c] += (float)(-gs * (z[c] / den - cs * x[c] / xx));
		}
	host_view_done(k, (float *)tl_bert_train_hidden(t), th, n, 0);
	host_view_done(k, t->a.dhid, tg, n, 1);
	free(lens);
	return weight * sum / (double)M;
}

void tl_bert_train_head_grad_on(tl_bert_train *t)
{
	if (!t->head_grad)
		t->head_grad = tl_xcalloc((size_t)t->m->cfg.L * t->m->cfg.NH, sizeof(float));
}

/* head_grad[l*NH + h] += sum over the packed rows of <dctx_h, ctx_h>. Sums in double, row order: deterministic. */
static void head_grad_add(tl_bert_train *t, int l, const float *dctx, const float *ctx)
{
	const tl_kernels *k = t->k;
	int NH = t->m->cfg.NH, C = t->m->cfg.C, hs = C / NH;
	size_t N = (size_t)t->N, n = N * C;
	float *t1, *t2;
	const float *d = host_view(k, (float *)dctx, n, &t1), *x = host_view(k, (float *)ctx, n, &t2);
	for (int h = 0; h < NH; h++) {
		double s = 0;
		for (size_t r = 0; r < N; r++)
			for (int c = h * hs; c < (h + 1) * hs; c++)
				s += (double)d[r * C + c] * x[r * C + c];
		t->head_grad[(size_t)l * NH + h] += (float)s;
	}
	host_view_done(k, (float *)dctx, t1, n, 0);
	host_view_done(k, (float *)ctx, t2, n, 0);
}

/* ---------------- backward ---------------- */

/* The end of a residual block backward, x = LN(r), r = h + dropout(y),
 * with d x in dA: dA becomes d h (= d r), dB d y; the LayerNorm's dweight
 * and dbias accumulate. One fused pass where the backend has it
 * (kernels.h layernorm_backward_dropout), the same bits as the calls. */
static void ln_drop_bwd(tl_bert_train *t, float *dw, float *db, const float *r, const float *w, const float *mean,
			const float *rstd, float p, uint64_t seed, uint64_t stream)
{
	const tl_kernels *k = t->m->k;
	tl_bert_train_acts *a = &t->a;
	int N = t->N, C = t->m->cfg.C;
	size_t n = (size_t)N * C;
	if (k->layernorm_backward_dropout) {
		k->layernorm_backward_dropout(a->dA, a->dB, dw, db, a->dA, r, w, mean, rstd, N, C, p, seed, stream);
		return;
	}
	k->memset(a->dB, 0, sizeof(float) * n);
	k->layernorm_backward(a->dB, dw, db, a->dA, r, w, mean, rstd, N, C);
	k->copy(a->dA, a->dB, sizeof(float) * n);
	k->dropout_backward(a->dB, a->dB, n, p, seed, stream);
}

void tl_bert_train_backward(tl_bert_train *t, int train, uint64_t seed, uint64_t step)
{
	tl_bert *m = t->m;
	const tl_kernels *k = m->k;
	const tl_bert_config *c = &m->cfg;
	const tl_bert_params *p = &m->params;
	tl_bert_params *g = &t->grads;
	tl_bert_train_acts *a = &t->a;
	int B = t->B, T = t->T, C = c->C, I = c->I, NH = c->NH, L = c->L, N = t->N, NL = c->nlabels;
	size_t BT = (size_t)B * T, NR = (size_t)N;
	float ph = train ? t->p_hidden : 0.0f, pa = train ? t->p_att : 0.0f, pc = train ? t->p_cls : 0.0f;
	float *dpd = a->dpooled, *dpre = dpd + (size_t)B * C, *cls = dpre + (size_t)B * C,
	      *dcls = cls + (size_t)B * C;

	if (t->token) {
		/* token head: d hidden = dropout'(dlogits Wc) */
		k->memset(a->dA, 0, sizeof(float) * NR * C);
		int enc = t->freeze_below < L;
		pack_rows(t, a->dlogits_p, a->dlogits, (size_t)NL);
		k->matmul_backward(enc ? a->dA : NULL, g->clsw, g->clsb, a->dlogits_p, a->hid_d, p->clsw, N, C, NL);
		if (!enc)
			return;
		k->dropout_backward(a->dA, a->dA, NR * C, pc, seed, tl_dropout_stream(step, 8 * (uint64_t)L + 1));
		if (t->dhid_set)
			pack_add(t, a->dA, a->dhid, (size_t)C);
		goto layers;
	}
	if (t->mlm_only) {
		/* MLM only: the gradient on the last hidden state is all there is */
		if (t->freeze_below >= L || !t->dhid_set)
			return;
		pack_rows(t, a->dA, a->dhid, (size_t)C);
		goto layers;
	}
	/* classifier and its dropout */
	k->memset(dpd, 0, sizeof(float) * (size_t)B * C * 4);
	k->matmul_backward(dpd, g->clsw, g->clsb, a->dlogits, a->pooled_d, p->clsw, B, C, NL);
	k->dropout_backward(dpd, dpd, (size_t)B * C, pc, seed, tl_dropout_stream(step, 8 * (uint64_t)L + 1));
	if (t->dpool_set) /* losses on the pooled feature (tl_bert_train_add_pooled_grad) */
		k->residual_forward(dpd, dpd, a->dpool_x, (size_t)B * C);
	/* pooler: tanh(h[b,0,:] Wp^T + bp) */
	k->tanh_backward(dpre, a->pooled, dpd, (size_t)B * C);
	const float *hl = a->hid_pad;
	for (int b = 0; b < B; b++)
		k->copy(cls + (size_t)b * C, hl + (size_t)b * T * C, sizeof(float) * C);
	int encoder = t->freeze_below < L;
	k->matmul_backward(encoder ? dcls : NULL, g->poolw, g->poolb, dpre, cls, p->poolw, B, C, C);
	if (!encoder)
		return;
	k->memset(a->dA, 0, sizeof(float) * NR * C);
	for (int b = 0; b < B; b++) /* the first token's packed row (none for an empty sequence) */
		if (t->plen[b])
			k->copy(a->dA + (size_t)t->poff[b] * C, dcls + (size_t)b * C, sizeof(float) * C);
	if (t->dhid_set) /* hidden-state losses (tl_bert_train_hidden_cos_loss) */
		pack_add(t, a->dA, a->dhid, (size_t)C);

layers:;
	int lo = t->freeze_below > 0 ? t->freeze_below : 0;
	for (int l = L - 1; l >= lo; l--) {
		size_t lC = (size_t)l * C;
		const float *x = l ? a->ln2 + (l - 1) * BT * C : a->emb_ln;
		float *qkv = a->qkv + l * BT * 3 * C, *att = a->att + (size_t)l * B * NH * T * T;
		float *atty = a->atty + l * BT * C, *res1 = a->res1 + l * BT * C, *ln1 = a->ln1 + l * BT * C;
		float *fch = a->fch + l * BT * I, *fch_gelu = a->fch_gelu + l * BT * I;
		float *res2 = a->res2 + l * BT * C;
		uint64_t site = 8 * (uint64_t)l + 1;
		int need_dx = l > t->freeze_below;

		/* x_out = LN2(res2), res2 = ln1 + dropout(fcproj): dA becomes
		 * d ln1, dB d fcproj */
		ln_drop_bwd(t, g->ln2w + lC, g->ln2b + lC, res2, p->ln2w + lC, a->ln2_mean + l * BT,
			    a->ln2_rstd + l * BT, ph, seed, tl_dropout_stream(step, site + 2));
		/* fcproj = GELU(fch) W^T + b: dI2 = d fch */
		const float *dfch = a->dI2;
		if (t->precision != TL_PREC_BF16 && k->matmul_backward_gelu) {
			k->matmul_backward_gelu(a->dI1, g->fcprojw + lC * I, g->fcprojb + lC, a->dB, fch_gelu,
						p->fcprojw + lC * I, fch, N, I, C);
			dfch = a->dI1;
		} else {
			k->memset(a->dI1, 0, sizeof(float) * NR * I);
			lin_bwd(t, l, 3, a->dI1, g->fcprojw + lC * I, g->fcprojb + lC, a->dB, fch_gelu,
				p->fcprojw + lC * I, N, I, C);
			k->memset(a->dI2, 0, sizeof(float) * NR * I);
			k->gelu_backward(a->dI2, fch, a->dI1, NR * I);
		}
		lin_bwd(t, l, 2, a->dA, g->fcw + (size_t)l * I * C, g->fcb + (size_t)l * I, dfch, ln1,
				    p->fcw + (size_t)l * I * C, N, C, I);
		/* ln1 = LN1(res1), res1 = x + dropout(attproj): dA becomes d x,
		 * dB d attproj */
		ln_drop_bwd(t, g->ln1w + lC, g->ln1b + lC, res1, p->ln1w + lC, a->ln1_mean + l * BT,
			    a->ln1_rstd + l * BT, ph, seed, tl_dropout_stream(step, site + 1));
		k->memset(a->dC, 0, sizeof(float) * NR * C);
		lin_bwd(t, l, 1, a->dC, g->attprojw + lC * C, g->attprojb + lC, a->dB, atty, p->attprojw + lC * C,
				    N, C, C);
		if (t->head_grad) /* dC = d context: the head mask's gradient */
			head_grad_add(t, l, a->dC, atty);
		/* attention on the packed rows: d qkv into pk3 (assigned) */
		k->attention_backward(a->pk3, a->dC, qkv, att, t->lens, B, T, C, NH, pa, seed,
				       tl_dropout_stream(step, site), 1);
		lin_bwd(t, l, 0, need_dx ? a->dA : NULL, g->qkvw + lC * 3 * C, g->qkvb + lC * 3, a->pk3, x,
				    p->qkvw + lC * 3 * C, N, C, 3 * C);
	}
	if (t->freeze_below >= 0)
		return;
	/* embeddings: x0 = dropout(LN(emb)) */
	k->dropout_backward(a->dA, a->dA, NR * C, ph, seed, tl_dropout_stream(step, 0));
	k->memset(a->dB, 0, sizeof(float) * NR * C);
	k->layernorm_backward(a->dB, g->emb_lnw, g->emb_lnb, a->dA, a->emb, p->emb_lnw, a->emb_mean, a->emb_rstd,
			       N, C);
	unpack_rows(t, a->pad_c, a->dB, (size_t)C);
	rows_mark(t);
	k->embedding_backward(g->wte, g->wpe, g->wtt, a->pad_c, t->ids, t->has_types ? t->type_ids : NULL, t->lens,
			       B, T, C);
}

/* ---------------- names ---------------- */

tl_bert_tensor *tl_bert_train_tensors(const tl_bert *m, size_t *n)
{
	const tl_bert_config *c = &m->cfg;
	const tl_bert_params *p = &m->params;
	int64_t C = c->C, I = c->I;
	size_t cap = 8 + (size_t)c->L * 16 + 4 + 9, k = 0;
	tl_bert_tensor *t = tl_xcalloc(cap, sizeof *t);
#define ADD(ptr, layer_, d0, d1, nd, ...)                                            \
	do {                                                                         \
		tl_bert_tensor *e = &t[k++];                                         \
		snprintf(e->name, sizeof e->name, __VA_ARGS__);                      \
		e->off = (size_t)((ptr) - m->arena);                                 \
		e->shape[0] = (d0);                                                  \
		e->shape[1] = (d1);                                                  \
		e->ndim = (nd);                                                      \
		e->n = (size_t)(d0) * ((nd) == 2 ? (size_t)(d1) : 1);                \
		e->layer = (layer_);                                                 \
		e->no_decay = strstr(e->name, "bias") || strstr(e->name, "LayerNorm"); \
	} while (0)
	ADD(p->wte, -1, c->vocab_size, C, 2, "bert.embeddings.word_embeddings.weight");
	ADD(p->wpe, -1, c->max_pos, C, 2, "bert.embeddings.position_embeddings.weight");
	ADD(p->wtt, -1, c->type_vocab, C, 2, "bert.embeddings.token_type_embeddings.weight");
	ADD(p->emb_lnw, -1, C, 0, 1, "bert.embeddings.LayerNorm.weight");
	ADD(p->emb_lnb, -1, C, 0, 1, "bert.embeddings.LayerNorm.bias");
	static const char *qkv[3] = {"query", "key", "value"};
	for (int l = 0; l < c->L; l++) {
		size_t lC = (size_t)l * C;
		for (int j = 0; j < 3; j++) {
			ADD(p->qkvw + (lC * 3 + j * C) * C, l, C, C, 2, "bert.encoder.layer.%d.attention.self.%s.weight", l,
			    qkv[j]);
			ADD(p->qkvb + lC * 3 + j * C, l, C, 0, 1, "bert.encoder.layer.%d.attention.self.%s.bias", l, qkv[j]);
		}
		ADD(p->attprojw + lC * C, l, C, C, 2, "bert.encoder.layer.%d.attention.output.dense.weight", l);
		ADD(p->attprojb + lC, l, C, 0, 1, "bert.encoder.layer.%d.attention.output.dense.bias", l);
		ADD(p->ln1w + lC, l, C, 0, 1, "bert.encoder.layer.%d.attention.output.LayerNorm.weight", l);
		ADD(p->ln1b + lC, l, C, 0, 1, "bert.encoder.layer.%d.attention.output.LayerNorm.bias", l);
		ADD(p->fcw + (size_t)l * I * C, l, I, C, 2, "bert.encoder.layer.%d.intermediate.dense.weight", l);
		ADD(p->fcb + (size_t)l * I, l, I, 0, 1, "bert.encoder.layer.%d.intermediate.dense.bias", l);
		ADD(p->fcprojw + lC * I, l, C, I, 2, "bert.encoder.layer.%d.output.dense.weight", l);
		ADD(p->fcprojb + lC, l, C, 0, 1, "bert.encoder.layer.%d.output.dense.bias", l);
		ADD(p->ln2w + lC, l, C, 0, 1, "bert.encoder.layer.%d.output.LayerNorm.weight", l);
		ADD(p->ln2b + lC, l, C, 0, 1, "bert.encoder.layer.%d.output.LayerNorm.bias", l);
	}
	if (m->has_pooler) {
		ADD(p->poolw, c->L, C, C, 2, "bert.pooler.dense.weight");
		ADD(p->poolb, c->L, C, 0, 1, "bert.pooler.dense.bias");
	}
	if (c->nlabels) {
		ADD(p->clsw, c->L, c->nlabels, C, 2, "classifier.weight");
		ADD(p->clsb, c->L, c->nlabels, 0, 1, "classifier.bias");
	}
	if (c->mlm) { /* BertForMaskedLM's head; its decoder weight is wte */
		ADD(p->mlm_dw, c->L, C, C, 2, "cls.predictions.transform.dense.weight");
		ADD(p->mlm_db, c->L, C, 0, 1, "cls.predictions.transform.dense.bias");
		ADD(p->mlm_lnw, c->L, C, 0, 1, "cls.predictions.transform.LayerNorm.weight");
		ADD(p->mlm_lnb, c->L, C, 0, 1, "cls.predictions.transform.LayerNorm.bias");
		ADD(p->mlm_bias, c->L, c->vocab_size, 0, 1, "cls.predictions.bias");
	}
	if (p->disc_w1) { /* the domain discriminator: checkpoints only */
		int64_t H = c->disc_hidden, D = c->ndomains;
		ADD(p->disc_w1, c->L, H, C, 2, "tl.domain.dense.weight");
		ADD(p->disc_b1, c->L, H, 0, 1, "tl.domain.dense.bias");
		ADD(p->disc_w2, c->L, D, H, 2, "tl.domain.out.weight");
		ADD(p->disc_b2, c->L, D, 0, 1, "tl.domain.out.bias");
		for (int i = 1; i <= 4; i++)
			t[k - i].ckpt_only = 1;
	}
#undef ADD
	*n = k;
	return t;
}

/* ---------------- multi-task heads ---------------- */

double tl_bert_train_head_loss(tl_bert_train *t, const tl_bert_head *h, const int32_t *y, const float *ym,
			       const float *w, const float *sw, float ls, float scale)
{
	const tl_kernels *k = t->m->k;
	int B = t->B, K = t->m->cfg.nlabels, kt = h->k;
	size_t rowb = (size_t)kt * sizeof(float);
	if (h->k0 == 0 && kt == K) /* one head: the plain loss */
		return h->multi_label ? k->sigmoid_bce(t->a.dlogits, t->a.logits, ym, w, ls, scale, B, K)
				      : k->softmax_xent(t->a.dlogits, t->a.logits, y, w, sw, ls, scale, B, K);
	/* the head's columns side by side, its loss there, the gradient back
	 * into a zeroed [B, K] */
	float *sub = k->alloc(2 * (size_t)B * rowb + 64), *dsub = sub + (size_t)B * kt;
	for (int b = 0; b < B; b++)
		k->copy(sub + (size_t)b * kt, t->a.logits + (size_t)b * K + h->k0, rowb);
	double l = h->multi_label ? k->sigmoid_bce(dsub, sub, ym, w, ls, scale, B, kt)
				  : k->softmax_xent(dsub, sub, y, w, sw, ls, scale, B, kt);
	k->memset(t->a.dlogits, 0, (size_t)B * K * sizeof(float));
	for (int b = 0; b < B; b++)
		k->copy(t->a.dlogits + (size_t)b * K + h->k0, dsub + (size_t)b * kt, rowb);
	k->free(sub);
	return l;
}

/* ---------------- pooled feature (issue 18) ---------------- */

const float *tl_bert_train_pooled(const tl_bert_train *t)
{
	if (t->token || t->mlm_only || !t->m->has_pooler)
		return NULL;
	return t->a.pooled;
}

void tl_bert_train_add_pooled_grad(tl_bert_train *t, const float *dpooled, float scale)
{
	const tl_kernels *k = t->k;
	size_t n = (size_t)t->B * t->m->cfg.C;
	if (!t->dpool_set)
		k->memset(t->a.dpool_x, 0, n * sizeof(float));
	t->dpool_set = 1;
	float *tmp;
	float *d = host_view(k, t->a.dpool_x, n, &tmp);
	for (size_t i = 0; i < n; i++)
		d[i] += scale * dpooled[i];
	host_view_done(k, t->a.dpool_x, tmp, n, 1);
}
