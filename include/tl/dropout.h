/* include/tl/dropout.h - the counter-based dropout mask shared by every
 * backend (include/tl/kernels.h: dropout_forward/backward,
 * attention_forward_train) and by the models that pick the streams.
 *
 * keep(i) is a pure function of (seed, stream, i) (splitmix64 finaliser),
 * so the forward pass and the backward pass recompute the same mask
 * without storing it, and the mask does not depend on thread scheduling or
 * on the backend. `stream` identifies the call site and step (see
 * tl_dropout_stream). Header-only: nothing to free.
 */
#ifndef TL_DROPOUT_H
#define TL_DROPOUT_H

#include <stdint.h>

#include "tl/rng.h" /* tl_mix64 */

/* A stream id for dropout from (step, site): site numbers a dropout call
 * within one forward pass (layer * 8 + position, ...). */
static inline uint64_t tl_dropout_stream(uint64_t step, uint64_t site)
{
	return step * 0x100000001b3ull + site * TL_GOLDEN64;
}

/* 1 when element i survives dropout with probability p (drop rate). */
static inline int tl_dropout_keep(uint64_t seed, uint64_t stream, uint64_t i, float p)
{
	uint64_t h = tl_mix64(seed ^ tl_mix64(stream ^ tl_mix64(i)));
	/* 24 random bits -> [0, 1) */
	float u = (float)(h >> 40) * (1.0f / 16777216.0f);
	return u >= p;
}

#endif
