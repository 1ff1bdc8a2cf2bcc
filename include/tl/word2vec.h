/* tl/word2vec.h - word vectors: skip-gram and CBOW with negative sampling,
 * the word2vec text format, and document vectors (mean or TF-IDF weighted).
 *
 * Determinism: the corpus is cut into `threads` fixed contiguous shards
 * (by sentence), each thread trains on its own shard with its own
 * generator seeded from (seed, thread index), Hogwild-style on the shared
 * matrices. With --threads 1 training is bitwise reproducible for a seed;
 * with more threads the interleaving of updates depends on timing, so
 * runs agree only statistically (as in the original word2vec and gensim).
 *
 * Ownership: a tl_w2v_vectors is the caller's struct; tl_w2v_vectors_load
 * and tl_w2v_train fill it with memory it owns (the words, vecs), released
 * by tl_w2v_vectors_free. tl_w2v_trainer_new returns a trainer that
 * tl_w2v_train always frees (whatever it returns); a trainer never trained
 * cannot be freed otherwise, so every trainer is passed to tl_w2v_train.
 * Texts given to tl_w2v_add are not kept (their words are counted). Scratch arguments (tl_words,
 * tl_sparse) stay the caller's; tl_w2v_doc_vec keeps no pointer to them.
 */
#ifndef TL_WORD2VEC_H
#define TL_WORD2VEC_H

#include "tl/features.h"

#include <stddef.h>
#include <stdint.h>

/* A table of word vectors: words interned in order (id = row). */
typedef struct {
	tl_strtab words;
	float *vecs;  /* [n * dim], owned */
	int dim;
	size_t n;
	int cjk_words; /* split CJK as words (TL_WORDS_CJK): trained so, or (load) a word has
			* two CJK ideographs in a row (tl_words_cjk_run) */
} tl_w2v_vectors;

/* Read the word2vec text format: a first line "COUNT DIM", then COUNT
 * lines "WORD v1 ... vDIM" (gzip allowed). A file without the first line
 * (GloVe style) is read too: DIM is taken from the first row. Returns 0,
 * or -1 with a one-line message naming the file and line ("line 7: 99
 * values, expected 100", "line 3: 'abc' is not a number"). */
int tl_w2v_vectors_load(tl_w2v_vectors *v, const char *path, char *err, size_t errsz);
/* Write the text format atomically (%.6g values). 0 or -1 (errno). */
int tl_w2v_vectors_save(const tl_w2v_vectors *v, const char *path);
void tl_w2v_vectors_free(tl_w2v_vectors *v);
/* Row of word, or -1. */
static inline int64_t tl_w2v_find(const tl_w2v_vectors *v, const char *w, size_t len)
{
	return tl_strtab_find(&v->words, w, len);
}

/* k nearest rows by cosine to q (excluding row `exclude`, -1 for none):
 * ids/sims of length k, best first. Returns how many were found. */
int tl_w2v_nearest(const tl_w2v_vectors *v, const float *q, int k, int64_t exclude, int64_t *ids, float *sims);
/* Cosine similarity of two rows. */
float tl_w2v_cosine(const tl_w2v_vectors *v, int64_t a, int64_t b);

/* Document vector: the mean of the vectors of the words of text (split by
 * tl_words_split with flags lower, plus TL_WORDS_CJK when v->cjk_words), or with tfidf the TF-IDF-weighted mean (weight of a
 * word: its tf-idf value in the fitted unigram vocabulary; words outside it
 * weigh 0). out[dim]; zeros when no word is known. Returns the number of
 * known words. */
size_t tl_w2v_doc_vec(const tl_w2v_vectors *v, tl_words *scratch, const char *text, size_t len, int lower,
		      const tl_feat *tfidf, tl_sparse *spscratch, float *out);

typedef struct {
	int sg;          /* 1 skip-gram (default), 0 CBOW */
	int dim;         /* 100 */
	int window;      /* 5 */
	long min_count;  /* 5 */
	int epochs;      /* 5 */
	int negative;    /* 5 */
	double lr;       /* 0.025 skip-gram, 0.05 CBOW */
	double sample;   /* 1e-3 frequent-word subsampling (0: off) */
	int threads;     /* 1 */
	uint64_t seed;   /* 1 */
	int lower;       /* 1 */
	int cjk_words;   /* 0; 1: CJK runs between spaces are words (TL_WORDS_CJK) */
} tl_w2v_opts;

void tl_w2v_opts_default(tl_w2v_opts *o, int sg);

typedef struct tl_w2v_trainer tl_w2v_trainer;

tl_w2v_trainer *tl_w2v_trainer_new(const tl_w2v_opts *o);
/* Add one sentence/document of the corpus. */
void tl_w2v_add(tl_w2v_trainer *t, const char *text, size_t len);
/* Train and free t. fn (may be NULL) gets (ctx, words done, words total,
 * lr) from the first thread. Returns 0 with out filled, or -1 with err
 * ("empty vocabulary: no word occurs --min-count 5 times"). */
int tl_w2v_train(tl_w2v_trainer *t, tl_w2v_vectors *out, void (*fn)(void *ctx, uint64_t done, uint64_t total,
								      double lr),
		 void *ctx, char *err, size_t errsz);

#endif
