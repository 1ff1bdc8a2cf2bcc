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

/* ---------------- the content hash ---------------- */

#define H_K0 0x9e3779b97f4a7c15ULL
#define H_K1 0xd6e8feb86659fd93ULL
#define H_F1 0xbf58476d1ce4e5b9ULL
#define H_F2 0x94d049bb133111ebULL

/* The 64-bit little-endian word at p (any alignment, any host). */
static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* One word into the state: the word is spread by a multiply and a shift
 * (off the state's dependency chain), the state by a multiply and a shift
 * back down, so that high bits reach the low ones before the next word. */
static inline uint64_t h_step(uint64_t h, uint64_t w)
{
	w *= H_K1;
	w ^= w >> 31;
	h = (h ^ w) * H_K0;
	return h ^ (h >> 29);
}

uint64_t tl_key_hash(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ ((uint64_t)n * H_K0);
	for (; n >= 8; n -= 8, p += 8)
		h = h_step(h, le64(p));
	if (n) {
		uint64_t w = 0;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)p[i] << (8 * i);
		h = h_step(h, w);
	}
	h ^= h >> 32;
	h *= H_F1;
	h ^= h >> 29;
	h *= H_F2;
	h ^= h >> 32;
	return h;
}

uint64_t tl_content_key(const char *text, size_t len, const char *text_b, size_t len_b)
{
	uint64_t h = tl_key_hash(text, len, 0);
	if (text_b)
		h = tl_key_hash(text_b, len_b, h);
	return h ? h : 1;
}

/* ---------------- sorting 64-bit keys ---------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort a[0..n) (and v[0..n) along with it when v is not NULL): LSD
 * radix sort, 8 passes of a byte, stable, so that of equal keys the one
 * added first stays first. */
static void radix_kv(uint64_t *a, uint64_t *v, size_t n)
{
	uint64_t *t = tl_xmalloc(n * sizeof *t), *src = a, *dst = t;
	uint64_t *tv = v ? tl_xmalloc(n * sizeof *tv) : NULL, *srcv = v, *dstv = tv;
	for (int sh = 0; sh < 64; sh += 8) {
		size_t cnt[257] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[((src[i] >> sh) & 0xff) + 1]++;
		if (cnt[((src[0] >> sh) & 0xff) + 1] == n)
			continue; /* all keys share this byte: nothing moves */
		for (int b = 0; b < 256; b++)
			cnt[b + 1] += cnt[b];
		for (size_t i = 0; i < n; i++) {
			size_t j = cnt[(src[i] >> sh) & 0xff]++;
			dst[j] = src[i];
			if (v)
				dstv[j] = srcv[i];
		}
		uint64_t *x = src;
		src = dst;
		dst = x;
		x = srcv;
		srcv = dstv;
		dstv = x;
	}
	if (src != a) {
		memcpy(a, src, n * sizeof *a);
		if (v)
			memcpy(v, srcv, n * sizeof *v);
	}
	free(t);
	free(tv);
}

/* The same result, for keys spread evenly over 64 bits (hashes): one pass
 * scatters them into about n buckets by their top bits (stable), then an
 * insertion sort orders each bucket, of one or two keys. Keys that crowd
 * into a few buckets (sequential values, say) go to radix_kv instead. */
