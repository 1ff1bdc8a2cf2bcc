/* tl/classifier.h - one interface over every kind of classification model.
 *
 * tl-predict (and tl-eval, tl-train --dev) score records with whatever model
 * a directory holds. The directory's config.json names the kind in
 * "model_type"; tl_classifier_load dispatches on it:
 *
 *   "bert"        -> lib/models/bert/bert.c  (BertForSequenceClassification directories)
 *   "tl-linear"   -> tl_linear_classifier_load, lib/models/linear.c
 *
 * A backend fills a tl_classifier: the label names (id2label), the
 * multi-label flag, and the ops table. Adding a backend: write a loader with
 * the tl_classifier_loader signature and add one line to the table in
 * lib/models/classifier.c (a static table, so the backend's object is pulled from
 * libtl.a by the strong reference; a weak reference would not be).
 *
 * Records: the caller owns them; predict reads the keys it needs (bert:
 * "ids" and optional "type_ids"; a linear model whatever it documents) and
 * never keeps a pointer after it returns. Because tl_reader reuses its
 * buffer, a caller that batches records keeps copies: tl_rec_batch below.
 *
 * Ownership: tl_classifier_load returns a classifier the caller frees with
 * tl_classifier_free (labels and backend state included); its label names
 * stay valid until then. A tl_rec_batch owns its copies, which stay valid
 * until tl_rec_batch_clear or tl_rec_batch_free.
 */
#ifndef TL_CLASSIFIER_H
#define TL_CLASSIFIER_H

#include "tl/stream.h"

#include <stddef.h>

typedef struct tl_classifier tl_classifier;

/* Error report of a failed call: code is an enum tl_exit value
 * (TL_EXIT_DATA for a bad record, TL_EXIT_MODEL for a bad model, ...),
 * index the position in the batch of the offending record or (size_t)-1,
 * msg one line without the tool name or record number. */
typedef struct {
	int code;
	size_t index;
	char msg[512];
} tl_classifier_err;

typedef struct {
	/* Score n records: logits[i * nlabels + j] for record i, label j (raw
	 * scores: softmax or sigmoid is applied by tl_classifier_probs).
	 * Returns 0, or -1 with *e filled. */
	int (*predict)(tl_classifier *c, const tl_record *recs, size_t n, float *logits,
		       tl_classifier_err *e);
	/* Free impl (not the tl_classifier itself nor labels). */
	void (*free)(tl_classifier *c);
} tl_classifier_ops;

struct tl_classifier {
	const tl_classifier_ops *ops;
	int nlabels;
	char **labels;      /* nlabels NUL-terminated names, id order; owned (free()d by tl_classifier_free) */
	int multi_label;    /* config problem_type "multi_label_classification": sigmoid, else softmax */
	int token;          /* a token classifier (architectures BertForTokenClassification): a label per
			     * id through tl_classifier_predict_tokens; tl_classifier_predict refuses it */
	size_t batch_size;  /* a good batch size for predict (caller may use any) */
	const char *kind;   /* "bert", "tl-linear": static string */
	char vocab_sha256[65]; /* sha256 of the directory's vocab.txt, "" when none */
	void *impl;         /* backend state, owned, freed by ops->free */
	/* Token classification (c->token; NULL for other models): score every
	 * id of n records. off[0..n] (caller's, n + 1 entries) receives the
	 * first row of each record (off[n]: the total); the rows are
	 * (*logits)[row * nlabels + j], *logits (malloc'd, *cap floats) grown
	 * as needed and kept by the caller. Returns 0 or -1 with *e filled. */
	int (*predict_tokens)(tl_classifier *c, const tl_record *recs, size_t n, float **logits, size_t *cap,
			      size_t *off, tl_classifier_err *e);
};

/* A loader: dir is the model directory, config its parsed config.json (a
 * jansson json_t *, passed as const void * to keep jansson out of this
 * header), threads the thread budget (0: all cores). Returns a new
 * classifier, or NULL with e filled (code TL_EXIT_MODEL usually). */
typedef tl_classifier *(*tl_classifier_loader)(const char *dir, const void *config, int threads,
					       tl_classifier_err *e);

/* Load the model in dir (reads dir/config.json, dispatches on model_type).
 * NULL with e filled on error ("unsupported model_type 'x'", ...).
 * Free with tl_classifier_free. */
