/* augment.c - EDA operations, rotation and noise on words of a text; the
 * seeded generator; synonym dictionaries. See include/tl/augment.h. */
#include "tl/augment.h"
#include "tl/fsutil.h"
#include "tl/strtab.h"
#include "tl/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------- operation names ---------------- */

static const char *const op_names[TL_AUG_NOPS] = {"sr", "ri", "rs", "rd", "rot", "typo", "dropout"};

const char *tl_aug_op_name(int op)
{
	return op >= 0 && op < TL_AUG_NOPS ? op_names[op] : "?";
}

int tl_aug_parse_ops(const char *list, unsigned *ops, char *err, size_t errsz)
{
	unsigned set = 0;
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int found = 0;
		for (int i = 0; i < TL_AUG_NOPS; i++)
			if (strlen(op_names[i]) == n && !memcmp(p, op_names[i], n)) {
				set |= 1u << i;
				found = 1;
			}
		if (n == 3 && !memcmp(p, "eda", 3))
			set |= 0xfu, found = 1;
		else if (n == 5 && !memcmp(p, "noise", 5))
			set |= (1u << TL_AUG_TYPO) | (1u << TL_AUG_DROP), found = 1;
		else if (n == 3 && !memcmp(p, "all", 3))
			set |= (1u << TL_AUG_NOPS) - 1, found = 1;
		else if (n == 6 && !memcmp(p, "rotate", 6))
			set |= 1u << TL_AUG_ROT, found = 1;
		if (!found) {
			snprintf(err, errsz,
				 "unknown operation '%.*s' (sr, ri, rs, rd, rot, typo, dropout, eda, noise, all)",
				 (int)n, p);
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!set) {
		snprintf(err, errsz, "no operation given");
		return -1;
	}
	*ops = set;
	return 0;
}

void tl_aug_opts_default(tl_aug_opts *o)
{
	for (int i = 0; i < TL_AUG_NOPS; i++)
		o->rate[i] = 0.1;
}

/* ---------------- stop words (EDA's list, plus contraction pieces) ---- */

static const char *const stop_words[] = {
	"i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
	"yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
	"they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these",
	"those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
	"does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
	"of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
	"after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again",
	"further", "then", "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each",
	"few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so", "than",
	"too", "very", "s", "t", "can", "will", "just", "don", "should", "now",
	/* tl: pieces of contractions as they appear in tokenized text */
	"'s", "'re", "'ve", "'ll", "'d", "'m", "n't", "'t"};
#define NSTOP (sizeof stop_words / sizeof *stop_words)

