/* linear.c - logistic regression and a fastText-style classifier:
 * data, deterministic training, model directories, scoring, and the
 * "tl-linear" backend of tl/classifier.h. See tl/linear.h. */
#include "tl/linear.h"
#include "tl/classifier.h"
#include "tl/dist.h"
#include "tl/fsutil.h"
#include "tl/model.h"
#include "tl/rng.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"
#include "tl/word2vec.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NGRAM_MUL 116049371ULL /* fastText's n-gram hash multiplier */

void tl_lin_opts_default(tl_lin_opts *o, int arch)
{
	memset(o, 0, sizeof *o);
	o->arch = arch;
	o->loss = TL_LOSS_SOFTMAX;
	o->temperature = 2;
	o->alpha = 0.5;
	o->input = TL_IN_TEXT;
	o->dim = 100;
	o->word_ngrams = 2;
	o->buckets = 2000000;
	o->min_count = 1;
	o->min_count_ngram = 2;
	o->epochs = 5;
	o->lr = 0.5;
	o->l2 = 1e-6;
	o->batch = 8;
	o->threads = 1;
	o->seed = 1;
	o->lower = 1;
	tl_feat_opts_default(&o->feat, TL_FEAT_TFIDF);
	o->feat.ngram_max = 2;
	o->feat.sublinear_tf = 1;
}

static void seterr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* ---------------- growable arrays ---------------- */

#define GROW(p, n, cap, need)                                                \
	do {                                                                 \
		if ((need) > (cap)) {                                        \
			size_t c_ = (cap) ? (cap) : 1024;                    \
			while (c_ < (need))                                  \
				c_ *= 2;                                     \
			(p) = tl_xrealloc((p), c_ * sizeof *(p));            \
			(cap) = c_;                                          \
		}                                                            \
	} while (0)

/* ---------------- data ---------------- */

/* fastText ends every example with the word "</s>" (its end-of-line
 * token): a row shared by all examples, like a bias, and one more n-gram. */
#define EOS "</s>"
struct tl_lin_data {
	tl_lin_opts o;
	tl_strtab labels;     /* label names in order of appearance */
	int64_t *labcount;
	size_t labcap;
	int32_t *lab;         /* label ids of all examples */
	size_t nlab, lcap;
	size_t *laboff;       /* [n + 1] */
	int multi;
	size_t n, ecap;
	/* text */
	tl_strtab words;      /* fastText: raw words */
	int64_t *wcount;
	size_t wcap;
	int32_t *tok;         /* fastText: raw word ids */
	size_t ntok, tcap;
	size_t *off;          /* [n + 1] into tok / texts / sparse */
	tl_words w;
	char *texts;          /* logreg on text: the texts, NUL-separated */
	size_t tlen, txcap;
	/* features */
	int32_t *idx;
	float *val;
	size_t nval, vcap;
	long dim;
	int text_b;           /* a record had "text_b" (tl_lin_data_set_text_b) */
	/* --distill: the teacher's logits [n, lgk] (teacher order until
	 * setup_labels permutes them), nteacher: teacher labels given first
	 * (tl_lin_data_set_teacher), nlabelled: examples with a label */
	float *lg;
	size_t nlg, lgcap;
	int lgk, nteacher;
	size_t nlabelled;
};

int tl_lin_data_set_teacher(tl_lin_data *d, const char *const *names, int n, char *err, size_t errsz)
{
	if (d->n || d->labels.n) {
		seterr(err, errsz, "the teacher's labels come before the examples");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int isnew;
		int64_t id = tl_strtab_add(&d->labels, names[i], strlen(names[i]), &isnew);
		if (!isnew) {
			seterr(err, errsz, "the teacher's label '%s' is listed twice", names[i]);
			return -1;
		}
		if ((size_t)id >= d->labcap) {
			d->labcap = d->labcap ? 2 * d->labcap : 64;
			while ((size_t)id >= d->labcap)
				d->labcap *= 2;
			d->labcount = tl_xrealloc(d->labcount, d->labcap * sizeof *d->labcount);
		}
		d->labcount[id] = 0;
	}
	d->nteacher = n;
	return 0;
}

int tl_lin_data_add_logits(tl_lin_data *d, const float *logits, int k, char *err, size_t errsz)
{
	if (d->nteacher && k != d->nteacher) {
		seterr(err, errsz, "%d logits, the teacher's label set in the stream header has %d labels", k,
		       d->nteacher);
		return -1;
	}
	if (d->lgk && k != d->lgk) {
		seterr(err, errsz, "%d logits where the first record has %d", k, d->lgk);
		return -1;
	}
	if (k < 1 || d->nlg + 1 != d->n) {
		seterr(err, errsz, k < 1 ? "\"logits\" is empty" : "logits without an example");
		return -1;
	}
	d->lgk = k;
	GROW(d->lg, d->nlg * (size_t)k, d->lgcap, (d->nlg + 1) * (size_t)k);
	memcpy(d->lg + d->nlg * (size_t)k, logits, (size_t)k * sizeof *logits);
	d->nlg++;
	return 0;
}

double tl_lin_kd_loss(const float *z, const float *t, int C, int y, double T, double alpha, double *grad)
{
	/* log-sum-exps of z/T, t/T and z */
	double ms = -INFINITY, mt = -INFINITY, m1 = -INFINITY;
	for (int c = 0; c < C; c++) {
		if (z[c] / T > ms)
			ms = z[c] / T;
		if (t[c] / T > mt)
			mt = t[c] / T;
		if (z[c] > m1)
			m1 = z[c];
	}
	double ss = 0, st = 0, s1 = 0;
	for (int c = 0; c < C; c++) {
		ss += exp(z[c] / T - ms);
		st += exp(t[c] / T - mt);
		s1 += exp(z[c] - m1);
	}
	double ls_ = ms + log(ss), lt_ = mt + log(st), l1 = m1 + log(s1);
	double kl = 0, hard = y >= 0 ? 1.0 - alpha : 0;
	for (int c = 0; c < C; c++) {
		double lsc = z[c] / T - ls_, ltc = t[c] / T - lt_, pt = exp(ltc);
		if (pt > 0)
			kl += pt * (ltc - lsc);
		if (grad)
			grad[c] = alpha * T * (exp(lsc) - pt) + hard * (exp(z[c] - l1) - (c == y));
	}
	double loss = alpha * T * T * kl;
	if (y >= 0)
		loss += hard * (l1 - z[y]);
	return loss;
}

void tl_lin_data_set_text_b(tl_lin_data *d)
{
	d->text_b = 1;
}

const char *tl_lin_rec_text(const tl_record *rec, int use_b, tl_buf *buf, size_t *len, int *has_b, char *msg,
			    size_t msz)
{
	int bad = 0;
	if (has_b)
		*has_b = 0;
	const char *t = tl_rec_str(rec, "text", len, &bad);
	if (!t) {
		snprintf(msg, msz, bad ? "\"text\" is not a string" : "no \"text\"");
		return NULL;
	}
	if (!use_b)
		return t;
	size_t blen = 0;
	const char *b = tl_rec_str(rec, "text_b", &blen, &bad);
	if (!b) {
		if (bad) {
			snprintf(msg, msz, "\"text_b\" is not a string");
			return NULL;
		}
		return t;
	}
	if (has_b)
		*has_b = 1;
	buf->len = 0;
	tl_buf_add(buf, t, *len);
	tl_buf_adds(buf, TL_LIN_TEXT_B_SEP);
	tl_buf_add(buf, b, blen);
	*len = buf->len;
	return buf->data;
}

tl_lin_data *tl_lin_data_new(const tl_lin_opts *o)
{
	tl_lin_data *d = tl_xcalloc(1, sizeof *d);
	d->o = *o;
	tl_strtab_init(&d->labels);
	tl_strtab_init(&d->words);
	d->laboff = tl_xmalloc(sizeof *d->laboff);
	d->laboff[0] = 0;
	d->off = tl_xmalloc(sizeof *d->off);
	d->off[0] = 0;
	d->ecap = 1;
	d->dim = -1;
	return d;
}

void tl_lin_data_free(tl_lin_data *d)
{
	if (!d)
		return;
	tl_strtab_free(&d->labels);
	tl_strtab_free(&d->words);
	tl_words_free(&d->w);
	free(d->labcount);
	free(d->lab);
	free(d->laboff);
	free(d->wcount);
	free(d->tok);
	free(d->off);
	free(d->texts);
	free(d->idx);
	free(d->val);
	free(d->lg);
	free(d);
}

/* The first non-finite value of v[0..n) as a message naming field:
 * '"vec" has a non-finite value (NaN at 17)'; at = the index printed for
 * element i (NULL: i itself). 0 when all are finite. The one check of
 * every feature value a linear model reads (training and prediction). */
int tl_lin_check_finite(const char *field, const float *v, size_t n, const int32_t *at, char *msg, size_t msz)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i])) {
			snprintf(msg, msz, "\"%s\" has a non-finite value (%s at %lld)", field,
				 isnan(v[i]) ? "NaN" : v[i] > 0 ? "inf" : "-inf", at ? (long long)at[i] : (long long)i);
			return -1;
		}
	return 0;
}

