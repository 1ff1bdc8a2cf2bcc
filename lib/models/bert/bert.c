/* bert.c - BERT encoder: loading Hugging Face checkpoints, forward pass on
 * the kernel layer, length-bucketed batch encoding, classifier backend. */
#include "tl/bert.h"
#include "tl/model.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tl_bert_params_layout(const tl_bert_config *c, int has_pooler, size_t s[TL_BERT_NPARAMS])
{
	size_t C = (size_t)c->C, L = (size_t)c->L, I = (size_t)c->I;
	s[0] = (size_t)c->vocab_size * C;
	s[1] = (size_t)c->max_pos * C;
	s[2] = (size_t)c->type_vocab * C;
	s[3] = C;
	s[4] = C;
	s[5] = L * 3 * C * C;
	s[6] = L * 3 * C;
	s[7] = L * C * C;
	s[8] = L * C;
	s[9] = L * C;
	s[10] = L * C;
	s[11] = L * I * C;
	s[12] = L * I;
	s[13] = L * C * I;
	s[14] = L * C;
	s[15] = L * C;
	s[16] = L * C;
	s[17] = has_pooler ? C * C : 0;
	s[18] = has_pooler ? C : 0;
	s[19] = (size_t)c->nlabels * C;
	s[20] = (size_t)c->nlabels;
	/* optional heads (issue 18), appended */
	s[21] = c->mlm ? C * C : 0;
	s[22] = c->mlm ? C : 0;
	s[23] = c->mlm ? C : 0;
	s[24] = c->mlm ? C : 0;
	s[25] = c->mlm ? (size_t)c->vocab_size : 0;
	int disc = c->disc_hidden > 0 && c->ndomains >= 2;
	size_t H = disc ? (size_t)c->disc_hidden : 0, D = disc ? (size_t)c->ndomains : 0;
	s[26] = H * C;
	s[27] = H;
	s[28] = D * H;
	s[29] = D;
}

void tl_bert_params_point(tl_bert_params *p, float *arena, const size_t s[TL_BERT_NPARAMS])
{
	float **ptrs[TL_BERT_NPARAMS] = {&p->wte,     &p->wpe,     &p->wtt,     &p->emb_lnw,  &p->emb_lnb,
					 &p->qkvw,    &p->qkvb,    &p->attprojw, &p->attprojb, &p->ln1w,
					 &p->ln1b,    &p->fcw,     &p->fcb,     &p->fcprojw,  &p->fcprojb,
					 &p->ln2w,    &p->ln2b,    &p->poolw,   &p->poolb,    &p->clsw,
					 &p->clsb,    &p->mlm_dw,  &p->mlm_db,  &p->mlm_lnw,  &p->mlm_lnb,
					 &p->mlm_bias, &p->disc_w1, &p->disc_b1, &p->disc_w2, &p->disc_b2};
	for (int i = 0; i < TL_BERT_NPARAMS; i++) {
		*ptrs[i] = s[i] ? arena : NULL;
		arena += s[i];
	}
}

/* ---------------- loading ---------------- */

typedef struct {
	tl_st_file *files;
	int n;
} shards;

static void shards_close(shards *sh)
{
	for (int i = 0; i < sh->n; i++)
		tl_st_close(&sh->files[i]);
	free(sh->files);
	sh->files = NULL;
	sh->n = 0;
}

static int shards_open(shards *sh, const char *dir, char *err, size_t errsz)
{
	tl_buf p = {0};
	struct stat st;
	int rc = -1;
	memset(sh, 0, sizeof *sh);
	tl_buf_printf(&p, "%s/model.safetensors", dir);
	if (stat(tl_buf_cstr(&p), &st) == 0) {
		sh->files = tl_xcalloc(1, sizeof *sh->files);
		if (tl_st_open(&sh->files[0], p.data, err, errsz) == 0) {
			sh->n = 1;
			rc = 0;
		}
		goto out;
	}
	p.len = 0;
	tl_buf_printf(&p, "%s/model.safetensors.index.json", dir);
	if (stat(tl_buf_cstr(&p), &st) != 0) {
		tl_errf(err, errsz, "%s: no model.safetensors (PyTorch .bin checkpoints are not read: convert them to safetensors)",
		     dir);
		goto out;
	}
	json_error_t je;
	json_t *idx = json_load_file(p.data, 0, &je);
	json_t *wm = idx ? json_object_get(idx, "weight_map") : NULL;
	if (!json_is_object(wm)) {
		tl_errf(err, errsz, "%s: not a safetensors index (%s)", p.data, idx ? "no weight_map" : je.text);
		json_decref(idx);
		goto out;
	}
	const char *key;
	json_t *v;
	sh->files = tl_xcalloc(json_object_size(wm) + 1, sizeof *sh->files);
	rc = 0;
	json_object_foreach(wm, key, v)
	{
		const char *file = json_string_value(v);
		if (!file || strchr(file, '/')) {
			rc = tl_errf(err, errsz, "%s: bad file for '%s'", p.data, key);
			break;
		}
		int seen = 0;
		tl_buf fp = {0};
		tl_buf_printf(&fp, "%s/%s", dir, file);
		for (int i = 0; i < sh->n && !seen; i++)
			seen = !strcmp(sh->files[i].path, fp.data);
		if (!seen) {
			if (tl_st_open(&sh->files[sh->n], tl_buf_cstr(&fp), err, errsz) < 0)
				rc = -1;
			else
				sh->n++;
		}
		tl_buf_free(&fp);
		if (rc < 0)
			break;
	}
	json_decref(idx);
out:
	if (rc < 0)
		shards_close(sh);
	tl_buf_free(&p);
	return rc;
}

/* Find a tensor under its Hugging Face name, with or without the "bert."
 * prefix, and with the old gamma/beta names of LayerNorm parameters. */
static const tl_st_tensor *find(const shards *sh, const char *name, const tl_st_file **file)
{
	char alt[256];
	const char *prefixes[] = {"", "bert."};
	for (int pi = 0; pi < 2; pi++)
		for (int g = 0; g < 2; g++) {
			const char *n = name;
			char buf[256];
			if (g) {
				const char *s = strstr(name, "LayerNorm.");
				if (!s)
					continue;
				const char *rest = s + strlen("LayerNorm.");
				snprintf(buf, sizeof buf, "%.*sLayerNorm.%s", (int)(s - name), name,
					 !strcmp(rest, "weight") ? "gamma" : !strcmp(rest, "bias") ? "beta" : rest);
				n = buf;
			}
			snprintf(alt, sizeof alt, "%s%s", prefixes[pi], n);
			for (int i = 0; i < sh->n; i++) {
				const tl_st_tensor *t = tl_st_find(&sh->files[i], alt);
				if (t) {
					*file = &sh->files[i];
					return t;
				}
			}
		}
	return NULL;
}

