/* lib/models/lstm/lstm_fit.c - the training loops of tl-train -m lstm-lm and
 * -m lstm (tl/lstm.h): the LM over one token stream with truncated BPTT of
 * variable length and carried state, the classifier with gradual
 * unfreezing, discriminative rates and the slanted triangular schedule
 * (Howard & Ruder 2018). AdamW and clipping through tl_optim. */
#include "tl/checkpoint.h"
#include "tl/fsutil.h"
#include "tl/lstm.h"
#include "tl/metrics.h"
#include "tl/model.h"
#include "tl/optim.h"
#include "tl/progress.h"
#include "tl/rng.h"
#include "tl/stream.h"
#include "tl/vocab.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tl_lstm_fit_opts_default(tl_lstm_fit_opts *o, int classifier)
{
	memset(o, 0, sizeof *o);
	o->classifier = classifier;
	o->seed = 1;
	o->threads = 0;
	o->epochs = classifier ? 4 : 1;
	o->batch = classifier ? 32 : 32;
	o->bptt = 70;
	o->max_len = classifier ? 256 : 0;
	o->lr = classifier ? 1e-2 : 3e-3;
	o->wd = 0.01;
	o->clip = classifier ? 0.25 : 0.25;
	o->b1 = 0.7; /* ULMFiT's betas */
	o->b2 = 0.99;
	o->E = classifier ? 128 : 200;
	o->H = classifier ? 128 : 400;
	o->L = classifier ? 1 : 2;
	o->head = 50;
	o->p_emb = o->p_in = o->p_hid = o->p_out = o->p_w = o->p_head = -1;
	o->drop_mult = 1.0;
	o->unfreeze = 1;
	o->lr_div = 2.6;
	o->cut_frac = 0.1;
	o->ratio = 32;
}

/* ---------------- reading streams ---------------- */

typedef struct {
	int32_t *tok; /* LM: the concatenated stream; classifier: all ids back to back */
	size_t n, cap;
	size_t *off;  /* classifier: record i is tok[off[i], off[i+1]) */
	char **lab;   /* classifier: label names per record (owned) */
	size_t nrec, rcap;
	char sha[65]; /* the header's tokenizer.vocab_sha256, "" when none */
	long hdr_vocab_size;
} corpus;

static void corpus_free(corpus *c)
{
	free(c->tok);
	free(c->off);
	for (size_t i = 0; c->lab && i < c->nrec; i++)
		free(c->lab[i]);
	free(c->lab);
	memset(c, 0, sizeof *c);
}

static void push(corpus *c, int32_t v)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		c->tok = tl_xrealloc(c->tok, c->cap * sizeof *c->tok);
	}
	c->tok[c->n++] = v;
}

static const msgpack_object *header_tokenizer(const msgpack_object *map)
{
	const msgpack_object *t = tl_map_get(map, "tokenizer");
	return t && t->type == MSGPACK_OBJECT_MAP ? t : NULL;
}

/* Read path (NULL: stdin). LM: ids of every record + eos; classifier: ids
 * (truncated to max_len) and label. */
