/* tl-tokenize - turn the text of a record stream into token ids: BERT
 * WordPiece (exactly as Hugging Face), or words / characters. */
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/model.h"
#include "tl/stream.h"
#include "tl/strtab.h"
#include "tl/tokenize.h"
#include "tl/util.h"
#include "tl/vocab.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: tl-tokenize [-m MODEL_DIR | --vocab FILE] [--mode wordpiece|word|char]\n"
	"                   [--max-len N] [--truncate head|tail|head+tail] [--tokens] [FILE]\n"
	"       tl-tokenize --mode word|char --build-vocab OUT [--min-count N] [--max-vocab N] [FILE]\n"
	"Read a tl stream, tokenize \"text\" (and \"text_b\" for pairs) and add \"ids\"\n"
	"(and \"type_ids\" for pairs) to every record; other keys pass through.\n"
	"A record with \"words\" (an array: tl-clean -f conll) is tokenized word by\n"
	"word and gets \"word_ids\" (the word of each token, -1 for [CLS]/[SEP]).\n"
	"\n"
	"  -m, --model DIR       a Hugging Face model directory (vocab.txt and\n"
	"                        tokenizer_config.json/config.json), or a model name\n"
	"                        looked up as tl-embed does ($TL_MODEL_PATH, ...)\n"
	"      --vocab FILE      a vocabulary file, one token per line (id = line - 1)\n"
	"                        (default: the embedded bert-base-uncased vocabulary)\n"
	"      --mode MODE       wordpiece (default), word, or char\n"
	"      --max-len N       at most N ids per record, special tokens included;\n"
	"                        0 = no limit (default: the model's model_max_length or\n"
	"                        max_position_embeddings, else 512; word/char: 0)\n"
	"      --truncate WHERE  head (keep the beginning; default), tail (keep the\n"
	"                        end) or head+tail (a quarter from the beginning, the\n"
	"                        rest from the end); pairs shorten the longer text first\n"
	"      --tokens          also write \"tokens\", the token strings\n"
	"      --words           NER input: split \"text\" into words as BERT's\n"
	"                        pre-tokenizer does and write \"words\" and \"offsets\"\n"
	"                        ([start, end] bytes of each word), then \"word_ids\"\n"
	"      --lower, --no-lower           lower-case (default: model config, else\n"
	"                        yes)\n"
	"      --strip-accents, --no-strip-accents  (default: model config, else as\n"
	"                        --lower in wordpiece mode, no in word/char mode)\n"
	"      --no-chinese-chars  do not split CJK ideographs into single characters\n"
	"      --split-special   treat \"[CLS]\", \"[SEP]\"... in the text as text\n"
	"      --no-special      no [CLS]/[SEP] around the text (wordpiece)\n"
	"      --special         [CLS] A [SEP] (B [SEP]) in word/char mode too\n"
	"      --build-vocab OUT write a vocabulary made from the stream's words\n"
	"                        (word/char mode) to OUT instead of a stream\n"
	"      --min-count N     --build-vocab: keep tokens seen at least N times (1)\n"
	"      --max-vocab N     --build-vocab: at most N lines in all (0 = no limit)\n"
	"  -q, --quiet           no warning when more than 5% of the tokens are [UNK]\n"
	"                        (wordpiece mode)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad vocabulary or model.\n";

enum {
	O_VOCAB = 256, O_MODE, O_MAXLEN, O_TRUNC, O_TOKENS, O_LOWER, O_NOLOWER, O_STRIP, O_NOSTRIP,
	O_NOCJK, O_SPLITSPEC, O_NOSPEC, O_SPEC, O_BUILD, O_MINCOUNT, O_MAXVOCAB, O_VERSION, O_WORDS
};

/* ---------------- --build-vocab: counting words ---------------- */

/* Words interned in order of first sight; count[id] is a word's count. */
static struct {
	tl_strtab words;
	int64_t *count;
	size_t cap, bytes;
} counts;

static void count_word(const char *w, size_t n, void *ctx)
{
	(void)ctx;
	int isnew;
	if (counts.bytes + n > UINT32_MAX && tl_strtab_find(&counts.words, w, n) < 0)
		tl_die(TL_EXIT_FAIL, "--build-vocab: too many distinct tokens");
	int64_t id = tl_strtab_add(&counts.words, w, n, &isnew);
	if (isnew) {
		if ((size_t)id == counts.cap) {
			counts.cap = counts.cap ? 2 * counts.cap : 1 << 15;
			counts.count = tl_xrealloc(counts.count, counts.cap * sizeof *counts.count);
		}
		counts.count[id] = 0;
		counts.bytes += n;
	}
	counts.count[id]++;
}

