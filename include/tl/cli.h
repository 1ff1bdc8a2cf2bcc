/* tl/cli.h - the tools' layer: messages, exiting, option parsing.
 *
 * This is the ONLY part of libtl that may end the process. It is meant for
 * the tl-* programs in cmd/ and nothing else: the rest of the library
 * reports errors to its caller (return values, tl_err, sticky writer
 * errors) and never calls exit(). A program that embeds libtl does not
 * call tl_init and gets those return values; a tool calls tl_init first
 * and gets the suite's behaviour (message on stderr, exit code of
 * enum tl_exit) without checking every write or allocation.
 *
 * Messages: every diagnostic goes to stderr as "tl-NAME: what went wrong",
 * or "tl-NAME: record N: what went wrong" when it concerns one record.
 * A format that ends in ':' gets ": strerror(errno)" appended (sbase eprintf).
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include <stdint.h>

#include "tl/stream.h"
#include "tl/util.h"

/* Call first in main(): records the tool name (tl_progname), sets the
 * locale-independent defaults, and installs the tools' handlers:
 * - out of memory (tl_set_oom_handler): the message, exit TL_EXIT_FAIL;
 * - stream write errors (tl_set_write_error_handler): a closed pipe
 *   (EPIPE) exits 0 quietly, any other error prints "write error: ..."
 *   and exits TL_EXIT_IO. */
void tl_init(const char *progname);

/* Print a message; tl_die exits with the given code. */
void tl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void tl_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with a record number (1-based) in front of the message; recno 0
 * (an error about the whole input) prints none. */
void tl_warn_rec(uint64_t recno, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void tl_die_rec(int code, uint64_t recno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print e->msg and exit with e->code (TL_EXIT_FAIL when 0). */
_Noreturn void tl_die_err(const tl_err *e);

/* Flush and close stdout, dying with TL_EXIT_IO if anything failed to be
 * written (sbase fshut); a closed pipe exits 0. Call at the end of main(). */
void tl_close_stdout(void);

/* Standard --version text. */
void tl_print_version(void);

/* Parse helpers for options: die with TL_EXIT_USAGE and a message naming
 * the option when the value is not a number in [lo, hi]. */
long tl_parse_long(const char *opt, const char *s, long lo, long hi);
double tl_parse_double(const char *opt, const char *s, double lo, double hi);
/* Die (TL_EXIT_IO) after an input file could not be opened, errno set:
 * "NAME: is a directory" or "cannot open NAME: <strerror>". */
void tl_die_open(const char *name) __attribute__((noreturn));
/* A path option's value: s itself, or die with TL_EXIT_USAGE ("option
 * OPT: empty path") when it is empty. */
const char *tl_parse_path(const char *opt, const char *s);

/* Read the next record or die (TL_EXIT_DATA / TL_EXIT_IO) with a message
 * naming the record (its number in r). Returns 0 at end of input, 1 with a
 * record. */
int tl_reader_next_or_die(tl_reader *r, tl_record *rec);

/* tl_source_next, dying on an error: "cannot open FILE: ..." (TL_EXIT_IO),
 * or the reader's message with the record's number in its file
 * (TL_EXIT_DATA / TL_EXIT_IO). Returns 0 at the end of the last file, 1
 * with a record, TL_SOURCE_FILE_END when asked for. */
int tl_source_next_or_die(tl_source *s, tl_record *rec);

#endif