/* What one row of a tensor is, per config.json field, for messages. */
static const char *unit_of(const char *field)
{
	static const char *const t[][2] = {
		{"vocab_size", "tokens"},		{"max_position_embeddings", "positions"},
		{"type_vocab_size", "token types"},	{"hidden_size", "hidden units"},
		{"intermediate_size", "intermediate units"}, {"id2label/num_labels", "labels"},
		{"pruned_heads", "units (kept heads x head size)"},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (!strcmp(t[i][0], field))
			return t[i][1];
	return "rows";
}

static int load_tensor_q(const shards *sh, const char *dir, const char *name, int64_t d0, const char *f0,
			 int64_t d1, const char *f1, float *dst, int may_q, int8_t *q, float *s, char *err,
			 size_t errsz);

/* Check that tensor name has shape [d0] or [d0, d1] (d1 0: 1-D), where d0
 * and d1 come from the config.json fields f0 and f1, and load it into dst
 * (NULL: only check). A size that does not match names its field. */
static int load_tensor(const shards *sh, const char *dir, const char *name, int64_t d0, const char *f0, int64_t d1,
		       const char *f1, float *dst, char *err, size_t errsz)
{
	return load_tensor_q(sh, dir, name, d0, f0, d1, f1, dst, 0, NULL, NULL, err, errsz);
}

/* load_tensor for the layer matrices, which may be stored int8 (then
 * with "<name>_scale", F32 [d0]): 1 when it was (q, s then receive the
 * values and scales when not NULL, dst their products), 0 when it was a
 * float tensor, -1 with err. */
static int load_tensor_q(const shards *sh, const char *dir, const char *name, int64_t d0, const char *f0,
			 int64_t d1, const char *f1, float *dst, int may_q, int8_t *q, float *s, char *err,
			 size_t errsz)
{
	const tl_st_file *f = NULL;
	const tl_st_tensor *t = find(sh, name, &f);
	if (!t)
		return tl_errf(err, errsz, "%s: tensor '%s' missing from the checkpoint", dir, name);
	if (t->dtype == TL_ST_I8) {
		if (!may_q || !d1)
			return tl_errf(err, errsz, "%s: tensor '%s' is I8: only the layers' weight matrices may be quantized",
				       f->path, t->name);
		if (t->ndim != 2 || t->shape[0] != d0 || t->shape[1] != d1)
			return tl_errf(err, errsz, "%s: tensor '%s' does not have shape [%lld, %lld] from config.json",
				       f->path, t->name, (long long)d0, (long long)d1);
		char sn[300];
		snprintf(sn, sizeof sn, "%s_scale", name);
		const tl_st_file *sf = NULL;
		const tl_st_tensor *st = find(sh, sn, &sf);
		if (!st)
			return tl_errf(err, errsz, "%s: tensor '%s' is I8 but its scales '%s' are missing", f->path, t->name,
				       sn);
		if (st->dtype != TL_ST_F32 || st->ndim != 1 || st->shape[0] != d0) {
			char got[128] = "", *g = got;
			for (int i = 0; i < st->ndim && g < got + sizeof got - 24; i++)
				g += sprintf(g, "%s%lld", i ? ", " : "", (long long)st->shape[i]);
			return tl_errf(err, errsz,
				       "%s: tensor '%s' is %s [%s], expected F32 [%lld] (one scale per output channel of '%s')",
				       sf->path, st->name, tl_st_dtype_name(st->dtype), got, (long long)d0, t->name);
		}
		if (dst) {
			const int8_t *qv = tl_st_bytes(f, t);
			float *sv = s ? s : tl_xmalloc((size_t)d0 * sizeof *sv);
			if (tl_st_read_f32(sf, st, sv, err, errsz) < 0)
				return -1;
			for (int64_t o = 0; o < d0; o++)
				for (int64_t k = 0; k < d1; k++)
					dst[o * d1 + k] = (float)qv[o * d1 + k] * sv[o];
			if (q)
				memcpy(q, qv, (size_t)(d0 * d1));
			if (!s)
				free(sv);
		}
		return 1;
	}
	if (t->ndim == (d1 ? 2 : 1)) {
		int i = t->shape[0] != d0 ? 0 : d1 && t->shape[1] != d1 ? 1 : -1;
		if (i >= 0) {
			const char *field = i ? f1 : f0;
			return tl_errf(err, errsz, "%s/config.json: %s %lld does not match the weights (%lld %s in %s)", dir,
				       field, (long long)(i ? d1 : d0), (long long)t->shape[i], unit_of(field), t->name);
		}
	} else {
		char got[128] = "", *q = got;
		for (int i = 0; i < t->ndim && q < got + sizeof got - 24; i++)
			q += sprintf(q, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
		if (d1)
			return tl_errf(err, errsz, "%s: tensor '%s' has shape [%s], expected [%lld, %lld] from config.json",
				    f->path, t->name, got, (long long)d0, (long long)d1);
		return tl_errf(err, errsz, "%s: tensor '%s' has shape [%s], expected [%lld] from config.json", f->path,
			    t->name, got, (long long)d0);
	}
	return dst ? tl_st_read_f32(f, t, dst, err, errsz) : 0; /* 0: not quantized */
}

/* Bounds of the config.json sizes that no tensor shape pins down alone
 * (and that keep every product of sizes far from overflowing); the shapes
 * are checked against the weights before anything is allocated. */
static int read_config(tl_bert_config *c, const json_t *cfg, const char *dir, char *err, size_t errsz)
{
	long v;
	/* the weights' names alone do not tell a BERT from a model of another
	 * architecture with the same names (RoBERTa: position ids offset by
	 * the padding id, another tokenizer): a model_type other than "bert"
	 * is refused rather than run wrongly; an absent one is taken as bert */
	json_t *mt = json_object_get(cfg, "model_type");
	if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), "bert")))
		return tl_errf(err, errsz, "%s/config.json: model_type %s%s%s is not a BERT encoder (\"bert\")", dir,
			       json_is_string(mt) ? "'" : "", json_is_string(mt) ? json_string_value(mt) : "(not a string)",
			       json_is_string(mt) ? "'" : "");
#define INT(field, key, dflt, lo, hi)                                                                    \
	do {                                                                                             \
		if (tl_model_config_int(cfg, dir, key, dflt, &v, err, errsz) < 0)                         \
			return -1;                                                                       \
		if (v < (lo) || v > (hi))                                                                \
			return tl_errf(err, errsz, "%s/config.json: %s %ld out of range (%ld..%ld)", dir, key, v, \
				       (long)(lo), (long)(hi));                                          \
		c->field = (int)v;                                                                       \
	} while (0)
	INT(C, "hidden_size", -1, 1, 65536);
	INT(L, "num_hidden_layers", -1, 1, 1000);
	INT(NH, "num_attention_heads", -1, 1, c->C);
	INT(I, "intermediate_size", -1, 1, 262144);
	INT(vocab_size, "vocab_size", -1, 1, INT_MAX);
	INT(max_pos, "max_position_embeddings", 512, 1, INT_MAX);
	INT(type_vocab, "type_vocab_size", 2, 1, INT_MAX);
	INT(pad_id, "pad_token_id", 0, 0, c->vocab_size - 1);
#undef INT
	c->eps = 1e-12f;
	json_t *e = json_object_get(cfg, "layer_norm_eps");
	if (json_is_number(e))
		c->eps = (float)json_number_value(e);
	if (c->C % c->NH)
		return tl_errf(err, errsz, "%s/config.json: hidden_size %d is not a multiple of num_attention_heads %d", dir,
			    c->C, c->NH);
	const char *act = json_string_value(json_object_get(cfg, "hidden_act"));
	if (act && strcmp(act, "gelu"))
		return tl_errf(err, errsz, "%s/config.json: hidden_act '%s' is not supported (only exact \"gelu\")", dir, act);
	const char *pe = json_string_value(json_object_get(cfg, "position_embedding_type"));
	if (pe && strcmp(pe, "absolute"))
		return tl_errf(err, errsz, "%s/config.json: position_embedding_type '%s' is not supported", dir, pe);
	return 0;
}

/* Load every tensor into host, or with host NULL only check every shape
 * against config.json (done before the arena is allocated, so that no
 * size from config.json allocates what the weights do not hold). */
