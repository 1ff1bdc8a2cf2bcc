/* tl/bert_fit.h - `tl-train -m bert`: the fine-tuning loop (data loading,
 * label set, length-bucketed batches, AdamW with schedules, dev evaluation
 * with early stopping, checkpoints and resume, progress, the model
 * directory in Hugging Face layout).
 *
 * cmd/tl-train.c owns the command line: it fills a tl_bert_fit_opts,
 * installs the SIGINT handler and reports the returned error. The options
 * are documented in man/tl-train.1 (section "BERT FINE-TUNING").
 */
#ifndef TL_BERT_FIT_H
#define TL_BERT_FIT_H

#include "tl/util.h"

#include <signal.h>
#include <stdint.h>

/* What to train and how. Every string is borrowed: it must stay valid for
 * the duration of tl_bert_fit, which neither frees nor keeps it. NULL
 * strings are "not given". */
typedef struct tl_bert_fit_opts {
	const char *out;           /* model directory to write (required) */
	const char *pretrained;    /* model name or directory (NULL: the default model) */
	const char *train;         /* training stream (NULL: standard input) */
	const char *dev;           /* dev stream, evaluated every epoch or eval_every steps */
	const char *labels;        /* label set file, one per line (NULL: from the data) */
	const char *class_weights; /* "auto" or a file of LABEL WEIGHT lines */
	const char *freeze;        /* "embeddings", "all", "none" or a layer count */
	const char *ckpt_dir;      /* NULL: OUT.ckpt */
	const char *resume;        /* checkpoint directory to continue from */
	const char *log;           /* progress as JSON lines */
	const char *device;        /* backend (tl_kernels_select: NULL = $TL_DEVICE, else cpu) */
	long epochs, batch, accum, warmup_steps /* -1: from warmup_ratio */, step_size /* 0: one epoch */,
		max_len, eval_every, patience, max_steps, window, ckpt_every, progress_every, threads;
	double lr, momentum, wd, warmup_ratio, gamma, clip, dropout /* < 0: the model's */, ls /* label
		smoothing */, lld /* layer-wise lr decay */;
	int optimizer;             /* enum tl_optim_kind (tl/optim.h) */
	int schedule;              /* enum tl_sched_kind (tl/optim.h) */
	int metric_f1;             /* best checkpoint and early stopping on macro-F1, not accuracy */
	/* enum tl_precision of the encoder's linear products: TL_PREC_FP32
	 * (default, 0) or TL_PREC_BF16 (bf16 operands, fp32 accumulation,
	 * fp32 master weights; tl/bert_train.h); another is a usage error. The
	 * checkpoint records it and a resume with another is refused. */
	int precision;
	/* --task token: token classification (named-entity recognition):
	 * records with "ids", "word_ids" and "tags" (tl-clean -f conll |
	 * tl-tokenize); a token's label is its word's tag on the word's first
	 * sub-token, ignored elsewhere; the label set is the sorted tags; the
	 * dev metric is the entity micro-F1 (tl/ner.h, IOB2), which decides the
	 * best checkpoint and early stopping; the model is written as
	 * BertForTokenClassification. */
	int token;
	/* --distill (man tl-train, DISTILLATION): the training records carry
	 * a teacher's "logits" (tl-predict -m TEACHER --logits), over the
	 * teacher's labels named by the stream header's "predict" map
	 * ("label_ids", else "labels"); the loss is tl_bert_train_kd_loss at
	 * temperature (> 0, default 2) mixed by alpha ([0, 1], default 0.5)
	 * with the cross-entropy of the records that have a "label" (records
	 * without one contribute the soft term only; a stream with no label at
	 * all is trained with alpha 1). Sequence classification, single-label
	 * only. */
	int distill;
	double temperature, alpha;
	/* The student's layers: NULL (all of the pretrained encoder's), a
	 * count N (layers floor(i L / N), i < N: every other layer when N =
	 * L / 2, as DistilBERT), or an increasing comma list of layer indices
	 * ("0,2,4"). The model written has num_hidden_layers N. */
	const char *student_layers;
	/* --teacher DIR: a model run beside the student (no gradient) for
	 * DistilBERT's hidden-state cosine loss on the last hidden states,
	 * weighted by hidden_weight (< 0: 1); same hidden size and vocabulary
	 * as the student. Needs distill. */
	const char *teacher;
	double hidden_weight;
	int quiet, force;
	/* After a successful run the checkpoint directory (ckpt_dir) is
	 * removed when this run wrote it or resumed from it, unless
	 * keep_ckpt. */
	int keep_ckpt;
	/* --resume compares the options that decide the run's result (those
	 * listed in man tl-train, RESUME) with the checkpoint's: a difference
	 * is a usage error (TL_EXIT_USAGE) naming the option and both values,
	 * unless the option's name (without "--") is in allow_change, a comma
	 * separated list, or allow_change is "all" (a note is printed then). */
	const char *allow_change;
	/* The dev stream is checked against the training records (tl/leak.h)
	 * while it is loaded: a record that leaks training data is refused
	 * (TL_EXIT_DATA), or with drop_leaked left out; no_leak_check turns
	 * the check and the model's train-keys.bin off (TL_NO_LEAK_CHECK). */
	int drop_leaked, no_leak_check;
	uint64_t seed;
	/* The command line, recorded in the model's tl.json as "args"
	 * (argv[1] .. argv[argc - 1]); borrowed. */
	int argc;
	char *const *argv;
	/* When not NULL and *stop becomes nonzero (the caller's SIGINT
	 * handler), the loop saves a checkpoint after the current step and
	 * returns TL_EXIT_INTERRUPTED. The library installs no handler. */
	volatile sig_atomic_t *stop;
	/* Multi-task (records carrying "task", issue 17; man tl-train,
	 * MULTI-TASK): a head per task on the one encoder (tl/bert.h heads
	 * list). task_sampling: "proportional" (NULL: every batch of every
	 * task once per epoch, shuffled together, MT-DNN), "uniform" or
	 * "temperature:T" (task t drawn with probability ~ n_t^(1/T));
	 * task_weight: "NAME=W,..." fixed loss weights (others 1) or
	 * "uncertainty[:LR]" (Kendall et al. 2018: learned s_t = log sigma_t^2,
	 * loss sum_t exp(-s_t) L_t + s_t, s_t by Adam at LR, default 1e-2).
	 * Malformed: TL_EXIT_USAGE; given without "task" on the records:
	 * TL_EXIT_USAGE. */
	const char *task_sampling, *task_weight;
	/* Data-parallel training (tl/dist.h; NULL or size 1: one process):
	 * every rank reads the whole stream and plans the same steps; the
	 * step's micro-batch j (of grad_accum) runs on rank j mod size and the
	 * gradients are summed in micro-batch order, as a plain run sums them,
	 * so the weights do not depend on the size. Rank 0 alone writes the
	 * model, the checkpoints and the log; the other ranks are quiet and
	 * return their error code with an empty message when rank 0 reports
	 * (a rank's own failure before training is forwarded to rank 0 naming
	 * the rank). Borrowed. */
	struct tl_dist *dist;
	/* Domain adaptation (issue 18; man tl-train, DOMAIN ADAPTATION):
	 * source: a second stream (tokenized with the model's vocabulary)
	 * whose labelled records add source_weight (< 0: not given, 1) times
	 * their mean loss; domain_loss: 0 none, 1 dann, 2 coral, 3 mmd on the
	 * pooled features of the domains ("domain" on the records, else
	 * "target" for the training stream and "source" for SRC), weighted by
	 * domain_weight (< 0: not given, 1); *_anneal: the weight times
	 * 2/(1+exp(-10p))-1 at progress p (DANN's weight always);
	 * disc_hidden: the DANN discriminator's hidden units (0: the encoder's
	 * hidden size). Records without "label" are allowed when domain_loss
	 * is set: they feed the domain loss only. Every step draws batch
	 * records of each domain. Sequence classification, single-label, one
	 * process; otherwise TL_EXIT_USAGE. */
	const char *source;
	double source_weight, domain_weight; /* -1: not given (1) */
	int source_anneal, domain_anneal, domain_loss;
	long disc_hidden;
	/* --objective (issue 18; man tl-train, CONTINUED PRETRAINING):
	 * TL_OBJECTIVE_CLS (0, the default: the classification heads above)
	 * or TL_OBJECTIVE_MLM: continued masked-LM pretraining on records that
	 * need only "ids" (a "label" is ignored), each maskable token chosen
	 * with probability mask_prob (0 < p < 1, default 0.15; with
	 * whole_word_mask a word's "##" pieces together), the masking drawn
	 * from (seed, epoch, record); the dev figure is the MLM loss on a fixed
	 * masking of the dev stream (perplexity exp(loss)); the model written
	 * is a BertForMaskedLM directory. Refused with token, distill, teacher,
	 * labels, class_weights and records carrying "task" (TL_EXIT_USAGE). */
	int objective;
	double mask_prob;
	int whole_word_mask;
} tl_bert_fit_opts;

