/* lib/models/bert/bert_mlm.h - the masked-LM side of the fine-tuning loop
 * (`tl-train -m bert --objective mlm`, issue 18; man tl-train, CONTINUED
 * PRETRAINING). Private to libtl: bert_fit.c is the only caller (and
 * tests/unit/test_mlm_fit.c).
 *
 * What is masked: tl_mlm_mask (tl/mlm.h) on every record of a batch, a
 * generator stream per (seed, epoch, record): the masking of an epoch is a
 * pure function of the seed, so a run is bitwise deterministic and a
 * --resume repeats it. The dev stream is masked once, from (seed, record),
 * the same at every evaluation.
 *
 * Ownership: a tl_mlm_ctx owns its cont table (tl_mlm_ctx_free); every
 * buffer passed in is the caller's and only read or written during the
 * call.
 */
#ifndef TL_BERT_MLM_H
#define TL_BERT_MLM_H

#include "tl/bert_train.h"
#include "tl/util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int32_t V;             /* the model's vocabulary size */
	int32_t mask_id;       /* [MASK] */
	int32_t special[8];    /* never masked: [CLS] [SEP] [PAD] [MASK] [UNK] of the vocabulary */
	int nspecial;
	unsigned char *cont;   /* [V]: 1 for a "##" continuation piece (whole-word masking) */
	float p;               /* --mask-prob */
	int whole_word;        /* --whole-word-mask */
	uint64_t seed;         /* --seed */
	int head_loaded;       /* the model came with cls.predictions.* (set by the loop) */
} tl_mlm_ctx;

/* Read the special ids and the continuation pieces from dir/vocab.txt
 * (V ids, the model's vocab_size; a vocabulary of another size is a model
 * error). No [MASK] token: TL_EXIT_MODEL. Returns 0, or -1 with e set. */
int tl_mlm_ctx_init(tl_mlm_ctx *c, const char *dir, int32_t V, float p, int whole_word, uint64_t seed, tl_err *e);
void tl_mlm_ctx_free(tl_mlm_ctx *c);

/* The positions of ids[0..len) that can be masked (not special, inside
 * [0, V)). A record without one is skipped by the loop. */
int tl_mlm_maskable(const tl_mlm_ctx *c, const int32_t *ids, int len);

/* The generator stream of record rec in epoch epoch (training), and of
 * dev record rec (epoch -1: the fixed dev masking). */
uint64_t tl_mlm_stream(long epoch, size_t rec);

/* Mask a padded batch in place: row i (ids[i*T .. i*T + lens[i])) is
 * record rec[i]; labels[B*T] receives the original id at the chosen
 * positions and TL_IGNORE_LABEL elsewhere (padding included). epoch -1:
 * the dev masking (its own seed). Returns the number of labelled
 * positions. */
long tl_mlm_mask_batch(const tl_mlm_ctx *c, int32_t *ids, int32_t *labels, const int32_t *lens, int B, int T,
		       const size_t *rec, long epoch);

/* Dev evaluation: the mean MLM loss over every masked position of the n
 * records (ids at ids + off[i], len[i] of them; types NULL or aligned with
 * ids), masked with the fixed dev masking, the model in evaluation mode
 * (no dropout). *loss, *npos (positions). Leaves t's gradients as they
 * were (zero after an optimizer step). */
void tl_mlm_evaluate(tl_bert_train *t, const tl_mlm_ctx *c, const int32_t *ids, const int32_t *types,
		     const size_t *off, const int *len, size_t n, double *loss, long *npos);

/* The model directory of an MLM run: config.json made a BertForMaskedLM
 * one (architectures, no labels or problem type); tensors: keep(name) is
 * 1 for those written (the encoder and cls.predictions.*: no pooler, no
 * classifier, no checkpoint-only tensors). */
void tl_mlm_config(json_t *cfg);
int tl_mlm_keep_tensor(const tl_bert_tensor *ts);
/* A classification run from a BertForMaskedLM directory: the MLM head's
 * tensors are neither trained nor written. */
int tl_mlm_is_head_tensor(const char *name);

#endif
