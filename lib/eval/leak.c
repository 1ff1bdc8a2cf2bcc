/* leak.c - content keys of records, key sets and the check that keeps
 * augmented copies and training records out of evaluation (tl/leak.h). */
#include "tl/leak.h"
#include "tl/fsutil.h"
#include "tl/hash.h"
#include "tl/util.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- key sets: open addressing on 64-bit keys ---------------- */

/* Slot value 0 means empty; the key 0 is kept aside in has_zero. */
struct tl_keyset {
	uint64_t *slot;
	char **val; /* optional per-key string (tl_leak's copy ids), or NULL */
	size_t cap, n;
	int has_zero;
	/* the strings val points to, packed into chunks (keep_str): one
	 * allocation for many ids, as a training stream has one per record */
	char **chunk;
	size_t nchunk, used, size; /* used and size: of the last chunk */
};

/* A copy of v in s's chunks. */
static char *keep_str(tl_keyset *s, const char *v)
{
	size_t n = strlen(v) + 1;
	if (!s->nchunk || s->size - s->used < n) {
		size_t sz = n > 65536 ? n : 65536;
		s->chunk = tl_xrealloc(s->chunk, (s->nchunk + 1) * sizeof *s->chunk);
		s->chunk[s->nchunk++] = tl_xmalloc(sz);
		s->used = 0;
		s->size = sz;
	}
	char *p = s->chunk[s->nchunk - 1] + s->used;
	memcpy(p, v, n);
	s->used += n;
	return p;
}

static size_t slot_of(const tl_keyset *s, uint64_t key)
{
	/* the keys are hashes already; mix once more so that sequential
	 * values (tests, small ids) spread too */
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 20) & (s->cap - 1);
	while (s->slot[i] && s->slot[i] != key)
		i = (i + 1) & (s->cap - 1);
	return i;
}

tl_keyset *tl_keyset_new(void)
{
	tl_keyset *s = tl_xcalloc(1, sizeof *s);
	s->cap = 64;
	s->slot = tl_xcalloc(s->cap, sizeof *s->slot);
	return s;
}

void tl_keyset_free(tl_keyset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nchunk; i++)
		free(s->chunk[i]);
	free(s->chunk);
	free(s->val);
	free(s->slot);
	free(s);
}

static void grow(tl_keyset *s)
{
	uint64_t *old = s->slot;
	char **oldv = s->val;
	size_t oldcap = s->cap;
	s->cap *= 2;
	s->slot = tl_xcalloc(s->cap, sizeof *s->slot);
	s->val = oldv ? tl_xcalloc(s->cap, sizeof *s->val) : NULL;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i]) {
			size_t j = slot_of(s, old[i]);
			s->slot[j] = old[i];
			if (oldv)
				s->val[j] = oldv[i];
		}
	free(old);
	free(oldv);
}

/* Insert key; returns its slot (SIZE_MAX for the key 0). */
static size_t insert(tl_keyset *s, uint64_t key)
{
	if (!key) {
		if (!s->has_zero)
			s->n++;
		s->has_zero = 1;
		return SIZE_MAX;
	}
	if ((s->n + 1) * 4 > s->cap * 3)
		grow(s);
	size_t i = slot_of(s, key);
	if (!s->slot[i]) {
		s->slot[i] = key;
		s->n++;
	}
	return i;
}

void tl_keyset_add(tl_keyset *s, uint64_t key)
{
	insert(s, key);
}

int tl_keyset_has(const tl_keyset *s, uint64_t key)
{
	if (!key)
		return s->has_zero;
	return s->slot[slot_of(s, key)] == key;
}

size_t tl_keyset_count(const tl_keyset *s)
{
	return s->n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort a[0..n): LSD radix sort, 8 passes of a byte (qsort for a few keys);
 * the keys of a large training set sort several times faster so. */
static void sort_u64(uint64_t *a, size_t n)
{
	if (n < 1024) {
		qsort(a, n, sizeof *a, cmp_u64);
		return;
	}
	uint64_t *t = tl_xmalloc(n * sizeof *t), *src = a, *dst = t;
	for (int sh = 0; sh < 64; sh += 8) {
		size_t cnt[257] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[((src[i] >> sh) & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			cnt[b + 1] += cnt[b];
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> sh) & 0xff]++] = src[i];
		uint64_t *x = src;
		src = dst;
		dst = x;
	}
	/* an even number of passes: the result is in a */
	free(t);
}

