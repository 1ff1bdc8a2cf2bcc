/* lib/eval/ner.c - MINIMAL placeholder of include/tl/ner.h (IOB2 only),
 * written by the model side (n22m) for tl-train --task token's dev F1
 * before the data/eval side's full implementation is merged; it is meant
 * to be REPLACED by that one. Chunks as seqeval's default mode. */
#include "tl/ner.h"
#include "tl/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_ner_eval {
	int scheme;
	long tp, ngold, npred;
};

tl_ner_eval *tl_ner_eval_new(int scheme)
{
	tl_ner_eval *e = tl_xcalloc(1, sizeof *e);
	e->scheme = scheme;
	return e;
}

typedef struct {
	long s, e;
	const char *type;
	size_t tlen;
} chunk;

/* Split tag into prefix and type; -1 when malformed. */
static int parse(const char *tag, char *pre, const char **type, size_t *tlen)
{
	if (!strcmp(tag, "O")) {
		*pre = 'O', *type = "", *tlen = 0;
		return 0;
	}
	if ((tag[0] != 'B' && tag[0] != 'I') || tag[1] != '-')
		return -1;
	*pre = tag[0], *type = tag + 2, *tlen = strlen(tag + 2);
	return 0;
}

static long chunks(const char *const *tags, size_t n, chunk **out, char *err, size_t errsz)
{
	chunk *c = tl_xmalloc((n + 1) * sizeof *c);
	long k = 0;
	char pp = 'O';
	const char *pt = "";
	size_t pl = 0;
	for (size_t i = 0; i <= n; i++) {
		char p = 'O';
		const char *ty = "";
		size_t tl = 0;
		if (i < n && parse(tags[i], &p, &ty, &tl) < 0) {
			free(c);
			if (err)
				snprintf(err, errsz, "tag '%s' is not O, B-TYPE or I-TYPE", tags[i]);
			return -1;
		}
		int same = pl == tl && !memcmp(pt, ty, tl);
		int end = pp != 'O' && (p == 'B' || p == 'O' || !same);
		int start = p == 'B' || (p == 'I' && (pp == 'O' || !same));
		if (end)
			c[k - 1].e = (long)i;
		if (start)
			c[k++] = (chunk){(long)i, -1, ty, tl};
		pp = p, pt = ty, pl = tl;
	}
	*out = c;
	return k;
}

int tl_ner_eval_add(tl_ner_eval *e, const char *const *gold, const char *const *pred, size_t n, char *err,
		    size_t errsz)
{
	chunk *g, *p;
	long ng = chunks(gold, n, &g, err, errsz);
	if (ng < 0)
		return -1;
	long np = chunks(pred, n, &p, err, errsz);
	if (np < 0) {
		free(g);
		return -1;
	}
	for (long i = 0; i < ng; i++)
		for (long j = 0; j < np; j++)
			if (g[i].s == p[j].s && g[i].e == p[j].e && g[i].tlen == p[j].tlen &&
			    !memcmp(g[i].type, p[j].type, g[i].tlen))
				e->tp++;
	e->ngold += ng;
	e->npred += np;
	free(g);
	free(p);
	return 0;
}

double tl_ner_eval_micro_f1(const tl_ner_eval *e)
{
	return e->ngold + e->npred ? 2.0 * (double)e->tp / (double)(e->ngold + e->npred) : 0.0;
}

void tl_ner_eval_free(tl_ner_eval *e)
{
	free(e);
}