static void sort_kv(uint64_t *a, uint64_t *v, size_t n)
{
	if (n < 2)
		return;
	if (!v && n < 64) {
		qsort(a, n, sizeof *a, cmp_u64);
		return;
	}
	int bits = 1;
	while (bits < 20 && ((size_t)1 << bits) < n)
		bits++;
	size_t nb = (size_t)1 << bits;
	uint32_t *cnt = tl_xcalloc(nb + 1, sizeof *cnt);
	size_t most = 0;
	for (size_t i = 0; i < n; i++) {
		size_t c = ++cnt[(a[i] >> (64 - bits)) + 1];
		if (c > most)
			most = c;
	}
	if (most > 64 || n > UINT32_MAX) {
		free(cnt);
		radix_kv(a, v, n);
		return;
	}
	for (size_t b = 0; b < nb; b++)
		cnt[b + 1] += cnt[b];
	uint64_t *t = tl_xmalloc(n * sizeof *t);
	uint64_t *tv = v ? tl_xmalloc(n * sizeof *tv) : NULL;
	for (size_t i = 0; i < n; i++) {
		size_t j = cnt[a[i] >> (64 - bits)]++;
		t[j] = a[i];
		if (v)
			tv[j] = v[i];
	}
	/* cnt[b] is now the end of bucket b, which starts at cnt[b - 1] */
	for (size_t b = 0, s = 0; b < nb; s = cnt[b], b++)
		for (size_t i = s + 1; i < cnt[b]; i++) {
			uint64_t k = t[i], kv = v ? tv[i] : 0;
			size_t j = i;
			for (; j > s && t[j - 1] > k; j--) {
				t[j] = t[j - 1];
				if (v)
					tv[j] = tv[j - 1];
			}
			t[j] = k;
			if (v)
				tv[j] = kv;
		}
	memcpy(a, t, n * sizeof *a);
	if (v)
		memcpy(v, tv, n * sizeof *v);
	free(t);
	free(tv);
	free(cnt);
}

/* Keep the first of each run of equal keys in sorted a (and v); returns
 * the new count. */
static size_t unique_kv(uint64_t *a, uint64_t *v, size_t n)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!m || a[i] != a[m - 1]) {
			a[m] = a[i];
			if (v)
				v[m] = v[i];
			m++;
		}
	return m;
}

/* ---------------- key sets: sorted arrays with a directory ---------------- */

/* Keys are added to the end of k; the first question (has, count, save)
 * sorts them, removes repeats and builds dir: for the top dbits bits of
 * a key, the index of the first key with those bits or larger. The keys
 * are hashes, spread evenly, so a look-up reads dir and one or two keys. */
struct tl_keyset {
	uint64_t *k;
	size_t n, cap;
	int ready;      /* k sorted and unique, dir built */
	int dbits;
	uint32_t *dir;  /* (1 << dbits) + 1 entries */
};

static tl_keyset *keyset_with(size_t cap)
{
	tl_keyset *s = tl_xcalloc(1, sizeof *s);
	s->cap = cap ? cap : 16;
	s->k = tl_xmalloc(s->cap * sizeof *s->k);
	return s;
}

tl_keyset *tl_keyset_new(void)
{
	return keyset_with(0);
}

void tl_keyset_free(tl_keyset *s)
{
	if (!s)
		return;
	free(s->k);
	free(s->dir);
	free(s);
}

void tl_keyset_add(tl_keyset *s, uint64_t key)
{
	if (s->n == s->cap) {
		s->cap *= 2;
		s->k = tl_xrealloc(s->k, s->cap * sizeof *s->k);
	}
	s->k[s->n++] = key;
	s->ready = 0;
}

/* Sort, unique and index the keys (keys already sorted and unique: sorted
 * says so, and only the directory is built). */
static void keyset_ready(tl_keyset *s, int sorted)
{
	if (s->ready)
		return;
	if (!sorted) {
		sort_kv(s->k, NULL, s->n);
		s->n = unique_kv(s->k, NULL, s->n);
	}
	int bits = 0;
	while (bits < 24 && ((size_t)1 << bits) < s->n)
		bits++;
	s->dbits = bits;
	free(s->dir);
	size_t nd = ((size_t)1 << bits) + 1;
	s->dir = tl_xmalloc(nd * sizeof *s->dir);
	size_t j = 0;
	for (size_t b = 0; b + 1 < nd; b++) {
		while (j < s->n && (bits ? s->k[j] >> (64 - bits) : 0) < b)
			j++;
		s->dir[b] = (uint32_t)j;
	}
	s->dir[nd - 1] = (uint32_t)s->n;
	s->ready = 1;
}

