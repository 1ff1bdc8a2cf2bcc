/* test_optim.c - AdamW, SGD, gradient clipping, schedules and the two
 * losses against PyTorch / transformers (tests/ref/optim.safetensors from
 * tests/ref/gen_grads.py). */
#include "testhelp.h"

#include "kernels/cpu/cpu.h"
#include "tl/cli.h"
#include "tl/optim.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

static tl_st_file F;

static float *getf(const char *name, size_t *n)
{
	const tl_st_tensor *t = tl_st_find(&F, name);
	if (!t) {
		fprintf(stderr, "fixture lacks %s\n", name);
		exit(1);
	}
	float *v = malloc(t->numel * sizeof(float) + 4);
	char err[256];
	if (tl_st_read_f32(&F, t, v, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (n)
		*n = t->numel;
	return v;
}

/* The next value of the tests' generator (a 64-bit LCG), uniform in
 * [-0.5, 0.5). */
static float lcg_half(uint64_t *r)
{
	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(*r >> 11) / 9007199254740992.0 - 0.5);
}

/* One step both ways: on a the three calls (clip, step, zeroing), on b
 * the fused tl_optim_step_clip_zero; 1 when the norms, weights, moments
 * and step counts are bitwise equal. */
static int step_both(tl_optim *a, float *pa, float *ga, tl_optim *b, float *pb, float *gb, size_t N, double mx)
{
	double na = tl_optim_clip(a, ga, mx);
	tl_optim_step(a, pa, ga);
	memset(ga, 0, N * sizeof(float));
	double nb = tl_optim_step_clip_zero(b, pb, gb, mx);
	return na == nb && memcmp(pa, pb, N * sizeof(float)) == 0 && memcmp(a->m, b->m, N * sizeof(float)) == 0 &&
	       (!a->v || memcmp(a->v, b->v, N * sizeof(float)) == 0) && a->t == b->t;
}

static double maxdiff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
	return m;
}

