/* Unit tests for tl/leak.h: content keys against the reference values of
 * tests/ref/gen_leak_keys.py, key sets and their file form (round trip, damaged files
 * refused), what a record says about augmentation, and the five outcomes
 * of tl_leak_check on records built in memory. */
#include "testhelp.h"
#include "tl/fsutil.h"
#include "tl/leak.h"
#include "tl/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A record built in memory: msgpack packed into sb, unpacked into up. */
typedef struct {
	msgpack_sbuffer sb;
	msgpack_unpacked up;
	tl_record rec;
} mrec;

static void pack_s(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* {id, text, [text_b], [aug: {op, src, [src_key]}]}; NULL leaves a key out
 * (text NULL: no text). An id or src of the form "#N" is packed as the
 * integer N. */
static tl_record *mk(mrec *m, const char *id, const char *text, const char *text_b, const char *src,
		     const char *src_key)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &m->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (id != NULL) + (text != NULL) + (text_b != NULL) + (src != NULL));
	if (id) {
		pack_s(&pk, "id");
		if (id[0] == '#')
			msgpack_pack_uint64(&pk, strtoull(id + 1, NULL, 10));
		else
			pack_s(&pk, id);
	}
	if (text) {
		pack_s(&pk, "text");
		pack_s(&pk, text);
	}
	if (text_b) {
		pack_s(&pk, "text_b");
		pack_s(&pk, text_b);
	}
	if (src) {
		pack_s(&pk, "aug");
		msgpack_pack_map(&pk, 2 + (src_key != NULL));
		pack_s(&pk, "op");
		pack_s(&pk, "rs");
		pack_s(&pk, "src");
		if (src[0] == '#')
			msgpack_pack_uint64(&pk, strtoull(src + 1, NULL, 10));
		else
			pack_s(&pk, src);
		if (src_key) {
			pack_s(&pk, "src_key");
			pack_s(&pk, src_key);
		}
	}
	msgpack_unpacked_init(&m->up);
	size_t off = 0;
	if (msgpack_unpack_next(&m->up, m->sb.data, m->sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
		abort();
	m->rec.map = &m->up.data;
	m->rec.no = 1;
	m->rec.is_header = 0;
	return &m->rec;
}

static void done(mrec *m)
{
	msgpack_unpacked_destroy(&m->up);
	msgpack_sbuffer_destroy(&m->sb);
}

static uint64_t key_of(const char *text, const char *text_b)
{
	mrec m;
	uint64_t k = tl_rec_content_key(mk(&m, "x", text, text_b, NULL, NULL));
	done(&m);
	return k;
}

static void test_content_key(void)
{
	/* reference values from tests/ref/gen_leak_keys.py (an independent
	 * Python implementation of the key of man tl-augment): exact */
	CHECK(key_of("", NULL) == 0x0000000000000001ULL); /* h("", 0) is 0: made 1 */
	CHECK(key_of("a", NULL) == 0x4c0921cdd72045e7ULL);
	CHECK(key_of("foobar", NULL) == 0x759197cf5d0e0770ULL);
	CHECK(key_of("12345678", NULL) == 0x4a2ad158bc3d61b1ULL);   /* one whole word */
	CHECK(key_of("123456789", NULL) == 0x021af3cb39f542ceULL);  /* a word and a tail */
	CHECK(key_of("a", "b") == 0xe98becd8ebb032a4ULL);
	CHECK(key_of("a", "") == 0x64abe0ef17a789d0ULL);
	CHECK(key_of("premise", "hypothesis") == 0x75a2573e575ec83eULL);
	CHECK(key_of("it 's a charming and often affecting journey . ", NULL) == 0xe67747f191838adcULL);
	CHECK(key_of("héllo wörld, ünïcode ✓", NULL) == 0xf4b98b10b82e27d9ULL);
	CHECK(tl_key_hash("abc", 3, 7) == 0xf7bc4d6e31cc47cbULL);
	/* the key of a record is tl_content_key of its fields */
	CHECK(tl_content_key("a", 1, "b", 1) == key_of("a", "b"));
	CHECK(tl_content_key("a", 1, NULL, 0) == key_of("a", NULL));
	/* text_b is not a continuation of text: "ab" differs from "a" + "b" */
	CHECK(key_of("ab", NULL) != key_of("a", "b"));
	/* a change in any byte of a long text, and its length, changes the key */
	{
		char buf[100];
		memset(buf, 'x', sizeof buf);
		uint64_t k0 = tl_key_hash(buf, sizeof buf, 0);
		int all = 1;
		for (size_t i = 0; i < sizeof buf; i++) {
			buf[i] = 'y';
			all &= tl_key_hash(buf, sizeof buf, 0) != k0;
			buf[i] = 'x';
		}
		for (size_t n = 0; n < sizeof buf; n++)
			all &= tl_key_hash(buf, n, 0) != k0;
		CHECK(all);
		/* the zero padding of the tail does not collide with real zeros */
		CHECK(tl_key_hash("a\0", 2, 0) != tl_key_hash("a", 1, 0));
	}
	/* text_b matters, and an empty text_b is not an absent one */
	CHECK(key_of("a", "") != key_of("a", NULL));
	CHECK(key_of("a", "c") != key_of("a", "b"));
	/* no text, or text not a string: 0 */
	mrec m;
	CHECK(tl_rec_content_key(mk(&m, "x", NULL, "b", NULL, NULL)) == 0);
	done(&m);
	msgpack_sbuffer_init(&m.sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &m.sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	pack_s(&pk, "text");
	msgpack_pack_int(&pk, 5);
	msgpack_unpacked_init(&m.up);
	size_t off = 0;
	CHECK(msgpack_unpack_next(&m.up, m.sb.data, m.sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
	m.rec.map = &m.up.data;
	CHECK(tl_rec_content_key(&m.rec) == 0);
	done(&m);
}

static int write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_keyset(void)
{
	char dir[] = "/tmp/tl-test-leak-XXXXXX", path[256], bad[256], err[512];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/%s", dir, TL_TRAIN_KEYS_FILE);
	snprintf(bad, sizeof bad, "%s/bad.bin", dir);

	tl_keyset *s = tl_keyset_new();
	CHECK_EQ_INT(tl_keyset_count(s), 0);
	CHECK(!tl_keyset_has(s, 0));
	CHECK(!tl_keyset_has(s, 42));
	tl_keyset_add(s, 42);
	tl_keyset_add(s, 42);
	tl_keyset_add(s, 0);
	tl_keyset_add(s, UINT64_MAX);
	CHECK_EQ_INT(tl_keyset_count(s), 3);
	CHECK(tl_keyset_has(s, 42) && tl_keyset_has(s, 0) && tl_keyset_has(s, UINT64_MAX));
	CHECK(!tl_keyset_has(s, 43));
	/* many keys: sequential and hashed, through several growths */
	for (uint64_t i = 1; i <= 5000; i++) {
		tl_keyset_add(s, i * 1000);
		tl_keyset_add(s, i * 0x9e3779b97f4a7c15ULL);
	}
	size_t n = tl_keyset_count(s);
	CHECK_EQ_INT(n, 3 + 2 * 5000);
	int all = 1;
	for (uint64_t i = 1; i <= 5000; i++)
		all &= tl_keyset_has(s, i * 1000) && tl_keyset_has(s, i * 0x9e3779b97f4a7c15ULL);
	CHECK(all);
	CHECK(!tl_keyset_has(s, 1001));

	/* file round trip */
	CHECK(tl_keyset_save(s, path, err, sizeof err) == 0);
	tl_buf b = {0};
	CHECK(tl_fs_read_file(path, &b) == 0);
	CHECK_EQ_INT(b.len, 16 + 8 * n);
	CHECK(b.len >= 8 && memcmp(b.data, "TLKEYS2\n", 8) == 0);
	tl_keyset *t = tl_keyset_load(path, err, sizeof err);
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(tl_keyset_count(t), n);
		all = tl_keyset_has(t, 0) && tl_keyset_has(t, 42) && tl_keyset_has(t, UINT64_MAX);
		for (uint64_t i = 1; i <= 5000; i++)
			all &= tl_keyset_has(t, i * 1000) && tl_keyset_has(t, i * 0x9e3779b97f4a7c15ULL);
		CHECK(all);
		CHECK(!tl_keyset_has(t, 1001));
		tl_keyset_free(t);
	}
	/* an empty set */
	tl_keyset *e = tl_keyset_new();
	snprintf(bad, sizeof bad, "%s/empty.bin", dir);
	CHECK(tl_keyset_save(e, bad, err, sizeof err) == 0);
	t = tl_keyset_load(bad, err, sizeof err);
	CHECK(t && tl_keyset_count(t) == 0 && !tl_keyset_has(t, 0));
	tl_keyset_free(t);
	tl_keyset_free(e);

	/* damaged files are refused with EINVAL */
	snprintf(bad, sizeof bad, "%s/bad.bin", dir);
	CHECK(write_bytes(bad, b.data, b.len - 3) == 0); /* truncated inside a key */
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	CHECK(strstr(err, "not a tl key file") != NULL);
	CHECK(write_bytes(bad, b.data, b.len - 8) == 0); /* a whole key missing: count wrong */
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	CHECK(write_bytes(bad, b.data, 10) == 0); /* shorter than the head */
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	CHECK(write_bytes(bad, "", 0) == 0);
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	b.data[0] = 'X'; /* bad magic */
	CHECK(write_bytes(bad, b.data, b.len) == 0);
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	unsigned char un[16 + 24];
	memcpy(un, "TLKEYS2\n", 8);
	put64(un + 8, 3);
	put64(un + 16, 1);
	put64(un + 24, 9);
	put64(un + 32, 5); /* out of order */
	CHECK(write_bytes(bad, un, sizeof un) == 0);
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EINVAL);
	CHECK(strstr(err, "out of order") != NULL);
	put64(un + 32, 9); /* a repeated key is out of order too */
	CHECK(write_bytes(bad, un, sizeof un) == 0);
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL);
	put64(un + 32, 10); /* and in order it loads */
	CHECK(write_bytes(bad, un, sizeof un) == 0);
	t = tl_keyset_load(bad, err, sizeof err);
	CHECK(t && tl_keyset_count(t) == 3 && tl_keyset_has(t, 10) && !tl_keyset_has(t, 5));
	tl_keyset_free(t);
	/* the keys of tl before the change of hash (TLKEYS1, FNV-1a): EPROTO,
	 * a message the tools print as a warning */
	memcpy(un, "TLKEYS1\n", 8);
	CHECK(write_bytes(bad, un, sizeof un) == 0);
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == EPROTO);
	CHECK(strstr(err, "keys of an older format") != NULL && strstr(err, "seen-check off") != NULL);
	CHECK(mkdir(dir, 0700) == -1); /* (the directory exists) */
	char mdir[300];
	snprintf(mdir, sizeof mdir, "%s/model", dir);
	CHECK(mkdir(mdir, 0700) == 0);
	char kpath[340];
	snprintf(kpath, sizeof kpath, "%s/%s", mdir, TL_TRAIN_KEYS_FILE);
	CHECK(write_bytes(kpath, un, sizeof un) == 0);
	errno = 0;
	CHECK(tl_model_train_keys(mdir, err, sizeof err) == NULL && errno == EPROTO);
	memcpy(un, "TLKEYS2\n", 8);
	/* a missing file: errno from the system */
	snprintf(bad, sizeof bad, "%s/none.bin", dir);
	errno = 0;
	CHECK(tl_keyset_load(bad, err, sizeof err) == NULL && errno == ENOENT);
	/* an unwritable place */
	snprintf(bad, sizeof bad, "%s/no/such/dir/k.bin", dir);
	CHECK(tl_keyset_save(s, bad, err, sizeof err) == -1);
	CHECK(strstr(err, "cannot write") != NULL);

	tl_buf_free(&b);
	tl_keyset_free(s);
	CHECK(tl_fs_rmtree(dir) == 0);
}

