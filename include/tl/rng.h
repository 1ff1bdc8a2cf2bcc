/* tl/rng.h - tl's random-number generators, all in one place.
 *
 * Three generators, each for its own job; all are integer arithmetic on
 * uint64_t, so a seed gives the same numbers on every platform.
 *
 *   splitmix64 (Steele, Lea & Flood 2014): a 64-bit state advanced by the
 *     golden-ratio gamma and finalised. Small and fast; the trainers
 *     (linear, fastText, word2vec) and the bootstrap of tl-eval use it.
 *   tl_mix64: the splitmix64 finaliser of (x + gamma) as a pure function,
 *     for counter-based streams (dropout masks, BERT head init, shuffles):
 *     draw i of a stream is tl_mix64(counter + i).
 *   xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64: the
 *     generator of tl-augment, one per (seed, record, copy).
 *
 * No function here allocates or keeps state outside its arguments, so
 * two threads with their own states can draw at once.
 */
#ifndef TL_RNG_H
#define TL_RNG_H

#include <stddef.h>
#include <stdint.h>

#define TL_GOLDEN64 0x9e3779b97f4a7c15ULL

/* ---------------- splitmix64 ---------------- */

/* The splitmix64 finaliser of x + TL_GOLDEN64: a well-mixed 64-bit hash of
 * x. tl_mix64(c), tl_mix64(c + 1), ... is a counter-based stream. */
static inline uint64_t tl_mix64(uint64_t x)
{
	x += TL_GOLDEN64;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* splitmix64 step: advances *state by TL_GOLDEN64 and returns the next
 * output (the finaliser of the new state). */
static inline uint64_t tl_splitmix64(uint64_t *state)
{
	uint64_t x = *state;
	*state += TL_GOLDEN64;
	return tl_mix64(x);
}

/* Uniform double in [0, 1) with 53 random bits from one splitmix64 draw. */
static inline double tl_splitmix64_unit(uint64_t *state)
{
	return (double)(tl_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform index in [0, n) from one splitmix64 draw: (x * n) >> 64
 * (Lemire's multiply, no rejection: bias below n / 2^64). */
static inline size_t tl_splitmix64_index(uint64_t *state, size_t n)
{
	return (size_t)(((unsigned __int128)tl_splitmix64(state) * n) >> 64);
}

/* Standard normal N(0, 1) by Box-Muller from two draws of the counter
 * stream tl_mix64(*counter), tl_mix64(*counter + 1) (*counter advances by
 * 2): u1 in (0, 1] (no log(0)), u2 in [0, 1); returns the cosine branch. */
double tl_mix64_normal(uint64_t *counter);

/* ---------------- xoshiro256** ---------------- */

typedef struct {
	uint64_t s[4];
} tl_xoshiro;

/* State from a 64-bit seed: four splitmix64 outputs (Vigna's advice). */
void tl_xoshiro_seed(tl_xoshiro *r, uint64_t seed);
/* The generator for one (seed, key, stream) triple: key identifies a
 * record (a hash of its id), stream a copy. Streams of different triples
 * are independent for all practical purposes. */
void tl_xoshiro_derive(tl_xoshiro *r, uint64_t seed, uint64_t key, uint64_t stream);
/* xoshiro256** next output. */
uint64_t tl_xoshiro_next(tl_xoshiro *r);
/* Uniform integer in [0, n), n > 0 (rejection: unbiased). */
uint64_t tl_xoshiro_below(tl_xoshiro *r, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double tl_xoshiro_unit(tl_xoshiro *r);

#endif
