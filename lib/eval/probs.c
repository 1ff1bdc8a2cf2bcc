/* probs.c - labels and the 'probs' map of prediction records (tl/probs.h). */
#include "tl/probs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tl/fsutil.h"
#include "tl/util.h"

int tl_label_scalar(const msgpack_object *o, tl_label_fn fn, void *ctx, int *id)
{
	char tmp[32];
	if (o->type == MSGPACK_OBJECT_STR) {
		if (!o->via.str.size) { /* msgpack-c gives "" a NULL pointer */
			*id = fn(ctx, "", 0);
			return 0;
		}
		if (memchr(o->via.str.ptr, 0, o->via.str.size))
			return -1;
		*id = fn(ctx, o->via.str.ptr, o->via.str.size);
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)o->via.u64);
		*id = fn(ctx, tmp, (size_t)n);
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		int n = snprintf(tmp, sizeof tmp, "%lld", (long long)o->via.i64);
		*id = fn(ctx, tmp, (size_t)n);
		return 0;
	}
	return -1;
}

long tl_probs_parse(const msgpack_object *q, tl_label_fn fn, void *ctx, int **ids, double **vals, size_t *cap)
{
	if (q->type != MSGPACK_OBJECT_MAP)
		return TL_PROBS_NOT_MAP;
	long n = 0;
	for (uint32_t i = 0; i < q->via.map.size; i++) {
		const msgpack_object *k = &q->via.map.ptr[i].key, *v = &q->via.map.ptr[i].val;
		int lid;
		double val;
		if (tl_label_scalar(k, fn, ctx, &lid) < 0)
			return TL_PROBS_BAD;
		if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
			val = v->via.f64;
		else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			val = (double)v->via.u64;
		else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			val = (double)v->via.i64;
		else
			return TL_PROBS_BAD;
		if (!(val >= 0 && val <= 1))
			return TL_PROBS_BAD;
		if ((size_t)n == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			*ids = tl_xrealloc(*ids, *cap * sizeof **ids);
			*vals = tl_xrealloc(*vals, *cap * sizeof **vals);
		}
		(*ids)[n] = lid;
		(*vals)[n] = val;
		n++;
	}
	return n;
}

/* ---------------- label maps ---------------- */

static int names_fail(tl_label_names *m, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	tl_label_names_free(m);
	return -1;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = tl_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

static void names_push(tl_label_names *m, char *key, char *name)
{
	m->name = tl_xrealloc(m->name, (m->n + 1) * sizeof *m->name);
	if (!m->positional) {
		m->key = tl_xrealloc(m->key, (m->n + 1) * sizeof *m->key);
		m->key[m->n] = key;
	}
	m->name[m->n++] = name;
}

/* distinct keys and names */
static int names_check(tl_label_names *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < m->n; i++)
		for (size_t j = 0; j < i; j++) {
			if (m->key && !strcmp(m->key[i], m->key[j]))
				return names_fail(m, err, errlen, "label '%s' is named twice", m->key[i]);
			if (!strcmp(m->name[i], m->name[j]))
				return names_fail(m, err, errlen, "name '%s' is given to two labels", m->name[i]);
		}
	return 0;
}

int tl_label_names_parse(const char *spec, tl_label_names *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	struct stat st;
	if (!*spec)
		return names_fail(m, err, errlen, "empty: give a file (one name a line) or KEY=NAME,...");
	if (stat(spec, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return names_fail(m, err, errlen, "%s: is a directory", spec);
		tl_buf b = {0};
		if (tl_fs_read_file(spec, &b) < 0) {
			tl_buf_free(&b);
			return names_fail(m, err, errlen, "%s: %s", spec, strerror(errno));
		}
		m->positional = 1;
		size_t i = 0, line = 0;
		while (i < b.len) {
			const char *p = b.data + i, *nl = memchr(p, '\n', b.len - i);
			size_t len = nl ? (size_t)(nl - p) : b.len - i;
			i += len + (nl != NULL);
			line++;
			if (len && p[len - 1] == '\r')
				len--;
			if (!len) {
				tl_buf_free(&b);
				return names_fail(m, err, errlen, "%s: line %zu is empty (one name a line)", spec, line);
			}
			if (memchr(p, 0, len)) {
				tl_buf_free(&b);
				return names_fail(m, err, errlen, "%s: line %zu holds a NUL byte", spec, line);
			}
			names_push(m, NULL, dup_n(p, len));
		}
		tl_buf_free(&b);
		if (!m->n)
			return names_fail(m, err, errlen, "%s: no names (one name a line)", spec);
		return names_check(m, err, errlen);
	}
	if (!strchr(spec, '='))
		return names_fail(m, err, errlen, "'%s' is neither a file nor KEY=NAME[,KEY=NAME...]", spec);
	const char *p = spec;
	for (;;) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (!eq || eq == p || eq == p + len - 1)
			return names_fail(m, err, errlen, "'%.*s' is not KEY=NAME (both non-empty)", (int)len, p);
		if (memchr(p, '\n', len))
			return names_fail(m, err, errlen, "'%.*s' holds a newline", (int)len, p);
		names_push(m, dup_n(p, (size_t)(eq - p)), dup_n(eq + 1, len - (size_t)(eq - p) - 1));
		if (!end)
			break;
		p = end + 1;
	}
	return names_check(m, err, errlen);
}

int tl_label_names_bind(tl_label_names *m, const char *const *labels, size_t n, char *err, size_t errlen)
{
	if (!m->positional)
		return 0;
	if (n != m->n) {
		snprintf(err, errlen, "%zu names for %zu labels (one name a line, in label order)", m->n, n);
		return -1;
	}
	m->key = tl_xmalloc((n ? n : 1) * sizeof *m->key);
	for (size_t i = 0; i < n; i++)
		m->key[i] = tl_xstrdup(labels[i]);
	m->positional = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->key[i], m->key[j])) {
				snprintf(err, errlen, "label '%s' occurs twice in the label order", m->key[i]);
				return -1;
			}
	return 0;
}

const char *tl_label_names_get(const tl_label_names *m, const char *s, size_t len)
{
	if (!m || m->positional || !m->key)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->key[i]) == len && !memcmp(m->key[i], s, len))
			return m->name[i];
	return NULL;
}

void tl_label_names_free(tl_label_names *m)
{
	if (m->key)
		for (size_t i = 0; i < m->n; i++)
			free(m->key[i]);
	for (size_t i = 0; i < m->n; i++)
		free(m->name[i]);
	free(m->key);
	free(m->name);
	memset(m, 0, sizeof *m);
}
