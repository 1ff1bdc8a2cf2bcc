/* bert_prune.c - head importance (Michel et al. 2019), the choice of the
 * heads to remove, and the writing of a pruned model directory
 * (tl/bert_prune.h). */
#include "tl/bert_prune.h"
#include "tl/bert.h"
#include "tl/fsutil.h"
#include "tl/model.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------- importance ---------------- */

void tl_bert_importance_batch(tl_bert_train *t, const int32_t *ids, const int32_t *type_ids, const int32_t *lens,
			      int B, int T, const int32_t *y, double *imp)
{
	int n = t->m->cfg.L * t->m->cfg.NH;
	tl_bert_train_zero_grad(t); /* the gradients and head_grad */
	tl_bert_train_forward(t, ids, type_ids, lens, B, T, 0, 0, 0);
	tl_bert_train_loss(t, y, NULL, NULL, NULL, 0.0f, 1.0f);
	tl_bert_train_backward(t, 0, 0, 0);
	for (int i = 0; i < n; i++)
		imp[i] += fabs((double)t->head_grad[i]);
}

void tl_bert_importance_normalize(const double *imp, int L, int NH, double *norm)
{
	for (int l = 0; l < L; l++) {
		double s = 0;
		for (int h = 0; h < NH; h++)
			s += imp[l * NH + h] * imp[l * NH + h];
		s = sqrt(s) + 1e-20;
		for (int h = 0; h < NH; h++)
			norm[l * NH + h] = imp[l * NH + h] / s;
	}
}

int tl_bert_prune_choose(const double *norm, int L, int NH, const unsigned char *pruned, int n,
			 unsigned char *remove)
{
	int *kept = tl_xmalloc((size_t)L * sizeof *kept);
	memset(remove, 0, (size_t)L * NH);
	for (int l = 0; l < L; l++) {
		kept[l] = NH;
		for (int h = 0; h < NH && pruned; h++)
			kept[l] -= pruned[l * NH + h];
	}
	int done = 0;
	while (done < n) {
		int best = -1;
		for (int i = 0; i < L * NH; i++) {
			if (remove[i] || (pruned && pruned[i]) || kept[i / NH] <= 1)
				continue;
			if (best < 0 || norm[i] < norm[best])
				best = i; /* strict: ties keep the lower index */
		}
		if (best < 0)
			break;
		remove[best] = 1;
		kept[best / NH]--;
		done++;
	}
	free(kept);
	return done == n ? 0 : -1;
}

/* ---------------- writing ---------------- */