static int load_weights(tl_bert *m, const shards *sh, float *host, char *err, size_t errsz)
{
	const tl_bert_config *c = &m->cfg;
	tl_bert_params p;
	memset(&p, 0, sizeof p);
	if (host)
		tl_bert_params_point(&p, host, m->param_sizes);
	const char *dir = m->dir;
	int64_t C = c->C, I = c->I;
	char name[256];
	if (!host) {
		/* the number of layers: the first one missing names the field */
		const tl_st_file *f;
		int have = 0;
		while (have < c->L) {
			snprintf(name, sizeof name, "encoder.layer.%d.attention.self.query.weight", have);
			if (!find(sh, name, &f))
				break;
			have++;
		}
		if (have > 0 && have < c->L)
			return tl_errf(err, errsz, "%s/config.json: num_hidden_layers %d does not match the weights (%d layers in encoder.layer.*)",
				    dir, c->L, have);
	}
#define LOAD(nm, d0, f0, d1, f1, dst)                                                       \
	do {                                                                                \
		if (load_tensor(sh, dir, nm, d0, f0, d1, f1, host ? (dst) : NULL, err, errsz) < 0) \
			return -1;                                                          \
	} while (0)
#define LOADQ(nm, d0, f0, d1, f1, dst, j, qoff, soff)                                                  \
	do {                                                                                          \
		int r_ = load_tensor_q(sh, dir, nm, d0, f0, d1, f1, host ? (dst) : NULL, 1,                 \
				       host && m->q8[j] ? m->q8[j] + (qoff) : NULL,                          \
				       host && m->q8s[j] ? m->q8s[j] + (soff) : NULL, err, errsz);           \
		if (r_ < 0)                                                                           \
			return -1;                                                                    \
		nq += r_;                                                                             \
	} while (0)
	int nq = 0;
#define HS "hidden_size"
	LOAD("embeddings.word_embeddings.weight", c->vocab_size, "vocab_size", C, HS, p.wte);
	LOAD("embeddings.position_embeddings.weight", c->max_pos, "max_position_embeddings", C, HS, p.wpe);
	LOAD("embeddings.token_type_embeddings.weight", c->type_vocab, "type_vocab_size", C, HS, p.wtt);
	LOAD("embeddings.LayerNorm.weight", C, HS, 0, NULL, p.emb_lnw);
	LOAD("embeddings.LayerNorm.bias", C, HS, 0, NULL, p.emb_lnb);
	static const char *qkv[3] = {"query", "key", "value"};
	for (int l = 0; l < c->L; l++) {
		/* a pruned layer's attention is Cl = kept heads x head size wide,
		 * stored compacted at the start of its full-size slots */
		int64_t Cl = tl_bert_layer_width(m, l);
		const char *FL = Cl == C ? HS : "pruned_heads";
		for (int j = 0; j < 3; j++) {
			snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.weight", l, qkv[j]);
			LOADQ(name, Cl, FL, C, HS, p.qkvw + (size_t)l * 3 * C * C + (size_t)j * Cl * C, 0,
			      (size_t)l * 3 * C * C + (size_t)j * Cl * C, (size_t)l * 3 * C + (size_t)j * Cl);
			snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.bias", l, qkv[j]);
			LOAD(name, Cl, FL, 0, NULL, p.qkvb + (size_t)l * 3 * C + (size_t)j * Cl);
		}
#define LAYER(suffix, d0, f0, d1, f1, dst)                                     \
	do {                                                                   \
		snprintf(name, sizeof name, "encoder.layer.%d.%s", l, suffix); \
		LOAD(name, d0, f0, d1, f1, dst);                               \
	} while (0)
#define IS "intermediate_size"
		snprintf(name, sizeof name, "encoder.layer.%d.attention.output.dense.weight", l);
		LOADQ(name, C, HS, Cl, FL, p.attprojw + (size_t)l * C * C, 1, (size_t)l * C * C, (size_t)l * C);
		LAYER("attention.output.dense.bias", C, HS, 0, NULL, p.attprojb + (size_t)l * C);
		LAYER("attention.output.LayerNorm.weight", C, HS, 0, NULL, p.ln1w + (size_t)l * C);
		LAYER("attention.output.LayerNorm.bias", C, HS, 0, NULL, p.ln1b + (size_t)l * C);
		snprintf(name, sizeof name, "encoder.layer.%d.intermediate.dense.weight", l);
		LOADQ(name, I, IS, C, HS, p.fcw + (size_t)l * I * C, 2, (size_t)l * I * C, (size_t)l * I);
		LAYER("intermediate.dense.bias", I, IS, 0, NULL, p.fcb + (size_t)l * I);
		snprintf(name, sizeof name, "encoder.layer.%d.output.dense.weight", l);
		LOADQ(name, C, HS, I, IS, p.fcprojw + (size_t)l * C * I, 3, (size_t)l * C * I, (size_t)l * C);
		LAYER("output.dense.bias", C, HS, 0, NULL, p.fcprojb + (size_t)l * C);
		LAYER("output.LayerNorm.weight", C, HS, 0, NULL, p.ln2w + (size_t)l * C);
		LAYER("output.LayerNorm.bias", C, HS, 0, NULL, p.ln2b + (size_t)l * C);
#undef LAYER
#undef IS
	}
	if (m->has_pooler) {
		LOAD("pooler.dense.weight", C, HS, C, HS, p.poolw);
		LOAD("pooler.dense.bias", C, HS, 0, NULL, p.poolb);
	}
	if (c->nlabels) {
		LOAD("classifier.weight", c->nlabels, "id2label/num_labels", C, HS, p.clsw);
		LOAD("classifier.bias", c->nlabels, "id2label/num_labels", 0, NULL, p.clsb);
	}
	if (c->mlm) { /* BertForMaskedLM: the decoder weight is tied to the word embeddings */
		LOAD("cls.predictions.transform.dense.weight", C, HS, C, HS, p.mlm_dw);
		LOAD("cls.predictions.transform.dense.bias", C, HS, 0, NULL, p.mlm_db);
		LOAD("cls.predictions.transform.LayerNorm.weight", C, HS, 0, NULL, p.mlm_lnw);
		LOAD("cls.predictions.transform.LayerNorm.bias", C, HS, 0, NULL, p.mlm_lnb);
		LOAD("cls.predictions.bias", c->vocab_size, "vocab_size", 0, NULL, p.mlm_bias);
	}
#undef HS
#undef LOAD
#undef LOADQ
	if (nq && nq != 6 * c->L)
		return tl_errf(err, errsz, "%s: %d of the %d layer weight matrices are I8: quantize all or none (tl-quantize)",
			       dir, nq, 6 * c->L);
	if (!host)
		m->quantized = nq > 0;
	return 0;
}

/* ---------------- pruned heads ---------------- */

int tl_bert_layer_heads(const tl_bert *m, int l)
{
	return m->heads ? m->heads[l] : m->cfg.NH;
}

int tl_bert_layer_width(const tl_bert *m, int l)
{
	return tl_bert_layer_heads(m, l) * (m->cfg.C / m->cfg.NH);
}

int tl_bert_parse_pruned_heads(const void *config, int L, int NH, unsigned char *pruned, char *err, size_t errsz)
{
	const json_t *ph = json_object_get(config, "pruned_heads");
	memset(pruned, 0, (size_t)L * NH);
	if (!ph || json_is_null(ph))
		return 0;
	if (!json_is_object(ph))
		return tl_errf(err, errsz, "pruned_heads is not an object {\"layer\": [heads]}");
	const char *key;
	json_t *v;
	int n = 0;
	json_object_foreach((json_t *)ph, key, v)
	{
		char *end;
		errno = 0;
		long l = strtol(key, &end, 10);
		if (!*key || *end || errno || l < 0 || l >= L)
			return tl_errf(err, errsz, "pruned_heads: layer \"%s\" is not a layer number (0..%d)", key, L - 1);
		if (!json_is_array(v))
			return tl_errf(err, errsz, "pruned_heads: layer %ld: not an array of head numbers", l);
		size_t i;
		json_t *h;
		json_array_foreach(v, i, h)
		{
			json_int_t hv = json_is_integer(h) ? json_integer_value(h) : -1;
			if (hv < 0 || hv >= NH)
				return tl_errf(err, errsz, "pruned_heads: layer %ld: head %s%lld outside 0..%d", l,
					       json_is_integer(h) ? "" : "(not an integer) ", (long long)hv, NH - 1);
			if (!pruned[(size_t)l * NH + hv])
				n++;
			pruned[(size_t)l * NH + hv] = 1;
		}
	}
	return n;
}

/* config.json "pruned_heads" into m->heads (left NULL when no head is
 * pruned). A layer without heads is refused: transformers (4.x, the
 * versions that prune) cannot run one either. */
static int read_pruned(tl_bert *m, const json_t *cfg, char *err, size_t errsz)
{
	int L = m->cfg.L, NH = m->cfg.NH;
	const json_t *ph = json_object_get(cfg, "pruned_heads");
	if (!ph || (json_is_object(ph) && !json_object_size(ph)) || json_is_null(ph))
		return 0; /* nothing allocated for a model that prunes nothing */
	unsigned char *pr = tl_xmalloc((size_t)L * NH);
	char e[256];
	int n = tl_bert_parse_pruned_heads(cfg, L, NH, pr, e, sizeof e);
	if (n < 0) {
		free(pr);
		return tl_errf(err, errsz, "%s/config.json: %s", m->dir, e);
	}
	if (n > 0) {
		m->heads = tl_xmalloc((size_t)L * sizeof *m->heads);
		m->prep_l = tl_xcalloc((size_t)4 * L, sizeof *m->prep_l);
		for (int l = 0; l < L; l++) {
			int kept = NH;
			for (int h = 0; h < NH; h++)
				kept -= pr[(size_t)l * NH + h];
			if (!kept) {
				free(pr);
				return tl_errf(err, errsz,
					       "%s/config.json: pruned_heads removes every head of layer %d: not supported "
					       "(transformers cannot run such a layer either); drop the layer instead (tl-prune --layers)",
					       m->dir, l);
			}
			m->heads[l] = kept;
		}
	}
	free(pr);
	return 0;
}

/* config.json architectures[0] is BertForTokenClassification */
static int is_token_model(const json_t *cfg)
{
	const char *a = json_string_value(json_array_get(json_object_get(cfg, "architectures"), 0));
	return a && !strcmp(a, "BertForTokenClassification");
}

