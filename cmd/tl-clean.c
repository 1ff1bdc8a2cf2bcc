/* tl-clean - turn raw text (lines, TSV, CSV, JSON lines, fastText, or a
 * stream) into a cleaned record stream: {id, text, [text_b], [label], ...}. */
#include "tl/cli.h"
#include "tl/input.h"
#include "tl/jieba.h"
#include "tl/json.h"
#include "tl/stream.h"
#include "tl/text.h"
#include "tl/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
	"usage: tl-clean [OPTIONS] [FILE]\n"
	"Read raw text and write a tl record stream (msgpack): a header record, then\n"
	"one map {id, text, [text_b], [label], ...} per input record, with the text\n"
	"cleaned. FILE or '-' (default: standard input); gzip is read transparently.\n"
	"\n"
	"Input:\n"
	"  -f, --format FMT    auto (default), lines, tsv, csv, jsonl, fasttext, stream,\n"
	"                      conll (word-per-line NER data: {id, words, [tags]} per\n"
	"                      sentence; --text N word column (1), --label N tag\n"
	"                      column (default: the last))\n"
	"  -t, --text COL      text column: header name or 1-based number (TSV/CSV),\n"
	"                      key (JSONL/stream; default \"text\"); a list COL,COL,...\n"
	"                      joins those columns' texts with one space (e.g. 2,3)\n"
	"  -b, --text-b COL    second text of a pair (default: a column text_b/sentence2)\n"
	"  -l, --label COL     label column/key (default: label, class, sentiment, ...)\n"
	"  -i, --id COL        id column/key (default: id, qid, index; else the record number)\n"
	"      --header        the first TSV/CSV row names the columns\n"
	"      --no-header     there is no header row (default: detected)\n"
	"      --quoting MODE  TSV quotes: auto (default), rfc, none\n"
	"      --no-extra      do not copy the other named TSV/CSV columns\n"
	"      --label-prefix P  fastText label prefix (default __label__)\n"
	"      --max-record N  longest record in bytes (default 64M; 0: no limit)\n"
	"\n"
	"Cleaning (defaults: html, controls and space on, the rest off):\n"
	"      --raw           no cleaning at all except UTF-8 repair\n"
	"      --fix-entities  repair scraped entities first: #39; #36; (no '&'),\n"
	"                      &amp;#39; &amp;quot; (escaped twice); runs of '\\' -> space\n"
	"      --[no-]html     strip HTML tags (-> space) and decode entities\n"
	"      --[no-]controls drop control and format characters\n"
	"      --[no-]space    collapse whitespace to single spaces and trim\n"
	"      --urls MODE     keep (default), remove, replace, replace=TOKEN (<url>)\n"
	"      --emails MODE   keep (default), remove, replace, replace=TOKEN (<email>)\n"
	"      --nfkc          Unicode NFKC normalization\n"
	"      --lower         lower-case;  --casefold  full case folding (ss for ß)\n"
	"      --keep LIST     keep only these characters, the rest -> space: letters,\n"
	"                      marks, digits, numbers, punct, symbols, cjk, ascii,\n"
	"                      U+XXXX-U+YYYY (e.g. --keep U+4E00-U+9FA5)\n"
	"      --stopwords W   remove stop words: en, zh, FILE, or a list en,zh (repeatable)\n"
	"      --zh-segmented  Chinese text is segmented: match stop words as words\n"
	"      --segment jieba[:MODE]  segment Chinese into space-separated words as\n"
	"                      jieba 0.42.1 does (MODE: default, nohmm, full, search);\n"
	"                      stop words then match whole words (needs make jieba)\n"
	"      --user-dict FILE  jieba user dictionary: word [freq] [tag] lines\n"
	"      --drop-empty    drop records whose cleaned text is empty\n"
	"      --strict        invalid UTF-8 is an error, not repaired\n"
	"\n"
	"  -h, --help          show this help;  --version  show the version\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 2 usage, 3 bad input, 4 I/O error,\n"
	"5 jieba dictionary missing or corrupt.\n";

enum {
	O_HEADER = 256, O_NOHEADER, O_QUOTING, O_NOEXTRA, O_PREFIX, O_MAXREC, O_RAW, O_HTML, O_NOHTML,
	O_CTRL, O_NOCTRL, O_SPACE, O_NOSPACE, O_URLS, O_EMAILS, O_NFKC, O_LOWER, O_CASEFOLD, O_KEEP,
	O_STOP, O_ZHSEG, O_DROPEMPTY, O_STRICT, O_VERSION, O_FIXENT, O_SEGMENT, O_USERDICT
};

/* --segment jieba: the segmenter, and a second cleaner that removes stop
 * words from the segmented text (the first one runs without them) */
static tl_jieba *JB;
static int seg_mode = -1;
static const char *seg_name, *user_dict;
static tl_cleaner *CL_SW;
static tl_buf segbuf;

/* options */
static int format = TL_FMT_AUTO, header_mode = -1, quoting = TL_QUOTE_AUTO, extra = 1, drop_empty, strict;
static const char *col_text, *col_text_b, *col_label, *col_id, *label_prefix = "__label__";
static const char *keep_list;
/* --text A,B,...: the texts joined with TEXT_SEP (ntext_specs > 1) */
#define MAX_TEXT_COLS 16
#define TEXT_SEP " "
static char *text_specs[MAX_TEXT_COLS];
static int ntext_specs;
static tl_buf joinbuf;
static size_t max_record = (size_t)64 << 20;
static tl_clean_opts CO;
static tl_stopwords *SW;
static char *stop_names;

/* state */
static tl_writer *W;
static tl_cleaner *CL;
static size_t nrepaired, nrepaired_recs;
static uint64_t last_bad_rec = UINT64_MAX;

