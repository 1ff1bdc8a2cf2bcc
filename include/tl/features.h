/* tl/features.h - classic text features: a word splitter (strings are interned by
 * tl/strtab.h), bag of words and TF-IDF (scikit-learn CountVectorizer/TfidfVectorizer
 * semantics), word and character n-grams, document-frequency limits,
 * max_features, sublinear tf, l1/l2 normalization, and the hashing trick.
 *
 * Fitting reads documents once (tl_feat_fitter), then freezes into a
 * tl_feat that is saved to / loaded from a text file (the "fitted file":
 * options, document count, and the vocabulary with document frequencies),
 * so the same transformation is applied to train, dev and test.
 *
 * Ownership: tl_words, tl_strtab and tl_sparse are caller's structs that
 * own their arrays (grown on demand, reused across calls, released by
 * their _free functions); pointers into them (token offsets, strings of
 * tl_strtab_str) stay valid until the next call that changes them. A
 * tl_strtab copies the strings it interns. tl_feat_fitter_new returns a
 * fitter that tl_feat_fitter_finish always frees; the tl_feat it returns
 * (or tl_feat_load's) is freed with tl_feat_free, and tl_feat_term points
 * into it. Texts passed in are only read during the call.
 */
#ifndef TL_FEATURES_H
#define TL_FEATURES_H

#include "tl/hash.h"
#include "tl/strtab.h"
#include "tl/util.h"

#include <stddef.h>
#include <stdint.h>

#include "tl/stream.h"

#include <jansson.h>
#include "tl/util.h"

/* ---------------- word splitter ----------------
 * The word splitter shared by tl-embed --bow/--tfidf, word2vec and the
 * linear models (the same rule as tl-tokenize --mode word): lower-case
 * (simple per code point, utf8proc), split at Unicode whitespace and
 * control characters, and make every punctuation character (ASCII
 * 33-47, 58-64, 91-96, 123-126 and Unicode P*) and every CJK ideograph a
 * token of its own. Invalid UTF-8 bytes are treated as separators.
 *
 * CJK words (TL_WORDS_CJK): for text segmented into space-separated words
 * (tl-clean --segment jieba), CJK ideographs are word characters like
 * letters, so "手机 很 好" gives 手机, 很, 好 (instead of 手, 机, 很, 好);
 * punctuation still splits. Everything else is as without the flag, so
 * text without CJK ideographs splits the same either way. */
typedef struct {
	tl_buf b;       /* tokens, each NUL-terminated */
	uint32_t *off;  /* token i starts at b.data + off[i] */
	uint32_t *blen; /* its length in bytes */
	size_t n, ncap;
} tl_words;

/* flags of tl_words_split: TL_WORDS_LOWER (= 1, so a plain lower flag of
 * 0/1 still works) and TL_WORDS_CJK (CJK runs between spaces stay words). */
enum { TL_WORDS_LOWER = 1, TL_WORDS_CJK = 2 };
/* Replace w's contents with the tokens of text[0..len). w starts zeroed;
 * free with tl_words_free. */
void tl_words_split(tl_words *w, const char *text, size_t len, int flags);
/* 1 when s[0..len) holds two CJK ideographs in a row: a token that only
 * TL_WORDS_CJK splitting makes (word2vec vectors with such words were
 * trained on segmented text). */
int tl_words_cjk_run(const char *s, size_t len);
/* Append the token s[0..len) (copied) after the last one. */
void tl_words_push(tl_words *w, const char *s, size_t len);
void tl_words_free(tl_words *w);

/* ---------------- BoW / TF-IDF ---------------- */

enum tl_feat_kind { TL_FEAT_BOW = 0, TL_FEAT_TFIDF = 1 };
enum tl_feat_analyzer { TL_AN_WORD = 0, TL_AN_CHAR = 1, TL_AN_CHAR_WB = 2 };
enum tl_feat_norm { TL_NORM_NONE = 0, TL_NORM_L1 = 1, TL_NORM_L2 = 2 };

typedef struct {
	int kind;          /* enum tl_feat_kind */
	int analyzer;      /* enum tl_feat_analyzer (default word) */
	int ngram_min, ngram_max; /* default 1,1 */
	double min_df;     /* count when min_df_count, else proportion (default 1 count) */
	double max_df;     /* default 1.0 proportion */
	int min_df_count, max_df_count;
	long max_features; /* 0: all (default) */
	int binary;        /* counts -> 0/1 (default 0) */
	int sublinear_tf;  /* tf -> 1 + ln(tf) (tfidf only; default 0) */
	int use_idf, smooth_idf; /* tfidf: default 1, 1 */
	int norm;          /* default: l2 for tfidf, none for bow */
	long hash;         /* 0: vocabulary; else the number of hash buckets */
	int lower;         /* default 1 */
	int cjk_words;     /* word analyzer: TL_WORDS_CJK (default 0; "cjk=words" in the fitted file) */
} tl_feat_opts;
/* The tl_words_split flags of o. */
static inline int tl_feat_words_flags(const tl_feat_opts *o)
{
	return (o->lower ? TL_WORDS_LOWER : 0) | (o->cjk_words ? TL_WORDS_CJK : 0);
}

