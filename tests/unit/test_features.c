/* Unit tests for lib/features/features.c: the word splitter, the string table,
 * murmur3, and BoW/TF-IDF/hashing values against scikit-learn on SST-2
 * (tests/ref/features_sst2.tsv, written by tests/ref/gen_features.py). */
#include "testhelp.h"
#include "tl/features.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char **read_tsv(const char *path, int n, int *got)
{
	FILE *f = fopen(path, "r");
	char **out = calloc((size_t)n, sizeof *out);
	*got = 0;
	if (!f)
		return out;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int first = 1;
	while (*got < n && (len = getline(&line, &cap, f)) > 0) {
		if (first) {
			first = 0;
			continue;
		}
		char *tab = strchr(line, '\t');
		if (tab)
			*tab = 0;
		out[(*got)++] = tl_xstrdup(line);
	}
	free(line);
	fclose(f);
	return out;
}

static void set_flags(tl_feat_opts *o, const char *flags)
{
	char *s = tl_xstrdup(flags), *save = NULL, err[256];
	unsigned set = 0;
	char *toks[32];
	int nt = 0;
	for (char *t = strtok_r(s, " ", &save); t && nt < 32; t = strtok_r(NULL, " ", &save))
		toks[nt++] = t;
	tl_feat_opts_default(o, TL_FEAT_BOW);
	for (int i = 0; i < nt; i++) {
		const char *name = toks[i] + 2;
		int r = tl_feat_opts_set(o, &set, name, NULL, err, sizeof err);
		if (r == 0 || (r < 0 && i + 1 < nt)) /* needs a value */
			r = tl_feat_opts_set(o, &set, name, toks[++i], err, sizeof err);
		CHECK(r == 1);
	}
	tl_feat_opts_finish(o, set);
	free(s);
}

static void test_words(void)
{
	tl_words w = {0};
	const char *s = "Hello, World! It's  a TEST\tÉté—ok 中文";
	tl_words_split(&w, s, strlen(s), 1);
	const char *want[] = {"hello", ",", "world", "!", "it", "'", "s", "a", "test", "été", "—", "ok", "中", "文"};
	CHECK_EQ_INT(w.n, 14);
	for (size_t i = 0; i < w.n && i < 14; i++)
		CHECK_STR(w.b.data + w.off[i], want[i]);
	tl_words_split(&w, "", 0, 1);
	CHECK_EQ_INT(w.n, 0);
	tl_words_split(&w, "\xff\xfe ab\xc3", 6, 1); /* invalid bytes are separators */
	CHECK_EQ_INT(w.n, 1);
	CHECK_STR(w.b.data, "ab");
	tl_words_free(&w);
}

/* TL_WORDS_CJK: CJK runs between spaces stay words; everything else splits
 * as without it (punctuation, case, invalid bytes, non-CJK text). */