static int read_corpus(corpus *c, const char *path, const char *what, int what_prefix, int classifier, int eos,
		       long max_len, int V, tl_err *e)
{
	memset(c, 0, sizeof *c);
	c->hdr_vocab_size = -1;
	/* messages: "record N: ..." for the training stream, "FILE: record N: ..." for --dev */
	char pfx[512] = "";
	if (what_prefix)
		snprintf(pfx, sizeof pfx, "%s: ", what);
	tl_reader *r = tl_reader_open(path);
	if (!r)
		return tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", what, strerror(errno));
	tl_record rec;
	int got, first = 1;
	int32_t *buf = NULL;
	size_t bcap = 0;
	int rc = -1;
	if (classifier) {
		c->rcap = 1024;
		c->off = tl_xmalloc((c->rcap + 1) * sizeof *c->off);
		c->lab = tl_xmalloc(c->rcap * sizeof *c->lab);
		c->off[0] = 0;
	}
	while ((got = tl_reader_next(r, &rec)) == TL_READ_OK) {
		if (rec.is_header) {
			const msgpack_object *t = first ? header_tokenizer(rec.map) : NULL;
			if (t) {
				const msgpack_object *s = tl_map_get(t, "vocab_sha256");
				if (s && s->type == MSGPACK_OBJECT_STR && s->via.str.size == 64) {
					memcpy(c->sha, s->via.str.ptr, 64);
					c->sha[64] = 0;
				}
				const msgpack_object *vs = tl_map_get(t, "vocab_size");
				if (vs && vs->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
					c->hdr_vocab_size = (long)vs->via.u64;
			}
			first = 0;
			continue;
		}
		first = 0;
		long len = tl_rec_i32s(&rec, "ids", &buf, &bcap);
		if (len == -1) {
			tl_seterr(e, TL_EXIT_DATA, "%srecord %llu: no \"ids\": tokenize the text first (tl-tokenize --mode word|char --vocab V)",
				  pfx, (unsigned long long)rec.no);
			goto out;
		}
		if (len < 0) {
			tl_seterr(e, TL_EXIT_DATA, "%srecord %llu: \"ids\" is not a bin of int32 or an array of integers", pfx,
				  (unsigned long long)rec.no);
			goto out;
		}
		for (long i = 0; i < len && V > 0; i++)
			if (buf[i] < 0 || buf[i] >= V) {
				tl_seterr(e, TL_EXIT_DATA, "%srecord %llu: ids[%ld] = %d outside the vocabulary (0..%d)", pfx,
					  (unsigned long long)rec.no, i, buf[i], V - 1);
				goto out;
			}
		if (!classifier) {
			for (long i = 0; i < len; i++)
				push(c, buf[i]);
			push(c, eos);
			c->nrec++;
			continue;
		}
		const msgpack_object *lo = tl_rec_get(&rec, "label");
		char num[32];
		const char *ls = NULL;
		size_t ll = 0;
		if (lo && lo->type == MSGPACK_OBJECT_STR) {
			ls = lo->via.str.ptr;
			ll = lo->via.str.size;
		} else if (lo && (lo->type == MSGPACK_OBJECT_POSITIVE_INTEGER || lo->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
			snprintf(num, sizeof num, "%lld",
				 lo->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long long)lo->via.u64 : (long long)lo->via.i64);
			ls = num;
			ll = strlen(num);
		} else {
			tl_seterr(e, TL_EXIT_DATA, "%srecord %llu: %s", pfx, (unsigned long long)rec.no,
				  lo ? "\"label\" is not a string or an integer (one label per record)"
				     : "no \"label\" (training needs labelled records)");
			goto out;
		}
		if (len == 0) {
			tl_seterr(e, TL_EXIT_DATA, "%srecord %llu: empty \"ids\" (nothing to classify)", pfx,
				  (unsigned long long)rec.no);
			goto out;
		}
		if (max_len > 0 && len > max_len)
			len = max_len;
		for (long i = 0; i < len; i++)
			push(c, buf[i]);
		if (c->nrec == c->rcap) {
			c->rcap *= 2;
			c->off = tl_xrealloc(c->off, (c->rcap + 1) * sizeof *c->off);
			c->lab = tl_xrealloc(c->lab, c->rcap * sizeof *c->lab);
		}
		c->lab[c->nrec] = tl_xmalloc(ll + 1);
		memcpy(c->lab[c->nrec], ls, ll);
		c->lab[c->nrec][ll] = 0;
		c->nrec++;
		c->off[c->nrec] = c->n;
	}
	if (got != TL_READ_EOF) {
		int code = tl_reader_error_code(r);
		tl_seterr(e, code ? code : TL_EXIT_DATA, "%srecord %llu: %s", pfx,
			  (unsigned long long)tl_reader_error_recno(r), tl_reader_error(r));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	tl_reader_close(r);
	return rc;
}

/* ---------------- schedule ---------------- */

/* slanted triangular rate at step t of total (Howard & Ruder eq. 3) */
static double stlr(const tl_lstm_fit_opts *o, long t, long total)
{
	long cut = (long)floor((double)total * o->cut_frac);
	if (cut < 1)
		cut = 1;
	double p = t < cut ? (double)t / cut : 1.0 - (double)(t - cut) / ((double)cut * (1.0 / o->cut_frac - 1.0));
	if (p < 0)
		p = 0;
	return o->lr * (1.0 + p * (o->ratio - 1.0)) / o->ratio;
}

/* ---------------- the loops ---------------- */

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static float dflt(double v, double d, double mult)
{
	return (float)(v >= 0 ? v : d * mult);
}

static double lm_eval(tl_lstm *m, const corpus *dv, int B, int bptt, uint64_t *ntok)
{
	size_t Ls = dv->n / (size_t)B;
	if (Ls < 2) {
		B = 1;
		Ls = dv->n;
	}
	int32_t *ids = tl_xmalloc((size_t)B * bptt * sizeof *ids), *y = tl_xmalloc((size_t)B * bptt * sizeof *y);
	tl_lstm_reset_state(m, B);
	double sum = 0;
	uint64_t n = 0;
	for (size_t i = 0; i + 1 < Ls; i += (size_t)bptt) {
		int sl = (int)(Ls - 1 - i < (size_t)bptt ? Ls - 1 - i : (size_t)bptt);
		for (int b = 0; b < B; b++)
			for (int t = 0; t < sl; t++) {
				ids[b * sl + t] = dv->tok[(size_t)b * Ls + i + t];
				y[b * sl + t] = dv->tok[(size_t)b * Ls + i + t + 1];
			}
		double l = tl_lstm_lm_step(m, ids, y, B, sl, 0, 0, 0, 1.0f);
		sum += l * (double)B * sl;
		n += (uint64_t)B * (uint64_t)sl;
	}
	free(ids);
	free(y);
	*ntok = n;
	return n ? sum / (double)n : NAN;
}

typedef struct {
	double acc, loss;
} clsres;

static int label_id(char **names, int k, const char *s)
{
	int lo = 0, hi = k - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(names[mid], s);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* batch of records idx[0..B) into ids [B,T], lens, y; returns T */
static int make_batch(const corpus *c, const size_t *idx, int B, int32_t *ids, int32_t *lens, int32_t *y, char **names,
		      int k)
{
	int T = 1;
	for (int b = 0; b < B; b++) {
		size_t n = c->off[idx[b] + 1] - c->off[idx[b]];
		T = (int)n > T ? (int)n : T;
	}
	for (int b = 0; b < B; b++) {
		size_t s = c->off[idx[b]], n = c->off[idx[b] + 1] - s;
		lens[b] = (int32_t)n;
		for (int t = 0; t < T; t++)
			ids[(size_t)b * T + t] = (size_t)t < n ? c->tok[s + t] : 0;
		if (y)
			y[b] = label_id(names, k, c->lab[idx[b]]);
	}
	return T;
}

static clsres cls_eval(tl_lstm *m, const corpus *dv, char **names, int k, int B, long max_len)
{
	clsres r = {0, 0};
	size_t *idx = tl_xmalloc((size_t)B * sizeof *idx);
	int32_t *ids = tl_xmalloc((size_t)B * (size_t)(max_len > 0 ? max_len : 1) * sizeof *ids);
	size_t icap = (size_t)B * (size_t)(max_len > 0 ? max_len : 1);
	int32_t *lens = tl_xmalloc((size_t)B * sizeof *lens), *y = tl_xmalloc((size_t)B * sizeof *y);
	float *logits = tl_xmalloc((size_t)B * k * sizeof *logits);
	size_t correct = 0, n = 0;
	double ls = 0;
	for (size_t s = 0; s < dv->nrec; s += (size_t)B) {
		int nb = (int)(dv->nrec - s < (size_t)B ? dv->nrec - s : (size_t)B);
		size_t mx = 1;
		for (int b = 0; b < nb; b++) {
			idx[b] = s + (size_t)b;
			size_t l = dv->off[s + b + 1] - dv->off[s + b];
			mx = l > mx ? l : mx;
		}
		if ((size_t)nb * mx > icap) {
			icap = (size_t)nb * mx;
			ids = tl_xrealloc(ids, icap * sizeof *ids);
		}
		int T = make_batch(dv, idx, nb, ids, lens, y, names, k);
		/* records with a label the model does not know count as wrong */
		tl_lstm_cls_step(m, ids, lens, NULL, nb, T, 0, 0, 0, 1.0f, logits, NULL);
		for (int b = 0; b < nb; b++) {
			const float *z = logits + (size_t)b * k;
			int am = 0;
			for (int j = 1; j < k; j++)
				am = z[j] > z[am] ? j : am;
			correct += y[b] >= 0 && am == y[b];
			if (y[b] >= 0)
				ls += tl_metrics_xent_row(z, k, y[b]);
			n++;
		}
	}
	r.acc = n ? (double)correct / (double)n : 0;
	r.loss = n ? ls / (double)n : 0;
	free(idx);
	free(ids);
	free(lens);
	free(y);
	free(logits);
	return r;
}

/* ---------------- checkpoints and resume (run options: tl/checkpoint.h) ---------------- */

/* The options that decide what a run computes, by option name, as
 * strings: a resume repeats the interrupted run bit for bit only when
 * they are all equal. --threads is among them (the kernels' sums are
 * split by thread); the training data is compared on its own
 * (data_sha256); --log, --quiet, --device and the checkpoint options are
 * not. */
static json_t *run_options(const tl_lstm_fit_opts *o, const tl_lstm_cfg *cfg, const char *vsha, const char *pre_sha,
			   const char *dev_sha)
{
	json_t *j = json_object();
	tl_runopt_str(j, "model", o->classifier ? "lstm" : "lstm-lm");
	tl_runopt_str(j, "pretrained", pre_sha);
	tl_runopt_str(j, "vocab", vsha && vsha[0] ? vsha : NULL);
	tl_runopt_dbl(j, "lr", o->lr);
	tl_runopt_long(j, "epochs", o->epochs);
	tl_runopt_long(j, "batch-size", o->batch);
	if (o->classifier) {
		tl_runopt_long(j, "max-len", o->max_len);
		tl_runopt_long(j, "head", cfg->head);
		tl_runopt_str(j, "unfreeze", o->unfreeze ? "gradual" : "no (--no-unfreeze)");
		tl_runopt_dbl(j, "lr-div", o->lr_div);
		tl_runopt_dbl(j, "dropout-head", cfg->p_head);
	} else
		tl_runopt_long(j, "bptt", o->bptt);
	tl_runopt_dbl(j, "weight-decay", o->wd);
	tl_runopt_dbl(j, "clip", o->clip);
	tl_runopt_long(j, "emb", cfg->E);
	tl_runopt_long(j, "hidden", cfg->H);
	tl_runopt_long(j, "layers", cfg->L);
	tl_runopt_dbl(j, "dropout-emb", cfg->p_emb);
	tl_runopt_dbl(j, "dropout-in", cfg->p_in);
	tl_runopt_dbl(j, "dropout-hidden", cfg->p_hid);
	tl_runopt_dbl(j, "dropout-out", cfg->p_out);
	tl_runopt_dbl(j, "dropout-weight", cfg->p_w);
	tl_runopt_long(j, "max-steps", o->max_steps);
	{
		char b[32];
		snprintf(b, sizeof b, "%" PRIu64, o->seed);
		tl_runopt_str(j, "seed", b);
	}
	tl_runopt_long(j, "threads", o->threads);
	tl_runopt_str(j, "dev", dev_sha);
	tl_runopt_str(j, "precision", tl_precision_name(o->precision));
	return j;
}



static int check_options(const json_t *st, const json_t *now, const char *ckpt, const char *allow, int quiet, tl_err *e)
{
	json_t *was = json_object_get(st, "options");
	if (!json_is_object(was))
		return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: state.json has no valid \"options\" (a damaged checkpoint)",
				 ckpt);
	/* options added since some checkpoints were written, as they were then */
	static const char *const absent[] = {"precision", "fp32", NULL};
	return tl_runopt_compare(was, now, absent, ckpt, allow, quiet, e);
}

/* sha256 of a corpus as training sees it: ids, and for a classifier the
 * record boundaries and labels. */
static void corpus_sha(const corpus *c, int classifier, char out[65])
{
	tl_buf h = {0};
	tl_buf_add(&h, c->tok, c->n * sizeof *c->tok);
	if (classifier)
		for (size_t i = 0; i < c->nrec; i++) {
			uint64_t len = c->off[i + 1] - c->off[i];
			tl_buf_add(&h, &len, sizeof len);
			tl_buf_adds(&h, c->lab[i]);
			tl_buf_addc(&h, 0);
		}
	tl_sha256_hex(h.data ? h.data : "", h.len, out);
	tl_buf_free(&h);
}

/* Where the loop stands. */
typedef struct {
	long ep, step;
	size_t pos;        /* LM: the next window's offset in the streams; classifier: the next batch */
	uint64_t rs;       /* LM: the window-length generator */
	uint64_t tokens;
	double esum, en;   /* the epoch's loss sums so far */
	double last_loss, dev_loss, dev_acc;
	uint64_t dev_tok;
	double elapsed;
} fitpos;

static json_t *jnum(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static double jget(const json_t *st, const char *k)
{
	json_t *v = json_object_get(st, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int save_ckpt(const char *dir, const fitpos *p, const tl_lstm *m, const tl_optim *opt, const json_t *options,
		     const char *data_sha, const char *log, FILE *logf, int classifier, tl_err *e)
{
	char err[512], hex[24];
	json_t *st = json_object();
	json_object_set_new(st, "version", json_integer(1));
	json_object_set_new(st, "model", json_string(classifier ? "lstm" : "lstm-lm"));
	json_object_set_new(st, "options", json_deep_copy(options));
	json_object_set_new(st, "data_sha256", json_string(data_sha));
	json_object_set_new(st, "nparams", json_integer((json_int_t)m->n));
	json_object_set_new(st, "epoch", json_integer(p->ep));
	json_object_set_new(st, "step", json_integer(p->step));
	json_object_set_new(st, "position", json_integer((json_int_t)p->pos));
	snprintf(hex, sizeof hex, "%016" PRIx64, p->rs);
	json_object_set_new(st, "window_rng", json_string(hex));
	json_object_set_new(st, "optimizer_step", json_integer(opt->t));
	json_object_set_new(st, "tokens", json_integer((json_int_t)p->tokens));
	json_object_set_new(st, "epoch_loss_sum", jnum(p->esum));
	json_object_set_new(st, "epoch_loss_n", jnum(p->en));
	json_object_set_new(st, "last_loss", jnum(p->last_loss));
	json_object_set_new(st, "dev_loss", jnum(p->dev_loss));
	json_object_set_new(st, "dev_accuracy", jnum(p->dev_acc));
	json_object_set_new(st, "dev_tokens", json_integer((json_int_t)p->dev_tok));
	json_object_set_new(st, "elapsed", json_real(p->elapsed));
	json_object_set_new(st, "state_streams", json_integer(classifier ? 0 : m->state_B));
	if (log && logf) {
		fflush(logf);
		json_object_set_new(st, "log", json_string(log));
		json_object_set_new(st, "log_bytes", json_integer((json_int_t)ftell(logf)));
	}
	const char *nm[3 + 2 * TL_LSTM_MAXL];
	const float *dt[3 + 2 * TL_LSTM_MAXL];
	size_t ln[3 + 2 * TL_LSTM_MAXL], nt = 0;
	char names[2 * TL_LSTM_MAXL][16];
	float *zero = NULL;
	if (!opt->m || !opt->v)
		zero = tl_xcalloc(m->n ? m->n : 1, sizeof *zero);
	nm[nt] = "params", dt[nt] = m->arena, ln[nt++] = m->n;
	nm[nt] = "m", dt[nt] = opt->m ? opt->m : zero, ln[nt++] = m->n;
	nm[nt] = "v", dt[nt] = opt->v ? opt->v : zero, ln[nt++] = m->n;
	if (!classifier && m->state_B > 0)
		for (int l = 0; l < m->cfg.L; l++) {
			snprintf(names[2 * l], sizeof names[0], "h0.%d", l);
			snprintf(names[2 * l + 1], sizeof names[0], "c0.%d", l);
			size_t n = (size_t)m->state_B * m->out[l];
			nm[nt] = names[2 * l], dt[nt] = m->h0[l], ln[nt++] = n;
			nm[nt] = names[2 * l + 1], dt[nt] = m->c0[l], ln[nt++] = n;
		}
	int rc = 0;
	if (tl_ckpt_write(dir, st, nt, nm, dt, ln, err, sizeof err) != 0)
		rc = tl_seterr(e, TL_EXIT_IO, "checkpoint: %s", err);
	free(zero);
	json_decref(st);
	return rc;
}

/* Read the checkpoint dir into m, opt and p (the options and data already
 * compared). A missing or damaged part: exit 5. */
static int load_ckpt(const char *dir, const json_t *st, tl_lstm *m, tl_optim *opt, fitpos *p, int classifier, int B,
		     tl_err *e)
{
	char err[512];
	static const char *const need[] = {"nparams", "epoch", "step", "position", "optimizer_step", "tokens",
					   "dev_tokens", "state_streams"};
	for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
		json_t *v = json_object_get(st, need[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: state.json has no valid \"%s\" (a damaged checkpoint)",
					 dir, need[i]);
	}
	const char *mk = json_string_value(json_object_get(st, "model"));
	if (!mk || strcmp(mk, classifier ? "lstm" : "lstm-lm") ||
	    json_integer_value(json_object_get(st, "nparams")) != (json_int_t)m->n)
		return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: the checkpoint is for another model (%s, %lld parameters; now %s, %zu)",
				 dir, mk ? mk : "?", (long long)json_integer_value(json_object_get(st, "nparams")),
				 classifier ? "lstm" : "lstm-lm", m->n);
	const char *rs = json_string_value(json_object_get(st, "window_rng"));
	char *end = NULL;
	if (!rs || strlen(rs) != 16 || (p->rs = strtoull(rs, &end, 16), *end))
		return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: state.json has no valid \"window_rng\" (a damaged checkpoint)", dir);
	p->ep = (long)json_integer_value(json_object_get(st, "epoch"));
	p->step = (long)json_integer_value(json_object_get(st, "step"));
	p->pos = (size_t)json_integer_value(json_object_get(st, "position"));
	p->tokens = (uint64_t)json_integer_value(json_object_get(st, "tokens"));
	p->dev_tok = (uint64_t)json_integer_value(json_object_get(st, "dev_tokens"));
	p->esum = jget(st, "epoch_loss_sum");
	p->en = jget(st, "epoch_loss_n");
	if (!isfinite(p->esum) || !isfinite(p->en))
		p->esum = p->en = 0;
	p->last_loss = jget(st, "last_loss");
	p->dev_loss = jget(st, "dev_loss");
	p->dev_acc = jget(st, "dev_accuracy");
	p->elapsed = jget(st, "elapsed");
	if (!isfinite(p->elapsed) || p->elapsed < 0)
		p->elapsed = 0;
	opt->t = (long)json_integer_value(json_object_get(st, "optimizer_step"));
	if (tl_ckpt_read_tensor(dir, "params", m->arena, m->n, err, sizeof err) < 0)
		return tl_seterr(e, TL_EXIT_MODEL, "--resume: %s", err);
	if (!opt->m)
		opt->m = opt->k->alloc((m->n ? m->n : 1) * sizeof(float));
	if (!opt->v)
		opt->v = opt->k->alloc((m->n ? m->n : 1) * sizeof(float));
	if (tl_ckpt_read_tensor(dir, "m", opt->m, m->n, err, sizeof err) < 0 ||
	    tl_ckpt_read_tensor(dir, "v", opt->v, m->n, err, sizeof err) < 0)
		return tl_seterr(e, TL_EXIT_MODEL, "--resume: %s", err);
	if (!classifier) {
		long sb = (long)json_integer_value(json_object_get(st, "state_streams"));
		if (sb != B)
			return tl_seterr(e, TL_EXIT_MODEL, "--resume %s: the checkpoint carries %ld streams, the run %d", dir, sb, B);
		tl_lstm_reset_state(m, B);
		for (int l = 0; l < m->cfg.L; l++) {
			char nm[16];
			size_t n = (size_t)B * m->out[l];
			snprintf(nm, sizeof nm, "h0.%d", l);
			if (tl_ckpt_read_tensor(dir, nm, m->h0[l], n, err, sizeof err) < 0)
				return tl_seterr(e, TL_EXIT_MODEL, "--resume: %s", err);
			snprintf(nm, sizeof nm, "c0.%d", l);
			if (tl_ckpt_read_tensor(dir, nm, m->c0[l], n, err, sizeof err) < 0)
				return tl_seterr(e, TL_EXIT_MODEL, "--resume: %s", err);
		}
	}
	return 0;
}

#define FAIL(code, ...)                                   \
	do {                                              \
		tl_seterr(e, code, __VA_ARGS__);          \
		goto out;                                 \
	} while (0)

int tl_lstm_fit(const tl_lstm_fit_opts *oin, tl_err *e)
{
	tl_lstm_fit_opts o = *oin;
	int rc = -1;
	tl_lstm *m = NULL, *lm = NULL;
	tl_vocab *voc = NULL;
	corpus tr = {0}, dv = {0};
	char **names = NULL;
	int k = 0;
	char *pre_dir = NULL, *tmp = NULL;
	const char *vocab_path = o.vocab;
	char vsha[65] = "", err[1024];
	json_t *tj = NULL;
	FILE *logf = NULL;
	tl_optim opt;
	int have_opt = 0;
	int32_t *ids = NULL, *y = NULL, *lens = NULL;
	size_t *order = NULL;
	float *logits = NULL;
	tl_buf vp = {0}, ckbuf = {0};
	json_t *optj = NULL, *st = NULL;
	char data_sha[65] = "", dev_sha[65] = "", pre_sha[65] = "";
	int wrote_ckpt = 0;
	const tl_kernels *kt = tl_kernels_select(o.device, err, sizeof err);
	if (!kt)
		FAIL(TL_EXIT_USAGE, "%s", err);
	kt->set_threads(o.threads);
	if (!o.force && tl_fs_exists(o.out))
		FAIL(TL_EXIT_USAGE, "%s exists (use --force to replace it)", o.out);
	if (!o.ckpt_dir) {
		tl_buf_printf(&ckbuf, "%s.ckpt", o.out);
		o.ckpt_dir = tl_buf_cstr(&ckbuf);
	}
	/* a resumed run's log is opened once the checkpoint is read */
	if (o.log && !o.resume && !(logf = fopen(o.log, "w")))
		FAIL(TL_EXIT_IO, "cannot open %s: %s", o.log, strerror(errno));

	/* the model to start from, and the vocabulary */
	if (o.pretrained) {
		if (!(pre_dir = tl_model_find(o.pretrained, err, sizeof err)))
			FAIL(TL_EXIT_MODEL, "%s", err);
		if (!(lm = tl_lstm_load(pre_dir, kt, err, sizeof err)))
			FAIL(TL_EXIT_MODEL, "%s", err);
		if (lm->cfg.NL > 0)
			FAIL(TL_EXIT_MODEL, "--pretrained %s: a classifier; start from a language model (tl-train -m lstm-lm)",
			     o.pretrained);
		if (!lm->vocab_sha256[0])
			FAIL(TL_EXIT_MODEL, "--pretrained %s: no vocab.txt", o.pretrained);
		tl_buf_printf(&vp, "%s/vocab.txt", pre_dir);
		if (o.vocab) {
			if (!(voc = tl_vocab_load(o.vocab, err, sizeof err)))
				FAIL(TL_EXIT_MODEL, "--vocab: %s", err);
			if (strcmp(tl_vocab_sha256(voc), lm->vocab_sha256))
				FAIL(TL_EXIT_DATA,
				     "--vocab %s (sha256 %s) is not the vocabulary of --pretrained %s (sha256 %s)", o.vocab,
				     tl_vocab_sha256(voc), o.pretrained, lm->vocab_sha256);
		}
		vocab_path = tl_buf_cstr(&vp);
		memcpy(vsha, lm->vocab_sha256, sizeof vsha);
	} else if (o.vocab) {
		if (!(voc = tl_vocab_load(o.vocab, err, sizeof err)))
			FAIL(TL_EXIT_MODEL, "--vocab: %s", err);
		memcpy(vsha, tl_vocab_sha256(voc), sizeof vsha);
	}
	int V = lm ? lm->cfg.V : voc ? (int)tl_vocab_size(voc) : 0;
	int eos = lm ? lm->eos : -1;
	if (eos < 0 && voc)
		eos = tl_vocab_id(voc, "[SEP]", 5);
	if (eos < 0)
		eos = 3; /* tl-tokenize --build-vocab's [SEP] */

	/* data */
	const char *trname = o.train ? o.train : "standard input";
	if (read_corpus(&tr, o.train, trname, 0, o.classifier, eos, o.max_len, V, e) < 0)
		goto out;
	if (tr.sha[0] && vsha[0] && strcmp(tr.sha, vsha))
		FAIL(TL_EXIT_DATA,
		     "%s was tokenized with another vocabulary (sha256 %s) than %s %s (sha256 %s): tokenize it with "
		     "that vocabulary (tl-tokenize --vocab)",
		     trname, tr.sha, lm ? "--pretrained" : "--vocab", lm ? o.pretrained : o.vocab, vsha);
	if (!V) {
		if (tr.hdr_vocab_size <= 0)
			FAIL(TL_EXIT_USAGE, "no vocabulary: give --vocab FILE (the file tl-tokenize --vocab used)");
		V = (int)tr.hdr_vocab_size;
		memcpy(vsha, tr.sha, sizeof vsha);
		if (!o.quiet)
			fprintf(stderr, "tl-train: no --vocab: %d ids from the stream's header; the model will have no vocab.txt\n", V);
		/* ids were not range-checked: do it now */
		for (size_t i = 0; i < tr.n; i++)
			if (tr.tok[i] < 0 || tr.tok[i] >= V)
				FAIL(TL_EXIT_DATA, "%s: id %d outside the header's vocabulary size %d", trname, tr.tok[i], V);
	}
	if (eos >= V)
		FAIL(TL_EXIT_MODEL, "end-of-record id %d outside the vocabulary (%d ids)", eos, V);
	if (o.dev) {
		if (read_corpus(&dv, o.dev, o.dev, 1, o.classifier, eos, o.max_len, V, e) < 0)
			goto out;
		if (dv.sha[0] && vsha[0] && strcmp(dv.sha, vsha))
			FAIL(TL_EXIT_DATA, "--dev %s was tokenized with another vocabulary (sha256 %s) than the model's (sha256 %s)",
			     o.dev, dv.sha, vsha);
	}
	if (!o.classifier && tr.nrec == 0)
		FAIL(TL_EXIT_DATA, "%s: no records: an empty corpus", trname);
	if (o.classifier && tr.nrec == 0)
		FAIL(TL_EXIT_DATA, "%s: no labelled records", trname);

	/* the model */
	tl_lstm_cfg cfg;
	if (lm) {
		cfg = lm->cfg;
	} else {
		memset(&cfg, 0, sizeof cfg);
		cfg.V = V;
		cfg.E = o.E;
		cfg.H = o.H;
		cfg.L = o.L;
	}
	float dm = (float)o.drop_mult;
	/* Defaults times --drop-mult. Language model: AWD-LSTM's (Merity et
	 * al.; fastai's AWD_LSTM module defaults, output 0.1 as its LM
	 * decoder's), made for long training; ULMFiT's pretraining used
	 * lighter ones (awd_lstm_lm_config x 0.5: pipelines/ulmfit.mk
	 * EN_LM_DROP). Classifier: embedding 0.05 and output 0.4 of fastai's
	 * awd_lstm_clas_config, input 0.25, hidden 0.15 and weight 0.2 of its
	 * awd_lstm_lm_config. The figures in README were measured with these. */
	cfg.p_emb = dflt(o.p_emb, o.classifier ? 0.05 : 0.1, dm);
	cfg.p_in = dflt(o.p_in, o.classifier ? 0.25 : 0.6, dm);
	cfg.p_hid = dflt(o.p_hid, o.classifier ? 0.15 : 0.2, dm);
	cfg.p_out = dflt(o.p_out, o.classifier ? 0.4 : 0.1, dm);
	cfg.p_w = dflt(o.p_w, o.classifier ? 0.2 : 0.5, dm);
	cfg.p_head = dflt(o.p_head, 0.1, dm);
	if (o.classifier) {
		/* label set: sorted names */
		names = tl_xmalloc(tr.nrec * sizeof *names);
		for (size_t i = 0; i < tr.nrec; i++)
			names[i] = tr.lab[i];
		qsort(names, tr.nrec, sizeof *names, cmpstr);
		for (size_t i = 0; i < tr.nrec; i++)
			if (!k || strcmp(names[k - 1], names[i]))
				names[k++] = names[i];
		for (int i = 0; i < k; i++)
			names[i] = tl_xstrdup(names[i]);
		if (k < 2)
			FAIL(TL_EXIT_DATA, "%s: one label only (%s): a classifier needs two or more", trname, names[0]);
		cfg.NL = k;
		cfg.head = o.head;
	}
	if (!(m = tl_lstm_new(&cfg, kt, o.seed, err, sizeof err)))
		FAIL(TL_EXIT_USAGE, "%s", err);
	m->eos = eos;
	m->max_len = o.classifier ? o.max_len : 0;
	m->prec = o.precision;
	if (lm) /* embedding and layers: the same layout */
		memcpy(m->arena, lm->arena, m->goff[cfg.L + 1] * sizeof(float));
	if (lm && !o.classifier)
		memcpy(m->arena + m->o_decb, lm->arena + lm->o_decb, (size_t)V * sizeof(float));
	if (o.classifier) {
		m->labels = names;
		names = NULL;
	}
	tl_lstm_train_init(m);
	int L = cfg.L;

	/* optimizer: one segment per layer group (weights decay, biases not),
	 * discriminative rates: group g gets lr / lr_div^(top - g) */
	tl_optim_init(&opt, m->n, kt);
	have_opt = 1;
	opt.kind = TL_OPT_ADAMW;
	opt.b1 = (float)o.b1;
	opt.b2 = (float)o.b2;
	opt.eps = 1e-8f;
	opt.wd = (float)o.wd;
	opt.sched = TL_SCHED_CONSTANT;
	opt.warmup = 0;
	int disc = o.classifier && lm;
	for (int g = 0; g <= L + 1; g++) {
		float sc = disc ? (float)pow(o.lr_div, (double)(L + 1 - g)) : 1.0f;
		sc = 1.0f / sc;
		if (g == 0)
			tl_optim_add(&opt, m->o_emb, (size_t)V * cfg.E, sc, 1, 0);
		else if (g <= L) {
			int l = g - 1;
			size_t G = 4 * (size_t)m->out[l];
			tl_optim_add(&opt, m->o_wih[l], G * m->in[l] + G * m->out[l], sc, 1, 0);
			tl_optim_add(&opt, m->o_bih[l], 2 * G, sc, 0, 0);
		} else if (o.classifier) {
			tl_optim_add(&opt, m->o_w1, (size_t)cfg.head * 3 * cfg.E, sc, 1, 0);
			tl_optim_add(&opt, m->o_b1, (size_t)cfg.head, sc, 0, 0);
			tl_optim_add(&opt, m->o_w2, (size_t)cfg.NL * cfg.head, sc, 1, 0);
			tl_optim_add(&opt, m->o_b2, (size_t)cfg.NL, sc, 0, 0);
		} else
			tl_optim_add(&opt, m->o_decb, (size_t)V, sc, 0, 0);
	}

	tl_progress prog;
	char extra[256], js[512];
	double t0 = tl_now();
	uint64_t tokens = 0;
	double last_loss = NAN, dev_loss = NAN, dev_acc = NAN;
	uint64_t dev_tok = 0;
	long step = 0;
	int B = (int)o.batch;

	/* the run's identity, for checkpoints and --resume */
	if (pre_dir) {
		tl_buf sp = {0};
		tl_buf_printf(&sp, "%s/model.safetensors", pre_dir);
		if (tl_sha256_file(tl_buf_cstr(&sp), pre_sha) < 0)
			snprintf(pre_sha, sizeof pre_sha, "?");
		tl_buf_free(&sp);
	}
	corpus_sha(&tr, o.classifier, data_sha);
	if (o.dev)
		corpus_sha(&dv, o.classifier, dev_sha);
	optj = run_options(&o, &cfg, vsha, pre_dir ? pre_sha : NULL, o.dev ? dev_sha : NULL);
	if (tl_runopt_check_allow(o.allow_change, optj, e) < 0)
		goto out;
	fitpos rp = {0, 0, 0, 0, 0, 0, 0, NAN, NAN, NAN, 0, 0};
	int resumed = 0;
	if (o.resume) {
		/* a checkpoint left aside by a killed run comes back; a missing
		 * or damaged file in an existing checkpoint directory is a bad
		 * model (exit 5), no directory at all an I/O error (4) */
		tl_fs_clean_stale(o.resume);
		if (!(st = tl_ckpt_read_state(o.resume, err, sizeof err)))
			FAIL(tl_fs_exists(o.resume) ? TL_EXIT_MODEL : TL_EXIT_IO, "--resume: %s", err);
		if (check_options(st, optj, o.resume, o.allow_change, o.quiet, e) < 0)
			goto out;
		const char *sha = json_string_value(json_object_get(st, "data_sha256"));
		if (!sha || strcmp(sha, data_sha))
			FAIL(TL_EXIT_DATA, "--resume %s: the checkpoint was made on other training data (data sha256 %.12s..., now %.12s...)",
			     o.resume, sha ? sha : "?", data_sha);
		if (load_ckpt(o.resume, st, m, &opt, &rp, o.classifier, B, e) < 0)
			goto out;
		/* the log goes on: cut back to the checkpoint's length when it is
		 * the same file (the steps after it run again), then append */
		if (o.log && !(logf = tl_ckpt_reopen_log(st, o.log, e)))
			goto out;
		json_decref(st);
		st = NULL;
		resumed = 1;
		step = rp.step;
		tokens = rp.tokens;
		last_loss = rp.last_loss;
		dev_loss = rp.dev_loss;
		dev_acc = rp.dev_acc;
		dev_tok = rp.dev_tok;
		t0 -= rp.elapsed;
	}
	const char *fk = getenv("TL_FAULT_KILL_AT_STEP"), *fi = getenv("TL_FAULT_SIGINT_AT_STEP");
	long kill_at = fk ? atol(fk) : 0, int_at = fi ? atol(fi) : 0;
	/* after step: a checkpoint every --checkpoint-every steps; the tests'
	 * faults (a real SIGKILL / SIGINT after step N); on SIGINT a
	 * checkpoint and exit 130 */
#define CKPT(ep_, pos_, esum_, en_)                                                                                    \
	do {                                                                                                           \
		fitpos p_ = {(ep_), step, (pos_), rs, tokens, (esum_), (double)(en_), last_loss, dev_loss, dev_acc, dev_tok, \
			     tl_now() - t0};                                                                           \
		int stop_ = o.stop && *o.stop;                                                                         \
		if ((o.ckpt_every > 0 && step % o.ckpt_every == 0) || stop_ || (int_at > 0 && step == int_at)) {       \
			if (save_ckpt(o.ckpt_dir, &p_, m, &opt, optj, data_sha, o.log, logf, o.classifier, e) < 0)   \
				goto out;                                                                              \
			wrote_ckpt = 1;                                                                                \
		}                                                                                                      \
		if (kill_at > 0 && step == kill_at)                                                                    \
			raise(SIGKILL);                                                                                \
		if (int_at > 0 && step == int_at)                                                                      \
			stop_ = 1;                                                                                     \
		if (stop_) {                                                                                           \
			tl_progress_finish(&prog, NULL);                                                               \
			FAIL(TL_EXIT_INTERRUPTED, "interrupted at step %ld: checkpoint saved in %s (continue with --resume %s)", \
			     step, o.ckpt_dir, o.ckpt_dir);                                                            \
		}                                                                                                      \
	} while (0)
	if (!o.quiet)
		fprintf(stderr,
			"tl-train: -m %s: %zu records, %zu tokens; vocab %d, emb %d, hidden %d, layers %d%s; batch %d, lr %g, "
			"epochs %ld, seed %llu%s%s\n",
			o.classifier ? "lstm" : "lstm-lm", tr.nrec, tr.n, V, cfg.E, cfg.H, cfg.L,
			o.classifier ? "" : "", B, o.lr, o.epochs, (unsigned long long)o.seed, lm ? ", from " : "",
			lm ? pre_dir : "");
	if (resumed && !o.quiet)
		fprintf(stderr, "tl-train: resuming from %s at step %ld (epoch %ld)\n", o.resume, step, rp.ep + 1);
	uint64_t rs = tl_mix64(o.seed ^ 0x62707474ULL); /* the LM's bptt lengths */
	if (resumed)
		rs = rp.rs;
	if (!o.classifier) {
		/* ---- language model: B parallel streams ---- */
		size_t Ls = tr.n / (size_t)B;
		if (Ls < 2)
			FAIL(TL_EXIT_DATA,
			     "%s: %zu tokens (with end-of-record ids) are too few for %d parallel streams: at least %d "
			     "needed (lower --batch-size)",
			     trname, tr.n, B, 2 * B);
		int bptt = (int)o.bptt, maxsl = bptt + 20;
		long per_epoch = (long)((Ls - 1 + (size_t)bptt - 1) / (size_t)bptt);
		long total = per_epoch * o.epochs;
		if (o.max_steps > 0 && o.max_steps < total)
			total = o.max_steps;
		ids = tl_xmalloc((size_t)B * maxsl * sizeof *ids);
		y = tl_xmalloc((size_t)B * maxsl * sizeof *y);
		tl_progress_init(&prog, "step", (uint64_t)total, o.quiet, logf);
		prog.done = (uint64_t)step;
		prog.t0 = t0;
		if (resumed) {
			snprintf(js, sizeof js, "\"event\":\"resume\",\"epoch\":%ld,\"step\":%ld", rp.ep + 1, step);
			tl_progress_log(&prog, js);
		}
		for (long ep = resumed ? rp.ep : 0; ep < o.epochs && (step < total || resumed); ep++) {
			/* a resume starts inside epoch rp.ep: its position, state (loaded) and sums */
			int here = resumed;
			resumed = 0;
			if (!here)
				tl_lstm_reset_state(m, B);
			double esum = here ? rp.esum : 0;
			uint64_t en = here ? (uint64_t)rp.en : 0;
			for (size_t i = here ? rp.pos : 0; i + 1 < Ls && step < total;) {
				double bp = tl_splitmix64_unit(&rs) < 0.95 ? bptt : bptt / 2.0;
				uint64_t ctr = tl_mix64(rs);
				rs += 2;
				int sl = (int)lround(bp + 5.0 * tl_mix64_normal(&ctr));
				sl = sl < 5 ? 5 : sl > maxsl ? maxsl : sl;
				if ((size_t)sl > Ls - 1 - i)
					sl = (int)(Ls - 1 - i);
				for (int b = 0; b < B; b++)
					for (int t = 0; t < sl; t++) {
						ids[b * sl + t] = tr.tok[(size_t)b * Ls + i + t];
						y[b * sl + t] = tr.tok[(size_t)b * Ls + i + t + 1];
					}
				opt.lr = (float)stlr(&o, step, total);
				double l = tl_lstm_lm_step(m, ids, y, B, sl, 1, o.seed, (uint64_t)step, 1.0f);
				if (!isfinite(l)) {
					tl_progress_finish(&prog, NULL);
					FAIL(TL_EXIT_FAIL, "loss is %s at step %ld (epoch %ld): stopping, no model written (lower --lr?)",
					     isnan(l) ? "NaN" : "infinite", step + 1, ep + 1);
				}
				tl_optim_step_clip_zero(&opt, m->arena, m->grad, o.clip);
				step++;
				i += (size_t)sl;
				tokens += (uint64_t)B * sl;
				esum += l * sl;
				en += (uint64_t)sl;
				last_loss = l;
				double el = tl_now() - t0;
				snprintf(extra, sizeof extra, "loss %.4f ppl %.1f lr %.2e %.0f tok/s", l, exp(l), opt.lr,
					 el > 0 ? tokens / el : 0.0);
				tl_progress_update(&prog, (uint64_t)step, extra, 0);
				snprintf(js, sizeof js, "\"step\":%ld,\"total\":%ld,\"epoch\":%ld,\"loss\":%.6f,\"lr\":%.6g,\"bptt\":%d",
					 step, total, ep + 1, l, (double)opt.lr, sl);
				tl_progress_log(&prog, js);
				CKPT(ep, i, esum, en);
			}
			if (o.dev) {
				dev_loss = lm_eval(m, &dv, B, bptt, &dev_tok);
				if (!o.quiet)
					fprintf(stderr, "tl-train: epoch %ld: train loss %.4f, dev loss %.4f, dev perplexity %.2f (%llu tokens)\n",
						ep + 1, en ? esum / en : NAN, dev_loss, exp(dev_loss), (unsigned long long)dev_tok);
				snprintf(js, sizeof js, "\"epoch\":%ld,\"dev_loss\":%.6f,\"dev_perplexity\":%.4f", ep + 1, dev_loss,
					 exp(dev_loss));
				tl_progress_log(&prog, js);
			}
		}
	} else {
		/* ---- classifier ---- */
		size_t nb = (tr.nrec + (size_t)B - 1) / (size_t)B;
		long total = (long)nb * o.epochs;
		if (o.max_steps > 0 && o.max_steps < total)
			total = o.max_steps;
		size_t mx = 1;
		for (size_t i = 0; i < tr.nrec; i++)
			mx = tr.off[i + 1] - tr.off[i] > mx ? tr.off[i + 1] - tr.off[i] : mx;
		ids = tl_xmalloc((size_t)B * mx * sizeof *ids);
		y = tl_xmalloc((size_t)B * sizeof *y);
		lens = tl_xmalloc((size_t)B * sizeof *lens);
		logits = tl_xmalloc((size_t)B * k * sizeof *logits);
		order = tl_xmalloc(tr.nrec * sizeof *order);
		tl_progress_init(&prog, "step", (uint64_t)total, o.quiet, logf);
		prog.done = (uint64_t)step;
		prog.t0 = t0;
		if (resumed) {
			snprintf(js, sizeof js, "\"event\":\"resume\",\"epoch\":%ld,\"step\":%ld", rp.ep + 1, step);
			tl_progress_log(&prog, js);
		}
		for (long ep = resumed ? rp.ep : 0; ep < o.epochs && (step < total || resumed); ep++) {
			int here = resumed;
			resumed = 0;
			/* gradual unfreezing: epoch 0 the head only, then one group more per epoch */
			int lowest = lm && o.unfreeze ? (int)(L + 1 - ep) : 0;
			if (lowest < 0)
				lowest = 0;
			m->lowest = lowest;
			for (size_t s = 0; s < opt.nsegs; s++) {
				size_t off = opt.segs[s].off;
				int g = 0;
				while (g < L + 2 && off >= m->goff[g + 1])
					g++;
				opt.segs[s].frozen = g < lowest;
			}
			tl_xoshiro r;
			tl_xoshiro_derive(&r, o.seed, 0x636c73ULL, (uint64_t)ep);
			for (size_t i = 0; i < tr.nrec; i++)
				order[i] = i;
			for (size_t i = tr.nrec; i > 1; i--) {
				size_t j = (size_t)tl_xoshiro_below(&r, i);
				size_t t = order[i - 1];
				order[i - 1] = order[j];
				order[j] = t;
			}
			double esum = here ? rp.esum : 0;
			long en = here ? (long)rp.en : 0;
			for (size_t bi = here ? rp.pos : 0; bi < nb && step < total; bi++) {
				int nbat = (int)(tr.nrec - bi * B < (size_t)B ? tr.nrec - bi * B : (size_t)B);
				int T = make_batch(&tr, order + bi * B, nbat, ids, lens, y, m->labels, k);
				/* with gradual unfreezing each epoch (stage) has its own
				 * slanted triangular cycle, as ULMFiT's one-epoch fits per
				 * stage; otherwise one cycle over the whole run */
				opt.lr = (float)(lm && o.unfreeze ? stlr(&o, (long)bi, (long)nb) : stlr(&o, step, total));
				double l = tl_lstm_cls_step(m, ids, lens, y, nbat, T, 1, o.seed, (uint64_t)step, 1.0f, logits, NULL);
				if (!isfinite(l)) {
					tl_progress_finish(&prog, NULL);
					FAIL(TL_EXIT_FAIL, "loss is %s at step %ld (epoch %ld): stopping, no model written (lower --lr?)",
					     isnan(l) ? "NaN" : "infinite", step + 1, ep + 1);
				}
				tl_optim_step_clip_zero(&opt, m->arena, m->grad, o.clip);
				step++;
				for (int b = 0; b < nbat; b++)
					tokens += (uint64_t)lens[b];
				esum += l;
				en++;
				last_loss = l;
				double el = tl_now() - t0;
				snprintf(extra, sizeof extra, "loss %.4f lr %.2e %.0f tok/s", l, opt.lr, el > 0 ? tokens / el : 0.0);
				tl_progress_update(&prog, (uint64_t)step, extra, 0);
				snprintf(js, sizeof js, "\"step\":%ld,\"total\":%ld,\"epoch\":%ld,\"loss\":%.6f,\"lr\":%.6g,\"trainable_from_group\":%d",
					 step, total, ep + 1, l, (double)opt.lr, lowest);
				tl_progress_log(&prog, js);
				CKPT(ep, bi + 1, esum, en);
			}
			if (o.dev) {
				clsres cr = cls_eval(m, &dv, m->labels, k, B, o.max_len);
				dev_acc = cr.acc;
				dev_loss = cr.loss;
				if (!o.quiet)
					fprintf(stderr, "tl-train: epoch %ld: train loss %.4f, dev accuracy %.4f, dev loss %.4f (%zu records)\n",
						ep + 1, en ? esum / en : NAN, cr.acc, cr.loss, dv.nrec);
				snprintf(js, sizeof js, "\"epoch\":%ld,\"dev_accuracy\":%.6f,\"dev_loss\":%.6f", ep + 1, cr.acc, cr.loss);
				tl_progress_log(&prog, js);
			}
		}
	}
#undef CKPT
	double secs = tl_now() - t0;
	snprintf(extra, sizeof extra, "%.0f s, %.0f tokens/s", secs, secs > 0 ? tokens / secs : 0.0);
	tl_progress_finish(&prog, extra);

	/* tl.json */
	tj = json_object();
	json_object_set_new(tj, "tool", json_string("tl-train"));
	json_object_set_new(tj, "version", json_string(TL_VERSION));
	json_object_set_new(tj, "model", json_string(o.classifier ? "lstm" : "lstm-lm"));
	json_object_set_new(tj, "mode", json_string(o.classifier ? "classifier" : "lm"));
	json_object_set_new(tj, "vocab_sha256", json_string(vsha));
	if (pre_dir)
		json_object_set_new(tj, "pretrained", json_string(pre_dir));
	json_t *av = json_array();
	for (int i = 1; i < o.argc; i++)
		json_array_append_new(av, json_string(o.argv[i]));
	json_object_set_new(tj, "args", av);
	json_object_set_new(tj, "seed", json_integer((json_int_t)o.seed));
	json_object_set_new(tj, "train_records", json_integer((json_int_t)tr.nrec));
	json_object_set_new(tj, "train_tokens", json_integer((json_int_t)tr.n));
	json_object_set_new(tj, "steps", json_integer(step));
	json_object_set_new(tj, "precision", json_string(tl_precision_name(o.precision)));
	json_object_set_new(
		tj, "hyperparameters",
		json_pack("{s:f,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:f}", "lr", o.lr, "batch_size", (json_int_t)B,
			  "epochs", (json_int_t)o.epochs, "bptt", (json_int_t)o.bptt, "weight_decay", o.wd, "clip", o.clip,
			  "beta1", o.b1, "beta2", o.b2, "cut_frac", o.cut_frac, "ratio", o.ratio, "lr_div",
			  disc ? o.lr_div : 1.0, "gradual_unfreezing", (json_int_t)(lm && o.classifier && o.unfreeze),
			  "drop_mult", o.drop_mult));
	json_object_set_new(tj, "metrics",
			    json_pack("{s:f,s:f,s:f}", "last_train_loss", isfinite(last_loss) ? last_loss : 0.0,
				      "train_seconds", secs, "tokens_per_second", secs > 0 ? tokens / secs : 0.0));
	if (o.dev && !o.classifier)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:I}", "loss", dev_loss, "perplexity", exp(dev_loss),
							 "tokens", (json_int_t)dev_tok));
	else if (o.dev)
		json_object_set_new(tj, "dev", json_pack("{s:f,s:f,s:I}", "accuracy", dev_acc, "loss", dev_loss, "records",
							 (json_int_t)dv.nrec));
	if (!(tmp = tl_fs_tmpdir_for(o.out)))
		FAIL(TL_EXIT_IO, "cannot create a temporary directory next to %s: %s", o.out, strerror(errno));
	if (tl_lstm_save(m, tmp, vocab_path, tj) != 0) {
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
		if (o.dev && !o.classifier)
			fprintf(stderr, "tl-train: wrote %s after %ld steps (dev perplexity %.2f)\n", o.out, step, exp(dev_loss));
		else if (o.dev)
			fprintf(stderr, "tl-train: wrote %s after %ld steps (dev accuracy %.4f)\n", o.out, step, dev_acc);
		else
			fprintf(stderr, "tl-train: wrote %s after %ld steps\n", o.out, step);
	}
	if (logf) {
		int bad = ferror(logf) | (fclose(logf) != 0);
		logf = NULL;
		if (bad)
			FAIL(TL_EXIT_IO, "cannot write %s", o.log);
	}
	rc = 0;
out:
	if (logf)
		fclose(logf);
	free(tmp);
	json_decref(tj);
	if (have_opt)
		tl_optim_free(&opt);
	tl_lstm_free(m);
	tl_lstm_free(lm);
	tl_vocab_free(voc);
	if (names) {
		for (int i = 0; i < k; i++)
			free(names[i]);
		free(names);
	}
	corpus_free(&tr);
	corpus_free(&dv);
	free(pre_dir);
	free(ids);
	free(y);
	free(lens);
	free(order);
	free(logits);
	tl_buf_free(&vp);
	tl_buf_free(&ckbuf);
	json_decref(optj);
	json_decref(st);
	return rc;
}
