/* lib/models/bert/bert_fit.c - `tl-train -m bert`: the fine-tuning loop
 * (the command line is cmd/tl-train.c's). See tl/bert_fit.h and
 * man/tl-train.1 (BERT FINE-TUNING). Errors are returned (tl_err), never
 * fatal; every path releases what it allocated.
 *
 * Determinism: the batches of epoch e are a pure function of (seed, e)
 * (seeded shuffle, then length bucketing inside windows, then a seeded
 * shuffle of the batches); dropout masks are a pure function of (seed,
 * micro-batch number, site, index); every kernel is deterministic for a
 * fixed thread count. A checkpoint stores the weights, the AdamW moments,
 * the optimizer step, the position (epoch, batch) and the early-stopping
 * state, so a resumed run repeats exactly what the uninterrupted run did.
 */
#include "tl/bert_fit.h"
#include "tl/bert_train.h"
#include "tl/checkpoint.h"
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/leak.h"
#include "tl/metrics.h"
#include "tl/model.h"
#include "tl/ner.h"
#include "tl/optim.h"
#include "tl/progress.h"
#include "tl/safetensors_save.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- data ---------------- */

typedef struct {
	size_t n;
	size_t *off;      /* into ids */
	int *len;
	int32_t *ids, *types; /* types NULL when no record has type_ids */
	size_t nids, capids;
	int *y;           /* single-label class */
	unsigned char *ym; /* multi-label indicators [n, K] */
	float *sw;        /* sample weights (NULL: none) */
	/* label strings while reading: per record nl labels at lab[loff..] */
	size_t *loff;
	int *nl;
	char **lab;
	size_t nlab, caplab;
	int multi;        /* labels were arrays */
	uint64_t tokens;
	/* --task token: word index of every id (-1 special), aligned with ids;
	 * lab[loff[i] .. + nl[i]) are record i's word tags; ty the token
	 * labels (TL_IGNORE_LABEL but on a word's first sub-token) */
	int token;
	int32_t *wids, *ty;
	size_t nwords;
	/* --distill: the teacher's logits of every record [n, lgk] (the
	 * teacher's label order until ds_distill_labels permutes them into
	 * the label set's), the teacher's label names from the stream header
	 * (tlab[ntlab], NULL without a header saying) and the number of
	 * records that have a "label" (nlabelled) */
	int distill;
	float *lg;
	size_t lgcap;
	int lgk;
	uint64_t lgk_no;
	char **tlab;
	int ntlab;
	size_t nlabelled;
} dataset;

static void ds_free(dataset *d)
{
	free(d->off), free(d->len), free(d->ids), free(d->types), free(d->y), free(d->ym), free(d->sw);
	free(d->wids), free(d->ty);
	free(d->lg);
	for (int i = 0; i < d->ntlab; i++)
		free(d->tlab[i]);
	free(d->tlab);
	free(d->loff), free(d->nl);
	for (size_t i = 0; i < d->nlab; i++)
		free(d->lab[i]);
	free(d->lab);
	memset(d, 0, sizeof *d);
}

static void ds_add_label(dataset *d, const char *s, size_t len)
{
	if (d->nlab == d->caplab) {
		d->caplab = d->caplab ? 2 * d->caplab : 1024;
		d->lab = tl_xrealloc(d->lab, d->caplab * sizeof *d->lab);
	}
	char *c = tl_xmalloc(len + 1);
	memcpy(c, s, len);
	c[len] = 0;
	d->lab[d->nlab++] = c;
}

/* Set the error and leave through the function's out: label. FAIL_REC puts
 * the record number in front of the message, as tl_die_rec would. */
#define FAIL(code, ...)                                \
	do {                                           \
		tl_seterr(e, (code), __VA_ARGS__);     \
		goto out;                              \
	} while (0)
#define FAIL_REC(no, fmt, ...)                                                                       \
	do {                                                                                       \
		tl_seterr(e, TL_EXIT_DATA, "record %llu: " fmt, (unsigned long long)(no), __VA_ARGS__); \
		goto out;                                                                          \
	} while (0)

/* ---------------- distillation data ---------------- */

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	if (!m || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, key, n))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* A stream header's "predict" map (tl-predict) names the labels of its
 * "logits", in their order: "label_ids" (the model's own names, written
 * when --label-names renamed them), else "labels". Every header of the
 * stream must name the same list. */
static int ds_teacher_labels(dataset *d, const msgpack_object *hdr, const char *what, tl_err *e)
{
	const msgpack_object *p = map_get(hdr, "predict");
	const msgpack_object *l = map_get(p, "label_ids");
	if (!l)
		l = map_get(p, "labels");
	if (!l)
		return 0;
	if (l->type != MSGPACK_OBJECT_ARRAY || l->via.array.size == 0)
		return tl_seterr(e, TL_EXIT_DATA, "%s: stream header: \"predict\" labels are not a non-empty array", what);
	int n = (int)l->via.array.size;
	char **v = tl_xcalloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		const msgpack_object *x = &l->via.array.ptr[i];
		if (x->type != MSGPACK_OBJECT_STR) {
			for (int j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return tl_seterr(e, TL_EXIT_DATA, "%s: stream header: \"predict\" label %d is not a string", what, i);
		}
		v[i] = tl_xmalloc(x->via.str.size + 1);
		memcpy(v[i], x->via.str.ptr, x->via.str.size);
		v[i][x->via.str.size] = 0;
	}
	int same = d->tlab && d->ntlab == n;
	for (int i = 0; same && i < n; i++)
		same = !strcmp(d->tlab[i], v[i]);
	int other = d->tlab && !same;
	if (d->tlab || d->n) {
		for (int i = 0; i < n; i++)
			free(v[i]);
		free(v);
		if (!d->tlab)
			return tl_seterr(e, TL_EXIT_DATA,
					 "%s: a stream header naming the teacher's labels after %zu records without one: "
					 "their logits' labels are unknown", what, d->n);
	} else {
		d->tlab = v;
		d->ntlab = n;
	}
	if (other)
		return tl_seterr(e, TL_EXIT_DATA,
				 "%s: a stream header names other teacher labels than the first one: the logits of the "
				 "records are over different label sets (predict each part with the same teacher)",
				 what);
	return 0;
}

/* The record's "logits" (--distill): present, float32 (or numbers), as
 * many as the teacher's labels (or as the first record's), finite. */
static int ds_read_logits(dataset *d, const tl_record *rec, const char *what, float **fbuf, size_t *fcap, tl_err *e)
{
	long n = tl_rec_f32s(rec, "logits", fbuf, fcap);
	unsigned long long no = (unsigned long long)rec->no;
	if (n == -1)
		return tl_seterr(e, TL_EXIT_DATA,
				 "record %llu: %s: no \"logits\" (--distill trains on a teacher's soft targets: "
				 "tl-predict -m TEACHER --logits)", no, what);
	if (n < 0)
		return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: \"logits\" is not a bin of float32 or an array of numbers",
				 no, what);
	if (d->ntlab && n != d->ntlab)
		return tl_seterr(e, TL_EXIT_DATA,
				 "record %llu: %s: %ld logits, the teacher's label set in the stream header has %d labels", no,
				 what, n, d->ntlab);
	if (d->lgk > 0 && n != d->lgk)
		return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: %ld logits where record %llu has %d", no, what, n,
				 (unsigned long long)d->lgk_no, d->lgk);
	if (n == 0)
		return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: \"logits\" is empty", no, what);
	for (long i = 0; i < n; i++)
		if (!isfinite((*fbuf)[i]))
			return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: logits[%ld] is %g, not a finite number", no, what, i,
					 (double)(*fbuf)[i]);
	if (d->lgk <= 0) {
		d->lgk = (int)n;
		d->lgk_no = rec->no;
	}
	if ((d->n + 1) * (size_t)n > d->lgcap) {
		d->lgcap = (d->n + 1) * (size_t)n * 2 + 1024;
		d->lg = tl_xrealloc(d->lg, d->lgcap * sizeof *d->lg);
	}
	memcpy(d->lg + d->n * (size_t)n, *fbuf, (size_t)n * sizeof(float));
	return 0;
}

/* Read a stream: ids (+type_ids), label (str or array of str), weight.
 * With lk: the training stream's records go into lk (ev NULL), or each
 * record of a dev stream is checked against it through ev (and left out
 * when ev drops it). */
