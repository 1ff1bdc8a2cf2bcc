/* tl/util.h - utilities shared by the library and the tools: exit codes,
 * the library's error (tl_err), allocation, buffers, sha256, clock.
 *
 * Nothing declared here ends the process, except on allocation failure
 * (tl_oom below). The functions that print and exit (tl_init, tl_die,
 * tl_warn, option parsing, tl_close_stdout) are the tools' layer, tl/cli.h.
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

/* The tool's name used in messages ("tl-clean"); set once by tl_init
 * (tl/cli.h), "tl" in a program that does not call it. */
extern const char *tl_progname;

/* The library never exits, with one documented exception: running out of
 * memory. tl_xmalloc & co. and the stream reader call tl_oom, which calls
 * the handler set with tl_set_oom_handler (tl_init installs one that prints
 * the message and exits TL_EXIT_FAIL); without a handler, or when the
 * handler returns, it prints "PROG: MESSAGE" on stderr and calls abort()
 * (as redis zmalloc does). The messages look like "out of memory (N bytes)". */
typedef void (*tl_oom_handler)(const char *msg);
/* Set the handler (NULL: the default); returns the previous one. */
tl_oom_handler tl_set_oom_handler(tl_oom_handler h);
_Noreturn void tl_oom(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* Allocation that never returns NULL: on failure it calls tl_oom (see
 * above). Free with free(). */
void *tl_xmalloc(size_t n);
void *tl_xcalloc(size_t n, size_t size);
void *tl_xrealloc(void *p, size_t n);
char *tl_xstrdup(const char *s);

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
/* The same on a thread of its own: start returns a job (owned by the
 * caller until join, which frees it) hashing path, or alt where path cannot
 * be read (alt may be NULL); join waits and gives the result as
 * tl_sha256_file does (0, or -1 with errno). Never NULL; without a thread
 * start hashes at once. */
typedef struct tl_sha256_job tl_sha256_job;
tl_sha256_job *tl_sha256_file_start(const char *path, const char *alt);
int tl_sha256_file_join(tl_sha256_job *job, char out[65]);
/* sha256 of memory. */
void tl_sha256_hex(const void *data, size_t len, char out[65]);

/* Seconds from a monotonic clock. */
double tl_now(void);

/* 1 when the n floats at p are all zero bits (+0.0; -0.0 is not). */
int tl_zero_floats(const float *p, size_t n);

#endif
