/* jieba.c - Chinese word segmentation, identical to jieba 0.42.1 (see
 * tl/jieba.h). Written from jieba's documented behaviour and source
 * reading; the arithmetic follows jieba's order of operations so that the
 * doubles, and with them the ties, come out the same:
 *   route[i] = max over ends x of ((log(freq) - log(total)) + route[x+1], x)
 *   V[t][y]  = max over y0 of ((V[t-1][y0] + trans[y0][y]) + emit[y][c], y0)
 * (Python's max over tuples: equal values go to the larger x / state). */
#include "tl/jieba.h"
#include "tl/fsutil.h"
#include "tl/hash.h"
#include "tl/text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TL_MODEL_DIR
#define TL_MODEL_DIR "/usr/local/share/tl/models"
#endif

#define NONE UINT32_MAX
#define HAN_LO 0x4E00u
#define HAN_HI 0x9FD5u
#define NHAN (HAN_HI - HAN_LO + 1)
#define MIN_FLOAT (-3.14e100)
#define JB_VERSION 9
#define JB_WORD 0x80000000u
enum { ST_B, ST_E, ST_M, ST_S };
static const char *const SRC_NAMES[4] = {"dict.txt", "prob_start.py", "prob_trans.py", "prob_emit.py"};

/* ---------------- cache layout (also the in-memory layout) ---------------- */

typedef struct {
	char magic[8];
	uint32_t version, endian;
	uint64_t file_size;
	uint64_t src_size[4];
	int64_t src_mtime_ns[4];
	char dict_sha256[72], emit_sha256[72];
	int64_t total;
	uint64_t nnodes;
	double start[4], trans[16];
	uint64_t off_ftab, off_emit, off_node, nfreq, off_root, off_ncp;
} jb_hdr;

/* The trie as nodes whose children are contiguous and sorted by code point
 * (a subtree lies in one range: walks beyond the second character stay in
 * cache lines already near). A node carries its character, its children
 * [first, first + nch), and fi, the index of its FREQ among the distinct
 * frequencies (ftab, ascending, ftab[0] = 0 for a prefix entry; lftab[fi]
 * = log(ftab[fi])): 16 bytes, four to a cache line. The root's children by
 * code point < 65536 are also in a direct table (0: none). */
typedef struct {
	uint32_t cp, first, nch, fi;
} jb_node;


/* user-dictionary overlay node */
typedef struct {
	uint32_t parent, cp;
	int64_t freq;
	double logf;
	int isword;
} ov_node;

struct tl_jieba {
	/* the compiled dictionary: mmap'd cache or owned buffer */
	void *base;
	size_t base_size;
	int mapped, from_cache;
	const jb_hdr *h;
	const jb_node *node;
	const uint32_t *ncp;  /* node[i].cp packed, for the searches of long child ranges */
	const uint32_t *root; /* the root's children by code point < 65536 (0: none) */
	uint32_t nnodes, nfreq;
	const int64_t *ftab;
	const double *lftab; /* log(ftab[i]) (0 for i = 0) */
	const double *emit;
	int64_t total;
	double logtotal;
	/* overlay (user dictionary) */
	ov_node *ov;
	size_t nov, capov;
	uint64_t *hkeys; /* (parent << 32 | cp) + 1, 0 = empty */
	uint32_t *hvals;
	size_t hcap;
	char **force; /* words with freq 0 (finalseg's Force_Split_Words) */
	size_t nforce;
	/* scratch */
	const char *s;
	uint32_t *cps;
	size_t *boff;
	double *rp;
	size_t *rx;
	const jb_node **d1, **d2; /* calc_main's one- and two-character nodes */
	uint8_t *back;
	size_t cap;
	size_t *spa, *spb;
	uint8_t *spws;
	size_t nsp, capsp;
	tl_buf eng;
};

/* ---------------- characters ---------------- */

static inline int is_han(uint32_t c) { return c >= HAN_LO && c <= HAN_HI; }
static inline int is_eng(uint32_t c) { return (c | 32) - 'a' < 26 || c - '0' < 10; }
/* re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-] */
static inline int in_block(uint32_t c)
{
	return is_han(c) || is_eng(c) || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' || c == '%' ||
	       c == '-';
}
/* Python 3's \s (str.isspace) */
static int is_pyspace(uint32_t c)
{
	if (c <= 0x20)
		return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20);
	if (c < 0x85)
		return 0;
	return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Decode one character at s[i..n); an invalid byte is one unit whose code
 * point (0xDC80 + byte, a lone surrogate) is in no class. */