static void note_repaired(size_t n, uint64_t recno)
{
	nrepaired += n;
	if (recno != last_bad_rec)
		nrepaired_recs++;
	last_bad_rec = recno;
}
static tl_buf scratch, scratch2, labelbuf;
static int argc_saved;
static char **argv_saved;

/* ---------------- helpers ---------------- */

static size_t parse_size(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		tl_die(TL_EXIT_USAGE, "option %s: '%s' is not a size", opt, s);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (*end)
		tl_die(TL_EXIT_USAGE, "option %s: '%s' is not a size (bytes, or with k, M, G)", opt, s);
	return (size_t)v;
}

static int url_mode(const char *opt, const char *s, const char **token)
{
	if (!strcmp(s, "keep"))
		return TL_URL_KEEP;
	if (!strcmp(s, "remove"))
		return TL_URL_REMOVE;
	if (!strcmp(s, "replace"))
		return TL_URL_REPLACE;
	if (!strncmp(s, "replace=", 8)) {
		*token = s + 8;
		return TL_URL_REPLACE;
	}
	tl_die(TL_EXIT_USAGE, "option %s: unknown mode '%s' (keep, remove, replace, replace=TOKEN)", opt, s);
}

static const char *url_mode_name(int m)
{
	return m == TL_URL_REMOVE ? "remove" : m == TL_URL_REPLACE ? "replace" : "keep";
}

/* A valid UTF-8 copy of s (repaired) or s itself. Under --strict invalid
 * UTF-8 is an error naming the record and the field. */
static const char *valid_utf8(tl_buf *b, const char *s, size_t *len, uint64_t recno, const char *what)
{
	size_t bad = tl_text_count_invalid_utf8(s, *len);
	if (!bad)
		return s;
	if (strict)
		tl_die_rec(TL_EXIT_DATA, recno, "invalid UTF-8 in %s (--strict)", what);
	b->len = 0;
	note_repaired(tl_text_repair_utf8(b, s, *len), recno);
	*len = b->len;
	return b->data;
}

/* Clean a text; counts repairs or dies under --strict. */
static const char *clean(const char *s, size_t len, size_t *outlen, uint64_t recno, const char *what)
{
	size_t bad = 0;
	const char *r = tl_cleaner_run(CL, s, len, outlen, &bad);
	if (bad) {
		if (strict)
			tl_die_rec(TL_EXIT_DATA, recno, "invalid UTF-8 in %s (--strict)", what);
		note_repaired(bad, recno);
	}
	if (JB) {
		segbuf.len = 0;
		tl_jieba_cut_join(JB, r, *outlen, seg_mode, &segbuf);
		if (CL_SW)
			return tl_cleaner_run(CL_SW, segbuf.data ? segbuf.data : "", segbuf.len, outlen, NULL);
		*outlen = segbuf.len;
		return tl_buf_cstr(&segbuf);
	}
	return r;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static void write_header(const msgpack_object *in_header)
{
	tl_header_start(W, in_header, argc_saved, argv_saved);
	msgpack_packer *pk = tl_writer_key(W, "clean");
	int nkeys = 12 + (JB ? 1 : 0) + (user_dict ? 1 : 0);
	msgpack_pack_map(pk, (size_t)nkeys);
	tl_pack_cstr(pk, "format");
	tl_pack_cstr(pk, tl_format_name(format));
	tl_pack_cstr(pk, "html");
	CO.html ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "controls");
	CO.controls ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "urls");
	tl_pack_cstr(pk, url_mode_name(CO.urls));
	tl_pack_cstr(pk, "emails");
	tl_pack_cstr(pk, url_mode_name(CO.emails));
	tl_pack_cstr(pk, "nfkc");
	CO.nfkc ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "case");
	tl_pack_cstr(pk, CO.casemode == TL_CASE_LOWER ? "lower" : CO.casemode == TL_CASE_FOLD ? "fold" : "keep");
	tl_pack_cstr(pk, "keep");
	if (keep_list)
		tl_pack_cstr(pk, keep_list);
	else
		msgpack_pack_nil(pk);
	tl_pack_cstr(pk, "stopwords");
	if (stop_names)
		tl_pack_cstr(pk, stop_names);
	else
		msgpack_pack_nil(pk);
	tl_pack_cstr(pk, "zh_segmented");
	CO.zh_segmented || JB ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "space");
	CO.space ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	tl_pack_cstr(pk, "fix_entities");
	CO.fix_entities ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	if (JB) {
		tl_pack_cstr(pk, "segment");
		tl_pack_cstr(pk, seg_name);
	}
	if (user_dict) {
		tl_pack_cstr(pk, "user_dict");
		tl_pack_cstr(pk, user_dict);
	}
	tl_writer_end(W);
}

/* ---------------- lines and fastText ---------------- */

static void emit_simple(uint64_t id, const char *text, size_t tlen, const char **labels, const size_t *llen,
			size_t nlabels)
{
	size_t n;
	const char *t = clean(text, tlen, &n, id, "text");
	if (drop_empty && n == 0)
		return;
	msgpack_packer *pk = tl_writer_raw(W);
	msgpack_pack_map(pk, nlabels ? 3 : 2);
	tl_pack_str(pk, "id", 2);
	msgpack_pack_uint64(pk, id);
	tl_pack_str(pk, "text", 4);
	tl_pack_str(pk, t, n);
	if (nlabels) {
		tl_pack_str(pk, "label", 5);
		if (nlabels > 1)
			msgpack_pack_array(pk, nlabels);
		for (size_t i = 0; i < nlabels; i++) {
			size_t l = llen[i];
			const char *s = valid_utf8(&scratch, labels[i], &l, id, "label");
			tl_pack_str(pk, s, l);
		}
	}
	tl_writer_commit(W);
}

