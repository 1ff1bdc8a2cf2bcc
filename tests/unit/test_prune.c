/* test_prune.c - loading head-pruned BERT models (config.json
 * "pruned_heads") against Hugging Face transformers 4.57 (fixture from
 * tests/ref/gen_prune.py: a tiny random BertForSequenceClassification,
 * 4 layers of 4 heads of 16, pruned {0: [1, 2], 2: [0, 1, 3], 3: [0]}).
 *
 * Bounds: fp32 outputs within 1e-4 of transformers' (as test_bert.c), on
 * the padded forward (tl_bert_forward, every token), the first-token
 * forward of tl_bert_encode (pooler, logits, [CLS] pooling) at batch sizes
 * 1, 4 and 6, and hidden_states[2]; bf16 and int8 rows at cosine >= 0.999
 * and >= 0.99 to fp32's (the bounds of tests/bats/lowprec.bats). Bad
 * pruned_heads: a layer without heads, a layer or head out of range, a
 * pruned checkpoint whose config.json lost pruned_heads.
 * Head importance (tl_bert_importance_batch + _normalize) of
 * tests/ref/tiny_bert on 6 records in batches of 4 and 2 against
 * transformers' head_mask gradients: within 1e-5 + 1e-4 x the value (the
 * gradients' bound in test_backward.c is of that order); the choice of the
 * heads to remove; tl_bert_prune_write (one more head and a whole layer
 * removed from the fixture) against transformers' logits within 1e-4. */
#include "testhelp.h"
#include "tl/bert.h"
#include "tl/bert_prune.h"
#include "tl/fsutil.h"
#include "tl/kernels.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR "tests/ref/pruned_bert"
#define TOL 1e-4

static tl_st_file ref;
static int B, T;
static const int32_t *ids, *types, *lens;