/* Whether a text has a character of U+4000..U+9FFF (CJK ideographs):
 * UTF-8 lead bytes 0xE4..0xE9. */
static int has_cjk(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0xE4 && (unsigned char)s[i] <= 0xE9)
			return 1;
	return 0;
}

static const char *specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

static void write_vocab(const char *path, long min_count, long max_vocab)
{
	size_t n = 0;
	int64_t *all = tl_xmalloc((counts.words.n + 1) * sizeof *all);
	for (size_t j = 0; j < counts.words.n; j++)
		if (counts.count[j] >= (int64_t)min_count)
			all[n++] = (int64_t)j;
	/* by count, ties in byte order */
	tl_strtab_sort_by_count(&counts.words, counts.count, all, n);
	tl_buf out = {0};
	size_t lines = 0;
	for (int i = 0; i < 5; i++, lines++)
		tl_buf_printf(&out, "%s\n", specials[i]);
	for (size_t i = 0; i < n && (max_vocab <= 0 || lines < (size_t)max_vocab); i++) {
		const char *w = tl_strtab_str(&counts.words, all[i]);
		size_t len = tl_strtab_len(&counts.words, all[i]);
		int skip = 0;
		for (int q = 0; q < 5; q++)
			skip |= len == strlen(specials[q]) && !memcmp(w, specials[q], len);
		if (skip)
			continue;
		tl_buf_printf(&out, "%.*s\n", (int)len, w);
		lines++;
	}
	/* temp + fsync + rename; a device (/dev/stdout) is written in place */
	if (tl_fs_write_file(path, out.data, out.len) != 0)
		tl_die(TL_EXIT_IO, "cannot write %s:", path);
	tl_buf_free(&out);
	tl_warn("wrote %s: %zu tokens (%zu distinct seen, min count %ld)", path, lines, counts.words.n, min_count);
	free(all);
	free(counts.count);
	tl_strtab_free(&counts.words);
}

/* ---------------- words (NER) ---------------- */

static struct {
	const char **w;
	size_t *len, n, cap;
	tl_buf offs; /* size_t pairs */
} WB;
static uint64_t ntrunc, nlost;
static long max_len_g;

static void add_word(const char *w, size_t n)
{
	if (WB.n == WB.cap) {
		WB.cap = WB.cap ? 2 * WB.cap : 64;
		WB.w = tl_xrealloc(WB.w, WB.cap * sizeof *WB.w);
		WB.len = tl_xrealloc(WB.len, WB.cap * sizeof *WB.len);
	}
	WB.w[WB.n] = w;
	WB.len[WB.n++] = n;
}

static void on_offset(size_t start, size_t end, void *ctx)
{
	size_t se[2] = {start, end};
	add_word((const char *)ctx + start, end - start);
	tl_buf_add(&WB.offs, se, sizeof se);
}

/* A record with "words" (or "text" under --words): ids, word_ids, and
 * truncated when pieces were cut (warned once per record up to 5, then a
 * count at the end). */