int tl_keyset_has(const tl_keyset *cs, uint64_t key)
{
	tl_keyset *s = (tl_keyset *)cs; /* the set was made writable by its owner */
	keyset_ready(s, 0);
	size_t b = s->dbits ? (size_t)(key >> (64 - s->dbits)) : 0;
	for (size_t i = s->dir[b], e = s->dir[b + 1]; i < e; i++)
		if (s->k[i] >= key)
			return s->k[i] == key;
	return 0;
}

size_t tl_keyset_count(const tl_keyset *cs)
{
	tl_keyset *s = (tl_keyset *)cs;
	keyset_ready(s, 0);
	return s->n;
}

static const char MAGIC[8] = {'T', 'L', 'K', 'E', 'Y', 'S', '2', '\n'};
static const char MAGIC_OLD[8] = {'T', 'L', 'K', 'E', 'Y', 'S', '1', '\n'};

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int tl_keyset_save(const tl_keyset *cs, const char *path, char *err, size_t errsz)
{
	tl_keyset *s = (tl_keyset *)cs;
	keyset_ready(s, 0);
	size_t bytes = 16 + 8 * s->n;
	unsigned char *buf = tl_xmalloc(bytes);
	memcpy(buf, MAGIC, 8);
	put_u64(buf + 8, s->n);
	for (size_t i = 0; i < s->n; i++)
		put_u64(buf + 16 + 8 * i, s->k[i]);
	int rc = tl_fs_write_file(path, buf, bytes);
	if (rc != 0)
		tl_errf(err, errsz, "cannot write %s: %s", path, strerror(errno));
	free(buf);
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
	if (b.len >= 8 && memcmp(p, MAGIC_OLD, 8) == 0) {
		tl_errf(err, errsz, "%s: keys of an older format (FNV-1a, before tl 2026-12), seen-check off", path);
		tl_buf_free(&b);
		errno = EPROTO;
		return NULL;
	}
	uint64_t n = b.len >= 16 ? le64(p + 8) : 0;
	if (b.len < 16 || memcmp(p, MAGIC, 8) != 0 || n != (b.len - 16) / 8 || (b.len - 16) % 8 != 0 ||
	    n > UINT32_MAX) {
		tl_errf(err, errsz, "%s: not a tl key file (damaged or of another kind)", path);
		tl_buf_free(&b);
		errno = EINVAL;
		return NULL;
	}
	tl_keyset *s = keyset_with((size_t)n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = le64(p + 16 + 8 * i);
		if (i && k <= s->k[i - 1]) {
			tl_errf(err, errsz, "%s: keys out of order at %" PRIu64 " (damaged)", path, i);
			tl_keyset_free(s);
			tl_buf_free(&b);
			errno = EINVAL;
			return NULL;
		}
		s->k[i] = k;
	}
	s->n = (size_t)n;
	keyset_ready(s, 1);
	tl_buf_free(&b);
	return s;
}

/* ---------------- what a record says ---------------- */

/* The fields of a record the check reads, found in one walk over its keys
 * (tl_map_get would walk them once for each). */
typedef struct {
	const msgpack_object *text, *text_b, *id, *aug;
} rec_fields;

static void find_fields(const msgpack_object *map, rec_fields *f)
{
	memset(f, 0, sizeof *f);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		const char *s = k->via.str.ptr;
		const msgpack_object *v = &map->via.map.ptr[i].val;
		switch (k->via.str.size) {
		case 2:
			if (!f->id && s[0] == 'i' && s[1] == 'd')
				f->id = v;
			break;
		case 3:
			if (!f->aug && !memcmp(s, "aug", 3))
				f->aug = v;
			break;
		case 4:
			if (!f->text && !memcmp(s, "text", 4))
				f->text = v;
			break;
		case 6:
			if (!f->text_b && !memcmp(s, "text_b", 6))
				f->text_b = v;
			break;
		}
	}
}

