/* json.c - JSON <-> msgpack for tl-cat and friends. */
#include "tl/json.h"

#include <jansson.h>
#include <float.h>
#include <math.h>
#include <string.h>

void tl_json_string(tl_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	tl_buf_reserve(b, len + 2);
	tl_buf_addc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': tl_buf_add(b, "\\\"", 2); break;
		case '\\': tl_buf_add(b, "\\\\", 2); break;
		case '\n': tl_buf_add(b, "\\n", 2); break;
		case '\r': tl_buf_add(b, "\\r", 2); break;
		case '\t': tl_buf_add(b, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				tl_buf_add(b, e, 6);
			} else {
				tl_buf_addc(b, (char)c);
			}
		}
	}
	tl_buf_addc(b, '"');
}

static int key_is(const char *key, size_t keylen, const char *name)
{
	return key && keylen == strlen(name) && memcmp(key, name, keylen) == 0;
}

static int int_key(const char *key, size_t keylen)
{
	return key_is(key, keylen, "ids") || key_is(key, keylen, "type_ids") || key_is(key, keylen, "word_ids") ||
	       key_is(key, keylen, "attention_mask");
}

static int float_key(const char *key, size_t keylen)
{
	return key_is(key, keylen, "vec") || key_is(key, keylen, "logits");
}

static void add_double(tl_buf *b, double v, int single)
{
	if (!isfinite(v)) {
		tl_buf_adds(b, "null");
		return;
	}
	char tmp[40];
	snprintf(tmp, sizeof tmp, single ? "%.9g" : "%.17g", v);
	tl_buf_adds(b, tmp);
	/* keep it a JSON real so that round trips stay floats */
	if (!strpbrk(tmp, ".eE"))
		tl_buf_adds(b, ".0");
}

static void base64(tl_buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	tl_buf_addc(b, '"');
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		tl_buf_addc(b, tab[v >> 18 & 63]);
		tl_buf_addc(b, tab[v >> 12 & 63]);
		tl_buf_addc(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		tl_buf_addc(b, i + 2 < n ? tab[v & 63] : '=');
	}
	tl_buf_addc(b, '"');
}

/* inkey: o is (inside) a map key that is not a string, rendered as its
 * JSON text and then quoted: a map or array key inside it is shown as
 * "(map)" or "(array)" rather than quoted again, else every level of
 * such keys would double the backslashes (a 151-byte stream of keys
 * nested 30 deep asked for gigabytes: fuzz_stream). */
static void from_msgpack(tl_buf *b, const msgpack_object *o, const char *key, size_t keylen, int inkey);

void tl_json_from_msgpack(tl_buf *b, const msgpack_object *o, const char *key, size_t keylen)
{
	from_msgpack(b, o, key, keylen, 0);
}

