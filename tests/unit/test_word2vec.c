/* Unit tests for lib/features/word2vec.c: the text format (good and bad files),
 * nearest neighbours, document vectors, and reproducible training. */
#include "testhelp.h"
#include "tl/word2vec.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <stdlib.h>
#include <unistd.h>

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
}

int main(void)
{
	char path[] = "/tmp/tl-test-w2v-XXXXXX", err[512];
	close(mkstemp(path));
	tl_w2v_vectors v;
	put(path, "3 2\ngood 1 0\ngreat 0.9 0.1\nbad -1 0.05\n");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == 0);
	CHECK_EQ_INT(v.n, 3);
	CHECK_EQ_INT(v.dim, 2);
	int64_t ids[2];
	float sims[2];
	CHECK_EQ_INT(tl_w2v_nearest(&v, v.vecs, 2, 0, ids, sims), 2);
	CHECK_STR(tl_strtab_str(&v.words, ids[0]), "great");
	CHECK_NEAR(sims[0], 0.9 / sqrt(0.82), 1e-6);
	CHECK_NEAR(tl_w2v_cosine(&v, 0, 2), -1 / sqrt(1.0025), 1e-6);
	tl_words w = {0};
	tl_sparse sp = {0};
	float dv[2];
	CHECK_EQ_INT(tl_w2v_doc_vec(&v, &w, "Good, BAD and unknown", 21, 1, NULL, &sp, dv), 2);
	CHECK_NEAR(dv[0], 0, 1e-7);
	CHECK_NEAR(dv[1], 0.025, 1e-7);
	/* save and load again */
	CHECK(tl_w2v_vectors_save(&v, path) == 0);
	tl_w2v_vectors v2;
	CHECK(tl_w2v_vectors_load(&v2, path, err, sizeof err) == 0);
	CHECK(v2.n == 3 && memcmp(v.vecs, v2.vecs, 6 * sizeof(float)) == 0);
	tl_w2v_vectors_free(&v2);
	tl_w2v_vectors_free(&v);
	/* GloVe style (no header) */
	put(path, "a 1 2 3\nb 4 5 6\n");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == 0);
	CHECK_EQ_INT(v.dim, 3);
	tl_w2v_vectors_free(&v);
	/* bad files */
	put(path, "2 3\na 1 2 3\nb 4 5\n");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == -1);
	CHECK(strstr(err, "line 3: 2 values, expected 3") != NULL);
	put(path, "2 2\na 1 nan\nb 4 5\n");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == -1);
	CHECK(strstr(err, "line 2: 'nan' is not a number") != NULL);
	put(path, "3 2\na 1 2\nb 4 5\n");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == -1);
	CHECK(strstr(err, "header says 3 words, found 2") != NULL);
	put(path, "");
	CHECK(tl_w2v_vectors_load(&v, path, err, sizeof err) == -1);
	unlink(path);

	/* training: same seed, one thread -> identical; context words cluster */
	tl_w2v_opts o;
	tl_w2v_opts_default(&o, 1);
	o.dim = 16;
	o.min_count = 1;
	o.epochs = 30;
	o.sample = 0;
	tl_w2v_vectors a, b;
	for (int run = 0; run < 2; run++) {
		tl_w2v_trainer *t = tl_w2v_trainer_new(&o);
		uint64_t rng = 11;
		for (int i = 0; i < 300; i++) {
			char s[128];
			int k = (int)(tl_splitmix64(&rng) % 2);
			snprintf(s, sizeof s, k ? "the cat and the kitten purr softly" : "the car and the truck drive fast");
			tl_w2v_add(t, s, strlen(s));
		}
		CHECK(tl_w2v_train(t, run ? &b : &a, NULL, NULL, err, sizeof err) == 0);
	}
	CHECK(a.n == b.n && memcmp(a.vecs, b.vecs, a.n * (size_t)a.dim * sizeof(float)) == 0);
	int64_t cat = tl_w2v_find(&a, "cat", 3), kit = tl_w2v_find(&a, "kitten", 6), car = tl_w2v_find(&a, "car", 3);
	CHECK(cat >= 0 && kit >= 0 && car >= 0);
	CHECK(tl_w2v_cosine(&a, cat, kit) > tl_w2v_cosine(&a, cat, car));
	tl_w2v_vectors_free(&a);
	tl_w2v_vectors_free(&b);
	/* empty vocabulary */
	o.min_count = 100;
	tl_w2v_trainer *t = tl_w2v_trainer_new(&o);
	tl_w2v_add(t, "a b c", 5);
	CHECK(tl_w2v_train(t, &a, NULL, NULL, err, sizeof err) == -1);
	CHECK(strstr(err, "empty vocabulary") != NULL);
	tl_words_free(&w);
	tl_sparse_free(&sp);
	TEST_REPORT("test_word2vec");
}