static void test_aug_info(void)
{
	mrec m;
	tl_aug_info a;
	tl_rec_aug_info(mk(&m, "#3", "x", NULL, NULL, NULL), &a);
	CHECK(!a.is_copy && a.src == NULL && a.src_key == 0);
	done(&m);
	tl_rec_aug_info(mk(&m, "3~aug1", "x", NULL, "#3", "85944171f73967e8"), &a);
	CHECK(a.is_copy && a.src_key == 0x85944171f73967e8ULL);
	CHECK(a.src && a.src_len == 1 && !memcmp(a.src, "3", 1));
	done(&m);
	tl_rec_aug_info(mk(&m, "b~aug2", "x", NULL, "b", NULL), &a);
	CHECK(a.is_copy && a.src_key == 0 && a.src_len == 1 && a.src[0] == 'b');
	done(&m);
	/* a src_key that is not 16 hex digits reads as absent */
	const char *badkeys[] = {"85944171f73967e", "85944171f73967e8a", "85944171f73967eg", "-000000000000001",
				 " 85944171f73967e", "+85944171f73967e", "0x944171f73967e8"};
	for (size_t i = 0; i < sizeof badkeys / sizeof *badkeys; i++) {
		tl_rec_aug_info(mk(&m, "c", "x", NULL, "b", badkeys[i]), &a);
		if (a.src_key != 0)
			fprintf(stderr, "src_key '%s' read as %016" PRIx64 "\n", badkeys[i], a.src_key);
		CHECK(a.is_copy && a.src_key == 0);
		done(&m);
	}
	char buf[8];
	CHECK_STR(tl_rec_id_text(mk(&m, "#123", "x", NULL, NULL, NULL), buf, sizeof buf), "123");
	done(&m);
	CHECK_STR(tl_rec_id_text(mk(&m, "a-long-id", "x", NULL, NULL, NULL), buf, sizeof buf), "a-long-");
	done(&m);
	CHECK_STR(tl_rec_id_text(mk(&m, NULL, "x", NULL, NULL, NULL), buf, sizeof buf), "");
	done(&m);
}