static void test_words_cjk(void)
{
	tl_words w = {0}, v = {0};
	const char *s = "手机 很 好 ， iPhone手机 不错！3G 上網 中文。 「书」";
	tl_words_split(&w, s, strlen(s), TL_WORDS_LOWER | TL_WORDS_CJK);
	const char *want[] = {"手机", "很", "好", "，", "iphone手机", "不错", "！", "3g", "上網", "中文", "。",
			      "「", "书", "」"};
	CHECK_EQ_INT(w.n, 14);
	for (size_t i = 0; i < w.n && i < 14; i++)
		CHECK_STR(w.b.data + w.off[i], want[i]);
	/* the same text per character: 手机 is two tokens */
	tl_words_split(&v, s, strlen(s), TL_WORDS_LOWER);
	CHECK_EQ_INT(v.n, 20);
	CHECK_STR(v.b.data + v.off[0], "手");
	CHECK_STR(v.b.data + v.off[1], "机");
	/* no CJK: identical token lists with and without the flag */
	const char *e = "Hello, World! It's  a TEST\tÉté—ok \xff x";
	tl_words_split(&w, e, strlen(e), TL_WORDS_LOWER | TL_WORDS_CJK);
	tl_words_split(&v, e, strlen(e), TL_WORDS_LOWER);
	CHECK_EQ_INT(w.n, v.n);
	CHECK(w.b.len == v.b.len && !memcmp(w.b.data, v.b.data, w.b.len));
	/* without lower-casing */
	tl_words_split(&w, "ABC中文 X", strlen("ABC中文 X"), TL_WORDS_CJK);
	CHECK_EQ_INT(w.n, 2);
	CHECK_STR(w.b.data + w.off[0], "ABC中文");
	/* invalid bytes still separate */
	tl_words_split(&w, "中\xff文", 7, TL_WORDS_CJK);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(tl_words_cjk_run("中文", 6), 1);
	CHECK_EQ_INT(tl_words_cjk_run("中a文", 7), 0);
	CHECK_EQ_INT(tl_words_cjk_run("中", 3), 0);
	CHECK_EQ_INT(tl_words_cjk_run("\xe4\xb8", 2), 0); /* truncated */
	tl_words_free(&w);
	tl_words_free(&v);
}

/* "cjk=words" in the fitted file: saved only when set, read back, and an
 * option line without it (older files) means characters. */
static void test_feat_cjk(void)
{
	tl_feat_opts o;
	tl_feat_opts_default(&o, TL_FEAT_TFIDF);
	unsigned set = 0;
	char err[256], line[512];
	CHECK_EQ_INT(tl_feat_opts_set(&o, &set, "cjk", "words", err, sizeof err), 1);
	CHECK(set & TL_FEAT_SET_CJK);
	CHECK_EQ_INT(tl_feat_opts_set(&o, &set, "cjk", "maybe", err, sizeof err), -1);
	tl_feat_opts_str(&o, line, sizeof line);
	CHECK(strstr(line, " cjk=words") != NULL);
	tl_feat_fitter *f = tl_feat_fitter_new(&o);
	tl_feat_fitter_add(f, "手机 很 好", strlen("手机 很 好"));
	tl_feat_fitter_add(f, "手机 不 好", strlen("手机 不 好"));
	tl_feat *ft = tl_feat_fitter_finish(f, err, sizeof err);
	CHECK(ft != NULL);
	CHECK_EQ_INT(tl_feat_dim(ft), 4);
	CHECK(tl_feat_index(ft, "手机", strlen("手机")) >= 0);
	char path[] = "/tmp/tl-test-feat-cjk-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ_INT(tl_feat_save(ft, path), 0);
	tl_feat *back = tl_feat_load(path, err, sizeof err);
	CHECK(back != NULL);
	CHECK_EQ_INT(tl_feat_opts_of(back)->cjk_words, 1);
	tl_feat_opts none;
	tl_feat_opts_default(&none, TL_FEAT_TFIDF);
	CHECK_EQ_INT(tl_feat_check_opts(back, &none, TL_FEAT_SET_CJK, err, sizeof err), -1);
	CHECK(strstr(err, "--cjk") != NULL);
	tl_feat_free(back);
	tl_feat_free(ft);
	/* default options: no cjk key at all (fitted files stay byte-identical) */
	tl_feat_opts_str(&none, line, sizeof line);
	CHECK(strstr(line, "cjk") == NULL);
	unlink(path);
	/* header says */
	CHECK_EQ_INT(tl_header_cjk(NULL), -1);
	CHECK_EQ_INT(tl_cjk_check(1, 0, "m", err, sizeof err), -1);
	CHECK_EQ_INT(tl_cjk_check(0, 1, "m", err, sizeof err), 1);
	CHECK_EQ_INT(tl_cjk_check(1, -1, "m", err, sizeof err), 0);
	CHECK_EQ_INT(tl_cjk_check(1, 1, "m", err, sizeof err), 0);
	CHECK_EQ_INT(tl_cjk_check(0, 0, "m", err, sizeof err), 0);
}

