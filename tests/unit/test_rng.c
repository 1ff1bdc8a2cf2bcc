/* test_rng.c - lib/core's generators (tl/rng.h), hashes (tl/hash.h) and
 * string table (tl/strtab.h) against published reference outputs and the
 * values of tests/ref/gen_rng.py. */
#include "tl/hash.h"
#include "tl/rng.h"
#include "tl/strtab.h"
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>

static void xoshiro(void)
{
	/* xoshiro256** from state {1,2,3,4} and splitmix64 from 1234567:
	 * the reference outputs of Vigna's C code */
	tl_xoshiro r = {{1, 2, 3, 4}};
	CHECK(tl_xoshiro_next(&r) == 11520ULL);
	CHECK(tl_xoshiro_next(&r) == 0ULL);
	CHECK(tl_xoshiro_next(&r) == 1509978240ULL);
	CHECK(tl_xoshiro_next(&r) == 1215971899390074240ULL);
	uint64_t x = 1234567;
	CHECK(tl_splitmix64(&x) == 6457827717110365317ULL);
	CHECK(tl_splitmix64(&x) == 3203168211198807973ULL);
	CHECK(tl_splitmix64(&x) == 9817491932198370423ULL);
	/* uniformity of below() */
	tl_xoshiro_seed(&r, 42);
	int cnt[3] = {0, 0, 0}, inrange = 1;
	for (int i = 0; i < 30000; i++) {
		uint64_t v = tl_xoshiro_below(&r, 3);
		if (v >= 3)
			inrange = 0;
		else
			cnt[v]++;
	}
	CHECK(inrange);
	for (int i = 0; i < 3; i++)
		CHECK(cnt[i] > 9700 && cnt[i] < 10300);
	double u = tl_xoshiro_unit(&r);
	CHECK(u >= 0 && u < 1);
	/* derived streams differ by key and by stream, repeat exactly */
	tl_xoshiro a, b;
	tl_xoshiro_derive(&a, 1, 7, 1);
	tl_xoshiro_derive(&b, 1, 7, 1);
	CHECK(tl_xoshiro_next(&a) == tl_xoshiro_next(&b));
	tl_xoshiro_derive(&b, 1, 7, 2);
	CHECK(tl_xoshiro_next(&a) != tl_xoshiro_next(&b));
	tl_xoshiro_derive(&b, 2, 7, 1);
	tl_xoshiro_derive(&a, 1, 7, 1);
	CHECK(tl_xoshiro_next(&a) != tl_xoshiro_next(&b));
}

