/* tl/tokenize.h - BERT tokenization (basic + WordPiece), word and char
 * tokenization, with the exact behaviour of Hugging Face tokenizers'
 * BertNormalizer + BertPreTokenizer + WordPiece + BERT post-processing.
 *
 * Basic tokenization of a text, in this order (per code point):
 *   1. special tokens ([PAD] [UNK] [CLS] [SEP] [MASK] present in the
 *      vocabulary) written literally in the text become their id, as HF's
 *      added tokens do (off with split_special);
 *   2. clean: drop U+0000, U+FFFD and control characters (Cc Cf Co Cs of the
 *      reference's Unicode tables, except \t \n \r); whitespace -> space;
 *   3. CJK ideographs get a space on each side (chinese);
 *   4. accent stripping: NFD, then drop non-spacing marks (strip_accents);
 *   5. lower-casing: full Unicode lowercase per code point (lower);
 *   6. split on whitespace; every punctuation character (ASCII 33-47, 58-64,
 *      91-96, 123-126 and Unicode P*) is a word of its own.
 * WordPiece then splits each word greedily, longest match first, pieces
 * after the first prefixed with "##"; a word with no match or longer than
 * max_word_chars code points becomes [UNK].
 *
 * Ownership: tl_tokenizer_init returns a tokenizer the caller frees with
 * tl_tokenizer_free; it borrows its vocabulary (which must outlive it) and
 * keeps scratch buffers, so each thread uses its own tokenizer. Encodings
 * go into the caller's tl_tok_out (reused across calls, freed with
 * tl_tok_out_free). Texts are only read during the call; the words given
 * to a tl_tokenizer_words callback are valid only during that callback.
 */
#ifndef TL_TOKENIZE_H
#define TL_TOKENIZE_H

#include "tl/vocab.h"

#include <stddef.h>
#include <stdint.h>

enum tl_tok_mode { TL_TOK_WORDPIECE, TL_TOK_WORD, TL_TOK_CHAR };
enum tl_tok_trunc { TL_TRUNC_HEAD, TL_TRUNC_TAIL, TL_TRUNC_HEAD_TAIL };

typedef struct {
	int mode;           /* enum tl_tok_mode */
	int lower;          /* lower-case */
	int strip_accents;  /* NFD + drop Mn */
	int chinese;        /* spaces around CJK ideographs */
	int split_special;  /* 1: "[CLS]" in the text is ordinary text */
	int add_special;    /* [CLS] A [SEP] (B [SEP]); word/char modes: A [SEP] B */
	long max_len;       /* total length limit including special tokens; 0 = none */
	int truncate;       /* enum tl_tok_trunc */
	int max_word_chars; /* WordPiece max_input_chars_per_word (100) */
} tl_tok_opts;

/* HF BertTokenizer defaults: wordpiece, lower, strip, chinese, add_special,
 * no length limit, head truncation, 100. */
void tl_tok_opts_default(tl_tok_opts *o);

typedef struct tl_tokenizer tl_tokenizer;

/* Make a tokenizer over v (borrowed: v must outlive it). Returns NULL with
 * a message in err when the vocabulary lacks a needed token ("[UNK]",
 * "[CLS]", "[SEP]"). Free with tl_tokenizer_free. */
tl_tokenizer *tl_tokenizer_init(const tl_vocab *v, const tl_tok_opts *o, char *err, size_t errsz);
void tl_tokenizer_free(tl_tokenizer *t);

/* An encoding; the arrays are grown with realloc and owned by the caller
 * (free with tl_tok_out_free). */
typedef struct {
	int32_t *ids;
	int32_t *type_ids;
	size_t n, cap;
	size_t n_a, n_b;     /* tokens of A and B before truncation (no specials) */
	/* tl_tokenizer_encode_words only: */
	int32_t *word_ids;   /* [n]: the word of each token, -1 for [CLS]/[SEP] */
	size_t wcap;
	size_t words_kept;   /* words with at least one token after truncation */
} tl_tok_out;
void tl_tok_out_free(tl_tok_out *o);

/* Encode text a (and b, or NULL for a single text): ids and type ids with
 * special tokens and truncation as set in the options. The texts must be
 * valid UTF-8: returns 0, or -1 with *bad_off set to the byte offset of the
 * first invalid sequence (*bad_b tells which text) and nothing encoded. */
int tl_tokenizer_encode(tl_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
			tl_tok_out *out, size_t *bad_off, int *bad_b);

/* Encode pre-split words as Hugging Face's fast tokenizer does with
 * is_split_into_words=True: each word goes through steps 1-6 and WordPiece
 * on its own (so "don't" as one word still gives don ' t), then
 * [CLS] pieces [SEP] (as add_special), out->word_ids[i] = the index of the
 * word token i came from, -1 for the special tokens; a word that normalizes
 * to nothing has no token. Truncation (max_len): always the head, whatever
 * o.truncate says (the tail of a sentence cannot be tagged without its
 * head's word indices shifting): the first max_len - specials pieces are
 * kept, so the last kept word may keep only its first pieces (it still has
 * its first sub-token, which carries its tag) and the words after it have
 * none; out->words_kept counts the words with a token, out->n_a the pieces
 * before truncation. Returns 0, or -1 on invalid UTF-8 in word *bad_word at
 * byte *bad_off, nothing encoded. */
int tl_tokenizer_encode_words(tl_tokenizer *t, const char *const *words, const size_t *lens, size_t nwords,
			      tl_tok_out *out, size_t *bad_word, size_t *bad_off);

/* BERT's pre-tokenizer on raw text, for plain-text NER input: the words of
 * s as byte ranges [start, end) of s itself (not normalized): split at
 * whitespace and control characters, every punctuation character a word,
 * and (o.chinese) every CJK ideograph a word. Calls fn for each word.
 * Returns 0, or -1 on invalid UTF-8 with *bad_off set. */
int tl_tokenizer_split_offsets(const tl_tokenizer *t, const char *s, size_t len,
			       void (*fn)(size_t start, size_t end, void *ctx), void *ctx, size_t *bad_off);

/* Basic tokenization only (steps 1-6, specials as plain text): calls
 * fn(word, len, ctx) for each normalized word (char mode: each code point).
 * Returns 0, or -1 on invalid UTF-8 with *bad_off set. */
int tl_tokenizer_words(tl_tokenizer *t, const char *s, size_t len,
		       void (*fn)(const char *w, size_t n, void *ctx), void *ctx, size_t *bad_off);

/* Byte offset of the first invalid UTF-8 sequence, or (size_t)-1 when s is
 * valid (no surrogates, no overlongs, nothing above U+10FFFF). */
size_t tl_utf8_check(const char *s, size_t len);

/* ---- character classes of the reference (exposed for the tests) ---- */
int tl_tok_is_control(uint32_t cp);    /* removed by cleaning */
int tl_tok_is_whitespace(uint32_t cp); /* Rust char::is_whitespace */
int tl_tok_is_punct(uint32_t cp);
int tl_tok_is_cjk(uint32_t cp);
/* Lower-case / strip accents of one code point into out (up to 8 code
 * points); returns the count (0 when a mark is stripped away). */
int tl_tok_lower(uint32_t cp, uint32_t out[8]);
int tl_tok_strip(uint32_t cp, uint32_t out[8]);

#endif
