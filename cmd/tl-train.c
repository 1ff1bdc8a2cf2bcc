/* tl-train - train a text classifier from a record stream into a model
 * directory. Model families: -m fasttext (default) and -m linear
 * (lib/models/linear.c); -m bert fine-tunes BERT (lib/models/bert/bert_fit.c).
 * One option table covers every kind; an option of another kind is a usage
 * error. */
#include "tl/bert_fit.h"
#include "tl/cli.h"
#include "tl/dist.h"
#include "tl/hash.h"
#include "tl/kernels.h"
#include "tl/leak.h"
#include "tl/linear.h"
#include "tl/lstm.h"
#include "tl/optim.h"
#include "tl/progress.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: tl-train [-m fasttext|linear|bert] -o DIR [options] [FILE]\n"
	"Train a classifier on a record stream (\"text\" and \"label\"; for -m linear\n"
	"also \"sparse\" or \"vec\" features) and save it as a model directory for\n"
	"tl-predict. FILE or - is the training stream (default: standard input).\n"
	"Under mpirun (make MPI=1), -m fasttext trains on N ranks, each on every\n"
	"N-th record, and -m bert shares each step's micro-batches among them, to\n"
	"the same bits as one process (man tl-train, DATA-PARALLEL TRAINING).\n"
	"\n"
	"  -m, --model KIND      fasttext (default), linear, bert (its options:\n"
	"                        tl-train -m bert --help), lstm-lm and lstm (LSTM\n"
	"                        language models and classifiers: tl-train -m lstm --help)\n"
	"  -o, --output DIR      model directory to create (required)\n"
	"  -f, --force           replace DIR if it exists\n"
	"      --dev FILE        evaluate on this labelled stream after training; refused\n"
	"                        when it leaks training data (augmented copies)\n"
	"      --drop-leaked     leave such dev records out instead\n"
	"      --epochs N        passes over the data (5)\n"
	"      --lr X            initial learning rate, decays linearly to 0 (0.5)\n"
	"      --seed N          random seed (1)\n"
	"      --threads N       threads (1; 0: all cores; the model does not depend on it)\n"
	"      --device NAME     kernel backend: cpu or cuda (default $TL_DEVICE, else cpu)\n"
	"  -q, --quiet           no progress on stderr\n"
	"      --log FILE        progress as JSON lines\n"
	"fasttext:\n"
	"      --dim N           embedding size (100)\n"
	"      --word-ngrams N   longest word n-gram (2)\n"
	"      --buckets N       n-gram hash buckets (2000000)\n"
	"      --min-count N     drop words seen fewer times (1)\n"
	"      --min-count-ngram N  n-gram buckets seen fewer times get no row (2)\n"
	"      --loss L          softmax (default), hs, ova (multi-label data: ova)\n"
	"      --batch N         examples per synchronous step (8)\n"
	"      --init-vectors F  initialise word embeddings from a word2vec text file\n"
	"      --no-lower        keep case\n"
	"      --distill         train on the records' \"logits\" (tl-predict -m TEACHER\n"
	"                        --logits), mixed with their labels by --alpha (softmax loss)\n"
	"      --temperature T   distillation temperature (2; > 0)\n"
	"      --alpha A         weight of the soft targets, 1 - A of the labels (0.5)\n"
	"linear (logistic regression):\n"
	"      --input KIND      auto (default: sparse or vec when the records carry one,\n"
	"                        else text), text, sparse, vec\n"
	"      --l2 X            L2 penalty per example (1e-6)\n"
	"      --ngram MIN,MAX   text input: word n-grams of the TF-IDF features (1,2)\n"
	"      --analyzer A, --min-df N, --max-df N, --max-features N, --no-sublinear-tf,\n"
	"      --binary, --norm l1|l2|none, --hash N, --no-idf   TF-IDF options (tl-embed)\n"
	"fasttext and linear on text:\n"
	"      --cjk words|chars CJK runs between spaces are words, or each CJK ideograph\n"
	"                        is a word (default: words when the stream's header says\n"
	"                        tl-clean segmented it, --segment jieba; else chars);\n"
	"                        saved in config.json (\"cjk\": \"words\"); tl-predict and\n"
	"                        --dev refuse unsegmented text for a words model\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 2 usage, 3 bad input data, 4 I/O error,\n"
	"5 bad model or vectors file.\n";

static const char bert_usage[] =
	"usage: tl-train -m bert -o DIR [options] [FILE]\n"
	"Fine-tune a pretrained BERT encoder with a classification head on a\n"
	"tokenized stream (tl-clean | tl-tokenize -m MODEL) from FILE, --train FILE\n"
	"or standard input. Defaults are printed at the start of a run.\n"
	"Under mpirun (make MPI=1) micro-batch j of each step runs on rank j mod N\n"
	"(--grad-accum N or more keeps every rank busy), summed in micro-batch\n"
	"order: the same bits as one process (man tl-train).\n"
	"\n"
	"  -o, --output DIR        model directory to write (required)\n"
	"      --pretrained M      model name or directory to start from\n"
	"                          (default all-MiniLM-L6-v2, from the model path)\n"
	"      --train FILE        training stream (default: FILE or stdin)\n"
	"      --dev FILE          dev stream, evaluated every epoch (or --eval-every);\n"
	"                          refused when it leaks training data\n"
	"      --drop-leaked       leave such dev records out instead\n"
	"      --task NAME         sequence (default): one label per record; token:\n"
	"                          a tag per word (NER: records with word_ids and tags,\n"
	"                          tl-clean -f conll | tl-tokenize; dev metric entity F1)\n"
	"      --labels FILE       label set, one per line (default: from the data)\n"
	"      --task-sampling S   records with \"task\" (multi-task, a head per task,\n"
	"                          one task per batch): proportional (default: every\n"
	"                          batch once, as MT-DNN), uniform, temperature:T\n"
	"      --task-weight W     loss weights NAME=X,... (default 1) or\n"
	"                          uncertainty[:LR] (learned, Kendall et al. 2018)\n"
	"      --epochs N          3\n"
	"      --batch-size N      32 (per micro-batch)\n"
	"      --grad-accum N      1 (micro-batches per optimizer step)\n"
	"      --lr X              5e-5\n"
	"      --optimizer NAME    adamw (default) or sgd\n"
	"      --momentum X        SGD momentum (0.9)\n"
	"      --weight-decay X    0.01 (never on biases and LayerNorm)\n"
	"      --schedule NAME     linear (default), cosine, constant, step\n"
	"      --warmup-ratio X    0.06 of all optimizer steps\n"
	"      --warmup-steps N    overrides --warmup-ratio\n"
	"      --step-size N       step schedule: steps between decays (one epoch)\n"
	"      --gamma X           step schedule: factor (0.1)\n"
	"      --clip X            gradient clipping by global norm (1.0; 0 = off)\n"
	"      --max-len N         truncate ids to N, keeping the final [SEP] (128)\n"
	"      --dropout X         all dropout rates (default: the model's config)\n"
	"      --label-smoothing X 0\n"
	"      --class-weights W   auto (inverse frequency) or FILE (label weight)\n"
	"      --freeze WHAT       embeddings, N (embeddings and layers < N), all\n"
	"      --layer-lr-decay X  layer-wise learning-rate decay (1.0 = off)\n"
	"      --eval-every N      evaluate on --dev every N steps (default: epoch)\n"
	"      --metric NAME       accuracy (default) or macro_f1 for best/early stop\n"
	"      --patience N        stop after N evaluations without improvement (0 off)\n"
	"      --max-steps N       stop after N optimizer steps (0 = no limit)\n"
	"      --bucket-window N   batches per length-sorting window (50; --task token: 1)\n"
	"      --seed N            42\n"
	"      --threads N         0 = all cores\n"
	"      --device NAME       kernel backend: cpu or cuda (default $TL_DEVICE, else cpu)\n"
	"      --precision P       fp32 (default) or bf16: the encoder's products on\n"
	"                          bf16 operands, fp32 sums, fp32 weights and optimizer\n"
	"                          ($TL_ISA=avx2|avx512|vnni|amx caps the kernels)\n"
	"      --distill           train on the records' \"logits\" (a teacher's: tl-predict\n"
	"                          -m TEACHER --logits), mixed with their labels by --alpha\n"
	"      --temperature T     distillation temperature (2; > 0)\n"
	"      --alpha A           weight of the soft targets, 1 - A of the labels (0.5)\n"
	"      --student-layers S  N layers of the encoder, spread as DistilBERT (every\n"
	"                          other one when N = L/2), or a list such as 0,2,4\n"
	"      --teacher DIR       run DIR beside the student: hidden-state cosine loss\n"
	"      --hidden-weight W   weight of that loss (1 with --teacher)\n"
	"      --source SRC        a source-domain stream: its labelled records add\n"
	"                          --source-weight times their mean loss; each step\n"
	"                          draws --batch-size records of every domain\n"
	"      --source-weight L[:anneal]  lambda >= 0 (1); :anneal: L x 2/(1+e^-10p)-1\n"
	"      --domain-loss M     dann, coral or mmd on the pooled features of the\n"
	"                          domains (\"domain\" on the records, else target and\n"
	"                          source); records without \"label\" then feed it only\n"
	"      --domain-weight W[:anneal]  W >= 0 (1; dann: always annealed)\n"
	"      --disc-hidden H     dann: discriminator hidden units (the encoder's size)\n"
	"      --objective O       cls (default): the classification heads above; mlm:\n"
	"                          continued masked-LM pretraining on \"ids\" alone,\n"
	"                          writes a BertForMaskedLM (man tl-train, CONTINUED\n"
	"                          PRETRAINING)\n"
	"      --mask-prob P       mlm: tokens chosen for prediction (0.15; 0 < P < 1;\n"
	"                          80% [MASK], 10% random, 10% kept)\n"
	"      --whole-word-mask   mlm: a word's ## pieces are chosen together\n"
	"      --checkpoint-every N  write DIR.ckpt every N steps (0 = only on SIGINT)\n"
	"      --checkpoint-dir D  checkpoint directory (default DIR.ckpt)\n"
	"      --resume D          continue from checkpoint D; the options that decide\n"
	"                          the result must be the checkpoint's (exit 2 naming\n"
	"                          the one that differs), the --log file goes on\n"
	"      --allow-change L    resume even though these options differ (comma list\n"
	"                          of names such as epochs,lr, or all)\n"
	"      --keep-checkpoint   keep DIR.ckpt after a successful run (removed by default)\n"
	"      --progress-every N  off a terminal: a progress line every N steps (50)\n"
	"                          and every ~10 s between them (man tl-train)\n"
	"      --log FILE          progress as JSON lines\n"
	"  -q, --quiet             no progress, no summary\n"
	"  -f, --force             replace an existing output directory\n"
	"\n"
	"Exit status: 0 ok, 1 failure (NaN loss), 2 usage (also: output exists), 3 bad\n"
	"data, 4 I/O (disk full), 5 bad model, 130 interrupted (checkpoint saved).\n";

