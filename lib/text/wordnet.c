/* wordnet.c - WordNet 3.0 database reader: mmap + hash indexes, morphy,
 * synonyms with re-inflection. See include/tl/wordnet.h. */
#include "tl/wordnet.h"
#include "tl/strtab.h"
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const pos_name[TL_WN_NPOS] = {"noun", "verb", "adj", "adv"};

typedef struct {
	const char *p;
	size_t n;
} wn_map;

/* An index of a mapped file: key -> the file offsets it was put with, in
 * the order put (duplicate keys are allowed: the reverse exception index
 * needs them). Keys are interned in a tl_strtab; values of one key are
 * chained through next[]. */
typedef struct {
	tl_strtab keys;
	uint32_t *first, *last; /* by key id: its first and last value */
	size_t *off;            /* by value: the file offset */
	uint32_t *next;         /* by value: the next value of its key, or NONE */
	size_t nval, capv, capk;
} wn_hash;
#define NONE UINT32_MAX

struct tl_wordnet {
	wn_map index[TL_WN_NPOS], data[TL_WN_NPOS], exc[TL_WN_NPOS];
	wn_hash idx[TL_WN_NPOS], excf[TL_WN_NPOS], excr[TL_WN_NPOS];
};

/* ---------------- lists ---------------- */

void tl_wn_list_clear(tl_wn_list *l)
{
	l->b.len = 0;
	l->n = 0;
}

void tl_wn_list_push(tl_wn_list *l, const char *s, size_t len, unsigned tag)
{
	if (l->n == l->ncap) {
		l->ncap = l->ncap ? 2 * l->ncap : 16;
		l->off = tl_xrealloc(l->off, l->ncap * sizeof *l->off);
		l->tag = tl_xrealloc(l->tag, l->ncap);
	}
	l->off[l->n] = l->b.len;
	l->tag[l->n] = (unsigned char)tag;
	l->n++;
	tl_buf_add(&l->b, s, len);
	tl_buf_addc(&l->b, 0);
}

void tl_wn_list_free(tl_wn_list *l)
{
	tl_buf_free(&l->b);
	free(l->off);
	free(l->tag);
	memset(l, 0, sizeof *l);
}

static int list_has(const tl_wn_list *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *t = tl_wn_list_at(l, i);
		if (strlen(t) == len && !memcmp(t, s, len))
			return 1;
	}
	return 0;
}

/* ---------------- files and hashing ---------------- */

static size_t keylen_at(const wn_map *f, size_t off)
{
	size_t i = off;
	while (i < f->n && f->p[i] != ' ' && f->p[i] != '\n')
		i++;
	return i - off;
}

static void hash_put(wn_hash *h, const char *key, size_t len, size_t off)
{
	int isnew;
	size_t id = (size_t)tl_strtab_add(&h->keys, key, len, &isnew);
	if (h->nval == h->capv) {
		h->capv = h->capv ? 2 * h->capv : 1024;
		h->off = tl_xrealloc(h->off, h->capv * sizeof *h->off);
		h->next = tl_xrealloc(h->next, h->capv * sizeof *h->next);
	}
	uint32_t v = (uint32_t)h->nval++;
	h->off[v] = off;
	h->next[v] = NONE;
	if (isnew) {
		if (id == h->capk) {
			h->capk = h->capk ? 2 * h->capk : 1024;
			h->first = tl_xrealloc(h->first, h->capk * sizeof *h->first);
			h->last = tl_xrealloc(h->last, h->capk * sizeof *h->last);
		}
		h->first[id] = v;
	} else {
		h->next[h->last[id]] = v;
	}
	h->last[id] = v;
}

/* Iterate the values of key: *pos starts at UINT32_MAX; returns the next
 * file offset put with key, or SIZE_MAX when there is none. */
static size_t hash_next(const wn_hash *h, const char *key, size_t len, uint32_t *pos)
{
	uint32_t v;
	if (*pos == UINT32_MAX) {
		int64_t id = tl_strtab_find(&h->keys, key, len);
		if (id < 0)
			return SIZE_MAX;
		v = h->first[id];
	} else {
		v = h->next[*pos];
	}
	if (v == NONE)
		return SIZE_MAX;
	*pos = v;
	return h->off[v];
}

static size_t hash_get(const wn_hash *h, const char *key, size_t len)
{
	uint32_t pos = UINT32_MAX;
	return hash_next(h, key, len, &pos);
}

