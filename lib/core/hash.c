/* hash.c - FNV-1a and MurmurHash3 (x86, 32-bit). See tl/hash.h. */
#include "tl/hash.h"

#include <string.h>

uint64_t tl_fnv1a64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t tl_fnv1a(const void *p, size_t n)
{
	return tl_fnv1a64(p, n, TL_FNV64_INIT_STRTAB);
}

uint32_t tl_fnv1a32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = TL_FNV32_INIT;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

static uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

int32_t tl_murmur3_32(const void *key, size_t len, uint32_t seed)
{
	const uint8_t *data = key;
	size_t nblocks = len / 4;
	uint32_t h = seed, c1 = 0xcc9e2d51, c2 = 0x1b873593;
	for (size_t i = 0; i < nblocks; i++) {
		uint32_t k;
		memcpy(&k, data + 4 * i, 4); /* little-endian hosts */
		k *= c1;
		k = rotl32(k, 15);
		k *= c2;
		h ^= k;
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64;
	}
	const uint8_t *tail = data + nblocks * 4;
	uint32_t k1 = 0;
	switch (len & 3) {
	case 3: k1 ^= (uint32_t)tail[2] << 16; /* fall through */
	case 2: k1 ^= (uint32_t)tail[1] << 8;  /* fall through */
	case 1:
		k1 ^= tail[0];
		k1 *= c1;
		k1 = rotl32(k1, 15);
		k1 *= c2;
		h ^= k1;
	}
	h ^= (uint32_t)len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return (int32_t)h;
}
