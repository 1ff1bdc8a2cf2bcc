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

/* The directory of the running executable, or "" (unknown). */
static void exe_dir(char *out, size_t outsz)
{
	out[0] = 0;
	ssize_t n = readlink("/proc/self/exe", out, outsz - 1);
	if (n <= 0) {
		out[0] = 0;
		return;
	}
	out[n] = 0;
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = 0;
	else
		out[0] = 0;
}

static int is_file(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *tl_model_find(const char *name, char *err, size_t errsz)
{
	if (!name)
		name = TL_DEFAULT_MODEL;
	struct stat st;
	int exists = stat(name, &st) == 0;
	if (strchr(name, '/') || (exists && S_ISDIR(st.st_mode))) {
		if (!exists)
			tl_errf(err, errsz, "%s: no such directory", name);
		else if (!S_ISDIR(st.st_mode))
			tl_errf(err, errsz, "%s: not a directory", name);
		else if (!is_model_dir(name))
			tl_errf(err, errsz, "%s: not a model directory (no config.json)", name);
		else
			return tl_xstrdup(name);
		return NULL;
	}
	tl_buf looked = {0};
	char *hit = NULL;
	/* 1. $TL_MODEL_PATH */
	const char *env = getenv("TL_MODEL_PATH");
	if (env && *env) {
		char *dup = tl_xstrdup(env), *save = NULL;
		for (char *d = strtok_r(dup, ":", &save); d && !hit; d = strtok_r(NULL, ":", &save))
			hit = try_in(d, name, &looked);
		free(dup);
	}
	/* 2. the user's data directory */
	if (!hit) {
		tl_buf b = {0};
		const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		if (xdg && *xdg == '/')
			tl_buf_printf(&b, "%s/tl/models", xdg);
		else if (home && *home)
			tl_buf_printf(&b, "%s/.local/share/tl/models", home);
		if (b.len)
			hit = try_in(tl_buf_cstr(&b), name, &looked);
		tl_buf_free(&b);
	}
	/* 3. the installed share directory, and the one beside the executable */
	if (!hit)
		hit = try_in(TL_MODEL_DIR, name, &looked);
	char exe[PATH_MAX];
	exe_dir(exe, sizeof exe);
	if (!hit && *exe) {
		tl_buf b = {0};
		tl_buf_printf(&b, "%s/../share/tl/models", exe);
		hit = try_in(tl_buf_cstr(&b), name, &looked);
		tl_buf_free(&b);
	}
	/* 4. the source tree's models/ when the executable runs from a build
	 * directory of a checkout (<tree>/build/bin/tl-x, a Makefile in <tree>) */
	if (!hit && *exe) {
		tl_buf root = {0};
		tl_buf_printf(&root, "%s/../..", exe);
		if (is_file(tl_buf_cstr(&root), "Makefile") && is_file(root.data, "include/tl/model.h")) {
			tl_buf b = {0};
			tl_buf_printf(&b, "%s/models", root.data);
			hit = try_in(tl_buf_cstr(&b), name, &looked);
			tl_buf_free(&b);
		}
		tl_buf_free(&root);
	}
	/* 5. ./models */
	if (!hit)
		hit = try_in("./models", name, &looked);
	if (!hit) {
		if (!strcmp(name, TL_DEFAULT_MODEL))
			tl_errf(err, errsz,
				"model '%s' not found (looked in %s%s); run 'make models' in the tl source tree "
				"to install it",
				name, env && *env ? "" : "$TL_MODEL_PATH (unset), ", tl_buf_cstr(&looked));
		else
			tl_errf(err, errsz, "model '%s' not found: no directory '%s' here, none in %s%s", name, name,
				env && *env ? "" : "$TL_MODEL_PATH (unset), ", tl_buf_cstr(&looked));
	}
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
