/* features.c - word splitter, string table, BoW/TF-IDF with scikit-learn
 * semantics, n-grams, hashing trick, fitted-file save/load. */
#include "tl/features.h"
#include "tl/fsutil.h"
#include "tl/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

/* ---------------- word splitter ---------------- */

static int is_punct_cp(int32_t c)
{
	if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
		return 1;
	if (c < 128)
		return 0;
	utf8proc_category_t k = utf8proc_category(c);
	return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static int is_space_cp(int32_t c)
{
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		return 1;
	if (c < 128)
		return c < 32 || c == 127;
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP ||
	       k == UTF8PROC_CATEGORY_CC || c == 0x85;
}

static int is_cjk_cp(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
	       (c >= 0x2A700 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static void words_bytes(tl_words *w, const void *p, size_t n)
{
	tl_buf_add(&w->b, p, n);
}

static void words_start(tl_words *w)
{
	if (w->n + 1 > w->ncap) {
		w->ncap = w->ncap ? 2 * w->ncap : 64;
		w->off = tl_xrealloc(w->off, w->ncap * sizeof *w->off);
		w->blen = tl_xrealloc(w->blen, w->ncap * sizeof *w->blen);
	}
	w->off[w->n] = (uint32_t)w->b.len;
	w->blen[w->n] = 0;
	w->n++;
}

static void words_end(tl_words *w)
{
	w->blen[w->n - 1] = (uint32_t)(w->b.len - w->off[w->n - 1]);
	words_bytes(w, "", 1);
}

void tl_words_split(tl_words *w, const char *text, size_t len, int flags)
{
	int lower = flags & TL_WORDS_LOWER, cjk_words = flags & TL_WORDS_CJK;
	w->b.len = 0;
	w->n = 0;
	int in = 0;
	size_t i = 0;
	while (i < len) {
		unsigned char b = (unsigned char)text[i];
		int32_t c;
		utf8proc_ssize_t k;
		if (b < 0x80) {
			c = b;
			k = 1;
		} else {
			k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
			if (k <= 0) {
				c = ' ';
				k = 1;
			}
		}
		i += (size_t)k;
		if (is_space_cp(c)) {
			if (in)
				words_end(w);
			in = 0;
			continue;
		}
		if (is_punct_cp(c) || (!cjk_words && is_cjk_cp(c))) {
			if (in)
				words_end(w);
			in = 0;
			words_start(w);
			words_bytes(w, text + i - k, (size_t)k);
			words_end(w);
			continue;
		}
		if (!in) {
			words_start(w);
			in = 1;
		}
		if (lower) {
			if (c < 128) {
				char ch = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
				words_bytes(w, &ch, 1);
			} else {
				utf8proc_uint8_t enc[4];
				utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(c), enc);
				words_bytes(w, enc, (size_t)m);
			}
		} else {
			words_bytes(w, text + i - k, (size_t)k);
		}
	}
	if (in)
		words_end(w);
}

int tl_words_cjk_run(const char *s, size_t len)
{
	int prev = 0;
	size_t i = 0;
	while (i < len) {
		int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &c);
		if (k <= 0) {
			prev = 0;
			i++;
			continue;
		}
		i += (size_t)k;
		int cur = is_cjk_cp(c);
		if (cur && prev)
			return 1;
		prev = cur;
	}
	return 0;
}

void tl_words_push(tl_words *w, const char *s, size_t len)
{
	words_start(w);
	words_bytes(w, s, len);
	words_end(w);
}

void tl_words_free(tl_words *w)
{
	tl_buf_free(&w->b);
	free(w->off);
	free(w->blen);
	memset(w, 0, sizeof *w);
}

/* ---------------- options ---------------- */

void tl_feat_opts_default(tl_feat_opts *o, int kind)
{
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->analyzer = TL_AN_WORD;
	o->ngram_min = o->ngram_max = 1;
	o->min_df = 1;
	o->min_df_count = 1;
	o->max_df = 1.0;
	o->max_df_count = 0;
	o->use_idf = o->smooth_idf = 1;
	o->norm = kind == TL_FEAT_TFIDF ? TL_NORM_L2 : TL_NORM_NONE;
	o->lower = 1;
}

static const char *an_names[] = {"word", "char", "char_wb"};
static const char *norm_names[] = {"none", "l1", "l2"};

static void df_str(char *out, size_t n, double v, int count)
{
	if (count)
		snprintf(out, n, "%ld", (long)v);
	else {
		snprintf(out, n, "%.17g", v);
		if (!strpbrk(out, ".e"))
			strncat(out, ".0", n - strlen(out) - 1);
	}
}

void tl_feat_opts_str(const tl_feat_opts *o, char *out, size_t n)
{
	char mi[40], ma[40];
	df_str(mi, sizeof mi, o->min_df, o->min_df_count);
	df_str(ma, sizeof ma, o->max_df, o->max_df_count);
	snprintf(out, n,
		 "kind=%s analyzer=%s ngram=%d,%d min_df=%s max_df=%s max_features=%ld binary=%d "
		 "sublinear_tf=%d use_idf=%d smooth_idf=%d norm=%s hash=%ld lower=%d%s",
		 o->kind == TL_FEAT_TFIDF ? "tfidf" : "bow", an_names[o->analyzer], o->ngram_min, o->ngram_max,
		 mi, ma, o->max_features, o->binary, o->sublinear_tf, o->use_idf, o->smooth_idf,
		 norm_names[o->norm], o->hash, o->lower, o->cjk_words ? " cjk=words" : "");
}

/* ---------------- analyzers ---------------- */

typedef void (*emit_fn)(void *ctx, const char *s, size_t n);

typedef struct {
	tl_words w;
	tl_buf tmp;    /* lower-cased text / n-gram */
	uint32_t *cp;  /* byte offsets of code points in tmp */
	size_t ncp, cpcap;
} scratch;

static void scratch_free(scratch *s)
{
	tl_words_free(&s->w);
	tl_buf_free(&s->tmp);
	free(s->cp);
}

static void cp_push(scratch *s, size_t off)
{
	if (s->ncp + 1 > s->cpcap) {
		s->cpcap = s->cpcap ? 2 * s->cpcap : 256;
		s->cp = tl_xrealloc(s->cp, s->cpcap * sizeof *s->cp);
	}
	s->cp[s->ncp++] = (uint32_t)off;
}

/* Python's str.isspace() for the char analyzers. */
static int py_space(int32_t c)
{
	if ((c >= 9 && c <= 13) || (c >= 28 && c <= 32))
		return 1;
	if (c < 128)
		return 0;
	if (c == 0x85 || c == 0xA0)
		return 1;
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/* Lower-case text into s->tmp as code points (offsets in s->cp, with a
 * final sentinel); for the char analyzer, runs of 2+ whitespace become
 * one ' ' (scikit-learn's _white_spaces). */
static void char_prep(scratch *s, const char *text, size_t len, int lower, int collapse)
{
	s->tmp.len = 0;
	s->ncp = 0;
	size_t i = 0;
	int32_t prev_sp = 0;
	size_t run_start = 0; /* ncp at start of the whitespace run */
	while (i < len) {
		int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
		if (k <= 0) {
			c = 0xFFFD;
			k = 1;
		}
		i += (size_t)k;
		if (lower)
			c = utf8proc_tolower(c);
		int sp = py_space(c);
		if (collapse && sp) {
			if (prev_sp) {
				/* second (or later) space of a run: the run becomes one ' ' */
				s->tmp.len = s->cp[run_start];
				s->ncp = run_start;
				cp_push(s, s->tmp.len);
				tl_buf_addc(&s->tmp, ' ');
				prev_sp = 2;
				continue;
			}
			run_start = s->ncp;
		}
		prev_sp = sp;
		cp_push(s, s->tmp.len);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t m = utf8proc_encode_char(c, enc);
		tl_buf_add(&s->tmp, enc, (size_t)m);
	}
	cp_push(s, s->tmp.len);
	s->ncp--; /* sentinel not counted */
}

static void analyze(const tl_feat_opts *o, scratch *s, const char *text, size_t len, emit_fn emit, void *ctx)
{
	if (o->analyzer == TL_AN_WORD) {
		tl_words_split(&s->w, text, len, tl_feat_words_flags(o));
		size_t nt = s->w.n;
		int mn = o->ngram_min;
		if (mn <= 1) {
			for (size_t i = 0; i < nt; i++)
				emit(ctx, s->w.b.data + s->w.off[i], s->w.blen[i]);
			mn = 2;
		}
		for (int n = mn; n <= o->ngram_max && (size_t)n <= nt; n++) {
			for (size_t i = 0; i + (size_t)n <= nt; i++) {
				s->tmp.len = 0;
				for (int j = 0; j < n; j++) {
					if (j)
						tl_buf_addc(&s->tmp, ' ');
					tl_buf_add(&s->tmp, s->w.b.data + s->w.off[i + j], s->w.blen[i + j]);
				}
				emit(ctx, s->tmp.data, s->tmp.len);
			}
		}
		return;
	}
	if (o->analyzer == TL_AN_CHAR) {
		char_prep(s, text, len, o->lower, 1);
		size_t L = s->ncp;
		for (int n = o->ngram_min; n <= o->ngram_max && (size_t)n <= L; n++)
			for (size_t i = 0; i + (size_t)n <= L; i++)
				emit(ctx, s->tmp.data + s->cp[i], s->cp[i + n] - s->cp[i]);
		return;
	}
	/* char_wb: each whitespace-separated word padded with one space */
	char_prep(s, text, len, o->lower, 0);
	size_t L = s->ncp;
	size_t i = 0;
	tl_buf word = {0};
	uint32_t *wcp = NULL;
	size_t wcap = 0;
	while (i < L) {
		int32_t c;
		utf8proc_iterate((const utf8proc_uint8_t *)s->tmp.data + s->cp[i], 4, &c);
		if (py_space(c)) {
			i++;
			continue;
		}
		size_t j = i;
		for (; j < L; j++) {
			utf8proc_iterate((const utf8proc_uint8_t *)s->tmp.data + s->cp[j], 4, &c);
			if (py_space(c))
				break;
		}
		/* word = ' ' + tmp[cp[i]..cp[j]) + ' ' */
		word.len = 0;
		size_t wn = 0;
		if (j - i + 3 > wcap) {
			wcap = j - i + 3;
			wcp = tl_xrealloc(wcp, wcap * sizeof *wcp);
		}
		wcp[wn++] = 0;
		tl_buf_addc(&word, ' ');
		for (size_t k = i; k < j; k++) {
			wcp[wn++] = (uint32_t)word.len;
			tl_buf_add(&word, s->tmp.data + s->cp[k], s->cp[k + 1] - s->cp[k]);
		}
		wcp[wn++] = (uint32_t)word.len;
		tl_buf_addc(&word, ' ');
		size_t wl = wn; /* code points in the padded word */
		wcp[wn] = (uint32_t)word.len;
		for (int n = o->ngram_min; n <= o->ngram_max; n++) {
			size_t off = 0;
			size_t e = off + (size_t)n < wl ? off + (size_t)n : wl;
			emit(ctx, word.data + wcp[off], wcp[e] - wcp[off]);
			while (off + (size_t)n < wl) {
				off++;
				e = off + (size_t)n < wl ? off + (size_t)n : wl;
				emit(ctx, word.data + wcp[off], wcp[e] - wcp[off]);
			}
			if (off == 0)
				break;
		}
		i = j;
	}
	tl_buf_free(&word);
	free(wcp);
}

/* ---------------- fitting ---------------- */

struct tl_feat {
	tl_feat_opts o;
	long n_docs;
	long dim;
	tl_strtab terms;  /* vocabulary mode: id == feature index */
	int64_t *df;      /* [dim] */
	double *idf;      /* [dim] (tfidf) */
};

struct tl_feat_fitter {
	tl_feat_opts o;
	scratch s;
	tl_strtab terms;
	int64_t *tf, *df, *last;
	size_t cap;
	long n_docs;
};

static long hash_index(const char *s, size_t n, long buckets)
{
	int32_t h = tl_murmur3_32(s, n, 0);
	int64_t a = h < 0 ? -(int64_t)h : (int64_t)h;
	return (long)(a % buckets);
}

tl_feat_fitter *tl_feat_fitter_new(const tl_feat_opts *o)
{
	tl_feat_fitter *f = tl_xcalloc(1, sizeof *f);
	f->o = *o;
	tl_strtab_init(&f->terms);
	if (o->hash) {
		f->cap = (size_t)o->hash;
		f->tf = tl_xcalloc(f->cap, sizeof *f->tf);
		f->df = tl_xcalloc(f->cap, sizeof *f->df);
		f->last = tl_xmalloc(f->cap * sizeof *f->last);
		for (size_t i = 0; i < f->cap; i++)
			f->last[i] = -1;
	}
	return f;
}

static void fit_emit(void *ctx, const char *s, size_t n)
{
	tl_feat_fitter *f = ctx;
	int64_t id;
	if (f->o.hash) {
		id = hash_index(s, n, f->o.hash);
	} else {
		int isnew;
		id = tl_strtab_add(&f->terms, s, n, &isnew);
		if ((size_t)id >= f->cap) {
			size_t cap = f->cap ? 2 * f->cap : 4096;
			f->tf = tl_xrealloc(f->tf, cap * sizeof *f->tf);
			f->df = tl_xrealloc(f->df, cap * sizeof *f->df);
			f->last = tl_xrealloc(f->last, cap * sizeof *f->last);
			f->cap = cap;
		}
		if (isnew) {
			f->tf[id] = f->df[id] = 0;
			f->last[id] = -1;
		}
	}
	if (f->last[id] != f->n_docs) {
		f->last[id] = f->n_docs;
		f->df[id]++;
		f->tf[id] += 1; /* first occurrence: counts once either way */
	} else if (!f->o.binary) {
		f->tf[id] += 1;
	}
}

void tl_feat_fitter_add(tl_feat_fitter *f, const char *text, size_t len)
{
	analyze(&f->o, &f->s, text, len, fit_emit, f);
	f->n_docs++;
}

static void compute_idf(tl_feat *ft)
{
	ft->idf = tl_xmalloc((size_t)ft->dim * sizeof *ft->idf);
	for (long i = 0; i < ft->dim; i++) {
		if (ft->o.kind != TL_FEAT_TFIDF || !ft->o.use_idf) {
			ft->idf[i] = 1;
			continue;
		}
		double n = (double)ft->n_docs + ft->o.smooth_idf, d = (double)ft->df[i] + ft->o.smooth_idf;
		ft->idf[i] = d > 0 ? log(n / d) + 1.0 : 1.0;
	}
}

/* qsort_r order of ranks: tf (ctx, by rank) descending, then rank. */
static int cmp_tf(const void *a, const void *b, void *ctx)
{
	const int64_t *tf = ctx;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (tf[x] != tf[y])
		return tf[x] > tf[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

tl_feat *tl_feat_fitter_finish(tl_feat_fitter *f, char *err, size_t errsz)
{
	tl_feat *ft = tl_xcalloc(1, sizeof *ft);
	ft->o = f->o;
	ft->n_docs = f->n_docs;
	tl_strtab_init(&ft->terms);
	if (f->o.hash) {
		ft->dim = f->o.hash;
		ft->df = f->df;
		f->df = NULL;
	} else {
		double nd = (double)f->n_docs;
		double hi = f->o.max_df_count ? f->o.max_df : f->o.max_df * nd;
		double lo = f->o.min_df_count ? f->o.min_df : f->o.min_df * nd;
		if (hi < lo) {
			snprintf(err, errsz, "max_df corresponds to fewer documents than min_df");
			goto fail;
		}
		/* terms sorted alphabetically (byte order = code point order) */
		size_t n = f->terms.n;
		int64_t *ord = tl_xmalloc((n ? n : 1) * sizeof *ord);
		for (size_t i = 0; i < n; i++)
			ord[i] = (int64_t)i;
		tl_strtab_sort(&f->terms, ord, n);
		/* df filter, in sorted order */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			double d = (double)f->df[ord[i]];
			if (d <= hi && d >= lo)
				ord[k++] = ord[i];
		}
		if (f->o.max_features > 0 && k > (size_t)f->o.max_features) {
			/* keep the max_features most frequent (ties: alphabetical), then
			 * restore alphabetical order */
			int64_t *rank = tl_xmalloc(k * sizeof *rank);
			for (size_t i = 0; i < k; i++)
				rank[i] = (int64_t)i;
			int64_t *tfs = tl_xmalloc(k * sizeof *tfs);
			for (size_t i = 0; i < k; i++)
				tfs[i] = f->tf[ord[i]];
			qsort_r(rank, k, sizeof *rank, cmp_tf, tfs);
			size_t m = (size_t)f->o.max_features;
			char *keep = tl_xcalloc(k, 1);
			for (size_t i = 0; i < m; i++)
				keep[rank[i]] = 1;
			size_t j = 0;
			for (size_t i = 0; i < k; i++)
				if (keep[i])
					ord[j++] = ord[i];
			k = j;
			free(keep);
			free(tfs);
			free(rank);
		}
		if (k == 0) {
			free(ord);
			snprintf(err, errsz, "empty vocabulary: no term left after min_df/max_df/max_features "
					     "(%ld documents)", f->n_docs);
			goto fail;
		}
		ft->dim = (long)k;
		ft->df = tl_xmalloc(k * sizeof *ft->df);
		for (size_t i = 0; i < k; i++) {
			tl_strtab_add(&ft->terms, tl_strtab_str(&f->terms, ord[i]), f->terms.slen[ord[i]], NULL);
			ft->df[i] = f->df[ord[i]];
		}
		free(ord);
	}
	compute_idf(ft);
	goto done;
fail:
	tl_strtab_free(&ft->terms);
	free(ft);
	ft = NULL;
done:
	scratch_free(&f->s);
	tl_strtab_free(&f->terms);
	free(f->tf);
	free(f->df);
	free(f->last);
	free(f);
	return ft;
}

void tl_feat_free(tl_feat *ft)
{
	if (!ft)
		return;
	tl_strtab_free(&ft->terms);
	free(ft->df);
	free(ft->idf);
	free(ft);
}

long tl_feat_dim(const tl_feat *ft) { return ft->dim; }
const tl_feat_opts *tl_feat_opts_of(const tl_feat *ft) { return &ft->o; }
const char *tl_feat_term(const tl_feat *ft, long i)
{
	return ft->o.hash || i < 0 || i >= ft->dim ? NULL : tl_strtab_str(&ft->terms, i);
}
double tl_feat_idf(const tl_feat *ft, long i) { return ft->idf[i]; }
long tl_feat_index(const tl_feat *ft, const char *term, size_t len)
{
	if (ft->o.hash)
		return hash_index(term, len, ft->o.hash);
	return (long)tl_strtab_find(&ft->terms, term, len);
}

/* ---------------- applying ---------------- */

typedef struct {
	const tl_feat *ft;
	tl_sparse *out;
} apply_ctx;

static void sparse_grow(tl_sparse *s, size_t n)
{
	if (n > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap < n)
			cap *= 2;
		s->idx = tl_xrealloc(s->idx, cap * sizeof *s->idx);
		s->val = tl_xrealloc(s->val, cap * sizeof *s->val);
		s->cap = cap;
	}
}

static void apply_emit(void *ctx, const char *s, size_t n)
{
	apply_ctx *a = ctx;
	long id = tl_feat_index(a->ft, s, n);
	if (id < 0)
		return;
	sparse_grow(a->out, a->out->n + 1);
	a->out->idx[a->out->n++] = (int32_t)id;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

void tl_feat_apply(const tl_feat *ft, const char *text, size_t len, tl_sparse *out)
{
	if (!out->priv)
		out->priv = tl_xcalloc(1, sizeof(scratch));
	out->n = 0;
	out->dim = ft->dim;
	apply_ctx a = {ft, out};
	analyze(&ft->o, out->priv, text, len, apply_emit, &a);
	if (out->n > 1)
		qsort(out->idx, out->n, sizeof *out->idx, cmp_i32);
	size_t k = 0;
	double vbuf[256];
	double *v = out->n <= 256 ? vbuf : tl_xmalloc(out->n * sizeof *v);
	for (size_t i = 0; i < out->n;) {
		size_t j = i;
		while (j < out->n && out->idx[j] == out->idx[i])
			j++;
		double tf = (double)(j - i);
		if (ft->o.binary)
			tf = 1;
		if (ft->o.kind == TL_FEAT_TFIDF) {
			if (ft->o.sublinear_tf)
				tf = log(tf) + 1.0;
			tf *= ft->idf[out->idx[i]];
		}
		out->idx[k] = out->idx[i];
		v[k++] = tf;
		i = j;
	}
	out->n = k;
	double norm = 0;
	if (ft->o.norm == TL_NORM_L2) {
		for (size_t i = 0; i < k; i++)
			norm += v[i] * v[i];
		norm = sqrt(norm);
	} else if (ft->o.norm == TL_NORM_L1) {
		for (size_t i = 0; i < k; i++)
			norm += fabs(v[i]);
	}
	for (size_t i = 0; i < k; i++)
		out->val[i] = (float)(norm > 0 ? v[i] / norm : v[i]);
	if (v != vbuf)
		free(v);
}

void tl_sparse_free(tl_sparse *s)
{
	if (s->priv) {
		scratch_free(s->priv);
		free(s->priv);
	}
	free(s->idx);
	free(s->val);
	memset(s, 0, sizeof *s);
}

/* ---------------- save / load ---------------- */

static void esc_term(tl_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			tl_buf_adds(b, "\\t");
		else if (*s == '\n')
			tl_buf_adds(b, "\\n");
		else if (*s == '\r')
			tl_buf_adds(b, "\\r");
		else if (*s == '\\')
			tl_buf_adds(b, "\\\\");
		else
			tl_buf_addc(b, *s);
	}
}

int tl_feat_save(const tl_feat *ft, const char *path)
{
	tl_buf b = {0};
	char opts[512];
	tl_feat_opts_str(&ft->o, opts, sizeof opts);
	tl_buf_printf(&b, "tl-features 1\n%s\nn_docs=%ld dim=%ld\n", opts, ft->n_docs, ft->dim);
	for (long i = 0; i < ft->dim; i++) {
		if (ft->o.hash) {
			if (ft->df[i])
				tl_buf_printf(&b, "%ld\t%lld\n", i, (long long)ft->df[i]);
		} else {
			esc_term(&b, tl_strtab_str(&ft->terms, i));
			tl_buf_printf(&b, "\t%lld\n", (long long)ft->df[i]);
		}
	}
	int rc = tl_fs_write_file(path, b.data, b.len);
	tl_buf_free(&b);
	return rc;
}

static int parse_df(const char *v, double *out, int *count)
{
	char *end;
	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !(*out >= 0))
		return -1;
	*count = !strpbrk(v, ".eE");
	/* a document count is printed back as a long (tl_feat_opts_str):
	 * at most 2^53, the integers a double holds exactly */
	if (*count && *out > 9007199254740992.0)
		return -1;
	return 0;
}

/* Parse "key=value ..." options. Returns 0 or -1 (message in err). */
static int parse_opts(tl_feat_opts *o, char *line, char *err, size_t errsz)
{
	tl_feat_opts_default(o, TL_FEAT_BOW);
	char *save = NULL;
	int seen = 0;
	for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			goto bad;
		*eq = 0;
		const char *k = t, *v = eq + 1;
		char *end;
		seen++;
		if (!strcmp(k, "kind")) {
			if (!strcmp(v, "tfidf"))
				o->kind = TL_FEAT_TFIDF;
			else if (!strcmp(v, "bow"))
				o->kind = TL_FEAT_BOW;
			else
				goto bad;
		} else if (!strcmp(k, "analyzer")) {
			int a = -1;
			for (int i = 0; i < 3; i++)
				if (!strcmp(v, an_names[i]))
					a = i;
			if (a < 0)
				goto bad;
			o->analyzer = a;
		} else if (!strcmp(k, "ngram")) {
			if (sscanf(v, "%d,%d", &o->ngram_min, &o->ngram_max) != 2 || o->ngram_min < 1 ||
			    o->ngram_max < o->ngram_min || o->ngram_max > 64)
				goto bad;
		} else if (!strcmp(k, "min_df")) {
			if (parse_df(v, &o->min_df, &o->min_df_count))
				goto bad;
		} else if (!strcmp(k, "max_df")) {
			if (parse_df(v, &o->max_df, &o->max_df_count))
				goto bad;
		} else if (!strcmp(k, "norm")) {
			int a = -1;
			for (int i = 0; i < 3; i++)
				if (!strcmp(v, norm_names[i]))
					a = i;
			if (a < 0)
				goto bad;
			o->norm = a;
		} else if (!strcmp(k, "cjk")) { /* absent (files before it): chars */
			if (strcmp(v, "words") && strcmp(v, "chars"))
				goto bad;
			o->cjk_words = v[0] == 'w';
			seen--; /* optional: not one of the 13 */
		} else {
			long x = strtol(v, &end, 10);
			if (end == v || *end || x < 0)
				goto bad;
			if (!strcmp(k, "max_features"))
				o->max_features = x;
			else if (!strcmp(k, "binary"))
				o->binary = x != 0;
			else if (!strcmp(k, "sublinear_tf"))
				o->sublinear_tf = x != 0;
			else if (!strcmp(k, "use_idf"))
				o->use_idf = x != 0;
			else if (!strcmp(k, "smooth_idf"))
				o->smooth_idf = x != 0;
			else if (!strcmp(k, "hash"))
				o->hash = x;
			else if (!strcmp(k, "lower"))
				o->lower = x != 0;
			else
				goto bad;
		}
		continue;
	bad:
		snprintf(err, errsz, "bad option '%s'", t);
		return -1;
	}
	if (seen < 13) {
		snprintf(err, errsz, "incomplete option line");
		return -1;
	}
	return 0;
}

