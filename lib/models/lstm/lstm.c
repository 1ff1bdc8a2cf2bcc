/* lib/models/lstm/lstm.c - the LSTM network of tl/lstm.h: parameters,
 * forward and backward of the language model and the classifier (AWD-LSTM
 * dropouts), through the kernel table (lstm_forward/lstm_backward,
 * matmul_forward/backward). Host-memory backends only (the CPU backend):
 * the small elementwise steps (embedding, masks, pooling) are plain C. */
#include "tl/lstm.h"
#include "tl/dropout.h"
#include "tl/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* dropout sites (tl_dropout_stream(step, site)) */
enum { S_EMB = 1, S_IN = 2, S_HID = 3 /* + l */, S_OUT = 16, S_WD = 20 /* + l */, S_HEAD = 40 };

struct tl_lstm_ws {
	size_t cap_bt, cap_b;
	float *x[TL_LSTM_MAXL], *h[TL_LSTM_MAXL], *c[TL_LSTM_MAXL], *g[TL_LSTM_MAXL];
	float *hT[TL_LSTM_MAXL], *cT[TL_LSTM_MAXL];
	float *whd[TL_LSTM_MAXL]; /* DropConnect copies of w_hh */
	float *dwhh;              /* gradient of a masked w_hh before masking back */
	float *y, *dy, *d1, *d2;  /* last output (after dropout), gradients */
	float *dec;               /* decoder logits of one chunk of rows */
	double *rowloss;
	float *pool, *dpool, *z1, *a1, *da1, *dlog;
	int32_t *amax;
};

#define DEC_CHUNK 512

static int maxdim(const tl_lstm *m)
{
	int d = m->cfg.E;
	for (int l = 0; l < m->cfg.L; l++)
		d = m->out[l] > d ? m->out[l] : d;
	return d;
}

static void ws_free(tl_lstm_ws *w, int L)
{
	if (!w)
		return;
	for (int l = 0; l < L; l++) {
		free(w->x[l]);
		free(w->h[l]);
		free(w->c[l]);
		free(w->g[l]);
		free(w->hT[l]);
		free(w->cT[l]);
		free(w->whd[l]);
	}
	free(w->dwhh);
	free(w->y);
	free(w->dy);
	free(w->d1);
	free(w->d2);
	free(w->dec);
	free(w->rowloss);
	free(w->pool);
	free(w->dpool);
	free(w->z1);
	free(w->a1);
	free(w->da1);
	free(w->dlog);
	free(w->amax);
	free(w);
}

