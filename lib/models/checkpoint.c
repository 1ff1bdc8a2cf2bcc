/* lib/models/checkpoint.c - resumable checkpoints (see tl/checkpoint.h). */
#include "tl/checkpoint.h"
#include "tl/fsutil.h"
#include "tl/safetensors.h"
#include "tl/safetensors_save.h"
#include "tl/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