static const char MAGIC[8] = {'T', 'L', 'K', 'E', 'Y', 'S', '1', '\n'};

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int tl_keyset_save(const tl_keyset *s, const char *path, char *err, size_t errsz)
{
	size_t n = 0;
	uint64_t *keys = tl_xmalloc((s->n + 1) * sizeof *keys);
	if (s->has_zero)
		keys[n++] = 0;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i])
			keys[n++] = s->slot[i];
	sort_u64(keys, n);
	size_t bytes = 16 + 8 * n;
	unsigned char *buf = tl_xmalloc(bytes);
	memcpy(buf, MAGIC, 8);
	put_u64(buf + 8, n);
	for (size_t i = 0; i < n; i++)
		put_u64(buf + 16 + 8 * i, keys[i]);
	int rc = tl_fs_write_file(path, buf, bytes);
	if (rc != 0)
		tl_errf(err, errsz, "cannot write %s: %s", path, strerror(errno));
	free(buf);
	free(keys);
	return rc != 0 ? -1 : 0;
}

tl_keyset *tl_keyset_load(const char *path, char *err, size_t errsz)
{
	tl_buf b = {0};
	if (tl_fs_read_file(path, &b) != 0) {
		int e = errno;
		tl_errf(err, errsz, "cannot read %s: %s", path, strerror(e));
		tl_buf_free(&b);
		errno = e;
		return NULL;
	}
	const unsigned char *p = (const unsigned char *)b.data;
	uint64_t n = b.len >= 16 ? get_u64(p + 8) : 0;
	if (b.len < 16 || memcmp(p, MAGIC, 8) != 0 || n != (b.len - 16) / 8 || (b.len - 16) % 8 != 0) {
		tl_errf(err, errsz, "%s: not a tl key file (damaged or of another kind)", path);
		tl_buf_free(&b);
		errno = EINVAL;
		return NULL;
	}
	tl_keyset *s = tl_keyset_new();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = get_u64(p + 16 + 8 * i);
		if (i && k <= get_u64(p + 16 + 8 * (i - 1))) {
			tl_errf(err, errsz, "%s: keys out of order at %" PRIu64 " (damaged)", path, i);
			tl_keyset_free(s);
			tl_buf_free(&b);
			errno = EINVAL;
			return NULL;
		}
		tl_keyset_add(s, k);
	}
	tl_buf_free(&b);
	return s;
}

/* ---------------- what a record says ---------------- */

uint64_t tl_rec_content_key(const tl_record *rec)
{
	const msgpack_object *t = tl_rec_get(rec, "text");
	if (!t || t->type != MSGPACK_OBJECT_STR)
		return 0;
	uint64_t h = tl_fnv1a64(t->via.str.ptr, t->via.str.size, TL_FNV64_INIT);
	const msgpack_object *tb = tl_rec_get(rec, "text_b");
	if (tb && tb->type == MSGPACK_OBJECT_STR) {
		h = tl_fnv1a64("\x1f", 1, h);
		h = tl_fnv1a64(tb->via.str.ptr, tb->via.str.size, h);
	}
	return h ? h : 1;
}