static void ws_ensure(tl_lstm *m, int B, int T)
{
	size_t bt = (size_t)B * (size_t)T, b = (size_t)B;
	tl_lstm_ws *w = m->ws;
	int L = m->cfg.L, E = m->cfg.E;
	if (!w) {
		w = m->ws = tl_xcalloc(1, sizeof *w);
		size_t mx = 0;
		for (int l = 0; l < L; l++) {
			size_t s = 4 * (size_t)m->out[l] * (size_t)m->out[l];
			w->whd[l] = tl_xmalloc(s * sizeof(float));
			mx = s > mx ? s : mx;
		}
		w->dwhh = tl_xmalloc(mx * sizeof(float));
		w->dec = tl_xmalloc((size_t)DEC_CHUNK * (size_t)(m->cfg.V > 0 ? m->cfg.V : 1) * sizeof(float));
	}
	if (bt > w->cap_bt || b > w->cap_b) {
		size_t nbt = bt > w->cap_bt ? bt : w->cap_bt, nb = b > w->cap_b ? b : w->cap_b;
		size_t md = (size_t)maxdim(m);
		for (int l = 0; l < L; l++) {
			free(w->x[l]);
			free(w->h[l]);
			free(w->c[l]);
			free(w->g[l]);
			free(w->hT[l]);
			free(w->cT[l]);
			w->x[l] = tl_xmalloc(nbt * (size_t)m->in[l] * sizeof(float));
			w->h[l] = tl_xmalloc(nbt * (size_t)m->out[l] * sizeof(float));
			w->c[l] = tl_xmalloc(nbt * (size_t)m->out[l] * sizeof(float));
			w->g[l] = tl_xmalloc(nbt * 4 * (size_t)m->out[l] * sizeof(float));
			w->hT[l] = tl_xmalloc(nb * (size_t)m->out[l] * sizeof(float));
			w->cT[l] = tl_xmalloc(nb * (size_t)m->out[l] * sizeof(float));
		}
		free(w->y);
		free(w->dy);
		free(w->d1);
		free(w->d2);
		free(w->rowloss);
		w->y = tl_xmalloc(nbt * (size_t)E * sizeof(float));
		w->dy = tl_xmalloc(nbt * (size_t)E * sizeof(float));
		w->d1 = tl_xmalloc(nbt * md * sizeof(float));
		w->d2 = tl_xmalloc(nbt * md * sizeof(float));
		w->rowloss = tl_xmalloc(nbt * sizeof(double));
		free(w->pool);
		free(w->amax);
		w->pool = tl_xmalloc(nb * 3 * (size_t)E * sizeof(float));
		w->amax = tl_xmalloc(nb * (size_t)E * sizeof(int32_t));
		if (m->cfg.NL > 0) {
			free(w->dpool);
			free(w->z1);
			free(w->a1);
			free(w->da1);
			free(w->dlog);
			w->dpool = tl_xmalloc(nb * 3 * (size_t)E * sizeof(float));
			w->z1 = tl_xmalloc(nb * (size_t)m->cfg.head * sizeof(float));
			w->a1 = tl_xmalloc(nb * (size_t)m->cfg.head * sizeof(float));
			w->da1 = tl_xmalloc(nb * (size_t)m->cfg.head * sizeof(float));
			w->dlog = tl_xmalloc(nb * (size_t)m->cfg.NL * sizeof(float));
		}
		w->cap_bt = nbt;
		w->cap_b = nb;
	}
}

/* ---------------- construction ---------------- */

static void layout(tl_lstm *m)
{
	const tl_lstm_cfg *c = &m->cfg;
	size_t off = 0;
	m->o_emb = off;
	off += (size_t)c->V * (size_t)c->E;
	m->goff[0] = 0;
	for (int l = 0; l < c->L; l++) {
		m->in[l] = l == 0 ? c->E : c->H;
		m->out[l] = l == c->L - 1 ? c->E : c->H;
		size_t G = 4 * (size_t)m->out[l];
		m->goff[l + 1] = off;
		m->o_wih[l] = off;
		off += G * (size_t)m->in[l];
		m->o_whh[l] = off;
		off += G * (size_t)m->out[l];
		m->o_bih[l] = off;
		off += G;
		m->o_bhh[l] = off;
		off += G;
	}
	m->goff[c->L + 1] = off;
	if (c->NL > 0) {
		m->o_w1 = off;
		off += (size_t)c->head * 3 * (size_t)c->E;
		m->o_b1 = off;
		off += (size_t)c->head;
		m->o_w2 = off;
		off += (size_t)c->NL * (size_t)c->head;
		m->o_b2 = off;
		off += (size_t)c->NL;
	} else {
		m->o_decb = off;
		off += (size_t)c->V;
	}
	m->goff[c->L + 2] = off;
	m->n = off;
}

static void uniform(float *p, size_t n, float a, uint64_t *st)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((tl_splitmix64_unit(st) * 2.0 - 1.0) * a);
}