enum { TL_OBJECTIVE_CLS = 0, TL_OBJECTIVE_MLM = 1 };

/* The defaults of every field (those listed in `tl-train -m bert --help`);
 * out and the strings are NULL. */
void tl_bert_fit_opts_default(tl_bert_fit_opts *o);

/* Fine-tune and write o->out. Returns 0, or -1 with e set: e->code is the
 * exit status (enum tl_exit: usage, data, I/O, model; TL_EXIT_FAIL on a
 * NaN loss, after saving the last good checkpoint; TL_EXIT_INTERRUPTED
 * after *o->stop, with the checkpoint saved) and e->msg the message without
 * the tool's name (record numbers are part of it: "record 17: ..."). Never
 * exits (except through tl_xmalloc on out of memory) and frees everything
 * it allocated on every path. Progress and the run's summary go to stderr
 * unless o->quiet. */
int tl_bert_fit(const tl_bert_fit_opts *o, tl_err *e);

/* The reading of a --distill training stream alone, as tl_bert_fit does
 * it before any training (for fuzz_distill.c): ids within vocab and
 * type_vocab, labels, "task", "logits" and the header's teacher labels,
 * the label set (the teacher's, else the data's), the logits permuted
 * into it, the labels mapped. 0 with the record count *n and label count
 * *k, or -1 with e (TL_EXIT_DATA or TL_EXIT_IO). */
int tl_bert_fit_read_distill(const char *path, int vocab, int type_vocab, size_t *n, int *k, tl_err *e);

#endif
