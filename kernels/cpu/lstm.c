/* kernels/cpu/lstm.c - one LSTM layer (PyTorch nn.LSTM: one direction,
 * batch_first, gates i, f, g, o), forward and backward.
 *
 * Forward: the input projection of every timestep in one product
 * (x[B*T,I] w_ih^T + b_ih + b_hh into the gates buffer), then per step the
 * recurrent product h_{t-1} w_hh^T added to it and the fused cell (the
 * gate nonlinearities, c and h). Backward: per step, from the last one
 * down, the fused cell backward gives the gate gradients dG[:,t] and then
 * dh_{t-1} = dG[:,t] w_hh; after the loop dx, dw_ih, dw_hh and the biases
 * are single products over all timesteps (dw_hh against the shifted
 * outputs h_{t-1}, h0 at t = 0).
 *
 * Padding: rows t >= lens[b] are skipped by the cell (h, c, gates there
 * are 0, and they carry no gradient); the state of sequence b after its
 * last real step is what hT/cT receive. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#undef I /* complex.h's, through cblas.h: here I is the input size */

static float *lstm_alloc(size_t n)
{
	float *p = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63);
	if (!p)
		tl_oom("out of memory (lstm scratch, %zu floats)", n);
	return p;
}

/* The recurrent product C[rows[m], :N] += A[rows[m], :K] Bm[K,N] (A and
 * C with row strides lda, ldc; Bm row-major) for the listed rows only.
 * Every element is one fmaf chain over k = 0..K-1 in order, started from
 * its value in C: the bits depend on neither the rows listed with it, nor
 * the tiling, nor the threads. Column panels of NB floats are shared out
 * over the OpenMP threads. */
#define NB 64
#define MR 4
static void rec_product(float *C, size_t ldc, const float *A, size_t lda, const float *Bm, int K, int N,
			const int *rows, int M)
{
	int np = (N + NB - 1) / NB;
	int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
	if ((double)M * K * N < 2e5)
		nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
	for (int p = 0; p < np; p++) {
		int n0 = p * NB, nb = N - n0 < NB ? N - n0 : NB;
		for (int m0 = 0; m0 < M; m0 += MR) {
			int mr = M - m0 < MR ? M - m0 : MR;
			float acc[MR][NB];
			const float *a[MR];
			for (int r = 0; r < mr; r++) {
				a[r] = A + (size_t)rows[m0 + r] * lda;
				memcpy(acc[r], C + (size_t)rows[m0 + r] * ldc + n0, (size_t)nb * sizeof(float));
			}
			if (mr == MR && nb == NB) {
				for (int k = 0; k < K; k++) {
					const float *b = Bm + (size_t)k * N + n0;
					for (int r = 0; r < MR; r++) {
						float av = a[r][k];
#pragma omp simd
						for (int j = 0; j < NB; j++)
							acc[r][j] = fmaf(av, b[j], acc[r][j]);
					}
				}
			} else {
				for (int k = 0; k < K; k++) {
					const float *b = Bm + (size_t)k * N + n0;
					for (int r = 0; r < mr; r++) {
						float av = a[r][k];
#pragma omp simd
						for (int j = 0; j < nb; j++)
							acc[r][j] = fmaf(av, b[j], acc[r][j]);
					}
				}
			}
			for (int r = 0; r < mr; r++)
				memcpy(C + (size_t)rows[m0 + r] * ldc + n0, acc[r], (size_t)nb * sizeof(float));
		}
	}
}

static inline float sigm(float x)
{
	return 1.0f / (1.0f + tl_vexpf(-x));
}

/* tanh(x) = 1 - 2 / (exp(2x) + 1): exact at the ends (exp saturates to 0
 * or a huge value), absolute error a few 1e-8 near 0. */
static inline float tanhv(float x)
{
	return 1.0f - 2.0f / (tl_vexpf(2.0f * x) + 1.0f);
}

/* The cell of one row: pre[4H] (pre-activations, overwritten with the
 * activated gates), cprev[H] -> c[H], h[H]. */
static void cell_forward(float *restrict g, float *restrict c, float *restrict h, const float *restrict cprev,
			 int H)
{
	float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
	for (int j = 0; j < H; j++) {
		float i = sigm(gi[j]), f = sigm(gf[j]), gv = tanhv(gg[j]), o = sigm(go[j]);
		float cv = f * (cprev ? cprev[j] : 0.0f) + i * gv;
		gi[j] = i;
		gf[j] = f;
		gg[j] = gv;
		go[j] = o;
		c[j] = cv;
		h[j] = o * tanhv(cv);
	}
}

