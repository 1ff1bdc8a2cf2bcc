/* lib/models/lstm/lstm_io.c - LSTM model directories (save, load) and the
 * tl-predict classifier backend "tl-lstm" (tl/lstm.h). */
#include "tl/fsutil.h"
#include "tl/lstm.h"
#include "tl/model.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/stream.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char name[64];
	size_t off;
	int64_t shape[2];
	int ndim;
} tensor;

/* The parameter tensors of m, in arena order. Returns the count. */
static int tensors(const tl_lstm *m, tensor *t)
{
	const tl_lstm_cfg *c = &m->cfg;
	int n = 0;
	t[n++] = (tensor){"embedding.weight", m->o_emb, {c->V, c->E}, 2};
	for (int l = 0; l < c->L; l++) {
		int64_t G = 4 * (int64_t)m->out[l];
		tensor *x = &t[n];
		snprintf(x->name, sizeof x->name, "lstm.%d.weight_ih", l);
		x->off = m->o_wih[l], x->shape[0] = G, x->shape[1] = m->in[l], x->ndim = 2;
		x = &t[++n];
		snprintf(x->name, sizeof x->name, "lstm.%d.weight_hh", l);
		x->off = m->o_whh[l], x->shape[0] = G, x->shape[1] = m->out[l], x->ndim = 2;
		x = &t[++n];
		snprintf(x->name, sizeof x->name, "lstm.%d.bias_ih", l);
		x->off = m->o_bih[l], x->shape[0] = G, x->ndim = 1;
		x = &t[++n];
		snprintf(x->name, sizeof x->name, "lstm.%d.bias_hh", l);
		x->off = m->o_bhh[l], x->shape[0] = G, x->ndim = 1;
		n++;
	}
	if (c->NL > 0) {
		t[n++] = (tensor){"head.0.weight", m->o_w1, {c->head, 3 * (int64_t)c->E}, 2};
		t[n++] = (tensor){"head.0.bias", m->o_b1, {c->head, 0}, 1};
		t[n++] = (tensor){"head.1.weight", m->o_w2, {c->NL, c->head}, 2};
		t[n++] = (tensor){"head.1.bias", m->o_b2, {c->NL, 0}, 1};
	} else {
		t[n++] = (tensor){"decoder.bias", m->o_decb, {c->V, 0}, 1};
	}
	return n;
}

long tl_lstm_param_off(const tl_lstm *m, const char *name, size_t *n)
{
	tensor t[4 * TL_LSTM_MAXL + 8];
	int nt = tensors(m, t);
	for (int i = 0; i < nt; i++)
		if (!strcmp(t[i].name, name)) {
			*n = (size_t)t[i].shape[0] * (t[i].ndim == 2 ? (size_t)t[i].shape[1] : 1);
			return (long)t[i].off;
		}
	return -1;
}

static int write_json(const char *path, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	size_t n = strlen(s);
	s = tl_xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = 0;
	int rc = tl_fs_write_file(path, s, n + 1);
	free(s);
	return rc;
}