static void hash_free(wn_hash *h)
{
	tl_strtab_free(&h->keys);
	free(h->first);
	free(h->last);
	free(h->off);
	free(h->next);
	memset(h, 0, sizeof *h);
}

static int map_file(wn_map *m, const char *dir, const char *name, char *err, size_t errsz)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: %s", path, errno ? strerror(errno) : "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size >= 0xffffffffu) {
		snprintf(err, errsz, "%s: damaged (size %lld)", path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errsz, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	/* the files are text: a NUL byte is damage (a word holding one would
	 * reach callers as a shorter or empty C string: the fuzzer's
	 * noun.exc line "\0...\0dogs dog" made "" the plural of dog) */
	const char *z = memchr(p, 0, (size_t)st.st_size);
	if (z) {
		size_t line = 1;
		for (const char *q = p; q < z; q++)
			line += *q == '\n';
		snprintf(err, errsz, "%s: damaged: a NUL byte on line %zu", path, line);
		munmap(p, (size_t)st.st_size);
		return -1;
	}
	m->p = p;
	m->n = (size_t)st.st_size;
	return 0;
}

static void unmap_file(wn_map *m)
{
	if (m->p)
		munmap((void *)m->p, m->n);
	m->p = NULL;
}

/* ---------------- line parsing ---------------- */

typedef struct {
	const char *p, *end;
} cur;

/* Next space-separated token of the line; 0 at end of line. */
static int tok(cur *c, const char **s, size_t *n)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p >= c->end)
		return 0;
	*s = c->p;
	while (c->p < c->end && *c->p != ' ')
		c->p++;
	*n = (size_t)(c->p - *s);
	return 1;
}

static int tok_num(cur *c, int base, unsigned long *v)
{
	const char *s;
	size_t n;
	if (!tok(c, &s, &n) || n > 9)
		return 0;
	unsigned long x = 0;
	for (size_t i = 0; i < n; i++) {
		int d;
		char ch = s[i];
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return 0;
		x = x * (unsigned long)base + (unsigned long)d;
	}
	*v = x;
	return 1;
}

static cur line_at(const wn_map *f, size_t off)
{
	cur c = {f->p + off, f->p + off};
	while (c.end < f->p + f->n && *c.end != '\n')
		c.end++;
	return c;
}

/* Parse an index line up to the synset offsets; *nsyn = count. */
static int index_head(cur *c, unsigned long *nsyn)
{
	const char *s;
	size_t n;
	unsigned long p_cnt, x;
	if (!tok(c, &s, &n) || !tok(c, &s, &n) || n != 1) /* lemma, pos */
		return 0;
	if (!tok_num(c, 10, nsyn) || !tok_num(c, 10, &p_cnt) || p_cnt > 100)
		return 0;
	for (unsigned long i = 0; i < p_cnt; i++)
		if (!tok(c, &s, &n))
			return 0;
	if (!tok_num(c, 10, &x) || !tok_num(c, 10, &x)) /* sense_cnt, tagsense_cnt */
		return 0;
	return 1;
}

static int data_line_ok(const wn_map *d, const char *off8, size_t n, unsigned long off)
{
	if (n != 8 || off + 9 > d->n || (off > 0 && d->p[off - 1] != '\n'))
		return 0;
	return !memcmp(d->p + off, off8, 8) && d->p[off + 8] == ' ';
}

static int load_index(tl_wordnet *wn, int pos, char *err, size_t errsz)
{
	const wn_map *f = &wn->index[pos], *d = &wn->data[pos];
	size_t off = 0, lineno = 0, nent = 0;
	while (off < f->n) {
		lineno++;
		cur c = line_at(f, off);
		size_t next = (size_t)(c.end - f->p) + 1;
		if (c.end > c.p && *c.p != ' ') { /* license lines start with spaces */
			const char *lemma = c.p;
			size_t llen = keylen_at(f, off);
			unsigned long nsyn;
			if (!index_head(&c, &nsyn) || nsyn == 0 || nsyn > 1000 || llen == 0)
				goto bad;
			for (unsigned long k = 0; k < nsyn; k++) {
				unsigned long so;
				const char *s = c.p;
				if (!tok_num(&c, 10, &so))
					goto bad;
				while (*s == ' ')
					s++;
				if (!data_line_ok(d, s, (size_t)(c.p - s), so)) {
					snprintf(err, errsz, "data.%s: damaged: synset %.*s (index.%s line %zu) is not there",
						 pos_name[pos], (int)(c.p - s), s, pos_name[pos], lineno);
					return -1;
				}
			}
			hash_put(&wn->idx[pos], lemma, llen, off);
			nent++;
		}
		off = next;
	}
	if (nent == 0) {
		snprintf(err, errsz, "index.%s: damaged: no entries", pos_name[pos]);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errsz, "index.%s: damaged: line %zu is not an index entry", pos_name[pos], lineno);
	return -1;
}