static int ds_read(dataset *d, const char *path, const char *what, int max_len, const char *model_sha,
		   const char *model_dir, int vocab, int type_vocab, int need_labels, tl_leak *lk, tl_leak_eval *ev,
		   tl_err *e)
{
	tl_reader *r = tl_reader_open(path);
	if (!r && errno == EISDIR)
		return tl_seterr(e, TL_EXIT_IO, "%s: is a directory", path ? path : "standard input");
	if (!r)
		return tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", path ? path : "standard input", strerror(errno));
	tl_record rec;
	int32_t *buf = NULL, *tbuf = NULL, *wbuf = NULL;
	float *fbuf = NULL;
	size_t cap = 0, tcap = 0, capn = 0, wcap = 0, fcap = 0;
	int first = 1;
	char err[512];
	int rc = -1, got;
	while ((got = tl_reader_next(r, &rec)) == TL_READ_OK) {
		if (rec.is_header) {
			if (first && tl_model_check_vocab(rec.map, model_sha, model_dir, err, sizeof err) < 0)
				FAIL(TL_EXIT_DATA, "%s: %s", what, err);
			if (d->distill && ds_teacher_labels(d, rec.map, what, e) < 0)
				goto out;
			first = 0;
			continue;
		}
		first = 0;
		if (lk && ev) {
			int keep = tl_leak_eval_rec(lk, ev, &rec, e);
			if (keep < 0)
				goto out;
			if (!keep)
				continue;
		} else if (lk)
			tl_leak_add_train(lk, &rec);
		long n = tl_rec_i32s(&rec, "ids", &buf, &cap);
		if (n == -1)
			FAIL_REC(rec.no, "%s: no \"ids\" (tokenize the text first: tl-tokenize -m MODEL)", what);
		if (n < 0)
			FAIL_REC(rec.no, "%s: \"ids\" is not a bin of int32 or an array of integers", what);
		if (n < 2)
			FAIL_REC(rec.no, "%s: \"ids\" has %ld ids, at least [CLS] and [SEP] are needed", what, n);
		long tn = tl_rec_i32s(&rec, "type_ids", &tbuf, &tcap);
		if (tn == -2 || (tn >= 0 && tn != n))
			FAIL_REC(rec.no, "%s: \"type_ids\" malformed or not as long as \"ids\"", what);
		for (long i = 0; i < n; i++) {
			if (buf[i] < 0 || buf[i] >= vocab)
				FAIL_REC(rec.no, "%s: ids[%ld] = %d outside the model's vocabulary (0..%d)", what, i,
					   buf[i], vocab - 1);
			if (tn >= 0 && (tbuf[i] < 0 || tbuf[i] >= type_vocab))
				FAIL_REC(rec.no, "%s: type_ids[%ld] = %d outside 0..%d", what, i, tbuf[i],
					   type_vocab - 1);
		}
		/* labels */
		const msgpack_object *lo = d->token ? NULL : tl_rec_get(&rec, "label");
		int nl = 0;
		size_t loff = d->nlab;
		if (d->token) {
			/* word tags and the word index of every id */
			const msgpack_object *to = tl_rec_get(&rec, "tags"), *wo = tl_rec_get(&rec, "words");
			long wn = tl_rec_i32s(&rec, "word_ids", &wbuf, &wcap);
			if (wn == -1)
				FAIL_REC(rec.no, "%s: no \"word_ids\" (--task token needs records with \"words\" and \"tags\" tokenized by tl-tokenize: tl-clean -f conll | tl-tokenize)", what);
			if (wn < 0 || wn != n)
				FAIL_REC(rec.no, "%s: \"word_ids\" malformed or not as long as \"ids\" (%ld ids)", what, n);
			if (!to)
				FAIL_REC(rec.no, "%s: no \"tags\" (--task token trains on word tags: tl-clean -f conll)", what);
			if (to->type != MSGPACK_OBJECT_ARRAY)
				FAIL_REC(rec.no, "%s: \"tags\" is a %s, not an array of strings", what, tl_msgpack_type_name(to->type));
			uint32_t nw = to->via.array.size;
			if (nw == 0)
				FAIL_REC(rec.no, "%s: empty sentence (no words, no tags)", what);
			if (wo && (wo->type != MSGPACK_OBJECT_ARRAY || wo->via.array.size != nw))
				FAIL_REC(rec.no, "%s: %u tags for %u words (\"tags\" and \"words\" must have the same length)",
					 what, nw, wo->type == MSGPACK_OBJECT_ARRAY ? wo->via.array.size : 0);
			for (uint32_t i = 0; i < nw; i++) {
				const msgpack_object *x = &to->via.array.ptr[i];
				if (x->type != MSGPACK_OBJECT_STR || x->via.str.size == 0)
					FAIL_REC(rec.no, "%s: tags[%u] is not a non-empty string", what, i);
				ds_add_label(d, x->via.str.ptr, x->via.str.size);
			}
			nl = (int)nw;
			for (long i = 0; i < n; i++)
				if (wbuf[i] < -1 || wbuf[i] >= (int32_t)nw)
					FAIL_REC(rec.no, "%s: word_ids[%ld] = %d outside -1..%u (%u words)", what, i, wbuf[i],
						 nw - 1, nw);
		} else if (lo && lo->type == MSGPACK_OBJECT_STR) {
			ds_add_label(d, lo->via.str.ptr, lo->via.str.size);
			nl = 1;
		} else if (lo && lo->type == MSGPACK_OBJECT_ARRAY) {
			d->multi = 1;
			for (uint32_t i = 0; i < lo->via.array.size; i++) {
				const msgpack_object *x = &lo->via.array.ptr[i];
				if (x->type != MSGPACK_OBJECT_STR)
					FAIL_REC(rec.no, "%s: \"label\" array holds a %s, not strings", what,
						   tl_msgpack_type_name(x->type));
				ds_add_label(d, x->via.str.ptr, x->via.str.size);
			}
			nl = (int)lo->via.array.size;
		} else if (lo && (lo->type == MSGPACK_OBJECT_POSITIVE_INTEGER || lo->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
			char s[32];
			int k = snprintf(s, sizeof s, "%lld", lo->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
									(long long)lo->via.u64 : (long long)lo->via.i64);
			ds_add_label(d, s, (size_t)k);
			nl = 1;
		} else if (lo) {
			FAIL_REC(rec.no, "%s: \"label\" is a %s, not a string or an array of strings", what,
				   tl_msgpack_type_name(lo->type));
		} else if (need_labels) {
			FAIL_REC(rec.no, "%s: no \"label\" (training needs labelled records)", what);
		}
		if (d->distill && ds_read_logits(d, &rec, what, &fbuf, &fcap, e) < 0)
			goto out;
		if (d->distill)
			d->nlabelled += nl > 0;
		if (d->n == capn) {
			capn = capn ? 2 * capn : 4096;
			d->off = tl_xrealloc(d->off, capn * sizeof *d->off);
			d->len = tl_xrealloc(d->len, capn * sizeof *d->len);
			d->loff = tl_xrealloc(d->loff, capn * sizeof *d->loff);
			d->nl = tl_xrealloc(d->nl, capn * sizeof *d->nl);
			d->sw = tl_xrealloc(d->sw, capn * sizeof *d->sw);
		}
		double w = 1.0;
		const msgpack_object *wo = tl_rec_get(&rec, "weight");
		if (wo) {
			if (wo->type == MSGPACK_OBJECT_FLOAT32 || wo->type == MSGPACK_OBJECT_FLOAT64)
				w = wo->via.f64;
			else if (wo->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				w = (double)wo->via.u64;
			else
				FAIL_REC(rec.no, "%s: \"weight\" is not a number", what);
			if (!(w >= 0) || !isfinite(w))
				FAIL_REC(rec.no, "%s: \"weight\" must be a finite number >= 0", what);
		}
		/* truncate keeping the final id ([SEP]) */
		int len = (int)n;
		if (len > max_len) {
			buf[max_len - 1] = buf[n - 1];
			if (tn >= 0)
				tbuf[max_len - 1] = tbuf[n - 1];
			if (d->token)
				wbuf[max_len - 1] = -1;
			len = max_len;
		}
		if (d->nids + (size_t)len > d->capids) {
			size_t old = d->capids;
			d->capids = (d->nids + (size_t)len) * 2 + 4096;
			d->ids = tl_xrealloc(d->ids, d->capids * sizeof *d->ids);
			if (d->token)
				d->wids = tl_xrealloc(d->wids, d->capids * sizeof *d->wids);
			if (d->types) {
				d->types = tl_xrealloc(d->types, d->capids * sizeof *d->types);
				memset(d->types + old, 0, (d->capids - old) * sizeof *d->types);
			}
		}
		if (tn >= 0 && !d->types) {
			d->types = tl_xcalloc(d->capids, sizeof *d->types);
		}
		memcpy(d->ids + d->nids, buf, (size_t)len * sizeof *buf);
		if (d->token) {
			memcpy(d->wids + d->nids, wbuf, (size_t)len * sizeof *wbuf);
			d->nwords += (size_t)nl;
		}
		if (d->types) {
			if (tn >= 0)
				memcpy(d->types + d->nids, tbuf, (size_t)len * sizeof *tbuf);
			else
				memset(d->types + d->nids, 0, (size_t)len * sizeof *tbuf);
		}
		d->off[d->n] = d->nids;
		d->len[d->n] = len;
		d->loff[d->n] = loff;
		d->nl[d->n] = nl;
		d->sw[d->n] = (float)w;
		d->nids += (size_t)len;
		d->tokens += (uint64_t)len;
		d->n++;
	}
	if (got == TL_READ_ERR) {
		const char *re = tl_reader_error(r);
		tl_seterr(e, strncmp(re, "read error", 10) == 0 ? TL_EXIT_IO : TL_EXIT_DATA, "record %llu: %s",
			  (unsigned long long)tl_reader_count(r), re);
		goto out;
	}
	rc = 0;
out:
	tl_reader_close(r);
	free(buf);
	free(tbuf);
	free(wbuf);
	free(fbuf);
	return rc;
}

/* ---------------- labels ---------------- */

typedef struct {
	char **name;
	int k;
} labelset;

static int cmp_str(const void *a, const void *b)
{
	return tl_metrics_natcmp(*(char *const *)a, *(char *const *)b);
}

static int label_find(const labelset *ls, const char *s)
{
	int lo = 0, hi = ls->k - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = tl_metrics_natcmp(s, ls->name[mid]);
		if (!c)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static void labels_from_data(labelset *ls, const dataset *d)
{
	char **v = tl_xmalloc((d->nlab + 1) * sizeof *v);
	for (size_t i = 0; i < d->nlab; i++)
		v[i] = d->lab[i];
	qsort(v, d->nlab, sizeof *v, cmp_str);
	ls->name = tl_xmalloc((d->nlab + 1) * sizeof *ls->name);
	ls->k = 0;
	for (size_t i = 0; i < d->nlab; i++)
		if (!ls->k || strcmp(v[i], ls->name[ls->k - 1]))
			ls->name[ls->k++] = tl_xstrdup(v[i]);
	free(v);
}

/* On error ls may hold names: the caller frees it either way. */
static int labels_from_file(labelset *ls, const char *path, tl_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	ls->name = NULL;
	ls->k = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!n)
			continue;
		ls->name = tl_xrealloc(ls->name, (size_t)(ls->k + 1) * sizeof *ls->name);
		ls->name[ls->k++] = tl_xstrdup(line);
	}
	free(line);
	fclose(f);
	qsort(ls->name, (size_t)ls->k, sizeof *ls->name, cmp_str);
	for (int i = 1; i < ls->k; i++)
		if (!strcmp(ls->name[i], ls->name[i - 1]))
			return tl_seterr(e, TL_EXIT_DATA, "%s: label '%s' is listed twice", path, ls->name[i]);
	return 0;
}

/* "a, b, c" of a label list, for messages (at most ~400 bytes). */
static void label_list(tl_buf *b, char *const *v, int n)
{
	for (int i = 0; i < n; i++) {
		if (b->len > 400) {
			tl_buf_printf(b, ", ... (%d in all)", n);
			break;
		}
		tl_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
	}
}

/* The teacher's label names (stream header) as the label set, sorted as
 * every label set is. */
static int labels_from_teacher(labelset *ls, const dataset *d, const char *what, tl_err *e)
{
	ls->name = tl_xmalloc((size_t)(d->ntlab + 1) * sizeof *ls->name);
	ls->k = 0;
	for (int i = 0; i < d->ntlab; i++)
		ls->name[ls->k++] = tl_xstrdup(d->tlab[i]);
	qsort(ls->name, (size_t)ls->k, sizeof *ls->name, cmp_str);
	for (int i = 1; i < ls->k; i++)
		if (!strcmp(ls->name[i], ls->name[i - 1]))
			return tl_seterr(e, TL_EXIT_DATA, "%s: stream header: the teacher's label '%s' is listed twice", what,
					 ls->name[i]);
	return 0;
}

/* --distill: check that the logits are over the label set ls and put
 * them in its order. With the teacher's labels from the stream header
 * both must be the same set (any order: the logits are permuted); without
 * a header only the count can be checked. */
static int ds_distill_labels(dataset *d, const labelset *ls, const char *lsname, const char *what, int quiet, tl_err *e)
{
	if (!d->ntlab) {
		if (d->lgk != ls->k)
			return tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: %d logits for the %d labels of %s",
					 (unsigned long long)d->lgk_no, what, d->lgk, ls->k, lsname);
		if (!quiet)
			tl_warn("%s: no stream header names the teacher's labels (tl-predict writes one): the logits are "
				"taken in the order of the sorted label set", what);
		return 0;
	}
	int *perm = tl_xmalloc((size_t)d->ntlab * sizeof *perm), same = d->ntlab == ls->k;
	for (int j = 0; j < d->ntlab; j++) {
		perm[j] = label_find(ls, d->tlab[j]);
		same &= perm[j] >= 0;
	}
	if (!same) {
		tl_buf a = {0}, b = {0};
		label_list(&a, d->tlab, d->ntlab);
		label_list(&b, ls->name, ls->k);
		tl_seterr(e, TL_EXIT_DATA,
			  "%s: the logits are over the teacher's labels (%s; stream header), not over %s (%s): another "
			  "label set",
			  what, tl_buf_cstr(&a), lsname, tl_buf_cstr(&b));
		tl_buf_free(&a);
		tl_buf_free(&b);
		free(perm);
		return -1;
	}
	float *tmp = tl_xmalloc((size_t)ls->k * sizeof *tmp);
	for (size_t i = 0; i < d->n; i++) {
		float *z = d->lg + i * (size_t)ls->k;
		for (int j = 0; j < ls->k; j++)
			tmp[perm[j]] = z[j];
		memcpy(z, tmp, (size_t)ls->k * sizeof *tmp);
	}
	free(tmp);
	free(perm);
	return 0;
}

