/* embed_features.c - the record side of tl-embed's classic feature kinds
 * (--bow, --tfidf, --word2vec): the text of a record, the "sparse" value,
 * the header. The command line and the record loop are in cmd/tl-embed.c. */
#include "tl/features.h"
#include "tl/json.h"
#include "tl/stream.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

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
	tl_writer_drop(w, "embed"); /* an earlier encoder's vectors are not these */
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

/* ---------------- provenance of feature vectors ---------------- */

/* The map under key in header as a new JSON object, or NULL. */
static json_t *header_map(const msgpack_object *header, const char *key)
{
	if (!header || header->type != MSGPACK_OBJECT_MAP)
		return NULL;
	const msgpack_object *o = tl_map_get(header, key);
	if (!o || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	tl_buf b = {0};
	tl_json_from_msgpack(&b, o, key, strlen(key));
	json_t *j = json_loadb(b.data, b.len, 0, NULL);
	tl_buf_free(&b);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *tl_feat_provenance(const msgpack_object *header, int kind)
{
	if (kind == TL_FEAT_PROV_VEC) {
		json_t *e = header_map(header, "embed");
		if (e) {
			json_t *j = json_object();
			json_object_set_new(j, "kind", json_string("bert"));
			json_object_update(j, e);
			json_decref(e);
			return j;
		}
		json_t *f = header_map(header, "features");
		const char *k = f ? json_string_value(json_object_get(f, "kind")) : NULL;
		if (k && !strcmp(k, "word2vec"))
			return f;
		json_decref(f);
		return NULL;
	}
	json_t *f = header_map(header, "features");
	const char *k = f ? json_string_value(json_object_get(f, "kind")) : NULL;
	if (k && (!strcmp(k, "bow") || !strcmp(k, "tfidf")))
		return f;
	json_decref(f);
	return NULL;
}

/* ---------------- segmented Chinese ---------------- */

int tl_header_cjk(const msgpack_object *header)
{
	if (!header || header->type != MSGPACK_OBJECT_MAP)
		return -1;
	const msgpack_object *c = tl_map_get(header, "clean");
	if (!c || c->type != MSGPACK_OBJECT_MAP)
		return -1;
	const msgpack_object *z = tl_map_get(c, "zh_segmented");
	if (!z || z->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	return z->via.boolean ? 1 : 0;
}

int tl_cjk_check(int model_words, int stream, const char *where, char *msg, size_t msz)
{
	*msg = 0;
	if (stream < 0 || !!model_words == !!stream)
		return 0;
	if (model_words) {
		snprintf(msg, msz,
			 "%s splits Chinese into words (trained on text segmented by tl-clean --segment jieba), "
			 "but the stream's header says its text was not segmented: run it through "
			 "tl-clean --segment jieba as at training",
			 where);
		return -1;
	}
	snprintf(msg, msz,
		 "%s splits Chinese into characters, but the stream's text was segmented into words "
		 "(tl-clean --segment): it is read as characters, as at training",
		 where);
	return 1;
}

/* A text model's CJK splitting: config.json "cjk" ("words"; absent: chars). */
static int model_cjk_words(const char *dir)
{
	size_t plen = strlen(dir) + 16;
	char *path = tl_xmalloc(plen);
	snprintf(path, plen, "%s/config.json", dir);
	json_t *cj = json_load_file(path, 0, NULL);
	free(path);
	const char *v = cj ? json_string_value(json_object_get(cj, "cjk")) : NULL;
	int words = v && !strcmp(v, "words");
	json_decref(cj);
	return words;
}

/* The value of key in o as text for messages ("" when absent). */
static void value_str(const json_t *o, const char *key, char *out, size_t n)
{
	json_t *v = json_object_get(o, key);
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(out, n, "%s", s ? s : "(none)");
	free(s);
}

int tl_feat_provenance_check(const char *dir, const msgpack_object *header, char *msg, size_t msz)
{
	*msg = 0;
	size_t plen = strlen(dir) + 16;
	char *path = tl_xmalloc(plen);
	snprintf(path, plen, "%s/tl.json", dir);
	json_t *tj = json_load_file(path, 0, NULL);
	json_t *params = tj ? json_object_get(tj, "params") : NULL;
	const char *input = params ? json_string_value(json_object_get(params, "input")) : NULL;
	int kind = !input ? 0 : !strcmp(input, "vec") ? TL_FEAT_PROV_VEC : !strcmp(input, "sparse") ? TL_FEAT_PROV_SPARSE : 0;
	int rc = 0;
	if (kind) /* else a text model, BERT, or no tl.json: nothing to compare */
		rc = tl_feat_provenance_compare(json_object_get(params, "features"), header, kind, path, msg, msz);
	else if (input && !strcmp(input, "text")) /* a linear text model splits as at training */
		rc = tl_cjk_check(model_cjk_words(dir), tl_header_cjk(header), dir, msg, msz);
	free(path);
	json_decref(tj);
	return rc;
}

int tl_feat_provenance_compare(const json_t *mine, const msgpack_object *header, int kind, const char *where,
			       char *msg, size_t msz)
{
	*msg = 0;
	json_t *theirs = tl_feat_provenance(header, kind);
	int rc = 0;
	if (!theirs)
		return 0;
	if (!json_is_object(mine)) {
		snprintf(msg, msz, "the model (%s) does not record how its training vectors were made; "
				   "the stream's are not checked", where);
		json_decref(theirs);
		return 1;
	}
	static const char *const keys[] = {"kind", "sha256", "pool", "layer", "normalize", "dim", NULL};
	tl_buf why = {0};
	for (const char *const *k = keys; *k; k++) {
		json_t *a = json_object_get(theirs, *k), *b = json_object_get(mine, *k);
		if (!a || !b || json_equal(a, b))
			continue;
		char va[96], vb[96];
		value_str(theirs, *k, va, sizeof va);
		value_str(mine, *k, vb, sizeof vb);
		tl_buf_printf(&why, "%s%s %s in the stream, %s in the model", why.len ? "; " : "", *k, va, vb);
	}
	const char *name = json_object_get(mine, "model") ? "model" : "file";
	char *js = json_dumps(theirs, JSON_COMPACT | JSON_SORT_KEYS), *jm = json_dumps(mine, JSON_COMPACT | JSON_SORT_KEYS);
	if (why.len) {
		snprintf(msg, msz, "the vectors were made differently from the model's training vectors: %s (stream: %s; model %s: %s)",
			 tl_buf_cstr(&why), js, where, jm);
		rc = -1;
	} else if ((!json_object_get(theirs, "sha256") || !json_object_get(mine, "sha256")) &&
		   !json_equal(json_object_get(theirs, name), json_object_get(mine, name)) && json_object_get(theirs, name)) {
		char va[256], vb[256];
		value_str(theirs, name, va, sizeof va);
		value_str(mine, name, vb, sizeof vb);
		snprintf(msg, msz, "the stream's vectors come from %s %s, the model's from %s (no sha256 to compare)", name,
			 va, vb);
		rc = 1;
	}
	free(js);
	free(jm);
	tl_buf_free(&why);
	json_decref(theirs);
	return rc;
}
