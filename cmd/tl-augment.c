/* tl-augment - add augmented copies of labelled training records (EDA:
 * synonym replacement, random insertion, swap, deletion; rotation; typos
 * and word dropout), reproducibly, each marked with aug: {op, src}. */
#include "tl/augment.h"
#include "tl/cli.h"
#include "tl/leak.h"
#include "tl/stream.h"
#include "tl/text.h"
#include "tl/util.h"
#include "tl/wordnet.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char usage[] =
	"usage: tl-augment [-n K] [--ops LIST] [--seed S] [--sr A] [--ri A] [--rs A] [--rd P]\n"
	"                  [--typo A] [--dropout P] [--wordnet DIR | --no-wordnet]\n"
	"                  [--synonyms FILE] [--all] [--stats] [FILE]\n"
	"Add K augmented copies after each labelled training record (EDA, Wei & Zou\n"
	"2019). Originals pass through unchanged and first; each copy gets the id\n"
	"\"<src>~aug<j>\" and aug: {op, src, src_key}. Run it before tl-tokenize.\n"
	"\n"
	"  -n, --copies K     copies per record (default 4; 0 passes everything through)\n"
	"      --ops LIST     operations, comma-separated: sr, ri, rs, rd, rot, typo,\n"
	"                     dropout, or the groups eda (sr,ri,rs,rd; the default),\n"
	"                     noise (typo,dropout), all\n"
	"      --seed S       seed (default 1): same seed and input, same bytes out\n"
	"      --sr A         synonym replacement: alpha, changes max(1, A*words) words (0.1)\n"
	"      --ri A         random insertion of synonyms: alpha (0.1)\n"
	"      --rs A         random swaps: alpha (0.1)\n"
	"      --rd P         random deletion: probability per word (0.1)\n"
	"      --typo A       character typos: alpha (0.1)\n"
	"      --dropout P    word dropout: probability per word (0.1)\n"
	"                     a rate of 0 switches that operation off; rates are in [0, 1]\n"
	"      --wordnet DIR  WordNet 3.0 database (default $WNSEARCHDIR or /usr/share/wordnet)\n"
	"      --no-wordnet   synonyms only from --synonyms\n"
	"      --synonyms FILE  extra synonyms, lines word<TAB>syn1 syn2 ... ('_' = space);\n"
	"                     needed for sr/ri on Chinese and other unsegmented text\n"
	"      --all          also augment records without a label or of a split other\n"
	"                     than train (warns: keep those copies out of evaluation)\n"
	"      --stats        print counts on standard error at the end\n"
	"  -h, --help         show this help\n"
	"      --version      show the version\n"
	"\n"
	"A record's split comes from its 'split' field, else the stream header's\n"
	"'split', else the file name (FILE, or the file tl-clean read): dev, valid,\n"
	"validation, val, test, eval, alone or joined by . _ - (sst2-dev.tsv,\n"
	"dev_2k.tsv). Records of a split other than train pass through without\n"
	"copies unless --all (one warning when the split is not the record's own).\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 missing or damaged\n"
	"WordNet or synonym file.\n";

enum { OPT_OPS = 256, OPT_SEED, OPT_SR, OPT_RI, OPT_RS, OPT_RD, OPT_TYPO, OPT_DROP, OPT_WN, OPT_NOWN, OPT_SYN,
       OPT_ALL, OPT_STATS, OPT_VERSION };

/* keys derived from the text: a record carrying them was tokenized or
 * embedded before augmentation, and its copies would be stale */
static const char *const stale_keys[] = {"ids", "tokens", "type_ids", "attention_mask", "vec", "sparse", NULL};

/* ---------------- where a stream's split comes from ---------------- */

/* The sources of a split, strongest first: the record's own 'split'
 * field, the stream header's 'split', the name of FILE, the name of the
 * file tl-clean read (the header's chain). */
enum { FROM_NONE, FROM_FIELD, FROM_HEADER, FROM_FILE, FROM_CLEAN_FILE };