static tl_bert *load(const char *dir, const json_t *cfg, const tl_kernels *k, int nlabels, char *err, size_t errsz)
{
	tl_bert *m = tl_xcalloc(1, sizeof *m);
	m->k = k ? k : tl_kernels_cpu();
	m->dir = tl_xstrdup(dir);
	shards sh = {0};
	float *host = NULL;
	if (read_config(&m->cfg, cfg, dir, err, errsz) < 0)
		goto bad;
	m->cfg.nlabels = nlabels;
	if (read_pruned(m, cfg, err, errsz) < 0)
		goto bad;
	if (tl_model_vocab_sha256(dir, m->vocab_sha256, err, errsz) < 0)
		goto bad;
	if (shards_open(&sh, dir, err, errsz) < 0)
		goto bad;
	const tl_st_file *f;
	const tl_st_tensor *head = find(&sh, "classifier.weight", &f);
	if (!nlabels && head && head->ndim == 2 && head->shape[0] > 0 && head->shape[0] < 1000000)
		m->cfg.nlabels = nlabels = (int)head->shape[0]; /* a classification checkpoint */
	/* a token classifier (BertForTokenClassification) has no pooler */
	m->has_pooler = find(&sh, "pooler.dense.weight", &f) != NULL || (nlabels > 0 && !is_token_model(cfg));
	/* a masked-LM checkpoint (BertForMaskedLM, or tl-train --objective mlm) */
	m->cfg.mlm = find(&sh, "cls.predictions.transform.dense.weight", &f) != NULL;
	tl_bert_params_layout(&m->cfg, m->has_pooler, m->param_sizes);
	if (load_weights(m, &sh, NULL, err, errsz) < 0) /* every shape, before allocating */
		goto bad;
	m->nparams = 0;
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		m->nparams += m->param_sizes[i];
	if (m->quantized) {
		size_t C = (size_t)m->cfg.C, I = (size_t)m->cfg.I, L = (size_t)m->cfg.L;
		size_t oc[4] = {3 * C, C, I, C}, ic[4] = {C, C, C, I};
		for (int j = 0; j < 4; j++) {
			m->q8[j] = tl_xmalloc(L * oc[j] * ic[j]);
			m->q8s[j] = tl_xmalloc(L * oc[j] * sizeof(float));
		}
		m->precision = TL_PREC_INT8;
	}
	m->arena = m->k->alloc(m->nparams * sizeof(float));
	host = m->k->host_memory ? m->arena : tl_xmalloc(m->nparams * sizeof(float));
	if (load_weights(m, &sh, host, err, errsz) < 0)
		goto bad;
	if (!m->k->host_memory)
		m->k->to_device(m->arena, host, m->nparams * sizeof(float));
	tl_bert_params_point(&m->params, m->arena, m->param_sizes);
	if (!m->k->host_memory)
		free(host);
	shards_close(&sh);
	return m;
bad:
	if (host && m->k && !m->k->host_memory)
		free(host);
	shards_close(&sh);
	tl_bert_free(m);
	return NULL;
}

tl_bert *tl_bert_load(const char *dir, const tl_kernels *k, char *err, size_t errsz)
{
	json_t *cfg = tl_model_read_config(dir, err, errsz);
	if (!cfg)
		return NULL;
	tl_bert *m = load(dir, cfg, k, 0, err, errsz);
	json_decref(cfg);
	return m;
}

/* ---------------- students: a subset of the layers ---------------- */

int tl_bert_keep_layers(tl_bert *m, const int *layers, int n, char *err, size_t errsz)
{
	const tl_bert_config *c = &m->cfg;
	if (n < 1 || n > c->L)
		return tl_errf(err, errsz, "%d layers asked of a %d-layer encoder (1..%d)", n, c->L, c->L);
	for (int i = 0; i < n; i++) {
		if (layers[i] < 0 || layers[i] >= c->L)
			return tl_errf(err, errsz, "layer %d does not exist (the encoder has layers 0..%d)", layers[i],
				       c->L - 1);
		if (i && layers[i] <= layers[i - 1])
			return tl_errf(err, errsz, "layers must be listed in increasing order without repeats (%d after %d)",
				       layers[i], layers[i - 1]);
	}
	tl_bert_unprepare(m);
	const tl_kernels *k = m->k;
	tl_bert_config nc = *c;
	nc.L = n;
	size_t ns[TL_BERT_NPARAMS], total = 0;
	tl_bert_params_layout(&nc, m->has_pooler, ns);
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		total += ns[i];
	float *old = k->host_memory ? m->arena : tl_xmalloc(m->nparams * sizeof(float));
	if (!k->host_memory)
		k->to_host(old, m->arena, m->nparams * sizeof(float));
	float *host = tl_xmalloc(total * sizeof(float));
	const float *src = old;
	float *dst = host;
	for (int i = 0; i < TL_BERT_NPARAMS; i++) {
		if (i >= 5 && i <= 16) { /* [L, ...] stacked per layer: copy the kept slices */
			size_t per = m->param_sizes[i] / (size_t)c->L;
			for (int j = 0; j < n; j++)
				memcpy(dst + (size_t)j * per, src + (size_t)layers[j] * per, per * sizeof(float));
		} else
			memcpy(dst, src, ns[i] * sizeof(float));
		src += m->param_sizes[i];
		dst += ns[i];
	}
	if (!k->host_memory)
		free(old);
	float *arena = k->alloc(total * sizeof(float));
	k->to_device(arena, host, total * sizeof(float));
	free(host);
	k->free(m->arena);
	m->arena = arena;
	m->nparams = total;
	m->cfg = nc;
	memcpy(m->param_sizes, ns, sizeof ns);
	tl_bert_params_point(&m->params, m->arena, m->param_sizes);
	return 0;
}

/* The four layer matrices as (weight, IC, OC) for layer l. */
static void layer_mats(const tl_bert *m, int l, float *w[4], int ic[4], int oc[4])
{
	const tl_bert_params *p = &m->params;
	size_t C = (size_t)m->cfg.C, I = (size_t)m->cfg.I, Cl = (size_t)tl_bert_layer_width(m, l);
	w[0] = p->qkvw + l * 3 * C * C, ic[0] = (int)C, oc[0] = (int)(3 * Cl);
	w[1] = p->attprojw + l * C * C, ic[1] = (int)Cl, oc[1] = (int)C;
	w[2] = p->fcw + l * I * C, ic[2] = (int)C, oc[2] = (int)I;
	w[3] = p->fcprojw + l * C * I, ic[3] = (int)I, oc[3] = (int)C;
}

/* Prepare (on) or restore (off) every layer's four matrices: in place at
 * fp32, as copies (m->lp) at a lower precision. */
static void set_prepared(tl_bert *m, int on)
{
	if (m->prepared == on)
		return;
	/* the full-size slot of matrix j of a layer: oc (rows) x ic; a
	 * pruned layer's matrices are compacted at its start */
	int slot[4] = {3 * m->cfg.C, m->cfg.C, m->cfg.I, m->cfg.C};
	int ic_full[4] = {m->cfg.C, m->cfg.C, m->cfg.C, m->cfg.I};
	if (m->precision != TL_PREC_FP32) {
		for (int l = 0; l < m->cfg.L; l++) {
			float *w[4];
			int ic[4], oc[4];
			layer_mats(m, l, w, ic, oc);
			for (int j = 0; j < 4; j++)
				if (on) {
					if (!m->lp)
						m->lp = tl_xcalloc((size_t)4 * m->cfg.L, sizeof *m->lp);
					m->lp[4 * l + j] =
						m->quantized && m->precision == TL_PREC_INT8 && m->k->matmul_prepare_q8
							? m->k->matmul_prepare_q8(m->q8[j] + (size_t)l * slot[j] * ic_full[j],
										 m->q8s[j] + (size_t)l * slot[j], ic[j], oc[j])
							: m->k->matmul_prepare_prec(w[j], ic[j], oc[j], m->precision);
				} else if (m->lp) {
					m->k->matmul_free_prec(m->lp[4 * l + j]);
				}
		}
		if (!on) {
			free(m->lp);
			m->lp = NULL;
		}
		m->prepared = on;
		return;
	}
	for (int l = 0; l < m->cfg.L; l++) {
		float *w[4];
		int ic[4], oc[4];
		layer_mats(m, l, w, ic, oc);
		/* the tag depends on the shape: one per layer when they differ */
		int *tag = m->prep_l ? m->prep_l + 4 * l : m->prep;
		for (int j = 0; j < 4; j++)
			if (on)
				tag[j] = m->k->matmul_prepare ? m->k->matmul_prepare(w[j], ic[j], oc[j]) : 0;
			else if (tag[j])
				m->k->matmul_unprepare(w[j], ic[j], oc[j], tag[j]);
	}
	if (!on) {
		memset(m->prep, 0, sizeof m->prep);
		if (m->prep_l)
			memset(m->prep_l, 0, (size_t)4 * m->cfg.L * sizeof *m->prep_l);
	}
	m->prepared = on;
}

static void drop_q8(tl_bert *m)
{
	for (int j = 0; j < 4; j++) {
		free(m->q8[j]);
		free(m->q8s[j]);
		m->q8[j] = NULL;
		m->q8s[j] = NULL;
	}
	m->quantized = 0;
}

void tl_bert_unprepare(tl_bert *m)
{
	set_prepared(m, 0);
	drop_q8(m); /* the weights may change: int8 quantizes them again */
}

int tl_bert_set_precision(tl_bert *m, int prec, char *err, size_t errsz)
{
	if (prec != TL_PREC_FP32 && prec != TL_PREC_BF16 && prec != TL_PREC_INT8)
		return tl_errf(err, errsz, "unknown precision %d", prec);
	if (prec != TL_PREC_FP32 && !m->k->matmul_prepare_prec)
		return tl_errf(err, errsz, "backend %s has no %s products", m->k->name, tl_precision_name(prec));
	if (prec == m->precision)
		return 0;
	set_prepared(m, 0);
	m->precision = prec;
	return 0;
}