static size_t dec(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
	unsigned c = s[i];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t k;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF)
		k = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		k = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		k = 4, v = c & 0x07, min = 0x10000;
	else
		goto bad;
	if (i + k > n)
		goto bad;
	for (size_t t = 1; t < k; t++) {
		if ((s[i + t] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (s[i + t] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return k;
bad:
	*cp = 0xDC80 + c;
	return 1;
}

static void grow(tl_jieba *j, size_t n)
{
	if (n + 1 <= j->cap)
		return;
	size_t c = j->cap ? j->cap : 256;
	while (c < n + 1)
		c *= 2;
	j->cps = tl_xrealloc(j->cps, c * sizeof *j->cps);
	j->boff = tl_xrealloc(j->boff, (c + 1) * sizeof *j->boff);
	j->rp = tl_xrealloc(j->rp, (c + 1) * sizeof *j->rp);
	j->rx = tl_xrealloc(j->rx, (c + 1) * sizeof *j->rx);
	j->back = tl_xrealloc(j->back, c * 4);
	j->d1 = tl_xrealloc(j->d1, c * sizeof *j->d1);
	j->d2 = tl_xrealloc(j->d2, c * sizeof *j->d2);
	j->cap = c;
}

/* Decode s into j->cps / j->boff; returns the number of characters. */
static size_t decode(tl_jieba *j, const char *s, size_t len)
{
	grow(j, len);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, i = 0;
	while (i < len) {
		j->boff[n] = i;
		i += dec(u, i, len, &j->cps[n]);
		n++;
	}
	j->boff[n] = len;
	j->s = s;
	return n;
}

/* ---------------- dictionary lookups ---------------- */

static uint32_t ov_child(const tl_jieba *j, uint32_t u, uint32_t c)
{
	if (!j->hcap)
		return NONE;
	uint64_t key = ((uint64_t)u << 32 | c) + 1;
	size_t m = j->hcap - 1, h = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & m;
	while (j->hkeys[h]) {
		if (j->hkeys[h] == key)
			return j->hvals[h];
		h = (h + 1) & m;
	}
	return NONE;
}

static void ov_put(tl_jieba *j, uint32_t u, uint32_t c, uint32_t v)
{
	if ((j->nov + 1) * 2 > j->hcap) {
		size_t oc = j->hcap, nc = oc ? oc * 2 : 64;
		uint64_t *ok = j->hkeys;
		uint32_t *ovv = j->hvals;
		j->hkeys = tl_xcalloc(nc, sizeof *j->hkeys);
		j->hvals = tl_xcalloc(nc, sizeof *j->hvals);
		j->hcap = nc;
		for (size_t i = 0; i < oc; i++)
			if (ok[i]) {
				size_t h = (size_t)(ok[i] * 0x9E3779B97F4A7C15ull >> 20) & (nc - 1);
				while (j->hkeys[h])
					h = (h + 1) & (nc - 1);
				j->hkeys[h] = ok[i];
				j->hvals[h] = ovv[i];
			}
		free(ok);
		free(ovv);
	}
	uint64_t key = ((uint64_t)u << 32 | c) + 1;
	size_t m = j->hcap - 1, h = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & m;
	while (j->hkeys[h])
		h = (h + 1) & m;
	j->hkeys[h] = key;
	j->hvals[h] = v;
}

/* the child of node p by c, or NULL (attach checked every node's range and
 * fi, so that a damaged cache stays in bounds) */
static inline const jb_node *main_child(const tl_jieba *j, const jb_node *p, uint32_t c)
{
	uint32_t lo = p->first, n = p->nch;
	if (n > 8) {
		/* branchless lower bound over the packed code points */
		const uint32_t *q = j->ncp + lo;
		while (n > 1) {
			uint32_t h = n / 2;
			q = q[h] <= c ? q + h : q;
			n -= h;
		}
		if (*q != c)
			return NULL;
		return j->node + (q - j->ncp);
	}
	const jb_node *ch = j->node + lo;
	for (uint32_t i = 0; i < n; i++)
		if (ch[i].cp == c)
			return &ch[i];
	return NULL;
}

static inline const jb_node *root_child(const tl_jieba *j, uint32_t c)
{
	if (c < 65536) {
		uint32_t r = j->root[c];
		return r ? &j->node[r] : NULL;
	}
	return main_child(j, j->node, c);
}

/* A position in the combined dictionary: main node m (NULL: none), overlay
 * node u. */
typedef struct {
	const jb_node *m;
	uint32_t u;
} cur;

static inline int step(const tl_jieba *j, cur *k, uint32_t c)
{
	if (k->m)
		k->m = k->m == j->node ? root_child(j, c) : k->m->nch ? main_child(j, k->m, c) : NULL;
	if (j->nov)
		k->u = k->u != NONE ? ov_child(j, k->u, c) : NONE;
	return k->m || k->u != NONE;
}

/* FREQ[word] at k (0 for a prefix entry) */
static inline int64_t kfreq(const tl_jieba *j, cur k)
{
	if (k.u != NONE && j->ov[k.u].isword)
		return j->ov[k.u].freq;
	return k.m ? j->ftab[k.m->fi] : 0;
}

/* FREQ[word] > 0 at k, and log(FREQ): the hot path of the DAG */
static inline int kword(const tl_jieba *j, cur k, double *lf)
{
	if (k.u != NONE && j->ov[k.u].isword) {
		*lf = j->ov[k.u].logf;
		return j->ov[k.u].freq != 0;
	}
	if (k.m && k.m->fi) {
		*lf = j->lftab[k.m->fi];
		return 1;
	}
	return 0;
}

static cur root_cur(const tl_jieba *j) { return (cur){j->node, j->nov ? 0 : NONE}; }

/* FREQ.get(cps[a..b)) or -1 when absent */
static int64_t range_freq(const tl_jieba *j, const uint32_t *cps, size_t a, size_t b)
{
	cur k = root_cur(j);
	for (size_t i = a; i < b; i++)
		if (!step(j, &k, cps[i]))
			return -1;
	return kfreq(j, k);
}

/* ---------------- output ---------------- */

enum { SINK_WORDS, SINK_JOIN, SINK_SPANS };
typedef struct {
	int kind;
	tl_jieba_words *w;
	tl_buf *out;
} sink;

static void words_add(tl_jieba_words *w, const char *p, size_t n)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->off = tl_xrealloc(w->off, w->cap * sizeof *w->off);
		w->len = tl_xrealloc(w->len, w->cap * sizeof *w->len);
	}
	w->off[w->n] = w->buf.len;
	w->len[w->n] = n;
	w->n++;
	tl_buf_add(&w->buf, p, n);
}

static void put_bytes(sink *k, const char *p, size_t n, int ws)
{
	if (k->kind == SINK_WORDS) {
		words_add(k->w, p, n);
	} else if (k->kind == SINK_JOIN) {
		if (!n || ws)
			return;
		if (k->out->len && k->out->data[k->out->len - 1] != ' ')
			tl_buf_addc(k->out, ' ');
		tl_buf_add(k->out, p, n);
	}
}

static void put_span(tl_jieba *j, sink *k, size_t a, size_t b, int ws)
{
	if (k->kind == SINK_SPANS) {
		if (j->nsp == j->capsp) {
			j->capsp = j->capsp ? j->capsp * 2 : 256;
			j->spa = tl_xrealloc(j->spa, j->capsp * sizeof *j->spa);
			j->spb = tl_xrealloc(j->spb, j->capsp * sizeof *j->spb);
			j->spws = tl_xrealloc(j->spws, j->capsp);
		}
		j->spa[j->nsp] = a;
		j->spb[j->nsp] = b;
		j->spws[j->nsp++] = (uint8_t)ws;
		return;
	}
	put_bytes(k, j->s + j->boff[a], j->boff[b] - j->boff[a], ws);
}

/* ---------------- the cuts ---------------- */

/* route over [a,b): j->rx[i] the chosen end (inclusive) of the word at i */
#ifndef PF_DIST
#define PF_DIST 4
#endif
/* calc without a user dictionary: first the two-character nodes of every
 * position (independent lookups whose cache misses overlap), then the
 * route from right to left walking on from them */
static void calc_main(tl_jieba *j, size_t a, size_t b)
{
	const uint32_t *s = j->cps;
	const jb_node **d1 = j->d1, **d2 = j->d2;
	const double *lft = j->lftab;
	double lt = j->logtotal;
	for (size_t i = a; i < b; i++) {
		const jb_node *m = root_child(j, s[i]), *m2 = NULL;
		if (m && m->nch && i + 1 < b) {
			m2 = main_child(j, m, s[i + 1]);
			if (m2)
				__builtin_prefetch(m2);
		}
		d1[i] = m;
		d2[i] = m2;
	}
	for (size_t idx = b; idx-- > a;) {
		const jb_node *m = d1[idx];
		double best = 0;
		size_t bx = SIZE_MAX;
		if (m) {
			if (m->fi)
				best = (lft[m->fi] - lt) + j->rp[idx + 1], bx = idx;
			m = d2[idx];
			for (size_t i = idx + 1; m; ) {
				if (m->fi) {
					double v = (lft[m->fi] - lt) + j->rp[i + 1];
					if (bx == SIZE_MAX || v >= best)
						best = v, bx = i;
				}
				if (++i >= b || !m->nch)
					break;
				m = main_child(j, m, s[i]);
			}
		}
		if (bx == SIZE_MAX)
			best = (0.0 - lt) + j->rp[idx + 1], bx = idx;
		j->rp[idx] = best;
		j->rx[idx] = bx;
	}
}

static void calc(tl_jieba *j, size_t a, size_t b)
{
	const uint32_t *s = j->cps;
	double lt = j->logtotal;
	j->rp[b] = 0;
	j->rx[b] = 0;
	if (!j->nov) {
		calc_main(j, a, b);
		return;
	}
	for (size_t idx = b; idx-- > a;) {
		double best = 0;
		size_t bx = SIZE_MAX;
		/* the second step of the position PF_DIST ahead misses the cache: ask for it now */
		if (idx >= a + PF_DIST && s[idx - PF_DIST] < 65536) {
			uint32_t r = j->root[s[idx - PF_DIST]];
			if (r < j->nnodes)
				__builtin_prefetch(&j->node[r]);
		}
		cur k = root_cur(j);
		for (size_t i = idx; i < b; i++) {
			if (!step(j, &k, s[i]))
				break;
			double lf;
			if (kword(j, k, &lf)) {
				double v = (lf - lt) + j->rp[i + 1];
				if (bx == SIZE_MAX || v >= best)
					best = v, bx = i;
			}
		}
		if (bx == SIZE_MAX)
			best = (0.0 - lt) + j->rp[idx + 1], bx = idx;
		j->rp[idx] = best;
		j->rx[idx] = bx;
	}
}

static int is_forced(const tl_jieba *j, size_t a, size_t b)
{
	if (!j->nforce)
		return 0;
	size_t n = j->boff[b] - j->boff[a];
	const char *p = j->s + j->boff[a];
	for (size_t i = 0; i < j->nforce; i++)
		if (strlen(j->force[i]) == n && !memcmp(j->force[i], p, n))
			return 1;
	return 0;
}

static void hmm_word(tl_jieba *j, sink *k, size_t a, size_t b)
{
	if (is_forced(j, a, b)) {
		for (size_t i = a; i < b; i++)
			put_span(j, k, i, i + 1, 0);
	} else {
		put_span(j, k, a, b, 0);
	}
}

/* finalseg.__cut: Viterbi over the Chinese characters cps[a..b) */
static void viterbi(tl_jieba *j, sink *k, size_t a, size_t b)
{
	static const int prev[4][2] = {[ST_B] = {ST_E, ST_S}, [ST_E] = {ST_B, ST_M}, [ST_M] = {ST_M, ST_B},
				       [ST_S] = {ST_S, ST_E}};
	const double *tr = j->h->trans, *em = j->emit;
	size_t n = b - a;
	double V[4], W[4];
	uint32_t c0 = j->cps[a] - HAN_LO;
	for (int y = 0; y < 4; y++)
		V[y] = j->h->start[y] + em[y * NHAN + c0];
	for (size_t t = 1; t < n; t++) {
		uint32_t c = j->cps[a + t] - HAN_LO;
		for (int y = 0; y < 4; y++) {
			double e = em[y * NHAN + c];
			int y0 = prev[y][0], y1 = prev[y][1];
			double p0 = (V[y0] + tr[y0 * 4 + y]) + e, p1 = (V[y1] + tr[y1 * 4 + y]) + e;
			int best = (p1 > p0 || (p1 == p0 && y1 > y0)) ? y1 : y0;
			W[y] = best == y1 ? p1 : p0;
			j->back[t * 4 + y] = (uint8_t)best;
		}
		memcpy(V, W, sizeof V);
	}
	/* path, reusing rx[a..b) as the state list */
	int st = V[ST_S] >= V[ST_E] ? ST_S : ST_E;
	for (size_t t = n; t-- > 0;) {
		j->rx[a + t] = (size_t)st;
		if (t)
			st = j->back[t * 4 + st];
	}
	size_t begin = a, next = a;
	for (size_t i = a; i < b; i++) {
		int pos = (int)j->rx[i];
		if (pos == ST_B) {
			begin = i;
		} else if (pos == ST_E) {
			hmm_word(j, k, begin, i + 1);
			next = i + 1;
		} else if (pos == ST_S) {
			hmm_word(j, k, i, i + 1);
			next = i + 1;
		}
	}
	if (next < b)
		hmm_word(j, k, next, b);
}

static inline int is_digit(uint32_t c) { return c - '0' < 10; }

/* finalseg.cut on cps[a..b) (characters of a re_han_default block) */
static void finalseg(tl_jieba *j, sink *k, size_t a, size_t b)
{
	const uint32_t *s = j->cps;
	size_t i = a;
	while (i < b) {
		size_t e = i;
		if (is_han(s[i])) {
			while (e < b && is_han(s[e]))
				e++;
			/* the route is finished with rx[i..e) by now: viterbi reuses it */
			viterbi(j, k, i, e);
			i = e;
			continue;
		}
		while (e < b && !is_han(s[e]))
			e++;
		/* re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?) split, non-empty parts */
		size_t seg = i, p = i;
		while (p < e) {
			if (!is_eng(s[p])) {
				p++;
				continue;
			}
			size_t m = p;
			while (m < e && is_eng(s[m]))
				m++;
			if (m + 1 < e && s[m] == '.' && is_digit(s[m + 1])) {
				m += 2;
				while (m < e && is_digit(s[m]))
					m++;
			}
			if (m < e && s[m] == '%')
				m++;
			if (seg < p)
				put_span(j, k, seg, p, 0);
			put_span(j, k, p, m, 0);
			p = seg = m;
		}
		if (seg < e)
			put_span(j, k, seg, e, 0);
		i = e;
	}
}

static void flush_buf(tl_jieba *j, sink *k, size_t a, size_t b)
{
	if (b - a == 1) {
		put_span(j, k, a, b, 0);
	} else if (range_freq(j, j->cps, a, b) <= 0) {
		finalseg(j, k, a, b);
	} else {
		for (size_t i = a; i < b; i++)
			put_span(j, k, i, i + 1, 0);
	}
}

/* __cut_DAG (HMM) and __cut_DAG_NO_HMM */
static void cut_dag(tl_jieba *j, sink *k, size_t a, size_t b, int hmm)
{
	calc(j, a, b);
	/* the route ends are copied out: finalseg's Viterbi reuses rx */
	size_t x = a, buf = SIZE_MAX;
	while (x < b) {
		size_t y = j->rx[x] + 1;
		if (hmm) {
			if (y - x == 1) {
				if (buf == SIZE_MAX)
					buf = x;
			} else {
				if (buf != SIZE_MAX) {
					flush_buf(j, k, buf, x);
					buf = SIZE_MAX;
				}
				put_span(j, k, x, y, 0);
			}
		} else {
			if (y - x == 1 && is_eng(j->cps[x])) {
				if (buf == SIZE_MAX)
					buf = x;
			} else {
				if (buf != SIZE_MAX) {
					put_span(j, k, buf, x, 0);
					buf = SIZE_MAX;
				}
				put_span(j, k, x, y, 0);
			}
		}
		x = y;
	}
	if (buf != SIZE_MAX) {
		if (hmm)
			flush_buf(j, k, buf, b);
		else
			put_span(j, k, buf, b, 0);
	}
}

/* __cut_all */
static void cut_all(tl_jieba *j, sink *k, size_t a, size_t b)
{
	const uint32_t *s = j->cps;
	size_t old_j = SIZE_MAX; /* -1 */
	int eng_scan = 0;
	size_t L[64], *Lp = L, Lcap = 64;
	for (size_t p = a; p < b; p++) {
		size_t nL = 0;
		cur c = root_cur(j);
		for (size_t i = p; i < b; i++) {
			if (!step(j, &c, s[i]))
				break;
			double lf;
			if (kword(j, c, &lf)) {
				if (nL == Lcap) {
					Lcap *= 2;
					if (Lp == L) {
						Lp = tl_xmalloc(Lcap * sizeof *Lp);
						memcpy(Lp, L, sizeof L);
					} else {
						Lp = tl_xrealloc(Lp, Lcap * sizeof *Lp);
					}
				}
				Lp[nL++] = i;
			}
		}
		if (!nL)
			Lp[nL++] = p;
		if (eng_scan && !is_eng(s[p])) {
			eng_scan = 0;
			put_bytes(k, j->eng.data, j->eng.len, 0);
		}
		if (nL == 1 && (old_j == SIZE_MAX || p > old_j)) {
			size_t e = Lp[0] + 1;
			if (is_eng(s[p])) {
				if (!eng_scan) {
					eng_scan = 1;
					j->eng.len = 0;
				}
				tl_buf_add(&j->eng, j->s + j->boff[p], j->boff[e] - j->boff[p]);
			}
			if (!eng_scan)
				put_span(j, k, p, e, 0);
			old_j = Lp[0];
		} else {
			for (size_t t = 0; t < nL; t++)
				if (Lp[t] > p) {
					put_span(j, k, p, Lp[t] + 1, 0);
					old_j = Lp[t];
				}
		}
	}
	if (eng_scan)
		put_bytes(k, j->eng.data, j->eng.len, 0);
	if (Lp != L)
		free(Lp);
}

/* The whitespace/other block cps[a..b): re_skip_default = (\r\n|\s). */
static void cut_skip(tl_jieba *j, sink *k, size_t a, size_t b, int full)
{
	const uint32_t *s = j->cps;
	size_t seg = a, i = a;
	for (;;) {
		size_t sl = 0;
		if (i < b) {
			if (s[i] == '\r' && i + 1 < b && s[i + 1] == '\n')
				sl = 2;
			else if (is_pyspace(s[i]))
				sl = 1;
			else {
				i++;
				continue;
			}
		}
		if (full)
			put_span(j, k, seg, i, 0);
		else
			for (size_t t = seg; t < i; t++)
				put_span(j, k, t, t + 1, 0);
		if (i >= b)
			break;
		put_span(j, k, i, i + sl, 1);
		i += sl;
		seg = i;
	}
}

/* jieba.cut over the decoded text cps[0..n) */
static void cut_decoded(tl_jieba *j, size_t n, int mode, sink *k)
{
	const uint32_t *s = j->cps;
	size_t i = 0;
	while (i < n) {
		size_t e = i;
		if (in_block(s[i])) {
			while (e < n && in_block(s[e]))
				e++;
			if (mode == TL_JIEBA_FULL)
				cut_all(j, k, i, e);
			else
				cut_dag(j, k, i, e, mode != TL_JIEBA_NOHMM);
		} else {
			while (e < n && !in_block(s[e]))
				e++;
			cut_skip(j, k, i, e, mode == TL_JIEBA_FULL);
		}
		i = e;
	}
}

static void cut_any(tl_jieba *j, const char *str, size_t len, int mode, sink *k)
{
	size_t n = decode(j, str, len);
	if (mode != TL_JIEBA_SEARCH) {
		cut_decoded(j, n, mode, k);
		return;
	}
	sink sp = {SINK_SPANS, NULL, NULL};
	j->nsp = 0;
	cut_decoded(j, n, TL_JIEBA_DEFAULT, &sp);
	for (size_t w = 0; w < j->nsp; w++) {
		size_t a = j->spa[w], b = j->spb[w], l = b - a;
		if (l > 2)
			for (size_t i = a; i + 1 < b; i++)
				if (range_freq(j, j->cps, i, i + 2) > 0)
					put_span(j, k, i, i + 2, 0);
		if (l > 3)
			for (size_t i = a; i + 2 < b; i++)
				if (range_freq(j, j->cps, i, i + 3) > 0)
					put_span(j, k, i, i + 3, 0);
		put_span(j, k, a, b, j->spws[w]);
	}
}

void tl_jieba_cut(tl_jieba *j, const char *s, size_t len, int mode, tl_jieba_words *w)
{
	sink k = {SINK_WORDS, w, NULL};
	cut_any(j, s, len, mode, &k);
}

void tl_jieba_cut_join(tl_jieba *j, const char *s, size_t len, int mode, tl_buf *out)
{
	sink k = {SINK_JOIN, NULL, out};
	cut_any(j, s, len, mode, &k);
}

void tl_jieba_words_clear(tl_jieba_words *w)
{
	w->n = 0;
	w->buf.len = 0;
}

void tl_jieba_words_free(tl_jieba_words *w)
{
	tl_buf_free(&w->buf);
	free(w->off);
	free(w->len);
	memset(w, 0, sizeof *w);
}

/* ---------------- user dictionary ---------------- */

int64_t tl_jieba_total(const tl_jieba *j) { return j->total; }

int64_t tl_jieba_freq(const tl_jieba *j, const char *word, size_t len)
{
	const unsigned char *u = (const unsigned char *)word;
	cur k = root_cur(j);
	size_t i = 0;
	if (!len)
		return -1;
	while (i < len) {
		uint32_t c;
		i += dec(u, i, len, &c);
		if (!step(j, &k, c))
			return -1;
	}
	return kfreq(j, k);
}

int64_t tl_jieba_suggest_freq(tl_jieba *j, const char *word, size_t len)
{
	double ftotal = (double)j->total, f = 1;
	sink sp = {SINK_SPANS, NULL, NULL};
	j->nsp = 0;
	size_t n = decode(j, word, len);
	cut_decoded(j, n, TL_JIEBA_NOHMM, &sp);
	for (size_t w = 0; w < j->nsp; w++) {
		int64_t g = range_freq(j, j->cps, j->spa[w], j->spb[w]);
		f *= (double)(g < 0 ? 1 : g) / ftotal;
	}
	int64_t r = (int64_t)(f * (double)j->total) + 1;
	int64_t have = tl_jieba_freq(j, word, len);
	if (have < 0)
		have = 1;
	return r > have ? r : have;
}

void tl_jieba_add_word(tl_jieba *j, const char *word, size_t len, int64_t freq)
{
	if (!len)
		return;
	if (freq < 0)
		freq = tl_jieba_suggest_freq(j, word, len);
	if (!j->nov) {
		j->capov = 64;
		j->ov = tl_xcalloc(j->capov, sizeof *j->ov);
		j->ov[0].parent = NONE;
		j->nov = 1;
	}
	const unsigned char *s = (const unsigned char *)word;
	uint32_t u = 0;
	size_t i = 0;
	while (i < len) {
		uint32_t c;
		i += dec(s, i, len, &c);
		uint32_t v = ov_child(j, u, c);
		if (v == NONE) {
			if (j->nov == j->capov) {
				j->capov *= 2;
				j->ov = tl_xrealloc(j->ov, j->capov * sizeof *j->ov);
			}
			v = (uint32_t)j->nov;
			ov_put(j, u, c, v);
			j->ov[v] = (ov_node){u, c, 0, 0, 0};
			j->nov++;
		}
		u = v;
	}
	j->ov[u].isword = 1;
	j->ov[u].freq = freq;
	j->ov[u].logf = freq > 0 ? log((double)freq) : 0.0;
	j->total += freq;
	j->logtotal = log((double)j->total);
	if (freq == 0) {
		j->force = tl_xrealloc(j->force, (j->nforce + 1) * sizeof *j->force);
		char *w = tl_xmalloc(len + 1);
		memcpy(w, word, len);
		w[len] = 0;
		j->force[j->nforce++] = w;
	}
}

static int is_asciispace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 11 || c == 12; }

