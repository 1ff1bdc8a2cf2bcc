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
#include "tl/mlm.h"

#include <stddef.h>
#include <stdint.h>

/* Row layout (issue 22): the encoder works on the batch's PACKED rows,
 * the real tokens only: row off[b] + t for t < lens[b], off[b] = lens[0] +
 * ... + lens[b-1], N = the sum of lens (each clamped to [0, T]); the
 * per-layer buffers below (emb .. ln2_rstd, hid_d, dA .. dC, dI1, dI2) hold
 * N rows at a stride of B*T rows per layer. Attention runs on the padded
 * [B, T] layout: qkv is padded [L, B*T, 3C] (rows t >= lens[b] zero), and
 * att [L, B, NH, T, T]. logits, dlogits (token head: [B*T, NL], padded
 * rows 0), dhid and hid_pad are padded [B*T, ...] (row b*T + t). */
typedef struct {
	/* activations of every layer, [L] stacked */
	float *emb, *emb_ln, *emb_mean, *emb_rstd;
	float *qkv, *att, *atty, *res1, *ln1, *ln1_mean, *ln1_rstd;
	float *fch, *fch_gelu, *res2, *ln2, *ln2_mean, *ln2_rstd;
	float *pooled, *pooled_d, *logits;
	float *hid_d; /* token head: dropout(last hidden) [B*T, C] */
	/* backward scratch */
	float *dA, *dB, *dC, *dI1, *dI2, *dpooled, *dlogits;
	/* gradient of the extra losses on the last hidden state [B*T, C]
	 * (tl_bert_train_hidden_cos_loss); meaningful when t->dhid_set */
	float *dhid;
	/* gradient of the extra losses on the pooled output [B, C]
	 * (tl_bert_train_add_pooled_grad); meaningful when t->dpool_set */
	float *dpool_x;
	/* the last hidden state unpacked to [B*T, C] (padded rows 0) */
	float *hid_pad;
	/* scratch: [B*T, C] padded rows, [B*T, 3C] packed rows, the token
	 * head's packed logits and their gradient [N, NL] */
	float *pad_c, *pk3, *logits_p, *dlogits_p;
} tl_bert_train_acts;

/* Scratch of the MLM head over the M labelled positions of a batch
 * (backend memory, one allocation grown on demand, owned by
 * tl_bert_train). */
typedef struct {
	float *x;        /* [M, C] gathered rows of the last hidden state */
	float *h;        /* [M, C] transform.dense output (before GELU) */
	float *g;        /* [M, C] GELU output */
	float *y;        /* [M, C] transform.LayerNorm output */
	float *mean, *rstd; /* [M] */
	float *logits;   /* [M, V] logits */
	float *dlogits;  /* [M, V] their gradient */
	float *dy, *dg, *dx; /* [M, C] backward scratch */
	int32_t *rows;   /* [M] row b*T+t of each position (host memory) */
	int32_t *tgt;    /* [M] target ids (host memory) */
	size_t cap;      /* positions the buffers hold */
	float *arena;
} tl_bert_mlm_acts;

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
	/* packed rows of the last batch: N = sum of plen, plen[b] = lens[b]
	 * clamped to [0, T], poff[b] its first packed row (host memory, owned,
	 * room for pcap sequences) */
	int N;
	int *plen, *poff;
	int pcap;
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
	 * (forward, dX and dW); the weights stay fp32 (the master copy). Their
	 * handles (pw, 4 per layer, owned; made at pw_prec): bf16 copies, or
	 * at fp32 the weights packed for the forward product where the backend
	 * has a packed layout for them (else pw stays NULL and pw_plain is 1),
	 * refreshed by the first forward after tl_bert_train_weights_changed. */
	int precision;
	void **pw;
	int pw_stale, pw_prec, pw_plain;
	/* 1: a.dhid holds a gradient on the last hidden state for the next
	 * backward (set by tl_bert_train_hidden_cos_loss, cleared by every
	 * forward). */
	int dhid_set;
	/* Head importance (tl_bert_train_head_grad_on): float[L*NH], host
	 * memory, owned (freed by _free); NULL when off. Row l*NH + h is
	 * dL/dm[l,h] for a head mask m (all ones) on each head's context
	 * output; backward ADDS to it, tl_bert_train_zero_grad zeroes it. */
	float *head_grad;
	/* 1: the model is trained with the MLM objective only (issue 18): the
	 * forward skips the pooler and classifier (nlabels may be 0) and the
	 * backward starts from a.dhid alone (tl_bert_train_mlm_loss). */
	int mlm_only;
	tl_bert_mlm_acts mlm;
	/* 1: a.dpool_x holds a gradient on the pooled output for the next
	 * backward (tl_bert_train_add_pooled_grad; cleared by every forward). */
	int dpool_set;
	/* The word-embedding rows the gradient may hold: wte_rows[r] (host
	 * memory, owned, vocab_size flags; NULL before the first backward) is
	 * set by every backward for the tokens of its batch; wte_dense: a
	 * contribution wrote every row (the MLM head's tied decoder), or the
	 * ids were not host memory. Cleared by tl_bert_train_rows_clear; the
	 * trainer passes them to tl_optim_hint_rows. */
	unsigned char *wte_rows;
	int wte_dense;
} tl_bert_train;