static void from_msgpack(tl_buf *b, const msgpack_object *o, const char *key, size_t keylen, int inkey)
{
	char tmp[32];
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: tl_buf_adds(b, "null"); break;
	case MSGPACK_OBJECT_BOOLEAN: tl_buf_adds(b, o->via.boolean ? "true" : "false"); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)o->via.u64);
		tl_buf_adds(b, tmp);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(tmp, sizeof tmp, "%lld", (long long)o->via.i64);
		tl_buf_adds(b, tmp);
		break;
	case MSGPACK_OBJECT_FLOAT32: add_double(b, o->via.f64, 1); break;
	case MSGPACK_OBJECT_FLOAT64: add_double(b, o->via.f64, 0); break;
	case MSGPACK_OBJECT_STR: tl_json_string(b, o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN: {
		const unsigned char *p = (const unsigned char *)o->via.bin.ptr;
		size_t n = o->via.bin.size;
		if (n % 4 == 0 && int_key(key, keylen)) {
			tl_buf_addc(b, '[');
			for (size_t i = 0; i < n / 4; i++) {
				int32_t v = (int32_t)((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
						      (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24);
				snprintf(tmp, sizeof tmp, i ? ",%d" : "%d", v);
				tl_buf_adds(b, tmp);
			}
			tl_buf_addc(b, ']');
		} else if (n % 4 == 0 && float_key(key, keylen)) {
			tl_buf_addc(b, '[');
			for (size_t i = 0; i < n / 4; i++) {
				float v;
				memcpy(&v, p + 4 * i, 4);
				if (i)
					tl_buf_addc(b, ',');
				add_double(b, v, 1);
			}
			tl_buf_addc(b, ']');
		} else {
			base64(b, p, n);
		}
		break;
	}
	case MSGPACK_OBJECT_ARRAY:
		tl_buf_addc(b, '[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				tl_buf_addc(b, ',');
			from_msgpack(b, &o->via.array.ptr[i], NULL, 0, inkey);
		}
		tl_buf_addc(b, ']');
		break;
	case MSGPACK_OBJECT_MAP:
		tl_buf_addc(b, '{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (i)
				tl_buf_addc(b, ',');
			if (kv->key.type == MSGPACK_OBJECT_STR) {
				tl_json_string(b, kv->key.via.str.ptr, kv->key.via.str.size);
				tl_buf_addc(b, ':');
				from_msgpack(b, &kv->val, kv->key.via.str.ptr, kv->key.via.str.size, inkey);
			} else if (inkey && (kv->key.type == MSGPACK_OBJECT_MAP || kv->key.type == MSGPACK_OBJECT_ARRAY)) {
				/* a map or array key inside a key: its type only */
				snprintf(tmp, sizeof tmp, "(%s)", tl_msgpack_type_name(kv->key.type));
				tl_json_string(b, tmp, strlen(tmp));
				tl_buf_addc(b, ':');
				from_msgpack(b, &kv->val, NULL, 0, inkey);
			} else {
				/* JSON keys are strings: render other keys as their JSON text */
				tl_buf k = {0};
				from_msgpack(&k, &kv->key, NULL, 0, 1);
				tl_json_string(b, k.data ? k.data : "", k.len);
				tl_buf_free(&k);
				tl_buf_addc(b, ':');
				from_msgpack(b, &kv->val, NULL, 0, 0);
			}
		}
		tl_buf_addc(b, '}');
		break;
	case MSGPACK_OBJECT_EXT: tl_buf_adds(b, "null"); break;
	}
}

/* 1 if the array j under key is packed as a bin of int32 or float32 (a
 * key of such arrays, every element a number that fits). */
static int packs_as_bin(json_t *j, const char *key)
{
	int ints = key && int_key(key, strlen(key)), flts = key && float_key(key, strlen(key));
	if (!ints && !flts)
		return 0;
	for (size_t i = 0; i < json_array_size(j); i++) {
		json_t *e = json_array_get(j, i);
		if (ints ? !json_is_integer(e) || json_integer_value(e) < INT32_MIN || json_integer_value(e) > INT32_MAX
			 : !json_is_number(e) || !(fabs(json_number_value(e)) <= FLT_MAX))
			return 0; /* a number beyond float range stays a plain array */
	}
	return 1;
}

/* The nesting depth of j once packed: a map or an array is one level
 * (an empty one too, as msgpack-c counts), a bin none. jansson's parser
 * bounds the recursion (2048 levels). */
static int packed_depth(json_t *j, const char *key)
{
	int d = 0;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			int c = packed_depth(v, k);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_array(j) && !packs_as_bin(j, key)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			int c = packed_depth(json_array_get(j, i), NULL);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

static int pack_json(msgpack_packer *pk, json_t *j, const char *key)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		msgpack_pack_map(pk, (uint32_t)json_object_size(j));
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			tl_pack_cstr(pk, k);
			pack_json(pk, v, k);
		}
		return 0;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		int ints = key && int_key(key, strlen(key));
		if (packs_as_bin(j, key)) {
			msgpack_pack_bin(pk, n * 4);
			for (size_t i = 0; i < n; i++) {
				json_t *e = json_array_get(j, i);
				if (ints) {
					int32_t v = (int32_t)json_integer_value(e);
					msgpack_pack_bin_body(pk, &v, 4);
				} else {
					float v = (float)json_number_value(e);
					msgpack_pack_bin_body(pk, &v, 4);
				}
			}
			return 0;
		}
		msgpack_pack_array(pk, (uint32_t)n);
		for (size_t i = 0; i < n; i++)
			pack_json(pk, json_array_get(j, i), NULL);
		return 0;
	}
	case JSON_STRING: tl_pack_str(pk, json_string_value(j), json_string_length(j)); return 0;
	case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); return 0;
	case JSON_REAL: msgpack_pack_double(pk, json_real_value(j)); return 0;
	case JSON_TRUE: msgpack_pack_true(pk); return 0;
	case JSON_FALSE: msgpack_pack_false(pk); return 0;
	case JSON_NULL: msgpack_pack_nil(pk); return 0;
	}
	return -1;
}

int tl_json_to_msgpack(msgpack_packer *pk, const char *text, size_t len, int want_object, char *err, size_t errsz)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j) {
		snprintf(err, errsz, "invalid JSON at column %d: %s", je.column, je.text);
		return -1;
	}
	if (want_object && !json_is_object(j)) {
		snprintf(err, errsz, "not a JSON object: each line must be one object");
		json_decref(j);
		return -1;
	}
	/* a tl stream nests at most TL_STREAM_MAX_DEPTH deep: refuse to write
	 * a record that no reader would take back */
	if (packed_depth(j, NULL) > TL_STREAM_MAX_DEPTH) {
		snprintf(err, errsz, "nesting deeper than %d levels (the most a tl stream holds)", TL_STREAM_MAX_DEPTH);
		json_decref(j);
		return -1;
	}
	pack_json(pk, j, NULL);
	json_decref(j);
	return 0;
}
