/* test_bert.c - the BERT forward pass against Hugging Face transformers
 * (fixtures from tests/ref/gen_bert.py) on models/all-MiniLM-L6-v2:
 * last hidden state, pooler output, sentence-transformers embedding, inner
 * layer, sequence-classification logits; independence of batch size and
 * input order. The sanitizer build ($TL_BUILD named build-san*) checks a
 * subset. */
#include "testhelp.h"
#include "tl/bert.h"
#include "tl/classifier.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODEL "models/all-MiniLM-L6-v2"
#define TOL 1e-4

static tl_st_file ref;
static const int32_t *ids, *offs;
static int n, C = 384;

static const float *ref_f32(const char *name, size_t want)
{
	const tl_st_tensor *t = tl_st_find(&ref, name);
	if (!t || t->dtype != TL_ST_F32 || t->numel != want) {
		fprintf(stderr, "fixture tensor %s missing or mis-sized\n", name);
		exit(1);
	}
	return tl_st_bytes(&ref, t);
}

static double maxdiff(const float *a, const float *b, size_t k)
{
	double m = 0;
	for (size_t i = 0; i < k; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (!(d <= m))
			m = d; /* NaN propagates */
	}
	return m;
}

static tl_bert_seq seq(int i)
{
	tl_bert_seq s = {ids + offs[i], NULL, offs[i + 1] - offs[i]};
	return s;
}

/* Encode records sel[0..k) and compare each row with the reference rows;
 * returns the number within TOL, sets *worst. */
static int compare(tl_bert *m, const int *sel, int k, const tl_bert_encode_opts *o, const float *refrows, int width,
		   double *worst, float *out)
{
	tl_bert_seq *s = tl_xmalloc((size_t)k * sizeof *s);
	for (int i = 0; i < k; i++)
		s[i] = seq(sel[i]);
	tl_bert_encode(m, s, (size_t)k, o, out);
	int ok = 0;
	*worst = 0;
	for (int i = 0; i < k; i++) {
		double d = maxdiff(out + (size_t)i * width, refrows + (size_t)sel[i] * width, (size_t)width);
		ok += d <= TOL;
		if (!(d <= *worst))
			*worst = d;
	}
	free(s);
	return ok;
}

static char *make_seqcls_dir(void)
{
	char tmpl[] = "/tmp/tl-seqcls-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		return NULL;
	char cwd[4096], src[8192], dst[8192];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	const char *links[][2] = {
		{"tests/ref/bert/seqcls/config.json", "config.json"},
		{"tests/ref/bert/seqcls/model.safetensors.index.json", "model.safetensors.index.json"},
		{"tests/ref/bert/seqcls/model-00002-of-00002.safetensors", "model-00002-of-00002.safetensors"},
		{MODEL "/model.safetensors", "model-00001-of-00002.safetensors"},
		{MODEL "/vocab.txt", "vocab.txt"},
	};
	for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
		snprintf(src, sizeof src, "%s/%s", cwd, links[i][0]);
		snprintf(dst, sizeof dst, "%s/%s", d, links[i][1]);
		if (symlink(src, dst) < 0)
			return NULL;
	}
	return tl_xstrdup(d);
}

static void rm_seqcls_dir(char *d)
{
	const char *names[] = {"config.json", "model.safetensors.index.json", "model-00002-of-00002.safetensors",
			       "model-00001-of-00002.safetensors", "vocab.txt"};
	char p[8192];
	for (size_t i = 0; i < 5; i++) {
		snprintf(p, sizeof p, "%s/%s", d, names[i]);
		unlink(p);
	}
	rmdir(d);
	free(d);
}

/* One forward per batch gives the three outputs compared with the
 * reference: pooler output, sentence embedding (mean + normalize) and the
 * classifier's logits. Batches of up to 32 records of similar length. */
