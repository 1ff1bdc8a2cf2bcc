/* fuzz_wordnet.c - the WordNet database files (tl/wordnet.h): the input
 * is up to twelve files separated by lines "----", in the order index.noun,
 * data.noun, noun.exc, index.verb, data.verb, verb.exc, index.adj,
 * data.adj, adj.exc, index.adv, data.adv, adv.exc (a missing one is
 * written with one blank line). A database that opens answers lookups of
 * fixed words and of the words of its own index lines without reading
 * outside its files (ASan); results are non-empty strings. */
#include "fuzz.h"
#include "tl/wordnet.h"

static const char *const files[12] = {"index.noun", "data.noun", "noun.exc", "index.verb", "data.verb", "verb.exc",
				      "index.adj",  "data.adj",  "adj.exc",  "index.adv",  "data.adv",  "adv.exc"};

static void check(const tl_wn_list *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = tl_wn_list_at(l, i);
		if (!(s && s[0] && strlen(s) <= TL_WN_MAXWORD * 4))
			fprintf(stderr, "result %zu of %zu: '%s'\n", i, n, s ? s : "(null)");
		FZ_CHECK(s && s[0] && strlen(s) <= TL_WN_MAXWORD * 4);
	}
}

static void lookups(const tl_wordnet *wn, const char *w, size_t len, tl_wn_list *l)
{
	check(l, tl_wordnet_lemmas(wn, w, len, l)); /* lemmas */
	check(l, tl_wordnet_synonyms(wn, w, len, l));
	for (int pos = 0; pos < TL_WN_NPOS; pos++) {
		(void)tl_wordnet_has(wn, w, len, pos);
		check(l, tl_wordnet_morphy(wn, w, len, pos, l));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int i = 0; i < 12; i++) {
		size_t len = 0;
		const uint8_t *p = fz_part(data, size, i, &len);
		if (p && len)
			fz_write(files[i], p, len);
		else
			fz_write(files[i], "\n", 1);
	}
	char err[512] = "";
	tl_wordnet *wn = tl_wordnet_open(fz_dir(), err, sizeof err);
	if (!wn) {
		FZ_CHECK(err[0]);
		return 0;
	}
	tl_wn_list l = {0};
	static const char *words[] = {"dog", "dogs", "good", "better", "run", "ran", "quickly", "a", "", "entity"};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		lookups(wn, words[i], strlen(words[i]), &l);
	/* the first word of the first lines of index.noun */
	size_t len = 0;
	const uint8_t *p = fz_part(data, size, 0, &len);
	for (int k = 0; p && len && k < 8; k++) {
		const uint8_t *nl = memchr(p, '\n', len);
		size_t ll = nl ? (size_t)(nl - p) : len;
		const uint8_t *sp = memchr(p, ' ', ll);
		size_t wl = sp ? (size_t)(sp - p) : ll;
		lookups(wn, (const char *)p, wl, &l);
		char out[TL_WN_MAXWORD * 2 + 16];
		for (int pos = 0; pos < TL_WN_NPOS; pos++)
			for (int infl = 0; infl < 6; infl++)
				(void)tl_wordnet_inflect(wn, (const char *)p, wl, pos, infl, out, sizeof out);
		if (!nl)
			break;
		len -= ll + 1;
		p = nl + 1;
	}
	tl_wn_list_free(&l);
	tl_wordnet_close(wn);
	return 0;
}
