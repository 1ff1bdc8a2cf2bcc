/* test_ner_tokenize.c - word alignment (tl_tokenizer_encode_words) against
 * Hugging Face's fast tokenizer word_ids() with is_split_into_words=True
 * (tests/ref/ner_tokenize.py, transformers 5.24 / tokenizers 0.23): ids and
 * word_ids equal exactly on every CoNLL-2003 dev sentence (read with the
 * CoNLL reader of tl-clean -f conll), untruncated and at max_length 24, and
 * on hand-made words (tests/ref/ner/words-hard.jsonl) at 512 and 8. Plus
 * the raw-text splitter's byte offsets. */
#include "tl/input.h"
#include "tl/tokenize.h"
#include "tl/util.h"
#include "tl/vocab.h"
#include "testhelp.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int nshown;

/* Compare one encoding with a fixture line "ids\tword_ids". */
static int same(const tl_tok_out *o, const char *line)
{
	const char *p = line;
	char *q;
	for (size_t i = 0; i < o->n; i++) {
		long x = strtol(p, &q, 10);
		if (q == p || x != o->ids[i])
			return 0;
		p = q;
	}
	while (*p == ' ')
		p++;
	if (*p != '\t')
		return 0;
	p++;
	for (size_t i = 0; i < o->n; i++) {
		long x = strtol(p, &q, 10);
		if (q == p || x != o->word_ids[i])
			return 0;
		p = q;
	}
	while (*p == ' ' || *p == '\n')
		p++;
	return *p == 0;
}

static tl_vocab *V; /* the embedded bert-base-uncased vocabulary */

static tl_tokenizer *tokenizer(long max_len)
{
	tl_tok_opts o;
	tl_tok_opts_default(&o);
	o.max_len = max_len;
	char err[256];
	tl_tokenizer *t = tl_tokenizer_init(V, &o, err, sizeof err);
	CHECK(t != NULL);
	return t;
}

static void conll_dev(const char *fixture, long max_len)
{
	const char *shared = getenv("TL_SHARED");
	char path[1024];
	snprintf(path, sizeof path, "%s/data/conll2003/dev.txt", shared ? shared : "../shared");
	FILE *probe = fopen(path, "r");
	if (!probe) {
		TEST_SKIP("%s absent", path);
		return;
	}
	fclose(probe);
	tl_input *in = tl_input_open(path, TL_FMT_CONLL);
	gzFile gz = gzopen(fixture, "rb");
	CHECK(in && gz);
	if (!in || !gz)
		return;
	tl_tokenizer *t = tokenizer(max_len);
	tl_tok_out out = {0};
	tl_conll_sent s;
	static char line[1 << 16];
	size_t nsent = 0, equal = 0, ntrunc = 0, lens[512];
	while (tl_input_next_sentence(in, 1, 0, &s) == TL_INPUT_OK) {
		nsent++;
		CHECK(s.n <= 512);
		for (size_t i = 0; i < s.n && i < 512; i++)
			lens[i] = strlen(s.word[i]);
		size_t bw, off;
		CHECK(tl_tokenizer_encode_words(t, s.word, lens, s.n, &out, &bw, &off) == 0);
		ntrunc += out.n - 2 < out.n_a;
		if (!gzgets(gz, line, sizeof line)) {
			CHECK(0);
			break;
		}
		if (same(&out, line))
			equal++;
		else if (nshown++ < 5)
			fprintf(stderr, "%s: sentence %zu (%s ...) differs: want %s", fixture, nsent, s.word[0], line);
	}
	CHECK(gzgets(gz, line, sizeof line) == NULL);
	CHECK_EQ_INT(nsent, 3250);
	CHECK_EQ_INT(equal, nsent);
	if (max_len == 24)
		CHECK(ntrunc > 100); /* the truncated fixture does truncate */
	printf("%s: %zu/%zu sentences equal, %zu truncated\n", fixture, equal, nsent, ntrunc);
	tl_tok_out_free(&out);
	tl_tokenizer_free(t);
	gzclose(gz);
	tl_input_close(in);
}

