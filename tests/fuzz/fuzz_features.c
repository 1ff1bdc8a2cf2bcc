/* fuzz_features.c - a fitted features file ("tl-features 1", written by
 * tl-embed --features, read by tl_feat_load by path): a file that loads
 * has a consistent vocabulary (term i's index is i) and transforms texts
 * into sparse vectors with indices < dim and finite values. */
#include "fuzz.h"
#include "tl/features.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("features.txt", data, size);
	char err[512] = "";
	tl_feat *ft = tl_feat_load(path, err, sizeof err);
	if (!ft) {
		FZ_CHECK(err[0]);
		return 0;
	}
	long dim = tl_feat_dim(ft);
	FZ_CHECK(dim > 0);
	const tl_feat_opts *o = tl_feat_opts_of(ft);
	char s[512];
	tl_feat_opts_str(o, s, sizeof s);
	if (!o->hash)
		for (long i = 0; i < dim && i < 1000; i++) {
			const char *t = tl_feat_term(ft, i);
			FZ_CHECK(t);
			FZ_CHECK(tl_feat_index(ft, t, strlen(t)) == i);
			FZ_CHECK(isfinite(tl_feat_idf(ft, i)));
		}
	static const char *texts[] = {"the movie was great , great fun !", "", "a b c d e f g", "Ünïcode テキスト 123"};
	tl_sparse sp = {0};
	for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
		tl_feat_apply(ft, texts[k], strlen(texts[k]), &sp);
		for (size_t i = 0; i < sp.n; i++) {
			FZ_CHECK(sp.idx[i] >= 0 && sp.idx[i] < dim);
			FZ_CHECK(isfinite(sp.val[i]));
		}
	}
	if (!o->hash && dim > 0) {
		const char *t = tl_feat_term(ft, 0);
		tl_feat_apply(ft, t, strlen(t), &sp);
	}
	tl_sparse_free(&sp);
	tl_feat_free(ft);
	return 0;
}
