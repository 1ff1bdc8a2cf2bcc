/* lib/models/checkpoint.c - resumable checkpoints (see tl/checkpoint.h). */
#include "tl/checkpoint.h"
#include "tl/cli.h"
#include "tl/fsutil.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tl_ckpt_write(const char *dir, const json_t *state, size_t nt, const char *const *names,
		  const float *const *data, const size_t *lens, char *err, size_t errsz)
{
	char *tmp = tl_fs_tmpdir_for(dir);
	if (!tmp)
		return tl_errf(err, errsz, "cannot create a temporary directory for %s: %s", dir, strerror(errno));
	tl_buf p = {0};
	int rc = -1, e = 0;
	char *js = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS);
	tl_buf_printf(&p, "%s/state.json", tmp);
	if (!js || tl_fs_write_file(tl_buf_cstr(&p), js, strlen(js)) != 0) {
		e = errno;
		tl_errf(err, errsz, "cannot write %s/state.json: %s", dir, strerror(e));
		goto out;
	}
	tl_st_saver *s = tl_st_saver_init();
	for (size_t i = 0; i < nt; i++) {
		int64_t shape[1] = {(int64_t)lens[i]};
		tl_st_saver_add(s, names[i], "F32", shape, 1, data[i], lens[i] * sizeof(float));
	}
	p.len = 0;
	tl_buf_printf(&p, "%s/tensors.safetensors", tmp);
	int w = tl_st_saver_write(s, tl_buf_cstr(&p));
	e = errno;
	tl_st_saver_free(s);
	if (w != 0) {
		tl_errf(err, errsz, "cannot write %s/tensors.safetensors: %s", dir, strerror(e));
		goto out;
	}
	if (tl_fs_publish_dir(tmp, dir, 1) != 0) {
		e = errno;
		tl_errf(err, errsz, "cannot publish checkpoint %s: %s", dir, strerror(e));
		goto out;
	}
	rc = 0;
out:
	if (rc)
		tl_fs_rmtree(tmp);
	free(js);
	free(tmp);
	tl_buf_free(&p);
	errno = e;
	return rc;
}

json_t *tl_ckpt_read_state(const char *dir, char *err, size_t errsz)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/state.json", dir);
	json_error_t je;
	json_t *j = json_load_file(tl_buf_cstr(&p), 0, &je);
	if (!j)
		tl_errf(err, errsz, "%s: not a checkpoint (%s)", tl_buf_cstr(&p), je.text);
	else if (!json_is_object(j)) {
		tl_errf(err, errsz, "%s: not a JSON object", tl_buf_cstr(&p));
		json_decref(j);
		j = NULL;
	}
	tl_buf_free(&p);
	return j;
}

int tl_ckpt_read_tensor(const char *dir, const char *name, float *out, size_t n, char *err, size_t errsz)
{
	tl_buf p = {0};
	tl_buf_printf(&p, "%s/tensors.safetensors", dir);
	tl_st_file f;
	int rc = -1;
	if (tl_st_open(&f, tl_buf_cstr(&p), err, errsz) != 0) {
		tl_buf_free(&p);
		return -1;
	}
	const tl_st_tensor *t = tl_st_find(&f, name);
	if (!t)
		tl_errf(err, errsz, "%s: no tensor '%s'", tl_buf_cstr(&p), name);
	else if (t->numel != n)
		tl_errf(err, errsz, "%s: tensor '%s' has %zu values, expected %zu (another model or label set?)",
		     tl_buf_cstr(&p), name, t->numel, n);
	else
		rc = tl_st_read_f32(&f, t, out, err, errsz);
	tl_st_close(&f);
	tl_buf_free(&p);
	return rc;
}

/* ---------------- run options and --resume ---------------- */

void tl_runopt_str(json_t *j, const char *name, const char *v)
{
	json_object_set_new(j, name, json_string(v ? v : "none"));
}

void tl_runopt_long(json_t *j, const char *name, long v)
{
	char b[32];
	snprintf(b, sizeof b, "%ld", v);
	tl_runopt_str(j, name, b);
}

