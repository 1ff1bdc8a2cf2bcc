/* test_prior_match.c - tl_prior_match (tl/classifier.h), the offsets of
 * tl-predict --match-prior: on random logits without ties the predicted
 * labels take the target counts round(n share) exactly (2 labels always;
 * 3-6 labels in every case tried here), the offsets only shift whole
 * labels (so a margin's ranking is kept), ties and edge cases are safe,
 * and the result is a pure function of the input. */
#include "testhelp.h"
#include "tl/classifier.h"
#include "tl/rng.h"

#include <stdlib.h>

static float *rand_logits(size_t n, int K, uint64_t seed, float spread)
{
	float *z = malloc((n ? n : 1) * (size_t)K * sizeof *z);
	uint64_t s = seed;
	for (size_t i = 0; i < n * (size_t)K; i++) {
		double u = (double)(tl_mix64(s++) >> 11) / 9007199254740992.0; /* [0, 1) */
		z[i] = (float)((u - 0.5) * spread) + (i % (size_t)K == 0 ? 0.7f : 0); /* leaning to label 0 */
	}
	return z;
}

/* counts of the first largest z + b per row */
static void counts(const float *z, size_t n, int K, const float *b, size_t *c)
{
	memset(c, 0, (size_t)K * sizeof *c);
	for (size_t i = 0; i < n; i++) {
		int best = 0;
		for (int j = 1; j < K; j++)
			if (z[i * (size_t)K + j] + b[j] > z[i * (size_t)K + best] + b[best])
				best = j;
		c[best]++;
	}
}

static size_t target(size_t n, double share)
{
	double k = floor((double)n * share + 0.5);
	return k <= 0 ? 0 : k >= (double)n ? n : (size_t)k;
}

static void test_two_labels(void)
{
	static const double shares[] = {0.5, 0.2, 0.8, 0, 1, 0.333, 0.999};
	static const size_t ns[] = {1, 2, 7, 100, 1791, 20000};
	int exact = 0, cases = 0;
	for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
		for (size_t s = 0; s < sizeof shares / sizeof *shares; s++) {
			size_t n = ns[a];
			float *z = rand_logits(n, 2, 1000 * a + s, 4), b[2];
			double sh[2] = {1 - shares[s], shares[s]};
			CHECK_EQ_INT(tl_prior_match(z, n, 2, sh, b), 0);
			size_t c[2];
			counts(z, n, 2, b, c);
			cases++;
			exact += c[1] == target(n, sh[1]) && c[0] + c[1] == n;
			if (c[1] != target(n, sh[1]))
				fprintf(stderr, "two labels, n %zu share %g: %zu of label 1, want %zu\n", n, sh[1], c[1],
					target(n, sh[1]));
			CHECK(b[0] == -b[1]); /* symmetric: centred */
			free(z);
		}
	CHECK_EQ_INT(exact, cases);
	printf("two labels: %d of %d cases exact\n", exact, cases);
}

static void test_more_labels(void)
{
	int exact = 0, cases = 0;
	for (int K = 3; K <= 6; K++)
		for (int rep = 0; rep < 6; rep++) {
			size_t n = rep < 3 ? 500 : 3001;
			float *z = rand_logits(n, K, 77 + 31 * (uint64_t)K + (uint64_t)rep, rep % 2 ? 2 : 6), *b = malloc((size_t)K * sizeof *b);
			double *sh = malloc((size_t)K * sizeof *sh), sum = 0;
			for (int j = 0; j < K; j++)
				sum += (sh[j] = 1 + (j + rep) % 3); /* shares 1:2:3:1:... */
			for (int j = 0; j < K; j++)
				sh[j] /= sum;
			CHECK_EQ_INT(tl_prior_match(z, n, K, sh, b), 0);
			size_t *c = malloc((size_t)K * sizeof *c), dev = 0, tot = 0;
			counts(z, n, K, b, c);
			double bs = 0;
			for (int j = 0; j < K; j++) {
				size_t t = target(n, sh[j]);
				dev += c[j] > t ? c[j] - t : t - c[j];
				tot += c[j];
				bs += b[j];
			}
			CHECK_EQ_INT(tot, n);
			CHECK(fabs(bs) < 1e-4); /* centred */
			/* the targets may not sum to n (rounding): at most K - 1 rows off then */
			size_t tsum = 0;
			for (int j = 0; j < K; j++)
				tsum += target(n, sh[j]);
			cases++;
			exact += dev == (tsum > n ? tsum - n : n - tsum);
			if (dev != (tsum > n ? tsum - n : n - tsum))
				fprintf(stderr, "K %d n %zu rep %d: %zu rows off the targets\n", K, n, rep, dev);
			free(z), free(b), free(sh), free(c);
		}
	CHECK_EQ_INT(exact, cases);
	printf("3-6 labels: %d of %d cases exact\n", exact, cases);
}

static void test_edges(void)
{
	float b[4] = {9, 9, 9, 9};
	double sh2[2] = {0.5, 0.5}, sh3[3] = {0.2, 0.3, 0.5};
	/* no rows, one label: zero offsets */
	CHECK_EQ_INT(tl_prior_match(NULL, 0, 2, sh2, b), 0);
	CHECK(b[0] == 0 && b[1] == 0);
	float one[1] = {3};
	double sh1[1] = {1};
	CHECK_EQ_INT(tl_prior_match(one, 1, 1, sh1, b), 0);
	CHECK(b[0] == 0);
	/* all rows tied: no offset can split them; the offsets stay finite */
	float tie[3 * 10];
	for (int i = 0; i < 30; i++)
		tie[i] = 1.5f;
	CHECK_EQ_INT(tl_prior_match(tie, 10, 2, sh2, b), 0);
	CHECK(isfinite(b[0]) && isfinite(b[1]));
	CHECK_EQ_INT(tl_prior_match(tie, 10, 3, sh3, b), 0);
	CHECK(isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]));
	/* shares already met: two labels keep every prediction */
	float z[4] = {1, 0, 0, 1}; /* row 0 -> 0, row 1 -> 1 */
	size_t c[2];
	CHECK_EQ_INT(tl_prior_match(z, 2, 2, sh2, b), 0);
	counts(z, 2, 2, b, c);
	CHECK(c[0] == 1 && c[1] == 1);
	/* a pure function: the same bits twice */
	float *r = rand_logits(999, 4, 5, 3), b1[4], b2[4];
	double sh4[4] = {0.1, 0.2, 0.3, 0.4};
	tl_prior_match(r, 999, 4, sh4, b1);
	tl_prior_match(r, 999, 4, sh4, b2);
	CHECK(!memcmp(b1, b2, sizeof b1));
	free(r);
}

int main(void)
{
	test_two_labels();
	test_more_labels();
	test_edges();
	TEST_REPORT("test_prior_match");
}