/* Prepare m for training a head of nlabels outputs: when m has no
 * classifier of that size (a BertModel checkpoint), the arena is rebuilt
 * with a pooler (kept when present) and a classifier initialised as
 * Hugging Face does: weights N(0, init_std), biases 0, from a seeded
 * generator. Takes ownership of m. Dropout rates default to 0.1. The
 * optional slots (MLM head, discriminator) of m are kept with their
 * values through the rebuild. */
void tl_bert_train_init(tl_bert_train *t, tl_bert *m, int nlabels, int multi_label, float init_std,
			uint64_t seed);
void tl_bert_train_free(tl_bert_train *t);

/* A classifier kept by tl_bert_train_init (m had one of nlabels rows)
 * continues only for the same labels: perm[i] is the new row of the
 * checkpoint's row i (a permutation of 0..nlabels-1: its rows are
 * reordered to the new label order), or perm NULL: the labels differ and
 * the classifier is drawn afresh as tl_bert_train_init draws it (weights
 * N(0, init_std) from the seed's generator, biases 0). */
void tl_bert_train_relabel_head(tl_bert_train *t, const int *perm, float init_std, uint64_t seed);

/* Forward over a padded host batch (see tl_bert_forward); train != 0
 * applies dropout with streams derived from (seed, step). Returns the
 * logits [B, NL] (backend memory, valid until the next forward). */
const float *tl_bert_train_forward(tl_bert_train *t, const int32_t *ids, const int32_t *type_ids,
				   const int32_t *lens, int B, int T, int train, uint64_t seed, uint64_t step);

/* Sizes the activation buffers (t's, backend memory) for batches of up
 * to B sequences of T tokens, so that a forward of any batch within both
 * allocates nothing. A forward of a larger batch still grows them; the
 * training loop reserves its epoch plan's largest batch at the start of
 * each epoch. */
void tl_bert_train_reserve(tl_bert_train *t, int B, int T);

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
/* wte_rows and wte_dense cleared: the gradient was zeroed since (the
 * optimizer's fused step). */
void tl_bert_train_rows_clear(tl_bert_train *t);

/* The precision of the linear products (enum tl_precision: TL_PREC_FP32 or
 * TL_PREC_BF16); returns -1 for another. Call after init. */
int tl_bert_train_set_precision(tl_bert_train *t, int prec);
/* The fp32 weights (m->arena) were changed (an optimizer step, weights
 * loaded): the next forward makes the linear layers' handles again (bf16:
 * rounded; fp32: packed for the forward product). Every writer of m->arena
 * must call it. */
void tl_bert_train_weights_changed(tl_bert_train *t);

/* ---------------- distillation and pruning (issue 17) ----------------
 * The extra objectives below work on the last forward, like
 * tl_bert_train_loss, and are combined by the next tl_bert_train_backward:
 * the logits gradient (a.dlogits, written by whichever logits loss was
 * called last; every forward zeroes it, so a backward with only a hidden
 * loss is valid) plus the hidden-state gradient (a.dhid when dhid_set).
 * Teacher inputs are host memory, the caller's, only read during the
 * call. Invalid arguments are the caller's to refuse: these functions
 * return NAN and write nothing rather than assert. */