void tl_cpu_lstm_forward(float *h, float *c, float *gates, float *hT, float *cT, const float *x, const float *h0,
			 const float *c0, const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
			 const int32_t *lens, int B, int T, int I, int H)
{
	if (B <= 0)
		return;
	size_t G = (size_t)4 * H, BT = (size_t)B * T;
	float *gbuf = gates ? gates : lstm_alloc(BT * G);
	float *cbuf = c ? c : lstm_alloc(BT * H);
	/* the biases once, summed as PyTorch's cell does (b_ih + b_hh) */
	float *bias = NULL;
	if (b_ih || b_hh) {
		bias = lstm_alloc(G);
		for (size_t j = 0; j < G; j++)
			bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);
	}
	if (T > 0)
		tl_cpu_matmul_forward(gbuf, x, w_ih, bias, (int)BT, I, (int)G);
	/* w_hh^T [H,4H], the layout of the recurrent product */
	float *wt = lstm_alloc((size_t)H * G);
	for (size_t r = 0; r < G; r++)
		for (int k = 0; k < H; k++)
			wt[(size_t)k * G + r] = w_hh[r * H + k];
	int *rows = malloc(sizeof(int) * (size_t)B);
	if (!rows)
		tl_oom("out of memory");
	for (int t = 0; t < T; t++) {
		/* gates[b,t] += h_{t-1} w_hh^T for the sequences still running */
		int M = 0;
		for (int b = 0; b < B; b++)
			if (t < (lens ? lens[b] : T))
				rows[M++] = b;
		const float *hp = t ? h + (size_t)(t - 1) * H : h0;
		size_t ldh = t ? (size_t)T * H : (size_t)H;
		if (hp && M)
			rec_product(gbuf + (size_t)t * G, (size_t)T * G, hp, ldh, wt, H, (int)G, rows, M);
		for (int b = 0; b < B; b++) {
			size_t r = (size_t)b * T + t;
			int len = lens ? lens[b] : T;
			if (t >= len) {
				memset(gbuf + r * G, 0, G * sizeof(float));
				memset(cbuf + r * H, 0, (size_t)H * sizeof(float));
				memset(h + r * H, 0, (size_t)H * sizeof(float));
				continue;
			}
			const float *cp = t ? cbuf + (r - 1) * H : c0 ? c0 + (size_t)b * H : NULL;
			cell_forward(gbuf + r * G, cbuf + r * H, h + r * H, cp, H);
		}
	}
	for (int b = 0; b < B; b++) {
		int len = lens ? lens[b] : T;
		size_t r = (size_t)b * T + (size_t)(len - 1);
		if (hT) {
			float *d = hT + (size_t)b * H;
			if (len > 0)
				memcpy(d, h + r * H, (size_t)H * sizeof(float));
			else if (h0)
				memcpy(d, h0 + (size_t)b * H, (size_t)H * sizeof(float));
			else
				memset(d, 0, (size_t)H * sizeof(float));
		}
		if (cT) {
			float *d = cT + (size_t)b * H;
			if (len > 0)
				memcpy(d, cbuf + r * H, (size_t)H * sizeof(float));
			else if (c0)
				memcpy(d, c0 + (size_t)b * H, (size_t)H * sizeof(float));
			else
				memset(d, 0, (size_t)H * sizeof(float));
		}
	}
	free(bias);
	free(wt);
	free(rows);
	if (!gates)
		free(gbuf);
	if (!c)
		free(cbuf);
}

/* The cell backward of one row: dhv (gradient w.r.t. h, total) and dc
 * (gradient w.r.t. c from the step above; overwritten with the gradient
 * w.r.t. c_{t-1}), the saved gates g[4H], c[H], cprev[H] (NULL: 0) ->
 * dg[4H], the gradient w.r.t. the pre-activations. */
static void cell_backward(float *restrict dg, float *restrict dc, const float *restrict dhv,
			  const float *restrict g, const float *restrict c, const float *restrict cprev, int H)
{
	const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
	for (int j = 0; j < H; j++) {
		float i = gi[j], f = gf[j], gv = gg[j], o = go[j];
		float tc = tanhv(c[j]);
		float dcv = dc[j] + dhv[j] * o * (1.0f - tc * tc);
		float cp = cprev ? cprev[j] : 0.0f;
		dg[j] = dcv * gv * i * (1.0f - i);
		dg[H + j] = dcv * cp * f * (1.0f - f);
		dg[2 * H + j] = dcv * i * (1.0f - gv * gv);
		dg[3 * H + j] = dhv[j] * tc * o * (1.0f - o);
		dc[j] = dcv * f;
	}
}

