/* tl/strtab.h - a string table: interns byte strings to dense ids.
 *
 * The first string added gets id 0, the next new one id 1, and so on, so
 * ids are insertion order and a caller keeps whatever it stores per string
 * (counts, values, names) in its own arrays indexed by id. Open
 * addressing with linear probing on 64-bit FNV-1a (tl/hash.h); the table
 * doubles at half load. Strings may hold any bytes, NUL included; at most
 * 2^32 - 2 strings of at most 2^32 - 1 bytes each.
 *
 * Ownership: the table owns copies of its strings (tl_strtab_add copies
 * s). A pointer from tl_strtab_str stays valid until the next
 * tl_strtab_add (the pool may move) or tl_strtab_free. Not thread-safe
 * for writers; concurrent finds on a table nobody adds to are fine.
 */
#ifndef TL_STRTAB_H
#define TL_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char *pool;       /* NUL-terminated strings back to back */
	size_t plen, pcap;
	size_t *soff;     /* id -> offset in pool */
	uint32_t *slen;   /* id -> length */
	size_t n, ncap;   /* n: number of strings (ids 0..n-1) */
	uint64_t *slots;  /* 0 empty, else (hash & ~0u32) | (id + 1) */
	uint64_t *shash;  /* id -> hash */
	size_t nslots;
} tl_strtab;

/* An empty table (no allocation; a zeroed tl_strtab is empty too). */
void tl_strtab_init(tl_strtab *t);
/* Frees everything the table owns and leaves it empty. */
void tl_strtab_free(tl_strtab *t);
/* id of s[0..len), or -1. */
int64_t tl_strtab_find(const tl_strtab *t, const char *s, size_t len);
/* id of s[0..len), inserting a copy when new (*isnew set; may be NULL). */
int64_t tl_strtab_add(tl_strtab *t, const char *s, size_t len, int *isnew);
/* The NUL-terminated string of id (0 <= id < n); owned by the table. */
static inline const char *tl_strtab_str(const tl_strtab *t, int64_t id)
{
	return t->pool + t->soff[id];
}
/* Length in bytes of the string of id. */
static inline size_t tl_strtab_len(const tl_strtab *t, int64_t id)
{
	return t->slen[id];
}


/* Sort ids[0..n) (ids of t) by their strings in byte order (memcmp; a
 * prefix first): for strings without NUL bytes the order of strcmp.
 * No global state: threads may sort at once. */
void tl_strtab_sort(const tl_strtab *t, int64_t *ids, size_t n);
/* Sort ids[0..n) by count[id] descending, ties by string as above (the
 * vocabulary order of the trainers and of tl-tokenize --build-vocab). */
void tl_strtab_sort_by_count(const tl_strtab *t, const int64_t *count, int64_t *ids, size_t n);

#endif
