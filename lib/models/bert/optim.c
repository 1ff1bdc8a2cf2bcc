/* lib/models/bert/optim.c - AdamW / SGD over parameter segments, Hugging Face
 * schedules, gradient clipping. See tl/optim.h. */
#include "tl/optim.h"
#include "tl/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tl_optim_init(tl_optim *o, size_t n, const tl_kernels *k)
{
	memset(o, 0, sizeof *o);
	o->kind = TL_OPT_ADAMW;
	o->lr = 5e-5f;
	o->b1 = 0.9f;
	o->b2 = 0.999f;
	o->eps = 1e-8f;
	o->wd = 0.01f;
	o->sched = TL_SCHED_LINEAR;
	o->gamma = 0.1f;
	o->n = n;
	o->k = k;
}

void tl_optim_free(tl_optim *o)
{
	free(o->segs);
	free(o->cold);
	if (o->m)
		o->k->free(o->m);
	if (o->v)
		o->k->free(o->v);
	memset(o, 0, sizeof *o);
}

/* The cold flags no longer describe m and v (an update that does not keep
 * them): the next fused step makes them again. */
static void cold_drop(tl_optim *o)
{
	free(o->cold);
	o->cold = NULL;
}

/* The cold flags of the segments, from m and v as they are: a block is
 * cold when both are zero bits over it. NULL on a backend whose memory the
 * host cannot read. */
static unsigned char *cold_make(tl_optim *o)
{
	if (o->cold || !o->k->host_memory || o->kind != TL_OPT_ADAMW)
		return o->cold;
	/* frozen segments too: a caller may unfreeze one later (gradual
	 * unfreezing), and its flags stay right while it is frozen */
	size_t nb = 0;
	for (size_t i = 0; i < o->nsegs; i++) {
		o->segs[i].cold_off = nb;
		nb += (o->segs[i].n + TL_ADAMW_BLOCK - 1) / TL_ADAMW_BLOCK;
	}
	o->cold = tl_xmalloc(nb ? nb : 1);
	for (size_t i = 0; i < o->nsegs; i++) {
		const tl_optim_seg *s = &o->segs[i];
		for (size_t lo = 0; lo < s->n; lo += TL_ADAMW_BLOCK) {
			size_t w = s->n - lo < TL_ADAMW_BLOCK ? s->n - lo : TL_ADAMW_BLOCK;
			o->cold[s->cold_off + lo / TL_ADAMW_BLOCK] =
				tl_zero_floats(o->m + s->off + lo, w) && tl_zero_floats(o->v + s->off + lo, w);
		}
	}
	return o->cold;
}

void tl_optim_add(tl_optim *o, size_t off, size_t n, float lr_scale, int decay, int frozen)
{
	o->segs = tl_xrealloc(o->segs, (o->nsegs + 1) * sizeof *o->segs);
	o->segs[o->nsegs++] = (tl_optim_seg){off, n, lr_scale, decay, frozen, 0};
	cold_drop(o);
}

double tl_optim_factor(const tl_optim *o, long s)
{
	if (s < o->warmup)
		return (double)s / (double)(o->warmup > 1 ? o->warmup : 1);
	double span = (double)(o->total - o->warmup > 1 ? o->total - o->warmup : 1);
	double prog = (double)(s - o->warmup) / span;
	switch (o->sched) {
	case TL_SCHED_COSINE:
		return prog >= 1.0 ? 0.0 : 0.5 * (1.0 + cos(M_PI * prog));
	case TL_SCHED_CONSTANT:
		return 1.0;
	case TL_SCHED_STEP:
		return pow(o->gamma, (double)((s - o->warmup) / (o->step_size > 0 ? o->step_size : 1)));
	default: {
		double f = (double)(o->total - s) / span;
		return f > 0 ? f : 0.0;
	}
	}
}

double tl_optim_lr(const tl_optim *o)
{
	return o->lr * tl_optim_factor(o, o->t);
}

/* L2 norm of the gradient over the trainable segments, in segment order;
 * live: NULL, or per segment NULL or its live flags (sumsq_live). */