int tl_augment_is_stopword(const char *w, size_t len)
{
	char b[16];
	if (len == 0 || len >= sizeof b)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = w[i];
		b[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	for (size_t i = 0; i < NSTOP; i++)
		if (strlen(stop_words[i]) == len && !memcmp(stop_words[i], b, len))
			return 1;
	return 0;
}

/* ---------------- characters ---------------- */

static int is_cjk(int32_t c)
{
	return (c >= 0x3040 && c <= 0x30ff) ||   /* hiragana, katakana */
	       (c >= 0x3400 && c <= 0x4dbf) ||   /* ext A */
	       (c >= 0x4e00 && c <= 0x9fff) ||   /* unified */
	       (c >= 0xf900 && c <= 0xfaff) ||   /* compatibility */
	       (c >= 0x20000 && c <= 0x323af);   /* ext B-H */
}

static int is_punct(int32_t c)
{
	if (c < 0x80)
		return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
	utf8proc_category_t k = utf8proc_category(c);
	return (k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO) ||
	       (k >= UTF8PROC_CATEGORY_SM && k <= UTF8PROC_CATEGORY_SO);
}

static int is_space(int32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= 9 && c <= 13);
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

static int is_letter(int32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	return !is_punct(c) && !is_space(c);
}

/* Decode one code point at s[i]; invalid bytes are U+FFFD of length 1. */
static int32_t dec(const char *s, size_t n, size_t i, size_t *cl)
{
	unsigned char c = (unsigned char)s[i];
	if (c < 0x80) {
		*cl = 1;
		return c;
	}
	int32_t cp;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
	if (k <= 0) {
		*cl = 1;
		return 0xfffd;
	}
	*cl = (size_t)k;
	return cp;
}

/* Start of the code point that ends at s[e) (e > 0). */
static size_t back(const char *s, size_t e)
{
	size_t i = e - 1;
	int k = 0;
	while (i > 0 && k < 3 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--, k++;
	return i;
}

int tl_augment_is_unsegmented(const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t cl;
		int32_t c = dec(text, len, i, &cl);
		if (is_cjk(c))
			return 1;
		i += cl;
	}
	return 0;
}

/* ---------------- synonym dictionaries ---------------- */


struct tl_synonyms {
	char *data;       /* the file, edited in place: keys and synonyms NUL-terminated */
	size_t n;
	tl_strtab keys;   /* key -> entry index */
	struct syn_entry {
		uint32_t key, klen, first, count;
	} *ent;
	size_t nent;
	int max_cjk;      /* longest key in code points, for forward maximum matching */
};

static size_t syn_find(const tl_synonyms *s, const char *w, size_t len)
{
	int64_t id = tl_strtab_find(&s->keys, w, len);
	return id < 0 ? SIZE_MAX : (size_t)id;
}

tl_synonyms *tl_synonyms_load(const char *path, char *err, size_t errsz)
{
	tl_buf b = {0};
	int rc = tl_fs_read_file(path, &b);
	if (rc < 0) {
		if (rc == -1)
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errsz, "%s: read error", path);
		tl_buf_free(&b);
		return NULL;
	}
	tl_buf_addc(&b, '\n');
	if (b.len > 0xf0000000u) {
		snprintf(err, errsz, "%s: too large", path);
		tl_buf_free(&b);
		return NULL;
	}
	tl_synonyms *s = tl_xcalloc(1, sizeof *s);
	s->data = b.data;
	s->n = b.len;
	size_t nlines = 0;
	for (size_t i = 0; i < b.len; i++)
		nlines += b.data[i] == '\n';
	s->ent = tl_xmalloc((nlines + 1) * sizeof *s->ent);
	size_t off = 0, lineno = 0;
	while (off < b.len) {
		char *line = b.data + off;
		char *nl = memchr(line, '\n', b.len - off);
		size_t ll = (size_t)(nl - line);
		off += ll + 1;
		lineno++;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		line[ll] = 0;
		if (tl_text_count_invalid_utf8(line, ll)) {
			snprintf(err, errsz, "%s line %zu: invalid UTF-8", path, lineno);
			goto fail;
		}
		char *tab = memchr(line, '\t', ll);
		if (!tab || tab == line) {
			snprintf(err, errsz, "%s line %zu: expected word<TAB>synonym synonym ...", path, lineno);
			goto fail;
		}
		*tab = 0;
		struct syn_entry e = {(uint32_t)(line - b.data), (uint32_t)(tab - line), 0, 0};
		/* synonyms: split at spaces in place; '_' -> ' ' */
		char *p = tab + 1, *end = line + ll, *w = p;
		e.first = (uint32_t)(p - b.data);
		while (p < end) {
			/* a separator may already hold the NUL written after the
			 * previous synonym (w == p until the first run of spaces) */
			while (p < end && (*p == ' ' || *p == '\t' || *p == 0))
				p++;
			if (p >= end)
				break;
			char *q = p;
			while (q < end && *q != ' ' && *q != '\t' && *q != 0)
				q++;
			for (char *c = p; c < q; c++)
				*w++ = *c == '_' ? ' ' : *c;
			*w++ = 0;
			e.count++;
			p = q;
		}
		while (w < end)
			*w++ = 0;
		if (e.count == 0)
			continue; /* a word without synonyms */
		int isnew;
		tl_strtab_add(&s->keys, line, e.klen, &isnew);
		if (!isnew) {
			snprintf(err, errsz, "%s line %zu: '%s' is listed twice", path, lineno, line);
			goto fail;
		}
		s->ent[s->nent++] = e;
		int ncp = 0, allcjk = 1;
		for (size_t j = 0; j < e.klen;) {
			size_t cl;
			if (!is_cjk(dec(line, e.klen, j, &cl)))
				allcjk = 0;
			j += cl;
			ncp++;
		}
		if (allcjk && ncp > s->max_cjk)
			s->max_cjk = ncp > 8 ? 8 : ncp;
	}
	if (s->nent == 0) {
		snprintf(err, errsz, "%s: no entries", path);
		goto fail;
	}
	return s;
fail:
	tl_synonyms_free(s);
	return NULL;
}

