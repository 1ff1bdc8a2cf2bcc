/* test_jieba.c - tl_jieba against jieba 0.42.1 itself: every case of
 * tests/ref/jieba/cases.jsonl (edge cases + a sample of ChnSentiCorp, written
 * by tests/ref/jieba_ref.py gen) in the four modes, word for word; the user
 * dictionary (user.jsonl: segmentations, FREQ and total after
 * load_userdict); the compiled cache (reuse, rebuild on a changed source,
 * load time); errors. Needs `make jieba` (skipped without it). */
#include "testhelp.h"
#include "tl/jieba.h"
#include "tl/fsutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int same_words(const tl_jieba_words *w, json_t *want)
{
	if (!json_is_array(want) || json_array_size(want) != w->n)
		return 0;
	for (size_t i = 0; i < w->n; i++) {
		json_t *s = json_array_get(want, i);
		if (json_string_length(s) != w->len[i] || memcmp(json_string_value(s), w->buf.data + w->off[i], w->len[i]))
			return 0;
	}
	return 1;
}

static void show(const char *what, const char *text, const tl_jieba_words *w)
{
	fprintf(stderr, "%s: %s ->", what, text);
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, " [%.*s]", (int)w->len[i], w->buf.data + w->off[i]);
	fprintf(stderr, "\n");
}

static void run_cases(tl_jieba *j, const char *path, int user)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	static const char *modes[] = {"default", "nohmm", "full", "search"};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ncase = 0, nbad = 0;
	tl_jieba_words w = {0};
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		CHECK(o != NULL);
		if (!o)
			continue;
		json_t *fr = json_object_get(o, "freqs");
		if (fr) {
			const char *k;
			json_t *v;
			json_object_foreach(fr, k, v)
			{
				int64_t got = tl_jieba_freq(j, k, strlen(k));
				CHECK_EQ_INT(got, json_integer_value(v));
			}
			CHECK_EQ_INT(tl_jieba_total(j), json_integer_value(json_object_get(o, "total")));
			json_decref(o);
			continue;
		}
		const char *t = json_string_value(json_object_get(o, "text"));
		size_t tl = json_string_length(json_object_get(o, "text"));
		for (int m = 0; m < (user ? 1 : 4); m++) {
			tl_jieba_words_clear(&w);
			tl_jieba_cut(j, t, tl, m, &w);
			int ok = same_words(&w, json_object_get(o, modes[m]));
			if (!ok && nbad++ < 10)
				show(modes[m], t, &w);
			CHECK(ok);
		}
		ncase++;
		json_decref(o);
	}
	printf("%s: %d cases\n", path, ncase);
	CHECK(ncase >= (user ? 15 : 200));
	tl_jieba_words_free(&w);
	free(line);
	fclose(f);
}

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(s, 1, n, f);
	fclose(f);
}

static void copy_file(const char *from, const char *to)
{
	tl_buf b = {0};
	tl_fs_read_file(from, &b);
	write_file(to, b.data ? b.data : "", b.len);
	tl_buf_free(&b);
}

