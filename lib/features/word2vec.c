/* word2vec.c - skip-gram / CBOW with negative sampling, the text format,
 * nearest neighbours and document vectors. See tl/word2vec.h. */
#include "tl/word2vec.h"
#include "tl/fsutil.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tl/stream.h"

/* ---------------- text format ---------------- */

void tl_w2v_vectors_free(tl_w2v_vectors *v)
{
	tl_strtab_free(&v->words);
	free(v->vecs);
	memset(v, 0, sizeof *v);
}

/* One line from gz into *buf (without the newline); -1 at EOF. */
static long gz_line(gzFile gz, char **buf, size_t *cap)
{
	size_t len = 0;
	if (!*cap) {
		*cap = 65536;
		*buf = tl_xmalloc(*cap);
	}
	for (;;) {
		if (!gzgets(gz, *buf + len, (int)(*cap - len)))
			return len ? (long)len : -1;
		len += strlen(*buf + len);
		if (len && (*buf)[len - 1] == '\n') {
			(*buf)[--len] = 0;
			if (len && (*buf)[len - 1] == '\r')
				(*buf)[--len] = 0;
			return (long)len;
		}
		if (len + 1 < *cap)
			return (long)len; /* last line without newline */
		*cap *= 2;
		*buf = tl_xrealloc(*buf, *cap);
	}
}

int tl_w2v_vectors_load(tl_w2v_vectors *v, const char *path, char *err, size_t errsz)
{
	memset(v, 0, sizeof *v);
	tl_strtab_init(&v->words);
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, vcap = 0;
	long len, lineno = 0;
	long want = -1;
	int dim = -1;
	while ((len = gz_line(gz, &line, &cap)) >= 0) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if (lineno == 1) {
			long a, b;
			char c;
			if (sscanf(p, "%ld %ld %c", &a, &b, &c) == 2) {
				if (a < 0 || b < 1 || b > 100000) {
					snprintf(err, errsz, "%s: line 1: bad header '%s'", path, p);
					goto fail;
				}
				want = a;
				dim = (int)b;
				continue;
			}
		}
		char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t wl = (size_t)(p - w);
		/* count the values of this line */
		float *row = NULL;
		int n = 0;
		if (dim < 0) { /* GloVe style: the first row sets the dimension */
			char *q = p;
			for (;;) {
				while (*q == ' ' || *q == '\t')
					q++;
				if (!*q)
					break;
				while (*q && *q != ' ' && *q != '\t')
					q++;
				n++;
			}
			if (n < 1) {
				snprintf(err, errsz, "%s: line %ld: no values", path, lineno);
				goto fail;
			}
			dim = n;
		}
		if (v->n + 1 > vcap) {
			vcap = vcap ? 2 * vcap : 1024;
			v->vecs = tl_xrealloc(v->vecs, vcap * (size_t)dim * sizeof *v->vecs);
		}
		row = v->vecs + v->n * (size_t)dim;
		n = 0;
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (!*p)
				break;
			char *end;
			errno = 0;
			float x = strtof(p, &end);
			if (end == p || (*end && *end != ' ' && *end != '\t') || !isfinite(x)) {
				char *e2 = p;
				while (*e2 && *e2 != ' ' && *e2 != '\t')
					e2++;
				*e2 = 0;
				snprintf(err, errsz, "%s: line %ld: '%.40s' is not a number", path, lineno, p);
				goto fail;
			}
			if (n < dim)
				row[n] = x;
			n++;
			p = end;
		}
		if (n != dim) {
			snprintf(err, errsz, "%s: line %ld: %d values, expected %d", path, lineno, n, dim);
			goto fail;
		}
		int isnew;
		tl_strtab_add(&v->words, w, wl, &isnew);
		if (!v->cjk_words && tl_words_cjk_run(w, wl))
			v->cjk_words = 1; /* trained on segmented text */
		if (!isnew) {
			w[wl] = 0;
			snprintf(err, errsz, "%s: line %ld: word '%.40s' appears twice", path, lineno, w);
			goto fail;
		}
		v->n++;
	}
	char zm[512];
	if (tl_gz_status(gz, path, zm, sizeof zm)) { /* a read error, or gzip cut short or corrupt */
		snprintf(err, errsz, "%s", zm);
		goto fail;
	}
	if (want >= 0 && (size_t)want != v->n) {
		snprintf(err, errsz, "%s: header says %ld words, found %zu", path, want, v->n);
		goto fail;
	}
	if (v->n == 0) {
		snprintf(err, errsz, "%s: no vectors", path);
		goto fail;
	}
	v->dim = dim;
	free(line);
	gzclose(gz);
	return 0;
