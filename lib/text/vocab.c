/* vocab.c - vocabularies (open-addressing hash tables over one copy of the
 * file bytes) and model-directory tokenizer settings. */
#include "tl/vocab.h"
#include "tl/fsutil.h"
#include "tl/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint32_t hash; /* 0 = empty slot */
	int32_t id;
	uint32_t off, len; /* token bytes in v->data */
} slot;

typedef struct {
	slot *s;
	size_t mask;
} table;

struct tl_vocab {
	char *data;      /* the file bytes (+ NUL) */
	size_t size;
	uint32_t *off;   /* per id: token offset and length in data */
	uint32_t *len;
	size_t n;
	table full, cont; /* tokens; continuations ("##" stripped) */
	size_t max_len;
	char sha[65];
	char *name;
};

/* 32-bit hash of a short byte string (never 0). Reads 8 bytes at a time. */
static inline uint32_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, p, n);
		h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
	}
	h ^= h >> 32;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	uint32_t r = (uint32_t)h;
	return r ? r : 1;
}

static void table_init(table *t, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap <<= 1;
	t->s = tl_xcalloc(cap, sizeof *t->s);
	t->mask = cap - 1;
}

static void table_put(table *t, const char *data, uint32_t off, uint32_t len, int32_t id)
{
	uint32_t h = hash_bytes(data + off, len);
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		slot *s = &t->s[i];
		if (!s->hash) {
			*s = (slot){h, id, off, len};
			return;
		}
		if (s->hash == h && s->len == len && memcmp(data + s->off, data + off, len) == 0) {
			s->id = id; /* a repeated token: the later line wins (HF) */
			return;
		}
	}
}

static inline int32_t table_get(const table *t, const char *data, const char *p, size_t len)
{
	uint32_t h = hash_bytes(p, len);
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const slot *s = &t->s[i];
		if (!s->hash)
			return -1;
		if (s->hash == h && s->len == len && memcmp(data + s->off, p, len) == 0)
			return s->id;
	}
}

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t k;
		uint32_t cp;
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k + 1;
	}
	return 1;
}

tl_vocab *tl_vocab_from_mem(const char *bytes, size_t size, const char *name, char *err, size_t errsz)
{
	if (size > UINT32_MAX - 1) {
		snprintf(err, errsz, "%s: vocabulary too large", name);
		return NULL;
	}
	tl_vocab *v = tl_xcalloc(1, sizeof *v);
	v->data = tl_xmalloc(size + 1);
	memcpy(v->data, bytes, size);
	v->data[size] = 0;
	v->size = size;
	v->name = tl_xstrdup(name);
	tl_sha256_hex(bytes, size, v->sha);
	size_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += v->data[i] == '\n';
	if (size && v->data[size - 1] != '\n')
		lines++;
	if (lines == 0) {
		snprintf(err, errsz, "%s: empty vocabulary", name);
		tl_vocab_free(v);
		return NULL;
	}
	v->off = tl_xmalloc(lines * sizeof *v->off);
	v->len = tl_xmalloc(lines * sizeof *v->len);
	table_init(&v->full, lines);
	table_init(&v->cont, lines);
	size_t p = 0;
	for (size_t id = 0; id < lines; id++) {
		size_t e = p;
		while (e < size && v->data[e] != '\n')
			e++;
		size_t next = e + 1;
		while (e > p && (v->data[e - 1] == ' ' || v->data[e - 1] == '\t' || v->data[e - 1] == '\r' ||
				 v->data[e - 1] == '\v' || v->data[e - 1] == '\f'))
			e--;
		if (!utf8_valid((const unsigned char *)v->data + p, e - p)) {
			snprintf(err, errsz, "%s: line %zu: invalid UTF-8", name, id + 1);
			tl_vocab_free(v);
			return NULL;
		}
		v->off[id] = (uint32_t)p;
		v->len[id] = (uint32_t)(e - p);
		table_put(&v->full, v->data, (uint32_t)p, (uint32_t)(e - p), (int32_t)id);
		if (e - p > 2 && v->data[p] == '#' && v->data[p + 1] == '#') {
			table_put(&v->cont, v->data, (uint32_t)p + 2, (uint32_t)(e - p - 2), (int32_t)id);
			if (e - p - 2 > v->max_len)
				v->max_len = e - p - 2;
		} else if (e - p > v->max_len) {
			v->max_len = e - p;
		}
		p = next;
	}
	v->n = lines;
	return v;
}

