/* tl/linear.h - linear text classifiers: logistic regression on sparse or
 * dense features, and a fastText-style model (the average of word and
 * hashed word-n-gram embeddings, then a linear layer with softmax,
 * hierarchical softmax or one-vs-all sigmoids), trained by SGD with a
 * linearly decaying learning rate.
 *
 * Determinism: training is a pure function of (options, seed, data).
 * The fastText model is trained in synchronous steps of `batch` examples:
 * in phase A the threads compute, for each example of the step, its hidden
 * vector, the output gradients and the input gradient against the
 * parameters as they were at the start of the step (read only); in phase B
 * each parameter row is updated by exactly one thread, which adds the
 * contributions of the step's examples in example order. Every sum is thus
 * done in one fixed order whatever the number of threads: the model is
 * bitwise identical for any --threads (not only the same one). The example
 * order is a seeded shuffle per epoch. Logistic regression trains on one
 * thread (per-example SGD), equally deterministic.
 *
 * A model is saved as a directory (DESIGN.md section 3): config.json
 * ("model_type": "tl-linear", "tl_arch": "fasttext"|"logreg", id2label,
 * label2id, ...), model.safetensors, words.txt (fastText: the word
 * vocabulary, one per line, row order), features.tsv (logreg on text: the
 * fitted TF-IDF file, see tl/features.h), tl.json (arguments, seed, data
 * sha256, metrics).
 *
 * Ownership: tl_lin_data_new, tl_lin_train and tl_lin_load return objects
 * the caller frees with tl_lin_data_free and tl_lin_free; tl_lin_train
 * takes the examples out of the data set it is given, which the caller
 * still frees. A model is read-only after training or loading: several
 * threads may score with it at once, each with its own tl_lin_scratch
 * (freed with tl_lin_scratch_free). Label names (tl_lin_label) point into
 * the model. Texts, sparse and dense vectors passed in are copied by
 * tl_lin_data_add and only read by the other functions.
 */
#ifndef TL_LINEAR_H
#define TL_LINEAR_H

#include "tl/features.h"
#include "tl/leak.h"
#include "tl/stream.h"

#include <stddef.h>
#include <stdint.h>

enum tl_lin_arch { TL_LIN_LOGREG = 0, TL_LIN_FASTTEXT = 1 };
enum tl_lin_loss { TL_LOSS_SOFTMAX = 0, TL_LOSS_HS = 1, TL_LOSS_OVA = 2 };
enum tl_lin_input { TL_IN_TEXT = 0, TL_IN_SPARSE = 1, TL_IN_VEC = 2 };

typedef struct {
	int arch;            /* enum tl_lin_arch */
	int loss;            /* enum tl_lin_loss; multi-label data forces ova */
	int input;           /* logreg: enum tl_lin_input (fastText: text) */
	int dim;             /* fastText embedding size (100) */
	int word_ngrams;     /* fastText: longest word n-gram (2) */
	long buckets;        /* fastText: n-gram hash buckets (2000000) */
	long min_count;      /* fastText: words seen fewer times are dropped (1) */
	long min_count_ngram;/* fastText: n-gram buckets seen fewer times get no row (2) */
	int epochs;          /* 5 */
	double lr;           /* fastText 0.5, logreg 0.5 */
	double l2;           /* logreg L2 penalty per example (1e-6) */
	int batch;           /* fastText examples per synchronous step (8) */
	int threads;         /* 1 (0: all cores) */
	uint64_t seed;       /* 1 */
	int lower;           /* lower-case words (1) */
	int cjk_words;       /* fastText: CJK runs between spaces are words (TL_WORDS_CJK; 0); logreg on
			      * text: feat.cjk_words. Saved as config.json "cjk": "words" */
	const char *init_vectors; /* word2vec text file or NULL (fastText) */
	tl_feat_opts feat;   /* logreg on text: the TF-IDF options */
	/* fastText data-parallel training (tl/dist.h; borrowed, NULL: one
	 * process). Each rank's data holds its shard: the examples whose index
	 * in the whole stream is rank modulo size, in stream order. Labels,
	 * word and n-gram counts are merged across ranks first; each step, a
	 * rank computes the updates of its examples of the global batch and
	 * every rank applies all of them in global example order, so the model
	 * is bitwise the one a single process makes at any size. logreg
	 * (per-example SGD, each step reading the last) refuses size > 1. */
	struct tl_dist *dist;
	/* fastText knowledge distillation (Hinton et al. 2015; the
	 * fastText-class student of Tang et al. 2019): every example carries a
	 * teacher's logits (tl_lin_data_add_logits) and the label is optional;
	 * the loss is tl_lin_kd_loss. softmax loss only, one process only. */
	int distill;
	double temperature;  /* > 0 (2) */
	double alpha;        /* weight of the soft targets, [0, 1] (0.5); 1 when no example has a label */
} tl_lin_opts;