/* Knowledge distillation (Hinton et al. 2015) on the logits of the last
 * forward, from teacher logits [B, NL] at temperature T > 0, mixed with the
 * hard labels by alpha in [0, 1]:
 *   loss = alpha T^2 KL(softmax(teacher/T) || softmax(student/T))
 *        + (1 - alpha) CE(student, y)
 * the KL the mean over records (torch F.kl_div(log_softmax(s/T),
 * softmax(t/T), reduction="batchmean") * T*T), the CE as
 * tl_bert_train_loss (no class weights, no smoothing). y[B]: hard labels,
 * or NULL for soft targets only (the hard term is then absent: loss =
 * alpha T^2 KL, so pass alpha = 1 for pure distillation); a record with
 * y[i] == TL_IGNORE_LABEL has no hard label (the CE is the mean over the
 * labelled records, 0 when none is). sw[B]: sample weights or NULL (1):
 * both terms become sum_i sw_i l_i / sum_i sw_i (0 when the sum is 0).
 * Multi-label heads (t->multi_label): the per-label sigmoid analogue,
 *   loss = alpha T^2 BCE(sigmoid(student/T), sigmoid(teacher/T))
 * (torch F.binary_cross_entropy_with_logits(s/T, sigmoid(t/T)) * T*T, the
 * mean over B*NL; its value includes the teacher's entropy, its gradient
 * is that of the KL of each label's Bernoulli); y must be NULL there (hard
 * multi-label targets: tl_bert_train_kd_loss_ml). Token heads
 * (t->token): not supported (NAN). Writes the logits gradient (times
 * scale, ASSIGNED) and returns the loss; NAN when T <= 0 or not finite,
 * alpha outside [0, 1] or NaN, or the head is a token head. */
double tl_bert_train_kd_loss(tl_bert_train *t, const float *teacher_logits, float T, float alpha,
			     const int32_t *y, const float *sw, float scale);
/* The same on a multi-label head with hard targets ym[B, NL] in {0, 1} (or
 * NULL): loss = alpha T^2 BCE(s/T, sigmoid(t/T)) + (1 - alpha) BCE(s, ym),
 * both means over B*NL (sw weighting records as above). NAN as above, and
 * on a head that is not multi-label. */
double tl_bert_train_kd_loss_ml(tl_bert_train *t, const float *teacher_logits, float T, float alpha,
				const float *ym, const float *sw, float scale);

/* Hidden-state matching (DistilBERT's cosine loss) on the last hidden
 * state of the last forward (the output of the last layer's final
 * LayerNorm, Hugging Face's last_hidden_state): teacher_hidden [B, T, C]
 * in the padded layout of the batch (same C as the student; rows of
 * padding are not read).
 *   loss = weight * mean over real tokens (t < lens[b]) of 1 - cos(h_s, h_t)
 * cos as torch: x.y / sqrt((|x|^2 + 1e-12) (|y|^2 + 1e-12)), i.e. weight *
 * torch.nn.CosineEmbeddingLoss()(h_s, h_t, target=1) over the unpadded
 * tokens. Writes the gradient of that (times scale) on the last hidden
 * state (a.dhid, dhid_set = 1; a second call before the next forward
 * adds to it), which the next tl_bert_train_backward adds to the head's.
 * Returns the loss (weighted); 0 for a batch without tokens; NAN (nothing
 * written) when weight is not finite. Frozen encoders (freeze_below >= L)
 * take no gradient from it. */
double tl_bert_train_hidden_cos_loss(tl_bert_train *t, const float *teacher_hidden, float weight, float scale);

/* The last hidden state of the last forward, [B, T, C] padded (rows t >=
 * lens[b] are 0; the forward unpacks its packed rows there), backend memory owned by t and valid until
 * the next forward: the teacher side of tl_bert_train_hidden_cos_loss
 * (copy it out with t->k->to_host). */
const float *tl_bert_train_hidden(const tl_bert_train *t);

/* Head importance (Michel et al. 2019): from now on every
 * tl_bert_train_backward adds dL/dm[l,h] = sum over the batch's tokens of
 * <d ctx_h, ctx_h> to t->head_grad[l*NH + h], where ctx_h is head h's
 * context output (after attention dropout, before attention.output.dense)
 * and m a head mask of ones multiplying it, as Hugging Face's head_mask
 * argument. Layers below freeze_below are not traversed (their entries
 * stay 0). Allocates t->head_grad (zeroed) the first time; idempotent. */
