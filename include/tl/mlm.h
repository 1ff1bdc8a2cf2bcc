/* tl/mlm.h - BERT masked-LM masking (issue 18).
 *
 * tl_mlm_mask works on one sequence of the caller's (ids and labels are
 * the caller's buffers, written in place; nothing is allocated).
 *
 * Generator: the counter-based splitmix64 hash of tl/rng.h on the state
 * seed ^ (stream * 0x9e3779b97f4a7c15) ^ "mlmmask", one draw per
 * decision in a fixed order (see lib/models/bert/mlm.c): the same (seed,
 * stream, ids, cont) gives the same masking on every machine.
 */
#ifndef TL_MLM_H
#define TL_MLM_H

#include <stdint.h>

/* BERT masking of one sequence ids[0..len) in place. A position is
 * maskable unless its id is one of special[0..nspecial) (the caller lists
 * [CLS], [SEP], [PAD], [MASK], [UNK] or whatever it keeps) or outside
 * [0, V). Each maskable unit (a token; with whole_word, a word: a
 * position with cont[i] == 0 and the continuation pieces cont[i] == 1
 * ("##...") that follow it) is chosen with probability p; when none is
 * chosen and at least one is maskable, one is chosen uniformly. Each
 * position of a chosen unit gets labels[i] = its id and becomes mask_id
 * with probability 0.8, a random id uniform in [0, V) with 0.1, or stays
 * with 0.1 (drawn per position); every other position gets labels[i] =
 * TL_IGNORE_LABEL (-100). cont may be NULL (no whole-word grouping) and
 * is only read when whole_word. Deterministic from (seed, stream).
 * Returns the number of positions chosen (labelled), 0 when none is
 * maskable, -1 on bad arguments (len < 0, p outside [0, 1], V < 1). */
int tl_mlm_mask(int32_t *ids, int32_t *labels, int len, const unsigned char *cont, int whole_word, float p,
		int32_t mask_id, int32_t V, const int32_t *special, int nspecial, uint64_t seed, uint64_t stream);

#endif