static tl_lstm *alloc_model(const tl_lstm_cfg *cfg, const tl_kernels *k, char *err, size_t errsz)
{
	if (cfg->V < 1 || cfg->E < 1 || cfg->H < 1 || cfg->L < 1 || cfg->L > TL_LSTM_MAXL || cfg->NL < 0 ||
	    (cfg->NL > 0 && cfg->head < 1)) {
		tl_errf(err, errsz, "bad LSTM sizes (vocab %d, emb %d, hidden %d, layers %d of at most %d, labels %d)",
			cfg->V, cfg->E, cfg->H, cfg->L, TL_LSTM_MAXL, cfg->NL);
		return NULL;
	}
	if (!k->host_memory || !k->lstm_forward) {
		tl_errf(err, errsz, "the LSTM needs a host-memory backend with LSTM kernels (cpu); '%s' is not one",
			k->name);
		return NULL;
	}
	tl_lstm *m = tl_xcalloc(1, sizeof *m);
	m->cfg = *cfg;
	m->k = k;
	m->eos = -1;
	layout(m);
	m->arena = tl_xcalloc(m->n ? m->n : 1, sizeof(float));
	return m;
}

tl_lstm *tl_lstm_new(const tl_lstm_cfg *cfg, const tl_kernels *k, uint64_t seed, char *err, size_t errsz)
{
	tl_lstm *m = alloc_model(cfg, k, err, errsz);
	if (!m)
		return NULL;
	uint64_t st = tl_mix64(seed ^ 0x6c73746dULL);
	uniform(m->arena + m->o_emb, (size_t)cfg->V * cfg->E, 0.1f, &st);
	for (int l = 0; l < cfg->L; l++) {
		float a = 1.0f / sqrtf((float)m->out[l]);
		size_t G = 4 * (size_t)m->out[l];
		uniform(m->arena + m->o_wih[l], G * m->in[l], a, &st);
		uniform(m->arena + m->o_whh[l], G * m->out[l], a, &st);
		uniform(m->arena + m->o_bih[l], G, a, &st);
		uniform(m->arena + m->o_bhh[l], G, a, &st);
	}
	if (cfg->NL > 0) {
		uniform(m->arena + m->o_w1, (size_t)cfg->head * 3 * cfg->E, 1.0f / sqrtf(3.0f * cfg->E), &st);
		uniform(m->arena + m->o_w2, (size_t)cfg->NL * cfg->head, 1.0f / sqrtf((float)cfg->head), &st);
	}
	return m;
}

void tl_lstm_train_init(tl_lstm *m)
{
	if (!m->grad)
		m->grad = tl_xcalloc(m->n ? m->n : 1, sizeof(float));
}

void tl_lstm_free(tl_lstm *m)
{
	if (!m)
		return;
	ws_free(m->ws, m->cfg.L);
	if (m->dec_pw)
		m->k->matmul_free_prec(m->dec_pw);
	for (int l = 0; l < m->cfg.L; l++) {
		if (m->ih_pw[l])
			m->k->matmul_free_prec(m->ih_pw[l]);
		if (m->hh_pw[l])
			m->k->matmul_free_prec(m->hh_pw[l]);
		free(m->h0[l]);
		free(m->c0[l]);
	}
	for (int i = 0; i < m->cfg.NL && m->labels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->arena);
	free(m->grad);
	free(m);
}

void tl_lstm_reset_state(tl_lstm *m, int B)
{
	if (B != m->state_B) {
		for (int l = 0; l < m->cfg.L; l++) {
			free(m->h0[l]);
			free(m->c0[l]);
			m->h0[l] = tl_xcalloc((size_t)B * m->out[l], sizeof(float));
			m->c0[l] = tl_xcalloc((size_t)B * m->out[l], sizeof(float));
		}
		m->state_B = B;
		return;
	}
	for (int l = 0; l < m->cfg.L; l++) {
		memset(m->h0[l], 0, (size_t)B * m->out[l] * sizeof(float));
		memset(m->c0[l], 0, (size_t)B * m->out[l] * sizeof(float));
	}
}

/* ---------------- masks ---------------- */

static inline float mask(int on, uint64_t seed, uint64_t stream, uint64_t i, float p)
{
	if (!on || p <= 0.0f)
		return 1.0f;
	return tl_dropout_keep(seed, stream, i, p) ? 1.0f / (1.0f - p) : 0.0f;
}

