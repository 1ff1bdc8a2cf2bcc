/* stream.c - msgpack record streams: reader, field access, writer, headers. */
#include "tl/stream.h"
#include "tl/json.h"
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------- reading ---------------- */

/* Where the pre-scan of the record being read stands (see scan_record). */
typedef struct {
	size_t pos;                          /* bytes of the record checked */
	int depth;                           /* open non-empty containers */
	uint64_t left[TL_STREAM_MAX_DEPTH];  /* items still to come in each */
	uint64_t decl[TL_STREAM_MAX_DEPTH];  /* the count each one declared */
	unsigned char is_map[TL_STREAM_MAX_DEPTH];
} rec_scan;

struct tl_reader {
	gzFile gz;
	msgpack_unpacker up;
	msgpack_unpacked res;
	uint64_t count;  /* records read, headers included */
	uint64_t nhdr;   /* ... of which header records */
	int eof;
	int file_err; /* the error concerns the whole input, not a record */
	rec_scan sc;
	/* JSON lines (the input's first non-blank byte is '{'): each line is
	 * converted into msgpack in jsb and unpacked into res */
	int jsonl;
	tl_buf jl;            /* bytes read and not yet consumed, from jpos */
	size_t jpos;
	uint64_t jline;       /* lines consumed (blank ones included) */
	msgpack_sbuffer jsb;
	char *name;   /* for messages, or NULL */
	char err[256];
};

void *tl_gzopen_input(const char *path)
{
	int is_stdin = !path || strcmp(path, "-") == 0;
	errno = 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!is_stdin)
			close(fd);
		errno = EISDIR;
		return NULL;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (!gz) {
		int e = errno ? errno : ENOMEM;
		if (!is_stdin)
			close(fd);
		errno = e;
	}
	return gz;
}

void *tl_gzopen_input_buf(const char *path, unsigned *want)
{
	gzFile gz = tl_gzopen_input(path);
	if (!gz)
		return NULL;
	struct stat st;
	if (path && strcmp(path, "-") && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
	    (unsigned long long)st.st_size < *want) {
		unsigned n = ((unsigned)st.st_size + 4096) & ~4095u;
		*want = n < 8192 ? 8192 : n;
	}
	gzbuffer(gz, *want);
	return gz;
}

int tl_gz_status(void *gz, const char *name, char *msg, size_t msz)
{
	int zerr = Z_OK;
	const char *m = gzerror(gz, &zerr);
	const char *n = name ? name : "", *sep = name ? ": " : "";
	if (zerr == Z_OK)
		return 0;
	if (zerr == Z_ERRNO) {
		snprintf(msg, msz, "read error: %s%s%s", n, sep, strerror(errno));
		return TL_EXIT_IO;
	}
	/* zlib's message is "PATH: what" (PATH "<fd:N>" after gzdopen); its
	 * whats have no ": " */
	for (const char *p = m ? strstr(m, ": ") : NULL; p; p = strstr(p + 2, ": "))
		m = p + 2;
	if (!m || !*m)
		m = "unknown zlib error";
	if (zerr == Z_BUF_ERROR) {
		snprintf(msg, msz, "%s%sunexpected end of file (truncated gzip)", n, sep);
		return TL_EXIT_DATA;
	}
	/* corrupt data: an I/O error as tl-clean(1) has it (a damaged file) */
	snprintf(msg, msz, "read error: %s%s%s%s%s", n, sep, zerr == Z_DATA_ERROR ? "corrupt gzip data (" : "", m,
		 zerr == Z_DATA_ERROR ? ")" : "");
	return TL_EXIT_IO;
}

tl_reader *tl_reader_open(const char *path)
{
	unsigned want = 1 << 17;
	gzFile gz = tl_gzopen_input_buf(path, &want);
	if (!gz) {
		if (!errno)
			errno = ENOMEM;
		return NULL;
	}
	tl_reader *r = tl_reader_open_gz(gz);
	tl_reader_set_name(r, !path || strcmp(path, "-") == 0 ? "standard input" : path);
	return r;
}

void tl_reader_set_name(tl_reader *r, const char *name)
{
	free(r->name);
	r->name = name ? tl_xstrdup(name) : NULL;
}

