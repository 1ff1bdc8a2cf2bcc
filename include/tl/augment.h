/* tl/augment.h - EDA-style text augmentation (Wei & Zou 2019) for
 * tl-augment: synonym replacement, random insertion, random swap, random
 * deletion, rotation of the word order, and noise (character typos on a
 * QWERTY keyboard, word dropout), with a seeded portable generator.
 *
 * Words. A text is split at whitespace into tokens; leading and trailing
 * punctuation (Unicode P* and S*; a leading apostrophe before a letter
 * stays, so "'s" and "n't" are words) is split off each token and stays in
 * place. What remains is a word. A word containing CJK ideographs, kana or
 * CJK compatibility ideographs (unsegmented text) is split further: each
 * such character is a word of its own, runs of other letters/digits are
 * words, punctuation stays in place; with a synonym dictionary, runs of
 * CJK characters that spell a dictionary entry are merged into one word
 * (forward maximum matching, longest first, at most 8 characters).
 * Operations move, delete, insert and edit words only; punctuation keeps
 * its position. Output whitespace is normalised to single spaces (no space
 * between adjacent CJK words).
 *
 * Randomness: xoshiro256** (Blackman & Vigna), seeded through splitmix64
 * (tl_xoshiro, tl/rng.h).
 * Everything is integer arithmetic on uint64_t, so the same seed gives the
 * same bytes on every platform.
 *
 * Ownership: synonym tables and augmenters are freed by their _free
 * functions. An augmenter borrows its WordNet database and synonym table
 * (both must outlive it) and owns the buffers its results point into:
 * tl_augment_apply's output stays valid until the next call on the same
 * augmenter, so each thread uses its own. tl_synonyms_get's strings belong
 * to the table. Input texts are only read during the call.
 */
#ifndef TL_AUGMENT_H
#define TL_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "tl/hash.h"
#include "tl/rng.h"
#include "tl/util.h"
#include "tl/wordnet.h"

/* ---------------- operations ---------------- */

enum tl_aug_op {
	TL_AUG_SR = 0, /* synonym replacement */
	TL_AUG_RI,     /* random insertion of a synonym */
	TL_AUG_RS,     /* random swap */
	TL_AUG_RD,     /* random deletion */
	TL_AUG_ROT,    /* rotation of the word order by 1..n-1 */
	TL_AUG_TYPO,   /* character typos */
	TL_AUG_DROP,   /* word dropout */
	TL_AUG_NOPS
};

/* "sr", "ri", "rs", "rd", "rot", "typo", "dropout". */
const char *tl_aug_op_name(int op);
/* Parse a comma-separated list of names and groups ("eda" = sr,ri,rs,rd;
 * "noise" = typo,dropout; "all") into a bit set (1 << op). Returns 0, or
 * -1 with a message in err. */
int tl_aug_parse_ops(const char *list, unsigned *ops, char *err, size_t errsz);

typedef struct {
	/* sr, ri, rs, rd, typo: EDA's alpha: the operation changes
	 * max(1, (int)(alpha * words)) words. rd and dropout: the probability
	 * that each word is deleted. rot: unused. Defaults 0.1. */
	double rate[TL_AUG_NOPS];
} tl_aug_opts;
void tl_aug_opts_default(tl_aug_opts *o);

/* ---------------- synonym dictionaries ---------------- */

typedef struct tl_synonyms tl_synonyms;

/* Load a synonym file: lines "word<TAB>syn1 syn2 ...", '_' inside a
 * synonym stands for a space, '#' starts a comment line, blank lines are
 * skipped. Returns NULL with "PATH: ..." or "PATH line N: ..." in err.
 * Free with tl_synonyms_free. */
tl_synonyms *tl_synonyms_load(const char *path, char *err, size_t errsz);
void tl_synonyms_free(tl_synonyms *s);
/* Entries for word (exact match first, then ASCII-lower-cased); sets
 * *first to the first synonym (NUL-separated, '_' already turned into
 * spaces, owned by s) and returns their number (0: none). */
size_t tl_synonyms_get(const tl_synonyms *s, const char *w, size_t len, const char **first);

/* ---------------- the augmenter ---------------- */

typedef struct tl_augmenter tl_augmenter;

/* wn and syn may be NULL; both are borrowed and must outlive a. Synonym
 * lookups: the dictionary first, then WordNet (ASCII words only). Stop
 * words (EDA's list) are never replaced nor used for insertion. */
tl_augmenter *tl_augmenter_new(const tl_aug_opts *o, const tl_wordnet *wn, const tl_synonyms *syn);
void tl_augmenter_free(tl_augmenter *a);

/* Apply op to text[0..len) (UTF-8) with randomness from rng. *out gets
 * the result (NUL-terminated, owned by a, valid until the next call),
 * *outlen its length. Returns 1 when the result differs from the
 * (whitespace-normalised) input, 0 when the operation had nothing to do
 * (no words, one word for swap/rotation/deletion, no synonyms found). */
int tl_augment_apply(tl_augmenter *a, int op, const char *text, size_t len, tl_xoshiro *rng, const char **out,
		     size_t *outlen);

/* For tests and --explain: append the split of text to out, words joined
 * by '|', punctuation in brackets: "It's|a|charming|[,]|film|[.]". Returns
 * the number of words. */
size_t tl_augment_words(tl_augmenter *a, const char *text, size_t len, tl_buf *out);

/* 1 when text contains CJK ideographs or kana (unsegmented text). */
int tl_augment_is_unsegmented(const char *text, size_t len);

/* 1 when w (ASCII, any case) is in EDA's English stop-word list. */
int tl_augment_is_stopword(const char *w, size_t len);

#endif
