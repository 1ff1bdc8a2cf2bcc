/* backward_util.h - helpers of the BERT gradient tests (fixture reading,
 * error measures, the comparison of a model's gradients with a fixture's:
 * bu_compare_grads), shared by test_backward.c, test_backward_da.c,
 * test_backward_kd.c, test_backward_mt.c, test_backward_token.c,
 * test_mlm.c and test_lstm_net.c; include after testhelp.h (it CHECKs).
 * Everything is static inline: one copy per test program, no warning for
 * the helpers a test does not use. */
#ifndef TL_BACKWARD_UTIL_H
#define TL_BACKWARD_UTIL_H

#include "tl/bert_train.h"
#include "tl/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_st_file bu_F; /* the open fixture */

static inline const tl_st_tensor *bu_need(const char *name)
{
	const tl_st_tensor *t = tl_st_find(&bu_F, name);
	if (!t) {
		fprintf(stderr, "fixture lacks %s\n", name);
		exit(1);
	}
	return t;
}

/* float tensor NAME (malloc'd); *n its element count (n may be NULL) */
static inline float *bu_getf(const char *name, size_t *n)
{
	const tl_st_tensor *t = bu_need(name);
	float *v = malloc(t->numel * sizeof(float) + 4);
	char err[256];
	if (tl_st_read_f32(&bu_F, t, v, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (n)
		*n = t->numel;
	return v;
}

/* int32 tensor NAME (malloc'd); d0, d1 its shape (may be NULL) */
static inline int32_t *bu_geti(const char *name, int64_t *d0, int64_t *d1)
{
	const tl_st_tensor *t = bu_need(name);
	int32_t *v = malloc(t->numel * sizeof(int32_t) + 4);
	memcpy(v, tl_st_bytes(&bu_F, t), t->numel * sizeof(int32_t));
	if (d0)
		*d0 = t->shape[0];
	if (d1)
		*d1 = t->ndim > 1 ? t->shape[1] : 1;
	return v;
}

static inline double bu_max_abs(const float *a, size_t n)
{
	double mx = 0;
	for (size_t i = 0; i < n; i++)
		mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
	return mx;
}

/* max_i |a_i - b_i| / max_i |b_i| (the absolute error when b is all 0):
 * test_backward.c's measure, bar 1e-3 */
static inline double bu_rel_err(const float *a, const float *b, size_t n)
{
	double md = 0, mb = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		md = d > md ? d : md;
		mb = fabs(b[i]) > mb ? fabs(b[i]) : mb;
	}
	return mb > 0 ? md / mb : md;
}

/* Attention key biases have an exact gradient of 0 (noise on both sides):
 * the larger |value| of a and b over scale (the model's largest gradient)
 * times 100, so that the 1e-3 bar means 1e-5 of the scale. */
static inline double bu_zero_err(const float *a, const float *b, size_t n, double scale)
{
	double mx = fmax(bu_max_abs(a, n), bu_max_abs(b, n));
	return mx / scale * 100.0;
}

static inline int bu_is_key_bias(const char *name)
{
	return strstr(name, "attention.self.key.bias") != NULL;
}

/* ---------------- bu_compare_grads ----------------
 * How bu_compare_grads compares the gradient of every tensor of
 * tl_bert_train_tensors with the open fixture (bu_F). Per compared tensor
 * (or part) NAME:
 *   - CHECK_EQ_INT: grad NAME has as many floats as the tensor (not with
 *     idx, below);
 *   - e: bu_rel_err of the gradient against grad NAME, or for attention key
 *     biases (an exact gradient of 0) bu_zero_err against the largest
 *     |gradient| of the whole model; CHECK(e <= bound);
 *   - with idx: where the fixture has idx NAME (int32 positions in the
 *     tensor), only those entries are compared with grad NAME (the sampled
 *     entries of a large model), without the length check;
 *   - with norm: en = |norm(gradient) - norm NAME| / norm NAME (the
 *     absolute norm when the reference norm is 0; 0 for key biases);
 *     CHECK(en <= bound);
 *   - a tensor whose name contains zero has no reference: CHECK that its
 *     gradient is exactly 0, and it is not compared;
 *   - split: NULL, or a function returning how many parts tensor ts is
 *     compared as (0: the tensor whole, as above) and, for part p, the
 *     reference name (written to ref, refsz bytes), the part's first float
 *     (*off, from the tensor's start) and length (*n); a multi-task model's
 *     classifier rows, one reference per head.
 * Every NAME above is the prefix followed by the tensor's name (or split's
 * name). Over the bound, a line "LABEL NAME: relative error E[, norm EN]"
 * goes to stderr. */
typedef struct bu_grad_cmp {
	const char *grad;  /* prefix of the reference gradients ("grad.") */
	const char *idx;   /* NULL, or prefix of the sampled positions ("idx.") */
	const char *norm;  /* NULL, or prefix of the reference norms ("norm.") */
	const char *zero;  /* NULL, or: gradient exactly 0, not compared */
	const char *label; /* NULL, or the first word of the stderr lines */
	double bound;      /* on e (and en) */
	int (*split)(const tl_bert_tensor *ts, int p, char *ref, size_t refsz, size_t *off, size_t *n, void *ctx);
	void *ctx; /* split's */
} bu_grad_cmp;

typedef struct bu_grad_res {
	double worst;  /* the largest e */
	double worstn; /* the largest en (0 without norm) */
	int compared;  /* tensors and parts compared */
} bu_grad_res;

/* grad: the model's gradients (nparams floats, the arena ts[i].off points
 * into); ts, nt: tl_bert_train_tensors. Reads the references from bu_F
 * (a missing one ends the test, as bu_getf). */
static inline bu_grad_res bu_compare_grads(const float *grad, size_t nparams, const tl_bert_tensor *ts, size_t nt,
					   const bu_grad_cmp *c)
{
	bu_grad_res r = {0, 0, 0};
	double gmax = bu_max_abs(grad, nparams);
	for (size_t i = 0; i < nt; i++) {
		const float *g = grad + ts[i].off;
		if (c->zero && strstr(ts[i].name, c->zero)) {
			CHECK(bu_max_abs(g, ts[i].n) == 0.0);
			continue;
		}
		int key = bu_is_key_bias(ts[i].name);
		char part[160];
		size_t off = 0, n0 = ts[i].n;
		int np = c->split ? c->split(&ts[i], 0, part, sizeof part, &off, &n0, c->ctx) : 0;
		for (int p = 0; p < (np ? np : 1); p++) {
			char name[512]; /* prefix + part */
			if (np) {
				if (p > 0)
					c->split(&ts[i], p, part, sizeof part, &off, &n0, c->ctx);
			} else
				snprintf(part, sizeof part, "%s", ts[i].name);
			const float *gp = g + off;
			float *ref;
			size_t n;
			double e, en = 0;
			snprintf(name, sizeof name, "%s%s", c->idx ? c->idx : "", part);
			if (c->idx && tl_st_find(&bu_F, name)) {
				int64_t d0, d1;
				int32_t *idx = bu_geti(name, &d0, &d1);
				size_t ni = (size_t)(d0 * d1);
				snprintf(name, sizeof name, "%s%s", c->grad, part);
				ref = bu_getf(name, &n);
				if (n != ni) {
					fprintf(stderr, "fixture: %s has %zu floats, its positions %zu\n", name, n, ni);
					exit(1);
				}
				float *mine = malloc(n * sizeof(float) + 4);
				for (size_t j = 0; j < n; j++)
					mine[j] = gp[idx[j]];
				e = bu_rel_err(mine, ref, n);
				free(mine);
				free(idx);
			} else {
				snprintf(name, sizeof name, "%s%s", c->grad, part);
				ref = bu_getf(name, &n);
				CHECK_EQ_INT(n, n0);
				e = key ? bu_zero_err(gp, ref, n, gmax) : bu_rel_err(gp, ref, n);
			}
			if (c->norm) {
				snprintf(name, sizeof name, "%s%s", c->norm, part);
				float *nrm = bu_getf(name, NULL);
				double s = 0;
				for (size_t j = 0; j < n0; j++)
					s += (double)gp[j] * gp[j];
				en = nrm[0] > 0 ? fabs(sqrt(s) - nrm[0]) / nrm[0] : sqrt(s);
				if (key)
					en = 0; /* noise around an exact zero: covered by e */
				free(nrm);
			}
			snprintf(name, sizeof name, "%s%s", c->grad, part);
			if (e > c->bound || en > c->bound) {
				fprintf(stderr, "%s%s%s: relative error %.3g", c->label ? c->label : "", c->label ? " " : "",
					name, e);
				if (c->norm)
					fprintf(stderr, ", norm %.3g", en);
				fprintf(stderr, "\n");
			}
			CHECK(e <= c->bound);
			if (c->norm)
				CHECK(en <= c->bound);
			r.worst = e > r.worst ? e : r.worst;
			r.worstn = en > r.worstn ? en : r.worstn;
			r.compared++;
			free(ref);
		}
	}
	return r;
}

#endif