static void parity(tl_bert *m, const int *sel, int k, const float *pooled, const float *st, const float *lg)
{
	int *o = tl_xmalloc((size_t)k * sizeof *o);
	memcpy(o, sel, (size_t)k * sizeof *o);
	for (int i = 1; i < k; i++) /* insertion sort by length */
		for (int j = i; j > 0 && offs[o[j] + 1] - offs[o[j]] < offs[o[j - 1] + 1] - offs[o[j - 1]]; j--) {
			int t = o[j];
			o[j] = o[j - 1];
			o[j - 1] = t;
		}
	int maxT = offs[o[k - 1] + 1] - offs[o[k - 1]];
	int32_t *pad = tl_xmalloc((size_t)32 * maxT * sizeof *pad), lens[32];
	double w[3] = {0, 0, 0};
	int ok[3] = {0, 0, 0};
	for (int s = 0; s < k; s += 32) {
		int B = k - s < 32 ? k - s : 32, T = offs[o[s + B - 1] + 1] - offs[o[s + B - 1]];
		memset(pad, 0, (size_t)B * T * sizeof *pad);
		for (int b = 0; b < B; b++) {
			lens[b] = offs[o[s + b] + 1] - offs[o[s + b]];
			memcpy(pad + (size_t)b * T, ids + offs[o[s + b]], (size_t)lens[b] * sizeof *pad);
		}
		tl_bert_forward(m, pad, NULL, lens, B, T, -1);
		m->k->pool_forward(m->acts.pool, m->out, m->lens, B, T, C, TL_POOL_MEAN);
		m->k->l2norm_forward(m->acts.pool, B, C);
		const float *po = tl_bert_pooler(m), *lo = tl_bert_classify(m);
		for (int b = 0; b < B; b++) {
			int r = o[s + b];
			double d[3] = {maxdiff(po + (size_t)b * C, pooled + (size_t)r * C, (size_t)C),
				       maxdiff(m->acts.pool + (size_t)b * C, st + (size_t)r * C, (size_t)C),
				       maxdiff(lo + (size_t)b * 2, lg + (size_t)r * 2, 2)};
			for (int q = 0; q < 3; q++) {
				ok[q] += d[q] <= TOL;
				if (!(d[q] <= w[q]))
					w[q] = d[q];
			}
		}
	}
	const char *what[3] = {"pooler output", "sentence-transformers embedding", "classifier logits"};
	for (int q = 0; q < 3; q++) {
		printf("%s: %d/%d records within %g (max abs diff %.3g)\n", what[q], ok[q], k, TOL, w[q]);
		CHECK_EQ_INT(ok[q], k);
	}
	free(o);
	free(pad);
}