static void hard(void)
{
	FILE *fx = fopen("tests/ref/ner/words-hard.txt", "r");
	FILE *fw = fopen("tests/ref/ner/words-hard.jsonl", "r");
	CHECK(fx && fw);
	if (!fx || !fw)
		return;
	char line[8192];
	json_t *recs[32];
	size_t n = 0;
	while (n < 32 && fgets(line, sizeof line, fw)) {
		json_error_t je;
		recs[n] = json_loads(line, 0, &je);
		CHECK(recs[n] != NULL);
		if (recs[n])
			n++;
	}
	CHECK_EQ_INT(n, 6);
	long mls[2] = {512, 8};
	tl_tok_out out = {0};
	for (int m = 0; m < 2; m++) {
		tl_tokenizer *t = tokenizer(mls[m]);
		for (size_t r = 0; r < n; r++) {
			json_t *w = json_object_get(recs[r], "words");
			size_t nw = json_array_size(w);
			const char *words[16];
			size_t lens[16];
			for (size_t i = 0; i < nw && i < 16; i++) {
				words[i] = json_string_value(json_array_get(w, i));
				lens[i] = json_string_length(json_array_get(w, i));
			}
			size_t bw, off;
			CHECK(tl_tokenizer_encode_words(t, words, lens, nw, &out, &bw, &off) == 0);
			CHECK(fgets(line, sizeof line, fx) != NULL);
			int ok = same(&out, line);
			CHECK(ok);
			if (!ok)
				fprintf(stderr, "words-hard %zu at max_len %ld: want %s", r + 1, mls[m], line);
		}
		tl_tokenizer_free(t);
	}
	/* words_kept, n_a at max_len 8: 7 x "unbelievably" (5 pieces each) */
	tl_tokenizer *t = tokenizer(8);
	const char *u[3] = {"unbelievably", "unbelievably", "unbelievably"};
	size_t ul[3] = {12, 12, 12}, bw, off;
	CHECK(tl_tokenizer_encode_words(t, u, ul, 3, &out, &bw, &off) == 0);
	CHECK_EQ_INT(out.n, 8);
	CHECK_EQ_INT(out.n_a, 15);
	CHECK_EQ_INT(out.words_kept, 2);
	const char *bad[2] = {"ok", "\xff"};
	size_t bl[2] = {2, 1};
	CHECK(tl_tokenizer_encode_words(t, bad, bl, 2, &out, &bw, &off) == -1);
	CHECK_EQ_INT(bw, 1);
	CHECK_EQ_INT(off, 0);
	tl_tokenizer_free(t);
	tl_tok_out_free(&out);
	for (size_t r = 0; r < n; r++)
		json_decref(recs[r]);
	fclose(fx);
	fclose(fw);
}

static size_t offs[64][2], noffs;
static void on_off(size_t s, size_t e, void *ctx)
{
	(void)ctx;
	if (noffs < 64)
		offs[noffs][0] = s, offs[noffs][1] = e;
	noffs++;
}

static void offsets(void)
{
	/* HF BertPreTokenizer().pre_tokenize_str("Peter went to Brüssel,
	 * don't\t北京!") gives these byte ranges, except that 北京 is one word
	 * there: BertNormalizer's handle_chinese_chars splits it first */
	const char *s = "Peter went to Br\xc3\xbcssel, don't\t\xe5\x8c\x97\xe4\xba\xac!";
	size_t want[][2] = {{0, 5}, {6, 10}, {11, 13}, {14, 22}, {22, 23}, {24, 27}, {27, 28}, {28, 29}, {30, 33}, {33, 36}, {36, 37}};
	tl_tokenizer *t = tokenizer(0);
	size_t off;
	noffs = 0;
	CHECK(tl_tokenizer_split_offsets(t, s, strlen(s), on_off, NULL, &off) == 0);
	CHECK_EQ_INT(noffs, 11);
	for (size_t i = 0; i < 11 && i < noffs; i++) {
		CHECK_EQ_INT(offs[i][0], want[i][0]);
		CHECK_EQ_INT(offs[i][1], want[i][1]);
	}
	noffs = 0;
	CHECK(tl_tokenizer_split_offsets(t, "  ", 2, on_off, NULL, &off) == 0);
	CHECK_EQ_INT(noffs, 0);
	CHECK(tl_tokenizer_split_offsets(t, "ab\xc3", 3, on_off, NULL, &off) == -1);
	CHECK_EQ_INT(off, 2);
	tl_tokenizer_free(t);
}

int main(void)
{
	V = tl_vocab_default();
	CHECK(V != NULL);
	conll_dev("tests/ref/ner/words-conll-dev.txt.gz", 512);
	conll_dev("tests/ref/ner/words-conll-dev-max24.txt.gz", 24);
	hard();
	offsets();
	tl_vocab_free(V);
	TEST_REPORT("test_ner_tokenize");
}