static void splitmix(void)
{
	/* tests/ref/gen_rng.py */
	uint64_t s = 42;
	CHECK(tl_splitmix64(&s) == 0xbdd732262feb6e95ULL);
	CHECK(tl_splitmix64(&s) == 0x28efe333b266f103ULL);
	CHECK(tl_splitmix64(&s) == 0x47526757130f9f52ULL);
	CHECK(s == 42 + 3 * TL_GOLDEN64);
	/* the finaliser is splitmix64's output for the state before the step */
	CHECK(tl_mix64(0) == 0xe220a8397b1dcdafULL);
	CHECK(tl_mix64(1) == 0x910a2dec89025cc1ULL);
	CHECK(tl_mix64(UINT64_MAX) == 0xe4d971771b652c20ULL);
	s = 7;
	uint64_t c = 7;
	CHECK(tl_splitmix64(&s) == tl_mix64(c));
	tl_xoshiro r;
	tl_xoshiro_seed(&r, 42);
	CHECK(tl_xoshiro_next(&r) == 0x15780b2e0c2ec716ULL);
	CHECK(tl_xoshiro_next(&r) == 0x6104d9866d113a7eULL);
	CHECK(tl_xoshiro_next(&r) == 0xae17533239e499a1ULL);
	/* unit: 53 bits, in [0, 1) */
	s = 0;
	int bad = 0;
	double sum = 0;
	for (int i = 0; i < 100000; i++) {
		double u = tl_splitmix64_unit(&s);
		bad += !(u >= 0 && u < 1) || u * 9007199254740992.0 != (double)(uint64_t)(u * 9007199254740992.0);
		sum += u;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_NEAR(sum / 100000, 0.5, 0.005);
	s = 0;
	uint64_t t = 0;
	CHECK(tl_splitmix64_unit(&s) == (double)(tl_splitmix64(&t) >> 11) / 9007199254740992.0);
}

static void normal(void)
{
	/* tests/ref/gen_rng.py: counters 0 and 2 */
	uint64_t c = 0;
	CHECK_NEAR(tl_mix64_normal(&c), -0.45521899730975474, 1e-15);
	CHECK(c == 2);
	CHECK_NEAR(tl_mix64_normal(&c), 0.7756529735693819, 1e-15);
	/* mean 0, variance 1 */
	c = 12345;
	double s1 = 0, s2 = 0;
	int n = 200000, finite = 1;
	for (int i = 0; i < n; i++) {
		double x = tl_mix64_normal(&c);
		finite &= isfinite(x);
		s1 += x;
		s2 += x * x;
	}
	double mean = s1 / n, var = s2 / n - mean * mean;
	CHECK(finite);
	CHECK_NEAR(mean, 0, 0.01);
	CHECK_NEAR(var, 1, 0.02);
}

static void hashes(void)
{
	/* FNV-1a reference values (Fowler/Noll/Vo test suite) */
	CHECK(tl_fnv1a64("", 0, TL_FNV64_INIT) == 0xcbf29ce484222325ULL);
	CHECK(tl_fnv1a64("a", 1, TL_FNV64_INIT) == 0xaf63dc4c8601ec8cULL);
	CHECK(tl_fnv1a64("foobar", 6, TL_FNV64_INIT) == 0x85944171f73967e8ULL);
	CHECK(tl_fnv1a64("bar", 3, tl_fnv1a64("foo", 3, TL_FNV64_INIT)) == 0x85944171f73967e8ULL);
	CHECK(tl_fnv1a32("", 0) == 0x811c9dc5u);
	CHECK(tl_fnv1a32("a", 1) == 0xe40c292cu);
	CHECK(tl_fnv1a32("foobar", 6) == 0xbf9cf968u);
	/* the string table's basis (tests/ref/gen_rng.py) */
	CHECK(tl_fnv1a("", 0) == TL_FNV64_INIT_STRTAB);
	CHECK(tl_fnv1a("a", 1) == 0x44bd8ad473cd9906ULL);
	CHECK(tl_fnv1a("foobar", 6) == 0x88fad7c0a8ff07f2ULL);
}

static void strtab(void)
{
	tl_strtab t;
	tl_strtab_init(&t);
	CHECK(tl_strtab_find(&t, "x", 1) == -1);
	int isnew = -1;
	CHECK(tl_strtab_add(&t, "b", 1, &isnew) == 0 && isnew == 1);
	CHECK(tl_strtab_add(&t, "a", 1, &isnew) == 1 && isnew == 1);
	CHECK(tl_strtab_add(&t, "b", 1, &isnew) == 0 && isnew == 0);
	CHECK(tl_strtab_add(&t, "", 0, NULL) == 2);
	CHECK(tl_strtab_add(&t, "a\0b", 3, NULL) == 3); /* NUL inside */
	CHECK(tl_strtab_find(&t, "a\0b", 3) == 3 && tl_strtab_find(&t, "a", 1) == 1);
	CHECK(tl_strtab_len(&t, 3) == 3 && tl_strtab_len(&t, 2) == 0);
	/* growth: ids stay dense, in insertion order, all findable */
	char buf[32];
	int ok = 1;
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(buf, sizeof buf, "w%d", i);
		ok &= tl_strtab_add(&t, buf, (size_t)n, NULL) == 4 + i;
	}
	CHECK(ok);
	CHECK(t.n == 20004);
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(buf, sizeof buf, "w%d", i);
		ok &= tl_strtab_find(&t, buf, (size_t)n) == 4 + i && !strcmp(tl_strtab_str(&t, 4 + i), buf);
	}
	CHECK(ok);
	CHECK_STR(tl_strtab_str(&t, 0), "b");
	/* orders */
	int64_t ids[5] = {0, 1, 2, 3, 4};
	tl_strtab_sort(&t, ids, 5); /* "", "a", "a\0b", "b", "w0" */
	CHECK(ids[0] == 2 && ids[1] == 1 && ids[2] == 3 && ids[3] == 0 && ids[4] == 4);
	int64_t cnt[5] = {5, 7, 5, 1, 7};
	int64_t o[5] = {4, 3, 2, 1, 0};
	tl_strtab_sort_by_count(&t, cnt, o, 5); /* 7: "a" "w0"; 5: "" "b"; 1 */
	CHECK(o[0] == 1 && o[1] == 4 && o[2] == 2 && o[3] == 0 && o[4] == 3);
	tl_strtab_free(&t);
	CHECK(t.n == 0 && tl_strtab_find(&t, "a", 1) == -1);
	/* a freed table is empty and usable again */
	CHECK(tl_strtab_add(&t, "z", 1, NULL) == 0);
	tl_strtab_free(&t);
}

int main(void)
{
	xoshiro();
	splitmix();
	normal();
	hashes();
	strtab();
	TEST_REPORT("test_rng");
}
