/* tl-train - train a text classifier from a record stream into a model
 * directory. Model families: -m fasttext (default) and -m linear
 * (lib/models/linear.c); -m bert runs the BERT trainer (lib/models/bert/bert_fit.c). */
#include "tl/bert_fit.h"
#include "tl/cli.h"
#include "tl/linear.h"
#include "tl/progress.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: tl-train [-m fasttext|linear|bert] -o DIR [options] [FILE]\n"
	"Train a classifier on a record stream (\"text\" and \"label\"; for -m linear\n"
	"also \"sparse\" or \"vec\" features) and save it as a model directory for\n"
	"tl-predict. FILE or - is the training stream (default: standard input).\n"
	"\n"
	"  -m, --model KIND      fasttext (default), linear, bert\n"
	"  -o, --output DIR      model directory to create (required)\n"
	"      --force           replace DIR if it exists\n"
	"      --dev FILE        evaluate on this labelled stream after training\n"
	"      --epochs N        passes over the data (5)\n"
	"      --lr X            initial learning rate, decays linearly to 0 (0.5)\n"
	"      --seed N          random seed (1)\n"
	"      --threads N       threads (1; 0: all cores; the model does not depend on it)\n"
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
	"linear (logistic regression):\n"
	"      --input KIND      auto (default), text, sparse, vec\n"
	"      --l2 X            L2 penalty per example (1e-6)\n"
	"      --ngram MIN,MAX   text input: word n-grams of the TF-IDF features (1,2)\n"
	"      --analyzer A, --min-df N, --max-df N, --max-features N, --no-sublinear-tf,\n"
	"      --binary, --norm l1|l2|none, --hash N, --no-idf   TF-IDF options (tl-embed)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 2 usage, 3 bad input data, 4 I/O error,\n"
	"5 bad model or vectors file.\n";

enum {
	O_FORCE = 256, O_DEV, O_EPOCHS, O_LR, O_SEED, O_THREADS, O_LOG, O_DIM, O_WNG, O_BUCKETS, O_MINC, O_MINCN,
	O_LOSS, O_BATCH, O_INIT, O_NOLOWER, O_INPUT, O_L2, O_FEAT, O_NOSUB, O_VERSION
};

