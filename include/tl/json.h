/* tl/json.h - converting between stream records and JSON lines.
 *
 * msgpack -> JSON: maps, arrays, strings, numbers as usual; bin values under
 * the keys ids/type_ids/attention_mask become int arrays, under vec/logits
 * float arrays, any other bin a base64 string.
 * JSON -> msgpack: the reverse; int arrays under ids/type_ids and number
 * arrays under vec/logits are stored as bins (DESIGN.md section 2), unless
 * a value does not fit (int32, or float range): then as a plain array.
 *
 * Ownership: nothing here allocates anything the caller must free apart
 * from what it appends to the caller's own buffers. The tl_buf functions
 * grow b->data with realloc (the caller frees it, tl_buf_free); msgpack
 * objects, texts and keys passed in are only read during the call, and no
 * pointer to them is kept.
 */
#ifndef TL_JSON_H
#define TL_JSON_H

#include "tl/stream.h"
#include "tl/util.h"

/* Append the JSON text of o to b (no newline). key is the map key o is
 * stored under (NULL at top level): it selects how a bin is shown. */
void tl_json_from_msgpack(tl_buf *b, const msgpack_object *o, const char *key, size_t keylen);

/* Append s as a JSON string literal (quoted, escaped). */
void tl_json_string(tl_buf *b, const char *s, size_t len);

/* Parse one JSON text (a line) and pack it into pk. Returns 0, or -1 with
 * a message in err (e.g. "invalid JSON at column 7: ...", "not a JSON
 * object", "nesting deeper than 32 levels ..." beyond
 * TL_STREAM_MAX_DEPTH, tl/stream.h: a record no tl tool could read back). With want_object the top level must be an object.
 * The packed bytes go to pk's buffer (the caller's); on -1 part of the
 * record may already be packed there, so the caller discards that
 * buffer's content. */
int tl_json_to_msgpack(msgpack_packer *pk, const char *text, size_t len, int want_object, char *err, size_t errsz);

#endif
