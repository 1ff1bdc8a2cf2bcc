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

#include "tl/util.h"

/* ---------------- reading ---------------- */

typedef struct tl_reader tl_reader;

/* The deepest nesting of maps and arrays a record may have (the record's
 * own map is level 1): msgpack-c's limit. The reader refuses deeper
 * records as bad data, and the writers of streams from other formats
 * (tl_json_to_msgpack) refuse to produce them. */
#define TL_STREAM_MAX_DEPTH 32

/* Open a stream for reading; path NULL or "-" means stdin. gzip input is
 * read transparently. Returns NULL with errno set when the file cannot be
 * opened. Free with tl_reader_close. */
tl_reader *tl_reader_open(const char *path);
/* Open an input file for gzip-transparent reading (a zlib gzFile as void
 * *; path NULL or "-" means stdin): the one opening of every input FILE
 * (tl_reader_open, tl_source, tl_input_open). NULL with errno set when it
 * cannot be opened; EISDIR for a directory (read(2) would fail later with
 * no name attached). */
void *tl_gzopen_input(const char *path);
/* tl_gzopen_input with zlib's buffer set (gzbuffer): *want bytes, or for
 * a regular file smaller than that its size rounded up to 4 KiB (8 KiB
 * at least), so that a small input does not allocate a quarter megabyte
 * (zlib asks for three times the buffer; the fuzz harnesses open
 * thousands of small files a second). The size set is left in *want. */
void *tl_gzopen_input_buf(const char *path, unsigned *want);
/* The state of a gzFile (as void *) after a read returned <= 0: 0 when
 * it is fine (a clean end of input), else the exit code with the message
 * in msg, naming the input (name; NULL: none; zlib's "<fd:N>" is never
 * shown): TL_EXIT_DATA for gzip data cut short ("NAME: unexpected end of
 * file (truncated gzip)"), TL_EXIT_IO for corrupt gzip data ("read error:
 * NAME: corrupt gzip data (DETAIL)") and read errors ("read error: NAME:
 * strerror"). The one reading of zlib's errors for every input (streams,
 * text, JSON lines, stop words, word vectors). */
int tl_gz_status(void *gz, const char *name, char *msg, size_t msz);
/* Same over an already open zlib gzFile (passed as void * to keep zlib out
 * of this header); the reader takes ownership and gzcloses it. */
tl_reader *tl_reader_open_gz(void *gz);
/* The input's name for messages (copied; NULL: none). tl_reader_open sets
 * the path, or "standard input". */
void tl_reader_set_name(tl_reader *r, const char *name);
void tl_reader_close(tl_reader *r);

typedef struct {
	const msgpack_object *map; /* the record: always of type MAP; owned by the reader */
	uint64_t no;               /* the data record's number, from 1, as a user
				    * counts them: header records are not counted
				    * and have no = 0 */
	int is_header;             /* {"tl": 1, "kind": "header", ...} */
} tl_record;

enum { TL_READ_EOF = 0, TL_READ_OK = 1, TL_READ_ERR = -1 };

/* Read the next record. Valid until the next call. On TL_READ_ERR a
 * message is available from tl_reader_error() (e.g. "truncated record",
 * "not a map (string)", "nesting deeper than 32 levels", "declared
 * 4294967295 elements but the input is 9 bytes"); the caller reports it
 * with the record number tl_reader_error_recno(r). Every record is checked
 * whole before msgpack-c builds it, so nesting and declared counts are
 * bad data (TL_EXIT_DATA), never an allocation. An input whose first byte
 * is text (printable ASCII, white space, a UTF-8 BOM) is bad data about the
 * whole input, record number 0: "NAME: this is text, not a tl record
 * stream: run tl-clean first". An input that starts with '{' (after white
 * space or a BOM) is read as JSON lines, one record per object. A gzip input that ends
 * before its trailer is bad data about the whole input: "NAME: unexpected
 * end of file (truncated gzip)" with record number 0. */
int tl_reader_next(tl_reader *r, tl_record *rec);
const char *tl_reader_error(const tl_reader *r);
/* Data records read so far (headers not counted); after an error, with
 * the record the error is about. */
uint64_t tl_reader_count(const tl_reader *r);
/* The record number the last error concerns: 0 when it concerns the whole
 * input (a truncated gzip), else tl_reader_count(r): the number the record
 * would have had as a data record. */
uint64_t tl_reader_error_recno(const tl_reader *r);

/* After TL_READ_ERR: the exit code that fits the error, TL_EXIT_IO for a
 * read error, TL_EXIT_DATA for bad data. (Tools: tl_reader_next_or_die in
 * tl/cli.h reads and reports in one call.) */
int tl_reader_error_code(const tl_reader *r);

/* ---------------- several inputs ---------------- */

