/* tl/ner.h - entity-level scoring of tag sequences (named-entity
 * recognition), as seqeval's default mode / conlleval compute it.
 *
 * A sentence is n word tags, each a NUL-terminated string: "O", or a prefix
 * "B-", "I-" (IOB2 and IOB1), "E-", "S-" (IOBES) followed by the entity
 * type. Chunks are extracted per sentence (an entity never spans two
 * sentences) and scored by exact (start, end, type) match.
 *
 * Chunking is seqeval 1.2's get_entities (its default, non-strict mode,
 * which is conlleval's): every prefix is understood whatever the scheme,
 * so IOB1 and IOB2 data score the same. A chunk ends before B-/S-/O, after
 * E-/S-, and where the type changes; it starts at B-/S-, at a type change,
 * and at I-/E- after O, E- or S- (an I- without B- starts an entity). A
 * chunk open at the end of the sentence ends there. Bare "B", "I", "E",
 * "S" (no type) have the type "_" as in seqeval.
 * Malformed (rejected with -1): an empty tag, a tag other than "O" whose
 * first byte is not B/I/E/S, or a typed tag whose second byte is not '-'
 * ("B_PER", "PER", "O-X"). seqeval only warns about those and then scores
 * a made-up type; tl refuses them.
 * The scheme given to tl_ner_eval_new does not change the figures (as in
 * seqeval's default mode); it sets what counts as out of scheme for the
 * caller's warning (tl_ner_eval_stats): E-/S- tags under IOB1/IOB2, and
 * for IOB2 and IOBES an entity opened by I- (legal IOB1 only).
 *
 * Scores follow seqeval's precision_recall_fscore_support with its default
 * zero_division ("warn", i.e. 0): a precision, recall or F1 whose
 * denominator is 0 is 0. Types are the union of gold and predicted types,
 * sorted by byte order (Python's sorted on str). Macro = unweighted mean
 * over those types (0 when there is none); weighted = mean weighted by
 * gold support (when the total support is 0: precision and F1 are 0, or 0
 * too when nothing was predicted; recall 0). Token accuracy is seqeval's
 * accuracy_score (equal tags over all words).
 *
 * Ownership: the evaluator copies what it keeps; the tag arrays are only
 * read during tl_ner_eval_add. tl_ner_eval_free frees everything. Type
 * names returned by tl_ner_eval_type are owned by the evaluator and valid
 * until the next tl_ner_eval_add or tl_ner_eval_free.
 */
#ifndef TL_NER_H
#define TL_NER_H

#include <stddef.h>

enum tl_ner_scheme { TL_NER_IOB2 = 0, TL_NER_IOB1 = 1, TL_NER_IOBES = 2 };

/* One chunk of a tag sequence: words [start, end) (end exclusive), its type
 * type[0..type_len) pointing into the tag string (or a static "_"). */
typedef struct {
	size_t start, end;
	const char *type;
	size_t type_len;
} tl_ner_chunk;

/* The chunks of tags[0..n-1] in order of start, written to out (room for n
 * chunks: there are at most n). Returns their number, or -1 when a tag is
 * malformed (err, if not NULL, receives a message naming it and its
 * 1-based word position). Used by tl-predict to turn per-word tags into
 * entities exactly as they will be scored. */
long tl_ner_chunks(const char *const *tags, size_t n, tl_ner_chunk *out, char *err, size_t errsz);

typedef struct tl_ner_eval tl_ner_eval;

/* A new evaluator (never NULL; dies on OOM as tl_xmalloc). */
tl_ner_eval *tl_ner_eval_new(int scheme);
/* Add one sentence: gold[0..n-1] and pred[0..n-1]. Returns 0, or -1 when a
 * tag is malformed (err, if not NULL, receives a message naming it); the
 * evaluator is then unchanged. */
int tl_ner_eval_add(tl_ner_eval *e, const char *const *gold, const char *const *pred, size_t n, char *err,
		    size_t errsz);
/* Micro-averaged entity F1 over all sentences added so far (0 when there is
 * no gold and no predicted entity). */
double tl_ner_eval_micro_f1(const tl_ner_eval *e);

/* Per-type figures: i in [0, tl_ner_eval_ntypes) in sorted type order. */
typedef struct {
	const char *type; /* owned by the evaluator */
	long tp, npred, ngold;
	double precision, recall, f1;
} tl_ner_type_score;
size_t tl_ner_eval_ntypes(const tl_ner_eval *e);
void tl_ner_eval_type(const tl_ner_eval *e, size_t i, tl_ner_type_score *out);

typedef struct {
	long tp, npred, ngold;        /* entity counts over all types */
	long words, words_correct;    /* token accuracy = words_correct / words */
	long sentences;
	double micro_p, micro_r, micro_f1;
	double macro_p, macro_r, macro_f1;
	double weighted_p, weighted_r, weighted_f1;
	double accuracy;              /* 0 when no word was added */
} tl_ner_summary;
void tl_ner_eval_summary(const tl_ner_eval *e, tl_ner_summary *out);

/* Out-of-scheme counts for warnings (gold and pred tags together). */
typedef struct {
	long es_tags;  /* E-/S- tags seen under IOB1 or IOB2 */
	long i_starts; /* entities opened by I- (counted under IOB2 and IOBES) */
} tl_ner_stats;
void tl_ner_eval_stats(const tl_ner_eval *e, tl_ner_stats *out);

void tl_ner_eval_free(tl_ner_eval *e);

#endif