static void hexkey(char out[17], uint64_t k)
{
	snprintf(out, 17, "%016" PRIx64, k);
}

static void test_leak_check(void)
{
	tl_leak *l = tl_leak_new();
	mrec m;
	char why[512], k_orig[17], k_copied[17], k_other[17];
	/* training: original 1 "good film"; copies of record 7 "dull plot",
	 * whose original is not in training (augmented, then split) */
	hexkey(k_orig, key_of("good film", NULL));
	hexkey(k_copied, key_of("dull plot", NULL));
	hexkey(k_other, key_of("never seen", NULL));
	tl_leak_add_train(l, mk(&m, "#1", "good film", NULL, NULL, NULL));
	done(&m);
	tl_leak_add_train(l, mk(&m, "1~aug1", "film good", NULL, "#1", k_orig));
	done(&m);
	tl_leak_add_train(l, mk(&m, "7~aug1", "plot dull", NULL, "#7", k_copied));
	done(&m);
	tl_leak_add_train(l, mk(&m, "7~aug2", "dull plot.", NULL, "#7", k_copied));
	done(&m);
	const tl_keyset *tk = tl_leak_train_keys(l);
	CHECK_EQ_INT(tl_keyset_count(tk), 2);
	CHECK(tl_keyset_has(tk, key_of("good film", NULL)) && tl_keyset_has(tk, key_of("dull plot", NULL)));
	CHECK(!tl_keyset_has(tk, key_of("film good", NULL)));

	/* 1. unrelated: none (ids may repeat, tl-clean numbers every file from 1) */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#1", "a new sentence", NULL, NULL, NULL), why, sizeof why),
		     TL_LEAK_NONE);
	done(&m);
	/* 2. a copy of something training never saw */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "9~aug1", "seen never", NULL, "#9", k_other), why, sizeof why),
		     TL_LEAK_AUG_COPY);
	CHECK(strstr(why, "'9~aug1' is an augmented copy of '9'") != NULL);
	done(&m);
	/* ... and a copy without src_key (an older tl-augment) */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "1~aug2", "film, good", NULL, "#1", NULL), why, sizeof why),
		     TL_LEAK_AUG_COPY);
	done(&m);
	/* 3. a copy of a training original, and of a record training has copies of */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "1~aug3", "good, film", NULL, "#1", k_orig), why, sizeof why),
		     TL_LEAK_AUG_OF_TRAIN);
	CHECK(strstr(why, "'1~aug3' is an augmented copy of training record '1'") != NULL);
	done(&m);
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "7~aug3", "plot, dull", NULL, "#7", k_copied), why, sizeof why),
		     TL_LEAK_AUG_OF_TRAIN);
	CHECK(strstr(why, "training has copies of too") != NULL);
	done(&m);
	/* 4. an original whose copies are in training, under another id */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#3", "dull plot", NULL, NULL, NULL), why, sizeof why), TL_LEAK_SOURCE);
	CHECK(strstr(why, "training record '7~aug1' is an augmented copy of this record ('3')") != NULL);
	done(&m);
	/* 5. the same text as a training original: a duplicate, also when
	 * training has copies of that original (1~aug1): shared sentences of
	 * train.tsv and dev.tsv must not be refused after augmenting train */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#5", "good film", NULL, NULL, NULL), why, sizeof why),
		     TL_LEAK_DUPLICATE);
	CHECK(strstr(why, "'5' has the same text as training record '1'") != NULL);
	done(&m);
	/* text_b is part of the identity */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#5", "good film", "and more", NULL, NULL), why, sizeof why),
		     TL_LEAK_NONE);
	done(&m);
	/* a record without text and without aug: nothing to say */
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#6", NULL, NULL, NULL, NULL), why, sizeof why), TL_LEAK_NONE);
	done(&m);
	tl_leak_free(l);

	/* many training records: values survive the growth of the tables */
	l = tl_leak_new();
	char text[32], id[16];
	for (int i = 0; i < 3000; i++) {
		snprintf(text, sizeof text, "sentence %d", i);
		snprintf(id, sizeof id, "t%d", i);
		tl_leak_add_train(l, mk(&m, id, text, NULL, NULL, NULL));
		done(&m);
	}
	CHECK_EQ_INT(tl_keyset_count(tl_leak_train_keys(l)), 3000);
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "#1", "sentence 2999", NULL, NULL, NULL), why, sizeof why),
		     TL_LEAK_DUPLICATE);
	CHECK(strstr(why, "training record 't2999'") != NULL);
	done(&m);
	tl_leak_free(l);
	tl_leak_free(NULL);
	tl_keyset_free(NULL);
}