/* ---------------- options ---------------- */

typedef struct {
	const char *out, *pretrained, *train, *dev, *labels, *class_weights, *freeze, *ckpt_dir, *resume, *log;
	long epochs, batch, accum, warmup_steps, step_size, max_len, eval_every, patience, max_steps, window,
		ckpt_every, progress_every, threads;
	double lr, momentum, wd, warmup_ratio, gamma, clip, dropout, ls, lld;
	int optimizer, schedule, metric_f1, quiet, force;
	uint64_t seed;
} opts_t;

typedef struct {
	const char *model, *out, *dev, *log, *input_name;
	int force, quiet, drop_leaked;
	int cjk_set; /* --cjk given: the header does not decide */
	tl_lin_opts lo;
	int argc;
	char **argv;
	/* --distill: the teacher's label names from the stream header (NULL:
	 * none named them) */
	char **tlab;
	int ntlab;
} args;

static void progress_cb(void *ctx, uint64_t done, uint64_t total, double loss, double lr)
{
	tl_progress *p = ctx;
	char extra[128], js[256];
	snprintf(extra, sizeof extra, "loss %.4f lr %.4f", loss, lr);
	if (!p->total)
		p->total = total;
	tl_progress_update(p, done, extra, 0);
	snprintf(js, sizeof js, "\"done\":%llu,\"total\":%llu,\"loss\":%.6f,\"lr\":%.6g", (unsigned long long)done,
		 (unsigned long long)total, loss, lr);
	tl_progress_log(p, js);
}

/* Labels of a record: a string, an integer, or an array of strings. */
static int rec_labels(const tl_record *rec, const char **lab, size_t *len, char (*numbuf)[24], int max, int *multi)
{
	const msgpack_object *o = tl_rec_get(rec, "label");
	*multi = 0;
	if (!o)
		return -1;
	if (o->type == MSGPACK_OBJECT_STR) {
		lab[0] = o->via.str.ptr;
		len[0] = o->via.str.size;
		return 1;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		snprintf(numbuf[0], 24, "%lld",
			 o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long long)o->via.u64 : (long long)o->via.i64);
		lab[0] = numbuf[0];
		len[0] = strlen(numbuf[0]);
		return 1;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		*multi = 1;
		int n = 0;
		for (uint32_t i = 0; i < o->via.array.size && n < max; i++) {
			const msgpack_object *x = &o->via.array.ptr[i];
			if (x->type != MSGPACK_OBJECT_STR)
				return -2;
			lab[n] = x->via.str.ptr;
			len[n++] = x->via.str.size;
		}
		return n;
	}
	return -2;
}

#define MAXLAB 256

/* ---------------- data-parallel runs (mpirun, tl/dist.h) ---------------- */

/* The group when run under mpirun with MPI built in (make MPI=1), else
 * NULL: one process. Rank r trains on the labelled records whose index
 * (0-based, in stream order) is r modulo the size; rank 0 alone locks and
 * writes the model, shows progress and evaluates --dev. */
static tl_dist *dist;
static int dist_rank(void) { return dist ? dist->rank : 0; }
static int dist_size(void) { return dist ? dist->size : 1; }

/* A rank stops all: after a collective every rank knows the same facts, so
 * each exits with the same code (rank 0 alone prints); MPI is finalized so
 * mpirun reports the exit code, not a crash. */
static void dist_exit(int code)
{
#ifdef TL_HAVE_MPI
	if (dist)
		tl_dist_mpi_finalize(dist);
#endif
	exit(code);
}

/* Every rank's v[0..n) against rank 0's: the first rank that differs in
 * v[k] is named in msg[k]'s message (exit code codes[k]). */
static void dist_check_same(const uint64_t *v, int n, const char *const *what, const int *codes)
{
	if (!dist || dist->size < 2)
		return;
	tl_buf all = {0};
	size_t *counts = tl_xmalloc((size_t)dist->size * sizeof *counts);
	char err[256];
	if (dist->allgather(dist, v, (size_t)n * sizeof *v, &all, counts, err, sizeof err) < 0) {
		tl_warn("%s", err);
		dist_exit(TL_EXIT_IO);
	}
	for (int k = 0; k < n; k++)
		for (int r = 1; r < dist->size; r++) {
			uint64_t x, y;
			memcpy(&x, tl_dist_piece(&all, counts, 0) + (size_t)k * sizeof x, sizeof x);
			memcpy(&y, tl_dist_piece(&all, counts, r) + (size_t)k * sizeof y, sizeof y);
			if (x != y) {
				if (dist->rank == 0)
					tl_warn("rank %d of %d: %s than rank 0: every rank must run the same command on the "
						"same stream",
						r, dist->size, what[k]);
				dist_exit(codes[k]);
			}
		}
	free(counts);
	tl_buf_free(&all);
}

/* Under mpirun with MPI built in: MPI_Init, and every rank must have been
 * given the same arguments (a hash of them; exit 2 naming the first rank
 * that differs). One rank (mpirun -np 1) is a plain run. */
static void dist_start(int *argc, char ***argv)
{
#ifdef TL_HAVE_MPI
	char err[512];
	if (!tl_dist_under_mpirun())
		return;
	if (!(dist = tl_dist_mpi_init(argc, argv, err, sizeof err)))
		tl_die(TL_EXIT_IO, "%s", err);
	if (dist->size < 2) {
		tl_dist_mpi_finalize(dist);
		dist = NULL;
		return;
	}
	/* the same command everywhere: a hash of the arguments */
	uint64_t h = TL_FNV64_INIT;
	for (int i = 1; i < *argc; i++)
		h = tl_fnv1a64((*argv)[i], strlen((*argv)[i]) + 1, h);
	uint64_t v[1] = {h};
	static const char *const what[] = {"was given other arguments"};
	static const int codes[] = {TL_EXIT_USAGE};
	dist_check_same(v, 1, what, codes);
#else
	(void)argc, (void)argv;
#endif
}

/* --distill: a stream header's "predict" map (tl-predict) names the
 * labels of the logits in their order ("label_ids", else "labels"), as
 * -m bert reads it: every header must name the same list, and none may
 * come after records without one. */
