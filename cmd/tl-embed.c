/* tl-embed - add a feature vector "vec" to every record.
 *
 * Feature kinds: a BERT encoder (-m MODEL, the default), or the classic
 * kinds --bow / --tfidf / --word2vec (their own command line, below; the
 * record side is in lib/features/embed_features.c). */
#include "tl/bert.h"
#include "tl/classifier.h"
#include "tl/cli.h"
#include "tl/features.h"
#include "tl/lstm.h"
#include "tl/model.h"
#include "tl/progress.h"
#include "tl/stream.h"
#include "tl/util.h"
#include "tl/word2vec.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- --bow, --tfidf, --word2vec ---------------- */

static const char features_usage[] =
	"usage: tl-embed --bow|--tfidf (--fit FILE | --features FILE) [options] [FILE]\n"
	"       tl-embed --word2vec (--fit FILE | --features FILE) [options] [FILE]\n"
	"Classic features from the \"text\" of each record.\n"
	"  --bow, --tfidf       add \"sparse\": {dim, idx, val} (scikit-learn semantics)\n"
	"  --word2vec           add \"vec\": the mean of the record's word vectors\n"
	"  --fit FILE           fit on the input (all of it is read first), write the\n"
	"                       vocabulary/document frequencies or the vectors to FILE,\n"
	"                       then write the input's records with their features\n"
	"  --features FILE      apply a fitted file (options recorded in it; options\n"
	"                       given here must agree)\n"
	"  --fit-only           with --fit: write no records\n"
	"BoW/TF-IDF options (defaults as scikit-learn):\n"
	"  --analyzer word|char|char_wb (word)   --ngram MIN,MAX (1,1)\n"
	"  --min-df N|P (1)  --max-df N|P (1.0)  (an integer counts documents,\n"
	"                    a number with '.' is a proportion)\n"
	"  --max-features N (all)  --binary  --sublinear-tf  --no-idf  --no-smooth-idf\n"
	"  --norm l1|l2|none (tfidf l2, bow none)  --hash N (hashing trick, N buckets)\n"
	"  --no-lower\n"
	"  --cjk words|chars    split CJK runs between spaces as words, or every CJK\n"
	"                       ideograph apart (default: words when the input's header\n"
	"                       says tl-clean segmented it, --segment jieba; else chars);\n"
	"                       recorded in the fitted file (word2vec: known from the\n"
	"                       vocabulary); a words file refuses a stream whose header\n"
	"                       says it was not segmented (also for --word2vec)\n"
	"word2vec options:\n"
	"  --cbow (default skip-gram)  --dim N (100)  --window N (5)  --min-count N (5)\n"
	"  --epochs N (5)  --negative N (5)  --lr X (0.025 sg, 0.05 cbow)\n"
	"  --sample X (1e-3)  --threads N (1; 1 is bitwise reproducible)  --seed N (1)\n"
	"  --tfidf-weights FILE  weight words by a fitted --tfidf file (word unigrams)\n"
	"  --nearest W1,W2,...   print the 10 nearest words of each (text, stdout)\n"
	"  -q, --quiet           no progress on stderr\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad fitted/vectors file.\n";

static int features_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--bow") || !strcmp(argv[i], "--tfidf") || !strcmp(argv[i], "--word2vec"))
			return 1;
	}
	return 0;
}

enum { K_NONE, K_BOW, K_TFIDF, K_W2V };
enum { O_FIT = 300, O_FEAT, O_FITONLY, O_W2V, O_CBOW, O_DIM, O_WIN, O_MINC, O_EPOCHS, O_NEG, O_LR, O_SAMPLE,
       O_THREADS, O_SEED, O_TFW, O_NEAR, O_KIND, O_FOPT, O_CJK };

static void w2v_progress(void *ctx, uint64_t done, uint64_t total, double lr)
{
	tl_progress *p = ctx;
	char extra[64];
	snprintf(extra, sizeof extra, "lr %.5f", lr);
	p->total = total;
	tl_progress_update(p, done, extra, 0);
}