static uint64_t fields_key(const rec_fields *f)
{
	if (!f->text || f->text->type != MSGPACK_OBJECT_STR)
		return 0;
	int has_b = f->text_b && f->text_b->type == MSGPACK_OBJECT_STR;
	return tl_content_key(f->text->via.str.ptr, f->text->via.str.size, has_b ? f->text_b->via.str.ptr : NULL,
			      has_b ? f->text_b->via.str.size : 0);
}

uint64_t tl_rec_content_key(const tl_record *rec)
{
	rec_fields f;
	find_fields(rec->map, &f);
	return fields_key(&f);
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

/* tl_rec_aug_info from a record's "aug" value (NULL: none). */
static void aug_info(const msgpack_object *aug, tl_aug_info *a)
{
	a->is_copy = 0;
	a->src_key = 0;
	a->src = NULL;
	a->src_len = 0;
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

void tl_rec_aug_info(const tl_record *rec, tl_aug_info *a)
{
	memset(a, 0, sizeof *a);
	aug_info(tl_rec_get(rec, "aug"), a);
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

/* The training side, gathered as it comes (appends only) and indexed once
 * at the first question: the originals' keys and the copies' source keys,
 * each with a reference to the record's id. An id reference is an
 * integer id n as 2n+1, or a string id as 2*offset into ids. */
typedef struct {
	uint64_t *key, *ref;
	size_t n, cap;
} kvlist;

struct tl_leak {
	kvlist orig;     /* the originals' own keys and ids */
	kvlist copied;   /* sources of training copies, with the copy's id */
	tl_buf ids;      /* string ids, NUL-terminated, from offset 1 */
	int ready;       /* orig and copied sorted by key, first of each kept */
	tl_keyset *train; /* both keys, made at tl_leak_train_keys */
};

static void kv_add(kvlist *l, uint64_t key, uint64_t ref)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->key = tl_xrealloc(l->key, l->cap * sizeof *l->key);
		l->ref = tl_xrealloc(l->ref, l->cap * sizeof *l->ref);
	}
	l->key[l->n] = key;
	l->ref[l->n++] = ref;
}

/* The index of key in a sorted list, or SIZE_MAX. */
static size_t kv_find(const kvlist *l, uint64_t key)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->key[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->key[lo] == key ? lo : SIZE_MAX;
}

tl_leak *tl_leak_new(void)
{
	tl_leak *l = tl_xcalloc(1, sizeof *l);
	tl_buf_addc(&l->ids, 0); /* offset 0: the empty id */
	return l;
}

void tl_leak_free(tl_leak *l)
{
	if (!l)
		return;
	free(l->orig.key);
	free(l->orig.ref);
	free(l->copied.key);
	free(l->copied.ref);
	tl_buf_free(&l->ids);
	tl_keyset_free(l->train);
	free(l);
}

/* The reference of rec's id (see struct tl_leak). */
static uint64_t id_ref(tl_leak *l, const tl_record *rec, const msgpack_object *o)
{
	if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 < ((uint64_t)1 << 62))
		return o->via.u64 << 1 | 1;
	char buf[128];
	tl_rec_id_text(rec, buf, sizeof buf);
	if (!buf[0])
		return 0;
	size_t off = l->ids.len;
	tl_buf_add(&l->ids, buf, strlen(buf) + 1);
	return (uint64_t)off << 1;
}

/* The id of a reference as text (in buf for an integer). */
static const char *ref_text(const tl_leak *l, uint64_t ref, char *buf, size_t bufsz)
{
	if (ref & 1) {
		snprintf(buf, bufsz, "%" PRIu64, ref >> 1);
		return buf;
	}
	return l->ids.data + (ref >> 1);
}

