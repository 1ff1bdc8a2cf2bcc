/* strtab.c - string interning to dense ids. See tl/strtab.h. */
#include "tl/strtab.h"
#include "tl/hash.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

void tl_strtab_init(tl_strtab *t)
{
	memset(t, 0, sizeof *t);
}

void tl_strtab_free(tl_strtab *t)
{
	free(t->pool);
	free(t->soff);
	free(t->slen);
	free(t->slots);
	free(t->shash);
	memset(t, 0, sizeof *t);
}

/* A slot holds 0 (empty) or (upper 32 bits of the hash) | (id + 1), so a
 * probe compares hashes without touching the entry arrays. */
#define SLOT_HI 0xFFFFFFFF00000000ULL
#define SLOT(h, id) (((h) & SLOT_HI) | (uint64_t)((id) + 1))

int64_t tl_strtab_find(const tl_strtab *t, const char *s, size_t len)
{
	if (!t->nslots)
		return -1;
	uint64_t h = tl_fnv1a(s, len), hi = h & SLOT_HI;
	size_t mask = t->nslots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint64_t v = t->slots[i];
		if (!v)
			return -1;
		if ((v & SLOT_HI) == hi) {
			int64_t id = (int64_t)(v & 0xFFFFFFFFULL) - 1;
			if (t->slen[id] == len && memcmp(t->pool + t->soff[id], s, len) == 0)
				return id;
		}
	}
}

static void strtab_rehash(tl_strtab *t, size_t nslots)
{
	free(t->slots);
	t->slots = tl_xcalloc(nslots, sizeof *t->slots);
	t->nslots = nslots;
	size_t mask = nslots - 1;
	for (size_t id = 0; id < t->n; id++) {
		size_t i = (size_t)t->shash[id] & mask;
		while (t->slots[i])
			i = (i + 1) & mask;
		t->slots[i] = SLOT(t->shash[id], id);
	}
}

int64_t tl_strtab_add(tl_strtab *t, const char *s, size_t len, int *isnew)
{
	int64_t id = tl_strtab_find(t, s, len);
	if (isnew)
		*isnew = id < 0;
	if (id >= 0)
		return id;
	if (2 * (t->n + 1) > t->nslots)
		strtab_rehash(t, t->nslots ? 2 * t->nslots : 1024);
	if (t->n + 1 > t->ncap) {
		t->ncap = t->ncap ? 2 * t->ncap : 1024;
		t->soff = tl_xrealloc(t->soff, t->ncap * sizeof *t->soff);
		t->slen = tl_xrealloc(t->slen, t->ncap * sizeof *t->slen);
		t->shash = tl_xrealloc(t->shash, t->ncap * sizeof *t->shash);
	}
	if (t->plen + len + 1 > t->pcap) {
		size_t cap = t->pcap ? t->pcap : 4096;
		while (cap < t->plen + len + 1)
			cap *= 2;
		t->pool = tl_xrealloc(t->pool, cap);
		t->pcap = cap;
	}
	memcpy(t->pool + t->plen, s, len);
	t->pool[t->plen + len] = 0;
	id = (int64_t)t->n++;
	t->soff[id] = t->plen;
	t->slen[id] = (uint32_t)len;
	t->shash[id] = tl_fnv1a(s, len);
	t->plen += len + 1;
	size_t mask = t->nslots - 1;
	size_t i = (size_t)t->shash[id] & mask;
	while (t->slots[i])
		i = (i + 1) & mask;
	t->slots[i] = SLOT(t->shash[id], id);
	return id;
}

/* ---------------- orders ---------------- */

static int cmp_bytes(const tl_strtab *t, int64_t x, int64_t y)
{
	size_t lx = t->slen[x], ly = t->slen[y];
	int c = memcmp(t->pool + t->soff[x], t->pool + t->soff[y], lx < ly ? lx : ly);
	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

static int cmp_ids(const void *a, const void *b, void *ctx)
{
	return cmp_bytes(ctx, *(const int64_t *)a, *(const int64_t *)b);
}

void tl_strtab_sort(const tl_strtab *t, int64_t *ids, size_t n)
{
	qsort_r(ids, n, sizeof *ids, cmp_ids, (void *)t);
}

typedef struct {
	const tl_strtab *t;
	const int64_t *count;
} by_count;

static int cmp_count(const void *a, const void *b, void *ctx)
{
	const by_count *c = ctx;
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	if (c->count[x] != c->count[y])
		return c->count[x] > c->count[y] ? -1 : 1;
	return cmp_bytes(c->t, x, y);
}

void tl_strtab_sort_by_count(const tl_strtab *t, const int64_t *count, int64_t *ids, size_t n)
{
	by_count c = {t, count};
	qsort_r(ids, n, sizeof *ids, cmp_count, &c);
}