static void teacher_labels(args *a, const msgpack_object *hdr, size_t nrec)
{
	const msgpack_object *p = tl_map_get(hdr, "predict");
	const msgpack_object *l = p ? tl_map_get(p, "label_ids") : NULL;
	if (!l && p)
		l = tl_map_get(p, "labels");
	if (!l)
		return;
	if (l->type != MSGPACK_OBJECT_ARRAY || l->via.array.size == 0)
		tl_die(TL_EXIT_DATA, "stream header: \"predict\" labels are not a non-empty array");
	int n = (int)l->via.array.size;
	for (int i = 0; i < n; i++)
		if (l->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
			tl_die(TL_EXIT_DATA, "stream header: \"predict\" label %d is not a string", i);
	if (!a->tlab && nrec)
		tl_die(TL_EXIT_DATA, "a stream header naming the teacher's labels after %zu records without one: their "
				     "logits' labels are unknown", nrec);
	int same = a->tlab && a->ntlab == n;
	for (int i = 0; same && i < n; i++) {
		const msgpack_object *x = &l->via.array.ptr[i];
		same = strlen(a->tlab[i]) == x->via.str.size && !memcmp(a->tlab[i], x->via.str.ptr, x->via.str.size);
	}
	if (a->tlab && !same)
		tl_die(TL_EXIT_DATA, "a stream header names other teacher labels than the first one: the logits of the "
				     "records are over different label sets (predict each part with the same teacher)");
	if (a->tlab)
		return;
	a->tlab = tl_xcalloc((size_t)n, sizeof *a->tlab);
	for (int i = 0; i < n; i++) {
		const msgpack_object *x = &l->via.array.ptr[i];
		a->tlab[i] = tl_xmalloc(x->via.str.size + 1);
		memcpy(a->tlab[i], x->via.str.ptr, x->via.str.size);
		a->tlab[i][x->via.str.size] = 0;
	}
	a->ntlab = n;
}

/* Read a labelled stream into a new data set (*dp, created at the first
 * data record once the input kind is known); dies on bad records. With
 * --input auto the first data record decides: "sparse" or "vec" when it
 * carries one (fastText refuses them), else "text"; a->lo.input and
 * a->input_name are set. *prov gets the header's provenance of those
 * features (tl_feat_provenance; NULL when it says nothing). Every record
 * read goes into lk (when not NULL). Returns the count. */
static size_t read_stream(args *a, const char *path, tl_lin_data **dp, tl_leak *lk, json_t **prov)
{
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die_open(path ? path : "standard input");
	tl_record rec;
	const char *lab[MAXLAB];
	size_t lablen[MAXLAB];
	char numbuf[1][24];
	tl_sparse sp = {0};
	float *vec = NULL, *lgbuf = NULL;
	size_t vcap = 0, lgcap = 0;
	char err[512];
	size_t n = 0;
	tl_buf tb = {0};
	tl_lin_data *d = NULL;
	int fasttext = a->lo.arch == TL_LIN_FASTTEXT, autod = !strcmp(a->input_name, "auto");
	int input = fasttext ? TL_IN_TEXT : a->lo.input;
	json_t *pv_vec = NULL, *pv_sp = NULL;
	uint64_t dh = TL_FNV64_INIT; /* the stream's labelled records, for the ranks' check */
	while (tl_reader_next_or_die(r, &rec)) {
		if (rec.is_header) {
			if (!d && !pv_vec && !pv_sp) { /* the first header describes the stream */
				pv_vec = tl_feat_provenance(rec.map, TL_FEAT_PROV_VEC);
				pv_sp = tl_feat_provenance(rec.map, TL_FEAT_PROV_SPARSE);
				/* text segmented by tl-clean --segment: CJK words */
				if (!d && !a->cjk_set && tl_header_cjk(rec.map) == 1)
					a->lo.cjk_words = a->lo.feat.cjk_words = 1;
			}
			if (a->lo.distill)
				teacher_labels(a, rec.map, n);
			continue;
		}
		if (!d) {
			int has_sp = tl_rec_get(&rec, "sparse") != NULL, has_vec = tl_rec_get(&rec, "vec") != NULL;
			if (autod && fasttext && (has_sp || has_vec))
				tl_die_rec(TL_EXIT_USAGE, rec.no,
					   "the records carry \"%s\" (tl-embed output) and fastText reads only the text: "
					   "train -m linear on the features, or give --input text to train on the text",
					   has_vec ? "vec" : "sparse");
			if (autod && !fasttext) {
				if (has_sp && has_vec)
					tl_die_rec(TL_EXIT_USAGE, rec.no,
						   "the records carry both \"sparse\" and \"vec\": choose one with --input");
				input = has_sp ? TL_IN_SPARSE : has_vec ? TL_IN_VEC : TL_IN_TEXT;
				if (input != TL_IN_TEXT && tl_rec_get(&rec, "text") && !a->quiet)
					tl_warn("training on \"%s\" (--input auto); --input text would use the text instead",
						input == TL_IN_VEC ? "vec" : "sparse");
			}
			if (!fasttext) {
				a->lo.input = input;
				a->input_name = input == TL_IN_SPARSE ? "sparse" : input == TL_IN_VEC ? "vec" : "text";
			}
			d = tl_lin_data_new(&a->lo);
			if (a->ntlab && tl_lin_data_set_teacher(d, (const char *const *)a->tlab, a->ntlab, err, sizeof err) < 0)
				tl_die(TL_EXIT_DATA, "stream header: %s", err);
		}
		int multi;
		int nl = rec_labels(&rec, lab, lablen, numbuf, MAXLAB, &multi);
		if (nl == -1 && a->lo.distill)
			nl = multi = 0; /* soft targets only */
		else if (nl == -1)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no \"label\" (training needs labelled records)");
		if (nl < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"label\" is not a string, an integer or an array of strings");
		if (a->lo.distill && multi)
			tl_die_rec(TL_EXIT_DATA, rec.no, "--distill trains single-label students (the record has a label array)");
		if (nl == 0 && !a->lo.distill)
			continue; /* multi-label record with no label: skip */
		if (a->lo.distill && nl == 1 && a->ntlab) {
			int found = 0;
			for (int k = 0; k < a->ntlab && !found; k++)
				found = strlen(a->tlab[k]) == lablen[0] && !memcmp(a->tlab[k], lab[0], lablen[0]);
			if (!found)
				tl_die_rec(TL_EXIT_DATA, rec.no, "unknown label '%.*s' (not in the teacher's label set, stream header)",
					   (int)lablen[0], lab[0]);
		}
		long nlg = 0;
		if (a->lo.distill) {
			nlg = tl_rec_f32s(&rec, "logits", &lgbuf, &lgcap);
			if (nlg == -1)
				tl_die_rec(TL_EXIT_DATA, rec.no, "no \"logits\" (--distill trains on a teacher's soft targets: "
					   "tl-predict -m TEACHER --logits)");
			if (nlg < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"logits\" is not a bin of float32 or an array of numbers");
			if (nlg == 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"logits\" is empty");
			for (long k = 0; k < nlg; k++)
				if (!isfinite(lgbuf[k]))
					tl_die_rec(TL_EXIT_DATA, rec.no, "logits[%ld] is %g, not a finite number", k, (double)lgbuf[k]);
		}
		const char *text = NULL;
		size_t tlen = 0;
		long nv = 0;
		if (input == TL_IN_TEXT) {
			int has_b;
			text = tl_lin_rec_text(&rec, 1, &tb, &tlen, &has_b, err, sizeof err);
			if (!text)
				tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
			if (has_b)
				tl_lin_data_set_text_b(d);
		} else if (input == TL_IN_SPARSE) {
			const msgpack_object *o = tl_rec_get(&rec, "sparse");
			if (!o)
				tl_die_rec(TL_EXIT_DATA, rec.no, "no \"sparse\"");
			if (tl_lin_rec_sparse(o, &sp, -1, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
			if (sp.dim < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"sparse\" has no \"dim\"");
		} else {
			nv = tl_lin_rec_vec(&rec, &vec, &vcap, err, sizeof err);
			if (nv < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
		}
		if (dist) {
			for (int k = 0; k < nl; k++)
				dh = tl_fnv1a64("\x1f", 1, tl_fnv1a64(lab[k], lablen[k], dh));
			if (text)
				dh = tl_fnv1a64("\x1e", 1, tl_fnv1a64(text, tlen, dh));
		}
		if ((int)(n % (size_t)dist_size()) == dist_rank() &&
		    (tl_lin_data_add(d, text, tlen, &sp, vec, (size_t)nv, lab, lablen, nl, multi, err, sizeof err) < 0 ||
		     (a->lo.distill && tl_lin_data_add_logits(d, lgbuf, (int)nlg, err, sizeof err) < 0)))
			tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
		if (lk)
			tl_leak_add_train(lk, &rec);
		n++;
	}
	tl_reader_close(r);
	tl_sparse_free(&sp);
	tl_buf_free(&tb);
	free(vec);
	free(lgbuf);
	if (a->lo.distill && !a->ntlab && !a->quiet)
		tl_warn("no stream header names the teacher's labels (tl-predict writes one): the logits are taken in "
			"the order of the sorted label set");
	*prov = input == TL_IN_VEC ? pv_vec : input == TL_IN_SPARSE ? pv_sp : NULL;
	if (*prov != pv_vec)
		json_decref(pv_vec);
	if (*prov != pv_sp)
		json_decref(pv_sp);
	*dp = d;
	if (dist) {
		uint64_t v[1] = {dh ^ (uint64_t)n};
		static const char *const what[] = {"read another stream (its labelled records hash differently)"};
		static const int codes[] = {TL_EXIT_DATA};
		dist_check_same(v, 1, what, codes);
	}
	return n;
}

/* A dev stream that is not a regular file (standard input, a pipe) is read
 * twice (the check, then the evaluation): it is copied to a temporary file
 * first, removed at exit. */
static char *dev_spool;
static void rm_spool(void)
{
	if (dev_spool)
		unlink(dev_spool);
}

static const char *seekable_dev(const char *path)
{
	struct stat st;
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return path;
	const char *td = getenv("TMPDIR");
	size_t n = strlen(td && *td ? td : "/tmp") + 32;
	dev_spool = tl_xmalloc(n);
	snprintf(dev_spool, n, "%s/tl-train-dev.XXXXXX", td && *td ? td : "/tmp");
	int fd = mkstemp(dev_spool);
	if (fd < 0)
		tl_die(TL_EXIT_IO, "cannot create a temporary file for --dev %s:", path);
	atexit(rm_spool);
	FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	FILE *out = fdopen(fd, "wb");
	if (!in)
		tl_die(TL_EXIT_IO, "cannot open %s:", path);
	if (!out)
		tl_die(TL_EXIT_IO, "cannot write %s:", dev_spool);
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, got, out) != got)
			tl_die(TL_EXIT_IO, "cannot write %s:", dev_spool);
	if (ferror(in))
		tl_die(TL_EXIT_IO, "read error on %s:", path);
	if (in != stdin)
		fclose(in);
	if (fclose(out) != 0)
		tl_die(TL_EXIT_IO, "cannot write %s:", dev_spool);
	return dev_spool;
}

/* The leak check of the dev stream, before any training: dies (exit 3) on
 * the first record that leaks training data unless --drop-leaked, then says
 * what was dropped and how many records share a training record's text. */
static void check_dev(const args *a, const char *path, const tl_leak *lk)
{
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die_open(a->dev);
	tl_record rec;
	tl_leak_eval v;
	tl_leak_eval_init(&v, a->dev, a->drop_leaked);
	tl_err e = {0};
	while (tl_reader_next_or_die(r, &rec))
		if (!rec.is_header && tl_leak_eval_rec(lk, &v, &rec, &e) < 0)
			tl_die(e.code, "%s", e.msg);
	tl_reader_close(r);
	char dropped[1024], dups[1024];
	tl_leak_eval_summary(&v, dropped, sizeof dropped, dups, sizeof dups);
	if (!a->quiet && *dropped)
		tl_warn("%s", dropped);
	if (!a->quiet && *dups)
		tl_warn("%s", dups);
}

/* The dev stream's features are made as the training ones (its header's
 * provenance, tl_feat_provenance_compare): checked before training, so a
 * mismatch costs no training run (evaluate checks it again as it reads). */
static void check_dev_provenance(const char *file, const char *path, const json_t *prov, int in,
				 const char *train_path)
{
	tl_reader *r = tl_reader_open(file);
	if (!r)
		tl_die_open(path);
	tl_record rec;
	char err[2048];
	while (tl_reader_next_or_die(r, &rec) && rec.is_header)
		if (tl_feat_provenance_compare(prov, rec.map, in == TL_IN_VEC ? TL_FEAT_PROV_VEC : TL_FEAT_PROV_SPARSE,
					       train_path, err, sizeof err) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
	tl_reader_close(r);
}

/* A dev record that check_dev dropped (--drop-leaked). */
static int leaks(const tl_leak *lk, const tl_record *rec)
{
	char why[300];
	int k = tl_leak_check(lk, rec, why, sizeof why);
	return k != TL_LEAK_NONE && k != TL_LEAK_DUPLICATE;
}

/* Accuracy of m on a labelled stream, read from file, called path in
 * messages (first label of multi-label records counts as a hit when it is
 * the argmax); the records that leak training data according to lk (when
 * not NULL) are left out. */
static double evaluate(const tl_lin_model *m, const char *file, const char *path, size_t *count, const tl_leak *lk,
		       const json_t *prov, const char *train_path)
{
	tl_reader *r = tl_reader_open(file);
	if (!r)
		tl_die_open(path);
	tl_record rec;
	tl_lin_scratch s = {0};
	int C = tl_lin_nlabels(m);
	float *lg = tl_xmalloc((size_t)C * sizeof *lg);
	tl_sparse sp = {0};
	float *vec = NULL;
	size_t vcap = 0, n = 0, hit = 0;
	char err[2048];
	tl_buf tb = {0};
	const char *lab[MAXLAB];
	size_t lablen[MAXLAB];
	char numbuf[1][24];
	while (tl_reader_next_or_die(r, &rec)) {
		if (rec.is_header && prov) { /* dev vectors made as the training ones */
			int in = tl_lin_input(m);
			if (in != TL_IN_TEXT &&
			    tl_feat_provenance_compare(prov, rec.map, in == TL_IN_VEC ? TL_FEAT_PROV_VEC : TL_FEAT_PROV_SPARSE,
						       train_path, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
		}
		if (rec.is_header && tl_lin_input(m) == TL_IN_TEXT) { /* dev text split as the training text */
			int cr = tl_cjk_check(tl_lin_cjk_words(m), tl_header_cjk(rec.map), "the model", err, sizeof err);
			if (cr < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
			if (cr > 0)
				tl_warn("--dev %s: %s", path, err);
		}
		if (rec.is_header || (lk && leaks(lk, &rec)))
			continue;
		int multi;
		int nl = rec_labels(&rec, lab, lablen, numbuf, MAXLAB, &multi);
		if (nl < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: no usable \"label\"", path);
		const char *text = NULL;
		size_t tlen = 0;
		long nv = 0;
		int in = tl_lin_input(m);
		if (in == TL_IN_TEXT) {
			text = tl_lin_rec_text(&rec, tl_lin_text_b(m), &tb, &tlen, NULL, err, sizeof err);
			if (!text)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
		} else if (in == TL_IN_SPARSE) {
			const msgpack_object *o = tl_rec_get(&rec, "sparse");
			if (!o)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: no \"sparse\"", path);
			if (tl_lin_rec_sparse(o, &sp, -1, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
		} else {
			nv = tl_lin_rec_vec(&rec, &vec, &vcap, err, sizeof err);
			if (nv < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: %s", path, err);
		}
		if (tl_lin_logits(m, &s, text, tlen, &sp, vec, (size_t)nv, lg) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: features of another dimension than the model's", path);
		int best = 0;
		for (int c = 1; c < C; c++)
			if (lg[c] > lg[best])
				best = c;
		const char *name = tl_lin_label(m, best);
		for (int k = 0; k < nl; k++)
			if (strlen(name) == lablen[k] && !memcmp(name, lab[k], lablen[k])) {
				hit++;
				break;
			}
		n++;
	}
	tl_reader_close(r);
	tl_lin_scratch_free(&s);
	tl_sparse_free(&sp);
	tl_buf_free(&tb);
	free(vec);
	free(lg);
	*count = n;
	return n ? (double)hit / (double)n : 0;
}

static char *make_tl_json(const args *a, const char *data_path, size_t nrec, double secs, double loss,
			  const tl_lin_model *m, double dev_acc, size_t dev_n, const tl_keyset *keys, json_t *prov)
{
	json_t *j = json_object();
	json_object_set_new(j, "tool", json_string("tl-train"));
	json_object_set_new(j, "version", json_string(TL_VERSION));
	json_t *av = json_array();
	for (int i = 1; i < a->argc; i++)
		json_array_append_new(av, json_string(a->argv[i]));
	json_object_set_new(j, "args", av);
	json_object_set_new(j, "model", json_string(a->model));
	json_object_set_new(j, "seed", json_integer((json_int_t)a->lo.seed));
	json_t *p = json_object();
	const tl_lin_opts *o = &a->lo;
	json_object_set_new(p, "epochs", json_integer(o->epochs));
	json_object_set_new(p, "lr", json_real(o->lr));
	if (o->arch == TL_LIN_FASTTEXT) {
		json_object_set_new(p, "dim", json_integer(o->dim));
		json_object_set_new(p, "word_ngrams", json_integer(o->word_ngrams));
		json_object_set_new(p, "buckets", json_integer(o->buckets));
		json_object_set_new(p, "min_count", json_integer(o->min_count));
		json_object_set_new(p, "min_count_ngram", json_integer(o->min_count_ngram));
		json_object_set_new(p, "batch", json_integer(o->batch));
		json_object_set_new(p, "init_vectors", o->init_vectors ? json_string(o->init_vectors) : json_null());
		json_object_set_new(p, "input", json_string("text"));
		if (o->cjk_words) /* absent: CJK split per character */
			json_object_set_new(p, "cjk", json_string("words"));
	} else {
		json_object_set_new(p, "l2", json_real(o->l2));
		json_object_set_new(p, "input", json_string(a->input_name));
		/* what the model reads: its own TF-IDF, or the stream's features as
		 * its header described them (null: it did not) */
		if (o->input == TL_IN_TEXT) {
			char fo[512];
			tl_feat_opts_str(&o->feat, fo, sizeof fo);
			json_object_set_new(p, "features", json_pack("{s:s, s:s, s:s}", "kind", "tfidf", "file",
								     "features.tsv", "options", fo));
		} else
			json_object_set(p, "features", prov ? prov : json_null());
	}
	if (tl_lin_text_b(m))
		json_object_set_new(p, "text_b", json_string("joined"));
	if (o->distill) {
		json_t *kd = json_object(), *tl_ = json_array();
		json_object_set_new(kd, "temperature", json_real(o->temperature));
		json_object_set_new(kd, "alpha", json_real(o->alpha));
		for (int i = 0; i < a->ntlab; i++)
			json_array_append_new(tl_, json_string(a->tlab[i]));
		json_object_set_new(kd, "teacher_labels", a->ntlab ? tl_ : (json_decref(tl_), json_null()));
		json_object_set_new(p, "distill", kd);
	}
	json_object_set_new(j, "params", p);
	json_t *d = json_object();
	json_object_set_new(d, "path", data_path ? json_string(data_path) : json_null());
	char sha[65];
	if (data_path && strcmp(data_path, "-") && tl_sha256_file(data_path, sha) == 0)
		json_object_set_new(d, "sha256", json_string(sha));
	else
		json_object_set_new(d, "sha256", json_null());
	json_object_set_new(d, "records", json_integer((json_int_t)nrec));
	json_object_set_new(j, "data", d);
	if (keys)
		json_object_set_new(j, "train_keys", tl_train_keys_json(keys));
	json_t *mt = json_object();
	json_object_set_new(mt, "train_loss", json_real(loss));
	json_object_set_new(mt, "train_seconds", json_real(secs));
	json_object_set_new(mt, "parameters", json_integer((json_int_t)tl_lin_nparams(m)));
	if (a->dev) {
		json_object_set_new(mt, "dev_path", json_string(a->dev));
		json_object_set_new(mt, "dev_accuracy", json_real(dev_acc));
		json_object_set_new(mt, "dev_records", json_integer((json_int_t)dev_n));
	}
	json_object_set_new(j, "metrics", mt);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	size_t n = strlen(s);
	s = realloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = 0;
	return s;
}

static int train_linear_family(args *a, const char *path)
{
	tl_lin_opts *o = &a->lo;
	if (o->arch == TL_LIN_FASTTEXT && strcmp(a->input_name, "auto") && strcmp(a->input_name, "text"))
		tl_die(TL_EXIT_USAGE, "--input %s is for -m linear: fastText reads the text", a->input_name);
	FILE *logf = NULL;
	if (a->log && !(logf = fopen(a->log, "w")))
		tl_die(TL_EXIT_IO, "cannot open %s:", a->log);
	double t0 = tl_now();
	tl_lin_data *d = NULL;
	json_t *prov = NULL;
	/* TL_NO_LEAK_CHECK=1 (a measurement aid, man page ENVIRONMENT): no
	 * keys, no dev check, no train-keys.bin */
	const char *nlc = getenv("TL_NO_LEAK_CHECK");
	tl_leak *lk = nlc && !strcmp(nlc, "1") ? NULL : tl_leak_new();
	size_t n = read_stream(a, path, &d, lk, &prov);
	if (n == 0)
		tl_die(TL_EXIT_DATA, "no labelled records in %s", path ? path : "standard input");
	if (o->arch == TL_LIN_LOGREG && o->input != TL_IN_TEXT && !prov && !a->quiet)
		tl_warn("the stream's header does not say how its \"%s\" features were made (tl-embed writes it): "
			"tl-predict cannot check that its input is made the same way", a->input_name);
	const char *devpath = a->dev;
	if (a->dev)
		devpath = seekable_dev(a->dev);
	if (a->dev && prov && o->input != TL_IN_TEXT) /* refused before training, not after */
		check_dev_provenance(devpath, a->dev, prov, o->input, path && strcmp(path, "-") ? path : "standard input");
	if (a->dev && lk)
		check_dev(a, devpath, lk);
	tl_progress pr;
	tl_progress_init(&pr, o->arch == TL_LIN_FASTTEXT ? "words" : "examples", 0, a->quiet || dist_rank() != 0,
			 logf);
	o->dist = dist;
	int code;
	char err[512];
	tl_lin_model *m = tl_lin_train(o, d, progress_cb, &pr, &code, err, sizeof err);
	tl_lin_data_free(d);
	if (!m) {
		if (dist_rank() == 0)
			tl_warn("%s", err);
		dist_exit(code);
	}
	if (dist_rank() != 0) { /* rank 0 writes the model */
		tl_lin_free(m);
		tl_leak_free(lk);
		json_decref(prov);
		dist_exit(0);
	}
	double secs = tl_now() - t0;
	char extra[128];
	snprintf(extra, sizeof extra, "loss %.4f, %zu records, %.2f s", tl_lin_train_loss(m), n, secs);
	tl_progress_finish(&pr, extra);
	double acc = 0;
	size_t dn = 0;
	if (a->dev) {
		acc = evaluate(m, devpath, a->dev, &dn, a->drop_leaked ? lk : NULL, prov,
			       path && strcmp(path, "-") ? path : "standard input");
		if (!a->quiet)
			fprintf(stderr, "tl-train: dev accuracy %.4f (%zu records)\n", acc, dn);
		char js[256];
		snprintf(js, sizeof js, "\"dev_accuracy\":%.6f,\"dev_records\":%zu", acc, dn);
		tl_progress_log(&pr, js);
	}
	/* the log is complete: closed and checked before the model is written,
	 * so a failed --log write (exit 4) leaves no model behind */
	if (logf) {
		/* a failed fflush (--log /dev/full) leaves only the error flag */
		int bad = ferror(logf);
		if (fclose(logf) != 0 || bad)
			tl_die(TL_EXIT_IO, "write error on %s (no model written)", a->log);
	}
	const tl_keyset *keys = lk ? tl_leak_train_keys(lk) : NULL;
	char *tj = make_tl_json(a, path, n, secs, tl_lin_train_loss(m), m, acc, dn, keys, prov);
	json_decref(prov);
	if (tl_lin_save_keys(m, a->out, a->force, tj, keys, err, sizeof err) < 0)
		tl_die(TL_EXIT_IO, "%s", err);
	free(tj);
	tl_leak_free(lk);
	tl_lin_free(m);
	for (int i = 0; i < a->ntlab; i++)
		free(a->tlab[i]);
	free(a->tlab);
	return 0;
}

/* ---------------- the command line ---------------- */

/* Model kinds, as bits: each option lists the kinds it applies to. */
enum { K_FT = 1, K_LIN = 2, K_BERT = 4, K_FAMILY = K_FT | K_LIN, K_ALL = K_FT | K_LIN | K_BERT };

enum {
	/* every kind */
	O_FORCE = 256, O_DEV, O_DROPLEAK, O_EPOCHS, O_LR, O_SEED, O_THREADS, O_LOG, O_DEVICE, O_VERSION,
	/* fasttext and linear */
	O_DIM, O_WNG, O_BUCKETS, O_MINC, O_MINCN, O_LOSS, O_BATCH, O_INIT, O_NOLOWER, O_INPUT, O_L2, O_FEAT, O_NOSUB,
	/* bert */
	O_PRETRAINED, O_TRAIN, O_LABELS, O_BATCHSIZE, O_ACCUM, O_OPTIM, O_MOMENTUM, O_WD, O_SCHED, O_WR, O_WS,
	O_STEPSIZE, O_GAMMA, O_CLIP, O_MAXLEN, O_DROPOUT, O_LS, O_CW, O_FREEZE, O_LLD, O_EVAL, O_METRIC, O_PATIENCE,
	O_MAXSTEPS, O_WINDOW, O_CKE, O_CKD, O_RESUME, O_PE, O_KEEPCK, O_ALLOWCH, O_PRECISION, O_TASK,
	O_DISTILL, O_TEMP, O_ALPHA, O_STUDENT, O_TEACHER, O_HIDW, O_TASK_SAMPLING, O_TASK_WEIGHT,
	O_SOURCE, O_SOURCE_W, O_DOMAIN_LOSS, O_DOMAIN_W, O_DISC_HIDDEN,
	O_OBJECTIVE, O_MASKPROB, O_WWM
};

/* One table for every kind; kinds[i] says which kinds opts[i] is for. */
static const struct option opts[] = {
	{"model", required_argument, 0, 'm'},          {"output", required_argument, 0, 'o'},
	{"force", no_argument, 0, O_FORCE},            {"dev", required_argument, 0, O_DEV},
	{"drop-leaked", no_argument, 0, O_DROPLEAK},
	{"epochs", required_argument, 0, O_EPOCHS},    {"lr", required_argument, 0, O_LR},
	{"seed", required_argument, 0, O_SEED},        {"threads", required_argument, 0, O_THREADS},
	{"quiet", no_argument, 0, 'q'},                {"log", required_argument, 0, O_LOG},
	{"device", required_argument, 0, O_DEVICE},    {"help", no_argument, 0, 'h'},
	{"version", no_argument, 0, O_VERSION},
	{"dim", required_argument, 0, O_DIM},          {"word-ngrams", required_argument, 0, O_WNG},
	{"buckets", required_argument, 0, O_BUCKETS},  {"min-count", required_argument, 0, O_MINC},
	{"min-count-ngram", required_argument, 0, O_MINCN}, {"loss", required_argument, 0, O_LOSS},
	{"batch", required_argument, 0, O_BATCH},      {"init-vectors", required_argument, 0, O_INIT},
	{"no-lower", no_argument, 0, O_NOLOWER},       {"input", required_argument, 0, O_INPUT},
	{"l2", required_argument, 0, O_L2},            {"no-sublinear-tf", no_argument, 0, O_NOSUB},
	{"ngram", required_argument, 0, O_FEAT},       {"analyzer", required_argument, 0, O_FEAT},
	{"min-df", required_argument, 0, O_FEAT},      {"max-df", required_argument, 0, O_FEAT},
	{"max-features", required_argument, 0, O_FEAT}, {"binary", no_argument, 0, O_FEAT},
	{"norm", required_argument, 0, O_FEAT},        {"hash", required_argument, 0, O_FEAT},
	{"no-idf", no_argument, 0, O_FEAT},        {"cjk", required_argument, 0, O_FEAT},
	{"pretrained", required_argument, 0, O_PRETRAINED}, {"train", required_argument, 0, O_TRAIN},
	{"labels", required_argument, 0, O_LABELS},    {"batch-size", required_argument, 0, O_BATCHSIZE},
	{"grad-accum", required_argument, 0, O_ACCUM}, {"optimizer", required_argument, 0, O_OPTIM},
	{"momentum", required_argument, 0, O_MOMENTUM}, {"weight-decay", required_argument, 0, O_WD},
	{"schedule", required_argument, 0, O_SCHED},   {"warmup-ratio", required_argument, 0, O_WR},
	{"warmup-steps", required_argument, 0, O_WS},  {"step-size", required_argument, 0, O_STEPSIZE},
	{"gamma", required_argument, 0, O_GAMMA},      {"clip", required_argument, 0, O_CLIP},
	{"max-len", required_argument, 0, O_MAXLEN},   {"dropout", required_argument, 0, O_DROPOUT},
	{"label-smoothing", required_argument, 0, O_LS}, {"class-weights", required_argument, 0, O_CW},
	{"freeze", required_argument, 0, O_FREEZE},    {"layer-lr-decay", required_argument, 0, O_LLD},
	{"eval-every", required_argument, 0, O_EVAL},  {"metric", required_argument, 0, O_METRIC},
	{"patience", required_argument, 0, O_PATIENCE}, {"max-steps", required_argument, 0, O_MAXSTEPS},
	{"bucket-window", required_argument, 0, O_WINDOW}, {"checkpoint-every", required_argument, 0, O_CKE},
	{"checkpoint-dir", required_argument, 0, O_CKD}, {"resume", required_argument, 0, O_RESUME},
	{"progress-every", required_argument, 0, O_PE}, {"keep-checkpoint", no_argument, 0, O_KEEPCK},
	{"allow-change", required_argument, 0, O_ALLOWCH}, {"precision", required_argument, 0, O_PRECISION},
	{"task", required_argument, 0, O_TASK},
	{"distill", no_argument, 0, O_DISTILL},        {"temperature", required_argument, 0, O_TEMP},
	{"alpha", required_argument, 0, O_ALPHA},      {"student-layers", required_argument, 0, O_STUDENT},
	{"teacher", required_argument, 0, O_TEACHER},  {"hidden-weight", required_argument, 0, O_HIDW},
	{"task-sampling", required_argument, 0, O_TASK_SAMPLING}, {"task-weight", required_argument, 0, O_TASK_WEIGHT},
	{"source", required_argument, 0, O_SOURCE},    {"source-weight", required_argument, 0, O_SOURCE_W},
	{"domain-loss", required_argument, 0, O_DOMAIN_LOSS}, {"domain-weight", required_argument, 0, O_DOMAIN_W},
	{"disc-hidden", required_argument, 0, O_DISC_HIDDEN},
	{"objective", required_argument, 0, O_OBJECTIVE}, {"mask-prob", required_argument, 0, O_MASKPROB},
	{"whole-word-mask", no_argument, 0, O_WWM},
	{0, 0, 0, 0}};

/* The kinds an option code applies to. */
static int option_kinds(int c)
{
	if (c < O_VERSION + 1 || c == 'm' || c == 'o' || c == 'q' || c == 'f' || c == 'h')
		return K_ALL;
	if (c < O_PRETRAINED)
		return K_FAMILY;
	if (c == O_DISTILL || c == O_TEMP || c == O_ALPHA)
		return K_FT | K_BERT;
	return K_BERT;
}

/* An option as getopt_long returned it, replayed once the kind is known. */
typedef struct {
	int c, idx; /* idx: index into opts[] for a long option, else -1 */
	const char *arg;
} opt_seen;
static opt_seen *seen; /* main's, freed after the replay */

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* -m bert: the options are in bo (tl_bert_fit_opts_default applied). */
/* ---------------- the output lock ---------------- */

/* One tl-train writes an output directory (and its DIR.ckpt) at a time:
 * flock on DIR.lock, next to DIR, taken before anything is read and held
 * for the whole run; a second tl-train on the same DIR fails at once
 * (exit 4). The file is removed at exit; one left by a killed run is
 * harmless (the lock is the kernel's, released with the process). */
static char *lock_path;
static int lock_fd = -1;

static void unlock_output(void)
{
	if (lock_fd < 0)
		return;
	unlink(lock_path); /* while still held: a waiter sees another inode and retries */
	close(lock_fd);
	lock_fd = -1;
	free(lock_path);
	lock_path = NULL;
}

static void lock_output(const char *out)
{
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		n--;
	tl_buf p = {0};
	tl_buf_printf(&p, "%.*s.lock", (int)n, out);
	for (int tries = 0;; tries++) {
		int fd = open(tl_buf_cstr(&p), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			tl_die(TL_EXIT_IO, "cannot create %s:", tl_buf_cstr(&p));
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				tl_die(TL_EXIT_IO, "%.*s is being written by another tl-train (%s)", (int)n, out,
				       tl_buf_cstr(&p));
			tl_die(TL_EXIT_IO, "cannot lock %s:", tl_buf_cstr(&p));
		}
		/* the file may have been removed by its last holder between our
		 * open and flock: the lock counts only on the file at the path */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(tl_buf_cstr(&p), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			lock_fd = fd;
			break;
		}
		close(fd);
		if (tries == 100)
			tl_die(TL_EXIT_IO, "cannot lock %s: it keeps being replaced", tl_buf_cstr(&p));
	}
	lock_path = tl_xstrdup(tl_buf_cstr(&p));
	tl_buf_free(&p);
	atexit(unlock_output);
}

/* The last of --temperature, --alpha given (they need --distill). */
static const char *kd_named;
/* The last of --mask-prob, --whole-word-mask given (they need --objective mlm). */
static const char *mlm_named;

static int run_bert(tl_bert_fit_opts *bo, int argc, char **argv, const char *file)
{
	if (!bo->out)
		tl_die(TL_EXIT_USAGE, "no output directory: -o DIR is required");
	if (file && bo->train)
		tl_die(TL_EXIT_USAGE, "both --train %s and FILE %s given", bo->train, file);
	if (!bo->train)
		bo->train = file;
	if (bo->train && !strcmp(bo->train, "-"))
		bo->train = NULL;
	if (kd_named && !bo->distill)
		tl_die(TL_EXIT_USAGE, "option %s is for --distill", kd_named);
	if (mlm_named && bo->objective != TL_OBJECTIVE_MLM)
		tl_die(TL_EXIT_USAGE, "option %s is for --objective mlm", mlm_named);
	bo->argc = argc;
	bo->argv = argv;
	bo->stop = &interrupted;
	const char *nlc = getenv("TL_NO_LEAK_CHECK");
	bo->no_leak_check = nlc && !strcmp(nlc, "1");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	bo->dist = dist;
	tl_err e = {0};
	if (tl_bert_fit(bo, &e) < 0) {
		/* data-parallel: rank 0 reports for all (tl/bert_fit.h) */
		if ((e.code == TL_EXIT_INTERRUPTED && bo->quiet) || dist_rank() != 0)
			dist_exit(e.code);
		tl_warn("%s", e.msg);
		dist_exit(e.code);
	}
	tl_close_stdout();
	dist_exit(0);
	return 0;
}

/* --source-weight, --domain-weight: "X" or "X:anneal", X >= 0. */
static double parse_weight(const char *opt, const char *arg, int *anneal)
{
	const char *c = strchr(arg, ':');
	*anneal = 0;
	if (!c)
		return tl_parse_double(opt, arg, 0, 1e6);
	if (strcmp(c + 1, "anneal"))
		tl_die(TL_EXIT_USAGE, "option %s: '%s': X or X:anneal (X >= 0)", opt, arg);
	char num[64];
	size_t n = (size_t)(c - arg);
	if (n == 0 || n >= sizeof num)
		tl_die(TL_EXIT_USAGE, "option %s: '%s' is not a number in [0, 1e+06]", opt, arg);
	memcpy(num, arg, n);
	num[n] = 0;
	*anneal = 1;
	return tl_parse_double(opt, num, 0, 1e6);
}

/* The value of a -m bert option into bo. */
static void bert_option(tl_bert_fit_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'm':
		if (strcmp(arg, "bert"))
			tl_die(TL_EXIT_USAGE, "option -m: '%s' given twice with bert", arg);
		break;
	case 'o': o->out = tl_parse_path("-o", arg); break;
	case O_PRETRAINED: o->pretrained = tl_parse_path("--pretrained", arg); break;
	case O_TRAIN: o->train = tl_parse_path("--train", arg); break;
	case O_DEV: o->dev = tl_parse_path("--dev", arg); break;
	case O_DROPLEAK: o->drop_leaked = 1; break;
	case O_LABELS: o->labels = arg; break;
	case O_EPOCHS: o->epochs = tl_parse_long("--epochs", arg, 1, 100000); break;
	case O_BATCHSIZE: o->batch = tl_parse_long("--batch-size", arg, 1, 65536); break;
	case O_ACCUM: o->accum = tl_parse_long("--grad-accum", arg, 1, 65536); break;
	case O_LR: o->lr = tl_parse_double("--lr", arg, 0, 1e30); break;
	case O_OPTIM:
		if (!strcmp(arg, "adamw"))
			o->optimizer = TL_OPT_ADAMW;
		else if (!strcmp(arg, "sgd"))
			o->optimizer = TL_OPT_SGD;
		else
			tl_die(TL_EXIT_USAGE, "option --optimizer: unknown '%s' (adamw, sgd)", arg);
		break;
	case O_MOMENTUM: o->momentum = tl_parse_double("--momentum", arg, 0, 1); break;
	case O_WD: o->wd = tl_parse_double("--weight-decay", arg, 0, 1e6); break;
	case O_SCHED:
		if (!strcmp(arg, "linear"))
			o->schedule = TL_SCHED_LINEAR;
		else if (!strcmp(arg, "cosine"))
			o->schedule = TL_SCHED_COSINE;
		else if (!strcmp(arg, "constant"))
			o->schedule = TL_SCHED_CONSTANT;
		else if (!strcmp(arg, "step"))
			o->schedule = TL_SCHED_STEP;
		else
			tl_die(TL_EXIT_USAGE, "option --schedule: unknown '%s' (linear, cosine, constant, step)", arg);
		break;
	case O_WR: o->warmup_ratio = tl_parse_double("--warmup-ratio", arg, 0, 1); break;
	case O_WS: o->warmup_steps = tl_parse_long("--warmup-steps", arg, 0, 1L << 40); break;
	case O_STEPSIZE: o->step_size = tl_parse_long("--step-size", arg, 1, 1L << 40); break;
	case O_GAMMA: o->gamma = tl_parse_double("--gamma", arg, 0, 1e6); break;
	case O_CLIP: o->clip = tl_parse_double("--clip", arg, 0, 1e30); break;
	case O_MAXLEN: o->max_len = tl_parse_long("--max-len", arg, 2, 1 << 20); break;
	case O_DROPOUT: o->dropout = tl_parse_double("--dropout", arg, 0, 0.99); break;
	case O_LS: o->ls = tl_parse_double("--label-smoothing", arg, 0, 1); break;
	case O_CW: o->class_weights = tl_parse_path("--class-weights", arg); break;
	case O_FREEZE: o->freeze = arg; break;
	case O_LLD: o->lld = tl_parse_double("--layer-lr-decay", arg, 0, 1e6); break;
	case O_EVAL: o->eval_every = tl_parse_long("--eval-every", arg, 0, 1L << 40); break;
	case O_METRIC:
		if (!strcmp(arg, "accuracy"))
			o->metric_f1 = 0;
		else if (!strcmp(arg, "macro_f1") || !strcmp(arg, "macro-f1"))
			o->metric_f1 = 1;
		else
			tl_die(TL_EXIT_USAGE, "option --metric: unknown '%s' (accuracy, macro_f1)", arg);
		break;
	case O_TASK:
		if (!strcmp(arg, "sequence"))
			o->token = 0;
		else if (!strcmp(arg, "token"))
			o->token = 1;
		else
			tl_die(TL_EXIT_USAGE, "option --task: unknown '%s' (sequence, token)", arg);
		break;
	case O_TASK_SAMPLING: o->task_sampling = arg; break; /* checked by tl_bert_fit (exit 2) */
	case O_TASK_WEIGHT: o->task_weight = arg; break;
	case O_OBJECTIVE:
		if (!strcmp(arg, "cls"))
			o->objective = TL_OBJECTIVE_CLS;
		else if (!strcmp(arg, "mlm"))
			o->objective = TL_OBJECTIVE_MLM;
		else
			tl_die(TL_EXIT_USAGE, "option --objective: unknown '%s' (cls, mlm)", arg);
		break;
	case O_MASKPROB:
		o->mask_prob = tl_parse_double("--mask-prob", arg, 0, 1);
		if (!(o->mask_prob > 0 && o->mask_prob < 1))
			tl_die(TL_EXIT_USAGE, "option --mask-prob: '%s' is outside (0, 1)", arg);
		mlm_named = "--mask-prob";
		break;
	case O_WWM: o->whole_word_mask = 1; mlm_named = "--whole-word-mask"; break;
	case O_PATIENCE: o->patience = tl_parse_long("--patience", arg, 0, 1L << 40); break;
	case O_MAXSTEPS: o->max_steps = tl_parse_long("--max-steps", arg, 0, 1L << 40); break;
	case O_WINDOW: o->window = tl_parse_long("--bucket-window", arg, 1, 1L << 30); break;
	case O_SEED: o->seed = (uint64_t)tl_parse_long("--seed", arg, 0, (1L << 62)); break;
	case O_THREADS: o->threads = tl_parse_long("--threads", arg, 0, 4096); break;
	case O_CKE: o->ckpt_every = tl_parse_long("--checkpoint-every", arg, 0, 1L << 40); break;
	case O_CKD: o->ckpt_dir = tl_parse_path("--checkpoint-dir", arg); break;
	case O_RESUME: o->resume = tl_parse_path("--resume", arg); break;
	case O_KEEPCK: o->keep_ckpt = 1; break;
	case O_ALLOWCH: o->allow_change = arg; break;
	case O_PRECISION:
		o->precision = tl_precision_parse(arg);
		if (o->precision == TL_PREC_INT8)
			tl_die(TL_EXIT_USAGE, "option --precision: int8 is for inference (tl-embed, tl-predict); training: fp32, bf16");
		if (o->precision < 0)
			tl_die(TL_EXIT_USAGE, "option --precision: unknown '%s' (fp32, bf16)", arg);
		break;
	case O_PE: o->progress_every = tl_parse_long("--progress-every", arg, 1, 1L << 40); break;
	case O_DISTILL: o->distill = 1; break;
	case O_TEMP:
		o->temperature = tl_parse_double("--temperature", arg, -1e30, 1e30);
		if (!(o->temperature > 0))
			tl_die(TL_EXIT_USAGE, "option --temperature: '%s': the temperature must be > 0", arg);
		kd_named = "--temperature";
		break;
	case O_ALPHA: o->alpha = tl_parse_double("--alpha", arg, 0, 1); kd_named = "--alpha"; break;
	case O_STUDENT: o->student_layers = arg; break;
	case O_TEACHER: o->teacher = tl_parse_path("--teacher", arg); break;
	case O_HIDW: o->hidden_weight = tl_parse_double("--hidden-weight", arg, 0, 1e6); break;
	case O_SOURCE: o->source = tl_parse_path("--source", arg); break;
	case O_SOURCE_W: o->source_weight = parse_weight("--source-weight", arg, &o->source_anneal); break;
	case O_DOMAIN_W: o->domain_weight = parse_weight("--domain-weight", arg, &o->domain_anneal); break;
	case O_DISC_HIDDEN: o->disc_hidden = tl_parse_long("--disc-hidden", arg, 1, 1 << 16); break;
	case O_DOMAIN_LOSS:
		if (!strcmp(arg, "dann"))
			o->domain_loss = 1;
		else if (!strcmp(arg, "coral"))
			o->domain_loss = 2;
		else if (!strcmp(arg, "mmd"))
			o->domain_loss = 3;
		else
			tl_die(TL_EXIT_USAGE, "option --domain-loss: unknown '%s' (dann, coral, mmd)", arg);
		break;
	case O_LOG: o->log = tl_parse_path("--log", arg); break;
	case O_DEVICE: o->device = arg; break;
	case 'q': o->quiet = 1; break;
	case 'f':
	case O_FORCE: o->force = 1; break;
	}
}

/* ---------------- -m lstm-lm, -m lstm (lib/models/lstm, tl/lstm.h) ---------------- */

static const char lstm_usage[] =
	"usage: tl-train -m lstm-lm|lstm -o DIR [options] [FILE]\n"
	"LSTM language models and classifiers (ULMFiT). FILE (default: standard\n"
	"input) is a stream with \"ids\" (tl-tokenize --mode word|char --vocab V);\n"
	"-m lstm also needs \"label\".\n"
	"  -m lstm-lm            AWD-LSTM language model: the records' ids joined with\n"
	"                        [SEP] into one stream, truncated BPTT, tied decoder\n"
	"  -m lstm               classifier: concat pooling + linear-ReLU-linear head;\n"
	"                        with --pretrained LM: gradual unfreezing, discriminative\n"
	"                        rates; without: from scratch (Embedding 128, LSTM 128)\n"
	"  -o, --output DIR      model directory to write (required)\n"
	"  -f, --force           replace DIR if it exists\n"
	"      --pretrained LM   start from this language model (its vocabulary)\n"
	"      --vocab FILE      the vocabulary the ids come from (copied into DIR)\n"
	"      --dev FILE        dev stream: perplexity (lm) or accuracy per epoch\n"
	"      --epochs N        lm 1, lstm 4\n"
	"      --batch-size N    parallel streams (lm) or records per step (32)\n"
	"      --bptt N          lm: mean window (70; 35 with p 0.05, then N(len, 5))\n"
	"      --max-len N       lstm: ids kept per record (256; 0 = all)\n"
	"      --precision P     fp32 (default) or bf16: the LSTM layers' products (and\n"
	"                        the lm's tied decoder's) with bf16 operands, fp32\n"
	"                        sums; weights, loss, cells and the head stay fp32\n"
	"      --lr X            peak rate of the slanted triangular schedule\n"
	"                        (lm 3e-3, lstm 1e-2)\n"
	"      --weight-decay X  AdamW decoupled decay, not on biases (0.01)\n"
	"      --clip X          gradient clipping by global norm (0.25; 0 = off)\n"
	"      --emb N, --hidden N, --layers N   sizes from scratch (lm 200/400/2,\n"
	"                        lstm 128/128/1); --head N classifier hidden (50)\n"
	"      --drop-mult X     multiplies every default dropout (1)\n"
	"      --dropout-emb X, --dropout-in X, --dropout-hidden X, --dropout-out X,\n"
	"      --dropout-weight X, --dropout-head X   each rate on its own\n"
	"      --no-unfreeze     lstm --pretrained: train every group from the start\n"
	"      --lr-div X        discriminative rate divisor per group (2.6)\n"
	"      --max-steps N     stop after N steps (0 = no limit)\n"
	"      --seed N          1\n"
	"      --threads N       0 = all cores (the same threads give the same bits)\n"
	"      --device NAME     cpu\n"
	"      --log FILE        progress as JSON lines\n"
	"      --checkpoint-every N  write DIR.ckpt every N steps (0 = only on SIGINT)\n"
	"      --checkpoint-dir D  checkpoint directory (default DIR.ckpt)\n"
	"      --resume D        continue from checkpoint D (bitwise the same model as\n"
	"                        an uninterrupted run); the options that decide the\n"
	"                        result must be the checkpoint's (exit 2 naming the\n"
	"                        one that differs), the --log file goes on\n"
	"      --allow-change L  resume even though these options differ (comma list\n"
	"                        such as epochs,lr, or all)\n"
	"      --keep-checkpoint keep DIR.ckpt after a successful run\n"
	"  -q, --quiet           no progress\n"
	"\n"
	"Exit status: 0 ok, 1 failure (NaN loss), 2 usage (also: output exists), 3 bad\n"
	"data (also: a vocabulary other than the model's), 4 I/O, 5 bad model (also:\n"
	"a damaged checkpoint), 130 interrupted (checkpoint saved).\n";

static int lstm_kind(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		if (!strcmp(a, "--"))
			break;
		if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc)
			v = argv[i + 1];
		else if (!strncmp(a, "--model=", 8))
			v = a + 8;
		else if (!strncmp(a, "-m", 2) && a[2])
			v = a + 2;
		if (v && !strcmp(v, "lstm-lm"))
			return 1;
		if (v && !strcmp(v, "lstm"))
			return 2;
	}
	return 0;
}

static int run_lstm(int argc, char **argv, int classifier)
{
	enum {
		L_PRE = 300, L_VOCAB, L_DEV, L_EPOCHS, L_BATCH, L_BPTT, L_MAXLEN, L_LR, L_WD, L_CLIP, L_EMB, L_HID,
		L_LAYERS, L_HEAD, L_DM, L_DE, L_DI, L_DH, L_DO, L_DW, L_DHD, L_NOUNF, L_LRDIV, L_MAXSTEPS, L_SEED,
		L_THREADS, L_DEVICE, L_LOG, L_VERSION, L_CKE, L_CKD, L_RESUME, L_ALLOW, L_KEEPCK, L_PREC
	};
	static const struct option lo[] = {
		{"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
		{"force", no_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
		{"pretrained", required_argument, 0, L_PRE}, {"vocab", required_argument, 0, L_VOCAB},
		{"dev", required_argument, 0, L_DEV}, {"epochs", required_argument, 0, L_EPOCHS},
		{"batch-size", required_argument, 0, L_BATCH}, {"bptt", required_argument, 0, L_BPTT},
		{"max-len", required_argument, 0, L_MAXLEN}, {"lr", required_argument, 0, L_LR},
		{"weight-decay", required_argument, 0, L_WD}, {"clip", required_argument, 0, L_CLIP},
		{"emb", required_argument, 0, L_EMB}, {"hidden", required_argument, 0, L_HID},
		{"layers", required_argument, 0, L_LAYERS}, {"head", required_argument, 0, L_HEAD},
		{"drop-mult", required_argument, 0, L_DM}, {"dropout-emb", required_argument, 0, L_DE},
		{"dropout-in", required_argument, 0, L_DI}, {"dropout-hidden", required_argument, 0, L_DH},
		{"dropout-out", required_argument, 0, L_DO}, {"dropout-weight", required_argument, 0, L_DW},
		{"dropout-head", required_argument, 0, L_DHD}, {"no-unfreeze", no_argument, 0, L_NOUNF},
		{"lr-div", required_argument, 0, L_LRDIV}, {"max-steps", required_argument, 0, L_MAXSTEPS},
		{"seed", required_argument, 0, L_SEED}, {"threads", required_argument, 0, L_THREADS},
		{"device", required_argument, 0, L_DEVICE}, {"log", required_argument, 0, L_LOG},
		{"version", no_argument, 0, L_VERSION}, {"checkpoint-every", required_argument, 0, L_CKE},
		{"checkpoint-dir", required_argument, 0, L_CKD}, {"resume", required_argument, 0, L_RESUME},
		{"allow-change", required_argument, 0, L_ALLOW}, {"keep-checkpoint", no_argument, 0, L_KEEPCK},
		{"precision", required_argument, 0, L_PREC}, {0, 0, 0, 0}};
	tl_lstm_fit_opts o;
	tl_lstm_fit_opts_default(&o, classifier);
	const char *kind = classifier ? "lstm" : "lstm-lm";
	int c, nlm = 0, ncls = 0; /* options of the other kind given */
	while ((c = getopt_long(argc, argv, "m:o:fqh", lo, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case 'm':
			if (strcmp(a, kind))
				tl_die(TL_EXIT_USAGE, "option -m: '%s' and '%s' both given", kind, a);
			break;
		case 'o': o.out = tl_parse_path("-o", a); break;
		case 'f': o.force = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': fputs(lstm_usage, stdout); exit(0);
		case L_VERSION: tl_print_version(); exit(0);
		case L_PRE: o.pretrained = tl_parse_path("--pretrained", a); break;
		case L_VOCAB: o.vocab = tl_parse_path("--vocab", a); break;
		case L_DEV: o.dev = tl_parse_path("--dev", a); break;
		case L_EPOCHS: o.epochs = tl_parse_long("--epochs", a, 1, 100000); break;
		case L_BATCH: o.batch = tl_parse_long("--batch-size", a, 1, 65536); break;
		case L_BPTT: o.bptt = tl_parse_long("--bptt", a, 2, 100000); nlm++; break;
		case L_MAXLEN: o.max_len = tl_parse_long("--max-len", a, 0, 1L << 30); ncls++; break;
		case L_LR: o.lr = tl_parse_double("--lr", a, 0, 1e30); break;
		case L_WD: o.wd = tl_parse_double("--weight-decay", a, 0, 1e6); break;
		case L_CLIP: o.clip = tl_parse_double("--clip", a, 0, 1e30); break;
		case L_EMB: o.E = (int)tl_parse_long("--emb", a, 1, 1 << 16); break;
		case L_HID: o.H = (int)tl_parse_long("--hidden", a, 1, 1 << 16); break;
		case L_LAYERS: o.L = (int)tl_parse_long("--layers", a, 1, TL_LSTM_MAXL); break;
		case L_HEAD: o.head = (int)tl_parse_long("--head", a, 1, 1 << 16); ncls++; break;
		case L_DM: o.drop_mult = tl_parse_double("--drop-mult", a, 0, 100); break;
		case L_DE: o.p_emb = tl_parse_double("--dropout-emb", a, 0, 0.99); break;
		case L_DI: o.p_in = tl_parse_double("--dropout-in", a, 0, 0.99); break;
		case L_DH: o.p_hid = tl_parse_double("--dropout-hidden", a, 0, 0.99); break;
		case L_DO: o.p_out = tl_parse_double("--dropout-out", a, 0, 0.99); break;
		case L_DW: o.p_w = tl_parse_double("--dropout-weight", a, 0, 0.99); break;
		case L_DHD: o.p_head = tl_parse_double("--dropout-head", a, 0, 0.99); ncls++; break;
		case L_NOUNF: o.unfreeze = 0; ncls++; break;
		case L_LRDIV: o.lr_div = tl_parse_double("--lr-div", a, 1e-6, 1e6); ncls++; break;
		case L_MAXSTEPS: o.max_steps = tl_parse_long("--max-steps", a, 0, 1L << 40); break;
		case L_SEED: o.seed = (uint64_t)tl_parse_long("--seed", a, 0, 1L << 62); break;
		case L_THREADS: o.threads = (int)tl_parse_long("--threads", a, 0, 4096); break;
		case L_DEVICE: o.device = a; break;
		case L_LOG: o.log = tl_parse_path("--log", a); break;
		case L_CKE: o.ckpt_every = tl_parse_long("--checkpoint-every", a, 0, 1L << 40); break;
		case L_CKD: o.ckpt_dir = tl_parse_path("--checkpoint-dir", a); break;
		case L_RESUME: o.resume = tl_parse_path("--resume", a); break;
		case L_ALLOW: o.allow_change = a; break;
		case L_KEEPCK: o.keep_ckpt = 1; break;
		case L_PREC:
			o.precision = tl_precision_parse(a);
			if (o.precision < 0 || o.precision == TL_PREC_INT8)
				tl_die(TL_EXIT_USAGE, "option --precision: '%s': fp32 or bf16 (int8 is for inference: tl-embed, tl-predict)", a);
			break;
		default: fputs(lstm_usage, stderr); exit(TL_EXIT_USAGE);
		}
	}
	if (classifier && nlm)
		tl_die(TL_EXIT_USAGE, "option --bptt is for -m lstm-lm");
	if (!classifier && ncls)
		tl_die(TL_EXIT_USAGE, "options --max-len, --head, --dropout-head, --no-unfreeze, --lr-div are for -m lstm");
	if (!o.out)
		tl_die(TL_EXIT_USAGE, "no output directory: -o DIR is required");
	if (optind + 1 < argc)
		tl_die(TL_EXIT_USAGE, "one training stream at most (got %d)", argc - optind);
	o.train = optind < argc && strcmp(argv[optind], "-") ? argv[optind] : NULL;
	o.argc = argc;
	o.argv = argv;
	o.stop = &interrupted;
	lock_output(o.out);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	tl_err e = {0};
	if (tl_lstm_fit(&o, &e) < 0)
		tl_die(e.code, "%s", e.msg);
	tl_close_stdout();
	return 0;
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	int lk = lstm_kind(argc, argv);
	if (lk)
		return run_lstm(argc, argv, lk == 2);
	/* One pass of getopt over the command line; the options are kept and
	 * interpreted in order once -m is known (the kinds differ in defaults,
	 * ranges and messages). getopt reports the first unknown option itself;
	 * the usage follows when its turn comes. */
	size_t room = (size_t)argc; /* clustered short options: up to one per character */
	for (int i = 1; i < argc; i++)
		room += strlen(argv[i]);
	seen = tl_xmalloc(room * sizeof *seen);
	int nseen = 0, c, idx;
	const char *model = "fasttext";
	int bert = 0;
	for (;;) {
		idx = -1;
		if ((c = getopt_long(argc, argv, "m:o:qfh", opts, &idx)) == -1)
			break;
		if (c == '?') {
			if (opterr)
				seen[nseen++] = (opt_seen){c, -1, NULL};
			opterr = 0; /* one message, as when the first error stopped the parse */
			continue;
		}
		if (c == 'm') {
			model = optarg;
			bert |= !strcmp(optarg, "bert");
		}
		seen[nseen++] = (opt_seen){c, idx, optarg};
	}
	if (bert)
		model = "bert";
	int kind = bert ? K_BERT : !strcmp(model, "linear") ? K_LIN : K_FT;

	/* fasttext and linear: options are collected first, the model's
	 * defaults applied after */
	args a = {0};
	a.model = model;
	a.input_name = "auto";
	a.argc = argc;
	a.argv = argv;
	tl_lin_opts set = {0};
	int have_lr = 0, have_epochs = 0;
	double lr = 0;
	long epochs = 0;
	unsigned fset = 0;
	tl_feat_opts fo;
	tl_feat_opts_default(&fo, TL_FEAT_TFIDF);
	fo.ngram_max = 2;
	fo.sublinear_tf = 1;
	tl_lin_opts_default(&set, TL_LIN_FASTTEXT);
	const char *device = NULL;
	/* bert */
	tl_bert_fit_opts bo;
	tl_bert_fit_opts_default(&bo);
	char err[512];
	for (int i = 0; i < nseen; i++) {
		const opt_seen *s = &seen[i];
		const char *arg = s->arg;
		c = s->c;
		if (c == '?') {
			fputs(bert ? bert_usage : usage, stderr);
			return TL_EXIT_USAGE;
		}
		if (c == 'h') {
			fputs(bert ? bert_usage : usage, stdout);
			return 0;
		}
		if (c == O_VERSION) {
			tl_print_version();
			return 0;
		}
		if (!(option_kinds(c) & kind)) {
			char name[64];
			if (s->idx >= 0)
				snprintf(name, sizeof name, "--%s", opts[s->idx].name);
			else
				snprintf(name, sizeof name, "-%c", c);
			tl_die(TL_EXIT_USAGE, "option %s is not for -m %s", name, model);
		}
		if (bert) {
			bert_option(&bo, c, arg);
			continue;
		}
		switch (c) {
		case 'm': break;
		case 'o': a.out = tl_parse_path("-o", arg); break;
		case 'f':
		case O_FORCE: a.force = 1; break;
		case O_DEV: a.dev = tl_parse_path("--dev", arg); break;
		case O_DROPLEAK: a.drop_leaked = 1; break;
		case O_EPOCHS: epochs = tl_parse_long("--epochs", arg, 1, 100000); have_epochs = 1; break;
		case O_LR: lr = tl_parse_double("--lr", arg, 1e-9, 1e6); have_lr = 1; break;
		case O_SEED: set.seed = (uint64_t)tl_parse_long("--seed", arg, 0, INT64_MAX); break;
		case O_THREADS: set.threads = (int)tl_parse_long("--threads", arg, 0, 1024); break;
		case 'q': a.quiet = 1; break;
		case O_LOG: a.log = tl_parse_path("--log", arg); break;
		case O_DEVICE: device = arg; break;
		case O_DIM: set.dim = (int)tl_parse_long("--dim", arg, 1, 10000); break;
		case O_WNG: set.word_ngrams = (int)tl_parse_long("--word-ngrams", arg, 1, 16); break;
		case O_BUCKETS: set.buckets = tl_parse_long("--buckets", arg, 1, 1L << 30); break;
		case O_MINC: set.min_count = tl_parse_long("--min-count", arg, 1, 1L << 40); break;
		case O_MINCN: set.min_count_ngram = tl_parse_long("--min-count-ngram", arg, 1, 1L << 31); break;
		case O_LOSS:
			if (!strcmp(arg, "softmax"))
				set.loss = TL_LOSS_SOFTMAX;
			else if (!strcmp(arg, "hs"))
				set.loss = TL_LOSS_HS;
			else if (!strcmp(arg, "ova"))
				set.loss = TL_LOSS_OVA;
			else
				tl_die(TL_EXIT_USAGE, "option --loss: unknown loss '%s' (softmax, hs, ova)", arg);
			break;
		case O_BATCH: set.batch = (int)tl_parse_long("--batch", arg, 1, 65536); break;
		case O_INIT: set.init_vectors = tl_parse_path("--init-vectors", arg); break;
		case O_NOLOWER: set.lower = 0; break;
		case O_INPUT:
			if (strcmp(arg, "auto") && strcmp(arg, "text") && strcmp(arg, "sparse") && strcmp(arg, "vec"))
				tl_die(TL_EXIT_USAGE, "option --input: unknown kind '%s' (auto, text, sparse, vec)", arg);
			a.input_name = arg;
			break;
		case O_L2: set.l2 = tl_parse_double("--l2", arg, 0, 1); break;
		case O_DISTILL: set.distill = 1; break;
		case O_TEMP:
			set.temperature = tl_parse_double("--temperature", arg, -1e30, 1e30);
			if (!(set.temperature > 0))
				tl_die(TL_EXIT_USAGE, "option --temperature: '%s': the temperature must be > 0", arg);
			kd_named = "--temperature";
			break;
		case O_ALPHA: set.alpha = tl_parse_double("--alpha", arg, 0, 1); kd_named = "--alpha"; break;
		case O_NOSUB: fo.sublinear_tf = 0; fset |= TL_FEAT_SET_SUBLINEAR; break;
		case O_FEAT: {
			int r = tl_feat_opts_set(&fo, &fset, opts[s->idx].name, arg, err, sizeof err);
			if (r <= 0)
				tl_die(TL_EXIT_USAGE, "%s", r < 0 ? err : "unknown option");
			break;
		}
		}
	}
	free(seen);
	seen = NULL;

	if (bert) {
		if (optind < argc - 1)
			tl_die(TL_EXIT_USAGE, "one input FILE at most (got %d)", argc - optind);
		dist_start(&argc, &argv);
		if (bo.out && dist_rank() == 0)
			lock_output(bo.out);
		return run_bert(&bo, argc, argv, optind < argc ? argv[optind] : NULL);
	}

	/* ---- fasttext and linear ---- */
	if (optind + 1 < argc)
		tl_die(TL_EXIT_USAGE, "one training stream at most (got %d)", argc - optind);
	const char *path = optind < argc ? argv[optind] : "-";
	int arch;
	if (!strcmp(a.model, "fasttext"))
		arch = TL_LIN_FASTTEXT;
	else if (!strcmp(a.model, "linear"))
		arch = TL_LIN_LOGREG;
	else
		tl_die(TL_EXIT_USAGE, "-m: unknown model kind '%s' (fasttext, linear, bert, lstm-lm, lstm)", a.model);
	if (!a.out)
		tl_die(TL_EXIT_USAGE, "no output directory: use -o DIR");
#ifdef TL_HAVE_MPI
	dist_start(&argc, &argv);
	if (dist) {
		if (arch != TL_LIN_FASTTEXT) {
			if (dist->rank == 0)
				tl_warn("-m linear trains by per-example SGD, each step reading the last: it has no "
					"data-parallel form (train -m fasttext under mpirun, or run one process)");
			dist_exit(TL_EXIT_USAGE);
		}
	}
#endif
	if (dist_rank() == 0)
		lock_output(a.out);
	if (!a.force && dist_rank() == 0) {
		FILE *f = fopen(a.out, "r");
		if (f || errno != ENOENT) {
			if (f)
				fclose(f);
			tl_die(TL_EXIT_USAGE, "%s exists (use --force to replace it)", a.out);
		}
	}
	/* these models run on the host; --device only has to name a backend */
	if (device && !tl_kernels_select(device, err, sizeof err))
		tl_die(TL_EXIT_USAGE, "%s", err);
	tl_lin_opts_default(&a.lo, arch);
	tl_lin_opts *o = &a.lo;
	o->seed = set.seed ? set.seed : o->seed;
	o->threads = set.threads;
	o->dim = set.dim;
	o->word_ngrams = set.word_ngrams;
	o->buckets = set.buckets;
	o->min_count = set.min_count;
	o->min_count_ngram = set.min_count_ngram;
	o->loss = set.loss;
	o->batch = set.batch;
	o->init_vectors = set.init_vectors;
	o->lower = set.lower;
	o->l2 = set.l2;
	o->distill = set.distill;
	o->temperature = set.temperature;
	o->alpha = set.alpha;
	if (kd_named && !o->distill)
		tl_die(TL_EXIT_USAGE, "option %s is for --distill", kd_named);
	if (o->distill && o->loss != TL_LOSS_SOFTMAX)
		tl_die(TL_EXIT_USAGE, "--distill trains with --loss softmax (the soft targets are a distribution over "
				      "every label), not %s", o->loss == TL_LOSS_HS ? "hs" : "ova");
	if (o->distill && dist)
		tl_die(TL_EXIT_USAGE, "--distill under mpirun: the teacher's logits are not sharded across ranks yet "
				      "(run one process)");
	if (have_lr)
		o->lr = lr;
	if (have_epochs)
		o->epochs = (int)epochs;
	tl_feat_opts_finish(&fo, fset);
	o->feat = fo;
	o->cjk_words = fo.cjk_words; /* --cjk: fastText too */
	a.cjk_set = (fset & TL_FEAT_SET_CJK) != 0;
	if (arch == TL_LIN_LOGREG && set.init_vectors)
		tl_die(TL_EXIT_USAGE, "--init-vectors is for -m fasttext");
	if (arch == TL_LIN_LOGREG && set.loss == TL_LOSS_HS)
		tl_die(TL_EXIT_USAGE, "--loss hs is for -m fasttext");
	o->input = !strcmp(a.input_name, "sparse") ? TL_IN_SPARSE : !strcmp(a.input_name, "vec") ? TL_IN_VEC : TL_IN_TEXT;
	int rc = train_linear_family(&a, path);
	tl_close_stdout();
#ifdef TL_HAVE_MPI
	if (dist)
		tl_dist_mpi_finalize(dist);
#endif
	return rc;
}