/* Defaults for arch (above). */
void tl_lin_opts_default(tl_lin_opts *o, int arch);

/* ---------------- training data ---------------- */

typedef struct tl_lin_data tl_lin_data;

tl_lin_data *tl_lin_data_new(const tl_lin_opts *o);
void tl_lin_data_free(tl_lin_data *d);
/* Add one example. labels: nlab label names (nlab >= 1; > 1 or multi =
 * multi-label). Exactly one of text / sparse / vec is used, as the
 * options' input says. Returns 0, or -1 with a message in err (e.g. a
 * vector of another dimension than the first one). */
int tl_lin_data_add(tl_lin_data *d, const char *text, size_t len, const tl_sparse *sp, const float *vec,
		    size_t vlen, const char *const *labels, const size_t *lablen, int nlab, int multi, char *err,
		    size_t errsz);

/* --distill (o.distill): the teacher's label names in the order of its
 * logits (a tl-predict stream header), before any example: they become the
 * label set (sorted by name as every label set is; the logits are permuted
 * to match). Without it the logits are taken in the order of the sorted
 * label set of the data, which must have as many labels. -1 with a message
 * (a name listed twice, examples already added). With o.distill an
 * example may have nlab 0 (soft targets only). */
int tl_lin_data_set_teacher(tl_lin_data *d, const char *const *names, int n, char *err, size_t errsz);
/* The teacher's logits of the example just added (k of them, the same k
 * for every example; finite: the caller checks). -1 with a message when k
 * differs from the first example's or the teacher's label count. */
int tl_lin_data_add_logits(tl_lin_data *d, const float *logits, int k, char *err, size_t errsz);
/* The distillation loss of one example with student logits z[C], teacher
 * logits t[C], label y (-1: none, soft targets only), temperature T > 0
 * and weight alpha:
 *   alpha T^2 KL(softmax(t/T) || softmax(z/T)) + (1 - alpha) CE(z, y)
 * (the CE term absent when y < 0), computed in double. grad[C] (may be
 * NULL) gets its gradient with respect to z:
 *   alpha T (softmax(z/T) - softmax(t/T)) + (1 - alpha) (softmax(z) - onehot(y)). */
double tl_lin_kd_loss(const float *z, const float *t, int C, int y, double T, double alpha, double *grad);

/* Pairs (text_b). A text model (fastText, logreg on TF-IDF) reads a record
 * with "text_b" as one text: "text", TL_LIN_TEXT_B_SEP (a line feed, which
 * every word splitter takes for whitespace), "text_b". The model trained
 * on data where any record had "text_b" records it (config.json
 * "text_b": "joined") and joins at prediction too; a model trained without
 * reads "text" only. */
#define TL_LIN_TEXT_B_SEP "\n"
/* Mark d as holding pairs: the model trained on it reads text_b. */
void tl_lin_data_set_text_b(tl_lin_data *d);
/* The text a text model reads from rec: "text" alone (a pointer into the
 * record) when use_b is 0 or the record has no "text_b", else the joined
 * pair in buf (caller's, reused). Length in *len; *has_b (may be NULL) is
 * set to whether text_b was joined. NULL with a message ('no "text"',
 * '"text" is not a string', '"text_b" is not a string'). */
const char *tl_lin_rec_text(const tl_record *rec, int use_b, tl_buf *buf, size_t *len, int *has_b, char *msg,
			    size_t msz);

/* ---------------- models ---------------- */

typedef struct tl_lin_model tl_lin_model;

