/* tl-predict - score records with a classification model directory:
 * adds "pred", "probs" and optionally "logits". Any model kind of
 * tl/classifier.h (BERT sequence classification, linear). When the
 * directory holds the training keys (train-keys.bin, tl/leak.h), records
 * the model was trained on also get "seen": true. */
#include "tl/classifier.h"
#include "tl/cli.h"
#include "tl/features.h"
#include "tl/bert.h"
#include "tl/kernels.h"
#include "tl/leak.h"
#include "tl/model.h"
#include "tl/probs.h"
#include "tl/progress.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: tl-predict -m MODEL_DIR [--logits] [--top-k K] [--threshold P]\n"
	"                  [--batch-size N] [--threads N] [--device NAME]\n"
	"                  [--precision fp32|bf16|int8] [--task NAME]\n"
	"                  [--match-prior SHARES] [FILE...]\n"
	"Add a prediction to every record: \"pred\" (the label), \"probs\" (label to\n"
	"probability) and, with --logits, the raw scores. Output order is input order.\n"
	"Records the model was trained on (its train-keys.bin) get \"seen\": true.\n"
	"A token-classification model (tl-train --task token) writes per-word tags as\n"
	"\"pred\" and the entity spans as \"entities\" (records with words, word_ids);\n"
	"its --logits are those of every id, [ids x labels] row-major.\n"
	"\n"
	"  -m, --model DIR     model directory (config.json model_type: bert, tl-linear, tl-lstm)\n"
	"      --task NAME     multi-task model: NAME's head only (plain pred/probs);\n"
	"                      without it a record's \"task\" picks its head, and a\n"
	"                      record without one gets maps task -> pred, task -> probs\n"
	"      --logits        also add \"logits\" (float32, in id2label order)\n"
	"  -k, --top-k K       \"probs\" holds only the K most probable labels (default all)\n"
	"  -t, --threshold P   single-label: abstain (pred \"\") when the top probability\n"
	"                      is below P (default 0); multi-label: the labels with\n"
	"                      probability >= P form pred (default 0.5); token models:\n"
	"                      a word whose top probability is below P is tagged O\n"
	"  -b, --batch-size N  records per forward pass (default 32)\n"
	"  -j, --threads N     threads (default: all cores)\n"
	"      --label-names SPEC  write label names instead of the model's labels:\n"
	"                      a file with one name a line (in the model's label\n"
	"                      order, as id2label) or KEY=NAME,... (e.g. 0=World)\n"
	"      --device NAME   kernel backend of neural models: cpu or cuda (default\n"
	"                      $TL_DEVICE, else cpu)\n"
	"      --progress[=S]  progress lines on stderr every S seconds (10) even when\n"
	"                      it is not a terminal (default there: none)\n"
	"  -q, --quiet         no progress, not even on a terminal\n"
	"      --match-prior SHARES  single-label: shift the labels' scores so that the\n"
	"                      predicted labels of the whole input take these shares:\n"
	"                      'uniform' or LABEL=SHARE,... (every label; normalised\n"
	"                      to sum 1); reads all the input before writing\n"
	"      --precision P   BERT models: the encoder layers' products in fp32\n"
	"                      (default; int8 for a tl-quantize model), bf16 or int8\n"
	"                      (dynamic, per row and channel);\n"
	"                      $TL_ISA caps the instruction set (avx2, avx512, vnni, amx)\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 I/O error, 5 bad model.\n";

typedef struct {
	tl_classifier *c;
	tl_keyset *keys; /* the model's training keys, NULL when it has none */
	tl_writer *w;
	int logits, topk;
	double threshold;
	float *scores, *probs;
	int *idx;
	const char *const *names; /* what pred/probs say: the model's labels or --label-names */
	tl_progress prog; /* records written (tl_progress_init_filter) */
	uint64_t ndone;
	/* token models */
	float *tok;       /* logits of the ids of a batch */
	float *raw;       /* --logits: one record's */
	size_t tokcap, *off;
	int32_t *wids;
	size_t wcap;
	const char **tags;
	size_t tagcap;
	uint64_t lost_words, lost_recs; /* words without a sub-token (truncated) */
	/* multi-task models (tl/bert.h heads list): the heads, and --task */
	const tl_bert_head *heads;
	int nheads, task; /* task: the head of --task, -1 none */
	/* --match-prior: the shares (nlabels, summing to 1), NULL when off */
	double *share;
	int quiet;
} ctx;

/* The training keys of the model in dir: NULL when the directory has no
 * train-keys.bin (models made before tl-train wrote it) or when its keys
 * are of an older format (a warning); an unreadable or damaged file is a
 * model error. */
