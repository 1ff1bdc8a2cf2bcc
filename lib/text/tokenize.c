/* tokenize.c - BERT basic tokenization + WordPiece, word and char modes.
 *
 * One pass over the UTF-8 text: ASCII goes through a 128-entry class table
 * (the common case); other code points through the reference's character
 * tables (tokenize_tables.h, generated from Hugging Face tokenizers) and
 * utf8proc for NFD and case mapping. Words are built in one reusable buffer
 * and looked up in the vocabulary's hash tables; nothing is allocated per
 * token.
 */
#include "tl/tokenize.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenize_tables.h"

/* ---------------- character classes ---------------- */

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < r[mid][0])
			hi = mid;
		else if (cp > r[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

#define NRANGES(a) (sizeof(a) / sizeof(a[0]))

int tl_tok_is_control(uint32_t cp)
{
	if (cp == '\t' || cp == '\n' || cp == '\r')
		return 0;
	return in_ranges(tl_tok_control_ranges, NRANGES(tl_tok_control_ranges), cp);
}

int tl_tok_is_whitespace(uint32_t cp)
{
	switch (cp) {
	case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
	case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
		return 1;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

int tl_tok_is_punct(uint32_t cp)
{
	return in_ranges(tl_tok_punct_ranges, NRANGES(tl_tok_punct_ranges), cp);
}

/* The CJK blocks of tokenizers' BertNormalizer (note 0x2B920, where the
 * slow Python tokenizer has 0x2B820). */
int tl_tok_is_cjk(uint32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
	       (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
	       (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
	       (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

static int is_mark(uint32_t cp)
{
	return in_ranges(tl_tok_mark_ranges, NRANGES(tl_tok_mark_ranges), cp);
}

/* Exception tables are sorted by code point. */
static const uint32_t *find_exc(const uint32_t (*t)[4], size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t[mid][0] == cp)
			return t[mid];
		if (t[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int from_exc(const uint32_t *e, uint32_t out[8])
{
	for (uint32_t i = 0; i < e[1]; i++)
		out[i] = e[2 + i];
	return (int)e[1];
}

int tl_tok_lower(uint32_t cp, uint32_t out[8])
{
	const uint32_t *e = find_exc(tl_tok_lower_exc, NRANGES(tl_tok_lower_exc), cp);
	if (e)
		return from_exc(e, out);
	if (cp == 0x130) { /* the one unconditional multi-code-point lowercase */
		out[0] = 0x69;
		out[1] = 0x307;
		return 2;
	}
	out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
	return 1;
}

int tl_tok_strip(uint32_t cp, uint32_t out[8])
{
	const uint32_t *e = find_exc(tl_tok_strip_exc, NRANGES(tl_tok_strip_exc), cp);
	if (e)
		return from_exc(e, out);
	utf8proc_int32_t d[8];
	int bc = 0;
	utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, d, 8, UTF8PROC_DECOMPOSE, &bc);
	if (n < 1 || n > 8) {
		n = 1;
		d[0] = (utf8proc_int32_t)cp;
	}
	int k = 0;
	for (utf8proc_ssize_t i = 0; i < n; i++)
		if (!is_mark((uint32_t)d[i]))
			out[k++] = (uint32_t)d[i];
	return k;
}

/* ---------------- UTF-8 ---------------- */

/* Decode the sequence at s[i] (non-ASCII lead byte); returns its length,
 * or 0 when invalid. */
static inline size_t utf8_dec(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	unsigned c = s[i];
	size_t k;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF)
		k = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		k = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		k = 4, v = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n - i < k)
		return 0;
	for (size_t j = 1; j < k; j++) {
		unsigned b = s[i + j];
		if ((b & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (b & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return k;
}

size_t tl_utf8_check(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	uint32_t cp;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_dec(s, len, i, &cp);
		if (!k)
			return i;
		i += k;
	}
	return (size_t)-1;
}


/* ---------------- the tokenizer ---------------- */

enum { K_WORD, K_SPACE, K_REMOVE, K_PUNCT };

typedef struct {
	int32_t *v;
	size_t n, cap;
} ivec;

static inline void ivec_push(ivec *a, int32_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->v = tl_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = x;
}

typedef struct {
	const char *s;
	size_t n;
	int32_t id;
} special;

struct tl_tokenizer {
	const tl_vocab *v;
	tl_tok_opts o;
	int32_t unk, cls, sep;
	special spec[5];
	int nspec;
	size_t maxlen;
	unsigned char kind[128];  /* ASCII class */
	char lowc[128];           /* ASCII after lower-casing */
	int32_t punct_id[128];    /* id of an ASCII punctuation character */
	/* current word */
	char *w;
	size_t wn, wcap, wchars;
	/* sink: ids, or a callback (tl_tokenizer_words) */
	ivec *out;
	void (*fn)(const char *, size_t, void *);
	void *ctx;
	ivec ta, tb;
};

void tl_tok_opts_default(tl_tok_opts *o)
{
	o->mode = TL_TOK_WORDPIECE;
	o->lower = 1;
	o->strip_accents = 1;
	o->chinese = 1;
	o->split_special = 0;
	o->add_special = 1;
	o->max_len = 0;
	o->truncate = TL_TRUNC_HEAD;
	o->max_word_chars = 100;
}

tl_tokenizer *tl_tokenizer_init(const tl_vocab *v, const tl_tok_opts *o, char *err, size_t errsz)
{
	tl_tokenizer *t = tl_xcalloc(1, sizeof *t);
	t->v = v;
	t->o = *o;
	if (t->o.max_word_chars <= 0)
		t->o.max_word_chars = 100;
	t->unk = tl_vocab_id(v, "[UNK]", 5);
	t->cls = tl_vocab_id(v, "[CLS]", 5);
	t->sep = tl_vocab_id(v, "[SEP]", 5);
	const char *need = t->unk < 0 ? "[UNK]" : NULL;
	if (!need && o->add_special && o->mode == TL_TOK_WORDPIECE)
		need = t->cls < 0 ? "[CLS]" : t->sep < 0 ? "[SEP]" : NULL;
	if (need) {
		snprintf(err, errsz, "%s: no %s token in the vocabulary", tl_vocab_name(v), need);
		free(t);
		return NULL;
	}
	static const char *names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
	for (int i = 0; i < 5; i++) {
		int32_t id = tl_vocab_id(v, names[i], strlen(names[i]));
		if (id >= 0)
			t->spec[t->nspec++] = (special){names[i], strlen(names[i]), id};
	}
	t->maxlen = tl_vocab_max_len(v);
	for (int c = 0; c < 128; c++) {
		unsigned char k = K_WORD;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			k = K_SPACE;
		else if (c < 32 || c == 127)
			k = K_REMOVE;
		else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
			k = K_PUNCT;
		t->kind[c] = k;
		t->lowc[c] = (char)(o->lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
		char ch = (char)c;
		t->punct_id[c] = k == K_PUNCT ? tl_vocab_id(v, &ch, 1) : -1;
	}
	return t;
}

void tl_tokenizer_free(tl_tokenizer *t)
{
	if (!t)
		return;
	free(t->w);
	free(t->ta.v);
	free(t->tb.v);
	free(t);
}

void tl_tok_out_free(tl_tok_out *o)
{
	free(o->ids);
	free(o->type_ids);
	free(o->word_ids);
	memset(o, 0, sizeof *o);
}

static inline void word_add(tl_tokenizer *t, const char *p, size_t n)
{
	if (t->wn + n > t->wcap) {
		t->wcap = t->wcap ? 2 * t->wcap : 256;
		while (t->wn + n > t->wcap)
			t->wcap *= 2;
		t->w = tl_xrealloc(t->w, t->wcap);
	}
	memcpy(t->w + t->wn, p, n);
	t->wn += n;
	t->wchars++;
}

static void wordpiece(tl_tokenizer *t, const char *w, size_t n, size_t nchars, ivec *out)
{
	if (nchars > (size_t)t->o.max_word_chars) {
		ivec_push(out, t->unk);
		return;
	}
	size_t mark = out->n, start = 0;
	while (start < n) {
		size_t end = n;
		if (end - start > t->maxlen) {
			end = start + t->maxlen;
			while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80)
				end--;
		}
		int32_t id = -1;
		while (end > start) {
			id = start ? tl_vocab_cont_id(t->v, w + start, end - start) : tl_vocab_id(t->v, w, end);
			if (id >= 0)
				break;
			do
				end--;
			while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);
		}
		if (id < 0) {
			out->n = mark;
			ivec_push(out, t->unk);
			return;
		}
		ivec_push(out, id);
		start = end;
	}
}

/* Emit the word w[0..n) (nchars code points). */
static void emit(tl_tokenizer *t, const char *w, size_t n, size_t nchars)
{
	if (t->fn) {
		if (t->o.mode == TL_TOK_CHAR) {
			for (size_t i = 0; i < n;) {
				size_t k = 1;
				while (i + k < n && ((unsigned char)w[i + k] & 0xC0) == 0x80)
					k++;
				t->fn(w + i, k, t->ctx);
				i += k;
			}
		} else {
			t->fn(w, n, t->ctx);
		}
		return;
	}
	if (t->o.mode == TL_TOK_WORDPIECE) {
		wordpiece(t, w, n, nchars, t->out);
	} else if (t->o.mode == TL_TOK_WORD) {
		int32_t id = tl_vocab_id(t->v, w, n);
		ivec_push(t->out, id >= 0 ? id : t->unk);
	} else {
		for (size_t i = 0; i < n;) {
			size_t k = 1;
			while (i + k < n && ((unsigned char)w[i + k] & 0xC0) == 0x80)
				k++;
			int32_t id = tl_vocab_id(t->v, w + i, k);
			ivec_push(t->out, id >= 0 ? id : t->unk);
			i += k;
		}
	}
}

static inline void flush(tl_tokenizer *t)
{
	if (t->wn) {
		emit(t, t->w, t->wn, t->wchars);
		t->wn = 0;
		t->wchars = 0;
	}
}

/* One mapped (normalized) code point. */
static void put_cp(tl_tokenizer *t, uint32_t cp)
{
	char b[4];
	size_t k = (size_t)tl_utf8_encode(b, cp);
	if (tl_tok_is_whitespace(cp)) {
		flush(t);
	} else if (tl_tok_is_punct(cp)) {
		flush(t);
		emit(t, b, k, 1);
	} else {
		word_add(t, b, k);
	}
}

/* Tokenize one text into the sink. Returns 0 or -1 (invalid UTF-8). */
static int run(tl_tokenizer *t, const char *str, size_t len, int specials, size_t *bad_off)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	t->wn = t->wchars = 0;
	int lower = t->o.lower, strip = t->o.strip_accents, chinese = t->o.chinese;
	while (i < len) {
		unsigned c = s[i];
		if (c < 0x80) {
			unsigned k = t->kind[c];
			if (k == K_WORD) {
				/* fast path: a run of word characters */
				size_t j = i + 1;
				while (j < len && s[j] < 0x80 && t->kind[s[j]] == K_WORD)
					j++;
				size_t n = j - i;
				if (t->wn + n > t->wcap) {
					t->wcap = t->wcap ? 2 * t->wcap : 256;
					while (t->wn + n > t->wcap)
						t->wcap *= 2;
					t->w = tl_xrealloc(t->w, t->wcap);
				}
				char *o = t->w + t->wn;
				for (size_t q = 0; q < n; q++)
					o[q] = t->lowc[s[i + q]];
				t->wn += n;
				t->wchars += n;
				i = j;
			} else if (k == K_SPACE) {
				flush(t);
				i++;
			} else if (k == K_REMOVE) {
				i++;
			} else {
				if (c == '[' && specials) {
					int hit = 0;
					for (int q = 0; q < t->nspec; q++) {
						const special *sp = &t->spec[q];
						if (len - i >= sp->n && memcmp(s + i, sp->s, sp->n) == 0) {
							flush(t);
							ivec_push(t->out, sp->id);
							i += sp->n;
							hit = 1;
							break;
						}
					}
					if (hit)
						continue;
				}
				flush(t);
				if (t->fn || t->o.mode != TL_TOK_WORDPIECE || t->punct_id[c] < 0) {
					char ch = (char)c;
					emit(t, &ch, 1, 1);
				} else {
					ivec_push(t->out, t->punct_id[c]);
				}
				i++;
			}
			continue;
		}
		uint32_t cp;
		size_t k = utf8_dec(s, len, i, &cp);
		if (!k) {
			*bad_off = i;
			return -1;
		}
		i += k;
		if (cp == 0xFFFD || tl_tok_is_control(cp))
			continue;
		if (tl_tok_is_whitespace(cp)) {
			flush(t);
			continue;
		}
		int cjk = chinese && tl_tok_is_cjk(cp);
		if (cjk) {
			flush(t);
			if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
			    (cp >= 0x20000 && cp <= 0x2A6DF)) {
				/* unified ideographs: no decomposition, no case */
				char b[4];
				size_t n = (size_t)tl_utf8_encode(b, cp);
				emit(t, b, n, 1);
				continue;
			}
		}
		uint32_t m[8], m2[8];
		int nm = 1;
		m[0] = cp;
		if (strip)
			nm = tl_tok_strip(cp, m);
		for (int a = 0; a < nm; a++) {
			if (lower) {
				int nl = tl_tok_lower(m[a], m2);
				for (int b = 0; b < nl; b++)
					put_cp(t, m2[b]);
			} else {
				put_cp(t, m[a]);
			}
		}
		if (cjk)
			flush(t);
	}
	flush(t);
	return 0;
}

int tl_tokenizer_words(tl_tokenizer *t, const char *s, size_t len,
		       void (*fn)(const char *w, size_t n, void *ctx), void *ctx, size_t *bad_off)
{
	t->fn = fn;
	t->ctx = ctx;
	int r = run(t, s, len, 0, bad_off);
	t->fn = NULL;
	t->ctx = NULL;
	return r;
}

static void take(int32_t *dst, const ivec *src, size_t keep, int how)
{
	if (keep >= src->n || how == TL_TRUNC_HEAD) {
		if (src->n && keep)
			memcpy(dst, src->v, (keep < src->n ? keep : src->n) * sizeof *dst);
	} else if (how == TL_TRUNC_TAIL) {
		memcpy(dst, src->v + (src->n - keep), keep * sizeof *dst);
	} else { /* head+tail: a quarter of the budget from the head */
		size_t h = keep / 4;
		memcpy(dst, src->v, h * sizeof *dst);
		memcpy(dst + h, src->v + (src->n - (keep - h)), (keep - h) * sizeof *dst);
	}
}

int tl_tokenizer_encode(tl_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
			tl_tok_out *out, size_t *bad_off, int *bad_b)
{
	*bad_b = 0;
	t->ta.n = t->tb.n = 0;
	t->out = &t->ta;
	int specials = !t->o.split_special;
	if (run(t, a, alen, specials, bad_off) < 0)
		return -1;
	if (b) {
		t->out = &t->tb;
		if (run(t, b, blen, specials, bad_off) < 0) {
			*bad_b = 1;
			return -1;
		}
	}
	t->out = NULL;
	size_t na = t->ta.n, nb = t->tb.n;
	out->n_a = na;
	out->n_b = nb;
	int cls = t->o.add_special && t->cls >= 0;
	int sep_a = (t->o.add_special || b) && t->sep >= 0;
	int sep_b = b && t->o.add_special && t->sep >= 0;
	size_t nspec = (size_t)(cls + sep_a + sep_b);
	if (!b && !t->o.add_special)
		sep_a = 0, nspec = (size_t)cls;
	size_t ka = na, kb = nb;
	if (t->o.max_len > 0) {
		size_t budget = (size_t)t->o.max_len > nspec ? (size_t)t->o.max_len - nspec : 0;
		if (!b) {
			if (ka > budget)
				ka = budget;
		} else if (ka + kb > budget) {
			/* longest first, exactly as tokenizers (utils/truncation.rs):
			 * the shorter keeps its length when it fits in half, else
			 * both get half and the longer one the odd token; at equal
			 * lengths B counts as the longer */
			int swap = ka > kb;
			size_t s1 = swap ? kb : ka, s2;
			s2 = s1 > budget ? s1 : (s1 > budget - s1 ? s1 : budget - s1);
			if (s1 + s2 > budget) {
				s1 = budget / 2;
				s2 = s1 + budget % 2;
			}
			size_t na2 = swap ? s2 : s1, nb2 = swap ? s1 : s2;
			ka = na2 < ka ? na2 : ka;
			kb = nb2 < kb ? nb2 : kb;
		}
	}
	size_t total = nspec + ka + kb;
	if (total > out->cap || !out->ids) {
		out->cap = total + 16;
		out->ids = tl_xrealloc(out->ids, out->cap * sizeof *out->ids);
		out->type_ids = tl_xrealloc(out->type_ids, out->cap * sizeof *out->type_ids);
	}
	size_t p = 0;
	if (cls)
		out->ids[p++] = t->cls;
	take(out->ids + p, &t->ta, ka, t->o.truncate);
	p += ka;
	if (sep_a)
		out->ids[p++] = t->sep;
	size_t n0 = p;
	if (b) {
		take(out->ids + p, &t->tb, kb, t->o.truncate);
		p += kb;
		if (sep_b)
			out->ids[p++] = t->sep;
	}
	out->n = p;
	for (size_t q = 0; q < p; q++)
		out->type_ids[q] = q < n0 ? 0 : 1;
	return 0;
}

int tl_tokenizer_encode_words(tl_tokenizer *t, const char *const *words, const size_t *lens, size_t nwords,
			      tl_tok_out *out, size_t *bad_word, size_t *bad_off)
{
	t->ta.n = 0;
	t->out = &t->ta;
	int specials = !t->o.split_special;
	/* t->tb holds the end (in t->ta) of each word's pieces */
	t->tb.n = 0;
	for (size_t i = 0; i < nwords; i++) {
		if (run(t, words[i], lens[i], specials, bad_off) < 0) {
			*bad_word = i;
			t->out = NULL;
			return -1;
		}
		ivec_push(&t->tb, (int32_t)t->ta.n);
	}
	t->out = NULL;
	size_t na = t->ta.n;
	out->n_a = na;
	out->n_b = 0;
	int cls = t->o.add_special && t->cls >= 0, sep = t->o.add_special && t->sep >= 0;
	size_t keep = na;
	if (t->o.max_len > 0) {
		size_t nspec = (size_t)(cls + sep);
		size_t budget = (size_t)t->o.max_len > nspec ? (size_t)t->o.max_len - nspec : 0;
		if (keep > budget)
			keep = budget;
	}
	size_t total = keep + (size_t)(cls + sep);
	if (total > out->cap || !out->ids) {
		out->cap = total + 16;
		out->ids = tl_xrealloc(out->ids, out->cap * sizeof *out->ids);
		out->type_ids = tl_xrealloc(out->type_ids, out->cap * sizeof *out->type_ids);
	}
	if (total > out->wcap || !out->word_ids) {
		out->wcap = total + 16;
		out->word_ids = tl_xrealloc(out->word_ids, out->wcap * sizeof *out->word_ids);
	}
	size_t p = 0, w = 0, kept = 0;
	if (cls)
		out->word_ids[p] = -1, out->ids[p++] = t->cls;
	for (size_t k = 0; k < keep; k++) {
		while ((size_t)t->tb.v[w] <= k)
			w++;
		if (p == 0 || out->word_ids[p - 1] != (int32_t)w)
			kept++;
		out->word_ids[p] = (int32_t)w;
		out->ids[p++] = t->ta.v[k];
	}
	if (sep)
		out->word_ids[p] = -1, out->ids[p++] = t->sep;
	out->n = p;
	out->words_kept = kept;
	memset(out->type_ids, 0, p * sizeof *out->type_ids);
	return 0;
}

int tl_tokenizer_split_offsets(const tl_tokenizer *t, const char *str, size_t len,
			       void (*fn)(size_t start, size_t end, void *ctx), void *ctx, size_t *bad_off)
{
	size_t bad = tl_utf8_check(str, len);
	if (bad != (size_t)-1) {
		*bad_off = bad;
		return -1;
	}
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0;
	int inword = 0;
	while (i < len) {
		uint32_t cp = s[i];
		size_t n = cp < 0x80 ? 1 : utf8_dec(s, len, i, &cp);
		if (n == 0) /* checked above: cannot happen */
			n = 1;
		int sp = tl_tok_is_whitespace(cp) || tl_tok_is_control(cp) || cp == 0 || cp == 0xFFFD;
		int alone = !sp && (tl_tok_is_punct(cp) || (t->o.chinese && tl_tok_is_cjk(cp)));
		if ((sp || alone) && inword) {
			fn(start, i, ctx);
			inword = 0;
		}
		if (alone)
			fn(i, i + n, ctx);
		else if (!sp && !inword)
			start = i, inword = 1;
		i += n;
	}
	if (inword)
		fn(start, len, ctx);
	return 0;
}
