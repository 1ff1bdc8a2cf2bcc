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
#include "bert_da.h"
#include "bert_mlm.h"
#include "tl/bert_train.h"
#include "tl/checkpoint.h"
#include "tl/classifier.h"
#include "tl/cli.h"
#include "tl/dist.h"
#include "tl/fsutil.h"
#include "tl/hash.h"
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
	/* multi-task: records carrying "task" (all or none): task[i] indexes
	 * tname (sorted by name once the training stream is read; a dev
	 * stream borrows the training's names, tasks_fixed); arr[i] 1 when
	 * record i's label was an array. first_without: the number of the
	 * first record without "task" (0: none yet). */
	int *task;
	unsigned char *arr;
	char **tname;
	int ntask, tasks_fixed;
	size_t ntask_recs;
	uint64_t first_without;
	/* domain adaptation (bert_da.h; NULL: off): the domain of every record
	 * read, records without "label" allowed (y TL_IGNORE_LABEL) and kept
	 * out of the leak check's training keys (no label is seen) */
	tl_da *da;
	/* --objective mlm (bert_mlm.h): "label" is not read (counted in
	 * mlm_labels); a record with nothing to mask is skipped (counted,
	 * the first one's number kept) */
	const tl_mlm_ctx *mlm;
	size_t mlm_labels, mlm_skipped;
	uint64_t mlm_first_skipped;
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
	free(d->task), free(d->arr);
	if (!d->tasks_fixed)
		for (int i = 0; i < d->ntask; i++)
			free(d->tname[i]);
	if (!d->tasks_fixed)
		free(d->tname);
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
		}
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
		const msgpack_object *lo = d->token || d->mlm ? NULL : tl_rec_get(&rec, "label");
		d->mlm_labels += d->mlm && tl_rec_get(&rec, "label");
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
		if (lk && !ev && (nl > 0 || !d->da)) /* domain adaptation: unlabelled records are no training keys */
			tl_leak_add_train(lk, &rec);
		if (d->da && tl_da_rec(d->da, &rec, nl > 0, what, e) < 0)
			goto out;
		if (d->distill && ds_read_logits(d, &rec, what, &fbuf, &fcap, e) < 0)
			goto out;
		if (d->distill)
			d->nlabelled += nl > 0;
		/* multi-task: "task" on every record or on none */
		int ti = -1;
		const msgpack_object *tko = tl_rec_get(&rec, "task");
		if (tko) {
			if (tko->type != MSGPACK_OBJECT_STR || tko->via.str.size == 0)
				FAIL_REC(rec.no, "%s: \"task\" is not a non-empty string", what);
			if (d->token)
				FAIL_REC(rec.no, "%s: \"task\" on a record of --task token (multi-task heads are sequence heads)", what);
			if (d->first_without)
				FAIL_REC(d->first_without, "%s: no \"task\" (record %llu names one: every record must name its task, or none)",
					 what, (unsigned long long)rec.no);
			const char *tp = tko->via.str.ptr;
			uint32_t tl = tko->via.str.size;
			for (int i = 0; i < d->ntask && ti < 0; i++)
				if (strlen(d->tname[i]) == tl && !memcmp(d->tname[i], tp, tl))
					ti = i;
			if (ti < 0 && d->tasks_fixed) {
				tl_buf tb = {0};
				for (int i = 0; i < d->ntask; i++)
					tl_buf_printf(&tb, "%s%s", i ? ", " : "", d->tname[i]);
				tl_seterr(e, TL_EXIT_DATA, "record %llu: %s: task '%.*s' is not a task of the training data (%s)",
					  (unsigned long long)rec.no, what, (int)(tl > 64 ? 64 : tl), tp,
					  d->ntask ? tl_buf_cstr(&tb) : "it has no \"task\"");
				tl_buf_free(&tb);
				goto out;
			}
			if (ti < 0) {
				int okname = tl <= 48;
				for (uint32_t i = 0; i < tl && okname; i++)
					okname = (tp[i] >= 'a' && tp[i] <= 'z') || (tp[i] >= 'A' && tp[i] <= 'Z') ||
						 (tp[i] >= '0' && tp[i] <= '9') || tp[i] == '_' || tp[i] == '-';
				if (!okname)
					FAIL_REC(rec.no, "%s: task '%.*s' is not a name of at most 48 letters, digits, '_' and '-' (it names tensors)",
						 what, (int)(tl > 64 ? 64 : tl), tp);
				d->tname = tl_xrealloc(d->tname, (size_t)(d->ntask + 1) * sizeof *d->tname);
				d->tname[d->ntask] = tl_xmalloc(tl + 1);
				memcpy(d->tname[d->ntask], tp, tl);
				d->tname[d->ntask][tl] = 0;
				ti = d->ntask++;
			}
			d->ntask_recs++;
		} else {
			if (d->ntask_recs || (d->tasks_fixed && d->ntask))
				FAIL_REC(rec.no, "%s: no \"task\" (%s: every record must name its task, or none)", what,
					 d->ntask_recs ? "earlier records name one" : "the model is trained on tasks");
			if (!d->first_without)
				d->first_without = rec.no;
		}
		if (d->n == capn) {
			capn = capn ? 2 * capn : 4096;
			d->task = tl_xrealloc(d->task, capn * sizeof *d->task);
			d->arr = tl_xrealloc(d->arr, capn * sizeof *d->arr);
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
		if (d->mlm && tl_mlm_maskable(d->mlm, buf, len) == 0) { /* only [CLS] [SEP]: nothing to predict */
			if (!d->mlm_skipped++)
				d->mlm_first_skipped = rec.no;
			continue;
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
		d->task[d->n] = ti;
		d->arr[d->n] = lo && lo->type == MSGPACK_OBJECT_ARRAY;
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

/* Domain adaptation: append the records of s (read by ds_read, labels not
 * yet mapped, no token or distillation data) after d's; d gets copies of
 * s's label strings (s is freed by the caller). */
static void ds_append(dataset *d, dataset *s)
{
	size_t n = d->n + s->n;
	d->off = tl_xrealloc(d->off, (n + 1) * sizeof *d->off);
	d->len = tl_xrealloc(d->len, (n + 1) * sizeof *d->len);
	d->loff = tl_xrealloc(d->loff, (n + 1) * sizeof *d->loff);
	d->nl = tl_xrealloc(d->nl, (n + 1) * sizeof *d->nl);
	d->sw = tl_xrealloc(d->sw, (n + 1) * sizeof *d->sw);
	d->task = tl_xrealloc(d->task, (n + 1) * sizeof *d->task);
	d->arr = tl_xrealloc(d->arr, n + 1);
	d->ids = tl_xrealloc(d->ids, (d->nids + s->nids + 1) * sizeof *d->ids);
	memcpy(d->ids + d->nids, s->ids, s->nids * sizeof *d->ids);
	if (d->types || s->types) {
		int had = d->types != NULL;
		d->types = tl_xrealloc(d->types, (d->nids + s->nids + 1) * sizeof *d->types);
		if (!had) /* d's own records had no type ids: zeros */
			memset(d->types, 0, d->nids * sizeof *d->types);
		for (size_t i = 0; i < s->nids; i++)
			d->types[d->nids + i] = s->types ? s->types[i] : 0;
	}
	for (size_t i = 0; i < s->n; i++) {
		d->off[d->n + i] = s->off[i] + d->nids;
		d->len[d->n + i] = s->len[i];
		d->loff[d->n + i] = s->loff[i] + d->nlab;
		d->nl[d->n + i] = s->nl[i];
		d->sw[d->n + i] = s->sw[i];
		d->task[d->n + i] = -1;
		d->arr[d->n + i] = s->arr[i];
	}
	for (size_t i = 0; i < s->nlab; i++)
		ds_add_label(d, s->lab[i], strlen(s->lab[i]));
	d->multi |= s->multi;
	d->tokens += s->tokens;
	d->nids += s->nids;
	d->capids = d->nids + 1;
	d->n = n;
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

/* --pretrained DIR held a classifier of as many rows as the labels:
 * config.json's id2label names its rows. The same names in another order:
 * the rows follow their labels; other names: a fresh classifier (its rows
 * meant other labels); no id2label: the rows are kept in order. Said on
 * stderr unless quiet. */
static void continue_head(tl_bert_train *t, const json_t *mcfg, const labelset *ls, const char *mdir, int quiet,
			  float init_std, uint64_t seed)
{
	const json_t *id2 = json_object_get(mcfg, "id2label");
	if (!json_is_object(id2) || json_object_size(id2) == 0)
		return;
	int *perm = tl_xmalloc(((size_t)ls->k + 1) * sizeof *perm), same = 1, ident = 1;
	unsigned char *used = tl_xcalloc((size_t)ls->k + 1, 1);
	tl_buf was = {0};
	for (int i = 0; i < ls->k; i++) {
		char key[16];
		snprintf(key, sizeof key, "%d", i);
		const char *nm = json_string_value(json_object_get(id2, key));
		if (was.len <= 400)
			tl_buf_printf(&was, "%s%s", i ? ", " : "", nm ? nm : "?");
		int j = nm ? label_find(ls, nm) : -1;
		if (j < 0 || used[j])
			same = 0;
		else
			used[j] = 1, perm[i] = j, ident &= j == i;
	}
	if (!same || !ident)
		tl_bert_train_relabel_head(t, same ? perm : NULL, init_std, seed);
	if (!quiet && !same) {
		tl_buf now = {0};
		label_list(&now, ls->name, ls->k);
		tl_warn("%s: its classifier is over other labels (%s) than the data's (%s): a fresh classifier", mdir,
			tl_buf_cstr(&was), tl_buf_cstr(&now));
		tl_buf_free(&now);
	} else if (!quiet && !ident) {
		tl_warn("%s: its classifier's rows (%s) reordered to the data's label order", mdir, tl_buf_cstr(&was));
	}
	tl_buf_free(&was);
	free(perm);
	free(used);
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
		if ((d->distill || d->da) && d->nl[i] == 0 && !multi) { /* soft targets only; domain loss only */
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
	int *task;     /* multi-task: the task of batch b (NULL otherwise) */
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

/* The activation buffers sized for the plan's largest batch (the most
 * records of a batch, the longest record of the epoch): allocated and
 * faulted in once, instead of again each time a batch outgrows the ones
 * before it (each growth was a fresh arena of hundreds of MB whose pages
 * the kernel cleared one by one: ~5% of a 120-step SST-2 run). */
static void plan_reserve(tl_bert_train *t, const epoch_plan *p, const dataset *d)
{
	int B = 0, T = 0;
	for (size_t b = 0; b < p->nb; b++) {
		size_t s0 = p->start[b], s1 = p->start[b + 1];
		B = (int)(s1 - s0) > B ? (int)(s1 - s0) : B;
		for (size_t i = s0; i < s1; i++)
			T = d->len[p->idx[i]] > T ? d->len[p->idx[i]] : T;
	}
	if (B > 0 && T > 0)
		tl_bert_train_reserve(t, B, T);
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

/* The dev passes at fp32 run tl-predict's inference forward on t's model
 * (bf16 training keeps its own bf16 training forward). */
static int dev_inference(const tl_bert_train *t)
{
	return t->precision == TL_PREC_FP32 && t->m->precision == TL_PREC_FP32;
}

/* After an inference dev pass: the layer weights back to [out, in] (the
 * training step and the best-weights copy read the arena), dev (backend
 * memory, or NULL) and the forward's buffers freed. */
static void dev_inference_end(tl_bert_train *t, float *dev)
{
	tl_bert_unprepare(t->m);
	if (dev)
		t->k->free(dev);
	tl_bert_free_acts(t->m);
}

/* Sequence classification: the dev loss (the training loss's kernel:
 * softmax cross-entropy or sigmoid BCE, no class weights or smoothing),
 * accuracy and macro-F1 (multi-label: subset accuracy and macro-F1 over
 * labels) of the labels tl-predict gives: the first largest probability,
 * or every label with a sigmoid >= 0.5.
 * fp32: the logits come from the inference forward (tl_bert_forward,
 * pooler and classifier, as tl-predict computes them; each row depends
 * on its own sequence only), so tl-train's dev figures are those of
 * tl-predict | tl-eval on the same weights, bit for bit. The layer weights
 * are given back and the inference buffers freed before returning, as in
 * evaluate_token. bf16 training keeps its own (bf16) training forward. */
static evalres evaluate(tl_bert_train *t, const dataset *d, int K, int multi)
{
	evalres r = {0, 0, 0};
	size_t n = d->n, bs = 64;
	tl_bert *md = t->m;
	int inf = dev_inference(t);
	float *dl = NULL; /* the loss kernel's gradient output, backend memory */
	const tl_classifier probs_of = {.nlabels = K, .multi_label = multi};
	float *host = tl_xmalloc(bs * (size_t)K * sizeof *host);
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
		const float *lg;
		if (inf) {
			tl_bert_forward(md, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, -1);
			lg = tl_bert_classify(md);
			if (!dl)
				dl = t->k->alloc(bs * (size_t)K * sizeof(float));
			loss += (multi ? t->k->sigmoid_bce(dl, lg, b.ym, NULL, 0, 1, b.B, K)
				       : t->k->softmax_xent(dl, lg, b.y, NULL, NULL, 0, 1, b.B, K)) *
				(double)m;
		} else {
			lg = tl_bert_train_forward(t, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, 0, 0, 0);
			loss += tl_bert_train_loss(t, b.y, b.ym, NULL, NULL, 0, 1) * (double)m;
		}
		t->k->to_host(host, lg, m * (size_t)K * sizeof(float));
		tl_classifier_probs(&probs_of, host, m);
		for (size_t j = 0; j < m; j++) {
			const float *z = host + j * (size_t)K;
			size_t r = idx[i + j];
			if (multi) {
				for (int k = 0; k < K; k++)
					pm[r * (size_t)K + (size_t)k] = z[k] >= 0.5f;
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
	if (inf)
		dev_inference_end(t, dl);
	free(host);
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
 * sub-token (truncated) is predicted "O".
 * fp32: the logits come from the inference forward (tl_bert_forward and
 * the classifier over every row, as tl-predict's token head computes
 * them; each row's result depends on its own sequence only), so tl-train's
 * dev figures are those of tl-predict | tl-eval on the same weights, bit
 * for bit; the dev loss is then summed in double on the host. That
 * forward prepares the layer weights in place (tl/bert.h): they are given
 * back ([out, in], bit for bit) and its buffers freed before returning,
 * as the training step and the best-weights copy read the arena. bf16
 * training keeps its own (bf16) training forward. */
static int evaluate_token(tl_bert_train *t, const dataset *d, const labelset *ls, evalres *r, tl_err *e)
{
	size_t n = d->n, bs = 64;
	int K = ls->k;
	tl_bert *md = t->m;
	int inf = dev_inference(t);
	float *dev = NULL; /* the inference logits, backend memory */
	size_t dcap = 0;
	const tl_classifier probs_of = {.nlabels = K}; /* softmax rows of K */
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
		size_t nl = 0, rows = (size_t)b.B * b.T;
		for (size_t j = 0; j < rows; j++)
			nl += b.ty[j] != TL_IGNORE_LABEL;
		if (rows * K > hcap) {
			hcap = rows * K;
			host = tl_xrealloc(host, hcap * sizeof *host);
		}
		if (inf) {
			tl_bert_forward(md, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, -1);
			if (rows * K > dcap) {
				if (dev)
					t->k->free(dev);
				dcap = rows * K;
				dev = t->k->alloc(dcap * sizeof(float));
			}
			t->k->matmul_forward(dev, md->out, md->params.clsw, md->params.clsb, (int)rows, md->cfg.C, K);
			t->k->to_host(host, dev, rows * K * sizeof(float));
			for (size_t j = 0; j < rows; j++) {
				if (b.ty[j] == TL_IGNORE_LABEL)
					continue;
				loss += tl_metrics_xent_row(host + j * K, K, b.ty[j]);
			}
		} else {
			const float *lg =
				tl_bert_train_forward(t, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, 0, 0, 0);
			loss += tl_bert_train_token_loss(t, b.ty, NULL, 0, 1) * (double)nl;
			t->k->to_host(host, lg, rows * K * sizeof(float));
		}
		lab += (double)nl;
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
				/* the tag tl-predict gives: the first largest
				 * probability (tl_classifier_probs' softmax, in place) */
				float *z = host + ((size_t)j * b.T + (size_t)p) * K;
				tl_classifier_probs(&probs_of, z, 1);
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
	if (inf)
		dev_inference_end(t, dev);
	batch_free(&b);
	free(host);
	free(pred);
	free(idx);
	return rc;
}

/* ---------------- multi-task (issue 17) ----------------
 * Records carry "task"; each task has its own label set and head (rows
 * of the stacked classifier, tl/bert.h tl_bert_head), loss weight and
 * dev figures. Batches hold one task each (MT-DNN, Liu et al. 2019). */

enum { SAMPLE_PROPORTIONAL, SAMPLE_UNIFORM, SAMPLE_TEMPERATURE };

typedef struct {
	int n;              /* tasks; 0: a single-task run */
	tl_bert_head *h;    /* n heads in row order (names borrowed from the training dataset) */
	labelset *ls;       /* n label sets (sorted) */
	int kmax;           /* the largest head */
	size_t *cnt;        /* training records per task */
	int sampling;       /* SAMPLE_* */
	double temp;        /* temperature T of temperature:T */
	double *w;          /* fixed loss weights (1 unless --task-weight NAME=W) */
	int uncertainty;    /* --task-weight uncertainty[:LR] */
	double ulr;         /* its Adam rate */
	double *s, *sm, *sv, *sg; /* log sigma^2 per task, Adam moments, gradient of the step */
	long st;            /* Adam steps of s */
	unsigned char *used; /* heads used by the step's micro-batches */
	size_t *segw, *segb; /* optimizer segments of each head's rows */
	evalres *cur, *best; /* dev figures per task: the last evaluation, the best one's */
} mtinfo;

static void mt_free(mtinfo *mt)
{
	for (int i = 0; i < mt->n; i++) {
		for (int c = 0; c < mt->ls[i].k; c++)
			free(mt->ls[i].name[c]);
		free(mt->ls[i].name);
	}
	free(mt->h), free(mt->ls), free(mt->cnt), free(mt->w), free(mt->s), free(mt->sm), free(mt->sv);
	free(mt->sg), free(mt->used), free(mt->segw), free(mt->segb), free(mt->cur), free(mt->best);
	memset(mt, 0, sizeof *mt);
}

/* --task-sampling proportional|uniform|temperature:T */
static int mt_parse_sampling(mtinfo *mt, const char *spec, tl_err *e)
{
	mt->sampling = SAMPLE_PROPORTIONAL;
	mt->temp = 1;
	if (!spec || !strcmp(spec, "proportional"))
		return 0;
	if (!strcmp(spec, "uniform")) {
		mt->sampling = SAMPLE_UNIFORM;
		return 0;
	}
	if (!strncmp(spec, "temperature:", 12)) {
		char *end;
		errno = 0;
		double T = strtod(spec + 12, &end);
		if (end != spec + 12 && !*end && !errno && T > 0 && isfinite(T)) {
			mt->sampling = SAMPLE_TEMPERATURE;
			mt->temp = T;
			return 0;
		}
	}
	return tl_seterr(e, TL_EXIT_USAGE,
			 "option --task-sampling: '%s' is not proportional, uniform or temperature:T (T > 0)", spec);
}

/* --task-weight NAME=W,... or uncertainty[:LR]. Without tasks (mt->n 0)
 * only the syntax is checked; with them the names must be tasks. */
static int mt_parse_weights(mtinfo *mt, const char *spec, tl_err *e)
{
	for (int i = 0; i < mt->n; i++)
		mt->w[i] = 1.0;
	mt->uncertainty = 0;
	mt->ulr = 1e-2;
	if (!spec)
		return 0;
	if (!strncmp(spec, "uncertainty", 11)) {
		const char *p = spec + 11;
		if (!*p) {
			mt->uncertainty = 1;
			return 0;
		}
		char *end;
		errno = 0;
		double lr = *p == ':' ? strtod(p + 1, &end) : -1;
		if (*p == ':' && end != p + 1 && !*end && !errno && lr > 0 && isfinite(lr)) {
			mt->uncertainty = 1;
			mt->ulr = lr;
			return 0;
		}
		return tl_seterr(e, TL_EXIT_USAGE, "option --task-weight: '%s': uncertainty takes an optional :LR > 0", spec);
	}
	for (const char *p = spec;;) {
		const char *c = strchr(p, ','), *q = strchr(p, '=');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (!q || (c && q > c) || q == p)
			return tl_seterr(e, TL_EXIT_USAGE,
					 "option --task-weight: '%s' is not NAME=WEIGHT,... (weights >= 0) or uncertainty[:LR]", spec);
		char num[64], *end;
		size_t nl = l - (size_t)(q + 1 - p);
		if (nl == 0 || nl >= sizeof num)
			return tl_seterr(e, TL_EXIT_USAGE, "option --task-weight: '%s': no weight after '%.*s='", spec,
					 (int)(q - p), p);
		memcpy(num, q + 1, nl);
		num[nl] = 0;
		errno = 0;
		double w = strtod(num, &end);
		if (*end || errno || !(w >= 0) || !isfinite(w))
			return tl_seterr(e, TL_EXIT_USAGE, "option --task-weight: '%s' is not a weight >= 0", num);
		if (mt->n) {
			int ti = -1;
			for (int i = 0; i < mt->n; i++)
				if (strlen(mt->h[i].name) == (size_t)(q - p) && !strncmp(mt->h[i].name, p, (size_t)(q - p)))
					ti = i;
			if (ti < 0) {
				tl_buf b = {0};
				for (int i = 0; i < mt->n; i++)
					tl_buf_printf(&b, "%s%s", i ? ", " : "", mt->h[i].name);
				tl_seterr(e, TL_EXIT_USAGE, "option --task-weight: '%.*s' is not a task of the training data (%s)",
					  (int)(q - p), p, tl_buf_cstr(&b));
				tl_buf_free(&b);
				return -1;
			}
			mt->w[ti] = w;
		}
		if (!c)
			break;
		p = c + 1;
	}
	return 0;
}

static const char *const *sort_names;
static int cmp_task_idx(const void *a, const void *b)
{
	return strcmp(sort_names[*(const int *)a], sort_names[*(const int *)b]);
}

/* The training dataset's tasks sorted by name (task ids renumbered). */
static void mt_sort_tasks(dataset *d)
{
	int n = d->ntask, *ord = tl_xmalloc((size_t)(n + 1) * sizeof *ord), *inv = tl_xmalloc((size_t)(n + 1) * sizeof *inv);
	for (int i = 0; i < n; i++)
		ord[i] = i;
	sort_names = (const char *const *)d->tname;
	qsort(ord, (size_t)n, sizeof *ord, cmp_task_idx);
	char **names = tl_xmalloc((size_t)(n + 1) * sizeof *names);
	for (int i = 0; i < n; i++) {
		names[i] = d->tname[ord[i]];
		inv[ord[i]] = i;
	}
	for (size_t i = 0; i < d->n; i++)
		d->task[i] = inv[d->task[i]];
	free(d->tname);
	d->tname = names;
	free(ord);
	free(inv);
}

/* Heads, label sets and counts from the training data. */
static int mt_setup(mtinfo *mt, const dataset *d, tl_err *e)
{
	int n = mt->n = d->ntask;
	mt->h = tl_xcalloc((size_t)n, sizeof *mt->h);
	mt->ls = tl_xcalloc((size_t)n, sizeof *mt->ls);
	mt->cnt = tl_xcalloc((size_t)n, sizeof *mt->cnt);
	mt->w = tl_xcalloc((size_t)n, sizeof *mt->w);
	mt->s = tl_xcalloc((size_t)n, sizeof *mt->s);
	mt->sm = tl_xcalloc((size_t)n, sizeof *mt->sm);
	mt->sv = tl_xcalloc((size_t)n, sizeof *mt->sv);
	mt->sg = tl_xcalloc((size_t)n, sizeof *mt->sg);
	mt->used = tl_xcalloc((size_t)n, 1);
	mt->segw = tl_xcalloc((size_t)n, sizeof *mt->segw);
	mt->segb = tl_xcalloc((size_t)n, sizeof *mt->segb);
	mt->cur = tl_xcalloc((size_t)n, sizeof *mt->cur);
	mt->best = tl_xcalloc((size_t)n, sizeof *mt->best);
	int k0 = 0;
	for (int t = 0; t < n; t++) {
		/* the task's labels, sorted as a single-task run sorts them */
		size_t nl = 0;
		for (size_t i = 0; i < d->n; i++)
			if (d->task[i] == t) {
				nl += (size_t)d->nl[i];
				mt->cnt[t]++;
				mt->h[t].multi_label |= d->arr[i];
			}
		char **v = tl_xmalloc((nl + 1) * sizeof *v);
		size_t j = 0;
		for (size_t i = 0; i < d->n; i++)
			if (d->task[i] == t)
				for (int c = 0; c < d->nl[i]; c++)
					v[j++] = d->lab[d->loff[i] + (size_t)c];
		qsort(v, nl, sizeof *v, cmp_str);
		labelset *ls = &mt->ls[t];
		ls->name = tl_xmalloc((nl + 1) * sizeof *ls->name);
		for (size_t i = 0; i < nl; i++)
			if (!ls->k || strcmp(v[i], ls->name[ls->k - 1]))
				ls->name[ls->k++] = tl_xstrdup(v[i]);
		free(v);
		if (ls->k == 0)
			return tl_seterr(e, TL_EXIT_DATA, "task '%s': no labels in the training data", d->tname[t]);
		if (ls->k == 1 && !mt->h[t].multi_label)
			return tl_seterr(e, TL_EXIT_DATA, "task '%s': the training data has a single class ('%s'): nothing to learn",
					 d->tname[t], ls->name[0]);
		mt->h[t].name = d->tname[t];
		mt->h[t].k0 = k0;
		mt->h[t].k = ls->k;
		k0 += ls->k;
		mt->kmax = ls->k > mt->kmax ? ls->k : mt->kmax;
	}
	return 0;
}

/* The stacked label set (task:label, row order) for nlabels, the resume
 * comparison and messages. */
static void mt_stacked_labels(const mtinfo *mt, labelset *ls)
{
	int K = 0;
	for (int t = 0; t < mt->n; t++)
		K += mt->h[t].k;
	ls->name = tl_xmalloc((size_t)(K + 1) * sizeof *ls->name);
	ls->k = 0;
	for (int t = 0; t < mt->n; t++)
		for (int c = 0; c < mt->h[t].k; c++) {
			tl_buf b = {0};
			tl_buf_printf(&b, "%s:%s", mt->h[t].name, mt->ls[t].name[c]);
			ls->name[ls->k++] = tl_xstrdup(tl_buf_cstr(&b));
			tl_buf_free(&b);
		}
}

/* Labels to ids of their task's head: y[i] (single-label) or ym [n, kmax]
 * (multi-label heads, row i's first h.k entries). */
static int mt_map_labels(dataset *d, const mtinfo *mt, const char *what, tl_err *e)
{
	d->y = tl_xcalloc(d->n + 1, sizeof *d->y);
	d->ym = tl_xcalloc(d->n * (size_t)mt->kmax + 1, 1);
	for (size_t i = 0; i < d->n; i++) {
		int t = d->task[i];
		const labelset *ls = &mt->ls[t];
		if (!mt->h[t].multi_label && d->nl[i] != 1)
			return tl_seterr(e, TL_EXIT_DATA, "%s: record %zu: %s label where task '%s' has single labels", what, i + 1,
					 d->nl[i] ? "a multi-" : "no", mt->h[t].name);
		for (int j = 0; j < d->nl[i]; j++) {
			const char *s = d->lab[d->loff[i] + (size_t)j];
			int id = label_find(ls, s);
			if (id < 0) {
				tl_buf b = {0};
				for (int c = 0; c < ls->k && c < 20; c++)
					tl_buf_printf(&b, "%s%s", c ? ", " : "", ls->name[c]);
				tl_seterr(e, TL_EXIT_DATA, "%s: record %zu: unknown label '%s' for task '%s' (its labels: %s%s)", what,
					  i + 1, s, mt->h[t].name, tl_buf_cstr(&b), ls->k > 20 ? ", ..." : "");
				tl_buf_free(&b);
				return -1;
			}
			if (mt->h[t].multi_label)
				d->ym[i * (size_t)mt->kmax + (size_t)id] = 1;
			else
				d->y[i] = id;
		}
	}
	return 0;
}

static void shuffle_sz(size_t *v, size_t n, uint64_t *s)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(s, i), t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Epoch e's batches: each task's records shuffled (seed, e, task), sorted
 * by length inside windows, cut into batches of one task; then
 * proportional: every batch of every task once, in a seeded shuffle (the
 * MT-DNN order); uniform / temperature:T: as many batches, each slot's
 * task drawn with probability n_t^(1/T) / sum (uniform: 1 / tasks), a
 * task's batches taken in a seeded order and reshuffled when used up. A
 * pure function of (seed, e): the checkpoint's (epoch, batch) is the
 * whole sampling state. */
static void plan_epoch_mt(epoch_plan *p, const dataset *d, const mtinfo *mt, long batch, long window, uint64_t seed,
			  long epoch)
{
	int nt = mt->n;
	size_t n = d->n, B = (size_t)batch, w = (size_t)(batch * window);
	uint64_t s0 = tl_mix64(seed ^ tl_mix64(0x4d5441534bull + (uint64_t)epoch)); /* "MTASK" */
	size_t *rec = tl_xmalloc((n + 1) * sizeof *rec), *tstart = tl_xmalloc((size_t)(nt + 1) * sizeof *tstart);
	size_t *nbt = tl_xmalloc((size_t)(nt + 1) * sizeof *nbt), *bstart = tl_xmalloc((size_t)(nt + 1) * sizeof *bstart);
	size_t k = 0, nb = 0;
	sort_ds = d;
	for (int t = 0; t < nt; t++) {
		tstart[t] = k;
		for (size_t i = 0; i < n; i++)
			if (d->task[i] == t)
				rec[k++] = i;
		size_t m = k - tstart[t];
		uint64_t s = tl_mix64(s0 ^ tl_mix64(0x7461736bull + (uint64_t)t)); /* "task" */
		shuffle_sz(rec + tstart[t], m, &s);
		for (size_t i = 0; i < m; i += w)
			qsort(rec + tstart[t] + i, (m - i < w ? m - i : w), sizeof *rec, cmp_len_idx);
		nbt[t] = (m + B - 1) / B;
		bstart[t] = nb;
		nb += nbt[t];
	}
	tstart[nt] = k;
	/* slot -> (task, batch j of the task) */
	int *st = tl_xmalloc((nb + 1) * sizeof *st);
	size_t *sj = tl_xmalloc((nb + 1) * sizeof *sj);
	uint64_t s = s0;
	if (mt->sampling == SAMPLE_PROPORTIONAL) {
		size_t *all = tl_xmalloc((nb + 1) * sizeof *all);
		for (size_t i = 0; i < nb; i++)
			all[i] = i;
		shuffle_sz(all, nb, &s);
		for (size_t i = 0; i < nb; i++) {
			int t = 0;
			while (t + 1 < nt && all[i] >= bstart[t + 1])
				t++;
			st[i] = t;
			sj[i] = all[i] - bstart[t];
		}
		free(all);
	} else {
		double *cum = tl_xmalloc((size_t)(nt + 1) * sizeof *cum), tot = 0;
		for (int t = 0; t < nt; t++) {
			tot += mt->sampling == SAMPLE_UNIFORM ? 1.0 : pow((double)(tstart[t + 1] - tstart[t]), 1.0 / mt->temp);
			cum[t] = tot;
		}
		size_t **ord = tl_xcalloc((size_t)nt, sizeof *ord), *next = tl_xcalloc((size_t)nt, sizeof *next);
		for (size_t i = 0; i < nb; i++) {
			double u = (double)(rng_next(&s) >> 11) * 0x1.0p-53 * tot;
			int t = 0;
			while (t + 1 < nt && u >= cum[t])
				t++;
			if (next[t] % nbt[t] == 0) { /* a new round of the task's batches */
				if (!ord[t])
					ord[t] = tl_xmalloc(nbt[t] * sizeof **ord);
				for (size_t j = 0; j < nbt[t]; j++)
					ord[t][j] = j;
				uint64_t sr = tl_mix64(s0 ^ tl_mix64(0x726f756e64ull + (uint64_t)t * 1000003u + next[t] / nbt[t]));
				shuffle_sz(ord[t], nbt[t], &sr);
			}
			st[i] = t;
			sj[i] = ord[t][next[t]++ % nbt[t]];
		}
		for (int t = 0; t < nt; t++)
			free(ord[t]);
		free(ord), free(next), free(cum);
	}
	/* the records of the slots' batches, in slot order (a batch drawn twice
	 * is there twice) */
	size_t cap = 0;
	for (size_t i = 0; i < nb; i++) {
		size_t m = tstart[st[i] + 1] - tstart[st[i]], b0 = sj[i] * B;
		cap += (b0 + B < m ? b0 + B : m) - b0;
	}
	p->idx = tl_xrealloc(p->idx, (cap + 1) * sizeof *p->idx);
	p->start = tl_xrealloc(p->start, (nb + 1) * sizeof *p->start);
	p->task = tl_xrealloc(p->task, (nb + 1) * sizeof *p->task);
	k = 0;
	for (size_t i = 0; i < nb; i++) {
		int t = st[i];
		size_t m = tstart[t + 1] - tstart[t], b0 = sj[i] * B, b1 = b0 + B < m ? b0 + B : m;
		p->start[i] = k;
		p->task[i] = t;
		for (size_t j = b0; j < b1; j++)
			p->idx[k++] = rec[tstart[t] + j];
	}
	p->start[nb] = k;
	p->nb = nb;
	free(rec), free(tstart), free(nbt), free(bstart), free(st), free(sj);
}

/* Batches of an epoch: sum over tasks of ceil(n_t / batch). */
static long mt_batches(const mtinfo *mt, long batch)
{
	long nb = 0;
	for (int t = 0; t < mt->n; t++)
		nb += (long)((mt->cnt[t] + (size_t)batch - 1) / (size_t)batch);
	return nb;
}

/* b->ym [B, kmax] -> [B, k] in place. */
static void mt_compact_ym(batch_t *b, int kmax, int k)
{
	for (int i = 0; i < b->B; i++)
		for (int c = 0; c < k; c++)
			b->ym[(size_t)i * k + (size_t)c] = b->ym[(size_t)i * kmax + (size_t)c];
}

/* Every task's dev records through its head: mt->cur[t] (loss, accuracy,
 * macro-F1 as a single-task run computes them); the result is the mean
 * over the tasks (each task counts once, whatever its size). */
static evalres evaluate_mt(tl_bert_train *t, const dataset *d, mtinfo *mt)
{
	evalres r = {0, 0, 0};
	size_t n = d->n, bs = 64;
	size_t *idx = tl_xmalloc((n + 1) * sizeof *idx);
	int *pred = tl_xmalloc((n + 1) * sizeof *pred), *gold = tl_xmalloc((n + 1) * sizeof *gold);
	unsigned char *gm = tl_xcalloc(n * (size_t)mt->kmax + 1, 1), *pm = tl_xcalloc(n * (size_t)mt->kmax + 1, 1);
	batch_t b = {0};
	int K = t->m->cfg.nlabels, tasks = 0;
	for (int ti = 0; ti < mt->n; ti++) {
		const tl_bert_head *h = &mt->h[ti];
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (d->task[i] == ti)
				idx[m++] = i;
		evalres *er = &mt->cur[ti];
		memset(er, 0, sizeof *er);
		if (!m)
			continue;
		sort_ds = d;
		qsort(idx, m, sizeof *idx, cmp_len_idx);
		double loss = 0;
		for (size_t i = 0; i < m; i += bs) {
			size_t mb = m - i < bs ? m - i : bs;
			make_batch(&b, d, idx + i, mb, mt->kmax);
			if (h->multi_label)
				mt_compact_ym(&b, mt->kmax, h->k);
			const float *lg = tl_bert_train_forward(t, b.ids, d->types ? b.types : NULL, b.lens, b.B, b.T, 0, 0, 0);
			loss += tl_bert_train_head_loss(t, h, b.y, b.ym, NULL, NULL, 0, 1) * (double)mb;
			for (size_t j = 0; j < mb; j++) {
				const float *z = lg + j * (size_t)K + h->k0;
				size_t q = i + j, r0 = idx[q];
				if (h->multi_label) {
					for (int c = 0; c < h->k; c++) {
						pm[q * (size_t)h->k + (size_t)c] = z[c] > 0.0f;
						gm[q * (size_t)h->k + (size_t)c] = d->ym[r0 * (size_t)mt->kmax + (size_t)c];
					}
				} else {
					int best = 0;
					for (int c = 1; c < h->k; c++)
						if (z[c] > z[best])
							best = c;
					pred[q] = best;
					gold[q] = d->y[r0];
				}
			}
		}
		er->loss = loss / (double)m;
		if (h->multi_label) {
			int k = h->k;
			er->acc = tl_metrics_subset_accuracy(gm, pm, m, k);
			long *tp = tl_xcalloc((size_t)k, sizeof(long)), *ng = tl_xcalloc((size_t)k, sizeof(long)),
			     *np = tl_xcalloc((size_t)k, sizeof(long));
			for (size_t i = 0; i < m * (size_t)k; i++) {
				tp[i % (size_t)k] += gm[i] && pm[i];
				ng[i % (size_t)k] += gm[i];
				np[i % (size_t)k] += pm[i];
			}
			tl_prf *per = tl_xcalloc((size_t)k, sizeof *per);
			tl_prf_avg avg;
			tl_metrics_prf(tp, ng, np, k, NULL, per, &avg);
			er->f1 = avg.macro_f1;
			free(tp), free(ng), free(np), free(per);
		} else
			tl_metrics_acc_f1(gold, pred, NULL, m, h->k, &er->acc, &er->f1);
		r.acc += er->acc;
		r.f1 += er->f1;
		r.loss += er->loss;
		tasks++;
	}
	if (tasks) {
		r.acc /= tasks;
		r.f1 /= tasks;
		r.loss /= tasks;
	}
	batch_free(&b);
	free(idx), free(pred), free(gold), free(gm), free(pm);
	return r;
}

/* Kendall et al. 2018: loss = sum_t exp(-s_t) L_t + s_t, s_t = log sigma_t^2
 * learned by Adam (betas 0.9, 0.999, eps 1e-8, rate mt->ulr, no decay,
 * no schedule) from the step's gradient sg (zeroed after). */
static void mt_uncertainty_step(mtinfo *mt)
{
	mt->st++;
	double b1 = 0.9, b2 = 0.999, c1 = 1 - pow(b1, (double)mt->st), c2 = 1 - pow(b2, (double)mt->st);
	for (int i = 0; i < mt->n; i++) {
		if (!mt->used[i])
			continue;
		double g = mt->sg[i];
		mt->sm[i] = b1 * mt->sm[i] + (1 - b1) * g;
		mt->sv[i] = b2 * mt->sv[i] + (1 - b2) * g * g;
		mt->s[i] -= mt->ulr * (mt->sm[i] / c1) / (sqrt(mt->sv[i] / c2) + 1e-8);
		mt->sg[i] = 0;
	}
}

/* The per-task state a checkpoint keeps beyond the weights: the learned
 * log variances with their moments, and the best evaluation's figures. */
static json_t *mt_state_json(const mtinfo *mt)
{
	json_t *j = json_object(), *a = json_array(), *am = json_array(), *av = json_array(), *bt = json_array();
	for (int i = 0; i < mt->n; i++) {
		json_array_append_new(a, json_real(mt->s[i]));
		json_array_append_new(am, json_real(mt->sm[i]));
		json_array_append_new(av, json_real(mt->sv[i]));
		json_array_append_new(bt, json_pack("[f,f,f]", mt->best[i].acc, mt->best[i].f1, mt->best[i].loss));
	}
	json_object_set_new(j, "task_log_var", a);
	json_object_set_new(j, "task_log_var_m", am);
	json_object_set_new(j, "task_log_var_v", av);
	json_object_set_new(j, "task_log_var_steps", json_integer(mt->st));
	json_object_set_new(j, "task_best", bt);
	return j;
}

static int mt_state_load(mtinfo *mt, const json_t *st, const char *ckpt, tl_err *e)
{
	const json_t *a = json_object_get(st, "task_log_var"), *am = json_object_get(st, "task_log_var_m"),
		     *av = json_object_get(st, "task_log_var_v"), *bt = json_object_get(st, "task_best"),
		     *ns = json_object_get(st, "task_log_var_steps");
	size_t n = (size_t)mt->n;
	if (!json_is_array(a) || json_array_size(a) != n || !json_is_array(am) || json_array_size(am) != n ||
	    !json_is_array(av) || json_array_size(av) != n || !json_is_array(bt) || json_array_size(bt) != n ||
	    !json_is_integer(ns))
		return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: state.json has no valid task state (a damaged checkpoint, or one of a single-task run)", ckpt);
	mt->st = (long)json_integer_value(ns);
	for (size_t i = 0; i < n; i++) {
		mt->s[i] = json_number_value(json_array_get(a, i));
		mt->sm[i] = json_number_value(json_array_get(am, i));
		mt->sv[i] = json_number_value(json_array_get(av, i));
		const json_t *b = json_array_get(bt, i);
		mt->best[i].acc = json_number_value(json_array_get(b, 0));
		mt->best[i].f1 = json_number_value(json_array_get(b, 1));
		mt->best[i].loss = json_number_value(json_array_get(b, 2));
	}
	return 0;
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
		      const labelset *ls, int multi, int token, json_t *tljson, long max_len, const tl_keyset *keys,
		      const mtinfo *mt, int mlm)
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
	if (mlm)
		tl_mlm_config(cfg); /* BertForMaskedLM, no labels */
	tl_buf_printf(&p, "%s/config.json", tmp);
	if (write_json(tl_buf_cstr(&p), cfg) != 0)
		goto out;
	/* weights under Hugging Face names */
	size_t nt;
	tl_bert_tensor *ts = tl_bert_train_tensors(m, &nt);
	tl_st_saver *s = tl_st_saver_init();
	for (size_t i = 0; i < nt; i++) {
		if (ts[i].ckpt_only) /* the domain discriminator: checkpoints only */
			continue;
		/* MLM: the encoder and cls.predictions; classification: not the MLM head */
		if (mlm ? !tl_mlm_keep_tensor(&ts[i]) : tl_mlm_is_head_tensor(ts[i].name))
			continue;
		if (mt && mt->n && !strncmp(ts[i].name, "classifier.", 11)) {
			/* the heads list: the first head is the HF classifier, the
			 * others tl.heads.<task>.weight / .bias (tl/bert.h) */
			int isw = !strcmp(ts[i].name, "classifier.weight");
			size_t row = isw ? (size_t)m->cfg.C : 1;
			for (int h = 0; h < mt->n; h++) {
				int64_t sh[2] = {mt->h[h].k, m->cfg.C};
				char name[128];
				if (h)
					snprintf(name, sizeof name, "tl.heads.%s.%s", mt->h[h].name, isw ? "weight" : "bias");
				else
					snprintf(name, sizeof name, "%s", ts[i].name);
				tl_st_saver_add(s, name, "F32", sh, isw ? 2 : 1, weights + ts[i].off + (size_t)mt->h[h].k0 * row,
						(size_t)mt->h[h].k * row * sizeof(float));
			}
			continue;
		}
		if (!token || strncmp(ts[i].name, "bert.pooler.", 12)) /* BertForTokenClassification has no pooler */
			tl_st_saver_add(s, ts[i].name, "F32", ts[i].shape, ts[i].ndim, weights + ts[i].off, ts[i].n * sizeof(float));
	}
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
	const json_t *extra; /* more state.json members (multi-task), or NULL */
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
	if (meta->extra)
		json_object_update(st, (json_t *)meta->extra);
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

/* ---------------- resume checks (tl/checkpoint.h run options) ---------------- */

/* sha256 of the ids and labels of d's records, in order. */
static void ds_sha(const dataset *d, char out[65])
{
	tl_buf h = {0};
	for (size_t i = 0; i < d->n; i++) {
		tl_buf_add(&h, &d->len[i], sizeof(int));
		tl_buf_add(&h, d->ids + d->off[i], (size_t)d->len[i] * sizeof(int32_t));
		if (d->wids)
			tl_buf_add(&h, d->wids + d->off[i], (size_t)d->len[i] * sizeof(int32_t));
		if (d->task && d->task[i] >= 0) { /* multi-task: the record's task too */
			tl_buf_adds(&h, "task:");
			tl_buf_adds(&h, d->tname[d->task[i]]);
			tl_buf_addc(&h, 0);
		}
		for (int j = 0; j < d->nl[i]; j++) {
			tl_buf_adds(&h, d->lab[d->loff[i] + (size_t)j]);
			tl_buf_addc(&h, 0);
		}
		if (d->da) { /* domain adaptation: the record's domain and stream */
			tl_buf_adds(&h, d->da->src[i] ? "src-domain:" : "domain:");
			tl_buf_adds(&h, tl_da_rec_domain(d->da, i));
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
	tl_runopt_dbl(j, "lr", o->lr);
	tl_runopt_long(j, "epochs", o->epochs);
	tl_runopt_long(j, "batch-size", o->batch);
	tl_runopt_long(j, "grad-accum", o->accum);
	{
		char b[32];
		snprintf(b, sizeof b, "%llu", (unsigned long long)o->seed);
		tl_runopt_str(j, "seed", b);
	}
	tl_runopt_long(j, "max-len", o->max_len);
	tl_runopt_str(j, "freeze", o->freeze);
	tl_runopt_str(j, "optimizer", o->optimizer == TL_OPT_SGD ? "sgd" : "adamw");
	tl_runopt_dbl(j, "momentum", o->momentum);
	tl_runopt_dbl(j, "weight-decay", o->wd);
	tl_runopt_str(j, "schedule", sn[o->schedule]);
	tl_runopt_dbl(j, "warmup-ratio", o->warmup_ratio);
	if (o->warmup_steps >= 0)
		tl_runopt_long(j, "warmup-steps", o->warmup_steps);
	else
		tl_runopt_str(j, "warmup-steps", "from --warmup-ratio");
	if (o->step_size > 0)
		tl_runopt_long(j, "step-size", o->step_size);
	else
		tl_runopt_str(j, "step-size", "one epoch");
	tl_runopt_dbl(j, "gamma", o->gamma);
	tl_runopt_dbl(j, "clip", o->clip);
	if (o->dropout >= 0)
		tl_runopt_dbl(j, "dropout", o->dropout);
	else
		tl_runopt_str(j, "dropout", "the model's");
	tl_runopt_dbl(j, "label-smoothing", o->ls);
	tl_runopt_str(j, "class-weights", o->class_weights);
	tl_runopt_dbl(j, "layer-lr-decay", o->lld);
	tl_runopt_long(j, "bucket-window", o->window);
	tl_runopt_long(j, "max-steps", o->max_steps);
	tl_runopt_long(j, "eval-every", o->eval_every);
	tl_runopt_str(j, "metric", o->token ? "entity_f1" : o->metric_f1 ? "macro_f1" : "accuracy");
	if (o->token)
		tl_runopt_str(j, "task", "token");
	tl_runopt_long(j, "patience", o->patience);
	tl_runopt_str(j, "task-sampling", o->task_sampling ? o->task_sampling : "proportional");
	tl_runopt_str(j, "task-weight", o->task_weight);
	tl_runopt_str(j, "precision", tl_precision_name(o->precision));
	tl_runopt_str(j, "distill", o->distill ? "on" : "off");
	if (o->distill) {
		tl_runopt_dbl(j, "temperature", o->temperature);
		tl_runopt_dbl(j, "alpha", o->alpha);
		tl_runopt_str(j, "teacher", o->teacher);
		tl_runopt_dbl(j, "hidden-weight", o->teacher ? (o->hidden_weight < 0 ? 1.0 : o->hidden_weight) : 0.0);
	}
	tl_runopt_str(j, "student-layers", o->student_layers ? o->student_layers : "all");
	tl_runopt_str(j, "domain-loss", tl_da_method_name(o->domain_loss));
	if (o->source || o->domain_loss) { /* domain adaptation (the source records are in the data sha256) */
		char b[64];
		snprintf(b, sizeof b, "%g%s", o->source_weight < 0 ? 1.0 : o->source_weight, o->source_anneal ? ":anneal" : "");
		tl_runopt_str(j, "source-weight", b);
		snprintf(b, sizeof b, "%g%s", o->domain_weight < 0 ? 1.0 : o->domain_weight, o->domain_anneal ? ":anneal" : "");
		tl_runopt_str(j, "domain-weight", b);
		tl_runopt_long(j, "disc-hidden", o->disc_hidden);
	}
	tl_runopt_str(j, "objective", o->objective == TL_OBJECTIVE_MLM ? "mlm" : "cls");
	if (o->objective == TL_OBJECTIVE_MLM) {
		tl_runopt_dbl(j, "mask-prob", o->mask_prob);
		tl_runopt_str(j, "whole-word-mask", o->whole_word_mask ? "on" : "off");
	}
	{
		tl_buf b = {0};
		for (int c = 0; c < ls->k; c++)
			tl_buf_printf(&b, "%s%s", c ? "," : "", ls->name[c]);
		tl_runopt_str(j, "labels", tl_buf_cstr(&b));
		tl_buf_free(&b);
	}
	if (dev_sha) {
		char b[80];
		snprintf(b, sizeof b, "records sha256 %.16s", dev_sha);
		tl_runopt_str(j, "dev", b);
	} else
		tl_runopt_str(j, "dev", NULL);
	return j;
}

/* Compare the checkpoint's options (st "options") with now's. A
 * difference not allowed is a usage error naming the option and both
 * values; an allowed one is a note on stderr. */
static int check_resume_options(const json_t *st, const json_t *now, const char *ckpt, const char *allow, int quiet,
				tl_err *e)
{
	/* options added since some checkpoints were written, as they were then */
	static const char *const absent[] = {"precision", "fp32", "distill", "off", "student-layers", "all",
					     "domain-loss", "none", "objective", "cls", NULL};
	json_t *was = json_object_get(st, "options");
	if (!json_is_object(was)) {
		if (!quiet)
			tl_warn("--resume %s: the checkpoint records no options (made by an older tl-train): they are not compared",
				ckpt);
		return 0;
	}
	return tl_runopt_compare(was, now, absent, ckpt, allow, quiet, e);
}

/* ---------------- data-parallel steps (tl/dist.h) ---------------- */

/* One optimizer step is its grad_accum micro-batches (fewer at the end of
 * an epoch), the same plan on every rank. Micro-batch j of a step runs on
 * rank j mod size; each micro-batch's gradient starts from zero and the
 * gradients are added in micro-batch order into gsum, round by round
 * (round q: micro-batches q*size .. q*size+size-1, one per rank, added in
 * rank order by tl_dist_fold_f32). A plain run with --grad-accum > 1 folds
 * its micro-batches the same way (rounds of one), so 1, 2 or N ranks give
 * the same bits. With one micro-batch and one process the gradient is the
 * sum as it stands (no copy). */
typedef struct {
	tl_dist *d;      /* NULL: one process */
	int r, n;        /* rank and size (0 and 1 without d) */
	int fold;        /* gradients go through gsum: ranks, or --grad-accum > 1 */
	float *gsum;     /* the step's sum, host memory, nparams floats */
	float *ghost;    /* host copy of a micro-batch's gradient (a backend without host memory) */
	int have;        /* gsum holds a term */
	int phase;       /* collectives owed by the out: path: 1 the agreement, 2 a step's control */
	double comm_s;   /* this step's seconds in the gradients' all-gathers and sums */
	double wait_s;   /* and in the rounds' first (small) all-gather: waiting for the slowest rank */
} dpar;

typedef struct {
	int32_t code, pad;
	uint64_t chk[3];
	char msg[480];
} dp_status;

static int dp_comm_err(dpar *p, const char *err, tl_err *e)
{
	p->phase = 0; /* the group is broken: no further collective */
	return tl_seterr(e, TL_EXIT_IO, "rank %d of %d: %s", p->r, p->n, err);
}

/* Start: rank 0 brings back a checkpoint left aside by a killed run before
 * any rank reads it; a barrier. */
static int dp_start(dpar *p, const char *resume, tl_err *e)
{
	char err[256], one = 0, *all = tl_xmalloc((size_t)p->n);
	if (p->r == 0 && resume)
		tl_fs_clean_stale(resume);
	int rc = tl_dist_allgather_fixed(p->d, &one, 1, all, err, sizeof err);
	free(all);
	if (rc < 0)
		return dp_comm_err(p, err, e);
	p->phase = 1;
	return 0;
}

/* The ranks' agreement before the first step: each says whether its setup
 * failed (then e holds why) and, when not, hashes of its data, weights and
 * options. The first failed rank's message goes to rank 0 ("rank R of N:
 * ..."); a rank whose hashes differ from rank 0's is named by rank 0. The
 * other ranks get the code with an empty message. 0 when all is well. */
static int dp_agree(dpar *p, int failed, const uint64_t chk[3], tl_err *e)
{
	static const char *const what[3] = {
		"read another training stream than rank 0 (its records hash differently): every rank reads the "
		"whole stream",
		"starts from other weights than rank 0 (another --pretrained model or --resume checkpoint)",
		"was given other options or another --dev stream than rank 0"};
	static const int codes[3] = {TL_EXIT_DATA, TL_EXIT_MODEL, TL_EXIT_USAGE};
	dp_status me, *all = tl_xcalloc((size_t)p->n, sizeof *all);
	memset(&me, 0, sizeof me);
	me.code = failed ? (e->code ? e->code : TL_EXIT_FAIL) : 0;
	if (failed)
		memcpy(me.msg, e->msg, strnlen(e->msg, sizeof me.msg - 1)); /* me is zeroed */
	else
		memcpy(me.chk, chk, sizeof me.chk);
	char err[256];
	p->phase = 0;
	if (tl_dist_allgather_fixed(p->d, &me, sizeof me, all, err, sizeof err) < 0) {
		free(all);
		return failed ? -1 : dp_comm_err(p, err, e);
	}
	int rc = 0;
	for (int r = 0; r < p->n && !rc; r++)
		if (all[r].code) {
			all[r].msg[sizeof all[r].msg - 1] = 0;
			if (r == p->r)
				rc = -1; /* e is ours */
			else if (p->r == 0)
				rc = tl_seterr(e, all[r].code, "rank %d of %d: %s", r, p->n, all[r].msg);
			else
				rc = tl_seterr(e, all[r].code, "%s", "");
		}
	for (int k = 0; k < 3 && !rc; k++)
		for (int r = 1; r < p->n && !rc; r++)
			if (all[r].chk[k] != all[0].chk[k])
				rc = p->r == 0 ? tl_seterr(e, codes[k], "rank %d of %d: %s", r, p->n, what[k])
					       : tl_seterr(e, codes[k], "%s", "");
	free(all);
	if (!rc)
		p->phase = 2;
	return rc;
}

/* The end of a step on every rank: each says whether it failed (code; only
 * rank 0 can, writing a checkpoint) and whether it was interrupted
 * (*stop). After it *stop is set on every rank when on one; a failure
 * elsewhere returns -1 with that code and an empty message. */
static int dp_control(dpar *p, int code, int *stop, tl_err *e)
{
	int32_t me[2] = {code, *stop}, *all = tl_xmalloc((size_t)p->n * sizeof me);
	char err[256];
	if (tl_dist_allgather_fixed(p->d, me, sizeof me, all, err, sizeof err) < 0) {
		free(all);
		return code ? -1 : dp_comm_err(p, err, e);
	}
	int rc = 0;
	for (int r = 0; r < p->n; r++) {
		*stop |= all[2 * r + 1] != 0;
		if (all[2 * r] && !rc && r != p->r) {
			rc = tl_seterr(e, all[2 * r], "%s", "");
			p->phase = 0;
		}
	}
	free(all);
	return rc;
}

/* The end of a round: the micro-batches' loss terms (contrib, when mine)
 * into *step_loss in micro-batch order, *bad set when one is not finite
 * (every rank knows it), and the gradient (t's, when mine) folded into
 * gsum. */
static int dp_round(dpar *p, tl_bert_train *t, int mine, double contrib, double *step_loss, int *bad, tl_err *e)
{
	double t0 = tl_now();
	char err[256];
	struct {
		double contrib;
		int32_t mine, pad;
	} me = {contrib, mine, 0}, *all = tl_xcalloc((size_t)p->n, sizeof me);
	if (tl_dist_allgather_fixed(p->d, &me, sizeof me, all, err, sizeof err) < 0) {
		free(all);
		return dp_comm_err(p, err, e);
	}
	for (int r = 0; r < p->n; r++)
		if (all[r].mine) {
			*step_loss += all[r].contrib;
			*bad |= !isfinite(all[r].contrib);
		}
	free(all);
	double t1 = tl_now();
	p->wait_s += t1 - t0;
	t0 = t1;
	size_t np = t->m->nparams;
	const float *g = NULL;
	if (mine) {
		g = t->grad_arena;
		if (!t->m->k->host_memory) {
			if (!p->ghost)
				p->ghost = tl_xmalloc(np * sizeof *p->ghost);
			t->m->k->to_host(p->ghost, t->grad_arena, np * sizeof *p->ghost);
			g = p->ghost;
		}
	}
	if (tl_dist_fold_f32(p->d, g, p->gsum, np, &p->have, err, sizeof err) < 0)
		return dp_comm_err(p, err, e);
	p->comm_s += tl_now() - t0;
	return 0;
}

/* The step's sum becomes the gradient the optimizer reads (zero when no
 * micro-batch contributed: cannot happen, a step has one). */
static void dp_finish(dpar *p, tl_bert_train *t)
{
	size_t np = t->m->nparams;
	if (!p->have)
		memset(p->gsum, 0, np * sizeof *p->gsum);
	t->m->k->to_device(t->grad_arena, p->gsum, np * sizeof *p->gsum);
	p->have = 0;
}

/* What a step's loss is a mean over: its records, or for --task token its
 * labelled tokens, in the plan's batches b0 .. b1-1. A micro-batch's mean
 * loss is scaled by its share, so the step's loss is the mean over the
 * step (the micro-batch's own mean inside it) whoever computes it. */
static float step_units(const dataset *d, const epoch_plan *pl, long b0, long b1)
{
	if (!d->ty)
		return (float)(pl->start[b1] - pl->start[b0]);
	size_t n = 0;
	for (size_t i = pl->start[b0]; i < pl->start[b1]; i++) {
		const int32_t *y = d->ty + d->off[pl->idx[i]];
		for (int j = 0; j < d->len[pl->idx[i]]; j++)
			n += y[j] != TL_IGNORE_LABEL;
	}
	return (float)n;
}

/* A hash of the weights (host copy) with the position, for dp_agree. */
static uint64_t dp_weights_hash(const tl_bert *m, long step, long epoch, long bi)
{
	size_t np = m->nparams, ch = (size_t)1 << 20;
	float *h = tl_xmalloc(ch * sizeof *h);
	uint64_t x = TL_FNV64_INIT;
	for (size_t i = 0; i < np; i += ch) {
		size_t n = np - i < ch ? np - i : ch;
		m->k->to_host(h, m->arena + i, n * sizeof *h);
		x = tl_fnv1a64(h, n * sizeof *h, x);
	}
	free(h);
	long pos[3] = {step, epoch, bi};
	return tl_fnv1a64(pos, sizeof pos, x);
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
	o->window = 0; /* 0: 50, or 1 for --task token (tl_bert_fit) */
	o->progress_every = 50;
	o->seed = 42;
	o->optimizer = TL_OPT_ADAMW;
	o->schedule = TL_SCHED_LINEAR;
	o->temperature = 2.0;
	o->alpha = 0.5;
	o->hidden_weight = -1;
	o->source_weight = -1;
	o->domain_weight = -1;
	o->mask_prob = 0.15;
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
	mtinfo mt = {0}; /* multi-task: records with "task" */
	tl_da da = {0};  /* domain adaptation: --source, --domain-loss (bert_da.h) */
	dataset sr = {0};
	int da_on = o.source || o.domain_loss;
	tl_mlm_ctx mc = {0}; /* --objective mlm: masking (bert_mlm.h) */
	const int mlm = opts->objective == TL_OBJECTIVE_MLM;
	long mlm_dev_pos = 0; /* masked positions of the dev stream */
	dpar dp = {0}; /* data-parallel: tl/dist.h */
	dp.d = o.dist && o.dist->size > 1 ? o.dist : NULL;
	dp.n = dp.d ? dp.d->size : 1;
	dp.r = dp.d ? dp.d->rank : 0;
	if (dp.d) {
		if (dp.r != 0) { /* rank 0 reports, logs and writes */
			o.quiet = 1;
			o.log = NULL;
		}
		if (dp_start(&dp, o.resume, e) < 0)
			goto out;
	}

	if (!o.out)
		FAIL(TL_EXIT_USAGE, "no output directory: -o DIR is required");
	if (dp.r == 0 && tl_fs_exists(o.out) && !o.force)
		FAIL(TL_EXIT_USAGE, "%s exists (use --force to replace it)", o.out);
	const tl_kernels *k = tl_kernels_select(o.device, err, sizeof err);
	if (!k)
		FAIL(TL_EXIT_USAGE, "%s", err);
	if (o.precision != TL_PREC_FP32 && o.precision != TL_PREC_BF16)
		FAIL(TL_EXIT_USAGE, "option --precision: %s is not a training precision (fp32, bf16)",
		     tl_precision_name(o.precision));
	if (tl_isa_check(err, sizeof err) < 0)
		FAIL(TL_EXIT_USAGE, "%s", err);
	if (mlm) { /* continued pretraining: no labels, no classification options */
		const char *cl = o.token ? "--task token" : o.distill ? "--distill" : o.teacher ? "--teacher"
			: o.labels ? "--labels" : o.class_weights ? "--class-weights" : o.task_sampling ? "--task-sampling"
			: o.task_weight ? "--task-weight" : o.metric_f1 ? "--metric macro_f1" : o.ls > 0 ? "--label-smoothing"
			: o.source ? "--source" : o.domain_loss ? "--domain-loss" : NULL;
		if (cl)
			FAIL(TL_EXIT_USAGE, "--objective mlm: %s is for classification (the masked-LM loss predicts tokens)", cl);
		if (!(o.mask_prob > 0 && o.mask_prob < 1))
			FAIL(TL_EXIT_USAGE, "option --mask-prob: %g is outside (0, 1)", o.mask_prob);
		if (dp.d)
			FAIL(TL_EXIT_USAGE, "--objective mlm under mpirun is not supported yet (run one process)");
	} else if (o.objective != TL_OBJECTIVE_CLS)
		FAIL(TL_EXIT_USAGE, "option --objective: unknown objective %d (cls, mlm)", o.objective);
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
	if (mt_parse_sampling(&mt, o.task_sampling, e) < 0 || mt_parse_weights(&mt, o.task_weight, e) < 0)
		goto out; /* the syntax; the names once the tasks are known */
	/* domain adaptation (man tl-train, DOMAIN ADAPTATION) */
	if (o.domain_loss < TL_DA_NONE || o.domain_loss > TL_DA_MMD)
		FAIL(TL_EXIT_USAGE, "option --domain-loss: unknown method %d (dann, coral, mmd)", o.domain_loss);
	if (!o.source && (o.source_weight >= 0 || o.source_anneal))
		FAIL(TL_EXIT_USAGE, "--source-weight weighs the loss of the --source stream: give --source SRC");
	if (!o.domain_loss && (o.domain_weight >= 0 || o.domain_anneal || o.disc_hidden))
		FAIL(TL_EXIT_USAGE, "--%s is for --domain-loss", o.disc_hidden ? "disc-hidden" : "domain-weight");
	if (o.disc_hidden && o.domain_loss != TL_DA_DANN)
		FAIL(TL_EXIT_USAGE, "--disc-hidden is for --domain-loss dann (the discriminator's hidden units)");
	if (!(o.source_weight == -1 || (o.source_weight >= 0 && isfinite(o.source_weight))) ||
	    !(o.domain_weight == -1 || (o.domain_weight >= 0 && isfinite(o.domain_weight))))
		FAIL(TL_EXIT_USAGE, "--source-weight and --domain-weight are finite numbers >= 0");
	if (da_on) {
		const char *what = o.domain_loss ? "--domain-loss" : "--source";
		if (o.token)
			FAIL(TL_EXIT_USAGE, "%s is for sequence classification (not --task token)", what);
		if (o.distill)
			FAIL(TL_EXIT_USAGE, "%s and --distill do not go together", what);
		if (dp.d)
			FAIL(TL_EXIT_USAGE, "%s under mpirun: the domain losses and the two-domain batches are not split across "
					    "ranks (run one process)", what);
		if ((o.domain_loss == TL_DA_CORAL || o.domain_loss == TL_DA_MMD) && o.batch < 2)
			FAIL(TL_EXIT_USAGE, "--domain-loss %s needs --batch-size 2 or more (statistics within a domain's batch)",
			     tl_da_method_name(o.domain_loss));
		if (!k->host_memory)
			FAIL(TL_EXIT_USAGE, "%s runs on the cpu backend (--device cpu)", what);
		da.method = o.domain_loss;
		da.sw = o.source_weight < 0 ? 1.0 : o.source_weight;
		da.sw_anneal = o.source_anneal;
		da.dw = o.domain_weight < 0 ? 1.0 : o.domain_weight;
		da.dw_anneal = o.domain_anneal;
		tr.da = &da;
		sr.da = &da;
		tl_da_stream(&da, "target", 0);
	}
	/* --bucket-window by default: length-sorted windows of 50 batches for
	 * sequence classification (speed); none for --task token, where
	 * batches of short sentences (few labelled tokens, each loss a mean
	 * over its own tokens) would weigh their tokens up early in training:
	 * random batches as Hugging Face's Trainer forms them */
	if (o.window <= 0)
		o.window = o.token ? 1 : 50;
	if (!o.ckpt_dir) {
		tl_buf_printf(&ckbuf, "%s.ckpt", o.out);
		o.ckpt_dir = tl_buf_cstr(&ckbuf);
	}
	{ /* --allow-change names options a resume compares */
		labelset none = {0};
		json_t *known = run_options(&o, &none, NULL);
		int bad = tl_runopt_check_allow(o.allow_change, known, e);
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
	if (m->heads) /* tl/bert.h: the training forward has every head of every layer */
		FAIL(TL_EXIT_MODEL, "%s/config.json: pruned_heads: tl-train cannot fine-tune a head-pruned model (tl-prune(1))",
		     mdir);
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
	if (mlm && tl_mlm_ctx_init(&mc, mdir, m->cfg.vocab_size, (float)o.mask_prob, o.whole_word_mask, o.seed, e) < 0)
		goto out;

	/* data */
	const char *trname = o.train ? o.train : "standard input";
	if (!o.no_leak_check)
		lk = tl_leak_new();
	tr.token = dv.token = o.token;
	tr.distill = o.distill;
	tr.mlm = dv.mlm = mlm ? &mc : NULL;
	if (ds_read(&tr, o.train, trname, (int)o.max_len, m->vocab_sha256, mdir, m->cfg.vocab_size, m->cfg.type_vocab,
		    !o.distill && !o.domain_loss && !mlm, lk, NULL, e) < 0)
		goto out;
	if (mlm) {
		if (tr.ntask)
			FAIL(TL_EXIT_USAGE, "--objective mlm: the records of %s name a \"task\" (multi-task heads are "
					    "classification heads; leave --objective mlm out or the \"task\" field)", trname);
		if (tr.n == 0 && tr.mlm_skipped)
			FAIL(TL_EXIT_DATA, "%s: no record has a token to mask (all %zu hold only special tokens such as [CLS] "
					   "[SEP]; the first is record %llu)", trname, tr.mlm_skipped,
			     (unsigned long long)tr.mlm_first_skipped);
		if (!o.quiet && tr.mlm_skipped)
			tl_warn("%s: %zu record%s with no token to mask (only [CLS] [SEP] or other special tokens) skipped, "
				"the first is record %llu", trname, tr.mlm_skipped, tr.mlm_skipped > 1 ? "s" : "",
				(unsigned long long)tr.mlm_first_skipped);
		if (!o.quiet && tr.mlm_labels)
			tl_warn("%s: %zu record%s carry a \"label\": --objective mlm ignores it", trname, tr.mlm_labels,
				tr.mlm_labels > 1 ? "s" : "");
	}
	if (tr.n == 0)
		FAIL(TL_EXIT_DATA, "%s: no training records", trname);
	if (da_on) { /* the source stream after the training records; the domains */
		if (tr.ntask)
			FAIL(TL_EXIT_USAGE, "%s: records with \"task\" (multi-task) and --source / --domain-loss do not go together",
			     trname);
		if (o.source) {
			tl_da_stream(&da, "source", 1);
			if (ds_read(&sr, o.source, o.source, (int)o.max_len, m->vocab_sha256, mdir, m->cfg.vocab_size,
				    m->cfg.type_vocab, !o.domain_loss, lk, NULL, e) < 0)
				goto out;
			if (sr.n == 0)
				FAIL(TL_EXIT_DATA, "%s: no source records", o.source);
			if (sr.ntask)
				FAIL(TL_EXIT_USAGE, "%s: records with \"task\" (multi-task) and --source do not go together", o.source);
			ds_append(&tr, &sr);
			ds_free(&sr);
		}
		if (tl_da_ready(&da, o.source != NULL, o.batch, e) < 0)
			goto out;
	}
	if (tr.ntask) {
		/* multi-task: a head per task */
		if (o.labels)
			FAIL(TL_EXIT_USAGE, "--labels FILE is for one task: with \"task\" on the records each task's labels come from its records");
		if (o.class_weights)
			FAIL(TL_EXIT_USAGE, "--class-weights is for one task, not for records with \"task\"");
		mt_sort_tasks(&tr);
		if (mt_setup(&mt, &tr, e) < 0 || mt_parse_weights(&mt, o.task_weight, e) < 0)
			goto out;
		mt_stacked_labels(&mt, &ls);
		if (mt_map_labels(&tr, &mt, trname, e) < 0)
			goto out;
	} else if (o.task_sampling || o.task_weight)
		FAIL(TL_EXIT_USAGE, "--%s is for multi-task training: the training records carry no \"task\"",
		     o.task_sampling ? "task-sampling" : "task-weight");
	if (mt.n) {
		/* ls: the stacked labels of the heads */
	} else if (o.labels) {
		if (labels_from_file(&ls, o.labels, e) < 0)
			goto out;
	} else if (o.distill && tr.ntlab) {
		if (labels_from_teacher(&ls, &tr, trname, e) < 0)
			goto out;
	} else
		labels_from_data(&ls, &tr);
	int multi = mt.n ? 0 : tr.multi;
	if (da_on && multi)
		FAIL(TL_EXIT_DATA, "%s: --source and --domain-loss train single-label heads (the records have label arrays)",
		     trname);
	if (dp.d && mt.n && mt.uncertainty)
		FAIL(TL_EXIT_USAGE, "--task-weight uncertainty under mpirun: the learned task weights are not summed across "
				    "ranks yet (give fixed weights, or run one process)");
	if (o.distill && mt.n)
		FAIL(TL_EXIT_DATA, "%s: --distill trains one head: the records name tasks (multi-task distillation is not "
				   "supported)", trname);
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
	if (ls.k == 0 && !mlm)
		FAIL(TL_EXIT_DATA, "no labels in the training data");
	if (ls.k == 1 && !multi)
		FAIL(TL_EXIT_DATA, "the training data has a single class ('%s'): nothing to learn", ls.name[0]);
	if (!mt.n && !mlm && ds_map_labels(&tr, &ls, multi, trname, e) < 0)
		goto out;
	if (o.dev) {
		tl_leak_eval ev;
		dv.tname = tr.tname; /* the training's tasks (borrowed) */
		dv.ntask = tr.ntask;
		dv.tasks_fixed = 1;
		tl_leak_eval_init(&ev, o.dev, o.drop_leaked);
		if (ds_read(&dv, o.dev, o.dev, (int)o.max_len, m->vocab_sha256, mdir, m->cfg.vocab_size, m->cfg.type_vocab,
			    !mlm, lk, lk ? &ev : NULL, e) < 0)
			goto out;
		char dropped[1024], dups[1024];
		tl_leak_eval_summary(&ev, dropped, sizeof dropped, dups, sizeof dups);
		if (!o.quiet && *dropped)
			tl_warn("%s", dropped);
		if (!o.quiet && *dups)
			tl_warn("%s", dups);
		if (mlm && !o.quiet && dv.mlm_skipped)
			tl_warn("%s: %zu record%s with no token to mask skipped, the first is record %llu", o.dev, dv.mlm_skipped,
				dv.mlm_skipped > 1 ? "s" : "", (unsigned long long)dv.mlm_first_skipped);
		if (dv.n == 0)
			FAIL(TL_EXIT_DATA, "%s: no dev records%s", o.dev, dv.mlm_skipped ? " with a token to mask" : "");
		if (!mlm && (mt.n ? mt_map_labels(&dv, &mt, o.dev, e) < 0 : ds_map_labels(&dv, &ls, multi, o.dev, e) < 0))
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
	mc.head_loaded = m->cfg.mlm; /* a BertForMaskedLM checkpoint's head */
	/* a fine-tuned classifier given as --pretrained keeps its head only for
	 * the same labels (tl_bert_train_relabel_head) */
	int kept_head = !mlm && !mt.n && m->cfg.nlabels == ls.k && m->has_pooler;
	tl_bert_train_init(&t, m, ls.k, multi, (float)init_std, o.seed);
	have_t = 1; /* t owns the model now */
	m = t.m;
	if (kept_head)
		continue_head(&t, mcfg, &ls, mdir, o.quiet, (float)init_std, o.seed);
	if (mlm) { /* the MLM head: the checkpoint's, or a fresh one (all-MiniLM-L6-v2 has none) */
		t.mlm_only = 1;
		if (tl_bert_train_mlm_init(&t, (float)init_std, o.seed, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "%s", err);
		m = t.m;
	}
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

	if (da.method == TL_DA_DANN) { /* the discriminator's tensors join the arena (checkpoints keep them) */
		da.hidden = o.disc_hidden > 0 ? (int)o.disc_hidden : m->cfg.C;
		if (tl_bert_train_disc_init(&t, da.hidden, da.nd, (float)init_std, o.seed ^ 0x444953435249ull, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "--domain-loss dann: %s", err);
		m = t.m;
	}

	/* steps */
	long nb = da_on ? tl_da_batches(&da, o.batch) : mt.n ? mt_batches(&mt, o.batch) : (long)((tr.n + (size_t)o.batch - 1) / (size_t)o.batch);
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
			/* MLM: no pooler or classifier; classification: no MLM head */
			if (mlm ? !strncmp(ts[i].name, "bert.pooler.", 12) || !strncmp(ts[i].name, "classifier.", 11)
				: tl_mlm_is_head_tensor(ts[i].name))
				frozen = 1;
			int depth = layer + 1; /* emb 0, layers 1..L, head L+1 */
			float scale = (float)pow(o.lld, (double)(L + 1 - depth));
			if (mt.n && !strncmp(ts[i].name, "classifier.", 11)) {
				/* a segment per head: a step updates only the heads its
				 * batches used (as torch skips a parameter without grad) */
				size_t row = !strcmp(ts[i].name, "classifier.weight") ? (size_t)m->cfg.C : 1;
				for (int h = 0; h < mt.n; h++) {
					(row > 1 ? mt.segw : mt.segb)[h] = opt.nsegs;
					tl_optim_add(&opt, ts[i].off + (size_t)mt.h[h].k0 * row, (size_t)mt.h[h].k * row, scale,
						     !ts[i].no_decay, 1);
				}
				continue;
			}
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
		if (dp.r == 0) /* ranks: done by dp_start */
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
		if (mt.n && mt_state_load(&mt, st, o.resume, e) < 0)
			goto out;
		if (tl_ckpt_read_tensor(o.resume, "params", m->arena, m->nparams, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		tl_bert_train_weights_changed(&t);
		/* backend memory (tl_optim_free gives it back with k->free) */
		opt.m = m->k->alloc(m->nparams * sizeof(float));
		if (tl_ckpt_read_tensor(o.resume, "m", opt.m, m->nparams, err, sizeof err) < 0)
			FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		if (opt.kind == TL_OPT_ADAMW) {
			opt.v = m->k->alloc(m->nparams * sizeof(float));
			if (tl_ckpt_read_tensor(o.resume, "v", opt.v, m->nparams, err, sizeof err) < 0)
				FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		}
		if (ps.best_step >= 0) {
			best_w = tl_xmalloc(m->nparams * sizeof(float));
			if (tl_ckpt_read_tensor(o.resume, "best", best_w, m->nparams, err, sizeof err) < 0)
				FAIL(TL_EXIT_MODEL, "--resume: %s", err);
		}
		/* the log goes on: cut back to the checkpoint's length when it is
		 * the same file (the steps after it run again), then append */
		if (o.log && !(logf = tl_ckpt_reopen_log(st, o.log, e)))
			goto out;
		json_decref(st);
		st = NULL;
	}

	if (dp.d) { /* every rank set up the same run, or all stop here */
		char *oj = json_dumps(optj, JSON_SORT_KEYS | JSON_COMPACT);
		uint64_t chk[3] = {tl_fnv1a64(data_sha, strlen(data_sha), TL_FNV64_INIT),
				   dp_weights_hash(m, opt.t, ps.epoch, ps.bi), tl_fnv1a64(oj, strlen(oj), TL_FNV64_INIT)};
		free(oj);
		if (dp_agree(&dp, 0, chk, e) < 0)
			goto out;
		if (!o.quiet && dp.n > o.accum)
			tl_warn("%d ranks for %ld micro-batches a step (--grad-accum): ranks %ld..%d have none and wait "
				"(give --grad-accum %d or more)",
				dp.n, o.accum, o.accum, dp.n - 1, dp.n);
	}
	dp.fold = dp.d || o.accum > 1;
	if (dp.fold)
		dp.gsum = tl_xmalloc(m->nparams * sizeof *dp.gsum);
	if (!o.quiet) {
		static const char *sn[] = {"linear", "cosine", "constant", "step"};
		fprintf(stderr,
			"tl-train: bert from %s: %zu records (%llu tokens), %d %slabels%s, %s\n"
			"tl-train: epochs %ld, batch %ld x %ld, %ld steps, lr %g (%s, %s schedule, warmup %ld), weight decay %g, "
			"clip %g, max-len %ld, dropout %g/%g/%g, seed %llu%s%s\n",
			mdir, tr.n, (unsigned long long)tr.tokens, ls.k, multi ? "multi-" : "",
			mlm ? " (--objective mlm: masked tokens are the targets)" : "",
			o.dev ? "dev evaluated" : "no dev set", o.epochs, o.batch, o.accum, total, o.lr,
			o.optimizer == TL_OPT_SGD ? "sgd" : "adamw", sn[o.schedule], opt.warmup, o.wd, o.clip, o.max_len,
			p_hidden, p_att, p_cls, (unsigned long long)o.seed, o.freeze ? ", freeze " : "", o.freeze ? o.freeze : "");
		if (mt.n) { /* the heads */
			static const char *smp[] = {"proportional", "uniform", "temperature"};
			fprintf(stderr, "tl-train: %d tasks (%s sampling, %s weights):", mt.n, smp[mt.sampling],
				mt.uncertainty ? "uncertainty" : "fixed");
			for (int h = 0; h < mt.n; h++)
				fprintf(stderr, "%s %s (%d %slabels, %zu records)", h ? "," : "", mt.h[h].name, mt.h[h].k,
					mt.h[h].multi_label ? "multi-" : "", mt.cnt[h]);
			fputc('\n', stderr);
		}
		if (da_on)
			tl_da_describe(&da, stderr);
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
		json_t *mx_ = mt.n ? mt_state_json(&mt) : NULL;                                       \
		fit_meta mt_ = {optj, tl_now() - t_start, o.log, logf ? (long long)ftell(logf) : 0, mx_};    \
		int sr_ = save_ckpt(dirpath, &ps, &opt, m, best_w, o.seed, data_sha, ls.k, mdir, &mt_, e); \
		json_decref(mx_);                                                                     \
		if (sr_ < 0)                                                                          \
			goto out;                                                                     \
		wrote_ckpt = 1;                                                                       \
	} while (0)

	tl_bert_train_zero_grad(&t);
	while (!stop && ps.epoch < o.epochs) {
		if (da_on)
			tl_da_plan(&da, o.batch, o.seed, ps.epoch, &plan.idx, &plan.start, &plan.nb);
		else if (mt.n)
			plan_epoch_mt(&plan, &tr, &mt, o.batch, o.window, o.seed, ps.epoch);
		else
			plan_epoch(&plan, &tr, o.batch, o.window, o.seed, ps.epoch);
		plan_reserve(&t, &plan, &tr);
		if (ps.bi == 0) {
			ep_loss_sum = 0;
			ep_loss_n = 0;
			tl_da_epoch_begin(&da);
		}
		while (ps.bi < (long)plan.nb && !stop) {
			/* one optimizer step: accum micro-batches (fewer at the end of the epoch) */
			long n_micro = 0;
			tl_da_step_begin(&da);
			int step_task = -1; /* multi-task: the task of the step's last micro-batch */
			double step_loss = 0;
			uint64_t step_tokens = 0;
			/* the step's micro-batches and what its loss is a mean over */
			long b_end = ps.bi + o.accum < (long)plan.nb ? ps.bi + o.accum : (long)plan.nb;
			float step_n = step_units(&tr, &plan, ps.bi, b_end);
			dp.comm_s = dp.wait_s = 0;
			int round_mine = 0; /* this rank ran a micro-batch of the round: its term */
			double round_contrib = 0;
			while (n_micro < o.accum && ps.bi < (long)plan.nb) {
				size_t s0 = plan.start[ps.bi], s1 = plan.start[ps.bi + 1];
				for (size_t i = s0; i < s1; i++)
					step_tokens += (uint64_t)tr.len[plan.idx[i]];
				/* data-parallel: micro-batch n_micro is rank n_micro mod size's */
				int mine = n_micro % dp.n == dp.r;
				double contrib = 0;
				float sc = step_n > 0 ? step_units(&tr, &plan, ps.bi, ps.bi + 1) / step_n : 0.0f;
				if (!mine)
					goto next_micro;
				if (dp.fold && n_micro >= dp.n) /* each micro-batch's gradient from zero */
					tl_bert_train_zero_grad(&t);
				make_batch(&b, &tr, plan.idx + s0, s1 - s0, mt.n ? mt.kmax : ls.k);
				if (mlm) /* labels into b.ty: from (seed, epoch, record) */
					tl_mlm_mask_batch(&mc, b.ids, b.ty, b.lens, b.B, b.T, plan.idx + s0, ps.epoch);
				uint64_t micro = (uint64_t)ps.epoch * (uint64_t)plan.nb + (uint64_t)ps.bi;
				tl_bert_train_forward(&t, b.ids, tr.types ? b.types : NULL, b.lens, b.B, b.T, 1, o.seed, micro);
				int has_sw = 0;
				for (int i = 0; i < b.B; i++)
					has_sw |= b.sw[i] != 1.0f;
				double l, lw = 0; /* the loss, and (multi-task) its weighted term */
				if (mt.n) {
					/* one task's batch: its head, its weight (fixed w_t, or
					 * exp(-s_t) with the + s_t term, Kendall et al. 2018) */
					int ti = plan.task[ps.bi];
					const tl_bert_head *h = &mt.h[ti];
					if (h->multi_label)
						mt_compact_ym(&b, mt.kmax, h->k);
					double wt = mt.uncertainty ? exp(-mt.s[ti]) : mt.w[ti];
					l = tl_bert_train_head_loss(&t, h, b.y, b.ym, NULL, has_sw ? b.sw : NULL, (float)o.ls,
								    (float)(wt * (double)sc));
					lw = wt * l + (mt.uncertainty ? mt.s[ti] : 0);
					if (mt.uncertainty) /* d/ds (exp(-s) L + s) */
						mt.sg[ti] += (1.0 - exp(-mt.s[ti]) * l) * (double)sc;
					mt.used[ti] = 1;
					step_task = ti;
				} else if (da_on) /* L_train + lambda L_source + W L_domain */
					l = tl_da_loss(&da, &t, plan.idx + s0, b.B, b.y, b.sw, cw_ptr, (float)o.ls, sc,
						       total > 0 ? (double)opt.t / (double)total : 0.0);
				else
					l = mlm ? tl_bert_train_mlm_loss(&t, b.ty, sc, NULL)
					    : o.token ? tl_bert_train_token_loss(&t, b.ty, cw_ptr, (float)o.ls, sc)
					    : o.distill ? tl_bert_train_kd_loss(&t, b.lg, (float)o.temperature, kd_alpha,
										tr.nlabelled ? b.y : NULL, has_sw ? b.sw : NULL, sc)
							: tl_bert_train_loss(&t, b.y, b.ym, cw_ptr, has_sw ? b.sw : NULL, (float)o.ls, sc);
				if (teacher && hw > 0) { /* DistilBERT's cosine loss on the last hidden states */
					tl_bert_forward(teacher, b.ids, tr.types ? b.types : NULL, b.lens, b.B, b.T, -1);
					const float *th = teacher->out;
					if (!k->host_memory) {
						thid = tl_xrealloc(thid, (size_t)b.B * b.T * teacher->cfg.C * sizeof *thid);
						k->to_host(thid, th, (size_t)b.B * b.T * teacher->cfg.C * sizeof *thid);
						th = thid;
					}
					l += tl_bert_train_hidden_cos_loss(&t, th, hw, sc);
				}
				if (!isfinite(l) && !dp.d) { /* ranks: known to all at the round's end */
					/* parameters are still those of the last good step */
					tl_progress_finish(&prog, NULL);
					SAVE_CKPT(o.ckpt_dir);
					FAIL(TL_EXIT_FAIL,
					     "loss is %s at step %ld (epoch %ld): stopping; the last good state is saved in %s (lower --lr?)",
					     isnan(l) ? "NaN" : "infinite", opt.t + 1, ps.epoch + 1, o.ckpt_dir);
				}
				tl_bert_train_backward(&t, 1, o.seed, micro);
				contrib = (mt.n ? lw : l) * (double)sc;
				round_mine = 1;
				round_contrib = contrib;
			next_micro:
				n_micro++;
				ps.bi++;
				if (!dp.fold) {
					step_loss += contrib;
					continue;
				}
				if (n_micro % dp.n == 0 || n_micro == o.accum || ps.bi >= (long)plan.nb) { /* a round's end */
					int bad = 0;
					if (dp_round(&dp, &t, round_mine, round_contrib, &step_loss, &bad, e) < 0)
						goto out;
					round_mine = 0;
					round_contrib = 0;
					if (bad) {
						dp.phase = 0; /* every rank stops here */
						tl_progress_finish(&prog, NULL);
						if (dp.r == 0)
							SAVE_CKPT(o.ckpt_dir);
						FAIL(TL_EXIT_FAIL,
						     "loss is not finite at step %ld (epoch %ld): stopping; the last good state is saved in %s (lower --lr?)",
						     opt.t + 1, ps.epoch + 1, o.ckpt_dir);
					}
				}
			}
			if (dp.fold)
				dp_finish(&dp, &t);
			double lr_now = tl_optim_lr(&opt);
			/* clip, update and zero the gradient for the next step in one go */
			for (int h = 0; h < mt.n; h++) /* only the heads this step used move */
				opt.segs[mt.segw[h]].frozen = opt.segs[mt.segb[h]].frozen = !mt.used[h];
			/* one process, one micro-batch: the gradient is this step's
			 * backwards' (no fold), so its untouched embedding rows are
			 * zero and the step need not read them */
			if (!dp.fold && !t.wte_dense && t.wte_rows && !getenv("TL_NO_ROW_HINTS"))
				tl_optim_hint_rows(&opt, (size_t)(m->params.wte - m->arena), (size_t)m->cfg.C,
						   (size_t)m->cfg.vocab_size, t.wte_rows);
			double gnorm = tl_optim_step_clip_zero(&opt, m->arena, t.grad_arena, o.clip);
			tl_bert_train_rows_clear(&t);
			tl_bert_train_weights_changed(&t); /* bf16: rounded again from the fp32 master weights */
			if (mt.n) {
				if (mt.uncertainty)
					mt_uncertainty_step(&mt);
				memset(mt.used, 0, (size_t)mt.n);
			}
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
			if (step_task >= 0 && strlen(js) + strlen(mt.h[step_task].name) + 16 < sizeof js)
				snprintf(js + strlen(js), sizeof js - strlen(js), ",\"task\":\"%s\"", mt.h[step_task].name);
			if (dp.d) { /* the all-gathers and sums of the step */
				size_t jl = strlen(js);
				snprintf(js + jl, sizeof js - jl, ",\"allreduce_s\":%.6f,\"wait_s\":%.6f", dp.comm_s, dp.wait_s);
			}
			if (da_on) /* labelled and unlabelled records of the step, the domain loss */
				tl_da_log(&da, js, sizeof js);
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
				if (mlm) { /* acc: 1 / perplexity (higher is better) */
					tl_mlm_evaluate(&t, &mc, dv.ids, dv.types, dv.off, dv.len, dv.n, &r.loss, &mlm_dev_pos);
					r.acc = exp(-r.loss);
					r.f1 = 0;
				} else if (o.token) {
					if (evaluate_token(&t, &dv, &ls, &r, e) < 0) {
						dp.phase = 0; /* the same on every rank */
						goto out;
					}
				} else if (mt.n)
					r = evaluate_mt(&t, &dv, &mt);
				else
					r = evaluate(&t, &dv, ls.k, multi);
				double metric = o.metric_f1 ? r.f1 : r.acc;
				int better = metric > ps.best;
				if (better) {
					ps.best = metric;
					ps.best_step = opt.t;
					ps.best_res = r;
					ps.bad_evals = 0;
					if (mt.n)
						memcpy(mt.best, mt.cur, (size_t)mt.n * sizeof *mt.best);
					/* best_w is host memory, the arena backend memory */
					if (!best_w)
						best_w = tl_xmalloc(m->nparams * sizeof(float));
					k->to_host(best_w, m->arena, m->nparams * sizeof(float));
				} else
					ps.bad_evals++;
				if (mlm)
					snprintf(js, sizeof js,
						 "\"event\":\"eval\",\"epoch\":%ld,\"step\":%ld,\"dev_loss\":%.6f,\"perplexity\":%.6g,"
						 "\"masked_tokens\":%ld,\"best\":%s",
						 ps.epoch + 1, opt.t, r.loss, 1.0 / r.acc, mlm_dev_pos, better ? "true" : "false");
				else
				snprintf(js, sizeof js,
					 o.token ? "\"event\":\"eval\",\"epoch\":%ld,\"step\":%ld,\"dev_loss\":%.6f,\"word_accuracy\":%.6f,\"entity_f1\":%.6f,\"best\":%s"
						 : "\"event\":\"eval\",\"epoch\":%ld,\"step\":%ld,\"dev_loss\":%.6f,\"accuracy\":%.6f,\"macro_f1\":%.6f,\"best\":%s",
					 ps.epoch + 1, opt.t, r.loss, r.acc, r.f1, better ? "true" : "false");
				if (mt.n) { /* each task's figures; accuracy and macro-F1 above are their means */
					tl_buf tb = {0};
					tl_buf_printf(&tb, "%s,\"tasks\":{", js);
					for (int h = 0; h < mt.n; h++)
						tl_buf_printf(&tb, "%s\"%s\":{\"accuracy\":%.6f,\"macro_f1\":%.6f,\"loss\":%.6f}", h ? "," : "",
							      mt.h[h].name, mt.cur[h].acc, mt.cur[h].f1, mt.cur[h].loss);
					tl_buf_addc(&tb, '}');
					tl_progress_log(&prog, tl_buf_cstr(&tb));
					tl_buf_free(&tb);
				} else
					tl_progress_log(&prog, js);
				if (!o.quiet && mlm) {
					if (prog.tty && prog.printed)
						fputc('\n', stderr);
					fprintf(stderr, "tl-train: dev at step %ld (epoch %ld): MLM loss %.4f, perplexity %.3f (%ld masked tokens)%s\n",
						opt.t, ps.epoch + 1, r.loss, 1.0 / r.acc, mlm_dev_pos, better ? " (best)" : "");
				} else if (!o.quiet) {
					if (prog.tty && prog.printed)
						fputc('\n', stderr);
					fprintf(stderr, "tl-train: dev at step %ld (epoch %ld): %s %.4f, %s %.4f, loss %.4f%s\n",
						opt.t, ps.epoch + 1, o.token ? "word accuracy" : "accuracy", r.acc,
						o.token ? "entity F1" : "macro-F1", r.f1, r.loss, better ? " (best)" : "");
					for (int h = 0; h < mt.n; h++)
						fprintf(stderr, "tl-train:   task %s: accuracy %.4f, macro-F1 %.4f, loss %.4f\n", mt.h[h].name,
							mt.cur[h].acc, mt.cur[h].f1, mt.cur[h].loss);
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
			if (o.ckpt_every > 0 && opt.t % o.ckpt_every == 0 && !stop && dp.r == 0)
				SAVE_CKPT(o.ckpt_dir); /* ranks: a failure reaches the others through dp_control */
			/* fault injection for the tests: a real SIGKILL / SIGINT after step N */
			if (kill_at > 0 && opt.t == kill_at)
				raise(SIGKILL);
			if (int_at > 0 && opt.t == int_at)
				raise(SIGINT);
			int stop_now = o.stop && *o.stop;
			if (dp.d && dp_control(&dp, 0, &stop_now, e) < 0) /* one rank's SIGINT stops all */
				goto out;
			if (stop_now) {
				dp.phase = 0;
				tl_progress_finish(&prog, NULL);
				if (dp.r == 0)
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
	dp.phase = 0;
	double train_secs = tl_now() - t_start;
	snprintf(extra, sizeof extra, "%.0f s", train_secs);
	tl_progress_finish(&prog, extra);
	if (dp.r != 0) { /* rank 0 writes the model */
		rc = 0;
		goto out;
	}

	/* output */
	const float *final_w = best_w ? best_w : m->arena;
	tj = json_object();
	json_object_set_new(tj, "tool", json_string("tl-train"));
	json_object_set_new(tj, "version", json_string(TL_VERSION));
	json_object_set_new(tj, "model", json_string("bert"));
	json_object_set_new(tj, "task", json_string(mlm ? "mlm" : o.token ? "token" : "sequence"));
	json_object_set_new(tj, "objective", json_string(mlm ? "mlm" : "cls"));
	if (mlm)
		json_object_set_new(tj, "mlm", json_pack("{s:f,s:b,s:s,s:I,s:I,s:b}", "mask_prob", o.mask_prob,
							 "whole_word_mask", o.whole_word_mask, "replace", "80% [MASK], 10% random, 10% kept",
							 "skipped_records", (json_int_t)tr.mlm_skipped, "labels_ignored",
							 (json_int_t)tr.mlm_labels, "head_from_checkpoint", mc.head_loaded));
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
	if (da_on)
		json_object_set_new(tj, "domain_adaptation", tl_da_json(&da, o.source));
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
	if (o.dev && mlm)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:I,s:I,s:I,s:s}", "mlm_loss", ps.best_res.loss, "perplexity",
							 exp(ps.best_res.loss), "masked_tokens", (json_int_t)mlm_dev_pos, "step",
							 (json_int_t)ps.best_step, "records", (json_int_t)dv.n, "masking",
							 "fixed: seeded by --seed, the same at every evaluation"));
	else if (o.dev && o.token)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:f,s:i,s:i}", "word_accuracy", ps.best_res.acc,
							 "entity_f1", ps.best_res.f1, "loss", ps.best_res.loss, "step",
							 (json_int_t)ps.best_step, "records", (json_int_t)dv.n));
	else if (o.dev)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:f,s:i,s:i}", "accuracy", ps.best_res.acc, "macro_f1",
							 ps.best_res.f1, "loss", ps.best_res.loss, "step",
							 (json_int_t)ps.best_step, "records", (json_int_t)dv.n));
	/* the log is complete: closed and checked before the model is written,
	 * so a failed --log write (exit 4) leaves no model (the checkpoint stays) */
	if (logf) {
		int ferr = ferror(logf); /* a failed fflush leaves only the error flag */
		int bad = fclose(logf) != 0;
		int en = errno;
		logf = NULL;
		if (bad)
			FAIL(TL_EXIT_IO, "cannot write %s: %s (no model written)", o.log, strerror(en));
		if (ferr)
			FAIL(TL_EXIT_IO, "write error on %s (no model written)", o.log);
	}
	if (mt.n) {
		/* the heads list (tl/bert.h): row order, tensor names */
		json_t *ta = json_array();
		for (int h = 0; h < mt.n; h++) {
			json_t *lj = json_array();
			for (int c = 0; c < mt.h[h].k; c++)
				json_array_append_new(lj, json_string(mt.ls[h].name[c]));
			char wn[128], bn[128];
			snprintf(wn, sizeof wn, h ? "tl.heads.%s.weight" : "classifier.weight", mt.h[h].name);
			snprintf(bn, sizeof bn, h ? "tl.heads.%s.bias" : "classifier.bias", mt.h[h].name);
			json_t *tj1 = json_pack("{s:s,s:o,s:b,s:s,s:s,s:I}", "name", mt.h[h].name, "labels", lj, "multi_label",
						mt.h[h].multi_label, "weight", wn, "bias", bn, "train_records",
						(json_int_t)mt.cnt[h]);
			if (mt.uncertainty)
				json_object_set_new(tj1, "log_var", json_real(mt.s[h]));
			else
				json_object_set_new(tj1, "loss_weight", json_real(mt.w[h]));
			if (o.dev)
				json_object_set_new(tj1, "dev", json_pack("{s:f,s:f,s:f}", "accuracy", mt.best[h].acc, "macro_f1",
									   mt.best[h].f1, "loss", mt.best[h].loss));
			json_array_append_new(ta, tj1);
		}
		json_object_set_new(tj, "tasks", ta);
		static const char *smp[] = {"proportional", "uniform", "temperature"};
		json_t *sj = json_pack("{s:s}", "name", smp[mt.sampling]);
		if (mt.sampling == SAMPLE_TEMPERATURE)
			json_object_set_new(sj, "T", json_real(mt.temp));
		json_object_set_new(tj, "task_sampling", sj);
		json_object_set_new(tj, "task_weight", json_string(mt.uncertainty ? "uncertainty" : "fixed"));
		if (o.dev)
			json_object_set_new(json_object_get(tj, "dev"), "over", json_string("the mean of the tasks' figures"));
	}
	if (!(tmp = tl_fs_tmpdir_for(o.out)))
		FAIL(TL_EXIT_IO, "cannot create a temporary directory next to %s: %s", o.out, strerror(errno));
	if (lk)
		json_object_set_new(tj, "train_keys", tl_train_keys_json(tl_leak_train_keys(lk)));
	if (save_model(tmp, m, final_w, mdir, mt.n ? &mt.ls[0] : &ls, mt.n ? mt.h[0].multi_label : multi, o.token, tj,
		       o.max_len, lk ? tl_leak_train_keys(lk) : NULL, mt.n ? &mt : NULL, mlm) != 0) {
		int en = errno;
		tl_fs_rmtree(tmp);
		FAIL(TL_EXIT_IO, "cannot save the model to %s: %s", o.out, strerror(en));
	}
	if (tl_fs_publish_dir(tmp, o.out, o.force) != 0) {
		int en = errno;
		tl_fs_rmtree(tmp);
		FAIL(TL_EXIT_IO, "cannot publish the model as %s: %s", o.out, strerror(en));
	}
	/* the checkpoint has served: removed unless kept */
	if (!o.keep_ckpt)
		tl_ckpt_remove_served(o.ckpt_dir, o.resume, wrote_ckpt, o.quiet);
	if (!o.quiet) {
		if (o.dev && mlm)
			fprintf(stderr, "tl-train: wrote %s (BertForMaskedLM; best dev MLM loss %.4f, perplexity %.3f at step %ld)\n",
				o.out, ps.best_res.loss, exp(ps.best_res.loss), ps.best_step);
		else if (o.dev && o.token)
			fprintf(stderr, "tl-train: wrote %s (best dev entity F1 %.4f at step %ld; word accuracy %.4f)\n", o.out,
				ps.best, ps.best_step, ps.best_res.acc);
		else if (o.dev)
			fprintf(stderr, "tl-train: wrote %s (best dev %s %.4f at step %ld; accuracy %.4f, macro-F1 %.4f)\n", o.out,
				o.metric_f1 ? "macro-F1" : "accuracy", ps.best, ps.best_step, ps.best_res.acc, ps.best_res.f1);
		else
			fprintf(stderr, "tl-train: wrote %s after %ld steps\n", o.out, opt.t);
	}
	rc = 0;
out:
	if (dp.phase == 1) /* this rank failed before the agreement: tell the others */
		dp_agree(&dp, 1, NULL, e);
	else if (dp.phase == 2) { /* failed in a step (rank 0's checkpoint): at the step's control */
		int s = 0;
		dp_control(&dp, e->code ? e->code : TL_EXIT_FAIL, &s, e);
	}
	free(dp.gsum);
	free(dp.ghost);
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
	free(plan.task);
	mt_free(&mt);
	tl_da_free(&da);
	ds_free(&sr);
	tl_mlm_ctx_free(&mc);
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

/* ---------------- the --distill data alone (fuzzing) ---------------- */

int tl_bert_fit_read_distill(const char *path, int vocab, int type_vocab, size_t *n, int *k, tl_err *e)
{
	dataset d;
	labelset ls = {0};
	memset(&d, 0, sizeof d);
	d.distill = 1;
	const char *what = path ? path : "standard input";
	int rc = ds_read(&d, path, what, 512, NULL, "(model)", vocab, type_vocab, 0, NULL, NULL, e);
	if (rc == 0 && d.ntlab)
		rc = labels_from_teacher(&ls, &d, what, e);
	else if (rc == 0)
		labels_from_data(&ls, &d);
	if (rc == 0 && d.n && ls.k && !d.multi && !d.ntask)
		rc = ds_distill_labels(&d, &ls, d.ntlab ? "the teacher" : "the data's labels", what, 1, e);
	if (rc == 0 && d.n && ls.k && !d.multi && !d.ntask)
		rc = ds_map_labels(&d, &ls, 0, what, e);
	*n = d.n;
	*k = ls.k;
	for (int i = 0; i < ls.k; i++)
		free(ls.name[i]);
	free(ls.name);
	ds_free(&d);
	return rc < 0 ? -1 : 0;
}
