/* test_wordnet.c - the WordNet reader against NLTK's answers on the same
 * files (tests/ref/wordnet_ref.tsv, from tests/ref/gen_wordnet_ref.py),
 * inflection, and damaged databases. Needs wordnet-base (make deps). */
#include "tl/wordnet.h"
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list's strings sorted and joined by ' ' into buf. */
static void joined_sorted(const tl_wn_list *l, char *buf, size_t sz)
{
	const char **v = malloc((l->n + 1) * sizeof *v);
	for (size_t i = 0; i < l->n; i++)
		v[i] = tl_wn_list_at(l, i);
	qsort(v, l->n, sizeof *v, cmp_str);
	buf[0] = 0;
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%s%s", i ? " " : "", v[i]);
	free(v);
}

static void joined(const tl_wn_list *l, char *buf, size_t sz)
{
	buf[0] = 0;
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%s%s", i ? " " : "", tl_wn_list_at(l, i));
}

static int has(const tl_wn_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(tl_wn_list_at(l, i), s))
			return 1;
	return 0;
}

static void parity(const tl_wordnet *wn)
{
	FILE *f = fopen("tests/ref/wordnet_ref.tsv", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char line[16384], got[16384];
	tl_wn_list l = {0};
	int nm = 0, nl = 0, okm = 0, okl = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *kind = strtok(line, "\t"), *word = strtok(NULL, "\t");
		if (!kind || !word)
			continue;
		if (kind[0] == 'M') {
			char *pos = strtok(NULL, "\t"), *want = strtok(NULL, "\t");
			int p = strchr("nvar", pos[0]) - "nvar";
			tl_wordnet_morphy(wn, word, strlen(word), p, &l);
			joined(&l, got, sizeof got);
			nm++;
			if (!strcmp(got, want ? want : ""))
				okm++;
			else
				fprintf(stderr, "morphy(%s, %s): got '%s', NLTK '%s'\n", word, pos, got, want ? want : "");
		} else {
			char *want = strtok(NULL, "\t");
			tl_wordnet_lemmas(wn, word, strlen(word), &l);
			joined_sorted(&l, got, sizeof got);
			nl++;
			if (!strcmp(got, want ? want : ""))
				okl++;
			else
				fprintf(stderr, "lemmas(%s): got '%s'\n   NLTK '%s'\n", word, got, want ? want : "");
		}
	}
	fclose(f);
	tl_wn_list_free(&l);
	printf("wordnet parity with NLTK: morphy %d/%d, synset lemmas %d/%d\n", okm, nm, okl, nl);
	CHECK(nm > 1500 && nl > 400);
	CHECK_EQ_INT(okm, nm);
	CHECK_EQ_INT(okl, nl);
}

