/* tl/leak.h - keeping augmented copies and training records out of
 * evaluation (tl-train --dev, tl-predict, tl-eval).
 *
 * A record's identity here is its content key (tl_content_key below): a
 * 64-bit hash of its "text" and (when present) its "text_b" - the bytes
 * the models read, so the key survives re-numbering, splitting and
 * renaming of files, which record ids do not (tl-clean numbers records
 * from 1 in every file). tl-augment writes the source record's key into every copy
 * (aug.src_key, 16 hex digits), so a copy knows its original even after
 * the stream was split.
 *
 * The training side of a run is summarised in a tl_keyset: the keys of its
 * original records and the source keys of its augmented copies. A model
 * directory keeps it in train-keys.bin (8 bytes a record), so that
 * tl-predict can mark the records a model was trained on.
 *
 * Cost: the key reads each text once, 8 bytes a step; the training side
 * only appends (key, id) pairs and sorts them once, at the first question.
 * A key set and a tl_leak are indexed lazily by the first question asked
 * of them (has, count, save, check): ask one question from one thread
 * before sharing them between threads (tl_keyset_load returns an indexed
 * set).
 *
 * Ownership: a tl_keyset is created by tl_keyset_new or tl_keyset_load and
 * freed by tl_keyset_free; nothing else keeps a pointer to it. Records
 * passed in are borrowed for the call only. Error messages go into the
 * caller's err buffer.
 */
#ifndef TL_LEAK_H
#define TL_LEAK_H

#include <stddef.h>
#include <stdint.h>

#include "tl/stream.h"

/* The file name of the training keys inside a model directory. */
#define TL_TRAIN_KEYS_FILE "train-keys.bin"

/* The hash of the content key: h = seed ^ (n * K0); for each 8-byte
 * little-endian word w of data (the last 1-7 bytes zero-padded into one
 * more word): w *= K1; w ^= w >> 31; h = (h ^ w) * K0; h ^= h >> 29; then
 * h ^= h >> 32; h *= F1; h ^= h >> 29; h *= F2; h ^= h >> 32 (all modulo
 * 2^64; K0 9e3779b97f4a7c15, K1 d6e8feb86659fd93, F1 bf58476d1ce4e5b9,
 * F2 94d049bb133111eb). Not a cryptographic hash. */
uint64_t tl_key_hash(const void *data, size_t n, uint64_t seed);
/* The content key of a text and text_b (NULL: no text_b):
 * k = tl_key_hash(text, 0), then k = tl_key_hash(text_b, k) when there is
 * a text_b; a key of 0 becomes 1. */
uint64_t tl_content_key(const char *text, size_t len, const char *text_b, size_t len_b);

typedef struct tl_keyset tl_keyset;

tl_keyset *tl_keyset_new(void);
void tl_keyset_free(tl_keyset *s);
/* Add a key (any value; duplicates are kept once). */
void tl_keyset_add(tl_keyset *s, uint64_t key);
int tl_keyset_has(const tl_keyset *s, uint64_t key);
/* Number of distinct keys. */
size_t tl_keyset_count(const tl_keyset *s);
/* Write the keys to path through tl_fs_write_file: the magic "TLKEYS2\n",
 * the count, the distinct keys in increasing order, all 64-bit
 * little-endian. 0, or -1 with err set. ("TLKEYS1\n" files hold the
 * FNV-1a keys of tl before 2026-12.) */
int tl_keyset_save(const tl_keyset *s, const char *path, char *err, size_t errsz);
/* Read a file written by tl_keyset_save. NULL with err set when it cannot
 * be read (errno set), is damaged (errno EINVAL) or holds keys of the
 * older format (errno EPROTO, err "...: keys of an older format ...,
 * seen-check off": tools warn and check nothing). */
tl_keyset *tl_keyset_load(const char *path, char *err, size_t errsz);

/* 1 when keys cover rec: its content key, or the source key of an
 * augmented copy, is among them (a record a model was trained on). */
int tl_keyset_covers(const tl_keyset *keys, const tl_record *rec);

/* Content key of a record (tl_content_key of its "text" and "text_b"); 0
 * when it has no string "text" (keys are never 0 otherwise). */
uint64_t tl_rec_content_key(const tl_record *rec);

