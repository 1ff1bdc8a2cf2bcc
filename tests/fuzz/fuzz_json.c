/* fuzz_json.c - tl-cat's JSON lines -> msgpack (tl_json_to_msgpack, the
 * function tl-cat calls for each line) and back (tl_json_from_msgpack):
 * a line that converts is one msgpack map; converting it to JSON and that
 * JSON again to msgpack gives the same bytes and the same JSON (the round
 * trip is stable). A refusal has a message. */
#include "fuzz.h"
#include "tl/json.h"

static int to_msgpack(const char *text, size_t len, msgpack_sbuffer *sb, char *err, size_t errsz)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	return tl_json_to_msgpack(&pk, text, len, 1, err, errsz);
}

static void to_json(const msgpack_sbuffer *sb, tl_buf *out)
{
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	FZ_CHECK(msgpack_unpack_next(&up, sb->data, sb->size, &off) == MSGPACK_UNPACK_SUCCESS);
	FZ_CHECK(off == sb->size && up.data.type == MSGPACK_OBJECT_MAP);
	tl_json_from_msgpack(out, &up.data, NULL, 0);
	msgpack_unpacked_destroy(&up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	msgpack_sbuffer a, b;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	tl_buf j1 = {0}, j2 = {0};
	if (to_msgpack((const char *)data, size, &a, err, sizeof err) < 0) {
		FZ_CHECK(err[0]);
		goto out;
	}
	to_json(&a, &j1);
	FZ_CHECK(!memchr(j1.data, '\n', j1.len));
	FZ_CHECK(to_msgpack(j1.data, j1.len, &b, err, sizeof err) == 0);
	to_json(&b, &j2);
	FZ_CHECK(j1.len == j2.len && !memcmp(j1.data, j2.data, j1.len));
out:
	tl_buf_free(&j1);
	tl_buf_free(&j2);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	return 0;
}