static const char *obj_text(const msgpack_object *o, char *buf, size_t bufsz, size_t *len)
{
	if (!o)
		return NULL;
	if (o->type == MSGPACK_OBJECT_STR) {
		*len = o->via.str.size;
		return o->via.str.ptr;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && bufsz >= 21) {
		/* digits by hand: snprintf was a fair part of a training
		 * record's cost (tl-clean's ids are integers) */
		char d[20];
		int k = 0;
		uint64_t v = o->via.u64;
		do
			d[k++] = (char)('0' + v % 10);
		while ((v /= 10));
		for (int i = 0; i < k; i++)
			buf[i] = d[k - 1 - i];
		buf[k] = 0;
		*len = (size_t)k;
		return buf;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(buf, bufsz, "%" PRIu64, o->via.u64);
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		snprintf(buf, bufsz, "%" PRId64, o->via.i64);
	else
		return NULL;
	*len = strlen(buf);
	return buf;
}

void tl_rec_aug_info(const tl_record *rec, tl_aug_info *a)
{
	memset(a, 0, sizeof *a);
	const msgpack_object *aug = tl_rec_get(rec, "aug");
	if (!aug)
		return;
	a->is_copy = 1;
	if (aug->type != MSGPACK_OBJECT_MAP)
		return;
	a->src = obj_text(tl_map_get(aug, "src"), a->buf, sizeof a->buf, &a->src_len);
	const msgpack_object *k = tl_map_get(aug, "src_key");
	if (k && k->type == MSGPACK_OBJECT_STR && k->via.str.size == 16) {
		/* exactly 16 hex digits (strtoull would take a sign, blanks, 0x) */
		uint64_t v = 0;
		int ok = 1;
		for (int i = 0; i < 16 && ok; i++) {
			char c = k->via.str.ptr[i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
								: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			ok = d >= 0;
			v = v << 4 | (uint64_t)(d & 15);
		}
		if (ok)
			a->src_key = v;
	}
}

const char *tl_rec_id_text(const tl_record *rec, char *buf, size_t bufsz)
{
	char num[24];
	size_t len = 0;
	const char *s = obj_text(tl_rec_get(rec, "id"), num, sizeof num, &len);
	if (!s || !bufsz) {
		if (bufsz)
			buf[0] = 0;
		return buf;
	}
	if (len > bufsz - 1)
		len = bufsz - 1;
	memmove(buf, s, len);
	buf[len] = 0;
	return buf;
}

/* ---------------- the check ---------------- */

struct tl_leak {
	tl_keyset *train;  /* originals' keys and copies' source keys */
	tl_keyset *orig;   /* the originals' own keys, with their ids */
	tl_keyset *copied; /* sources of training copies, with the first copy's id */
};

tl_leak *tl_leak_new(void)
{
	tl_leak *l = tl_xcalloc(1, sizeof *l);
	l->train = tl_keyset_new();
	l->orig = tl_keyset_new();
	l->copied = tl_keyset_new();
	l->orig->val = tl_xcalloc(l->orig->cap, sizeof(char *));
	l->copied->val = tl_xcalloc(l->copied->cap, sizeof(char *));
	return l;
}

void tl_leak_free(tl_leak *l)
{
	if (!l)
		return;
	tl_keyset_free(l->train);
	tl_keyset_free(l->orig);
	tl_keyset_free(l->copied);
	free(l);
}

/* Insert key into a keyset with values, keeping the first value. */
static void insert_val(tl_keyset *s, uint64_t key, const char *v)
{
	if (!key)
		return;
	size_t i = insert(s, key);
	if (!s->val[i])
		s->val[i] = keep_str(s, v);
}

static const char *value_of(const tl_keyset *s, uint64_t key)
{
	if (!key || s->slot[slot_of(s, key)] != key)
		return NULL;
	return s->val[slot_of(s, key)];
}

void tl_leak_add_train(tl_leak *l, const tl_record *rec)
{
	char id[128];
	tl_rec_id_text(rec, id, sizeof id);
	tl_aug_info a;
	tl_rec_aug_info(rec, &a);
	if (a.is_copy) {
		if (a.src_key) {
			tl_keyset_add(l->train, a.src_key);
			insert_val(l->copied, a.src_key, id);
		}
		return;
	}
	uint64_t k = tl_rec_content_key(rec);
	if (k) {
		tl_keyset_add(l->train, k);
		insert_val(l->orig, k, id);
	}
}

const tl_keyset *tl_leak_train_keys(const tl_leak *l)
{
	return l->train;
}

int tl_leak_check(const tl_leak *l, const tl_record *rec, char *why, size_t whysz)
{
	char id[128];
	tl_rec_id_text(rec, id, sizeof id);
	tl_aug_info a;
	tl_rec_aug_info(rec, &a);
	if (a.is_copy) {
		const char *orig = value_of(l->orig, a.src_key);
		if (orig) {
			snprintf(why, whysz, "'%s' is an augmented copy of training record '%s'", id, orig);
			return TL_LEAK_AUG_OF_TRAIN;
		}
		if (value_of(l->copied, a.src_key)) {
			snprintf(why, whysz, "'%s' is an augmented copy of '%.*s', which training has copies of too", id,
				 (int)a.src_len, a.src ? a.src : "?");
			return TL_LEAK_AUG_OF_TRAIN;
		}
		snprintf(why, whysz, "'%s' is an augmented copy of '%.*s'", id,
			 (int)(a.src ? a.src_len : 1), a.src ? a.src : "?");
		return TL_LEAK_AUG_COPY;
	}
	uint64_t k = tl_rec_content_key(rec);
	/* the same text as a training original first: training's copies of
	 * that original are then copies of a training record, not of this
	 * one (data sets share sentences; tl-augment on train.tsv copies them) */
	const char *orig = value_of(l->orig, k);
	if (orig) {
		snprintf(why, whysz, "'%s' has the same text as training record '%s'", id, orig);
		return TL_LEAK_DUPLICATE;
	}
	const char *copy = value_of(l->copied, k);
	if (copy) {
		snprintf(why, whysz, "training record '%s' is an augmented copy of this record ('%s')", copy, id);
		return TL_LEAK_SOURCE;
	}
	return TL_LEAK_NONE;
}

/* ---------------- an evaluation stream ---------------- */

void tl_leak_eval_init(tl_leak_eval *v, const char *name, int drop)
{
	memset(v, 0, sizeof *v);
	v->name = name;
	v->drop = drop;
}

int tl_leak_eval_rec(const tl_leak *l, tl_leak_eval *v, const tl_record *rec, tl_err *e)
{
	char why[300];
	int k = tl_leak_check(l, rec, why, sizeof why);
	if (k == TL_LEAK_NONE)
		return 1;
	if (k == TL_LEAK_DUPLICATE) {
		if (!v->dups++) {
			v->first_dup_no = rec->no;
			snprintf(v->first_dup, sizeof v->first_dup, "%s", why);
		}
		return 1;
	}
	if (!v->drop)
		return tl_seterr(e, TL_EXIT_DATA, "%s: record %llu: %s (%s; --drop-leaked drops such records)", v->name,
				 (unsigned long long)rec->no, why,
				 k == TL_LEAK_SOURCE ? "a record whose augmented copies are trained on must not be evaluated on"
						     : "augmented copies must not be evaluated on");
	if (!v->dropped++) {
		v->first_drop_no = rec->no;
		snprintf(v->first_drop, sizeof v->first_drop, "%s", why);
	}
	return 0;
}

void tl_leak_eval_summary(const tl_leak_eval *v, char *dropped, size_t dsz, char *dups, size_t usz)
{
	if (dsz)
		dropped[0] = 0;
	if (usz)
		dups[0] = 0;
	if (v->dropped && dsz)
		snprintf(dropped, dsz, "%s: dropped %llu dev record%s that leak%s training data (first: record %llu, %s)",
			 v->name, (unsigned long long)v->dropped, v->dropped == 1 ? "" : "s", v->dropped == 1 ? "s" : "",
			 (unsigned long long)v->first_drop_no, v->first_drop);
	if (v->dups && usz)
		snprintf(dups, usz, "%s: %llu dev record%s the same text as a training record (first: record %llu, %s)",
			 v->name, (unsigned long long)v->dups, v->dups == 1 ? " has" : "s have",
			 (unsigned long long)v->first_dup_no, v->first_dup);
}

int tl_keyset_covers(const tl_keyset *keys, const tl_record *rec)
{
	uint64_t k = tl_rec_content_key(rec);
	if (k && tl_keyset_has(keys, k))
		return 1;
	tl_aug_info a;
	tl_rec_aug_info(rec, &a);
	return a.src_key && tl_keyset_has(keys, a.src_key);
}

tl_keyset *tl_model_train_keys(const char *dir, char *err, size_t errsz)
{
	tl_buf path = {0};
	tl_buf_printf(&path, "%s/%s", dir, TL_TRAIN_KEYS_FILE);
	errno = 0;
	tl_keyset *k = tl_keyset_load(tl_buf_cstr(&path), err, errsz);
	int e = errno;
	tl_buf_free(&path);
	errno = e;
	return k;
}

json_t *tl_train_keys_json(const tl_keyset *keys)
{
	return json_pack("{s:s,s:I,s:s}", "file", TL_TRAIN_KEYS_FILE, "count", (json_int_t)tl_keyset_count(keys), "key",
			 TL_TRAIN_KEYS_DESC);
}