static double grad_norm(const tl_optim *o, const float *grad, unsigned char *const *live)
{
	double ss = 0;
	for (size_t i = 0; i < o->nsegs; i++)
		if (!o->segs[i].frozen)
			ss += live && live[i] ? o->k->sumsq_live(grad + o->segs[i].off, o->segs[i].n, live[i])
					      : o->k->sumsq(grad + o->segs[i].off, o->segs[i].n);
	return sqrt(ss);
}

void tl_optim_hint_rows(tl_optim *o, size_t off, size_t width, size_t nrows, const unsigned char *rows)
{
	o->hint_off = off;
	o->hint_width = width;
	o->hint_nrows = nrows;
	o->hint_rows = width ? rows : NULL;
}

/* The live flags (kernels.h adamw_update_zero) of each segment that lies
 * inside the hinted range, from the hint's rows: a block is live when a
 * row it touches is. NULL when there is no usable hint. */
static unsigned char **live_make(const tl_optim *o)
{
	if (!o->hint_rows || !o->k->host_memory || !o->k->sumsq_live)
		return NULL;
	size_t lo = o->hint_off, hi = o->hint_off + o->hint_nrows * o->hint_width, w = o->hint_width;
	unsigned char **live = NULL;
	for (size_t i = 0; i < o->nsegs; i++) {
		const tl_optim_seg *s = &o->segs[i];
		if (s->frozen || !s->n || s->off < lo || s->off + s->n > hi)
			continue;
		if (!live)
			live = tl_xcalloc(o->nsegs, sizeof *live);
		size_t nb = (s->n + TL_ADAMW_BLOCK - 1) / TL_ADAMW_BLOCK;
		live[i] = tl_xmalloc(nb);
		size_t bpr = w / TL_ADAMW_BLOCK;
		if (w % TL_ADAMW_BLOCK == 0 && (s->off - lo) % w == 0 && s->n % w == 0) {
			/* whole rows of whole blocks (an embedding of width 64 k) */
			for (size_t r = 0; r < s->n / w; r++)
				memset(live[i] + r * bpr, o->hint_rows[(s->off - lo) / w + r] != 0, bpr);
			continue;
		}
		for (size_t j = 0; j < nb; j++) {
			size_t a = s->off + j * TL_ADAMW_BLOCK - lo;
			size_t b = (j + 1) * TL_ADAMW_BLOCK < s->n ? s->off + (j + 1) * TL_ADAMW_BLOCK - lo : s->off + s->n - lo;
			unsigned char f = 0;
			for (size_t r = a / w; r <= (b - 1) / w && !f; r++)
				f = o->hint_rows[r] != 0;
			live[i][j] = f;
		}
	}
	return live;
}

static void live_free(const tl_optim *o, unsigned char **live)
{
	if (!live)
		return;
	for (size_t i = 0; i < o->nsegs; i++)
		free(live[i]);
	free(live);
}

/* The clipping factor for a gradient of that norm; 1: no clipping. */
static float clip_factor(double norm, double max_norm)
{
	double coef = max_norm > 0 ? max_norm / (norm + 1e-6) : 1.0;
	return coef < 1.0 ? (float)coef : 1.0f;
}

static void moments_alloc(tl_optim *o)
{
	if (!o->m) {
		/* backend memory, zeroed */
		o->m = o->k->alloc((o->n ? o->n : 1) * sizeof(float));
		if (o->kind == TL_OPT_ADAMW)
			o->v = o->k->alloc((o->n ? o->n : 1) * sizeof(float));
	}
}

double tl_optim_clip(tl_optim *o, float *grad, double max_norm)
{
	double norm = grad_norm(o, grad, NULL);
	float coef = clip_factor(norm, max_norm);
	if (coef != 1.0f)
		for (size_t i = 0; i < o->nsegs; i++)
			if (!o->segs[i].frozen)
				o->k->scale(grad + o->segs[i].off, o->segs[i].n, coef);
	return norm;
}

