/* Unit tests for lib/text/tokenize.c and lib/text/vocab.c:
 *  - per-code-point lower-casing and accent stripping against a sweep of
 *    Hugging Face tokenizers' normalizer (tests/ref/tokenize/unicode.tsv.gz);
 *  - id parity against the fixtures of tests/ref/gen_tokenize.py on the
 *    real texts of $TL_SHARED/data (SST-2 dev, an IMDB test sample,
 *    ChnSentiCorp dev with the Chinese vocabulary) and the hand-made hard
 *    cases, for several option sets; every 7th text under the sanitizers;
 *  - truncation, word/char modes, vocabulary loading by construction. */
#include "testhelp.h"
#include "tl/tokenize.h"
#include "tl/util.h"
#include "tl/vocab.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int san;
static const char *shared;

/* Whole (gzip or plain) file into memory, NUL-terminated; NULL if absent. */
static char *slurp(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return NULL;
	tl_buf b = {0};
	char tmp[1 << 16];
	int n;
	while ((n = gzread(g, tmp, sizeof tmp)) > 0)
		tl_buf_add(&b, tmp, (size_t)n);
	gzclose(g);
	if (len)
		*len = b.len;
	return tl_buf_cstr(&b);
}

/* Split into lines in place (no trailing empty line). */
static size_t lines_of(char *s, char ***out)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	while (*s) {
		char *e = strchr(s, '\n');
		if (n == cap)
			v = tl_xrealloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v);
		v[n++] = s;
		if (!e)
			break;
		*e = 0;
		s = e + 1;
	}
	*out = v;
	return n;
}

typedef struct {
	char **a, **b; /* texts (b may hold NULLs) */
	size_t *alen, *blen;
	size_t n;
	char *mem;
	json_t **keep;
} texts;

static void texts_free(texts *t)
{
	for (size_t i = 0; t->keep && i < t->n; i++)
		json_decref(t->keep[i]);
	free(t->keep);
	free(t->a);
	free(t->b);
	free(t->alen);
	free(t->blen);
	free(t->mem);
	memset(t, 0, sizeof *t);
}

static int tsv_texts(texts *t, const char *rel, int col, int every)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/data/%s", shared, rel);
	memset(t, 0, sizeof *t);
	t->mem = slurp(path, NULL);
	if (!t->mem)
		return -1;
	char **ln;
	size_t n = lines_of(t->mem, &ln);
	t->a = tl_xcalloc(n, sizeof *t->a);
	t->b = tl_xcalloc(n, sizeof *t->b);
	t->alen = tl_xcalloc(n, sizeof *t->alen);
	t->blen = tl_xcalloc(n, sizeof *t->blen);
	for (size_t i = 1; i < n; i += (size_t)every) {
		char *f = ln[i];
		for (int c = 1; c < col && f; c++) {
			f = strchr(f, '\t');
			if (f)
				f++;
		}
		if (!f)
			f = ln[i] + strlen(ln[i]);
		char *e = strchr(f, '\t');
		t->a[t->n] = f;
		t->alen[t->n] = e ? (size_t)(e - f) : strlen(f);
		t->n++;
	}
	free(ln);
	return 0;
}

static int hard_texts(texts *t)
{
	memset(t, 0, sizeof *t);
	t->mem = slurp("tests/ref/tokenize/hard.jsonl", NULL);
	if (!t->mem)
		return -1;
	char **ln;
	size_t n = lines_of(t->mem, &ln);
	t->a = tl_xcalloc(n, sizeof *t->a);
	t->b = tl_xcalloc(n, sizeof *t->b);
	t->alen = tl_xcalloc(n, sizeof *t->alen);
	t->blen = tl_xcalloc(n, sizeof *t->blen);
	t->keep = tl_xcalloc(n, sizeof *t->keep);
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		json_t *o = json_loads(ln[i], JSON_ALLOW_NUL, &je);
		CHECK(o != NULL);
		if (!o)
			continue;
		t->keep[t->n] = o;
		json_t *a = json_object_get(o, "text"), *b = json_object_get(o, "text_b");
		t->a[t->n] = (char *)json_string_value(a);
		t->alen[t->n] = json_string_length(a);
		if (b) {
			t->b[t->n] = (char *)json_string_value(b);
			t->blen[t->n] = json_string_length(b);
		}
		t->n++;
	}
	free(ln);
	return 0;
}