static int unesc_term(char *s)
{
	char *d = s;
	for (; *s; s++) {
		if (*s != '\\') {
			*d++ = *s;
			continue;
		}
		s++;
		if (*s == 't')
			*d++ = '\t';
		else if (*s == 'n')
			*d++ = '\n';
		else if (*s == 'r')
			*d++ = '\r';
		else if (*s == '\\')
			*d++ = '\\';
		else
			return -1;
	}
	*d = 0;
	return 0;
}

tl_feat *tl_feat_load(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	tl_feat *ft = tl_xcalloc(1, sizeof *ft);
	tl_strtab_init(&ft->terms);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	const char *why = NULL;
	char msg[256] = "";
	lineno = 1;
	if ((n = getline(&line, &cap, f)) <= 0 || strcmp(line, "tl-features 1\n") != 0) {
		why = "not a tl-features 1 file";
		goto bad;
	}
	lineno = 2;
	if ((n = getline(&line, &cap, f)) <= 0 || line[n - 1] != '\n') {
		why = "missing option line";
		goto bad;
	}
	line[n - 1] = 0;
	if (parse_opts(&ft->o, line, msg, sizeof msg)) {
		why = msg;
		goto bad;
	}
	lineno = 3;
	if ((n = getline(&line, &cap, f)) <= 0 || sscanf(line, "n_docs=%ld dim=%ld", &ft->n_docs, &ft->dim) != 2 ||
	    ft->n_docs < 0 || ft->dim <= 0 || ft->dim > (1L << 31) - 1 || (ft->o.hash && ft->o.hash != ft->dim)) {
		why = "bad n_docs/dim line";
		goto bad;
	}
	/* the declared dim allocates only what the file can hold (a term
	 * takes more than one byte of it); a hashed file's buckets may be
	 * absent, so its array (up to --hash 2^31-1) is asked for, not assumed */
	struct stat st;
	long here = ftell(f);
	if (!ft->o.hash && fstat(fileno(f), &st) == 0 && here >= 0 && ft->dim > st.st_size - here) {
		snprintf(msg, sizeof msg, "dim=%ld, but the file holds at most %lld terms", ft->dim,
			 (long long)(st.st_size - here));
		why = msg;
		goto bad;
	}
	ft->df = calloc((size_t)ft->dim, sizeof *ft->df);
	if (!ft->df) {
		snprintf(msg, sizeof msg, "dim=%ld: cannot allocate its document frequencies", ft->dim);
		why = msg;
		goto bad;
	}
	long k = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			why = "truncated line";
			goto bad;
		}
		line[n - 1] = 0;
		char *tab = strrchr(line, '\t');
		char *end;
		if (!tab) {
			why = "expected TERM<TAB>DF";
			goto bad;
		}
		*tab = 0;
		long long df = strtoll(tab + 1, &end, 10);
		if (end == tab + 1 || *end || df < 0 || df > ft->n_docs) {
			why = "bad document frequency";
			goto bad;
		}
		if (ft->o.hash) {
			long b = strtol(line, &end, 10);
			if (end == line || *end || b < 0 || b >= ft->dim) {
				why = "bad bucket number";
				goto bad;
			}
			ft->df[b] = df;
		} else {
			if (k >= ft->dim) {
				why = "more terms than dim";
				goto bad;
			}
			if (unesc_term(line) < 0) {
				why = "bad escape in term";
				goto bad;
			}
			int isnew;
			tl_strtab_add(&ft->terms, line, strlen(line), &isnew);
			if (!isnew) {
				why = "duplicate term";
				goto bad;
			}
			ft->df[k++] = df;
		}
	}
	if (ferror(f)) {
		snprintf(err, errsz, "%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	if (!ft->o.hash && k != ft->dim) {
		lineno = 0;
		why = "fewer terms than dim (truncated file?)";
		goto bad;
	}
	free(line);
	fclose(f);
	compute_idf(ft);
	return ft;
bad:
	if (lineno)
		snprintf(err, errsz, "%s: line %ld: %s", path, lineno, why);
	else
		snprintf(err, errsz, "%s: %s", path, why);
fail:
	free(line);
	fclose(f);
	tl_feat_free(ft);
	return NULL;
}