static int load_exc(tl_wordnet *wn, int pos, char *err, size_t errsz)
{
	const wn_map *f = &wn->exc[pos];
	size_t off = 0, lineno = 0;
	while (off < f->n) {
		lineno++;
		cur c = line_at(f, off);
		size_t next = (size_t)(c.end - f->p) + 1;
		const char *s;
		size_t n;
		if (tok(&c, &s, &n)) {
			hash_put(&wn->excf[pos], s, n, (size_t)(s - f->p));
			int nb = 0;
			while (tok(&c, &s, &n)) {
				hash_put(&wn->excr[pos], s, n, (size_t)(s - f->p));
				nb++;
			}
			if (!nb) {
				snprintf(err, errsz, "%s.exc: damaged: line %zu has no base form", pos_name[pos], lineno);
				return -1;
			}
		}
		off = next;
	}
	return 0;
}

tl_wordnet *tl_wordnet_open(const char *dir, char *err, size_t errsz)
{
	if (!dir || !*dir)
		dir = getenv("WNSEARCHDIR");
	if (!dir || !*dir)
		dir = TL_WORDNET_DEFAULT_DIR;
	tl_wordnet *wn = tl_xcalloc(1, sizeof *wn);
	char name[32];
	for (int p = 0; p < TL_WN_NPOS; p++) {
		snprintf(name, sizeof name, "index.%s", pos_name[p]);
		if (map_file(&wn->index[p], dir, name, err, errsz) < 0)
			goto fail;
		snprintf(name, sizeof name, "data.%s", pos_name[p]);
		if (map_file(&wn->data[p], dir, name, err, errsz) < 0)
			goto fail;
		snprintf(name, sizeof name, "%s.exc", pos_name[p]);
		if (map_file(&wn->exc[p], dir, name, err, errsz) < 0)
			goto fail;
		if (load_index(wn, p, err, errsz) < 0 || load_exc(wn, p, err, errsz) < 0)
			goto fail;
	}
	return wn;
fail:
	tl_wordnet_close(wn);
	return NULL;
}

void tl_wordnet_close(tl_wordnet *wn)
{
	if (!wn)
		return;
	for (int p = 0; p < TL_WN_NPOS; p++) {
		unmap_file(&wn->index[p]);
		unmap_file(&wn->data[p]);
		unmap_file(&wn->exc[p]);
		hash_free(&wn->idx[p]);
		hash_free(&wn->excf[p]);
		hash_free(&wn->excr[p]);
	}
	free(wn);
}

/* ---------------- lookups ---------------- */

static size_t lower_copy(char *dst, const char *s, size_t len)
{
	if (len == 0 || len >= TL_WN_MAXWORD)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\n' || c == 0)
			return 0;
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c == ' ' ? '_' : c;
	}
	dst[len] = 0;
	return len;
}

int tl_wordnet_has(const tl_wordnet *wn, const char *lemma, size_t len, int pos)
{
	char w[TL_WN_MAXWORD];
	if (pos < 0 || pos >= TL_WN_NPOS || !lower_copy(w, lemma, len))
		return 0;
	size_t off = hash_get(&wn->idx[pos], w, len);
	if (off == SIZE_MAX)
		return 0;
	cur c = line_at(&wn->index[pos], off);
	unsigned long nsyn;
	return index_head(&c, &nsyn) ? (int)nsyn : 0;
}

struct rule {
	const char *old, *new_;
	unsigned char infl;
};
static const struct rule noun_rules[] = {
	{"s", "", TL_WN_INFL_PLURAL},	  {"ses", "s", TL_WN_INFL_PLURAL},   {"ves", "f", TL_WN_INFL_PLURAL},
	{"xes", "x", TL_WN_INFL_PLURAL},   {"zes", "z", TL_WN_INFL_PLURAL},   {"ches", "ch", TL_WN_INFL_PLURAL},
	{"shes", "sh", TL_WN_INFL_PLURAL}, {"men", "man", TL_WN_INFL_PLURAL}, {"ies", "y", TL_WN_INFL_PLURAL},
	{NULL, NULL, 0}};