/* out[b,t,c] = in[b,t,c] * mask(b,c) (locked over time) */
static void locked(float *out, const float *in, int B, int T, int C, int on, uint64_t seed, uint64_t stream,
		   float p)
{
	if (!on || p <= 0.0f) {
		if (out != in)
			memcpy(out, in, (size_t)B * T * C * sizeof(float));
		return;
	}
	float *mk = tl_xmalloc((size_t)C * sizeof(float));
	for (int b = 0; b < B; b++) {
		for (int c = 0; c < C; c++)
			mk[c] = mask(1, seed, stream, (uint64_t)b * (uint64_t)C + (uint64_t)c, p);
		for (int t = 0; t < T; t++) {
			size_t r = ((size_t)b * T + t) * C;
			for (int c = 0; c < C; c++)
				out[r + c] = in[r + c] * mk[c];
		}
	}
	free(mk);
}

/* ---------------- the shared body ---------------- */

/* Embedding (word dropout + locked input dropout) and the LSTM stack into
 * ws->y [B,T,E] (after the output dropout). h0/c0 per layer may be NULL. */
static void body_forward(tl_lstm *m, const int32_t *ids, const int32_t *lens, int B, int T, int train,
			 uint64_t seed, uint64_t step, float *const *h0, float *const *c0)
{
	const tl_lstm_cfg *cf = &m->cfg;
	const tl_kernels *k = m->k;
	tl_lstm_ws *w = m->ws;
	int E = cf->E, on = train != 0;
	uint64_t s_emb = tl_dropout_stream(step, S_EMB), s_in = tl_dropout_stream(step, S_IN);
	const float *emb = m->arena + m->o_emb;
	float *x0 = w->x[0];
	for (int b = 0; b < B; b++) {
		float *mk = NULL;
		if (on && cf->p_in > 0) {
			mk = tl_xmalloc((size_t)E * sizeof(float));
			for (int c = 0; c < E; c++)
				mk[c] = mask(1, seed, s_in, (uint64_t)b * (uint64_t)E + (uint64_t)c, cf->p_in);
		}
		for (int t = 0; t < T; t++) {
			size_t r = (size_t)b * T + t;
			float *o = x0 + r * E;
			if (lens && t >= lens[b]) {
				memset(o, 0, (size_t)E * sizeof(float));
				continue;
			}
			int32_t id = ids[r];
			float sw = mask(on, seed, s_emb, (uint64_t)id, cf->p_emb);
			const float *e = emb + (size_t)id * E;
			for (int c = 0; c < E; c++)
				o[c] = e[c] * sw * (mk ? mk[c] : 1.0f);
		}
		free(mk);
	}
	for (int l = 0; l < cf->L; l++) {
		int I = m->in[l], H = m->out[l];
		const float *whh = m->arena + m->o_whh[l];
		if (on && cf->p_w > 0) {
			size_t nw = 4 * (size_t)H * H;
			uint64_t s = tl_dropout_stream(step, S_WD + l);
			for (size_t i = 0; i < nw; i++)
				w->whd[l][i] = whh[i] * mask(1, seed, s, i, cf->p_w);
			whh = w->whd[l];
		}
		const float *wih = m->arena + m->o_wih[l];
		int bf = m->prec == TL_PREC_BF16;
		if (bf && m->ih_pw[l]) {
			/* bf16: w_ih and w_hh (after the weight dropout) rounded from
			 * this step's fp32 weights; the backward of this step uses
			 * the same handles */
			k->matmul_update_bf16_train(m->ih_pw[l], wih);
			k->matmul_update_bf16_train(m->hh_pw[l], whh);
		} else if (bf) {
			m->ih_pw[l] = k->matmul_prepare_bf16_train(wih, I, 4 * H);
			m->hh_pw[l] = k->matmul_prepare_bf16_train(whh, H, 4 * H);
		}
		k->lstm_forward(w->h[l], w->c[l], w->g[l], w->hT[l], w->cT[l], w->x[l], h0 ? h0[l] : NULL,
				c0 ? c0[l] : NULL, wih, whh, m->arena + m->o_bih[l], m->arena + m->o_bhh[l], lens, B, T,
				I, H, bf ? m->ih_pw[l] : NULL, bf ? m->hh_pw[l] : NULL);
		if (l + 1 < cf->L)
			locked(w->x[l + 1], w->h[l], B, T, H, on, seed, tl_dropout_stream(step, S_HID + l), cf->p_hid);
		else
			locked(w->y, w->h[l], B, T, H, on, seed, tl_dropout_stream(step, S_OUT), cf->p_out);
	}
}