/* Map the label strings of d to ids; what names the stream in messages. */
static int ds_map_labels(dataset *d, const labelset *ls, int multi, const char *what, tl_err *e)
{
	if (d->token) {
		d->ty = tl_xmalloc((d->nids + 1) * sizeof *d->ty);
		for (size_t i = 0; i < d->n; i++) {
			const int32_t *w = d->wids + d->off[i];
			int32_t *y = d->ty + d->off[i];
			for (int j = 0; j < d->len[i]; j++) {
				y[j] = TL_IGNORE_LABEL;
				if (w[j] < 0 || (j > 0 && w[j - 1] == w[j]))
					continue;
				const char *s = d->lab[d->loff[i] + (size_t)w[j]];
				int id = label_find(ls, s);
				if (id < 0)
					return tl_seterr(e, TL_EXIT_DATA,
							 "%s: record %zu: unknown tag '%s' (not in the training tag set)", what,
							 i + 1, s);
				y[j] = id;
			}
		}
		return 0;
	}
	if (multi)
		d->ym = tl_xcalloc(d->n * (size_t)ls->k + 1, 1);
	else
		d->y = tl_xmalloc((d->n + 1) * sizeof *d->y);
	for (size_t i = 0; i < d->n; i++) {
		if (d->distill && d->nl[i] == 0 && !multi) { /* soft targets only */
			d->y[i] = TL_IGNORE_LABEL;
			continue;
		}
		if (!multi && d->nl[i] != 1)
			return tl_seterr(e, TL_EXIT_DATA, "%s: record %zu: %s label where the training data has single labels", what, i + 1,
			       d->nl[i] ? "a multi-" : "no");
		for (int j = 0; j < d->nl[i]; j++) {
			const char *s = d->lab[d->loff[i] + (size_t)j];
			int id = label_find(ls, s);
			if (id < 0)
				return tl_seterr(e, TL_EXIT_DATA, "%s: record %zu: unknown label '%s' (not in the %s)", what, i + 1, s,
						 d->distill && d->ntlab ? "teacher's label set, stream header" : "training label set");
			if (multi)
				d->ym[i * (size_t)ls->k + (size_t)id] = 1;
			else
				d->y[i] = id;
		}
	}
	return 0;
}

/* ---------------- batches ---------------- */

typedef struct {
	size_t *idx;  /* record order of the epoch */
	size_t *start; /* batch b = idx[start[b] .. start[b+1]) */
	size_t nb;
} epoch_plan;

static uint64_t rng_next(uint64_t *s)
{
	return tl_mix64((*s)++);
}

