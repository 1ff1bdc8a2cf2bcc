/* Unit tests for the record stream: writer pass-through, replacement,
 * dropping, headers, field decoding, sha256. */
#include "testhelp.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char path[] = "/tmp/tl-test-stream-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	tl_writer *w = tl_writer_open(f);

	/* record 1: built from scratch */
	tl_writer_start(w, NULL);
	tl_pack_cstr(tl_writer_key(w, "text"), "hello");
	int32_t ids[3] = {101, -7, 102};
	tl_pack_i32_bin(tl_writer_key(w, "ids"), ids, 3);
	msgpack_pack_int(tl_writer_key(w, "id"), 42);
	tl_writer_end(w);
	CHECK(tl_writer_free(w) == 0);
	fclose(f);

	/* read it back, then copy it with one key replaced and one dropped */
	tl_reader *r = tl_reader_open(path);
	CHECK(r != NULL);
	tl_record rec;
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(rec.no, 1);
	CHECK(!rec.is_header);
	size_t len = 0;
	const char *s = tl_rec_str(&rec, "text", &len, NULL);
	CHECK(s && len == 5 && memcmp(s, "hello", 5) == 0);
	int bad = 0;
	CHECK(tl_rec_str(&rec, "id", &len, &bad) == NULL && bad == 1);
	int32_t *buf = NULL;
	size_t cap = 0;
	CHECK_EQ_INT(tl_rec_i32s(&rec, "ids", &buf, &cap), 3);
	CHECK_EQ_INT(buf[1], -7);
	CHECK_EQ_INT(tl_rec_i32s(&rec, "nope", &buf, &cap), -1);
	CHECK_EQ_INT(tl_rec_i32s(&rec, "text", &buf, &cap), -2);

	char path2[] = "/tmp/tl-test-stream2-XXXXXX";
	int fd2 = mkstemp(path2);
	FILE *f2 = fdopen(fd2, "w");
	tl_writer *w2 = tl_writer_open(f2);
	char *argv[] = {"tl-test", "-x", NULL};
	tl_header_start(w2, NULL, 2, argv);
	tl_pack_cstr(tl_writer_key(w2, "extra"), "yes");
	tl_writer_end(w2);
	tl_writer_start(w2, rec.map);
	tl_pack_cstr(tl_writer_key(w2, "text"), "bye");
	tl_writer_drop(w2, "ids");
	tl_writer_end(w2);
	CHECK(tl_writer_free(w2) == 0);
	fclose(f2);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_EOF);
	tl_reader_close(r);

	r = tl_reader_open(path2);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK(rec.is_header);
	const msgpack_object *chain = tl_rec_get(&rec, "chain");
	CHECK(chain && chain->type == MSGPACK_OBJECT_ARRAY && chain->via.array.size == 1);
	CHECK_EQ_INT(tl_reader_next(r, &rec), TL_READ_OK);
	CHECK_EQ_INT(rec.map->via.map.size, 2); /* id kept, text replaced, ids dropped */
	s = tl_rec_str(&rec, "text", &len, NULL);
	CHECK(s && len == 3 && memcmp(s, "bye", 3) == 0);
	const msgpack_object *id = tl_rec_get(&rec, "id");
	CHECK(id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER && id->via.u64 == 42);
	CHECK(tl_rec_get(&rec, "ids") == NULL);
	tl_reader_close(r);
	unlink(path);
	unlink(path2);
	free(buf);

	char hex[65];
	tl_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	tl_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	TEST_REPORT("test_stream");
}
