/* safetensors.c - checked safetensors reader (writer: safetensors_save.c). */
#include "tl/safetensors.h"
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER ((size_t)100 << 20) /* as the reference implementation */

static const struct {
	const char *name;
	size_t size;
} dtypes[TL_ST_NDTYPES] = {
	[TL_ST_F32] = {"F32", 4},     [TL_ST_F16] = {"F16", 2},   [TL_ST_BF16] = {"BF16", 2},
	[TL_ST_F64] = {"F64", 8},     [TL_ST_I64] = {"I64", 8},   [TL_ST_I32] = {"I32", 4},
	[TL_ST_I16] = {"I16", 2},     [TL_ST_I8] = {"I8", 1},     [TL_ST_U8] = {"U8", 1},
	[TL_ST_U16] = {"U16", 2},     [TL_ST_U32] = {"U32", 4},   [TL_ST_U64] = {"U64", 8},
	[TL_ST_BOOL] = {"BOOL", 1},   [TL_ST_F8_E4M3] = {"F8_E4M3", 1}, [TL_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *tl_st_dtype_name(int d)
{
	return d >= 0 && d < TL_ST_NDTYPES ? dtypes[d].name : "?";
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const tl_st_tensor *)a)->name, ((const tl_st_tensor *)b)->name);
}

static int cmp_begin(const void *a, const void *b)
{
	const tl_st_tensor *x = *(const tl_st_tensor *const *)a, *y = *(const tl_st_tensor *const *)b;
	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static void free_tensors(tl_st_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->tensors[i].name);
	free(f->tensors);
	f->tensors = NULL;
	f->n = 0;
}

static int parse(tl_st_file *f, char *err, size_t errsz)
{
	const char *p = f->path;
	if (f->size < 8)
		return tl_errf(err, errsz, "%s: not a safetensors file (%zu bytes, shorter than the 8-byte header length)",
			    p, f->size);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | f->base[i];
	if (n > f->size - 8)
		return tl_errf(err, errsz, "%s: header length %llu beyond the end of the file (%zu bytes): truncated or not safetensors",
			    p, (unsigned long long)n, f->size);
	if (n > MAX_HEADER)
		return tl_errf(err, errsz, "%s: header length %llu too large", p, (unsigned long long)n);
	if (n < 2 || f->base[8] != '{')
		return tl_errf(err, errsz, "%s: header is not a JSON object", p);
	f->data = f->base + 8 + n;
	f->data_size = f->size - 8 - (size_t)n;
	json_error_t je;
	json_t *h = json_loadb((const char *)f->base + 8, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!h)
		return tl_errf(err, errsz, "%s: header is not valid JSON (column %d: %s)", p, je.position, je.text);
	int rc = -1;
	if (!json_is_object(h)) {
		tl_errf(err, errsz, "%s: header is not a JSON object", p);
		goto out;
	}
	f->tensors = tl_xcalloc(json_object_size(h) + 1, sizeof *f->tensors);
	const char *key;
	json_t *v;
	json_object_foreach(h, key, v)
	{
		if (!strcmp(key, "__metadata__")) {
			if (!json_is_object(v)) {
				tl_errf(err, errsz, "%s: __metadata__ is not an object", p);
				goto out;
			}
			continue;
		}
		if (strlen(key) == 0 || strlen(key) > 1024) {
			tl_errf(err, errsz, "%s: bad tensor name", p);
			goto out;
		}
		if (!json_is_object(v)) {
			tl_errf(err, errsz, "%s: tensor '%s': entry is not an object", p, key);
			goto out;
		}
		tl_st_tensor *t = &f->tensors[f->n];
		const char *dt = json_string_value(json_object_get(v, "dtype"));
		json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
		if (!dt) {
			tl_errf(err, errsz, "%s: tensor '%s': no dtype", p, key);
			goto out;
		}
		t->dtype = -1;
		for (int d = 0; d < TL_ST_NDTYPES; d++)
			if (!strcmp(dt, dtypes[d].name))
				t->dtype = d;
		if (t->dtype < 0) {
			tl_errf(err, errsz, "%s: tensor '%s': unknown dtype '%.32s'", p, key, dt);
			goto out;
		}
		if (!json_is_array(shape) || json_array_size(shape) > TL_ST_MAXDIM) {
			tl_errf(err, errsz, "%s: tensor '%s': shape is not an array of at most %d sizes", p, key,
			     TL_ST_MAXDIM);
			goto out;
		}
		t->ndim = (int)json_array_size(shape);
		size_t numel = 1;
		for (int d = 0; d < t->ndim; d++) {
			json_t *s = json_array_get(shape, (size_t)d);
			if (!json_is_integer(s) || json_integer_value(s) < 0 ||
			    json_integer_value(s) > (json_int_t)1 << 40) {
				tl_errf(err, errsz, "%s: tensor '%s': bad size in shape", p, key);
				goto out;
			}
			t->shape[d] = (int64_t)json_integer_value(s);
			if (t->shape[d] && numel > SIZE_MAX / 16 / (size_t)t->shape[d]) {
				tl_errf(err, errsz, "%s: tensor '%s': shape too large", p, key);
				goto out;
			}
			numel *= (size_t)t->shape[d];
		}
		t->numel = numel;
		if (!json_is_array(offs) || json_array_size(offs) != 2 ||
		    !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1))) {
			tl_errf(err, errsz, "%s: tensor '%s': data_offsets is not [begin, end]", p, key);
			goto out;
		}
		json_int_t b = json_integer_value(json_array_get(offs, 0)),
			   e = json_integer_value(json_array_get(offs, 1));
		if (b < 0 || e < b || (uint64_t)e > f->data_size) {
			tl_errf(err, errsz, "%s: tensor '%s': data_offsets [%lld, %lld] out of range (data section %zu bytes): truncated file?",
			     p, key, (long long)b, (long long)e, f->data_size);
			goto out;
		}
		t->begin = (size_t)b;
		t->end = (size_t)e;
		if (t->end - t->begin != numel * dtypes[t->dtype].size) {
			tl_errf(err, errsz, "%s: tensor '%s': %zu bytes for %zu elements of %s", p, key, t->end - t->begin,
			     numel, dt);
			goto out;
		}
		t->name = tl_xstrdup(key);
		f->n++;
	}
	/* no two tensors share bytes */
	if (f->n > 1) {
		tl_st_tensor **by = tl_xmalloc(f->n * sizeof *by);
		for (size_t i = 0; i < f->n; i++)
			by[i] = &f->tensors[i];
		qsort(by, f->n, sizeof *by, cmp_begin);
		const tl_st_tensor *last = by[0]; /* the tensor ending furthest so far */
		for (size_t i = 1; i < f->n; i++) {
			if (by[i]->end > by[i]->begin && by[i]->begin < last->end) {
				tl_errf(err, errsz, "%s: tensors '%s' and '%s' overlap", p, last->name, by[i]->name);
				free(by);
				goto out;
			}
			if (by[i]->end > last->end)
				last = by[i];
		}
		free(by);
	}
	qsort(f->tensors, f->n, sizeof *f->tensors, cmp_name);
	rc = 0;