int main(void)
{
	tl_init("test_optim");
	char err[256];
	const tl_kernels *tk = tl_kernels_cpu();
	CHECK(tl_st_open(&F, "tests/ref/optim.safetensors", err, sizeof err) == 0);
	size_t n;
	float *p0 = getf("p0", &n), *grads = getf("grads", NULL);

	/* AdamW lr 1e-2, wd 0.1, constant rate; SGD momentum 0.9 */
	for (int kind = 0; kind < 2; kind++) {
		float *traj = getf(kind ? "sgd" : "adamw", NULL);
		tl_optim o;
		tl_optim_init(&o, n, tk);
		o.kind = kind ? TL_OPT_SGD : TL_OPT_ADAMW;
		o.lr = 1e-2f;
		o.wd = 0.1f;
		o.momentum = 0.9f;
		o.sched = TL_SCHED_CONSTANT;
		o.total = 100;
		tl_optim_add(&o, 0, 10, 1.0f, 1, 0);
		tl_optim_add(&o, 10, n - 10, 1.0f, 1, 0);
		float *p = malloc(n * sizeof(float));
		memcpy(p, p0, n * sizeof(float));
		double worst = 0;
		for (int s = 0; s < 6; s++) {
			tl_optim_step(&o, p, grads + (size_t)s * n);
			double d = maxdiff(p, traj + (size_t)s * n, n);
			worst = d > worst ? d : worst;
		}
		CHECK(worst < 1e-6);
		printf("%s: 6 steps, max |tl - torch| = %.2e\n", kind ? "sgd" : "adamw", worst);
		/* a frozen segment and a zero weight decay segment */
		tl_optim_free(&o);
		tl_optim_init(&o, n, tk);
		o.lr = 1e-2f;
		o.wd = 0.1f;
		o.sched = TL_SCHED_CONSTANT;
		tl_optim_add(&o, 0, 10, 1.0f, 1, 1);
		tl_optim_add(&o, 10, n - 10, 0.5f, 0, 0);
		memcpy(p, p0, n * sizeof(float));
		tl_optim_step(&o, p, grads);
		CHECK(memcmp(p, p0, 10 * sizeof(float)) == 0);
		/* first AdamW step without decay: p - lr * sign(g) (|m/sqrt v| = 1) */
		double bad = 0;
		for (size_t i = 10; i < n; i++) {
			double want = p0[i] - 0.5e-2 * (grads[i] > 0 ? 1 : -1);
			bad = fabs(p[i] - want) > bad ? fabs(p[i] - want) : bad;
		}
		CHECK(bad < 1e-6);
		tl_optim_free(&o);
		free(p);
		free(traj);
	}

	/* clip_grad_norm_ over two tensors */
	{
		size_t na, nb;
		float *a = getf("clip_in_a", &na), *b = getf("clip_in_b", &nb);
		float *ra = getf("clip_a", NULL), *rb = getf("clip_b", NULL), *rn = getf("clip_norm", NULL);
		float *g = malloc((na + nb + 3) * sizeof(float));
		memcpy(g, a, na * sizeof(float));
		g[na] = g[na + 1] = g[na + 2] = 7.0f; /* frozen: ignored */
		memcpy(g + na + 3, b, nb * sizeof(float));
		tl_optim o;
		tl_optim_init(&o, na + nb + 3, tk);
		tl_optim_add(&o, 0, na, 1, 1, 0);
		tl_optim_add(&o, na, 3, 1, 1, 1);
		tl_optim_add(&o, na + 3, nb, 1, 1, 0);
		double norm = tl_optim_clip(&o, g, 1.0);
		CHECK_NEAR(norm, rn[0], 1e-4 * rn[0]);
		CHECK(maxdiff(g, ra, na) < 1e-6);
		CHECK(maxdiff(g + na + 3, rb, nb) < 1e-6);
		CHECK(g[na] == 7.0f);
		tl_optim_free(&o);
		free(a), free(b), free(ra), free(rb), free(rn), free(g);
	}

	/* schedules: warmup 4, total 30 */
	{
		static const char *names[] = {"sched_linear", "sched_cosine", "sched_constant"};
		static const int kinds[] = {TL_SCHED_LINEAR, TL_SCHED_COSINE, TL_SCHED_CONSTANT};
		for (int k = 0; k < 3; k++) {
			float *ref = getf(names[k], NULL);
			tl_optim o;
			tl_optim_init(&o, 1, tk);
			o.sched = kinds[k];
			o.warmup = 4;
			o.total = 30;
			double worst = 0;
			for (int s = 0; s < 30; s++) {
				double d = fabs(tl_optim_factor(&o, s) - ref[s]);
				worst = d > worst ? d : worst;
			}
			CHECK(worst < 1e-6);
			printf("%s: 30 steps, max |tl - transformers| = %.2e\n", names[k], worst);
			tl_optim_free(&o);
			free(ref);
		}
		tl_optim o;
		tl_optim_init(&o, 1, tk);
		o.sched = TL_SCHED_STEP;
		o.warmup = 2;
		o.total = 30;
		o.step_size = 5;
		o.gamma = 0.1f;
		CHECK_NEAR(tl_optim_factor(&o, 1), 0.5, 1e-12);
		CHECK_NEAR(tl_optim_factor(&o, 6), 1.0, 1e-12);
		CHECK_NEAR(tl_optim_factor(&o, 7), 0.1, 1e-7);
		CHECK_NEAR(tl_optim_factor(&o, 17), 0.001, 1e-9);
		tl_optim_free(&o);
	}

	/* losses */
	{
		size_t nz;
		float *z = getf("ce_z", &nz), *w = getf("ce_w", NULL), *loss = getf("ce_loss", NULL);
		float *grad = getf("ce_grad", NULL);
		const tl_st_tensor *yt = tl_st_find(&F, "ce_y");
		int32_t y[6];
		memcpy(y, tl_st_bytes(&F, yt), sizeof y);
		float dz[24];
		double l = tk->softmax_xent(dz, z, y, w, NULL, 0.1f, 1.0f, 6, 4);
		CHECK_NEAR(l, loss[0], 1e-6);
		CHECK(maxdiff(dz, grad, 24) < 1e-7);
		printf("cross-entropy (class weights, smoothing 0.1): loss %.7f torch %.7f\n", l, loss[0]);
		float *by = getf("bce_y", NULL), *pw = getf("bce_pw", NULL), *bl = getf("bce_loss", NULL);
		float *bg = getf("bce_grad", NULL);
		l = tk->sigmoid_bce(dz, z, by, pw, 0.1f, 1.0f, 6, 4);
		CHECK_NEAR(l, bl[0], 1e-6);
		CHECK(maxdiff(dz, bg, 24) < 1e-7);
		printf("sigmoid BCE (pos_weight, smoothing 0.1): loss %.7f torch %.7f\n", l, bl[0]);
		free(z), free(w), free(loss), free(grad), free(by), free(pw), free(bl), free(bg);
	}

	/* dropout: deterministic, rate close to p, inverted scaling */
	{
		size_t N = 100000;
		float *x = malloc(N * sizeof(float)), *y1 = malloc(N * sizeof(float)), *y2 = malloc(N * sizeof(float));
		for (size_t i = 0; i < N; i++)
			x[i] = 1.0f;
		tk->dropout_forward(y1, x, N, 0.1f, 42, tl_dropout_stream(3, 1));
		tk->dropout_forward(y2, x, N, 0.1f, 42, tl_dropout_stream(3, 1));
		CHECK(memcmp(y1, y2, N * sizeof(float)) == 0);
		size_t dropped = 0;
		for (size_t i = 0; i < N; i++)
			dropped += y1[i] == 0.0f;
		CHECK(dropped > 9500 && dropped < 10500);
		CHECK_NEAR(y1[dropped ? (y1[0] == 0 ? 1 : 0) : 0], 1.0 / 0.9, 1e-6);
		tk->dropout_forward(y2, x, N, 0.1f, 42, tl_dropout_stream(4, 1));
		CHECK(memcmp(y1, y2, N * sizeof(float)) != 0);
		free(x), free(y1), free(y2);
	}
	/* tl_optim_step_clip_zero: bitwise the same as clip + step + zeroing,
	 * over segments added out of arena order, with gaps, a frozen and a
	 * no-decay segment, clipping on and off, AdamW (fused) and SGD (the
	 * three calls); large enough for the threaded update. */
	for (int kind = 0; kind < 2; kind++)
		for (int clip = 0; clip < 2; clip++) {
			size_t N = 300000;
			tl_optim a, b;
			float *pa = malloc(N * sizeof(float)), *pb = malloc(N * sizeof(float));
			float *ga = malloc(N * sizeof(float)), *gb = malloc(N * sizeof(float));
			uint64_t r = 12345;
			for (size_t i = 0; i < N; i++)
				pa[i] = pb[i] = lcg_half(&r);
			tl_optim *os[2] = {&a, &b};
			for (int k = 0; k < 2; k++) {
				tl_optim_init(os[k], N, tk);
				os[k]->kind = kind ? TL_OPT_SGD : TL_OPT_ADAMW;
				os[k]->momentum = 0.9f;
				os[k]->total = 10;
				os[k]->warmup = 2;
				tl_optim_add(os[k], 200000, 99000, 0.5f, 1, 0);
				tl_optim_add(os[k], 10, 70000, 1.0f, 1, 0);
				tl_optim_add(os[k], 70010, 1000, 1.0f, 0, 1);
				tl_optim_add(os[k], 71010, 120000, 0.8f, 0, 0);
			}
			int same = 1, zeroed = 1;
			for (int step = 0; step < 3; step++) {
				for (size_t i = 0; i < N; i++)
					ga[i] = gb[i] = lcg_half(&r) * 1e-3f;
				same &= step_both(&a, pa, ga, &b, pb, gb, N, clip ? 0.05 : 1e9);
				for (size_t i = 0; i < N; i++)
					zeroed &= gb[i] == 0.0f;
			}
			CHECK(same);
			CHECK(zeroed);
			printf("%s, clipping %s: fused step bitwise equal to clip + step + zero: %s\n",
			       kind ? "sgd" : "adamw", clip ? "on" : "off", same ? "yes" : "no");
			tl_optim_free(&a), tl_optim_free(&b);
			free(pa), free(pb), free(ga), free(gb);
		}

	/* Cold blocks (kernels.h adamw_update_zero), and the row hints that
	 * spare reading the untouched rows (tl_optim_hint_rows: on every odd
	 * step at 1 thread, every step at 2): a gradient that leaves
	 * whole rows at zero, as an embedding's does (rows of 384, most never
	 * touched, some touched at every sixth step, some every step), over
	 * segments that do not start at block boundaries, wd on and off,
	 * clipping on and off, 1 and 2 threads, a frozen segment thawed at
	 * step 3: the fused step with its cold flags is bitwise the three calls; blocks of rows never touched stay
	 * cold. Then an optimizer made at step 3 from a's moments (a resume)
	 * continues bitwise as a. */
	for (int clip = 0; clip < 2; clip++)
		for (int th = 1; th <= 2; th++) {
			tl_cpu_set_threads(th);
			size_t N = 384 * 700 + 37;
			tl_optim a, b, c;
			float *pa = malloc(N * sizeof(float)), *pb = malloc(N * sizeof(float));
			float *ga = malloc(N * sizeof(float)), *gb = malloc(N * sizeof(float));
			uint64_t r = 777;
			for (size_t i = 0; i < N; i++)
				pa[i] = pb[i] = lcg_half(&r);
			tl_optim *os[3] = {&a, &b, &c};
			for (int k = 0; k < 3; k++) {
				tl_optim_init(os[k], N, tk);
				os[k]->total = 20;
				os[k]->warmup = 2;
				tl_optim_add(os[k], 5, 384 * 600, 1.0f, 1, 0);       /* the "embedding", decayed */
				tl_optim_add(os[k], 5 + 384 * 600, 384 * 90, 0.5f, 0, 0); /* no decay */
				tl_optim_add(os[k], 5 + 384 * 690, 384 * 10 + 32, 1.0f, 1, 1); /* frozen */
			}
			int same = 1, resumed = 1;
			for (int step = 0; step < 6; step++) {
				memset(ga, 0, N * sizeof(float));
				for (size_t row = 0; row * 384 + 5 < N; row++) {
					/* rows 0-539 never, 540-589 at the step row % 6, the rest every step */
					if (row < 540 || (row < 590 && row % 6 != (size_t)step))
						continue;
					for (size_t i = 5 + row * 384; i < 5 + (row + 1) * 384 && i < N; i++)
						ga[i] = lcg_half(&r) * 1e-2f;
				}
				memcpy(gb, ga, N * sizeof(float));
				if (step == 3) {
					/* the frozen segment thawed, as gradual unfreezing does */
					for (int k = 0; k < 3; k++)
						os[k]->segs[2].frozen = 0;
					/* c resumes from a's state */
					c.t = a.t;
					c.m = tk->alloc(N * sizeof(float));
					c.v = tk->alloc(N * sizeof(float));
					memcpy(c.m, a.m, N * sizeof(float));
					memcpy(c.v, a.v, N * sizeof(float));
				}
				float *pc = NULL, *gc = NULL;
				if (step >= 3) {
					pc = malloc(N * sizeof(float)), gc = malloc(N * sizeof(float));
					memcpy(pc, pa, N * sizeof(float));
					memcpy(gc, ga, N * sizeof(float));
				}
				double mx = clip ? 0.05 : 1e9;
				/* b is told which rows may be non-zero (tl_optim_hint_rows:
				 * the touched ones, and every 50th row besides), over a
				 * range that holds the first two segments and stops 32
				 * floats short of the third's end (not hinted then) */
				/* at 2 threads in rows of 192 or 96 (a block over two
				 * rows: the general path) instead of 384 */
				size_t w = th == 1 ? 384 : step % 2 ? 192 : 96;
				unsigned char rows[2800];
				for (size_t r = 0; r < 700 * 384 / w; r++) {
					size_t row = r * w / 384;
					rows[r] = !(row < 540 || (row < 590 && row % 6 != (size_t)step)) || row % 50 == 0;
				}
				if (th == 2 || step % 2)
					tl_optim_hint_rows(&b, 5, w, 700 * 384 / w, rows);
				same &= step_both(&a, pa, ga, &b, pb, gb, N, mx);
				same &= b.hint_rows == NULL; /* forgotten by the step */
				for (size_t i = 0; i < N; i++)
					same &= gb[i] == 0.0f;
				if (pc) {
					tl_optim_step_clip_zero(&c, pc, gc, mx);
					resumed &= memcmp(pa, pc, N * sizeof(float)) == 0 &&
						   memcmp(a.m, c.m, N * sizeof(float)) == 0 &&
						   memcmp(a.v, c.v, N * sizeof(float)) == 0;
					/* continue c from a's weights: only its moments and flags carry on */
					free(pc), free(gc);
				}
			}
			/* the flags: rows 0-539 were never touched: their blocks are cold */
			size_t cold = 0, want = 0;
			for (size_t j = 0; j < 384 * 600 / TL_ADAMW_BLOCK; j++) {
				size_t row = j * TL_ADAMW_BLOCK / 384, row_end = (j * TL_ADAMW_BLOCK + TL_ADAMW_BLOCK - 1) / 384;
				int untouched = row_end < 540;
				want += untouched;
				cold += untouched && b.cold && b.cold[b.segs[0].cold_off + j];
				same &= !(b.cold && b.cold[b.segs[0].cold_off + j] && row >= 590);
			}
			CHECK(same);
			CHECK(resumed);
			CHECK(want > 0 && cold == want);
			printf("cold blocks, clipping %s, %d thread(s): bitwise equal to clip + step + zero: %s; "
			       "resumed from the moments: %s; %zu of %zu untouched blocks cold\n",
			       clip ? "on" : "off", th, same ? "yes" : "no", resumed ? "yes" : "no", cold, want);
			tl_optim_free(&a), tl_optim_free(&b), tl_optim_free(&c);
			free(pa), free(pb), free(ga), free(gb);
		}
	tl_cpu_set_threads(1);

	free(p0);
	free(grads);
	tl_st_close(&F);
	TEST_REPORT("test_optim");
}
