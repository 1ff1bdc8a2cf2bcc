/* ner.c - entity-level scoring of tag sequences: seqeval 1.2's default mode
 * (get_entities: conlleval's chunking) and its precision/recall/F1 with
 * zero_division=0. The rules are spelled out in include/tl/ner.h; the
 * reference numbers are tests/ref/ner_ref.py's (tests/unit/test_ner.c). */
#include "tl/ner.h"
#include "tl/strtab.h"
#include "tl/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Split one tag into its prefix letter and type; 0, or -1 when malformed. */
static int parse_tag(const char *s, char *tag, const char **type, size_t *tlen)
{
	size_t len = strlen(s);
	if (len == 1 && s[0] == 'O') {
		*tag = 'O', *type = "_", *tlen = 1;
		return 0;
	}
	if (len == 0 || (s[0] != 'B' && s[0] != 'I' && s[0] != 'E' && s[0] != 'S'))
		return -1;
	if (len > 1 && s[1] != '-')
		return -1;
	*tag = s[0];
	if (len <= 2)
		*type = "_", *tlen = 1; /* "B" or "B-": seqeval's type "_" */
	else
		*type = s + 2, *tlen = len - 2;
	return 0;
}

static int same_type(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

/* seqeval's end_of_chunk / start_of_chunk */
static int chunk_ends(char pt, char t, int type_differs)
{
	if (pt == 'E' || pt == 'S')
		return 1;
	if ((pt == 'B' || pt == 'I') && (t == 'B' || t == 'S' || t == 'O'))
		return 1;
	return pt != 'O' && type_differs;
}

static int chunk_starts(char pt, char t, int type_differs)
{
	if (t == 'B' || t == 'S')
		return 1;
	if ((pt == 'E' || pt == 'S' || pt == 'O') && (t == 'E' || t == 'I'))
		return 1;
	return t != 'O' && type_differs;
}

/* The chunks, plus the out-of-scheme counts (istarts: chunks opened by I-,
 * es: E-/S- tags). */
static long chunks(const char *const *tags, size_t n, tl_ner_chunk *out, long *istarts, long *es, char *err,
		   size_t errsz)
{
	char pt = 'O';
	const char *ptype = "";
	size_t ptlen = 0, begin = 0;
	long k = 0;
	for (size_t i = 0; i <= n; i++) {
		char t = 'O';
		const char *type = "_";
		size_t tlen = 1;
		if (i < n) {
			if (!tags[i] || parse_tag(tags[i], &t, &type, &tlen) < 0) {
				tl_errf(err, errsz, "word %zu: malformed tag \"%s\" (want O, B-TYPE, I-TYPE, E-TYPE or S-TYPE)",
					i + 1, tags[i] ? tags[i] : "(null)");
				return -1;
			}
			if (es && (t == 'E' || t == 'S'))
				(*es)++;
		}
		int differs = !same_type(ptype, ptlen, type, tlen);
		if (chunk_ends(pt, t, differs)) {
			out[k].start = begin, out[k].end = i, out[k].type = ptype, out[k].type_len = ptlen;
			k++;
		}
		if (chunk_starts(pt, t, differs)) {
			begin = i;
			if (istarts && t == 'I')
				(*istarts)++;
		}
		pt = t, ptype = type, ptlen = tlen;
	}
	return k;
}

long tl_ner_chunks(const char *const *tags, size_t n, tl_ner_chunk *out, char *err, size_t errsz)
{
	return chunks(tags, n, out, NULL, NULL, err, errsz);
}

struct tl_ner_eval {
	int scheme;
	tl_strtab types;
	size_t *order; /* type ids in sorted order */
	long *tp, *npred, *ngold;
	size_t cap;
	long words, correct, sentences;
	tl_ner_stats stats;
	tl_ner_chunk *g, *p; /* scratch */
	size_t scap;
};

tl_ner_eval *tl_ner_eval_new(int scheme)
{
	tl_ner_eval *e = tl_xmalloc(sizeof *e);
	memset(e, 0, sizeof *e);
	e->scheme = scheme;
	tl_strtab_init(&e->types);
	return e;
}

void tl_ner_eval_free(tl_ner_eval *e)
{
	if (!e)
		return;
	tl_strtab_free(&e->types);
	free(e->order), free(e->tp), free(e->npred), free(e->ngold), free(e->g), free(e->p);
	free(e);
}

static size_t type_id(tl_ner_eval *e, const tl_ner_chunk *c)
{
	int isnew = 0;
	size_t id = (size_t)tl_strtab_add(&e->types, c->type, c->type_len, &isnew);
	if (!isnew)
		return id;
	if (e->types.n > e->cap) {
		e->cap = e->cap ? 2 * e->cap : 8;
		e->order = tl_xrealloc(e->order, e->cap * sizeof *e->order);
		e->tp = tl_xrealloc(e->tp, e->cap * sizeof *e->tp);
		e->npred = tl_xrealloc(e->npred, e->cap * sizeof *e->npred);
		e->ngold = tl_xrealloc(e->ngold, e->cap * sizeof *e->ngold);
	}
	e->tp[id] = e->npred[id] = e->ngold[id] = 0;
	/* insert into the sorted order (byte order = Python's str order for UTF-8) */
	size_t pos = e->types.n - 1;
	while (pos > 0) {
		size_t o = e->order[pos - 1], ol = tl_strtab_len(&e->types, (int64_t)o);
		size_t m = ol < c->type_len ? ol : c->type_len;
		int r = memcmp(tl_strtab_str(&e->types, (int64_t)o), c->type, m);
		if (r < 0 || (r == 0 && ol < c->type_len))
			break;
		e->order[pos] = e->order[pos - 1];
		pos--;
	}
	e->order[pos] = id;
	return id;
}

int tl_ner_eval_add(tl_ner_eval *e, const char *const *gold, const char *const *pred, size_t n, char *err,
		    size_t errsz)
{
	if (n + 1 > e->scap) {
		e->scap = n + 1 > 2 * e->scap ? n + 1 : 2 * e->scap;
		e->g = tl_xrealloc(e->g, e->scap * sizeof *e->g);
		e->p = tl_xrealloc(e->p, e->scap * sizeof *e->p);
	}
	char m[200];
	long is = 0, es = 0;
	long ng = chunks(gold, n, e->g, &is, &es, m, sizeof m);
	if (ng < 0) {
		tl_errf(err, errsz, "tags: %s", m);
		return -1;
	}
	long np = chunks(pred, n, e->p, &is, &es, m, sizeof m);
	if (np < 0) {
		tl_errf(err, errsz, "pred: %s", m);
		return -1;
	}
	if (e->scheme == TL_NER_IOB1 || e->scheme == TL_NER_IOB2)
		e->stats.es_tags += es;
	if (e->scheme == TL_NER_IOB2 || e->scheme == TL_NER_IOBES)
		e->stats.i_starts += is;
	/* both lists are sorted by start and do not overlap: merge */
	long i = 0, j = 0;
	/* (type_id may grow the count arrays: index after the call) */
	for (long a = 0; a < ng; a++) {
		size_t id = type_id(e, &e->g[a]);
		e->ngold[id]++;
	}
	for (long a = 0; a < np; a++) {
		size_t id = type_id(e, &e->p[a]);
		e->npred[id]++;
	}
	while (i < ng && j < np) {
		const tl_ner_chunk *x = &e->g[i], *y = &e->p[j];
		if (x->start < y->start)
			i++;
		else if (y->start < x->start)
			j++;
		else {
			if (x->end == y->end && same_type(x->type, x->type_len, y->type, y->type_len))
				e->tp[tl_strtab_find(&e->types, x->type, x->type_len)]++;
			i++, j++;
		}
	}
	for (size_t w = 0; w < n; w++)
		e->correct += strcmp(gold[w], pred[w]) == 0;
	e->words += (long)n;
	e->sentences++;
	return 0;
}

static double divide(long a, long b)
{
	return b ? (double)a / (double)b : 0.0;
}

static double f1(double p, double r)
{
	double d = p + r;
	return 2 * p * r / (d == 0 ? 1 : d);
}

size_t tl_ner_eval_ntypes(const tl_ner_eval *e)
{
	return e->types.n;
}

void tl_ner_eval_type(const tl_ner_eval *e, size_t i, tl_ner_type_score *out)
{
	size_t id = e->order[i];
	out->type = tl_strtab_str(&e->types, (int64_t)id);
	out->tp = e->tp[id], out->npred = e->npred[id], out->ngold = e->ngold[id];
	out->precision = divide(out->tp, out->npred);
	out->recall = divide(out->tp, out->ngold);
	out->f1 = f1(out->precision, out->recall);
}

void tl_ner_eval_summary(const tl_ner_eval *e, tl_ner_summary *s)
{
	memset(s, 0, sizeof *s);
	size_t k = e->types.n;
	double mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
	for (size_t i = 0; i < k; i++) {
		tl_ner_type_score t;
		tl_ner_eval_type(e, i, &t);
		s->tp += t.tp, s->npred += t.npred, s->ngold += t.ngold;
		mp += t.precision, mr += t.recall, mf += t.f1;
		wp += t.precision * (double)t.ngold, wr += t.recall * (double)t.ngold, wf += t.f1 * (double)t.ngold;
	}
	s->micro_p = divide(s->tp, s->npred);
	s->micro_r = divide(s->tp, s->ngold);
	s->micro_f1 = f1(s->micro_p, s->micro_r);
	if (k) {
		s->macro_p = mp / (double)k, s->macro_r = mr / (double)k, s->macro_f1 = mf / (double)k;
	}
	if (s->ngold) {
		double w = (double)s->ngold;
		s->weighted_p = wp / w, s->weighted_r = wr / w, s->weighted_f1 = wf / w;
	}
	s->words = e->words, s->words_correct = e->correct, s->sentences = e->sentences;
	s->accuracy = divide(e->correct, e->words);
}

double tl_ner_eval_micro_f1(const tl_ner_eval *e)
{
	tl_ner_summary s;
	tl_ner_eval_summary(e, &s);
	return s.micro_f1;
}

void tl_ner_eval_stats(const tl_ner_eval *e, tl_ner_stats *out)
{
	*out = e->stats;
}