/* Backward of body_forward from ws->dy [B,T,E] (the gradient w.r.t. y),
 * accumulating into m->grad. Layers below `lowest` get no gradient (frozen
 * by gradual unfreezing: the pass stops there). */
static void body_backward(tl_lstm *m, const int32_t *ids, const int32_t *lens, int B, int T, uint64_t seed,
			  uint64_t step, float *const *h0, float *const *c0, int lowest)
{
	const tl_lstm_cfg *cf = &m->cfg;
	const tl_kernels *k = m->k;
	tl_lstm_ws *w = m->ws;
	int E = cf->E, L = cf->L;
	float *g = m->grad;
	/* dh of the last layer: back through the output dropout */
	float *dh = w->d1, *dx = w->d2;
	locked(dh, w->dy, B, T, E, 1, seed, tl_dropout_stream(step, S_OUT), cf->p_out);
	for (int l = L - 1; l >= 0; l--) {
		int I = m->in[l], H = m->out[l];
		if (l + 1 < lowest)
			return;
		int want_dx = l > 0 ? l >= lowest : lowest <= 0;
		size_t nw = 4 * (size_t)H * H;
		const float *whh = cf->p_w > 0 ? w->whd[l] : m->arena + m->o_whh[l];
		float *dwhh = cf->p_w > 0 ? w->dwhh : g + m->o_whh[l];
		if (cf->p_w > 0)
			memset(dwhh, 0, nw * sizeof(float));
		if (want_dx)
			memset(dx, 0, (size_t)B * T * I * sizeof(float));
		k->lstm_backward(want_dx ? dx : NULL, NULL, NULL, g + m->o_wih[l], dwhh, g + m->o_bih[l],
				 g + m->o_bhh[l], dh, NULL, NULL, w->x[l], h0 ? h0[l] : NULL, c0 ? c0[l] : NULL,
				 w->h[l], w->c[l], w->g[l], m->arena + m->o_wih[l], whh, lens, B, T, I, H,
				 m->prec == TL_PREC_BF16 ? m->ih_pw[l] : NULL, m->prec == TL_PREC_BF16 ? m->hh_pw[l] : NULL);
		if (cf->p_w > 0) {
			uint64_t s = tl_dropout_stream(step, S_WD + l);
			float *gw = g + m->o_whh[l];
			for (size_t i = 0; i < nw; i++)
				gw[i] += dwhh[i] * mask(1, seed, s, i, cf->p_w);
		}
		if (!want_dx)
			return;
		if (l > 0) {
			/* back through the locked dropout between l-1 and l */
			locked(dx, dx, B, T, I, 1, seed, tl_dropout_stream(step, S_HID + l - 1), cf->p_hid);
			float *t = dh;
			dh = dx;
			dx = t;
		}
	}
	/* dx: gradient w.r.t. x0 = emb[id] * word mask * input mask */
	uint64_t s_emb = tl_dropout_stream(step, S_EMB), s_in = tl_dropout_stream(step, S_IN);
	float *ge = g + m->o_emb;
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			if (lens && t >= lens[b])
				continue;
			size_t r = (size_t)b * T + t;
			int32_t id = ids[r];
			float sw = mask(1, seed, s_emb, (uint64_t)id, cf->p_emb);
			if (sw == 0.0f)
				continue;
			float *o = ge + (size_t)id * E;
			const float *d = dx + r * E;
			for (int c = 0; c < E; c++)
				o[c] += d[c] * sw * mask(1, seed, s_in, (uint64_t)b * (uint64_t)E + (uint64_t)c, cf->p_in);
		}
}