int tl_lstm_save(const tl_lstm *m, const char *dir, const char *vocab_path, const void *tl_json)
{
	const tl_lstm_cfg *c = &m->cfg;
	tl_buf p = {0};
	int rc = -1, e;
	json_t *cfg = json_object();
	json_object_set_new(cfg, "model_type", json_string("tl-lstm"));
	json_object_set_new(cfg, "architectures", json_pack("[s]", c->NL > 0 ? "TlLstmClassifier" : "TlLstmLM"));
	json_object_set_new(cfg, "mode", json_string(c->NL > 0 ? "classifier" : "lm"));
	json_object_set_new(cfg, "vocab_size", json_integer(c->V));
	json_object_set_new(cfg, "emb_size", json_integer(c->E));
	json_object_set_new(cfg, "hidden_size", json_integer(c->H));
	json_object_set_new(cfg, "num_layers", json_integer(c->L));
	json_object_set_new(cfg, "eos_id", json_integer(m->eos));
	json_object_set_new(cfg, "tie_weights", json_true());
	json_t *dp = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "embedding", c->p_emb, "input", c->p_in, "hidden", c->p_hid,
			       "output", c->p_out, "weight", c->p_w, "head", c->p_head);
	json_object_set_new(cfg, "dropout", dp);
	if (c->NL > 0) {
		json_object_set_new(cfg, "head_size", json_integer(c->head));
		json_object_set_new(cfg, "max_len", json_integer(m->max_len));
		json_object_set_new(cfg, "pooling", json_string("concat(last,max,mean)"));
		json_object_set_new(cfg, "num_labels", json_integer(c->NL));
		json_object_set_new(cfg, "problem_type", json_string("single_label_classification"));
		if (m->labels)
			tl_model_set_labels(cfg, m->labels, c->NL);
	}
	tl_buf_printf(&p, "%s/config.json", dir);
	if (write_json(tl_buf_cstr(&p), cfg) != 0)
		goto out;
	tensor t[4 * TL_LSTM_MAXL + 8];
	int nt = tensors(m, t);
	tl_st_saver *s = tl_st_saver_init();
	tl_st_saver_meta(s, "format", "pt");
	for (int i = 0; i < nt; i++) {
		size_t n = (size_t)t[i].shape[0] * (t[i].ndim == 2 ? (size_t)t[i].shape[1] : 1);
		tl_st_saver_add(s, t[i].name, "F32", t[i].shape, t[i].ndim, m->arena + t[i].off, n * sizeof(float));
	}
	p.len = 0;
	tl_buf_printf(&p, "%s/model.safetensors", dir);
	int w = tl_st_saver_write(s, tl_buf_cstr(&p));
	e = errno;
	tl_st_saver_free(s);
	errno = e;
	if (w != 0)
		goto out;
	if (vocab_path) {
		tl_buf v = {0};
		if (tl_fs_read_file(vocab_path, &v) != 0) {
			e = errno;
			tl_buf_free(&v);
			errno = e;
			goto out;
		}
		p.len = 0;
		tl_buf_printf(&p, "%s/vocab.txt", dir);
		w = tl_fs_write_file(tl_buf_cstr(&p), v.data ? v.data : "", v.len);
		e = errno;
		tl_buf_free(&v);
		errno = e;
		if (w != 0)
			goto out;
	}
	if (tl_json) {
		p.len = 0;
		tl_buf_printf(&p, "%s/tl.json", dir);
		if (write_json(tl_buf_cstr(&p), tl_json) != 0)
			goto out;
	}
	rc = 0;
out:
	e = errno;
	json_decref(cfg);
	tl_buf_free(&p);
	errno = e;
	return rc;
}

static int cfg_int(const json_t *cfg, const char *dir, const char *key, long dflt, int *out, char *err,
		   size_t errsz)
{
	long v;
	if (tl_model_config_int(cfg, dir, key, dflt, &v, err, errsz) < 0)
		return -1;
	if (v < 0 || v > (1L << 30))
		return tl_errf(err, errsz, "%s/config.json: \"%s\" = %ld out of range", dir, key, v);
	*out = (int)v;
	return 0;
}

/* The tensor t of f with the shape config.json gives, or NULL with err. */
static const tl_st_tensor *shape_ok(const tl_st_file *f, const tensor *t, const char *path, char *err, size_t errsz)
{
	const tl_st_tensor *x = tl_st_find(f, t->name);
	if (!x) {
		tl_errf(err, errsz, "%s: no tensor '%s'", path, t->name);
		return NULL;
	}
	if (x->ndim != t->ndim || x->shape[0] != t->shape[0] || (t->ndim == 2 && x->shape[1] != t->shape[1])) {
		tl_errf(err, errsz, "%s: tensor '%s' has not the shape config.json gives", path, t->name);
		return NULL;
	}
	return x;
}