static int write_json(const char *path, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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

/* "...encoder.layer.N<rest>": N, and the offsets of N and rest */
static int layer_of(const char *name, size_t *num_at, const char **rest)
{
	const char *p = strstr(name, "encoder.layer.");
	if (!p)
		return -1;
	p += strlen("encoder.layer.");
	char *end;
	long l = strtol(p, &end, 10);
	if (end == p || *end != '.' || l < 0 || l > 100000)
		return -1;
	*num_at = (size_t)(p - name);
	*rest = end;
	return (int)l;
}

static int is_qkv(const char *rest)
{
	static const char *const s[] = {".attention.self.query.", ".attention.self.key.", ".attention.self.value."};
	for (int i = 0; i < 3; i++)
		if (!strncmp(rest, s[i], strlen(s[i]))) {
			const char *x = rest + strlen(s[i]);
			return !strcmp(x, "weight") || !strcmp(x, "bias") || !strcmp(x, "weight_scale");
		}
	return 0;
}

#define FAILC(c, ...)                                     \
	do {                                              \
		*code = (c);                              \
		tl_errf(err, errsz, __VA_ARGS__);          \
		goto out;                                 \
	} while (0)

int tl_bert_prune_write(const char *src, const char *tmp, const unsigned char *rm_heads,
			const unsigned char *rm_layers, const void *pruning_info, int *code, char *err, size_t errsz)
{
	int rc = -1;
	tl_st_file f;
	int opened = 0;
	json_t *cfg = NULL, *tj = NULL;
	tl_st_saver *sv = NULL;
	void **keep = NULL;
	size_t nkeep = 0;
	unsigned char *old = NULL, *gone = NULL;
	int *newl = NULL, **stored = NULL;
	tl_buf p = {0}, q = {0};
	char e[512];
	long L = 0, NH = 0, C = 0;

	*code = TL_EXIT_MODEL;
	if (!(cfg = tl_model_read_config(src, err, errsz)))
		goto out;
	if (tl_model_config_int(cfg, src, "num_hidden_layers", -1, &L, err, errsz) < 0 ||
	    tl_model_config_int(cfg, src, "num_attention_heads", -1, &NH, err, errsz) < 0 ||
	    tl_model_config_int(cfg, src, "hidden_size", -1, &C, err, errsz) < 0)
		goto out;
	if (L < 1 || L > 1000 || NH < 1 || C < NH || C % NH)
		FAILC(TL_EXIT_MODEL, "%s/config.json: num_hidden_layers %ld, num_attention_heads %ld, hidden_size %ld: not a BERT shape",
		      src, L, NH, C);
	int dh = (int)(C / NH);
	old = tl_xmalloc((size_t)(L * NH));
	if (tl_bert_parse_pruned_heads(cfg, (int)L, (int)NH, old, e, sizeof e) < 0)
		FAILC(TL_EXIT_MODEL, "%s/config.json: %s", src, e);
	/* what goes, in original head numbers; the new layer numbers */
	gone = tl_xmalloc((size_t)(L * NH));
	newl = tl_xmalloc((size_t)L * sizeof *newl);
	stored = tl_xcalloc((size_t)L, sizeof *stored);
	int nl = 0;
	for (int l = 0; l < L; l++) {
		newl[l] = rm_layers && rm_layers[l] ? -1 : nl++;
		int kept = 0, stor = 0;
		stored[l] = tl_xmalloc((size_t)NH * sizeof **stored); /* the heads the file holds, in order */
		for (int h = 0; h < NH; h++) {
			size_t i = (size_t)l * NH + h;
			if (rm_heads && rm_heads[i] && old[i])
				FAILC(TL_EXIT_USAGE, "head %d of layer %d is pruned already", h, l);
			gone[i] = old[i] || (rm_heads && rm_heads[i]);
			kept += !gone[i];
			if (!old[i])
				stored[l][stor++] = h;
		}
		if (newl[l] >= 0 && !kept)
			FAILC(TL_EXIT_USAGE, "layer %d would keep no attention head (drop the layer instead: --layers)", l);
	}
	if (!nl)
		FAILC(TL_EXIT_USAGE, "every encoder layer would be removed (%ld layers)", L);

	tl_buf_printf(&p, "%s/model.safetensors", src);
	if (tl_st_open(&f, tl_buf_cstr(&p), e, sizeof e) < 0)
		FAILC(TL_EXIT_MODEL, "%s (sharded checkpoints are not pruned: one model.safetensors only)", e);
	opened = 1;
	sv = tl_st_saver_init();
	keep = tl_xcalloc(f.n + 1, sizeof *keep);
	for (size_t i = 0; i < f.n; i++) {
		const tl_st_tensor *t = &f.tensors[i];
		const uint8_t *data = tl_st_bytes(&f, t);
		size_t num_at;
		const char *rest;
		int l = layer_of(t->name, &num_at, &rest);
		if (l < 0) {
			tl_st_saver_add(sv, t->name, tl_st_dtype_name(t->dtype), t->shape, t->ndim, data, t->end - t->begin);
			continue;
		}
		if (l >= L)
			FAILC(TL_EXIT_MODEL, "%s: tensor '%s' of layer %d, but num_hidden_layers is %ld", p.data, t->name, l, L);
		if (newl[l] < 0)
			continue;
		q.len = 0;
		tl_buf_printf(&q, "%.*s%d%s", (int)num_at, t->name, newl[l], rest);
		int ns = 0, nk = 0;
		for (int h = 0; h < NH; h++)
			ns += !old[(size_t)l * NH + h];
		for (int j = 0; j < ns; j++)
			nk += !gone[(size_t)l * NH + stored[l][j]];
		int qkv = is_qkv(rest), proj = !strcmp(rest, ".attention.output.dense.weight");
		if ((!qkv && !proj) || nk == ns) {
			tl_st_saver_add(sv, tl_buf_cstr(&q), tl_st_dtype_name(t->dtype), t->shape, t->ndim, data,
					t->end - t->begin);
			continue;
		}
		int64_t sh[TL_ST_MAXDIM];
		memcpy(sh, t->shape, sizeof sh);
		size_t es = t->numel ? (t->end - t->begin) / t->numel : 0;
		int cut = qkv ? 0 : 1; /* the dimension of the heads */
		if (t->ndim < cut + 1 || t->shape[cut] != (int64_t)ns * dh || (proj && t->ndim != 2))
			FAILC(TL_EXIT_MODEL, "%s: tensor '%s' does not hold %d heads of %d (config.json pruned_heads)", p.data,
			      t->name, ns, dh);
		sh[cut] = (int64_t)nk * dh;
		size_t inner = 1; /* elements after the cut dimension */
		for (int d = cut + 1; d < t->ndim; d++)
			inner *= (size_t)t->shape[d];
		size_t outer = cut ? (size_t)t->shape[0] : 1, blk = (size_t)dh * inner * es;
		size_t nb = outer * (size_t)nk * blk;
		uint8_t *dst = tl_xmalloc(nb ? nb : 1), *w = dst;
		for (size_t o = 0; o < outer; o++)
			for (int j = 0; j < ns; j++)
				if (!gone[(size_t)l * NH + stored[l][j]]) {
					memcpy(w, data + (o * (size_t)ns + (size_t)j) * blk, blk);
					w += blk;
				}
		keep[nkeep++] = dst;
		tl_st_saver_add(sv, tl_buf_cstr(&q), tl_st_dtype_name(t->dtype), sh, t->ndim, dst, nb);
	}
	tl_st_saver_meta(sv, "format", "pt");
	q.len = 0;
	tl_buf_printf(&q, "%s/model.safetensors", tmp);
	*code = TL_EXIT_IO;
	if (tl_st_saver_write(sv, tl_buf_cstr(&q)) < 0)
		FAILC(TL_EXIT_IO, "%s: %s", q.data, strerror(errno));

	/* config.json: layers and pruned heads */
	json_t *ph = json_object();
	int any = 0;
	for (int l = 0; l < L; l++) {
		if (newl[l] < 0)
			continue;
		json_t *a = json_array();
		for (int h = 0; h < NH; h++)
			if (gone[(size_t)l * NH + h])
				json_array_append_new(a, json_integer(h));
		if (json_array_size(a)) {
			char k[24];
			snprintf(k, sizeof k, "%d", newl[l]);
			json_object_set_new(ph, k, a);
			any = 1;
		} else {
			json_decref(a);
		}
	}
	if (any)
		json_object_set_new(cfg, "pruned_heads", ph);
	else {
		json_decref(ph);
		json_object_del(cfg, "pruned_heads");
	}
	json_object_set_new(cfg, "num_hidden_layers", json_integer(nl));
	q.len = 0;
	tl_buf_printf(&q, "%s/config.json", tmp);
	if (write_json(tl_buf_cstr(&q), cfg) < 0)
		FAILC(TL_EXIT_IO, "%s: %s", q.data, strerror(errno));

	/* tl.json */
	p.len = 0;
	tl_buf_printf(&p, "%s/tl.json", src);
	json_error_t je;
	tj = tl_fs_exists(tl_buf_cstr(&p)) ? json_load_file(p.data, 0, &je) : json_object();
	if (!tj || !json_is_object(tj))
		FAILC(TL_EXIT_MODEL, "%s: not a JSON object", p.data);
	if (pruning_info)
		json_object_set(tj, "pruning", (json_t *)pruning_info);
	q.len = 0;
	tl_buf_printf(&q, "%s/tl.json", tmp);
	if (write_json(tl_buf_cstr(&q), tj) < 0)
		FAILC(TL_EXIT_IO, "%s: %s", q.data, strerror(errno));

	/* every other regular file */
	DIR *d = opendir(src);
	if (!d)
		FAILC(TL_EXIT_IO, "%s: %s", src, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, "model.safetensors") || !strcmp(n, "config.json") || !strcmp(n, "tl.json"))
			continue;
		p.len = 0;
		tl_buf_printf(&p, "%s/%s", src, n);
		struct stat st;
		if (stat(tl_buf_cstr(&p), &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		tl_buf b = {0};
		q.len = 0;
		tl_buf_printf(&q, "%s/%s", tmp, n);
		int r = tl_fs_read_file(p.data, &b) < 0 ? -1 : tl_fs_write_file(tl_buf_cstr(&q), b.data, b.len);
		int en = errno;
		tl_buf_free(&b);
		if (r < 0) {
			closedir(d);
			FAILC(TL_EXIT_IO, "%s: %s", n, strerror(en));
		}
	}
	closedir(d);
	rc = 0;
out:
	if (sv)
		tl_st_saver_free(sv);
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	free(keep);
	if (opened)
		tl_st_close(&f);
	if (stored)
		for (long l = 0; l < L; l++)
			free(stored[l]);
	free(stored);
	free(newl);
	free(gone);
	free(old);
	json_decref(cfg);
	json_decref(tj);
	tl_buf_free(&p);
	tl_buf_free(&q);
	return rc;
}
