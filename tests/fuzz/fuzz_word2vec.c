/* fuzz_word2vec.c - word vectors in the word2vec text format (with or
 * without the "COUNT DIM" line; gzip allowed), tl_w2v_vectors_load by
 * path: a table that loads has dim > 0, finite values, and answers
 * nearest-neighbour and document-vector queries. */
#include "fuzz.h"
#include "tl/word2vec.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("vectors.txt", data, size);
	tl_w2v_vectors v;
	memset(&v, 0, sizeof v);
	char err[512] = "";
	if (tl_w2v_vectors_load(&v, path, err, sizeof err) < 0) {
		FZ_CHECK(err[0]);
		tl_w2v_vectors_free(&v);
		return 0;
	}
	FZ_CHECK(v.dim > 0 && v.n > 0);
	for (size_t i = 0; i < v.n * (size_t)v.dim; i++)
		FZ_CHECK(isfinite(v.vecs[i]));
	int64_t ids[3];
	float sims[3];
	int k = tl_w2v_nearest(&v, v.vecs, 3, 0, ids, sims);
	FZ_CHECK(k >= 0 && k <= 3);
	for (int i = 0; i < k; i++)
		FZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < v.n && ids[i] != 0);
	(void)tl_w2v_cosine(&v, 0, (int64_t)v.n - 1);
	tl_words w = {0};
	float *out = calloc((size_t)v.dim, sizeof *out);
	FZ_CHECK(out);
	const char *first = tl_strtab_str(&v.words, 0);
	(void)tl_w2v_doc_vec(&v, &w, first, strlen(first), 1, NULL, NULL, out);
	free(out);
	tl_words_free(&w);
	tl_w2v_vectors_free(&v);
	return 0;
}