static tl_keyset *load_train_keys(const char *dir)
{
	char err[1024];
	tl_keyset *k = tl_model_train_keys(dir, err, sizeof err);
	if (!k && errno == EPROTO)
		tl_warn("%s", err); /* keys of an older format: nothing marked */
	else if (!k && errno != ENOENT)
		tl_die(TL_EXIT_MODEL, "%s", err);
	return k;
}

/* --label-names: the names to write for the model's labels, in its label
 * order (an array the caller frees; the strings belong to m or c). A file
 * names every label in order; KEY=NAME pairs name some, the others keep
 * their label. Every key must be a label of the model, and the names that
 * result must be distinct. Dies with exit 2 otherwise. */
static const char *const *label_names(tl_label_names *m, const tl_classifier *c, char *err, size_t errlen)
{
	size_t K = (size_t)c->nlabels;
	static tl_buf all; /* static: reachable when an error exits */
	for (size_t j = 0; j < K; j++)
		tl_buf_printf(&all, "%s%s", j ? ", " : "", c->labels[j]);
	if (tl_label_names_bind(m, (const char *const *)c->labels, K, err, errlen) < 0)
		tl_die(TL_EXIT_USAGE, "option --label-names: %s; the model's labels: %s", err, tl_buf_cstr(&all));
	for (size_t i = 0; i < m->n; i++) {
		size_t j = 0;
		while (j < K && strcmp(c->labels[j], m->key[i]))
			j++;
		if (j == K)
			tl_die(TL_EXIT_USAGE, "option --label-names: '%s' is not a label of the model; its labels: %s", m->key[i],
			       tl_buf_cstr(&all));
	}
	const char **out = tl_xmalloc((K ? K : 1) * sizeof *out);
	for (size_t j = 0; j < K; j++) {
		const char *n = tl_label_names_get(m, c->labels[j], strlen(c->labels[j]));
		out[j] = n ? n : c->labels[j];
		for (size_t i = 0; i < j; i++)
			if (!strcmp(out[i], out[j]))
				tl_die(TL_EXIT_USAGE, "option --label-names: labels '%s' and '%s' would both read '%s'", c->labels[i],
				       c->labels[j], out[j]);
	}
	tl_buf_free(&all);
	return out;
}

/* ---- token models: per-word tags and entity spans ---- */

/* tag -> prefix (B, I, E, S or O) and type; a tag without a prefix is
 * I-TAG (an IO scheme: consecutive words of one type form one entity). */
static char tag_split(const char *tag, const char **type)
{
	if (!strcmp(tag, "O") || !*tag) {
		*type = "";
		return 'O';
	}
	if (strchr("BIES", tag[0]) && tag[1] == '-') {
		*type = tag + 2;
		return tag[0];
	}
	*type = tag;
	return 'I';
}

/* Pack the entities of tags[0..n) (chunks as seqeval's default mode):
 * {type, start, end (word indices, end exclusive), text, char_start and
 * char_end when the record has "offsets"}; text is the record's "text"
 * between the offsets, else the words joined by spaces. */
