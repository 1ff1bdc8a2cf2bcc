/* tl-prune - remove attention heads (by importance, Michel et al. 2019) or
 * whole encoder layers from a BERT model directory, writing a smaller one
 * that transformers 4.x, tl-predict and tl-embed load (tl/bert_prune.h). */
#include "tl/bert.h"
#include "tl/bert_prune.h"
#include "tl/bert_train.h"
#include "tl/classifier.h"
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/kernels.h"
#include "tl/model.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: tl-prune -m MODEL -o OUT --heads FRACTION|N [options] [DATA...]\n"
	"       tl-prune -m MODEL -o OUT --layers LIST [--force]\n"
	"Write OUT, MODEL (a BERT sequence classifier) without its least important\n"
	"attention heads, or without whole encoder layers. Head importance (Michel et\n"
	"al. 2019): the sum over batches of DATA (tokenized, labelled records) of\n"
	"|dLoss/dmask| per head, each layer's scores divided by their L2 norm; the\n"
	"heads of least importance go, over the whole model, each layer keeping one.\n"
	"OUT is a Hugging Face directory: config.json pruned_heads (transformers 4.x\n"
	"loads it) and num_hidden_layers updated, tl.json \"pruning\".\n"
	"\n"
	"  -m, --model MODEL       model directory or name\n"
	"  -o, --output OUT        the directory to write (atomically)\n"
	"      --heads X           a fraction in [0, 1) of all heads (with a '.'), or\n"
	"                          a number of heads, to remove\n"
	"      --layers LIST       remove these encoder layers (0-based, e.g. 1,3)\n"
	"      --importance-out F  write the scores as JSON to F\n"
	"      --batch-size N      records per importance batch (32)\n"
	"      --max-len N         truncate longer records, keeping the last id (128)\n"
	"      --max-records N     read at most N records of DATA (all)\n"
	"      --threads N         threads (all cores)\n"
	"  -f, --force             replace OUT when it exists\n"
	"  -q, --quiet             no summary on stderr\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n"
	"\n"
	"A pruned model cannot be fine-tuned further by tl-train (exit 5).\n"
	"Exit status: 0 ok, 2 usage, 3 bad data, 4 I/O error, 5 bad model.\n";

enum { O_HEADS = 300, O_LAYERS, O_IMP, O_BS, O_MAXLEN, O_MAXREC, O_THREADS };

/* labelled records, batched */
typedef struct {
	int32_t *ids, *types, *lens, *y;
	int n, T, any_types;
} batch;

static void run_batch(tl_bert_train *t, batch *b, double *imp)
{
	if (!b->n)
		return;
	tl_bert_importance_batch(t, b->ids, b->any_types ? b->types : NULL, b->lens, b->n, b->T, b->y, imp);
	b->n = 0;
	b->any_types = 0;
}

static json_t *scores_json(const double *v, int L, int NH)
{
	json_t *a = json_array();
	for (int l = 0; l < L; l++) {
		json_t *r = json_array();
		for (int h = 0; h < NH; h++)
			json_array_append_new(r, json_real(v[l * NH + h]));
		json_array_append_new(a, r);
	}
	return a;
}