void tl_synonyms_free(tl_synonyms *s)
{
	if (!s)
		return;
	free(s->data);
	tl_strtab_free(&s->keys);
	free(s->ent);
	free(s);
}

size_t tl_synonyms_get(const tl_synonyms *s, const char *w, size_t len, const char **first)
{
	size_t i = syn_find(s, w, len);
	if (i == SIZE_MAX && len < 128) {
		char b[128];
		int changed = 0;
		for (size_t j = 0; j < len; j++) {
			char c = w[j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32), changed = 1;
			b[j] = c;
		}
		if (changed)
			i = syn_find(s, b, len);
	}
	if (i == SIZE_MAX)
		return 0;
	*first = s->data + s->ent[i].first;
	return s->ent[i].count;
}

/* ---------------- the augmenter ---------------- */

typedef struct {
	uint32_t off, len; /* bytes in arena */
	uint8_t word, space, cjk, mark;
} slot;

struct cache_ent {
	uint32_t first, count; /* synonyms in cache: NUL-separated from first */
};

struct tl_augmenter {
	tl_aug_opts o;
	const tl_wordnet *wn;
	const tl_synonyms *syn;
	tl_buf arena;        /* the text being edited, then new strings */
	slot *sl, *tmp;
	size_t nsl, capsl;
	size_t *widx, *ord;
	size_t capw;
	tl_buf out, norm;
	tl_wn_list wl;
	tl_strtab ckeys;        /* WordNet synonym cache: word -> cent[id] */
	struct cache_ent *cent;
	size_t capcent;
	tl_buf cache;
	char nb[26][8];
	unsigned char nnb[26];
};

static void build_keyboard(tl_augmenter *a)
{
	static const char *const rows[3] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
	for (int r = 0; r < 3; r++) {
		int n = (int)strlen(rows[r]);
		for (int i = 0; i < n; i++) {
			int c = rows[r][i] - 'a', k = 0;
			char *nb = a->nb[c];
			if (i > 0)
				nb[k++] = rows[r][i - 1];
			if (i + 1 < n)
				nb[k++] = rows[r][i + 1];
			if (r > 0) { /* the row above is shifted left by half a key */
				int m = (int)strlen(rows[r - 1]);
				if (i < m)
					nb[k++] = rows[r - 1][i];
				if (i + 1 < m)
					nb[k++] = rows[r - 1][i + 1];
			}
			if (r < 2) {
				int m = (int)strlen(rows[r + 1]);
				if (i - 1 >= 0 && i - 1 < m)
					nb[k++] = rows[r + 1][i - 1];
				if (i < m)
					nb[k++] = rows[r + 1][i];
			}
			a->nnb[c] = (unsigned char)k;
		}
	}
}

tl_augmenter *tl_augmenter_new(const tl_aug_opts *o, const tl_wordnet *wn, const tl_synonyms *syn)
{
	tl_augmenter *a = tl_xcalloc(1, sizeof *a);
	a->o = *o;
	a->wn = wn;
	a->syn = syn;
	build_keyboard(a);
	return a;
}

void tl_augmenter_free(tl_augmenter *a)
{
	if (!a)
		return;
	tl_buf_free(&a->arena);
	tl_buf_free(&a->out);
	tl_buf_free(&a->norm);
	tl_buf_free(&a->cache);
	tl_wn_list_free(&a->wl);
	free(a->sl);
	free(a->tmp);
	free(a->widx);
	free(a->ord);
	free(a->cent);
	tl_strtab_free(&a->ckeys);
	free(a);
}

/* ---- synonyms with a cache of WordNet answers ---- */

static int ascii_word(const char *s, size_t n)
{
	int letters = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letters = 1;
		else if (c != '-' && c != '\'')
			return 0;
	}
	return letters;
}

/* Synonyms of word s: count, NUL-separated strings from *first; valid
 * until the next call. */