/* The next line of b from *pos (dictionary files): *l, *n without the
 * newline and without ASCII white space at either end; 0 at the end. */
static int next_line(const tl_buf *b, size_t *pos, const char **l, size_t *n)
{
	if (*pos >= b->len)
		return 0;
	size_t end = *pos;
	while (end < b->len && b->data[end] != '\n')
		end++;
	const char *p = b->data + *pos;
	size_t k = end - *pos;
	*pos = end + 1;
	while (k && is_asciispace(p[0]))
		p++, k--;
	while (k && is_asciispace(p[k - 1]))
		k--;
	*l = p;
	*n = k;
	return 1;
}

/* re_userdict = ^(.+?)( [0-9]+)?( [a-z]+)?$ : does line[p..n) match the
 * optional tail? Sets the frequency digits' range when present. */
static int tail_match(const char *l, size_t p, size_t n, size_t *fa, size_t *fb)
{
	*fa = *fb = 0;
	if (p == n)
		return 1;
	if (l[p] != ' ')
		return 0;
	size_t q = p + 1;
	while (q < n && l[q] >= '0' && l[q] <= '9')
		q++;
	if (q > p + 1) {
		*fa = p + 1;
		*fb = q;
		if (q == n)
			return 1;
		if (l[q] != ' ')
			return 0;
		p = q;
	}
	q = p + 1;
	while (q < n && l[q] >= 'a' && l[q] <= 'z')
		q++;
	return q > p + 1 && q == n;
}