typedef struct {
	int from;       /* FROM_HEADER, FROM_FILE, FROM_CLEAN_FILE or FROM_NONE */
	char split[64]; /* its value */
	char file[512]; /* the file named, for FROM_FILE and FROM_CLEAN_FILE */
} stream_split;

/* Base names (lower-cased, without .gz and the extension) that mark
 * evaluation data, alone or joined to the rest by '.', '_' or '-'. */
static const char *const eval_names[] = {"dev", "valid", "validation", "val", "test", "eval", NULL};

/* The split a file name says, or NULL. */
static const char *split_of_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char name[256];
	size_t n = 0;
	for (; b[n] && n < sizeof name - 1; n++)
		name[n] = (char)tolower((unsigned char)b[n]);
	name[n] = 0;
	if (n > 3 && !strcmp(name + n - 3, ".gz"))
		name[n -= 3] = 0;
	char *dot = strrchr(name, '.');
	if (dot && dot != name)
		*dot = 0;
	n = strlen(name);
	for (int i = 0; eval_names[i]; i++) {
		const char *w = eval_names[i];
		size_t wl = strlen(w);
		if (n < wl)
			continue;
		if (n == wl ? !memcmp(name, w, wl)
			    : (!memcmp(name, w, wl) && strchr("._-", name[wl])) ||
				      (!memcmp(name + n - wl, w, wl) && strchr("._-", name[n - wl - 1])))
			return w;
	}
	return NULL;
}

/* tl-clean's options that take a value (keep in step with cmd/tl-clean.c):
 * the value after one of them is no file name. */
static const char clean_short_arg[] = "ftbli";
static const char *const clean_long_arg[] = {"format", "text", "text-b", "label", "id", "quoting", "label-prefix",
					     "max-record", "urls", "emails", "keep", "stopwords", NULL};

/* The file the stream's tl-clean step read: the non-option argument of the
 * first tl-clean entry in the header's chain, copied into out. 0 when
 * there is none (no tl-clean, or it read standard input). */