/* The input of a tool: the records of FILE... one after the other (no
 * files: standard input; "-": standard input), in the manner of jq's
 * jq_util_input. The next file is opened when one ends, so a file that
 * cannot be opened is reported after the records before it. Record numbers
 * run on across files (rec->no counts the data records of the whole
 * input from 1; headers are not counted). */
typedef struct tl_source tl_source;

/* files[0..nfiles-1] are borrowed: they must outlive the source (argv).
 * nfiles 0 means standard input. Free with tl_source_free. */
tl_source *tl_source_new(char *const *files, int nfiles);
void tl_source_free(tl_source *s);

/* Only the first header record of the whole input is returned; later ones
 * are skipped (a tool that writes one header for everything). */
void tl_source_set_one_header(tl_source *s, int on);

/* Have tl_source_next return TL_SOURCE_FILE_END after the last record of
 * each file read as a stream (before the next file is opened): a tool that
 * batches records flushes there. Off by default. */
enum { TL_SOURCE_FILE_END = 2 };
void tl_source_set_file_ends(tl_source *s, int on);

/* A hook called with each file just opened (a zlib gzFile passed as
 * void *, owned by the source, and the name for messages, "standard
 * input" for "-"), before any record is read: it returns 0 to have the
 * file read as a record stream, 1 when it consumed the file itself (the
 * source closes it and goes on with the next one), -1 on an error it set
 * in e (tl_source_next then returns TL_READ_ERR with it). tl-cat uses it
 * to read JSON lines. */
typedef int (*tl_source_file_fn)(void *ctx, void *gz, const char *name, tl_err *e);
void tl_source_set_file_hook(tl_source *s, tl_source_file_fn fn, void *ctx);

/* Open the first file now rather than at the first tl_source_next (for a
 * tool that reports an unreadable input before it loads anything else).
 * Returns 0, or -1 with e set as tl_source_next would. */
int tl_source_start(tl_source *s, tl_err *e);

/* The next record: TL_READ_OK (rec valid until the next call), TL_READ_EOF
 * after the last file, TL_SOURCE_FILE_END (see above), TL_READ_ERR with e set (e may be NULL): "cannot open
 * FILE: strerror" (TL_EXIT_IO), or the reader's message (code as
 * tl_reader_error_code) for a record, whose number within its file is then
 * tl_source_error_recno. Do not call again after TL_READ_ERR. */
int tl_source_next(tl_source *s, tl_record *rec, tl_err *e);
/* Whether the record last returned is the first one of the whole input. */
int tl_source_first(const tl_source *s);
/* The file being read, for messages: its path or "standard input"; NULL
 * before the first file is opened. Valid while s lives. */
const char *tl_source_name(const tl_source *s);
/* After TL_READ_ERR: the number of the record the error is about,
 * counted as rec->no is (data records, on across the files); 0 when the
 * error is not about a record (open, a truncated gzip). */
uint64_t tl_source_error_recno(const tl_source *s);

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

/* Write errors are sticky: the first one is kept on the writer (and
 * later output is dropped), the writing functions return -1 from then on,
 * tl_writer_error tells the errno value and tl_writer_free returns -1.
 * In addition the process-wide handler set with tl_set_write_error_handler
 * is called with the errno value when the error happens; tl_init (tl/cli.h)
 * installs one that exits (EPIPE: quietly with 0; otherwise "write error:
 * ..." and TL_EXIT_IO). Without a handler the library only reports. */
typedef void (*tl_write_error_handler)(int errnum);
/* Set the handler (NULL: none); returns the previous one. */
tl_write_error_handler tl_set_write_error_handler(tl_write_error_handler h);

/* Write records to f (not closed by tl_writer_free). */
tl_writer *tl_writer_open(FILE *f);
/* Flushes pending data and frees w; returns 0, or -1 on a write error
 * (errno set: the sticky error, or fflush's). */
int tl_writer_free(tl_writer *w);
/* The sticky error: 0, or the errno value of the first write error
 * (E2BIG: more keys set on one record than the writer holds). */
int tl_writer_error(const tl_writer *w);

/* Start a record copying src (a MAP, may be NULL). */
void tl_writer_start(tl_writer *w, const msgpack_object *src);
/* Add or replace key: returns a packer into which the caller packs exactly
 * one value. Valid until the next call on w. */
msgpack_packer *tl_writer_key(tl_writer *w, const char *key);
/* Remove key from the copy of src. */
void tl_writer_drop(tl_writer *w, const char *key);
/* Write the record (buffered). Returns 0, or -1 when the writer has a
 * write error (see above). */
int tl_writer_end(tl_writer *w);

/* Pack a whole record yourself: returns the output packer; pack exactly
 * one map, then call tl_writer_commit. */
msgpack_packer *tl_writer_raw(tl_writer *w);
/* Returns 0, or -1 when the writer has a write error. */
int tl_writer_commit(tl_writer *w);

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
