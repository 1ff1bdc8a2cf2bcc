/* fuzz_fields.c - the record fields the tools read beyond tl_rec_str/
 * i32s/f32s (fuzz_stream.c): "text" (tl_rec_text), the content key and
 * augmentation info (tl/leak.h), the id as text, "vec" (tl_lin_rec_vec)
 * and "sparse" in both forms (tl_lin_rec_sparse), and the leak check of
 * every record against the odd-numbered ones as training data. The input
 * is a msgpack stream. Invariants: a value returned lies inside the record
 * (ASan), a refusal has a message, a vec or sparse accepted is finite, an
 * id fits its buffer, the content key is 0 exactly when there is no string
 * "text", a training record checked against training data is a leak. */
#include <math.h>

#include "fuzz.h"
#include "tl/features.h"
#include "tl/leak.h"
#include "tl/linear.h"
#include "tl/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("in.s", data, size);
	tl_reader *r = tl_reader_open(path);
	FZ_CHECK(r);
	tl_leak *lk = tl_leak_new();
	tl_sparse sp;
	memset(&sp, 0, sizeof sp);
	float *v = NULL;
	size_t vcap = 0;
	tl_record rec;
	int ret;
	while ((ret = tl_reader_next(r, &rec)) == TL_READ_OK) {
		size_t len = 0;
		tl_err e = {0};
		const char *t = tl_rec_text(&rec, &len, &e);
		if (t) {
			const msgpack_object *o = tl_rec_get(&rec, "text");
			FZ_CHECK(o && o->type == MSGPACK_OBJECT_STR && t == o->via.str.ptr && len == o->via.str.size);
		} else
			FZ_CHECK(e.code == TL_EXIT_DATA && e.msg[0]);
		uint64_t key = tl_rec_content_key(&rec);
		FZ_CHECK(!t == !key);

		tl_aug_info a;
		tl_rec_aug_info(&rec, &a);
		if (a.src) {
			volatile char c = 0;
			for (size_t i = 0; i < a.src_len; i++)
				c ^= a.src[i];
			(void)c;
		}
		char idb[8];
		const char *id = tl_rec_id_text(&rec, idb, sizeof idb);
		FZ_CHECK(id == idb && strlen(idb) < sizeof idb);

		char msg[512] = "";
		long nv = tl_lin_rec_vec(&rec, &v, &vcap, msg, sizeof msg);
		FZ_CHECK(nv >= -3);
		if (nv >= 0) {
			FZ_CHECK((size_t)nv <= vcap || nv == 0);
			for (long i = 0; i < nv; i++)
				FZ_CHECK(isfinite(v[i]));
		} else
			FZ_CHECK(msg[0]);

		const msgpack_object *so = tl_rec_get(&rec, "sparse");
		if (so) {
			msg[0] = 0;
			if (tl_lin_rec_sparse(so, &sp, 64, msg, sizeof msg) == 0) {
				FZ_CHECK(sp.n <= sp.cap || sp.n == 0);
				FZ_CHECK(sp.dim >= 0);
				for (size_t i = 0; i < sp.n; i++)
					FZ_CHECK(sp.idx[i] >= 0 && isfinite(sp.val[i]));
			} else
				FZ_CHECK(msg[0]);
		}

		if (rec.no % 2)
			tl_leak_add_train(lk, &rec);
		char why[320] = "";
		int k = tl_leak_check(lk, &rec, why, sizeof why);
		FZ_CHECK(k >= TL_LEAK_NONE && k <= TL_LEAK_DUPLICATE);
		FZ_CHECK(k == TL_LEAK_NONE || why[0]);
		if (rec.no % 2 && (a.is_copy || key))
			FZ_CHECK(k != TL_LEAK_NONE); /* training data leaks into itself */
	}
	if (ret == TL_READ_ERR)
		FZ_CHECK(tl_reader_error(r) && tl_reader_error(r)[0]);
	tl_sparse_free(&sp);
	free(v);
	tl_leak_free(lk);
	tl_reader_close(r);
	return 0;
}
