/* tl/bert_train.h - training a BERT sequence classifier: the training
 * forward pass (dropout, every activation kept), the backward pass in
 * reverse layer order, the classification heads and their losses.
 *
 * Builds on tl/bert.h: the model is a tl_bert (one parameter arena,
 * tl_bert_params pointers into it); the gradients are a second arena of
 * the same layout (grads, pointed by tl_bert_params_point), so parameter
 * i and its gradient sit at the same offset of their arenas. Kernels come
 * from the backend table of include/tl/kernels.h (forward, backward, memory).
 *
 * Heads (Hugging Face BertForSequenceClassification): logits =
 * classifier(dropout(tanh(pooler(h[CLS])))); single-label: softmax
 * cross-entropy (class weights, label smoothing); multi-label: sigmoid
 * binary cross-entropy per label.
 *
 * Ownership: tl_bert_train_init takes ownership of the model it is given
 * (tl_bert_train_free frees it with the gradients and activations it
 * allocated). The logits a forward returns live in t and stay valid until
 * the next forward or the free; one tl_bert_train is used by one thread at
 * a time. Input batches and labels are the caller's and only read during
 * the call. tl_bert_train_tensors returns a malloc'd array the caller
 * frees with free().
 */
#ifndef TL_BERT_TRAIN_H
#define TL_BERT_TRAIN_H

#include "tl/kernels.h"
#include "tl/bert.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	/* activations of every layer, [L] stacked */
	float *emb, *emb_ln, *emb_mean, *emb_rstd;
	float *qkv, *att, *atty, *res1, *ln1, *ln1_mean, *ln1_rstd;
	float *fch, *fch_gelu, *res2, *ln2, *ln2_mean, *ln2_rstd;
	float *pooled, *pooled_d, *logits;
	float *hid_d; /* token head: dropout(last hidden) [B*T, C] */
	/* backward scratch */
	float *dA, *dB, *dC, *dI1, *dI2, *dQKV, *dpooled, *dlogits;
} tl_bert_train_acts;

typedef struct {
	tl_bert *m;                 /* the model, owned (tl_bert_free by _free) */
	const tl_kernels *k;       /* == m->k: one table for forward, backward, updates */
	tl_bert_params grads;       /* pointers into grad_arena */
	float *grad_arena;          /* m->nparams floats, backend memory, owned */
	tl_bert_train_acts a;
	float *acts_arena;
	size_t acts_cap;
	int32_t *ids, *type_ids, *lens; /* device copies of the last batch */
	size_t in_cap;
	int B, T, has_types;
	int multi_label;
	/* 1: token classification (BertForTokenClassification): logits
	 * [B*T, NL] = dropout(h) Wc^T + bc over every position of the last
	 * hidden state; the pooler is kept in the arena but not used (no
	 * gradient). Set after tl_bert_train_init, before the first forward. */
	int token;
	float p_hidden, p_att, p_cls; /* dropout rates (0 at evaluation) */
	int freeze_below;           /* -1: train all; 0: embeddings frozen; n: embeddings and layers < n frozen; L+1: all but the head */
	/* Precision of the encoder's linear products (tl_bert_train_set_precision):
	 * TL_PREC_FP32 (the default), or TL_PREC_BF16: bf16 operands, fp32
	 * accumulation, for the four linear layers of every encoder layer
	 * (forward, dX and dW); the weights stay fp32 (the master copy), their
	 * bf16 handles (pw, 4 per layer, owned) are refreshed by the first
	 * forward after tl_bert_train_weights_changed. */
	int precision;
	void **pw;
	int pw_stale;
} tl_bert_train;

/* Prepare m for training a head of nlabels outputs: when m has no
 * classifier of that size (a BertModel checkpoint), the arena is rebuilt
 * with a pooler (kept when present) and a classifier initialised as
 * Hugging Face does: weights N(0, init_std), biases 0, from a seeded
 * generator. Takes ownership of m. Dropout rates default to 0.1. */
void tl_bert_train_init(tl_bert_train *t, tl_bert *m, int nlabels, int multi_label, float init_std,
			uint64_t seed);