int tl_lin_data_add(tl_lin_data *d, const char *text, size_t len, const tl_sparse *sp, const float *vec,
		    size_t vlen, const char *const *labels, const size_t *lablen, int nlab, int multi, char *err,
		    size_t errsz)
{
	if (nlab < 1 && !(d->o.distill && nlab == 0)) {
		seterr(err, errsz, "no label");
		return -1;
	}
	int fasttext = d->o.arch == TL_LIN_FASTTEXT;
	int input = fasttext ? TL_IN_TEXT : d->o.input;
	if (input == TL_IN_SPARSE) {
		if (d->dim >= 0 && sp->dim != d->dim) {
			seterr(err, errsz, "sparse vector of dimension %ld, the first one had %ld", sp->dim, d->dim);
			return -1;
		}
		for (size_t i = 0; i < sp->n; i++)
			if (sp->idx[i] < 0 || sp->idx[i] >= sp->dim) {
				seterr(err, errsz, "sparse index %d outside [0, %ld)", sp->idx[i], sp->dim);
				return -1;
			}
		if (tl_lin_check_finite("sparse", sp->val, sp->n, sp->idx, err, errsz) < 0)
			return -1;
		d->dim = sp->dim;
		GROW(d->idx, d->nval, d->vcap, d->nval + sp->n);
		d->val = tl_xrealloc(d->val, d->vcap * sizeof *d->val);
		memcpy(d->idx + d->nval, sp->idx, sp->n * sizeof *sp->idx);
		memcpy(d->val + d->nval, sp->val, sp->n * sizeof *sp->val);
		d->nval += sp->n;
	} else if (input == TL_IN_VEC) {
		if (d->dim >= 0 && (long)vlen != d->dim) {
			seterr(err, errsz, "vec of length %zu, the first one had %ld", vlen, d->dim);
			return -1;
		}
		if (vlen == 0) {
			seterr(err, errsz, "empty vec");
			return -1;
		}
		if (tl_lin_check_finite("vec", vec, vlen, NULL, err, errsz) < 0)
			return -1;
		d->dim = (long)vlen;
		size_t cap = d->vcap;
		GROW(d->val, d->nval, cap, d->nval + vlen);
		d->vcap = cap;
		memcpy(d->val + d->nval, vec, vlen * sizeof *vec);
		d->nval += vlen;
	} else if (fasttext) {
		tl_words_split(&d->w, text, len,
			       (d->o.lower ? TL_WORDS_LOWER : 0) | (d->o.cjk_words ? TL_WORDS_CJK : 0));
		tl_words_push(&d->w, EOS, sizeof EOS - 1);
		GROW(d->tok, d->ntok, d->tcap, d->ntok + d->w.n);
		for (size_t i = 0; i < d->w.n; i++) {
			int isnew;
			int64_t id = tl_strtab_add(&d->words, d->w.b.data + d->w.off[i], d->w.blen[i], &isnew);
			if ((size_t)id >= d->wcap) {
				d->wcap = d->wcap ? 2 * d->wcap : 4096;
				d->wcount = tl_xrealloc(d->wcount, d->wcap * sizeof *d->wcount);
			}
			if (isnew)
				d->wcount[id] = 0;
			d->wcount[id]++;
			d->tok[d->ntok++] = (int32_t)id;
		}
	} else {
		GROW(d->texts, d->tlen, d->txcap, d->tlen + len + 1);
		memcpy(d->texts + d->tlen, text, len);
		d->texts[d->tlen + len] = 0;
		d->tlen += len + 1;
	}
	if (d->n + 2 > d->ecap) {
		d->ecap = 2 * (d->n + 2);
		d->off = tl_xrealloc(d->off, d->ecap * sizeof *d->off);
		d->laboff = tl_xrealloc(d->laboff, d->ecap * sizeof *d->laboff);
	}
	d->off[d->n + 1] = fasttext ? d->ntok : input == TL_IN_TEXT ? d->tlen : d->nval;
	GROW(d->lab, d->nlab, d->lcap, d->nlab + (size_t)nlab);
	for (int i = 0; i < nlab; i++) {
		int isnew;
		int64_t id = tl_strtab_add(&d->labels, labels[i], lablen[i], &isnew);
		if ((size_t)id >= d->labcap) {
			d->labcap = d->labcap ? 2 * d->labcap : 64;
			d->labcount = tl_xrealloc(d->labcount, d->labcap * sizeof *d->labcount);
		}
		if (isnew)
			d->labcount[id] = 0;
		d->labcount[id]++;
		d->lab[d->nlab++] = (int32_t)id;
	}
	d->laboff[d->n + 1] = d->nlab;
	d->nlabelled += nlab > 0;
	if (multi)
		d->multi = 1;
	d->n++;
	return 0;
}

/* ---------------- the model ---------------- */

struct tl_lin_model {
	int arch, loss, input, multi;
	int nlabels;
	char **labels;
	int64_t *labcount;
	/* fastText */
	int dim, word_ngrams, lower, cjk_words;
	long buckets;
	tl_strtab vocab;     /* words, id = row */
	long V, K;           /* words, n-gram rows */
	int32_t *bucket_ids; /* [K] sorted */
	int32_t *brow;       /* [buckets] bucket -> row or -1 (built at load) */
	float *E;            /* [(V + K) * dim] */
	float *O;            /* [nout * dim] */
	int nout;
	/* hierarchical softmax: per label its path (internal node rows) and codes */
	int32_t *hs_path, *hs_code, *hs_len; /* [nlabels * maxdepth], [nlabels] */
	int hs_depth;
	/* logreg */
	long D;
	float *W;            /* [D * nlabels] feature-major */
	float *b;            /* [nlabels] */
	tl_feat *feat;       /* input text: fitted TF-IDF */
	tl_feat_opts featopts;
	/* training record */
	double train_loss;
	int text_b;          /* reads "text" + TL_LIN_TEXT_B_SEP + "text_b" */
};

int tl_lin_nlabels(const tl_lin_model *m) { return m->nlabels; }
const char *tl_lin_label(const tl_lin_model *m, int i) { return m->labels[i]; }
int tl_lin_multi_label(const tl_lin_model *m) { return m->multi; }
int tl_lin_input(const tl_lin_model *m) { return m->input; }
int tl_lin_text_b(const tl_lin_model *m) { return m->text_b; }
int tl_lin_cjk_words(const tl_lin_model *m)
{
	if (m->arch == TL_LIN_FASTTEXT)
		return m->cjk_words;
	return m->input == TL_IN_TEXT && m->feat && tl_feat_opts_of(m->feat)->cjk_words;
}
double tl_lin_train_loss(const tl_lin_model *m) { return m->train_loss; }
size_t tl_lin_nparams(const tl_lin_model *m)
{
	if (m->arch == TL_LIN_FASTTEXT)
		return (size_t)(m->V + m->K) * (size_t)m->dim + (size_t)m->nout * (size_t)m->dim;
	return (size_t)m->D * (size_t)m->nlabels + (size_t)m->nlabels;
}

void tl_lin_free(tl_lin_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->labcount);
	tl_strtab_free(&m->vocab);
	free(m->bucket_ids);
	free(m->brow);
	free(m->E);
	free(m->O);
	free(m->hs_path);
	free(m->hs_code);
	free(m->hs_len);
	free(m->W);
	free(m->b);
	tl_feat_free(m->feat);
	free(m);
}

/* Huffman tree over label counts (fastText's buildTree): internal node i
 * (0..C-2) is output row i. */
static void build_hs(tl_lin_model *m)
{
	int C = m->nlabels;
	int N = 2 * C - 1;
	int64_t *cnt = tl_xmalloc((size_t)N * sizeof *cnt);
	int *parent = tl_xmalloc((size_t)N * sizeof *parent), *bin = tl_xcalloc((size_t)N, sizeof *bin);
	int *leaf_of = tl_xmalloc((size_t)C * sizeof *leaf_of); /* sorted position -> label */
	/* leaves sorted by count descending (ties: label id) */
	for (int i = 0; i < C; i++)
		leaf_of[i] = i;
	for (int i = 1; i < C; i++) /* insertion sort: C is small */
		for (int j = i; j > 0; j--) {
			int a = leaf_of[j - 1], b = leaf_of[j];
			if (m->labcount[b] > m->labcount[a] || (m->labcount[b] == m->labcount[a] && b < a)) {
				leaf_of[j - 1] = b;
				leaf_of[j] = a;
			} else
				break;
		}
	for (int i = 0; i < N; i++) {
		cnt[i] = i < C ? m->labcount[leaf_of[i]] : INT64_MAX / 4;
		parent[i] = -1;
	}
	int leaf = C - 1, node = C;
	for (int i = C; i < N; i++) {
		int mini[2];
		for (int j = 0; j < 2; j++) {
			if (leaf >= 0 && (node >= i || cnt[leaf] < cnt[node]))
				mini[j] = leaf--;
			else
				mini[j] = node++;
		}
		cnt[i] = cnt[mini[0]] + cnt[mini[1]];
		parent[mini[0]] = i;
		parent[mini[1]] = i;
		bin[mini[1]] = 1;
	}
	int depth = 0;
	for (int i = 0; i < C; i++) {
		int d = 0;
		for (int j = i; parent[j] != -1; j = parent[j])
			d++;
		if (d > depth)
			depth = d;
	}
	m->hs_depth = depth ? depth : 1;
	m->hs_path = tl_xcalloc((size_t)C * (size_t)m->hs_depth, sizeof *m->hs_path);
	m->hs_code = tl_xcalloc((size_t)C * (size_t)m->hs_depth, sizeof *m->hs_code);
	m->hs_len = tl_xcalloc((size_t)C, sizeof *m->hs_len);
	for (int i = 0; i < C; i++) {
		int lab = leaf_of[i], d = 0;
		for (int j = i; parent[j] != -1; j = parent[j]) {
			m->hs_path[lab * m->hs_depth + d] = parent[j] - C;
			m->hs_code[lab * m->hs_depth + d] = bin[j];
			d++;
		}
		m->hs_len[lab] = d;
	}
	free(cnt);
	free(parent);
	free(bin);
	free(leaf_of);
}