int tl_feat_check_opts(const tl_feat *ft, const tl_feat_opts *a, unsigned set, char *err, size_t errsz)
{
	const tl_feat_opts *o = &ft->o;
	const char *what = NULL;
	if ((set & TL_FEAT_SET_KIND) && a->kind != o->kind)
		what = "kind (--bow/--tfidf)";
	else if ((set & TL_FEAT_SET_ANALYZER) && a->analyzer != o->analyzer)
		what = "--analyzer";
	else if ((set & TL_FEAT_SET_NGRAM) && (a->ngram_min != o->ngram_min || a->ngram_max != o->ngram_max))
		what = "--ngram";
	else if ((set & TL_FEAT_SET_MIN_DF) && (a->min_df != o->min_df || a->min_df_count != o->min_df_count))
		what = "--min-df";
	else if ((set & TL_FEAT_SET_MAX_DF) && (a->max_df != o->max_df || a->max_df_count != o->max_df_count))
		what = "--max-df";
	else if ((set & TL_FEAT_SET_MAX_FEATURES) && a->max_features != o->max_features)
		what = "--max-features";
	else if ((set & TL_FEAT_SET_BINARY) && a->binary != o->binary)
		what = "--binary";
	else if ((set & TL_FEAT_SET_SUBLINEAR) && a->sublinear_tf != o->sublinear_tf)
		what = "--sublinear-tf";
	else if ((set & TL_FEAT_SET_IDF) && (a->use_idf != o->use_idf || a->smooth_idf != o->smooth_idf))
		what = "--no-idf/--no-smooth-idf";
	else if ((set & TL_FEAT_SET_NORM) && a->norm != o->norm)
		what = "--norm";
	else if ((set & TL_FEAT_SET_HASH) && a->hash != o->hash)
		what = "--hash";
	else if ((set & TL_FEAT_SET_LOWER) && a->lower != o->lower)
		what = "--no-lower";
	else if ((set & TL_FEAT_SET_CJK) && a->cjk_words != o->cjk_words)
		what = "--cjk";
	if (!what)
		return 0;
	char fo[512];
	tl_feat_opts_str(o, fo, sizeof fo);
	snprintf(err, errsz, "fitted with other options: %s differs (file has: %s)", what, fo);
	return -1;
}