/* Sort both lists by key (stable: the first record of a key stays first)
 * and keep the first of each key. */
static void leak_ready(const tl_leak *cl)
{
	tl_leak *l = (tl_leak *)cl; /* made writable by tl_leak_new */
	if (l->ready)
		return;
	sort_kv(l->orig.key, l->orig.ref, l->orig.n);
	l->orig.n = unique_kv(l->orig.key, l->orig.ref, l->orig.n);
	sort_kv(l->copied.key, l->copied.ref, l->copied.n);
	l->copied.n = unique_kv(l->copied.key, l->copied.ref, l->copied.n);
	l->ready = 1;
}

/* One training record; key is its content key, or computed here when
 * compute is set and it is not a copy (a copy counts by its aug.src_key). */
static void leak_add(tl_leak *l, const tl_record *rec, uint64_t key, int compute)
{
	rec_fields f;
	find_fields(rec->map, &f);
	tl_aug_info a;
	aug_info(f.aug, &a);
	if (a.is_copy) {
		if (a.src_key)
			kv_add(&l->copied, a.src_key, id_ref(l, rec, f.id));
	} else {
		if (compute)
			key = fields_key(&f);
		if (key)
			kv_add(&l->orig, key, id_ref(l, rec, f.id));
	}
	l->ready = 0;
	if (l->train) {
		tl_keyset_free(l->train);
		l->train = NULL;
	}
}

void tl_leak_add_train_key(tl_leak *l, const tl_record *rec, uint64_t key)
{
	leak_add(l, rec, key, 0);
}

void tl_leak_add_train(tl_leak *l, const tl_record *rec)
{
	leak_add(l, rec, 0, 1);
}

const tl_keyset *tl_leak_train_keys(const tl_leak *cl)
{
	tl_leak *l = (tl_leak *)cl;
	if (l->train)
		return l->train;
	leak_ready(l);
	tl_keyset *s = keyset_with(l->orig.n + l->copied.n);
	/* two sorted lists: merge them, no sort needed */
	size_t i = 0, j = 0, n = 0;
	while (i < l->orig.n || j < l->copied.n) {
		uint64_t k;
		if (j == l->copied.n || (i < l->orig.n && l->orig.key[i] <= l->copied.key[j]))
			k = l->orig.key[i++];
		else
			k = l->copied.key[j++];
		if (!n || s->k[n - 1] != k)
			s->k[n++] = k;
	}
	s->n = n;
	keyset_ready(s, 1);
	l->train = s;
	return s;
}

/* The id stored for key in a list, or NULL. */
static const char *value_of(const tl_leak *l, const kvlist *kv, uint64_t key, char *buf, size_t bufsz)
{
	size_t i = key ? kv_find(kv, key) : SIZE_MAX;
	return i == SIZE_MAX ? NULL : ref_text(l, kv->ref[i], buf, bufsz);
}

int tl_leak_check(const tl_leak *l, const tl_record *rec, char *why, size_t whysz)
{
	char id[128], vb[24];
	tl_rec_id_text(rec, id, sizeof id);
	leak_ready(l);
	tl_aug_info a;
	tl_rec_aug_info(rec, &a);
	if (a.is_copy) {
		const char *orig = value_of(l, &l->orig, a.src_key, vb, sizeof vb);
		if (orig) {
			snprintf(why, whysz, "'%s' is an augmented copy of training record '%s'", id, orig);
			return TL_LEAK_AUG_OF_TRAIN;
		}
		if (value_of(l, &l->copied, a.src_key, vb, sizeof vb)) {
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
	const char *orig = value_of(l, &l->orig, k, vb, sizeof vb);
	if (orig) {
		snprintf(why, whysz, "'%s' has the same text as training record '%s'", id, orig);
		return TL_LEAK_DUPLICATE;
	}
	const char *copy = value_of(l, &l->copied, k, vb, sizeof vb);
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
