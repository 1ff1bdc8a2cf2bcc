/* fuzz_tokenize.c - the tokenizers (tl/tokenize.h) over the embedded
 * uncased vocabulary: WordPiece, word and char modes with each option set
 * (first two bytes), text A and B split at the first tab. Invariants:
 * valid UTF-8 is always encoded, invalid UTF-8 is refused at the offset
 * tl_utf8_check finds; ids < vocab size; type ids 0/1; max_len is kept;
 * words are valid UTF-8. */
#include "fuzz.h"
#include "tl/tokenize.h"

static tl_vocab *V;

static void on_word(const char *w, size_t n, void *ctx)
{
	FZ_CHECK(n > 0 && tl_utf8_check(w, n) == (size_t)-1);
	*(size_t *)ctx += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (!V)
		V = tl_vocab_default(); /* kept for the whole run */
	FZ_CHECK(V);
	tl_tok_opts o;
	tl_tok_opts_default(&o);
	int a = data[0], b = data[1];
	o.mode = a % 3;
	o.lower = (a >> 2) & 1;
	o.strip_accents = (a >> 3) & 1;
	o.chinese = (a >> 4) & 1;
	o.split_special = (a >> 5) & 1;
	o.add_special = (a >> 6) & 1;
	o.max_len = b & 0x1f; /* 0: no limit */
	o.truncate = (b >> 5) % 3;
	o.max_word_chars = (b >> 7) ? 5 : 100;
	char err[256];
	tl_tokenizer *t = tl_tokenizer_init(V, &o, err, sizeof err);
	FZ_CHECK(t);
	const char *s = (const char *)data + 2;
	size_t len = size - 2;
	const char *tab = memchr(s, '\t', len);
	const char *sb = tab ? tab + 1 : NULL;
	size_t la = tab ? (size_t)(tab - s) : len, lb = tab ? len - la - 1 : 0;
	tl_tok_out out = {0};
	size_t bad_off = 0;
	int bad_b = 0;
	int rc = tl_tokenizer_encode(t, s, la, sb, lb, &out, &bad_off, &bad_b);
	size_t ca = tl_utf8_check(s, la), cb = sb ? tl_utf8_check(sb, lb) : (size_t)-1;
	if (rc == 0) {
		FZ_CHECK(ca == (size_t)-1 && cb == (size_t)-1);
		size_t vs = tl_vocab_size(V);
		for (size_t i = 0; i < out.n; i++) {
			FZ_CHECK(out.ids[i] >= 0 && (size_t)out.ids[i] < vs);
			FZ_CHECK(out.type_ids[i] == 0 || out.type_ids[i] == 1);
		}
		if (o.max_len >= 4)
			FZ_CHECK((long)out.n <= o.max_len);
	} else {
		FZ_CHECK(bad_b ? cb == bad_off : ca == bad_off);
	}
	size_t total = 0;
	if (tl_tokenizer_words(t, s, la, on_word, &total, &bad_off) == 0)
		FZ_CHECK(ca == (size_t)-1);
	else
		FZ_CHECK(ca == bad_off);
	tl_tok_out_free(&out);
	tl_tokenizer_free(t);
	return 0;
}
