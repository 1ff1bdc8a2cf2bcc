/* fuzz_conll.c - the CoNLL sentence reader (tl_input_next_sentence, what
 * tl-clean -f conll runs). The first byte picks the word column (1..3), the
 * tag column (0 = last, 1..3) and a small --max-record; the rest is the
 * file (gzip too). Invariants: a sentence has at least one word, words and
 * tags are non-empty and hold no space, tab or newline, the tags are there
 * for all sentences or none, every error has a message naming a line, the
 * first lines of sentences increase. */
#include "fuzz.h"
#include "tl/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0];
	int text_col = 1 + sel % 3, tag_col = (sel / 3) % 4;
	const char *path = fz_write("in.conll", data + 1, size - 1);
	tl_input *in = tl_input_open(path, TL_FMT_CONLL);
	FZ_CHECK(in);
	FZ_CHECK(tl_input_format(in) == TL_FMT_CONLL);
	if ((sel / 12) % 2)
		tl_input_set_max(in, 48);
	tl_conll_sent s;
	int ret, tagged = -1;
	uint64_t last = 0;
	size_t total = 0;
	while ((ret = tl_input_next_sentence(in, text_col, tag_col, &s)) == TL_INPUT_OK) {
		FZ_CHECK(s.n >= 1);
		FZ_CHECK(s.line > last);
		last = s.line;
		if (tagged < 0)
			tagged = s.tag != NULL;
		FZ_CHECK(tagged == (s.tag != NULL));
		for (size_t i = 0; i < s.n; i++) {
			size_t wl = strlen(s.word[i]);
			FZ_CHECK(wl > 0 && !strpbrk(s.word[i], " \t\n\r"));
			total += (unsigned char)s.word[i][wl - 1];
			FZ_CHECK(text_col > 1 || strcmp(s.word[i], "-DOCSTART-"));
			if (s.tag) {
				size_t tl = strlen(s.tag[i]);
				FZ_CHECK(tl > 0 && !strpbrk(s.tag[i], " \t\n\r"));
			}
		}
	}
	FZ_CHECK(ret == TL_INPUT_EOF || ret == TL_INPUT_ERR || ret == TL_INPUT_IOERR);
	if (ret != TL_INPUT_EOF)
		FZ_CHECK(tl_input_error(in)[0]);
	(void)total;
	tl_input_close(in);
	return 0;
}
