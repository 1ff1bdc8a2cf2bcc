/* model.c - model directories: search path, config.json, vocabulary sha. */
#include "tl/model.h"
#include "tl/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TL_MODEL_DIR
#define TL_MODEL_DIR "/usr/local/share/tl/models"
#endif

static int is_model_dir(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/config.json", dir) >= (int)sizeof p)
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *try_in(const char *base, const char *name, tl_buf *looked)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/%s", base, name);
	char *s = tl_buf_cstr(&p);
	if (is_model_dir(s))
		return s;
	tl_buf_printf(looked, "%s%s", looked->len ? ", " : "", base);
	free(s);
	return NULL;
}

char *tl_model_find(const char *name, char *err, size_t errsz)
{
	if (!name)
		name = TL_DEFAULT_MODEL;
	struct stat st;
	if (strchr(name, '/') || (stat(name, &st) == 0 && S_ISDIR(st.st_mode))) {
		if (!is_model_dir(name)) {
			tl_errf(err, errsz, "%s: not a model directory (no config.json)", name);
			return NULL;
		}
		return tl_xstrdup(name);
	}
	tl_buf looked = {0};
	char *hit = NULL;
	const char *env = getenv("TL_MODEL_PATH");
	if (env && *env) {
		char *dup = tl_xstrdup(env), *save = NULL;
		for (char *d = strtok_r(dup, ":", &save); d && !hit; d = strtok_r(NULL, ":", &save))
			hit = try_in(d, name, &looked);
		free(dup);
	}
	if (!hit)
		hit = try_in(TL_MODEL_DIR, name, &looked);
	if (!hit) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = 0;
			char *slash = strrchr(exe, '/');
			if (slash) {
				*slash = 0;
				tl_buf b = {0};
				tl_buf_printf(&b, "%s/../share/tl/models", exe);
				hit = try_in(tl_buf_cstr(&b), name, &looked);
				tl_buf_free(&b);
			}
		}
	}
	if (!hit)
		hit = try_in("models", name, &looked);
	if (!hit)
		tl_errf(err, errsz, "model '%s' not found (looked in $TL_MODEL_PATH and %s; run 'make models' or pass -m DIR)",
		     name, tl_buf_cstr(&looked));
	tl_buf_free(&looked);
	return hit;
}

json_t *tl_model_read_config(const char *dir, char *err, size_t errsz)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/config.json", dir);
	json_error_t je;
	json_t *cfg = json_load_file(tl_buf_cstr(&p), JSON_REJECT_DUPLICATES, &je);
	if (!cfg) {
		if (access(p.data, R_OK) < 0)
			tl_errf(err, errsz, "cannot read %s: %s", p.data, strerror(errno));
		else
			tl_errf(err, errsz, "%s: not valid JSON (line %d: %s)", p.data, je.line, je.text);
	} else if (!json_is_object(cfg)) {
		tl_errf(err, errsz, "%s: not a JSON object", p.data);
		json_decref(cfg);
		cfg = NULL;
	}
	tl_buf_free(&p);
	return cfg;
}

int tl_model_config_int(const json_t *cfg, const char *dir, const char *key, long dflt, long *out, char *err,
			size_t errsz)
{
	json_t *v = json_object_get(cfg, key);
	if (!v && dflt >= 0) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v))
		return tl_errf(err, errsz, "%s/config.json: no integer \"%s\"", dir, key);
	json_int_t x = json_integer_value(v);
	if (x < 0 || x > INT_MAX)
		return tl_errf(err, errsz, "%s/config.json: \"%s\" out of range (%lld)", dir, key, (long long)x);
	*out = (long)x;
	return 0;
}

int tl_model_vocab_sha256(const char *dir, char out[65], char *err, size_t errsz)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/vocab.txt", dir);
	int rc = 0;
	out[0] = 0;
	if (access(tl_buf_cstr(&p), F_OK) == 0 && tl_sha256_file(p.data, out) < 0)
		rc = tl_errf(err, errsz, "cannot read %s: %s", p.data, strerror(errno));
	tl_buf_free(&p);
	return rc;
}

int tl_model_check_vocab(const msgpack_object *hdr, const char *model_sha, const char *model_dir, char *err,
			 size_t errsz)
{
	if (!hdr)
		return 0;
	const msgpack_object *tok = tl_map_get(hdr, "tokenizer");
	if (!tok || tok->type != MSGPACK_OBJECT_MAP)
		return 0;
	const msgpack_object *sha = tl_map_get(tok, "vocab_sha256");
	if (!sha)
		return 0;
	if (sha->type != MSGPACK_OBJECT_STR)
		return tl_errf(err, errsz, "stream header: tokenizer.vocab_sha256 is not a string");
	if (!model_sha || !*model_sha) {
		snprintf(err, errsz, "%s: no vocab.txt: cannot check that the stream was tokenized with this model's vocabulary",
			 model_dir);
		return 1;
	}
	if (sha->via.str.size != 64 || memcmp(sha->via.str.ptr, model_sha, 64) != 0)
		return tl_errf(err, errsz,
			    "the stream was tokenized with another vocabulary (sha256 %.12s...) than the model's %s/vocab.txt (%.12s...): tokenize with the model's vocabulary %s/vocab.txt",
			    sha->via.str.size >= 12 ? sha->via.str.ptr : "?", model_dir, model_sha, model_dir);
	return 0;
}

void tl_model_set_labels(json_t *cfg, char *const *names, int n)
{
	json_t *i2l = json_object(), *l2i = json_object();
	for (int i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof key, "%d", i);
		json_object_set_new(i2l, key, json_string(names[i]));
		json_object_set_new(l2i, names[i], json_integer(i));
	}
	json_object_set_new(cfg, "id2label", i2l);
	json_object_set_new(cfg, "label2id", l2i);
}