tl_lstm *tl_lstm_load(const char *dir, const tl_kernels *k, char *err, size_t errsz)
{
	json_t *cfg = tl_model_read_config(dir, err, errsz);
	if (!cfg)
		return NULL;
	tl_lstm *m = NULL;
	tl_st_file f;
	int fopen_ = 0;
	tl_buf p = {0};
	const char *type = json_string_value(json_object_get(cfg, "model_type"));
	const char *mode = json_string_value(json_object_get(cfg, "mode"));
	if (!type || strcmp(type, "tl-lstm")) {
		tl_errf(err, errsz, "%s/config.json: model_type is not \"tl-lstm\"", dir);
		goto fail;
	}
	if (!mode || (strcmp(mode, "lm") && strcmp(mode, "classifier"))) {
		tl_errf(err, errsz, "%s/config.json: \"mode\" must be \"lm\" or \"classifier\"", dir);
		goto fail;
	}
	tl_lstm_cfg c = {0};
	int eos = -1;
	if (cfg_int(cfg, dir, "vocab_size", -1, &c.V, err, errsz) < 0 ||
	    cfg_int(cfg, dir, "emb_size", -1, &c.E, err, errsz) < 0 ||
	    cfg_int(cfg, dir, "hidden_size", -1, &c.H, err, errsz) < 0 ||
	    cfg_int(cfg, dir, "num_layers", -1, &c.L, err, errsz) < 0)
		goto fail;
	{
		json_t *ej = json_object_get(cfg, "eos_id");
		if (json_is_integer(ej))
			eos = (int)json_integer_value(ej);
	}
	if (!strcmp(mode, "classifier") && (cfg_int(cfg, dir, "num_labels", -1, &c.NL, err, errsz) < 0 ||
					    cfg_int(cfg, dir, "head_size", -1, &c.head, err, errsz) < 0))
		goto fail;
	if (!strcmp(mode, "classifier") && c.NL < 1) {
		tl_errf(err, errsz, "%s/config.json: num_labels must be >= 1", dir);
		goto fail;
	}
	json_t *dj = json_object_get(cfg, "dropout");
	if (json_is_object(dj)) {
		c.p_emb = (float)json_number_value(json_object_get(dj, "embedding"));
		c.p_in = (float)json_number_value(json_object_get(dj, "input"));
		c.p_hid = (float)json_number_value(json_object_get(dj, "hidden"));
		c.p_out = (float)json_number_value(json_object_get(dj, "output"));
		c.p_w = (float)json_number_value(json_object_get(dj, "weight"));
		c.p_head = (float)json_number_value(json_object_get(dj, "head"));
	}
	/* every shape against the weights before anything is allocated: the
	 * sizes of config.json alone could ask for gigabytes */
	tl_buf_printf(&p, "%s/model.safetensors", dir);
	if (tl_st_open(&f, tl_buf_cstr(&p), err, errsz) < 0)
		goto fail;
	fopen_ = 1;
	if (c.V >= 1 && c.E >= 1 && c.H >= 1 && c.L >= 1 && c.L <= TL_LSTM_MAXL && c.NL >= 0 && (!c.NL || c.head >= 1)) {
		tl_lstm m0;
		memset(&m0, 0, sizeof m0);
		m0.cfg = c;
		for (int l = 0; l < c.L; l++) {
			m0.in[l] = l ? c.H : c.E;
			m0.out[l] = l == c.L - 1 ? c.E : c.H;
		}
		tensor t0[4 * TL_LSTM_MAXL + 8];
		int n0 = tensors(&m0, t0);
		for (int i = 0; i < n0; i++)
			if (!shape_ok(&f, &t0[i], tl_buf_cstr(&p), err, errsz))
				goto fail;
	}
	char e2[256];
	if (!(m = (tl_lstm *)tl_lstm_new(&c, k, 0, e2, sizeof e2))) {
		tl_errf(err, errsz, "%s/config.json: %s", dir, e2);
		goto fail;
	}
	m->eos = eos;
	{
		json_t *mj = json_object_get(cfg, "max_len");
		m->max_len = json_is_integer(mj) && json_integer_value(mj) > 0 ? (long)json_integer_value(mj) : 0;
	}
	tensor t[4 * TL_LSTM_MAXL + 8];
	int nt = tensors(m, t);
	for (int i = 0; i < nt; i++) {
		const tl_st_tensor *x = shape_ok(&f, &t[i], tl_buf_cstr(&p), err, errsz);
		if (!x || tl_st_read_f32(&f, x, m->arena + t[i].off, err, errsz) < 0)
			goto fail;
	}
	tl_st_close(&f);
	fopen_ = 0;
	if (c.NL > 0) {
		tl_classifier tmp = {0};
		tl_classifier_err ce;
		if (tl_classifier_read_labels(&tmp, cfg, c.NL, &ce) < 0) {
			tl_errf(err, errsz, "%s/%s", dir, ce.msg);
			goto fail;
		}
		if (tmp.nlabels != c.NL) {
			for (int i = 0; i < tmp.nlabels; i++)
				free(tmp.labels[i]);
			free(tmp.labels);
			tl_errf(err, errsz, "%s/config.json: %d labels in id2label, num_labels %d", dir, tmp.nlabels, c.NL);
			goto fail;
		}
		m->labels = tmp.labels;
	}
	if (tl_model_vocab_sha256(dir, m->vocab_sha256, err, errsz) < 0)
		goto fail;
	json_decref(cfg);
	tl_buf_free(&p);
	return m;
fail:
	if (fopen_)
		tl_st_close(&f);
	tl_lstm_free(m);
	json_decref(cfg);
	tl_buf_free(&p);
	return NULL;
}