/* Defaults for kind (as scikit-learn's vectorizers). */
void tl_feat_opts_default(tl_feat_opts *o, int kind);
/* "kind=tfidf analyzer=word ngram=1,2 ..." for messages and tl.json. */
void tl_feat_opts_str(const tl_feat_opts *o, char *out, size_t n);

typedef struct tl_feat tl_feat;
typedef struct tl_feat_fitter tl_feat_fitter;

/* A sparse vector: idx ascending, val the values. Reused across calls;
 * free with tl_sparse_free. */
typedef struct {
	int32_t *idx;
	float *val;
	size_t n, cap;
	long dim;
	void *priv;  /* tl_feat_apply's reusable scratch (freed by tl_sparse_free) */
} tl_sparse;
void tl_sparse_free(tl_sparse *s);

tl_feat_fitter *tl_feat_fitter_new(const tl_feat_opts *o);
/* Count one document. */
void tl_feat_fitter_add(tl_feat_fitter *f, const char *text, size_t len);
/* Freeze: apply df limits and max_features, sort the vocabulary. Frees f.
 * Returns NULL with a message in err when no term is left ("empty
 * vocabulary: ..."). */
tl_feat *tl_feat_fitter_finish(tl_feat_fitter *f, char *err, size_t errsz);

/* Transform one document into out (idx ascending). */
void tl_feat_apply(const tl_feat *ft, const char *text, size_t len, tl_sparse *out);

/* Output dimension (vocabulary size or hash buckets). */
long tl_feat_dim(const tl_feat *ft);
const tl_feat_opts *tl_feat_opts_of(const tl_feat *ft);
/* Term of feature i (vocabulary mode), NULL in hashing mode. */
const char *tl_feat_term(const tl_feat *ft, long i);
/* idf of feature i (1 when not tfidf). */
double tl_feat_idf(const tl_feat *ft, long i);
/* Feature index of a term, or -1. */
long tl_feat_index(const tl_feat *ft, const char *term, size_t len);

/* Save to path atomically ("tl-features 1" text format). Returns 0 or -1
 * with errno set. */
int tl_feat_save(const tl_feat *ft, const char *path);
/* Load; NULL with a message in err (I/O error or a corrupt file). */
tl_feat *tl_feat_load(const char *path, char *err, size_t errsz);
/* Compare the options of a fitted file with those asked for on the command
 * line; fields not set by the user are given in `set` bits (see
 * TL_FEAT_SET_*). Returns 0 when compatible, else -1 with a message. */
enum {
	TL_FEAT_SET_KIND = 1 << 0, TL_FEAT_SET_ANALYZER = 1 << 1, TL_FEAT_SET_NGRAM = 1 << 2,
	TL_FEAT_SET_MIN_DF = 1 << 3, TL_FEAT_SET_MAX_DF = 1 << 4, TL_FEAT_SET_MAX_FEATURES = 1 << 5,
	TL_FEAT_SET_BINARY = 1 << 6, TL_FEAT_SET_SUBLINEAR = 1 << 7, TL_FEAT_SET_IDF = 1 << 8,
	TL_FEAT_SET_NORM = 1 << 9, TL_FEAT_SET_HASH = 1 << 10, TL_FEAT_SET_LOWER = 1 << 11,
	TL_FEAT_SET_CJK = 1 << 12,
};
/* Set one option from its command-line name without the dashes: "bow",
 * "tfidf" (no value), "analyzer" word|char|char_wb, "ngram" MIN,MAX,
 * "min-df"/"max-df" (an integer is a document count, a number with a '.'
 * a proportion), "max-features" N, "binary", "sublinear-tf", "no-idf",
 * "no-smooth-idf", "norm" none|l1|l2, "hash" N, "no-lower", "cjk"
 * words|chars. Records the
 * TL_FEAT_SET_* bit in *set. Returns 1 when name is a feature option, 0
 * when it is not, -1 on a bad value (message in err). */
