/* test_dist.c - the data-parallel path of the fastText trainer (tl/dist.h)
 * without MPI: R threads play R ranks over an in-process all-gather, each
 * with its shard (example index modulo R). The reference is the plain
 * single-process model; the bound is bitwise equality of the saved
 * weights, for R = 2, 3, 5 (5 ranks for 4 examples: an empty shard too),
 * softmax and one-vs-all losses, 1 and 2 threads per rank. Then the
 * ordered gradient sum of BERT's data-parallel steps (fold_tests). */
#include "testhelp.h"
#include "tl/dist.h"
#include "tl/fsutil.h"
#include "tl/linear.h"
#include "tl/rng.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAXR 8

typedef struct {
	pthread_barrier_t bar;
	const void *send[MAXR];
	size_t n[MAXR];
} group;

typedef struct {
	tl_dist d;
	group *g;
} trank;

static int th_allgather(tl_dist *d, const void *send, size_t n, tl_buf *out, size_t *counts, char *err, size_t errsz)
{
	(void)err, (void)errsz;
	group *g = ((trank *)d)->g;
	g->send[d->rank] = send;
	g->n[d->rank] = n;
	pthread_barrier_wait(&g->bar);
	out->len = 0;
	for (int r = 0; r < d->size; r++) {
		counts[r] = g->n[r];
		tl_buf_add(out, g->send[r], g->n[r]);
	}
	pthread_barrier_wait(&g->bar); /* senders' buffers in use until here */
	return 0;
}

/* the examples: text i of nex, label i's class */
static const char *words[] = {"good", "bad", "film", "plot", "great", "awful", "actor", "scene", "boring", "fun"};
static void example(int i, char *text, size_t tsz, char *lab)
{
	uint64_t s = (uint64_t)i * 7919 + 1;
	size_t len = 0;
	int cls = i % 3, nw = 3 + (int)(tl_splitmix64(&s) % 6);
	for (int k = 0; k < nw; k++) {
		int w = (int)(tl_splitmix64(&s) % 10);
		if (k == 0)
			w = cls; /* a word that tells the class */
		len += (size_t)snprintf(text + len, tsz - len, "%s%s", k ? " " : "", words[w]);
	}
	snprintf(lab, 8, "c%d", cls);
}

typedef struct {
	trank rk;
	tl_lin_opts o;
	int nex;
	tl_lin_model *m;
	int code;
	char err[256];
} job;

static tl_lin_model *train_shard(tl_lin_opts *o, int nex, int rank, int size, int *code, char *err, size_t errsz)
{
	tl_lin_data *d = tl_lin_data_new(o);
	char text[256], lab[8];
	for (int i = 0; i < nex; i++) {
		if (i % size != rank)
			continue;
		example(i, text, sizeof text, lab);
		const char *lp = lab;
		size_t ll = strlen(lab);
		tl_lin_data_add(d, text, strlen(text), NULL, NULL, 0, &lp, &ll, 1, 0, err, errsz);
	}
	tl_lin_model *m = tl_lin_train(o, d, NULL, NULL, code, err, errsz);
	tl_lin_data_free(d);
	return m;
}

static void *run_rank(void *p)
{
	job *j = p;
	j->o.dist = &j->rk.d;
	j->m = train_shard(&j->o, j->nex, j->rk.d.rank, j->rk.d.size, &j->code, j->err, sizeof j->err);
	return NULL;
}

