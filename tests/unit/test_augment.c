/* test_augment.c - word splitting, and the invariants of every operation. */
#include "tl/augment.h"
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>

static void ops_parse(void)
{
	unsigned ops;
	char err[200];
	CHECK(tl_aug_parse_ops("eda", &ops, err, sizeof err) == 0 && ops == 0xf);
	CHECK(tl_aug_parse_ops("all", &ops, err, sizeof err) == 0 && ops == 0x7f);
	CHECK(tl_aug_parse_ops("rot,typo", &ops, err, sizeof err) == 0 && ops == ((1u << TL_AUG_ROT) | (1u << TL_AUG_TYPO)));
	CHECK(tl_aug_parse_ops("noise", &ops, err, sizeof err) == 0 && ops == ((1u << TL_AUG_TYPO) | (1u << TL_AUG_DROP)));
	CHECK(tl_aug_parse_ops("sr,bogus", &ops, err, sizeof err) == -1 && strstr(err, "bogus"));
	CHECK(tl_aug_parse_ops("", &ops, err, sizeof err) == -1);
	CHECK_STR(tl_aug_op_name(TL_AUG_DROP), "dropout");
}

static void splitting(tl_augmenter *a, tl_augmenter *ad)
{
	struct {
		const char *in, *want;
		int nw;
	} c[] = {
		{"It's a charming, often affecting journey.", "It's|a|charming|[,]|often|affecting|journey|[.]", 6},
		{"it 's a film . ", "it|'s|a|film|[.]", 4},
		{"(hello) world...", "[(]|hello|[)]|world|[...]", 2},
		{"well-made  \t fun", "well-made|fun", 2},
		{"“Quoted” — dash", "[“]|Quoted|[”]|[—]|dash", 2},
		{"我很喜欢，好看！", "我|很|喜|欢|[，]|好|看|[！]", 6},
		{"I love 北京abc!", "I|love|北|京|abc|[!]", 5},
		{"", "", 0},
		{" ... ", "[...]", 0},
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		tl_buf b = {0};
		size_t nw = tl_augment_words(a, c[i].in, strlen(c[i].in), &b);
		CHECK_STR(b.len ? b.data : "", c[i].want);
		CHECK_EQ_INT(nw, c[i].nw);
		tl_buf_free(&b);
	}
	/* with a dictionary: forward maximum matching merges CJK words */
	tl_buf b = {0};
	tl_augment_words(ad, "我很喜欢这部电影，好看！", strlen("我很喜欢这部电影，好看！"), &b);
	CHECK_STR(b.data, "我|很|喜欢|这|部|电影|[，]|好看|[！]");
	tl_buf_free(&b);
	CHECK(tl_augment_is_unsegmented("abc 中", strlen("abc 中")));
	CHECK(!tl_augment_is_unsegmented("abc é", 6));
	CHECK(tl_augment_is_stopword("The", 3));
	CHECK(tl_augment_is_stopword("n't", 3));
	CHECK(!tl_augment_is_stopword("film", 4));
}

/* words of a text (through the splitter) into an array of strings */
static int get_words(tl_augmenter *a, const char *s, char w[][64], int max, char *punct, size_t psz)
{
	tl_buf b = {0};
	tl_augment_words(a, s, strlen(s), &b);
	int n = 0;
	size_t pn = 0;
	char *save = NULL;
	for (char *t = b.len ? strtok_r(b.data, "|", &save) : NULL; t; t = strtok_r(NULL, "|", &save)) {
		if (t[0] == '[') {
			pn += (size_t)snprintf(punct + pn, pn < psz ? psz - pn : 0, "%s@%d ", t, n);
		} else if (n < max) {
			snprintf(w[n++], 64, "%s", t);
		}
	}
	if (!pn && psz)
		punct[0] = 0;
	tl_buf_free(&b);
	return n;
}