static void pack_entities(msgpack_packer *pk, const tl_record *rec, const char *const *tags, size_t n)
{
	size_t cnt = 0, cap = 8, (*sp)[2] = tl_xmalloc(cap * sizeof *sp);
	const char *pt = "";
	char pp = 'O';
	for (size_t i = 0; i <= n; i++) {
		const char *ty = "";
		char p = i < n ? tag_split(tags[i], &ty) : 'O';
		int same = !strcmp(pt, ty);
		int end = pp == 'E' || pp == 'S' || ((pp == 'B' || pp == 'I') && (p == 'B' || p == 'S' || p == 'O')) ||
			  (pp != 'O' && !same);
		int start = p == 'B' || p == 'S' || ((pp == 'E' || pp == 'S' || pp == 'O') && (p == 'E' || p == 'I')) ||
			    (p != 'O' && !same);
		if (end && cnt)
			sp[cnt - 1][1] = i;
		if (start) {
			if (cnt == cap)
				sp = tl_xrealloc(sp, (cap *= 2) * sizeof *sp);
			sp[cnt][0] = i;
			sp[cnt++][1] = n;
		}
		pp = p, pt = ty;
	}
	const msgpack_object *wo = tl_rec_get(rec, "words"), *oo = tl_rec_get(rec, "offsets");
	size_t tlen = 0;
	int bad = 0;
	const char *text = tl_rec_str(rec, "text", &tlen, &bad);
	int have_off = oo && oo->type == MSGPACK_OBJECT_ARRAY && oo->via.array.size == n;
	msgpack_pack_array(pk, cnt);
	for (size_t c = 0; c < cnt; c++) {
		size_t a = sp[c][0], z = sp[c][1];
		const char *ty;
		tag_split(tags[a], &ty);
		long cs = -1, ce = -1;
		if (have_off) {
			const msgpack_object *oa = &oo->via.array.ptr[a], *oz = &oo->via.array.ptr[z - 1];
			if (oa->type == MSGPACK_OBJECT_ARRAY && oa->via.array.size == 2 &&
			    oa->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && oz->type == MSGPACK_OBJECT_ARRAY &&
			    oz->via.array.size == 2 && oz->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				cs = (long)oa->via.array.ptr[0].via.u64;
				ce = (long)oz->via.array.ptr[1].via.u64;
			}
		}
		msgpack_pack_map(pk, cs >= 0 ? 6 : 4);
		tl_pack_cstr(pk, "type");
		tl_pack_cstr(pk, ty);
		tl_pack_cstr(pk, "start");
		msgpack_pack_uint64(pk, a);
		tl_pack_cstr(pk, "end");
		msgpack_pack_uint64(pk, z);
		tl_pack_cstr(pk, "text");
		if (cs >= 0 && text && !bad && (size_t)ce <= tlen && cs <= ce) {
			tl_pack_str(pk, text + cs, (size_t)(ce - cs));
		} else {
			tl_buf t = {0};
			for (size_t w = a; w < z; w++) {
				const msgpack_object *x = &wo->via.array.ptr[w];
				if (w > a)
					tl_buf_addc(&t, ' ');
				if (x->type == MSGPACK_OBJECT_STR)
					tl_buf_add(&t, x->via.str.ptr, x->via.str.size);
			}
			tl_pack_str(pk, t.data ? t.data : "", t.len);
			tl_buf_free(&t);
		}
		if (cs >= 0) {
			tl_pack_cstr(pk, "char_start");
			msgpack_pack_uint64(pk, (uint64_t)cs);
			tl_pack_cstr(pk, "char_end");
			msgpack_pack_uint64(pk, (uint64_t)ce);
		}
	}
	free(sp);
}

/* A token model: "pred" = the tag of each word (its first sub-token's most
 * probable label; "O" below --threshold or without a sub-token) and
 * "entities". */
static void flush_tokens(ctx *x, tl_rec_batch *b)
{
	tl_classifier *c = x->c;
	int K = c->nlabels;
	tl_classifier_err e;
	x->off = tl_xrealloc(x->off, (b->n + 1) * sizeof *x->off);
	/* the records' own checks first: the model's errors name ids */
	for (size_t i = 0; i < b->n; i++) {
		const tl_record *r = &b->recs[i];
		const msgpack_object *wo = tl_rec_get(r, "words");
		if (!wo || wo->type != MSGPACK_OBJECT_ARRAY)
			tl_die_rec(TL_EXIT_DATA, r->no, "%s (a token model tags words: tl-clean -f conll | tl-tokenize)",
				   wo ? "\"words\" is not an array" : "no \"words\"");
		if (wo->via.array.size == 0)
			tl_die_rec(TL_EXIT_DATA, r->no, "empty sentence (no words)");
		const msgpack_object *to = tl_rec_get(r, "tags");
		if (to && to->type == MSGPACK_OBJECT_ARRAY && to->via.array.size != wo->via.array.size)
			tl_die_rec(TL_EXIT_DATA, r->no, "%u tags for %u words (\"tags\" and \"words\" must have the same length)",
				   to->via.array.size, wo->via.array.size);
	}
	if (tl_classifier_predict_tokens(c, b->recs, b->n, &x->tok, &x->tokcap, x->off, &e) < 0) {
		if (e.index < b->n)
			tl_die_rec(e.code ? e.code : TL_EXIT_FAIL, b->recs[e.index].no, "%s", e.msg);
		tl_die(e.code ? e.code : TL_EXIT_FAIL, "%s", e.msg);
	}
	for (size_t i = 0; i < b->n; i++) {
		const tl_record *r = &b->recs[i];
		size_t nw = tl_rec_get(r, "words")->via.array.size, nid = x->off[i + 1] - x->off[i];
		long wn = tl_rec_i32s(r, "word_ids", &x->wids, &x->wcap);
		if (wn == -1)
			tl_die_rec(TL_EXIT_DATA, r->no, "no \"word_ids\" (tokenize the words: tl-tokenize)");
		if (wn < 0 || (size_t)wn != nid)
			tl_die_rec(TL_EXIT_DATA, r->no, "\"word_ids\" malformed or not as long as \"ids\" (%zu ids)", nid);
		if (x->logits) {
			x->raw = tl_xrealloc(x->raw, (nid * (size_t)K + 1) * sizeof *x->raw);
			memcpy(x->raw, x->tok + x->off[i] * (size_t)K, nid * (size_t)K * sizeof *x->raw);
		}
		if (nw > x->tagcap) {
			x->tagcap = nw * 2;
			x->tags = tl_xrealloc(x->tags, x->tagcap * sizeof *x->tags);
		}
		for (size_t w = 0; w < nw; w++)
			x->tags[w] = NULL;
		for (size_t t = 0; t < nid; t++) {
			int32_t w = x->wids[t];
			if (w < -1 || w >= (int32_t)nw)
				tl_die_rec(TL_EXIT_DATA, r->no, "word_ids[%zu] = %d outside -1..%zu (%zu words)", t, w, nw - 1, nw);
			if (w < 0 || (t > 0 && x->wids[t - 1] == w))
				continue;
			float *z = x->tok + (x->off[i] + t) * (size_t)K;
			tl_classifier_probs(c, z, 1);
			int best = 0;
			for (int k = 1; k < K; k++)
				if (z[k] > z[best])
					best = k;
			x->tags[w] = z[best] >= x->threshold ? x->names[best] : "O";
		}
		size_t lost = 0;
		for (size_t w = 0; w < nw; w++)
			if (!x->tags[w]) {
				x->tags[w] = "O";
				lost++;
			}
		x->lost_words += lost;
		x->lost_recs += lost > 0;
		tl_writer_start(x->w, r->map);
		msgpack_packer *pk = tl_writer_key(x->w, "pred");
		msgpack_pack_array(pk, nw);
		for (size_t w = 0; w < nw; w++)
			tl_pack_cstr(pk, x->tags[w]);
		pack_entities(tl_writer_key(x->w, "entities"), r, x->tags, nw);
		if (x->logits) /* [ids, labels] row-major, raw scores */
			tl_pack_f32_bin(tl_writer_key(x->w, "logits"), x->raw, nid * (size_t)K);
		if (tl_rec_get(r, "probs"))
			tl_writer_drop(x->w, "probs");
		if (x->keys && tl_keyset_covers(x->keys, r))
			msgpack_pack_true(tl_writer_key(x->w, "seen"));
		else if (tl_rec_get(r, "seen"))
			tl_writer_drop(x->w, "seen");
		tl_writer_end(x->w);
	}
	x->ndone += b->n;
	tl_progress_update(&x->prog, x->ndone, NULL, 0);
	tl_rec_batch_clear(b);
}