static size_t get_syns(tl_augmenter *a, const char *s, size_t n, const char **first)
{
	if (a->syn) {
		size_t k = tl_synonyms_get(a->syn, s, n, first);
		if (k)
			return k;
	}
	if (!a->wn || n >= TL_WN_MAXWORD || !ascii_word(s, n))
		return 0;
	char key[TL_WN_MAXWORD];
	for (size_t i = 0; i < n; i++)
		key[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	int64_t id = tl_strtab_find(&a->ckeys, key, n);
	if (id >= 0) {
		*first = a->cache.data + a->cent[id].first;
		return a->cent[id].count;
	}
	if (a->cache.len > ((size_t)64 << 20)) { /* bounded memory: start over */
		a->cache.len = 0;
		tl_strtab_free(&a->ckeys);
	}
	size_t k = tl_wordnet_synonyms(a->wn, key, n, &a->wl);
	id = tl_strtab_add(&a->ckeys, key, n, NULL);
	if ((size_t)id >= a->capcent) {
		a->capcent = a->capcent ? 2 * a->capcent : 4096;
		a->cent = tl_xrealloc(a->cent, a->capcent * sizeof *a->cent);
	}
	a->cent[id] = (struct cache_ent){(uint32_t)a->cache.len, (uint32_t)k};
	tl_buf_reserve(&a->cache, a->wl.b.len + 1); /* cache.data != NULL */
	tl_buf_add(&a->cache, a->wl.b.data, a->wl.b.len);
	*first = a->cache.data + a->cent[id].first;
	return k;
}

static const char *nth_str(const char *first, size_t k)
{
	while (k--)
		first += strlen(first) + 1;
	return first;
}

/* ---- splitting ---- */

static void add_slot(tl_augmenter *a, size_t off, size_t len, int word, int space, int cjk)
{
	if (a->nsl == a->capsl) {
		a->capsl = a->capsl ? 2 * a->capsl : 64;
		a->sl = tl_xrealloc(a->sl, a->capsl * sizeof *a->sl);
		a->tmp = tl_xrealloc(a->tmp, a->capsl * sizeof *a->tmp);
	}
	slot s = {(uint32_t)off, (uint32_t)len, (uint8_t)word, (uint8_t)space, (uint8_t)cjk, 0};
	a->sl[a->nsl++] = s;
}

static void split_core(tl_augmenter *a, size_t cs, size_t ce, int space)
{
	const char *s = a->arena.data;
	int any = 0;
	for (size_t i = cs; i < ce && !any;) {
		size_t cl;
		any = is_cjk(dec(s, ce, i, &cl));
		i += cl;
	}
	if (!any) {
		add_slot(a, cs, ce - cs, 1, space, 0);
		return;
	}
	/* runs: 0 none, 1 word letters, 2 punctuation */
	int run = 0;
	size_t rs = cs;
	for (size_t i = cs; i <= ce;) {
		size_t cl = 0;
		int32_t c = i < ce ? dec(s, ce, i, &cl) : 0;
		int kind = i == ce ? 0 : is_cjk(c) ? 3 : is_punct(c) ? 2 : 1;
		if (run && kind != run) {
			add_slot(a, rs, i - rs, run == 1, space, 0);
			space = 0;
			run = 0;
		}
		if (kind == 3) {
			add_slot(a, i, cl, 1, space, 1);
			space = 0;
		} else if (kind && !run) {
			run = kind;
			rs = i;
		}
		if (i == ce)
			break;
		i += cl;
	}
}

static void split_token(tl_augmenter *a, size_t ts, size_t te, int space)
{
	const char *s = a->arena.data;
	size_t cs = ts, cl;
	while (cs < te) {
		int32_t c = dec(s, te, cs, &cl);
		if (!is_punct(c))
			break;
		if ((c == '\'' || c == 0x2019) && cs + cl < te) {
			size_t cl2;
			if (is_letter(dec(s, te, cs + cl, &cl2)))
				break;
		}
		cs += cl;
	}
	size_t ce = te;
	while (ce > cs) {
		size_t b = back(s, ce);
		int32_t c = dec(s, ce, b, &cl);
		if (b + cl != ce || !is_punct(c))
			break;
		ce = b;
	}
	if (cs > ts) {
		add_slot(a, ts, cs - ts, 0, space, 0);
		space = 0;
	}
	if (ce > cs) {
		split_core(a, cs, ce, space);
		space = 0;
	}
	if (te > ce)
		add_slot(a, ce, te - ce, 0, space, 0);
}

/* Merge runs of adjacent CJK words that spell a dictionary entry. */
static void fmm_merge(tl_augmenter *a)
{
	int maxk = a->syn->max_cjk;
	size_t o = 0;
	for (size_t i = 0; i < a->nsl;) {
		size_t take = 1;
		if (a->sl[i].cjk) {
			for (int k = maxk; k >= 2; k--) {
				if (i + (size_t)k > a->nsl)
					continue;
				int ok = 1;
				for (size_t j = i + 1; j < i + (size_t)k && ok; j++)
					ok = a->sl[j].cjk && !a->sl[j].space &&
					     a->sl[j].off == a->sl[j - 1].off + a->sl[j - 1].len;
				if (!ok)
					continue;
				size_t end = a->sl[i + (size_t)k - 1].off + a->sl[i + (size_t)k - 1].len;
				const char *first;
				if (tl_synonyms_get(a->syn, a->arena.data + a->sl[i].off, end - a->sl[i].off, &first)) {
					take = (size_t)k;
					a->sl[i].len = (uint32_t)(end - a->sl[i].off);
					break;
				}
			}
		}
		a->sl[o++] = a->sl[i];
		i += take;
	}
	a->nsl = o;
}

static void split_text(tl_augmenter *a, const char *text, size_t len)
{
	a->arena.len = 0;
	tl_buf_add(&a->arena, text, len);
	a->nsl = 0;
	const char *s = a->arena.data;
	size_t i = 0, cl;
	int space = 0;
	while (i < len) {
		int32_t c = dec(s, len, i, &cl);
		if (is_space(c)) {
			i += cl;
			space = 1;
			continue;
		}
		size_t ts = i;
		while (i < len) {
			c = dec(s, len, i, &cl);
			if (is_space(c))
				break;
			i += cl;
		}
		split_token(a, ts, i, space);
		space = 1;
	}
	if (a->syn && a->syn->max_cjk >= 2)
		fmm_merge(a);
}

static size_t words(tl_augmenter *a)
{
	if (a->capw < a->capsl + 1) {
		a->capw = a->capsl + 1;
		a->widx = tl_xrealloc(a->widx, a->capw * sizeof *a->widx);
		a->ord = tl_xrealloc(a->ord, a->capw * sizeof *a->ord);
	}
	size_t n = 0;
	for (size_t i = 0; i < a->nsl; i++)
		if (a->sl[i].word)
			a->widx[n++] = i;
	return n;
}

static void render(tl_augmenter *a, tl_buf *out)
{
	out->len = 0;
	for (size_t i = 0; i < a->nsl; i++) {
		if (a->sl[i].space && out->len)
			tl_buf_addc(out, ' ');
		tl_buf_add(out, a->arena.data + a->sl[i].off, a->sl[i].len);
	}
	tl_buf_cstr(out);
}

/* ---- helpers on words ---- */

enum { CASE_KEEP, CASE_TITLE, CASE_UPPER };

static int case_of(const char *s, size_t n)
{
	int up = 0, low = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			up++;
		else if (s[i] >= 'a' && s[i] <= 'z')
			low++;
	}
	if (up >= 2 && !low)
		return CASE_UPPER;
	if (n && s[0] >= 'A' && s[0] <= 'Z')
		return CASE_TITLE;
	return CASE_KEEP;
}