int tl_feat_opts_set(tl_feat_opts *o, unsigned *set, const char *name, const char *val, char *err, size_t errsz);
/* After the last tl_feat_opts_set: the norm follows the kind unless set. */
void tl_feat_opts_finish(tl_feat_opts *o, unsigned set);
int tl_feat_check_opts(const tl_feat *ft, const tl_feat_opts *asked, unsigned set, char *err, size_t errsz);
void tl_feat_free(tl_feat *ft);

/* ---------------- records (tl-embed --bow/--tfidf/--word2vec) ----------------
 * The parts of tl-embed's classic feature kinds that do not depend on its
 * command line (lib/features/embed_features.c); the tool is cmd/tl-embed.c. */
/* The record's "text": a pointer into the record (not NUL-terminated),
 * length in *len. NULL with e set (TL_EXIT_DATA, "no \"text\"" or
 * "\"text\" is not a string") when absent or not a string. */
const char *tl_rec_text(const tl_record *rec, size_t *len, tl_err *e);
/* Set "sparse": {"dim", "idx": [...], "val": [...]} on the record being
 * written to w (tl_writer_start ... tl_writer_end). */
void tl_writer_sparse(tl_writer *w, const tl_sparse *sp);
/* Write the header record of a feature stream: in_header (may be NULL)
 * with this tool's chain entry (tl_header_start) and "features": {"kind":
 * kind ("bow", "tfidf", "word2vec"), "file", "sha256" (of the fitted
 * file), "dim"}. Returns tl_writer_end's result. */
int tl_embed_features_header(tl_writer *w, const msgpack_object *in_header, int argc, char **argv,
			     const char *kind, const char *file, const char *sha256, int64_t dim);

/* ---------------- segmented Chinese (CJK words) ----------------
 * Whether a stream's text was segmented into words, as its header says:
 * tl-clean writes "clean": {"zh_segmented": true|false, ...} (true with
 * --segment jieba or --zh-segmented). tl_header_cjk returns 1 (segmented),
 * 0 (the header says not segmented) or -1 (no header, or it says nothing).
 *
 * A model or fitted file splits CJK as words or as characters; the stream
 * it is applied to should be made the same way. tl_cjk_check compares
 * (model_words: 1 words, 0 characters; stream: tl_header_cjk's value):
 * -1 (refuse; message in msg) when a word model is given text whose header
 * says it was not segmented (its CJK runs would be unknown words); 1 (a
 * warning in msg) when a character model is given segmented text (it still
 * splits it into the same characters, but stop words or the segmentation
 * may differ from training); 0 when they agree or the stream says nothing.
 * where names the model or file in the message. */
int tl_header_cjk(const msgpack_object *header);
int tl_cjk_check(int model_words, int stream, const char *where, char *msg, size_t msz);

/* ---------------- provenance of feature vectors ----------------
 * How a stream's "vec"/"sparse" values were made, as its header says:
 * tl-embed with an encoder writes "embed": {"model", "sha256" (of the
 * encoder's model.safetensors), "pool", "normalize", "layer", "dim"}, the
 * classic kinds "features": {"kind", "file", "sha256", "dim"} (each drops
 * the other key, so the header names the last tl-embed). tl-train -m
 * linear copies it into tl.json as params.features ("kind": "bert" added
 * for an encoder); tl-predict compares a stream with it.
 *
 * tl_feat_provenance returns a new jansson object (the caller
 * json_decref's it) for the input kind (TL_FEAT_PROV_VEC: "embed", else a
 * "features" of kind word2vec; TL_FEAT_PROV_SPARSE: "features"), or NULL
 * when header (may be NULL) says nothing about it. */
enum { TL_FEAT_PROV_SPARSE = 1, TL_FEAT_PROV_VEC = 2 };
json_t *tl_feat_provenance(const msgpack_object *header, int kind);
/* Compare the stream header's provenance with the one recorded in the
 * model directory dir (tl.json params.features, for params.input "vec" or
 * "sparse"). Returns 0 when they agree or either side records nothing
 * (a stream without a header is trusted), 1 with a warning in msg when
 * only the names differ (encoder or feature file path, no sha256 to
 * compare) or the model records nothing, -1 with both shown in msg when
 * the vectors were made differently (encoder sha256, pool, layer,
 * normalize, kind, dim). */
int tl_feat_provenance_check(const char *dir, const msgpack_object *header, char *msg, size_t msz);
/* The same against a provenance object mine (params.features; not owned;
 * NULL or null: the model records nothing) for input kind kind; where
 * names the model in messages. tl-train checks its --dev stream with it. */
int tl_feat_provenance_compare(const json_t *mine, const msgpack_object *header, int kind, const char *where,
			       char *msg, size_t msz);

#endif