static const void *ref_t(const char *name, size_t want)
{
	const tl_st_tensor *t = tl_st_find(&ref, name);
	if (!t || t->numel != want) {
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

static double cosine(const float *a, const float *b, int n)
{
	double ab = 0, aa = 0, bb = 0;
	for (int i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(aa * bb + 1e-30);
}

/* worst difference over the real tokens of out [B, T, C] against r */
static double hidden_diff(const float *out, const float *r, int C)
{
	double w = 0;
	for (int b = 0; b < B; b++) {
		double d = maxdiff(out + (size_t)b * T * C, r + (size_t)b * T * C, (size_t)lens[b] * C);
		if (!(d <= w))
			w = d;
	}
	return w;
}

static void t_forward(tl_bert *m)
{
	const int C = 64, NL = 2;
	const float *hid = ref_t("hidden", (size_t)B * T * C), *hid2 = ref_t("hidden2", (size_t)B * T * C);
	const float *pooled = ref_t("pooled", (size_t)B * C), *logits = ref_t("logits", (size_t)B * NL);
	tl_bert_forward(m, ids, types, lens, B, T, -1);
	double d = hidden_diff(m->out, hid, C);
	printf("padded forward: last hidden state max diff %.3g (bound %g)\n", d, TOL);
	CHECK(d <= TOL);
	d = maxdiff(tl_bert_pooler(m), pooled, (size_t)B * C);
	printf("padded forward: pooler max diff %.3g\n", d);
	CHECK(d <= TOL);
	d = maxdiff(tl_bert_classify(m), logits, (size_t)B * NL);
	printf("padded forward: logits max diff %.3g\n", d);
	CHECK(d <= TOL);
	tl_bert_forward(m, ids, types, lens, B, T, 2);
	d = hidden_diff(m->out, hid2, C);
	printf("padded forward to layer 2: hidden_states[2] max diff %.3g\n", d);
	CHECK(d <= TOL);

	/* the first-token path of tl_bert_encode, at several batch sizes */
	tl_bert_seq s[16];
	for (int b = 0; b < B; b++)
		s[b] = (tl_bert_seq){ids + (size_t)b * T, types + (size_t)b * T, lens[b]};
	float out[16 * 64], cls[16 * 64];
	for (int b = 0; b < B; b++)
		memcpy(cls + (size_t)b * C, hid + (size_t)b * T * C, C * sizeof(float));
	int bss[3] = {1, 4, 6};
	for (int i = 0; i < 3; i++) {
		tl_bert_encode_opts o = {.what = TL_BERT_LOGITS, .batch_size = bss[i]};
		tl_bert_encode(m, s, (size_t)B, &o, out);
		double dl = maxdiff(out, logits, (size_t)B * NL);
		o.what = TL_BERT_POOLER;
		tl_bert_encode(m, s, (size_t)B, &o, out);
		double dp = maxdiff(out, pooled, (size_t)B * C);
		o.what = TL_BERT_POOL;
		o.pool = TL_POOL_CLS;
		o.layer = -1;
		tl_bert_encode(m, s, (size_t)B, &o, out);
		double dc = maxdiff(out, cls, (size_t)B * C);
		printf("encode, batch %d: logits %.3g, pooler %.3g, [CLS] %.3g\n", bss[i], dl, dp, dc);
		CHECK(dl <= TOL);
		CHECK(dp <= TOL);
		CHECK(dc <= TOL);
	}
}

/* bf16 and int8 products on the pruned layers: mean-pooled rows and
 * logits against fp32 */
static void t_precision(tl_bert *m)
{
	const int C = 64;
	tl_bert_seq s[16];
	for (int b = 0; b < B; b++)
		s[b] = (tl_bert_seq){ids + (size_t)b * T, types + (size_t)b * T, lens[b]};
	tl_bert_encode_opts o = {.what = TL_BERT_POOL, .pool = TL_POOL_MEAN, .layer = -1, .batch_size = 4};
	float ref32[16 * 64], out[16 * 64];
	char err[256];
	CHECK(tl_bert_set_precision(m, TL_PREC_FP32, err, sizeof err) == 0);
	tl_bert_encode(m, s, (size_t)B, &o, ref32);
	int precs[2] = {TL_PREC_BF16, TL_PREC_INT8};
	double bound[2] = {0.999, 0.99};
	for (int i = 0; i < 2; i++) {
		if (tl_bert_set_precision(m, precs[i], err, sizeof err) < 0) {
			TEST_SKIP("%s: %s", tl_precision_name(precs[i]), err);
			continue;
		}
		tl_bert_encode(m, s, (size_t)B, &o, out);
		double worst = 1;
		for (int b = 0; b < B; b++) {
			double c = cosine(out + (size_t)b * C, ref32 + (size_t)b * C, C);
			if (!(c >= worst))
				worst = c;
		}
		printf("%s: worst cosine of mean-pooled rows to fp32 %.6f (bound %g)\n", tl_precision_name(precs[i]),
		       worst, bound[i]);
		CHECK(worst >= bound[i]);
	}
	CHECK(tl_bert_set_precision(m, TL_PREC_FP32, err, sizeof err) == 0);
}

/* a copy of the fixture with config.json's pruned_heads replaced by js
 * (NULL: removed); returns the load's message ("" when it loaded) */
static void load_with(const char *js, char *msg, size_t msgsz)
{
	char tmpl[] = "/tmp/tl-prune-XXXXXX", cwd[4096], src[8192], dst[8192];
	char *d = mkdtemp(tmpl);
	if (!d || !getcwd(cwd, sizeof cwd)) {
		snprintf(msg, msgsz, "no temporary directory");
		return;
	}
	snprintf(src, sizeof src, "%s/" DIR "/model.safetensors", cwd);
	snprintf(dst, sizeof dst, "%s/model.safetensors", d);
	if (symlink(src, dst) < 0) {
		snprintf(msg, msgsz, "symlink failed");
		return;
	}
	json_error_t je;
	json_t *cfg = json_load_file(DIR "/config.json", 0, &je);
	if (js)
		json_object_set_new(cfg, "pruned_heads", json_loads(js, 0, &je));
	else
		json_object_del(cfg, "pruned_heads");
	snprintf(dst, sizeof dst, "%s/config.json", d);
	json_dump_file(cfg, dst, 0);
	json_decref(cfg);
	char err[1024] = "";
	tl_bert *m = tl_bert_load(d, NULL, err, sizeof err);
	snprintf(msg, msgsz, "%s", m ? "" : err);
	tl_bert_free(m);
	unlink(dst);
	snprintf(dst, sizeof dst, "%s/model.safetensors", d);
	unlink(dst);
	rmdir(d);
}

static void t_bad(void)
{
	char msg[1024];
	load_with("{\"0\": [1, 2], \"2\": [0, 1, 3], \"3\": [0]}", msg, sizeof msg);
	CHECK_STR(msg, "");
	load_with("{\"0\": [1, 2], \"2\": [1, 3, 0, 3], \"3\": [0]}", msg, sizeof msg); /* a repeat, any order */
	CHECK_STR(msg, "");
	load_with("{\"0\": [1, 2], \"2\": [0, 1, 2, 3], \"3\": [0]}", msg, sizeof msg);
	printf("every head of a layer: %s\n", msg);
	CHECK(strstr(msg, "pruned_heads removes every head of layer 2") != NULL);
	load_with("{\"0\": [1, 2], \"4\": [0]}", msg, sizeof msg);
	printf("layer out of range: %s\n", msg);
	CHECK(strstr(msg, "pruned_heads: layer \"4\" is not a layer number (0..3)") != NULL);
	load_with("{\"0\": [1, 4]}", msg, sizeof msg);
	printf("head out of range: %s\n", msg);
	CHECK(strstr(msg, "pruned_heads: layer 0: head 4 outside 0..3") != NULL);
	load_with("[0, 1]", msg, sizeof msg);
	CHECK(strstr(msg, "pruned_heads is not an object") != NULL);
	load_with(NULL, msg, sizeof msg);
	printf("pruned weights, no pruned_heads: %s\n", msg);
	CHECK(strstr(msg, "hidden_size 64 does not match the weights (32 hidden units") != NULL);
	load_with("{\"0\": [1]}", msg, sizeof msg); /* one head fewer than the weights hold */
	printf("pruned_heads not the weights': %s\n", msg);
	CHECK(strstr(msg, "pruned_heads 48 does not match the weights (32 units") != NULL);
}

static void t_parse(void)
{
	unsigned char pr[8];
	char err[256];
	json_error_t je;
	json_t *c = json_loads("{\"pruned_heads\": {\"1\": [0, 3, 3]}}", 0, &je);
	CHECK_EQ_INT(tl_bert_parse_pruned_heads(c, 2, 4, pr, err, sizeof err), 2);
	unsigned char want[8] = {0, 0, 0, 0, 1, 0, 0, 1};
	CHECK(memcmp(pr, want, 8) == 0);
	json_decref(c);
	c = json_loads("{\"pruned_heads\": {}}", 0, &je);
	CHECK_EQ_INT(tl_bert_parse_pruned_heads(c, 2, 4, pr, err, sizeof err), 0);
	json_decref(c);
	c = json_loads("{\"pruned_heads\": {\"x\": [0]}}", 0, &je);
	CHECK_EQ_INT(tl_bert_parse_pruned_heads(c, 2, 4, pr, err, sizeof err), -1);
	json_decref(c);
	c = json_loads("{\"pruned_heads\": {\"0\": [\"1\"]}}", 0, &je);
	CHECK_EQ_INT(tl_bert_parse_pruned_heads(c, 2, 4, pr, err, sizeof err), -1);
	json_decref(c);
}

static void t_importance(void)
{
	char err[1024];
	tl_bert *m = tl_bert_load("tests/ref/tiny_bert", NULL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	const int32_t *tid = ref_t("tiny_ids", 6 * 8), *tlen = ref_t("tiny_lens", 6), *ty = ref_t("tiny_labels", 6);
	const float *ri = ref_t("tiny_importance", 4), *rn = ref_t("tiny_normalized", 4);
	tl_bert_train t;
	tl_bert_train_init(&t, m, m->cfg.nlabels, 0, 0.02f, 0);
	t.freeze_below = 0;
	tl_bert_train_head_grad_on(&t);
	double imp[4] = {0}, norm[4];
	/* batches [0, 4) and [4, 6), padded to their longest (8 and 4) */
	int32_t ids1[4 * 8], ids2[2 * 4];
	for (int b = 0; b < 4; b++)
		memcpy(ids1 + b * 8, tid + b * 8, 8 * sizeof(int32_t));
	for (int b = 0; b < 2; b++)
		memcpy(ids2 + b * 4, tid + (4 + b) * 8, 4 * sizeof(int32_t));
	tl_bert_importance_batch(&t, ids1, NULL, tlen, 4, 8, ty, imp);
	tl_bert_importance_batch(&t, ids2, NULL, tlen + 4, 2, 4, ty + 4, imp);
	tl_bert_importance_normalize(imp, 2, 2, norm);
	double wi = 0, wn = 0;
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		double di = fabs(imp[i] - ri[i]), dn = fabs(norm[i] - rn[i]);
		ok &= di <= 1e-5 + 1e-4 * fabs(ri[i]) && dn <= 1e-5 + 1e-4 * fabs(rn[i]);
		wi = di > wi ? di : wi;
		wn = dn > wn ? dn : wn;
	}
	printf("importance of tiny_bert: max diff %.3g (raw), %.3g (normalized) to transformers\n", wi, wn);
	CHECK(ok);
	/* global choice: one head can go per layer of 2; the least normalised
	 * first (reference: layer 1 head 1 0.610, then layer 0 head 1 0.655) */
	unsigned char rm[4];
	CHECK(tl_bert_prune_choose(norm, 2, 2, NULL, 1, rm) == 0);
	CHECK(!rm[0] && !rm[1] && !rm[2] && rm[3]);
	CHECK(tl_bert_prune_choose(norm, 2, 2, NULL, 2, rm) == 0);
	CHECK(!rm[0] && rm[1] && !rm[2] && rm[3]);
	CHECK(tl_bert_prune_choose(norm, 2, 2, NULL, 3, rm) == -1); /* each layer keeps one */
	unsigned char pr[4] = {0, 0, 0, 1};
	CHECK(tl_bert_prune_choose(norm, 2, 2, pr, 1, rm) == 0); /* pruned already: not chosen */
	CHECK(!rm[0] && rm[1] && !rm[2] && !rm[3]);
	tl_bert_train_free(&t);
}

/* the fixture without head 1 of layer 3 and without layer 1 */
static void t_write(void)
{
	char tmpl[] = "/tmp/tl-prunew-XXXXXX", err[1024];
	char *d = mkdtemp(tmpl);
	CHECK(d != NULL);
	if (!d)
		return;
	unsigned char rmh[16] = {0}, rml[4] = {0, 1, 0, 0};
	rmh[3 * 4 + 1] = 1;
	int code = 0;
	json_t *info = json_pack("{s:s}", "test", "t_write");
	int rc = tl_bert_prune_write(DIR, d, rmh, rml, info, &code, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	CHECK(rc == 0);
	json_decref(info);
	char p[512];
	snprintf(p, sizeof p, "%s/config.json", d);
	json_error_t je;
	json_t *cfg = json_load_file(p, 0, &je);
	char *ph = cfg ? json_dumps(json_object_get(cfg, "pruned_heads"), JSON_COMPACT) : NULL;
	CHECK_STR(ph, "{\"0\":[1,2],\"1\":[0,1,3],\"2\":[0,1]}");
	CHECK_EQ_INT(json_integer_value(json_object_get(cfg, "num_hidden_layers")), 3);
	free(ph);
	json_decref(cfg);
	snprintf(p, sizeof p, "%s/tl.json", d);
	json_t *tj = json_load_file(p, 0, &je);
	CHECK(tj && json_object_get(json_object_get(tj, "pruning"), "test"));
	json_decref(tj);
	tl_bert *m = tl_bert_load(d, NULL, err, sizeof err);
	CHECK(m != NULL);
	if (m) {
		CHECK_EQ_INT(m->cfg.L, 3);
		CHECK_EQ_INT(tl_bert_layer_heads(m, 2), 2);
		tl_bert_forward(m, ids, types, lens, B, T, -1);
		double dl = maxdiff(tl_bert_classify(m), ref_t("written_logits", (size_t)B * 2), (size_t)B * 2);
		printf("written model: logits max diff %.3g to transformers (bound %g)\n", dl, TOL);
		CHECK(dl <= TOL);
		tl_bert_free(m);
	}
	/* refused: a head pruned already, a layer left without heads, every layer */
	rmh[3 * 4 + 1] = 0;
	rmh[0 * 4 + 1] = 1;
	CHECK(tl_bert_prune_write(DIR, d, rmh, NULL, NULL, &code, err, sizeof err) == -1);
	CHECK(strstr(err, "head 1 of layer 0 is pruned already") != NULL);
	memset(rmh, 0, sizeof rmh);
	rmh[2 * 4 + 2] = 1; /* layer 2's last head */
	CHECK(tl_bert_prune_write(DIR, d, rmh, NULL, NULL, &code, err, sizeof err) == -1);
	CHECK(strstr(err, "layer 2 would keep no attention head") != NULL);
	CHECK_EQ_INT(code, 2);
	memset(rml, 1, sizeof rml);
	CHECK(tl_bert_prune_write(DIR, d, NULL, rml, NULL, &code, err, sizeof err) == -1);
	CHECK(strstr(err, "every encoder layer would be removed") != NULL);
	tl_fs_rmtree(d);
}

int main(void)
{
	char err[1024];
	if (tl_st_open(&ref, DIR "/ref.safetensors", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const tl_st_tensor *t = tl_st_find(&ref, "ids");
	B = (int)t->shape[0];
	T = (int)t->shape[1];
	ids = ref_t("ids", (size_t)B * T);
	types = ref_t("type_ids", (size_t)B * T);
	lens = ref_t("lens", (size_t)B);
	tl_bert *m = tl_bert_load(DIR, NULL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int want[4] = {2, 4, 1, 3};
	CHECK(m->heads != NULL);
	for (int l = 0; l < 4; l++) {
		CHECK_EQ_INT(tl_bert_layer_heads(m, l), want[l]);
		CHECK_EQ_INT(tl_bert_layer_width(m, l), 16 * want[l]);
	}
	t_forward(m);
	t_precision(m);
	/* after the low-precision copies are dropped, fp32 again to the bit */
	t_forward(m);
	tl_bert_free(m);
	t_bad();
	t_parse();
	t_importance();
	t_write();
	tl_st_close(&ref);
	TEST_REPORT("test_prune");
}
