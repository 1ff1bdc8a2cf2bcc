/* tl/lstm.h - LSTM language models and classifiers (issue 19, ULMFiT).
 *
 * The network (lib/models/lstm/lstm.c, llm.c style: one parameter arena,
 * layers as functions over the kernel table's lstm_forward/lstm_backward):
 *
 *   ids -> embedding [V,E] -> L stacked LSTM layers (E->H->...->H->E: the
 *   last layer's output has size E so the decoder can be tied) -> either
 *     the LM decoder: logits = h W_emb^T + b (W_emb tied to the embedding)
 *     or the classifier head: concat pooling [h at the last real step,
 *        max over time, mean over time] (3E) -> linear(3E -> head) -> ReLU
 *        -> dropout -> linear(head -> NL)
 *
 * Regularisation in training (AWD-LSTM): embedding dropout (whole words:
 * a word's row is dropped for the whole batch), locked (variational)
 * dropout masks shared over time on the embedding output, between layers
 * and on the last layer's output, DropConnect on each w_hh (the kernel gets
 * a masked copy; its gradient is masked back). Masks are the
 * counter-based ones of tl/dropout.h: a pure function of (seed, step,
 * site, index), so a run is reproducible bit for bit.
 *
 * Parameter names (model.safetensors, PyTorch-like): embedding.weight
 * [V,E]; lstm.N.weight_ih [4H_N,I_N], lstm.N.weight_hh [4H_N,H_N],
 * lstm.N.bias_ih, lstm.N.bias_hh [4H_N] (gates i,f,g,o as nn.LSTM);
 * decoder.bias [V] (LM); head.0.weight [head,3E], head.0.bias, head.1.weight
 * [NL,head], head.1.bias (classifier).
 *
 * Ownership: tl_lstm_new/tl_lstm_load return a model the caller frees
 * with tl_lstm_free (arena, labels and workspace included). The kernel
 * table is borrowed (static). Token ids passed to the step functions stay
 * the caller's; nothing keeps a pointer to them after the call. The
 * training loops (tl_lstm_fit) own everything they allocate.
 */
#ifndef TL_LSTM_H
#define TL_LSTM_H

#include "tl/classifier.h"
#include "tl/kernels.h"
#include "tl/util.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define TL_LSTM_MAXL 8

typedef struct {
	int V, E, H, L;  /* vocabulary, embedding (= last layer output), hidden, layers */
	int NL;          /* labels (classifier) or 0 (language model) */
	int head;        /* classifier hidden size (50) */
	float p_emb, p_in, p_hid, p_out, p_w, p_head; /* dropout rates (training only) */
} tl_lstm_cfg;

typedef struct tl_lstm_ws tl_lstm_ws;

typedef struct {
	tl_lstm_cfg cfg;
	const tl_kernels *k;
	float *arena;          /* all parameters, n floats, owned */
	size_t n;
	float *grad;           /* gradient arena (NULL until tl_lstm_train_init), owned */
	/* views into arena (offsets identical in grad) */
	size_t o_emb, o_wih[TL_LSTM_MAXL], o_whh[TL_LSTM_MAXL], o_bih[TL_LSTM_MAXL], o_bhh[TL_LSTM_MAXL];
	size_t o_decb, o_w1, o_b1, o_w2, o_b2;
	int in[TL_LSTM_MAXL], out[TL_LSTM_MAXL]; /* input and output sizes of each layer */
	/* layer groups for discriminative rates and gradual unfreezing:
	 * group 0 the embedding, 1..L the layers, L+1 the decoder bias or head;
	 * [goff[g], goff[g+1]) in the arena */
	size_t goff[TL_LSTM_MAXL + 3];
	int eos;               /* end-of-record id of the LM stream ([SEP]) */
	long max_len;          /* classifier: ids beyond this are dropped (0: none) */
	char **labels;         /* NL names (classifier), owned */
	char vocab_sha256[65]; /* of the model's vocab.txt, "" when unknown */
	tl_lstm_ws *ws;        /* activations, owned */
	/* the LM's hidden state carried across windows: [B, out[l]] per layer */
	float *h0[TL_LSTM_MAXL], *c0[TL_LSTM_MAXL];
	int state_B;
	int lowest;            /* classifier training: the lowest layer group that trains
				* (gradual unfreezing; 0 = all): backward stops there */
	/* language model: the precision of the tied decoder's three products
	 * and of each LSTM layer's products with its inputs (x w_ih^T, dx,
	 * dw_ih, dw_hh: kernels.h lstm_forward's pw_ih) (enum tl_precision:
	 * TL_PREC_FP32, 0 from tl_lstm_new, or TL_PREC_BF16: bf16 operands,
	 * fp32 sums, the kernel table's bf16 training products), set by the
	 * caller; the weights, the loss, the recurrence h w_hh^T and the cells
	 * stay fp32. dec_pw: the embedding's bf16 handle, rounded again from
	 * the fp32 weights at every tl_lstm_lm_step; ih_pw[l], hh_pw[l]: layer
	 * l's w_ih and w_hh handles, rounded again at every forward; all owned. */
	int prec;
	void *dec_pw;
	void *ih_pw[TL_LSTM_MAXL], *hh_pw[TL_LSTM_MAXL];
} tl_lstm;

/* A new model with this configuration, parameters initialised from seed
 * (embedding U(-0.1,0.1); LSTM U(-1/sqrt(H),1/sqrt(H)) as nn.LSTM; head
 * U(-1/sqrt(in),1/sqrt(in)), biases 0). NULL with err on a bad config. */
tl_lstm *tl_lstm_new(const tl_lstm_cfg *cfg, const tl_kernels *k, uint64_t seed, char *err, size_t errsz);
void tl_lstm_free(tl_lstm *m);
/* Allocate the gradient arena (zeroed). */
void tl_lstm_train_init(tl_lstm *m);