void tl_cpu_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh, float *db_ih,
			  float *db_hh, const float *dh, const float *dhT, const float *dcT, const float *x,
			  const float *h0, const float *c0, const float *h, const float *c, const float *gates,
			  const float *w_ih, const float *w_hh, const int32_t *lens, int B, int T, int I, int H)
{
	if (B <= 0)
		return;
	size_t G = (size_t)4 * H, BT = (size_t)B * T;
	float *dG = lstm_alloc(BT * G);
	memset(dG, 0, BT * G * sizeof(float));
	float *dhc = lstm_alloc((size_t)B * H), *dcc = lstm_alloc((size_t)B * H), *dht = lstm_alloc((size_t)H);
	memset(dhc, 0, (size_t)B * H * sizeof(float));
	memset(dcc, 0, (size_t)B * H * sizeof(float));
	int *rows = malloc(sizeof(int) * (size_t)B);
	if (!rows)
		tl_oom("out of memory");
	for (int t = T - 1; t >= 0; t--) {
		for (int b = 0; b < B; b++) {
			int len = lens ? lens[b] : T;
			if (t >= len)
				continue;
			size_t r = (size_t)b * T + t;
			float *dhb = dhc + (size_t)b * H, *dcb = dcc + (size_t)b * H;
			if (t == len - 1) { /* the last real step: the final state's gradient */
				for (int j = 0; j < H; j++) {
					dhb[j] = dhT ? dhT[(size_t)b * H + j] : 0.0f;
					dcb[j] = dcT ? dcT[(size_t)b * H + j] : 0.0f;
				}
			}
			for (int j = 0; j < H; j++)
				dht[j] = dhb[j] + (dh ? dh[r * H + j] : 0.0f);
			const float *cp = t ? c + (r - 1) * H : c0 ? c0 + (size_t)b * H : NULL;
			cell_backward(dG + r * G, dcb, dht, gates + r * G, c + r * H, cp, H);
		}
		/* dh_{t-1} = dG[b,t] w_hh for the sequences running at t (the
		 * others are set at their last step) */
		int M = 0;
		for (int b = 0; b < B; b++)
			if (t < (lens ? lens[b] : T))
				rows[M++] = b;
		for (int m = 0; m < M; m++)
			memset(dhc + (size_t)rows[m] * H, 0, (size_t)H * sizeof(float));
		if (M)
			rec_product(dhc, (size_t)H, dG + (size_t)t * G, (size_t)T * G, w_hh, (int)G, H, rows, M);
	}
	free(rows);
	for (int b = 0; b < B; b++) {
		int len = lens ? lens[b] : T;
		for (int j = 0; j < H; j++) {
			size_t k = (size_t)b * H + j;
			float vh = len > 0 ? dhc[k] : (dhT ? dhT[k] : 0.0f);
			float vc = len > 0 ? dcc[k] : (dcT ? dcT[k] : 0.0f);
			if (dh0)
				dh0[k] += vh;
			if (dc0)
				dc0[k] += vc;
		}
	}
	if (T > 0) {
		if (dx) {
			/* dx[b,t] += dG[b,t] w_ih on the real steps, each row on its
			 * own (the same bits whatever the batch) */
			int *all = malloc(sizeof(int) * BT);
			float *p = lstm_alloc(BT * (size_t)I);
			if (!all)
				tl_oom("out of memory");
			int M = 0;
			for (int b = 0; b < B; b++)
				for (int t = 0; t < (lens ? lens[b] : T); t++) {
					all[M] = b * T + t;
					memset(p + (size_t)all[M] * I, 0, (size_t)I * sizeof(float));
					M++;
				}
			rec_product(p, (size_t)I, dG, G, w_ih, (int)G, I, all, M);
			for (int m = 0; m < M; m++) {
				float *d = dx + (size_t)all[m] * I;
				const float *q = p + (size_t)all[m] * I;
				for (int j = 0; j < I; j++)
					d[j] += q[j];
			}
			free(all);
			free(p);
		}
		tl_cpu_matmul_backward(NULL, dw_ih, db_ih, dG, x, w_ih, (int)BT, I, (int)G);
		if (dw_hh) {
			/* the inputs of the recurrent product: h_{t-1}, h0 (or 0) at t = 0 */
			float *hp = lstm_alloc(BT * H);
			for (int b = 0; b < B; b++) {
				float *d = hp + (size_t)b * T * H;
				if (h0)
					memcpy(d, h0 + (size_t)b * H, (size_t)H * sizeof(float));
				else
					memset(d, 0, (size_t)H * sizeof(float));
				memcpy(d + H, h + (size_t)b * T * H, (size_t)(T - 1) * H * sizeof(float));
			}
			tl_cpu_matmul_backward(NULL, dw_hh, db_hh, dG, hp, w_hh, (int)BT, H, (int)G);
			free(hp);
		} else if (db_hh) {
			tl_cpu_matmul_backward(NULL, NULL, db_hh, dG, x, w_ih, (int)BT, I, (int)G);
		}
	}
	free(dG);
	free(dhc);
	free(dcc);
	free(dht);
}