/* Progress callback: called from the training thread every so often with
 * done/total units (tokens for fastText, examples for logreg) and the
 * running mean loss. */
typedef void (*tl_lin_progress_fn)(void *ctx, uint64_t done, uint64_t total, double loss, double lr);

/* Train. Returns a model, or NULL with a message in err and *code set to
 * an enum tl_exit value: TL_EXIT_DATA (no examples, a single class, empty
 * vocabulary), TL_EXIT_MODEL (a bad --init-vectors file). Consumes d's
 * contents (d must still be freed). */
tl_lin_model *tl_lin_train(const tl_lin_opts *o, tl_lin_data *d, tl_lin_progress_fn fn, void *ctx, int *code,
			   char *err, size_t errsz);

/* Save into a new directory dir (written into a temporary sibling, then
 * renamed; an existing dir is replaced only with force). tl_json is the
 * text of tl.json (may be NULL). Returns 0, or -1 with a message. */
int tl_lin_save(const tl_lin_model *m, const char *dir, int force, const char *tl_json, char *err, size_t errsz);
/* The same, with keys (when not NULL; borrowed) written into the directory
 * as TL_TRAIN_KEYS_FILE (tl/leak.h) before it is published. */
int tl_lin_save_keys(const tl_lin_model *m, const char *dir, int force, const char *tl_json, const tl_keyset *keys,
		     char *err, size_t errsz);
/* Load from dir. NULL with a message on a missing or corrupt model. */
tl_lin_model *tl_lin_load(const char *dir, char *err, size_t errsz);
void tl_lin_free(tl_lin_model *m);

int tl_lin_nlabels(const tl_lin_model *m);
const char *tl_lin_label(const tl_lin_model *m, int i);
int tl_lin_multi_label(const tl_lin_model *m);
int tl_lin_input(const tl_lin_model *m);
/* 1 when the model reads "text_b" too (trained on records that had one). */
int tl_lin_text_b(const tl_lin_model *m);
/* 1 when a text model splits CJK runs between spaces as words (trained on
 * segmented text; config.json "cjk": "words"), 0 for characters. */
int tl_lin_cjk_words(const tl_lin_model *m);
/* Mean training loss of the last epoch(s), as recorded by tl_lin_train. */
double tl_lin_train_loss(const tl_lin_model *m);
/* Number of parameters (floats). */
size_t tl_lin_nparams(const tl_lin_model *m);

/* Scores for one example (logits: softmax/hs give log-probabilities or
 * raw scores to be softmaxed, ova raw scores to be sigmoided) into
 * logits[nlabels]. Thread-safe: scratch is the caller's (see
 * tl_lin_scratch). Returns 0, or -1 (a vector of the wrong dimension). */
typedef struct {
	tl_words w;
	int32_t *rows;
	size_t nrows, cap;
	float *h, *tmp;
	tl_sparse sp;
	tl_buf jb;        /* text + text_b joined (tl_lin_rec_text) */
} tl_lin_scratch;
void tl_lin_scratch_free(tl_lin_scratch *s);
int tl_lin_logits(const tl_lin_model *m, tl_lin_scratch *s, const char *text, size_t len, const tl_sparse *sp,
		  const float *vec, size_t vlen, float *logits);

/* Read a "sparse" value of a record: {"dim": N, "idx": [..], "val": [..]}
 * or a map {index: value}; dim_default when there is no "dim". Returns 0,
 * or -1 with a message. */
int tl_lin_rec_sparse(const msgpack_object *o, tl_sparse *sp, long dim_default, char *msg, size_t msz);
/* Read a record's "vec" into *buf (grown with realloc, owned by the
 * caller): the element count, or -1 (absent), -2 (not a float array),
 * -3 (a NaN or infinite value) with a message. */
long tl_lin_rec_vec(const tl_record *rec, float **buf, size_t *cap, char *msg, size_t msz);
/* 0 when v[0..n) are all finite, else -1 with '"FIELD" has a non-finite
 * value (NaN at I)'; I is at[i] when at is given (sparse indices), else i.
 * The sparse and vec readers above and tl_lin_data_add call it. */
int tl_lin_check_finite(const char *field, const float *v, size_t n, const int32_t *at, char *msg, size_t msz);

#endif