double tl_lstm_lm_step(tl_lstm *m, const int32_t *ids, const int32_t *y, int B, int T, int train, uint64_t seed,
		       uint64_t step, float scale)
{
	const tl_lstm_cfg *cf = &m->cfg;
	const tl_kernels *k = m->k;
	if (m->state_B != B)
		tl_lstm_reset_state(m, B);
	ws_ensure(m, B, T);
	tl_lstm_ws *w = m->ws;
	int E = cf->E, V = cf->V, N = B * T;
	body_forward(m, ids, NULL, B, T, train, seed, step, m->h0, m->c0);
	if (train)
		memset(w->dy, 0, (size_t)N * E * sizeof(float));
	const float *emb = m->arena + m->o_emb, *decb = m->arena + m->o_decb;
	/* bf16: the tied weight rounded from this step's fp32 embedding */
	const void *pw = NULL;
	if (m->prec == TL_PREC_BF16) {
		if (m->dec_pw)
			k->matmul_update_bf16_train(m->dec_pw, emb);
		else
			m->dec_pw = k->matmul_prepare_bf16_train(emb, E, V);
		pw = m->dec_pw;
	}
	double total = 0;
	for (int r0 = 0; r0 < N; r0 += DEC_CHUNK) {
		int n = N - r0 < DEC_CHUNK ? N - r0 : DEC_CHUNK;
		const float *yr = w->y + (size_t)r0 * E;
		if (pw)
			k->matmul_forward_prec(w->dec, yr, pw, decb, n, E, V, TL_ACT_NONE);
		else
			k->matmul_forward(w->dec, yr, emb, decb, n, E, V);
		k->lm_xent(w->dec, y + r0, w->rowloss + r0, n, V, scale / (float)N, train);
		if (train && pw)
			k->matmul_backward_bf16(w->dy + (size_t)r0 * E, m->grad + m->o_emb, m->grad + m->o_decb, w->dec,
						yr, pw, n, E, V);
		else if (train)
			k->matmul_backward(w->dy + (size_t)r0 * E, m->grad + m->o_emb, m->grad + m->o_decb, w->dec, yr,
					   emb, n, E, V);
	}
	for (int i = 0; i < N; i++)
		total += w->rowloss[i];
	if (train)
		body_backward(m, ids, NULL, B, T, seed, step, m->h0, m->c0, 0);
	/* carry the state (detached) */
	for (int l = 0; l < cf->L; l++) {
		memcpy(m->h0[l], w->hT[l], (size_t)B * m->out[l] * sizeof(float));
		memcpy(m->c0[l], w->cT[l], (size_t)B * m->out[l] * sizeof(float));
	}
	return total / (double)N;
}

/* concat pooling of ws->y into ws->pool [B,3E]: [last, max, mean] of the
 * real steps (argmax kept for backward) */
static void concat_pool(tl_lstm *m, const int32_t *lens, int B, int T)
{
	tl_lstm_ws *w = m->ws;
	int E = m->cfg.E;
	for (int b = 0; b < B; b++) {
		float *p = w->pool + (size_t)b * 3 * E;
		int32_t *am = w->amax + (size_t)b * E;
		int n = lens[b];
		if (n <= 0) {
			memset(p, 0, 3 * (size_t)E * sizeof(float));
			for (int c = 0; c < E; c++)
				am[c] = -1;
			continue;
		}
		const float *yb = w->y + (size_t)b * T * E;
		memcpy(p, yb + (size_t)(n - 1) * E, (size_t)E * sizeof(float));
		for (int c = 0; c < E; c++) {
			float mx = yb[c];
			int ai = 0;
			double s = 0;
			for (int t = 0; t < n; t++) {
				float v = yb[(size_t)t * E + c];
				if (v > mx) {
					mx = v;
					ai = t;
				}
				s += v;
			}
			p[E + c] = mx;
			am[c] = ai;
			p[2 * E + c] = (float)(s / n);
		}
	}
}

