/* fuzz_probs.c - tl-eval's reading of a record's 'probs' map and labels
 * (tl/probs.h), on the first msgpack object of the input: labels are
 * interned in a string table (as tl-eval does); the parse returns a map's
 * entry count with ids from the callback and values in [0, 1], or one of
 * the two refusals. */
#include "fuzz.h"
#include "tl/probs.h"
#include "tl/strtab.h"

static int intern(void *ctx, const char *s, size_t n)
{
	FZ_CHECK(!memchr(s, 0, n));
	return (int)tl_strtab_add(ctx, s, n, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	if (msgpack_unpack_next(&up, (const char *)data, size, &off) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(&up);
		return 0;
	}
	tl_strtab labels;
	tl_strtab_init(&labels);
	int *ids = NULL;
	double *vals = NULL;
	size_t cap = 0;
	const msgpack_object *q = &up.data;
	long n = tl_probs_parse(q, intern, &labels, &ids, &vals, &cap);
	if (q->type != MSGPACK_OBJECT_MAP)
		FZ_CHECK(n == TL_PROBS_NOT_MAP);
	else
		FZ_CHECK(n == TL_PROBS_BAD || (n >= 0 && (uint32_t)n == q->via.map.size));
	for (long i = 0; i < n; i++) {
		FZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < labels.n);
		FZ_CHECK(vals[i] >= 0 && vals[i] <= 1);
	}
	/* the label parser on each key, or on the object itself */
	int id;
	if (q->type == MSGPACK_OBJECT_MAP)
		for (uint32_t i = 0; i < q->via.map.size; i++) {
			if (tl_label_scalar(&q->via.map.ptr[i].key, intern, &labels, &id) == 0)
				FZ_CHECK(id >= 0 && (size_t)id < labels.n);
		}
	else if (tl_label_scalar(q, intern, &labels, &id) == 0)
		FZ_CHECK(id >= 0 && (size_t)id < labels.n);
	free(ids);
	free(vals);
	tl_strtab_free(&labels);
	msgpack_unpacked_destroy(&up);
	return 0;
}