int main(void)
{
	tl_err e = {0};
	char *dir = tl_jieba_find(NULL, &e);
	if (!dir) {
		TEST_SKIP("jieba's dictionary is not installed (make jieba): %s", e.msg);
		/* the error itself is part of the contract */
		CHECK_EQ_INT(e.code, TL_EXIT_MODEL);
		CHECK(strstr(e.msg, "make jieba") != NULL);
		TEST_REPORT("test_jieba");
	}
	/* load time through the cache (the first open may compile it) */
	tl_jieba *j = tl_jieba_open(NULL, &e);
	CHECK(j != NULL);
	if (!j) {
		fprintf(stderr, "%s\n", e.msg);
		TEST_REPORT("test_jieba");
	}
	tl_jieba_free(j);
	double t0 = tl_now();
	j = tl_jieba_open(NULL, &e);
	double ms = (tl_now() - t0) * 1e3;
	printf("load from cache: %.2f ms\n", ms);
	CHECK(tl_jieba_from_cache(j));
	CHECK(ms < 500); /* 50 ms aimed at; loose here for loaded machines */
	CHECK_EQ_INT(tl_jieba_total(j), 60101967); /* jieba.dt.total */
	CHECK_EQ_INT(tl_jieba_freq(j, "清华大学", strlen("清华大学")), 922); /* dict.txt: 清华大学 922 nt */
	CHECK_EQ_INT(tl_jieba_freq(j, "清华大", 9), 0); /* a prefix entry */
	CHECK_EQ_INT(tl_jieba_freq(j, "不存在的词语啊", strlen("不存在的词语啊")), -1);

	run_cases(j, "tests/ref/jieba/cases.jsonl", 0);

	/* invalid UTF-8: each bad byte is a character of its own */
	tl_jieba_words w = {0};
	tl_jieba_cut(j, "\xff\xfe清华大学", 14, TL_JIEBA_DEFAULT, &w);
	CHECK_EQ_INT(w.n, 3);
	CHECK(w.n == 3 && w.len[0] == 1 && w.len[1] == 1 && w.len[2] == 12);
	/* join: whitespace tokens dropped, single spaces */
	tl_buf out = {0};
	tl_jieba_cut_join(j, " 我来到\t北京清华大学 \r\n", strlen(" 我来到\t北京清华大学 \r\n"), TL_JIEBA_DEFAULT, &out);
	CHECK_STR(tl_buf_cstr(&out), "我 来到 北京 清华大学");
	out.len = 0;
	tl_jieba_cut_join(j, "", 0, TL_JIEBA_FULL, &out);
	CHECK_EQ_INT(out.len, 0);
	tl_buf_free(&out);

	/* user dictionary errors */
	char tmp[] = "/tmp/tl-jieba-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	char p[1200], q[1200];
	snprintf(p, sizeof p, "%s/bad.txt", tmp);
	write_file(p, "好词 5\n坏\xff词 3\n", 15);
	CHECK_EQ_INT(tl_jieba_load_userdict(j, p, &e), -1);
	CHECK_EQ_INT(e.code, TL_EXIT_DATA);
	CHECK(strstr(e.msg, "bad.txt:2:") != NULL);
	write_file(p, "大数 99999999999999999999999\n", strlen("大数 99999999999999999999999\n"));
	CHECK_EQ_INT(tl_jieba_load_userdict(j, p, &e), -1);
	CHECK(strstr(e.msg, "bad.txt:1: frequency") != NULL);
	tl_jieba_free(j);
	j = tl_jieba_open(NULL, &e);
	int64_t tot = tl_jieba_total(j);
	write_file(p, "", 0);
	CHECK_EQ_INT(tl_jieba_load_userdict(j, p, &e), 0); /* empty: nothing added */
	CHECK_EQ_INT(tl_jieba_total(j), tot);
	snprintf(q, sizeof q, "%s/absent.txt", tmp);
	CHECK_EQ_INT(tl_jieba_load_userdict(j, q, &e), -1);
	CHECK_EQ_INT(e.code, TL_EXIT_IO);

	/* the user dictionary against jieba.load_userdict */
	CHECK_EQ_INT(tl_jieba_load_userdict(j, "tests/ref/jieba/userdict.txt", &e), 0);
	run_cases(j, "tests/ref/jieba/user.jsonl", 1);
	tl_jieba_free(j);

	/* a private copy: compile, reuse, rebuild when dict.txt changes, errors */
	static const char *files[] = {"dict.txt", "prob_start.py", "prob_trans.py", "prob_emit.py"};
	char jd[600];
	snprintf(jd, sizeof jd, "%s/jieba", tmp);
	mkdir(jd, 0755);
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		snprintf(q, sizeof q, "%s/%s", jd, files[i]);
		copy_file(p, q);
	}
	j = tl_jieba_open(jd, &e);
	CHECK(j && !tl_jieba_from_cache(j));
	tl_jieba_free(j);
	j = tl_jieba_open(jd, &e);
	CHECK(j && tl_jieba_from_cache(j));
	tl_jieba_free(j);
	/* a damaged cache (node ranges and indexes out of bounds in the middle
	 * of the file) is refused and compiled again, with the same words */
	snprintf(q, sizeof q, "%s/jieba.cache", jd);
	FILE *cf = fopen(q, "r+b");
	CHECK(cf != NULL);
	if (cf) {
		fseek(cf, 0, SEEK_END);
		long csz = ftell(cf);
		fseek(cf, csz / 2, SEEK_SET);
		for (int i = 0; i < 4096; i++)
			fputc(0xFF, cf);
		fclose(cf);
	}
	j = tl_jieba_open(jd, &e);
	CHECK(j && !tl_jieba_from_cache(j));
	if (j) {
		tl_jieba_words_clear(&w);
		tl_jieba_cut(j, "我来到北京清华大学", strlen("我来到北京清华大学"), TL_JIEBA_DEFAULT, &w);
		CHECK_EQ_INT(w.n, 4);
	}
	tl_jieba_free(j);
	snprintf(q, sizeof q, "%s/dict.txt", jd);
	write_file(q, "北京 5 ns\n大学 3 n\n北京大学 1 nt\n", strlen("北京 5 ns\n大学 3 n\n北京大学 1 nt\n"));
	j = tl_jieba_open(jd, &e);
	CHECK(j && !tl_jieba_from_cache(j));
	if (j) {
		CHECK_EQ_INT(tl_jieba_total(j), 9);
		tl_jieba_words_clear(&w);
		tl_jieba_cut(j, "北京大学", 12, TL_JIEBA_DEFAULT, &w);
		CHECK_EQ_INT(w.n, 2); /* 5*3/81 > 1/9 */
	}
	tl_jieba_free(j);
	write_file(q, "北京 5\n\n大学 3\n", strlen("北京 5\n\n大学 3\n"));
	j = tl_jieba_open(jd, &e);
	CHECK(j == NULL && e.code == TL_EXIT_MODEL && strstr(e.msg, "dict.txt:2:"));
	write_file(q, "北京 x5\n", strlen("北京 x5\n"));
	CHECK(tl_jieba_open(jd, &e) == NULL && strstr(e.msg, "dict.txt:1: invalid"));
	write_file(q, "", 0);
	CHECK(tl_jieba_open(jd, &e) == NULL && strstr(e.msg, "empty dictionary"));
	snprintf(q, sizeof q, "%s/prob_trans.py", jd);
	write_file(q, "P={'B': {'E': -0.5, 'M': oops}}\n", strlen("P={'B': {'E': -0.5, 'M': oops}}\n"));
	CHECK(tl_jieba_open(jd, &e) == NULL && strstr(e.msg, "prob_trans.py:1: expected a number"));
	unlink(q);
	CHECK(tl_jieba_open(jd, &e) == NULL && e.code == TL_EXIT_MODEL && strstr(e.msg, "make jieba"));
	CHECK(tl_jieba_open("/nonexistent/jieba", &e) == NULL && e.code == TL_EXIT_MODEL);
	tl_fs_rmtree(tmp);
	tl_jieba_words_free(&w);
	free(dir);
	TEST_REPORT("test_jieba");
}
