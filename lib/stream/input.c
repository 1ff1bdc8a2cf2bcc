/* input.c - buffered record readers for plain lines, TSV/CSV, JSON lines,
 * fastText and msgpack streams (see tl/input.h). */
#include "tl/input.h"
#include "tl/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (1 << 18)

struct tl_input {
	gzFile gz;
	tl_reader *rd;
	int fmt;
	char *buf;
	size_t cap, start, end; /* current record begins at buf[start]; data up to end */
	size_t chunk;     /* zlib's buffer: CHUNK, less for a small file (tl_gzopen_input_buf) */
	int eof, ioerr;   /* ioerr: the failure code of the last fill, 0: none */
	char *name;       /* for messages */
	size_t max;
	uint64_t line;    /* lines consumed before start */
	uint64_t recline; /* line where the last record began */
	tl_buf arena;     /* unquoted copies of quoted fields */
	size_t fcap;
	const char **fptr;
	size_t *flen;
	size_t *foff;     /* offset into the buffer (from start) or arena */
	unsigned char *fin_arena;
	char err[256];
	/* CoNLL sentences */
	tl_buf sarena;      /* NUL-terminated words and tags back to back */
	size_t *woff, *toff, scap;
	const char **wptr, **tptr;
	int tagged;         /* -1 not known yet, 0 no, 1 yes */
	uint64_t firstline; /* the first word line (that set tagged) */
};

int tl_format_parse(const char *name)
{
	static const char *const names[] = {"auto", "lines", "tsv", "csv", "jsonl", "fasttext", "stream", "conll"};
	for (int i = 0; i < 8; i++)
		if (!strcmp(name, names[i]))
			return i;
	if (!strcmp(name, "json") || !strcmp(name, "ndjson"))
		return TL_FMT_JSONL;
	if (!strcmp(name, "msgpack"))
		return TL_FMT_STREAM;
	if (!strcmp(name, "text") || !strcmp(name, "txt"))
		return TL_FMT_LINES;
	return -1;
}

const char *tl_format_name(int fmt)
{
	static const char *const names[] = {"auto", "lines", "tsv", "csv", "jsonl", "fasttext", "stream", "conll"};
	return fmt >= 0 && fmt < 8 ? names[fmt] : "?";
}

/* Read more bytes. Keeps buf[start..end) and moves it to the front.
 * Returns the number of bytes added, 0 at end of input, -1 on error. */