void tl_bert_train_free(tl_bert_train *t);

/* Forward over a padded host batch (see tl_bert_forward); train != 0
 * applies dropout with streams derived from (seed, step). Returns the
 * logits [B, NL] (backend memory, valid until the next forward). */
const float *tl_bert_train_forward(tl_bert_train *t, const int32_t *ids, const int32_t *type_ids,
				   const int32_t *lens, int B, int T, int train, uint64_t seed, uint64_t step);

/* Loss of the last forward: single-label y[B] (class weights w[NL] or
 * NULL, label smoothing ls), or multi-label ym[B, NL] in {0,1}; sample
 * weights sw[B] or NULL. Writes the gradient of the logits (times scale)
 * for tl_bert_train_backward and returns the mean loss. */
double tl_bert_train_loss(tl_bert_train *t, const int32_t *y, const float *ym, const float *w, const float *sw,
			  float ls, float scale);

/* Token classification (t->token): loss of the last forward over the
 * positions whose label y[B*T] (padded layout, row b*T+t) is not
 * TL_IGNORE_LABEL (-100, as torch's ignore_index): softmax cross-entropy
 * (class weights w[NL] or NULL, label smoothing ls), the mean over those
 * positions as torch.nn.CrossEntropyLoss(ignore_index=-100). Writes the
 * logits gradient (times scale) and returns the mean loss (0 when every
 * position is ignored). */
#define TL_IGNORE_LABEL (-100)
double tl_bert_train_token_loss(tl_bert_train *t, const int32_t *y, const float *w, float ls, float scale);

/* Backward of the last forward from the logits gradient of
 * tl_bert_train_loss: ACCUMULATES into t->grads (zero them with
 * tl_bert_train_zero_grad once per optimizer step). Frozen parts
 * (freeze_below) get no gradient and are not traversed. Same train, seed
 * and step as the forward. */
void tl_bert_train_backward(tl_bert_train *t, int train, uint64_t seed, uint64_t step);
void tl_bert_train_zero_grad(tl_bert_train *t);

/* The precision of the linear products (enum tl_precision: TL_PREC_FP32 or
 * TL_PREC_BF16); returns -1 for another. Call after init. */
int tl_bert_train_set_precision(tl_bert_train *t, int prec);
/* The fp32 weights (m->arena) were changed (an optimizer step, weights
 * loaded): a bf16 run re-rounds its handles at the next forward. Every
 * writer of m->arena must call it; a no-op in fp32. */
void tl_bert_train_weights_changed(tl_bert_train *t);

/* One named tensor under Hugging Face BertForSequenceClassification names
 * ("bert.encoder.layer.3.attention.self.key.weight", "classifier.bias"):
 * offset (floats) into the parameter/gradient arena, shape, and layer
 * (-1 embeddings, 0..L-1, L pooler/classifier). */
typedef struct {
	char name[96];
	size_t off, n;
	int64_t shape[2];
	int ndim;
	int layer;
	int no_decay; /* bias or LayerNorm: no weight decay */
} tl_bert_tensor;

/* The tensors of m in Hugging Face order; *n receives the count. Returns
 * a malloc'd array (caller frees). */
tl_bert_tensor *tl_bert_train_tensors(const tl_bert *m, size_t *n);

/* Multi-task (the heads list of tl/bert.h): the model's classifier holds
 * the stacked rows of every head; the forward computes all of them. Loss
 * of the last forward on head h only (rows h->k0 .. h->k0 + h->k - 1):
 * single-label y[B] in 0..h->k-1 (softmax cross-entropy, class weights w
 * [h->k] or NULL, sample weights sw[B] or NULL, label smoothing ls), or
 * multi-label (h->multi_label) ym[B, h->k] (sigmoid BCE). The gradient of
 * the other heads' logits is 0, so their rows get no gradient; the
 * logits gradient is written times scale (a task's loss weight over the
 * accumulation steps), and the unscaled mean loss is returned. */
double tl_bert_train_head_loss(tl_bert_train *t, const tl_bert_head *h, const int32_t *y, const float *ym,
			       const float *w, const float *sw, float ls, float scale);

#endif