/* ---- multi-task models ---- */

/* The head a record is scored with: --task, else the record's "task"
 * (unknown: exit 3 naming the record and the task), else -1 (all heads). */
static int record_head(const ctx *x, const tl_record *r)
{
	if (x->task >= 0)
		return x->task;
	const msgpack_object *o = tl_rec_get(r, "task");
	if (!o)
		return -1;
	if (o->type != MSGPACK_OBJECT_STR)
		tl_die_rec(TL_EXIT_DATA, r->no, "\"task\" is a %s, not a string", tl_msgpack_type_name(o->type));
	for (int h = 0; h < x->nheads; h++)
		if (strlen(x->heads[h].name) == o->via.str.size && !memcmp(x->heads[h].name, o->via.str.ptr, o->via.str.size))
			return h;
	tl_buf t = {0};
	for (int h = 0; h < x->nheads; h++)
		tl_buf_printf(&t, "%s%s", h ? ", " : "", x->heads[h].name);
	tl_die_rec(TL_EXIT_DATA, r->no, "task '%.*s' was not seen in training (the model's tasks: %s)",
		   (int)(o->via.str.size > 64 ? 64 : o->via.str.size), o->via.str.ptr, tl_buf_cstr(&t));
	return -1;
}

/* pred and probs of head h for one record's probabilities p (the head's
 * k entries), into the packers; the head's own threshold default. */
static void pack_head(ctx *x, const tl_bert_head *h, const float *p, msgpack_packer *pred, msgpack_packer *probs)
{
	int K = h->k, top = x->topk > 0 && x->topk < K ? x->topk : K;
	const char *const *names = x->names + h->k0;
	double thr = x->threshold >= 0 ? x->threshold : h->multi_label ? 0.5 : 0;
	for (int j = 0; j < K; j++)
		x->idx[j] = j;
	for (int j = 1; j < K; j++) {
		int v = x->idx[j], q = j;
		while (q > 0 && p[x->idx[q - 1]] < p[v]) {
			x->idx[q] = x->idx[q - 1];
			q--;
		}
		x->idx[q] = v;
	}
	if (pred && h->multi_label) {
		int n = 0;
		for (int j = 0; j < K; j++)
			n += p[x->idx[j]] >= thr;
		msgpack_pack_array(pred, (size_t)n);
		for (int j = 0; j < n; j++)
			tl_pack_cstr(pred, names[x->idx[j]]);
	} else if (pred)
		tl_pack_cstr(pred, p[x->idx[0]] >= thr ? names[x->idx[0]] : "");
	if (!probs)
		return;
	msgpack_pack_map(probs, (size_t)top);
	for (int j = 0; j < top; j++) {
		tl_pack_cstr(probs, names[x->idx[j]]);
		msgpack_pack_float(probs, p[x->idx[j]]);
	}
}

