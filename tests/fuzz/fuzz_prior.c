/* fuzz_prior.c - tl-predict --match-prior (tl/classifier.h): the shares
 * spec parser and the offsets. The first byte picks K (1-6) of a fixed set
 * of labels (with '=' and ',' in some); the rest, up to a NUL, is the spec.
 * A parse that succeeds gives K finite shares >= 0 summing to 1 (1e-9);
 * tl_prior_match on logits made from the input's bytes (ties and all)
 * then returns finite offsets, centred (summing to 0). */
#include "fuzz.h"
#include "tl/classifier.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[6] = {"0", "1", "pos", "a=b", "x,y", "\xc3\xa9t\xc3\xa9"};
	static char spec[4097];
	if (!size || size > 4096)
		return 0;
	int K = 1 + data[0] % 6;
	size_t n = size - 1;
	memcpy(spec, data + 1, n);
	spec[n] = 0;
	double share[6];
	char err[512];
	if (tl_prior_shares_parse(spec, names, K, share, err, sizeof err) < 0) {
		FZ_CHECK(err[0] && strlen(err) < sizeof err);
		return 0;
	}
	double sum = 0;
	for (int j = 0; j < K; j++) {
		FZ_CHECK(isfinite(share[j]) && share[j] >= 0);
		sum += share[j];
	}
	FZ_CHECK(fabs(sum - 1) < 1e-9);
	size_t rows = size < 64 ? size : 64;
	float z[64 * 6], b[6];
	for (size_t i = 0; i < rows * (size_t)K; i++)
		z[i] = (float)((int)data[i % size] - 128) / 16.0f;
	FZ_CHECK(tl_prior_match(z, rows, K, share, b) == 0);
	double bs = 0, bm = 0;
	for (int j = 0; j < K; j++) {
		FZ_CHECK(isfinite(b[j]));
		bs += b[j];
		bm = fmax(bm, fabs(b[j]));
	}
	FZ_CHECK(fabs(bs) <= 1e-5 * (1 + bm) * K); /* centred */
	return 0;
}
