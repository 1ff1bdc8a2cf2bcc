/* probs.c - labels and the 'probs' map of prediction records (tl/probs.h). */
#include "tl/probs.h"

#include <stdio.h>
#include <string.h>

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
