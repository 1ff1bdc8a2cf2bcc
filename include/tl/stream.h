/* tl/stream.h - msgpack record streams (DESIGN.md section 2).
 *
 * A stream is msgpack maps written back to back. A tool reads records with
 * tl_reader, looks up the keys it needs, and writes each output record with
 * tl_writer: every key of the source record is copied through untouched
 * except the ones the tool sets (replaced) or drops.
 *
 * Memory is bounded by the largest record: the reader reuses one buffer and
 * one zone, so an unbounded stream is processed in constant memory.
 *
 * Ownership: readers and writers are freed by their close functions. A
 * record returned by the reader, and every msgpack object, string and bin
 * inside it, belongs to the reader and stays valid only until the next
 * read or the close; a tool that keeps records longer copies them
 * (tl_rec_batch in tl/classifier.h). Keys and values given to a writer are
 * only read during the call that packs them.
 */
#ifndef TL_STREAM_H
#define TL_STREAM_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------- reading ---------------- */

typedef struct tl_reader tl_reader;

/* Open a stream for reading; path NULL or "-" means stdin. gzip input is
 * read transparently. Returns NULL with errno set when the file cannot be
 * opened. Free with tl_reader_close. */
tl_reader *tl_reader_open(const char *path);
/* Same over an already open zlib gzFile (passed as void * to keep zlib out
 * of this header); the reader takes ownership and gzcloses it. */
tl_reader *tl_reader_open_gz(void *gz);
void tl_reader_close(tl_reader *r);

typedef struct {
	const msgpack_object *map; /* the record: always of type MAP; owned by the reader */
	uint64_t no;               /* 1-based position in the stream (the header counts) */
	int is_header;             /* {"tl": 1, "kind": "header", ...} */
} tl_record;

enum { TL_READ_EOF = 0, TL_READ_OK = 1, TL_READ_ERR = -1 };

/* Read the next record. Valid until the next call. On TL_READ_ERR a
 * message is available from tl_reader_error() (e.g. "truncated record",
 * "not a map (string)"); the caller reports it with the record number
 * tl_reader_count(r). */
int tl_reader_next(tl_reader *r, tl_record *rec);
const char *tl_reader_error(const tl_reader *r);
uint64_t tl_reader_count(const tl_reader *r);

/* Read the next record or die (TL_EXIT_DATA / TL_EXIT_IO) with a message
 * naming the record. Returns 0 at end of input, 1 with a record. */
int tl_reader_next_or_die(tl_reader *r, tl_record *rec);

/* ---------------- field access ---------------- */

/* The value stored under key, or NULL. */
const msgpack_object *tl_map_get(const msgpack_object *map, const char *key);
static inline const msgpack_object *tl_rec_get(const tl_record *rec, const char *key)
{
	return tl_map_get(rec->map, key);
}
/* String value under key: pointer into the record (not NUL-terminated),
 * length in *len. NULL when absent; sets *bad=1 when present but not a
 * string (bad may be NULL). */
const char *tl_rec_str(const tl_record *rec, const char *key, size_t *len, int *bad);

/* Integer array under key: a bin of int32 little-endian or an array of
 * integers. Decoded into *buf (grown with realloc, owned by the caller).
 * Returns the element count, or -1 when the key is absent, -2 when malformed. */
long tl_rec_i32s(const tl_record *rec, const char *key, int32_t **buf, size_t *cap);
/* Float array under key: bin of float32 LE or array of numbers. Same rules. */
long tl_rec_f32s(const tl_record *rec, const char *key, float **buf, size_t *cap);

/* msgpack type name for messages ("string", "map", ...). */
const char *tl_msgpack_type_name(msgpack_object_type t);

/* Key equality helper. */
int tl_key_eq(const msgpack_object *k, const char *key);

/* ---------------- writing ---------------- */

typedef struct tl_writer tl_writer;

/* Write records to f (not closed by tl_writer_free). */
tl_writer *tl_writer_open(FILE *f);
/* Flushes pending data; returns 0, or -1 on a write error. */
int tl_writer_free(tl_writer *w);

/* Start a record copying src (a MAP, may be NULL). */
void tl_writer_start(tl_writer *w, const msgpack_object *src);
/* Add or replace key: returns a packer into which the caller packs exactly
 * one value. Valid until the next call on w. */
msgpack_packer *tl_writer_key(tl_writer *w, const char *key);
/* Remove key from the copy of src. */
void tl_writer_drop(tl_writer *w, const char *key);
/* Write the record. Dies with TL_EXIT_IO on a write error (EPIPE: quiet
 * exit 0 is handled by SIGPIPE's default action). */
void tl_writer_end(tl_writer *w);

/* Pack a whole record yourself: returns the output packer; pack exactly
 * one map, then call tl_writer_commit. */
msgpack_packer *tl_writer_raw(tl_writer *w);
void tl_writer_commit(tl_writer *w);

/* Convenience packers. */
void tl_pack_str(msgpack_packer *pk, const char *s, size_t len);
void tl_pack_cstr(msgpack_packer *pk, const char *s);
void tl_pack_i32_bin(msgpack_packer *pk, const int32_t *v, size_t n);
void tl_pack_f32_bin(msgpack_packer *pk, const float *v, size_t n);

/* ---------------- header records ---------------- */

/* Start a header record for this tool: copies in_header (may be NULL) and
 * sets "tl": 1, "kind": "header", and "chain": the old chain plus
 * {"tool": tl_progname, "version": ..., "args": [argv[1..]]}.
 * The caller may add keys with tl_writer_key, then calls tl_writer_end. */
void tl_header_start(tl_writer *w, const msgpack_object *in_header, int argc, char **argv);

#endif
