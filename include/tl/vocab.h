/* tl/vocab.h - token vocabularies: token <-> id, and the tokenizer settings
 * of a Hugging Face model directory.
 *
 * A vocabulary file is one token per line; a token's id is its 0-based line
 * number (as Hugging Face's vocab.txt). Trailing whitespace of a line is not
 * part of the token (as tokenizers' WordPiece::read_file); when a token
 * appears twice, lookups give the later line, as in Hugging Face.
 *
 * Ownership: every tl_vocab returned here (tl_vocab_default included: each
 * call makes a new one) is the caller's, freed with tl_vocab_free; it
 * copies what it is built from. Strings it returns (tokens, sha256, name)
 * point into it and stay valid until tl_vocab_free. A vocabulary is
 * read-only once built, so threads may share one. The embedded bytes of
 * tl_vocab_default_data are static and never freed.
 */
#ifndef TL_VOCAB_H
#define TL_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct tl_vocab tl_vocab;

/* Load a vocabulary file. Returns NULL with a message in err ("cannot open
 * FILE: No such file or directory", "FILE: empty vocabulary") on failure.
 * Free with tl_vocab_free. */
tl_vocab *tl_vocab_load(const char *path, char *err, size_t errsz);
/* Build from memory (copied); name is used in messages. */
tl_vocab *tl_vocab_from_mem(const char *data, size_t len, const char *name, char *err, size_t errsz);
/* The vocabulary embedded in libtl: the uncased BERT vocabulary
 * (bert-base-uncased, 30,522 tokens; the one all-MiniLM-L6-v2 uses).
 * NULL only if the embedded data were broken (a build error). */
tl_vocab *tl_vocab_default(void);
void tl_vocab_free(tl_vocab *v);

/* Bytes of the embedded default vocabulary (static, not to be freed). */
const char *tl_vocab_default_data(size_t *len);

/* id of a token, or -1. */
int32_t tl_vocab_id(const tl_vocab *v, const char *tok, size_t len);
/* id of "##" + tok (a WordPiece continuation), or -1; no copy is made. */
int32_t tl_vocab_cont_id(const tl_vocab *v, const char *tok, size_t len);
/* Token of an id (points into v, not NUL-terminated unless the file was),
 * or NULL when id is out of range. */
const char *tl_vocab_token(const tl_vocab *v, int32_t id, size_t *len);
/* Number of ids (lines). */
size_t tl_vocab_size(const tl_vocab *v);
/* Longest token in bytes (continuations counted without "##"). */
size_t tl_vocab_max_len(const tl_vocab *v);
/* sha256 of the file bytes, 64 hex chars (owned by v). */
const char *tl_vocab_sha256(const tl_vocab *v);
/* The path or name it was loaded from (owned by v). */
const char *tl_vocab_name(const tl_vocab *v);

/* Tokenizer settings of a model directory, from tokenizer_config.json
 * (do_lower_case, strip_accents, tokenize_chinese_chars, model_max_length)
 * and config.json (max_position_embeddings). A field not found keeps the
 * value it had on entry, so initialise with tl_vocab_config_default. */
typedef struct {
	int lower;          /* do_lower_case (HF default: 1) */
	int strip_accents;  /* 1, 0, or -1 = "null": follows lower */
	int chinese;        /* tokenize_chinese_chars (default 1) */
	long max_len;       /* model_max_length if sane, else max_position_embeddings; 0 = unknown */
} tl_vocab_config;
void tl_vocab_config_default(tl_vocab_config *c);
/* Read dir/tokenizer_config.json and dir/config.json when present. Returns
 * 0, or -1 with a message in err when a file exists but is not valid JSON
 * or has a wrong type. */
int tl_vocab_read_config(const char *dir, tl_vocab_config *c, char *err, size_t errsz);

#endif