static const struct rule verb_rules[] = {
	{"s", "", TL_WN_INFL_3SG},    {"ies", "y", TL_WN_INFL_3SG}, {"es", "e", TL_WN_INFL_3SG},
	{"es", "", TL_WN_INFL_3SG},   {"ed", "e", TL_WN_INFL_PAST}, {"ed", "", TL_WN_INFL_PAST},
	{"ing", "e", TL_WN_INFL_GER}, {"ing", "", TL_WN_INFL_GER},  {NULL, NULL, 0}};
static const struct rule adj_rules[] = {{"er", "", TL_WN_INFL_COMPAR},
					{"est", "", TL_WN_INFL_COMPAR},
					{"er", "e", TL_WN_INFL_COMPAR},
					{"est", "e", TL_WN_INFL_COMPAR},
					{NULL, NULL, 0}};
static const struct rule adv_rules[] = {{NULL, NULL, 0}};
static const struct rule *const rules[TL_WN_NPOS] = {noun_rules, verb_rules, adj_rules, adv_rules};

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

static unsigned exc_infl(int pos, const char *w, size_t n)
{
	if (pos == TL_WN_NOUN)
		return TL_WN_INFL_PLURAL;
	if (pos == TL_WN_VERB) {
		if (ends_with(w, n, "ing"))
			return TL_WN_INFL_GER;
		if (ends_with(w, n, "ed"))
			return TL_WN_INFL_PAST;
		if (ends_with(w, n, "s"))
			return TL_WN_INFL_3SG;
		return TL_WN_INFL_PAST; /* went, gone, ran: past or participle */
	}
	return TL_WN_INFL_COMPAR;
}

static void push_if_lemma(const tl_wordnet *wn, int pos, tl_wn_list *out, const char *s, size_t n, unsigned infl)
{
	if (n == 0 || n >= TL_WN_MAXWORD || hash_get(&wn->idx[pos], s, n) == SIZE_MAX || list_has(out, s, n))
		return;
	tl_wn_list_push(out, s, n, infl);
}

size_t tl_wordnet_morphy(const tl_wordnet *wn, const char *word, size_t len, int pos, tl_wn_list *out)
{
	tl_wn_list_clear(out);
	char w[TL_WN_MAXWORD];
	if (pos < 0 || pos >= TL_WN_NPOS || !lower_copy(w, word, len))
		return 0;
	push_if_lemma(wn, pos, out, w, len, TL_WN_INFL_NONE);
	/* a form listed twice: the last line wins (as in NLTK) */
	size_t off = SIZE_MAX, o;
	uint32_t it = UINT32_MAX;
	while ((o = hash_next(&wn->excf[pos], w, len, &it)) != SIZE_MAX)
		off = o;
	if (off != SIZE_MAX) {
		cur c = line_at(&wn->exc[pos], off);
		const char *s;
		size_t n;
		tok(&c, &s, &n);
		unsigned infl = exc_infl(pos, w, len);
		while (tok(&c, &s, &n))
			push_if_lemma(wn, pos, out, s, n, infl);
		return out->n;
	}
	char cand[TL_WN_MAXWORD + 8];
	for (const struct rule *r = rules[pos]; r->old; r++) {
		size_t ol = strlen(r->old), nl = strlen(r->new_);
		if (!ends_with(w, len, r->old))
			continue;
		size_t stem = len - ol;
		memcpy(cand, w, stem);
		memcpy(cand + stem, r->new_, nl);
		push_if_lemma(wn, pos, out, cand, stem + nl, r->infl);
	}
	return out->n;
}

/* Walk the lemma names of the synsets under lemma in pos: calls fn for
 * each (name as in the data file, adjective marker removed). */
typedef void (*lemma_fn)(void *ctx, const char *s, size_t n, int pos, unsigned infl);

