/* tl-embed - add a feature vector "vec" to every record.
 *
 * Feature kinds: a BERT encoder (-m MODEL, the default), or the classic
 * kinds --bow / --tfidf / --word2vec, which lib/features/embed_features.c runs. */
#include "tl/bert.h"
#include "tl/classifier.h"
#include "tl/features.h"
#include "tl/model.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: tl-embed [-m MODEL] [--pool cls|mean|max] [--normalize] [--layer N]\n"
	"                [--batch-size N] [--threads N] [--device NAME] [FILE...]\n"
	"Add a sentence vector \"vec\" (float32) to every record of a tokenized stream\n"
	"(key \"ids\", optional \"type_ids\"), computed by a BERT encoder.\n"
	"Classic features instead: tl-embed --bow|--tfidf|--word2vec --help.\n"
	"\n"
	"  -m, --model MODEL   model directory or name (default " TL_DEFAULT_MODEL ",\n"
	"                      found in $TL_MODEL_PATH, the installed share dir, ./models)\n"
	"      --pool MODE     cls, mean (default) or max over the real tokens\n"
	"      --normalize     scale each vector to unit length (sentence-transformers)\n"
	"      --layer N       hidden state N: 0 = embeddings, 1..L layers, negative\n"
	"                      from the top (default -1 = last layer)\n"
	"  -b, --batch-size N  sequences per forward pass (default 32)\n"
	"  -j, --threads N     threads (default: all cores)\n"
	"      --device NAME   kernel backend: cpu or cuda (default $TL_DEVICE, else cpu)\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad model.\n";

typedef struct {
	const char *model, *device;
	int pool, normalize, layer, batch, threads;
} opts;

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
	tl_rec_batch_clear(batch);
}

static void header(tl_writer *w, const msgpack_object *in, int argc, char **argv, const char *dir, const opts *o,
		   int layer, int C)
{
	tl_header_start(w, in, argc, argv);
	msgpack_packer *pk = tl_writer_key(w, "embed");
	msgpack_pack_map(pk, 5);
	tl_pack_cstr(pk, "model");
	tl_pack_cstr(pk, dir);
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
	tl_writer_end(w);
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
		tl_die(TL_EXIT_MODEL, "%s", err);
	k->set_threads(o->threads);
	tl_bert *m = tl_bert_load(dir, k, err, sizeof err);
	if (!m)
		tl_die(TL_EXIT_MODEL, "%s", err);
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
	int wrote_header = 0;
	uint64_t base = 0; /* records of earlier files */

	for (int fi = 0; fi < nfiles; fi++) {
		const char *path = files[fi];
		tl_reader *r = tl_reader_open(path);
		if (!r)
			tl_die(TL_EXIT_IO, "cannot open %s:", strcmp(path, "-") ? path : "standard input");
		tl_record rec;
		while (tl_reader_next_or_die(r, &rec)) {
			if (rec.is_header) {
				flush(m, &eo, &batch, seqs, out, w);
				if (tl_model_check_vocab(rec.map, m->vocab_sha256, dir, err, sizeof err) < 0)
					tl_die_rec(TL_EXIT_MODEL, base + rec.no, "%s", err);
				header(w, rec.map, argc, argv, dir, o, layer, C);
				wrote_header = 1;
				continue;
			}
			if (!wrote_header) {
				header(w, NULL, argc, argv, dir, o, layer, C);
				wrote_header = 1;
			}
			size_t i = batch.n;
			const tl_record *cp = tl_rec_batch_add(&batch, &rec);
			long len = tl_rec_i32s(cp, "ids", &bufs[2 * i], &caps[2 * i]);
			if (len == -1)
				tl_die_rec(TL_EXIT_DATA, base + rec.no, "no \"ids\": tokenize the text first (tl-tokenize)");
			if (len < 0)
				tl_die_rec(TL_EXIT_DATA, base + rec.no, "\"ids\" is not a bin of int32 or an array of integers");
			long tl = tl_rec_i32s(cp, "type_ids", &bufs[2 * i + 1], &caps[2 * i + 1]);
			if (tl == -2 || (tl >= 0 && tl != len))
				tl_die_rec(TL_EXIT_DATA, base + rec.no, "\"type_ids\" malformed or not as long as \"ids\"");
			seqs[i] = (tl_bert_seq){bufs[2 * i], tl >= 0 ? bufs[2 * i + 1] : NULL, (int)len};
			if (tl_bert_check_seq(m, seqs[i].ids, seqs[i].type_ids, seqs[i].len, err, sizeof err) < 0)
				tl_die_rec(TL_EXIT_DATA, base + rec.no, "%s", err);
			if (batch.n == window)
				flush(m, &eo, &batch, seqs, out, w);
		}
		flush(m, &eo, &batch, seqs, out, w);
		base += tl_reader_count(r);
		tl_reader_close(r);
	}
	if (tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
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
	if (tl_embed_features_wanted(argc, argv))
		return tl_embed_features_main(argc, argv);
	static const struct option lopts[] = {
		{"model", required_argument, 0, 'm'},	  {"pool", required_argument, 0, 'P'},
		{"normalize", no_argument, 0, 'n'},	  {"layer", required_argument, 0, 'L'},
		{"batch-size", required_argument, 0, 'b'}, {"threads", required_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},		  {"version", no_argument, 0, 'V'},
		{"device", required_argument, 0, 'D'},	  {0, 0, 0, 0}};
	opts o = {.model = NULL, .pool = TL_POOL_MEAN, .layer = -1, .batch = 32, .threads = 0};
	int c;
	while ((c = getopt_long(argc, argv, "m:b:j:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
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
		case 'L': o.layer = (int)tl_parse_long("--layer", optarg, -1000, 1000); break;
		case 'b': o.batch = (int)tl_parse_long("--batch-size", optarg, 1, 4096); break;
		case 'j': o.threads = (int)tl_parse_long("--threads", optarg, 1, 1024); break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	char *stdin_only[] = {"-"};
	char **files = optind < argc ? argv + optind : stdin_only;
	int nfiles = optind < argc ? argc - optind : 1;
	run_bert(&o, files, nfiles, argc, argv);
	tl_close_stdout();
	return 0;
}