fail:
	free(line);
	gzclose(gz);
	tl_w2v_vectors_free(v);
	return -1;
}

int tl_w2v_vectors_save(const tl_w2v_vectors *v, const char *path)
{
	tl_buf b = {0};
	tl_buf_printf(&b, "%zu %d\n", v->n, v->dim);
	for (size_t i = 0; i < v->n; i++) {
		tl_buf_adds(&b, tl_strtab_str(&v->words, (int64_t)i));
		const float *r = v->vecs + i * (size_t)v->dim;
		for (int k = 0; k < v->dim; k++)
			tl_buf_printf(&b, " %.6g", r[k]);
		tl_buf_addc(&b, '\n');
	}
	int rc = tl_fs_write_file(path, b.data, b.len);
	tl_buf_free(&b);
	return rc;
}

float tl_w2v_cosine(const tl_w2v_vectors *v, int64_t a, int64_t b)
{
	const float *x = v->vecs + (size_t)a * (size_t)v->dim, *y = v->vecs + (size_t)b * (size_t)v->dim;
	double s = 0, nx = 0, ny = 0;
	for (int i = 0; i < v->dim; i++) {
		s += (double)x[i] * y[i];
		nx += (double)x[i] * x[i];
		ny += (double)y[i] * y[i];
	}
	return nx > 0 && ny > 0 ? (float)(s / sqrt(nx * ny)) : 0;
}

int tl_w2v_nearest(const tl_w2v_vectors *v, const float *q, int k, int64_t exclude, int64_t *ids, float *sims)
{
	int found = 0;
	double nq = 0;
	for (int i = 0; i < v->dim; i++)
		nq += (double)q[i] * q[i];
	if (nq <= 0 || k <= 0)
		return 0;
	for (size_t r = 0; r < v->n; r++) {
		if ((int64_t)r == exclude)
			continue;
		const float *x = v->vecs + r * (size_t)v->dim;
		double s = 0, nx = 0;
		for (int i = 0; i < v->dim; i++) {
			s += (double)x[i] * q[i];
			nx += (double)x[i] * x[i];
		}
		if (nx <= 0)
			continue;
		float c = (float)(s / sqrt(nx * nq));
		if (found == k && c <= sims[k - 1])
			continue;
		int j = found < k ? found++ : k - 1;
		while (j > 0 && sims[j - 1] < c) {
			sims[j] = sims[j - 1];
			ids[j] = ids[j - 1];
			j--;
		}
		sims[j] = c;
		ids[j] = (int64_t)r;
	}
	return found;
}

size_t tl_w2v_doc_vec(const tl_w2v_vectors *v, tl_words *w, const char *text, size_t len, int lower,
		      const tl_feat *tfidf, tl_sparse *sp, float *out)
{
	int d = v->dim;
	memset(out, 0, (size_t)d * sizeof *out);
	size_t known = 0;
	double wsum = 0;
	if (tfidf) {
		tl_feat_apply(tfidf, text, len, sp);
		for (size_t i = 0; i < sp->n; i++) {
			const char *t = tl_feat_term(tfidf, sp->idx[i]);
			if (!t)
				continue;
			int64_t r = tl_w2v_find(v, t, strlen(t));
			if (r < 0)
				continue;
			known++;
			wsum += sp->val[i];
			const float *x = v->vecs + (size_t)r * (size_t)d;
			for (int k = 0; k < d; k++)
				out[k] += sp->val[i] * x[k];
		}
	} else {
		tl_words_split(w, text, len, (lower ? TL_WORDS_LOWER : 0) | (v->cjk_words ? TL_WORDS_CJK : 0));
		for (size_t i = 0; i < w->n; i++) {
			int64_t r = tl_w2v_find(v, w->b.data + w->off[i], w->blen[i]);
			if (r < 0)
				continue;
			known++;
			wsum += 1;
			const float *x = v->vecs + (size_t)r * (size_t)d;
			for (int k = 0; k < d; k++)
				out[k] += x[k];
		}
	}
	if (wsum > 0)
		for (int k = 0; k < d; k++)
			out[k] = (float)(out[k] / wsum);
	return known;
}

