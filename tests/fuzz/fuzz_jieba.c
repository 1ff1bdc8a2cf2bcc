/* fuzz_jieba.c - the jieba segmenter (tl_jieba_cut in the four modes), the
 * user-dictionary parser (tl_jieba_load_userdict) and the dict.txt parser
 * (tl_jieba_open compiling a dictionary), over a small dictionary written
 * here (the HMM tables cover a few characters; the rest get jieba's
 * MIN_FLOAT). Input: TEXT, or USERDICT ---- TEXT, or USERDICT ---- TEXT ----
 * DICT (then DICT replaces the dictionary). Invariants: the default and
 * HMM-off words put together give the text back byte for byte (jieba's cut
 * is a partition); the joined form has single spaces, none at the ends. */
#include "fuzz.h"
#include "tl/jieba.h"

#include <sys/stat.h>

static const char DICT[] = "北京 100 ns\n北京大学 50 nt\n大学 80 n\n清华 30 nr\n清华大学 40 nt\n学生 60 n\n"
			   "中国 90 ns\n中国人 20 n\n人民 70 n\nAT&T 3 nz\nc# 3 nz\nB超 3 n\n我 200 r\n来到 40 v\n";
static const char START[] = "P={'B': -0.26, 'E': -3.14e+100, 'M': -3.14e+100, 'S': -1.46}\n";
static const char TRANS[] = "P={'B': {'E': -0.51, 'M': -0.91},\n 'E': {'B': -0.58, 'S': -0.80},\n"
			    " 'M': {'E': -0.33, 'M': -1.26},\n 'S': {'B': -0.72, 'S': -0.66}}\n";
static const char EMIT[] = "from __future__ import unicode_literals\n\nP={'B': {'\\u4e00': -3.6, '\\u676d': -8.1, "
			   "'\\u7814': -9.0},\n 'E': {'\\u7814': -7.2, '\\u5927': -5.0},\n 'M': {'\\u4e00': -4.0},\n"
			   " 'S': {'\\u4e00': -5.5, '\\u4e86': -2.1}}\n";

static void put(const char *dir, const char *name, const void *data, size_t n)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
		abort();
}

static void setup(const char *dir, const void *dict, size_t n)
{
	mkdir(dir, 0755);
	put(dir, "dict.txt", dict, n);
	put(dir, "prob_start.py", START, strlen(START));
	put(dir, "prob_trans.py", TRANS, strlen(TRANS));
	put(dir, "prob_emit.py", EMIT, strlen(EMIT));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char base[160], alt[160];
	if (!base[0]) {
		snprintf(base, sizeof base, "%s/jieba", fz_dir());
		snprintf(alt, sizeof alt, "%s/jieba2", fz_dir());
		setup(base, DICT, strlen(DICT));
	}
	size_t ul = 0, tl = 0, dl = 0;
	const uint8_t *ud = fz_part(data, size, 0, &ul), *text = fz_part(data, size, 1, &tl),
		      *dict = fz_part(data, size, 2, &dl);
	if (!text) {
		text = data;
		tl = size;
		ud = NULL;
	}
	const char *dir = base;
	if (dict) {
		setup(alt, dict, dl);
		dir = alt;
	}
	tl_err e = {0};
	tl_jieba *j = tl_jieba_open(dir, &e);
	if (!j) {
		FZ_CHECK(dict && e.code == TL_EXIT_MODEL && e.msg[0]);
		return 0;
	}
	if (ud) {
		const char *p = fz_write("user.txt", ud, ul);
		if (tl_jieba_load_userdict(j, p, &e) < 0)
			FZ_CHECK(e.code == TL_EXIT_DATA && strstr(e.msg, "user.txt:"));
	}
	tl_jieba_words w = {0};
	for (int m = 0; m < 4; m++) {
		tl_jieba_words_clear(&w);
		tl_jieba_cut(j, (const char *)text, tl, m, &w);
		if (m == TL_JIEBA_DEFAULT || m == TL_JIEBA_NOHMM) {
			/* a partition of the text */
			FZ_CHECK(w.buf.len == tl && (!tl || !memcmp(w.buf.data, text, tl)));
			for (size_t i = 0; i < w.n; i++)
				FZ_CHECK(w.len[i] > 0);
		}
		for (size_t i = 0; i < w.n; i++)
			FZ_CHECK(w.off[i] + w.len[i] <= w.buf.len);
		tl_buf out = {0};
		tl_jieba_cut_join(j, (const char *)text, tl, m, &out);
		if (out.len) {
			FZ_CHECK(out.data[0] != ' ' && out.data[out.len - 1] != ' ');
			FZ_CHECK(!memmem(out.data, out.len, "  ", 2));
		}
		tl_buf_free(&out);
	}
	tl_jieba_words_free(&w);
	tl_jieba_free(j);
	return 0;
}