void tl_bert_train_head_grad_on(tl_bert_train *t);

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
	/* 1: kept in checkpoints (resume) but not written to the final model
	 * directory (the domain discriminator, tl.domain.*), which stays a
	 * clean Hugging Face model */
	int ckpt_only;
} tl_bert_tensor;

/* The tensors of m in Hugging Face order; *n receives the count. Returns
 * a malloc'd array (caller frees). After the classifier: the MLM head
 * (cfg.mlm; "cls.predictions.transform.dense.weight", ".bias",
 * "cls.predictions.transform.LayerNorm.weight", ".bias",
 * "cls.predictions.bias"; layer L) and the discriminator
 * (cfg.disc_hidden; "tl.domain.dense.weight", ".bias",
 * "tl.domain.out.weight", ".bias"; layer L, ckpt_only). */
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

/* ---------------- masked LM and domain adaptation (issue 18) ---------------- */

/* Add the MLM head (BertForMaskedLM's cls.predictions) to t's model if it
 * has none: transform.dense weight N(0, init_std), its bias 0, LayerNorm
 * weight 1 and bias 0, decoder bias 0, the normals from the counter
 * generator of tl/rng.h (tl_mix64_normal) on the state seed ^ "mlm"
 * (0x6d6c6d0000000000) in row-major order. A model loaded with
 * cls.predictions.* keeps its own. Rebuilds the arena (every other
 * tensor's values kept) and the gradient arena (zeroed). Call before the
 * optimizer is created. 0, or -1 with err. */
int tl_bert_train_mlm_init(tl_bert_train *t, float init_std, uint64_t seed, char *err, size_t errsz);
/* Remove the MLM head from t's model (fine-tuning a checkpoint written by
 * MLM training: transformers' BertForSequenceClassification has no
 * cls.predictions, and the head would otherwise be carried, decayed and
 * saved). Rebuilds the arena (other values kept) and the gradient arena
 * (zeroed); call before the optimizer is created. 1 when a head was
 * removed, 0 when there was none. */
int tl_bert_train_mlm_drop(tl_bert_train *t);
/* Add a discriminator of H hidden units and D domains (H >= 1, D >= 2):
 * weights N(0, init_std), biases 0, from the state seed ^ "disc"
 * (0x6469736300000000), w1 then w2 in row-major order. A model that
 * already has one of that shape keeps it (resume); another shape: -1.
 * Rebuilds the arena and the gradient arena (zeroed) as above. 0, or -1
 * with err. */
int tl_bert_train_disc_init(tl_bert_train *t, int H, int D, float init_std, uint64_t seed, char *err,
			    size_t errsz);
/* MLM loss of the last forward: labels[B*T] in the padded layout (row
 * b*T+t), the original token id at masked positions and TL_IGNORE_LABEL
 * elsewhere (an id outside [0, V) counts as ignored too).
 *   logits = LN(gelu(h Wd^T + bd)) wte^T + bias   over the V words,
 * computed only at the M labelled positions (one [M, C] x [C, V] product);
 * loss = mean cross-entropy over them (torch CrossEntropyLoss(
 * ignore_index=-100), as BertForMaskedLM(labels=...).loss). ADDS the
 * gradient of that loss times scale to the MLM head's gradients and to
 * grads.wte (the tied decoder), and to the gradient on the last hidden
 * state a.dhid (dhid_set = 1) for the next tl_bert_train_backward. Frozen
 * encoders (freeze_below >= L): the head's and wte's gradients are still
 * written, a.dhid is not. Returns the mean loss, 0 when no position is
 * labelled (nothing written); *n_out (may be NULL) = M. NAN (nothing
 * written) when the model has no MLM head. */
double tl_bert_train_mlm_loss(tl_bert_train *t, const int32_t *labels, float scale, long *n_out);
/* The pooled output tanh(pooler(h[CLS])) of the last forward, [B, C],
 * backend memory valid until the next forward (before the classifier
 * dropout): the feature that the domain losses align. NULL when the
 * forward did not compute it (token head, mlm_only). */
const float *tl_bert_train_pooled(const tl_bert_train *t);
/* Add dpooled[B, C] (host memory, the caller's) times scale to the
 * gradient of the pooled output for the next tl_bert_train_backward
 * (accumulates over calls until the next forward; added to the
 * classifier's gradient before the pooler's tanh backward). */
void tl_bert_train_add_pooled_grad(tl_bert_train *t, const float *dpooled, float scale);

#endif