static size_t rng_below(uint64_t *s, size_t n)
{
	return (size_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

static const dataset *sort_ds;
static int cmp_len_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int lx = sort_ds->len[x], ly = sort_ds->len[y];
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Shuffle (seed, epoch); sort windows of window*batch records by length;
 * cut into batches; shuffle the batch order. */
static void plan_epoch(epoch_plan *p, const dataset *d, long batch, long window, uint64_t seed, long epoch)
{
	size_t n = d->n;
	p->idx = tl_xrealloc(p->idx, (n + 1) * sizeof *p->idx);
	uint64_t s = tl_mix64(seed ^ tl_mix64(0x5348554646ull + (uint64_t)epoch));
	for (size_t i = 0; i < n; i++)
		p->idx[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(&s, i), t = p->idx[i - 1];
		p->idx[i - 1] = p->idx[j];
		p->idx[j] = t;
	}
	size_t w = (size_t)(batch * window);
	sort_ds = d;
	for (size_t i = 0; i < n; i += w)
		qsort(p->idx + i, (n - i < w ? n - i : w), sizeof *p->idx, cmp_len_idx);
	p->nb = (n + (size_t)batch - 1) / (size_t)batch;
	size_t *order = tl_xmalloc((p->nb + 1) * sizeof *order);
	for (size_t b = 0; b < p->nb; b++)
		order[b] = b;
	for (size_t i = p->nb; i > 1; i--) {
		size_t j = rng_below(&s, i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	/* rebuild idx in shuffled batch order */
	size_t *idx2 = tl_xmalloc((n + 1) * sizeof *idx2);
	p->start = tl_xrealloc(p->start, (p->nb + 1) * sizeof *p->start);
	size_t k = 0;
	for (size_t b = 0; b < p->nb; b++) {
		size_t b0 = order[b] * (size_t)batch, b1 = b0 + (size_t)batch < n ? b0 + (size_t)batch : n;
		p->start[b] = k;
		for (size_t i = b0; i < b1; i++)
			idx2[k++] = p->idx[i];
	}
	p->start[p->nb] = k;
	free(p->idx);
	free(order);
	p->idx = idx2;
}

typedef struct {
	int32_t *ids, *types, *lens, *y, *ty;
	float *ym, *sw, *lg;
	size_t cap, capb;
	int B, T;
} batch_t;

static void make_batch(batch_t *b, const dataset *d, const size_t *idx, size_t n, int K)
{
	int T = 0;
	for (size_t i = 0; i < n; i++)
		T = d->len[idx[i]] > T ? d->len[idx[i]] : T;
	if (n * (size_t)T > b->cap) {
		b->cap = n * (size_t)T * 2;
		b->ids = tl_xrealloc(b->ids, b->cap * sizeof *b->ids);
		b->types = tl_xrealloc(b->types, b->cap * sizeof *b->types);
		b->ty = tl_xrealloc(b->ty, b->cap * sizeof *b->ty);
	}
	if (n * (size_t)(K + 1) > b->capb) {
		b->capb = n * (size_t)(K + 1);
		b->lens = tl_xrealloc(b->lens, b->capb * sizeof *b->lens);
		b->y = tl_xrealloc(b->y, b->capb * sizeof *b->y);
		b->ym = tl_xrealloc(b->ym, b->capb * sizeof *b->ym);
		b->sw = tl_xrealloc(b->sw, b->capb * sizeof *b->sw);
		b->lg = tl_xrealloc(b->lg, b->capb * sizeof *b->lg);
	}
	memset(b->ids, 0, n * (size_t)T * sizeof *b->ids);
	memset(b->types, 0, n * (size_t)T * sizeof *b->types);
	for (size_t i = 0; i < n; i++) {
		size_t r = idx[i];
		int len = d->len[r];
		memcpy(b->ids + i * (size_t)T, d->ids + d->off[r], (size_t)len * sizeof(int32_t));
		if (d->types)
			memcpy(b->types + i * (size_t)T, d->types + d->off[r], (size_t)len * sizeof(int32_t));
		if (d->ty) {
			memcpy(b->ty + i * (size_t)T, d->ty + d->off[r], (size_t)len * sizeof(int32_t));
			for (int j = len; j < T; j++)
				b->ty[i * (size_t)T + (size_t)j] = TL_IGNORE_LABEL;
		}
		b->lens[i] = len;
		b->sw[i] = d->sw ? d->sw[r] : 1.0f;
		if (d->y)
			b->y[i] = d->y[r];
		if (d->ym)
			for (int k = 0; k < K; k++)
				b->ym[i * (size_t)K + (size_t)k] = d->ym[r * (size_t)K + (size_t)k];
		if (d->lg)
			memcpy(b->lg + i * (size_t)K, d->lg + r * (size_t)K, (size_t)K * sizeof(float));
	}
	b->B = (int)n;
	b->T = T;
}

static void batch_free(batch_t *b)
{
	free(b->ids), free(b->types), free(b->lens), free(b->y), free(b->ym), free(b->sw), free(b->ty), free(b->lg);
}

/* ---------------- evaluation ---------------- */

typedef struct {
	double acc, f1, loss;
} evalres;

static evalres evaluate(tl_bert_train *t, const dataset *d, int K, int multi)
{
	evalres r = {0, 0, 0};
	size_t n = d->n, bs = 64;
	size_t *idx = tl_xmalloc((n + 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_ds = d;
	qsort(idx, n, sizeof *idx, cmp_len_idx);
	int *pred = tl_xmalloc((n + 1) * sizeof *pred), *gold = tl_xmalloc((n + 1) * sizeof *gold);
	unsigned char *pm = multi ? tl_xcalloc(n * (size_t)K + 1, 1) : NULL;
	batch_t b = {0};
	double loss = 0;
	for (size_t i = 0; i < n; i += bs) {
		size_t m = n - i < bs ? n - i : bs;
		make_batch(&b, d, idx + i, m, K);
		const float *lg = tl_bert_train_forward(t, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, 0, 0, 0);
		loss += tl_bert_train_loss(t, b.y, b.ym, NULL, NULL, 0, 1) * (double)m;
		for (size_t j = 0; j < m; j++) {
			const float *z = lg + j * (size_t)K;
			size_t r = idx[i + j];
			if (multi) {
				for (int k = 0; k < K; k++)
					pm[r * (size_t)K + (size_t)k] = z[k] > 0.0f;
			} else {
				int best = 0;
				for (int k = 1; k < K; k++)
					if (z[k] > z[best])
						best = k;
				pred[r] = best;
				gold[r] = d->y[r];
			}
		}
	}
	r.loss = loss / (double)(n ? n : 1);
	if (multi) {
		r.acc = tl_metrics_subset_accuracy(d->ym, pm, n, K);
		long *tp = tl_xcalloc((size_t)K, sizeof(long)), *ng = tl_xcalloc((size_t)K, sizeof(long)),
		     *np = tl_xcalloc((size_t)K, sizeof(long));
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < K; k++) {
				size_t j = i * (size_t)K + (size_t)k;
				tp[k] += d->ym[j] && pm[j];
				ng[k] += d->ym[j];
				np[k] += pm[j];
			}
		tl_prf *per = tl_xcalloc((size_t)K, sizeof *per);
		tl_prf_avg avg;
		tl_metrics_prf(tp, ng, np, K, NULL, per, &avg);
		r.f1 = avg.macro_f1;
		free(tp), free(ng), free(np), free(per);
	} else {
		tl_metrics_acc_f1(gold, pred, NULL, n, K, &r.acc, &r.f1);
	}
	batch_free(&b);
	free(idx), free(pred), free(gold), free(pm);
	return r;
}

/* Token classification: the dev loss (mean over labelled tokens), word
 * accuracy (acc) and entity micro-F1 (f1, tl/ner.h IOB2) of the word tags
 * predicted on each word's first sub-token; a word left without a
 * sub-token (truncated) is predicted "O". */
static int evaluate_token(tl_bert_train *t, const dataset *d, const labelset *ls, evalres *r, tl_err *e)
{
	size_t n = d->n, bs = 64;
	int K = ls->k;
	size_t *idx = tl_xmalloc((n + 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_ds = d;
	qsort(idx, n, sizeof *idx, cmp_len_idx);
	tl_ner_eval *ne = tl_ner_eval_new(TL_NER_IOB2);
	const char **pred = NULL;
	size_t pcap = 0, words = 0, right = 0;
	double loss = 0, lab = 0;
	int rc = 0;
	batch_t b = {0};
	float *host = NULL;
	size_t hcap = 0;
	for (size_t i = 0; i < n && !rc; i += bs) {
		size_t m = n - i < bs ? n - i : bs;
		make_batch(&b, d, idx + i, m, K);
		const float *lg = tl_bert_train_forward(t, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, 0, 0, 0);
		size_t nl = 0, rows = (size_t)b.B * b.T;
		for (size_t j = 0; j < rows; j++)
			nl += b.ty[j] != TL_IGNORE_LABEL;
		loss += tl_bert_train_token_loss(t, b.ty, NULL, 0, 1) * (double)nl;
		lab += (double)nl;
		if (rows * K > hcap) {
			hcap = rows * K;
			host = tl_xrealloc(host, hcap * sizeof *host);
		}
		t->k->to_host(host, lg, rows * K * sizeof(float));
		for (size_t j = 0; j < m && !rc; j++) {
			size_t rr = idx[i + j];
			int nw = d->nl[rr];
			if ((size_t)nw > pcap) {
				pcap = (size_t)nw * 2;
				pred = tl_xrealloc(pred, pcap * sizeof *pred);
			}
			for (int w = 0; w < nw; w++)
				pred[w] = "O";
			const int32_t *wi = d->wids + d->off[rr];
			for (int p = 0; p < d->len[rr]; p++) {
				if (wi[p] < 0 || (p > 0 && wi[p - 1] == wi[p]))
					continue;
				const float *z = host + ((size_t)j * b.T + (size_t)p) * K;
				int best = 0;
				for (int k = 1; k < K; k++)
					if (z[k] > z[best])
						best = k;
				pred[wi[p]] = ls->name[best];
			}
			const char *const *gold = (const char *const *)d->lab + d->loff[rr];
			for (int w = 0; w < nw; w++)
				right += !strcmp(gold[w], pred[w]);
			words += (size_t)nw;
			char err[256];
			if (tl_ner_eval_add(ne, gold, pred, (size_t)nw, err, sizeof err) < 0)
				rc = tl_seterr(e, TL_EXIT_DATA, "dev record %zu: %s", rr + 1, err);
		}
	}
	r->loss = lab > 0 ? loss / lab : 0;
	r->acc = words ? (double)right / (double)words : 0;
	r->f1 = tl_ner_eval_micro_f1(ne);
	tl_ner_eval_free(ne);
	batch_free(&b);
	free(host);
	free(pred);
	free(idx);
	return rc;
}

/* ---------------- saving ---------------- */

static int copy_file(const char *src, const char *dst)
{
	tl_buf b = {0};
	int rc = tl_fs_read_file(src, &b) != 0 ? -1 : tl_fs_write_file(dst, b.data ? b.data : "", b.len);
	tl_buf_free(&b);
	return rc;
}

static int write_json(const char *path, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	size_t n = strlen(s);
	s = tl_xrealloc(s, n + 2);
	s[n++] = '\n';
	int rc = tl_fs_write_file(path, s, n);
	free(s);
	return rc;
}

/* Write the model directory into tmp (files only; the caller publishes). */
static int save_model(const char *tmp, const tl_bert *m, const float *weights, const char *src_dir,
		      const labelset *ls, int multi, int token, json_t *tljson, long max_len, const tl_keyset *keys)
{
	char err[512];
	tl_buf p = {0};
	int rc = -1;
	/* config.json */
	json_t *cfg = tl_model_read_config(src_dir, err, sizeof err);
	if (!cfg)
		cfg = json_object();
	json_object_set_new(cfg, "architectures",
			    json_pack("[s]", token ? "BertForTokenClassification" : "BertForSequenceClassification"));
	tl_model_set_labels(cfg, ls->name, ls->k);
	json_object_set_new(cfg, "num_labels", json_integer(ls->k));
	json_object_set_new(cfg, "num_hidden_layers", json_integer(m->cfg.L)); /* a student may have fewer */
	if (token)
		json_object_del(cfg, "problem_type");
	else
		json_object_set_new(cfg, "problem_type",
				    json_string(multi ? "multi_label_classification" : "single_label_classification"));
	json_object_set_new(cfg, "model_type", json_string("bert"));
	tl_buf_printf(&p, "%s/config.json", tmp);
	if (write_json(tl_buf_cstr(&p), cfg) != 0)
		goto out;
	/* weights under Hugging Face names */
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(m, &nt);
	tl_st_saver *s = tl_st_saver_init();
	for (size_t i = 0; i < nt; i++)
		if (!token || strncmp(ts[i].name, "bert.pooler.", 12)) /* BertForTokenClassification has no pooler */
			tl_st_saver_add(s, ts[i].name, "F32", ts[i].shape, ts[i].ndim, weights + ts[i].off, ts[i].n * sizeof(float));
	tl_st_saver_meta(s, "format", "pt");
	p.len = 0;
	tl_buf_printf(&p, "%s/model.safetensors", tmp);
	int w = tl_st_saver_write(s, tl_buf_cstr(&p));
	int e = errno;
	tl_st_saver_free(s);
	free(ts);
	errno = e;
	if (w != 0)
		goto out;
	/* tokenizer files */
	static const char *files[] = {"vocab.txt", "special_tokens_map.json", "tokenizer.json"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		tl_buf a = {0};
		tl_buf_printf(&a, "%s/%s", src_dir, files[i]);
		p.len = 0;
		tl_buf_printf(&p, "%s/%s", tmp, files[i]);
		int have = access(tl_buf_cstr(&a), R_OK) == 0;
		int c = have ? copy_file(tl_buf_cstr(&a), tl_buf_cstr(&p)) : 0;
		tl_buf_free(&a);
		if (c != 0)
			goto out;
	}
	p.len = 0;
	tl_buf_printf(&p, "%s/tokenizer_config.json", src_dir);
	json_error_t je;
	json_t *tc = json_load_file(tl_buf_cstr(&p), 0, &je);
	if (!tc || !json_is_object(tc)) {
		json_decref(tc);
		tc = json_object();
		json_object_set_new(tc, "do_lower_case", json_true());
		json_object_set_new(tc, "tokenizer_class", json_string("BertTokenizer"));
	}
	json_object_set_new(tc, "model_max_length", json_integer(max_len));
	p.len = 0;
	tl_buf_printf(&p, "%s/tokenizer_config.json", tmp);
	w = write_json(tl_buf_cstr(&p), tc);
	json_decref(tc);
	if (w != 0)
		goto out;
	if (keys) {
		p.len = 0;
		tl_buf_printf(&p, "%s/" TL_TRAIN_KEYS_FILE, tmp);
		if (tl_keyset_save(keys, tl_buf_cstr(&p), err, sizeof err) != 0)
			goto out; /* errno is set */
	}
	p.len = 0;
	tl_buf_printf(&p, "%s/tl.json", tmp);
	if (write_json(tl_buf_cstr(&p), tljson) != 0)
		goto out;
	rc = 0;
out:
	e = errno;
	json_decref(cfg);
	tl_buf_free(&p);
	errno = e;
	return rc;
}

/* ---------------- checkpoints ---------------- */

/* Where the loop stands, as a checkpoint records it. */
typedef struct {
	long epoch, bi, best_step, bad_evals;
	double best;
	evalres best_res;
} fit_pos;

/* The run's identity beyond the data: what the loop saw (elapsed
 * training seconds, the --log file's length) and the options that decide
 * the result (run_options). */
typedef struct {
	const json_t *options;
	double elapsed;
	const char *log;     /* --log path or NULL */
	long long log_bytes; /* its length after the last line of this step */
} fit_meta;

static int save_ckpt(const char *dirpath, const fit_pos *p, const tl_optim *opt, const tl_bert *m,
		     const float *best_w, uint64_t seed, const char *data_sha, int nlabels, const char *mdir,
		     const fit_meta *meta, tl_err *e)
{
	char err[512];
	json_t *st = json_object();
	json_object_set_new(st, "version", json_integer(2));
	json_object_set_new(st, "options", json_deep_copy(meta->options));
	json_object_set_new(st, "elapsed", json_real(meta->elapsed));
	if (meta->log) {
		json_object_set_new(st, "log", json_string(meta->log));
		json_object_set_new(st, "log_bytes", json_integer(meta->log_bytes));
	}
	json_object_set_new(st, "epoch", json_integer(p->epoch));
	json_object_set_new(st, "batch", json_integer(p->bi));
	json_object_set_new(st, "step", json_integer(opt->t));
	json_object_set_new(st, "seed", json_integer((json_int_t)seed));
	json_object_set_new(st, "data_sha256", json_string(data_sha));
	json_object_set_new(st, "nparams", json_integer((json_int_t)m->nparams));
	json_object_set_new(st, "nlabels", json_integer(nlabels));
	json_object_set_new(st, "best", json_real(p->best));
	json_object_set_new(st, "best_step", json_integer(p->best_step));
	json_object_set_new(st, "bad_evals", json_integer(p->bad_evals));
	json_object_set_new(st, "best_accuracy", json_real(p->best_res.acc));
	json_object_set_new(st, "best_macro_f1", json_real(p->best_res.f1));
	json_object_set_new(st, "best_loss", json_real(p->best_res.loss));
	json_object_set_new(st, "pretrained", json_string(mdir));
	const char *nm[4] = {"params", "m", "v", "best"};
	const float *dt[4] = {m->arena, opt->m, opt->v, best_w};
	size_t ln[4] = {m->nparams, m->nparams, m->nparams, m->nparams};
	float *zero = NULL;
	if (!opt->m)
		dt[1] = zero = tl_xcalloc(m->nparams, sizeof(float));
	size_t nt = 2;
	if (opt->v)
		nt = 3;
	if (best_w) {
		if (nt == 2) {
			nm[2] = "best";
			dt[2] = best_w;
		}
		nt++;
	}
	int rc = 0;
	if (tl_ckpt_write(dirpath, st, nt, nm, dt, ln, err, sizeof err) != 0)
		rc = tl_seterr(e, TL_EXIT_IO, "checkpoint: %s", err);
	free(zero);
	json_decref(st);
	return rc;
}

/* ---------------- resume checks ---------------- */

static void opt_str(json_t *o, const char *name, const char *v)
{
	json_object_set_new(o, name, json_string(v ? v : "none"));
}

static void opt_long(json_t *o, const char *name, long v)
{
	char b[32];
	snprintf(b, sizeof b, "%ld", v);
	opt_str(o, name, b);
}

static void opt_dbl(json_t *o, const char *name, double v)
{
	char b[40];
	snprintf(b, sizeof b, "%.15g", v); /* the shortest that reads back the same */
	if (strtod(b, NULL) != v)
		snprintf(b, sizeof b, "%.17g", v);
	opt_str(o, name, b);
}

/* sha256 of the ids and labels of d's records, in order. */
static void ds_sha(const dataset *d, char out[65])
{
	tl_buf h = {0};
	for (size_t i = 0; i < d->n; i++) {
		tl_buf_add(&h, &d->len[i], sizeof(int));
		tl_buf_add(&h, d->ids + d->off[i], (size_t)d->len[i] * sizeof(int32_t));
		if (d->wids)
			tl_buf_add(&h, d->wids + d->off[i], (size_t)d->len[i] * sizeof(int32_t));
		for (int j = 0; j < d->nl[i]; j++) {
			tl_buf_adds(&h, d->lab[d->loff[i] + (size_t)j]);
			tl_buf_addc(&h, 0);
		}
		if (d->lg) /* --distill: the teacher's logits are training data too */
			tl_buf_add(&h, d->lg + i * (size_t)d->lgk, (size_t)d->lgk * sizeof(float));
	}
	tl_sha256_hex(h.data ? h.data : "", h.len, out);
	tl_buf_free(&h);
}

/* The options that decide what a run computes, by option name (without
 * "--"), as strings: a resumed run repeats the interrupted one bitwise
 * only when they are all equal. The training data is checked on its own
 * (data_sha256); --threads, --device, --progress-every, --log,
 * --checkpoint-* and --quiet do not change the result and are left out. */
static json_t *run_options(const tl_bert_fit_opts *o, const labelset *ls, const char *dev_sha)
{
	static const char *const sn[] = {"linear", "cosine", "constant", "step"};
	json_t *j = json_object();
	opt_dbl(j, "lr", o->lr);
	opt_long(j, "epochs", o->epochs);
	opt_long(j, "batch-size", o->batch);
	opt_long(j, "grad-accum", o->accum);
	{
		char b[32];
		snprintf(b, sizeof b, "%llu", (unsigned long long)o->seed);
		opt_str(j, "seed", b);
	}
	opt_long(j, "max-len", o->max_len);
	opt_str(j, "freeze", o->freeze);
	opt_str(j, "optimizer", o->optimizer == TL_OPT_SGD ? "sgd" : "adamw");
	opt_dbl(j, "momentum", o->momentum);
	opt_dbl(j, "weight-decay", o->wd);
	opt_str(j, "schedule", sn[o->schedule]);
	opt_dbl(j, "warmup-ratio", o->warmup_ratio);
	if (o->warmup_steps >= 0)
		opt_long(j, "warmup-steps", o->warmup_steps);
	else
		opt_str(j, "warmup-steps", "from --warmup-ratio");
	if (o->step_size > 0)
		opt_long(j, "step-size", o->step_size);
	else
		opt_str(j, "step-size", "one epoch");
	opt_dbl(j, "gamma", o->gamma);
	opt_dbl(j, "clip", o->clip);
	if (o->dropout >= 0)
		opt_dbl(j, "dropout", o->dropout);
	else
		opt_str(j, "dropout", "the model's");
	opt_dbl(j, "label-smoothing", o->ls);
	opt_str(j, "class-weights", o->class_weights);
	opt_dbl(j, "layer-lr-decay", o->lld);
	opt_long(j, "bucket-window", o->window);
	opt_long(j, "max-steps", o->max_steps);
	opt_long(j, "eval-every", o->eval_every);
	opt_str(j, "metric", o->token ? "entity_f1" : o->metric_f1 ? "macro_f1" : "accuracy");
	if (o->token)
		opt_str(j, "task", "token");
	opt_long(j, "patience", o->patience);
	opt_str(j, "precision", tl_precision_name(o->precision));
	opt_str(j, "distill", o->distill ? "on" : "off");
	if (o->distill) {
		opt_dbl(j, "temperature", o->temperature);
		opt_dbl(j, "alpha", o->alpha);
		opt_str(j, "teacher", o->teacher);
		opt_dbl(j, "hidden-weight", o->teacher ? (o->hidden_weight < 0 ? 1.0 : o->hidden_weight) : 0.0);
	}
	opt_str(j, "student-layers", o->student_layers ? o->student_layers : "all");
	{
		tl_buf b = {0};
		for (int c = 0; c < ls->k; c++)
			tl_buf_printf(&b, "%s%s", c ? "," : "", ls->name[c]);
		opt_str(j, "labels", tl_buf_cstr(&b));
		tl_buf_free(&b);
	}
	if (dev_sha) {
		char b[80];
		snprintf(b, sizeof b, "records sha256 %.16s", dev_sha);
		opt_str(j, "dev", b);
	} else
		opt_str(j, "dev", NULL);
	return j;
}

/* Is name in the comma separated list (or the list "all")? */
static int in_list(const char *list, const char *name)
{
	if (!list)
		return 0;
	if (!strcmp(list, "all"))
		return 1;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l > 2 && !strncmp(p, "--", 2))
			p += 2, l -= 2;
		if (l == n && !strncmp(p, name, n))
			return 1;
		p += l + (c ? 1 : 0);
		if (!c)
			break;
	}
	return 0;
}

/* Check allow (the --allow-change list) names known options. */
static int check_allow_list(const char *list, const json_t *known, tl_err *e)
{
	if (!list || !strcmp(list, "all"))
		return 0;
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char name[64];
		if (l > 2 && !strncmp(p, "--", 2))
			p += 2, l -= 2;
		if (l == 0 || l >= sizeof name)
			return tl_seterr(e, TL_EXIT_USAGE, "option --allow-change: empty or too long name in '%s'", list);
		memcpy(name, p, l);
		name[l] = 0;
		if (!json_object_get(known, name)) {
			tl_buf b = {0};
			const char *k;
			json_t *v;
			json_object_foreach((json_t *)known, k, v)
				tl_buf_printf(&b, "%s%s", b.len ? ", " : "", k);
			tl_seterr(e, TL_EXIT_USAGE, "option --allow-change: '%s' is not an option a resume compares (%s, or all)",
				  name, tl_buf_cstr(&b));
			tl_buf_free(&b);
			return -1;
		}
		p += l + (c ? 1 : 0);
		if (!c)
			break;
	}
	return 0;
}

/* Compare the checkpoint's options (st "options") with now's. A
 * difference not allowed is a usage error naming the option and both
 * values; an allowed one is a note on stderr. */
static int check_resume_options(const json_t *st, const json_t *now, const char *ckpt, const char *allow, int quiet,
				tl_err *e)
{
	json_t *was = json_object_get(st, "options");
	if (!json_is_object(was)) {
		if (!quiet)
			tl_warn("--resume %s: the checkpoint records no options (made by an older tl-train): they are not compared",
				ckpt);
		return 0;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)now, k, v) {
		json_t *w = json_object_get(was, k);
		const char *a = json_is_string(w) ? json_string_value(w) : "(not recorded)";
		if (!w && !strcmp(k, "precision"))
			a = "fp32"; /* a checkpoint from before --precision */
		if (!w && !strcmp(k, "distill"))
			a = "off"; /* from before --distill */
		if (!w && !strcmp(k, "student-layers"))
			a = "all";
		const char *b = json_string_value(v);
		if (!strcmp(a, b))
			continue;
		if (!in_list(allow, k))
			return tl_seterr(e, TL_EXIT_USAGE,
					 "--resume %s: --%s was %s in the checkpoint, now %s: the resumed run would not "
					 "repeat the interrupted one (same options, or --allow-change %s)",
					 ckpt, k, a, b, k);
		if (!quiet)
			fprintf(stderr, "tl-train: --resume: --%s changed from %s to %s (--allow-change): the run is not "
					"the interrupted one continued\n",
				k, a, b);
	}
	return 0;
}

/* ---------------- the loop ---------------- */

void tl_bert_fit_opts_default(tl_bert_fit_opts *o)
{
	memset(o, 0, sizeof *o);
	o->epochs = 3;
	o->batch = 32;
	o->accum = 1;
	o->lr = 5e-5;
	o->momentum = 0.9;
	o->wd = 0.01;
	o->warmup_ratio = 0.06;
	o->warmup_steps = -1;
	o->gamma = 0.1;
	o->clip = 1.0;
	o->max_len = 128;
	o->dropout = -1;
	o->lld = 1.0;
	o->window = 50;
	o->progress_every = 50;
	o->seed = 42;
	o->optimizer = TL_OPT_ADAMW;
	o->schedule = TL_SCHED_LINEAR;
	o->temperature = 2.0;
	o->alpha = 0.5;
	o->hidden_weight = -1;
}

/* --student-layers: "N" (layers floor(i L / N)) or an increasing comma
 * list; into v[*n] (v has room for L). */
static int student_layers(const char *spec, int L, int *v, int *n, tl_err *e)
{
	char *end;
	*n = 0;
	if (!strchr(spec, ',')) {
		long c = strtol(spec, &end, 10);
		if (*end || end == spec || c < 1 || c > L)
			return tl_seterr(e, TL_EXIT_USAGE,
					 "option --student-layers: '%s' is not a layer count 1..%d or a list of layers (0,2,4)",
					 spec, L);
		for (long i = 0; i < c; i++)
			v[(*n)++] = (int)(i * L / c);
		return 0;
	}
	for (const char *p = spec;;) {
		long x = strtol(p, &end, 10);
		if (end == p || x < 0 || x >= L || (*end && *end != ','))
			return tl_seterr(e, TL_EXIT_USAGE, "option --student-layers: '%s': layers are 0..%d, comma separated",
					 spec, L - 1);
		if (*n && x <= v[*n - 1])
			return tl_seterr(e, TL_EXIT_USAGE,
					 "option --student-layers: '%s': layers must increase without repeats", spec);
		if (*n == L)
			return tl_seterr(e, TL_EXIT_USAGE, "option --student-layers: '%s': more layers than %d", spec, L);
		v[(*n)++] = (int)x;
		if (!*end || (*end == ',' && !end[1])) /* "1,": a list of one layer */
			break;
		p = end + 1;
	}
	return 0;
}

/* Class weights of the training data (o->class_weights: "auto" or a file
 * of LABEL WEIGHT lines) into cw[ls->k]. */
static int class_weights(float *cw, const char *spec, const dataset *tr, const labelset *ls, int multi, tl_err *e)
{
	if (!strcmp(spec, "auto")) {
		/* sklearn "balanced": n / (k * count_c) */
		double *cnt = tl_xcalloc((size_t)ls->k, sizeof *cnt);
		size_t nrec = tr->n;
		if (tr->ty) { /* --task token: over the labelled tokens */
			nrec = 0;
			for (size_t i = 0; i < tr->nids; i++)
				if (tr->ty[i] != TL_IGNORE_LABEL)
					cnt[tr->ty[i]] += 1, nrec++;
		}
		for (size_t i = 0; i < tr->n && !tr->ty; i++)
			if (multi) {
				for (int c = 0; c < ls->k; c++)
					cnt[c] += tr->ym[i * (size_t)ls->k + (size_t)c];
			} else
				cnt[tr->y[i]] += 1;
		for (int c = 0; c < ls->k; c++)
			cw[c] = multi ? (float)(cnt[c] > 0 ? ((double)nrec - cnt[c]) / cnt[c] : 1.0)
				      : (float)(cnt[c] > 0 ? (double)nrec / ((double)ls->k * cnt[c]) : 1.0);
		free(cnt);
		return 0;
	}
	FILE *f = fopen(spec, "r");
	if (!f)
		return tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", spec, strerror(errno));
	for (int c = 0; c < ls->k; c++)
		cw[c] = 1.0f;
	char name[1024];
	double w;
	int line = 0, rc = -1;
	while (fscanf(f, "%1023s %lf", name, &w) == 2) {
		line++;
		int id = label_find(ls, name);
		if (id < 0)
			FAIL(TL_EXIT_DATA, "%s: line %d: unknown label '%s'", spec, line, name);
		if (!(w >= 0) || !isfinite(w))
			FAIL(TL_EXIT_DATA, "%s: line %d: weight must be >= 0", spec, line);
		cw[id] = (float)w;
	}
	if (!feof(f))
		FAIL(TL_EXIT_DATA, "%s: line %d: expected 'LABEL WEIGHT'", spec, line + 1);
	rc = 0;
out:
	fclose(f);
	return rc;
}

int tl_bert_fit(const tl_bert_fit_opts *opts, tl_err *e)
{
	tl_bert_fit_opts o = *opts; /* a copy: max_len and ckpt_dir may be adjusted */
	int rc = -1;
	/* everything that the out: label releases */
	tl_buf ckbuf = {0};
	FILE *logf = NULL;
	char *mdir = NULL;
	tl_bert *m = NULL, *teacher = NULL;
	char *tdir = NULL;
	float *thid = NULL;
	int *keep = NULL, nkeep = 0;
	json_t *mcfg = NULL, *st = NULL, *tj = NULL, *optj = NULL;
	dataset tr = {0}, dv = {0};
	tl_leak *lk = NULL;
	labelset ls = {0};
	float *cw = NULL, *best_w = NULL;
	tl_bert_train t;
	int have_t = 0;
	tl_optim opt = {0};
	epoch_plan plan = {0};
	batch_t b = {0};
	char *tmp = NULL;
	char err[1024];

	if (!o.out)
		FAIL(TL_EXIT_USAGE, "no output directory: -o DIR is required");
	if (tl_fs_exists(o.out) && !o.force)
		FAIL(TL_EXIT_USAGE, "%s exists (use --force to replace it)", o.out);
	const tl_kernels *k = tl_kernels_select(o.device, err, sizeof err);
	if (!k)
		FAIL(TL_EXIT_USAGE, "%s", err);
	if (o.precision != TL_PREC_FP32 && o.precision != TL_PREC_BF16)
		FAIL(TL_EXIT_USAGE, "option --precision: %s is not a training precision (fp32, bf16)",
		     tl_precision_name(o.precision));
	if (tl_isa_check(err, sizeof err) < 0)
		FAIL(TL_EXIT_USAGE, "%s", err);
	/* distillation and students */
	if (o.distill) {
		if (!(o.temperature > 0) || !isfinite(o.temperature))
			FAIL(TL_EXIT_USAGE, "option --temperature: %g: the temperature must be > 0", o.temperature);
		if (!(o.alpha >= 0 && o.alpha <= 1))
			FAIL(TL_EXIT_USAGE, "option --alpha: %g is outside [0, 1]", o.alpha);
		if (o.token)
			FAIL(TL_EXIT_USAGE, "--distill is for sequence classification (not --task token)");
		if (o.class_weights || o.ls > 0)
			FAIL(TL_EXIT_USAGE, "--distill: --%s is not applied to the distillation loss: leave it out",
			     o.class_weights ? "class-weights" : "label-smoothing");
	} else if (o.teacher)
		FAIL(TL_EXIT_USAGE, "--teacher is for --distill (the teacher's hidden states beside its logits)");
	if (o.hidden_weight >= 0 && !o.teacher)
		FAIL(TL_EXIT_USAGE, "--hidden-weight needs --teacher DIR (the hidden states to match)");
	if (o.teacher && !(o.hidden_weight < 0 || isfinite(o.hidden_weight)))
		FAIL(TL_EXIT_USAGE, "option --hidden-weight: not a finite number");
	if (!o.ckpt_dir) {
		tl_buf_printf(&ckbuf, "%s.ckpt", o.out);
		o.ckpt_dir = tl_buf_cstr(&ckbuf);
	}
	{ /* --allow-change names options a resume compares */
		labelset none = {0};
		json_t *known = run_options(&o, &none, NULL);
		int bad = check_allow_list(o.allow_change, known, e);
		json_decref(known);
		if (bad < 0)
			goto out;
	}
	/* a resumed run's log is opened once the checkpoint is checked */
	if (o.log && !o.resume && !(logf = fopen(o.log, "w")))
		FAIL(TL_EXIT_IO, "cannot open %s: %s", o.log, strerror(errno));

	/* model */
	if (!(mdir = tl_model_find(o.pretrained, err, sizeof err)))
		FAIL(TL_EXIT_MODEL, "%s; the encoder to start from is --pretrained NAME|DIR", err);
	k->set_threads((int)o.threads);
	if (!(m = tl_bert_load(mdir, k, err, sizeof err)))
		FAIL(TL_EXIT_MODEL, "%s", err);
	/* the model written carries the tokenizer's vocabulary (tl-train(1)):
	 * without it no later tool can check a stream's token ids */
	if (!m->vocab_sha256[0])
		FAIL(TL_EXIT_MODEL, "%s: no vocab.txt (the model directory must carry the tokenizer's vocabulary)", mdir);
	if (!(mcfg = tl_model_read_config(mdir, err, sizeof err)))
		FAIL(TL_EXIT_MODEL, "%s", err);
	if (o.student_layers) { /* the student: some of the encoder's layers */
		keep = tl_xmalloc((size_t)m->cfg.L * sizeof *keep);
		if (student_layers(o.student_layers, m->cfg.L, keep, &nkeep, e) < 0)
			goto out;
		if (tl_bert_keep_layers(m, keep, nkeep, err, sizeof err) < 0)
			FAIL(TL_EXIT_USAGE, "option --student-layers: %s", err);
	}
	if (o.teacher) { /* run beside the student for the hidden-state loss */
		if (!(tdir = tl_model_find(o.teacher, err, sizeof err)))
			FAIL(TL_EXIT_MODEL, "--teacher: %s", err);
		if (!(teacher = tl_bert_load(tdir, k, err, sizeof err)))
			FAIL(TL_EXIT_MODEL, "--teacher: %s", err);
		if (teacher->cfg.C != m->cfg.C)
			FAIL(TL_EXIT_USAGE,
			     "--teacher %s: hidden size %d, the student's is %d: the hidden-state loss needs the same width",
			     tdir, teacher->cfg.C, m->cfg.C);
		if (strcmp(teacher->vocab_sha256, m->vocab_sha256))
			FAIL(TL_EXIT_MODEL, "--teacher %s: another vocabulary than the student's (%s): the same token ids "
					    "would be other words", tdir, mdir);
		if (teacher->cfg.max_pos < (o.max_len < m->cfg.max_pos ? o.max_len : m->cfg.max_pos))
			o.max_len = teacher->cfg.max_pos;
		if (teacher->cfg.type_vocab < m->cfg.type_vocab)
			FAIL(TL_EXIT_MODEL, "--teacher %s: %d token types, the student has %d", tdir, teacher->cfg.type_vocab,
			     m->cfg.type_vocab);
	}
	if (o.max_len > m->cfg.max_pos) {
		if (!o.quiet && o.max_len != 128)
			tl_warn("--max-len %ld is more than the model's max_position_embeddings: using %d", o.max_len,
				m->cfg.max_pos);
		o.max_len = m->cfg.max_pos;
	}

	/* data */
	const char *trname = o.train ? o.train : "standard input";
	if (!o.no_leak_check)
		lk = tl_leak_new();
	tr.token = dv.token = o.token;
	tr.distill = o.distill;
	if (ds_read(&tr, o.train, trname, (int)o.max_len, m->vocab_sha256, mdir, m->cfg.vocab_size, m->cfg.type_vocab,
		    !o.distill, lk, NULL, e) < 0)
		goto out;
	if (tr.n == 0)
		FAIL(TL_EXIT_DATA, "%s: no training records", trname);
	if (o.labels) {
		if (labels_from_file(&ls, o.labels, e) < 0)
			goto out;
	} else if (o.distill && tr.ntlab) {
		if (labels_from_teacher(&ls, &tr, trname, e) < 0)
			goto out;
	} else
		labels_from_data(&ls, &tr);
	int multi = tr.multi;
	if (o.distill) {
		if (multi)
			FAIL(TL_EXIT_DATA, "%s: --distill trains single-label students (the records have label arrays)", trname);
		if (ls.k == 0)
			FAIL(TL_EXIT_DATA, "%s: no label names: neither a stream header from tl-predict nor a \"label\" on "
					   "a record names the logits' labels (give --labels FILE)", trname);
		if (ds_distill_labels(&tr, &ls, o.labels ? o.labels : tr.ntlab ? "the teacher" : "the data's labels",
				      trname, o.quiet, e) < 0)
			goto out;
	}
	if (o.token)
		o.metric_f1 = 1; /* the entity micro-F1 */
	if (ls.k == 0)
		FAIL(TL_EXIT_DATA, "no labels in the training data");
	if (ls.k == 1 && !multi)
		FAIL(TL_EXIT_DATA, "the training data has a single class ('%s'): nothing to learn", ls.name[0]);
	if (ds_map_labels(&tr, &ls, multi, trname, e) < 0)
		goto out;
	if (o.dev) {
		tl_leak_eval ev;
		tl_leak_eval_init(&ev, o.dev, o.drop_leaked);
		if (ds_read(&dv, o.dev, o.dev, (int)o.max_len, m->vocab_sha256, mdir, m->cfg.vocab_size, m->cfg.type_vocab,
			    1, lk, lk ? &ev : NULL, e) < 0)
			goto out;
		char dropped[1024], dups[1024];
		tl_leak_eval_summary(&ev, dropped, sizeof dropped, dups, sizeof dups);
		if (!o.quiet && *dropped)
			tl_warn("%s", dropped);
		if (!o.quiet && *dups)
			tl_warn("%s", dups);
		if (dv.n == 0)
			FAIL(TL_EXIT_DATA, "%s: no dev records", o.dev);
		if (ds_map_labels(&dv, &ls, multi, o.dev, e) < 0)
			goto out;
	}
	/* data sha256: ids and labels of the training records, in order */
	char data_sha[65], dev_sha[65];
	ds_sha(&tr, data_sha);
	if (o.dev)
		ds_sha(&dv, dev_sha);
	optj = run_options(&o, &ls, o.dev ? dev_sha : NULL);

	/* class weights */
	if (o.class_weights) {
		cw = tl_xmalloc((size_t)ls.k * sizeof *cw);
		if (class_weights(cw, o.class_weights, &tr, &ls, multi, e) < 0)
			goto out;
	}

	/* trainer */
	json_t *jd;
	double p_hidden = 0.1, p_att = 0.1, p_cls = -1;
	if (json_is_number(jd = json_object_get(mcfg, "hidden_dropout_prob")))
		p_hidden = json_number_value(jd);
	if (json_is_number(jd = json_object_get(mcfg, "attention_probs_dropout_prob")))
		p_att = json_number_value(jd);
	if (json_is_number(jd = json_object_get(mcfg, "classifier_dropout")))
		p_cls = json_number_value(jd);
	if (p_cls < 0)
		p_cls = p_hidden;
	if (o.dropout >= 0)
		p_hidden = p_att = p_cls = o.dropout;
	double init_std = 0.02;
	if (json_is_number(jd = json_object_get(mcfg, "initializer_range")))
		init_std = json_number_value(jd);
	tl_bert_train_init(&t, m, ls.k, multi, (float)init_std, o.seed);
	have_t = 1; /* t owns the model now */
	m = t.m;
	tl_bert_train_set_precision(&t, o.precision);
	t.token = o.token;
	float hw = o.teacher ? (float)(o.hidden_weight < 0 ? 1.0 : o.hidden_weight) : 0.0f;
	/* --distill: alpha mixes in the hard labels where records have them */
	float kd_alpha = tr.nlabelled ? (float)o.alpha : 1.0f;
	t.p_hidden = (float)p_hidden;
	t.p_att = (float)p_att;
	t.p_cls = (float)p_cls;
	int L = m->cfg.L;
	if (o.freeze) {
		char *end;
		if (!strcmp(o.freeze, "embeddings"))
			t.freeze_below = 0;
		else if (!strcmp(o.freeze, "all"))
			t.freeze_below = L;
		else if (!strcmp(o.freeze, "none"))
			t.freeze_below = -1;
		else {
			long v = strtol(o.freeze, &end, 10);
			if (*end || end == o.freeze || v < 0 || v > L)
				FAIL(TL_EXIT_USAGE, "option --freeze: '%s' is not embeddings, all, or a layer count 0..%d", o.freeze,
				     L);
			t.freeze_below = (int)v;
		}
	}

	/* steps */
	long nb = (long)((tr.n + (size_t)o.batch - 1) / (size_t)o.batch);
	long steps_per_epoch = (nb + o.accum - 1) / o.accum;
	long total = steps_per_epoch * o.epochs;
	if (o.max_steps > 0 && o.max_steps < total)
		total = o.max_steps;
	tl_optim_init(&opt, m->nparams, m->k);
	opt.kind = o.optimizer;
	opt.lr = (float)o.lr;
	opt.wd = (float)o.wd;
	opt.momentum = (float)o.momentum;
	opt.sched = o.schedule;
	opt.total = total;
	opt.warmup = o.warmup_steps >= 0 ? o.warmup_steps : (long)ceil(o.warmup_ratio * (double)total);
	opt.step_size = o.step_size > 0 ? o.step_size : steps_per_epoch;
	opt.gamma = (float)o.gamma;
	{
		size_t nt;
		tl_bert_tensor *ts = tl_bert_train_tensors(m, &nt);
		for (size_t i = 0; i < nt; i++) {
			int layer = ts[i].layer; /* -1 emb, 0..L-1, L head */
			int frozen = (layer < L && layer < t.freeze_below) ||
				     (o.token && !strncmp(ts[i].name, "bert.pooler.", 12)); /* unused by the token head */
			int depth = layer + 1; /* emb 0, layers 1..L, head L+1 */
			float scale = (float)pow(o.lld, (double)(L + 1 - depth));
			tl_optim_add(&opt, ts[i].off, ts[i].n, scale, !ts[i].no_decay, frozen);
		}
		free(ts);
	}

	/* state */
	double elapsed0 = 0; /* training seconds before --resume */
	fit_pos ps = {.epoch = 0, .bi = 0, .best_step = -1, .bad_evals = 0, .best = -1, .best_res = {0, 0, 0}};
	if (o.resume) {
		/* a missing or damaged file in the checkpoint (a run killed while
		 * writing it, a copy cut short) is a bad model file: exit 5; a
		 * checkpoint directory that is not there at all stays exit 4 */
		tl_fs_clean_stale(o.resume); /* a checkpoint left aside by a killed run comes back */
		if (!(st = tl_ckpt_read_state(o.resume, err, sizeof err)))
			FAIL(tl_fs_exists(o.resume) ? TL_EXIT_MODEL : TL_EXIT_IO, "--resume: %s", err);
		static const char *const need[] = {"data_sha256", "nparams", "nlabels", "epoch", "batch", "step"};
		for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
			json_t *v = json_object_get(st, need[i]);
			if (i ? !json_is_integer(v) || json_integer_value(v) < 0 : !json_is_string(v))
				FAIL(TL_EXIT_MODEL, "--resume %s: state.json has no valid \"%s\" (a damaged checkpoint)", o.resume,
				     need[i]);
		}
		/* options first: --max-len changes the data too */
		if (check_resume_options(st, optj, o.resume, o.allow_change, o.quiet, e) < 0)
			goto out;
		const char *sha = json_string_value(json_object_get(st, "data_sha256"));
		if (!sha || strcmp(sha, data_sha))
			FAIL(TL_EXIT_DATA, "--resume %s: the checkpoint was made on other training data (data sha256 %.12s..., now %.12s...)",
			     o.resume, sha ? sha : "?", data_sha);
		if (json_integer_value(json_object_get(st, "nparams")) != (json_int_t)m->nparams ||
		    json_integer_value(json_object_get(st, "nlabels")) != ls.k)
			FAIL(TL_EXIT_MODEL, "--resume %s: the checkpoint is for another model or label set", o.resume);
		json_t *el = json_object_get(st, "elapsed");
		if (json_is_number(el) && json_number_value(el) >= 0)
			elapsed0 = json_number_value(el);
		ps.epoch = (long)json_integer_value(json_object_get(st, "epoch"));
		ps.bi = (long)json_integer_value(json_object_get(st, "batch"));
		opt.t = (long)json_integer_value(json_object_get(st, "step"));
		ps.best = json_number_value(json_object_get(st, "best"));
		ps.best_step = (long)json_integer_value(json_object_get(st, "best_step"));
		ps.bad_evals = (long)json_integer_value(json_object_get(st, "bad_evals"));
		ps.best_res.acc = json_number_value(json_object_get(st, "best_accuracy"));
		ps.best_res.f1 = json_number_value(json_object_get(st, "best_macro_f1"));
		ps.best_res.loss = json_number_value(json_object_get(st, "best_loss"));
		if (tl_ckpt_read_tensor(o.resume, "params", m->arena, m->nparams, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		tl_bert_train_weights_changed(&t);
		opt.m = tl_xcalloc(m->nparams, sizeof(float));
		if (tl_ckpt_read_tensor(o.resume, "m", opt.m, m->nparams, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		if (opt.kind == TL_OPT_ADAMW) {
			opt.v = tl_xcalloc(m->nparams, sizeof(float));
			if (tl_ckpt_read_tensor(o.resume, "v", opt.v, m->nparams, err, sizeof err) < 0)
				FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		}
		if (ps.best_step >= 0) {
			best_w = tl_xmalloc(m->nparams * sizeof(float));
			if (tl_ckpt_read_tensor(o.resume, "best", best_w, m->nparams, err, sizeof err) < 0)
				FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		}
		if (o.log) {
			/* the log goes on: cut back to the checkpoint's last line when
			 * it is the same file (steps after the checkpoint are run
			 * again), then append */
			json_t *lp = json_object_get(st, "log"), *lb = json_object_get(st, "log_bytes");
			struct stat sb;
			if (json_is_string(lp) && !strcmp(json_string_value(lp), o.log) && json_is_integer(lb) &&
			    stat(o.log, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= (off_t)json_integer_value(lb) &&
			    truncate(o.log, (off_t)json_integer_value(lb)) != 0)
				FAIL(TL_EXIT_IO, "cannot truncate %s: %s", o.log, strerror(errno));
			if (!(logf = fopen(o.log, "a")))
				FAIL(TL_EXIT_IO, "cannot open %s: %s", o.log, strerror(errno));
		}
		json_decref(st);
		st = NULL;
	}

	if (!o.quiet) {
		static const char *sn[] = {"linear", "cosine", "constant", "step"};
		fprintf(stderr,
			"tl-train: bert from %s: %zu records (%llu tokens), %d %slabels, %s\n"
			"tl-train: epochs %ld, batch %ld x %ld, %ld steps, lr %g (%s, %s schedule, warmup %ld), weight decay %g, "
			"clip %g, max-len %ld, dropout %g/%g/%g, seed %llu%s%s\n",
			mdir, tr.n, (unsigned long long)tr.tokens, ls.k, multi ? "multi-" : "",
			o.dev ? "dev evaluated" : "no dev set", o.epochs, o.batch, o.accum, total, o.lr,
			o.optimizer == TL_OPT_SGD ? "sgd" : "adamw", sn[o.schedule], opt.warmup, o.wd, o.clip, o.max_len,
			p_hidden, p_att, p_cls, (unsigned long long)o.seed, o.freeze ? ", freeze " : "", o.freeze ? o.freeze : "");
		if (o.resume)
			fprintf(stderr, "tl-train: resuming from %s at step %ld (epoch %ld, batch %ld)\n", o.resume, opt.t,
				ps.epoch + 1, ps.bi);
	}

	char extra[256], js[512];
	tl_progress prog;
	tl_progress_init(&prog, "step", (uint64_t)total, o.quiet, logf);
	prog.done = (uint64_t)opt.t;
	prog.t0 -= elapsed0; /* elapsed time goes on from the checkpoint's */
	if (o.resume) {
		snprintf(extra, sizeof extra, "\"event\":\"resume\",\"epoch\":%ld,\"step\":%ld", ps.epoch + 1, opt.t);
		tl_progress_log(&prog, extra);
	}
	double loss_sum = 0;
	long loss_n = 0;
	/* the training loss over the last epoch (for tl.json): reset when an
	 * epoch starts; after --resume mid-epoch, the steps since the resume */
	double ep_loss_sum = 0;
	long ep_loss_n = 0;
	uint64_t tok_window = 0;
	double t_window = tl_now(), t_start = prog.t0;
	int stop = 0, stopped_early = 0, wrote_ckpt = 0;
	float *cw_ptr = cw;
	const char *fk = getenv("TL_FAULT_KILL_AT_STEP"), *fi = getenv("TL_FAULT_SIGINT_AT_STEP");
	long kill_at = fk ? atol(fk) : 0, int_at = fi ? atol(fi) : 0;

#define SAVE_CKPT(dirpath)                                                                            \
	do {                                                                                          \
		fit_meta mt_ = {optj, tl_now() - t_start, o.log, logf ? (long long)ftell(logf) : 0};         \
		if (save_ckpt(dirpath, &ps, &opt, m, best_w, o.seed, data_sha, ls.k, mdir, &mt_, e) < 0) \
			goto out;                                                                     \
		wrote_ckpt = 1;                                                                       \
	} while (0)

	tl_bert_train_zero_grad(&t);
	while (!stop && ps.epoch < o.epochs) {
		plan_epoch(&plan, &tr, o.batch, o.window, o.seed, ps.epoch);
		if (ps.bi == 0) {
			ep_loss_sum = 0;
			ep_loss_n = 0;
		}
		while (ps.bi < (long)plan.nb && !stop) {
			/* one optimizer step: accum micro-batches (fewer at the end of the epoch) */
			long n_micro = 0;
			double step_loss = 0;
			uint64_t step_tokens = 0;
			while (n_micro < o.accum && ps.bi < (long)plan.nb) {
				size_t s0 = plan.start[ps.bi], s1 = plan.start[ps.bi + 1];
				make_batch(&b, &tr, plan.idx + s0, s1 - s0, ls.k);
				uint64_t micro = (uint64_t)ps.epoch * (uint64_t)plan.nb + (uint64_t)ps.bi;
				tl_bert_train_forward(&t, b.ids, tr.types ? b.types : NULL, b.lens, b.B, b.T, 1, o.seed, micro);
				int has_sw = 0;
				for (int i = 0; i < b.B; i++)
					has_sw |= b.sw[i] != 1.0f;
				double l = o.token ? tl_bert_train_token_loss(&t, b.ty, cw_ptr, (float)o.ls, 1.0f / (float)o.accum)
					   : o.distill ? tl_bert_train_kd_loss(&t, b.lg, (float)o.temperature, kd_alpha,
									       tr.nlabelled ? b.y : NULL, has_sw ? b.sw : NULL,
									       1.0f / (float)o.accum)
						       : tl_bert_train_loss(&t, b.y, b.ym, cw_ptr, has_sw ? b.sw : NULL, (float)o.ls,
									    1.0f / (float)o.accum);
				if (teacher && hw > 0) { /* DistilBERT's cosine loss on the last hidden states */
					tl_bert_forward(teacher, b.ids, tr.types ? b.types : NULL, b.lens, b.B, b.T, -1);
					const float *th = teacher->out;
					if (!k->host_memory) {
						thid = tl_xrealloc(thid, (size_t)b.B * b.T * teacher->cfg.C * sizeof *thid);
						k->to_host(thid, th, (size_t)b.B * b.T * teacher->cfg.C * sizeof *thid);
						th = thid;
					}
					l += tl_bert_train_hidden_cos_loss(&t, th, hw, 1.0f / (float)o.accum);
				}
				if (!isfinite(l)) {
					/* parameters are still those of the last good step */
					tl_progress_finish(&prog, NULL);
					SAVE_CKPT(o.ckpt_dir);
					FAIL(TL_EXIT_FAIL,
					     "loss is %s at step %ld (epoch %ld): stopping; the last good state is saved in %s (lower --lr?)",
					     isnan(l) ? "NaN" : "infinite", opt.t + 1, ps.epoch + 1, o.ckpt_dir);
				}
				tl_bert_train_backward(&t, 1, o.seed, micro);
				step_loss += l / (double)o.accum;
				for (int i = 0; i < b.B; i++)
					step_tokens += (uint64_t)b.lens[i];
				n_micro++;
				ps.bi++;
			}
			double lr_now = tl_optim_lr(&opt);
			/* clip, update and zero the gradient for the next step in one go */
			double gnorm = tl_optim_step_clip_zero(&opt, m->arena, t.grad_arena, o.clip);
			tl_bert_train_weights_changed(&t); /* bf16: rounded again from the fp32 master weights */
			loss_sum += step_loss;
			loss_n++;
			ep_loss_sum += step_loss;
			ep_loss_n++;
			tok_window += step_tokens;
			double now = tl_now();
			double tps = now > t_window ? (double)tok_window / (now - t_window) : 0;
			int pe = opt.t % o.progress_every == 0;
			snprintf(js, sizeof js,
				 "\"event\":\"step\",\"epoch\":%ld,\"step\":%ld,\"loss\":%.6f,\"lr\":%.6e,\"grad_norm\":%.6f,\"tokens\":%llu,\"tokens_per_s\":%.1f",
				 ps.epoch + 1, opt.t, step_loss, lr_now, gnorm, (unsigned long long)step_tokens, tps);
			tl_progress_log(&prog, js);
			snprintf(extra, sizeof extra, "epoch %ld/%ld, loss %.4f, lr %.2e, %.0f tokens/s", ps.epoch + 1, o.epochs,
				 loss_sum / (double)loss_n, lr_now, tps);
			tl_progress_update(&prog, (uint64_t)opt.t, extra, pe && !prog.tty);
			if (pe) {
				loss_sum = 0;
				loss_n = 0;
				tok_window = 0;
				t_window = now;
			}
			int end_epoch = ps.bi >= (long)plan.nb;
			if (o.max_steps > 0 && opt.t >= o.max_steps)
				stop = 1;
			int do_eval = o.dev && ((o.eval_every > 0 && opt.t % o.eval_every == 0) ||
						(o.eval_every <= 0 && end_epoch) || stop);
			if (do_eval) {
				evalres r;
				if (o.token) {
					if (evaluate_token(&t, &dv, &ls, &r, e) < 0)
						goto out;
				} else
					r = evaluate(&t, &dv, ls.k, multi);
				double metric = o.metric_f1 ? r.f1 : r.acc;
				int better = metric > ps.best;
				if (better) {
					ps.best = metric;
					ps.best_step = opt.t;
					ps.best_res = r;
					ps.bad_evals = 0;
					/* best_w is host memory, the arena backend memory */
					if (!best_w)
						best_w = tl_xmalloc(m->nparams * sizeof(float));
					k->to_host(best_w, m->arena, m->nparams * sizeof(float));
				} else
					ps.bad_evals++;
				snprintf(js, sizeof js,
					 o.token ? "\"event\":\"eval\",\"epoch\":%ld,\"step\":%ld,\"dev_loss\":%.6f,\"word_accuracy\":%.6f,\"entity_f1\":%.6f,\"best\":%s"
						 : "\"event\":\"eval\",\"epoch\":%ld,\"step\":%ld,\"dev_loss\":%.6f,\"accuracy\":%.6f,\"macro_f1\":%.6f,\"best\":%s",
					 ps.epoch + 1, opt.t, r.loss, r.acc, r.f1, better ? "true" : "false");
				tl_progress_log(&prog, js);
				if (!o.quiet) {
					if (prog.tty && prog.printed)
						fputc('\n', stderr);
					fprintf(stderr, "tl-train: dev at step %ld (epoch %ld): %s %.4f, %s %.4f, loss %.4f%s\n",
						opt.t, ps.epoch + 1, o.token ? "word accuracy" : "accuracy", r.acc,
						o.token ? "entity F1" : "macro-F1", r.f1, r.loss, better ? " (best)" : "");
				}
				if (o.patience > 0 && ps.bad_evals >= o.patience) {
					stop = 1;
					stopped_early = 1;
					if (!o.quiet)
						fprintf(stderr, "tl-train: no improvement in %ld evaluations: stopping early\n", ps.bad_evals);
				}
			}
			if (end_epoch && !stop) {
				ps.epoch++;
				ps.bi = 0;
			}
			if (o.ckpt_every > 0 && opt.t % o.ckpt_every == 0 && !stop)
				SAVE_CKPT(o.ckpt_dir);
			/* fault injection for the tests: a real SIGKILL / SIGINT after step N */
			if (kill_at > 0 && opt.t == kill_at)
				raise(SIGKILL);
			if (int_at > 0 && opt.t == int_at)
				raise(SIGINT);
			if (o.stop && *o.stop) {
				tl_progress_finish(&prog, NULL);
				SAVE_CKPT(o.ckpt_dir);
				FAIL(TL_EXIT_INTERRUPTED,
				     "interrupted at step %ld: checkpoint saved in %s (continue with --resume %s)", opt.t,
				     o.ckpt_dir, o.ckpt_dir);
			}
			if (end_epoch)
				break;
		}
		if (ps.bi >= (long)plan.nb) {
			ps.epoch++;
			ps.bi = 0;
		}
	}
#undef SAVE_CKPT
	double train_secs = tl_now() - t_start;
	snprintf(extra, sizeof extra, "%.0f s", train_secs);
	tl_progress_finish(&prog, extra);

	/* output */
	const float *final_w = best_w ? best_w : m->arena;
	tj = json_object();
	json_object_set_new(tj, "tool", json_string("tl-train"));
	json_object_set_new(tj, "version", json_string(TL_VERSION));
	json_object_set_new(tj, "model", json_string("bert"));
	json_object_set_new(tj, "task", json_string(o.token ? "token" : "sequence"));
	json_object_set_new(tj, "pretrained", json_string(mdir));
	json_t *av = json_array();
	for (int i = 1; i < o.argc; i++)
		json_array_append_new(av, json_string(o.argv[i]));
	json_object_set_new(tj, "args", av);
	json_object_set_new(tj, "seed", json_integer((json_int_t)o.seed));
	json_object_set_new(tj, "data_sha256", json_string(data_sha));
	json_object_set_new(tj, "train_records", json_integer((json_int_t)tr.n));
	json_object_set_new(tj, "train_tokens", json_integer((json_int_t)tr.tokens));
	json_object_set_new(tj, "steps", json_integer(opt.t));
	json_object_set_new(tj, "stopped_early", json_boolean(stopped_early));
	/* the products' precision in training; the weights saved are fp32 */
	json_object_set_new(tj, "precision", json_string(tl_precision_name(o.precision)));
	json_t *hp = json_pack("{s:f,s:i,s:i,s:i,s:f,s:i,s:f,s:f,s:i,s:f,s:f,s:f,s:f,s:s,s:s}", "lr", o.lr, "batch_size",
			       (json_int_t)o.batch, "grad_accum", (json_int_t)o.accum, "epochs", (json_int_t)o.epochs,
			       "weight_decay", o.wd, "warmup_steps", (json_int_t)opt.warmup, "clip", o.clip,
			       "label_smoothing", o.ls, "max_len", (json_int_t)o.max_len, "hidden_dropout", p_hidden,
			       "attention_dropout", p_att, "classifier_dropout", p_cls, "layer_lr_decay", o.lld,
			       "optimizer", o.optimizer == TL_OPT_SGD ? "sgd" : "adamw", "freeze",
			       o.freeze ? o.freeze : "none");
	json_object_set_new(tj, "hyperparameters", hp);
	{
		static const char *sched_names[] = {"linear", "cosine", "constant", "step"};
		json_t *sc = json_pack("{s:s,s:I,s:I}", "name", sched_names[o.schedule], "warmup_steps",
				       (json_int_t)opt.warmup, "total_steps", (json_int_t)opt.total);
		if (o.schedule == TL_SCHED_STEP) {
			json_object_set_new(sc, "step_size", json_integer(opt.step_size));
			json_object_set_new(sc, "gamma", json_real(opt.gamma));
		}
		json_object_set_new(tj, "schedule", sc);
	}
	if (o.distill) {
		json_t *dj = json_pack("{s:f,s:f,s:b,s:I}", "temperature", o.temperature, "alpha", (double)kd_alpha,
				       "teacher_labels_in_header", tr.ntlab > 0, "labelled_records", (json_int_t)tr.nlabelled);
		if (teacher) {
			json_object_set_new(dj, "teacher", json_string(tdir));
			json_object_set_new(dj, "hidden_weight", json_real(hw));
		}
		json_object_set_new(tj, "distill", dj);
	}
	if (keep) {
		json_t *sl = json_array();
		for (int i = 0; i < nkeep; i++)
			json_array_append_new(sl, json_integer(keep[i]));
		json_object_set_new(tj, "student_layers", sl); /* indices into the pretrained encoder's layers */
	}
	if (cw) { /* the weights used, by label name (--class-weights) */
		json_t *cj = json_object();
		for (int c = 0; c < ls.k; c++)
			json_object_set_new(cj, ls.name[c], json_real(cw[c]));
		json_object_set_new(tj, "class_weights", cj);
	}
	{
		json_t *mt = json_object();
		json_object_set_new(mt, "train_loss", ep_loss_n > 0 ? json_real(ep_loss_sum / (double)ep_loss_n) : json_null());
		json_object_set_new(mt, "train_loss_steps", json_integer(ep_loss_n));
		json_object_set_new(mt, "train_loss_over", json_string("the optimizer steps of the last epoch"));
		json_object_set_new(mt, "train_seconds", json_real(train_secs));
		json_object_set_new(tj, "metrics", mt);
	}
	if (o.dev && o.token)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:f,s:i,s:i}", "word_accuracy", ps.best_res.acc,
							 "entity_f1", ps.best_res.f1, "loss", ps.best_res.loss, "step",
							 (json_int_t)ps.best_step, "records", (json_int_t)dv.n));
	else if (o.dev)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:f,s:i,s:i}", "accuracy", ps.best_res.acc, "macro_f1",
							 ps.best_res.f1, "loss", ps.best_res.loss, "step",
							 (json_int_t)ps.best_step, "records", (json_int_t)dv.n));
	if (!(tmp = tl_fs_tmpdir_for(o.out)))
		FAIL(TL_EXIT_IO, "cannot create a temporary directory next to %s: %s", o.out, strerror(errno));
	if (lk)
		json_object_set_new(tj, "train_keys", tl_train_keys_json(tl_leak_train_keys(lk)));
	if (save_model(tmp, m, final_w, mdir, &ls, multi, o.token, tj, o.max_len, lk ? tl_leak_train_keys(lk) : NULL) != 0) {
		int en = errno;
		tl_fs_rmtree(tmp);
		FAIL(TL_EXIT_IO, "cannot save the model to %s: %s", o.out, strerror(en));
	}
	if (tl_fs_publish_dir(tmp, o.out, o.force) != 0) {
		int en = errno;
		tl_fs_rmtree(tmp);
		FAIL(TL_EXIT_IO, "cannot publish the model as %s: %s", o.out, strerror(en));
	}
	/* the checkpoint has served: remove it (hundreds of MB) unless kept */
	if (!o.keep_ckpt && tl_fs_exists(o.ckpt_dir)) {
		int ours = wrote_ckpt;
		if (!ours && o.resume) {
			char *a = realpath(o.resume, NULL), *b = realpath(o.ckpt_dir, NULL);
			ours = a && b && !strcmp(a, b);
			free(a);
			free(b);
		}
		tl_buf sp = {0};
		tl_buf_printf(&sp, "%s/state.json", o.ckpt_dir);
		if (ours && tl_fs_exists(tl_buf_cstr(&sp))) {
			if (tl_fs_rmtree(o.ckpt_dir) != 0)
				tl_warn("cannot remove the checkpoint %s: %s", o.ckpt_dir, strerror(errno));
			else if (!o.quiet)
				fprintf(stderr, "tl-train: removed the checkpoint %s (--keep-checkpoint keeps it)\n", o.ckpt_dir);
		}
		tl_buf_free(&sp);
	}
	if (!o.quiet) {
		if (o.dev && o.token)
			fprintf(stderr, "tl-train: wrote %s (best dev entity F1 %.4f at step %ld; word accuracy %.4f)\n", o.out,
				ps.best, ps.best_step, ps.best_res.acc);
		else if (o.dev)
			fprintf(stderr, "tl-train: wrote %s (best dev %s %.4f at step %ld; accuracy %.4f, macro-F1 %.4f)\n", o.out,
				o.metric_f1 ? "macro-F1" : "accuracy", ps.best, ps.best_step, ps.best_res.acc, ps.best_res.f1);
		else
			fprintf(stderr, "tl-train: wrote %s after %ld steps\n", o.out, opt.t);
	}
	if (logf) {
		int ferr = ferror(logf); /* a failed fflush leaves only the error flag */
		int bad = fclose(logf) != 0;
		int en = errno;
		logf = NULL;
		if (bad)
			FAIL(TL_EXIT_IO, "cannot write %s: %s", o.log, strerror(en));
		if (ferr)
			FAIL(TL_EXIT_IO, "write error on %s", o.log);
	}
	rc = 0;
out:
	free(tmp);
	free(keep);
	free(thid);
	free(tdir);
	tl_bert_free(teacher);
	json_decref(tj);
	json_decref(optj);
	json_decref(st);
	json_decref(mcfg);
	free(best_w);
	free(cw);
	free(plan.idx);
	free(plan.start);
	batch_free(&b);
	tl_optim_free(&opt);
	if (have_t)
		tl_bert_train_free(&t);
	else if (m)
		tl_bert_free(m);
	for (int i = 0; i < ls.k; i++)
		free(ls.name[i]);
	free(ls.name);
	ds_free(&tr);
	ds_free(&dv);
	tl_leak_free(lk);
	free(mdir);
	tl_buf_free(&ckbuf);
	if (logf)
		fclose(logf);
	return rc;
}