/* A multi-task model: a record with "task" (or every record under
 * --task) gets that head's plain pred/probs; others get maps task ->
 * pred and task -> {label: p}. --logits: every head's raw scores, side by
 * side in the heads' order. */
static void flush_mt(ctx *x, tl_rec_batch *b)
{
	tl_classifier *c = x->c;
	int K = c->nlabels;
	int *hs = tl_xmalloc((b->n + 1) * sizeof *hs);
	for (size_t i = 0; i < b->n; i++) /* bad tasks before any work */
		hs[i] = record_head(x, &b->recs[i]);
	tl_classifier_err e;
	if (tl_classifier_predict(c, b->recs, b->n, x->scores, &e) < 0) {
		if (e.index < b->n)
			tl_die_rec(e.code ? e.code : TL_EXIT_FAIL, b->recs[e.index].no, "%s", e.msg);
		tl_die(e.code ? e.code : TL_EXIT_FAIL, "%s", e.msg);
	}
	memcpy(x->probs, x->scores, b->n * (size_t)K * sizeof(float));
	for (size_t i = 0; i < b->n; i++)
		for (int h = 0; h < x->nheads; h++) { /* each head's softmax or sigmoid, as a one-head model's */
			const tl_classifier hc = {.nlabels = x->heads[h].k, .multi_label = x->heads[h].multi_label};
			tl_classifier_probs(&hc, x->probs + i * (size_t)K + x->heads[h].k0, 1);
		}
	for (size_t i = 0; i < b->n; i++) {
		const float *p = x->probs + i * (size_t)K;
		tl_writer_start(x->w, b->recs[i].map);
		if (hs[i] >= 0) {
			const tl_bert_head *h = &x->heads[hs[i]];
			/* a packer from tl_writer_key is valid until the next key */
			pack_head(x, h, p + h->k0, tl_writer_key(x->w, "pred"), NULL);
			pack_head(x, h, p + h->k0, NULL, tl_writer_key(x->w, "probs"));
		} else {
			msgpack_packer *pk = tl_writer_key(x->w, "pred");
			msgpack_pack_map(pk, (size_t)x->nheads);
			for (int h = 0; h < x->nheads; h++) {
				tl_pack_cstr(pk, x->heads[h].name);
				pack_head(x, &x->heads[h], p + x->heads[h].k0, pk, NULL);
			}
			pk = tl_writer_key(x->w, "probs");
			msgpack_pack_map(pk, (size_t)x->nheads);
			for (int h = 0; h < x->nheads; h++) {
				tl_pack_cstr(pk, x->heads[h].name);
				pack_head(x, &x->heads[h], p + x->heads[h].k0, NULL, pk);
			}
		}
		if (x->logits)
			tl_pack_f32_bin(tl_writer_key(x->w, "logits"), x->scores + i * (size_t)K, (size_t)K);
		if (x->keys && tl_keyset_covers(x->keys, &b->recs[i]))
			msgpack_pack_true(tl_writer_key(x->w, "seen"));
		else if (tl_rec_get(&b->recs[i], "seen"))
			tl_writer_drop(x->w, "seen");
		tl_writer_end(x->w);
	}
	free(hs);
	x->ndone += b->n;
	tl_progress_update(&x->prog, x->ndone, NULL, 0);
	tl_rec_batch_clear(b);
}

/* Score n records into scores[n * nlabels]; dies naming the record. */
static void predict_rows(ctx *x, const tl_record *recs, size_t n, float *scores)
{
	tl_classifier_err e;
	if (tl_classifier_predict(x->c, recs, n, scores, &e) < 0) {
		if (e.index < n)
			tl_die_rec(e.code ? e.code : TL_EXIT_FAIL, recs[e.index].no, "%s", e.msg);
		tl_die(e.code ? e.code : TL_EXIT_FAIL, "%s", e.msg);
	}
}

/* Write the records of b with their scores (raw) and probabilities (probs,
 * scratch of the same size, filled here), then clear b. */