/* out = act(inp W^T + bias) with matrix j of layer l at the model's
 * precision */
static void layer_mm(tl_bert *m, int l, int j, float *out, const float *inp, const float *bias, int N, int act)
{
	float *w[4];
	int ic[4], oc[4];
	layer_mats(m, l, w, ic, oc);
	if (m->precision != TL_PREC_FP32)
		m->k->matmul_forward_prec(out, inp, m->lp[4 * l + j], bias, N, ic[j], oc[j], act);
	else
		m->k->matmul_forward_prepared(out, inp, w[j], m->prep_l ? m->prep_l[4 * l + j] : m->prep[j], bias, N,
					      ic[j], oc[j], act);
}

/* layer_mm at bf16 with bf16 rows in and/or out (kernels.h
 * matmul_forward_bf16io, io: enum tl_bf16io) */
static void layer_mm_bf16io(tl_bert *m, int l, int j, void *out, const void *inp, const float *bias, int N, int act,
			    int io)
{
	float *w[4];
	int ic[4], oc[4];
	layer_mats(m, l, w, ic, oc);
	m->k->matmul_forward_bf16io(out, inp, m->lp[4 * l + j], bias, N, ic[j], oc[j], act, io);
}

void tl_bert_free_acts(tl_bert *m)
{
	if (m->acts_arena)
		m->k->free(m->acts_arena);
	if (m->ids)
		m->k->free(m->ids);
	m->acts_arena = NULL;
	m->acts_cap = 0;
	m->ids = m->type_ids = m->lens = NULL;
	m->in_cap = 0;
	m->out = NULL;
}

void tl_bert_free(tl_bert *m)
{
	if (!m)
		return;
	if (m->k) {
		if (m->lp)
			for (int i = 0; i < 4 * m->cfg.L; i++)
				m->k->matmul_free_prec(m->lp[i]);
		free(m->lp);
		if (m->arena)
			m->k->free(m->arena);
		tl_bert_free_acts(m);
	}
	drop_q8(m);
	free(m->heads);
	free(m->prep_l);
	free(m->dir);
	free(m);
}

int tl_bert_check_seq(const tl_bert *m, const int32_t *ids, const int32_t *type_ids, int len, char *err,
		      size_t errsz)
{
	const tl_bert_config *c = &m->cfg;
	if (len < 1)
		return tl_errf(err, errsz, "empty ids");
	if (len > c->max_pos)
		return tl_errf(err, errsz, "%d tokens, more than the model's max_position_embeddings (%d): tokenize with a max length of at most %d",
			    len, c->max_pos, c->max_pos);
	for (int i = 0; i < len; i++) {
		if (ids[i] < 0 || ids[i] >= c->vocab_size)
			return tl_errf(err, errsz, "ids[%d] = %d outside the vocabulary (0..%d)", i, ids[i], c->vocab_size - 1);
		if (type_ids && (type_ids[i] < 0 || type_ids[i] >= c->type_vocab))
			return tl_errf(err, errsz, "type_ids[%d] = %d outside 0..%d", i, type_ids[i], c->type_vocab - 1);
	}
	return 0;
}

/* ---------------- forward ---------------- */

static void acts_alloc(tl_bert *m, int B, int T)
{
	const tl_bert_config *c = &m->cfg;
	size_t BT = (size_t)B * T, C = (size_t)c->C, I = (size_t)c->I;
	size_t NL = (size_t)(c->nlabels ? c->nlabels : 1);
	size_t sizes[] = {
		BT * C, BT * C, BT * 3 * C, BT * C, BT * C, BT * C, /* emb, x, qkv, atty, proj, ln1 */
		BT * I, (size_t)B * C,                           /* fch, first */
		(size_t)B * C, (size_t)B * NL, (size_t)B * C,    /* pooled, logits, pool */
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		n += (sizes[i] + 15) & ~(size_t)15;
	if (n > m->acts_cap) {
		if (m->acts_arena)
			m->k->free(m->acts_arena);
		m->acts_arena = m->k->alloc(n * sizeof(float));
		m->acts_cap = n;
	}
	float **ptrs[] = {&m->acts.emb,  &m->acts.x,      &m->acts.qkv,    &m->acts.atty, &m->acts.proj,
			  &m->acts.ln1,  &m->acts.fch,    &m->acts.first,  &m->acts.pooled, &m->acts.logits, &m->acts.pool};
	float *a = m->acts_arena;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		*ptrs[i] = a;
		a += (sizes[i] + 15) & ~(size_t)15;
	}
	if (BT > m->in_cap) {
		if (m->ids)
			m->k->free(m->ids);
		m->ids = m->k->alloc((2 * BT + (size_t)B + 32) * sizeof(int32_t));
		m->in_cap = BT;
	}
	m->type_ids = m->ids + BT;
	m->lens = m->ids + 2 * BT;
}

/* The inference forward. The embeddings are gathered in the padded [B,T]
 * layout, then packed: every layer runs on the real tokens only, so padding
 * costs nothing in the matrix products, and the biases of the products
 * that feed GELU or a residual LayerNorm are added inside those kernels.
 * m->out is unpacked back to [B,T,C] (padding rows zero). With first_only
 * (the pooler, the classifier and [CLS] pooling read nothing else) the last
 * layer computes keys and values for every token but the rest for the
 * first token only, and m->out is [B,1,C]. */
static void forward(tl_bert *m, const int32_t *ids, const int32_t *type_ids, const int32_t *lens, int B, int T,
		    int upto, int first_only)
{
	const tl_kernels *k = m->k;
	const tl_bert_config *c = &m->cfg;
	const tl_bert_params *p = &m->params;
	tl_bert_acts *a = &m->acts;
	int C = c->C, I = c->I;
	size_t BT = (size_t)B * T;
	if (upto < 0 || upto > c->L)
		upto = c->L;
	if (upto == 0)
		first_only = 0;
	set_prepared(m, 1);
	acts_alloc(m, B, T);
	m->B = B;
	m->T = T;
	k->to_device(m->ids, ids, BT * sizeof(int32_t));
	if (type_ids)
		k->to_device(m->type_ids, type_ids, BT * sizeof(int32_t));
	k->to_device(m->lens, lens, (size_t)B * sizeof(int32_t));

	size_t real = 0;
	for (int b = 0; b < B; b++)
		real += (size_t)(lens[b] < 0 ? 0 : lens[b] > T ? T : lens[b]);
	int N = (int)real;
	k->embedding_forward(a->emb, m->ids, type_ids ? m->type_ids : NULL, p->wte, p->wpe, p->wtt, B, T, C);
	k->pack_rows(a->x, a->emb, m->lens, B, T, C, TL_ROWS_PACK);
	/* bf16: the LayerNorms also write their output as bf16 rows (into
	 * buffers free at that point: xb in fch, the next QKV product's input;
	 * lb in qkv, the first feed-forward product's), the first feed-forward
	 * product writes bf16 rows for the second; the same bits as
	 * matmul_forward_prec's own rounding of the fp32 rows. */
	int bfio = m->precision == TL_PREC_BF16 && k->matmul_forward_bf16io && k->add_layernorm_forward_bf16;
	void *xb = a->fch, *lb = a->qkv;
	if (bfio)
		k->add_layernorm_forward_bf16(a->x, xb, a->x, NULL, NULL, p->emb_lnw, p->emb_lnb, N, C, c->eps);
	else
		k->layernorm_forward(a->x, NULL, NULL, a->x, p->emb_lnw, p->emb_lnb, N, C, c->eps);
	for (int l = 0; l < upto; l++) {
		size_t lC = (size_t)l * C, lI = (size_t)l * I;
		int last1 = first_only && l == upto - 1, R = last1 ? B : N;
		float *x = a->x;
		/* a pruned layer: NH_l heads, attention width NH_l x head size */
		/* bf16: q, k, v and the attention's output as bf16 rows between
		 * the products and the attention */
		int attb = m->precision == TL_PREC_BF16 && k->attention_forward_packed_bf16, aob = attb && bfio;
		if (bfio)
			layer_mm_bf16io(m, l, 0, a->qkv, xb, p->qkvb + lC * 3, N, TL_ACT_NONE,
					TL_IO_IN_BF16 | (aob ? TL_IO_OUT_BF16 : 0));
		else
			layer_mm(m, l, 0, a->qkv, a->x, p->qkvb + lC * 3, N, TL_ACT_NONE);
		if (attb)
			k->attention_forward_packed_bf16(a->atty, a->qkv, m->lens, B, tl_bert_layer_width(m, l),
							 tl_bert_layer_heads(m, l),
							 (last1 ? TL_ATT_FIRST_ONLY : 0) |
								 (aob ? TL_ATT_OUT_BF16 | TL_ATT_IN_BF16 : 0));
		else
			k->attention_forward_packed(a->atty, a->qkv, m->lens, B, tl_bert_layer_width(m, l),
						    tl_bert_layer_heads(m, l), last1);
		if (last1) {
			k->pack_rows(a->first, a->x, m->lens, B, T, C, TL_ROWS_FIRST);
			x = a->first;
		}
		if (bfio) {
			/* the two residual sums in the products' epilogues (TL_IO_OUT_ACC:
			 * x += proj + b, then ln1 += fc2 + b; the residual is dead after
			 * its LayerNorm), so each LayerNorm reads one array of rows, not
			 * two: the same bits as add_layernorm_forward's sums */
			layer_mm_bf16io(m, l, 1, x, a->atty, p->attprojb + lC, R, TL_ACT_NONE,
					(aob ? TL_IO_IN_BF16 : 0) | TL_IO_OUT_ACC);
			k->add_layernorm_forward_bf16(a->ln1, lb, x, NULL, NULL, p->ln1w + lC, p->ln1b + lC, R, C, c->eps);
			layer_mm_bf16io(m, l, 2, a->fch, lb, p->fcb + lI, R, TL_ACT_GELU, TL_IO_IN_BF16 | TL_IO_OUT_BF16);
			layer_mm_bf16io(m, l, 3, a->ln1, a->fch, p->fcprojb + lC, R, TL_ACT_NONE,
					TL_IO_IN_BF16 | TL_IO_OUT_ACC);
			k->add_layernorm_forward_bf16(x, xb, a->ln1, NULL, NULL, p->ln2w + lC, p->ln2b + lC, R, C, c->eps);
			continue;
		}
		layer_mm(m, l, 1, a->proj, a->atty, NULL, R, TL_ACT_NONE);
		k->add_layernorm_forward(a->ln1, x, a->proj, p->attprojb + lC, p->ln1w + lC, p->ln1b + lC, R, C,
					 c->eps);
		layer_mm(m, l, 2, a->fch, a->ln1, p->fcb + lI, R, TL_ACT_GELU);
		layer_mm(m, l, 3, a->proj, a->fch, NULL, R, TL_ACT_NONE);
		k->add_layernorm_forward(x, a->ln1, a->proj, p->fcprojb + lC, p->ln2w + lC, p->ln2b + lC, R, C,
					 c->eps);
	}
	if (first_only) {
		m->out = a->first;
		m->out_T = 1;
	} else {
		k->pack_rows(a->emb, a->x, m->lens, B, T, C, TL_ROWS_UNPACK);
		m->out = a->emb;
		m->out_T = T;
	}
}