/* What a record says about augmentation. */
typedef struct {
	int is_copy;         /* the record has "aug" (a tl-augment copy) */
	uint64_t src_key;    /* aug.src_key, 0 when absent or unreadable */
	const char *src;     /* aug.src as text (borrowed from the record, or
			      * from buf for an integer), NULL when absent */
	size_t src_len;
	char buf[24];
} tl_aug_info;
void tl_rec_aug_info(const tl_record *rec, tl_aug_info *a);

/* A record's id as text into buf (a string id is copied, cut at bufsz-1
 * bytes; an integer is printed); "" when it has none. Returns buf. */
const char *tl_rec_id_text(const tl_record *rec, char *buf, size_t bufsz);

/* The training side of a leak check: add every training record (originals
 * and copies), then ask about each evaluation record. */
typedef struct tl_leak tl_leak;
tl_leak *tl_leak_new(void);
void tl_leak_free(tl_leak *l);
void tl_leak_add_train(tl_leak *l, const tl_record *rec);
/* The same for a caller that has the record's content key already
 * (tl_content_key of the text it read); key is unused for a copy. */
void tl_leak_add_train_key(tl_leak *l, const tl_record *rec, uint64_t key);
/* The training keys (originals' keys and copies' source keys), owned by l:
 * what a model directory stores. */
const tl_keyset *tl_leak_train_keys(const tl_leak *l);

enum tl_leak_kind {
	TL_LEAK_NONE = 0,
	TL_LEAK_AUG_COPY,     /* an augmented copy in the evaluation data */
	TL_LEAK_AUG_OF_TRAIN, /* ... whose source is a training record */
	TL_LEAK_SOURCE,       /* training has augmented copies of this record */
	TL_LEAK_DUPLICATE     /* the same text is a training record (a warning,
			       * not a refusal: data sets share sentences) */
};
/* Check one evaluation record against the training side. Returns the
 * kind and writes a sentence for the message into why (no record number:
 * the caller adds it). */
int tl_leak_check(const tl_leak *l, const tl_record *rec, char *why, size_t whysz);

/* Checking an evaluation stream record by record (tl-train --dev): the
 * refusal, or with drop the records to leave out, and the counts for the
 * messages after the stream. Plain data, on the caller's stack; name is
 * borrowed. */
typedef struct {
	const char *name;        /* the stream's name in messages */
	int drop;                /* leave leaking records out instead of refusing */
	uint64_t dropped, dups;  /* counts so far */
	uint64_t first_drop_no, first_dup_no; /* their first record numbers */
	char first_drop[320], first_dup[320]; /* ... and tl_leak_check's reason */
} tl_leak_eval;
void tl_leak_eval_init(tl_leak_eval *v, const char *name, int drop);
/* One record of the stream (rec->no is the number in messages): 1 keep
 * it, 0 leave it out (drop, counted), -1 refuse: e is set (TL_EXIT_DATA,
 * "NAME: record N: reason (hint)"). Duplicates are kept and counted. */
int tl_leak_eval_rec(const tl_leak *l, tl_leak_eval *v, const tl_record *rec, tl_err *e);
/* The lines to print after the stream, without the tool's name and
 * without a newline; "" when there is nothing to say: the records left out
 * ("NAME: dropped N dev records that leak training data (first: ...)")
 * and the duplicates ("NAME: N dev records have the same text as a
 * training record (first: ...)"). */
void tl_leak_eval_summary(const tl_leak_eval *v, char *dropped, size_t dsz, char *dups, size_t usz);

/* The "train_keys" entry of a model's tl.json describes TL_TRAIN_KEYS_FILE
 * with its count and this description of the key. */
#define TL_TRAIN_KEYS_DESC "tlkey2: h(text_b, h(text, 0)), man tl-augment"

/* The training keys of the model directory dir (its TL_TRAIN_KEYS_FILE).
 * NULL with errno ENOENT when the directory has none (a model made before
 * tl-train stored them); NULL with errno EPROTO and err set when they are
 * keys of the older format (tools warn: nothing can be checked); NULL with
 * err set and another errno when the file cannot be read or is damaged.
 * Free with tl_keyset_free. */
tl_keyset *tl_model_train_keys(const char *dir, char *err, size_t errsz);

/* The "train_keys" entry of a model's tl.json for keys: a new jansson
 * object {file, count, key} that the caller owns (json_object_set_new). */
struct json_t;
struct json_t *tl_train_keys_json(const tl_keyset *keys);

#endif
