/* rng.c - xoshiro256** and the Box-Muller transform. See tl/rng.h. */
#include "tl/rng.h"

#include <math.h>

double tl_mix64_normal(uint64_t *counter)
{
	uint64_t a = tl_mix64((*counter)++), b = tl_mix64((*counter)++);
	double u1 = ((a >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double u2 = (b >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void tl_xoshiro_seed(tl_xoshiro *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = tl_splitmix64(&seed);
}

void tl_xoshiro_derive(tl_xoshiro *r, uint64_t seed, uint64_t key, uint64_t stream)
{
	uint64_t x = seed;
	x = tl_splitmix64(&x) ^ key;
	x = tl_splitmix64(&x) ^ stream;
	tl_xoshiro_seed(r, tl_splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tl_xoshiro_next(tl_xoshiro *r)
{
	uint64_t *s = r->s;
	const uint64_t result = rotl(s[1] * 5, 7) * 9;
	const uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t tl_xoshiro_below(tl_xoshiro *r, uint64_t n)
{
	if (n <= 1)
		return 0;
	uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
	for (;;) {
		uint64_t x = tl_xoshiro_next(r);
		if (x >= threshold)
			return x % n;
	}
}

double tl_xoshiro_unit(tl_xoshiro *r)
{
	return (double)(tl_xoshiro_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
