/* lib/optim.c - AdamW / SGD over parameter segments, Hugging Face
 * schedules, gradient clipping. See tl/optim.h. */
#include "tl/optim.h"
#include "tl/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tl_optim_init(tl_optim *o, size_t n, const tl_train_kernels *tk)
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
	o->tk = tk;
}

void tl_optim_free(tl_optim *o)
{
	free(o->segs);
	free(o->m);
	free(o->v);
	memset(o, 0, sizeof *o);
}

void tl_optim_add(tl_optim *o, size_t off, size_t n, float lr_scale, int decay, int frozen)
{
	o->segs = tl_xrealloc(o->segs, (o->nsegs + 1) * sizeof *o->segs);
	o->segs[o->nsegs++] = (tl_optim_seg){off, n, lr_scale, decay, frozen};
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

double tl_optim_clip(tl_optim *o, float *grad, double max_norm)
{
	double ss = 0;
	for (size_t i = 0; i < o->nsegs; i++)
		if (!o->segs[i].frozen)
			ss += o->tk->sumsq(grad + o->segs[i].off, o->segs[i].n);
	double norm = sqrt(ss);
	if (max_norm > 0) {
		double coef = max_norm / (norm + 1e-6);
		if (coef < 1.0)
			for (size_t i = 0; i < o->nsegs; i++)
				if (!o->segs[i].frozen)
					o->tk->scale(grad + o->segs[i].off, o->segs[i].n, (float)coef);
	}
	return norm;
}

void tl_optim_step(tl_optim *o, float *param, const float *grad)
{
	if (!o->m) {
		o->m = tl_xcalloc(o->n ? o->n : 1, sizeof(float));
		if (o->kind == TL_OPT_ADAMW)
			o->v = tl_xcalloc(o->n ? o->n : 1, sizeof(float));
	}
	float lr = (float)tl_optim_lr(o);
	int t = (int)(o->t + 1);
	for (size_t i = 0; i < o->nsegs; i++) {
		const tl_optim_seg *s = &o->segs[i];
		if (s->frozen)
			continue;
		float slr = lr * s->lr_scale, wd = s->decay ? o->wd : 0.0f;
		if (o->kind == TL_OPT_ADAMW)
			o->tk->adamw_update(param + s->off, grad + s->off, o->m + s->off, o->v + s->off, s->n, slr, o->b1,
					    o->b2, o->eps, wd, t);
		else
			o->tk->sgd_update(param + s->off, grad + s->off, o->m + s->off, s->n, slr, o->momentum, wd, t);
	}
	o->t++;
}