static void inflection(const tl_wordnet *wn)
{
	char o[128];
	struct {
		const char *base;
		int pos, infl;
		const char *want;
	} cases[] = {
		{"dog", TL_WN_NOUN, TL_WN_INFL_PLURAL, "dogs"},
		{"domestic dog", TL_WN_NOUN, TL_WN_INFL_PLURAL, "domestic dogs"},
		{"church", TL_WN_NOUN, TL_WN_INFL_PLURAL, "churches"},
		{"city", TL_WN_NOUN, TL_WN_INFL_PLURAL, "cities"},
		{"day", TL_WN_NOUN, TL_WN_INFL_PLURAL, "days"},
		{"goose", TL_WN_NOUN, TL_WN_INFL_PLURAL, "geese"},
		{"mouse", TL_WN_NOUN, TL_WN_INFL_PLURAL, "mice"},
		{"walk", TL_WN_VERB, TL_WN_INFL_PAST, "walked"},
		{"hope", TL_WN_VERB, TL_WN_INFL_PAST, "hoped"},
		{"cry", TL_WN_VERB, TL_WN_INFL_PAST, "cried"},
		{"stop", TL_WN_VERB, TL_WN_INFL_PAST, "stopped"},
		{"stop", TL_WN_VERB, TL_WN_INFL_GER, "stopping"},
		{"make", TL_WN_VERB, TL_WN_INFL_GER, "making"},
		{"see", TL_WN_VERB, TL_WN_INFL_GER, "seeing"},
		{"die", TL_WN_VERB, TL_WN_INFL_GER, "dying"},
		{"watch", TL_WN_VERB, TL_WN_INFL_3SG, "watches"},
		{"go after", TL_WN_VERB, TL_WN_INFL_3SG, "goes after"},
		{"photo", TL_WN_NOUN, TL_WN_INFL_PLURAL, "photos"},
		{"give up", TL_WN_VERB, TL_WN_INFL_PAST, ""}, /* irregular: gave or given? */
		{"give up", TL_WN_VERB, TL_WN_INFL_GER, "giving up"},
		{"look into", TL_WN_VERB, TL_WN_INFL_PAST, "looked into"},
		{"good", TL_WN_ADJ, TL_WN_INFL_COMPAR, ""},
		{"dog", TL_WN_NOUN, TL_WN_INFL_NONE, "dog"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = tl_wordnet_inflect(wn, cases[i].base, strlen(cases[i].base), cases[i].pos, cases[i].infl, o,
					      sizeof o);
		if (!n)
			o[0] = 0;
		CHECK_STR(o, cases[i].want);
	}
}

static void synonyms(const tl_wordnet *wn)
{
	tl_wn_list l = {0};
	tl_wordnet_synonyms(wn, "dogs", 4, &l);
	CHECK(has(&l, "domestic dogs"));
	CHECK(has(&l, "hounds"));     /* verb dog -> hound, 3sg */
	CHECK(!has(&l, "dogs"));
	CHECK(!has(&l, "dog"));
	tl_wordnet_synonyms(wn, "stopped", 7, &l);
	CHECK(has(&l, "halted"));
	CHECK(!has(&l, "stopped"));
	CHECK(l.n > 0);
	for (size_t i = 0; i < l.n; i++) {
		const char *s = tl_wn_list_at(&l, i);
		const char *sp = strchr(s, ' ');
		size_t head = sp ? (size_t)(sp - s) : strlen(s);
		/* every synonym of a past form is itself an -ed form (irregular
		 * verbs are skipped) */
		if (l.tag[i] == TL_WN_VERB)
			CHECK(head > 2 && !strncmp(s + head - 2, "ed", 2));
		else /* "stopped" is also an adjective lemma: its synonyms as they are */
			CHECK_EQ_INT(l.tag[i], TL_WN_ADJ);
	}
	tl_wordnet_synonyms(wn, "happier", 7, &l);
	CHECK_EQ_INT(l.n, 0); /* comparatives are not re-inflected */
	tl_wordnet_synonyms(wn, "Good", 4, &l);
	CHECK(has(&l, "well") || has(&l, "beneficial")); /* case-insensitive */
	CHECK_EQ_INT(tl_wordnet_synonyms(wn, "xqzv", 4, &l), 0);
	CHECK_EQ_INT(tl_wordnet_synonyms(wn, "", 0, &l), 0);
	char big[300];
	memset(big, 'a', sizeof big);
	CHECK_EQ_INT(tl_wordnet_synonyms(wn, big, sizeof big, &l), 0);
	tl_wn_list_free(&l);
}

static void damaged(void)
{
	char err[512];
	tl_wordnet *wn = tl_wordnet_open("/nonexistent-wordnet", err, sizeof err);
	CHECK(wn == NULL);
	CHECK(strstr(err, "/nonexistent-wordnet/index.noun") != NULL);
	char dir[] = "/tmp/tl-wn-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cp %s/index.* %s/data.* %s/*.exc %s/ && head -c 200000 %s/data.noun > %s/data.noun",
		 TL_WORDNET_DEFAULT_DIR, TL_WORDNET_DEFAULT_DIR, TL_WORDNET_DEFAULT_DIR, dir, TL_WORDNET_DEFAULT_DIR, dir);
	CHECK(system(cmd) == 0);
	wn = tl_wordnet_open(dir, err, sizeof err);
	CHECK(wn == NULL);
	CHECK(strstr(err, "data.noun: damaged") != NULL);
	snprintf(cmd, sizeof cmd, "printf 'garbage\\n' > %s/index.verb && cp %s/data.noun %s/", dir,
		 TL_WORDNET_DEFAULT_DIR, dir);
	CHECK(system(cmd) == 0);
	wn = tl_wordnet_open(dir, err, sizeof err);
	CHECK(wn == NULL);
	CHECK(strstr(err, "index.verb: damaged") != NULL);
	/* a NUL byte in any of the files (the fuzzer's noun.exc line
	 * "\0...\0dogs dog" made "" the plural of dog): refused at open,
	 * naming the file and line */
	snprintf(cmd, sizeof cmd, "cp %s/index.verb %s/ && printf 'aardwolves aardwolf\\n\\0\\0dogs dog\\n' > %s/noun.exc",
		 TL_WORDNET_DEFAULT_DIR, dir, dir);
	CHECK(system(cmd) == 0);
	wn = tl_wordnet_open(dir, err, sizeof err);
	CHECK(wn == NULL);
	CHECK(strstr(err, "noun.exc: damaged: a NUL byte on line 2") != NULL);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	char err[512];
	tl_wordnet *wn = tl_wordnet_open(TL_WORDNET_DEFAULT_DIR, err, sizeof err);
	if (!wn) {
		fprintf(stderr, "cannot open WordNet (make deps installs wordnet-base): %s\n", err);
		CHECK(0);
		TEST_REPORT("test_wordnet");
	}
	CHECK(tl_wordnet_has(wn, "dog", 3, TL_WN_NOUN) == 7);
	CHECK(tl_wordnet_has(wn, "DOG", 3, TL_WN_VERB) == 1);
	CHECK(tl_wordnet_has(wn, "domestic dog", 12, TL_WN_NOUN) == 1);
	CHECK(tl_wordnet_has(wn, "dogs", 4, TL_WN_NOUN) == 0);
	parity(wn);
	inflection(wn);
	synonyms(wn);
	tl_wordnet_close(wn);
	damaged();
	TEST_REPORT("test_wordnet");
}
