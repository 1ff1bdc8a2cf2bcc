/* fuzz_stream.c - the msgpack record reader (tl_reader, gzip included) and
 * field access: every record returned is a map; tl_rec_str/i32s/f32s
 * either refuse or return values inside the record; every error has a
 * message and an exit code for bad data or I/O. */
#include "fuzz.h"
#include "tl/json.h"
#include "tl/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("in.s", data, size);
	tl_reader *r = tl_reader_open(path);
	FZ_CHECK(r);
	int32_t *iv = NULL;
	float *fv = NULL;
	size_t icap = 0, fcap = 0;
	tl_buf js = {0};
	static const char *keys[] = {"text", "ids", "vec", "label", "type_ids", "logits"};
	tl_record rec;
	int ret;
	uint64_t n = 0; /* data records so far: headers are not counted (number 0) */
	while ((ret = tl_reader_next(r, &rec)) == TL_READ_OK) {
		FZ_CHECK(rec.map && rec.map->type == MSGPACK_OBJECT_MAP);
		if (!rec.is_header)
			n++;
		FZ_CHECK(rec.no == (rec.is_header ? 0 : n) && tl_reader_count(r) == n);
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
			size_t len = 0;
			int bad = 0;
			const char *s = tl_rec_str(&rec, keys[k], &len, &bad);
			const msgpack_object *o = tl_rec_get(&rec, keys[k]);
			FZ_CHECK(!s || (o && o->type == MSGPACK_OBJECT_STR && s == o->via.str.ptr && len == o->via.str.size));
			FZ_CHECK(!bad || (o && o->type != MSGPACK_OBJECT_STR));
			long ni = tl_rec_i32s(&rec, keys[k], &iv, &icap);
			FZ_CHECK(ni >= -2 && (ni < 0 || (size_t)ni <= icap || ni == 0));
			long nf = tl_rec_f32s(&rec, keys[k], &fv, &fcap);
			FZ_CHECK(nf >= -2 && (nf < 0 || (size_t)nf <= fcap || nf == 0));
			if (ni > 0)
				iv[ni - 1] ^= 1; /* touch the last element: ASan checks the size */
			if (nf > 0)
				fv[nf - 1] += 1;
		}
		js.len = 0;
		tl_json_from_msgpack(&js, rec.map, NULL, 0);
		FZ_CHECK(js.len >= 2 && js.data[0] == '{' && js.data[js.len - 1] == '}');
	}
	if (ret == TL_READ_ERR) {
		const char *m = tl_reader_error(r);
		FZ_CHECK(m && m[0]);
		int code = tl_reader_error_code(r);
		FZ_CHECK(code == TL_EXIT_DATA || code == TL_EXIT_IO);
	}
	tl_buf_free(&js);
	free(iv);
	free(fv);
	tl_reader_close(r);
	return 0;
}
