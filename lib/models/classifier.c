/* classifier.c - model-kind dispatch for tl-predict, probabilities, and
 * owned copies of records (tl/classifier.h). */
#include "tl/classifier.h"
#include "tl/bert.h"
#include "tl/lstm.h"
#include "tl/model.h"
#include "tl/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void seterr(tl_classifier_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	e->index = (size_t)-1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

/* model_type -> loader. Add a line per backend (see tl/classifier.h);
 * load_device: the loader of a model that runs on a kernel backend
 * (device name or NULL, as tl_kernels_select), NULL for the others. */
static const struct {
	const char *type;
	tl_classifier_loader load;
	tl_classifier *(*load_device)(const char *dir, const void *config, const char *device, int threads,
				      tl_classifier_err *e);
} backends[] = {
	{"bert", tl_bert_classifier_load, tl_bert_classifier_load_device},
	{"tl-linear", tl_linear_classifier_load, NULL},
	{"tl-lstm", tl_lstm_classifier_load, NULL},
};

tl_classifier *tl_classifier_load(const char *dir, int threads, tl_classifier_err *e)
{
	return tl_classifier_load_device(dir, NULL, threads, e);
}

tl_classifier *tl_classifier_load_device(const char *dir, const char *device, int threads, tl_classifier_err *e)
{
	char err[512];
	json_t *cfg = tl_model_read_config(dir, err, sizeof err);
	if (!cfg) {
		seterr(e, TL_EXIT_MODEL, "%s", err);
		return NULL;
	}
	const char *type = json_string_value(json_object_get(cfg, "model_type"));
	if (!type) {
		seterr(e, TL_EXIT_MODEL, "%s/config.json: no \"model_type\"", dir);
		json_decref(cfg);
		return NULL;
	}
	tl_classifier *c = NULL;
	size_t i;
	for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (!strcmp(type, backends[i].type))
			break;
	if (i == sizeof backends / sizeof backends[0])
		seterr(e, TL_EXIT_MODEL, "%s/config.json: unsupported model_type '%s'", dir, type);
	else if (backends[i].load_device)
		c = backends[i].load_device(dir, cfg, device, threads, e);
	else
		c = backends[i].load(dir, cfg, threads, e);
	json_decref(cfg);
	return c;
}

void tl_classifier_free(tl_classifier *c)
{
	if (!c)
		return;
	if (c->ops && c->ops->free)
		c->ops->free(c);
	for (int i = 0; i < c->nlabels && c->labels; i++)
		free(c->labels[i]);
	free(c->labels);
	free(c);
}