void tl_bert_forward(tl_bert *m, const int32_t *ids, const int32_t *type_ids, const int32_t *lens, int B, int T,
		     int upto)
{
	forward(m, ids, type_ids, lens, B, T, upto, 0);
}

const float *tl_bert_pooler(tl_bert *m)
{
	if (!m->has_pooler)
		return NULL;
	m->k->pooler_forward(m->acts.pooled, m->out, m->params.poolw, m->params.poolb, m->B, m->out_T, m->cfg.C,
			     m->cfg.C);
	return m->acts.pooled;
}

const float *tl_bert_classify(tl_bert *m)
{
	if (!m->cfg.nlabels || !tl_bert_pooler(m))
		return NULL;
	m->k->matmul_forward(m->acts.logits, m->acts.pooled, m->params.clsw, m->params.clsb, m->B, m->cfg.C,
			     m->cfg.nlabels);
	return m->acts.logits;
}

/* ---------------- bucketed encoding ---------------- */

int tl_bert_encode_width(const tl_bert *m, const tl_bert_encode_opts *o)
{
	return o->what == TL_BERT_LOGITS ? m->cfg.nlabels : m->cfg.C;
}

/* qsort_r order of sequence indices: by length, then index (ctx: the seqs). */
static int cmp_len(const void *a, const void *b, void *ctx)
{
	const tl_bert_seq *seqs = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int li = seqs[i].len, lj = seqs[j].len;
	if (li != lj)
		return li < lj ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Host buffers of one batch. */
typedef struct {
	int32_t *ids, *types, *lens;
	float *res;
} batch_bufs;

/* Encode the B sequences order[s..s+B) (sorted by length) with model or
 * workspace w; results go to their rows of out. */
static void encode_batch(tl_bert *w, const tl_bert_seq *seqs, const size_t *order, size_t s, int B,
			 const tl_bert_encode_opts *o, int width, batch_bufs *h, float *out)
{
	int T = seqs[order[s + (size_t)B - 1]].len;
	int any_types = 0;
	for (int b = 0; b < B; b++) {
		const tl_bert_seq *q = &seqs[order[s + (size_t)b]];
		h->lens[b] = q->len;
		for (int t = 0; t < T; t++) {
			h->ids[(size_t)b * T + t] = t < q->len ? q->ids[t] : w->cfg.pad_id;
			h->types[(size_t)b * T + t] = t < q->len && q->type_ids ? q->type_ids[t] : 0;
		}
		any_types |= q->type_ids != NULL;
	}
	const float *r;
	if (o->what == TL_BERT_POOL) {
		forward(w, h->ids, any_types ? h->types : NULL, h->lens, B, T, o->layer, o->pool == TL_POOL_CLS);
		w->k->pool_forward(w->acts.pool, w->out, w->lens, B, w->out_T, w->cfg.C, o->pool);
		if (o->normalize)
			w->k->l2norm_forward(w->acts.pool, B, w->cfg.C);
		r = w->acts.pool;
	} else {
		forward(w, h->ids, any_types ? h->types : NULL, h->lens, B, T, -1, 1);
		r = o->what == TL_BERT_POOLER ? tl_bert_pooler(w) : tl_bert_classify(w);
	}
	w->k->to_host(h->res, r, (size_t)B * width * sizeof(float));
	for (int b = 0; b < B; b++)
		memcpy(out + order[s + (size_t)b] * (size_t)width, h->res + (size_t)b * width,
		       (size_t)width * sizeof(float));
}

void tl_bert_encode(tl_bert *m, const tl_bert_seq *seqs, size_t n, const tl_bert_encode_opts *o, float *out)
{
	if (n == 0)
		return;
	int bs = o->batch_size > 0 ? o->batch_size : 32;
	int width = tl_bert_encode_width(m, o);
	size_t *order = tl_xmalloc(n * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_len, (void *)seqs);
	int maxT = seqs[order[n - 1]].len;
	size_t nb = (n + (size_t)bs - 1) / (size_t)bs;
	/* Batch-parallel on the CPU when there are batches enough: each thread
	 * runs whole batches with single-threaded kernels in a workspace of its
	 * own (the weights are shared), which scales better on short inputs
	 * than splitting every small product. Each batch's result does not
	 * depend on which thread computed it. */
	int nt = m->k->host_memory && !omp_in_parallel() ? omp_get_max_threads() : 1;
	set_prepared(m, 1); /* before the workspaces below copy m (they share the weights) */
	size_t tokens = 0;
	for (size_t i = 0; i < n; i++)
		tokens += (size_t)seqs[i].len;
	/* long inputs make products big enough to split well, and few batches
	 * balance badly: then every kernel is split instead */
	if (nt > 1 && (nb < 4 * (size_t)nt || tokens / nb > 2048))
		nt = 1;
	batch_bufs *h = tl_xcalloc((size_t)nt, sizeof *h);
	for (int t = 0; t < nt; t++) {
		h[t].ids = tl_xmalloc((size_t)bs * maxT * sizeof(int32_t));
		h[t].types = tl_xmalloc((size_t)bs * maxT * sizeof(int32_t));
		h[t].lens = tl_xmalloc((size_t)bs * sizeof(int32_t));
		h[t].res = tl_xmalloc((size_t)bs * width * sizeof(float));
	}
	if (nt == 1) {
		/* longest first: the workspace is sized once, by the first batch */
		for (size_t i = 0; i < nb; i++) {
			size_t s = (nb - 1 - i) * (size_t)bs;
			encode_batch(m, seqs, order, s, (int)(n - s < (size_t)bs ? n - s : (size_t)bs), o, width, &h[0],
				     out);
		}
	} else {
		tl_bert *ws = tl_xcalloc((size_t)nt, sizeof *ws);
#pragma omp parallel num_threads(nt)
		{
			int t = omp_get_thread_num();
			tl_bert *w = &ws[t];
			*w = *m; /* shares the weights; activations and inputs of its own */
			w->acts_arena = NULL;
			w->acts_cap = 0;
			w->ids = NULL;
			w->in_cap = 0;
#pragma omp for schedule(dynamic, 1)
			for (size_t i = 0; i < nb; i++) {
				size_t s = (nb - 1 - i) * (size_t)bs; /* longest first */
				encode_batch(w, seqs, order, s, (int)(n - s < (size_t)bs ? n - s : (size_t)bs), o, width,
					     &h[t], out);
			}
			tl_bert_free_acts(w);
		}
		free(ws);
	}
	for (int t = 0; t < nt; t++) {
		free(h[t].ids);
		free(h[t].types);
		free(h[t].lens);
		free(h[t].res);
	}
	free(h);
	free(order);
}

/* ---------------- classifier backend ---------------- */

typedef struct {
	tl_bert *m;
	tl_bert_seq *seqs;
	int32_t *buf;
	size_t cap, bufcap;
	float *tok;      /* token head: logits of a batch [B*T, NL], backend memory */
	size_t tokcap;
	tl_bert_head *heads; /* multi-task: the heads list (names owned), NULL otherwise */
	int nheads;
} bert_cls;

/* Decode the ids (and type_ids) of n records into b->seqs. */
static int decode(tl_classifier *c, const tl_record *recs, size_t n, tl_classifier_err *e)
{
	bert_cls *b = c->impl;
	if (n > b->cap) {
		b->seqs = tl_xrealloc(b->seqs, n * sizeof *b->seqs);
		b->cap = n;
	}
	/* decode every record's ids (and type_ids) into one buffer */
	size_t used = 0;
	int32_t *tmp = NULL;
	size_t tmpcap = 0;
	size_t *offs = tl_xmalloc(2 * n * sizeof *offs);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		long len = tl_rec_i32s(&recs[i], "ids", &tmp, &tmpcap);
		if (len < 0) {
			e->code = TL_EXIT_DATA;
			e->index = i;
			snprintf(e->msg, sizeof e->msg, len == -1 ? "no \"ids\" (tokenize first: tl-tokenize)"
								   : "\"ids\" is not a bin of int32 or an array of integers");
			rc = -1;
			break;
		}
		if (used + 2 * (size_t)len + 2 > b->bufcap) {
			b->bufcap = 2 * (used + 2 * (size_t)len + 2);
			b->buf = tl_xrealloc(b->buf, b->bufcap * sizeof *b->buf);
		}
		offs[2 * i] = used;
		memcpy(b->buf + used, tmp, (size_t)len * sizeof *tmp);
		used += (size_t)len;
		b->seqs[i].len = (int)len;
		offs[2 * i + 1] = (size_t)-1;
		long tl = tl_rec_i32s(&recs[i], "type_ids", &tmp, &tmpcap);
		if (tl == -2 || (tl >= 0 && tl != len)) {
			e->code = TL_EXIT_DATA;
			e->index = i;
			snprintf(e->msg, sizeof e->msg, "\"type_ids\" is malformed or not as long as \"ids\"");
			rc = -1;
			break;
		}
		if (tl >= 0) {
			offs[2 * i + 1] = used;
			memcpy(b->buf + used, tmp, (size_t)len * sizeof *tmp);
			used += (size_t)len;
		}
	}
	free(tmp);
	for (size_t i = 0; i < n && !rc; i++) {
		b->seqs[i].ids = b->buf + offs[2 * i];
		b->seqs[i].type_ids = offs[2 * i + 1] == (size_t)-1 ? NULL : b->buf + offs[2 * i + 1];
		if (tl_bert_check_seq(b->m, b->seqs[i].ids, b->seqs[i].type_ids, b->seqs[i].len, e->msg,
				      sizeof e->msg) < 0) {
			e->code = TL_EXIT_DATA;
			e->index = i;
			rc = -1;
		}
	}
	free(offs);
	return rc;
}