static void read_lines(tl_input *in, int fasttext)
{
	const char *line;
	size_t len;
	size_t plen = strlen(label_prefix);
	const char **labels = NULL;
	size_t *llen = NULL, lcap = 0;
	int r;
	uint64_t id = 0; /* the record number: blank lines are no records */
	while ((r = tl_input_next_line(in, &line, &len)) == TL_INPUT_OK) {
		if (is_blank(line, len))
			continue;
		id++;
		size_t nl = 0;
		if (fasttext) {
			for (;;) {
				size_t i = 0;
				while (i < len && (line[i] == ' ' || line[i] == '\t'))
					i++;
				if (len - i <= plen || memcmp(line + i, label_prefix, plen) != 0)
					break;
				size_t e = i + plen;
				while (e < len && line[e] != ' ' && line[e] != '\t')
					e++;
				if (nl == lcap) {
					lcap = lcap ? 2 * lcap : 4;
					labels = tl_xrealloc(labels, lcap * sizeof *labels);
					llen = tl_xrealloc(llen, lcap * sizeof *llen);
				}
				labels[nl] = line + i + plen;
				llen[nl++] = e - i - plen;
				line += e;
				len -= e;
			}
		}
		emit_simple(id, line, len, labels, llen, nl);
	}
	free(labels);
	free(llen);
	if (r == TL_INPUT_IOERR)
		tl_die(TL_EXIT_IO, "%s", tl_input_error(in));
	if (r == TL_INPUT_ERR) /* the record that would have come next (the message names its line) */
		tl_die_rec(TL_EXIT_DATA, id + 1, "%s", tl_input_error(in));
}

/* ---------------- CoNLL ---------------- */

static int is_number_spec(const char *s);
static int conll_col(const char *opt, const char *spec, int dflt)
{
	if (!spec)
		return dflt;
	char *end;
	long v = strtol(spec, &end, 10);
	if (!is_number_spec(spec) || *end || v < 1 || v > 64)
		tl_die(TL_EXIT_USAGE, "option %s: -f conll takes a column number 1..64, not '%s'", opt, spec);
	return (int)v;
}

/* One record per sentence: {id, words, [tags]}. Words and tags are kept as
 * they are (no cleaning: they are tokens already), only invalid UTF-8 is
 * repaired (an error under --strict). */
static void read_conll(tl_input *in)
{
	if (col_text_b || col_id || ntext_specs)
		tl_die(TL_EXIT_USAGE, "-f conll: --text-b, --id and a --text list do not apply");
	int tc = conll_col("--text", col_text, 1), lc = conll_col("--label", col_label, 0);
	if (lc && lc == tc)
		tl_die(TL_EXIT_USAGE, "-f conll: --text and --label are the same column %d", tc);
	tl_conll_sent st;
	int r;
	uint64_t id = 0;
	while ((r = tl_input_next_sentence(in, tc, lc, &st)) == TL_INPUT_OK) {
		id++;
		msgpack_packer *pk = tl_writer_raw(W);
		msgpack_pack_map(pk, st.tag ? 3 : 2);
		tl_pack_str(pk, "id", 2);
		msgpack_pack_uint64(pk, id);
		for (int k = 0; k < (st.tag ? 2 : 1); k++) {
			const char **v = k ? st.tag : st.word;
			tl_pack_cstr(pk, k ? "tags" : "words");
			msgpack_pack_array(pk, st.n);
			for (size_t i = 0; i < st.n; i++) {
				size_t l = strlen(v[i]);
				const char *x = valid_utf8(&scratch, v[i], &l, id, k ? "tags" : "words");
				tl_pack_str(pk, x, l);
			}
		}
		tl_writer_commit(W);
	}
	if (r == TL_INPUT_IOERR)
		tl_die(TL_EXIT_IO, "%s", tl_input_error(in));
	if (r == TL_INPUT_ERR)
		tl_die(TL_EXIT_DATA, "%s", tl_input_error(in));
}

/* ---------------- TSV and CSV ---------------- */

static const char *const names_text[] = {"text", "sentence", "text_a", "review", "content", "document",
					 "comment", "body", "sentence1", "question", "tweet", NULL};
static const char *const names_text_b[] = {"text_b", "sentence2", NULL};
static const char *const names_label[] = {"label", "labels", "class", "category", "sentiment", "polarity",
					  "target", "y", NULL};
static const char *const names_id[] = {"id", "qid", "idx", "index", "guid", NULL};

static char **hdr; /* header names (NUL-terminated copies) */
static size_t nhdr;

static int looks_like_header(const tl_row *row)
{
	for (size_t i = 0; i < row->n; i++) {
		const char *s = row->field[i];
		size_t n = row->len[i], spaces = 0;
		if (n == 0 || n > 40 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
			return 0;
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[k];
			if (c == ' ')
				spaces++;
			else if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
				return 0;
		}
		if (spaces > 3)
			return 0;
	}
	return 1;
}

static int is_number_spec(const char *s);
static int text_spec_has_name(void);
static int is_number_spec(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Split --text A,B into text_specs (a single name stays whole). */
static void split_text_spec(void)
{
	if (!col_text || !strchr(col_text, ',')) {
		ntext_specs = 0;
		return;
	}
	char *list = tl_xstrdup(col_text), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (ntext_specs == MAX_TEXT_COLS)
			tl_die(TL_EXIT_USAGE, "option --text: more than %d columns", MAX_TEXT_COLS);
		text_specs[ntext_specs++] = tl_xstrdup(t);
	}
	free(list);
	if (ntext_specs == 0)
		tl_die(TL_EXIT_USAGE, "option --text: no column in '%s'", col_text);
	if (ntext_specs == 1) { /* "2," */
		col_text = text_specs[0];
		ntext_specs = 0;
	}
}

/* Whether --text names a column (a header is then needed). */
static int text_spec_has_name(void)
{
	if (!col_text)
		return 0;
	if (!ntext_specs)
		return !is_number_spec(col_text);
	for (int i = 0; i < ntext_specs; i++)
		if (!is_number_spec(text_specs[i]))
			return 1;
	return 0;
}

