/* tl/bert.h - BERT encoders (Hugging Face BertModel and
 * BertForSequenceClassification checkpoints) on the kernel layer.
 *
 * llm.c style: one struct per model, one parameter arena holding every
 * weight as float32 (F16/BF16 are converted at load), named pointers into
 * it (tl_bert_params), and a forward pass that is a list of layer calls.
 * A gradient struct for training is the same tl_bert_params type over a
 * second arena of the same layout (tl_bert_params_layout gives it).
 *
 * Layout of the fused attention weights: layer l's query, key and value
 * weights are stacked in qkvw[l] = [3C, C] (query rows first), so one GEMM
 * produces q, k and v; saving a fine-tuned model (tl-train -m bert)
 * splits them back into Hugging Face names.
 *
 * Ownership: tl_bert_load returns a model the caller frees with
 * tl_bert_free; the model owns its parameter arena, activations and input
 * buffers (backend memory of its tl_kernels table, which is static and not
 * owned) and its dir string. A model is not safe to use from two threads
 * at once: tl_bert_forward and tl_bert_encode reuse its buffers. The
 * results of a forward (m->out, tl_bert_pooler, tl_bert_classify) point
 * into those buffers and stay valid until the next forward, encode or
 * tl_bert_free. Inputs (ids, type_ids, lens, seqs) are the caller's and are
 * only read during the call; tl_bert_encode writes into the caller's out.
 */
#ifndef TL_BERT_H
#define TL_BERT_H

#include "tl/kernels.h"
#include "tl/classifier.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int vocab_size, max_pos, type_vocab; /* V, P, TT */
	int C, L, NH, I;                     /* hidden, layers, heads, intermediate */
	int nlabels;                         /* classifier rows, 0 without a head */
	float eps;                           /* LayerNorm epsilon (1e-12) */
	int pad_id;
	/* Optional heads appended to the arena (issue 18; 0 when absent):
	 * mlm = 1: the masked-LM head of BertForMaskedLM (cls.predictions);
	 * disc_hidden = H > 0 and ndomains = D >= 2: a domain discriminator
	 * (tl.domain.*, checkpoints only). */
	int mlm;
	int disc_hidden, ndomains;
} tl_bert_config;

#define TL_BERT_NPARAMS 30
typedef struct {
	float *wte;      /* [V, C] word embeddings */
	float *wpe;      /* [P, C] position embeddings */
	float *wtt;      /* [TT, C] token type embeddings */
	float *emb_lnw;  /* [C] */
	float *emb_lnb;  /* [C] */
	float *qkvw;     /* [L, 3C, C] query, key, value weights */
	float *qkvb;     /* [L, 3C] */
	float *attprojw; /* [L, C, C] attention.output.dense */
	float *attprojb; /* [L, C] */
	float *ln1w;     /* [L, C] attention.output.LayerNorm */
	float *ln1b;     /* [L, C] */
	float *fcw;      /* [L, I, C] intermediate.dense */
	float *fcb;      /* [L, I] */
	float *fcprojw;  /* [L, C, I] output.dense */
	float *fcprojb;  /* [L, C] */
	float *ln2w;     /* [L, C] output.LayerNorm */
	float *ln2b;     /* [L, C] */
	float *poolw;    /* [C, C] pooler.dense (absent: NULL-sized 0) */
	float *poolb;    /* [C] */
	float *clsw;     /* [NL, C] classifier */
	float *clsb;     /* [NL] */
	/* Optional tensors (size 0 and NULL when absent), appended so that
	 * indices 0..20 keep their meaning. MLM head (cfg.mlm): Hugging Face
	 * cls.predictions.transform.dense (mlm_dw [C,C], mlm_db [C]),
	 * transform.LayerNorm (mlm_lnw, mlm_lnb [C]) and the decoder's bias
	 * cls.predictions.bias (mlm_bias [V]); the decoder weight is TIED to
	 * wte (never a tensor of its own). */
	float *mlm_dw, *mlm_db, *mlm_lnw, *mlm_lnb, *mlm_bias;
	/* Domain discriminator (cfg.disc_hidden = H, cfg.ndomains = D):
	 * disc_w1 [H,C], disc_b1 [H], disc_w2 [D,H], disc_b2 [D]
	 * (tl.domain.dense / tl.domain.out; tl/domain.h has the math). */
	float *disc_w1, *disc_b1, *disc_w2, *disc_b2;
} tl_bert_params;