static void each_lemma(const tl_wordnet *wn, int pos, const char *lemma, size_t len, unsigned infl, lemma_fn fn,
		       void *ctx)
{
	size_t off = hash_get(&wn->idx[pos], lemma, len);
	if (off == SIZE_MAX)
		return;
	cur c = line_at(&wn->index[pos], off);
	unsigned long nsyn;
	if (!index_head(&c, &nsyn))
		return;
	for (unsigned long k = 0; k < nsyn; k++) {
		unsigned long so, x, wcnt;
		if (!tok_num(&c, 10, &so) || so >= wn->data[pos].n)
			return;
		cur d = line_at(&wn->data[pos], so);
		const char *s;
		size_t n;
		/* synset_offset lex_filenum ss_type w_cnt (word lex_id)... */
		if (!tok_num(&d, 10, &x) || !tok_num(&d, 10, &x) || !tok(&d, &s, &n) || !tok_num(&d, 16, &wcnt))
			continue;
		for (unsigned long i = 0; i < wcnt; i++) {
			if (!tok(&d, &s, &n))
				break;
			size_t m = n;
			if (pos == TL_WN_ADJ && m > 2 && s[m - 1] == ')') {
				size_t j = m;
				while (j > 0 && s[j - 1] != '(')
					j--;
				if (j > 1)
					m = j - 1;
			}
			fn(ctx, s, m, pos, infl);
			if (!tok(&d, &s, &n)) /* lex_id */
				break;
		}
	}
}

static void collect_raw(void *ctx, const char *s, size_t n, int pos, unsigned infl)
{
	(void)infl;
	tl_wn_list *out = ctx;
	if (!list_has(out, s, n))
		tl_wn_list_push(out, s, n, (unsigned)pos);
}

size_t tl_wordnet_lemmas(const tl_wordnet *wn, const char *word, size_t len, tl_wn_list *out)
{
	tl_wn_list_clear(out);
	tl_wn_list forms = {0};
	for (int p = 0; p < TL_WN_NPOS; p++) {
		tl_wordnet_morphy(wn, word, len, p, &forms);
		for (size_t i = 0; i < forms.n; i++) {
			const char *f = tl_wn_list_at(&forms, i);
			each_lemma(wn, p, f, strlen(f), forms.tag[i], collect_raw, out);
		}
	}
	tl_wn_list_free(&forms);
	return out->n;
}

/* ---------------- inflection ---------------- */

static int is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

static size_t regular(const char *h, size_t n, int infl, char *o)
{
	memcpy(o, h, n);
	switch (infl) {
	case TL_WN_INFL_PLURAL:
	case TL_WN_INFL_3SG:
		if (ends_with(h, n, "s") || ends_with(h, n, "x") || ends_with(h, n, "z") || ends_with(h, n, "ch") ||
		    ends_with(h, n, "sh")) {
			memcpy(o + n, "es", 2);
			return n + 2;
		}
		if (n >= 2 && h[n - 1] == 'y' && !is_vowel(h[n - 2])) {
			memcpy(o + n - 1, "ies", 3);
			return n + 2;
		}
		if (infl == TL_WN_INFL_3SG && n >= 2 && h[n - 1] == 'o' && !is_vowel(h[n - 2])) {
			memcpy(o + n, "es", 2); /* goes, does, echoes */
			return n + 2;
		}
		o[n] = 's';
		return n + 1;
	case TL_WN_INFL_PAST:
		if (h[n - 1] == 'e') {
			o[n] = 'd';
			return n + 1;
		}
		if (n >= 2 && h[n - 1] == 'y' && !is_vowel(h[n - 2])) {
			memcpy(o + n - 1, "ied", 3);
			return n + 2;
		}
		memcpy(o + n, "ed", 2);
		return n + 2;
	case TL_WN_INFL_GER:
		if (ends_with(h, n, "ie")) {
			memcpy(o + n - 2, "ying", 4);
			return n + 2;
		}
		if (n > 2 && h[n - 1] == 'e' && h[n - 2] != 'e' && h[n - 2] != 'o' && h[n - 2] != 'y') {
			memcpy(o + n - 1, "ing", 3);
			return n + 2;
		}
		memcpy(o + n, "ing", 3);
		return n + 3;
	}
	return n;
}

/* Inflect one word h (lower case, letters and '-'): returns length in o
 * (room for n + 8), or 0 when unsafe. */