int tl_classifier_predict_tokens(tl_classifier *c, const tl_record *recs, size_t n, float **logits, size_t *cap,
				 size_t *off, tl_classifier_err *e)
{
	e->code = 0;
	e->index = (size_t)-1;
	e->msg[0] = 0;
	off[0] = 0;
	if (!c->token || !c->predict_tokens) {
		seterr(e, TL_EXIT_MODEL, "not a token-classification model");
		return -1;
	}
	if (n == 0)
		return 0;
	if (c->predict_tokens(c, recs, n, logits, cap, off, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t r = off[i] * (size_t)c->nlabels; r < off[i + 1] * (size_t)c->nlabels; r++)
			if (!isfinite((*logits)[r])) {
				e->code = TL_EXIT_DATA;
				e->index = i;
				snprintf(e->msg, sizeof e->msg, "the model's score for token %zu is %s", r / (size_t)c->nlabels - off[i],
					 isnan((*logits)[r]) ? "NaN" : "infinite");
				return -1;
			}
	return 0;
}

int tl_classifier_predict(tl_classifier *c, const tl_record *recs, size_t n, float *logits,
			  tl_classifier_err *e)
{
	e->code = 0;
	e->index = (size_t)-1;
	e->msg[0] = 0;
	if (n == 0)
		return 0;
	if (c->token) {
		seterr(e, TL_EXIT_MODEL, "a token-classification model scores words, not records");
		return -1;
	}
	if (c->ops->predict(c, recs, n, logits, e) < 0)
		return -1;
	/* a NaN or infinite score (non-finite features, an overflow) would
	 * become a NaN probability and an empty pred that reads as an
	 * abstention: a data error of the record, for every model kind */
	size_t k = (size_t)c->nlabels;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < k; j++) {
			float v = logits[i * k + j];
			if (!isfinite(v)) {
				seterr(e, TL_EXIT_DATA, "the model's score for label '%s' is not finite (%s)",
				       c->labels[j], isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
				e->index = i;
				return -1;
			}
		}
	return 0;
}

void tl_classifier_probs(const tl_classifier *c, float *x, size_t n)
{
	int k = c->nlabels;
	for (size_t i = 0; i < n; i++) {
		float *r = x + i * (size_t)k;
		if (c->multi_label) {
			for (int j = 0; j < k; j++)
				r[j] = 1.0f / (1.0f + expf(-r[j]));
			continue;
		}
		float m = r[0];
		for (int j = 1; j < k; j++)
			m = r[j] > m ? r[j] : m;
		double s = 0;
		for (int j = 0; j < k; j++)
			s += (r[j] = expf(r[j] - m));
		for (int j = 0; j < k; j++)
			r[j] = (float)(r[j] / s);
	}
}

int tl_prior_shares_parse(const char *spec, const char *const *labels, int K, double *share, char *err,
			  size_t errlen)
{
	double sum = 0;
	if (!strcmp(spec, "uniform")) {
		for (int j = 0; j < K; j++)
			share[j] = 1;
	} else {
		for (int j = 0; j < K; j++)
			share[j] = -1;
		for (const char *p = spec; *p;) {
			size_t len = strcspn(p, ",");
			const char *eq = memrchr(p, '=', len);
			if (!eq || eq == p || eq == p + len - 1) {
				snprintf(err, errlen, "'%.*s' is not LABEL=SHARE", (int)(len > 200 ? 200 : len), p);
				return -1;
			}
			size_t ll = (size_t)(eq - p), nl = (size_t)(p + len - eq - 1);
			int j = 0;
			while (j < K && (strlen(labels[j]) != ll || memcmp(labels[j], p, ll)))
				j++;
			if (j == K) {
				snprintf(err, errlen, "'%.*s' is not a label of the model", (int)(ll > 200 ? 200 : ll), p);
				return -1;
			}
			if (share[j] >= 0) {
				snprintf(err, errlen, "label '%s' is given twice", labels[j]);
				return -1;
			}
			char num[64], *end;
			snprintf(num, sizeof num, "%.*s", (int)(nl < sizeof num ? nl : sizeof num - 1), eq + 1);
			errno = 0;
			double v = strtod(num, &end);
			if (nl >= sizeof num || end == num || *end || errno || !(v >= 0) || !isfinite(v)) {
				snprintf(err, errlen, "label '%s': share '%.*s' is not a number >= 0", labels[j],
					 (int)(nl > 200 ? 200 : nl), eq + 1);
				return -1;
			}
			share[j] = v;
			p += len + (p[len] == ',');
		}
		for (int j = 0; j < K; j++)
			if (share[j] < 0) {
				snprintf(err, errlen, "no share for label '%s': give every label one", labels[j]);
				return -1;
			}
	}
	for (int j = 0; j < K; j++)
		sum += share[j];
	if (!(sum > 0) || !isfinite(sum)) {
		snprintf(err, errlen, "the shares sum to %g", sum);
		return -1;
	}
	for (int j = 0; j < K; j++)
		share[j] /= sum;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* round(n share), within [0, n]: the rows a label with that share gets */
static size_t target_count(size_t n, double share)
{
	double k = floor((double)n * share + 0.5);
	return k <= 0 ? 0 : k >= (double)n ? n : (size_t)k;
}

/* A value with exactly k of sorted[0..n-1] (ascending, n > 0) below it:
 * halfway between sorted[k-1] and sorted[k], or beyond an end */
static double split_at(const double *sorted, size_t n, size_t k)
{
	return k == 0 ? sorted[0] - 1 : k == n ? sorted[n - 1] + 1 : sorted[k - 1] + (sorted[k] - sorted[k - 1]) / 2;
}

/* counts[j] of rows whose first largest z + b is j; returns sum_j |counts[j] - round(n share[j])| */
static double prior_counts(const float *z, size_t n, int K, const double *share, const double *b, size_t *counts)
{
	memset(counts, 0, (size_t)K * sizeof *counts);
	for (size_t i = 0; i < n; i++) {
		const float *r = z + i * (size_t)K;
		int best = 0;
		for (int j = 1; j < K; j++)
			if ((double)r[j] + b[j] > (double)r[best] + b[best])
				best = j;
		counts[best]++;
	}
	double err = 0;
	for (int j = 0; j < K; j++)
		err += fabs((double)counts[j] - (double)target_count(n, share[j]));
	return err;
}

int tl_prior_match(const float *logits, size_t n, int K, const double *share, float *b)
{
	for (int j = 0; j < K; j++)
		b[j] = 0;
	if (!n || K < 2)
		return 0;
	if (K == 2) {
		double *d = malloc(n * sizeof *d);
		if (!d)
			return -1;
		for (size_t i = 0; i < n; i++)
			d[i] = (double)logits[2 * i + 1] - (double)logits[2 * i];
		qsort(d, n, sizeof *d, cmp_double);
		double t = split_at(d, n, n - target_count(n, share[1])); /* the margins above t: label 1 */
		free(d);
		b[0] = (float)(t / 2);
		b[1] = (float)(-t / 2);
		return 0;
	}
	/* K > 2: one label at a time, its offset set so that exactly its own
	 * target count of rows would pick it with the others' offsets held */
	double *cur = calloc((size_t)K, sizeof *cur), *best = calloc((size_t)K, sizeof *best);
	double *need = malloc(n * sizeof *need);
	size_t *cnt = malloc((size_t)K * sizeof *cnt);
	if (!cur || !best || !need || !cnt) {
		free(cur), free(best), free(need), free(cnt);
		return -1;
	}
	double best_err = prior_counts(logits, n, K, share, cur, cnt), floor_err = (double)n;
	for (int c = 0; c < K; c++) /* round(n share_c) may not sum to n: that many rows off at best */
		floor_err -= (double)target_count(n, share[c]);
	floor_err = fabs(floor_err);
	for (int sweep = 0; sweep < 100 && best_err > floor_err; sweep++) {
		int moved = 0;
		for (int c = 0; c < K && best_err > floor_err; c++) {
			for (size_t i = 0; i < n; i++) { /* the offset above which row i picks c */
				const float *r = logits + i * (size_t)K;
				double m = -HUGE_VAL;
				for (int j = 0; j < K; j++)
					if (j != c && (double)r[j] + cur[j] > m)
						m = (double)r[j] + cur[j];
				need[i] = m - (double)r[c];
			}
			qsort(need, n, sizeof *need, cmp_double);
			double v = split_at(need, n, target_count(n, share[c])); /* the rows below v pick c */
			moved |= v != cur[c];
			cur[c] = v;
			double e = prior_counts(logits, n, K, share, cur, cnt);
			if (e < best_err) {
				best_err = e;
				memcpy(best, cur, (size_t)K * sizeof *best);
			}
		}
		if (!moved)
			break; /* a fixed point */
	}
	double mean = 0; /* one shift of all labels changes nothing: centred */
	for (int j = 0; j < K; j++)
		mean += best[j] / K;
	for (int j = 0; j < K; j++)
		b[j] = (float)(best[j] - mean);
	free(cur), free(best), free(need), free(cnt);
	return 0;
}

int tl_classifier_read_labels(tl_classifier *c, const void *config, int fallback_n, tl_classifier_err *e)
{
	const json_t *cfg = config;
	json_t *id2label = json_object_get(cfg, "id2label");
	int n = 0;
	if (json_is_object(id2label) && json_object_size(id2label) > 0)
		n = (int)json_object_size(id2label);
	else if (json_is_integer(json_object_get(cfg, "num_labels")))
		n = (int)json_integer_value(json_object_get(cfg, "num_labels"));
	else
		n = fallback_n;
	if (n <= 0 || n > 1000000) {
		seterr(e, TL_EXIT_MODEL, "config.json: bad number of labels (%d)", n);
		return -1;
	}
	c->nlabels = n;
	c->labels = tl_xcalloc((size_t)n, sizeof *c->labels);
	for (int i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof key, "%d", i);
		const char *name = json_is_object(id2label) ? json_string_value(json_object_get(id2label, key)) : NULL;
		if (json_is_object(id2label) && json_object_size(id2label) > 0 && !name) {
			seterr(e, TL_EXIT_MODEL, "config.json: id2label has no string for id %d", i);
			/* nothing left allocated on failure (a caller with a
			 * tl_classifier of its own leaked the names: fuzz_lstm_model) */
			for (int j = 0; j < i; j++)
				free(c->labels[j]);
			free(c->labels);
			c->labels = NULL;
			c->nlabels = 0;
			return -1;
		}
		if (name)
			c->labels[i] = tl_xstrdup(name);
		else {
			c->labels[i] = tl_xmalloc(32);
			snprintf(c->labels[i], 32, "LABEL_%d", i);
		}
	}
	const char *pt = json_string_value(json_object_get(cfg, "problem_type"));
	c->multi_label = pt && !strcmp(pt, "multi_label_classification");
	return 0;
}

/* ---------------- owned copies of records ---------------- */

typedef struct {
	msgpack_unpacked up;
	msgpack_sbuffer sb;
} owned_rec;

void tl_rec_batch_init(tl_rec_batch *b)
{
	memset(b, 0, sizeof *b);
}

const tl_record *tl_rec_batch_add(tl_rec_batch *b, const tl_record *rec)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		b->recs = tl_xrealloc(b->recs, cap * sizeof *b->recs);
		b->priv = tl_xrealloc(b->priv, cap * sizeof(owned_rec));
		owned_rec *o = b->priv;
		for (size_t i = b->cap; i < cap; i++) {
			msgpack_unpacked_init(&o[i].up);
			msgpack_sbuffer_init(&o[i].sb);
		}
		b->cap = cap;
		for (size_t i = 0; i < b->n; i++) /* the copies moved */
			b->recs[i].map = &o[i].up.data;
	}
	owned_rec *o = (owned_rec *)b->priv + b->n;
	o->sb.size = 0;
	msgpack_packer pk;
	msgpack_packer_init(&pk, &o->sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *rec->map);
	size_t off = 0;
	if (msgpack_unpack_next(&o->up, o->sb.data, o->sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
		return NULL; /* cannot happen: rec->map was unpacked by msgpack itself */
	tl_record *r = &b->recs[b->n++];
	*r = *rec;
	r->map = &o->up.data;
	return r;
}

void tl_rec_batch_clear(tl_rec_batch *b)
{
	b->n = 0;
}

void tl_rec_batch_free(tl_rec_batch *b)
{
	owned_rec *o = b->priv;
	for (size_t i = 0; i < b->cap; i++) {
		msgpack_unpacked_destroy(&o[i].up);
		msgpack_sbuffer_destroy(&o[i].sb);
	}
	free(b->priv);
	free(b->recs);
	memset(b, 0, sizeof *b);
}