static void encode_words(tl_writer *w, tl_record *rec, tl_tokenizer *tk, const tl_vocab *v, tl_tok_out *out,
			 int want_tokens, uint64_t *ntok, uint64_t *nunk, int32_t unk_id, const int32_t *spec_id)
{
	const msgpack_object *wo = tl_rec_get(rec, "words");
	WB.n = 0;
	WB.offs.len = 0;
	int from_text = 0;
	size_t off, bw;
	if (wo) {
		if (wo->type != MSGPACK_OBJECT_ARRAY)
			tl_die_rec(TL_EXIT_DATA, rec->no, "\"words\" is %s, not an array of strings",
				   tl_msgpack_type_name(wo->type));
		for (uint32_t i = 0; i < wo->via.array.size; i++) {
			const msgpack_object *x = &wo->via.array.ptr[i];
			if (x->type != MSGPACK_OBJECT_STR)
				tl_die_rec(TL_EXIT_DATA, rec->no, "\"words\"[%u] is %s, not a string", i,
					   tl_msgpack_type_name(x->type));
			add_word(x->via.str.ptr, x->via.str.size);
		}
	} else {
		size_t alen = 0;
		int bad = 0;
		const char *a = tl_rec_str(rec, "text", &alen, &bad);
		if (bad)
			tl_die_rec(TL_EXIT_DATA, rec->no, "\"text\" is %s, not a string",
				   tl_msgpack_type_name(tl_rec_get(rec, "text")->type));
		if (!a)
			tl_die_rec(TL_EXIT_DATA, rec->no, "no \"words\" and no \"text\" key");
		if (tl_tokenizer_split_offsets(tk, a, alen, on_offset, (void *)a, &off) < 0)
			tl_die_rec(TL_EXIT_DATA, rec->no, "\"text\": invalid UTF-8 at byte %zu", off);
		from_text = 1;
	}
	if (tl_tokenizer_encode_words(tk, WB.w, WB.len, WB.n, out, &bw, &off) < 0)
		tl_die_rec(TL_EXIT_DATA, rec->no, "\"words\"[%zu]: invalid UTF-8 at byte %zu", bw, off);
	for (size_t i = 0; i < out->n; i++) {
		int32_t id = out->ids[i];
		if (out->word_ids[i] < 0 || id == spec_id[0] || id == spec_id[1] || id == spec_id[2] || id == spec_id[3])
			continue;
		(*ntok)++;
		*nunk += id == unk_id;
	}
	size_t pieces = out->n_a, kept = 0;
	for (size_t i = 0; i < out->n; i++)
		kept += out->word_ids[i] >= 0;
	int truncated = kept < pieces;
	if (truncated) {
		/* the words after the last one with a token */
		long lastw = -1;
		for (size_t i = out->n; i-- > 0 && lastw < 0;)
			lastw = out->word_ids[i];
		uint64_t lost = WB.n - (size_t)(lastw + 1);
		nlost += lost;
		if (ntrunc < 5)
			tl_warn_rec(rec->no, "%zu word pieces, more than --max-len %ld allows: truncated, %llu word%s "
					     "after word %zu get no token",
				    pieces, max_len_g, (unsigned long long)lost, lost == 1 ? "" : "s", (size_t)(lastw + 1));
		ntrunc++;
	}
	tl_writer_start(w, rec->map);
	if (from_text) {
		msgpack_packer *pk = tl_writer_key(w, "words");
		msgpack_pack_array(pk, (uint32_t)WB.n);
		for (size_t i = 0; i < WB.n; i++)
			tl_pack_str(pk, WB.w[i], WB.len[i]);
		pk = tl_writer_key(w, "offsets");
		msgpack_pack_array(pk, (uint32_t)WB.n);
		const size_t *se = (const size_t *)(void *)WB.offs.data;
		for (size_t i = 0; i < WB.n; i++) {
			msgpack_pack_array(pk, 2);
			msgpack_pack_uint64(pk, se[2 * i]);
			msgpack_pack_uint64(pk, se[2 * i + 1]);
		}
	}
	tl_pack_i32_bin(tl_writer_key(w, "ids"), out->ids, out->n);
	tl_pack_i32_bin(tl_writer_key(w, "word_ids"), out->word_ids, out->n);
	tl_writer_drop(w, "type_ids");
	if (truncated)
		msgpack_pack_true(tl_writer_key(w, "truncated"));
	else
		tl_writer_drop(w, "truncated");
	if (want_tokens) {
		msgpack_packer *pk = tl_writer_key(w, "tokens");
		msgpack_pack_array(pk, (uint32_t)out->n);
		for (size_t i = 0; i < out->n; i++) {
			size_t tl = 0;
			const char *ts = tl_vocab_token(v, out->ids[i], &tl);
			tl_pack_str(pk, ts ? ts : "", tl);
		}
	} else {
		tl_writer_drop(w, "tokens");
	}
	tl_writer_end(w);
}

/* ---------------- main ---------------- */

static const char *trunc_names[] = {"head", "tail", "head+tail"};
static const char *mode_names[] = {"wordpiece", "word", "char"};