/* Language model: one truncated-BPTT window. ids[B*T] inputs, y[B*T]
 * targets (the next ids). h0/c0 of m (tl_lstm_reset_state zeroes them for
 * B streams) are the initial state and receive the final one (detached).
 * train 1: dropout on (seed, step pick the masks) and the gradient of the
 * mean loss (times scale) ACCUMULATED into m->grad; 0: no dropout, no
 * gradient. Returns the mean cross-entropy over the B*T tokens. */
double tl_lstm_lm_step(tl_lstm *m, const int32_t *ids, const int32_t *y, int B, int T, int train, uint64_t seed,
		       uint64_t step, float scale);
void tl_lstm_reset_state(tl_lstm *m, int B);

/* Classifier: a padded batch ids[B*T] with lens[B] (>= 1). logits[B*NL]
 * (caller's). With y (training, or a loss wanted) returns the mean
 * cross-entropy and, when train, accumulates its gradient times scale
 * into m->grad; vec (may be NULL) receives the concat-pooled vectors
 * [B,3E]. */
double tl_lstm_cls_step(tl_lstm *m, const int32_t *ids, const int32_t *lens, const int32_t *y, int B, int T,
			int train, uint64_t seed, uint64_t step, float scale, float *logits, float *vec);

/* Features (tl-embed): the concat-pooled vectors [B,3E] of a padded batch
 * (no dropout), for a language model or a classifier. */
void tl_lstm_encode(tl_lstm *m, const int32_t *ids, const int32_t *lens, int B, int T, float *vec);

/* n sequences seq[i] (len[i] >= 0 ids each, in the vocabulary) through
 * the model without dropout, sorted by length into padded batches of at
 * most bmax (an empty sequence alone, as one step of length 0): the
 * classifier's logits[n*NL] (may be NULL: then the features) and the
 * concat-pooled vectors vec[n*3E] (may be NULL), in the order given. The
 * kernels compute every row from its own sequence only, so the bits are
 * those of one sequence at a time (tests/bats/lstm.bats checks it). */
void tl_lstm_forward_many(tl_lstm *m, const int32_t *const *seq, const int32_t *len, size_t n, int bmax, float *logits,
			  float *vec);

/* Model directories: model.safetensors (the names above), config.json
 * ("model_type": "tl-lstm", "mode": "lm"|"classifier", sizes, dropouts,
 * id2label/label2id), vocab.txt copied from vocab_path, and tl.json
 * (tl_json, a jansson object, borrowed; may be NULL). Written into the
 * directory dir (a temporary one: the caller publishes it). 0 or -1
 * (errno). */
int tl_lstm_save(const tl_lstm *m, const char *dir, const char *vocab_path, const void *tl_json);
/* Load a model directory; NULL with err (exit code in *code when not
 * NULL: TL_EXIT_MODEL). */
tl_lstm *tl_lstm_load(const char *dir, const tl_kernels *k, char *err, size_t errsz);

/* The arena offset of the parameter tensor called name (the names above)
 * and its size in *n, or -1. */
long tl_lstm_param_off(const tl_lstm *m, const char *name, size_t *n);

/* tl-predict's loader (model_type "tl-lstm", mode "classifier"). */
tl_classifier *tl_lstm_classifier_load(const char *dir, const void *config, int threads, tl_classifier_err *e);

/* ---------------- training (lib/models/lstm/lstm_fit.c) ---------------- */

typedef struct {
	int classifier;            /* 0: -m lstm-lm, 1: -m lstm */
	const char *out, *train, *dev, *vocab, *pretrained, *log;
	int force, quiet, threads;
	uint64_t seed;
	long epochs, batch, bptt, max_len, max_steps;
	double lr, wd, clip, b1, b2;
	int E, H, L, head;          /* sizes (from scratch) */
	double p_emb, p_in, p_hid, p_out, p_w, p_head; /* dropouts; < 0: default */
	double drop_mult;          /* multiplies the default dropouts (1) */
	int unfreeze;              /* classifier with --pretrained: gradual unfreezing (1) */
	double lr_div;             /* discriminative rate divisor (2.6) */
	double cut_frac, ratio;    /* slanted triangular schedule (0.1, 32) */
	int precision;             /* lstm-lm: the decoder's products, TL_PREC_FP32 or _BF16 (tl_lstm.prec) */
	const char *device;
	/* checkpoints (tl-train(1) RESUME): every ckpt_every steps (0: only
	 * on SIGINT) into ckpt_dir (NULL: "<out>.ckpt"), written to a
	 * temporary sibling and published atomically; resume: continue from
	 * that checkpoint (the options that decide the result must be the
	 * checkpoint's unless named in allow_change, a comma list or "all"),
	 * its state.json "options" lists them); keep_ckpt: leave it after
	 * a successful run. A checkpoint holds the weights, the AdamW moments
	 * and step, the epoch and position in it (the LM's stream offset and
	 * window-length generator, the classifier's batch), the LM's carried
	 * hidden state and the --log length, so a resumed run writes the
	 * same model bytes as an uninterrupted one (same --threads). */
	long ckpt_every;
	const char *ckpt_dir, *resume, *allow_change;
	int keep_ckpt;
	volatile sig_atomic_t *stop; /* SIGINT flag (may be NULL): checkpoint, exit 130 */
	int argc;
	char **argv;
} tl_lstm_fit_opts;

void tl_lstm_fit_opts_default(tl_lstm_fit_opts *o, int classifier);
/* Train and write the model directory o->out. 0, or -1 with e (exit
 * code and message). */
int tl_lstm_fit(const tl_lstm_fit_opts *o, tl_err *e);

#endif