static int clean_input_file(const msgpack_object *hdr, char *out, size_t outsz)
{
	const msgpack_object *chain = tl_map_get(hdr, "chain");
	if (!chain || chain->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	const msgpack_object *args = NULL;
	for (uint32_t i = 0; i < chain->via.array.size && !args; i++) {
		const msgpack_object *e = &chain->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_MAP)
			continue;
		const msgpack_object *tool = tl_map_get(e, "tool");
		if (tool && tool->type == MSGPACK_OBJECT_STR && tool->via.str.size == 8 &&
		    !memcmp(tool->via.str.ptr, "tl-clean", 8))
			args = tl_map_get(e, "args");
	}
	if (!args || args->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	const msgpack_object *file = NULL;
	int opts_done = 0;
	for (uint32_t i = 0; i < args->via.array.size; i++) {
		const msgpack_object *a = &args->via.array.ptr[i];
		if (a->type != MSGPACK_OBJECT_STR)
			continue;
		const char *s = a->via.str.ptr;
		size_t len = a->via.str.size;
		if (opts_done || len < 2 || s[0] != '-') {
			file = a;
			continue;
		}
		if (len == 2 && s[1] == '-') {
			opts_done = 1;
		} else if (s[1] == '-') { /* --name[=value]; getopt takes unique prefixes */
			const char *eq = memchr(s, '=', len);
			size_t nl = (eq ? (size_t)(eq - s) : len) - 2;
			int takes = 0;
			for (int k = 0; clean_long_arg[k] && !takes; k++)
				takes = nl <= strlen(clean_long_arg[k]) && !memcmp(s + 2, clean_long_arg[k], nl);
			if (takes && !eq)
				i++;
		} else { /* -abc, -fVALUE, -f VALUE */
			for (size_t k = 1; k < len; k++)
				if (strchr(clean_short_arg, s[k])) {
					if (k == len - 1)
						i++;
					break;
				}
		}
	}
	if (!file || (file->via.str.size == 1 && file->via.str.ptr[0] == '-'))
		return 0;
	size_t n = file->via.str.size < outsz - 1 ? file->via.str.size : outsz - 1;
	memcpy(out, file->via.str.ptr, n);
	out[n] = 0;
	return 1;
}

/* The split of the stream as a whole: header over FILE's name over the
 * name of the file tl-clean read. hdr may be NULL (no header). */
static void find_stream_split(stream_split *ss, const msgpack_object *hdr, const char *path)
{
	memset(ss, 0, sizeof *ss);
	const msgpack_object *h = hdr ? tl_map_get(hdr, "split") : NULL;
	const char *w;
	if (h && h->type == MSGPACK_OBJECT_STR) {
		size_t n = h->via.str.size < sizeof ss->split - 1 ? h->via.str.size : sizeof ss->split - 1;
		memcpy(ss->split, h->via.str.ptr, n);
		ss->from = FROM_HEADER;
	} else if (strcmp(path, "-") && (w = split_of_name(path))) {
		snprintf(ss->split, sizeof ss->split, "%s", w);
		snprintf(ss->file, sizeof ss->file, "%s", path);
		ss->from = FROM_FILE;
	} else if (hdr && clean_input_file(hdr, ss->file, sizeof ss->file) && (w = split_of_name(ss->file))) {
		snprintf(ss->split, sizeof ss->split, "%s", w);
		ss->from = FROM_CLEAN_FILE;
	} else {
		ss->file[0] = 0;
	}
}

/* The warning for records of a split other than train: passed through
 * (all 0) or augmented anyway (all 1). */
static void warn_split(uint64_t recno, int from, const char *split, size_t slen, const char *file, int all)
{
	static const char *const how[] = {"", "the record's 'split' field", "the stream header", "the file name",
					  "the name of the file tl-clean read"};
	char where[600] = "";
	if (from == FROM_FILE || from == FROM_CLEAN_FILE)
		snprintf(where, sizeof where, "%s: ", file);
	char msg[1024];
	if (all)
		snprintf(msg, sizeof msg,
			 "%s--all: augmenting records of split '%.*s' (from %s); their copies carry 'aug' and must be "
			 "kept out of evaluation (tl-eval --exclude-augmented)",
			 where, (int)slen, split, how[from]);
	else
		snprintf(msg, sizeof msg,
			 "%ssplit '%.*s' (from %s): records passed through without copies; --all augments them (keep "
			 "those copies out of evaluation)",
			 where, (int)slen, split, how[from]);
	if (from == FROM_FIELD)
		tl_warn_rec(recno, "%s", msg);
	else
		tl_warn("%s", msg);
}


int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option opts[] = {
		{"copies", required_argument, 0, 'n'},	{"ops", required_argument, 0, OPT_OPS},
		{"seed", required_argument, 0, OPT_SEED}, {"sr", required_argument, 0, OPT_SR},
		{"ri", required_argument, 0, OPT_RI},	  {"rs", required_argument, 0, OPT_RS},
		{"rd", required_argument, 0, OPT_RD},	  {"typo", required_argument, 0, OPT_TYPO},
		{"dropout", required_argument, 0, OPT_DROP}, {"wordnet", required_argument, 0, OPT_WN},
		{"no-wordnet", no_argument, 0, OPT_NOWN},   {"synonyms", required_argument, 0, OPT_SYN},
		{"all", no_argument, 0, OPT_ALL},	  {"stats", no_argument, 0, OPT_STATS},
		{"help", no_argument, 0, 'h'},		  {"version", no_argument, 0, OPT_VERSION},
		{0, 0, 0, 0}};
	tl_aug_opts ao;
	tl_aug_opts_default(&ao);
	long ncopies = 4;
	uint64_t seed = 1;
	unsigned ops = 0xfu;
	const char *wndir = NULL, *synfile = NULL;
	int no_wn = 0, all = 0, stats = 0, c;
	char err[512];
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': ncopies = tl_parse_long("-n", optarg, 0, 100000); break;
		case OPT_OPS:
			if (tl_aug_parse_ops(optarg, &ops, err, sizeof err) < 0)
				tl_die(TL_EXIT_USAGE, "option --ops: %s", err);
			break;
		case OPT_SEED: seed = (uint64_t)tl_parse_long("--seed", optarg, 0, INT64_MAX); break;
		case OPT_SR: ao.rate[TL_AUG_SR] = tl_parse_double("--sr", optarg, 0, 1); break;
		case OPT_RI: ao.rate[TL_AUG_RI] = tl_parse_double("--ri", optarg, 0, 1); break;
		case OPT_RS: ao.rate[TL_AUG_RS] = tl_parse_double("--rs", optarg, 0, 1); break;
		case OPT_RD: ao.rate[TL_AUG_RD] = tl_parse_double("--rd", optarg, 0, 1); break;
		case OPT_TYPO: ao.rate[TL_AUG_TYPO] = tl_parse_double("--typo", optarg, 0, 1); break;
		case OPT_DROP: ao.rate[TL_AUG_DROP] = tl_parse_double("--dropout", optarg, 0, 1); break;
		case OPT_WN: wndir = tl_parse_path("--wordnet", optarg); break;
		case OPT_NOWN: no_wn = 1; break;
		case OPT_SYN: synfile = tl_parse_path("--synonyms", optarg); break;
		case OPT_ALL: all = 1; break;
		case OPT_STATS: stats = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case OPT_VERSION: tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		tl_die(TL_EXIT_USAGE, "at most one input file (got %d)", argc - optind);
	if (no_wn && wndir)
		tl_die(TL_EXIT_USAGE, "--wordnet and --no-wordnet exclude each other");
	for (int i = 0; i < TL_AUG_NOPS; i++)
		if (i != TL_AUG_ROT && ao.rate[i] == 0)
			ops &= ~(1u << i);
	if (!ops)
		tl_die(TL_EXIT_USAGE, "every chosen operation has rate 0");
	int nops = 0, oplist[TL_AUG_NOPS];
	for (int i = 0; i < TL_AUG_NOPS; i++)
		if (ops & (1u << i))
			oplist[nops++] = i;
	int need_syn = (ops & ((1u << TL_AUG_SR) | (1u << TL_AUG_RI))) != 0;
	if (need_syn && no_wn && !synfile)
		tl_die(TL_EXIT_USAGE, "sr and ri need synonyms: give --synonyms FILE or drop --no-wordnet");

	tl_wordnet *wn = NULL;
	tl_synonyms *syn = NULL;
	if (need_syn && !no_wn && ncopies > 0) {
		wn = tl_wordnet_open(wndir, err, sizeof err);
		if (!wn)
			tl_die(TL_EXIT_MODEL,
			       "cannot read WordNet: %s (install wordnet-base, or give --wordnet DIR, or --no-wordnet "
			       "with --synonyms FILE, or --ops without sr,ri)",
			       err);
	}
	if (synfile) {
		syn = tl_synonyms_load(synfile, err, sizeof err);
		if (!syn)
			tl_die(TL_EXIT_MODEL, "synonym file %s", err);
	}
	tl_augmenter *aug = tl_augmenter_new(&ao, wn, syn);

	const char *path = optind < argc ? argv[optind] : "-";
	tl_reader *r = tl_reader_open(path);
	if (!r)
		tl_die_open(path);
	tl_writer *W = tl_writer_open(stdout);
	tl_record rec;
	int first = 1, warned_split = 0, warned_pass = 0;
	stream_split ss;
	find_stream_split(&ss, NULL, path);
	uint64_t nrec = 0, naug = 0, ncopy = 0, nsame = 0;
	tl_buf idb = {0};
	int perm[TL_AUG_NOPS];
	uint64_t *seen = NULL; /* hashes of this record's copies */
	size_t nseen = 0, capseen = 0;
	while (tl_reader_next_or_die(r, &rec)) {
		if (first) {
			first = 0;
			const msgpack_object *chain = rec.is_header ? tl_rec_get(&rec, "chain") : NULL;
			for (uint32_t i = 0; chain && chain->type == MSGPACK_OBJECT_ARRAY && i < chain->via.array.size; i++) {
				const msgpack_object *tool = tl_map_get(&chain->via.array.ptr[i], "tool");
				if (ncopies > 0 && tool && tool->type == MSGPACK_OBJECT_STR && tool->via.str.size == 10 &&
				    !memcmp(tool->via.str.ptr, "tl-augment", 10))
					tl_die_rec(TL_EXIT_DATA, rec.no,
						   "the stream was augmented already (tl-augment in the header's chain); "
						   "augmenting twice would duplicate copies and ids");
			}
			find_stream_split(&ss, rec.is_header ? rec.map : NULL, path);
			tl_header_start(W, rec.is_header ? rec.map : NULL, argc, argv);
			tl_writer_end(W);
			if (rec.is_header)
				continue;
		}
		if (rec.is_header) { /* a later header (concatenated streams): pass on */
			find_stream_split(&ss, rec.map, path);
			msgpack_pack_object(tl_writer_raw(W), *rec.map);
			tl_writer_commit(W);
			continue;
		}
		nrec++;
		msgpack_pack_object(tl_writer_raw(W), *rec.map);
		tl_writer_commit(W);
		if (ncopies == 0)
			continue;
		if (tl_rec_get(&rec, "aug"))
			tl_die_rec(TL_EXIT_DATA, rec.no,
				   "the stream was augmented already (record has 'aug'); augmenting twice would "
				   "duplicate copies and ids");
		const msgpack_object *label = tl_rec_get(&rec, "label");
		size_t slen = 0;
		int bad = 0;
		const char *split = tl_rec_str(&rec, "split", &slen, &bad);
		int from = FROM_FIELD;
		if (!split && ss.from != FROM_NONE) {
			split = ss.split;
			slen = strlen(ss.split);
			from = ss.from;
		}
		int train = !split || (slen == 5 && !memcmp(split, "train", 5));
		int labelled = label && label->type != MSGPACK_OBJECT_NIL;
		/* records of a split named by the record itself pass through
		 * quietly, as they always did; a split known only from the
		 * header or a file name is said once */
		if (!all && !train && labelled && from != FROM_FIELD && !warned_pass) {
			warn_split(rec.no, from, split, slen, ss.file, 0);
			warned_pass = 1;
		}
		if (!all && (!train || !labelled))
			continue;
		if (!train && !warned_split) {
			warn_split(rec.no, from, split, slen, ss.file, 1);
			warned_split = 1;
		}
		size_t tlen;
		const char *text = tl_rec_str(&rec, "text", &tlen, &bad);
		if (bad)
			tl_die_rec(TL_EXIT_DATA, rec.no, "'text' is not a string");
		if (!text)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no 'text' to augment");
		for (int i = 0; stale_keys[i]; i++)
			if (tl_rec_get(&rec, stale_keys[i]))
				tl_die_rec(TL_EXIT_DATA, rec.no,
					   "record already has '%s': run tl-augment before tl-tokenize/tl-embed "
					   "(augmented copies would carry stale %s)",
					   stale_keys[i], stale_keys[i]);
		if (tl_text_count_invalid_utf8(text, tlen))
			tl_die_rec(TL_EXIT_DATA, rec.no, "'text' is not valid UTF-8 (tl-clean repairs it)");
		/* the record's key for the generator, and the id prefix */
		const msgpack_object *id = tl_rec_get(&rec, "id");
		uint64_t key;
		idb.len = 0;
		if (!id) {
			key = tl_fnv1a64("n", 1, TL_FNV64_INIT);
			key = tl_fnv1a64(&rec.no, sizeof rec.no, key);
			tl_buf_printf(&idb, "%" PRIu64, rec.no);
		} else if (id->type == MSGPACK_OBJECT_STR) {
			key = tl_fnv1a64("s", 1, TL_FNV64_INIT);
			key = tl_fnv1a64(id->via.str.ptr, id->via.str.size, key);
			tl_buf_add(&idb, id->via.str.ptr, id->via.str.size);
		} else if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER || id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			int64_t v = id->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)id->via.u64 : id->via.i64;
			unsigned char le[8];
			for (int i = 0; i < 8; i++)
				le[i] = (unsigned char)((uint64_t)v >> (8 * i));
			key = tl_fnv1a64("i", 1, TL_FNV64_INIT);
			key = tl_fnv1a64(le, 8, key);
			if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				tl_buf_printf(&idb, "%" PRIu64, id->via.u64);
			else
				tl_buf_printf(&idb, "%" PRId64, id->via.i64);
		} else {
			tl_die_rec(TL_EXIT_DATA, rec.no, "'id' is a %s, not a string or integer",
				   tl_msgpack_type_name(id->type));
		}
		size_t idlen = idb.len;
		/* the original's content key: a copy knows its source after any split */
		char src_key[17];
		snprintf(src_key, sizeof src_key, "%016" PRIx64, tl_rec_content_key(&rec));
		naug++;
		tl_xoshiro prng, crng;
		nseen = 0;
		tl_xoshiro_derive(&prng, seed, key, 0);
		for (long j = 1; j <= ncopies; j++) {
			long pos = (j - 1) % nops;
			if (pos == 0) { /* a fresh permutation of the operations per cycle */
				for (int i = 0; i < nops; i++)
					perm[i] = oplist[i];
				for (int i = nops; i > 1; i--) {
					int k = (int)tl_xoshiro_below(&prng, (uint64_t)i), t = perm[i - 1];
					perm[i - 1] = perm[k];
					perm[k] = t;
				}
			}
			tl_xoshiro_derive(&crng, seed, key, (uint64_t)j);
			const char *out = NULL;
			size_t outlen = 0;
			int op = -1;
			/* an operation with nothing to do hands over to the next one */
			for (int t = 0; t < nops; t++) {
				int o = perm[(pos + t) % nops];
				if (!tl_augment_apply(aug, o, text, tlen, &crng, &out, &outlen))
					continue;
				/* a copy identical to an earlier copy counts as no change */
				uint64_t h = tl_fnv1a64(out, outlen, TL_FNV64_INIT);
				int dup = 0;
				for (size_t i = 0; i < nseen && !dup; i++)
					dup = seen[i] == h;
				if (dup)
					continue;
				if (nseen == capseen) {
					capseen = capseen ? 2 * capseen : 16;
					seen = tl_xrealloc(seen, capseen * sizeof *seen);
				}
				seen[nseen++] = h;
				op = o;
				break;
			}
			if (op < 0) {
				nsame++;
				continue;
			}
			tl_writer_start(W, rec.map);
			idb.len = idlen;
			tl_buf_printf(&idb, "~aug%ld", j);
			tl_pack_str(tl_writer_key(W, "id"), idb.data, idb.len);
			tl_pack_str(tl_writer_key(W, "text"), out, outlen);
			msgpack_packer *pk = tl_writer_key(W, "aug");
			msgpack_pack_map(pk, 3);
			tl_pack_cstr(pk, "op");
			tl_pack_cstr(pk, tl_aug_op_name(op));
			tl_pack_cstr(pk, "src");
			if (id)
				msgpack_pack_object(pk, *id);
			else
				msgpack_pack_uint64(pk, rec.no);
			tl_pack_cstr(pk, "src_key");
			tl_pack_str(pk, src_key, 16);
			tl_writer_end(W);
			ncopy++;
		}
	}
	tl_reader_close(r);
	if (tl_writer_free(W) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	if (stats)
		fprintf(stderr,
			"tl-augment: %" PRIu64 " records, %" PRIu64 " augmented, %" PRIu64 " copies written, %" PRIu64
			" copies skipped (no operation could change the text)\n",
			nrec, naug, ncopy, nsame);
	tl_buf_free(&idb);
	free(seen);
	tl_augmenter_free(aug);
	tl_synonyms_free(syn);
	tl_wordnet_close(wn);
	tl_close_stdout();
	return 0;
}