static size_t inflect_word(const tl_wordnet *wn, const char *h, size_t n, int pos, int infl, char *o)
{
	if (n == 0)
		return 0;
	if (infl == TL_WN_INFL_NONE) {
		memcpy(o, h, n);
		return n;
	}
	if (infl == TL_WN_INFL_COMPAR || n >= TL_WN_MAXWORD)
		return 0;
	int xp = pos == TL_WN_NOUN ? TL_WN_NOUN : TL_WN_VERB;
	const wn_hash *rh = &wn->excr[xp];
	const wn_map *f = &wn->exc[xp];
	uint32_t it = UINT32_MAX;
	size_t off;
	int nirr = 0;
	const char *suf = infl == TL_WN_INFL_PLURAL ? "" : infl == TL_WN_INFL_3SG ? "s" : infl == TL_WN_INFL_PAST ? "ed" : "ing";
	while ((off = hash_next(rh, h, n, &it)) != SIZE_MAX) {
		/* the inflected form is the first token of that line */
		size_t ls = off;
		while (ls > 0 && f->p[ls - 1] != '\n')
			ls--;
		size_t fl = keylen_at(f, ls);
		nirr++;
		if (fl < TL_WN_MAXWORD && ends_with(f->p + ls, fl, suf)) {
			memcpy(o, f->p + ls, fl);
			return fl;
		}
	}
	if (nirr && infl == TL_WN_INFL_PAST)
		return 0; /* irregular verb: which of its forms is unknowable */
	return regular(h, n, infl, o);
}

size_t tl_wordnet_inflect(const tl_wordnet *wn, const char *base, size_t len, int pos, int infl, char *out,
			  size_t outsz)
{
	if (len == 0 || len + 16 > outsz || len >= TL_WN_MAXWORD)
		return 0;
	/* head: last word of a noun, first word of a verb */
	size_t hs = 0, he = len;
	if (infl != TL_WN_INFL_NONE) {
		if (pos == TL_WN_VERB) {
			const char *sp = memchr(base, ' ', len);
			he = sp ? (size_t)(sp - base) : len;
		} else {
			for (size_t i = len; i > 0; i--)
				if (base[i - 1] == ' ') {
					hs = i;
					break;
				}
		}
		for (size_t i = hs; i < he; i++)
			if (!((base[i] >= 'a' && base[i] <= 'z') || base[i] == '-'))
				return 0;
	}
	char o[TL_WN_MAXWORD + 16];
	size_t hl = inflect_word(wn, base + hs, he - hs, pos, infl, o);
	if (!hl)
		return 0;
	size_t n = 0;
	memcpy(out, base, hs);
	n += hs;
	memcpy(out + n, o, hl);
	n += hl;
	memcpy(out + n, base + he, len - he);
	n += len - he;
	out[n] = 0;
	return n;
}

struct syn_ctx {
	const tl_wordnet *wn;
	tl_wn_list *out;
	const char *word;
	size_t wlen;
};

static void collect_syn(void *vctx, const char *s, size_t n, int pos, unsigned infl)
{
	struct syn_ctx *c = vctx;
	char b[TL_WN_MAXWORD], o[TL_WN_MAXWORD + 16];
	if (n >= TL_WN_MAXWORD)
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch + 32);
		else if (ch == '_')
			ch = ' ';
		else if (!((ch >= 'a' && ch <= 'z') || ch == '-' || ch == '\''))
			return;
		b[i] = ch;
	}
	size_t m = tl_wordnet_inflect(c->wn, b, n, pos, (int)infl, o, sizeof o);
	if (!m || (m == c->wlen && !memcmp(o, c->word, m)) || list_has(c->out, o, m))
		return;
	tl_wn_list_push(c->out, o, m, (unsigned)pos);
}

size_t tl_wordnet_synonyms(const tl_wordnet *wn, const char *word, size_t len, tl_wn_list *out)
{
	tl_wn_list_clear(out);
	char w[TL_WN_MAXWORD];
	if (!lower_copy(w, word, len))
		return 0;
	char wsp[TL_WN_MAXWORD]; /* the word as text: '_' -> ' ' */
	for (size_t i = 0; i <= len; i++)
		wsp[i] = w[i] == '_' ? ' ' : w[i];
	struct syn_ctx ctx = {wn, out, wsp, len};
	tl_wn_list forms = {0};
	for (int p = 0; p < TL_WN_NPOS; p++) {
		tl_wordnet_morphy(wn, w, len, p, &forms);
		for (size_t i = 0; i < forms.n; i++) {
			if (forms.tag[i] == TL_WN_INFL_COMPAR)
				continue;
			const char *f = tl_wn_list_at(&forms, i);
			each_lemma(wn, p, f, strlen(f), forms.tag[i], collect_syn, &ctx);
		}
	}
	tl_wn_list_free(&forms);
	return out->n;
}