/* Activations of one (inference) forward pass over a [B, T] batch: one
 * layer's worth, reused by every layer. The layers run on the packed rows
 * (the real tokens of each sequence back to back, N <= B*T rows), so the
 * row buffers hold at most B*T rows. All in backend memory. */
typedef struct {
	float *emb;     /* [B,T,C] embeddings, then the unpacked output */
	float *x;       /* [N,C] embedding output, then each layer's output */
	float *qkv;     /* [N,3C] */
	float *atty;    /* [N,C] attention output before the projection */
	float *proj;    /* [N,C] attention or FFN output projection (no bias) */
	float *ln1;     /* [N,C] */
	float *fch;     /* [N,I] FFN hidden, GELU in place */
	float *first;   /* [B,C] first-token-only last layer: its input, then output */
	float *pooled;  /* [B,C] */
	float *logits;  /* [B,NL] */
	float *pool;    /* [B,C] tl_bert_encode pooling output */
} tl_bert_acts;

typedef struct {
	tl_bert_config cfg;
	const tl_kernels *k;
	tl_bert_params params;        /* pointers into arena */
	size_t param_sizes[TL_BERT_NPARAMS];
	float *arena;                 /* backend memory, owned */
	size_t nparams;
	int has_pooler;
	char *dir;                    /* owned */
	char vocab_sha256[65];        /* "" without vocab.txt */
	/* activations, grown on demand to the largest batch seen */
	tl_bert_acts acts;
	float *acts_arena;
	size_t acts_cap;              /* floats in acts_arena */
	int32_t *ids, *type_ids, *lens; /* [B,T], [B,T], [B] backend memory */
	size_t in_cap;
	int B, T;                     /* shape of the last forward */
	const float *out;             /* [B,out_T,C] hidden state the last forward ended with */
	int out_T;                    /* rows per sequence in out: T, or 1 (first token only) */
	/* The layers' four weight matrices (qkvw, attprojw, fcw, fcprojw) are
	 * prepared in place for the backend's fastest product at the first
	 * forward (kernels.h: matmul_prepare): prepared != 0, tags in prep. */
	int prepared, prep[4];
	/* Precision of those four products (enum tl_precision, default
	 * TL_PREC_FP32: the in-place prepared weights above). bf16/int8: at
	 * the first forward each matrix gets a prepared copy
	 * (kernels.h matmul_prepare_prec), lp[4 l + j], owned; attention,
	 * LayerNorm, GELU, the pooler and the classifier stay fp32. */
	int precision;
	void **lp;
	/* A pre-quantized checkpoint (tl-quantize: the four matrices of every
	 * layer stored as I8 with a per-output-channel F32 "<name>_scale"):
	 * quantized = 1, q8[j] / q8s[j] the int8 values and scales of matrix j
	 * (qkvw, attprojw, fcw, fcprojw; [L, OC, IC] and [L, OC], host memory,
	 * owned), the fp32 weights their dequantized values (q * scale), and
	 * the precision starts at int8, prepared from q8 without quantizing
	 * again. tl_bert_unprepare (before training changes the weights) drops
	 * them. */
	int quantized;
	int8_t *q8[4];
	float *q8s[4];
	/* Pruned attention heads (config.json "pruned_heads" {"layer":
	 * [heads]}, as transformers 4.x model.prune_heads + save_pretrained
	 * writes it; transformers 5 dropped head pruning). NULL when no head
	 * is pruned; else heads[l] = the heads layer l kept (1..NH: a layer
	 * without heads is refused at load) and prep_l[4 l + j] the prepared
	 * tag of matrix j of layer l (the tag depends on the shape); both
	 * owned. Layout: the arena keeps its full size (tl_bert_params_layout
	 * is unchanged) and a pruned layer's attention matrices are stored
	 * compacted at the start of their slots, Cl = heads[l] x (C / NH):
	 * qkvw[l] = [3 Cl, C] (query, key, value rows of the kept heads in
	 * their original order), qkvb[l] = [3 Cl], attprojw[l] = [C, Cl]; the
	 * int8 copies of a quantized model (q8, q8s) likewise. Only the
	 * inference forward (tl_bert_forward, tl_bert_encode, the classifier
	 * backend, every precision) reads this layout: training (tl-train,
	 * tl_bert_train_init) refuses a pruned model. */
	int *heads;
	int *prep_l;
} tl_bert;