static int bert_predict(tl_classifier *c, const tl_record *recs, size_t n, float *logits, tl_classifier_err *e)
{
	bert_cls *b = c->impl;
	if (decode(c, recs, n, e) < 0)
		return -1;
	tl_bert_encode_opts o = {.what = TL_BERT_LOGITS, .batch_size = (int)c->batch_size};
	tl_bert_encode(b->m, b->seqs, n, &o, logits);
	return 0;
}

/* Token classification (BertForTokenClassification): logits of every id,
 * classifier(h) over the last hidden state of each position; batches of
 * length-sorted records, the results in record order. */
static int bert_predict_tokens(tl_classifier *c, const tl_record *recs, size_t n, float **logits, size_t *cap,
			       size_t *off, tl_classifier_err *e)
{
	bert_cls *b = c->impl;
	if (decode(c, recs, n, e) < 0)
		return -1;
	tl_bert *m = b->m;
	int K = m->cfg.nlabels, C = m->cfg.C;
	off[0] = 0;
	for (size_t i = 0; i < n; i++)
		off[i + 1] = off[i] + (size_t)b->seqs[i].len;
	if (off[n] * (size_t)K > *cap) {
		*cap = off[n] * (size_t)K;
		*logits = tl_xrealloc(*logits, *cap * sizeof **logits);
	}
	size_t *order = tl_xmalloc((n + 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_len, (void *)b->seqs);
	int bs = c->batch_size > 0 ? (int)c->batch_size : 32;
	int maxT = b->seqs[order[n - 1]].len;
	int32_t *ids = tl_xmalloc((size_t)bs * maxT * sizeof *ids), *types = tl_xmalloc((size_t)bs * maxT * sizeof *types);
	int32_t *lens = tl_xmalloc((size_t)bs * sizeof *lens);
	float *host = tl_xmalloc((size_t)bs * maxT * K * sizeof *host);
	for (size_t s = 0; s < n; s += (size_t)bs) {
		int B = (int)(n - s < (size_t)bs ? n - s : (size_t)bs), T = b->seqs[order[s + (size_t)B - 1]].len, any = 0;
		for (int i = 0; i < B; i++) {
			const tl_bert_seq *q = &b->seqs[order[s + (size_t)i]];
			lens[i] = q->len;
			for (int t = 0; t < T; t++) {
				ids[(size_t)i * T + t] = t < q->len ? q->ids[t] : m->cfg.pad_id;
				types[(size_t)i * T + t] = t < q->len && q->type_ids ? q->type_ids[t] : 0;
			}
			any |= q->type_ids != NULL;
		}
		forward(m, ids, any ? types : NULL, lens, B, T, -1, 0);
		size_t rows = (size_t)B * T;
		if (rows * K > b->tokcap) {
			if (b->tok)
				m->k->free(b->tok);
			b->tokcap = rows * K;
			b->tok = m->k->alloc(b->tokcap * sizeof(float));
		}
		m->k->matmul_forward(b->tok, m->out, m->params.clsw, m->params.clsb, (int)rows, C, K);
		m->k->to_host(host, b->tok, rows * K * sizeof(float));
		for (int i = 0; i < B; i++) {
			size_t r = order[s + (size_t)i];
			memcpy(*logits + off[r] * K, host + (size_t)i * T * K, (size_t)lens[i] * K * sizeof(float));
		}
	}
	free(ids);
	free(types);
	free(lens);
	free(host);
	free(order);
	return 0;
}

static void bert_free(tl_classifier *c)
{
	bert_cls *b = c->impl;
	if (!b)
		return;
	if (b->tok)
		b->m->k->free(b->tok);
	for (int i = 0; i < b->nheads; i++)
		free(b->heads[i].name);
	free(b->heads);
	tl_bert_free(b->m);
	free(b->seqs);
	free(b->buf);
	free(b);
}

static const tl_classifier_ops bert_ops = {bert_predict, bert_free};

/* ---------------- multi-task heads (tl/bert.h) ---------------- */

static int heads_fail(tl_classifier_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->code = TL_EXIT_MODEL;
	e->index = (size_t)-1;
	return -1;
}

/* A multi-task directory (tl.json "tasks" with two or more heads): the
 * heads after the first (tl.heads.<task>.weight/.bias) are read and
 * stacked under the HF classifier's rows, so one forward gives every
 * head's logits; c->labels become the stacked labels. Other directories:
 * nothing changes. */
static int load_heads(tl_classifier *c, bert_cls *b, const char *dir, tl_classifier_err *e)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/tl.json", dir);
	json_error_t je;
	json_t *tj = json_load_file(tl_buf_cstr(&p), 0, &je);
	tl_buf_free(&p);
	json_t *ta = tj ? json_object_get(tj, "tasks") : NULL;
	if (!json_is_array(ta) || json_array_size(ta) < 2) {
		json_decref(tj);
		return 0;
	}
	tl_bert *m = b->m;
	const tl_kernels *k = m->k;
	int n = (int)json_array_size(ta), C = m->cfg.C, rc = -1, K = 0;
	tl_st_file F;
	int fopen_ = 0;
	float *host = NULL;
	char **labels = NULL;
	b->heads = tl_xcalloc((size_t)n, sizeof *b->heads);
	for (int h = 0; h < n; h++) {
		json_t *t = json_array_get(ta, (size_t)h), *nm = json_object_get(t, "name"), *lb = json_object_get(t, "labels");
		if (!json_is_string(nm) || !json_is_array(lb) || json_array_size(lb) == 0) {
			heads_fail(e, "%s/tl.json: tasks[%d] has no name or labels", dir, h);
			goto out;
		}
		b->heads[h].name = tl_xstrdup(json_string_value(nm));
		b->nheads = h + 1;
		b->heads[h].k0 = K;
		b->heads[h].k = (int)json_array_size(lb);
		b->heads[h].multi_label = json_is_true(json_object_get(t, "multi_label"));
		K += b->heads[h].k;
	}
	if (b->heads[0].k != c->nlabels || b->heads[0].k != m->cfg.nlabels) {
		heads_fail(e, "%s: tl.json's first task '%s' has %d labels, config.json's classifier %d", dir, b->heads[0].name,
			   b->heads[0].k, m->cfg.nlabels);
		goto out;
	}
	labels = tl_xcalloc((size_t)K, sizeof *labels);
	for (int h = 0, j = 0; h < n; h++) {
		json_t *lb = json_object_get(json_array_get(ta, (size_t)h), "labels");
		for (int i = 0; i < b->heads[h].k; i++, j++) {
			json_t *v = json_array_get(lb, (size_t)i);
			if (!json_is_string(v)) {
				heads_fail(e, "%s/tl.json: task '%s': label %d is not a string", dir, b->heads[h].name, i);
				goto out;
			}
			labels[j] = tl_xstrdup(json_string_value(v));
		}
		if (!h)
			for (int i = 0; i < b->heads[0].k; i++)
				if (strcmp(labels[i], c->labels[i])) {
					heads_fail(e, "%s: tl.json's first task's label %d '%s' is not config.json's '%s'", dir, i,
						   labels[i], c->labels[i]);
					goto out;
				}
	}
	/* the stacked arena: everything before the classifier, then its rows */
	tl_bert_config cfg = m->cfg;
	cfg.nlabels = K;
	size_t sizes[TL_BERT_NPARAMS], total = 0, keep = 0;
	tl_bert_params_layout(&cfg, m->has_pooler, sizes);
	for (int i = 0; i < TL_BERT_NPARAMS; i++)
		total += sizes[i];
	for (int i = 0; i < 19; i++)
		keep += sizes[i];
	host = tl_xmalloc((size_t)K * (C + 1) * sizeof *host);
	float *hw = host, *hb = host + (size_t)K * C;
	k->to_host(hw, m->params.clsw, (size_t)b->heads[0].k * C * sizeof(float));
	k->to_host(hb, m->params.clsb, (size_t)b->heads[0].k * sizeof(float));
	tl_buf_printf(&p, "%s/model.safetensors", dir);
	char err[400];
	if (tl_st_open(&F, tl_buf_cstr(&p), err, sizeof err) < 0) {
		heads_fail(e, "%s", err);
		goto out;
	}
	fopen_ = 1;
	for (int h = 1; h < n; h++) {
		for (int wb = 0; wb < 2; wb++) {
			json_t *t = json_array_get(ta, (size_t)h), *tn = json_object_get(t, wb ? "bias" : "weight");
			char name[160];
			if (json_is_string(tn))
				snprintf(name, sizeof name, "%s", json_string_value(tn));
			else
				snprintf(name, sizeof name, "tl.heads.%s.%s", b->heads[h].name, wb ? "bias" : "weight");
			const tl_st_tensor *st = tl_st_find(&F, name);
			size_t want = (size_t)b->heads[h].k * (wb ? 1 : (size_t)C);
			if (!st || st->numel != want) {
				heads_fail(e, "%s: task '%s': %s %s (want %d x %d)", tl_buf_cstr(&p), b->heads[h].name, name,
					   st ? "has the wrong shape" : "is missing", b->heads[h].k, wb ? 1 : C);
				goto out;
			}
			float *dst = wb ? hb + b->heads[h].k0 : hw + (size_t)b->heads[h].k0 * C;
			if (tl_st_read_f32(&F, st, dst, err, sizeof err) < 0) {
				heads_fail(e, "%s: %s", tl_buf_cstr(&p), err);
				goto out;
			}
		}
	}
	float *arena = k->alloc(total * sizeof(float));
	k->copy(arena, m->arena, keep * sizeof(float));
	k->to_device(arena + keep, hw, (size_t)K * C * sizeof(float));
	k->to_device(arena + keep + sizes[19], hb, (size_t)K * sizeof(float));
	{ /* the optional slots after the classifier (MLM head, discriminator) */
		size_t tail = 0, oldoff = m->nparams;
		for (int i = 21; i < TL_BERT_NPARAMS; i++)
			tail += sizes[i];
		oldoff -= tail;
		if (tail)
			k->copy(arena + keep + sizes[19] + sizes[20], m->arena + oldoff, tail * sizeof(float));
	}
	k->free(m->arena);
	m->arena = arena;
	m->cfg = cfg;
	memcpy(m->param_sizes, sizes, sizeof sizes);
	m->nparams = total;
	tl_bert_params_point(&m->params, m->arena, m->param_sizes);
	for (int i = 0; i < c->nlabels; i++)
		free(c->labels[i]);
	free(c->labels);
	c->labels = labels;
	c->nlabels = K;
	labels = NULL;
	rc = 0;
out:
	if (labels) {
		for (int i = 0; i < K; i++)
			free(labels[i]);
		free(labels);
	}
	if (fopen_)
		tl_st_close(&F);
	tl_buf_free(&p);
	free(host);
	json_decref(tj);
	return rc;
}

