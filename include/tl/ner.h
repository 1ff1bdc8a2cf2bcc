/* tl/ner.h - entity-level scoring of tag sequences (named-entity
 * recognition), as seqeval's default mode / conlleval compute it.
 *
 * A sentence is n word tags, each a NUL-terminated string: "O", or a prefix
 * "B-", "I-" (IOB2 and IOB1), "E-", "S-" (IOBES, where supported) followed
 * by the entity type. Chunks are extracted per sentence (an entity never
 * spans two sentences) and scored by exact (start, end, type) match.
 *
 * Ownership: the evaluator copies what it keeps; the tag arrays are only
 * read during tl_ner_eval_add. tl_ner_eval_free frees everything.
 */
#ifndef TL_NER_H
#define TL_NER_H

#include <stddef.h>

enum tl_ner_scheme { TL_NER_IOB2 = 0, TL_NER_IOB1 = 1, TL_NER_IOBES = 2 };

typedef struct tl_ner_eval tl_ner_eval;

/* A new evaluator (never NULL; dies on OOM as tl_xmalloc). */
tl_ner_eval *tl_ner_eval_new(int scheme);
/* Add one sentence: gold[0..n-1] and pred[0..n-1]. Returns 0, or -1 when a
 * tag is malformed (err, if not NULL, receives a message naming it). */
int tl_ner_eval_add(tl_ner_eval *e, const char *const *gold, const char *const *pred, size_t n, char *err,
		    size_t errsz);
/* Micro-averaged entity F1 over all sentences added so far (0 when there is
 * no gold and no predicted entity). */
double tl_ner_eval_micro_f1(const tl_ner_eval *e);
void tl_ner_eval_free(tl_ner_eval *e);

#endif
