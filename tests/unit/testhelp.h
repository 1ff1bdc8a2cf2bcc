/* testhelp.h - a tiny assert layer for C unit tests (after redis testhelp.h).
 * Each test file ends with TEST_REPORT(), which prints
 * "NAME: N passed, N failed, N skipped" and returns non-zero on failure;
 * tests/run.sh adds these counts to its summary. TEST_SKIP(fmt, ...) records a
 * part of a test that did not run for want of something the machine may
 * lack (a CPU feature, a model that `make models` installs), never for a
 * part of this tree. */
#ifndef TL_TESTHELP_H
#define TL_TESTHELP_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int test_pass, test_fail, test_skip;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (cond)                                                                \
			test_pass++;                                                     \
		else {                                                                   \
			test_fail++;                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                        \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                  \
	do {                                                                                \
		long long a_ = (long long)(a), b_ = (long long)(b);                         \
		if (a_ == b_)                                                               \
			test_pass++;                                                        \
		else {                                                                      \
			test_fail++;                                                        \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
		}                                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *a_ = (a), *b_ = (b);                                            \
		if (a_ && b_ && strcmp(a_, b_) == 0)                                        \
			test_pass++;                                                        \
		else {                                                                      \
			test_fail++;                                                        \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                    \
		}                                                                           \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                               \
	do {                                                                                \
		double a_ = (a), b_ = (b);                                                  \
		if (fabs(a_ - b_) <= (tol))                                                 \
			test_pass++;                                                        \
		else {                                                                      \
			test_fail++;                                                        \
			fprintf(stderr, "%s:%d: %s == %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #a, \
				a_, b_, (double)(tol));                                     \
		}                                                                           \
	} while (0)

/* xorshift64 uniform in [-1, 1): the random inputs of the kernel tests */
static inline float test_frand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (float)((*s >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

#define TEST_SKIP(...)                                  \
	do {                                            \
		test_skip++;                            \
		printf("SKIP %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__);                    \
		printf("\n");                           \
	} while (0)

#define TEST_REPORT(name)                                                                           \
	do {                                                                                        \
		printf("%s: %d passed, %d failed, %d skipped\n", name, test_pass, test_fail, test_skip); \
		return test_fail ? 1 : 0;                                                           \
	} while (0)
#endif