static long fill(tl_input *in)
{
	if (in->eof)
		return 0;
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	if (in->cap - in->end < in->chunk / 2) {
		in->cap = in->cap ? 2 * in->cap : 2 * in->chunk;
		in->buf = tl_xrealloc(in->buf, in->cap);
	}
	size_t want = in->cap - in->end;
	if (want > INT_MAX / 2)
		want = INT_MAX / 2;
	int n = gzread(in->gz, in->buf + in->end, (unsigned)want);
	if (n <= 0) {
		int code = tl_gz_status(in->gz, in->name, in->err, sizeof in->err);
		if (code == TL_EXIT_DATA) {
			/* gzip data cut short. Bad data about the whole input,
			 * not a record: line 0. */
			in->ioerr = TL_INPUT_ERR;
			in->recline = 0;
			return -1;
		}
		if (code || n < 0) {
			if (!code)
				snprintf(in->err, sizeof in->err, "read error: %s: %s", in->name, strerror(errno));
			in->ioerr = TL_INPUT_IOERR;
			return -1;
		}
		in->eof = 1;
		return 0;
	}
	in->end += (size_t)n;
	return n;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

tl_input *tl_input_open(const char *path, int format)
{
	int is_stdin = !path || !strcmp(path, "-");
	unsigned chunk = CHUNK;
	gzFile gz = tl_gzopen_input_buf(path, &chunk);
	if (!gz) {
		if (!errno)
			errno = ENOMEM;
		return NULL;
	}
	tl_input *in = tl_xcalloc(1, sizeof *in);
	in->gz = gz;
	in->chunk = chunk;
	in->name = tl_xstrdup(is_stdin ? "standard input" : path);
	in->max = (size_t)64 << 20;
	in->tagged = -1;
	int first = gzgetc(gz);
	if (first != -1)
		gzungetc(first, gz);
	int is_map = first == 0xde || first == 0xdf || (first >= 0x80 && first <= 0x8f);
	if (format == TL_FMT_STREAM || (format == TL_FMT_AUTO && is_map)) {
		in->fmt = TL_FMT_STREAM;
		in->rd = tl_reader_open_gz(gz);
		tl_reader_set_name(in->rd, in->name);
		in->gz = NULL;
		return in;
	}
	/* text: skip a byte order mark, then look at the first line */
	while (in->end < 3 && fill(in) > 0)
		;
	if (in->end >= 3 && memcmp(in->buf, "\xEF\xBB\xBF", 3) == 0)
		in->start = 3;
	if (format == TL_FMT_AUTO) {
		size_t scanned = in->start;
		char *nl;
		while (!(nl = memchr(in->buf + scanned, '\n', in->end - scanned)) && in->end - in->start < (1 << 20)) {
			scanned = in->end;
			size_t before = in->start;
			if (fill(in) <= 0)
				break;
			scanned -= before - in->start;
		}
		const char *p = in->buf + in->start;
		size_t n = nl ? (size_t)(nl - p) : in->end - in->start;
		if (n >= 1 && p[0] == '{')
			format = TL_FMT_JSONL;
		else if (n >= 9 && memcmp(p, "__label__", 9) == 0)
			format = TL_FMT_FASTTEXT;
		else if (memchr(p, '\t', n))
			format = TL_FMT_TSV;
		else if (!is_stdin && (ends_with(path, ".csv") || ends_with(path, ".csv.gz") || ends_with(path, ".CSV")))
			format = TL_FMT_CSV;
		else
			format = TL_FMT_LINES;
		in->ioerr = 0; /* a read error resurfaces on the next read */
		in->eof = 0;
	}
	in->fmt = format;
	return in;
}

void tl_input_close(tl_input *in)
{
	if (!in)
		return;
	if (in->rd)
		tl_reader_close(in->rd);
	if (in->gz)
		gzclose(in->gz);
	free(in->buf);
	tl_buf_free(&in->arena);
	free(in->fptr);
	free(in->flen);
	free(in->foff);
	free(in->fin_arena);
	tl_buf_free(&in->sarena);
	free(in->woff), free(in->toff), free(in->wptr), free(in->tptr);
	free(in->name);
	free(in);
}

int tl_input_format(const tl_input *in) { return in->fmt; }
void tl_input_set_max(tl_input *in, size_t max) { in->max = max; }
const char *tl_input_error(const tl_input *in) { return in->err; }
uint64_t tl_input_line(const tl_input *in) { return in->recline; }
tl_reader *tl_input_stream(tl_input *in) { return in->rd; }

static int too_long(tl_input *in)
{
	snprintf(in->err, sizeof in->err, "line %llu: record longer than %zu bytes (see --max-record)",
		 (unsigned long long)in->recline, in->max);
	return TL_INPUT_ERR;
}

int tl_input_next_line(tl_input *in, const char **line, size_t *len)
{
	size_t scan = 0; /* bytes after start already searched */
	in->recline = in->line + 1;
	for (;;) {
		char *nl = memchr(in->buf + in->start + scan, '\n', in->end - in->start - scan);
		if (nl) {
			size_t n = (size_t)(nl - (in->buf + in->start));
			*line = in->buf + in->start;
			in->start += n + 1;
			in->line++;
			if (n && (*line)[n - 1] == '\r')
				n--;
			*len = n;
			if (in->max && n > in->max)
				return too_long(in);
			return TL_INPUT_OK;
		}
		scan = in->end - in->start;
		if (in->max && scan > in->max)
			return too_long(in);
		long got = fill(in);
		if (got < 0)
			return in->ioerr;
		if (got == 0) {
			size_t n = in->end - in->start;
			if (n == 0)
				return TL_INPUT_EOF;
			*line = in->buf + in->start;
			in->start = in->end;
			in->line++;
			if ((*line)[n - 1] == '\r')
				n--;
			*len = n;
			return TL_INPUT_OK;
		}
	}
}

/* Byte at start+off, filling as needed; -1 at end of input, -2 on error. */
static inline int peek(tl_input *in, size_t off)
{
	while (in->start + off >= in->end) {
		long got = fill(in);
		if (got < 0)
			return -2;
		if (got == 0)
			return -1;
	}
	return (unsigned char)in->buf[in->start + off];
}

static void add_field(tl_input *in, size_t i, size_t off, size_t len, int arena)
{
	if (i >= in->fcap) {
		in->fcap = in->fcap ? 2 * in->fcap : 16;
		in->fptr = tl_xrealloc(in->fptr, in->fcap * sizeof *in->fptr);
		in->flen = tl_xrealloc(in->flen, in->fcap * sizeof *in->flen);
		in->foff = tl_xrealloc(in->foff, in->fcap * sizeof *in->foff);
		in->fin_arena = tl_xrealloc(in->fin_arena, in->fcap);
	}
	in->foff[i] = off;
	in->flen[i] = len;
	in->fin_arena[i] = (unsigned char)arena;
}

/* Try a quoted field at off (buf[start+off] == '"'). Returns 1 with the
 * field appended to the arena and *next set past the closing quote; 0
 * when the field is to be read literally (auto quoting); -1 at error. */
static int quoted_field(tl_input *in, size_t off, char delim, int quoting, size_t *next)
{
	size_t j = off + 1;
	int needed = 0;
	uint64_t lines = 0;
	for (;;) {
		if (in->max && j > in->max) {
			if (quoting == TL_QUOTE_AUTO)
				return 0;
			return too_long(in);
		}
		/* copy a run of ordinary bytes at once */
		size_t a = in->start + j;
		while (a < in->end && in->buf[a] != '"' && in->buf[a] != '\n' && in->buf[a] != delim)
			a++;
		if (a > in->start + j) {
			tl_buf_add(&in->arena, in->buf + in->start + j, a - in->start - j);
			j = a - in->start;
			continue;
		}
		int c = peek(in, j);
		if (c == -2)
			return -2;
		if (c == -1) {
			if (quoting == TL_QUOTE_AUTO)
				return 0;
			snprintf(in->err, sizeof in->err,
				 "line %llu: unterminated quoted field (the quote opened there is never closed)",
				 (unsigned long long)in->recline);
			return -1;
		}
		if (c == '"') {
			int d = peek(in, j + 1);
			if (d == -2)
				return -2;
			if (d == '"') {
				tl_buf_addc(&in->arena, '"');
				needed = 1;
				j += 2;
				continue;
			}
			int at_end = d == -1 || d == '\n' || d == '\r' || d == (unsigned char)delim;
			if (quoting == TL_QUOTE_AUTO && (!needed || !at_end))
				return 0;
			j++;
			if (!at_end) {
				/* RFC: text after the closing quote is kept (as Python's csv) */
				for (;;) {
					int e = peek(in, j);
					if (e == -2)
						return -2;
					if (e == -1 || e == '\n' || e == (unsigned char)delim)
						break;
					if (e == '\r' && peek(in, j + 1) == '\n')
						break;
					tl_buf_addc(&in->arena, (char)e);
					j++;
				}
			}
			in->line += lines;
			*next = j;
			return 1;
		}
		if (c == '\n')
			lines++;
		needed = 1; /* a line break or the delimiter inside quotes */
		tl_buf_addc(&in->arena, (char)c);
		j++;
	}
}

int tl_input_next_row(tl_input *in, char delim, int quoting, tl_row *row)
{
	for (;;) {
		in->recline = in->line + 1;
		in->arena.len = 0;
		int c = peek(in, 0);
		if (c == -2)
			return in->ioerr;
		if (c == -1)
			return TL_INPUT_EOF;
		/* skip blank lines */
		if (c == '\n' || (c == '\r' && peek(in, 1) == '\n')) {
			in->start += c == '\n' ? 1 : 2;
			in->line++;
			continue;
		}
		size_t off = 0, nf = 0;
		for (;;) {
			c = peek(in, off);
			if (c == -2)
				return in->ioerr;
			int done = 0;
			if (c == '"' && quoting != TL_QUOTE_NONE) {
				size_t a0 = in->arena.len, next;
				uint64_t line0 = in->line;
				int r = quoted_field(in, off, delim, quoting, &next);
				if (r == -2)
					return in->ioerr;
				if (r < 0)
					return TL_INPUT_ERR;
				if (r == 1) {
					add_field(in, nf++, a0, in->arena.len - a0, 1);
					off = next;
					done = 1;
				} else {
					in->arena.len = a0;
					in->line = line0;
				}
			}
			if (!done) {
				/* literal field up to the delimiter or the end of the line */
				size_t j = off;
				for (;;) {
					size_t a = in->start + j;
					const char *nl = memchr(in->buf + a, '\n', in->end - a);
					size_t lim = nl ? (size_t)(nl - in->buf) : in->end;
					const char *dp = memchr(in->buf + a, delim, lim - a);
					a = dp ? (size_t)(dp - in->buf) : lim;
					j = a - in->start;
					if (a < in->end)
						break;
					if (in->max && j > in->max)
						return too_long(in);
					long got = fill(in);
					if (got < 0)
						return in->ioerr;
					if (got == 0)
						break;
				}
				size_t n = j - off;
				if (in->start + j >= in->end || in->buf[in->start + j] == '\n')
					if (n && in->buf[in->start + j - 1] == '\r')
						n--;
				add_field(in, nf++, off, n, 0);
				off = j;
			}
			if (in->max && off > in->max)
				return too_long(in);
			c = peek(in, off);
			if (c == -2)
				return in->ioerr;
			if (c == (unsigned char)delim) {
				off++;
				continue;
			}
			if (c == '\r' && peek(in, off + 1) == '\n')
				off++, c = '\n';
			if (c == '\n') {
				off++;
				in->line++;
			}
			break; /* end of line or end of input */
		}
		for (size_t i = 0; i < nf; i++) {
			/* an empty field may lie in a buffer never allocated */
			const char *base = in->fin_arena[i] ? in->arena.data : in->buf ? in->buf + in->start : NULL;
			in->fptr[i] = base ? base + in->foff[i] : "";
		}
		in->start += off;
		row->n = nf;
		row->field = in->fptr;
		row->len = in->flen;
		return TL_INPUT_OK;
	}
}

/* ---------------- CoNLL ---------------- */

#define CONLL_MAXCOL 64

static int is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int conll_error(tl_input *in, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int conll_error(tl_input *in, uint64_t line, const char *fmt, ...)
{
	char m[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(in->err, sizeof in->err, "%s:%llu: %s", in->name, (unsigned long long)line, m);
	in->recline = line;
	return TL_INPUT_ERR;
}

static void conll_push(tl_input *in, size_t n, const char *w, size_t wl, const char *t, size_t tl)
{
	if (n == in->scap) {
		in->scap = in->scap ? 2 * in->scap : 64;
		in->woff = tl_xrealloc(in->woff, in->scap * sizeof *in->woff);
		in->toff = tl_xrealloc(in->toff, in->scap * sizeof *in->toff);
	}
	in->woff[n] = in->sarena.len;
	tl_buf_add(&in->sarena, w, wl);
	tl_buf_addc(&in->sarena, 0);
	in->toff[n] = in->sarena.len;
	if (t)
		tl_buf_add(&in->sarena, t, tl);
	tl_buf_addc(&in->sarena, 0);
}

int tl_input_next_sentence(tl_input *in, int text_col, int tag_col, tl_conll_sent *s)
{
	const char *line;
	size_t len, n = 0;
	int r;
	uint64_t first = 0;
	in->sarena.len = 0;
	if (text_col < 1)
		text_col = 1;
	while ((r = tl_input_next_line(in, &line, &len)) == TL_INPUT_OK) {
		const char *f[CONLL_MAXCOL];
		size_t fl[CONLL_MAXCOL], nf = 0, i = 0;
		uint64_t ln = in->recline;
		if (memchr(line, 0, len))
			return conll_error(in, ln, "NUL byte in a line");
		while (i < len) {
			while (i < len && is_sp(line[i]))
				i++;
			if (i == len)
				break;
			size_t b = i;
			while (i < len && !is_sp(line[i]))
				i++;
			if (nf == CONLL_MAXCOL)
				return conll_error(in, ln, "more than %d columns", CONLL_MAXCOL);
			f[nf] = line + b, fl[nf++] = i - b;
		}
		if (nf == 0 || (fl[0] == 10 && memcmp(f[0], "-DOCSTART-", 10) == 0)) {
			if (n)
				break;
			continue;
		}
		if (in->tagged < 0) {
			in->tagged = nf >= 2 || tag_col > 0;
			in->firstline = ln;
		}
		if (!in->tagged && nf > 1)
			return conll_error(in, ln, "%zu columns in an untagged file (line %llu has one column)", nf,
					   (unsigned long long)in->firstline);
		size_t need = (size_t)text_col;
		if (in->tagged) {
			size_t tc = tag_col > 0 ? (size_t)tag_col : 2;
			if (tc > need)
				need = tc;
		}
		if (nf < need) {
			if (in->tagged && nf == 1)
				return conll_error(in, ln, "one column (no tag) in a tagged file (line %llu has tags)",
						   (unsigned long long)in->firstline);
			return conll_error(in, ln, "%zu column%s, the %s column is %zu", nf, nf == 1 ? "" : "s",
					   (size_t)text_col == need ? "word" : "tag", need);
		}
		size_t ti = tag_col > 0 ? (size_t)tag_col - 1 : nf - 1;
		if (!n)
			first = ln;
		conll_push(in, n++, f[text_col - 1], fl[text_col - 1], in->tagged ? f[ti] : NULL, in->tagged ? fl[ti] : 0);
		if (in->max && in->sarena.len > in->max)
			return conll_error(in, first, "sentence longer than %zu bytes (see --max-record)", in->max);
	}
	if (r != TL_INPUT_OK && r != TL_INPUT_EOF)
		return r;
	if (!n)
		return TL_INPUT_EOF;
	in->wptr = tl_xrealloc(in->wptr, in->scap * sizeof *in->wptr);
	in->tptr = tl_xrealloc(in->tptr, in->scap * sizeof *in->tptr);
	for (size_t k = 0; k < n; k++) {
		in->wptr[k] = in->sarena.data + in->woff[k];
		in->tptr[k] = in->sarena.data + in->toff[k];
	}
	s->n = n;
	s->word = in->wptr;
	s->tag = in->tagged ? in->tptr : NULL;
	s->line = first;
	in->recline = first;
	return TL_INPUT_OK;
}