void tl_runopt_dbl(json_t *j, const char *name, double v)
{
	char b[40];
	snprintf(b, sizeof b, "%.15g", v); /* the shortest that reads back the same */
	if (strtod(b, NULL) != v)
		snprintf(b, sizeof b, "%.17g", v);
	tl_runopt_str(j, name, b);
}

/* The next name of a comma list at *p: its start and length without a
 * leading "--"; *p moves past it. 0 at the end of the list. */
static int next_name(const char **p, const char **name, size_t *len)
{
	if (!*p || !**p)
		return 0;
	const char *c = strchr(*p, ',');
	size_t l = c ? (size_t)(c - *p) : strlen(*p);
	const char *q = *p;
	*p = c ? c + 1 : *p + l;
	if (l > 2 && !strncmp(q, "--", 2))
		q += 2, l -= 2;
	*name = q;
	*len = l;
	return 1;
}

int tl_runopt_in_list(const char *list, const char *name)
{
	if (!list)
		return 0;
	if (!strcmp(list, "all"))
		return 1;
	size_t n = strlen(name), l;
	const char *q;
	for (const char *p = list; next_name(&p, &q, &l);)
		if (l == n && !strncmp(q, name, n))
			return 1;
	return 0;
}

int tl_runopt_check_allow(const char *list, const json_t *known, tl_err *e)
{
	if (!list || !strcmp(list, "all"))
		return 0;
	size_t l;
	const char *q;
	for (const char *p = list; next_name(&p, &q, &l);) {
		char name[64];
		if (l == 0 || l >= sizeof name)
			return tl_seterr(e, TL_EXIT_USAGE, "option --allow-change: empty or too long name in '%s'", list);
		memcpy(name, q, l);
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
	}
	return 0;
}

int tl_runopt_compare(const json_t *was, const json_t *now, const char *const *absent, const char *ckpt,
		      const char *allow, int quiet, tl_err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)now, k, v) {
		json_t *w = json_object_get(was, k);
		const char *a = json_is_string(w) ? json_string_value(w) : "(not recorded)";
		if (!w && absent)
			for (const char *const *d = absent; d[0] && d[1]; d += 2)
				if (!strcmp(k, d[0]))
					a = d[1];
		const char *b = json_string_value(v);
		if (!b || !strcmp(a, b))
			continue;
		if (!tl_runopt_in_list(allow, k))
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

FILE *tl_ckpt_reopen_log(const json_t *st, const char *path, tl_err *e)
{
	json_t *lp = json_object_get(st, "log"), *lb = json_object_get(st, "log_bytes");
	struct stat sb;
	if (json_is_string(lp) && !strcmp(json_string_value(lp), path) && json_is_integer(lb) &&
	    stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= (off_t)json_integer_value(lb) &&
	    truncate(path, (off_t)json_integer_value(lb)) != 0) {
		tl_seterr(e, TL_EXIT_IO, "cannot truncate %s: %s", path, strerror(errno));
		return NULL;
	}
	FILE *f = fopen(path, "a");
	if (!f)
		tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", path, strerror(errno));
	return f;
}

void tl_ckpt_remove_served(const char *ckpt_dir, const char *resume, int wrote, int quiet)
{
	if (!ckpt_dir || !tl_fs_exists(ckpt_dir))
		return;
	int ours = wrote;
	if (!ours && resume) {
		char *a = realpath(resume, NULL), *b = realpath(ckpt_dir, NULL);
		ours = a && b && !strcmp(a, b);
		free(a);
		free(b);
	}
	tl_buf sp = {0};
	tl_buf_printf(&sp, "%s/state.json", ckpt_dir);
	if (ours && tl_fs_exists(tl_buf_cstr(&sp))) {
		if (tl_fs_rmtree(ckpt_dir) != 0)
			tl_warn("cannot remove the checkpoint %s: %s", ckpt_dir, strerror(errno));
		else if (!quiet)
			fprintf(stderr, "%s: removed the checkpoint %s (--keep-checkpoint keeps it)\n", tl_progname,
				ckpt_dir);
	}
	tl_buf_free(&sp);
}