static int features_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"bow", no_argument, 0, O_KIND}, {"tfidf", no_argument, 0, O_KIND}, {"word2vec", no_argument, 0, O_W2V},
		{"fit", required_argument, 0, O_FIT}, {"features", required_argument, 0, O_FEAT},
		{"fit-only", no_argument, 0, O_FITONLY}, {"cbow", no_argument, 0, O_CBOW},
		{"dim", required_argument, 0, O_DIM}, {"window", required_argument, 0, O_WIN},
		{"min-count", required_argument, 0, O_MINC}, {"epochs", required_argument, 0, O_EPOCHS},
		{"negative", required_argument, 0, O_NEG}, {"lr", required_argument, 0, O_LR},
		{"sample", required_argument, 0, O_SAMPLE}, {"threads", required_argument, 0, O_THREADS},
		{"seed", required_argument, 0, O_SEED}, {"tfidf-weights", required_argument, 0, O_TFW},
		{"nearest", required_argument, 0, O_NEAR}, {"quiet", no_argument, 0, 'q'},
		{"analyzer", required_argument, 0, O_FOPT}, {"ngram", required_argument, 0, O_FOPT},
		{"min-df", required_argument, 0, O_FOPT}, {"max-df", required_argument, 0, O_FOPT},
		{"max-features", required_argument, 0, O_FOPT}, {"binary", no_argument, 0, O_FOPT},
		{"sublinear-tf", no_argument, 0, O_FOPT}, {"no-idf", no_argument, 0, O_FOPT},
		{"no-smooth-idf", no_argument, 0, O_FOPT}, {"norm", required_argument, 0, O_FOPT},
		{"hash", required_argument, 0, O_FOPT}, {"no-lower", no_argument, 0, O_FOPT},
		{"cjk", required_argument, 0, O_CJK},
		{"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	int kind = K_NONE, fit_only = 0, quiet = 0;
	const char *fit = NULL, *feat = NULL, *tfw = NULL, *nearest = NULL;
	tl_feat_opts fo;
	tl_feat_opts_default(&fo, TL_FEAT_BOW);
	unsigned fset = 0, cjk_set_bits = 0;
	tl_w2v_opts wo;
	tl_w2v_opts_default(&wo, 1);
	int lr_set = 0, cjk_set = 0;
	char err[1024];
	int c, idx = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", lopts, &idx)) != -1) {
		switch (c) {
		case O_KIND:
		case O_FOPT: {
			const char *name = lopts[idx].name;
			if (c == O_KIND) {
				if (kind == K_W2V || (kind != K_NONE && kind != (name[0] == 't' ? K_TFIDF : K_BOW)))
					tl_die(TL_EXIT_USAGE, "choose one of --bow, --tfidf, --word2vec");
				kind = name[0] == 't' ? K_TFIDF : K_BOW;
			}
			if (tl_feat_opts_set(&fo, &fset, name, optarg, err, sizeof err) < 0)
				tl_die(TL_EXIT_USAGE, "%s", err);
			break;
		}
		case O_CJK:
			if (tl_feat_opts_set(&fo, &cjk_set_bits, "cjk", optarg, err, sizeof err) < 0)
				tl_die(TL_EXIT_USAGE, "%s", err);
			wo.cjk_words = fo.cjk_words;
			cjk_set = 1;
			break;
		case O_W2V:
			if (kind != K_NONE && kind != K_W2V)
				tl_die(TL_EXIT_USAGE, "choose one of --bow, --tfidf, --word2vec");
			kind = K_W2V;
			break;
		case O_FIT: fit = tl_parse_path("--fit", optarg); break;
		case O_FEAT: feat = tl_parse_path("--features", optarg); break;
		case O_FITONLY: fit_only = 1; break;
		case O_CBOW: wo.sg = 0; break;
		case O_DIM: wo.dim = (int)tl_parse_long("--dim", optarg, 1, 10000); break;
		case O_WIN: wo.window = (int)tl_parse_long("--window", optarg, 1, 100); break;
		case O_MINC: wo.min_count = tl_parse_long("--min-count", optarg, 1, 1L << 40); break;
		case O_EPOCHS: wo.epochs = (int)tl_parse_long("--epochs", optarg, 1, 10000); break;
		case O_NEG: wo.negative = (int)tl_parse_long("--negative", optarg, 1, 100); break;
		case O_LR: wo.lr = tl_parse_double("--lr", optarg, 1e-9, 10); lr_set = 1; break;
		case O_SAMPLE: wo.sample = tl_parse_double("--sample", optarg, 0, 1); break;
		case O_THREADS: wo.threads = (int)tl_parse_long("--threads", optarg, 1, 1024); break;
		case O_SEED: wo.seed = (uint64_t)tl_parse_long("--seed", optarg, 0, INT64_MAX); break;
		case O_TFW: tfw = tl_parse_path("--tfidf-weights", optarg); break;
		case O_NEAR: nearest = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(features_usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(features_usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (!wo.sg && !lr_set)
		wo.lr = 0.05;
	if (kind == K_NONE)
		tl_die(TL_EXIT_USAGE, "choose one of --bow, --tfidf, --word2vec");
	if (!!fit == !!feat)
		tl_die(TL_EXIT_USAGE, "give exactly one of --fit FILE and --features FILE");
	if (fit_only && !fit)
		tl_die(TL_EXIT_USAGE, "--fit-only needs --fit FILE");
	if (kind == K_W2V && fset)
		tl_die(TL_EXIT_USAGE, "BoW/TF-IDF options do not apply to --word2vec");
	if (optind + 1 < argc)
		tl_die(TL_EXIT_USAGE, "one input stream at most");
	const char *path = optind < argc ? argv[optind] : "-";
	tl_feat_opts_finish(&fo, fset);
	fset |= cjk_set_bits; /* --cjk: a word2vec option too */

	tl_feat *ft = NULL, *wt = NULL;
	tl_w2v_vectors vv;
	memset(&vv, 0, sizeof vv);
	/* fit: the records packed back to back, and the first header */
	msgpack_sbuffer keep, hkeep;
	msgpack_sbuffer_init(&keep);
	msgpack_sbuffer_init(&hkeep);
	msgpack_packer kpk, hpk;
	msgpack_packer_init(&kpk, &keep, msgpack_sbuffer_write);
	msgpack_packer_init(&hpk, &hkeep, msgpack_sbuffer_write);
	tl_record rec;
	tl_record hdr_rec;
	size_t len;
	tl_progress pr;
	if (tfw) {
		wt = tl_feat_load(tfw, err, sizeof err);
		if (!wt)
			tl_die(TL_EXIT_MODEL, "--tfidf-weights: %s", err);
		if (tl_feat_opts_of(wt)->analyzer != TL_AN_WORD || tl_feat_opts_of(wt)->ngram_min != 1 ||
		    tl_feat_opts_of(wt)->hash)
			tl_die(TL_EXIT_MODEL, "--tfidf-weights %s: needs a word-unigram vocabulary (--analyzer word, "
					      "--ngram 1,N, no --hash)", tfw);
	}
	/* one input; its first header stands for all (later ones are folded into it) */
	char *inputs[] = {(char *)path};
	tl_source *r = tl_source_new(inputs, 1);
	tl_source_set_one_header(r, 1);
	tl_err e;
	if (tl_source_start(r, &e) < 0)
		tl_die_err(&e);
	if (fit) {
		/* read everything, fit, save; the fitter is made at the first
		 * record, once the header has said whether the text is segmented */
		tl_feat_fitter *fitter = NULL;
		tl_w2v_trainer *tr = NULL;
		size_t n = 0;
		while (tl_source_next_or_die(r, &rec)) {
			if (rec.is_header) {
				if (!hkeep.size) {
					msgpack_pack_object(&hpk, *rec.map);
					if (!cjk_set && tl_header_cjk(rec.map) == 1)
						fo.cjk_words = wo.cjk_words = 1;
				}
				continue;
			}
			if (!fitter && !tr) {
				if (kind != K_W2V)
					fitter = tl_feat_fitter_new(&fo);
				else
					tr = tl_w2v_trainer_new(&wo);
			}
			msgpack_pack_object(&kpk, *rec.map);
			const char *t = tl_rec_text(&rec, &len, &e);
			if (!t)
				tl_die_rec(e.code, rec.no, "%s", e.msg);
			if (fitter)
				tl_feat_fitter_add(fitter, t, len);
			else
				tl_w2v_add(tr, t, len);
			n++;
		}
		if (n == 0)
			tl_die(TL_EXIT_DATA, "no records to fit on");
		if (fitter) {
			ft = tl_feat_fitter_finish(fitter, err, sizeof err);
			if (!ft)
				tl_die(TL_EXIT_DATA, "%s", err);
			if (tl_feat_save(ft, fit) < 0)
				tl_die(TL_EXIT_IO, "cannot write %s:", fit);
		} else {
			tl_progress_init(&pr, "words", 0, quiet, NULL);
			if (tl_w2v_train(tr, &vv, w2v_progress, &pr, err, sizeof err) < 0)
				tl_die(TL_EXIT_DATA, "%s", err);
			tl_progress_finish(&pr, NULL);
			if (tl_w2v_vectors_save(&vv, fit) < 0)
				tl_die(TL_EXIT_IO, "cannot write %s:", fit);
		}
	} else if (kind != K_W2V) {
		ft = tl_feat_load(feat, err, sizeof err);
		if (!ft)
			tl_die(TL_EXIT_MODEL, "%s", err);
		if (tl_feat_check_opts(ft, &fo, fset, err, sizeof err) < 0)
			tl_die(TL_EXIT_MODEL, "%s: %s", feat, err);
	} else {
		if (tl_w2v_vectors_load(&vv, feat, err, sizeof err) < 0)
			tl_die(TL_EXIT_MODEL, "%s", err);
		if (cjk_set && fo.cjk_words != vv.cjk_words)
			tl_die(TL_EXIT_MODEL, "%s: the vectors split CJK as %s (known from the vocabulary), not as --cjk %s",
			       feat, vv.cjk_words ? "words" : "chars", fo.cjk_words ? "words" : "chars");
	}
	if (wt && kind == K_W2V && tl_feat_opts_of(wt)->cjk_words != vv.cjk_words)
		tl_die(TL_EXIT_MODEL, "--tfidf-weights %s splits CJK as %s, the vectors as %s: fit both on the same text",
		       tfw, tl_feat_opts_of(wt)->cjk_words ? "words" : "chars", vv.cjk_words ? "words" : "chars");
	/* how the file splits CJK, against what the stream's header says */
	int file_cjk = kind == K_W2V ? vv.cjk_words : ft ? tl_feat_opts_of(ft)->cjk_words : 0;
	if (nearest) {
		if (kind != K_W2V)
			tl_die(TL_EXIT_USAGE, "--nearest is for --word2vec");
		char *s = tl_xstrdup(nearest), *save = NULL;
		int64_t ids[10];
		float sims[10];
		for (char *wd = strtok_r(s, ",", &save); wd; wd = strtok_r(NULL, ",", &save)) {
			int64_t row = tl_w2v_find(&vv, wd, strlen(wd));
			printf("%s:", wd);
			if (row < 0) {
				printf(" (not in the vocabulary)\n");
				continue;
			}
			int k = tl_w2v_nearest(&vv, vv.vecs + (size_t)row * (size_t)vv.dim, 10, row, ids, sims);
			for (int i = 0; i < k; i++)
				printf(" %s %.3f", tl_strtab_str(&vv.words, ids[i]), sims[i]);
			printf("\n");
		}
		free(s);
		tl_source_free(r);
		msgpack_sbuffer_destroy(&keep);
		msgpack_sbuffer_destroy(&hkeep);
		tl_w2v_vectors_free(&vv);
		tl_feat_free(wt);
		tl_feat_free(ft);
		tl_close_stdout();
		return 0;
	}
	if (fit_only) {
		tl_source_free(r);
		msgpack_sbuffer_destroy(&keep);
		msgpack_sbuffer_destroy(&hkeep);
		tl_w2v_vectors_free(&vv);
		tl_feat_free(ft);
		tl_feat_free(wt);
		tl_close_stdout();
		return 0;
	}
	/* write the records with their features */
	tl_writer *w = tl_writer_open(stdout);
	tl_sparse sp = {0}, sp2 = {0};
	tl_words words = {0};
	float *vec = kind == K_W2V ? tl_xmalloc((size_t)vv.dim * sizeof *vec) : NULL;
	const char *file = fit ? fit : feat;
	char sha[65] = "";
	tl_sha256_file(file, sha);
	int header_done = 0;
	size_t koff = 0, hoff = 0;
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	tl_record kept = {0};
	uint64_t recno = 0;
	for (;;) {
		const tl_record *cur;
		int is_h;
		if (fit) {
			if (!header_done && hkeep.size) {
				msgpack_unpack_next(&up, hkeep.data, hkeep.size, &hoff);
				is_h = 1;
			} else {
				if (koff >= keep.size)
					break;
				msgpack_unpack_next(&up, keep.data, keep.size, &koff);
				is_h = 0;
			}
			kept.map = &up.data;
			kept.no = ++recno;
			kept.is_header = is_h;
			cur = &kept;
		} else {
			if (!tl_source_next_or_die(r, &hdr_rec))
				break;
			cur = &hdr_rec;
			is_h = cur->is_header;
		}
		if (!header_done && is_h && !cjk_set) {
			int cr = tl_cjk_check(file_cjk, tl_header_cjk(cur->map), fit ? fit : feat, err, sizeof err);
			if (cr < 0)
				tl_die_rec(TL_EXIT_DATA, cur->no, "%s", err);
			if (cr > 0 && !quiet)
				tl_warn("%s", err);
		}
		if (!header_done) {
			tl_embed_features_header(w, is_h ? cur->map : NULL, argc, argv,
						 kind == K_W2V ? "word2vec" : kind == K_TFIDF ? "tfidf" : "bow", file, sha,
						 kind == K_W2V ? vv.dim : tl_feat_dim(ft));
			header_done = 1;
			if (is_h)
				continue;
		}
		if (is_h)
			continue; /* later headers: folded into the first */
		const char *t = tl_rec_text(cur, &len, &e);
		if (!t)
			tl_die_rec(e.code, cur->no, "%s", e.msg);
		tl_writer_start(w, cur->map);
		if (kind == K_W2V) {
			tl_w2v_doc_vec(&vv, &words, t, len, 1, wt, &sp2, vec);
			tl_pack_f32_bin(tl_writer_key(w, "vec"), vec, (size_t)vv.dim);
		} else {
			tl_feat_apply(ft, t, len, &sp);
			tl_writer_sparse(w, &sp);
		}
		tl_writer_end(w);
	}
	msgpack_unpacked_destroy(&up);
	if (tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_source_free(r);
	msgpack_sbuffer_destroy(&keep);
	msgpack_sbuffer_destroy(&hkeep);
	tl_sparse_free(&sp);
	tl_sparse_free(&sp2);
	tl_words_free(&words);
	free(vec);
	tl_w2v_vectors_free(&vv);
	tl_feat_free(ft);
	tl_feat_free(wt);
	tl_close_stdout();
	return 0;
}

/* ---------------- BERT ---------------- */

static const char usage[] =
	"usage: tl-embed [-m MODEL] [--pool cls|mean|max] [--normalize] [--layer N]\n"
	"                [--batch-size N] [--threads N] [--device NAME]\n"
	"                [--precision fp32|bf16|int8] [FILE...]\n"
	"Add a sentence vector \"vec\" (float32) to every record of a tokenized stream\n"
	"(key \"ids\", optional \"type_ids\"), computed by a BERT encoder, or by an\n"
	"LSTM model (tl-train -m lstm-lm|lstm: the concat-pooled [last, max, mean]\n"
	"vector of its top layer, 3 x emb floats; --pool and --layer do not apply).\n"
	"Classic features instead: tl-embed --bow|--tfidf|--word2vec --help.\n"
	"\n"
	"  -m, --model MODEL   model directory or name (default " TL_DEFAULT_MODEL ",\n"
	"                      searched in $TL_MODEL_PATH, $XDG_DATA_HOME/tl/models,\n"
	"                      the installed share dir, the source tree's models/,\n"
	"                      ./models: tl(7) MODEL SEARCH)\n"
	"      --pool MODE     cls, mean (default) or max over the real tokens\n"
	"      --normalize     scale each vector to unit length (sentence-transformers)\n"
	"      --layer N       hidden state N: 0 = embeddings, 1..L layers, negative\n"
	"                      from the top (default -1 = last layer)\n"
	"  -b, --batch-size N  sequences per forward pass (default 32)\n"
	"  -j, --threads N     threads (default: all cores)\n"
	"      --device NAME   kernel backend: cpu or cuda (default $TL_DEVICE, else cpu)\n"
	"      --progress[=S]  progress lines on stderr every S seconds (10) even when\n"
	"                      it is not a terminal (default there: none)\n"
	"  -q, --quiet         no progress, not even on a terminal\n"
	"      --precision P   the encoder layers' products: fp32 (default; int8 for a\n"
	"                      tl-quantize model), bf16 or int8 (dynamic, per row and\n"
	"                      channel); $TL_ISA caps the instruction set (avx2,\n"
	"                      avx512, vnni, amx)\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad model.\n";

typedef struct {
	const char *model, *device;
	int pool, normalize, layer, batch, threads, quiet, precision;
	double progress; /* --progress seconds, -1: not given */
} opts;

static tl_progress prog; /* records written (tl_progress_init_filter) */
static uint64_t ndone;

static void flush(tl_bert *m, const tl_bert_encode_opts *eo, tl_rec_batch *batch, const tl_bert_seq *seqs,
		  float *out, tl_writer *w)
{
	int C = m->cfg.C;
	if (!batch->n)
		return;
	tl_bert_encode(m, seqs, batch->n, eo, out);
	for (size_t i = 0; i < batch->n; i++) {
		tl_writer_start(w, batch->recs[i].map);
		tl_pack_f32_bin(tl_writer_key(w, "vec"), out + i * (size_t)C, (size_t)C);
		tl_writer_end(w);
	}
	ndone += batch->n;
	tl_progress_update(&prog, ndone, NULL, 0);
	tl_rec_batch_clear(batch);
}

/* sha256 of the encoder's model.safetensors: its identity in the header */
static char enc_sha256[65];

static void header(tl_writer *w, const msgpack_object *in, int argc, char **argv, const char *dir, const opts *o,
		   int layer, int C, int prec)
{
	tl_header_start(w, in, argc, argv);
	tl_writer_drop(w, "features"); /* earlier classic features are not these */
	msgpack_packer *pk = tl_writer_key(w, "embed");
	msgpack_pack_map(pk, prec != TL_PREC_FP32 ? 7 : 6);
	tl_pack_cstr(pk, "model");
	tl_pack_cstr(pk, dir);
	tl_pack_cstr(pk, "sha256"); /* the encoder's identity (tl_feat_provenance) */
	tl_pack_cstr(pk, enc_sha256);
	tl_pack_cstr(pk, "pool");
	tl_pack_cstr(pk, o->pool == TL_POOL_CLS ? "cls" : o->pool == TL_POOL_MAX ? "max" : "mean");
	tl_pack_cstr(pk, "normalize");
	if (o->normalize)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	tl_pack_cstr(pk, "layer");
	msgpack_pack_int(pk, layer);
	tl_pack_cstr(pk, "dim");
	msgpack_pack_int(pk, C);
	if (prec != TL_PREC_FP32) {
		tl_pack_cstr(pk, "precision");
		tl_pack_cstr(pk, tl_precision_name(prec));
	}
	tl_writer_end(w);
}

/* ---------------- LSTM (tl-train -m lstm-lm / lstm) ---------------- */

/* Write the held LSTM records with their vectors, in input order. */
static void lstm_flush(tl_lstm *m, const opts *o, tl_rec_batch *b, int32_t **seqs, const int32_t *lens, float *vec,
		       tl_writer *w)
{
	if (!b->n)
		return;
	int D = 3 * m->cfg.E;
	tl_lstm_forward_many(m, (const int32_t *const *)seqs, lens, b->n, o->batch, NULL, vec);
	for (size_t i = 0; i < b->n; i++) {
		float *v = vec + i * (size_t)D;
		if (o->normalize)
			m->k->l2norm_forward(v, 1, D);
		tl_writer_start(w, b->recs[i].map);
		tl_pack_f32_bin(tl_writer_key(w, "vec"), v, (size_t)D);
		tl_writer_end(w);
	}
	ndone += b->n;
	tl_progress_update(&prog, ndone, NULL, 0);
	tl_rec_batch_clear(b);
}

/* The model's identity for the header: the sha256 of its
 * model.safetensors, or for a sharded encoder of its index (which names the
 * shards), hashed on a thread of its own while the model loads (a third of
 * a short run's start-up on one core); joined before the first header. */
static tl_sha256_job *weights_hash_start(const char *dir)
{
	tl_buf wp = {0}, ip = {0};
	tl_buf_printf(&wp, "%s/model.safetensors", dir);
	tl_buf_printf(&ip, "%s/model.safetensors.index.json", dir);
	tl_sha256_job *j = tl_sha256_file_start(tl_buf_cstr(&wp), tl_buf_cstr(&ip));
	tl_buf_free(&wp);
	tl_buf_free(&ip);
	return j;
}

/* The concat-pooled vector [last, max, mean] of the top LSTM layer (3E).
 * Records are held in a window of 32 batches and run sorted by length
 * (tl_lstm_forward_many: every vector is the one its record gets alone),
 * then written in input order. --pool does not apply. */
static void run_lstm(const opts *o, const char *dir, char **files, int nfiles, int argc, char **argv)
{
	char err[1024];
	if (o->layer != -1 || o->precision >= 0)
		tl_die(TL_EXIT_USAGE, "%s: an LSTM model: --layer and --precision are for BERT encoders", dir);
	const tl_kernels *k = tl_kernels_select(o->device, err, sizeof err);
	if (!k)
		tl_die(TL_EXIT_USAGE, "%s", err);
	k->set_threads(o->threads);
	tl_sha256_job *shajob = weights_hash_start(dir);
	tl_lstm *m = tl_lstm_load(dir, k, err, sizeof err);
	if (!m)
		tl_die(TL_EXIT_MODEL, "%s", err);
	char sha[65] = "";
	if (tl_sha256_file_join(shajob, sha) < 0)
		sha[0] = 0;
	int D = 3 * m->cfg.E;
	size_t window = (size_t)o->batch * 32;
	float *vec = tl_xmalloc(window * (size_t)D * sizeof *vec);
	int32_t **seqs = tl_xcalloc(window, sizeof *seqs), *lens = tl_xmalloc(window * sizeof *lens);
	size_t *caps = tl_xcalloc(window, sizeof *caps);
	tl_rec_batch batch;
	tl_rec_batch_init(&batch);
	tl_writer *w = tl_writer_open(stdout);
	tl_source *src = tl_source_new(files, nfiles);
	tl_progress_init_filter(&prog, "records", o->quiet, o->progress);
	tl_record rec;
	int rc;
	while ((rc = tl_source_next_or_die(src, &rec))) {
		if (rc == TL_SOURCE_FILE_END)
			continue;
		if (rec.is_header || tl_source_first(src)) {
			lstm_flush(m, o, &batch, seqs, lens, vec, w);
			if (rec.is_header && tl_model_check_vocab(rec.map, m->vocab_sha256, dir, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_MODEL, rec.no, "%s", err);
			tl_header_start(w, rec.is_header ? rec.map : NULL, argc, argv);
			tl_writer_drop(w, "features");
			msgpack_packer *pk = tl_writer_key(w, "embed");
			msgpack_pack_map(pk, 5);
			tl_pack_cstr(pk, "model");
			tl_pack_cstr(pk, dir);
			tl_pack_cstr(pk, "sha256");
			tl_pack_cstr(pk, sha);
			tl_pack_cstr(pk, "pool");
			tl_pack_cstr(pk, "concat");
			tl_pack_cstr(pk, "normalize");
			o->normalize ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
			tl_pack_cstr(pk, "dim");
			msgpack_pack_int(pk, D);
			tl_writer_end(w);
			if (rec.is_header)
				continue;
		}
		size_t j = batch.n;
		long len = tl_rec_i32s(&rec, "ids", &seqs[j], &caps[j]);
		if (len == -1)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no \"ids\": tokenize the text first (tl-tokenize)");
		if (len < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"ids\" is not a bin of int32 or an array of integers");
		if (m->max_len > 0 && len > m->max_len)
			len = m->max_len;
		for (long i = 0; i < len; i++)
			if (seqs[j][i] < 0 || seqs[j][i] >= m->cfg.V)
				tl_die_rec(TL_EXIT_DATA, rec.no, "ids[%ld] = %d outside the model's vocabulary (0..%d)", i,
					   seqs[j][i], m->cfg.V - 1);
		lens[j] = (int32_t)len;
		if (!tl_rec_batch_add(&batch, &rec))
			tl_die(TL_EXIT_FAIL, "internal error: cannot copy record %llu", (unsigned long long)rec.no);
		if (batch.n == window)
			lstm_flush(m, o, &batch, seqs, lens, vec, w);
	}
	lstm_flush(m, o, &batch, seqs, lens, vec, w);
	tl_source_free(src);
	if (tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_progress_finish(&prog, NULL);
	for (size_t i = 0; i < window; i++)
		free(seqs[i]);
	free(seqs);
	free(lens);
	free(caps);
	free(vec);
	tl_rec_batch_free(&batch);
	tl_lstm_free(m);
}

/* Records are held in a window of 32 batches, sorted by length inside it
 * (tl_bert_encode), and written back in input order: memory stays bounded
 * on unbounded input. */
static void run_bert(const opts *o, char **files, int nfiles, int argc, char **argv)
{
	char err[1024];
	const tl_kernels *k = tl_kernels_select(o->device, err, sizeof err);
	if (!k)
		tl_die(TL_EXIT_USAGE, "%s", err);
	char *dir = tl_model_find(o->model, err, sizeof err);
	if (!dir)
		tl_die(TL_EXIT_MODEL, "%s; the encoder is -m NAME|DIR", err);
	{
		json_t *cj = tl_model_read_config(dir, err, sizeof err);
		const char *mt = cj ? json_string_value(json_object_get(cj, "model_type")) : NULL;
		int lstm = mt && !strcmp(mt, "tl-lstm");
		json_decref(cj);
		if (lstm) {
			run_lstm(o, dir, files, nfiles, argc, argv);
			free(dir);
			return;
		}
	}
	k->set_threads(o->threads);
	tl_sha256_job *shajob = weights_hash_start(dir);
	tl_bert *m = tl_bert_load(dir, k, err, sizeof err);
	if (!m)
		tl_die(TL_EXIT_MODEL, "%s", err);
	if (tl_sha256_file_join(shajob, enc_sha256) < 0)
		enc_sha256[0] = 0;
	if (o->precision >= 0 && tl_bert_set_precision(m, o->precision, err, sizeof err) < 0)
		tl_die(TL_EXIT_USAGE, "option --precision: %s", err);
	int layer = o->layer < 0 ? m->cfg.L + 1 + o->layer : o->layer;
	if (layer < 0 || layer > m->cfg.L)
		tl_die(TL_EXIT_USAGE, "option --layer: %d outside -%d..%d for this model", o->layer, m->cfg.L + 1,
		       m->cfg.L);
	tl_bert_encode_opts eo = {.what = TL_BERT_POOL, .pool = o->pool, .layer = layer, .normalize = o->normalize,
				  .batch_size = o->batch};
	size_t window = (size_t)o->batch * 32;
	int C = m->cfg.C;
	tl_writer *w = tl_writer_open(stdout);
	tl_rec_batch batch;
	tl_rec_batch_init(&batch);
	tl_bert_seq *seqs = tl_xmalloc(window * sizeof *seqs);
	int32_t **bufs = tl_xcalloc(2 * window, sizeof *bufs);
	size_t *caps = tl_xcalloc(2 * window, sizeof *caps);
	float *out = tl_xmalloc(window * (size_t)C * sizeof *out);
	tl_source *src = tl_source_new(files, nfiles);
	tl_source_set_file_ends(src, 1);
	tl_progress_init_filter(&prog, "records", o->quiet, o->progress);
	tl_record rec;
	int rc, vocab_warned = 0;
	while ((rc = tl_source_next_or_die(src, &rec))) {
		if (rc == TL_SOURCE_FILE_END) { /* batches do not span files */
			flush(m, &eo, &batch, seqs, out, w);
			continue;
		}
		if (rec.is_header) {
			flush(m, &eo, &batch, seqs, out, w);
			int v = tl_model_check_vocab(rec.map, m->vocab_sha256, dir, err, sizeof err);
			if (v < 0)
				tl_die_rec(TL_EXIT_MODEL, rec.no, "%s", err);
			if (v > 0 && !vocab_warned) {
				tl_warn("%s", err);
				vocab_warned = 1;
			}
			header(w, rec.map, argc, argv, dir, o, layer, C, m->precision);
			continue;
		}
		if (tl_source_first(src))
			header(w, NULL, argc, argv, dir, o, layer, C, m->precision);
		size_t i = batch.n;
		const tl_record *cp = tl_rec_batch_add(&batch, &rec);
		if (!cp)
			tl_die(TL_EXIT_FAIL, "internal error: cannot copy record %llu", (unsigned long long)rec.no);
		long len = tl_rec_i32s(cp, "ids", &bufs[2 * i], &caps[2 * i]);
		if (len == -1)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no \"ids\": tokenize the text first (tl-tokenize)");
		if (len < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"ids\" is not a bin of int32 or an array of integers");
		long tl = tl_rec_i32s(cp, "type_ids", &bufs[2 * i + 1], &caps[2 * i + 1]);
		if (tl == -2 || (tl >= 0 && tl != len))
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"type_ids\" malformed or not as long as \"ids\"");
		seqs[i] = (tl_bert_seq){bufs[2 * i], tl >= 0 ? bufs[2 * i + 1] : NULL, (int)len};
		if (tl_bert_check_seq(m, seqs[i].ids, seqs[i].type_ids, seqs[i].len, err, sizeof err) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
		if (batch.n == window)
			flush(m, &eo, &batch, seqs, out, w);
	}
	tl_source_free(src);
	if (tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_progress_finish(&prog, NULL);
	for (size_t i = 0; i < 2 * window; i++)
		free(bufs[i]);
	free(bufs);
	free(caps);
	free(seqs);
	free(out);
	tl_rec_batch_free(&batch);
	tl_bert_free(m);
	free(dir);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	if (features_wanted(argc, argv))
		return features_main(argc, argv);
	static const struct option lopts[] = {
		{"model", required_argument, 0, 'm'},	  {"pool", required_argument, 0, 'P'},
		{"normalize", no_argument, 0, 'n'},	  {"layer", required_argument, 0, 'L'},
		{"batch-size", required_argument, 0, 'b'}, {"threads", required_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},		  {"version", no_argument, 0, 'V'},
		{"device", required_argument, 0, 'D'},	  {"quiet", no_argument, 0, 'q'},
		{"progress", optional_argument, 0, 'G'},  {"precision", required_argument, 0, 'Q'},
		{0, 0, 0, 0}};
	opts o = {.model = NULL,
		  .pool = TL_POOL_MEAN,
		  .layer = -1,
		  .batch = 32,
		  .threads = 0,
		  .progress = -1,
		  .precision = -1};
	int c;
	while ((c = getopt_long(argc, argv, "m:b:j:hq", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = tl_parse_path("-m", optarg); break;
		case 'P':
			if (!strcmp(optarg, "cls"))
				o.pool = TL_POOL_CLS;
			else if (!strcmp(optarg, "mean"))
				o.pool = TL_POOL_MEAN;
			else if (!strcmp(optarg, "max"))
				o.pool = TL_POOL_MAX;
			else
				tl_die(TL_EXIT_USAGE, "option --pool: unknown mode '%s' (cls, mean, max)", optarg);
			break;
		case 'n': o.normalize = 1; break;
		case 'D': o.device = optarg; break;
		case 'q': o.quiet = 1; break;
		case 'G': o.progress = optarg ? tl_parse_double("--progress", optarg, 0, 86400) : 10; break;
		case 'Q':
			if ((o.precision = tl_precision_parse(optarg)) < 0)
				tl_die(TL_EXIT_USAGE, "option --precision: unknown precision '%s' (fp32, bf16, int8)", optarg);
			break;
		case 'L': o.layer = (int)tl_parse_long("--layer", optarg, -1000, 1000); break;
		case 'b': o.batch = (int)tl_parse_long("--batch-size", optarg, 1, 4096); break;
		case 'j': o.threads = (int)tl_parse_long("--threads", optarg, 1, 1024); break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	char ierr[256];
	if (tl_isa_check(ierr, sizeof ierr) < 0)
		tl_die(TL_EXIT_USAGE, "%s", ierr);
	run_bert(&o, argv + optind, argc - optind, argc, argv);
	tl_close_stdout();
	return 0;
}
