/* embed_features.c - the classic feature kinds of tl-embed: --bow,
 * --tfidf (sparse vectors) and --word2vec (dense document vectors).
 * tl-embed's main() hands its arguments to tl_embed_features_main when one
 * of these options is given. */
#include "tl/classifier.h"
#include "tl/features.h"
#include "tl/linear.h"
#include "tl/progress.h"
#include "tl/stream.h"
#include "tl/util.h"
#include "tl/word2vec.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>


static const char usage[] =
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
	"word2vec options:\n"
	"  --cbow (default skip-gram)  --dim N (100)  --window N (5)  --min-count N (5)\n"
	"  --epochs N (5)  --negative N (5)  --lr X (0.025 sg, 0.05 cbow)\n"
	"  --sample X (1e-3)  --threads N (1; 1 is bitwise reproducible)  --seed N (1)\n"
	"  --tfidf-weights FILE  weight words by a fitted --tfidf file (word unigrams)\n"
	"  --nearest W1,W2,...   print the 10 nearest words of each (text, stdout)\n"
	"  -q, --quiet           no progress on stderr\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad fitted/vectors file.\n";

int tl_embed_features_wanted(int argc, char **argv)
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
       O_THREADS, O_SEED, O_TFW, O_NEAR, O_KIND, O_FOPT };

static const char *rec_text(const tl_record *rec, size_t *len)
{
	int bad = 0;
	const char *t = tl_rec_str(rec, "text", len, &bad);
	if (!t)
		tl_die_rec(TL_EXIT_DATA, rec->no, bad ? "\"text\" is not a string" : "no \"text\"");
	return t;
}

static void pack_sparse(tl_writer *w, const tl_sparse *sp)
{
	msgpack_packer *pk = tl_writer_key(w, "sparse");
	msgpack_pack_map(pk, 3);
	tl_pack_cstr(pk, "dim");
	msgpack_pack_int64(pk, sp->dim);
	tl_pack_cstr(pk, "idx");
	msgpack_pack_array(pk, (uint32_t)sp->n);
	for (size_t i = 0; i < sp->n; i++)
		msgpack_pack_int32(pk, sp->idx[i]);
	tl_pack_cstr(pk, "val");
	msgpack_pack_array(pk, (uint32_t)sp->n);
	for (size_t i = 0; i < sp->n; i++)
		msgpack_pack_float(pk, sp->val[i]);
}

static void w2v_progress(void *ctx, uint64_t done, uint64_t total, double lr)
{
	tl_progress *p = ctx;
	char extra[64];
	snprintf(extra, sizeof extra, "lr %.5f", lr);
	p->total = total;
	tl_progress_update(p, done, extra, 0);
}

int tl_embed_features_main(int argc, char **argv)
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
		{"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	int kind = K_NONE, fit_only = 0, quiet = 0;
	const char *fit = NULL, *feat = NULL, *tfw = NULL, *nearest = NULL;
	tl_feat_opts fo;
	tl_feat_opts_default(&fo, TL_FEAT_BOW);
	unsigned fset = 0;
	tl_w2v_opts wo;
	tl_w2v_opts_default(&wo, 1);
	int lr_set = 0;
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
		case O_W2V:
			if (kind != K_NONE && kind != K_W2V)
				tl_die(TL_EXIT_USAGE, "choose one of --bow, --tfidf, --word2vec");
			kind = K_W2V;
			break;
		case O_FIT: fit = optarg; break;
		case O_FEAT: feat = optarg; break;
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
		case O_TFW: tfw = optarg; break;
		case O_NEAR: nearest = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
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
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die(TL_EXIT_IO, "cannot open %s:", strcmp(path, "-") ? path : "standard input");
	if (fit) {
		/* read everything, fit, save */
		tl_feat_fitter *fitter = kind != K_W2V ? tl_feat_fitter_new(&fo) : NULL;
		tl_w2v_trainer *tr = kind == K_W2V ? tl_w2v_trainer_new(&wo) : NULL;
		size_t n = 0;
		while (tl_reader_next_or_die(r, &rec)) {
			if (rec.is_header) {
				if (!hkeep.size)
					msgpack_pack_object(&hpk, *rec.map);
				continue;
			}
			msgpack_pack_object(&kpk, *rec.map);
			const char *t = rec_text(&rec, &len);
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
	}
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
		tl_reader_close(r);
		msgpack_sbuffer_destroy(&keep);
		msgpack_sbuffer_destroy(&hkeep);
		tl_w2v_vectors_free(&vv);
		tl_feat_free(wt);
		tl_feat_free(ft);
		tl_close_stdout();
		return 0;
	}
	if (fit_only) {
		tl_reader_close(r);
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
			if (!tl_reader_next_or_die(r, &hdr_rec))
				break;
			cur = &hdr_rec;
			is_h = cur->is_header;
		}
		if (!header_done) {
			tl_header_start(w, is_h ? cur->map : NULL, argc, argv);
			msgpack_packer *pk = tl_writer_key(w, "features");
			msgpack_pack_map(pk, 4);
			tl_pack_cstr(pk, "kind");
			tl_pack_cstr(pk, kind == K_W2V ? "word2vec" : kind == K_TFIDF ? "tfidf" : "bow");
			tl_pack_cstr(pk, "file");
			tl_pack_cstr(pk, file);
			tl_pack_cstr(pk, "sha256");
			tl_pack_cstr(pk, sha);
			tl_pack_cstr(pk, "dim");
			msgpack_pack_int64(pk, kind == K_W2V ? vv.dim : tl_feat_dim(ft));
			tl_writer_end(w);
			header_done = 1;
			if (is_h)
				continue;
		}
		if (is_h)
			continue; /* later headers: folded into the first */
		const char *t = rec_text(cur, &len);
		tl_writer_start(w, cur->map);
		if (kind == K_W2V) {
			tl_w2v_doc_vec(&vv, &words, t, len, 1, wt, &sp2, vec);
			tl_pack_f32_bin(tl_writer_key(w, "vec"), vec, (size_t)vv.dim);
		} else {
			tl_feat_apply(ft, t, len, &sp);
			pack_sparse(w, &sp);
		}
		tl_writer_end(w);
	}
	msgpack_unpacked_destroy(&up);
	if (tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_reader_close(r);
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