tl_vocab *tl_vocab_load(const char *path, char *err, size_t errsz)
{
	tl_buf b = {0};
	int rc = tl_fs_read_file(path, &b);
	if (rc < 0) {
		snprintf(err, errsz, "cannot %s vocabulary %s: %s", rc == -1 ? "open" : "read", path, strerror(errno));
		tl_buf_free(&b);
		return NULL;
	}
	tl_vocab *v = tl_vocab_from_mem(b.data ? b.data : "", b.len, path, err, errsz);
	tl_buf_free(&b);
	return v;
}

tl_vocab *tl_vocab_default(void)
{
	size_t len;
	const char *d = tl_vocab_default_data(&len);
	char err[256];
	return tl_vocab_from_mem(d, len, "(embedded bert-base-uncased vocab.txt)", err, sizeof err);
}

void tl_vocab_free(tl_vocab *v)
{
	if (!v)
		return;
	free(v->data);
	free(v->off);
	free(v->len);
	free(v->full.s);
	free(v->cont.s);
	free(v->name);
	free(v);
}

int32_t tl_vocab_id(const tl_vocab *v, const char *tok, size_t len)
{
	return table_get(&v->full, v->data, tok, len);
}

int32_t tl_vocab_cont_id(const tl_vocab *v, const char *tok, size_t len)
{
	return table_get(&v->cont, v->data, tok, len);
}

const char *tl_vocab_token(const tl_vocab *v, int32_t id, size_t *len)
{
	if (id < 0 || (size_t)id >= v->n)
		return NULL;
	*len = v->len[id];
	return v->data + v->off[id];
}

size_t tl_vocab_size(const tl_vocab *v) { return v->n; }
size_t tl_vocab_max_len(const tl_vocab *v) { return v->max_len; }
const char *tl_vocab_sha256(const tl_vocab *v) { return v->sha; }
const char *tl_vocab_name(const tl_vocab *v) { return v->name; }

/* ---------------- model directory settings ---------------- */

void tl_vocab_config_default(tl_vocab_config *c)
{
	c->lower = 1;
	c->strip_accents = -1;
	c->chinese = 1;
	c->max_len = 0;
}

static json_t *load_json(const char *dir, const char *file, int *missing, char *err, size_t errsz)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "rb");
	*missing = 0;
	if (!f) {
		if (errno == ENOENT) {
			*missing = 1;
			return NULL;
		}
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadf(f, JSON_DECODE_INT_AS_REAL, &je);
	fclose(f);
	if (!j) {
		snprintf(err, errsz, "%s: line %d: %s", path, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errsz, "%s: not a JSON object", path);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int get_bool(json_t *o, const char *key, int *out, int allow_null, const char *file, char *err, size_t errsz)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (allow_null && json_is_null(v)) {
		*out = -1;
		return 0;
	}
	snprintf(err, errsz, "%s: \"%s\" is not %s", file, key, allow_null ? "true, false or null" : "true or false");
	return -1;
}

int tl_vocab_read_config(const char *dir, tl_vocab_config *c, char *err, size_t errsz)
{
	int missing;
	json_t *tc = load_json(dir, "tokenizer_config.json", &missing, err, errsz);
	if (!tc && !missing)
		return -1;
	long max_len = 0;
	if (tc) {
		const char *f = "tokenizer_config.json";
		if (get_bool(tc, "do_lower_case", &c->lower, 0, f, err, errsz) < 0 ||
		    get_bool(tc, "strip_accents", &c->strip_accents, 1, f, err, errsz) < 0 ||
		    get_bool(tc, "tokenize_chinese_chars", &c->chinese, 0, f, err, errsz) < 0) {
			json_decref(tc);
			return -1;
		}
		json_t *m = json_object_get(tc, "model_max_length");
		if (m && json_is_number(m)) {
			double d = json_number_value(m);
			if (d >= 1 && d <= 1e6)
				max_len = (long)d;
		}
		json_decref(tc);
	}
	json_t *mc = load_json(dir, "config.json", &missing, err, errsz);
	if (!mc && !missing)
		return -1;
	if (mc) {
		json_t *m = json_object_get(mc, "max_position_embeddings");
		if (!max_len && m && json_is_number(m)) {
			double d = json_number_value(m);
			if (d >= 1 && d <= 1e6)
				max_len = (long)d;
		}
		json_decref(mc);
	}
	if (max_len)
		c->max_len = max_len;
	return 0;
}

/* The embedded default vocabulary (mk/embed.mk). */
extern const unsigned char tl_embed_vocab_uncased[];
extern const unsigned long tl_embed_vocab_uncased_len;

const char *tl_vocab_default_data(size_t *len)
{
	*len = (size_t)tl_embed_vocab_uncased_len;
	return (const char *)tl_embed_vocab_uncased;
}
