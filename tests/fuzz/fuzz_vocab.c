/* fuzz_vocab.c - vocab.txt (tl_vocab_load, by path, and tl_vocab_from_mem):
 * both agree; every id's token maps back to a token with the same text;
 * a tokenizer over it (when it has [UNK]/[CLS]/[SEP]) gives ids < size. */
#include "fuzz.h"
#include "tl/tokenize.h"
#include "tl/vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "", err2[512] = "";
	const char *path = fz_write("vocab.txt", data, size);
	tl_vocab *v = tl_vocab_load(path, err, sizeof err);
	tl_vocab *m = tl_vocab_from_mem((const char *)data, size, "vocab.txt", err2, sizeof err2);
	FZ_CHECK(!v == !m);
	if (!v) {
		FZ_CHECK(err[0] && err2[0]);
		return 0;
	}
	size_t n = tl_vocab_size(v);
	FZ_CHECK(n == tl_vocab_size(m) && n > 0);
	FZ_CHECK(strlen(tl_vocab_sha256(v)) == 64 && !strcmp(tl_vocab_sha256(v), tl_vocab_sha256(m)));
	for (size_t i = 0; i < n && i < 4096; i++) {
		size_t len = 0;
		const char *t = tl_vocab_token(v, (int32_t)i, &len);
		FZ_CHECK(t);
		FZ_CHECK(len <= tl_vocab_max_len(v) + 2); /* "##" is not counted */
		int32_t id = tl_vocab_id(v, t, len);
		FZ_CHECK(id >= 0 && (size_t)id < n);
		size_t l2 = 0;
		const char *t2 = tl_vocab_token(v, id, &l2);
		FZ_CHECK(l2 == len && !memcmp(t, t2, len));
	}
	tl_tok_opts o;
	tl_tok_opts_default(&o);
	tl_tokenizer *tk = tl_tokenizer_init(v, &o, err, sizeof err);
	if (tk) {
		static const char text[] = "Hello, world! It's a naïve café [MASK] 中文 ##ing unaffable.";
		tl_tok_out out = {0};
		size_t bad_off;
		int bad_b;
		FZ_CHECK(tl_tokenizer_encode(tk, text, sizeof text - 1, "b", 1, &out, &bad_off, &bad_b) == 0);
		for (size_t i = 0; i < out.n; i++)
			FZ_CHECK(out.ids[i] >= 0 && (size_t)out.ids[i] < n);
		tl_tok_out_free(&out);
		tl_tokenizer_free(tk);
	} else {
		FZ_CHECK(err[0]);
	}
	tl_vocab_free(v);
	tl_vocab_free(m);
	return 0;
}
