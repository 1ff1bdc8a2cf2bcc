/* fzmodel.h - helpers of the harnesses that load a model directory
 * (fuzz_bert_config.c, fuzz_heads.c, fuzz_lstm_model.c): fixture files
 * copied into a subdirectory of fz_dir() once, and one record
 * {"ids": [...]} to score. */
#ifndef TL_FZMODEL_H
#define TL_FZMODEL_H

#include "fuzz.h"
#include "tl/stream.h"

#include <msgpack.h>
#include <sys/stat.h>

/* fz_dir()/sub (created), as a static string of the caller's buffer. */
static inline const char *fz_subdir(const char *sub, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s/%s", fz_dir(), sub);
	mkdir(buf, 0700);
	return buf;
}

/* Copy $TL_ROOT/src (or ./src) to dst; exit 1 when it cannot be read. */
static inline void fz_copy(const char *src, const char *dst)
{
	char path[1024];
	const char *root = getenv("TL_ROOT");
	snprintf(path, sizeof path, "%s/%s", root ? root : ".", src);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s (run from the repository root or set TL_ROOT)\n", path);
		exit(1);
	}
	FILE *o = fopen(dst, "wb");
	if (!o)
		abort();
	char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (fwrite(buf, 1, n, o) != n)
			abort();
	fclose(f);
	if (fclose(o) != 0)
		abort();
}

/* Write data to dir/name (replacing it). */
static inline void fz_write_in(const char *dir, const char *name, const void *data, size_t size)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
}

/* A record {"ids": ids[0..n)} unpacked into z, as tl_record *rec. */
static inline void fz_ids_record(msgpack_zone *z, msgpack_sbuffer *sb, const int32_t *ids, int n, msgpack_object *o,
				 tl_record *rec)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ids", 3);
	msgpack_pack_array(&pk, (size_t)n);
	for (int i = 0; i < n; i++)
		msgpack_pack_int32(&pk, ids[i]);
	FZ_CHECK(msgpack_unpack(sb->data, sb->size, NULL, z, o) == MSGPACK_UNPACK_SUCCESS);
	memset(rec, 0, sizeof *rec);
	rec->map = o;
	rec->no = 1;
}

#endif
