/* tl/progress.h - progress reports for long jobs on stderr.
 *
 * On a terminal: one line redrawn in place with a bar, the rate and the
 * ETA. Otherwise (a log file, CI): a plain line every `every` updates or
 * every `secs` seconds, whichever comes first. --quiet: nothing.
 * Optionally the same figures as JSON lines to a log file.
 *
 * Ownership: a tl_progress is the caller's (usually on its stack) and owns
 * nothing, so there is nothing to free. It keeps the `what` string and the
 * log FILE * it is given: both must stay valid until tl_progress_finish,
 * and the caller closes the log. The extra and json_members strings are
 * only read during the call.
 */
#ifndef TL_PROGRESS_H
#define TL_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
	const char *what;   /* "step", "record", ... (unit of progress) */
	uint64_t total;     /* 0 when unknown */
	uint64_t done;
	int quiet;
	int tty;            /* stderr is a terminal */
	double t0, last;    /* start, last print (tl_now) */
	double interval;    /* seconds between prints (tty: 0.2, else 10) */
	FILE *log;          /* JSON lines, or NULL; not owned */
	int printed;
} tl_progress;

/* Start; total may be 0 (unknown). The log file (may be NULL) stays the
 * caller's to close. */
void tl_progress_init(tl_progress *p, const char *what, uint64_t total, int quiet, FILE *log);
/* Progress of a filter tool (tl-embed, tl-predict), whose stderr stays
 * quiet in a pipeline: the bar on a terminal; off a terminal nothing,
 * unless plain_secs >= 0 (the tool's --progress[=SECS]): then a plain line
 * every plain_secs seconds (0: at every update) and a final one. quiet:
 * nothing at all. */
void tl_progress_init_filter(tl_progress *p, const char *what, int quiet, double plain_secs);
/* Set done to n and print if due. extra is appended to the line (e.g.
 * "loss 0.412 lr 2.0e-05"; may be NULL). Forced print when force != 0. */
void tl_progress_update(tl_progress *p, uint64_t n, const char *extra, int force);
/* Write one JSON object line to the log: caller passes the members as a
 * JSON fragment without braces, e.g. "\"step\":10,\"loss\":0.41". Adds
 * "elapsed". */
void tl_progress_log(tl_progress *p, const char *json_members);
/* Final line (tty: finishes the bar with a newline). */
void tl_progress_finish(tl_progress *p, const char *extra);

#endif