static void list_columns(tl_buf *b)
{
	for (size_t i = 0; i < nhdr; i++) {
		if (i)
			tl_buf_adds(b, ", ");
		tl_buf_adds(b, hdr[i]);
	}
}

/* Resolve a --text/--label/... spec to a 0-based column, or -1. */
static long resolve_col(const char *opt, const char *spec)
{
	if (!spec)
		return -1;
	if (is_number_spec(spec)) {
		long v = tl_parse_long(opt, spec, 1, 1000000);
		return v - 1;
	}
	for (size_t i = 0; i < nhdr; i++)
		if (!strcmp(hdr[i], spec))
			return (long)i;
	for (size_t i = 0; i < nhdr; i++)
		if (!strcasecmp(hdr[i], spec))
			return (long)i;
	tl_buf b = {0};
	list_columns(&b);
	tl_die(TL_EXIT_USAGE, "option %s: no column '%s' (columns: %s)", opt, spec, nhdr ? tl_buf_cstr(&b) : "none");
}

static long find_named(const char *const *names, const long *taken, int ntaken)
{
	for (const char *const *n = names; *n; n++)
		for (size_t i = 0; i < nhdr; i++)
			if (!strcasecmp(hdr[i], *n)) {
				int t = 0;
				for (int k = 0; k < ntaken; k++)
					t |= taken[k] == (long)i;
				if (!t)
					return (long)i;
			}
	return -1;
}