out:
	json_decref(h);
	return rc;
}

int tl_st_open_mem(tl_st_file *f, const void *buf, size_t size, const char *name, char *err, size_t errsz)
{
	memset(f, 0, sizeof *f);
	f->path = tl_xstrdup(name);
	f->base = buf;
	f->size = size;
	if (parse(f, err, errsz) < 0) {
		tl_st_close(f);
		return -1;
	}
	return 0;
}

int tl_st_open(tl_st_file *f, const char *path, char *err, size_t errsz)
{
	memset(f, 0, sizeof *f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tl_errf(err, errsz, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return tl_errf(err, errsz, "%s: not a regular file", path);
	}
	f->path = tl_xstrdup(path);
	f->size = (size_t)st.st_size;
	if (f->size) {
		void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			free(f->path);
			return tl_errf(err, errsz, "cannot map %s: %s", path, strerror(e));
		}
		f->base = m;
		f->mapped = 1;
	}
	close(fd);
	if (parse(f, err, errsz) < 0) {
		tl_st_close(f);
		return -1;
	}
	return 0;
}

void tl_st_close(tl_st_file *f)
{
	free_tensors(f);
	if (f->mapped && f->base)
		munmap((void *)f->base, f->size);
	free(f->path);
	memset(f, 0, sizeof *f);
}

const tl_st_tensor *tl_st_find(const tl_st_file *f, const char *name)
{
	tl_st_tensor key = {.name = (char *)name};
	if (!f->n)
		return NULL;
	return bsearch(&key, f->tensors, f->n, sizeof key, cmp_name);
}

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0) {
		if (man == 0)
			u = sign;
		else { /* subnormal */
			float v = ldexpf((float)man, -24);
			return sign ? -v : v;
		}
	} else if (exp == 31)
		u = sign | 0x7f800000u | man << 13;
	else
		u = sign | (exp + 112) << 23 | man << 13;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

int tl_st_read_f32(const tl_st_file *f, const tl_st_tensor *t, float *out, char *err, size_t errsz)
{
	const uint8_t *p = f->data + t->begin;
	size_t n = t->numel;
	switch (t->dtype) {
	case TL_ST_F32:
		memcpy(out, p, n * 4);
		return 0;
	case TL_ST_F16:
		for (size_t i = 0; i < n; i++)
			out[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		return 0;
	case TL_ST_BF16:
		for (size_t i = 0; i < n; i++) {
			uint32_t u = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
			memcpy(&out[i], &u, 4);
		}
		return 0;
	case TL_ST_F64:
		for (size_t i = 0; i < n; i++) {
			double d;
			memcpy(&d, p + 8 * i, 8);
			out[i] = (float)d;
		}
		return 0;
	default:
		return tl_errf(err, errsz, "%s: tensor '%s': dtype %s is not a floating type", f->path, t->name,
			    tl_st_dtype_name(t->dtype));
	}
}