void tl_lstm_encode(tl_lstm *m, const int32_t *ids, const int32_t *lens, int B, int T, float *vec)
{
	ws_ensure(m, B, T);
	body_forward(m, ids, lens, B, T, 0, 0, 0, NULL, NULL);
	concat_pool(m, lens, B, T);
	memcpy(vec, m->ws->pool, (size_t)B * 3 * m->cfg.E * sizeof(float));
}

double tl_lstm_cls_step(tl_lstm *m, const int32_t *ids, const int32_t *lens, const int32_t *y, int B, int T,
			int train, uint64_t seed, uint64_t step, float scale, float *logits, float *vec)
{
	const tl_lstm_cfg *cf = &m->cfg;
	const tl_kernels *k = m->k;
	ws_ensure(m, B, T);
	tl_lstm_ws *w = m->ws;
	int E = cf->E, HD = cf->head, NL = cf->NL;
	body_forward(m, ids, lens, B, T, train, seed, step, NULL, NULL);
	concat_pool(m, lens, B, T);
	if (vec)
		memcpy(vec, w->pool, (size_t)B * 3 * E * sizeof(float));
	k->matmul_forward(w->z1, w->pool, m->arena + m->o_w1, m->arena + m->o_b1, B, 3 * E, HD);
	uint64_t s_head = tl_dropout_stream(step, S_HEAD);
	for (size_t i = 0; i < (size_t)B * HD; i++)
		w->a1[i] = w->z1[i] > 0 ? w->z1[i] * mask(train, seed, s_head, i, cf->p_head) : 0.0f;
	k->matmul_forward(logits, w->a1, m->arena + m->o_w2, m->arena + m->o_b2, B, HD, NL);
	if (!y)
		return 0;
	double loss = k->softmax_xent(w->dlog, logits, y, NULL, NULL, 0.0f, scale, B, NL);
	if (!train)
		return loss;
	float *g = m->grad;
	memset(w->da1, 0, (size_t)B * HD * sizeof(float));
	k->matmul_backward(w->da1, g + m->o_w2, g + m->o_b2, w->dlog, w->a1, m->arena + m->o_w2, B, HD, NL);
	for (size_t i = 0; i < (size_t)B * HD; i++)
		w->da1[i] = w->z1[i] > 0 ? w->da1[i] * mask(1, seed, s_head, i, cf->p_head) : 0.0f;
	int lowest = m->lowest;
	int body = lowest <= cf->L; /* a layer (or the embedding) trains */
	if (body)
		memset(w->dpool, 0, (size_t)B * 3 * E * sizeof(float));
	k->matmul_backward(body ? w->dpool : NULL, g + m->o_w1, g + m->o_b1, w->da1, w->pool, m->arena + m->o_w1, B,
			   3 * E, HD);
	if (!body)
		return loss;
	memset(w->dy, 0, (size_t)B * T * E * sizeof(float));
	for (int b = 0; b < B; b++) {
		int n = lens[b];
		if (n <= 0)
			continue;
		const float *dp = w->dpool + (size_t)b * 3 * E;
		const int32_t *am = w->amax + (size_t)b * E;
		float *d = w->dy + (size_t)b * T * E;
		for (int c = 0; c < E; c++)
			d[(size_t)(n - 1) * E + c] += dp[c];
		for (int c = 0; c < E; c++)
			d[(size_t)am[c] * E + c] += dp[E + c];
		for (int t = 0; t < n; t++)
			for (int c = 0; c < E; c++)
				d[(size_t)t * E + c] += dp[2 * E + c] / (float)n;
	}
	body_backward(m, ids, lens, B, T, seed, step, NULL, NULL, lowest);
	return loss;
}