typedef struct {
	const char *model, *out, *dev, *log, *input_name;
	int force, quiet;
	tl_lin_opts lo;
	int argc;
	char **argv;
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

/* Read a labelled stream into d; dies on bad records. Returns the count. */
static size_t read_stream(const char *path, tl_lin_data *d, int input)
{
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die(TL_EXIT_IO, "cannot open %s:", path ? path : "standard input");
	tl_record rec;
	const char *lab[MAXLAB];
	size_t lablen[MAXLAB];
	char numbuf[1][24];
	tl_sparse sp = {0};
	float *vec = NULL;
	size_t vcap = 0;
	char err[512];
	size_t n = 0;
	while (tl_reader_next_or_die(r, &rec)) {
		if (rec.is_header)
			continue;
		int multi;
		int nl = rec_labels(&rec, lab, lablen, numbuf, MAXLAB, &multi);
		if (nl == -1)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no \"label\" (training needs labelled records)");
		if (nl < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"label\" is not a string, an integer or an array of strings");
		if (nl == 0)
			continue; /* multi-label record with no label: skip */
		const char *text = NULL;
		size_t tlen = 0;
		long nv = 0;
		if (input == TL_IN_TEXT) {
			int bad;
			text = tl_rec_str(&rec, "text", &tlen, &bad);
			if (!text)
				tl_die_rec(TL_EXIT_DATA, rec.no, bad ? "\"text\" is not a string" : "no \"text\"");
		} else if (input == TL_IN_SPARSE) {
			const msgpack_object *o = tl_rec_get(&rec, "sparse");
			if (!o)
				tl_die_rec(TL_EXIT_DATA, rec.no, "no \"sparse\"");
			if (tl_lin_rec_sparse(o, &sp, -1, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
			if (sp.dim < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"sparse\" has no \"dim\"");
		} else {
			nv = tl_rec_f32s(&rec, "vec", &vec, &vcap);
			if (nv < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, nv == -1 ? "no \"vec\"" : "\"vec\" is not a float array");
		}
		if (tl_lin_data_add(d, text, tlen, &sp, vec, (size_t)nv, lab, lablen, nl, multi, err, sizeof err) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
		n++;
	}
	tl_reader_close(r);
	tl_sparse_free(&sp);
	free(vec);
	return n;
}

/* The input kind of the first data record of path: sparse, vec or text. */
static int sniff_input(const char *path)
{
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die(TL_EXIT_IO, "cannot open %s:", path);
	tl_record rec;
	int kind = TL_IN_TEXT;
	while (tl_reader_next_or_die(r, &rec)) {
		if (rec.is_header)
			continue;
		if (tl_rec_get(&rec, "sparse"))
			kind = TL_IN_SPARSE;
		else if (tl_rec_get(&rec, "vec") && !tl_rec_get(&rec, "text"))
			kind = TL_IN_VEC;
		break;
	}
	tl_reader_close(r);
	return kind;
}

/* Accuracy of m on a labelled stream (first label of multi-label records
 * counts as a hit when it is the argmax). */
static double evaluate(const tl_lin_model *m, const char *path, size_t *count)
{
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die(TL_EXIT_IO, "cannot open %s:", path);
	tl_record rec;
	tl_lin_scratch s = {0};
	int C = tl_lin_nlabels(m);
	float *lg = tl_xmalloc((size_t)C * sizeof *lg);
	tl_sparse sp = {0};
	float *vec = NULL;
	size_t vcap = 0, n = 0, hit = 0;
	char err[512];
	const char *lab[MAXLAB];
	size_t lablen[MAXLAB];
	char numbuf[1][24];
	while (tl_reader_next_or_die(r, &rec)) {
		if (rec.is_header)
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
			text = tl_rec_str(&rec, "text", &tlen, NULL);
			if (!text)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: no \"text\"", path);
		} else if (in == TL_IN_SPARSE) {
			const msgpack_object *o = tl_rec_get(&rec, "sparse");
			if (!o || tl_lin_rec_sparse(o, &sp, -1, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: no usable \"sparse\"", path);
		} else {
			nv = tl_rec_f32s(&rec, "vec", &vec, &vcap);
			if (nv < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "--dev %s: no usable \"vec\"", path);
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
	free(vec);
	free(lg);
	*count = n;
	return n ? (double)hit / (double)n : 0;
}

static char *make_tl_json(const args *a, const char *data_path, size_t nrec, double secs, double loss,
			  const tl_lin_model *m, double dev_acc, size_t dev_n)
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
	} else {
		char fo[512];
		tl_feat_opts_str(&o->feat, fo, sizeof fo);
		json_object_set_new(p, "l2", json_real(o->l2));
		json_object_set_new(p, "input", json_string(a->input_name));
		json_object_set_new(p, "features", json_string(fo));
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
	if (o->arch == TL_LIN_LOGREG) {
		if (!strcmp(a->input_name, "auto"))
			o->input = path && strcmp(path, "-") ? sniff_input(path) : TL_IN_TEXT;
		a->input_name = o->input == TL_IN_SPARSE ? "sparse" : o->input == TL_IN_VEC ? "vec" : "text";
	}
	FILE *logf = NULL;
	if (a->log && !(logf = fopen(a->log, "w")))
		tl_die(TL_EXIT_IO, "cannot open %s:", a->log);
	double t0 = tl_now();
	tl_lin_data *d = tl_lin_data_new(o);
	size_t n = read_stream(path, d, o->arch == TL_LIN_FASTTEXT ? TL_IN_TEXT : o->input);
	if (n == 0)
		tl_die(TL_EXIT_DATA, "no labelled records in %s", path ? path : "standard input");
	tl_progress pr;
	tl_progress_init(&pr, o->arch == TL_LIN_FASTTEXT ? "words" : "examples", 0, a->quiet, logf);
	int code;
	char err[512];
	tl_lin_model *m = tl_lin_train(o, d, progress_cb, &pr, &code, err, sizeof err);
	tl_lin_data_free(d);
	if (!m)
		tl_die(code, "%s", err);
	double secs = tl_now() - t0;
	char extra[128];
	snprintf(extra, sizeof extra, "loss %.4f, %zu records, %.2f s", tl_lin_train_loss(m), n, secs);
	tl_progress_finish(&pr, extra);
	double acc = 0;
	size_t dn = 0;
	if (a->dev) {
		acc = evaluate(m, a->dev, &dn);
		if (!a->quiet)
			fprintf(stderr, "tl-train: dev accuracy %.4f (%zu records)\n", acc, dn);
		char js[256];
		snprintf(js, sizeof js, "\"dev_accuracy\":%.6f,\"dev_records\":%zu", acc, dn);
		tl_progress_log(&pr, js);
	}
	char *tj = make_tl_json(a, path, n, secs, tl_lin_train_loss(m), m, acc, dn);
	if (tl_lin_save(m, a->out, a->force, tj, err, sizeof err) < 0)
		tl_die(TL_EXIT_IO, "%s", err);
	free(tj);
	tl_lin_free(m);
	if (logf && fclose(logf) != 0)
		tl_die(TL_EXIT_IO, "write error on %s:", a->log);
	return 0;
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	/* -m bert has its own options and loop (lib/models/bert/bert_fit.c) */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc && !strcmp(argv[i + 1], "bert")) ||
		    !strcmp(argv[i], "-mbert") || !strcmp(argv[i], "--model=bert")) {
			int rc = tl_bert_fit_main(argc, argv);
			tl_close_stdout();
			return rc;
		}
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
		{"force", no_argument, 0, O_FORCE}, {"dev", required_argument, 0, O_DEV},
		{"epochs", required_argument, 0, O_EPOCHS}, {"lr", required_argument, 0, O_LR},
		{"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
		{"quiet", no_argument, 0, 'q'}, {"log", required_argument, 0, O_LOG},
		{"dim", required_argument, 0, O_DIM}, {"word-ngrams", required_argument, 0, O_WNG},
		{"buckets", required_argument, 0, O_BUCKETS}, {"min-count", required_argument, 0, O_MINC},
		{"min-count-ngram", required_argument, 0, O_MINCN}, {"loss", required_argument, 0, O_LOSS},
		{"batch", required_argument, 0, O_BATCH}, {"init-vectors", required_argument, 0, O_INIT},
		{"no-lower", no_argument, 0, O_NOLOWER}, {"input", required_argument, 0, O_INPUT},
		{"l2", required_argument, 0, O_L2}, {"no-sublinear-tf", no_argument, 0, O_NOSUB},
		{"ngram", required_argument, 0, O_FEAT}, {"analyzer", required_argument, 0, O_FEAT},
		{"min-df", required_argument, 0, O_FEAT}, {"max-df", required_argument, 0, O_FEAT},
		{"max-features", required_argument, 0, O_FEAT}, {"binary", no_argument, 0, O_FEAT},
		{"norm", required_argument, 0, O_FEAT}, {"hash", required_argument, 0, O_FEAT},
		{"no-idf", no_argument, 0, O_FEAT}, {"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
	args a = {0};
	a.model = "fasttext";
	a.input_name = "auto";
	a.argc = argc;
	a.argv = argv;
	/* options are collected first, the model's defaults applied after -m */
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
	int c, idx = 0;
	char err[512];
	while ((c = getopt_long(argc, argv, "m:o:qh", opts, &idx)) != -1) {
		switch (c) {
		case 'm': a.model = optarg; break;
		case 'o': a.out = optarg; break;
		case O_FORCE: a.force = 1; break;
		case O_DEV: a.dev = optarg; break;
		case O_EPOCHS: epochs = tl_parse_long("--epochs", optarg, 1, 100000); have_epochs = 1; break;
		case O_LR: lr = tl_parse_double("--lr", optarg, 1e-9, 1e6); have_lr = 1; break;
		case O_SEED: set.seed = (uint64_t)tl_parse_long("--seed", optarg, 0, INT64_MAX); break;
		case O_THREADS: set.threads = (int)tl_parse_long("--threads", optarg, 0, 1024); break;
		case 'q': a.quiet = 1; break;
		case O_LOG: a.log = optarg; break;
		case O_DIM: set.dim = (int)tl_parse_long("--dim", optarg, 1, 10000); break;
		case O_WNG: set.word_ngrams = (int)tl_parse_long("--word-ngrams", optarg, 1, 16); break;
		case O_BUCKETS: set.buckets = tl_parse_long("--buckets", optarg, 1, 1L << 30); break;
		case O_MINC: set.min_count = tl_parse_long("--min-count", optarg, 1, 1L << 40); break;
		case O_MINCN: set.min_count_ngram = tl_parse_long("--min-count-ngram", optarg, 1, 1L << 31); break;
		case O_LOSS:
			if (!strcmp(optarg, "softmax"))
				set.loss = TL_LOSS_SOFTMAX;
			else if (!strcmp(optarg, "hs"))
				set.loss = TL_LOSS_HS;
			else if (!strcmp(optarg, "ova"))
				set.loss = TL_LOSS_OVA;
			else
				tl_die(TL_EXIT_USAGE, "option --loss: unknown loss '%s' (softmax, hs, ova)", optarg);
			break;
		case O_BATCH: set.batch = (int)tl_parse_long("--batch", optarg, 1, 65536); break;
		case O_INIT: set.init_vectors = optarg; break;
		case O_NOLOWER: set.lower = 0; break;
		case O_INPUT:
			if (strcmp(optarg, "auto") && strcmp(optarg, "text") && strcmp(optarg, "sparse") && strcmp(optarg, "vec"))
				tl_die(TL_EXIT_USAGE, "option --input: unknown kind '%s' (auto, text, sparse, vec)", optarg);
			a.input_name = optarg;
			break;
		case O_L2: set.l2 = tl_parse_double("--l2", optarg, 0, 1); break;
		case O_NOSUB: fo.sublinear_tf = 0; fset |= TL_FEAT_SET_SUBLINEAR; break;
		case O_FEAT: {
			int r = tl_feat_opts_set(&fo, &fset, opts[idx].name, optarg, err, sizeof err);
			if (r <= 0)
				tl_die(TL_EXIT_USAGE, "%s", r < 0 ? err : "unknown option");
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (optind + 1 < argc)
		tl_die(TL_EXIT_USAGE, "one training stream at most (got %d)", argc - optind);
	const char *path = optind < argc ? argv[optind] : "-";

	/* ---- model families: each branch owns its options ---- */
	if (!strcmp(a.model, "bert")) { /* spelt in a way the scan above missed, e.g. --mod bert */
		optind = 0;             /* glibc: restart getopt for the BERT parser */
		int rc = tl_bert_fit_main(argc, argv);
		tl_close_stdout();
		return rc;
	}
	int arch;
	if (!strcmp(a.model, "fasttext"))
		arch = TL_LIN_FASTTEXT;
	else if (!strcmp(a.model, "linear"))
		arch = TL_LIN_LOGREG;
	else
		tl_die(TL_EXIT_USAGE, "-m: unknown model kind '%s' (fasttext, linear, bert)", a.model);
	if (!a.out)
		tl_die(TL_EXIT_USAGE, "no output directory: use -o DIR");
	if (!a.force) {
		FILE *f = fopen(a.out, "r");
		if (f || errno != ENOENT) {
			if (f)
				fclose(f);
			tl_die(TL_EXIT_USAGE, "%s exists (use --force to replace it)", a.out);
		}
	}
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
	if (have_lr)
		o->lr = lr;
	if (have_epochs)
		o->epochs = (int)epochs;
	tl_feat_opts_finish(&fo, fset);
	o->feat = fo;
	if (arch == TL_LIN_LOGREG && set.init_vectors)
		tl_die(TL_EXIT_USAGE, "--init-vectors is for -m fasttext");
	if (arch == TL_LIN_LOGREG && set.loss == TL_LOSS_HS)
		tl_die(TL_EXIT_USAGE, "--loss hs is for -m fasttext");
	o->input = !strcmp(a.input_name, "sparse") ? TL_IN_SPARSE : !strcmp(a.input_name, "vec") ? TL_IN_VEC : TL_IN_TEXT;
	int rc = train_linear_family(&a, path);
	tl_close_stdout();
	return rc;
}