static inline float sigmoidf(float x)
{
	return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

static inline float dotf(const float *restrict a, const float *restrict b, int n)
{
	float s = 0;
	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static inline void axpyf(float *restrict y, float a, const float *restrict x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += a * x[i];
}

/* fastText forward on rows -> h; then logits. */
static void ft_hidden(const tl_lin_model *m, const int32_t *rows, size_t n, float *h)
{
	int d = m->dim;
	memset(h, 0, (size_t)d * sizeof *h);
	for (size_t i = 0; i < n; i++)
		axpyf(h, 1.0f, m->E + (size_t)rows[i] * (size_t)d, d);
	if (n) {
		float inv = 1.0f / (float)n;
		for (int i = 0; i < d; i++)
			h[i] *= inv;
	}
}

static void ft_logits(const tl_lin_model *m, const float *h, float *logits, float *tmp)
{
	int C = m->nlabels, d = m->dim;
	if (m->loss != TL_LOSS_HS) {
		for (int c = 0; c < C; c++)
			logits[c] = dotf(m->O + (size_t)c * (size_t)d, h, d);
		return;
	}
	for (int r = 0; r < C - 1; r++)
		tmp[r] = dotf(m->O + (size_t)r * (size_t)d, h, d);
	for (int c = 0; c < C; c++) {
		double lp = 0;
		for (int k = 0; k < m->hs_len[c]; k++) {
			float s = tmp[m->hs_path[c * m->hs_depth + k]];
			float p = m->hs_code[c * m->hs_depth + k] ? sigmoidf(s) : sigmoidf(-s);
			lp += log(p > 1e-30f ? p : 1e-30f);
		}
		logits[c] = (float)lp;
	}
}

/* Rows of a text for a trained fastText model (words in the vocabulary,
 * then kept n-gram buckets). */
static void ft_rows(const tl_lin_model *m, tl_lin_scratch *s, const char *text, size_t len)
{
	tl_words_split(&s->w, text, len, (m->lower ? TL_WORDS_LOWER : 0) | (m->cjk_words ? TL_WORDS_CJK : 0));
	tl_words_push(&s->w, EOS, sizeof EOS - 1);
	size_t nw = s->w.n;
	s->nrows = 0;
	size_t need = nw * (size_t)(m->word_ngrams > 1 ? m->word_ngrams : 1) + 1;
	if (need > s->cap) {
		s->cap = need;
		s->rows = tl_xrealloc(s->rows, need * sizeof *s->rows);
	}
	uint64_t *hs = (uint64_t *)tl_xmalloc((nw ? nw : 1) * sizeof *hs);
	for (size_t i = 0; i < nw; i++) {
		const char *w = s->w.b.data + s->w.off[i];
		int64_t id = tl_strtab_find(&m->vocab, w, s->w.blen[i]);
		hs[i] = tl_fnv1a(w, s->w.blen[i]);
		if (id >= 0)
			s->rows[s->nrows++] = (int32_t)id;
	}
	if (m->brow) {
		for (size_t i = 0; i < nw; i++) {
			uint64_t h = hs[i];
			for (size_t j = i + 1; j < nw && j < i + (size_t)m->word_ngrams; j++) {
				h = h * NGRAM_MUL + hs[j];
				int32_t r = m->brow[h % (uint64_t)m->buckets];
				if (r >= 0)
					s->rows[s->nrows++] = r;
			}
		}
	}
	free(hs);
}

void tl_lin_scratch_free(tl_lin_scratch *s)
{
	tl_words_free(&s->w);
	free(s->rows);
	free(s->h);
	free(s->tmp);
	tl_sparse_free(&s->sp);
	tl_buf_free(&s->jb);
	memset(s, 0, sizeof *s);
}

static void lr_logits(const tl_lin_model *m, const int32_t *idx, const float *val, size_t n, float *logits)
{
	int C = m->nlabels;
	for (int c = 0; c < C; c++)
		logits[c] = m->b[c];
	for (size_t k = 0; k < n; k++) {
		const float *w = m->W + (size_t)(idx ? idx[k] : (int32_t)k) * (size_t)C;
		float x = val[k];
		for (int c = 0; c < C; c++)
			logits[c] += w[c] * x;
	}
}

int tl_lin_logits(const tl_lin_model *m, tl_lin_scratch *s, const char *text, size_t len, const tl_sparse *sp,
		  const float *vec, size_t vlen, float *logits)
{
	if (m->arch == TL_LIN_FASTTEXT) {
		if (!s->h) {
			s->h = tl_xmalloc((size_t)m->dim * sizeof *s->h);
			s->tmp = tl_xmalloc((size_t)m->nlabels * sizeof *s->tmp);
		}
		ft_rows(m, s, text, len);
		ft_hidden(m, s->rows, s->nrows, s->h);
		ft_logits(m, s->h, logits, s->tmp);
		return 0;
	}
	if (m->input == TL_IN_TEXT) {
		tl_feat_apply(m->feat, text, len, &s->sp);
		lr_logits(m, s->sp.idx, s->sp.val, s->sp.n, logits);
		return 0;
	}
	if (m->input == TL_IN_SPARSE) {
		if (sp->dim != m->D)
			return -1;
		for (size_t i = 0; i < sp->n; i++)
			if (sp->idx[i] < 0 || sp->idx[i] >= m->D)
				return -1;
		lr_logits(m, sp->idx, sp->val, sp->n, logits);
		return 0;
	}
	if ((long)vlen != m->D)
		return -1;
	lr_logits(m, NULL, vec, vlen, logits);
	return 0;
}

/* ---------------- data-parallel training (tl/dist.h) ---------------- */

static int dist_on(const tl_lin_opts *o)
{
	return o->dist && o->dist->size > 1;
}

/* Make (t, *cnt) the union over ranks: strings a rank lacks are appended
 * (ids of the strings it had stay), counts become the sums over ranks
 * (exact: integers). Every rank ends with the same set and counts; the
 * order of ids may differ, which is why every user sorts them (labels by
 * name, words by count then name). */
static int dist_merge_counts(tl_dist *D, tl_strtab *t, int64_t **cnt, size_t *cap, char *err, size_t errsz)
{
	tl_buf sb = {0}, all = {0};
	for (size_t i = 0; i < t->n; i++) {
		uint32_t len = t->slen[i];
		tl_buf_add(&sb, &len, sizeof len);
		tl_buf_add(&sb, tl_strtab_str(t, (int64_t)i), len);
		tl_buf_add(&sb, &(*cnt)[i], sizeof(int64_t));
	}
	size_t *counts = tl_xmalloc((size_t)D->size * sizeof *counts);
	int rc = D->allgather(D, sb.data, sb.len, &all, counts, err, errsz);
	if (rc == 0) {
		for (size_t i = 0; i < t->n; i++)
			(*cnt)[i] = 0;
		size_t off = 0;
		for (int r = 0; r < D->size; r++) {
			size_t end = off + counts[r];
			while (off < end) {
				uint32_t len;
				int64_t c;
				memcpy(&len, all.data + off, sizeof len);
				off += sizeof len;
				int isnew;
				int64_t id = tl_strtab_add(t, all.data + off, len, &isnew);
				off += len;
				memcpy(&c, all.data + off, sizeof c);
				off += sizeof c;
				if ((size_t)id >= *cap) {
					*cap = *cap ? 2 * *cap : 64;
					while ((size_t)id >= *cap)
						*cap *= 2;
					*cnt = tl_xrealloc(*cnt, *cap * sizeof **cnt);
				}
				if (isnew)
					(*cnt)[id] = 0;
				(*cnt)[id] += c;
			}
		}
	}
	free(counts);
	tl_buf_free(&sb);
	tl_buf_free(&all);
	return rc;
}

/* Sum n uint64 over ranks, in rank order (exact). */
static int dist_sum_u64(tl_dist *D, uint64_t *v, size_t n, char *err, size_t errsz)
{
	tl_buf all = {0};
	size_t *counts = tl_xmalloc((size_t)D->size * sizeof *counts);
	int rc = D->allgather(D, v, n * sizeof *v, &all, counts, err, errsz);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			v[i] = 0;
		for (int r = 0; r < D->size; r++) {
			const char *p = tl_dist_piece(&all, counts, r);
			for (size_t i = 0; i < n; i++) {
				uint64_t x;
				memcpy(&x, p + i * sizeof x, sizeof x);
				v[i] += x;
			}
		}
	}
	free(counts);
	tl_buf_free(&all);
	return rc;
}

/* ---------------- training ---------------- */

static void shuffle(size_t *order, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(tl_splitmix64(rng) % i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

/* Labels of the data sorted by name -> model label ids; fills m->labels,
 * m->labcount, and remaps d->lab in place. */
static void setup_labels(tl_lin_model *m, tl_lin_data *d)
{
	size_t C = d->labels.n;
	int64_t *ord = tl_xmalloc(C * sizeof *ord);
	for (size_t i = 0; i < C; i++)
		ord[i] = (int64_t)i;
	tl_strtab_sort(&d->labels, ord, C);
	int32_t *map = tl_xmalloc(C * sizeof *map);
	m->nlabels = (int)C;
	m->labels = tl_xmalloc(C * sizeof *m->labels);
	m->labcount = tl_xmalloc(C * sizeof *m->labcount);
	for (size_t i = 0; i < C; i++) {
		map[ord[i]] = (int32_t)i;
		m->labels[i] = tl_xstrdup(tl_strtab_str(&d->labels, ord[i]));
		m->labcount[i] = d->labcount[ord[i]];
	}
	for (size_t i = 0; i < d->nlab; i++)
		d->lab[i] = map[d->lab[i]];
	if (d->lg && d->nteacher) { /* teacher order -> the sorted label set's */
		float *tmp = tl_xmalloc(C * sizeof *tmp);
		for (size_t e = 0; e < d->nlg; e++) {
			float *z = d->lg + e * C;
			for (size_t j = 0; j < C; j++)
				tmp[map[j]] = z[j];
			memcpy(z, tmp, C * sizeof *tmp);
		}
		free(tmp);
	}
	free(map);
	free(ord);
}

typedef struct {
	const tl_lin_opts *o;
	tl_lin_progress_fn fn;
	void *ctx;
} prog;

static tl_lin_model *train_fasttext(const tl_lin_opts *o, tl_lin_data *d, tl_lin_model *m, prog *pg, int *code,
				    char *err, size_t errsz)
{
	int dd = o->dim;
	m->dim = dd;
	m->word_ngrams = o->word_ngrams;
	m->buckets = o->buckets;
	m->lower = o->lower;
	m->cjk_words = o->cjk_words;
	int dist = dist_on(o);
	int rank = dist ? o->dist->rank : 0, nrank = dist ? o->dist->size : 1;
	if (dist && dist_merge_counts(o->dist, &d->words, &d->wcount, &d->wcap, err, errsz) < 0) {
		*code = TL_EXIT_IO;
		return NULL;
	}
	/* vocabulary: words seen >= min_count, by count then alphabetically */
	size_t nw = d->words.n;
	int64_t *ord = tl_xmalloc((nw ? nw : 1) * sizeof *ord);
	size_t V = 0;
	for (size_t i = 0; i < nw; i++)
		if (d->wcount[i] >= o->min_count)
			ord[V++] = (int64_t)i;
	if (V == 0) {
		free(ord);
		*code = TL_EXIT_DATA;
		seterr(err, errsz, "empty vocabulary: no word occurs --min-count %ld times", o->min_count);
		return NULL;
	}
	tl_strtab_sort_by_count(&d->words, d->wcount, ord, V);
	int32_t *remap = tl_xmalloc((nw ? nw : 1) * sizeof *remap);
	for (size_t i = 0; i < nw; i++)
		remap[i] = -1;
	tl_strtab_init(&m->vocab);
	for (size_t i = 0; i < V; i++) {
		remap[ord[i]] = (int32_t)i;
		tl_strtab_add(&m->vocab, tl_strtab_str(&d->words, ord[i]), d->words.slen[ord[i]], NULL);
	}
	free(ord);
	m->V = (long)V;
	/* n-gram buckets: count, keep those seen >= min_count_ngram */
	size_t N = d->n;
	int ng = o->word_ngrams;
	m->K = 0;
	if (ng > 1) {
		uint32_t *bcnt = tl_xcalloc((size_t)o->buckets, sizeof *bcnt);
		for (size_t e = 0; e < N; e++) {
			const int32_t *t = d->tok + d->off[e];
			size_t n = d->off[e + 1] - d->off[e];
			for (size_t i = 0; i < n; i++) {
				uint64_t h = d->words.shash[t[i]];
				for (size_t j = i + 1; j < n && j < i + (size_t)ng; j++) {
					h = h * NGRAM_MUL + d->words.shash[t[j]];
					uint32_t *c = &bcnt[h % (uint64_t)o->buckets];
					if (*c < UINT32_MAX)
						(*c)++;
				}
			}
		}
		if (dist) { /* global counts (saturating as above) */
			tl_buf all = {0};
			size_t *counts = tl_xmalloc((size_t)nrank * sizeof *counts);
			int rc = o->dist->allgather(o->dist, bcnt, (size_t)o->buckets * sizeof *bcnt, &all, counts, err,
						    errsz);
			if (rc == 0) {
				memset(bcnt, 0, (size_t)o->buckets * sizeof *bcnt);
				for (int r = 0; r < nrank; r++) {
					const char *p = tl_dist_piece(&all, counts, r);
					for (long b = 0; b < o->buckets; b++) {
						uint32_t x;
						memcpy(&x, p + (size_t)b * sizeof x, sizeof x);
						bcnt[b] = x > UINT32_MAX - bcnt[b] ? UINT32_MAX : bcnt[b] + x;
					}
				}
			}
			free(counts);
			tl_buf_free(&all);
			if (rc < 0) {
				free(bcnt);
				*code = TL_EXIT_IO;
				return NULL;
			}
		}
		m->brow = tl_xmalloc((size_t)o->buckets * sizeof *m->brow);
		long K = 0;
		for (long b = 0; b < o->buckets; b++)
			K += bcnt[b] >= (uint32_t)o->min_count_ngram;
		m->bucket_ids = tl_xmalloc((size_t)(K ? K : 1) * sizeof *m->bucket_ids);
		K = 0;
		for (long b = 0; b < o->buckets; b++) {
			if (bcnt[b] >= (uint32_t)o->min_count_ngram) {
				m->bucket_ids[K] = (int32_t)b;
				m->brow[b] = (int32_t)(V + (size_t)K);
				K++;
			} else
				m->brow[b] = -1;
		}
		m->K = K;
		free(bcnt);
	}
	/* rows of each example */
	size_t *roff = tl_xmalloc((N + 1) * sizeof *roff);
	size_t rcap = d->ntok * (size_t)(ng > 1 ? ng : 1) + 1, nr = 0;
	int32_t *rows = tl_xmalloc(rcap * sizeof *rows);
	uint64_t total_words = 0;
	for (size_t e = 0; e < N; e++) {
		roff[e] = nr;
		const int32_t *t = d->tok + d->off[e];
		size_t n = d->off[e + 1] - d->off[e];
		total_words += n;
		for (size_t i = 0; i < n; i++)
			if (remap[t[i]] >= 0)
				rows[nr++] = remap[t[i]];
		if (ng > 1)
			for (size_t i = 0; i < n; i++) {
				uint64_t h = d->words.shash[t[i]];
				for (size_t j = i + 1; j < n && j < i + (size_t)ng; j++) {
					h = h * NGRAM_MUL + d->words.shash[t[j]];
					int32_t r = m->brow[h % (uint64_t)o->buckets];
					if (r >= 0)
						rows[nr++] = r;
				}
			}
	}
	roff[N] = nr;
	free(remap);
	/* the raw tokens are no longer needed */
	free(d->tok);
	d->tok = NULL;
	d->ntok = d->tcap = 0;
	/* parameters */
	size_t nrow = (size_t)(m->V + m->K);
	int C = m->nlabels;
	m->nout = m->loss == TL_LOSS_HS ? C - 1 : C;
	m->E = tl_xmalloc(nrow * (size_t)dd * sizeof *m->E);
	m->O = tl_xcalloc((size_t)m->nout * (size_t)dd, sizeof *m->O);
	uint64_t rng = o->seed * 0x9E3779B97F4A7C15ULL + 12345;
	for (size_t i = 0; i < nrow * (size_t)dd; i++)
		m->E[i] = (float)((tl_splitmix64_unit(&rng) * 2 - 1) / dd);
	if (o->init_vectors) {
		tl_w2v_vectors vv;
		char e2[512];
		if (tl_w2v_vectors_load(&vv, o->init_vectors, e2, sizeof e2) < 0) {
			*code = TL_EXIT_MODEL;
			seterr(err, errsz, "--init-vectors: %s", e2);
			free(roff);
			free(rows);
			return NULL;
		}
		if (vv.dim != dd) {
			*code = TL_EXIT_MODEL;
			seterr(err, errsz, "--init-vectors %s: vectors of dimension %d, the model has --dim %d",
			       o->init_vectors, vv.dim, dd);
			tl_w2v_vectors_free(&vv);
			free(roff);
			free(rows);
			return NULL;
		}
		for (size_t i = 0; i < V; i++) {
			int64_t r = tl_w2v_find(&vv, tl_strtab_str(&m->vocab, (int64_t)i), m->vocab.slen[i]);
			if (r >= 0)
				memcpy(m->E + i * (size_t)dd, vv.vecs + (size_t)r * (size_t)dd, (size_t)dd * sizeof(float));
		}
		tl_w2v_vectors_free(&vv);
	}
	if (m->loss == TL_LOSS_HS)
		build_hs(m);
	/* training */
	int T = o->threads > 0 ? o->threads : omp_get_num_procs();
	int B = o->batch;
	int nout = m->nout;
	/* the whole's example and word counts; example g of the whole is
	 * rank g % nrank's local example g / nrank */
	uint64_t tot[2] = {N, total_words};
	if (dist && dist_sum_u64(o->dist, tot, 2, err, errsz) < 0) {
		*code = TL_EXIT_IO;
		free(roff);
		free(rows);
		return NULL;
	}
	size_t NG = (size_t)tot[0];
	total_words = tot[1];
	float *H = tl_xmalloc((size_t)B * (size_t)dd * sizeof *H);
	float *G = tl_xmalloc((size_t)B * (size_t)dd * sizeof *G);
	float *A = tl_xmalloc((size_t)B * (size_t)nout * sizeof *A);
	double *L = tl_xmalloc((size_t)B * sizeof *L);
	float *S = tl_xmalloc((size_t)T * (size_t)(C + 1) * sizeof *S);
	/* --distill: per thread the loss gradient; alpha 1 when no example has a label */
	double *KD = o->distill ? tl_xmalloc((size_t)T * (size_t)C * sizeof *KD) : NULL;
	double kd_alpha = d->nlabelled ? o->alpha : 1.0;
	/* the batch's examples: rows, row count, word count */
	const int32_t **rp = tl_xmalloc((size_t)B * sizeof *rp);
	size_t *rn = tl_xmalloc((size_t)B * sizeof *rn), *roffb = tl_xmalloc((size_t)B * sizeof *roffb);
	uint64_t *tk = tl_xmalloc((size_t)B * sizeof *tk);
	size_t *counts = tl_xmalloc((size_t)nrank * sizeof *counts);
	tl_buf sb = {0}, all = {0}, rbuf = {0};
	size_t *order = tl_xmalloc((NG ? NG : 1) * sizeof *order);
	for (size_t i = 0; i < NG; i++)
		order[i] = i;
	uint64_t total = total_words * (uint64_t)o->epochs, done = 0;
	double loss_sum = 0, loss_recent = 0;
	size_t loss_n = 0, recent_n = 0;
	uint64_t srng = o->seed ^ 0xD1B54A32D192ED03ULL;
	int failed = 0;
	for (int ep = 0; ep < o->epochs && !failed; ep++) {
		shuffle(order, NG, &srng);
		for (size_t s0 = 0; s0 < NG; s0 += (size_t)B) {
			int nb = (int)(NG - s0 < (size_t)B ? NG - s0 : (size_t)B);
			float lr = (float)(o->lr * (1.0 - (double)done / (double)(total ? total : 1)));
			if (lr < 0)
				lr = 0;
			/* phase A: gradients against the parameters of the step's
			 * start, for this rank's examples of the batch */
#pragma omp parallel for num_threads(T) schedule(dynamic, 2)
			for (int i = 0; i < nb; i++) {
				size_t gi = order[s0 + (size_t)i];
				if ((int)(gi % (size_t)nrank) != rank)
					continue;
				size_t e = gi / (size_t)nrank;
				const int32_t *r = rows + roff[e];
				size_t n = roff[e + 1] - roff[e];
				rp[i] = r;
				rn[i] = n;
				tk[i] = d->off[e + 1] - d->off[e];
				float *h = H + (size_t)i * (size_t)dd, *g = G + (size_t)i * (size_t)dd;
				float *a = A + (size_t)i * (size_t)nout;
				float *sc = S + (size_t)omp_get_thread_num() * (size_t)(C + 1);
				memset(g, 0, (size_t)dd * sizeof *g);
				memset(a, 0, (size_t)nout * sizeof *a);
				L[i] = 0;
				if (n == 0) {
					memset(h, 0, (size_t)dd * sizeof *h);
					continue;
				}
				ft_hidden(m, r, n, h);
				const int32_t *lab = d->lab + d->laboff[e];
				size_t nl = d->laboff[e + 1] - d->laboff[e];
				double loss = 0;
				if (o->distill) {
					double *gz = KD + (size_t)omp_get_thread_num() * (size_t)C;
					for (int c = 0; c < C; c++)
						sc[c] = dotf(m->O + (size_t)c * (size_t)dd, h, dd);
					int y = nl ? lab[0] : -1;
					loss = tl_lin_kd_loss(sc, d->lg + e * (size_t)C, C, y, o->temperature, kd_alpha, gz);
					for (int c = 0; c < C; c++)
						a[c] = (float)(-(double)lr * gz[c]);
				} else if (m->loss == TL_LOSS_SOFTMAX) {
					float mx = -INFINITY, z = 0;
					for (int c = 0; c < C; c++) {
						sc[c] = dotf(m->O + (size_t)c * (size_t)dd, h, dd);
						if (sc[c] > mx)
							mx = sc[c];
					}
					for (int c = 0; c < C; c++) {
						sc[c] = expf(sc[c] - mx);
						z += sc[c];
					}
					int y = lab[0];
					for (int c = 0; c < C; c++) {
						float p = sc[c] / z;
						a[c] = lr * ((c == y ? 1.0f : 0.0f) - p);
					}
					float py = sc[y] / z;
					loss = -log(py > 1e-10f ? py : 1e-10f);
				} else if (m->loss == TL_LOSS_OVA) {
					for (int c = 0; c < C; c++) {
						float s = dotf(m->O + (size_t)c * (size_t)dd, h, dd);
						float y = 0;
						for (size_t k = 0; k < nl; k++)
							if (lab[k] == c)
								y = 1;
						float p = sigmoidf(s);
						a[c] = lr * (y - p);
						float q = y > 0 ? p : 1 - p;
						loss -= log(q > 1e-10f ? q : 1e-10f);
					}
				} else {
					int y = lab[0];
					for (int k = 0; k < m->hs_len[y]; k++) {
						int node = m->hs_path[y * m->hs_depth + k];
						float code = (float)m->hs_code[y * m->hs_depth + k];
						float p = sigmoidf(dotf(m->O + (size_t)node * (size_t)dd, h, dd));
						a[node] = lr * (code - p);
						float q = code > 0 ? p : 1 - p;
						loss -= log(q > 1e-10f ? q : 1e-10f);
					}
				}
				for (int c = 0; c < nout; c++)
					if (a[c] != 0)
						axpyf(g, a[c], m->O + (size_t)c * (size_t)dd, dd);
				float inv = 1.0f / (float)n;
				for (int k = 0; k < dd; k++)
					g[k] *= inv;
				L[i] = loss;
			}
			if (dist) {
				/* every rank gets every example's update (batch position,
				 * loss, words, rows, a, h, g): one all-gather in rank
				 * order; the sums below run in batch order on every rank */
				sb.len = 0;
				for (int i = 0; i < nb; i++) {
					if ((int)(order[s0 + (size_t)i] % (size_t)nrank) != rank)
						continue;
					int32_t ii = i;
					uint32_t n = (uint32_t)rn[i];
					tl_buf_add(&sb, &ii, sizeof ii);
					tl_buf_add(&sb, &L[i], sizeof L[i]);
					tl_buf_add(&sb, &tk[i], sizeof tk[i]);
					tl_buf_add(&sb, &n, sizeof n);
					tl_buf_add(&sb, A + (size_t)i * (size_t)nout, (size_t)nout * sizeof *A);
					tl_buf_add(&sb, H + (size_t)i * (size_t)dd, (size_t)dd * sizeof *H);
					tl_buf_add(&sb, G + (size_t)i * (size_t)dd, (size_t)dd * sizeof *G);
					tl_buf_add(&sb, rp[i], n * sizeof *rows);
				}
				if (o->dist->allgather(o->dist, sb.data, sb.len, &all, counts, err, errsz) < 0) {
					failed = 1;
					break;
				}
				rbuf.len = 0;
				for (size_t off = 0; off < all.len;) {
					int32_t ii;
					uint32_t n;
					memcpy(&ii, all.data + off, sizeof ii);
					off += sizeof ii;
					memcpy(&L[ii], all.data + off, sizeof L[ii]);
					off += sizeof L[ii];
					memcpy(&tk[ii], all.data + off, sizeof tk[ii]);
					off += sizeof tk[ii];
					memcpy(&n, all.data + off, sizeof n);
					off += sizeof n;
					memcpy(A + (size_t)ii * (size_t)nout, all.data + off, (size_t)nout * sizeof *A);
					off += (size_t)nout * sizeof *A;
					memcpy(H + (size_t)ii * (size_t)dd, all.data + off, (size_t)dd * sizeof *H);
					off += (size_t)dd * sizeof *H;
					memcpy(G + (size_t)ii * (size_t)dd, all.data + off, (size_t)dd * sizeof *G);
					off += (size_t)dd * sizeof *G;
					rn[ii] = n;
					roffb[ii] = rbuf.len;
					tl_buf_add(&rbuf, all.data + off, n * sizeof *rows);
					off += n * sizeof *rows;
				}
				for (int i = 0; i < nb; i++)
					rp[i] = (const int32_t *)(const void *)(rbuf.data + roffb[i]);
			}
			/* phase B: each row updated by one thread, in example order */
#pragma omp parallel num_threads(T)
			{
				int tid = omp_get_thread_num(), nt = omp_get_num_threads();
				for (int c = tid; c < nout; c += nt)
					for (int i = 0; i < nb; i++) {
						float a = A[(size_t)i * (size_t)nout + (size_t)c];
						if (a != 0)
							axpyf(m->O + (size_t)c * (size_t)dd, a, H + (size_t)i * (size_t)dd, dd);
					}
				for (int i = 0; i < nb; i++) {
					const int32_t *r = rp[i];
					size_t n = rn[i];
					const float *g = G + (size_t)i * (size_t)dd;
					for (size_t k = 0; k < n; k++)
						if (r[k] % nt == tid)
							axpyf(m->E + (size_t)r[k] * (size_t)dd, 1.0f, g, dd);
				}
			}
			for (int i = 0; i < nb; i++) {
				done += tk[i];
				if (rn[i] > 0) {
					loss_sum += L[i];
					loss_recent += L[i];
					loss_n++;
					recent_n++;
				}
			}
			if (pg->fn && (s0 / (size_t)B) % 64 == 0) {
				pg->fn(pg->ctx, done, total, recent_n ? loss_recent / (double)recent_n : 0, lr);
				loss_recent = 0;
				recent_n = 0;
			}
		}
	}
	free(rp);
	free(rn);
	free(roffb);
	free(tk);
	free(counts);
	tl_buf_free(&sb);
	tl_buf_free(&all);
	tl_buf_free(&rbuf);
	if (failed) {
		*code = TL_EXIT_IO;
		free(H);
		free(G);
		free(A);
		free(L);
		free(S);
		free(KD);
		free(order);
		free(roff);
		free(rows);
		return NULL;
	}
	m->train_loss = loss_n ? loss_sum / (double)loss_n : 0;
	if (pg->fn)
		pg->fn(pg->ctx, total, total, m->train_loss, 0);
	free(H);
	free(G);
	free(A);
	free(L);
	free(S);
	free(KD);
	free(order);
	free(roff);
	free(rows);
	return m;
}

static tl_lin_model *train_logreg(const tl_lin_opts *o, tl_lin_data *d, tl_lin_model *m, prog *pg, int *code,
				  char *err, size_t errsz)
{
	size_t N = d->n;
	m->input = o->input;
	if (o->input == TL_IN_TEXT) {
		/* fit the TF-IDF features, then turn the texts into sparse vectors */
		tl_feat_fitter *f = tl_feat_fitter_new(&o->feat);
		const char *t = d->texts;
		for (size_t e = 0; e < N; e++) {
			size_t len = d->off[e + 1] - d->off[e] - 1;
			tl_feat_fitter_add(f, t + d->off[e], len);
		}
		m->feat = tl_feat_fitter_finish(f, err, errsz);
		if (!m->feat) {
			*code = TL_EXIT_DATA;
			return NULL;
		}
		tl_sparse sp = {0};
		size_t *noff = tl_xmalloc((N + 1) * sizeof *noff);
		noff[0] = 0;
		for (size_t e = 0; e < N; e++) {
			size_t len = d->off[e + 1] - d->off[e] - 1;
			tl_feat_apply(m->feat, t + d->off[e], len, &sp);
			GROW(d->idx, d->nval, d->vcap, d->nval + sp.n);
			d->val = tl_xrealloc(d->val, d->vcap * sizeof *d->val);
			memcpy(d->idx + d->nval, sp.idx, sp.n * sizeof *sp.idx);
			memcpy(d->val + d->nval, sp.val, sp.n * sizeof *sp.val);
			d->nval += sp.n;
			noff[e + 1] = d->nval;
		}
		tl_sparse_free(&sp);
		free(d->off);
		d->off = noff;
		free(d->texts);
		d->texts = NULL;
		d->dim = tl_feat_dim(m->feat);
	}
	int dense = o->input == TL_IN_VEC;
	long D = d->dim;
	int C = m->nlabels;
	m->D = D;
	float *W = tl_xcalloc((size_t)D * (size_t)C, sizeof *W);
	m->b = tl_xcalloc((size_t)C, sizeof *m->b);
	double scale = 1.0;
	size_t *order = tl_xmalloc((N ? N : 1) * sizeof *order);
	for (size_t i = 0; i < N; i++)
		order[i] = i;
	float *sc = tl_xmalloc((size_t)C * sizeof *sc), *a = tl_xmalloc((size_t)C * sizeof *a);
	uint64_t srng = o->seed ^ 0xD1B54A32D192ED03ULL;
	uint64_t total = (uint64_t)N * (uint64_t)o->epochs, done = 0;
	double loss_sum = 0, recent = 0;
	size_t recent_n = 0;
	int ova = m->loss == TL_LOSS_OVA;
	for (int ep = 0; ep < o->epochs; ep++) {
		shuffle(order, N, &srng);
		loss_sum = 0;
		for (size_t s = 0; s < N; s++, done++) {
			size_t e = order[s];
			size_t n = dense ? (size_t)D : d->off[e + 1] - d->off[e];
			const int32_t *idx = dense ? NULL : d->idx + d->off[e];
			const float *val = dense ? d->val + e * (size_t)D : d->val + d->off[e];
			const int32_t *lab = d->lab + d->laboff[e];
			size_t nl = d->laboff[e + 1] - d->laboff[e];
			double lr = o->lr * (1.0 - (double)done / (double)total);
			for (int c = 0; c < C; c++)
				sc[c] = 0;
			for (size_t k = 0; k < n; k++) {
				const float *w = W + (size_t)(idx ? idx[k] : (int32_t)k) * (size_t)C;
				for (int c = 0; c < C; c++)
					sc[c] += w[c] * val[k];
			}
			double loss = 0;
			if (!ova) {
				float mx = -INFINITY, z = 0;
				for (int c = 0; c < C; c++) {
					sc[c] = (float)(sc[c] * scale) + m->b[c];
					if (sc[c] > mx)
						mx = sc[c];
				}
				for (int c = 0; c < C; c++) {
					sc[c] = expf(sc[c] - mx);
					z += sc[c];
				}
				for (int c = 0; c < C; c++)
					a[c] = (float)(lr * ((c == lab[0]) - sc[c] / z));
				float py = sc[lab[0]] / z;
				loss = -log(py > 1e-10f ? py : 1e-10f);
			} else {
				for (int c = 0; c < C; c++) {
					float s1 = (float)(sc[c] * scale) + m->b[c], y = 0;
					for (size_t k = 0; k < nl; k++)
						if (lab[k] == c)
							y = 1;
					float p = sigmoidf(s1);
					a[c] = (float)(lr * (y - p));
					float q = y > 0 ? p : 1 - p;
					loss -= log(q > 1e-10f ? q : 1e-10f);
				}
			}
			loss_sum += loss;
			recent += loss;
			recent_n++;
			/* L2 by scaling; gradient step on the touched features */
			scale *= 1.0 - lr * o->l2;
			if (scale < 1e-6) {
				for (size_t i = 0; i < (size_t)D * (size_t)C; i++)
					W[i] = (float)(W[i] * scale);
				scale = 1.0;
			}
			float inv = (float)(1.0 / scale);
			for (size_t k = 0; k < n; k++) {
				float *w = W + (size_t)(idx ? idx[k] : (int32_t)k) * (size_t)C;
				float x = val[k] * inv;
				for (int c = 0; c < C; c++)
					w[c] += a[c] * x;
			}
			for (int c = 0; c < C; c++)
				m->b[c] += a[c];
			if (pg->fn && done % 4096 == 0) {
				pg->fn(pg->ctx, done, total, recent / (double)recent_n, lr);
				recent = 0;
				recent_n = 0;
			}
		}
	}
	for (size_t i = 0; i < (size_t)D * (size_t)C; i++)
		W[i] = (float)(W[i] * scale);
	m->W = W;
	m->train_loss = N ? loss_sum / (double)N : 0;
	if (pg->fn)
		pg->fn(pg->ctx, total, total, m->train_loss, 0);
	free(order);
	free(sc);
	free(a);
	(void)code;
	return m;
}

tl_lin_model *tl_lin_train(const tl_lin_opts *o, tl_lin_data *d, tl_lin_progress_fn fn, void *ctx, int *code,
			   char *err, size_t errsz)
{
	*code = TL_EXIT_DATA;
	uint64_t gn = d->n;
	if (dist_on(o)) {
		if (o->arch != TL_LIN_FASTTEXT) {
			*code = TL_EXIT_USAGE;
			seterr(err, errsz, "-m linear trains by per-example SGD, each step reading the last: it has no "
					   "data-parallel form (train -m fasttext under mpirun, or run one process)");
			return NULL;
		}
		/* the whole's examples, labels and flags, the same on every rank */
		uint64_t v[3] = {d->n, (uint64_t)d->multi, (uint64_t)d->text_b};
		*code = TL_EXIT_IO;
		if (dist_sum_u64(o->dist, v, 3, err, errsz) < 0 ||
		    dist_merge_counts(o->dist, &d->labels, &d->labcount, &d->labcap, err, errsz) < 0)
			return NULL;
		*code = TL_EXIT_DATA;
		gn = v[0];
		d->multi = v[1] != 0;
		d->text_b = v[2] != 0;
	}
	if (gn == 0) {
		seterr(err, errsz, "no training examples");
		return NULL;
	}
	if (o->distill) {
		*code = TL_EXIT_USAGE;
		if (o->arch != TL_LIN_FASTTEXT || o->loss != TL_LOSS_SOFTMAX) {
			seterr(err, errsz, "--distill trains -m fasttext with --loss softmax (the soft targets are a "
					   "distribution over every label)");
			return NULL;
		}
		if (dist_on(o)) {
			seterr(err, errsz, "--distill under mpirun: the teacher's logits are not sharded across ranks "
					   "yet (run one process)");
			return NULL;
		}
		if (!(o->temperature > 0) || !(o->alpha >= 0 && o->alpha <= 1)) {
			seterr(err, errsz, "--distill: the temperature must be > 0 and alpha in [0, 1]");
			return NULL;
		}
		*code = TL_EXIT_DATA;
		if (d->multi) {
			seterr(err, errsz, "--distill trains single-label students (the records have label arrays)");
			return NULL;
		}
		if (d->nlg != d->n) {
			seterr(err, errsz, "--distill: %zu examples, %zu with logits", d->n, d->nlg);
			return NULL;
		}
		if (!d->nteacher && (size_t)d->lgk != d->labels.n) {
			seterr(err, errsz, "%d logits for the %zu labels of the data's labels (no stream header names the "
					   "teacher's labels)", d->lgk, d->labels.n);
			return NULL;
		}
	}
	if (d->labels.n < 2) {
		seterr(err, errsz, "only one class in the training data ('%s'): need at least two",
		       tl_strtab_str(&d->labels, 0));
		return NULL;
	}
	if (o->epochs < 1 || o->lr <= 0 || (o->arch == TL_LIN_FASTTEXT && (o->dim < 1 || o->batch < 1))) {
		*code = TL_EXIT_USAGE;
		seterr(err, errsz, "bad options");
		return NULL;
	}
	tl_lin_model *m = tl_xcalloc(1, sizeof *m);
	m->arch = o->arch;
	m->loss = d->multi ? TL_LOSS_OVA : o->loss;
	m->multi = m->loss == TL_LOSS_OVA;
	if (m->loss == TL_LOSS_HS && o->arch != TL_LIN_FASTTEXT)
		m->loss = TL_LOSS_SOFTMAX;
	m->input = o->arch == TL_LIN_FASTTEXT ? TL_IN_TEXT : o->input;
	m->text_b = m->input == TL_IN_TEXT && d->text_b;
	m->featopts = o->feat;
	setup_labels(m, d);
	prog pg = {o, fn, ctx};
	tl_lin_model *r = o->arch == TL_LIN_FASTTEXT ? train_fasttext(o, d, m, &pg, code, err, errsz)
						      : train_logreg(o, d, m, &pg, code, err, errsz);
	if (!r)
		tl_lin_free(m);
	return r;
}

/* ---------------- save / load ---------------- */

static const char *arch_names[] = {"logreg", "fasttext"};
static const char *loss_names[] = {"softmax", "hs", "ova"};
static const char *input_names[] = {"text", "sparse", "vec"};

static int write_text(const char *path, const char *s, size_t n, char *err, size_t errsz)
{
	if (tl_fs_write_file(path, s, n) < 0) {
		seterr(err, errsz, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int tl_lin_save(const tl_lin_model *m, const char *dir, int force, const char *tl_json, char *err, size_t errsz)
{
	return tl_lin_save_keys(m, dir, force, tl_json, NULL, err, errsz);
}

int tl_lin_save_keys(const tl_lin_model *m, const char *dir, int force, const char *tl_json, const tl_keyset *keys,
		     char *err, size_t errsz)
{
	if (!force && tl_fs_exists(dir)) {
		seterr(err, errsz, "%s exists (use --force to replace it)", dir);
		return -1;
	}
	char *tmp = tl_fs_tmpdir_for(dir);
	if (!tmp) {
		seterr(err, errsz, "cannot create a directory next to %s: %s", dir, strerror(errno));
		return -1;
	}
	size_t plen = strlen(tmp) + 64;
	char *path = tl_xmalloc(plen);
	int rc = -1;
	/* config.json */
	json_t *cfg = json_object();
	json_object_set_new(cfg, "model_type", json_string("tl-linear"));
	json_object_set_new(cfg, "architectures", json_pack("[s]", m->arch == TL_LIN_FASTTEXT ? "TlFastText" : "TlLogReg"));
	json_object_set_new(cfg, "tl_arch", json_string(arch_names[m->arch]));
	json_object_set_new(cfg, "loss", json_string(loss_names[m->loss]));
	json_object_set_new(cfg, "input", json_string(input_names[m->input]));
	if (m->text_b) /* absent: the model reads "text" only */
		json_object_set_new(cfg, "text_b", json_string("joined"));
	if (tl_lin_cjk_words(m)) /* absent: CJK split per character */
		json_object_set_new(cfg, "cjk", json_string("words"));
	json_object_set_new(cfg, "num_labels", json_integer(m->nlabels));
	json_object_set_new(cfg, "problem_type",
			    json_string(m->multi ? "multi_label_classification" : "single_label_classification"));
	tl_model_set_labels(cfg, m->labels, m->nlabels);
	if (m->arch == TL_LIN_FASTTEXT) {
		json_object_set_new(cfg, "dim", json_integer(m->dim));
		json_object_set_new(cfg, "word_ngrams", json_integer(m->word_ngrams));
		json_object_set_new(cfg, "buckets", json_integer(m->buckets));
		json_object_set_new(cfg, "vocab_size", json_integer(m->V));
		json_object_set_new(cfg, "ngram_rows", json_integer(m->K));
		json_object_set_new(cfg, "lower", json_boolean(m->lower));
	} else {
		json_object_set_new(cfg, "input_dim", json_integer(m->D));
	}
	char *cs = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(cfg);
	snprintf(path, plen, "%s/config.json", tmp);
	size_t cl = strlen(cs);
	cs = tl_xrealloc(cs, cl + 2);
	cs[cl] = '\n';
	cs[cl + 1] = 0;
	if (write_text(path, cs, cl + 1, err, errsz) < 0) {
		free(cs);
		goto out;
	}
	free(cs);
	/* weights */
	tl_st_saver *sv = tl_st_saver_init();
	tl_st_saver_meta(sv, "format", "pt");
	tl_st_saver_meta(sv, "tl_arch", arch_names[m->arch]);
	float *WT = NULL;
	int64_t sh[2];
	if (m->arch == TL_LIN_FASTTEXT) {
		sh[0] = m->V + m->K;
		sh[1] = m->dim;
		tl_st_saver_add(sv, "embeddings.weight", "F32", sh, 2, m->E,
				(size_t)sh[0] * (size_t)sh[1] * sizeof(float));
		sh[0] = m->nout;
		tl_st_saver_add(sv, "classifier.weight", "F32", sh, 2, m->O,
				(size_t)sh[0] * (size_t)sh[1] * sizeof(float));
		sh[0] = m->K;
		if (m->K)
			tl_st_saver_add(sv, "ngram_buckets", "I32", sh, 1, m->bucket_ids, (size_t)m->K * sizeof(int32_t));
	} else {
		WT = tl_xmalloc((size_t)m->D * (size_t)m->nlabels * sizeof *WT);
		for (long j = 0; j < m->D; j++)
			for (int c = 0; c < m->nlabels; c++)
				WT[(size_t)c * (size_t)m->D + (size_t)j] = m->W[(size_t)j * (size_t)m->nlabels + (size_t)c];
		sh[0] = m->nlabels;
		sh[1] = m->D;
		tl_st_saver_add(sv, "classifier.weight", "F32", sh, 2, WT, (size_t)sh[0] * (size_t)sh[1] * sizeof(float));
		tl_st_saver_add(sv, "classifier.bias", "F32", sh, 1, m->b, (size_t)m->nlabels * sizeof(float));
	}
	sh[0] = m->nlabels;
	tl_st_saver_add(sv, "label_counts", "I64", sh, 1, m->labcount, (size_t)m->nlabels * sizeof(int64_t));
	snprintf(path, plen, "%s/model.safetensors", tmp);
	int src = tl_st_saver_write(sv, path);
	int se = errno;
	tl_st_saver_free(sv);
	free(WT);
	if (src < 0) {
		seterr(err, errsz, "cannot write %s/model.safetensors: %s", dir, strerror(se));
		goto out;
	}
	if (m->arch == TL_LIN_FASTTEXT) {
		tl_buf b = {0};
		for (long i = 0; i < m->V; i++) {
			tl_buf_adds(&b, tl_strtab_str(&m->vocab, i));
			tl_buf_addc(&b, '\n');
		}
		snprintf(path, plen, "%s/words.txt", tmp);
		int r2 = write_text(path, b.data ? b.data : "", b.len, err, errsz);
		tl_buf_free(&b);
		if (r2 < 0)
			goto out;
	} else if (m->feat) {
		snprintf(path, plen, "%s/features.tsv", tmp);
		if (tl_feat_save(m->feat, path) < 0) {
			seterr(err, errsz, "cannot write %s/features.tsv: %s", dir, strerror(errno));
			goto out;
		}
	}
	if (keys) {
		snprintf(path, plen, "%s/" TL_TRAIN_KEYS_FILE, tmp);
		if (tl_keyset_save(keys, path, err, errsz) < 0)
			goto out;
	}
	if (tl_json) {
		snprintf(path, plen, "%s/tl.json", tmp);
		if (write_text(path, tl_json, strlen(tl_json), err, errsz) < 0)
			goto out;
	}
	if (tl_fs_publish_dir(tmp, dir, force) < 0) {
		seterr(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		tl_fs_rmtree(tmp);
	free(tmp);
	free(path);
	return rc;
}

static int name_idx(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int read_tensor_f32(const tl_st_file *f, const char *name, int ndim, const int64_t *shape, float *out,
			   char *err, size_t errsz)
{
	const tl_st_tensor *t = tl_st_find(f, name);
	if (!t) {
		seterr(err, errsz, "%s: no tensor '%s'", f->path, name);
		return -1;
	}
	if (t->ndim != ndim) {
		seterr(err, errsz, "%s: tensor '%s' has %d dimensions, expected %d", f->path, name, t->ndim, ndim);
		return -1;
	}
	for (int i = 0; i < ndim; i++)
		if (t->shape[i] != shape[i]) {
			seterr(err, errsz, "%s: tensor '%s' dimension %d is %lld, expected %lld", f->path, name, i,
			       (long long)t->shape[i], (long long)shape[i]);
			return -1;
		}
	return tl_st_read_f32(f, t, out, err, errsz);
}

tl_lin_model *tl_lin_load(const char *dir, char *err, size_t errsz)
{
	json_t *cfg = tl_model_read_config(dir, err, errsz);
	if (!cfg)
		return NULL;
	tl_lin_model *m = tl_xcalloc(1, sizeof *m);
	tl_strtab_init(&m->vocab);
	tl_st_file st;
	int st_open = 0;
	size_t plen = strlen(dir) + 64;
	char *path = tl_xmalloc(plen);
	const char *mt = json_string_value(json_object_get(cfg, "model_type"));
	if (!mt || strcmp(mt, "tl-linear")) {
		seterr(err, errsz, "%s/config.json: model_type is not \"tl-linear\"", dir);
		goto fail;
	}
	m->arch = name_idx(json_string_value(json_object_get(cfg, "tl_arch")), arch_names, 2);
	m->loss = name_idx(json_string_value(json_object_get(cfg, "loss")), loss_names, 3);
	m->input = name_idx(json_string_value(json_object_get(cfg, "input")), input_names, 3);
	json_t *tb = json_object_get(cfg, "text_b");
	if (tb && !json_is_null(tb)) {
		const char *tbs = json_string_value(tb);
		if (!tbs || strcmp(tbs, "joined")) {
			seterr(err, errsz, "%s/config.json: text_b is not \"joined\"", dir);
			goto fail;
		}
		m->text_b = 1;
	}
	json_int_t nl = json_integer_value(json_object_get(cfg, "num_labels"));
	json_t *i2l = json_object_get(cfg, "id2label");
	if (m->arch < 0 || m->loss < 0 || m->input < 0 || nl < 2 || nl > 1000000 || !json_is_object(i2l) ||
	    (json_int_t)json_object_size(i2l) != nl) {
		seterr(err, errsz, "%s/config.json: bad or missing tl_arch/loss/input/num_labels/id2label", dir);
		goto fail;
	}
	m->nlabels = (int)nl;
	m->multi = m->loss == TL_LOSS_OVA;
	m->labels = tl_xcalloc((size_t)nl, sizeof *m->labels);
	for (int i = 0; i < m->nlabels; i++) {
		char k[32];
		snprintf(k, sizeof k, "%d", i);
		const char *s = json_string_value(json_object_get(i2l, k));
		if (!s) {
			seterr(err, errsz, "%s/config.json: id2label has no \"%d\"", dir, i);
			goto fail;
		}
		m->labels[i] = tl_xstrdup(s);
	}
	snprintf(path, plen, "%s/model.safetensors", dir);
	if (tl_st_open(&st, path, err, errsz) < 0)
		goto fail;
	st_open = 1;
	const tl_st_tensor *lc = tl_st_find(&st, "label_counts");
	if (!lc || lc->dtype != TL_ST_I64 || lc->ndim != 1 || lc->shape[0] != nl) {
		seterr(err, errsz, "%s: tensor 'label_counts' missing or not I64 [%d]", path, m->nlabels);
		goto fail;
	}
	m->labcount = tl_xmalloc((size_t)nl * sizeof *m->labcount);
	memcpy(m->labcount, tl_st_bytes(&st, lc), (size_t)nl * sizeof *m->labcount);
	if (m->arch == TL_LIN_FASTTEXT) {
		json_int_t dim = json_integer_value(json_object_get(cfg, "dim"));
		json_int_t wn = json_integer_value(json_object_get(cfg, "word_ngrams"));
		json_int_t bk = json_integer_value(json_object_get(cfg, "buckets"));
		if (dim < 1 || dim > 100000 || wn < 1 || wn > 64 || bk < 1 || bk > INT32_MAX) {
			seterr(err, errsz, "%s/config.json: bad dim/word_ngrams/buckets", dir);
			goto fail;
		}
		m->dim = (int)dim;
		m->word_ngrams = (int)wn;
		m->buckets = (long)bk;
		json_t *lw = json_object_get(cfg, "lower");
		m->lower = lw ? json_is_true(lw) : 1;
		const char *cw = json_string_value(json_object_get(cfg, "cjk"));
		m->cjk_words = cw && !strcmp(cw, "words");
		/* words */
		snprintf(path, plen, "%s/words.txt", dir);
		FILE *f = fopen(path, "r");
		if (!f) {
			seterr(err, errsz, "cannot open %s: %s", path, strerror(errno));
			goto fail;
		}
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				n--;
			int isnew;
			tl_strtab_add(&m->vocab, line, (size_t)n, &isnew);
			if (!isnew) {
				seterr(err, errsz, "%s: line %zu: duplicate word", path, m->vocab.n + 1);
				free(line);
				fclose(f);
				goto fail;
			}
		}
		free(line);
		fclose(f);
		m->V = (long)m->vocab.n;
		const tl_st_tensor *bt = tl_st_find(&st, "ngram_buckets");
		m->K = 0;
		if (bt) {
			if (bt->dtype != TL_ST_I32 || bt->ndim != 1) {
				seterr(err, errsz, "%s/model.safetensors: 'ngram_buckets' is not I32 [K]", dir);
				goto fail;
			}
			m->K = (long)bt->shape[0];
			m->bucket_ids = tl_xmalloc((size_t)(m->K ? m->K : 1) * sizeof *m->bucket_ids);
			memcpy(m->bucket_ids, tl_st_bytes(&st, bt), (size_t)m->K * sizeof *m->bucket_ids);
			m->brow = tl_xmalloc((size_t)m->buckets * sizeof *m->brow);
			for (long b = 0; b < m->buckets; b++)
				m->brow[b] = -1;
			for (long k = 0; k < m->K; k++) {
				int32_t b = m->bucket_ids[k];
				if (b < 0 || b >= m->buckets || m->brow[b] != -1) {
					seterr(err, errsz, "%s/model.safetensors: ngram_buckets[%ld] = %d out of range or repeated",
					       dir, k, b);
					goto fail;
				}
				m->brow[b] = (int32_t)(m->V + k);
			}
		}
		m->nout = m->loss == TL_LOSS_HS ? m->nlabels - 1 : m->nlabels;
		int64_t sh[2] = {m->V + m->K, m->dim};
		m->E = tl_xmalloc((size_t)sh[0] * (size_t)sh[1] * sizeof *m->E);
		snprintf(path, plen, "%s/model.safetensors", dir);
		if (read_tensor_f32(&st, "embeddings.weight", 2, sh, m->E, err, errsz) < 0)
			goto fail;
		sh[0] = m->nout;
		m->O = tl_xmalloc((size_t)sh[0] * (size_t)sh[1] * sizeof *m->O);
		if (read_tensor_f32(&st, "classifier.weight", 2, sh, m->O, err, errsz) < 0)
			goto fail;
		if (m->loss == TL_LOSS_HS)
			build_hs(m);
	} else {
		json_int_t D = json_integer_value(json_object_get(cfg, "input_dim"));
		if (D < 1 || D > INT32_MAX) {
			seterr(err, errsz, "%s/config.json: bad input_dim", dir);
			goto fail;
		}
		m->D = (long)D;
		if (m->input == TL_IN_TEXT) {
			snprintf(path, plen, "%s/features.tsv", dir);
			m->feat = tl_feat_load(path, err, errsz);
			if (!m->feat)
				goto fail;
			if (tl_feat_dim(m->feat) != m->D) {
				seterr(err, errsz, "%s: dimension %ld, config.json says %ld", path, tl_feat_dim(m->feat), m->D);
				goto fail;
			}
		}
		int64_t sh[2] = {m->nlabels, m->D};
		float *WT = tl_xmalloc((size_t)sh[0] * (size_t)sh[1] * sizeof *WT);
		if (read_tensor_f32(&st, "classifier.weight", 2, sh, WT, err, errsz) < 0) {
			free(WT);
			goto fail;
		}
		m->W = tl_xmalloc((size_t)sh[0] * (size_t)sh[1] * sizeof *m->W);
		for (long j = 0; j < m->D; j++)
			for (int c = 0; c < m->nlabels; c++)
				m->W[(size_t)j * (size_t)m->nlabels + (size_t)c] = WT[(size_t)c * (size_t)m->D + (size_t)j];
		free(WT);
		m->b = tl_xmalloc((size_t)m->nlabels * sizeof *m->b);
		if (read_tensor_f32(&st, "classifier.bias", 1, sh, m->b, err, errsz) < 0)
			goto fail;
	}
	tl_st_close(&st);
	json_decref(cfg);
	free(path);
	return m;
fail:
	if (st_open)
		tl_st_close(&st);
	json_decref(cfg);
	free(path);
	tl_lin_free(m);
	return NULL;
}

/* ---------------- the tl-linear classifier backend ---------------- */

typedef struct {
	tl_lin_model *m;
	int threads;
	tl_lin_scratch *s; /* [threads] */
} lin_impl;

/* sparse from a record: {"dim": N, "idx": [..], "val": [..]} (arrays or
 * bins of int32/float32), or a map {idx: value}. */
static int rec_sparse(const msgpack_object *o, tl_sparse *sp, long dim_default, char *msg, size_t msz)
{
	sp->n = 0;
	sp->dim = dim_default;
	if (!o || o->type != MSGPACK_OBJECT_MAP) {
		snprintf(msg, msz, "\"sparse\" is not a map");
		return -1;
	}
	const msgpack_object *idx = tl_map_get(o, "idx"), *val = tl_map_get(o, "val"), *dim = tl_map_get(o, "dim");
	if (idx || val) {
		if (!idx || !val || idx->type != MSGPACK_OBJECT_ARRAY || val->type != MSGPACK_OBJECT_ARRAY ||
		    idx->via.array.size != val->via.array.size) {
			snprintf(msg, msz, "\"sparse\": idx and val must be arrays of the same length");
			return -1;
		}
		if (dim) {
			if (dim->type != MSGPACK_OBJECT_POSITIVE_INTEGER || dim->via.u64 > INT32_MAX) {
				snprintf(msg, msz, "\"sparse\": bad dim");
				return -1;
			}
			sp->dim = (long)dim->via.u64;
		}
		size_t n = idx->via.array.size;
		if (n > sp->cap) {
			sp->cap = n;
			sp->idx = tl_xrealloc(sp->idx, n * sizeof *sp->idx);
			sp->val = tl_xrealloc(sp->val, n * sizeof *sp->val);
		}
		for (size_t i = 0; i < n; i++) {
			const msgpack_object *a = &idx->via.array.ptr[i], *b = &val->via.array.ptr[i];
			if (a->type != MSGPACK_OBJECT_POSITIVE_INTEGER || a->via.u64 > INT32_MAX) {
				snprintf(msg, msz, "\"sparse\": idx[%zu] is not a non-negative integer", i);
				return -1;
			}
			double v;
			if (b->type == MSGPACK_OBJECT_FLOAT32 || b->type == MSGPACK_OBJECT_FLOAT64)
				v = b->via.f64;
			else if (b->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				v = (double)b->via.u64;
			else if (b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
				v = (double)b->via.i64;
			else {
				snprintf(msg, msz, "\"sparse\": val[%zu] is not a number", i);
				return -1;
			}
			sp->idx[i] = (int32_t)a->via.u64;
			sp->val[i] = (float)v;
		}
		sp->n = n;
		return tl_lin_check_finite("sparse", sp->val, n, sp->idx, msg, msz);
	}
	size_t n = o->via.map.size;
	if (n > sp->cap) {
		sp->cap = n;
		sp->idx = tl_xrealloc(sp->idx, n * sizeof *sp->idx);
		sp->val = tl_xrealloc(sp->val, n * sizeof *sp->val);
	}
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key, *b = &o->via.map.ptr[i].val;
		long ki;
		if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER && k->via.u64 <= INT32_MAX)
			ki = (long)k->via.u64;
		else if (k->type == MSGPACK_OBJECT_STR && k->via.str.size > 0 && k->via.str.size < 12) {
			char t[16];
			memcpy(t, k->via.str.ptr, k->via.str.size);
			t[k->via.str.size] = 0;
			char *end;
			ki = strtol(t, &end, 10);
			if (*end || ki < 0) {
				snprintf(msg, msz, "\"sparse\": key '%s' is not an index", t);
				return -1;
			}
		} else {
			snprintf(msg, msz, "\"sparse\": a key is not an index");
			return -1;
		}
		if (b->type == MSGPACK_OBJECT_FLOAT32 || b->type == MSGPACK_OBJECT_FLOAT64)
			sp->val[i] = (float)b->via.f64;
		else if (b->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			sp->val[i] = (float)b->via.u64;
		else if (b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			sp->val[i] = (float)b->via.i64;
		else {
			snprintf(msg, msz, "\"sparse\": a value is not a number");
			return -1;
		}
		sp->idx[i] = (int32_t)ki;
	}
	sp->n = n;
	return tl_lin_check_finite("sparse", sp->val, n, sp->idx, msg, msz);
}

int tl_lin_rec_sparse(const msgpack_object *o, tl_sparse *sp, long dim_default, char *msg, size_t msz)
{
	return rec_sparse(o, sp, dim_default, msg, msz);
}

long tl_lin_rec_vec(const tl_record *rec, float **buf, size_t *cap, char *msg, size_t msz)
{
	long nv = tl_rec_f32s(rec, "vec", buf, cap);
	if (nv < 0) {
		snprintf(msg, msz, nv == -1 ? "no \"vec\"" : "\"vec\" is not a float array");
		return nv;
	}
	if (tl_lin_check_finite("vec", *buf, (size_t)nv, NULL, msg, msz) < 0)
		return -3;
	return nv;
}

static int lin_predict(tl_classifier *c, const tl_record *recs, size_t n, float *logits, tl_classifier_err *e)
{
	lin_impl *im = c->impl;
	const tl_lin_model *m = im->m;
	size_t bad = (size_t)-1;
	int badcode = 0;
	char badmsg[512] = "";
#pragma omp parallel for num_threads(im->threads) schedule(dynamic, 16)
	for (size_t i = 0; i < n; i++) {
		tl_lin_scratch *s = &im->s[omp_get_thread_num()];
		const tl_record *r = &recs[i];
		float *out = logits + i * (size_t)m->nlabels;
		char msg[512] = "";
		int rc = 0;
		if (m->input == TL_IN_TEXT) {
			size_t len = 0;
			const char *t = tl_lin_rec_text(r, m->text_b, &s->jb, &len, NULL, msg, sizeof msg);
			if (!t) {
				if (!strcmp(msg, "no \"text\""))
					snprintf(msg, sizeof msg, "no \"text\" (a tl-linear model reads the text)");
				rc = -1;
			} else
				tl_lin_logits(m, s, t, len, NULL, NULL, 0, out);
		} else if (m->input == TL_IN_SPARSE) {
			const msgpack_object *o = tl_rec_get(r, "sparse");
			if (!o) {
				snprintf(msg, sizeof msg, "no \"sparse\" (this model reads tl-embed --bow/--tfidf output)");
				rc = -1;
			} else if (rec_sparse(o, &s->sp, m->D, msg, sizeof msg) < 0) {
				rc = -1;
			} else if (tl_lin_logits(m, s, NULL, 0, &s->sp, NULL, 0, out) < 0) {
				snprintf(msg, sizeof msg, "sparse vector of dimension %ld or index out of range; the model has %ld",
					 s->sp.dim, m->D);
				rc = -1;
			}
		} else {
			float *v = NULL;
			size_t cap = 0;
			long nv = tl_lin_rec_vec(r, &v, &cap, msg, sizeof msg);
			if (nv < 0) {
				rc = -1;
			} else if (tl_lin_logits(m, s, NULL, 0, NULL, v, (size_t)nv, out) < 0) {
				snprintf(msg, sizeof msg, "vec of length %ld, the model has %ld", nv, m->D);
				rc = -1;
			}
			free(v);
		}
		if (rc < 0) {
#pragma omp critical(tl_lin_err)
			if (i < bad) {
				bad = i;
				badcode = TL_EXIT_DATA;
				snprintf(badmsg, sizeof badmsg, "%s", msg);
			}
		}
	}
	if (bad != (size_t)-1) {
		e->code = badcode;
		e->index = bad;
		snprintf(e->msg, sizeof e->msg, "%s", badmsg);
		return -1;
	}
	return 0;
}

static void lin_free(tl_classifier *c)
{
	lin_impl *im = c->impl;
	if (!im)
		return;
	for (int i = 0; i < im->threads; i++)
		tl_lin_scratch_free(&im->s[i]);
	free(im->s);
	tl_lin_free(im->m);
	free(im);
	c->impl = NULL;
}

static const tl_classifier_ops lin_ops = {lin_predict, lin_free};

tl_classifier *tl_linear_classifier_load(const char *dir, const void *config, int threads, tl_classifier_err *e)
{
	char err[512];
	tl_lin_model *m = tl_lin_load(dir, err, sizeof err);
	if (!m) {
		e->code = TL_EXIT_MODEL;
		e->index = (size_t)-1;
		snprintf(e->msg, sizeof e->msg, "%s", err);
		return NULL;
	}
	tl_classifier *c = tl_xcalloc(1, sizeof *c);
	if (tl_classifier_read_labels(c, config, m->nlabels, e) < 0 || c->nlabels != m->nlabels) {
		if (c->nlabels != m->nlabels) {
			e->code = TL_EXIT_MODEL;
			snprintf(e->msg, sizeof e->msg, "%s/config.json: id2label has %d labels, the weights %d", dir,
				 c->nlabels, m->nlabels);
		}
		for (int i = 0; i < c->nlabels; i++)
			free(c->labels[i]);
		free(c->labels);
		free(c);
		tl_lin_free(m);
		return NULL;
	}
	c->multi_label = m->multi;
	c->batch_size = 1024;
	c->kind = "tl-linear";
	c->vocab_sha256[0] = 0;
	lin_impl *im = tl_xcalloc(1, sizeof *im);
	im->m = m;
	im->threads = threads > 0 ? threads : omp_get_num_procs();
	im->s = tl_xcalloc((size_t)im->threads, sizeof *im->s);
	c->impl = im;
	c->ops = &lin_ops;
	return c;
}
