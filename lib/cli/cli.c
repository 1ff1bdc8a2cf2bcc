/* cli.c - the tools' layer (tl/cli.h): messages, exiting, option parsing,
 * the handlers that turn library errors into the suite's exit codes. The
 * only file of libtl that calls exit(). */
#include "tl/cli.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void vmsg(uint64_t recno, int userec, const char *fmt, va_list ap)
{
	int saved = errno;
	fflush(stdout);
	fprintf(stderr, "%s: ", tl_progname);
	if (userec && recno) /* 0: the error concerns the whole input */
		fprintf(stderr, "record %llu: ", (unsigned long long)recno);
	vfprintf(stderr, fmt, ap);
	size_t n = strlen(fmt);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void tl_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(0, 0, fmt, ap);
	va_end(ap);
}

void tl_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(0, 0, fmt, ap);
	va_end(ap);
	exit(code);
}

void tl_warn_rec(uint64_t recno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(recno, 1, fmt, ap);
	va_end(ap);
}

void tl_die_rec(int code, uint64_t recno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(recno, 1, fmt, ap);
	va_end(ap);
	exit(code);
}

void tl_die_err(const tl_err *e)
{
	tl_die(e->code ? e->code : TL_EXIT_FAIL, "%s", e->msg);
}

static void cli_oom(const char *msg)
{
	tl_die(TL_EXIT_FAIL, "%s", msg);
}

static void cli_write_error(int errnum)
{
	if (errnum == EPIPE)
		exit(TL_EXIT_OK);
	errno = errnum;
	tl_die(TL_EXIT_IO, "write error:");
}

void tl_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	tl_progname = slash ? slash + 1 : progname;
	setlocale(LC_NUMERIC, "C");
	tl_set_oom_handler(cli_oom);
	tl_set_write_error_handler(cli_write_error);
}

void tl_close_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		if (e == EPIPE)
			exit(TL_EXIT_OK);
		errno = e;
		tl_die(TL_EXIT_IO, "write error on standard output:");
	}
}

void tl_print_version(void)
{
	printf("%s (tl) %s\n", tl_progname, TL_VERSION);
}

long tl_parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		tl_die(TL_EXIT_USAGE, "option %s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
	return v;
}

void tl_die_open(const char *name)
{
	if (errno == EISDIR)
		tl_die(TL_EXIT_IO, "%s: is a directory", name);
	tl_die(TL_EXIT_IO, "cannot open %s:", name);
}

const char *tl_parse_path(const char *opt, const char *s)
{
	if (!s || !*s)
		tl_die(TL_EXIT_USAGE, "option %s: empty path", opt);
	return s;
}

double tl_parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		tl_die(TL_EXIT_USAGE, "option %s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
	return v;
}

int tl_reader_next_or_die(tl_reader *r, tl_record *rec)
{
	int ret = tl_reader_next(r, rec);
	if (ret == TL_READ_ERR)
		tl_die_rec(tl_reader_error_code(r), tl_reader_error_recno(r), "%s", tl_reader_error(r));
	return ret == TL_READ_OK;
}

int tl_source_next_or_die(tl_source *s, tl_record *rec)
{
	tl_err e;
	int ret = tl_source_next(s, rec, &e);
	if (ret == TL_READ_ERR) {
		uint64_t no = tl_source_error_recno(s);
		if (no)
			tl_die_rec(e.code, no, "%s", e.msg);
		tl_die_err(&e);
	}
	return ret;
}