/* ---------------- many sequences (tl-predict, tl-embed) ---------------- */

typedef struct {
	size_t i;
	int32_t len;
} bylen;

static int cmp_len(const void *a, const void *b)
{
	const bylen *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void tl_lstm_forward_many(tl_lstm *m, const int32_t *const *seq, const int32_t *len, size_t n, int bmax, float *logits,
			  float *vec)
{
	if (!n)
		return;
	if (bmax < 1)
		bmax = 1;
	int NL = m->cfg.NL, D = 3 * m->cfg.E;
	bylen *o = tl_xmalloc(n * sizeof *o);
	for (size_t i = 0; i < n; i++)
		o[i] = (bylen){i, len[i]};
	qsort(o, n, sizeof *o, cmp_len);
	int32_t maxl = o[n - 1].len > 0 ? o[n - 1].len : 1;
	size_t bm = (size_t)bmax < n ? (size_t)bmax : n;
	int32_t *ids = tl_xmalloc(bm * (size_t)maxl * sizeof *ids), *lens = tl_xmalloc(bm * sizeof *lens);
	float *lg = NL > 0 ? tl_xmalloc(bm * (size_t)NL * sizeof *lg) : NULL, *vv = tl_xmalloc(bm * (size_t)D * sizeof *vv);
	for (size_t s = 0; s < n;) {
		/* an empty sequence goes alone, as one [PAD] step of length 0 */
		size_t nb = 1;
		if (o[s].len > 0)
			while (nb < bm && s + nb < n)
				nb++;
		int T = o[s + nb - 1].len > 0 ? o[s + nb - 1].len : 1;
		for (size_t b = 0; b < nb; b++) {
			const bylen *r = &o[s + b];
			lens[b] = r->len;
			for (int t = 0; t < T; t++)
				ids[b * (size_t)T + t] = t < r->len ? seq[r->i][t] : 0;
		}
		if (logits)
			tl_lstm_cls_step(m, ids, lens, NULL, (int)nb, T, 0, 0, 0, 1.0f, lg, vec ? vv : NULL);
		else
			tl_lstm_encode(m, ids, lens, (int)nb, T, vv);
		for (size_t b = 0; b < nb; b++) {
			size_t i = o[s + b].i;
			if (logits)
				memcpy(logits + i * (size_t)NL, lg + b * (size_t)NL, (size_t)NL * sizeof *lg);
			if (vec)
				memcpy(vec + i * (size_t)D, vv + b * (size_t)D, (size_t)D * sizeof *vv);
		}
		s += nb;
	}
	free(o);
	free(ids);
	free(lens);
	free(lg);
	free(vv);
}

/* ---------------- tl-predict backend ---------------- */

typedef struct {
	tl_lstm *m;
	int32_t *ids, *lens;
	size_t cap;
	long max_len;
} cls_impl;

static int lstm_predict(tl_classifier *c, const tl_record *recs, size_t n, float *logits, tl_classifier_err *e)
{
	cls_impl *x = c->impl;
	tl_lstm *m = x->m;
	/* the records sorted by length in batches (tl_lstm_forward_many): a
	 * record's scores do not depend on its neighbours, the same bits as
	 * one record at a time */
	int32_t *buf = NULL;
	size_t cap = 0;
	int32_t **seq = tl_xcalloc(n ? n : 1, sizeof *seq), *lens = tl_xmalloc((n ? n : 1) * sizeof *lens);
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		long len = tl_rec_i32s(&recs[i], "ids", &buf, &cap);
		if (len == -1 || len < 0) {
			e->code = TL_EXIT_DATA;
			e->index = i;
			snprintf(e->msg, sizeof e->msg, "%s", len == -1 ? "no \"ids\": tokenize the text first (tl-tokenize)"
									: "\"ids\" is not a bin of int32 or an array of integers");
			goto out;
		}
		if (x->max_len > 0 && len > x->max_len)
			len = x->max_len;
		for (long j = 0; j < len; j++)
			if (buf[j] < 0 || buf[j] >= m->cfg.V) {
				e->code = TL_EXIT_DATA;
				e->index = i;
				snprintf(e->msg, sizeof e->msg, "ids[%ld] = %d outside the model's vocabulary (0..%d)", j,
					 buf[j], m->cfg.V - 1);
				goto out;
			}
		seq[i] = tl_xmalloc((len ? (size_t)len : 1) * sizeof **seq);
		if (len > 0)
			memcpy(seq[i], buf, (size_t)len * sizeof **seq);
		lens[i] = (int32_t)len;
	}
	tl_lstm_forward_many(m, (const int32_t *const *)seq, lens, n, c->batch_size ? (int)c->batch_size : 1, logits,
			     NULL);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(seq[i]);
	free(seq);
	free(lens);
	free(buf);
	return rc;
}