/* ---------------- training ---------------- */

void tl_w2v_opts_default(tl_w2v_opts *o, int sg)
{
	o->sg = sg;
	o->dim = 100;
	o->window = 5;
	o->min_count = 5;
	o->epochs = 5;
	o->negative = 5;
	o->lr = sg ? 0.025 : 0.05;
	o->sample = 1e-3;
	o->threads = 1;
	o->seed = 1;
	o->lower = 1;
	o->cjk_words = 0;
}

struct tl_w2v_trainer {
	tl_w2v_opts o;
	tl_strtab words;
	int64_t *count;
	size_t ccap;
	int32_t *tok;
	size_t ntok, tcap;
	size_t *soff; /* sentence starts, [nsent + 1] */
	size_t nsent, scap;
	tl_words w;
};

tl_w2v_trainer *tl_w2v_trainer_new(const tl_w2v_opts *o)
{
	tl_w2v_trainer *t = tl_xcalloc(1, sizeof *t);
	t->o = *o;
	tl_strtab_init(&t->words);
	t->soff = tl_xmalloc(sizeof *t->soff);
	t->soff[0] = 0;
	t->scap = 1;
	return t;
}

void tl_w2v_add(tl_w2v_trainer *t, const char *text, size_t len)
{
	tl_words_split(&t->w, text, len, (t->o.lower ? TL_WORDS_LOWER : 0) | (t->o.cjk_words ? TL_WORDS_CJK : 0));
	if (t->ntok + t->w.n > t->tcap) {
		t->tcap = 2 * (t->ntok + t->w.n) + 1024;
		t->tok = tl_xrealloc(t->tok, t->tcap * sizeof *t->tok);
	}
	for (size_t i = 0; i < t->w.n; i++) {
		int isnew;
		int64_t id = tl_strtab_add(&t->words, t->w.b.data + t->w.off[i], t->w.blen[i], &isnew);
		if ((size_t)id >= t->ccap) {
			t->ccap = t->ccap ? 2 * t->ccap : 4096;
			t->count = tl_xrealloc(t->count, t->ccap * sizeof *t->count);
		}
		if (isnew)
			t->count[id] = 0;
		t->count[id]++;
		t->tok[t->ntok++] = (int32_t)id;
	}
	if (t->nsent + 2 > t->scap) {
		t->scap = 2 * (t->nsent + 2);
		t->soff = tl_xrealloc(t->soff, t->scap * sizeof *t->soff);
	}
	t->soff[++t->nsent] = t->ntok;
}

static void trainer_free(tl_w2v_trainer *t)
{
	tl_strtab_free(&t->words);
	tl_words_free(&t->w);
	free(t->count);
	free(t->tok);
	free(t->soff);
	free(t);
}

#define TABLE_SIZE 10000000

/* One negative-sampling update (word2vec.c's inner loop) of the hidden
 * vector h: the positive target word and `negative` words drawn from the
 * unigram table (a draw equal to word is skipped); each output row y of
 * syn1 moves by g h and the gradient for h is added to he, with
 * g = (label - sigmoid(h . y)) alpha. CBOW passes the context mean as h,
 * skip-gram one context word's input row. */
static void ns_update(const float *h, float *he, float *syn1, int d, int32_t word, int negative,
		      const int32_t *table, uint64_t *r, float alpha)
{
	for (int j = 0; j <= negative; j++) {
		int32_t target = word;
		float label = 1;
		if (j) {
			target = table[tl_splitmix64(r) % TABLE_SIZE];
			if (target == word)
				continue;
			label = 0;
		}
		float *y = syn1 + (size_t)target * (size_t)d;
		float f = 0;
		for (int k = 0; k < d; k++)
			f += h[k] * y[k];
		float g = (label - 1.0f / (1.0f + expf(-f))) * alpha;
		for (int k = 0; k < d; k++)
			he[k] += g * y[k];
		for (int k = 0; k < d; k++)
			y[k] += g * h[k];
	}
}