/* Pairs (i, i+1) for i = 0, 2, 4, ... of a single-text set. */
static void make_pairs(texts *t)
{
	size_t m = 0;
	for (size_t i = 0; i + 1 < t->n; i += 2, m++) {
		t->a[m] = t->a[i];
		t->alen[m] = t->alen[i];
		t->b[m] = t->a[i + 1];
		t->blen[m] = t->alen[i + 1];
	}
	t->n = m;
}

/* Compare the encodings of texts against fixture NAME; every k-th text. */
static void parity(const char *name, texts *t, const tl_vocab *v, const tl_tok_opts *o, size_t every, int derive)
{
	int32_t *exp = NULL;
	size_t ecap = 0;
	char path[512];
	snprintf(path, sizeof path, "tests/ref/tokenize/%s.ids.gz", name);
	char *fx = slurp(path, NULL);
	CHECK(fx != NULL);
	if (!fx)
		return;
	char **ln;
	size_t n = lines_of(fx, &ln);
	CHECK_EQ_INT(n, t->n);
	char err[256];
	tl_tokenizer *tk = tl_tokenizer_init(v, o, err, sizeof err);
	CHECK(tk != NULL);
	tl_tok_out out = {0};
	size_t tested = 0, equal = 0, shown = 0;
	for (size_t i = 0; i < n && i < t->n; i += every) {
		size_t off;
		int inb;
		tested++;
		if (tl_tokenizer_encode(tk, t->a[i], t->alen[i], t->b[i], t->blen[i], &out, &off, &inb) < 0)
			continue;
		/* expected: ids, then optionally \t count of type id 0 */
		char *p = ln[i], *q;
		size_t k = 0, n0 = (size_t)-1;
		while (*p && *p != '\t') {
			long id = strtol(p, &q, 10);
			if (q == p)
				break;
			if (k == ecap)
				exp = tl_xrealloc(exp, (ecap = ecap ? 2 * ecap : 1024) * sizeof *exp);
			exp[k++] = (int32_t)id;
			p = q;
			while (*p == ' ')
				p++;
		}
		if (*p == '\t')
			n0 = (size_t)strtol(p + 1, NULL, 10);
		if (derive && o->max_len > 0 && k > (size_t)o->max_len) {
			/* single-text truncation of the untruncated reference:
			 * [CLS] + the first (head) or last (tail) max_len - 2 + [SEP] */
			size_t keep = (size_t)o->max_len - 2;
			if (o->truncate == TL_TRUNC_TAIL)
				memmove(exp + 1, exp + (k - 1 - keep), keep * sizeof *exp);
			exp[keep + 1] = exp[k - 1];
			k = keep + 2;
		}
		if (n0 == (size_t)-1)
			n0 = k;
		int ok = k == out.n && !memcmp(exp, out.ids, k * sizeof *exp);
		for (size_t j = 0; j < out.n; j++)
			if (out.type_ids[j] != (j < n0 ? 0 : 1))
				ok = 0;
		if (ok) {
			equal++;
		} else if (shown++ < 3) {
			fprintf(stderr, "%s: text %zu differs\n  expected %.300s\n  got     ", name, i + 1, ln[i]);
			for (size_t j = 0; j < out.n && j < 40; j++)
				fprintf(stderr, " %d", out.ids[j]);
			fprintf(stderr, "\n");
		}
	}
	printf("parity %-20s%-9s %5zu/%5zu equal (%.2f%%)\n", name, derive && o->max_len ? (o->truncate ? " tail" : " head") : "", equal, tested,
	       tested ? 100.0 * (double)equal / (double)tested : 0.0);
	CHECK(tested > 0);
	CHECK_EQ_INT(equal, tested);
	tl_tok_out_free(&out);
	tl_tokenizer_free(tk);
	free(exp);
	free(ln);
	free(fx);
}

