/* progress.c - progress bar / plain progress lines on stderr. */
#include "tl/progress.h"
#include "tl/util.h"

#include <string.h>
#include <unistd.h>

void tl_progress_init(tl_progress *p, const char *what, uint64_t total, int quiet, FILE *log)
{
	memset(p, 0, sizeof *p);
	p->what = what;
	p->total = total;
	p->quiet = quiet;
	p->tty = isatty(2);
	p->t0 = p->last = tl_now();
	p->interval = p->tty ? 0.2 : 10.0;
	p->log = log;
}

void tl_progress_init_filter(tl_progress *p, const char *what, int quiet, double plain_secs)
{
	tl_progress_init(p, what, 0, quiet, NULL);
	if (!p->tty) {
		if (plain_secs < 0)
			p->quiet = 1;
		else
			p->interval = plain_secs;
	}
}

static void fmt_time(char *out, size_t n, double s)
{
	if (s < 0 || s > 1e7)
		snprintf(out, n, "--:--");
	else if (s >= 3600)
		snprintf(out, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
	else
		snprintf(out, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void print_line(tl_progress *p, const char *extra, int final)
{
	double now = tl_now(), el = now - p->t0;
	double rate = el > 0 ? (double)p->done / el : 0;
	char eta[32] = "", elapsed[32];
	fmt_time(elapsed, sizeof elapsed, el);
	if (p->total && rate > 0 && !final)
		fmt_time(eta, sizeof eta, (double)(p->total - (p->done < p->total ? p->done : p->total)) / rate);
	if (p->tty) {
		char bar[31];
		int w = 30, fill = p->total ? (int)(w * (double)p->done / (double)p->total) : 0;
		if (fill > w)
			fill = w;
		for (int i = 0; i < w; i++)
			bar[i] = i < fill ? '#' : (p->total ? '.' : ' ');
		bar[w] = 0;
		fprintf(stderr, "\r\033[K%s: ", tl_progname);
		if (p->total)
			fprintf(stderr, "[%s] %llu/%llu %s", bar, (unsigned long long)p->done,
				(unsigned long long)p->total, p->what);
		else
			fprintf(stderr, "%llu %s", (unsigned long long)p->done, p->what);
		fprintf(stderr, " %.1f/s %s%s%s%s%s", rate, elapsed, *eta ? " eta " : "", eta, extra ? " " : "",
			extra ? extra : "");
		if (final)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "%s: %llu", tl_progname, (unsigned long long)p->done);
		if (p->total)
			fprintf(stderr, "/%llu", (unsigned long long)p->total);
		fprintf(stderr, " %s, %.1f/s, elapsed %s%s%s%s%s\n", p->what, rate, elapsed, *eta ? ", eta " : "", eta,
			extra ? ", " : "", extra ? extra : "");
	}
	fflush(stderr);
	p->last = now;
	p->printed = 1;
}

void tl_progress_update(tl_progress *p, uint64_t n, const char *extra, int force)
{
	p->done = n;
	if (p->quiet)
		return;
	double now = tl_now();
	if (force || now - p->last >= p->interval)
		print_line(p, extra, 0);
}

void tl_progress_log(tl_progress *p, const char *json_members)
{
	if (!p->log)
		return;
	fprintf(p->log, "{%s%s\"elapsed\":%.3f}\n", json_members, *json_members ? "," : "", tl_now() - p->t0);
	fflush(p->log);
}

void tl_progress_finish(tl_progress *p, const char *extra)
{
	if (p->quiet)
		return;
	if (p->printed || !p->tty)
		print_line(p, extra, 1);
}