static void emit(ctx *x, tl_rec_batch *b, const float *raw, float *probs)
{
	tl_classifier *c = x->c;
	int K = c->nlabels;
	memcpy(probs, raw, b->n * (size_t)K * sizeof(float));
	tl_classifier_probs(c, probs, b->n);
	const tl_bert_head one = {.k0 = 0, .k = K, .multi_label = c->multi_label}; /* the model's only head */
	for (size_t i = 0; i < b->n; i++) {
		const float *p = probs + i * (size_t)K;
		tl_writer_start(x->w, b->recs[i].map);
		/* a packer from tl_writer_key is valid until the next key */
		pack_head(x, &one, p, tl_writer_key(x->w, "pred"), NULL);
		pack_head(x, &one, p, NULL, tl_writer_key(x->w, "probs"));
		if (x->logits)
			tl_pack_f32_bin(tl_writer_key(x->w, "logits"), raw + i * (size_t)K, (size_t)K);
		/* "seen" belongs to this model: a mark from another is dropped */
		if (x->keys && tl_keyset_covers(x->keys, &b->recs[i]))
			msgpack_pack_true(tl_writer_key(x->w, "seen"));
		else if (tl_rec_get(&b->recs[i], "seen"))
			tl_writer_drop(x->w, "seen");
		tl_writer_end(x->w);
	}
	x->ndone += b->n;
	tl_progress_update(&x->prog, x->ndone, NULL, 0);
	tl_rec_batch_clear(b);
}

static void flush(ctx *x, tl_rec_batch *b)
{
	if (!b->n)
		return;
	if (x->c->token) {
		flush_tokens(x, b);
		return;
	}
	if (x->nheads) {
		flush_mt(x, b);
		return;
	}
	predict_rows(x, b->recs, b->n, x->scores);
	emit(x, b, x->scores, x->probs);
}

/* --match-prior: the whole input is in b; score it a window at a time, add
 * the offsets that give the predicted labels the shares (tl_prior_match),
 * write it. */
static void flush_matched(ctx *x, tl_rec_batch *b, size_t window)
{
	size_t n = b->n, K = (size_t)x->c->nlabels;
	float *z = tl_xmalloc((n ? n : 1) * K * sizeof *z), *p = tl_xmalloc((n ? n : 1) * K * sizeof *p);
	float *off = tl_xmalloc(K * sizeof *off);
	size_t *before = tl_xcalloc(K, sizeof *before);
	for (size_t i = 0; i < n; i += window)
		predict_rows(x, b->recs + i, n - i < window ? n - i : window, z + i * K);
	for (size_t i = 0; i < n; i++) {
		size_t best = 0;
		for (size_t j = 1; j < K; j++)
			if (z[i * K + j] > z[i * K + best])
				best = j;
		before[best]++;
	}
	if (tl_prior_match(z, n, (int)K, x->share, off) < 0)
		tl_die(TL_EXIT_FAIL, "--match-prior: out of memory");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < K; j++)
			z[i * K + j] += off[j];
	if (!x->quiet && n) {
		tl_buf m = {0};
		for (size_t j = 0; j < K; j++)
			tl_buf_printf(&m, "%s%s %+.4f (%.1f%% -> %.1f%%)", j ? ", " : "", x->names[j], (double)off[j],
				      100.0 * (double)before[j] / (double)n, 100.0 * x->share[j]);
		tl_warn("--match-prior over %zu records: offsets %s", n, tl_buf_cstr(&m));
		tl_buf_free(&m);
	}
	emit(x, b, z, p);
	free(z), free(p), free(off), free(before);
}

