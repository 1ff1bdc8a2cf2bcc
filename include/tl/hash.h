/* tl/hash.h - non-cryptographic hashes of byte strings (the SHA-256 of
 * model files is in tl/util.h).
 *
 * FNV-1a (Fowler, Noll, Vo) is tl's one string hash: the string table
 * (tl/strtab.h), WordNet's indexes, synonym dictionaries, tl-augment's
 * record keys. MurmurHash3 is there only to reproduce scikit-learn's
 * hashing trick. All are pure functions of their arguments.
 */
#ifndef TL_HASH_H
#define TL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TL_FNV64_INIT 0xcbf29ce484222325ULL /* FNV-1a 64-bit offset basis */
#define TL_FNV32_INIT 2166136261u           /* FNV-1a 32-bit offset basis */
/* The 64-bit basis of tl's string table: 1469598103934665603, the
 * standard 14695981039346656037 with its last digit lost. Every fitted
 * fastText model depends on it (an n-gram's bucket hashes its words'
 * table hashes), so it stays; it is as good a start as the standard one. */
#define TL_FNV64_INIT_STRTAB 1469598103934665603ULL

/* 64-bit FNV-1a of p[0..n) continued from h (TL_FNV64_INIT to start), so
 * a hash of several pieces is tl_fnv1a64(b, nb, tl_fnv1a64(a, na, INIT)). */
uint64_t tl_fnv1a64(const void *p, size_t n, uint64_t h);
/* 64-bit FNV-1a of p[0..n) from TL_FNV64_INIT_STRTAB: the hash of the
 * string table (tl_strtab's shash) and of fastText's words and n-grams. */
uint64_t tl_fnv1a(const void *p, size_t n);
/* 32-bit FNV-1a of p[0..n) from the offset basis. */
uint32_t tl_fnv1a32(const void *p, size_t n);

/* scikit-learn's murmurhash3_32(s, seed=0, positive=False). */
int32_t tl_murmur3_32(const void *key, size_t len, uint32_t seed);

#endif