static void lstm_cls_free(tl_classifier *c)
{
	cls_impl *x = c->impl;
	if (!x)
		return;
	tl_lstm_free(x->m);
	free(x);
	c->impl = NULL;
}

static const tl_classifier_ops lstm_ops = {lstm_predict, lstm_cls_free};

tl_classifier *tl_lstm_classifier_load(const char *dir, const void *config, int threads, tl_classifier_err *e)
{
	(void)config;
	char err[512];
	const tl_kernels *k = tl_kernels_cpu();
	k->set_threads(threads);
	tl_lstm *m = tl_lstm_load(dir, k, err, sizeof err);
	if (!m) {
		e->code = TL_EXIT_MODEL;
		e->index = (size_t)-1;
		snprintf(e->msg, sizeof e->msg, "%s", err);
		return NULL;
	}
	if (m->cfg.NL < 1) {
		e->code = TL_EXIT_MODEL;
		e->index = (size_t)-1;
		snprintf(e->msg, sizeof e->msg, "%s: a language model (mode \"lm\"), not a classifier: train one with "
						"tl-train -m lstm --pretrained %s",
			 dir, dir);
		tl_lstm_free(m);
		return NULL;
	}
	tl_classifier *c = tl_xcalloc(1, sizeof *c);
	cls_impl *x = tl_xcalloc(1, sizeof *x);
	x->m = m;
	x->max_len = m->max_len;
	c->ops = &lstm_ops;
	c->impl = x;
	c->nlabels = m->cfg.NL;
	c->labels = m->labels;
	m->labels = NULL; /* the classifier frees them */
	c->kind = "tl-lstm";
	c->batch_size = 32;
	memcpy(c->vocab_sha256, m->vocab_sha256, sizeof c->vocab_sha256);
	return c;
}
