/* tl/model.h - model directories (DESIGN.md section 3): finding them,
 * reading config.json, checking the vocabulary of a stream.
 *
 * Default model search path, first hit wins:
 *   1. each directory of $TL_MODEL_PATH (colon-separated)
 *   2. the user's data directory: $XDG_DATA_HOME/tl/models, or
 *      ~/.local/share/tl/models when XDG_DATA_HOME is unset
 *      (`make models-user` links the default model there)
 *   3. $(PREFIX)/share/tl/models (compiled in as TL_MODEL_DIR by mk/bert.mk,
 *      filled by make install), and ../share/tl/models relative to the
 *      running executable
 *   4. the source tree's models/ when the executable runs from a build
 *      directory of a checkout: <exe dir>/../../models, taken only when
 *      <exe dir>/../.. holds the tree's Makefile and include/tl/model.h
 *      (build/bin/tl-x, build-san/bin/tl-x)
 *   5. ./models
 * A model name without a '/' (e.g. "all-MiniLM-L6-v2") is looked up in
 * these directories; a path (containing '/' or naming an existing
 * directory) is used as it is. The "not found" message lists every
 * directory searched and suggests `make models` only for the default
 * model's name; a path that does not exist is reported as such.
 *
 * Ownership: tl_model_find returns a path the caller frees with free();
 * tl_model_read_config a new jansson reference the caller releases with
 * json_decref. The other functions keep no pointer to their arguments;
 * results go to the caller's out parameters.
 */
#ifndef TL_MODEL_H
#define TL_MODEL_H

#include <jansson.h>
#include <stddef.h>

#include "tl/stream.h"

#define TL_DEFAULT_MODEL "all-MiniLM-L6-v2"

/* Resolve a model name or path to a directory holding config.json.
 * Returns a malloc'ed path (caller frees), or NULL with a message in err
 * listing where it looked. name NULL means TL_DEFAULT_MODEL. */
char *tl_model_find(const char *name, char *err, size_t errsz);

/* Parse dir/config.json. Returns a new reference (json_decref), or NULL
 * with a one-line message in err. */
json_t *tl_model_read_config(const char *dir, char *err, size_t errsz);

/* Integer field of a config: *out set and 0 returned, or -1 with err
 * ("dir/config.json: no integer \"hidden_size\""). With dflt >= 0 a missing
 * key gives dflt. */
int tl_model_config_int(const json_t *cfg, const char *dir, const char *key, long dflt, long *out, char *err,
			size_t errsz);

/* sha256 of dir/vocab.txt into out (64 hex + NUL); "" when there is no
 * vocab.txt. 0, or -1 with err when it exists but cannot be read. */
int tl_model_vocab_sha256(const char *dir, char out[65], char *err, size_t errsz);

/* Check a stream header against the model's vocabulary sha: 0 when it
 * matches or there is nothing to check (no header, header without
 * tokenizer.vocab_sha256: ids made by other means are trusted), -1 with
 * err on a mismatch, 1 with err ("DIR: no vocab.txt: cannot check ...")
 * when the header names a vocabulary but the model has no vocab.txt
 * (model_sha NULL or ""): the caller warns once. hdr is the header
 * record's map or NULL. */
int tl_model_check_vocab(const msgpack_object *hdr, const char *model_sha, const char *model_dir, char *err,
			 size_t errsz);

/* Set cfg's "id2label" ({"0": name0, ...}) and "label2id" ({name0: 0,
 * ...}) from names[0..n), in that order and in id order (Hugging Face's
 * config.json fields). cfg keeps its own references; names stay the
 * caller's. */
void tl_model_set_labels(json_t *cfg, char *const *names, int n);

#endif
