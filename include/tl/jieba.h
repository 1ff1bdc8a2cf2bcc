/* tl/jieba.h - Chinese word segmentation, identical to jieba 0.42.1.
 *
 * The dictionary (dict.txt: "word freq tag" lines) and the HMM tables
 * (prob_start.py, prob_trans.py, prob_emit.py: Python dict literals) are
 * jieba's own, installed by `make jieba` into models/jieba/ and found like
 * the models (tl_jieba_find). The first open compiles them into a cache
 * file (jieba.cache beside them, or $XDG_CACHE_HOME/tl/ when that
 * directory is not writable; written atomically, versioned, rebuilt when
 * the size or mtime of a source changes) that later opens mmap.
 *
 * Modes follow jieba: TL_JIEBA_DEFAULT is jieba.cut(s) (prefix-dictionary
 * DAG, maximum-probability route, B/M/E/S HMM Viterbi for runs of single
 * characters), TL_JIEBA_NOHMM jieba.cut(s, HMM=False), TL_JIEBA_FULL
 * jieba.cut(s, cut_all=True), TL_JIEBA_SEARCH jieba.cut_for_search(s).
 * Words are what jieba yields, whitespace tokens and (full mode) empty
 * strings included; tl_jieba_cut_join drops those.
 *
 * Ownership: tl_jieba_find returns a path the caller frees with free();
 * tl_jieba_open returns a handle freed with tl_jieba_free; a tl_jieba_words
 * is the caller's (zero-initialise it, free with tl_jieba_words_free). A
 * handle keeps scratch space: use it from one thread at a time.
 */
#ifndef TL_JIEBA_H
#define TL_JIEBA_H

#include <stddef.h>
#include <stdint.h>

#include "tl/util.h"

enum tl_jieba_mode { TL_JIEBA_DEFAULT = 0, TL_JIEBA_NOHMM, TL_JIEBA_FULL, TL_JIEBA_SEARCH };

typedef struct tl_jieba tl_jieba;

/* Words as jieba yields them: word i is buf.data[off[i] .. off[i]+len[i]). */
typedef struct {
	tl_buf buf;
	size_t *off, *len;
	size_t n, cap;
} tl_jieba_words;

/* The directory holding dict.txt and prob_{start,trans,emit}.py: dir when
 * not NULL, else "jieba" in the model search path (tl(7) MODEL SEARCH:
 * $TL_MODEL_PATH, $XDG_DATA_HOME/tl/models, the install prefix, beside the
 * executable, the checkout's models/, ./models). NULL with a message
 * naming `make jieba` in e->msg (code TL_EXIT_MODEL) when none is found. */
char *tl_jieba_find(const char *dir, tl_err *e);

/* Open the dictionary in dir (see tl_jieba_find), through the cache.
 * Errors: TL_EXIT_MODEL (missing or malformed source files, naming
 * file:line), TL_EXIT_IO. */
tl_jieba *tl_jieba_open(const char *dir, tl_err *e);
/* 1 when the open used an existing cache file, 0 when it compiled. */
int tl_jieba_from_cache(const tl_jieba *j);
void tl_jieba_free(tl_jieba *j);

/* jieba.load_userdict(path): "word [freq] [tag]" lines (UTF-8, BOM
 * allowed), a missing freq is jieba's suggest_freq(word), freq 0 forces
 * the word apart. Errors: TL_EXIT_IO (cannot read), TL_EXIT_DATA
 * ("FILE:LINE: ..." for invalid UTF-8 or a frequency that overflows). */
int tl_jieba_load_userdict(tl_jieba *j, const char *path, tl_err *e);
/* jieba.add_word(word, freq): freq < 0 means suggest_freq. */
void tl_jieba_add_word(tl_jieba *j, const char *word, size_t len, int64_t freq);
/* jieba.suggest_freq(word, tune=False). */
int64_t tl_jieba_suggest_freq(tl_jieba *j, const char *word, size_t len);
/* FREQ.get(word, -1): the frequency (0 for a prefix entry), -1 if absent. */
int64_t tl_jieba_freq(const tl_jieba *j, const char *word, size_t len);
int64_t tl_jieba_total(const tl_jieba *j);

/* Segment s[0..len) (UTF-8; an invalid byte is one character of its own)
 * and append the words to w. */
void tl_jieba_cut(tl_jieba *j, const char *s, size_t len, int mode, tl_jieba_words *w);
/* Segment and append to out the words separated by single spaces,
 * leaving out whitespace and empty words. */
void tl_jieba_cut_join(tl_jieba *j, const char *s, size_t len, int mode, tl_buf *out);

void tl_jieba_words_clear(tl_jieba_words *w);
void tl_jieba_words_free(tl_jieba_words *w);

#endif
