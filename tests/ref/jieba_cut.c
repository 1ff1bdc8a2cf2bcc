/* jieba_cut.c - the C side of the jieba parity check and benchmark
 * (tests/ref/jieba_ref.py compare, bench/jieba.sh): reads NUL-terminated
 * texts on stdin, writes each text's words joined by \x01 and ended by NUL.
 *   jieba_cut MODE [USERDICT]   MODE: default, nohmm, full, search
 *   jieba_cut --bench MODE FILE: load time and single-thread MB/s on FILE
 *                                (one text per line), in CPU time */
#include "tl/jieba.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of this process: the figure a loaded machine does not skew */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mode_of(const char *s)
{
	return !strcmp(s, "nohmm") ? TL_JIEBA_NOHMM : !strcmp(s, "full") ? TL_JIEBA_FULL
						     : !strcmp(s, "search") ? TL_JIEBA_SEARCH : TL_JIEBA_DEFAULT;
}

int main(int argc, char **argv)
{
	tl_err e = {0};
	if (argc >= 4 && !strcmp(argv[1], "--bench")) {
		double t0 = cpu_now();
		tl_jieba *j = tl_jieba_open(NULL, &e);
		double t1 = cpu_now();
		if (!j) {
			fprintf(stderr, "%s\n", e.msg);
			return e.code;
		}
		tl_buf in = {0};
		FILE *f = fopen(argv[3], "rb");
		char chunk[65536];
		size_t n;
		while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			tl_buf_add(&in, chunk, n);
		if (f)
			fclose(f);
		int mode = mode_of(argv[2]);
		tl_jieba_words w = {0};
		size_t nw = 0;
		double t2 = cpu_now();
		for (size_t p = 0; p < in.len;) {
			char *nl = memchr(in.data + p, '\n', in.len - p);
			size_t l = nl ? (size_t)(nl - in.data) - p : in.len - p;
			tl_jieba_words_clear(&w);
			tl_jieba_cut(j, in.data + p, l, mode, &w);
			nw += w.n;
			p += l + 1;
		}
		double t3 = cpu_now();
		printf("load_ms %.2f cache %d bytes %zu words %zu seconds %.4f MBps %.3f\n", (t1 - t0) * 1e3,
		       tl_jieba_from_cache(j), in.len, nw, t3 - t2, in.len / 1e6 / (t3 - t2));
		tl_jieba_words_free(&w);
		tl_buf_free(&in);
		tl_jieba_free(j);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: jieba_cut MODE [USERDICT]\n");
		return 2;
	}
	tl_jieba *j = tl_jieba_open(NULL, &e);
	if (!j || (argc > 2 && tl_jieba_load_userdict(j, argv[2], &e) < 0)) {
		fprintf(stderr, "%s\n", e.msg);
		return e.code;
	}
	int mode = mode_of(argv[1]);
	tl_buf rec = {0};
	tl_jieba_words w = {0};
	int c;
	for (;;) {
		rec.len = 0;
		while ((c = getchar()) != EOF && c != 0)
			tl_buf_addc(&rec, (char)c);
		if (c == EOF && !rec.len)
			break;
		tl_jieba_words_clear(&w);
		tl_jieba_cut(j, rec.data ? rec.data : "", rec.len, mode, &w);
		for (size_t i = 0; i < w.n; i++) {
			if (i)
				putchar(1);
			fwrite(w.buf.data + w.off[i], 1, w.len[i], stdout);
		}
		putchar(0);
		if (c == EOF)
			break;
	}
	tl_buf_free(&rec);
	tl_jieba_words_free(&w);
	tl_jieba_free(j);
	return 0;
}
