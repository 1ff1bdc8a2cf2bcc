/* fuzz_probs.c - tl-eval's reading of a record's 'probs' map and labels
 * (tl/probs.h), on the first msgpack object of the input read as tl-eval
 * reads it: the value of "probs" in a record {"probs": INPUT} through
 * tl_reader (whose scan refuses a declared count its bytes cannot hold: a
 * plain msgpack_unpack_next of a 5-byte array header allocated 400 MB, a
 * campaign timeout that no tool can meet); labels are interned in a
 * string table (as tl-eval does); the parse returns a map's
 * entry count with ids from the callback and values in [0, 1], or one of
 * the two refusals. */
#include "fuzz.h"
#include "tl/probs.h"
#include "tl/stream.h"
#include "tl/strtab.h"

static int intern(void *ctx, const char *s, size_t n)
{
	FZ_CHECK(!memchr(s, 0, n));
	return (int)tl_strtab_add(ctx, s, n, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[16 + 65536];
	if (size > 65536)
		return 0;
	static const uint8_t head[7] = {0x81, 0xa5, 'p', 'r', 'o', 'b', 's'};
	memcpy(buf, head, sizeof head);
	memcpy(buf + sizeof head, data, size);
	tl_reader *r = tl_reader_open(fz_write("p.s", buf, sizeof head + size));
	FZ_CHECK(r);
	tl_record rec;
	if (tl_reader_next(r, &rec) != TL_READ_OK || !tl_rec_get(&rec, "probs")) {
		tl_reader_close(r);
		return 0;
	}
	tl_strtab labels;
	tl_strtab_init(&labels);
	int *ids = NULL;
	double *vals = NULL;
	size_t cap = 0;
	const msgpack_object *q = tl_rec_get(&rec, "probs");
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
	tl_reader_close(r);
	return 0;
}