int main(int argc, char **argv)
{
	tl_init(argv[0]);
	static const struct option lopts[] = {
		{"model", required_argument, 0, 'm'},	  {"logits", no_argument, 0, 'l'},
		{"top-k", required_argument, 0, 'k'},	  {"threshold", required_argument, 0, 't'},
		{"batch-size", required_argument, 0, 'b'}, {"threads", required_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},		  {"version", no_argument, 0, 'V'},
		{"device", required_argument, 0, 'D'},	  {"label-names", required_argument, 0, 'N'},
		{"quiet", no_argument, 0, 'q'},		  {"progress", optional_argument, 0, 'G'},
		{"precision", required_argument, 0, 'Q'}, {"task", required_argument, 0, 'T'},
		{"match-prior", required_argument, 0, 'P'}, {0, 0, 0, 0}};
	const char *model = NULL, *device = NULL, *names_spec = NULL, *task = NULL, *prior_spec = NULL;
	int precision = -1; /* the model's: fp32, int8 for a tl-quantize model */
	int batch = 32, threads = 0, logits = 0, topk = 0, quiet = 0;
	double threshold = -1, progress = -1;
	int c;
	while ((c = getopt_long(argc, argv, "m:k:t:b:j:hq", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = tl_parse_path("-m", optarg); break;
		case 'l': logits = 1; break;
		case 'D': device = optarg; break;
		case 'N': names_spec = optarg; break;
		case 'T': task = optarg; break;
		case 'P': prior_spec = optarg; break;
		case 'q': quiet = 1; break;
		case 'G': progress = optarg ? tl_parse_double("--progress", optarg, 0, 86400) : 10; break;
		case 'Q':
			if ((precision = tl_precision_parse(optarg)) < 0)
				tl_die(TL_EXIT_USAGE, "option --precision: unknown precision '%s' (fp32, bf16, int8)", optarg);
			break;
		case 'k': topk = (int)tl_parse_long("--top-k", optarg, 1, 1000000); break;
		case 't': threshold = tl_parse_double("--threshold", optarg, 0, 1); break;
		case 'b': batch = (int)tl_parse_long("--batch-size", optarg, 1, 4096); break;
		case 'j': threads = (int)tl_parse_long("--threads", optarg, 1, 1024); break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': tl_print_version(); return 0;
		default: fputs(usage, stderr); return TL_EXIT_USAGE;
		}
	}
	if (!model) {
		fputs(usage, stderr);
		tl_die(TL_EXIT_USAGE, "no model: give -m MODEL_DIR");
	}
	char err[1024];
	static tl_label_names names; /* static: reachable when an error exits */
	if (names_spec && tl_label_names_parse(names_spec, &names, err, sizeof err) < 0)
		tl_die(TL_EXIT_USAGE, "option --label-names: %s", err);
	if (!tl_kernels_select(device, err, sizeof err))
		tl_die(TL_EXIT_USAGE, "%s", err);
	if (tl_isa_check(err, sizeof err) < 0)
		tl_die(TL_EXIT_USAGE, "%s", err);
	char *dir = tl_model_find(model, err, sizeof err);
	if (!dir)
		tl_die(TL_EXIT_MODEL, "%s", err);
	tl_classifier_err e;
	ctx x = {0};
	x.c = tl_classifier_load_device(dir, device, threads, &e);
	if (!x.c)
		tl_die(e.code ? e.code : TL_EXIT_MODEL, "%s", e.msg);
	if (precision >= 0 && tl_bert_classifier_set_precision(x.c, precision, err, sizeof err) < 0)
		tl_die(TL_EXIT_USAGE, "%s", err);
	x.c->batch_size = (size_t)batch;
	x.task = -1;
	x.heads = tl_bert_classifier_heads(x.c, &x.nheads);
	if (task || x.nheads) {
		tl_buf tb = {0};
		for (int h = 0; h < x.nheads; h++)
			tl_buf_printf(&tb, "%s%s", h ? ", " : "", x.heads[h].name);
		if (task && !x.nheads)
			tl_die(TL_EXIT_USAGE, "option --task: %s is not a multi-task model (one head: no --task)", dir);
		for (int h = 0; task && h < x.nheads; h++)
			if (!strcmp(task, x.heads[h].name))
				x.task = h;
		if (task && x.task < 0)
			tl_die(TL_EXIT_USAGE, "option --task: '%s' is not a task of the model (%s)", task, tl_buf_cstr(&tb));
		if (names_spec)
			tl_die(TL_EXIT_USAGE, "option --label-names: %s is a multi-task model (tasks %s): not supported", dir,
			       tl_buf_cstr(&tb));
		tl_buf_free(&tb);
	}
	x.names = (const char *const *)x.c->labels;
	if (names_spec)
		x.names = label_names(&names, x.c, err, sizeof err);
	x.keys = load_train_keys(dir);
	x.logits = logits;
	x.topk = topk;
	x.quiet = quiet;
	if (prior_spec) {
		const char *why = x.c->token ? "a token-classification model" : x.nheads ? "a multi-task model"
						    : x.c->multi_label ? "a multi-label model" : NULL;
		if (why)
			tl_die(TL_EXIT_USAGE, "option --match-prior: %s is %s: single-label sequence models only", dir, why);
		x.share = tl_xcalloc((size_t)x.c->nlabels, sizeof *x.share);
		if (tl_prior_shares_parse(prior_spec, (const char *const *)x.c->labels, x.c->nlabels, x.share, err,
					  sizeof err) < 0)
			tl_die(TL_EXIT_USAGE, "option --match-prior: %s", err);
	}
	x.threshold = threshold >= 0 ? threshold : x.c->multi_label ? 0.5 : 0;
	if (x.nheads)
		x.threshold = threshold; /* < 0: each head's default (pack_head) */
	if (x.c->token && topk)
		tl_die(TL_EXIT_USAGE, "%s: a token-classification model writes per-word \"pred\" and \"entities\": --top-k "
				      "is for sequence models", dir);
	size_t window = (size_t)batch * 32, K = (size_t)x.c->nlabels;
	x.scores = tl_xmalloc(window * K * sizeof(float));
	x.probs = tl_xmalloc(window * K * sizeof(float));
	x.idx = tl_xmalloc(K * sizeof(int));
	x.w = tl_writer_open(stdout);
	tl_rec_batch b;
	tl_rec_batch_init(&b);

	tl_source *src = tl_source_new(argv + optind, argc - optind);
	tl_source_set_file_ends(src, 1);
	tl_progress_init_filter(&x.prog, "records", quiet, progress);
	tl_record rec;
	int rc, vocab_warned = 0;
	while ((rc = tl_source_next_or_die(src, &rec))) {
		if (rc == TL_SOURCE_FILE_END) { /* batches do not span files */
			if (!x.share)
				flush(&x, &b);
			continue;
		}
		if (rec.is_header || tl_source_first(src)) {
			if (rec.is_header) {
				if (!x.share)
					flush(&x, &b);
				int v = tl_model_check_vocab(rec.map, x.c->vocab_sha256, dir, err, sizeof err);
				if (v < 0)
					tl_die_rec(TL_EXIT_MODEL, rec.no, "%s", err);
				/* only a model that reads token ids has a vocabulary to compare */
				if (v > 0 && !vocab_warned && !strcmp(x.c->kind, "bert")) {
					tl_warn("%s", err);
					vocab_warned = 1;
				}
				/* vectors made otherwise than the model's training vectors */
				int pv = tl_feat_provenance_check(dir, rec.map, err, sizeof err);
				if (pv < 0)
					tl_die_rec(TL_EXIT_DATA, rec.no, "%s", err);
				if (pv > 0)
					tl_warn("%s", err);
			}
			tl_header_start(x.w, rec.is_header ? rec.map : NULL, argc, argv);
			msgpack_packer *pk = tl_writer_key(x.w, "predict");
			msgpack_pack_map(pk, (names_spec ? 4 : 3) + (x.nheads ? 1 : 0));
			tl_pack_cstr(pk, "model");
			tl_pack_cstr(pk, dir);
			tl_pack_cstr(pk, "kind");
			tl_pack_cstr(pk, x.c->kind);
			tl_pack_cstr(pk, "labels");
			msgpack_pack_array(pk, K);
			for (size_t j = 0; j < K; j++)
				tl_pack_cstr(pk, x.names[j]);
			if (x.nheads) { /* multi-task: labels above are the heads' side by side */
				tl_pack_cstr(pk, "tasks");
				msgpack_pack_array(pk, (size_t)x.nheads);
				for (int h = 0; h < x.nheads; h++) {
					msgpack_pack_map(pk, 3);
					tl_pack_cstr(pk, "name");
					tl_pack_cstr(pk, x.heads[h].name);
					tl_pack_cstr(pk, "labels");
					msgpack_pack_array(pk, (size_t)x.heads[h].k);
					for (int j = 0; j < x.heads[h].k; j++)
						tl_pack_cstr(pk, x.names[x.heads[h].k0 + j]);
					tl_pack_cstr(pk, "multi_label");
					if (x.heads[h].multi_label)
						msgpack_pack_true(pk);
					else
						msgpack_pack_false(pk);
				}
			}
			if (names_spec) { /* the model's own labels, in the same order */
				tl_pack_cstr(pk, "label_ids");
				msgpack_pack_array(pk, K);
				for (size_t j = 0; j < K; j++)
					tl_pack_cstr(pk, x.c->labels[j]);
			}
			tl_writer_end(x.w);
			if (rec.is_header)
				continue;
		}
		if (!tl_rec_batch_add(&b, &rec))
			tl_die(TL_EXIT_FAIL, "internal error: cannot copy record %llu", (unsigned long long)rec.no);
		if (b.n == window && !x.share)
			flush(&x, &b);
	}
	if (x.share) /* --match-prior: the whole input, once it is all read */
		flush_matched(&x, &b, window);
	else
		flush(&x, &b);
	tl_source_free(src);
	if (tl_writer_free(x.w) != 0)
		tl_die(TL_EXIT_IO, "write error:");
	tl_progress_finish(&x.prog, NULL);
	if (x.lost_words)
		tl_warn("%llu words of %llu records had no sub-token left (the sentence was truncated at tokenization): "
			"predicted O",
			(unsigned long long)x.lost_words, (unsigned long long)x.lost_recs);
	free(x.tok);
	free(x.raw);
	free(x.off);
	free(x.wids);
	free(x.tags);
	tl_rec_batch_free(&b);
	tl_classifier_free(x.c);
	tl_keyset_free(x.keys);
	free(x.scores);
	free(x.probs);
	free(x.idx);
	free(x.share);
	if (names_spec)
		free((void *)x.names);
	tl_label_names_free(&names);
	free(dir);
	tl_close_stdout();
	return 0;
}