int main(void)
{
	char err[512];
	const char *build = getenv("TL_BUILD");
	/* sanitizer builds (gcc defines __SANITIZE_ADDRESS__; or $TL_BUILD
	 * named build-san*) check a subset */
	const char *base = build ? strrchr(build, '/') : NULL;
	int san = build && strstr(base ? base : build, "-san") != NULL;
#ifdef __SANITIZE_ADDRESS__
	san = 1;
#endif
	int full = getenv("TL_BERT_FULL") != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tl_st_open(&ref, "tests/ref/bert/minilm_ref.safetensors", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const tl_st_tensor *to = tl_st_find(&ref, "offsets"), *ti = tl_st_find(&ref, "ids");
	CHECK(to && ti && to->dtype == TL_ST_I32 && ti->dtype == TL_ST_I32);
	if (!to || !ti)
		TEST_REPORT("test_bert");
	offs = tl_st_bytes(&ref, to);
	ids = tl_st_bytes(&ref, ti);
	n = (int)to->numel - 1;
	CHECK(n >= 500);
	const int nsst = 872;

	/* the sequence-classification directory (sharded: MiniLM + the head) */
	char *dir = make_seqcls_dir();
	CHECK(dir != NULL);
	if (!dir)
		TEST_REPORT("test_bert");
	tl_bert *m = tl_bert_load(dir, NULL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "%s (run 'make models')\n", err);
		CHECK(m != NULL);
		rm_seqcls_dir(dir);
		TEST_REPORT("test_bert");
	}
	m->k->set_threads(0);
	CHECK_EQ_INT(m->cfg.C, 384);
	CHECK_EQ_INT(m->cfg.L, 6);
	CHECK_EQ_INT(m->cfg.nlabels, 2);
	CHECK(m->has_pooler);
	for (int i = 0; i < n; i++)
		CHECK(tl_bert_check_seq(m, ids + offs[i], NULL, offs[i + 1] - offs[i], err, sizeof err) == 0);

	/* the first forward prepares the layer weights in place (kernels.h:
	 * matmul_prepare); tl_bert_unprepare gives back the loaded [out, in]
	 * tensors bit for bit, and the next forward prepares them again */
	{
		size_t bytes = m->nparams * sizeof(float);
		float *orig = tl_xmalloc(bytes);
		memcpy(orig, m->arena, bytes);
		CHECK(!m->prepared);
		int L0 = offs[1] - offs[0];
		tl_bert_forward(m, ids + offs[0], NULL, &L0, 1, L0, -1);
		CHECK(m->prepared);
		if (m->prep[0] || m->prep[1] || m->prep[2] || m->prep[3])
			CHECK(memcmp(orig, m->arena, bytes) != 0);
		printf("prepared layouts: %d %d %d %d\n", m->prep[0], m->prep[1], m->prep[2], m->prep[3]);
		tl_bert_unprepare(m);
		CHECK(!m->prepared);
		CHECK(memcmp(orig, m->arena, bytes) == 0);
		free(orig);
	}

	/* records: all SST-2 dev sentences and every 4th IMDB review (all 200
	 * with TL_BERT_FULL=1); under the sanitizers the first 40 sentences and
	 * two IMDB reviews (one of 512 tokens) */
	int *sel = tl_xmalloc((size_t)n * sizeof *sel), k = 0;
	for (int i = 0; i < n; i++)
		if (san ? (i < 40 || i == n - 1 || i == nsst + 5) : (full || i < nsst || (i - nsst) % 4 == 0))
			sel[k++] = i;
	float *out = tl_xmalloc((size_t)n * C * sizeof *out);
	double worst;
	const float *pooled = ref_f32("pooled", (size_t)n * C), *st = ref_f32("st_embed", (size_t)n * C);
	const float *lg = ref_f32("logits", (size_t)n * 2);
	parity(m, sel, k, pooled, st, lg);

	/* batch size and order: tl_bert_encode (length bucketing) with batch
	 * 1 and 7 over a shuffled selection incl. IMDB reviews */
	int kk = san ? 12 : 96, *shuf = tl_xmalloc((size_t)kk * sizeof *shuf);
	for (int i = 0; i < kk; i++)
		shuf[i] = i % 4 == 3 ? nsst + (i * 37) % (n - nsst) : (i * 7919) % nsst;
	tl_bert_encode_opts mean = {.what = TL_BERT_POOL, .pool = TL_POOL_MEAN, .normalize = 1, .layer = -1};
	for (int bs = 1; bs <= 7; bs += 6) {
		mean.batch_size = bs;
		int ok = compare(m, shuf, kk, &mean, st, C, &worst, out);
		printf("tl_bert_encode, batch %d, shuffled: %d/%d within %g (max %.3g)\n", bs, ok, kk, TOL, worst);
		CHECK_EQ_INT(ok, kk);
	}
	tl_bert_encode_opts lo = {.what = TL_BERT_LOGITS, .batch_size = 5};
	int ok = compare(m, shuf, kk, &lo, lg, 2, &worst, out);
	CHECK_EQ_INT(ok, kk);
	tl_bert_encode_opts po = {.what = TL_BERT_POOLER, .batch_size = 32};
	ok = compare(m, shuf, kk, &po, pooled, C, &worst, out);
	CHECK_EQ_INT(ok, kk);

	/* thread count: one thread (every kernel serial) and two (whole
	 * batches per thread, or split products when there are few batches)
	 * give bitwise the same results */
	{
		tl_bert_seq *sq = tl_xmalloc((size_t)kk * sizeof *sq);
		for (int i = 0; i < kk; i++)
			sq[i] = seq(shuf[i]);
		size_t bytes = (size_t)kk * C * sizeof(float);
		float *o1 = tl_xmalloc(bytes), *o2 = tl_xmalloc(bytes), *o3 = tl_xmalloc(bytes);
		tl_bert_encode_opts cls = {.what = TL_BERT_POOL, .pool = TL_POOL_MEAN, .layer = -1, .batch_size = 8};
		m->k->set_threads(1);
		tl_bert_encode(m, sq, (size_t)kk, &cls, o1);
		m->k->set_threads(2);
		tl_bert_encode(m, sq, (size_t)kk, &cls, o2);
		cls.batch_size = kk; /* one batch: the products are split instead */
		tl_bert_encode(m, sq, (size_t)kk, &cls, o3);
		CHECK(memcmp(o1, o2, bytes) == 0);
		double d3 = 0;
		for (size_t i = 0; i < (size_t)kk * C; i++)
			d3 = fabs(o1[i] - o3[i]) > d3 ? fabs(o1[i] - o3[i]) : d3;
		printf("threads 1 vs 2: bitwise equal %d; one batch of %d: max diff %.3g\n", memcmp(o1, o2, bytes) == 0,
		       kk, d3);
		CHECK(d3 < 1e-5);
		m->k->set_threads(0);
		free(sq), free(o1), free(o2), free(o3);
	}

	/* inner layer: mean of hidden_states[3], first 64 records */
	const float *m3 = ref_f32("layer3_mean", (size_t)64 * C);
	tl_bert_encode_opts l3 = {.what = TL_BERT_POOL, .pool = TL_POOL_MEAN, .layer = 3, .batch_size = 16};
	int first64[64];
	for (int i = 0; i < 64; i++)
		first64[i] = i;
	ok = compare(m, first64, san ? 8 : 64, &l3, m3, C, &worst, out);
	printf("layer 3 mean: %d within %g (max %.3g)\n", ok, TOL, worst);
	CHECK_EQ_INT(ok, san ? 8 : 64);

	/* full last hidden state: one at a time and all in one padded batch */
	const tl_st_tensor *thi = tl_st_find(&ref, "hidden_idx");
	const int32_t *hidx = tl_st_bytes(&ref, thi);
	int nh = (int)thi->numel, maxT = 0, tokens = 0;
	for (int j = 0; j < nh; j++) {
		int L = offs[hidx[j] + 1] - offs[hidx[j]];
		maxT = L > maxT ? L : maxT;
		tokens += L;
	}
	const float *hid = ref_f32("hidden", (size_t)tokens * C);
	/* under the sanitizers: two sentences and the first 512-token review */
	int hsel[32], bsz = 0;
	for (int j = 0; j < nh; j++)
		if (!san || j < 2 || j == 16)
			hsel[bsz++] = j;
	int32_t *pad = tl_xcalloc((size_t)nh * maxT, sizeof *pad), *lens = tl_xmalloc((size_t)nh * sizeof *lens);
	int *rows = tl_xmalloc((size_t)nh * sizeof *rows);
	for (int j = 0, r = 0; j < nh; j++) {
		rows[j] = r;
		r += offs[hidx[j] + 1] - offs[hidx[j]];
	}
	double w1 = 0, w2 = 0;
	int okh = 0, T = 0;
	for (int q = 0; q < bsz; q++) {
		int j = hsel[q], L = offs[hidx[j] + 1] - offs[hidx[j]];
		lens[q] = L;
		T = L > T ? L : T;
		tl_bert_forward(m, ids + offs[hidx[j]], NULL, &L, 1, L, -1);
		double d = maxdiff(m->out, hid + (size_t)rows[j] * C, (size_t)L * C);
		okh += d <= TOL;
		w1 = d > w1 ? d : w1;
	}
	printf("last hidden state, batch 1: %d/%d sequences within %g (max %.3g)\n", okh, bsz, TOL, w1);
	CHECK_EQ_INT(okh, bsz);
	for (int q = 0; q < bsz; q++)
		memcpy(pad + (size_t)q * T, ids + offs[hidx[hsel[q]]], (size_t)lens[q] * sizeof *pad);
	tl_bert_forward(m, pad, NULL, lens, bsz, T, -1);
	okh = 0;
	for (int q = 0; q < bsz; q++) {
		double d = maxdiff(m->out + (size_t)q * T * C, hid + (size_t)rows[hsel[q]] * C, (size_t)lens[q] * C);
		okh += d <= TOL;
		w2 = d > w2 ? d : w2;
	}
	printf("last hidden state, one padded batch of %d (T=%d): %d within %g (max %.3g)\n", bsz, T, okh, TOL, w2);
	CHECK_EQ_INT(okh, bsz);
	tl_bert_free(m);

	/* the same directory through the classifier interface */
	tl_classifier_err e;
	tl_classifier *c = tl_classifier_load(dir, 0, &e);
	if (!c)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(c != NULL);
	if (c) {
		CHECK_EQ_INT(c->nlabels, 2);
		CHECK_STR(c->labels[1], "positive");
		CHECK(!c->multi_label);
		CHECK_EQ_INT(strlen(c->vocab_sha256), 64);
		tl_classifier_free(c);
	}
	/* a BertModel directory is not a classifier */
	c = tl_classifier_load(MODEL, 0, &e);
	CHECK(c == NULL && e.code == 5 && strstr(e.msg, "not a sequence-classification model"));
	rm_seqcls_dir(dir);
	free(sel);
	free(shuf);
	free(out);
	free(pad);
	free(lens);
	free(rows);
	tl_st_close(&ref);
	TEST_REPORT("test_bert");
}