/* the bytes of dir/model.safetensors after saving m there */
static char *saved(const tl_lin_model *m, const char *dir, size_t *n)
{
	char err[256], path[512];
	if (tl_lin_save(m, dir, 1, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "save: %s\n", err);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = malloc(1 << 22);
	*n = fread(b, 1, 1 << 22, f);
	fclose(f);
	return b;
}

static void compare(int nex, int size, int loss, int threads, const char *tmp)
{
	tl_lin_opts o;
	tl_lin_opts_default(&o, TL_LIN_FASTTEXT);
	o.dim = 16;
	o.buckets = 1000;
	o.epochs = 3;
	o.batch = 4;
	o.loss = loss;
	o.threads = threads;
	int code;
	char err[256], d1[600], d2[600];
	tl_lin_model *ref = train_shard(&o, nex, 0, 1, &code, err, sizeof err);
	CHECK(ref != NULL);
	group g;
	pthread_barrier_init(&g.bar, NULL, (unsigned)size);
	job jobs[MAXR];
	pthread_t th[MAXR];
	for (int r = 0; r < size; r++) {
		memset(&jobs[r], 0, sizeof jobs[r]);
		jobs[r].rk.d.rank = r;
		jobs[r].rk.d.size = size;
		jobs[r].rk.d.allgather = th_allgather;
		jobs[r].rk.g = &g;
		jobs[r].o = o;
		jobs[r].nex = nex;
		pthread_create(&th[r], NULL, run_rank, &jobs[r]);
	}
	for (int r = 0; r < size; r++)
		pthread_join(th[r], NULL);
	pthread_barrier_destroy(&g.bar);
	snprintf(d1, sizeof d1, "%s/ref", tmp);
	size_t n1 = 0, n2 = 0;
	char *b1 = ref ? saved(ref, d1, &n1) : NULL;
	for (int r = 0; r < size; r++) {
		CHECK(jobs[r].m != NULL);
		if (!jobs[r].m) {
			fprintf(stderr, "rank %d: %s\n", r, jobs[r].err);
			continue;
		}
		snprintf(d2, sizeof d2, "%s/r%d", tmp, r);
		char *b2 = saved(jobs[r].m, d2, &n2);
		CHECK(b1 && b2 && n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0);
		if (!(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0))
			fprintf(stderr, "  nex %d size %d loss %d threads %d rank %d differs\n", nex, size, loss, threads, r);
		CHECK_NEAR(tl_lin_train_loss(jobs[r].m), tl_lin_train_loss(ref), 0);
		free(b2);
		tl_lin_free(jobs[r].m);
	}
	free(b1);
	tl_lin_free(ref);
}

/* ---- the ordered gradient sum of BERT's data-parallel steps ----
 * tl_dist_fold_f32: S terms (micro-batch gradients) over R thread-ranks in
 * rounds of R (term q*R + r is rank r's in round q; ranks past S idle)
 * against the plain left fold ((t0 + t1) + t2) + ... of one process (d
 * NULL). The bound is bitwise equality; the terms span 2^-20 .. 2^20 so
 * that another order (the right fold, checked) gives other bits. The
 * all-gathers are cut to 7 floats to cross chunk edges. */
#define FN 50
#define FMAXS 9
static float fterm[FMAXS][FN];

typedef struct {
	trank rk;
	int S;
	float sum[FN];
	int rc;
	char err[256];
} fjob;

static void *fold_rank(void *p)
{
	fjob *j = p;
	tl_dist *d = &j->rk.d;
	int have = 0;
	for (int q = 0; q * d->size < j->S; q++) {
		int term = q * d->size + d->rank;
		if (tl_dist_fold_f32(d, term < j->S ? fterm[term] : NULL, j->sum, FN, &have, j->err, sizeof j->err) < 0)
			j->rc = -1;
	}
	CHECK_EQ_INT(have, 1);
	return NULL;
}

static void fold_compare(int S, int R)
{
	float ref[FN];
	int have = 0;
	char err[256];
	for (int j = 0; j < S; j++)
		CHECK(tl_dist_fold_f32(NULL, fterm[j], ref, FN, &have, err, sizeof err) == 0);
	group g;
	pthread_barrier_init(&g.bar, NULL, (unsigned)R);
	fjob jobs[MAXR];
	pthread_t th[MAXR];
	for (int r = 0; r < R; r++) {
		memset(&jobs[r], 0, sizeof jobs[r]);
		jobs[r].rk.d.rank = r;
		jobs[r].rk.d.size = R;
		jobs[r].rk.d.allgather = th_allgather;
		jobs[r].rk.g = &g;
		jobs[r].S = S;
		pthread_create(&th[r], NULL, fold_rank, &jobs[r]);
	}
	for (int r = 0; r < R; r++)
		pthread_join(th[r], NULL);
	pthread_barrier_destroy(&g.bar);
	for (int r = 0; r < R; r++) {
		CHECK_EQ_INT(jobs[r].rc, 0);
		CHECK(memcmp(jobs[r].sum, ref, sizeof ref) == 0);
		if (memcmp(jobs[r].sum, ref, sizeof ref))
			fprintf(stderr, "  fold: %d terms over %d ranks: rank %d differs from the plain sum\n", S, R, r);
	}
}

typedef struct {
	trank rk;
	size_t n;
	int rc;
	char err[256];
} gjob;

static void *gather_rank(void *p)
{
	gjob *j = p;
	char mine[16] = {0}, all[64];
	j->rc = tl_dist_allgather_fixed(&j->rk.d, mine, j->n, all, j->err, sizeof j->err);
	return NULL;
}

static void fold_tests(void)
{
	uint64_t s = 12345;
	for (int j = 0; j < FMAXS; j++)
		for (int i = 0; i < FN; i++) {
			double u = (double)(tl_splitmix64(&s) >> 11) / 9007199254740992.0 - 0.5;
			fterm[j][i] = (float)ldexp(u, (int)(tl_splitmix64(&s) % 41) - 20);
		}
	/* the order matters for these terms: a right fold differs somewhere */
	{
		float l[FN], r[FN];
		int diff = 0;
		for (int i = 0; i < FN; i++) {
			l[i] = fterm[0][i];
			for (int j = 1; j < FMAXS; j++)
				l[i] += fterm[j][i];
			r[i] = fterm[FMAXS - 1][i];
			for (int j = FMAXS - 2; j >= 0; j--)
				r[i] += fterm[j][i];
			diff |= memcmp(&l[i], &r[i], sizeof l[i]) != 0;
		}
		CHECK(diff);
	}
	tl_dist_set_fold_chunk(7);
	fold_compare(4, 2);
	fold_compare(9, 2); /* the last round: rank 1 idle */
	fold_compare(9, 4);
	fold_compare(2, 5); /* ranks 2..4 idle throughout */
	fold_compare(1, 3);
	tl_dist_set_fold_chunk(0);
	fold_compare(9, 3); /* one all-gather a round */
	/* ranks that send other lengths: refused on every rank */
	group g;
	pthread_barrier_init(&g.bar, NULL, 2);
	gjob jobs[2];
	pthread_t th[2];
	for (int r = 0; r < 2; r++) {
		memset(&jobs[r], 0, sizeof jobs[r]);
		jobs[r].rk.d = (tl_dist){r, 2, th_allgather, NULL};
		jobs[r].rk.g = &g;
		jobs[r].n = r ? 12 : 8;
		pthread_create(&th[r], NULL, gather_rank, &jobs[r]);
	}
	for (int r = 0; r < 2; r++) {
		pthread_join(th[r], NULL);
		CHECK_EQ_INT(jobs[r].rc, -1);
	}
	CHECK(strstr(jobs[1].err, "rank 1 of 2 sent 12 bytes where 8 were expected") != NULL ||
	      strstr(jobs[1].err, "rank 0 of 2 sent 8 bytes where 12 were expected") != NULL);
	CHECK(strstr(jobs[0].err, "rank 1 of 2 sent 12 bytes where 8 were expected") != NULL);
	pthread_barrier_destroy(&g.bar);
}

int main(void)
{
	char tmp[] = "/tmp/test_dist.XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	compare(40, 2, TL_LOSS_SOFTMAX, 1, tmp);
	compare(40, 3, TL_LOSS_SOFTMAX, 2, tmp);
	compare(41, 3, TL_LOSS_HS, 1, tmp);
	compare(4, 5, TL_LOSS_SOFTMAX, 1, tmp); /* rank 4's shard is empty */

	/* a model that changes with the data: the test can fail */
	{
		tl_lin_opts o;
		tl_lin_opts_default(&o, TL_LIN_FASTTEXT);
		o.dim = 16, o.buckets = 1000, o.epochs = 3, o.batch = 4;
		int code;
		char err[256], d1[600], d2[600];
		tl_lin_model *a = train_shard(&o, 40, 0, 1, &code, err, sizeof err);
		tl_lin_model *b = train_shard(&o, 39, 0, 1, &code, err, sizeof err);
		snprintf(d1, sizeof d1, "%s/a", tmp);
		snprintf(d2, sizeof d2, "%s/b", tmp);
		size_t n1 = 0, n2 = 0;
		char *b1 = saved(a, d1, &n1), *b2 = saved(b, d2, &n2);
		CHECK(b1 && b2 && (n1 != n2 || memcmp(b1, b2, n1) != 0));
		free(b1);
		free(b2);
		tl_lin_free(a);
		tl_lin_free(b);
	}
	/* logreg refuses a group: per-example SGD has no data-parallel form */
	{
		tl_lin_opts o;
		tl_lin_opts_default(&o, TL_LIN_LOGREG);
		trank rk = {{0, 2, th_allgather, NULL}, NULL};
		o.dist = &rk.d;
		tl_lin_data *d = tl_lin_data_new(&o);
		const char *l1 = "a", *l2 = "b";
		size_t ll = 1;
		char err[256];
		tl_lin_data_add(d, "x y", 3, NULL, NULL, 0, &l1, &ll, 1, 0, err, sizeof err);
		tl_lin_data_add(d, "y z", 3, NULL, NULL, 0, &l2, &ll, 1, 0, err, sizeof err);
		int code = 0;
		CHECK(tl_lin_train(&o, d, NULL, NULL, &code, err, sizeof err) == NULL);
		CHECK_EQ_INT(code, 2);
		CHECK(strstr(err, "per-example SGD") != NULL);
		tl_lin_data_free(d);
	}
	fold_tests();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	TEST_REPORT("test_dist");
}