int tl_jieba_load_userdict(tl_jieba *j, const char *path, tl_err *e)
{
	tl_buf b = {0};
	if (tl_fs_read_file(path, &b) != 0) {
		int er = errno;
		tl_buf_free(&b);
		return tl_seterr(e, TL_EXIT_IO, "%s: %s", path, strerror(er));
	}
	size_t pos = 0, lineno = 0;
	const char *l;
	size_t n;
	while (next_line(&b, &pos, &l, &n)) {
		lineno++;
		if (tl_text_count_invalid_utf8(l, n)) {
			tl_buf_free(&b);
			return tl_seterr(e, TL_EXIT_DATA, "%s:%zu: not UTF-8 (a user dictionary must be UTF-8)", path,
					 lineno);
		}
		while (n >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3))
			l += 3, n -= 3;
		if (!n)
			continue;
		/* the shortest word (at least one character) after which the tail matches */
		size_t p = 0, fa = 0, fb = 0;
		for (;;) {
			uint32_t c;
			p += dec((const unsigned char *)l, p, n, &c);
			if (tail_match(l, p, n, &fa, &fb))
				break;
		}
		int64_t freq = -1;
		if (fb > fa) {
			freq = 0;
			for (size_t i = fa; i < fb; i++) {
				if (freq > (INT64_MAX / 4 - 9) / 10) {
					tl_seterr(e, TL_EXIT_DATA, "%s:%zu: frequency %.*s too large", path, lineno,
						  (int)(fb - fa), l + fa);
					tl_buf_free(&b);
					return -1;
				}
				freq = freq * 10 + (l[i] - '0');
			}
		}
		if (freq > 0 && j->total > INT64_MAX / 4 - freq) {
			tl_buf_free(&b);
			return tl_seterr(e, TL_EXIT_DATA, "%s:%zu: frequencies add up to too much", path, lineno);
		}
		tl_jieba_add_word(j, l, p, freq);
	}
	tl_buf_free(&b);
	return 0;
}