/* Heads of layer l (cfg.NH unless pruned) and its attention width
 * (heads x C / NH). */
int tl_bert_layer_heads(const tl_bert *m, int l);
int tl_bert_layer_width(const tl_bert *m, int l);
/* Parse config's "pruned_heads" (a jansson object; absent or null: none)
 * for a model of L layers of NH heads: pruned[l * NH + h] (caller's, L *
 * NH bytes) = 1 for each pruned head. Returns the number of pruned heads,
 * or -1 with err (a layer or head out of range, not the transformers
 * shape). */
int tl_bert_parse_pruned_heads(const void *config, int L, int NH, unsigned char *pruned, char *err, size_t errsz);

/* Sizes (floats) of the TL_BERT_NPARAMS tensors for a configuration
 * (the optional slots from cfg->mlm, cfg->disc_hidden, cfg->ndomains). */
void tl_bert_params_layout(const tl_bert_config *cfg, int has_pooler, size_t sizes[TL_BERT_NPARAMS]);
/* Point p's members into arena following sizes. */
void tl_bert_params_point(tl_bert_params *p, float *arena, const size_t sizes[TL_BERT_NPARAMS]);

/* Read dir/config.json and the weights (dir/model.safetensors, or the
 * shards listed in dir/model.safetensors.index.json). k NULL: CPU. A
 * checkpoint with classifier.weight [NL, C] loads its head too
 * (cfg.nlabels = NL); the pooler is loaded when present; a
 * BertForMaskedLM checkpoint's cls.predictions.* (transform.dense,
 * transform.LayerNorm, bias; the decoder weight is tied to the word
 * embeddings) load into the MLM slots (cfg.mlm = 1), which inference
 * ignores.
 * Returns a new model, or NULL with a one-line message in err (every
 * failure is a model error, TL_EXIT_MODEL). Free with tl_bert_free. */
tl_bert *tl_bert_load(const char *dir, const tl_kernels *k, char *err, size_t errsz);
void tl_bert_free(tl_bert *m);
/* A student made of some of m's encoder layers (DistilBERT: every other
 * layer of the teacher): keeps layers[0..n) (indices into m's layers,
 * increasing, no repeats) in that order, and the embeddings, pooler and
 * classifier as they are; m->cfg.L becomes n. The weights are unprepared
 * first (and an int8 checkpoint's values dropped). 0, or -1 with err (m
 * unchanged). */
int tl_bert_keep_layers(tl_bert *m, const int *layers, int n, char *err, size_t errsz);
/* Give the layer weights back their [out, in] layout if a forward
 * prepared them (see tl_bert.prepared); code that reads or changes
 * m->params directly (training) calls it first. */
void tl_bert_unprepare(tl_bert *m);
/* Free the activations and input buffers a forward allocated
 * (m->acts_arena, m->ids and the type ids and lengths beside them; backend
 * memory) and clear them: the next forward allocates again. m->out points
 * into them and is cleared too. The weights are untouched. */
void tl_bert_free_acts(tl_bert *m);

/* Set the precision of the layers' products (enum tl_precision) for the
 * forwards that follow; drops copies prepared at another precision. 0, or
 * -1 with err (unknown precision, or a backend without the entries). */
int tl_bert_set_precision(tl_bert *m, int prec, char *err, size_t errsz);
/* The same on a classifier loaded by tl_classifier_load(_device): -1 with
 * err when it is not a BERT model and prec is not TL_PREC_FP32. */
int tl_bert_classifier_set_precision(tl_classifier *c, int prec, char *err, size_t errsz);

/* Check one input sequence: 1 <= len <= max_pos, ids in [0, V), types in
 * [0, TT) (type_ids may be NULL). 0, or -1 with err. */
int tl_bert_check_seq(const tl_bert *m, const int32_t *ids, const int32_t *type_ids, int len, char *err,
		      size_t errsz);

/* Forward over a padded batch in host memory: ids/type_ids [B,T] (type_ids
 * NULL: all 0), lens[B] (1 <= lens[b] <= T <= max_pos). Runs the
 * embeddings and layers 1..upto (upto < 0 or > L: all L layers); m->out
 * then points at hidden_states[upto] in Hugging Face's numbering (0 = the
 * embedding output). Inputs must have passed tl_bert_check_seq. */