static int cmp_w(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* Damerau-Levenshtein (optimal string alignment) distance, bytes */
static int dl(const char *s, const char *t)
{
	int n = (int)strlen(s), m = (int)strlen(t), d[70][70];
	if (n > 68 || m > 68)
		return 99;
	for (int i = 0; i <= n; i++)
		d[i][0] = i;
	for (int j = 0; j <= m; j++)
		d[0][j] = j;
	for (int i = 1; i <= n; i++)
		for (int j = 1; j <= m; j++) {
			int c = s[i - 1] != t[j - 1];
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < v)
				v = d[i - 1][j - 1] + c;
			if (i > 1 && j > 1 && s[i - 1] == t[j - 2] && s[i - 2] == t[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

static const char *const SENT = "The quick brown fox, however, jumps over lazy dogs near the old river bank.";

static void invariants(tl_augmenter *a)
{
	char w0[64][64], w1[64][64], p0[512], p1[512];
	int n0 = get_words(a, SENT, w0, 64, p0, sizeof p0);
	CHECK_EQ_INT(n0, 14);
	int rs_ok = 1, rot_ok = 1, rd_ok = 1, typo_ok = 1, drop_ok = 1;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		tl_xoshiro r;
		const char *out;
		size_t len;
		/* swap: same multiset of words, punctuation where it was */
		tl_xoshiro_seed(&r, seed);
		tl_augment_apply(a, TL_AUG_RS, SENT, strlen(SENT), &r, &out, &len);
		char o[512];
		snprintf(o, sizeof o, "%s", out);
		int n1 = get_words(a, o, w1, 64, p1, sizeof p1);
		char s0[64][64], s1[64][64];
		memcpy(s0, w0, sizeof s0);
		memcpy(s1, w1, sizeof s1);
		qsort(s0, (size_t)n0, 64, cmp_w);
		qsort(s1, (size_t)n1, 64, cmp_w);
		if (n1 != n0 || strcmp(p0, p1))
			rs_ok = 0;
		for (int i = 0; i < n0 && i < n1; i++)
			if (strcmp(s0[i], s1[i]))
				rs_ok = 0;
		/* rotation by k in 1..n-1 */
		tl_xoshiro_seed(&r, seed);
		int ch = tl_augment_apply(a, TL_AUG_ROT, SENT, strlen(SENT), &r, &out, &len);
		snprintf(o, sizeof o, "%s", out);
		n1 = get_words(a, o, w1, 64, p1, sizeof p1);
		int k;
		for (k = 1; k < n0; k++) {
			int ok = 1;
			for (int i = 0; i < n0 && ok; i++)
				ok = !strcmp(w1[i], w0[(i + k) % n0]);
			if (ok)
				break;
		}
		if (!ch || n1 != n0 || k == n0 || strcmp(p0, p1))
			rot_ok = 0;
		/* deletion: an ordered subsequence, never empty */
		for (int op = TL_AUG_RD; op <= TL_AUG_DROP; op += TL_AUG_DROP - TL_AUG_RD) {
			tl_xoshiro_seed(&r, seed);
			tl_augment_apply(a, op, SENT, strlen(SENT), &r, &out, &len);
			snprintf(o, sizeof o, "%s", out);
			n1 = get_words(a, o, w1, 64, p1, sizeof p1);
			int j = 0;
			for (int i = 0; i < n0 && j < n1; i++)
				if (!strcmp(w0[i], w1[j]))
					j++;
			if (n1 < 1 || n1 > n0 || j != n1)
				*(op == TL_AUG_RD ? &rd_ok : &drop_ok) = 0;
		}
		/* typos: max(1, 0.1*14) = 1 word changed by exactly one edit */
		tl_xoshiro_seed(&r, seed);
		ch = tl_augment_apply(a, TL_AUG_TYPO, SENT, strlen(SENT), &r, &out, &len);
		snprintf(o, sizeof o, "%s", out);
		n1 = get_words(a, o, w1, 64, p1, sizeof p1);
		int diff = 0;
		for (int i = 0; i < n0 && i < n1; i++)
			if (strcmp(w0[i], w1[i])) {
				diff++;
				if (dl(w0[i], w1[i]) != 1)
					typo_ok = 0;
			}
		if (!ch || n1 != n0 || diff != 1)
			typo_ok = 0;
	}
	CHECK(rs_ok);
	CHECK(rot_ok);
	CHECK(rd_ok);
	CHECK(drop_ok);
	CHECK(typo_ok);
	/* keyboard neighbours: a typo of "q" is w or a (substitution), or
	 * q plus one of them (insertion) */
	int kb_ok = 1;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		tl_xoshiro r;
		tl_xoshiro_seed(&r, seed);
		const char *out;
		size_t len;
		tl_augment_apply(a, TL_AUG_TYPO, "q", 1, &r, &out, &len);
		if (!(!strcmp(out, "w") || !strcmp(out, "a") || !strcmp(out, "qw") || !strcmp(out, "wq") ||
		      !strcmp(out, "qa") || !strcmp(out, "aq")))
			kb_ok = 0;
	}
	CHECK(kb_ok);
	/* no-ops: empty text, one word */
	tl_xoshiro r;
	tl_xoshiro_seed(&r, 1);
	const char *out;
	size_t len;
	for (int op = 0; op < TL_AUG_NOPS; op++)
		CHECK_EQ_INT(tl_augment_apply(a, op, "", 0, &r, &out, &len), 0);
	CHECK_EQ_INT(len, 0);
	CHECK_EQ_INT(tl_augment_apply(a, TL_AUG_RS, "word.", 5, &r, &out, &len), 0);
	CHECK_EQ_INT(tl_augment_apply(a, TL_AUG_ROT, "word.", 5, &r, &out, &len), 0);
	CHECK_EQ_INT(tl_augment_apply(a, TL_AUG_RD, "word.", 5, &r, &out, &len), 0);
	CHECK_STR(out, "word.");
	/* deleting the last word keeps the full stop attached */
	int attached = 1;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		tl_xoshiro_seed(&r, seed);
		tl_augment_apply(a, TL_AUG_RD, "one two three.", 14, &r, &out, &len);
		if (strstr(out, " .") || out[len - 1] != '.')
			attached = 0;
	}
	CHECK(attached);
}

static void synonyms(tl_augmenter *ad, tl_augmenter *awn)
{
	tl_xoshiro r;
	const char *out;
	size_t len;
	/* SR replaces good (every occurrence, case kept), never "the" (a stop word) */
	int ok = 1, seen_great = 0, seen_fine = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		tl_xoshiro_seed(&r, seed);
		const char *s = "Good the good GOOD";
		tl_augment_apply(ad, TL_AUG_SR, s, strlen(s), &r, &out, &len);
		if (!strcmp(out, "Great the great GREAT"))
			seen_great = 1;
		else if (!strcmp(out, "Fine the fine FINE"))
			seen_fine = 1;
		else
			ok = 0;
	}
	CHECK(ok && seen_great && seen_fine);
	/* RI inserts one synonym (n = max(1, 0.1*3) = 1) */
	tl_xoshiro_seed(&r, 3);
	CHECK_EQ_INT(tl_augment_apply(ad, TL_AUG_RI, "a good movie", 12, &r, &out, &len), 1);
	CHECK(strlen(out) > 12 && (strstr(out, "great") || strstr(out, "fine") || strstr(out, "film")));
	/* Chinese: dictionary words replaced */
	tl_xoshiro_seed(&r, 5);
	const char *zh = "我很喜欢这部电影，好看！";
	CHECK_EQ_INT(tl_augment_apply(ad, TL_AUG_SR, zh, strlen(zh), &r, &out, &len), 1);
	CHECK(strstr(out, "喜爱") || strstr(out, "爱这") || strstr(out, "影片") || strstr(out, "精彩"));
	/* no dictionary, no WordNet: SR on Chinese has nothing to do */
	if (awn) {
		tl_xoshiro_seed(&r, 5);
		CHECK_EQ_INT(tl_augment_apply(awn, TL_AUG_SR, zh, strlen(zh), &r, &out, &len), 0);
		/* WordNet: plural noun replaced by a plural synonym */
		int plural = 1;
		for (uint64_t seed = 1; seed <= 20; seed++) {
			tl_xoshiro_seed(&r, seed);
			CHECK_EQ_INT(tl_augment_apply(awn, TL_AUG_SR, "the dogs", 8, &r, &out, &len), 1);
			/* the head word is inflected: "hounds", "domestic dogs", "gives chase" */
			if (strncmp(out, "the ", 4) || (out[len - 1] != 's' && !strstr(out + 4, "s ")))
				plural = 0;
		}
		CHECK(plural);
	}
	/* reproducible */
	char o1[256];
	tl_xoshiro_seed(&r, 9);
	tl_augment_apply(ad, TL_AUG_RI, SENT, strlen(SENT), &r, &out, &len);
	snprintf(o1, sizeof o1, "%s", out);
	tl_xoshiro_seed(&r, 9);
	tl_augment_apply(ad, TL_AUG_RI, SENT, strlen(SENT), &r, &out, &len);
	CHECK_STR(out, o1);
}