static void put_header(tl_writer *w, const msgpack_object *in, int argc, char **argv, const tl_vocab *v,
		       const tl_tok_opts *o)
{
	tl_header_start(w, in, argc, argv);
	msgpack_packer *pk = tl_writer_key(w, "tokenizer");
	msgpack_pack_map(pk, 8);
	tl_pack_cstr(pk, "mode");
	tl_pack_cstr(pk, mode_names[o->mode]);
	tl_pack_cstr(pk, "vocab_sha256");
	tl_pack_cstr(pk, tl_vocab_sha256(v));
	tl_pack_cstr(pk, "vocab_size");
	msgpack_pack_uint64(pk, tl_vocab_size(v));
	tl_pack_cstr(pk, "lower");
	o->lower ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "strip_accents");
	o->strip_accents ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "chinese_chars");
	o->chinese ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "max_len");
	msgpack_pack_long(pk, o->max_len);
	tl_pack_cstr(pk, "truncate");
	tl_pack_cstr(pk, trunc_names[o->truncate]);
	tl_writer_end(w);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},       {"vocab", required_argument, 0, O_VOCAB},
		{"mode", required_argument, 0, O_MODE},       {"max-len", required_argument, 0, O_MAXLEN},
		{"truncate", required_argument, 0, O_TRUNC},  {"tokens", no_argument, 0, O_TOKENS},
		{"lower", no_argument, 0, O_LOWER},           {"no-lower", no_argument, 0, O_NOLOWER},
		{"strip-accents", no_argument, 0, O_STRIP},   {"no-strip-accents", no_argument, 0, O_NOSTRIP},
		{"no-chinese-chars", no_argument, 0, O_NOCJK}, {"split-special", no_argument, 0, O_SPLITSPEC},
		{"no-special", no_argument, 0, O_NOSPEC},     {"special", no_argument, 0, O_SPEC},
		{"build-vocab", required_argument, 0, O_BUILD}, {"min-count", required_argument, 0, O_MINCOUNT},
		{"max-vocab", required_argument, 0, O_MAXVOCAB}, {"help", no_argument, 0, 'h'},
		{"quiet", no_argument, 0, 'q'},               {"version", no_argument, 0, O_VERSION},
		{"words", no_argument, 0, O_WORDS},
		{0, 0, 0, 0}};
	const char *model = NULL, *vocab_path = NULL, *build = NULL;
	int mode = TL_TOK_WORDPIECE, truncate = TL_TRUNC_HEAD, want_tokens = 0, split_words = 0;
	int lower = -1, strip = -2, chinese = -1, split_special = 0, special = -1, quiet = 0;
	long max_len = -1, min_count = 1, max_vocab = 0;
	int c;
	while ((c = getopt_long(argc, argv, "m:hq", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = tl_parse_path("-m", optarg); break;
		case O_VOCAB: vocab_path = tl_parse_path("--vocab", optarg); break;
		case O_MODE:
			for (mode = 0; mode < 3 && strcmp(optarg, mode_names[mode]); mode++)
				;
			if (mode == 3)
				tl_die(TL_EXIT_USAGE, "option --mode: unknown mode '%s' (wordpiece, word, char)", optarg);
			break;
		case O_MAXLEN: max_len = tl_parse_long("--max-len", optarg, 0, 1L << 30); break;
		case O_TRUNC:
			for (truncate = 0; truncate < 3 && strcmp(optarg, trunc_names[truncate]); truncate++)
				;
			if (truncate == 3)
				tl_die(TL_EXIT_USAGE, "option --truncate: unknown value '%s' (head, tail, head+tail)", optarg);
			break;
		case O_TOKENS: want_tokens = 1; break;
		case O_WORDS: split_words = 1; break;
		case O_LOWER: lower = 1; break;
		case O_NOLOWER: lower = 0; break;
		case O_STRIP: strip = 1; break;
		case O_NOSTRIP: strip = 0; break;
		case O_NOCJK: chinese = 0; break;
		case O_SPLITSPEC: split_special = 1; break;
		case O_NOSPEC: special = 0; break;
		case O_SPEC: special = 1; break;
		case O_BUILD: build = tl_parse_path("--build-vocab", optarg); break;
		case O_MINCOUNT: min_count = tl_parse_long("--min-count", optarg, 1, 1L << 40); break;
		case O_MAXVOCAB: max_vocab = tl_parse_long("--max-vocab", optarg, 0, 1L << 31); break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (optind + 1 < argc)
		tl_die(TL_EXIT_USAGE, "one input file at most (got %d)", argc - optind);
	if (model && vocab_path)
		tl_die(TL_EXIT_USAGE, "use -m or --vocab, not both");
	if (build && mode == TL_TOK_WORDPIECE)
		tl_die(TL_EXIT_USAGE, "--build-vocab needs --mode word or --mode char");
	if (build && (model || vocab_path))
		tl_die(TL_EXIT_USAGE, "--build-vocab makes a vocabulary: no -m or --vocab with it");
	if (split_words && (mode != TL_TOK_WORDPIECE || build))
		tl_die(TL_EXIT_USAGE, "--words needs --mode wordpiece (and no --build-vocab)");
	if (mode != TL_TOK_WORDPIECE && !build && !model && !vocab_path)
		tl_die(TL_EXIT_USAGE, "--mode %s needs --vocab FILE (make one with --build-vocab)", mode_names[mode]);

	/* -m takes a directory, or a model name looked up like the other tools
	 * do (tl_model_find: $TL_MODEL_PATH, the user's and the installed share dirs,
	 * the source tree's models/, ./models) */
	char *found = NULL;
	struct stat st;
	if (model && (stat(model, &st) != 0 || !S_ISDIR(st.st_mode))) {
		char ferr[1024];
		if (!(found = tl_model_find(model, ferr, sizeof ferr)))
			tl_die(TL_EXIT_MODEL, "%s; the model whose vocabulary to use is -m NAME|DIR", ferr);
		model = found;
	}

	/* settings: model config, then the options */
	tl_vocab_config cfg;
	tl_vocab_config_default(&cfg);
	if (mode != TL_TOK_WORDPIECE)
		cfg.strip_accents = 0;
	char err[512];
	if (model && tl_vocab_read_config(model, &cfg, err, sizeof err) < 0)
		tl_die(TL_EXIT_MODEL, "%s", err);
	if (lower >= 0)
		cfg.lower = lower;
	if (strip >= -1)
		cfg.strip_accents = strip;
	if (chinese >= 0)
		cfg.chinese = chinese;
	tl_tok_opts o;
	tl_tok_opts_default(&o);
	o.mode = mode;
	o.lower = cfg.lower;
	o.strip_accents = cfg.strip_accents < 0 ? cfg.lower : cfg.strip_accents;
	o.chinese = cfg.chinese;
	o.split_special = split_special;
	o.add_special = special >= 0 ? special : mode == TL_TOK_WORDPIECE;
	o.truncate = truncate;
	if (max_len >= 0)
		o.max_len = max_len;
	else if (mode != TL_TOK_WORDPIECE)
		o.max_len = 0;
	else
		o.max_len = cfg.max_len > 0 ? cfg.max_len : 512;
	if (o.max_len > 0 && o.max_len < (o.add_special ? 3 : 1))
		tl_die(TL_EXIT_USAGE, "option --max-len: %ld leaves no room for the special tokens (0 = no limit)",
		       o.max_len);

	max_len_g = o.max_len;
	tl_vocab *v = NULL;
	if (build) {
		/* a throw-away vocabulary that has [UNK] so the tokenizer can run */
		v = tl_vocab_from_mem("[UNK]\n", 6, "(build)", err, sizeof err);
	} else if (model) {
		tl_buf p = {0};
		tl_buf_printf(&p, "%s/vocab.txt", model);
		v = tl_vocab_load(tl_buf_cstr(&p), err, sizeof err);
		tl_buf_free(&p);
	} else if (vocab_path) {
		v = tl_vocab_load(vocab_path, err, sizeof err);
	} else {
		v = tl_vocab_default();
	}
	if (!v)
		tl_die(TL_EXIT_MODEL, "%s", err);
	tl_tokenizer *tk = tl_tokenizer_init(v, &o, err, sizeof err);
	if (!tk)
		tl_die(TL_EXIT_MODEL, "%s", err);

	const char *in = optind < argc ? argv[optind] : "-";
	tl_reader *r = tl_reader_open(in);
	if (!r)
		tl_die_open(in);
	tl_writer *w = build ? NULL : tl_writer_open(stdout);
	tl_record rec;
	tl_tok_out out = {0};
	int first = 1;
	uint64_t ntexts = 0;
	/* the [UNK] share over the whole stream, special tokens not counted */
	uint64_t ntok = 0, nunk = 0;
	int saw_cjk = 0;
	int32_t unk_id = tl_vocab_id(v, "[UNK]", 5), spec_id[4];
	for (int i = 0; i < 4; i++) {
		static const char *const sp[] = {"[CLS]", "[SEP]", "[PAD]", "[MASK]"};
		spec_id[i] = tl_vocab_id(v, sp[i], strlen(sp[i]));
	}
	while (tl_reader_next_or_die(r, &rec)) {
		if (first && w)
			put_header(w, rec.is_header ? rec.map : NULL, argc, argv, v, &o);
		int was_first = first;
		first = 0;
		if (rec.is_header) {
			if (!was_first && w) { /* a later header (concatenated streams): pass on */
				tl_writer_start(w, rec.map);
				tl_writer_end(w);
			}
			continue;
		}
		if (!build && mode == TL_TOK_WORDPIECE && (split_words || tl_rec_get(&rec, "words"))) {
			ntexts++;
			encode_words(w, &rec, tk, v, &out, want_tokens, &ntok, &nunk, unk_id, spec_id);
			continue;
		}
		size_t alen = 0, blen = 0;
		int bad = 0;
		const char *a = tl_rec_str(&rec, "text", &alen, &bad);
		if (bad)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"text\" is %s, not a string",
				   tl_msgpack_type_name(tl_rec_get(&rec, "text")->type));
		if (!a)
			tl_die_rec(TL_EXIT_DATA, rec.no, "no \"text\" key");
		bad = 0;
		const char *b = tl_rec_str(&rec, "text_b", &blen, &bad);
		if (bad && tl_rec_get(&rec, "text_b")->type != MSGPACK_OBJECT_NIL)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"text_b\" is %s, not a string",
				   tl_msgpack_type_name(tl_rec_get(&rec, "text_b")->type));
		size_t off;
		int inb;
		ntexts++;
		if (build) {
			if (tl_tokenizer_words(tk, a, alen, count_word, NULL, &off) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"text\": invalid UTF-8 at byte %zu", off);
			if (b && tl_tokenizer_words(tk, b, blen, count_word, NULL, &off) < 0)
				tl_die_rec(TL_EXIT_DATA, rec.no, "\"text_b\": invalid UTF-8 at byte %zu", off);
			continue;
		}
		if (tl_tokenizer_encode(tk, a, alen, b, blen, &out, &off, &inb) < 0)
			tl_die_rec(TL_EXIT_DATA, rec.no, "\"%s\": invalid UTF-8 at byte %zu", inb ? "text_b" : "text", off);
		for (size_t i = 0; i < out.n; i++) {
			int32_t id = out.ids[i];
			if (id >= 0 && (id == spec_id[0] || id == spec_id[1] || id == spec_id[2] || id == spec_id[3]))
				continue;
			ntok++;
			nunk += id == unk_id;
		}
		if (!saw_cjk && nunk)
			saw_cjk = has_cjk(a, alen) || (b && has_cjk(b, blen));
		tl_writer_start(w, rec.map);
		tl_pack_i32_bin(tl_writer_key(w, "ids"), out.ids, out.n);
		if (b)
			tl_pack_i32_bin(tl_writer_key(w, "type_ids"), out.type_ids, out.n);
		else
			tl_writer_drop(w, "type_ids");
		if (want_tokens) {
			msgpack_packer *pk = tl_writer_key(w, "tokens");
			msgpack_pack_array(pk, (uint32_t)out.n);
			for (size_t i = 0; i < out.n; i++) {
				size_t tl = 0;
				const char *ts = tl_vocab_token(v, out.ids[i], &tl);
				tl_pack_str(pk, ts ? ts : "", tl);
			}
		} else {
			tl_writer_drop(w, "tokens");
		}
		tl_writer_end(w);
	}
	if (ntrunc)
		tl_warn("%llu record%s longer than --max-len %ld word pieces: truncated (\"truncated\": true), "
			"%llu word%s without a token get no prediction",
			(unsigned long long)ntrunc, ntrunc == 1 ? "" : "s", o.max_len, (unsigned long long)nlost,
			nlost == 1 ? "" : "s");
	if (first && w) /* empty input: still one header */
		put_header(w, NULL, argc, argv, v, &o);
	tl_reader_close(r);
	if (build)
		write_vocab(build, min_count, max_vocab);
	if (w && tl_writer_free(w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	if (!quiet && o.mode == TL_TOK_WORDPIECE && unk_id >= 0 && ntok > 0 && nunk * 20 > ntok)
		tl_warn("%.1f%% of the tokens are [UNK] (the vocabulary does not cover this text: %s)",
			100.0 * (double)nunk / (double)ntok,
			saw_cjk ? "Chinese text needs a Chinese vocabulary, e.g. -m bert-base-chinese"
				: "use the vocabulary of a model made for this language, -m NAME|DIR");
	tl_tok_out_free(&out);
	free(WB.w), free(WB.len), tl_buf_free(&WB.offs);
	tl_tokenizer_free(tk);
	tl_vocab_free(v);
	free(found);
	tl_close_stdout();
	return 0;
}