void tl_optim_step(tl_optim *o, float *param, const float *grad)
{
	moments_alloc(o);
	cold_drop(o);
	float lr = (float)tl_optim_lr(o);
	int t = (int)(o->t + 1);
	for (size_t i = 0; i < o->nsegs; i++) {
		const tl_optim_seg *s = &o->segs[i];
		if (s->frozen)
			continue;
		float slr = lr * s->lr_scale, wd = s->decay ? o->wd : 0.0f;
		if (o->kind == TL_OPT_ADAMW)
			o->k->adamw_update(param + s->off, grad + s->off, o->m + s->off, o->v + s->off, s->n, slr, o->b1,
					    o->b2, o->eps, wd, t);
		else
			o->k->sgd_update(param + s->off, grad + s->off, o->m + s->off, s->n, slr, o->momentum, wd, t);
	}
	o->t++;
}

static int seg_cmp(const void *a, const void *b)
{
	const tl_optim_seg *x = *(const tl_optim_seg *const *)a, *y = *(const tl_optim_seg *const *)b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The training loop's step: tl_optim_clip, tl_optim_step, then the whole
 * gradient arena (o->n floats) zeroed for the next step, bitwise as those
 * three calls but in two passes over memory instead of five: one for the
 * norm, one that updates with the clipping factor folded in and zeroes the
 * gradient behind it (train kernel adamw_update_zero). Segments are visited
 * in arena order; they must be disjoint (tl_bert_train_tensors' are),
 * otherwise, and for SGD, the three calls are made as they are. Returns
 * the norm before clipping. */
double tl_optim_step_clip_zero(tl_optim *o, float *param, float *grad, double max_norm)
{
	int fused = o->kind == TL_OPT_ADAMW && o->k->adamw_update_zero;
	const tl_optim_seg **seg = tl_xmalloc((o->nsegs ? o->nsegs : 1) * sizeof *seg);
	for (size_t i = 0; i < o->nsegs; i++)
		seg[i] = &o->segs[i];
	qsort(seg, o->nsegs, sizeof *seg, seg_cmp);
	for (size_t i = 1; fused && i < o->nsegs; i++)
		fused = seg[i]->off >= seg[i - 1]->off + seg[i - 1]->n;
	if (fused && o->nsegs)
		fused = seg[o->nsegs - 1]->off + seg[o->nsegs - 1]->n <= o->n;
	unsigned char **live = fused ? live_make(o) : NULL;
	o->hint_rows = NULL; /* a promise for this step only */
	if (!fused) {
		free(seg);
		double norm = tl_optim_clip(o, grad, max_norm);
		tl_optim_step(o, param, grad);
		o->k->memset(grad, 0, o->n * sizeof(float));
		return norm;
	}
	/* the norm and factor of tl_optim_clip: the same bits */
	double norm = grad_norm(o, grad, live);
	float gscale = clip_factor(norm, max_norm);
	moments_alloc(o);
	unsigned char *cold = cold_make(o);
	float lr = (float)tl_optim_lr(o);
	int t = (int)(o->t + 1);
	size_t done = 0; /* grad[0, done) is zero */
	for (size_t i = 0; i < o->nsegs; i++) {
		const tl_optim_seg *s = seg[i];
		if (s->off > done)
			o->k->memset(grad + done, 0, (s->off - done) * sizeof(float));
		if (s->frozen)
			o->k->memset(grad + s->off, 0, s->n * sizeof(float));
		else
			o->k->adamw_update_zero(param + s->off, grad + s->off, o->m + s->off, o->v + s->off, s->n,
						 lr * s->lr_scale, o->b1, o->b2, o->eps, s->decay ? o->wd : 0.0f, t, gscale,
						 cold ? cold + s->cold_off : NULL,
						 live && cold ? live[s - o->segs] : NULL);
		done = s->off + s->n;
	}
	if (o->n > done)
		o->k->memset(grad + done, 0, (o->n - done) * sizeof(float));
	live_free(o, live);
	free(seg);
	o->t++;
	return norm;
}