static json_t *pairs_json(const unsigned char *rm, int L, int NH)
{
	json_t *a = json_array();
	for (int i = 0; i < L * NH; i++)
		if (rm[i])
			json_array_append_new(a, json_pack("[i,i]", i / NH, i % NH));
	return a;
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option lopts[] = {{"model", required_argument, 0, 'm'},
					      {"output", required_argument, 0, 'o'},
					      {"heads", required_argument, 0, O_HEADS},
					      {"layers", required_argument, 0, O_LAYERS},
					      {"importance-out", required_argument, 0, O_IMP},
					      {"batch-size", required_argument, 0, O_BS},
					      {"max-len", required_argument, 0, O_MAXLEN},
					      {"max-records", required_argument, 0, O_MAXREC},
					      {"threads", required_argument, 0, O_THREADS},
					      {"force", no_argument, 0, 'f'},
					      {"quiet", no_argument, 0, 'q'},
					      {"help", no_argument, 0, 'h'},
					      {"version", no_argument, 0, 'V'},
					      {0, 0, 0, 0}};
	const char *model = NULL, *out = NULL, *heads = NULL, *layers = NULL, *impout = NULL;
	int force = 0, quiet = 0, bs = 32, threads = 0;
	long max_len = 128, max_rec = -1;
	int c;
	while ((c = getopt_long(argc, argv, "m:o:fqh", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = tl_parse_path("-m", optarg); break;
		case 'o': out = tl_parse_path("-o", optarg); break;
		case O_HEADS: heads = optarg; break;
		case O_LAYERS: layers = optarg; break;
		case O_IMP: impout = tl_parse_path("--importance-out", optarg); break;
		case O_BS: bs = (int)tl_parse_long("--batch-size", optarg, 1, 4096); break;
		case O_MAXLEN: max_len = tl_parse_long("--max-len", optarg, 2, 100000); break;
		case O_MAXREC: max_rec = tl_parse_long("--max-records", optarg, 1, 1L << 40); break;
		case O_THREADS: threads = (int)tl_parse_long("--threads", optarg, 1, 1024); break;
		case 'f': force = 1; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (!model || !out) {
		fputs(usage, stderr);
		tl_die(TL_EXIT_USAGE, "give -m MODEL and -o OUT");
	}
	if (!heads == !layers)
		tl_die(TL_EXIT_USAGE, "give one of --heads FRACTION|N and --layers LIST");
	if (layers && (optind < argc || impout))
		tl_die(TL_EXIT_USAGE, "--layers removes the layers it is given: no DATA, no --importance-out");
	/* --heads: a fraction in [0, 1) or a count */
	double frac = -1;
	long count = -1;
	if (heads) {
		char *end;
		errno = 0;
		if (strchr(heads, '.') || strchr(heads, 'e') || strchr(heads, 'E')) {
			frac = strtod(heads, &end);
			if (end == heads || *end || errno || !(frac >= 0 && frac < 1))
				tl_die(TL_EXIT_USAGE, "--heads %s: a fraction of the heads must be in [0, 1)", heads);
		} else {
			count = strtol(heads, &end, 10);
			if (end == heads || *end || errno || count < 0)
				tl_die(TL_EXIT_USAGE, "--heads %s: not a fraction in [0, 1) or a number of heads", heads);
		}
	}
	char err[1024];
	char *dir = tl_model_find(model, err, sizeof err);
	if (!dir)
		tl_die(TL_EXIT_MODEL, "%s", err);
	if (tl_fs_exists(out) && !force)
		tl_die(TL_EXIT_USAGE, "%s exists (--force replaces it)", out);
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(threads);
	tl_bert *m = tl_bert_load(dir, k, err, sizeof err);
	if (!m)
		tl_die(TL_EXIT_MODEL, "%s", err);
	int L = m->cfg.L, NH = m->cfg.NH;
	unsigned char *rm_layers = NULL, *rm_heads = NULL;
	json_t *info = json_pack("{s:s}", "from", dir);

	if (layers) {
		rm_layers = tl_xcalloc((size_t)L, 1);
		json_t *list = json_array();
		char *s = tl_xstrdup(layers), *save = NULL;
		for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *end;
			long l = strtol(tok, &end, 10);
			if (end == tok || *end || l < 0 || l >= L)
				tl_die(TL_EXIT_USAGE, "--layers %s: '%s' is not a layer number (0..%d)", layers, tok, L - 1);
			if (!rm_layers[l])
				json_array_append_new(list, json_integer(l));
			rm_layers[l] = 1;
		}
		free(s);
		if ((long)json_array_size(list) == L)
			tl_die(TL_EXIT_USAGE, "--layers %s removes every encoder layer (%d)", layers, L);
		json_object_set_new(info, "layers_removed", list);
		tl_bert_free(m);
	} else {
		/* head importance on DATA */
		if (m->heads)
			tl_die(TL_EXIT_MODEL, "%s/config.json: pruned_heads: the model is head-pruned already; importance needs every head (prune the original model)",
			       dir);
		if (!m->cfg.nlabels)
			tl_die(TL_EXIT_MODEL, "%s: no classifier (classifier.weight): head importance needs the loss of a fine-tuned sequence classifier (tl-train -m bert)",
			       dir);
		json_t *cfg = tl_model_read_config(dir, err, sizeof err);
		if (!cfg)
			tl_die(TL_EXIT_MODEL, "%s", err);
		const char *arch = json_string_value(json_array_get(json_object_get(cfg, "architectures"), 0));
		if (arch && !strcmp(arch, "BertForTokenClassification"))
			tl_die(TL_EXIT_MODEL, "%s: a token classifier: tl-prune takes sequence classifiers", dir);
		tl_classifier lab = {0};
		tl_classifier_err ce = {0};
		if (tl_classifier_read_labels(&lab, cfg, m->cfg.nlabels, &ce) < 0)
			tl_die(TL_EXIT_MODEL, "%s/%s", dir, ce.msg);
		json_decref(cfg);
		if (lab.multi_label)
			tl_die(TL_EXIT_MODEL, "%s: a multi-label classifier: tl-prune takes single-label ones", dir);
		long total = (long)L * NH;
		long n = frac >= 0 ? lround(frac * (double)total) : count;
		if (n >= total)
			tl_die(TL_EXIT_USAGE, "--heads %s would prune every head of the model (%ld)", heads, total);
		if (n > total - L)
			tl_die(TL_EXIT_USAGE, "--heads %s: at most %ld of the %ld heads can go (each layer keeps one; --layers removes whole layers)",
			       heads, total - L, total);
		if (max_len > m->cfg.max_pos)
			max_len = m->cfg.max_pos;
		char sha[65];
		memcpy(sha, m->vocab_sha256, sizeof sha);
		tl_bert_train t;
		tl_bert_train_init(&t, m, m->cfg.nlabels, 0, 0.02f, 0);
		t.freeze_below = 0; /* no embedding gradient: not needed */
		tl_bert_train_head_grad_on(&t);
		double *imp = tl_xcalloc((size_t)total, sizeof *imp), *norm = tl_xmalloc((size_t)total * sizeof *norm);
		batch b = {0};
		b.ids = tl_xmalloc((size_t)bs * max_len * sizeof *b.ids);
		b.types = tl_xmalloc((size_t)bs * max_len * sizeof *b.types);
		b.lens = tl_xmalloc((size_t)bs * sizeof *b.lens);
		b.y = tl_xmalloc((size_t)bs * sizeof *b.y);
		/* each record's ids at a stride of max_len, repadded per batch */
		int32_t *buf = NULL, *tbuf = NULL;
		size_t cap = 0, tcap = 0;
		tl_source *src = tl_source_new(argv + optind, argc - optind);
		tl_record rec;
		long nrec = 0;
		while ((max_rec < 0 || nrec < max_rec) && tl_source_next_or_die(src, &rec)) {
			if (rec.is_header) {
				if (tl_model_check_vocab(rec.map, sha, dir, err, sizeof err) < 0)
					tl_die_rec(TL_EXIT_MODEL, rec.no, "%s", err);
				continue;
			}
			long len = tl_rec_i32s(&rec, "ids", &buf, &cap);
			if (len == -1)
				tl_die_rec(TL_EXIT_DATA, rec.no, "no \"ids\": tokenize the text first (tl-tokenize)");
			if (len < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"ids\" is not a bin of int32 or an array of integers");
			long tn = tl_rec_i32s(&rec, "type_ids", &tbuf, &tcap);
			if (tn == -2 || (tn >= 0 && tn != len))
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"type_ids\" malformed or not as long as \"ids\"");
			if (len > max_len) { /* keep the final id ([SEP]) */
				buf[max_len - 1] = buf[len - 1];
				if (tn >= 0)
					tbuf[max_len - 1] = tbuf[len - 1];
				len = max_len;
			}
			if (tl_bert_check_seq(t.m, buf, tn >= 0 ? tbuf : NULL, (int)len, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
			const msgpack_object *lo = tl_rec_get(&rec, "label");
			char ls[64];
			const char *lp = NULL;
			size_t ll = 0;
			if (!lo)
				tl_die_rec(TL_EXIT_DATA, rec.no, "no \"label\": head importance needs labelled records");
			if (lo->type == MSGPACK_OBJECT_STR) {
				lp = lo->via.str.ptr;
				ll = lo->via.str.size;
			} else if (lo->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				ll = (size_t)snprintf(ls, sizeof ls, "%llu", (unsigned long long)lo->via.u64);
				lp = ls;
			} else {
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"label\" is a %s, not a string (a single-label classifier)",
					   tl_msgpack_type_name(lo->type));
			}
			int y = -1;
			for (int i = 0; i < lab.nlabels && y < 0; i++)
				if (strlen(lab.labels[i]) == ll && !memcmp(lab.labels[i], lp, ll))
					y = i;
			if (y < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "label \"%.*s\" is not one of the model's %d labels", (int)ll, lp,
					   lab.nlabels);
			int i = b.n++;
			memcpy(b.ids + (size_t)i * max_len, buf, (size_t)len * sizeof *buf);
			if (tn >= 0) {
				memcpy(b.types + (size_t)i * max_len, tbuf, (size_t)len * sizeof *tbuf);
				b.any_types = 1;
			} else {
				memset(b.types + (size_t)i * max_len, 0, (size_t)len * sizeof *tbuf);
			}
			b.lens[i] = (int32_t)len;
			b.y[i] = y;
			nrec++;
			if (b.n == bs) {
				/* repack from stride max_len to stride T (the longest) */
				int T = 0;
				for (int r = 0; r < b.n; r++)
					T = b.lens[r] > T ? b.lens[r] : T;
				for (int r = 0; r < b.n; r++) {
					memmove(b.ids + (size_t)r * T, b.ids + (size_t)r * max_len, (size_t)b.lens[r] * sizeof *b.ids);
					memmove(b.types + (size_t)r * T, b.types + (size_t)r * max_len, (size_t)b.lens[r] * sizeof *b.types);
					for (int q = b.lens[r]; q < T; q++) {
						b.ids[(size_t)r * T + q] = t.m->cfg.pad_id;
						b.types[(size_t)r * T + q] = 0;
					}
				}
				b.T = T;
				run_batch(&t, &b, imp);
			}
		}
		if (b.n) {
			int T = 0;
			for (int r = 0; r < b.n; r++)
				T = b.lens[r] > T ? b.lens[r] : T;
			for (int r = 0; r < b.n; r++) {
				memmove(b.ids + (size_t)r * T, b.ids + (size_t)r * max_len, (size_t)b.lens[r] * sizeof *b.ids);
				memmove(b.types + (size_t)r * T, b.types + (size_t)r * max_len, (size_t)b.lens[r] * sizeof *b.types);
				for (int q = b.lens[r]; q < T; q++) {
					b.ids[(size_t)r * T + q] = t.m->cfg.pad_id;
					b.types[(size_t)r * T + q] = 0;
				}
			}
			b.T = T;
			run_batch(&t, &b, imp);
		}
		tl_source_free(src);
		if (!nrec)
			tl_die(TL_EXIT_DATA, "no records: head importance needs labelled, tokenized records (DATA or standard input)");
		tl_bert_importance_normalize(imp, L, NH, norm);
		rm_heads = tl_xmalloc((size_t)total);
		if (tl_bert_prune_choose(norm, L, NH, NULL, (int)n, rm_heads) < 0)
			tl_die(TL_EXIT_FAIL, "internal error: cannot choose %ld heads", n);
		json_object_set_new(info, "method",
				    json_string("head importance, Michel et al. 2019: sum over batches of |dLoss/dmask|, L2-normalised per layer"));
		json_object_set_new(info, "records", json_integer(nrec));
		json_object_set_new(info, "heads_removed", pairs_json(rm_heads, L, NH));
		if (impout) {
			json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:s}", "model", dir, "layers", L, "heads", NH, "records",
					      (int)nrec, "method",
					      "Michel et al. 2019: importance = sum over batches of |dLoss/dmask[l,h]| (mean cross-entropy per batch, no dropout); normalized = importance / L2 norm of its layer");
			json_object_set_new(j, "importance", scores_json(imp, L, NH));
			json_object_set_new(j, "normalized", scores_json(norm, L, NH));
			json_object_set_new(j, "removed", pairs_json(rm_heads, L, NH));
			char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			size_t sl = strlen(s);
			s = tl_xrealloc(s, sl + 2);
			s[sl++] = '\n';
			if (tl_fs_write_file(impout, s, sl) < 0)
				tl_die(TL_EXIT_IO, "%s:", impout);
			free(s);
			json_decref(j);
		}
		if (!quiet) {
			long kept = total - n;
			fprintf(stderr, "tl-prune: %ld records, %ld of %ld heads removed, %ld kept\n", nrec, n, total, kept);
		}
		free(imp);
		free(norm);
		free(buf);
		free(tbuf);
		free(b.ids);
		free(b.types);
		free(b.lens);
		free(b.y);
		for (int i = 0; i < lab.nlabels; i++)
			free(lab.labels[i]);
		free(lab.labels);
		tl_bert_train_free(&t);
	}

	char *tmp = tl_fs_tmpdir_for(out);
	if (!tmp)
		tl_die(TL_EXIT_IO, "%s:", out);
	int code;
	if (tl_bert_prune_write(dir, tmp, rm_heads, rm_layers, info, &code, err, sizeof err) < 0) {
		tl_fs_rmtree(tmp);
		tl_die(code, "%s", err);
	}
	if (tl_fs_publish_dir(tmp, out, force) < 0) {
		int e = errno;
		tl_fs_rmtree(tmp);
		errno = e;
		tl_die(TL_EXIT_IO, "%s:", out);
	}
	json_decref(info);
	free(tmp);
	free(rm_heads);
	free(rm_layers);
	free(dir);
	return 0;
}