static int is_int_field(const char *s, size_t n)
{
	trim(&s, &n);
	if (n && (*s == '-' || *s == '+'))
		s++, n--;
	if (n == 0 || n > 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static void read_table(tl_input *in, char delim)
{
	tl_row row;
	int r;
	long c_text = -1, c_text_b = -1, c_label = -1, c_id = -1;
	long c_more[MAX_TEXT_COLS]; /* --text A,B: the columns after the first */
	int nmore = 0;
	int resolved = 0;
	uint64_t recno = 0;
	int first = 1;
	int q = delim == ',' ? TL_QUOTE_RFC : quoting;
	char *extra_used = NULL;
	while ((r = tl_input_next_row(in, delim, q, &row)) == TL_INPUT_OK) {
		if (first) {
			first = 0;
			int names_given = text_spec_has_name() ||
					  (col_label && !is_number_spec(col_label)) ||
					  (col_text_b && !is_number_spec(col_text_b)) || (col_id && !is_number_spec(col_id));
			int is_hdr = header_mode == 1 || (header_mode == -1 && (names_given || looks_like_header(&row)));
			if (names_given && header_mode == 0)
				tl_die(TL_EXIT_USAGE, "column names need a header row (drop --no-header or use numbers)");
			if (is_hdr) {
				nhdr = row.n;
				hdr = tl_xcalloc(nhdr, sizeof *hdr);
				for (size_t i = 0; i < nhdr; i++) {
					const char *s = row.field[i];
					size_t n = row.len[i];
					trim(&s, &n);
					s = valid_utf8(&scratch, s, &n, 0, "the header row");
					hdr[i] = tl_xmalloc(n + 1);
					memcpy(hdr[i], s, n);
					hdr[i][n] = 0;
				}
				continue;
			}
		}
		recno++;
		if (!resolved) {
			resolved = 1;
			/* a list A,B (unless a header names a column "A,B") */
			int whole = 0;
			for (size_t i = 0; ntext_specs && i < nhdr; i++)
				whole |= !strcmp(hdr[i], col_text);
			if (ntext_specs && !whole) {
				c_text = resolve_col("--text", text_specs[0]);
				for (int i = 1; i < ntext_specs; i++)
					c_more[nmore++] = resolve_col("--text", text_specs[i]);
			} else
				c_text = resolve_col("--text", col_text);
			c_text_b = resolve_col("--text-b", col_text_b);
			c_label = resolve_col("--label", col_label);
			c_id = resolve_col("--id", col_id);
			if (nhdr) {
				long taken[4] = {c_text, c_text_b, c_label, c_id};
				if (c_text < 0)
					c_text = taken[0] = find_named(names_text, taken, 4);
				if (c_text_b < 0 && !col_text_b)
					c_text_b = taken[1] = find_named(names_text_b, taken, 4);
				if (c_label < 0 && !col_label)
					c_label = taken[2] = find_named(names_label, taken, 4);
				if (c_id < 0 && !col_id)
					c_id = taken[3] = find_named(names_id, taken, 4);
			}
			int guessed = 0;
			if (c_label < 0 && !col_label && !nhdr) {
				for (size_t i = 0; i < row.n; i++)
					if ((long)i != c_text && is_int_field(row.field[i], row.len[i])) {
						c_label = (long)i;
						guessed = 1;
						break;
					}
			}
			if (c_text < 0) {
				/* the column with the longest value in the first data row */
				size_t best = 0;
				for (size_t i = 0; i < row.n; i++)
					if ((long)i != c_label && (long)i != c_id && (long)i != c_text_b &&
					    (c_text < 0 || row.len[i] > best)) {
						c_text = (long)i;
						best = row.len[i];
					}
				guessed = 1;
				if (c_text < 0)
					c_text = 0;
			}
			if (guessed) {
				tl_buf b = {0};
				tl_buf_printf(&b, "text=%ld", c_text + 1);
				if (c_label >= 0)
					tl_buf_printf(&b, ", label=%ld", c_label + 1);
				if (nhdr)
					tl_warn("no column named like a text; using column %ld '%s' (choose with --text)",
						c_text + 1, (size_t)c_text < nhdr ? hdr[c_text] : "");
				else
					tl_warn("no header row: guessed columns %s (choose with --text, --label)",
						tl_buf_cstr(&b));
				tl_buf_free(&b);
			}
			if (nhdr) {
				long maxc = c_text;
				for (int i = 0; i < nmore; i++)
					if (c_more[i] > maxc)
						maxc = c_more[i];
				if (c_text_b > maxc)
					maxc = c_text_b;
				if (c_label > maxc)
					maxc = c_label;
				if (c_id > maxc)
					maxc = c_id;
				if (maxc >= (long)nhdr) {
					tl_buf b = {0};
					list_columns(&b);
					tl_die(TL_EXIT_USAGE, "column %ld does not exist (columns: %s)", maxc + 1, tl_buf_cstr(&b));
				}
				extra_used = tl_xcalloc(nhdr + 1, 1);
				for (size_t i = 0; i < nhdr && extra; i++) {
					const char *h = hdr[i];
					int in_text = 0;
					for (int k = 0; k < nmore; k++)
						in_text |= c_more[k] == (long)i;
					extra_used[i] = !in_text && (long)i != c_text && (long)i != c_text_b && (long)i != c_label &&
							(long)i != c_id && *h && strcmp(h, "id") && strcmp(h, "text") &&
							strcmp(h, "text_b") && strcmp(h, "label") && strcmp(h, "tl") &&
							strcmp(h, "kind");
					for (size_t k = 0; k < i && extra_used[i]; k++)
						if (extra_used[k] && !strcmp(hdr[k], h))
							extra_used[i] = 0;
				}
			}
		}
		if ((size_t)c_text >= row.n)
			tl_die_rec(TL_EXIT_DATA, recno, "line %llu: %zu field%s, but the text is column %ld",
				   (unsigned long long)tl_input_line(in), row.n, row.n == 1 ? "" : "s", c_text + 1);
		if (c_text_b >= 0 && (size_t)c_text_b >= row.n)
			tl_die_rec(TL_EXIT_DATA, recno, "line %llu: %zu field%s, but text_b is column %ld",
				   (unsigned long long)tl_input_line(in), row.n, row.n == 1 ? "" : "s", c_text_b + 1);
		/* text first: the cleaner's buffer is reused for text_b, so text_b is copied */
		size_t n_b = 0;
		const char *t_b = NULL;
		if (c_text_b >= 0) {
			t_b = clean(row.field[c_text_b], row.len[c_text_b], &n_b, recno, "text_b");
			scratch2.len = 0;
			tl_buf_add(&scratch2, t_b, n_b);
			t_b = scratch2.data;
		}
		size_t n;
		const char *t;
		if (nmore) {
			/* the columns' raw texts joined with TEXT_SEP, empty ones skipped */
			joinbuf.len = 0;
			for (int k = -1; k < nmore; k++) {
				long col = k < 0 ? c_text : c_more[k];
				if ((size_t)col >= row.n)
					tl_die_rec(TL_EXIT_DATA, recno, "line %llu: %zu field%s, but the text is column %ld",
						   (unsigned long long)tl_input_line(in), row.n, row.n == 1 ? "" : "s",
						   col + 1);
				const char *f = row.field[col];
				size_t fl = row.len[col];
				trim(&f, &fl);
				if (!fl)
					continue;
				if (joinbuf.len)
					tl_buf_adds(&joinbuf, TEXT_SEP);
				tl_buf_add(&joinbuf, f, fl);
			}
			t = clean(joinbuf.data ? joinbuf.data : "", joinbuf.len, &n, recno, "text");
		} else
			t = clean(row.field[c_text], row.len[c_text], &n, recno, "text");
		if (drop_empty && n == 0)
			continue;
		const char *lab = NULL;
		size_t nlab = 0;
		if (c_label >= 0 && (size_t)c_label < row.n) {
			lab = row.field[c_label];
			nlab = row.len[c_label];
			trim(&lab, &nlab);
			if (nlab == 0)
				lab = NULL;
			else {
				lab = valid_utf8(&labelbuf, lab, &nlab, recno, "label");
			}
		}
		const char *idv = NULL;
		size_t nid = 0;
		if (c_id >= 0 && (size_t)c_id < row.n) {
			idv = row.field[c_id];
			nid = row.len[c_id];
			trim(&idv, &nid);
			idv = valid_utf8(&scratch, idv, &nid, recno, "id");
		}
		size_t nextra = 0;
		if (extra_used)
			for (size_t i = 0; i < nhdr && i < row.n; i++)
				nextra += (size_t)extra_used[i];
		msgpack_packer *pk = tl_writer_raw(W);
		msgpack_pack_map(pk, 2 + (t_b ? 1 : 0) + (lab ? 1 : 0) + nextra);
		tl_pack_str(pk, "id", 2);
		if (idv)
			tl_pack_str(pk, idv, nid);
		else
			msgpack_pack_uint64(pk, recno);
		tl_pack_str(pk, "text", 4);
		tl_pack_str(pk, t, n);
		if (t_b) {
			tl_pack_str(pk, "text_b", 6);
			tl_pack_str(pk, t_b, n_b);
		}
		if (lab) {
			tl_pack_str(pk, "label", 5);
			tl_pack_str(pk, lab, nlab);
		}
		if (nextra)
			for (size_t i = 0; i < nhdr && i < row.n; i++)
				if (extra_used[i]) {
					size_t l = row.len[i];
					const char *s = valid_utf8(&scratch2, row.field[i], &l, recno, hdr[i]);
					tl_pack_cstr(pk, hdr[i]);
					tl_pack_str(pk, s, l);
				}
		tl_writer_commit(W);
	}
	free(extra_used);
	if (r == TL_INPUT_IOERR)
		tl_die(TL_EXIT_IO, "%s", tl_input_error(in));
	if (r == TL_INPUT_ERR)
		tl_die_rec(TL_EXIT_DATA, tl_input_line(in) ? recno + 1 : 0, "%s", tl_input_error(in));
}

/* ---------------- JSON lines and streams ---------------- */

static void die_no_key(uint64_t recno, const msgpack_object *map, const char *key, const char *opt)
{
	tl_buf b = {0};
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		if (b.len)
			tl_buf_adds(&b, ", ");
		tl_buf_add(&b, k->via.str.ptr, k->via.str.size);
	}
	tl_die_rec(TL_EXIT_DATA, recno, "no key \"%s\" (keys: %s); choose one with %s", key,
		   b.len ? tl_buf_cstr(&b) : "none", opt);
}

static void pack_label_value(msgpack_packer *pk, const msgpack_object *o, uint64_t recno, int depth)
{
	switch (o->type) {
	case MSGPACK_OBJECT_STR: {
		size_t l = o->via.str.size;
		const char *s = valid_utf8(&labelbuf, o->via.str.ptr, &l, recno, "label");
		tl_pack_str(pk, s, l);
		return;
	}
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
	case MSGPACK_OBJECT_BOOLEAN: {
		/* the label as its JSON text: 3, -1, true */
		tl_buf num = {0};
		tl_json_from_msgpack(&num, o, NULL, 0);
		tl_pack_str(pk, num.data, num.len);
		tl_buf_free(&num);
		return;
	}
	case MSGPACK_OBJECT_ARRAY:
		if (depth == 0) {
			msgpack_pack_array(pk, o->via.array.size);
			for (uint32_t i = 0; i < o->via.array.size; i++)
				pack_label_value(pk, &o->via.array.ptr[i], recno, 1);
			return;
		}
		/* fall through */
	default:
		tl_die_rec(TL_EXIT_DATA, recno, "label is %s; expected a string, an integer or an array of them",
			   tl_msgpack_type_name(o->type));
	}
}

static void process_map(const msgpack_object *map, uint64_t recno, uint64_t defid)
{
	const char *ktext = col_text ? col_text : "text";
	const char *ktb = col_text_b ? col_text_b : "text_b";
	const char *klab = col_label ? col_label : "label";
	const char *kid = col_id ? col_id : "id";
	const msgpack_object *o = tl_map_get(map, ktext);
	int joined = 0;
	if (!o && ntext_specs) {
		/* --text A,B: the keys' texts joined with TEXT_SEP, empty ones skipped */
		joinbuf.len = 0;
		for (int k = 0; k < ntext_specs; k++) {
			const msgpack_object *v = tl_map_get(map, text_specs[k]);
			if (!v)
				die_no_key(recno, map, text_specs[k], "--text");
			if (v->type != MSGPACK_OBJECT_STR)
				tl_die_rec(TL_EXIT_DATA, recno, "\"%s\" is %s, not a string", text_specs[k],
					   tl_msgpack_type_name(v->type));
			if (!v->via.str.size)
				continue;
			if (joinbuf.len)
				tl_buf_adds(&joinbuf, TEXT_SEP);
			tl_buf_add(&joinbuf, v->via.str.ptr, v->via.str.size);
		}
		joined = 1;
	}
	if (!o && !joined)
		die_no_key(recno, map, ktext, "--text");
	if (o && o->type != MSGPACK_OBJECT_STR)
		tl_die_rec(TL_EXIT_DATA, recno, "\"%s\" is %s, not a string", ktext, tl_msgpack_type_name(o->type));
	const msgpack_object *ob = tl_map_get(map, ktb);
	if (!ob && col_text_b)
		die_no_key(recno, map, ktb, "--text-b");
	if (ob && ob->type != MSGPACK_OBJECT_STR)
		tl_die_rec(TL_EXIT_DATA, recno, "\"%s\" is %s, not a string", ktb, tl_msgpack_type_name(ob->type));
	const msgpack_object *ol = tl_map_get(map, klab);
	if (ol && ol->type == MSGPACK_OBJECT_NIL)
		ol = NULL;
	const msgpack_object *oi = tl_map_get(map, kid);
	/* the id rule (tl-clean(1) IDS): an id the input gives is kept with its
	 * type, a string or an integer; none (or null) gets the record number */
	if (oi && oi->type == MSGPACK_OBJECT_NIL)
		oi = NULL;
	if (oi && oi->type != MSGPACK_OBJECT_STR && oi->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    oi->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
		tl_die_rec(TL_EXIT_DATA, recno, "\"%s\" is %s; an id is a string or an integer", kid,
			   tl_msgpack_type_name(oi->type));

	size_t n, n_b = 0;
	const char *t_b = NULL;
	if (ob) {
		t_b = clean(ob->via.str.ptr, ob->via.str.size, &n_b, recno, ktb);
		scratch2.len = 0;
		tl_buf_add(&scratch2, t_b, n_b);
		t_b = scratch2.data;
	}
	const char *t = joined ? clean(joinbuf.data ? joinbuf.data : "", joinbuf.len, &n, recno, "text")
			       : clean(o->via.str.ptr, o->via.str.size, &n, recno, ktext);
	if (drop_empty && n == 0)
		return;
	tl_writer_start(W, map);
	if (oi) {
		if (strcmp(kid, "id")) {
			msgpack_pack_object(tl_writer_key(W, "id"), *oi);
			tl_writer_drop(W, kid);
		}
	} else {
		msgpack_pack_uint64(tl_writer_key(W, "id"), defid);
	}
	tl_pack_str(tl_writer_key(W, "text"), t, n);
	if (joined) {
		for (int k = 0; k < ntext_specs; k++)
			if (strcmp(text_specs[k], "text"))
				tl_writer_drop(W, text_specs[k]);
	} else if (strcmp(ktext, "text"))
		tl_writer_drop(W, ktext);
	if (ob) {
		tl_pack_str(tl_writer_key(W, "text_b"), t_b, n_b);
		if (strcmp(ktb, "text_b"))
			tl_writer_drop(W, ktb);
	}
	if (ol) {
		pack_label_value(tl_writer_key(W, "label"), ol, recno, 0);
		if (strcmp(klab, "label"))
			tl_writer_drop(W, klab);
	}
	tl_writer_end(W);
}

static void read_jsonl(tl_input *in)
{
	const char *line;
	size_t len;
	int r;
	char err[256];
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	uint64_t no = 0; /* the record number: blank lines are no records */
	while ((r = tl_input_next_line(in, &line, &len)) == TL_INPUT_OK) {
		if (is_blank(line, len))
			continue;
		no++;
		line = valid_utf8(&scratch, line, &len, no, "the JSON line");
		msgpack_sbuffer_clear(&sb);
		if (tl_json_to_msgpack(&pk, line, len, 1, err, sizeof err) < 0)
			tl_die_rec(TL_EXIT_DATA, no, "%s", err);
		if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) != MSGPACK_UNPACK_SUCCESS)
			tl_die_rec(TL_EXIT_FAIL, no, "internal error: cannot re-read the converted JSON");
		process_map(&up.data, no, no);
	}
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
	if (r == TL_INPUT_IOERR)
		tl_die(TL_EXIT_IO, "%s", tl_input_error(in));
	if (r == TL_INPUT_ERR) /* the record that would have come next (the message names its line) */
		tl_die_rec(TL_EXIT_DATA, no + 1, "%s", tl_input_error(in));
}