int tl_feat_opts_set(tl_feat_opts *o, unsigned *set, const char *name, const char *val, char *err, size_t errsz)
{
	char *end;
	static const char *const valued[] = {"analyzer", "ngram", "min-df", "max-df", "max-features", "hash", "norm"};
	for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
		if (!strcmp(name, valued[i]) && !val) {
			snprintf(err, errsz, "option --%s needs a value", name);
			return -1;
		}
	if (!strcmp(name, "bow") || !strcmp(name, "tfidf")) {
		o->kind = name[0] == 't' ? TL_FEAT_TFIDF : TL_FEAT_BOW;
		*set |= TL_FEAT_SET_KIND;
	} else if (!strcmp(name, "analyzer")) {
		int a = -1;
		for (int i = 0; i < 3; i++)
			if (!strcmp(val, an_names[i]))
				a = i;
		if (a < 0)
			goto bad;
		o->analyzer = a;
		*set |= TL_FEAT_SET_ANALYZER;
	} else if (!strcmp(name, "ngram")) {
		int a, b;
		char c;
		if (sscanf(val, "%d,%d%c", &a, &b, &c) == 2) {
		} else if (sscanf(val, "%d%c", &a, &c) == 1) {
			b = a;
		} else
			goto bad;
		if (a < 1 || b < a || b > 64)
			goto bad;
		o->ngram_min = a;
		o->ngram_max = b;
		*set |= TL_FEAT_SET_NGRAM;
	} else if (!strcmp(name, "min-df") || !strcmp(name, "max-df")) {
		double v;
		int count;
		if (parse_df(val, &v, &count) || (!count && v > 1.0))
			goto bad;
		if (name[1] == 'i') {
			o->min_df = v;
			o->min_df_count = count;
			*set |= TL_FEAT_SET_MIN_DF;
		} else {
			o->max_df = v;
			o->max_df_count = count;
			*set |= TL_FEAT_SET_MAX_DF;
		}
	} else if (!strcmp(name, "max-features") || !strcmp(name, "hash")) {
		errno = 0;
		long x = strtol(val, &end, 10);
		if (errno || end == val || *end || x < 1 || x > (1L << 31) - 1)
			goto bad;
		if (name[0] == 'h') {
			o->hash = x;
			*set |= TL_FEAT_SET_HASH;
		} else {
			o->max_features = x;
			*set |= TL_FEAT_SET_MAX_FEATURES;
		}
	} else if (!strcmp(name, "binary")) {
		o->binary = 1;
		*set |= TL_FEAT_SET_BINARY;
	} else if (!strcmp(name, "sublinear-tf")) {
		o->sublinear_tf = 1;
		*set |= TL_FEAT_SET_SUBLINEAR;
	} else if (!strcmp(name, "no-idf")) {
		o->use_idf = 0;
		*set |= TL_FEAT_SET_IDF;
	} else if (!strcmp(name, "no-smooth-idf")) {
		o->smooth_idf = 0;
		*set |= TL_FEAT_SET_IDF;
	} else if (!strcmp(name, "norm")) {
		int a = -1;
		for (int i = 0; i < 3; i++)
			if (!strcmp(val, norm_names[i]))
				a = i;
		if (a < 0)
			goto bad;
		o->norm = a;
		*set |= TL_FEAT_SET_NORM;
	} else if (!strcmp(name, "no-lower")) {
		o->lower = 0;
		*set |= TL_FEAT_SET_LOWER;
	} else if (!strcmp(name, "cjk")) {
		if (!val || (strcmp(val, "words") && strcmp(val, "chars")))
			goto bad;
		o->cjk_words = val[0] == 'w';
		*set |= TL_FEAT_SET_CJK;
	} else {
		return 0;
	}
	return 1;
bad:
	snprintf(err, errsz, "option --%s: bad value '%s'", name, val ? val : "");
	return -1;
}

void tl_feat_opts_finish(tl_feat_opts *o, unsigned set)
{
	if (!(set & TL_FEAT_SET_NORM))
		o->norm = o->kind == TL_FEAT_TFIDF ? TL_NORM_L2 : TL_NORM_NONE;
}