static void test_strtab(void)
{
	tl_strtab t;
	tl_strtab_init(&t);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK_EQ_INT(tl_strtab_add(&t, key, strlen(key), NULL), i);
	}
	int isnew = 1;
	CHECK_EQ_INT(tl_strtab_add(&t, "k42", 3, &isnew), 42);
	CHECK(!isnew);
	CHECK_EQ_INT(tl_strtab_find(&t, "nope", 4), -1);
	CHECK_STR(tl_strtab_str(&t, 4999), "k4999");
	tl_strtab_free(&t);
	/* sklearn.utils.murmurhash3_32 reference values */
	CHECK_EQ_INT(tl_murmur3_32("", 0, 0), 0);
	CHECK_EQ_INT(tl_murmur3_32("foo", 3, 0), -156908512);
	CHECK_EQ_INT(tl_murmur3_32("hello world", 11, 0), 1586663183);
}

static void test_parity(const char *data)
{
	char path[2048];
	int ntrain, ndev;
	snprintf(path, sizeof path, "%s/sst2/train.tsv", data);
	char **train = read_tsv(path, 2000, &ntrain);
	snprintf(path, sizeof path, "%s/sst2/dev.tsv", data);
	char **dev = read_tsv(path, 30, &ndev);
	if (ntrain != 2000 || ndev != 30) {
		printf("SKIP parity: no SST-2 under %s\n", data);
		CHECK(0);
		return;
	}
	FILE *f = fopen("tests/ref/features_sst2.tsv", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	tl_feat *ft = NULL;
	tl_sparse sp[30];
	memset(sp, 0, sizeof sp);
	int nconf = 0;
	long nvals = 0, nbad = 0, nseen[30];
	double maxerr = 0;
	char err[512];
	for (;;) {
		len = getline(&line, &cap, f);
		if (len <= 0 || !strncmp(line, "#config\t", 8)) {
			if (ft) { /* close the previous block: every non-zero was listed */
				long total = 0, listed = 0;
				for (int i = 0; i < 30; i++) {
					total += (long)sp[i].n;
					listed += nseen[i];
				}
				CHECK_EQ_INT(total, listed);
				tl_feat_free(ft);
				ft = NULL;
			}
			if (len <= 0)
				break;
			line[len - 1] = 0;
			char *name = line + 8, *flags = strchr(name, '\t');
			*flags++ = 0;
			char *dimp = strchr(flags, '\t');
			*dimp++ = 0;
			long dim = atol(dimp + 4);
			tl_feat_opts o;
			set_flags(&o, flags);
			tl_feat_fitter *fit = tl_feat_fitter_new(&o);
			for (int i = 0; i < ntrain; i++)
				tl_feat_fitter_add(fit, train[i], strlen(train[i]));
			ft = tl_feat_fitter_finish(fit, err, sizeof err);
			CHECK(ft != NULL);
			if (!ft)
				return;
			CHECK_EQ_INT(tl_feat_dim(ft), dim);
			/* round trip through the fitted file */
			char tmp[] = "/tmp/tl-test-feat-XXXXXX";
			close(mkstemp(tmp));
			CHECK(tl_feat_save(ft, tmp) == 0);
			tl_feat *ft2 = tl_feat_load(tmp, err, sizeof err);
			CHECK(ft2 != NULL);
			if (!ft2)
				fprintf(stderr, "load: %s\n", err);
			unlink(tmp);
			if (ft2) {
				CHECK_EQ_INT(tl_feat_dim(ft2), dim);
				tl_feat_free(ft);
				ft = ft2;
			}
			for (int i = 0; i < 30; i++) {
				tl_feat_apply(ft, dev[i], strlen(dev[i]), &sp[i]);
				nseen[i] = 0;
			}
			nconf++;
			continue;
		}
		line[len - 1] = 0;
		int doc = atoi(line);
		char *term = strchr(line, '\t') + 1, *val = strrchr(line, '\t');
		*val++ = 0;
		/* unescape */
		char *d = term;
		for (char *s = term; *s; s++) {
			if (*s == '\\') {
				s++;
				*d++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
			} else
				*d++ = *s;
		}
		*d = 0;
		long idx = tl_feat_opts_of(ft)->hash ? atol(term) : tl_feat_index(ft, term, strlen(term));
		double want = atof(val), got = 0;
		int found = 0;
		for (size_t k = 0; k < sp[doc].n; k++)
			if (sp[doc].idx[k] == idx) {
				got = sp[doc].val[k];
				found = 1;
			}
		nseen[doc]++;
		nvals++;
		double e = fabs(got - want);
		if (!found || e > 1e-6 * (1 + fabs(want))) {
			if (nbad++ < 5)
				fprintf(stderr, "mismatch doc %d term '%s': got %g want %g\n", doc, term, got, want);
		}
		if (e > maxerr)
			maxerr = e;
	}
	CHECK_EQ_INT(nconf, 6);
	CHECK(nvals > 5000);
	CHECK_EQ_INT(nbad, 0);
	printf("parity: %d configs, %ld values, max abs error %.3g\n", nconf, nvals, maxerr);
	free(line);
	fclose(f);
	for (int i = 0; i < 30; i++)
		tl_sparse_free(&sp[i]);
	for (int i = 0; i < ntrain; i++)
		free(train[i]);
	for (int i = 0; i < ndev; i++)
		free(dev[i]);
	free(train);
	free(dev);
}

static void test_bad(void)
{
	char err[512];
	tl_feat_opts o;
	tl_feat_opts_default(&o, TL_FEAT_TFIDF);
	o.min_df = 2;
	tl_feat_fitter *f = tl_feat_fitter_new(&o);
	tl_feat_fitter_add(f, "a b c", 5);
	tl_feat_fitter_add(f, "d e", 3);
	tl_feat *ft = tl_feat_fitter_finish(f, err, sizeof err);
	CHECK(ft == NULL);
	CHECK(strstr(err, "empty vocabulary") != NULL);
	/* a corrupt fitted file */
	char tmp[] = "/tmp/tl-test-feat-XXXXXX";
	int fd = mkstemp(tmp);
	const char *bad = "tl-features 1\nkind=tfidf analyzer=word ngram=1,1 min_df=1 max_df=1.0 max_features=0 "
			  "binary=0 sublinear_tf=0 use_idf=1 smooth_idf=1 norm=l2 hash=0 lower=1\nn_docs=2 dim=3\n"
			  "a\t1\nb\tx\n";
	CHECK(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad));
	close(fd);
	CHECK(tl_feat_load(tmp, err, sizeof err) == NULL);
	CHECK(strstr(err, "line 5: bad document frequency") != NULL);
	unlink(tmp);
	CHECK(tl_feat_load("/nonexistent/x", err, sizeof err) == NULL);
	/* options mismatch */
	tl_feat_opts_default(&o, TL_FEAT_TFIDF);
	f = tl_feat_fitter_new(&o);
	tl_feat_fitter_add(f, "a b c", 5);
	ft = tl_feat_fitter_finish(f, err, sizeof err);
	tl_feat_opts a = o;
	a.ngram_max = 2;
	CHECK(tl_feat_check_opts(ft, &a, TL_FEAT_SET_NGRAM, err, sizeof err) == -1);
	CHECK(strstr(err, "--ngram differs") != NULL);
	CHECK(tl_feat_check_opts(ft, &a, TL_FEAT_SET_KIND, err, sizeof err) == 0);
	tl_feat_free(ft);
}

int main(void)
{
	const char *shared = getenv("TL_SHARED");
	char data[1024];
	snprintf(data, sizeof data, "%s/data", shared ? shared : "../shared");
	test_words();
	test_words_cjk();
	test_feat_cjk();
	test_strtab();
	test_parity(data);
	test_bad();
	TEST_REPORT("test_features");
}
