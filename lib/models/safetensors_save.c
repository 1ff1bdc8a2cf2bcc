/* safetensors_save.c - write tensors in the safetensors format, atomically. */
#include "tl/safetensors_save.h"
#include "tl/fsutil.h"
#include "tl/json.h"
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *name, *dtype;
	int64_t shape[8];
	int ndim;
	const void *data;
	size_t nbytes;
} st_tensor;

struct tl_st_saver {
	st_tensor *t;
	int n, cap;
	char **meta; /* key, value pairs */
	int nmeta;
	int bad; /* a tensor was added with an impossible ndim */
};

tl_st_saver *tl_st_saver_init(void)
{
	return tl_xcalloc(1, sizeof(tl_st_saver));
}

void tl_st_saver_free(tl_st_saver *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->t[i].name);
		free(s->t[i].dtype);
	}
	for (int i = 0; i < 2 * s->nmeta; i++)
		free(s->meta[i]);
	free(s->meta);
	free(s->t);
	free(s);
}

void tl_st_saver_add(tl_st_saver *s, const char *name, const char *dtype, const int64_t *shape, int ndim,
		     const void *data, size_t nbytes)
{
	if (ndim < 0 || ndim > 8) {
		s->bad = 1; /* reported by tl_st_saver_write (EINVAL) */
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->t = tl_xrealloc(s->t, (size_t)s->cap * sizeof *s->t);
	}
	st_tensor *t = &s->t[s->n++];
	t->name = tl_xstrdup(name);
	t->dtype = tl_xstrdup(dtype);
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->shape[i] = shape[i];
	t->data = data;
	t->nbytes = nbytes;
}

void tl_st_saver_meta(tl_st_saver *s, const char *key, const char *value)
{
	s->meta = tl_xrealloc(s->meta, (size_t)(2 * s->nmeta + 2) * sizeof *s->meta);
	s->meta[2 * s->nmeta] = tl_xstrdup(key);
	s->meta[2 * s->nmeta + 1] = tl_xstrdup(value);
	s->nmeta++;
}

static size_t dtype_size(const char *d)
{
	if (!strcmp(d, "F64") || !strcmp(d, "I64") || !strcmp(d, "U64"))
		return 8;
	if (!strcmp(d, "F32") || !strcmp(d, "I32") || !strcmp(d, "U32"))
		return 4;
	if (!strcmp(d, "F16") || !strcmp(d, "BF16") || !strcmp(d, "I16") || !strcmp(d, "U16"))
		return 2;
	if (!strcmp(d, "I8") || !strcmp(d, "U8") || !strcmp(d, "BOOL"))
		return 1;
	return 0;
}

int tl_st_saver_write(tl_st_saver *s, const char *path)
{
	if (s->bad) {
		errno = EINVAL;
		return -1;
	}
	tl_buf h = {0};
	size_t off = 0;
	tl_buf_addc(&h, '{');
	for (int i = 0; i < s->n; i++) {
		st_tensor *t = &s->t[i];
		size_t numel = 1, es = dtype_size(t->dtype);
		for (int d = 0; d < t->ndim; d++)
			numel *= (size_t)t->shape[d];
		if (!es || numel * es != t->nbytes) {
			tl_buf_free(&h);
			errno = EINVAL;
			return -1;
		}
		if (i)
			tl_buf_addc(&h, ',');
		tl_json_string(&h, t->name, strlen(t->name));
		tl_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", t->dtype);
		for (int d = 0; d < t->ndim; d++)
			tl_buf_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
		tl_buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
		off += t->nbytes;
	}
	if (s->nmeta) {
		tl_buf_adds(&h, s->n ? ",\"__metadata__\":{" : "\"__metadata__\":{");
		for (int i = 0; i < s->nmeta; i++) {
			if (i)
				tl_buf_addc(&h, ',');
			tl_json_string(&h, s->meta[2 * i], strlen(s->meta[2 * i]));
			tl_buf_addc(&h, ':');
			tl_json_string(&h, s->meta[2 * i + 1], strlen(s->meta[2 * i + 1]));
		}
		tl_buf_addc(&h, '}');
	}
	tl_buf_addc(&h, '}');
	while (h.len % 8)
		tl_buf_addc(&h, ' ');

	size_t n = strlen(path) + 16;
	char *tmp = tl_xmalloc(n);
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	int rc = -1, e = 0;
	if (fd >= 0) {
		unsigned char len8[8];
		for (int i = 0; i < 8; i++)
			len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
		rc = tl_fs_write_all(fd, len8, 8);
		if (!rc)
			rc = tl_fs_write_all(fd, h.data, h.len);
		for (int i = 0; i < s->n && !rc; i++)
			rc = tl_fs_write_all(fd, s->t[i].data, s->t[i].nbytes);
		if (!rc)
			rc = fsync(fd);
		e = errno;
		if (close(fd) != 0 && !rc) {
			rc = -1;
			e = errno;
		}
		if (!rc) {
			mode_t m = umask(022);
			umask(m);
			chmod(tmp, 0666 & ~m);
			if (rename(tmp, path) != 0) {
				rc = -1;
				e = errno;
			}
		}
		if (rc)
			unlink(tmp);
	} else {
		e = errno;
	}
	free(tmp);
	tl_buf_free(&h);
	errno = e;
	return rc;
}