tl_classifier *tl_classifier_load(const char *dir, int threads, tl_classifier_err *e);
/* tl_classifier_load with the kernel backend of neural models named:
 * device "cpu", "cuda", or NULL for $TL_DEVICE, else "cpu" (as
 * tl_kernels_select); models without kernels (tl-linear) ignore it.
 * tl_classifier_load(dir, threads, e) is device NULL. A device not built
 * in: NULL, e->code TL_EXIT_USAGE. Free with tl_classifier_free. */
tl_classifier *tl_classifier_load_device(const char *dir, const char *device, int threads, tl_classifier_err *e);
void tl_classifier_free(tl_classifier *c);

/* Score n records; see tl_classifier_ops.predict. */
int tl_classifier_predict(tl_classifier *c, const tl_record *recs, size_t n, float *logits,
			  tl_classifier_err *e);

/* Score the ids of n records with a token classifier; see
 * tl_classifier_ops.predict_tokens. -1 (TL_EXIT_MODEL) for other models. */
int tl_classifier_predict_tokens(tl_classifier *c, const tl_record *recs, size_t n, float **logits, size_t *cap,
				 size_t *off, tl_classifier_err *e);

/* logits -> probabilities, in place over n rows of c->nlabels: softmax per
 * row, or an elementwise sigmoid when c->multi_label. */
void tl_classifier_probs(const tl_classifier *c, float *x, size_t n);

/* The shares of --match-prior: spec "uniform" or "LABEL=SHARE[,...]"
 * (split at the last '='; a trailing ',' allowed) naming each of the K
 * labels[] exactly once, shares finite numbers >= 0 not all 0; share[0..K-1]
 * (the caller's) receives them normalised to sum 1. Returns 0, or -1 with
 * one line in err (nothing else is touched but share). */
int tl_prior_shares_parse(const char *spec, const char *const *labels, int K, double *share, char *err,
			  size_t errlen);

/* Prior matching (tl-predict --match-prior): offsets b[0..K-1] which, added
 * to every row of logits[n * K] (single-label scores), make the shares of
 * the rows' predicted labels (the first largest of z + b) as close to
 * share[0..K-1] (>= 0, summing to 1) as the rows allow. Only the label
 * decision and the probabilities move; the ranking of rows by a margin
 * z_j - z_k does not.
 * K = 2: exact up to ties: with d = z1 - z0 and k = round(n share[1]), the
 * threshold t halfway between the k-th and (k+1)-th largest d (beyond the
 * ends for k = 0 or n), b = {t/2, -t/2}: the rows with d > t get label 1.
 * K > 2: sweeps over the labels, each setting b_c (the others held) so
 * that exactly round(n share_c) rows would pick c, until the counts are
 * the targets (or as near as their rounding allows), a sweep changes no
 * offset, or 100 sweeps; the first b of the smallest sum_c |count_c -
 * round(n share_c)| is kept, centred (sum b = 0: one shift of every label
 * changes nothing).
 * Deterministic (sorts and sums in a fixed order); n = 0 or K < 2: b = 0.
 * Works on the caller's arrays only; returns -1 when it cannot allocate. */
int tl_prior_match(const float *logits, size_t n, int K, const double *share, float *b);

/* Helper for backends: fill c->labels/nlabels from config "id2label"
 * (falling back to num_labels or fallback_n with names "LABEL_i"), and
 * c->multi_label from "problem_type". Returns 0 or -1 with e filled (and
 * c->labels NULL, c->nlabels 0: nothing to free). */
int tl_classifier_read_labels(tl_classifier *c, const void *config, int fallback_n, tl_classifier_err *e);

/* The linear backend (lib/linear*.c, another module). */
tl_classifier *tl_linear_classifier_load(const char *dir, const void *config, int threads,
					 tl_classifier_err *e);

/* ---------------- owned copies of records ---------------- */

/* A batch of records copied out of a tl_reader, so that they survive the
 * next tl_reader_next. recs[i].map points into the batch's own memory. */
typedef struct {
	tl_record *recs;
	size_t n, cap;
	void *priv; /* internal: one msgpack_unpacked per record */
} tl_rec_batch;

void tl_rec_batch_init(tl_rec_batch *b);
/* Deep-copy rec into the batch; returns the copy (valid until clear/free),
 * or NULL when the record cannot be copied (an internal error: the batch
 * is unchanged). */
const tl_record *tl_rec_batch_add(tl_rec_batch *b, const tl_record *rec);
/* Drop all records (memory is kept for reuse up to the largest batch). */
void tl_rec_batch_clear(tl_rec_batch *b);
void tl_rec_batch_free(tl_rec_batch *b);

#endif