/* Many keys: the bucket sort (hashes) and the radix fallback (keys that
 * crowd into few buckets) give the same sorted, distinct set; of repeated
 * texts in training the first record's id is the one named. */
static void test_many(void)
{
	char dir[] = "/tmp/tl-test-leak2-XXXXXX", path[256], err[512];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/k.bin", dir);
	for (int kind = 0; kind < 2; kind++) {
		tl_keyset *s = tl_keyset_new();
		uint64_t x = 12345;
		for (int i = 0; i < 30000; i++) {
			x += 0x9e3779b97f4a7c15ULL; /* splitmix64 */
			uint64_t z = x;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			z ^= z >> 31;
			uint64_t k = kind ? z >> 40 : z; /* kind 1: all in the lowest buckets */
			tl_keyset_add(s, k % 20000 == 7 ? 7 : k);
			if (i % 3 == 0)
				tl_keyset_add(s, k); /* repeats */
		}
		size_t n = tl_keyset_count(s);
		CHECK(n > 25000 && n <= 30000);
		CHECK(tl_keyset_save(s, path, err, sizeof err) == 0);
		tl_keyset *r = tl_keyset_load(path, err, sizeof err); /* refuses keys out of order */
		CHECK(r && tl_keyset_count(r) == n);
		CHECK(r && tl_keyset_has(r, 7) == tl_keyset_has(s, 7));
		tl_keyset_free(r);
		tl_keyset_free(s);
	}
	/* 5000 training texts, "t17" again at the end with another id */
	tl_leak *l = tl_leak_new();
	mrec m;
	char id[32], text[32], why[300];
	for (int i = 1; i <= 5000; i++) {
		snprintf(id, sizeof id, "#%d", i);
		snprintf(text, sizeof text, "t%d", i);
		tl_leak_add_train(l, mk(&m, id, text, NULL, NULL, NULL));
		done(&m);
	}
	tl_leak_add_train(l, mk(&m, "late", "t17", NULL, NULL, NULL));
	done(&m);
	CHECK_EQ_INT(tl_keyset_count(tl_leak_train_keys(l)), 5000);
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "d1", "t17", NULL, NULL, NULL), why, sizeof why), TL_LEAK_DUPLICATE);
	CHECK_STR(why, "'d1' has the same text as training record '17'");
	done(&m);
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "d2", "t5001", NULL, NULL, NULL), why, sizeof why), TL_LEAK_NONE);
	done(&m);
	/* a record added after a question: the index is rebuilt */
	tl_leak_add_train(l, mk(&m, "#6000", "t5001", NULL, NULL, NULL));
	done(&m);
	CHECK_EQ_INT(tl_leak_check(l, mk(&m, "d2", "t5001", NULL, NULL, NULL), why, sizeof why), TL_LEAK_DUPLICATE);
	CHECK_STR(why, "'d2' has the same text as training record '6000'");
	done(&m);
	CHECK_EQ_INT(tl_keyset_count(tl_leak_train_keys(l)), 5001);
	tl_leak_free(l);
	CHECK(tl_fs_rmtree(dir) == 0);
}

int main(void)
{
	test_content_key();
	test_keyset();
	test_aug_info();
	test_leak_check();
	test_many();
	TEST_REPORT("test_leak");
}