int tl_w2v_train(tl_w2v_trainer *t, tl_w2v_vectors *out, void (*fn)(void *ctx, uint64_t done, uint64_t total, double lr),
		 void *ctx, char *err, size_t errsz)
{
	const tl_w2v_opts *o = &t->o;
	memset(out, 0, sizeof *out);
	size_t nw = t->words.n;
	int64_t *ord = tl_xmalloc((nw ? nw : 1) * sizeof *ord);
	size_t V = 0;
	for (size_t i = 0; i < nw; i++)
		if (t->count[i] >= o->min_count)
			ord[V++] = (int64_t)i;
	if (V == 0) {
		snprintf(err, errsz, "empty vocabulary: no word occurs --min-count %ld times", o->min_count);
		free(ord);
		trainer_free(t);
		return -1;
	}
	tl_strtab_sort_by_count(&t->words, t->count, ord, V);
	int32_t *remap = tl_xmalloc(nw * sizeof *remap);
	for (size_t i = 0; i < nw; i++)
		remap[i] = -1;
	tl_strtab_init(&out->words);
	out->cjk_words = t->o.cjk_words;
	int64_t *cnt = tl_xmalloc(V * sizeof *cnt);
	uint64_t train_words = 0;
	for (size_t i = 0; i < V; i++) {
		remap[ord[i]] = (int32_t)i;
		tl_strtab_add(&out->words, tl_strtab_str(&t->words, ord[i]), t->words.slen[ord[i]], NULL);
		cnt[i] = t->count[ord[i]];
		train_words += (uint64_t)cnt[i];
	}
	free(ord);
	/* corpus as vocabulary ids (unknown words dropped), in place */
	for (size_t s = 0; s < t->nsent; s++) {
		size_t k = t->soff[s];
		for (size_t i = t->soff[s]; i < t->soff[s + 1]; i++)
			if (remap[t->tok[i]] >= 0)
				t->tok[k++] = remap[t->tok[i]];
		/* mark the new end with a -1 terminator if shorter */
		for (size_t i = k; i < t->soff[s + 1]; i++)
			t->tok[i] = -1;
	}
	free(remap);
	int d = o->dim;
	out->dim = d;
	out->n = V;
	float *syn0 = tl_xmalloc(V * (size_t)d * sizeof *syn0);
	float *syn1 = tl_xcalloc(V * (size_t)d, sizeof *syn1);
	uint64_t rng = o->seed * 0x9E3779B97F4A7C15ULL + 777;
	for (size_t i = 0; i < V * (size_t)d; i++)
		syn0[i] = (float)((tl_splitmix64_unit(&rng) - 0.5) / d);
	/* unigram^0.75 table */
	int32_t *table = tl_xmalloc(TABLE_SIZE * sizeof *table);
	{
		double pw = 0;
		for (size_t i = 0; i < V; i++)
			pw += pow((double)cnt[i], 0.75);
		size_t i = 0;
		double d1 = pow((double)cnt[0], 0.75) / pw;
		for (size_t a = 0; a < TABLE_SIZE; a++) {
			table[a] = (int32_t)i;
			if ((double)a / TABLE_SIZE > d1 && i + 1 < V) {
				i++;
				d1 += pow((double)cnt[i], 0.75) / pw;
			}
		}
	}
	/* subsampling keep probabilities */
	float *keep = tl_xmalloc(V * sizeof *keep);
	for (size_t i = 0; i < V; i++) {
		if (o->sample > 0) {
			double f = (double)cnt[i], th = o->sample * (double)train_words;
			double p = (sqrt(f / th) + 1) * th / f;
			keep[i] = (float)(p > 1 ? 1 : p);
		} else
			keep[i] = 1;
	}
	int T = o->threads > 0 ? o->threads : 1;
	uint64_t total = train_words * (uint64_t)o->epochs;
	uint64_t done_all = 0; /* updated by thread 0 only (approximate progress) */
	size_t nsent = t->nsent;
	const int32_t *tok = t->tok;
	const size_t *soff = t->soff;
#pragma omp parallel num_threads(T)
	{
		int tid = omp_get_thread_num();
		uint64_t r = o->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)tid * 0xBF58476D1CE4E5B9ULL + 1;
		size_t s_lo = nsent * (size_t)tid / (size_t)T, s_hi = nsent * (size_t)(tid + 1) / (size_t)T;
		uint64_t mine = 0;
		for (size_t s = s_lo; s < s_hi; s++)
			for (size_t i = soff[s]; i < soff[s + 1] && tok[i] >= 0; i++)
				mine++;
		uint64_t mytotal = mine * (uint64_t)o->epochs, mydone = 0;
		float *neu1 = tl_xmalloc((size_t)d * sizeof *neu1), *neu1e = tl_xmalloc((size_t)d * sizeof *neu1e);
		int32_t *sen = NULL;
		size_t sencap = 0;
		for (int ep = 0; ep < o->epochs; ep++) {
			for (size_t s = s_lo; s < s_hi; s++) {
				size_t n = 0;
				size_t len = soff[s + 1] - soff[s];
				if (len > sencap) {
					sencap = len;
					sen = tl_xrealloc(sen, sencap * sizeof *sen);
				}
				for (size_t i = soff[s]; i < soff[s + 1] && tok[i] >= 0; i++) {
					mydone++;
					if (keep[tok[i]] < 1 && tl_splitmix64_unit(&r) > keep[tok[i]])
						continue;
					sen[n++] = tok[i];
				}
				float alpha = (float)(o->lr * (1.0 - (double)mydone / (double)(mytotal + 1)));
				if (alpha < o->lr * 1e-4)
					alpha = (float)(o->lr * 1e-4);
				for (size_t pos = 0; pos < n; pos++) {
					int32_t word = sen[pos];
					int b = (int)(tl_splitmix64(&r) % (uint64_t)o->window);
					size_t lo = pos >= (size_t)(o->window - b) ? pos - (size_t)(o->window - b) : 0;
					size_t hi = pos + (size_t)(o->window - b);
					if (hi >= n)
						hi = n - 1;
					if (!o->sg) {
						memset(neu1, 0, (size_t)d * sizeof *neu1);
						memset(neu1e, 0, (size_t)d * sizeof *neu1e);
						int cw = 0;
						for (size_t c = lo; c <= hi; c++) {
							if (c == pos)
								continue;
							const float *x = syn0 + (size_t)sen[c] * (size_t)d;
							for (int k = 0; k < d; k++)
								neu1[k] += x[k];
							cw++;
						}
						if (!cw)
							continue;
						for (int k = 0; k < d; k++)
							neu1[k] /= (float)cw;
						ns_update(neu1, neu1e, syn1, d, word, o->negative, table, &r, alpha);
						for (size_t c = lo; c <= hi; c++) {
							if (c == pos)
								continue;
							float *x = syn0 + (size_t)sen[c] * (size_t)d;
							for (int k = 0; k < d; k++)
								x[k] += neu1e[k];
						}
					} else {
						for (size_t c = lo; c <= hi; c++) {
							if (c == pos)
								continue;
							float *x = syn0 + (size_t)sen[c] * (size_t)d;
							memset(neu1e, 0, (size_t)d * sizeof *neu1e);
							ns_update(x, neu1e, syn1, d, word, o->negative, table, &r, alpha);
							for (int k = 0; k < d; k++)
								x[k] += neu1e[k];
						}
					}
				}
				if (tid == 0 && fn && (s & 1023) == 0) {
					done_all = mydone * (uint64_t)T;
					fn(ctx, done_all < total ? done_all : total, total, alpha);
				}
			}
		}
		free(neu1);
		free(neu1e);
		free(sen);
	}
	if (fn)
		fn(ctx, total, total, 0);
	out->vecs = syn0;
	free(syn1);
	free(table);
	free(keep);
	free(cnt);
	trainer_free(t);
	return 0;
}