static void unicode_sweep(void)
{
	char *s = slurp("tests/ref/tokenize/unicode.tsv.gz", NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	char **ln;
	size_t n = lines_of(s, &ln);
	unsigned char *listed = tl_xcalloc(0x110000, 1);
	size_t bad_lower = 0, bad_strip = 0, rows = 0;
	for (size_t i = 0; i < n; i++) {
		if (ln[i][0] == '#')
			continue;
		char *p = ln[i], *q;
		uint32_t cp = (uint32_t)strtoul(p, &q, 16);
		listed[cp] = 1;
		rows++;
		uint32_t exp[2][8];
		int ne[2] = {0, 0};
		p = q;
		for (int col = 0; col < 2; col++) {
			if (*p == '\t')
				p++;
			while (*p && *p != '\t') {
				uint32_t x = (uint32_t)strtoul(p, &q, 16);
				if (q == p)
					break;
				if (ne[col] < 8)
					exp[col][ne[col]++] = x;
				p = q;
				while (*p == ' ')
					p++;
			}
		}
		uint32_t got[8];
		int ng = tl_tok_lower(cp, got);
		if (ng != ne[0] || memcmp(got, exp[0], (size_t)ng * 4)) {
			if (bad_lower++ < 5)
				fprintf(stderr, "lower U+%04X: got %d cps (U+%04X), expected %d (U+%04X)\n", cp, ng,
					ng ? got[0] : 0, ne[0], ne[0] ? exp[0][0] : 0);
		}
		ng = tl_tok_strip(cp, got);
		if (ng != ne[1] || memcmp(got, exp[1], (size_t)ng * 4)) {
			if (bad_strip++ < 5)
				fprintf(stderr, "strip U+%04X: got %d cps (U+%04X), expected %d (U+%04X)\n", cp, ng,
					ng ? got[0] : 0, ne[1], ne[1] ? exp[1][0] : 0);
		}
	}
	/* every code point not listed maps to itself under both */
	for (uint32_t cp = 0; cp < 0x110000; cp++) {
		if (listed[cp] || (cp >= 0xD800 && cp <= 0xDFFF))
			continue;
		uint32_t got[8];
		int ng = tl_tok_lower(cp, got);
		if (ng != 1 || got[0] != cp) {
			if (bad_lower++ < 10)
				fprintf(stderr, "lower U+%04X: changed, expected unchanged\n", cp);
		}
		ng = tl_tok_strip(cp, got);
		if (ng != 1 || got[0] != cp) {
			if (bad_strip++ < 10)
				fprintf(stderr, "strip U+%04X: changed, expected unchanged\n", cp);
		}
	}
	printf("unicode sweep: %zu mapped code points, %zu lower and %zu strip differences\n", rows, bad_lower,
	       bad_strip);
	CHECK(rows > 1000);
	CHECK_EQ_INT(bad_lower, 0);
	CHECK_EQ_INT(bad_strip, 0);
	free(listed);
	free(ln);
	free(s);
}

static void classes(void)
{
	CHECK(tl_tok_is_punct('!') && tl_tok_is_punct('~') && tl_tok_is_punct('$') && tl_tok_is_punct('`'));
	CHECK(!tl_tok_is_punct('a') && !tl_tok_is_punct('0') && !tl_tok_is_punct(' '));
	CHECK(tl_tok_is_punct(0x00BF) && tl_tok_is_punct(0x2014) && tl_tok_is_punct(0x3002));
	CHECK(!tl_tok_is_punct(0x20AC)); /* euro sign: Sc, not punctuation */
	CHECK(tl_tok_is_control(0x200B) && tl_tok_is_control(0xFEFF) && tl_tok_is_control(0x7F));
	CHECK(tl_tok_is_control(0xE000) && !tl_tok_is_control('\t') && !tl_tok_is_control(0x0378));
	CHECK(tl_tok_is_whitespace(0x3000) && tl_tok_is_whitespace(0xA0) && !tl_tok_is_whitespace(0x200B));
	CHECK(tl_tok_is_cjk(0x4E2D) && tl_tok_is_cjk(0x2B920) && !tl_tok_is_cjk(0x2B820) && !tl_tok_is_cjk(0x3042));
	uint32_t m[8];
	CHECK_EQ_INT(tl_tok_lower(0x130, m), 2);
	CHECK(m[0] == 'i' && m[1] == 0x307);
	CHECK_EQ_INT(tl_tok_strip(0xE9, m), 1);
	CHECK(m[0] == 'e');
	CHECK_EQ_INT(tl_tok_strip(0x301, m), 0);
	CHECK(tl_utf8_check("ok \xc3\xa9", 5) == (size_t)-1);
	CHECK_EQ_INT(tl_utf8_check("ab\xc3", 3), 2);
	CHECK_EQ_INT(tl_utf8_check("a\xed\xa0\x80", 4), 1);  /* surrogate */
	CHECK_EQ_INT(tl_utf8_check("\xc0\xaf", 2), 0);       /* overlong */
	CHECK_EQ_INT(tl_utf8_check("x\xf4\x90\x80\x80", 5), 1); /* > U+10FFFF */
}

static int32_t id_of(const tl_vocab *v, const char *s) { return tl_vocab_id(v, s, strlen(s)); }

static void vocab_and_modes(void)
{
	char err[256];
	const char *data = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat \nsat\r\n##s\nthe\nhello\n";
	tl_vocab *v = tl_vocab_from_mem(data, strlen(data), "t", err, sizeof err);
	CHECK(v != NULL);
	CHECK_EQ_INT(tl_vocab_size(v), 10);
	CHECK_EQ_INT(id_of(v, "cat"), 5);      /* trailing space trimmed */
	CHECK_EQ_INT(id_of(v, "sat"), 6);      /* CR trimmed */
	CHECK_EQ_INT(id_of(v, "the"), 8);      /* repeated: the later line */
	CHECK_EQ_INT(tl_vocab_cont_id(v, "s", 1), 7);
	CHECK_EQ_INT(id_of(v, "dog"), -1);
	size_t len;
	const char *tok = tl_vocab_token(v, 4, &len);
	CHECK(tok && len == 3 && !memcmp(tok, "the", 3));
	CHECK(tl_vocab_token(v, 10, &len) == NULL);

	tl_tok_opts o;
	tl_tok_opts_default(&o);
	tl_tokenizer *t = tl_tokenizer_init(v, &o, err, sizeof err);
	tl_tok_out out = {0};
	size_t off;
	int inb;
	CHECK_EQ_INT(tl_tokenizer_encode(t, "The cats SAT!", 13, NULL, 0, &out, &off, &inb), 0);
	int32_t e1[] = {2, 8, 5, 7, 6, 1, 3}; /* cat ##s; "!" is not in the vocabulary */
	CHECK_EQ_INT(out.n, 7);
	CHECK(out.n == 7 && !memcmp(out.ids, e1, sizeof e1));
	CHECK_EQ_INT(tl_tokenizer_encode(t, "a\xff", 2, NULL, 0, &out, &off, &inb), -1);
	CHECK_EQ_INT(off, 1);
	tl_tokenizer_free(t);

	/* truncation: head, tail, head+tail on 10 words "w0".."w9" */
	const char *wv = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nw0\nw1\nw2\nw3\nw4\nw5\nw6\nw7\nw8\nw9\n";
	tl_vocab *v2 = tl_vocab_from_mem(wv, strlen(wv), "w", err, sizeof err);
	const char *ten = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9";
	o.max_len = 10; /* 8 + [CLS] [SEP] */
	int32_t head[] = {2, 4, 5, 6, 7, 8, 9, 10, 11, 3};
	int32_t tail[] = {2, 6, 7, 8, 9, 10, 11, 12, 13, 3};
	int32_t ht[] = {2, 4, 5, 8, 9, 10, 11, 12, 13, 3}; /* 8/4 = 2 from the head, 6 from the tail */
	int32_t *want[] = {head, tail, ht};
	for (int how = 0; how < 3; how++) {
		o.truncate = how;
		t = tl_tokenizer_init(v2, &o, err, sizeof err);
		tl_tokenizer_encode(t, ten, strlen(ten), NULL, 0, &out, &off, &inb);
		CHECK_EQ_INT(out.n, 10);
		CHECK(out.n == 10 && !memcmp(out.ids, want[how], sizeof head));
		CHECK_EQ_INT(out.n_a, 10);
		tl_tokenizer_free(t);
	}
	/* pairs, longest first: 10 + 3 words into 9 - 3 = 6 -> 3 + 3 */
	o.truncate = TL_TRUNC_HEAD;
	o.max_len = 9;
	t = tl_tokenizer_init(v2, &o, err, sizeof err);
	tl_tokenizer_encode(t, ten, strlen(ten), "w9 w8 w7", 8, &out, &off, &inb);
	int32_t pr[] = {2, 4, 5, 6, 3, 13, 12, 11, 3};
	int32_t pt[] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
	CHECK(out.n == 9 && !memcmp(out.ids, pr, sizeof pr) && !memcmp(out.type_ids, pt, sizeof pt));
	tl_tokenizer_free(t);

	/* word mode: whole words, no specials; pairs joined by [SEP] */
	tl_tok_opts_default(&o);
	o.mode = TL_TOK_WORD;
	o.add_special = 0;
	o.strip_accents = 0;
	t = tl_tokenizer_init(v, &o, err, sizeof err);
	tl_tokenizer_encode(t, "Hello, cat", 10, "the", 3, &out, &off, &inb);
	int32_t wd[] = {9, 1, 5, 3, 8};
	CHECK(out.n == 5 && !memcmp(out.ids, wd, sizeof wd));
	tl_tokenizer_free(t);
	tl_vocab_free(v);
	tl_vocab_free(v2);

	/* char mode */
	const char *cv = "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\n\xc3\xa9\n";
	v = tl_vocab_from_mem(cv, strlen(cv), "c", err, sizeof err);
	o.mode = TL_TOK_CHAR;
	t = tl_tokenizer_init(v, &o, err, sizeof err);
	tl_tokenizer_encode(t, "Ab \xc3\xa9x", 6, NULL, 0, &out, &off, &inb);
	int32_t ch[] = {4, 5, 6, 1};
	CHECK(out.n == 4 && !memcmp(out.ids, ch, sizeof ch));
	tl_tokenizer_free(t);
	tl_vocab_free(v);

	/* vocabularies that cannot be used */
	CHECK(tl_vocab_from_mem("", 0, "empty", err, sizeof err) == NULL);
	CHECK(strstr(err, "empty vocabulary") != NULL);
	CHECK(tl_vocab_from_mem("a\n\xff\n", 4, "bad", err, sizeof err) == NULL);
	CHECK(strstr(err, "line 2: invalid UTF-8") != NULL);
	CHECK(tl_vocab_load("/nonexistent/vocab.txt", err, sizeof err) == NULL);
	CHECK(strstr(err, "cannot open") != NULL);
	v = tl_vocab_from_mem("a\nb\n", 4, "nounk", err, sizeof err);
	tl_tok_opts_default(&o);
	CHECK(tl_tokenizer_init(v, &o, err, sizeof err) == NULL);
	CHECK(strstr(err, "no [UNK]") != NULL);
	tl_vocab_free(v);
	tl_tok_out_free(&out);

	/* the embedded default is the bert-base-uncased vocab.txt */
	v = tl_vocab_default();
	CHECK_EQ_INT(tl_vocab_size(v), 30522);
	CHECK_STR(tl_vocab_sha256(v), "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3");
	CHECK_EQ_INT(id_of(v, "[UNK]"), 100);
	tl_vocab_free(v);

	/* model directory settings */
	tl_vocab_config c;
	tl_vocab_config_default(&c);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/models/all-MiniLM-L6-v2-tokenizer", shared);
	if (tl_vocab_read_config(dir, &c, err, sizeof err) == 0) {
		CHECK_EQ_INT(c.lower, 1);
		CHECK_EQ_INT(c.strip_accents, -1);
		CHECK_EQ_INT(c.max_len, 256);
	}
	tl_vocab_config_default(&c);
	snprintf(dir, sizeof dir, "%s/models/bert-tiny-uncased-tokenizer", shared);
	if (tl_vocab_read_config(dir, &c, err, sizeof err) == 0)
		CHECK_EQ_INT(c.max_len, 512); /* model_max_length 1e30 -> max_position_embeddings */
}

int main(void)
{
	const char *b = getenv("TL_BUILD");
	san = b && strstr(b, "-san") != NULL;
	shared = getenv("TL_SHARED");
	if (!shared)
		shared = "../shared";
	size_t every = san ? 7 : 1;

	classes();
	vocab_and_modes();
	unicode_sweep();

	char err[512], path[4096];
	tl_vocab *uv = tl_vocab_default();
	snprintf(path, sizeof path, "%s/models/bert-base-chinese-tokenizer/vocab.txt", shared);
	tl_vocab *cv = tl_vocab_load(path, err, sizeof err);
	tl_tok_opts o;
	texts t;

	if (hard_texts(&t) == 0) {
		struct {
			const char *name;
			int lower, strip, chinese;
			long max_len;
			int chinese_vocab;
		} hs[] = {
			{"hard-uncased", 1, 1, 1, 0, 0},      {"hard-uncased-max16", 1, 1, 1, 16, 0},
			{"hard-cased", 0, 0, 1, 0, 0},        {"hard-lower-keep-accents", 1, 0, 1, 0, 0},
			{"hard-strip-only", 0, 1, 1, 0, 0},   {"hard-no-chinese", 1, 1, 0, 0, 0},
			{"hard-chinese", 1, 1, 1, 0, 1},
		};
		for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
			if (hs[i].chinese_vocab && !cv)
				continue;
			tl_tok_opts_default(&o);
			o.lower = hs[i].lower;
			o.strip_accents = hs[i].strip;
			o.chinese = hs[i].chinese;
			o.max_len = hs[i].max_len;
			parity(hs[i].name, &t, hs[i].chinese_vocab ? cv : uv, &o, 1, 0);
		}
		texts_free(&t);
	} else {
		CHECK(!"tests/ref/tokenize/hard.jsonl missing");
	}

	int have_data = 0;
	tl_tok_opts_default(&o);
	if (tsv_texts(&t, "sst2/dev.tsv", 1, 1) == 0) {
		have_data = 1;
		parity("sst2-dev", &t, uv, &o, every, 0);
		make_pairs(&t);
		parity("sst2-pairs", &t, uv, &o, every, 0);
		o.max_len = 24;
		parity("sst2-pairs-max24", &t, uv, &o, every, 0);
		o.max_len = 0;
		texts_free(&t);
	}
	if (tsv_texts(&t, "imdb/test.tsv.gz", 1, 8) == 0) {
		parity("imdb-test-s8", &t, uv, &o, every, 0);
		o.max_len = 512;
		parity("imdb-test-s8", &t, uv, &o, every, 1);
		o.max_len = 128;
		o.truncate = TL_TRUNC_TAIL;
		parity("imdb-test-s8", &t, uv, &o, every, 1);
		tl_tok_opts_default(&o);
		texts_free(&t);
	}
	if (cv && tsv_texts(&t, "chnsenticorp/dev.tsv", 3, 1) == 0) {
		parity("chnsenticorp-dev", &t, cv, &o, every, 0);
		texts_free(&t);
	}
	if (!have_data)
		TEST_SKIP("the real-data parity checks: no %s/data", shared);
	tl_vocab_free(uv);
	tl_vocab_free(cv);
	TEST_REPORT("test_tokenize");
}