static void dict_errors(void)
{
	char err[300];
	CHECK(tl_synonyms_load("/nonexistent/syn.tsv", err, sizeof err) == NULL && strstr(err, "/nonexistent/syn.tsv"));
	FILE *f = fopen("/tmp/tl-au-bad.tsv", "w");
	fputs("good\tgreat\nno tab here\n", f);
	fclose(f);
	CHECK(tl_synonyms_load("/tmp/tl-au-bad.tsv", err, sizeof err) == NULL && strstr(err, "line 2"));
	f = fopen("/tmp/tl-au-bad.tsv", "w");
	fputs("good\tgreat\ngood\tfine\n", f);
	fclose(f);
	CHECK(tl_synonyms_load("/tmp/tl-au-bad.tsv", err, sizeof err) == NULL && strstr(err, "twice"));
	f = fopen("/tmp/tl-au-bad.tsv", "w");
	fputs("g\xffod\tgreat\n", f);
	fclose(f);
	CHECK(tl_synonyms_load("/tmp/tl-au-bad.tsv", err, sizeof err) == NULL && strstr(err, "UTF-8"));
	remove("/tmp/tl-au-bad.tsv");
}

int main(void)
{
	char err[512];
	ops_parse();
	tl_aug_opts o;
	tl_aug_opts_default(&o);
	tl_synonyms *syn = tl_synonyms_load("tests/ref/synonyms_test.tsv", err, sizeof err);
	CHECK(syn != NULL);
	if (!syn)
		fprintf(stderr, "%s\n", err);
	if (!syn)
		TEST_REPORT("test_augment");
	tl_wordnet *wn = tl_wordnet_open(NULL, err, sizeof err);
	CHECK(wn != NULL);
	tl_augmenter *a = tl_augmenter_new(&o, NULL, NULL);
	tl_augmenter *ad = tl_augmenter_new(&o, NULL, syn);
	tl_augmenter *awn = wn ? tl_augmenter_new(&o, wn, NULL) : NULL;
	splitting(a, ad);
	invariants(a);
	synonyms(ad, awn);
	dict_errors();
	tl_augmenter_free(a);
	tl_augmenter_free(ad);
	tl_augmenter_free(awn);
	tl_synonyms_free(syn);
	tl_wordnet_close(wn);
	TEST_REPORT("test_augment");
}
