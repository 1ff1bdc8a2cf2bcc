/* embed_features.c - the record side of tl-embed's classic feature kinds
 * (--bow, --tfidf, --word2vec): the text of a record, the "sparse" value,
 * the header. The command line and the record loop are in cmd/tl-embed.c. */
#include "tl/features.h"
#include "tl/stream.h"
#include "tl/util.h"

const char *tl_rec_text(const tl_record *rec, size_t *len, tl_err *e)
{
	int bad = 0;
	const char *t = tl_rec_str(rec, "text", len, &bad);
	if (!t)
		tl_seterr(e, TL_EXIT_DATA, bad ? "\"text\" is not a string" : "no \"text\"");
	return t;
}

void tl_writer_sparse(tl_writer *w, const tl_sparse *sp)
{
	msgpack_packer *pk = tl_writer_key(w, "sparse");
	msgpack_pack_map(pk, 3);
	tl_pack_cstr(pk, "dim");
	msgpack_pack_int64(pk, sp->dim);
	tl_pack_cstr(pk, "idx");
	msgpack_pack_array(pk, (uint32_t)sp->n);
	for (size_t i = 0; i < sp->n; i++)
		msgpack_pack_int32(pk, sp->idx[i]);
	tl_pack_cstr(pk, "val");
	msgpack_pack_array(pk, (uint32_t)sp->n);
	for (size_t i = 0; i < sp->n; i++)
		msgpack_pack_float(pk, sp->val[i]);
}

int tl_embed_features_header(tl_writer *w, const msgpack_object *in_header, int argc, char **argv,
			     const char *kind, const char *file, const char *sha256, int64_t dim)
{
	tl_header_start(w, in_header, argc, argv);
	msgpack_packer *pk = tl_writer_key(w, "features");
	msgpack_pack_map(pk, 4);
	tl_pack_cstr(pk, "kind");
	tl_pack_cstr(pk, kind);
	tl_pack_cstr(pk, "file");
	tl_pack_cstr(pk, file);
	tl_pack_cstr(pk, "sha256");
	tl_pack_cstr(pk, sha256);
	tl_pack_cstr(pk, "dim");
	msgpack_pack_int64(pk, dim);
	return tl_writer_end(w);
}