void tl_bert_forward(tl_bert *m, const int32_t *ids, const int32_t *type_ids, const int32_t *lens, int B, int T,
		     int upto);
/* After a full forward: pooler output [B,C] (NULL without a pooler) and
 * classifier logits [B,NL] (NULL without a head), in backend memory. */
const float *tl_bert_pooler(tl_bert *m);
const float *tl_bert_classify(tl_bert *m);

/* One input sequence of tl_bert_encode (memory owned by the caller). */
typedef struct {
	const int32_t *ids, *type_ids; /* type_ids may be NULL */
	int len;
} tl_bert_seq;

enum tl_bert_what {
	TL_BERT_POOL,    /* pool (enum tl_pool) the hidden state of `layer`: [n, C] */
	TL_BERT_POOLER,  /* the pooler output: [n, C] */
	TL_BERT_LOGITS,  /* classifier logits: [n, NL] */
};

typedef struct {
	int what;       /* enum tl_bert_what */
	int pool;       /* enum tl_pool, for TL_BERT_POOL */
	int layer;      /* hidden_states index for TL_BERT_POOL; < 0: last */
	int normalize;  /* L2-normalize TL_BERT_POOL rows */
	int batch_size; /* sequences per forward (default 32) */
} tl_bert_encode_opts;

/* Run n checked sequences in batches of similar length (sorted by length,
 * each batch padded to its longest member) and write the rows of out in
 * input order (host memory, n * width floats, width from
 * tl_bert_encode_width). */
void tl_bert_encode(tl_bert *m, const tl_bert_seq *seqs, size_t n, const tl_bert_encode_opts *o, float *out);
int tl_bert_encode_width(const tl_bert *m, const tl_bert_encode_opts *o);

/* The "bert" backend of tl/classifier.h, on the kernel backend $TL_DEVICE
 * (else "cpu"). */
tl_classifier *tl_bert_classifier_load(const char *dir, const void *config, int threads, tl_classifier_err *e);
/* The same on the backend named device (NULL: as above; see
 * tl_kernels_select). A device not built in: NULL, e->code TL_EXIT_USAGE.
 * Free with tl_classifier_free. */
tl_classifier *tl_bert_classifier_load_device(const char *dir, const void *config, const char *device,
					      int threads, tl_classifier_err *e);

/* ---------------- multi-task heads (issue 17) ----------------
 * The heads list: one encoder, several classification heads on the same
 * pooled output. In memory the heads are stacked rows of one classifier
 * (params.clsw [sum of nlabels, C], clsb): head h owns rows k0 .. k0+k-1,
 * so the training arena, the optimizer and the checkpoint treat them as
 * one tensor, and a loss on one head leaves the other rows' gradients at
 * exactly 0 (tl/bert_train.h tl_bert_train_head_loss). On disk (tl-train
 * -m bert with records carrying "task") the first head is Hugging Face's
 * "classifier.weight"/"classifier.bias" (config.json describes it, so the
 * directory stays a BertForSequenceClassification for that task) and
 * every other head h is "tl.heads.<name>.weight" [k, C] and
 * "tl.heads.<name>.bias" [k]; tl.json "tasks" lists them in row order:
 * [{name, labels, multi_label, weight, bias}]. A later head of another
 * kind (a domain discriminator, a token head) joins the same list with
 * its own rows and its own loss over them. */
typedef struct {
	char *name;      /* task name (owned by the list's owner) */
	int k0, k;       /* rows k0 .. k0+k-1 of the stacked classifier */
	int multi_label; /* sigmoid + binary cross-entropy, else softmax */
} tl_bert_head;

/* The heads of a classifier loaded by tl_classifier_load(_device) from a
 * multi-task directory (tl.json "tasks" with two or more entries): *n
 * heads in row order, borrowed from c (valid until tl_classifier_free);
 * c->labels are the stacked labels (head h's are labels[k0 .. k0+k)) and
 * predict writes logits of all heads side by side. NULL with *n = 0 for
 * a single-task model or a model of another kind. */
const tl_bert_head *tl_bert_classifier_heads(const tl_classifier *c, int *n);

#endif