/* ---------------- sources: dict.txt and the HMM tables ---------------- */

typedef struct {
	uint32_t *pool; /* code points of all words */
	size_t npool, cappool;
	size_t *start;
	uint32_t *len;
	int64_t *freq;
	size_t n, cap;
} entries;

static int parse_dict(const char *path, entries *E, int64_t *total, tl_err *e)
{
	tl_buf b = {0};
	if (tl_fs_read_file(path, &b) != 0) {
		int er = errno;
		tl_buf_free(&b);
		return tl_seterr(e, TL_EXIT_MODEL, "%s: %s", path, strerror(er));
	}
	size_t pos = 0, lineno = 0;
	*total = 0;
	const char *l;
	size_t n;
	while (next_line(&b, &pos, &l, &n)) {
		lineno++;
		const char *sp = memchr(l, ' ', n);
		size_t wl = sp ? (size_t)(sp - l) : n;
		const char *f = sp ? sp + 1 : NULL;
		size_t fl = 0;
		while (f && f + fl < l + n && f[fl] != ' ')
			fl++;
		int ok = sp && wl && fl && !tl_text_count_invalid_utf8(l, n);
		int64_t fr = 0;
		for (size_t i = 0; ok && i < fl; i++) {
			if (f[i] == '+' && i == 0 && fl > 1)
				continue;
			if (f[i] < '0' || f[i] > '9' || fr > (INT64_MAX / 4 - 9) / 10)
				ok = 0;
			else
				fr = fr * 10 + (f[i] - '0');
		}
		if (ok && *total > INT64_MAX / 4 - fr)
			ok = 0;
		if (!ok) {
			tl_buf_free(&b);
			return tl_seterr(e, TL_EXIT_MODEL, "%s:%zu: invalid dictionary entry (want 'word freq [tag]')",
					 path, lineno);
		}
		*total += fr;
		if (E->n == E->cap) {
			E->cap = E->cap ? E->cap * 2 : 1024;
			E->start = tl_xrealloc(E->start, E->cap * sizeof *E->start);
			E->len = tl_xrealloc(E->len, E->cap * sizeof *E->len);
			E->freq = tl_xrealloc(E->freq, E->cap * sizeof *E->freq);
		}
		if (E->npool + wl > E->cappool) {
			E->cappool = (E->cappool + wl) * 2;
			E->pool = tl_xrealloc(E->pool, E->cappool * sizeof *E->pool);
		}
		E->start[E->n] = E->npool;
		size_t i = 0;
		while (i < wl)
			i += dec((const unsigned char *)l, i, wl, &E->pool[E->npool++]);
		E->len[E->n] = (uint32_t)(E->npool - E->start[E->n]);
		E->freq[E->n++] = fr;
	}
	tl_buf_free(&b);
	if (!E->n)
		return tl_seterr(e, TL_EXIT_MODEL, "%s: empty dictionary (run 'make jieba' to reinstall it)", path);
	return 0;
}

/* A tiny reader of the Python dict literals in prob_*.py:
 * P={'B': number | {'c': number, ...}, ...} */
typedef struct {
	const char *p, *end, *path;
	size_t line;
	tl_err *e;
} pyrd;

