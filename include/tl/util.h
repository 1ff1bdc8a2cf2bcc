/* tl/util.h - process conventions shared by every tl tool.
 *
 * Messages: every diagnostic goes to stderr as "tl-NAME: what went wrong",
 * or "tl-NAME: record N: what went wrong" when it concerns one record.
 * A format that ends in ':' gets ": strerror(errno)" appended (sbase eprintf).
 *
 * Ownership: what tl_x* allocate is the caller's, freed with free(). A
 * tl_buf is the caller's struct (zero-initialised); its data is grown with
 * realloc and freed with tl_buf_free, and pointers into it (tl_buf_cstr
 * too) stay valid only until the next call that adds to it. Error messages
 * are written into the caller's err buffer or tl_err; nothing here keeps a
 * pointer to its arguments.
 */
#ifndef TL_UTIL_H
#define TL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TL_VERSION "0.1.0"

/* One enum of exit codes for the whole suite; every man page lists them
 * under EXIT STATUS. */
enum tl_exit {
	TL_EXIT_OK = 0,        /* success */
	TL_EXIT_FAIL = 1,      /* a failure not covered below */
	TL_EXIT_USAGE = 2,     /* bad command line */
	TL_EXIT_DATA = 3,      /* bad input data: malformed stream, record, text */
	TL_EXIT_IO = 4,        /* cannot open, read or write a file; disk full */
	TL_EXIT_MODEL = 5,     /* missing or corrupt model, vocabulary or fitted file */
	TL_EXIT_BELOW = 6,     /* a quality bar was not met (tl-eval --min-*) */
	TL_EXIT_INTERRUPTED = 130 /* stopped by SIGINT */
};

/* The tool's name used in messages ("tl-clean"); set once by tl_init. */
extern const char *tl_progname;

/* Call first in main(): records the tool name, sets the locale-independent
 * defaults. */
void tl_init(const char *progname);

/* Print a message; tl_die exits with the given code. */
void tl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void tl_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with a record number (1-based) in front of the message. */
void tl_warn_rec(uint64_t recno, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void tl_die_rec(int code, uint64_t recno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format a message into err (errsz bytes) and return -1: the error
 * convention of library functions that report to their caller. */
int tl_errf(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error as library functions return it to a tool: the exit code the
 * tool should use (enum tl_exit) and the message (without the tool's
 * name). Owned by the caller, usually on its stack. */
typedef struct tl_err {
	int code;
	char msg[1024];
} tl_err;
/* Set e (when not NULL) and return -1. */
int tl_seterr(tl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Encode code point cp as UTF-8 into o (room for 4 bytes); returns the
 * number of bytes written. cp must be a valid scalar value. */
static inline int tl_utf8_encode(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Allocation that dies (TL_EXIT_FAIL, "out of memory") instead of
 * returning NULL. Free with free(). */
void *tl_xmalloc(size_t n);
void *tl_xcalloc(size_t n, size_t size);
void *tl_xrealloc(void *p, size_t n);
char *tl_xstrdup(const char *s);

/* Flush and close stdout, dying with TL_EXIT_IO if anything failed to be
 * written (sbase fshut). Call at the end of main(). */
void tl_close_stdout(void);

/* Standard --version text. */
void tl_print_version(void);

/* Parse helpers for options: die with TL_EXIT_USAGE and a message naming
 * the option when the value is not a number in [lo, hi]. */
long tl_parse_long(const char *opt, const char *s, long lo, long hi);
double tl_parse_double(const char *opt, const char *s, double lo, double hi);

/* Growable byte buffer. Owner frees data with free(). */
typedef struct {
	char *data;
	size_t len, cap;
} tl_buf;
void tl_buf_reserve(tl_buf *b, size_t extra);
void tl_buf_add(tl_buf *b, const void *p, size_t n);
static inline void tl_buf_addc(tl_buf *b, char c)
{
	if (b->len + 1 > b->cap)
		tl_buf_reserve(b, 1);
	b->data[b->len++] = c;
}
void tl_buf_adds(tl_buf *b, const char *s);
void tl_buf_printf(tl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make data NUL-terminated (not counted in len) and return it. */
char *tl_buf_cstr(tl_buf *b);
void tl_buf_free(tl_buf *b);

/* sha256 of a file, as 64 lowercase hex chars + NUL in out. 0 or -1 (errno). */
int tl_sha256_file(const char *path, char out[65]);
/* sha256 of memory. */
void tl_sha256_hex(const void *data, size_t len, char out[65]);

/* Seconds from a monotonic clock. */
double tl_now(void);

#endif