static void read_stream(tl_reader *rd, int *header_done)
{
	tl_record rec;
	uint64_t ndata = 0;
	while (tl_reader_next_or_die(rd, &rec)) {
		if (!*header_done) {
			*header_done = 1;
			write_header(rec.is_header ? rec.map : NULL);
			if (rec.is_header)
				continue;
		}
		if (rec.is_header) {
			/* a later header (concatenated streams) is passed on as it is */
			tl_writer_start(W, rec.map);
			tl_writer_end(W);
			continue;
		}
		process_map(rec.map, rec.no, ++ndata); /* rec.no == ndata: headers are not counted */
	}
}

/* ---------------- main ---------------- */

static void add_stopwords(const char *what)
{
	char err[512];
	if (!SW)
		SW = tl_stopwords_new();
	if (tl_stopwords_load(SW, what, err, sizeof err) < 0)
		tl_die(TL_EXIT_IO, "%s", err);
	size_t n = stop_names ? strlen(stop_names) : 0;
	stop_names = tl_xrealloc(stop_names, n + strlen(what) + 2);
	if (n)
		stop_names[n++] = ',';
	strcpy(stop_names + n, what);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	signal(SIGPIPE, SIG_IGN); /* EPIPE -> quiet exit 0 in the writer */
	argc_saved = argc;
	argv_saved = argv;
	tl_clean_opts_default(&CO);
	static const struct option opts[] = {
		{"format", required_argument, 0, 'f'},   {"text", required_argument, 0, 't'},
		{"text-b", required_argument, 0, 'b'},   {"label", required_argument, 0, 'l'},
		{"id", required_argument, 0, 'i'},       {"header", no_argument, 0, O_HEADER},
		{"no-header", no_argument, 0, O_NOHEADER}, {"no-header-row", no_argument, 0, O_NOHEADER},
		{"quoting", required_argument, 0, O_QUOTING}, {"no-extra", no_argument, 0, O_NOEXTRA},
		{"label-prefix", required_argument, 0, O_PREFIX}, {"max-record", required_argument, 0, O_MAXREC},
		{"raw", no_argument, 0, O_RAW},          {"html", no_argument, 0, O_HTML},
		{"no-html", no_argument, 0, O_NOHTML},   {"controls", no_argument, 0, O_CTRL},
		{"no-controls", no_argument, 0, O_NOCTRL}, {"space", no_argument, 0, O_SPACE},
		{"no-space", no_argument, 0, O_NOSPACE}, {"urls", required_argument, 0, O_URLS},
		{"emails", required_argument, 0, O_EMAILS}, {"nfkc", no_argument, 0, O_NFKC},
		{"lower", no_argument, 0, O_LOWER},      {"casefold", no_argument, 0, O_CASEFOLD},
		{"keep", required_argument, 0, O_KEEP},  {"stopwords", required_argument, 0, O_STOP},
		{"zh-segmented", no_argument, 0, O_ZHSEG}, {"drop-empty", no_argument, 0, O_DROPEMPTY},
		{"strict", no_argument, 0, O_STRICT},    {"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, O_VERSION},  {"fix-entities", no_argument, 0, O_FIXENT},
		{"segment", required_argument, 0, O_SEGMENT}, {"user-dict", required_argument, 0, O_USERDICT},
		{0, 0, 0, 0}};
	int c;
	char err[512];
	while ((c = getopt_long(argc, argv, "f:t:b:l:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = tl_format_parse(optarg);
			if (format < 0)
				tl_die(TL_EXIT_USAGE,
				       "option --format: unknown format '%s' (auto, lines, tsv, csv, jsonl, fasttext, stream, conll)",
				       optarg);
			break;
		case 't': col_text = optarg; break;
		case 'b': col_text_b = optarg; break;
		case 'l': col_label = optarg; break;
		case 'i': col_id = optarg; break;
		case O_HEADER: header_mode = 1; break;
		case O_NOHEADER: header_mode = 0; break;
		case O_QUOTING:
			if (!strcmp(optarg, "auto"))
				quoting = TL_QUOTE_AUTO;
			else if (!strcmp(optarg, "rfc") || !strcmp(optarg, "csv"))
				quoting = TL_QUOTE_RFC;
			else if (!strcmp(optarg, "none"))
				quoting = TL_QUOTE_NONE;
			else
				tl_die(TL_EXIT_USAGE, "option --quoting: unknown mode '%s' (auto, rfc, none)", optarg);
			break;
		case O_NOEXTRA: extra = 0; break;
		case O_PREFIX:
			if (!*optarg)
				tl_die(TL_EXIT_USAGE, "option --label-prefix: empty prefix");
			label_prefix = optarg;
			break;
		case O_MAXREC: max_record = parse_size("--max-record", optarg); break;
		case O_RAW: tl_clean_opts_raw(&CO); break;
		case O_HTML: CO.html = 1; break;
		case O_NOHTML: CO.html = 0; break;
		case O_CTRL: CO.controls = 1; break;
		case O_NOCTRL: CO.controls = 0; break;
		case O_SPACE: CO.space = 1; break;
		case O_NOSPACE: CO.space = 0; break;
		case O_URLS: CO.urls = url_mode("--urls", optarg, &CO.url_token); break;
		case O_EMAILS: CO.emails = url_mode("--emails", optarg, &CO.email_token); break;
		case O_NFKC: CO.nfkc = 1; break;
		case O_LOWER: CO.casemode = TL_CASE_LOWER; break;
		case O_CASEFOLD: CO.casemode = TL_CASE_FOLD; break;
		case O_KEEP:
			if (tl_clean_parse_keep(&CO, optarg, err, sizeof err) < 0)
				tl_die(TL_EXIT_USAGE, "option --keep: %s", err);
			keep_list = optarg;
			break;
		case O_STOP:
			tl_parse_path("--stopwords", optarg); /* "" is a usage error */
			if (access(optarg, F_OK) == 0 || !strchr(optarg, ',')) {
				add_stopwords(optarg);
			} else {
				char *list = tl_xstrdup(optarg), *save = NULL;
				for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
					add_stopwords(t);
				free(list);
			}
			break;
		case O_ZHSEG: CO.zh_segmented = 1; break;
		case O_SEGMENT: {
			static const char *const sm[] = {"jieba", "jieba:default", "jieba:nohmm", "jieba:full",
							 "jieba:search"};
			static const int smode[] = {TL_JIEBA_DEFAULT, TL_JIEBA_DEFAULT, TL_JIEBA_NOHMM, TL_JIEBA_FULL,
						    TL_JIEBA_SEARCH};
			seg_mode = -1;
			for (int i = 0; i < 5; i++)
				if (!strcmp(optarg, sm[i]))
					seg_mode = smode[i];
			if (seg_mode < 0)
				tl_die(TL_EXIT_USAGE,
				       "option --segment: unknown segmenter '%s' (jieba, jieba:nohmm, jieba:full, "
				       "jieba:search)",
				       optarg);
			seg_name = optarg;
			break;
		}
		case O_USERDICT: user_dict = optarg; break;
		case O_DROPEMPTY: drop_empty = 1; break;
		case O_STRICT: strict = 1; break;
		case O_FIXENT: CO.fix_entities = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case O_VERSION: tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		tl_die(TL_EXIT_USAGE, "one input file at most (got %d); concatenate them with cat", argc - optind);
	const char *path = optind < argc ? argv[optind] : "-";
	const char *name = strcmp(path, "-") ? path : "standard input";
	split_text_spec();
	CO.stopwords = SW;
	if (user_dict && seg_mode < 0)
		tl_die(TL_EXIT_USAGE, "option --user-dict needs --segment jieba");
	if (seg_mode >= 0) {
		tl_err je = {0};
		JB = tl_jieba_open(NULL, &je);
		if (!JB)
			tl_die(je.code, "--segment %s: %s", seg_name, je.msg);
		if (user_dict && tl_jieba_load_userdict(JB, user_dict, &je) < 0)
			tl_die(je.code, "--user-dict: %s", je.msg);
		if (SW) {
			/* stop words after segmentation, as whole words */
			tl_clean_opts o2;
			tl_clean_opts_raw(&o2);
			o2.stopwords = SW;
			o2.zh_segmented = 1;
			o2.space = 1;
			CL_SW = tl_cleaner_new(&o2);
			CO.stopwords = NULL;
		}
	}
	CL = tl_cleaner_new(&CO);
	tl_input *in = tl_input_open(path, format);
	if (!in)
		tl_die_open(name);
	tl_input_set_max(in, max_record);
	format = tl_input_format(in);
	W = tl_writer_open(stdout);
	int header_done = 0;
	if (format != TL_FMT_STREAM) {
		write_header(NULL);
		header_done = 1;
	}
	switch (format) {
	case TL_FMT_LINES: read_lines(in, 0); break;
	case TL_FMT_FASTTEXT: read_lines(in, 1); break;
	case TL_FMT_TSV: read_table(in, '\t'); break;
	case TL_FMT_CSV: read_table(in, ','); break;
	case TL_FMT_JSONL: read_jsonl(in); break;
	case TL_FMT_STREAM: read_stream(tl_input_stream(in), &header_done); break;
	case TL_FMT_CONLL: read_conll(in); break;
	}
	if (!header_done)
		write_header(NULL); /* empty stream input */
	if (tl_writer_free(W) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	if (nrepaired)
		tl_warn("repaired %zu invalid UTF-8 sequence%s in %zu record%s", nrepaired, nrepaired == 1 ? "" : "s",
			nrepaired_recs, nrepaired_recs == 1 ? "" : "s");
	tl_input_close(in);
	tl_cleaner_free(CL);
	tl_cleaner_free(CL_SW);
	tl_jieba_free(JB);
	tl_buf_free(&segbuf);
	tl_stopwords_free(SW);
	free(stop_names);
	for (size_t i = 0; i < nhdr; i++)
		free(hdr[i]);
	free(hdr);
	tl_buf_free(&scratch);
	tl_buf_free(&scratch2);
	tl_buf_free(&labelbuf);
	tl_buf_free(&joinbuf);
	for (int i = 0; i < ntext_specs; i++)
		free(text_specs[i]);
	tl_close_stdout();
	return 0;
}