const tl_bert_head *tl_bert_classifier_heads(const tl_classifier *c, int *n)
{
	*n = 0;
	if (!c || strcmp(c->kind, "bert") || !c->impl)
		return NULL;
	const bert_cls *b = c->impl;
	if (b->nheads < 2)
		return NULL;
	*n = b->nheads;
	return b->heads;
}

tl_classifier *tl_bert_classifier_load(const char *dir, const void *config, int threads, tl_classifier_err *e)
{
	return tl_bert_classifier_load_device(dir, config, NULL, threads, e);
}

tl_classifier *tl_bert_classifier_load_device(const char *dir, const void *config, const char *device,
					      int threads, tl_classifier_err *e)
{
	tl_classifier *c = tl_xcalloc(1, sizeof *c);
	c->ops = &bert_ops;
	c->kind = "bert";
	c->batch_size = 32;
	if (tl_classifier_read_labels(c, config, 0, e) < 0) {
		/* keep the specific message ("config.json: id2label has no
		 * string for id 1"), with the directory in front */
		const json_t *cfg = config;
		if (!json_object_get(cfg, "id2label") && !json_object_get(cfg, "num_labels"))
			snprintf(e->msg, sizeof e->msg,
				 "%s/config.json: no id2label or num_labels: not a sequence-classification model", dir);
		else {
			tl_buf m = {0};
			tl_buf_printf(&m, "%s/%s", dir, e->msg);
			snprintf(e->msg, sizeof e->msg, "%s", tl_buf_cstr(&m));
			tl_buf_free(&m);
		}
		e->code = TL_EXIT_MODEL;
		e->index = (size_t)-1;
		tl_classifier_free(c);
		return NULL;
	}
	const tl_kernels *k = tl_kernels_select(device, e->msg, sizeof e->msg);
	if (!k) {
		e->code = TL_EXIT_USAGE;
		e->index = (size_t)-1;
		tl_classifier_free(c);
		return NULL;
	}
	k->set_threads(threads);
	bert_cls *b = tl_xcalloc(1, sizeof *b);
	b->m = load(dir, config, k, c->nlabels, e->msg, sizeof e->msg);
	if (!b->m) {
		e->code = TL_EXIT_MODEL;
		e->index = (size_t)-1;
		free(b);
		tl_classifier_free(c);
		return NULL;
	}
	c->impl = b;
	if (!is_token_model(config) && load_heads(c, b, dir, e) < 0) {
		tl_classifier_free(c);
		return NULL;
	}
	c->token = is_token_model(config);
	if (c->token) {
		c->multi_label = 0;
		c->predict_tokens = bert_predict_tokens;
	}
	memcpy(c->vocab_sha256, b->m->vocab_sha256, sizeof c->vocab_sha256);
	return c;
}

int tl_bert_classifier_set_precision(tl_classifier *c, int prec, char *err, size_t errsz)
{
	if (strcmp(c->kind, "bert")) {
		if (prec == TL_PREC_FP32)
			return 0;
		return tl_errf(err, errsz, "--precision %s: a %s model has no such products (BERT models only)",
			       tl_precision_name(prec), c->kind);
	}
	bert_cls *b = c->impl;
	return tl_bert_set_precision(b->m, prec, err, errsz);
}