static void py_ws(pyrd *r)
{
	while (r->p < r->end) {
		char c = *r->p;
		if (c == '\n')
			r->line++;
		if (c == '#') {
			while (r->p < r->end && *r->p != '\n')
				r->p++;
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\\')
			break;
		r->p++;
	}
}

static int py_err(pyrd *r, const char *what)
{
	return tl_seterr(r->e, TL_EXIT_MODEL, "%s:%zu: %s (run 'make jieba' to reinstall it)", r->path, r->line,
			 what);
}

static int hexval(const char *p, int n, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* a one-character string literal -> its code point */
static int py_char(pyrd *r, uint32_t *cp)
{
	py_ws(r);
	if (r->p < r->end && (*r->p == 'u' || *r->p == 'U'))
		r->p++;
	if (r->p >= r->end || (*r->p != '\'' && *r->p != '"'))
		return py_err(r, "expected a string");
	char q = *r->p++;
	int nch = 0;
	while (r->p < r->end && *r->p != q) {
		uint32_t c;
		if (*r->p == '\\') {
			if (r->end - r->p < 2)
				return py_err(r, "bad escape");
			char t = r->p[1];
			int hl = t == 'u' ? 4 : t == 'U' ? 8 : t == 'x' ? 2 : 0;
			if (hl) {
				if (r->end - r->p < 2 + hl || hexval(r->p + 2, hl, &c) < 0 || c > 0x10FFFF)
					return py_err(r, "bad escape");
				r->p += 2 + hl;
			} else {
				c = t == 'n' ? '\n' : t == 't' ? '\t' : t == 'r' ? '\r' : t == '0' ? 0 : (unsigned char)t;
				if (!strchr("ntr0\\'\"", t))
					return py_err(r, "bad escape");
				r->p += 2;
			}
		} else {
			r->p += dec((const unsigned char *)r->p, 0, (size_t)(r->end - r->p), &c);
		}
		*cp = c;
		nch++;
	}
	if (r->p >= r->end)
		return py_err(r, "unterminated string");
	r->p++;
	if (nch != 1)
		return py_err(r, "expected a one-character key");
	return 0;
}

static int py_num(pyrd *r, double *v)
{
	py_ws(r);
	char buf[64];
	size_t n = 0;
	while (r->p + n < r->end && n < sizeof buf - 1 && strchr("0123456789+-.eE", r->p[n]))
		n++;
	memcpy(buf, r->p, n);
	buf[n] = 0;
	char *e;
	errno = 0;
	*v = strtod(buf, &e);
	if (!n || *e || errno)
		return py_err(r, "expected a number");
	r->p += n;
	return 0;
}

static int py_expect(pyrd *r, char c)
{
	py_ws(r);
	if (r->p >= r->end || *r->p != c) {
		char m[32];
		snprintf(m, sizeof m, "expected '%c'", c);
		return py_err(r, m);
	}
	r->p++;
	return 0;
}

/* after an item: ',' (optionally before the '}') or '}'; returns 1 at the end */
static int py_next(pyrd *r)
{
	py_ws(r);
	if (r->p < r->end && *r->p == ',') {
		r->p++;
		py_ws(r);
	}
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 1;
	}
	return r->p < r->end ? 0 : py_err(r, "unterminated dict");
}

static int state_of(uint32_t c) { return c == 'B' ? ST_B : c == 'E' ? ST_E : c == 'M' ? ST_M : c == 'S' ? ST_S : -1; }

/* kind 0 start (flat), 1 trans, 2 emit */
static int parse_prob(const char *path, int kind, jb_hdr *h, double *emit, tl_err *e)
{
	tl_buf b = {0};
	if (tl_fs_read_file(path, &b) != 0) {
		int er = errno;
		tl_buf_free(&b);
		return tl_seterr(e, TL_EXIT_MODEL, "%s: %s (run 'make jieba')", path, strerror(er));
	}
	pyrd r = {b.data, b.data + b.len, path, 1, e};
	/* find "P" "=" at a line start */
	const char *p = b.data;
	for (;;) {
		if (p >= r.end) {
			tl_buf_free(&b);
			r.p = r.end;
			return py_err(&r, "no 'P = {...}' table");
		}
		if ((p == b.data || p[-1] == '\n') && *p == 'P') {
			const char *q = p + 1;
			while (q < r.end && *q == ' ')
				q++;
			if (q < r.end && *q == '=') {
				r.p = q + 1;
				break;
			}
		}
		if (*p == '\n')
			r.line++;
		p++;
	}
	int seen = 0, rc = 0;
	if ((rc = py_expect(&r, '{')) < 0)
		goto out;
	py_ws(&r);
	if (r.p < r.end && *r.p == '}')
		goto check;
	for (;;) {
		uint32_t c;
		if ((rc = py_char(&r, &c)) < 0)
			goto out;
		int st = state_of(c);
		if (st < 0) {
			rc = py_err(&r, "state key is not B, E, M or S");
			goto out;
		}
		seen |= 1 << st;
		if ((rc = py_expect(&r, ':')) < 0)
			goto out;
		if (kind == 0) {
			if ((rc = py_num(&r, &h->start[st])) < 0)
				goto out;
		} else {
			if ((rc = py_expect(&r, '{')) < 0)
				goto out;
			py_ws(&r);
			if (r.p < r.end && *r.p == '}')
				r.p++;
			else
				for (;;) {
					uint32_t k;
					double v;
					if ((rc = py_char(&r, &k)) < 0 || (rc = py_expect(&r, ':')) < 0 ||
					    (rc = py_num(&r, &v)) < 0)
						goto out;
					if (kind == 1) {
						int s2 = state_of(k);
						if (s2 < 0) {
							rc = py_err(&r, "state key is not B, E, M or S");
							goto out;
						}
						h->trans[st * 4 + s2] = v;
					} else if (is_han(k)) {
						emit[st * NHAN + (k - HAN_LO)] = v;
					}
					if ((rc = py_next(&r)) < 0)
						goto out;
					if (rc == 1)
						break;
				}
		}
		if ((rc = py_next(&r)) < 0)
			goto out;
		if (rc == 1)
			break;
	}
check:
	rc = 0;
	if (seen != 15)
		rc = py_err(&r, "the table lacks one of the states B, E, M, S");
out:
	tl_buf_free(&b);
	return rc < 0 ? -1 : 0;
}

/* ---------------- building the compiled dictionary ---------------- */

static const entries *SORT_E;
static int cmp_entry(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	const entries *E = SORT_E;
	const uint32_t *p = E->pool + E->start[a], *q = E->pool + E->start[b];
	uint32_t la = E->len[a], lb = E->len[b];
	for (uint32_t i = 0; i < la && i < lb; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a < b ? -1 : a > b; /* dict order: the last entry of a word wins */
}

typedef struct {
	const entries *E;
	const size_t *ord;
	uint32_t *cp, *first, *nch;
	int64_t *freq;
	size_t n;
} builder;

static void build_node(builder *B, uint32_t u, size_t lo, size_t hi, uint32_t depth)
{
	const entries *E = B->E;
	while (lo < hi && E->len[B->ord[lo]] == depth)
		B->freq[u] = E->freq[B->ord[lo++]];
	size_t k = 0;
	for (size_t i = lo; i < hi; i++)
		if (i == lo || E->pool[E->start[B->ord[i]] + depth] != E->pool[E->start[B->ord[i - 1]] + depth])
			k++;
	B->first[u] = (uint32_t)B->n;
	B->nch[u] = (uint32_t)k;
	size_t c = B->n;
	B->n += k;
	size_t g = lo;
	while (g < hi) {
		uint32_t ch = E->pool[E->start[B->ord[g]] + depth];
		size_t ge = g + 1;
		while (ge < hi && E->pool[E->start[B->ord[ge]] + depth] == ch)
			ge++;
		B->cp[c] = ch;
		B->freq[c] = 0;
		build_node(B, (uint32_t)c, g, ge, depth + 1);
		c++;
		g = ge;
	}
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

static size_t al8(size_t x) { return (x + 7) & ~(size_t)7; }

/* Compile the sources in dir into a malloc'd image (cache layout). */
static void *compile(const char *dir, const struct stat st[4], size_t *size, tl_err *e)
{
	char path[4][PATH_MAX];
	for (int i = 0; i < 4; i++)
		snprintf(path[i], sizeof path[i], "%s/%s", dir, SRC_NAMES[i]);
	jb_hdr h;
	memset(&h, 0, sizeof h);
	for (int i = 0; i < 16; i++)
		h.trans[i] = MIN_FLOAT;
	double *emit = tl_xmalloc(4 * NHAN * sizeof *emit);
	for (size_t i = 0; i < 4 * NHAN; i++)
		emit[i] = MIN_FLOAT;
	entries E = {0};
	int64_t total = 0;
	void *img = NULL;
	if (parse_prob(path[1], 0, &h, emit, e) < 0 || parse_prob(path[2], 1, &h, emit, e) < 0 ||
	    parse_prob(path[3], 2, &h, emit, e) < 0 || parse_dict(path[0], &E, &total, e) < 0)
		goto out;
	if (total <= 0) {
		tl_seterr(e, TL_EXIT_MODEL, "%s: the frequencies add up to 0", path[0]);
		goto out;
	}
	size_t *ord = tl_xmalloc(E.n * sizeof *ord);
	for (size_t i = 0; i < E.n; i++)
		ord[i] = i;
	SORT_E = &E;
	qsort(ord, E.n, sizeof *ord, cmp_entry);
	size_t cap = E.npool + 1;
	builder B = {&E, ord, tl_xcalloc(cap, 4), tl_xcalloc(cap, 4), tl_xcalloc(cap, 4), tl_xcalloc(cap, 8), 1};
	build_node(&B, 0, 0, E.n, 0);
	size_t n = B.n;
	memcpy(h.magic, "TLJIEBA", 8);
	h.version = JB_VERSION;
	h.endian = 0x01020304;
	for (int i = 0; i < 4; i++) {
		h.src_size[i] = (uint64_t)st[i].st_size;
		h.src_mtime_ns[i] = (int64_t)st[i].st_mtim.tv_sec * 1000000000 + st[i].st_mtim.tv_nsec;
	}
	if (tl_sha256_file(path[0], h.dict_sha256) < 0 || tl_sha256_file(path[3], h.emit_sha256) < 0) {
		tl_seterr(e, TL_EXIT_IO, "%s: %s", dir, strerror(errno));
		goto out2;
	}
	h.total = total;
	h.nnodes = n;
	/* the distinct frequencies, ascending, 0 first */
	int64_t *ft = tl_xmalloc((n + 1) * sizeof *ft);
	ft[0] = 0;
	memcpy(ft + 1, B.freq, n * sizeof *ft);
	qsort(ft, n + 1, sizeof *ft, cmp_i64);
	size_t nf = 0;
	for (size_t i = 0; i <= n; i++)
		if (!nf || ft[i] != ft[nf - 1])
			ft[nf++] = ft[i];
	h.nfreq = nf;
	size_t off = al8(sizeof h);
	h.off_ftab = off, off = al8(off + nf * 16);
	h.off_emit = off, off = al8(off + 4 * NHAN * 8);
	h.off_node = off, off = al8(off + n * sizeof(jb_node));
	h.off_root = off, off = al8(off + 65536 * 4);
	h.off_ncp = off, off = al8(off + n * 4);
	h.file_size = off;
	img = tl_xcalloc(1, off);
	char *m = img;
	memcpy(m, &h, sizeof h);
	memcpy(m + h.off_ftab, ft, nf * 8);
	double *lft = (double *)(m + h.off_ftab + nf * 8);
	for (size_t i = 1; i < nf; i++)
		lft[i] = log((double)ft[i]);
	memcpy(m + h.off_emit, emit, 4 * NHAN * 8);
	jb_node *nd = (jb_node *)(m + h.off_node);
	uint32_t *root = (uint32_t *)(m + h.off_root);
	uint32_t *ncp = (uint32_t *)(m + h.off_ncp);
	memcpy(ncp, B.cp, n * 4);
	for (uint32_t u = 0; u < n; u++) {
		const int64_t *q = bsearch(&B.freq[u], ft, nf, sizeof *ft, cmp_i64);
		nd[u] = (jb_node){B.cp[u], B.nch[u] ? B.first[u] : 0, B.nch[u], (uint32_t)(q - ft)};
	}
	for (uint32_t c = B.first[0]; c < B.first[0] + B.nch[0]; c++)
		if (B.cp[c] < 65536)
			root[B.cp[c]] = c;
	free(ft);
	*size = off;
out2:
	free(B.cp);
	free(B.first);
	free(B.nch);
	free(B.freq);
	free(ord);
out:
	free(emit);
	free(E.pool);
	free(E.start);
	free(E.len);
	free(E.freq);
	return img;
}

/* Point j at an image; 0, or -1 when it is not a valid image for st. */
static int attach(tl_jieba *j, void *base, size_t size, const struct stat st[4])
{
	const jb_hdr *h = base;
	if (size < sizeof *h || memcmp(h->magic, "TLJIEBA", 8) || h->version != JB_VERSION ||
	    h->endian != 0x01020304 || h->file_size != size)
		return -1;
	for (int i = 0; i < 4; i++)
		if (h->src_size[i] != (uint64_t)st[i].st_size ||
		    h->src_mtime_ns[i] != (int64_t)st[i].st_mtim.tv_sec * 1000000000 + st[i].st_mtim.tv_nsec)
			return -1;
	uint64_t n = h->nnodes;
	if (!n || n >= NONE || h->total <= 0)
		return -1;
	uint64_t nf = h->nfreq;
	if (!nf || nf > n + 1)
		return -1;
	uint64_t offs[5] = {h->off_ftab, h->off_emit, h->off_node, h->off_root, h->off_ncp};
	uint64_t lens[5] = {nf * 16, 4 * NHAN * 8, n * sizeof(jb_node), 65536 * 4, n * 4};
	for (int i = 0; i < 5; i++)
		if (offs[i] % 8 || offs[i] > size || lens[i] > size - offs[i])
			return -1;
	char *m = base;
	j->h = h;
	j->nnodes = (uint32_t)n;
	j->nfreq = (uint32_t)nf;
	j->ftab = (const int64_t *)(m + h->off_ftab);
	j->lftab = (const double *)(m + h->off_ftab + nf * 8);
	j->emit = (const double *)(m + h->off_emit);
	j->node = (const jb_node *)(m + h->off_node);
	j->root = (const uint32_t *)(m + h->off_root);
	j->ncp = (const uint32_t *)(m + h->off_ncp);
	/* every range and index in bounds, the frequencies ascending from 0 */
	if (j->ftab[0] != 0)
		return -1;
	for (uint64_t i = 1; i < nf; i++)
		if (j->ftab[i] <= j->ftab[i - 1])
			return -1;
	for (uint64_t i = 0; i < n; i++)
		if (j->node[i].fi >= nf || (uint64_t)j->node[i].first + j->node[i].nch > n)
			return -1;
	for (uint32_t c = 0; c < 65536; c++)
		if (j->root[c] >= n)
			return -1;
	j->total = h->total;
	j->logtotal = log((double)h->total);
	return 0;
}

/* where the cache of dir lives: dir/jieba.cache, or the user's cache directory */
static char *cache_path(const char *dir)
{
	tl_buf b = {0};
	if (access(dir, W_OK) == 0) {
		tl_buf_printf(&b, "%s/jieba.cache", dir);
		return tl_buf_cstr(&b);
	}
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		tl_buf_printf(&b, "%s/tl", xdg);
	else if (home && *home)
		tl_buf_printf(&b, "%s/.cache/tl", home);
	else
		return NULL;
	char *base = tl_buf_cstr(&b);
	/* mkdir -p of the last two levels at most */
	char *slash = strrchr(base, '/');
	if (slash && slash != base) {
		*slash = 0;
		mkdir(base, 0755);
		*slash = '/';
	}
	mkdir(base, 0755);
	char real[PATH_MAX];
	const char *key = realpath(dir, real) ? real : dir;
	tl_buf_printf(&b, "/jieba-%016llx.cache", (unsigned long long)tl_fnv1a(key, strlen(key)));
	return tl_buf_cstr(&b);
}

/* ---------------- finding and opening ---------------- */

static int is_jieba_dir(const char *d)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/dict.txt", d) >= (int)sizeof p)
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *try_dir(const char *base, tl_buf *looked)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/jieba", base);
	char *s = tl_buf_cstr(&p);
	if (is_jieba_dir(s))
		return s;
	tl_buf_printf(looked, "%s%s", looked->len ? ", " : "", s);
	free(s);
	return NULL;
}

char *tl_jieba_find(const char *dir, tl_err *e)
{
	if (dir) {
		if (!is_jieba_dir(dir)) {
			tl_seterr(e, TL_EXIT_MODEL, "%s: no jieba dictionary there (dict.txt); run 'make jieba'", dir);
			return NULL;
		}
		return tl_xstrdup(dir);
	}
	tl_buf looked = {0};
	char *hit = NULL;
	const char *env = getenv("TL_MODEL_PATH");
	if (env && *env) {
		char *dup = tl_xstrdup(env), *save = NULL;
		for (char *d = strtok_r(dup, ":", &save); d && !hit; d = strtok_r(NULL, ":", &save))
			hit = try_dir(d, &looked);
		free(dup);
	}
	if (!hit) {
		tl_buf b = {0};
		const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		if (xdg && *xdg == '/')
			tl_buf_printf(&b, "%s/tl/models", xdg);
		else if (home && *home)
			tl_buf_printf(&b, "%s/.local/share/tl/models", home);
		if (b.len)
			hit = try_dir(tl_buf_cstr(&b), &looked);
		tl_buf_free(&b);
	}
	if (!hit)
		hit = try_dir(TL_MODEL_DIR, &looked);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	else
		exe[0] = 0;
	if (!hit && *exe) {
		tl_buf b = {0};
		tl_buf_printf(&b, "%s/../share/tl/models", exe);
		hit = try_dir(tl_buf_cstr(&b), &looked);
		tl_buf_free(&b);
	}
	if (!hit && *exe) {
		/* a checkout's build directory: <tree>/build/bin */
		tl_buf b = {0};
		tl_buf_printf(&b, "%s/../../include/tl/jieba.h", exe);
		struct stat st;
		if (stat(tl_buf_cstr(&b), &st) == 0) {
			b.len = 0;
			tl_buf_printf(&b, "%s/../../models", exe);
			hit = try_dir(tl_buf_cstr(&b), &looked);
		}
		tl_buf_free(&b);
	}
	if (!hit)
		hit = try_dir("./models", &looked);
	if (!hit)
		tl_seterr(e, TL_EXIT_MODEL,
			  "jieba dictionary not found (looked in %s); run 'make jieba' in the tl source tree to "
			  "install it",
			  tl_buf_cstr(&looked));
	tl_buf_free(&looked);
	return hit;
}

tl_jieba *tl_jieba_open(const char *dir_arg, tl_err *e)
{
	char *dir = tl_jieba_find(dir_arg, e);
	if (!dir)
		return NULL;
	struct stat st[4];
	for (int i = 0; i < 4; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, SRC_NAMES[i]);
		errno = 0;
		if (stat(p, &st[i]) != 0 || !S_ISREG(st[i].st_mode)) {
			tl_seterr(e, TL_EXIT_MODEL, "%s: %s; run 'make jieba' to install jieba's files", p,
				  errno ? strerror(errno) : "not a file");
			free(dir);
			return NULL;
		}
	}
	tl_jieba *j = tl_xcalloc(1, sizeof *j);
	char *cpath = cache_path(dir);
	if (cpath) {
		int fd = open(cpath, O_RDONLY | O_CLOEXEC);
		struct stat cs;
		if (fd >= 0 && fstat(fd, &cs) == 0 && cs.st_size >= (off_t)sizeof(jb_hdr)) {
			void *m = mmap(NULL, (size_t)cs.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
			if (m != MAP_FAILED) {
				if (attach(j, m, (size_t)cs.st_size, st) == 0) {
					j->base = m;
					j->base_size = (size_t)cs.st_size;
					j->mapped = 1;
					j->from_cache = 1;
				} else {
					munmap(m, (size_t)cs.st_size);
				}
			}
		}
		if (fd >= 0)
			close(fd);
	}
	if (!j->base) {
		size_t size = 0;
		void *img = compile(dir, st, &size, e);
		if (!img) {
			free(cpath);
			free(dir);
			free(j);
			return NULL;
		}
		if (attach(j, img, size, st) < 0) {
			free(img);
			free(cpath);
			free(dir);
			free(j);
			tl_seterr(e, TL_EXIT_MODEL, "jieba: the compiled dictionary is inconsistent");
			return NULL;
		}
		j->base = img;
		j->base_size = size;
		if (cpath)
			(void)tl_fs_write_file(cpath, img, size); /* best effort: the next open is fast */
	}
	free(cpath);
	free(dir);
	return j;
}

int tl_jieba_from_cache(const tl_jieba *j) { return j->from_cache; }

void tl_jieba_free(tl_jieba *j)
{
	if (!j)
		return;
	if (j->mapped)
		munmap(j->base, j->base_size);
	else
		free(j->base);
	free(j->ov);
	free(j->hkeys);
	free(j->hvals);
	for (size_t i = 0; i < j->nforce; i++)
		free(j->force[i]);
	free(j->force);
	free(j->cps);
	free(j->boff);
	free(j->rp);
	free(j->rx);
	free(j->back);
	free(j->d1);
	free(j->d2);
	free(j->spa);
	free(j->spb);
	free(j->spws);
	tl_buf_free(&j->eng);
	free(j);
}