tl_reader *tl_reader_open_gz(void *gz)
{
	tl_reader *r = tl_xcalloc(1, sizeof *r);
	r->gz = gz;
	if (!msgpack_unpacker_init(&r->up, 1 << 16))
		tl_oom("out of memory");
	msgpack_unpacked_init(&r->res);
	return r;
}

void tl_reader_close(tl_reader *r)
{
	if (!r)
		return;
	msgpack_unpacked_destroy(&r->res);
	msgpack_unpacker_destroy(&r->up);
	tl_buf_free(&r->jl);
	msgpack_sbuffer_destroy(&r->jsb);
	gzclose(r->gz);
	free(r->name);
	free(r);
}

const char *tl_reader_error(const tl_reader *r) { return r->err; }
uint64_t tl_reader_error_recno(const tl_reader *r) { return r->file_err ? 0 : r->count - r->nhdr; }
uint64_t tl_reader_count(const tl_reader *r) { return r->count - r->nhdr; }

const char *tl_msgpack_type_name(msgpack_object_type t)
{
	switch (t) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "string";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_EXT: return "ext";
	}
	return "unknown";
}

int tl_key_eq(const msgpack_object *k, const char *key)
{
	size_t n = strlen(key);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0;
}

const msgpack_object *tl_map_get(const msgpack_object *map, const char *key)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (tl_key_eq(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

static int is_header(const msgpack_object *map)
{
	const msgpack_object *tl = tl_map_get(map, "tl");
	const msgpack_object *kind = tl_map_get(map, "kind");
	return tl && kind && kind->type == MSGPACK_OBJECT_STR && kind->via.str.size == 6 &&
	       memcmp(kind->via.str.ptr, "header", 6) == 0;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The first bytes of an input that is not a record stream but text (a
 * TSV, CSV, plain text): say so and what to run, instead of "not a map but
 * integer". A stream's first byte is a map marker; printable ASCII, white
 * space or a UTF-8 byte order mark is text. JSON lines (the first byte
 * that is not white space, after a byte order mark, is '{') are read as
 * records (see next_jsonl).
 * b[0..n) are the bytes read so far. Returns 2 for JSON lines, 1 with
 * r->err set (about the whole input: r->file_err) for text, 0 for a
 * stream, -2 when only white space has come so far (more is needed). */
static int not_a_stream(tl_reader *r, const unsigned char *b, size_t n)
{
	unsigned c = b[0];
	size_t bom = n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf ? 3 : 0;
	if (c == '{' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || bom) {
		size_t i = bom;
		while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
			i++;
		if (i == n && !r->eof)
			return -2;
		if (i < n && b[i] == '{')
			return 2;
	}
	if (!((c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' || c == '\r' || c == 0xef))
		return 0;
	snprintf(r->err, sizeof r->err, "%s%sthis is text, not a tl record stream: run tl-clean first", r->name ? r->name : "",
		 r->name ? ": " : "");
	r->file_err = 1;
	return 1;
}

/* Check the record at the front of the unpacker's buffer before msgpack-c
 * builds it: msgpack-c fails with "out of memory" on nesting deeper than
 * TL_STREAM_MAX_DEPTH and allocates the objects of a declared count before
 * their bytes arrive (a 5-byte array header can ask for 96 GiB). The scan
 * walks the record's bytes with a stack bounded by the nesting limit and
 * resumes where it stopped when more bytes come, so msgpack-c only ever
 * sees a whole record, whose declared counts its bytes have shown to be
 * real. Returns 1 when the whole record is buffered (r->sc.pos is its
 * size), 0 when more bytes are needed, -1 on bad data (r->err set), 2
 * when the input is JSON lines. */
static int scan_record(tl_reader *r)
{
	const unsigned char *b = (const unsigned char *)r->up.buffer + r->up.off;
	size_t n = r->up.used - r->up.off;
	rec_scan *s = &r->sc;
	for (;;) {
		size_t p = s->pos;
		if (p >= n)
			return 0;
		unsigned c = b[p];
		if (r->count == 0 && p == 0 && s->depth == 0) {
			int k = not_a_stream(r, b, n);
			if (k == 1)
				return -1;
			if (k == 2)
				return 2;
			if (k == -2)
				return 0;
		}
		size_t hdr = 1, lenb = 0;   /* header bytes; bytes of the length in it */
		uint64_t payload = 0, count = 0;
		int container = 0, is_map = 0;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
			;
		else if (c <= 0x8f)
			container = 1, is_map = 1, count = c & 0x0f;
		else if (c <= 0x9f)
			container = 1, count = c & 0x0f;
		else if (c <= 0xbf)
			payload = c & 0x1f;
		else
			switch (c) {
			case 0xc4: case 0xd9: hdr = 2, lenb = 1; break;             /* bin8, str8 */
			case 0xc5: case 0xda: hdr = 3, lenb = 2; break;             /* bin16, str16 */
			case 0xc6: case 0xdb: hdr = 5, lenb = 4; break;             /* bin32, str32 */
			case 0xc7: hdr = 3, lenb = 1; break;                        /* ext8 */
			case 0xc8: hdr = 4, lenb = 2; break;                        /* ext16 */
			case 0xc9: hdr = 6, lenb = 4; break;                        /* ext32 */
			case 0xca: case 0xce: case 0xd2: hdr = 5; break;
			case 0xcb: case 0xcf: case 0xd3: hdr = 9; break;
			case 0xcc: case 0xd0: hdr = 2; break;
			case 0xcd: case 0xd1: hdr = 3; break;
			case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:      /* fixext 1..16 */
				hdr = 2, payload = (uint64_t)1 << (c - 0xd4);
				break;
			case 0xdc: case 0xde: hdr = 3, lenb = 2, container = 1, is_map = c == 0xde; break;
			case 0xdd: case 0xdf: hdr = 5, lenb = 4, container = 1, is_map = c == 0xdf; break;
			default: /* 0xc1, never used */
				snprintf(r->err, sizeof r->err, "malformed msgpack (is the input a tl stream?)");
				return -1;
			}
		if (n - p < hdr)
			return 0;
		if (lenb) {
			uint64_t v = be(b + p + 1, (int)lenb);
			if (container)
				count = v;
			else
				payload = v;
		}
		if (container) {
			if (s->depth >= TL_STREAM_MAX_DEPTH) {
				snprintf(r->err, sizeof r->err, "nesting deeper than %d levels", TL_STREAM_MAX_DEPTH);
				return -1;
			}
			s->pos = p + hdr;
			if (count) {
				s->left[s->depth] = is_map ? 2 * count : count;
				s->decl[s->depth] = count;
				s->is_map[s->depth] = (unsigned char)is_map;
				s->depth++;
				continue;
			}
		} else {
			if (n - p - hdr < payload)
				return 0;
			s->pos = p + hdr + payload;
		}
		/* an item is complete: it completes the containers it ends */
		for (;;) {
			if (s->depth == 0)
				return 1;
			if (--s->left[s->depth - 1] > 0)
				break;
			s->depth--;
		}
	}
}

/* At the end of the input inside a record: say what was missing. */
static void truncated(tl_reader *r)
{
	size_t n = r->up.used - r->up.off;
	const rec_scan *s = &r->sc;
	for (int i = 0; i < s->depth; i++)
		if (s->decl[i] > n) {
			snprintf(r->err, sizeof r->err, "declared %llu %s but the input is %zu bytes",
				 (unsigned long long)s->decl[i], s->is_map[i] ? "map entries" : "elements", n);
			return;
		}
	snprintf(r->err, sizeof r->err, "truncated record at end of input");
}

/* Read more of the input into buf (up to cap bytes): the count, 0 at the
 * end (r->eof set), -1 on an error (r->err set; r->file_err for a
 * truncated gzip). */
static int read_more(tl_reader *r, char *buf, size_t cap)
{
	int n = gzread(r->gz, buf, (unsigned)cap);
	if (n < 0) {
		int zerr;
		const char *m = gzerror(r->gz, &zerr);
		snprintf(r->err, sizeof r->err, "read error: %s", zerr == Z_ERRNO ? strerror(errno) : m);
		return -1;
	}
	if (n == 0) {
		int zerr;
		gzerror(r->gz, &zerr);
		if (zerr == Z_BUF_ERROR) {
			snprintf(r->err, sizeof r->err, "%s%sunexpected end of file (truncated gzip)", r->name ? r->name : "",
				 r->name ? ": " : "");
			r->file_err = 1;
			return -1;
		}
		if (zerr != Z_OK) {
			snprintf(r->err, sizeof r->err, "read error: corrupt gzip input");
			return -1;
		}
		r->eof = 1;
	}
	return n;
}

/* The record of a parsed map: its number (data records from 1, headers
 * not counted) and whether it is a header. */
static int deliver(tl_reader *r, tl_record *rec, const msgpack_object *o)
{
	rec->map = o;
	rec->is_header = is_header(o);
	if (rec->is_header)
		r->nhdr++;
	rec->no = rec->is_header ? 0 : r->count - r->nhdr;
	return TL_READ_OK;
}

/* The next record of a JSON-lines input: one JSON object a line, blank
 * lines skipped, converted with tl_json_to_msgpack (the same rules as
 * tl-cat -t msgpack). Errors name the line. */
static int next_jsonl(tl_reader *r, tl_record *rec)
{
	for (;;) {
		char *start = r->jl.data + r->jpos;
		size_t avail = r->jl.len - r->jpos;
		char *nl = avail ? memchr(start, '\n', avail) : NULL;
		if (!nl && !r->eof) {
			/* keep the unfinished line, read more after it */
			if (avail)
				memmove(r->jl.data, start, avail);
			r->jl.len = avail;
			r->jpos = 0;
			tl_buf_reserve(&r->jl, 1 << 16);
			int n = read_more(r, r->jl.data + avail, r->jl.cap - avail - 1);
			if (n < 0) {
				if (!r->file_err)
					r->count++;
				return TL_READ_ERR;
			}
			r->jl.len = avail + (size_t)n;
			continue;
		}
		if (!nl && !avail)
			return TL_READ_EOF;
		size_t len = nl ? (size_t)(nl - start) : avail;
		r->jpos += len + (nl != NULL);
		r->jline++;
		while (len && (start[len - 1] == '\r' || start[len - 1] == ' ' || start[len - 1] == '\t'))
			len--;
		size_t i = 0;
		while (i < len && (start[i] == ' ' || start[i] == '\t'))
			i++;
		if (i == len)
			continue;
		r->count++;
		msgpack_sbuffer_clear(&r->jsb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &r->jsb, msgpack_sbuffer_write);
		char err[200];
		if (tl_json_to_msgpack(&pk, start + i, len - i, 1, err, sizeof err) < 0) {
			snprintf(r->err, sizeof r->err, "line %llu: %s", (unsigned long long)r->jline, err);
			return TL_READ_ERR;
		}
		size_t off = 0;
		if (msgpack_unpack_next(&r->res, r->jsb.data, r->jsb.size, &off) != MSGPACK_UNPACK_SUCCESS) {
			snprintf(r->err, sizeof r->err, "line %llu: cannot read the converted JSON back", (unsigned long long)r->jline);
			return TL_READ_ERR;
		}
		return deliver(r, rec, &r->res.data);
	}
}

int tl_reader_next(tl_reader *r, tl_record *rec)
{
	r->file_err = 0;
	if (r->jsonl)
		return next_jsonl(r, rec);
	for (;;) {
		int sc = scan_record(r);
		if (sc == 2) {
			/* JSON lines: what the unpacker holds is their start */
			r->jsonl = 1;
			msgpack_sbuffer_init(&r->jsb);
			size_t skip = r->up.used - r->up.off >= 3 && !memcmp(r->up.buffer + r->up.off, "\xef\xbb\xbf", 3)
					      ? 3 : 0; /* a UTF-8 byte order mark */
			tl_buf_add(&r->jl, r->up.buffer + r->up.off + skip, r->up.used - r->up.off - skip);
			r->up.off = r->up.used;
			return next_jsonl(r, rec);
		}
		if (sc < 0) {
			r->count++;
			return TL_READ_ERR;
		}
		if (sc > 0) {
			msgpack_unpack_return ret = msgpack_unpacker_next(&r->up, &r->res);
			memset(&r->sc, 0, sizeof r->sc);
			if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
				tl_oom("out of memory while reading record %llu", (unsigned long long)r->count + 1);
			r->count++;
			if (ret != MSGPACK_UNPACK_SUCCESS) {
				snprintf(r->err, sizeof r->err, "malformed msgpack (is the input a tl stream?)");
				return TL_READ_ERR;
			}
			const msgpack_object *o = &r->res.data;
			if (o->type != MSGPACK_OBJECT_MAP) {
				snprintf(r->err, sizeof r->err, "not a map but %s: a stream is one msgpack map per record",
					 tl_msgpack_type_name(o->type));
				return TL_READ_ERR;
			}
			/* data records are numbered from 1 as a user counts them:
			 * header records are not counted (and have no number) */
			return deliver(r, rec, o);
		}
		/* the record is not all here: read more */
		if (r->eof) {
			if (r->up.used > r->up.off) {
				r->count++;
				truncated(r);
				return TL_READ_ERR;
			}
			return TL_READ_EOF;
		}
		if (!msgpack_unpacker_reserve_buffer(&r->up, 1 << 16))
			tl_oom("out of memory while reading record %llu", (unsigned long long)r->count + 1);
		int n = gzread(r->gz, msgpack_unpacker_buffer(&r->up), (unsigned)msgpack_unpacker_buffer_capacity(&r->up));
		if (n <= 0) {
			/* "read error" first: tl_reader_error_code says I/O */
			int code = tl_gz_status(r->gz, r->name, r->err, sizeof r->err);
			if (!code && n < 0)
				code = TL_EXIT_IO, snprintf(r->err, sizeof r->err, "read error: %s", strerror(errno));
			if (code) {
				/* about the whole input, not a record */
				r->file_err = 1;
				return TL_READ_ERR;
			}
			r->eof = 1;
		} else {
			msgpack_unpacker_buffer_consumed(&r->up, (size_t)n);
		}
	}
}

int tl_reader_error_code(const tl_reader *r)
{
	return strncmp(r->err, "read error", 10) == 0 ? TL_EXIT_IO : TL_EXIT_DATA;
}

/* ---------------- several inputs ---------------- */

struct tl_source {
	char *const *files;
	int nfiles, next;       /* files[next] is the one to open next */
	tl_reader *r;           /* the open file, or NULL */
	const char *name;       /* its name for messages */
	uint64_t base;          /* records of the files before it */
	uint64_t err_no;        /* record number of the last error, 0: none */
	int one_header, seen_header, nret, file_ends;
	tl_source_file_fn hook;
	void *hook_ctx;
};

static char *const stdin_only[] = {"-"};

tl_source *tl_source_new(char *const *files, int nfiles)
{
	tl_source *s = tl_xcalloc(1, sizeof *s);
	s->files = nfiles > 0 ? files : stdin_only;
	s->nfiles = nfiles > 0 ? nfiles : 1;
	return s;
}

void tl_source_free(tl_source *s)
{
	if (!s)
		return;
	tl_reader_close(s->r);
	free(s);
}

void tl_source_set_one_header(tl_source *s, int on) { s->one_header = on; }
void tl_source_set_file_ends(tl_source *s, int on) { s->file_ends = on; }

void tl_source_set_file_hook(tl_source *s, tl_source_file_fn fn, void *ctx)
{
	s->hook = fn;
	s->hook_ctx = ctx;
}

int tl_source_first(const tl_source *s) { return s->nret == 1; }
const char *tl_source_name(const tl_source *s) { return s->name; }
uint64_t tl_source_error_recno(const tl_source *s) { return s->err_no; }

/* Open the next file: 1 opened (s->r set), 0 no file left, -1 error. */
static int source_open(tl_source *s, tl_err *e)
{
	for (;;) {
		if (s->next >= s->nfiles)
			return 0;
		const char *path = s->files[s->next++];
		int is_stdin = strcmp(path, "-") == 0;
		s->name = is_stdin ? "standard input" : path;
		unsigned want = 1 << 17;
		gzFile gz = tl_gzopen_input_buf(path, &want);
		if (!gz && errno == EISDIR)
			return tl_seterr(e, TL_EXIT_IO, "%s: is a directory", s->name);
		if (!gz)
			return tl_seterr(e, TL_EXIT_IO, "cannot open %s: %s", s->name, strerror(errno ? errno : ENOMEM));
		int rc = s->hook ? s->hook(s->hook_ctx, gz, s->name, e) : 0;
		if (rc == 0) {
			s->r = tl_reader_open_gz(gz);
			tl_reader_set_name(s->r, s->name);
			return 1;
		}
		gzclose(gz);
		if (rc < 0)
			return -1;
	}
}

int tl_source_start(tl_source *s, tl_err *e)
{
	s->err_no = 0;
	if (s->r || s->next > 0)
		return 0;
	return source_open(s, e) < 0 ? -1 : 0;
}

int tl_source_next(tl_source *s, tl_record *rec, tl_err *e)
{
	s->err_no = 0;
	for (;;) {
		if (!s->r) {
			int rc = source_open(s, e);
			if (rc <= 0)
				return rc < 0 ? TL_READ_ERR : TL_READ_EOF;
		}
		int ret = tl_reader_next(s->r, rec);
		if (ret == TL_READ_EOF) {
			s->base += tl_reader_count(s->r);
			tl_reader_close(s->r);
			s->r = NULL;
			if (s->file_ends)
				return TL_SOURCE_FILE_END;
			continue;
		}
		if (ret == TL_READ_ERR) {
			/* numbered as rec->no is: on across the files */
			s->err_no = tl_reader_error_recno(s->r);
			if (s->err_no)
				s->err_no += s->base;
			return tl_seterr(e, tl_reader_error_code(s->r), "%s", tl_reader_error(s->r));
		}
		if (rec->is_header) {
			if (s->one_header && s->seen_header)
				continue;
			s->seen_header = 1;
		}
		if (!rec->is_header)
			rec->no += s->base;
		s->nret++;
		return TL_READ_OK;
	}
}

const char *tl_rec_str(const tl_record *rec, const char *key, size_t *len, int *bad)
{
	const msgpack_object *o = tl_rec_get(rec, key);
	if (bad)
		*bad = 0;
	if (!o)
		return NULL;
	if (o->type != MSGPACK_OBJECT_STR) {
		if (bad)
			*bad = 1;
		return NULL;
	}
	*len = o->via.str.size;
	return o->via.str.ptr;
}

static void grow(void **buf, size_t *cap, size_t n, size_t elem)
{
	if (n > *cap) {
		*buf = tl_xrealloc(*buf, n * elem);
		*cap = n;
	}
}

long tl_rec_i32s(const tl_record *rec, const char *key, int32_t **buf, size_t *cap)
{
	const msgpack_object *o = tl_rec_get(rec, key);
	if (!o)
		return -1;
	if (o->type == MSGPACK_OBJECT_BIN) {
		if (o->via.bin.size % 4)
			return -2;
		size_t n = o->via.bin.size / 4;
		grow((void **)buf, cap, n, sizeof(int32_t));
		const unsigned char *p = (const unsigned char *)o->via.bin.ptr;
		for (size_t i = 0; i < n; i++)
			(*buf)[i] = (int32_t)((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
					      (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24);
		return (long)n;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		size_t n = o->via.array.size;
		grow((void **)buf, cap, n, sizeof(int32_t));
		for (size_t i = 0; i < n; i++) {
			const msgpack_object *e = &o->via.array.ptr[i];
			if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER && e->via.u64 <= INT32_MAX)
				(*buf)[i] = (int32_t)e->via.u64;
			else if (e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && e->via.i64 >= INT32_MIN)
				(*buf)[i] = (int32_t)e->via.i64;
			else
				return -2;
		}
		return (long)n;
	}
	return -2;
}

long tl_rec_f32s(const tl_record *rec, const char *key, float **buf, size_t *cap)
{
	const msgpack_object *o = tl_rec_get(rec, key);
	if (!o)
		return -1;
	if (o->type == MSGPACK_OBJECT_BIN) {
		if (o->via.bin.size % 4)
			return -2;
		size_t n = o->via.bin.size / 4;
		grow((void **)buf, cap, n, sizeof(float));
		if (n) /* an empty bin has no pointer */
			memcpy(*buf, o->via.bin.ptr, n * 4); /* little-endian hosts only */
		return (long)n;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		size_t n = o->via.array.size;
		grow((void **)buf, cap, n, sizeof(float));
		for (size_t i = 0; i < n; i++) {
			const msgpack_object *e = &o->via.array.ptr[i];
			switch (e->type) {
			case MSGPACK_OBJECT_FLOAT32:
			case MSGPACK_OBJECT_FLOAT64: (*buf)[i] = (float)e->via.f64; break;
			case MSGPACK_OBJECT_POSITIVE_INTEGER: (*buf)[i] = (float)e->via.u64; break;
			case MSGPACK_OBJECT_NEGATIVE_INTEGER: (*buf)[i] = (float)e->via.i64; break;
			default: return -2;
			}
		}
		return (long)n;
	}
	return -2;
}

/* ---------------- writing ---------------- */

#define MAXKEYS 64

struct tl_writer {
	FILE *f;
	tl_buf out;          /* pending output bytes */
	msgpack_packer pk_out;
	msgpack_sbuffer nv;  /* packed values of the keys set on this record */
	msgpack_packer pk_nv;
	const msgpack_object *src;
	int nkeys, ndrop;
	char *keys[MAXKEYS];
	size_t off[MAXKEYS + 1];
	char *drop[MAXKEYS];
	int err;             /* sticky: errno value of the first write error */
	msgpack_packer pk_null; /* a packer that discards (after E2BIG) */
};

static tl_write_error_handler write_error_handler;

tl_write_error_handler tl_set_write_error_handler(tl_write_error_handler h)
{
	tl_write_error_handler old = write_error_handler;
	write_error_handler = h;
	return old;
}

static void writer_fail(tl_writer *w, int errnum)
{
	if (!w->err)
		w->err = errnum ? errnum : EIO;
	w->out.len = 0;
	if (write_error_handler)
		write_error_handler(w->err);
}

int tl_writer_error(const tl_writer *w) { return w->err; }

static int null_write(void *data, const char *p, size_t n)
{
	(void)data, (void)p, (void)n;
	return 0;
}

static int buf_write(void *data, const char *p, size_t n)
{
	tl_buf_add((tl_buf *)data, p, n);
	return 0;
}

tl_writer *tl_writer_open(FILE *f)
{
	tl_writer *w = tl_xcalloc(1, sizeof *w);
	w->f = f;
	msgpack_packer_init(&w->pk_out, &w->out, buf_write);
	msgpack_sbuffer_init(&w->nv);
	msgpack_packer_init(&w->pk_nv, &w->nv, msgpack_sbuffer_write);
	msgpack_packer_init(&w->pk_null, NULL, null_write);
	return w;
}

static int writer_flush(tl_writer *w)
{
	if (w->err) {
		w->out.len = 0;
		return -1;
	}
	if (w->out.len && fwrite(w->out.data, 1, w->out.len, w->f) != w->out.len) {
		writer_fail(w, errno);
		return -1;
	}
	w->out.len = 0;
	return 0;
}

static void clear_keys(tl_writer *w)
{
	for (int i = 0; i < w->nkeys; i++)
		free(w->keys[i]);
	for (int i = 0; i < w->ndrop; i++)
		free(w->drop[i]);
	w->nkeys = w->ndrop = 0;
	msgpack_sbuffer_clear(&w->nv);
}

int tl_writer_free(tl_writer *w)
{
	if (!w)
		return 0;
	int rc = writer_flush(w);
	int e = w->err;
	clear_keys(w);
	if (fflush(w->f) != 0)
		rc = -1;
	else if (rc < 0)
		errno = e;
	tl_buf_free(&w->out);
	msgpack_sbuffer_destroy(&w->nv);
	free(w);
	return rc;
}

void tl_writer_start(tl_writer *w, const msgpack_object *src)
{
	clear_keys(w);
	w->src = src && src->type == MSGPACK_OBJECT_MAP ? src : NULL;
}

msgpack_packer *tl_writer_key(tl_writer *w, const char *key)
{
	if (w->nkeys == MAXKEYS) {
		writer_fail(w, E2BIG);
		return &w->pk_null;
	}
	w->keys[w->nkeys] = tl_xstrdup(key);
	w->off[w->nkeys] = w->nv.size;
	w->nkeys++;
	return &w->pk_nv;
}

void tl_writer_drop(tl_writer *w, const char *key)
{
	if (w->ndrop < MAXKEYS)
		w->drop[w->ndrop++] = tl_xstrdup(key);
}

static int keep_src_key(const tl_writer *w, const msgpack_object *k)
{
	for (int i = 0; i < w->nkeys; i++)
		if (tl_key_eq(k, w->keys[i]))
			return 0;
	for (int i = 0; i < w->ndrop; i++)
		if (tl_key_eq(k, w->drop[i]))
			return 0;
	return 1;
}

int tl_writer_end(tl_writer *w)
{
	uint32_t n = (uint32_t)w->nkeys;
	if (w->src)
		for (uint32_t i = 0; i < w->src->via.map.size; i++)
			n += (uint32_t)keep_src_key(w, &w->src->via.map.ptr[i].key);
	msgpack_pack_map(&w->pk_out, n);
	if (w->src)
		for (uint32_t i = 0; i < w->src->via.map.size; i++) {
			const msgpack_object_kv *kv = &w->src->via.map.ptr[i];
			if (keep_src_key(w, &kv->key)) {
				msgpack_pack_object(&w->pk_out, kv->key);
				msgpack_pack_object(&w->pk_out, kv->val);
			}
		}
	w->off[w->nkeys] = w->nv.size;
	for (int i = 0; i < w->nkeys; i++) {
		tl_pack_cstr(&w->pk_out, w->keys[i]);
		tl_buf_add(&w->out, w->nv.data + w->off[i], w->off[i + 1] - w->off[i]);
	}
	clear_keys(w);
	w->src = NULL;
	if (w->out.len >= (1 << 16) || w->err)
		return writer_flush(w);
	return 0;
}

msgpack_packer *tl_writer_raw(tl_writer *w)
{
	return &w->pk_out;
}

int tl_writer_commit(tl_writer *w)
{
	if (w->out.len >= (1 << 16) || w->err)
		return writer_flush(w);
	return 0;
}

void tl_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void tl_pack_cstr(msgpack_packer *pk, const char *s)
{
	tl_pack_str(pk, s, strlen(s));
}

void tl_pack_i32_bin(msgpack_packer *pk, const int32_t *v, size_t n)
{
	msgpack_pack_bin(pk, n * 4);
	msgpack_pack_bin_body(pk, v, n * 4); /* little-endian hosts only */
}

void tl_pack_f32_bin(msgpack_packer *pk, const float *v, size_t n)
{
	msgpack_pack_bin(pk, n * 4);
	msgpack_pack_bin_body(pk, v, n * 4);
}

/* ---------------- headers ---------------- */

void tl_header_start(tl_writer *w, const msgpack_object *in_header, int argc, char **argv)
{
	tl_writer_start(w, in_header);
	msgpack_packer *pk = tl_writer_key(w, "tl");
	msgpack_pack_int(pk, 1);
	pk = tl_writer_key(w, "kind");
	tl_pack_cstr(pk, "header");
	const msgpack_object *old = tl_map_get(in_header, "chain");
	uint32_t nold = old && old->type == MSGPACK_OBJECT_ARRAY ? old->via.array.size : 0;
	pk = tl_writer_key(w, "chain");
	msgpack_pack_array(pk, nold + 1);
	for (uint32_t i = 0; i < nold; i++)
		msgpack_pack_object(pk, old->via.array.ptr[i]);
	msgpack_pack_map(pk, 3);
	tl_pack_cstr(pk, "tool");
	tl_pack_cstr(pk, tl_progname);
	tl_pack_cstr(pk, "version");
	tl_pack_cstr(pk, TL_VERSION);
	tl_pack_cstr(pk, "args");
	msgpack_pack_array(pk, argc > 0 ? (uint32_t)(argc - 1) : 0);
	for (int i = 1; i < argc; i++)
		tl_pack_cstr(pk, argv[i]);
}
