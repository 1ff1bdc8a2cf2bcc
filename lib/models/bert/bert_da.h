/* lib/models/bert/bert_da.h - internal to lib/models/bert: domain
 * adaptation in the fine-tuning loop (issue 18; man tl-train, DOMAIN
 * ADAPTATION): a second, source-domain stream (--source) whose labelled
 * records add lambda * L_source to the loss, records carrying "domain",
 * records without "label" that feed a domain loss only, and the domain
 * losses of tl/domain.h (DANN, CORAL, MMD) on the pooled features.
 *
 * bert_fit.c owns the records (its dataset); this file owns, per record of
 * the merged training data (the TRAIN records first, then the SRC
 * records), its domain, whether it has a label and which stream it came
 * from, and the batch plan: every micro-batch holds B records of each
 * domain, drawn from a seeded endless sequence of shuffled passes over that
 * domain's records, so the plan of epoch e is a pure function of (seed, e)
 * and a resumed run repeats it. An epoch is ceil(N_max / B) micro-batches,
 * N_max the largest domain's record count.
 *
 * Ownership: tl_da_free releases everything a tl_da allocated; the loop's
 * batches and the trainer are borrowed for the duration of a call.
 */
#ifndef TL_BERT_DA_H
#define TL_BERT_DA_H

#include "tl/bert_train.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { TL_DA_NONE = 0, TL_DA_DANN, TL_DA_CORAL, TL_DA_MMD };

typedef struct {
	/* options (tl_bert_fit_opts) */
	int method;           /* TL_DA_* */
	double dw, sw;        /* domain weight W, source weight lambda (>= 0) */
	int dw_anneal, sw_anneal; /* times tl_dann_lambda(p, 10) (DANN's W always) */
	int hidden;           /* DANN discriminator hidden units */
	/* the records, in the merged order */
	size_t n, cap;
	int *dom;             /* domain index into dname */
	unsigned char *lab;   /* 1: has a label (feeds the classification loss) */
	unsigned char *src;   /* 1: from the SRC stream (source weight) */
	char **dname;
	int nd;
	/* reading one stream (tl_da_stream) */
	const char *defname;  /* the stream's domain when its records name none */
	int cur_src;
	uint64_t first_without, named;
	size_t nstream[2], labelled[2]; /* records and labelled records per stream */
	size_t *dcount, *dlab;          /* per domain: records, labelled */
	/* plan: per domain the record indices */
	size_t **members;
	/* step scratch (host) */
	int32_t *y, *dm;
	float *swb, *f, *df, *fs, *ft, *gs, *gt;
	size_t scap, fcap;
	/* the last step's figures, for the log (means over its micro-batches) */
	double st_dloss, st_dacc, st_w;
	long st_lab, st_unlab;
	int st_n;
	/* over the run, for tl.json: domain loss / accuracy of the last epoch */
	double ep_dloss, ep_dacc;
	long ep_n;
} tl_da;

/* Start reading a stream: its records without "domain" are domain
 * defname; src: 1 for the SRC stream. */
void tl_da_stream(tl_da *da, const char *defname, int src);
/* Record rec (about to be added) of the stream being read: its domain
 * ("domain" on every record of a stream or on none: TL_EXIT_DATA naming the
 * first record without it), has_label. what names the stream. */
int tl_da_rec(tl_da *da, const tl_record *rec, int has_label, const char *what, tl_err *e);
/* After reading: checks that the domain loss has its domains (exit 2 or 3
 * with the message) and builds the plan's member lists. */
int tl_da_ready(tl_da *da, int have_source_opt, long batch, tl_err *e);
/* Micro-batches per epoch for batch size B (records per domain). */
long tl_da_batches(const tl_da *da, long batch);
/* The plan of epoch `epoch`: *idx (realloc'd) and *start (realloc'd,
 * nb + 1 entries) as bert_fit.c's epoch_plan; every batch holds `batch`
 * records of each domain, domain by domain. */
void tl_da_plan(const tl_da *da, long batch, uint64_t seed, long epoch, size_t **idx, size_t **start, size_t *nb);
/* The loss of the last forward over the micro-batch of records idx[0..B)
 * (labels y[B], TL_IGNORE_LABEL for those without, sample weights sw[B]):
 * L_train + lambda(p) L_source on the labelled records (means over each
 * stream's labelled records, class weights cw or NULL, label smoothing ls)
 * and the domain loss on the pooled features with weight W(p); writes the
 * gradients (logits, discriminator, pooled) times scale. p: progress in
 * [0, 1]. Returns the classification loss plus, for CORAL and MMD, W(p) times
 * their loss (DANN's discriminator loss is logged, not added); NaN when a
 * loss is not finite. */
double tl_da_loss(tl_da *da, tl_bert_train *t, const size_t *idx, int B, const int32_t *y, const float *sw,
		  const float *cw, float ls, float scale, double p);
/* Start a step / an epoch of figures. */
void tl_da_step_begin(tl_da *da);
void tl_da_epoch_begin(tl_da *da);
/* The step's figures as JSON members (",\"domain_loss\":..."), appended to s. */
void tl_da_log(const tl_da *da, char *s, size_t cap);
/* Domain names and counts, for the start of a run (stderr). */
void tl_da_describe(const tl_da *da, FILE *f);
/* Domain of record i in the data sha (a resumed run must see the same
 * domains): a string to hash. */
const char *tl_da_rec_domain(const tl_da *da, size_t i);
/* tl.json "domain_adaptation" (a new reference). */
json_t *tl_da_json(const tl_da *da, const char *source);
/* The method's name ("dann", "coral", "mmd", "none"). */
const char *tl_da_method_name(int method);
void tl_da_free(tl_da *da);

#endif