/* Append s to the arena in case mode cm; point slot w at it. */
static void set_text(tl_augmenter *a, slot *w, const char *s, size_t n, int cm)
{
	size_t off = a->arena.len;
	tl_buf_add(&a->arena, s, n);
	char *p = a->arena.data + off;
	if (cm == CASE_UPPER) {
		for (size_t i = 0; i < n; i++)
			if (p[i] >= 'a' && p[i] <= 'z')
				p[i] = (char)(p[i] - 32);
	} else if (cm == CASE_TITLE && n && p[0] >= 'a' && p[0] <= 'z') {
		p[0] = (char)(p[0] - 32);
	}
	w->off = (uint32_t)off;
	w->len = (uint32_t)n;
}

static int eq_ci(const char *x, size_t nx, const char *y, size_t ny)
{
	if (nx != ny)
		return 0;
	for (size_t i = 0; i < nx; i++) {
		char a = x[i], b = y[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (char)(b + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

static void shuffle(size_t *v, size_t n, tl_xoshiro *r)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tl_xoshiro_below(r, i);
		size_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static size_t n_changes(double alpha, size_t nw)
{
	size_t n = (size_t)(alpha * (double)nw);
	return n < 1 ? 1 : n;
}

static int stop_slot(const tl_augmenter *a, const slot *w)
{
	return tl_augment_is_stopword(a->arena.data + w->off, w->len);
}

/* ---- the operations ---- */

static int op_sr(tl_augmenter *a, tl_xoshiro *r)
{
	size_t nw = words(a);
	if (!nw)
		return 0;
	size_t n = n_changes(a->o.rate[TL_AUG_SR], nw), done = 0;
	memcpy(a->ord, a->widx, nw * sizeof *a->ord);
	shuffle(a->ord, nw, r);
	char key[256];
	for (size_t t = 0; t < nw && done < n; t++) {
		slot *w = &a->sl[a->ord[t]];
		if (w->mark || w->len >= sizeof key || stop_slot(a, w))
			continue;
		const char *first;
		size_t k = get_syns(a, a->arena.data + w->off, w->len, &first);
		if (!k)
			continue;
		const char *syn = nth_str(first, (size_t)tl_xoshiro_below(r, k));
		size_t kl = w->len;
		memcpy(key, a->arena.data + w->off, kl);
		/* every occurrence of the word, as EDA does */
		for (size_t j = 0; j < nw; j++) {
			slot *v = &a->sl[a->widx[j]];
			if (v->mark || !eq_ci(a->arena.data + v->off, v->len, key, kl))
				continue;
			set_text(a, v, syn, strlen(syn), case_of(a->arena.data + v->off, v->len));
			v->mark = 1;
		}
		done++;
	}
	return done > 0;
}

static void insert_slot(tl_augmenter *a, size_t at, slot s)
{
	add_slot(a, 0, 0, 0, 0, 0); /* grow */
	memmove(a->sl + at + 1, a->sl + at, (a->nsl - 1 - at) * sizeof *a->sl);
	a->sl[at] = s;
}

static int op_ri(tl_augmenter *a, tl_xoshiro *r)
{
	size_t nw = words(a);
	if (!nw)
		return 0;
	size_t n = n_changes(a->o.rate[TL_AUG_RI], nw), done = 0;
	for (size_t i = 0; i < n; i++) {
		nw = words(a);
		const char *syn = NULL;
		int cm = CASE_KEEP;
		for (int tries = 0; tries < 10 && !syn; tries++) {
			slot *w = &a->sl[a->widx[tl_xoshiro_below(r, nw)]];
			if (stop_slot(a, w))
				continue;
			const char *first;
			size_t k = get_syns(a, a->arena.data + w->off, w->len, &first);
			if (k) {
				syn = nth_str(first, (size_t)tl_xoshiro_below(r, k));
				cm = case_of(a->arena.data + w->off, w->len) == CASE_UPPER ? CASE_UPPER : CASE_KEEP;
			}
		}
		if (!syn)
			break;
		size_t pos = (size_t)tl_xoshiro_below(r, nw + 1);
		slot s = {0, 0, 1, 0, (uint8_t)tl_augment_is_unsegmented(syn, strlen(syn)), 1};
		set_text(a, &s, syn, strlen(syn), cm);
		if (pos < nw) {
			size_t at = a->widx[pos];
			s.space = a->sl[at].space;
			insert_slot(a, at, s);
			a->sl[at + 1].space = (s.cjk && a->sl[at + 1].cjk) ? 0 : 1;
		} else {
			size_t at = a->widx[nw - 1];
			s.space = (s.cjk && a->sl[at].cjk) ? 0 : 1;
			insert_slot(a, at + 1, s);
		}
		done++;
	}
	return done > 0;
}

static void swap_text(slot *x, slot *y)
{
	slot t = *x;
	x->off = y->off, x->len = y->len, x->cjk = y->cjk;
	y->off = t.off, y->len = t.len, y->cjk = t.cjk;
}

static int op_rs(tl_augmenter *a, tl_xoshiro *r)
{
	size_t nw = words(a);
	if (nw < 2)
		return 0;
	size_t n = n_changes(a->o.rate[TL_AUG_RS], nw);
	for (size_t i = 0; i < n; i++) {
		size_t x = (size_t)tl_xoshiro_below(r, nw), y = (size_t)tl_xoshiro_below(r, nw);
		for (int c = 0; y == x && c < 3; c++) /* EDA: three tries */
			y = (size_t)tl_xoshiro_below(r, nw);
		if (x != y)
			swap_text(&a->sl[a->widx[x]], &a->sl[a->widx[y]]);
	}
	return 1;
}

static void compact(tl_augmenter *a)
{
	size_t o = 0;
	int pending = 0;
	for (size_t i = 0; i < a->nsl; i++) {
		slot s = a->sl[i];
		if (s.mark) {
			pending |= s.space;
			continue;
		}
		if (pending && s.word)
			s.space = 1;
		pending = 0;
		a->sl[o++] = s;
	}
	a->nsl = o;
}

static int op_delete(tl_augmenter *a, tl_xoshiro *r, double p)
{
	size_t nw = words(a);
	if (nw < 2)
		return 0;
	size_t kept = 0;
	for (size_t i = 0; i < nw; i++) {
		int keep = tl_xoshiro_unit(r) > p;
		a->sl[a->widx[i]].mark = !keep;
		kept += keep;
	}
	if (!kept) /* EDA: keep one random word */
		a->sl[a->widx[tl_xoshiro_below(r, nw)]].mark = 0;
	compact(a);
	return 1;
}

static int op_rot(tl_augmenter *a, tl_xoshiro *r)
{
	size_t nw = words(a);
	if (nw < 2)
		return 0;
	size_t k = 1 + (size_t)tl_xoshiro_below(r, nw - 1);
	for (size_t i = 0; i < nw; i++)
		a->tmp[i] = a->sl[a->widx[(i + k) % nw]];
	for (size_t i = 0; i < nw; i++) {
		slot *w = &a->sl[a->widx[i]];
		w->off = a->tmp[i].off, w->len = a->tmp[i].len, w->cjk = a->tmp[i].cjk;
	}
	return 1;
}

static char neighbour(tl_augmenter *a, char c, tl_xoshiro *r)
{
	int up = c >= 'A' && c <= 'Z';
	int k = (up ? c + 32 : c) - 'a';
	char n = a->nb[k][tl_xoshiro_below(r, a->nnb[k])];
	return up ? (char)(n - 32) : n;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One typo in word w: keyboard-neighbour substitution, transposition,
 * deletion or insertion, chosen uniformly among those possible. */
static int typo_word(tl_augmenter *a, slot *w, tl_xoshiro *r)
{
	enum { MAXCP = 128 };
	uint32_t st[MAXCP + 1];
	size_t ncp = 0, nalpha = 0, ntrans = 0;
	const char *s = a->arena.data + w->off;
	for (size_t i = 0, cl; i < w->len; i += cl) {
		if (ncp == MAXCP)
			return 0;
		dec(s, w->len, i, &cl);
		st[ncp++] = (uint32_t)i;
	}
	st[ncp] = w->len;
#define CPLEN(i) (st[(i) + 1] - st[(i)])
	for (size_t i = 0; i < ncp; i++) {
		nalpha += CPLEN(i) == 1 && is_alpha(s[st[i]]);
		if (i + 1 < ncp && (CPLEN(i) != CPLEN(i + 1) || memcmp(s + st[i], s + st[i + 1], CPLEN(i))))
			ntrans++;
	}
	int kinds[4], nk = 0;
	if (nalpha)
		kinds[nk++] = 0;
	if (ntrans)
		kinds[nk++] = 1;
	if (ncp >= 2)
		kinds[nk++] = 2;
	kinds[nk++] = 3;
	int kind = kinds[tl_xoshiro_below(r, (uint64_t)nk)];
	char buf[MAXCP * 4 + 8];
	size_t n = 0;
	if (kind == 0) { /* substitution */
		size_t t = (size_t)tl_xoshiro_below(r, nalpha), i = 0;
		for (;; i++)
			if (CPLEN(i) == 1 && is_alpha(s[st[i]]) && t-- == 0)
				break;
		memcpy(buf, s, w->len);
		buf[st[i]] = neighbour(a, s[st[i]], r);
		n = w->len;
	} else if (kind == 1) { /* transposition of two different neighbours */
		size_t t = (size_t)tl_xoshiro_below(r, ntrans), i = 0;
		for (;; i++)
			if (CPLEN(i) != CPLEN(i + 1) || memcmp(s + st[i], s + st[i + 1], CPLEN(i)))
				if (t-- == 0)
					break;
		memcpy(buf, s, st[i]);
		n = st[i];
		memcpy(buf + n, s + st[i + 1], CPLEN(i + 1));
		n += CPLEN(i + 1);
		memcpy(buf + n, s + st[i], CPLEN(i));
		n += CPLEN(i);
		memcpy(buf + n, s + st[i + 2], w->len - st[i + 2]);
		n += w->len - st[i + 2];
	} else if (kind == 2) { /* deletion */
		size_t i = (size_t)tl_xoshiro_below(r, ncp);
		memcpy(buf, s, st[i]);
		memcpy(buf + st[i], s + st[i + 1], w->len - st[i + 1]);
		n = w->len - CPLEN(i);
	} else { /* insertion before position i of a key next to a neighbour */
		size_t i = (size_t)tl_xoshiro_below(r, ncp + 1);
		size_t adj = i < ncp ? i : i - 1;
		memcpy(buf, s, st[i]);
		n = st[i];
		if (CPLEN(adj) == 1 && is_alpha(s[st[adj]])) {
			buf[n++] = neighbour(a, s[st[adj]], r);
		} else { /* not a QWERTY key: the character doubled */
			memcpy(buf + n, s + st[adj], CPLEN(adj));
			n += CPLEN(adj);
		}
		memcpy(buf + n, s + st[i], w->len - st[i]);
		n += w->len - st[i];
	}
#undef CPLEN
	set_text(a, w, buf, n, CASE_KEEP);
	return 1;
}

static int op_typo(tl_augmenter *a, tl_xoshiro *r)
{
	size_t nw = words(a);
	if (!nw)
		return 0;
	size_t n = n_changes(a->o.rate[TL_AUG_TYPO], nw), done = 0;
	memcpy(a->ord, a->widx, nw * sizeof *a->ord);
	shuffle(a->ord, nw, r);
	for (size_t t = 0; t < nw && done < n; t++)
		done += (size_t)typo_word(a, &a->sl[a->ord[t]], r);
	return done > 0;
}

int tl_augment_apply(tl_augmenter *a, int op, const char *text, size_t len, tl_xoshiro *rng, const char **out,
		     size_t *outlen)
{
	split_text(a, text, len);
	render(a, &a->norm);
	int changed = 0;
	switch (op) {
	case TL_AUG_SR: changed = op_sr(a, rng); break;
	case TL_AUG_RI: changed = op_ri(a, rng); break;
	case TL_AUG_RS: changed = op_rs(a, rng); break;
	case TL_AUG_RD: changed = op_delete(a, rng, a->o.rate[TL_AUG_RD]); break;
	case TL_AUG_ROT: changed = op_rot(a, rng); break;
	case TL_AUG_TYPO: changed = op_typo(a, rng); break;
	case TL_AUG_DROP: changed = op_delete(a, rng, a->o.rate[TL_AUG_DROP]); break;
	default: break;
	}
	render(a, &a->out);
	if (changed)
		changed = a->out.len != a->norm.len || memcmp(a->out.data, a->norm.data, a->out.len) != 0;
	*out = a->out.data;
	*outlen = a->out.len;
	return changed;
}

size_t tl_augment_words(tl_augmenter *a, const char *text, size_t len, tl_buf *out)
{
	split_text(a, text, len);
	size_t nw = 0;
	for (size_t i = 0; i < a->nsl; i++) {
		if (i)
			tl_buf_addc(out, '|');
		if (!a->sl[i].word)
			tl_buf_addc(out, '[');
		tl_buf_add(out, a->arena.data + a->sl[i].off, a->sl[i].len);
		if (!a->sl[i].word)
			tl_buf_addc(out, ']');
		nw += a->sl[i].word;
	}
	tl_buf_cstr(out);
	return nw;
}
