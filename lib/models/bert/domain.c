/* lib/models/bert/domain.c - domain-adaptation losses (issue 18): DANN
 * discriminator behind a gradient reversal layer, CORAL, multi-kernel MMD,
 * the DANN lambda schedule. See tl/domain.h.
 *
 * Everything is computed in double from the fp32 inputs (converted once),
 * the matrix products of DANN and CORAL with OpenBLAS dgemm/dsyrk (the
 * tools run OpenBLAS single-threaded: kernels/cpu/memory.c, so the sums'
 * order and the bits are fixed), and rounded to fp32 once when the
 * gradients are written. MMD works on pair differences directly instead of
 * a Gram matrix (O(N^2 C) either way, about 1.5 M multiply-adds at
 * N = 64, C = 384): equal rows then give exact zeros, which the floored
 * bandwidth (huge 1/bw) would otherwise turn into rounding noise. */
#include "tl/domain.h"
#include "tl/util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A double copy of x[n] (the caller frees); NULL when n == 0. */
static double *to_double(const float *x, size_t n)
{
	if (n == 0)
		return NULL;
	double *d = tl_xmalloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

static int all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

static void zero(float *x, size_t n)
{
	if (x && n)
		memset(x, 0, n * sizeof *x);
}

double tl_dann_lambda(double p, double gamma)
{
	if (p < 0)
		p = 0;
	if (p > 1)
		p = 1;
	return 2.0 / (1.0 + exp(-gamma * p)) - 1.0;
}

double tl_dann_loss(const float *f, const int32_t *dom, int n, int C, int H, int D, const float *W1,
		    const float *b1, const float *W2, const float *b2, float lambda, float scale, float *dW1,
		    float *db1, float *dW2, float *db2, float *df, double *acc)
{
	if (acc)
		*acc = 0;
	if (n < 0 || C < 1 || H < 1 || D < 2) {
		if (n >= 0 && C >= 1)
			zero(df, (size_t)n * C);
		return NAN;
	}
	size_t nc = (size_t)n * C, hc = (size_t)H * C, dh = (size_t)D * H;
	int ok = isfinite(lambda) && isfinite(scale) && all_finite(f, nc) && all_finite(W1, hc) &&
		 all_finite(b1, H) && all_finite(W2, dh) && all_finite(b2, D);
	for (int i = 0; ok && i < n; i++)
		ok = dom[i] >= 0 && dom[i] < D;
	if (!ok) {
		zero(df, nc);
		return NAN;
	}
	if (n == 0)
		return 0;

	double *F = to_double(f, nc), *w1 = to_double(W1, hc), *w2 = to_double(W2, dh);
	double *hp = tl_xmalloc((size_t)n * H * sizeof *hp); /* pre-activation */
	double *z = tl_xmalloc((size_t)n * H * sizeof *z);
	double *lg = tl_xmalloc((size_t)n * D * sizeof *lg);

	/* hp = F W1^T + b1; z = relu(hp) */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < H; j++)
			hp[(size_t)i * H + j] = b1[j];
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, C, 1.0, F, C, w1, C, 1.0, hp, H);
	for (size_t i = 0; i < (size_t)n * H; i++)
		z[i] = hp[i] > 0 ? hp[i] : 0;
	/* logits = z W2^T + b2 */
	for (int i = 0; i < n; i++)
		for (int k = 0; k < D; k++)
			lg[(size_t)i * D + k] = b2[k];
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, D, H, 1.0, z, H, w2, H, 1.0, lg, D);

	/* loss and g = dloss/dlogits = (softmax - onehot) / n, in place of lg */
	double loss = 0;
	long right = 0;
	for (int i = 0; i < n; i++) {
		double *r = lg + (size_t)i * D;
		int am = 0;
		for (int k = 1; k < D; k++)
			if (r[k] > r[am])
				am = k;
		right += am == dom[i];
		double mx = r[am], s = 0;
		for (int k = 0; k < D; k++)
			s += exp(r[k] - mx);
		double lse = mx + log(s);
		loss += lse - r[dom[i]];
		for (int k = 0; k < D; k++)
			r[k] = exp(r[k] - lse) / n;
		r[dom[i]] -= 1.0 / n;
	}
	loss /= n;
	if (acc)
		*acc = (double)right / n;

	/* dW2 += scale g^T z; db2 += scale sum_i g */
	double *gw2 = tl_xmalloc(dh * sizeof *gw2);
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, H, n, 1.0, lg, D, z, H, 0.0, gw2, H);
	for (size_t i = 0; i < dh; i++)
		dW2[i] = (float)(dW2[i] + (double)scale * gw2[i]);
	for (int k = 0; k < D; k++) {
		double s = 0;
		for (int i = 0; i < n; i++)
			s += lg[(size_t)i * D + k];
		db2[k] = (float)(db2[k] + (double)scale * s);
	}
	free(gw2);

	/* dz = g W2, masked by relu' (hp > 0), into z */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, D, 1.0, lg, D, w2, H, 0.0, z, H);
	for (size_t i = 0; i < (size_t)n * H; i++)
		if (!(hp[i] > 0))
			z[i] = 0;

	/* dW1 += scale dz^T F; db1 += scale sum_i dz */
	double *gw1 = tl_xmalloc(hc * sizeof *gw1);
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, n, 1.0, z, H, F, C, 0.0, gw1, C);
	for (size_t i = 0; i < hc; i++)
		dW1[i] = (float)(dW1[i] + (double)scale * gw1[i]);
	for (int j = 0; j < H; j++) {
		double s = 0;
		for (int i = 0; i < n; i++)
			s += z[(size_t)i * H + j];
		db1[j] = (float)(db1[j] + (double)scale * s);
	}
	free(gw1);

	/* df = -lambda scale dz W1 (the reversed gradient) into F */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, C, H, -(double)lambda * scale, z, H, w1, C, 0.0,
		    F, C);
	for (size_t i = 0; i < nc; i++)
		df[i] = (float)F[i];

	free(F);
	free(w1);
	free(w2);
	free(hp);
	free(z);
	free(lg);
	return loss;
}

/* The centred copy of x[n, C] (double) and its unbiased covariance [C, C]
 * (full, exactly symmetric). */
static void centred_cov(const float *x, int n, int C, double **xc_out, double **cov_out)
{
	double *xc = to_double(x, (size_t)n * C);
	double *cov = tl_xmalloc((size_t)C * C * sizeof *cov);
	for (int j = 0; j < C; j++) {
		double m = 0;
		for (int i = 0; i < n; i++)
			m += xc[(size_t)i * C + j];
		m /= n;
		for (int i = 0; i < n; i++)
			xc[(size_t)i * C + j] -= m;
	}
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, C, n, 1.0 / (n - 1), xc, C, 0.0, cov, C);
	for (int a = 0; a < C; a++)
		for (int b = 0; b < a; b++)
			cov[(size_t)a * C + b] = cov[(size_t)b * C + a];
	*xc_out = xc;
	*cov_out = cov;
}

double tl_coral_loss(const float *fs, int ns, const float *ft, int nt, int C, float scale, float *dfs, float *dft)
{
	if (ns < 0 || nt < 0 || C < 1)
		return NAN;
	size_t nsc = (size_t)ns * C, ntc = (size_t)nt * C;
	zero(dfs, nsc);
	zero(dft, ntc);
	if (!isfinite(scale) || !all_finite(fs, nsc) || !all_finite(ft, ntc))
		return NAN;
	if (ns < 2 || nt < 2)
		return 0;

	double *xs, *cs, *xt, *ct;
	centred_cov(fs, ns, C, &xs, &cs);
	centred_cov(ft, nt, C, &xt, &ct);
	double loss = 0;
	size_t cc = (size_t)C * C;
	for (size_t i = 0; i < cc; i++) {
		cs[i] -= ct[i]; /* delta = Cov_s - Cov_t */
		loss += cs[i] * cs[i];
	}
	double c2 = (double)C * C;
	loss /= 4 * c2;

	/* dfs = scale xs delta / (C^2 (ns - 1)); dft = -scale xt delta / (C^2 (nt - 1)) */
	double *g = tl_xmalloc((nsc > ntc ? nsc : ntc) * sizeof *g);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ns, C, C, (double)scale / (c2 * (ns - 1)), xs, C, cs,
		    C, 0.0, g, C);
	for (size_t i = 0; i < nsc; i++)
		dfs[i] = (float)g[i];
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nt, C, C, -(double)scale / (c2 * (nt - 1)), xt, C, cs,
		    C, 0.0, g, C);
	for (size_t i = 0; i < ntc; i++)
		dft[i] = (float)g[i];
	free(g);
	free(xs);
	free(cs);
	free(xt);
	free(ct);
	return loss;
}

static const double mmd_mult_default[TL_MMD_NK_DEFAULT] = {0.25, 0.5, 1, 2, 4};

/* Checks the common arguments of the MMD functions and zeroes the
 * gradients: 1 to go on, 0 to return *ret (0 for an empty domain, NaN for
 * invalid input). */
static int mmd_args(const float *fs, int ns, const float *ft, int nt, int C, const float *mult, int nk, float scale,
		    float *dfs, float *dft, double *ret)
{
	*ret = NAN;
	if (ns < 0 || nt < 0 || C < 1 || (mult && nk < 1))
		return 0;
	size_t nsc = (size_t)ns * C, ntc = (size_t)nt * C;
	zero(dfs, nsc);
	zero(dft, ntc);
	int ok = isfinite(scale) && all_finite(fs, nsc) && all_finite(ft, ntc);
	for (int j = 0; ok && mult && j < nk; j++)
		ok = isfinite(mult[j]) && mult[j] > 0;
	if (!ok)
		return 0;
	*ret = 0;
	return ns > 0 && nt > 0;
}

/* The joint batch X = [fs; ft] in double ([N, C], the caller frees) and
 * the squared distances of its pairs a < b into the upper triangle of
 * d2[N, N] (computed directly: exact zeros for equal rows, no cancellation
 * as in |x|^2 + |y|^2 - 2 x.y). Returns the floored base. */
static double mmd_dist(const float *fs, int ns, const float *ft, int nt, int C, double **X_out, double **d2_out)
{
	int N = ns + nt;
	size_t nsc = (size_t)ns * C, ntc = (size_t)nt * C;
	double *X = tl_xmalloc(((size_t)N * C + 1) * sizeof *X);
	for (size_t i = 0; i < nsc; i++)
		X[i] = fs[i];
	for (size_t i = 0; i < ntc; i++)
		X[nsc + i] = ft[i];
	double *d2 = tl_xmalloc(((size_t)N * N + 1) * sizeof *d2);
	double dsum = 0;
	for (int a = 0; a < N; a++) {
		const double *xa = X + (size_t)a * C;
		for (int b = a + 1; b < N; b++) {
			const double *xb = X + (size_t)b * C;
			double s = 0;
			for (int c = 0; c < C; c++) {
				double t = xa[c] - xb[c];
				s += t * t;
			}
			d2[(size_t)a * N + b] = s;
			dsum += s;
		}
	}
	double base = N > 1 ? 2 * dsum / ((double)N * (N - 1)) : 0;
	if (!(base >= TL_MMD_BASE_FLOOR))
		base = TL_MMD_BASE_FLOOR;
	*X_out = X;
	*d2_out = d2;
	return base;
}

/* The loss and gradients from X and d2 (mmd_dist) with bandwidths
 * base * mult[j]. */
static double mmd_core(const double *X, const double *d2, int ns, int nt, int C, const float *mult, int nk,
		       double base, float scale, float *dfs, float *dft)
{
	int N = ns + nt;
	if (!mult)
		nk = TL_MMD_NK_DEFAULT;
	double *ibw = tl_xmalloc((size_t)nk * sizeof *ibw);
	for (int j = 0; j < nk; j++)
		ibw[j] = 1.0 / (base * (mult ? (double)mult[j] : mmd_mult_default[j]));

	/* loss = sum_ab w_ab k(a, b), w = 1/ns^2 (ss), 1/nt^2 (tt), -1/(ns nt)
	 * (st, ts); the diagonal's k(a, a) = nk. d(loss)/dx_a = -4 sum_b
	 * w_ab g_ab (x_a - x_b), g = sum_j k_j / bw_j, accumulated over the
	 * pairs a < b into G (both rows; exact zeros for equal rows). */
	double wss = 1.0 / ((double)ns * ns), wtt = 1.0 / ((double)nt * nt), wst = -1.0 / ((double)ns * nt);
	double loss = nk * (ns * wss + nt * wtt), off = 0;
	double *G = tl_xcalloc((size_t)N * C, sizeof *G);
	for (int a = 0; a < N; a++) {
		const double *xa = X + (size_t)a * C;
		double *ga = G + (size_t)a * C;
		for (int b = a + 1; b < N; b++) {
			double d = d2[(size_t)a * N + b], k = 0, g = 0;
			for (int j = 0; j < nk; j++) {
				double e = exp(-d * ibw[j]);
				k += e;
				g += e * ibw[j];
			}
			double w = b < ns ? wss : a >= ns ? wtt : wst;
			off += w * k;
			double m = w * g;
			if (m == 0)
				continue;
			const double *xb = X + (size_t)b * C;
			double *gb = G + (size_t)b * C;
			for (int c = 0; c < C; c++) {
				double t = m * (xa[c] - xb[c]);
				ga[c] += t;
				gb[c] -= t;
			}
		}
	}
	loss += 2 * off;
	double s4 = -4.0 * scale;
	size_t nsc = (size_t)ns * C, ntc = (size_t)nt * C;
	for (size_t i = 0; i < nsc; i++)
		dfs[i] = (float)(s4 * G[i]);
	for (size_t i = 0; i < ntc; i++)
		dft[i] = (float)(s4 * G[nsc + i]);
	free(G);
	free(ibw);
	return loss;
}

double tl_mmd_base(const float *fs, int ns, const float *ft, int nt, int C)
{
	if (ns < 0 || nt < 0 || C < 1 || !all_finite(fs, (size_t)ns * C) || !all_finite(ft, (size_t)nt * C))
		return NAN;
	double *X, *d2;
	double base = mmd_dist(fs, ns, ft, nt, C, &X, &d2);
	free(X);
	free(d2);
	return base;
}

double tl_mmd_loss(const float *fs, int ns, const float *ft, int nt, int C, const float *mult, int nk,
		   float scale, float *dfs, float *dft)
{
	double ret;
	if (!mmd_args(fs, ns, ft, nt, C, mult, nk, scale, dfs, dft, &ret))
		return ret;
	double *X, *d2;
	double base = mmd_dist(fs, ns, ft, nt, C, &X, &d2);
	double loss = mmd_core(X, d2, ns, nt, C, mult, nk, base, scale, dfs, dft);
	free(X);
	free(d2);
	return loss;
}

double tl_mmd_loss_base(const float *fs, int ns, const float *ft, int nt, int C, const float *mult, int nk,
			double base, float scale, float *dfs, float *dft)
{
	double ret;
	if (!mmd_args(fs, ns, ft, nt, C, mult, nk, scale, dfs, dft, &ret))
		return ret;
	if (!(base > 0) || !isfinite(base))
		return NAN;
	double *X, *d2;
	mmd_dist(fs, ns, ft, nt, C, &X, &d2);
	double loss = mmd_core(X, d2, ns, nt, C, mult, nk, base, scale, dfs, dft);
	free(X);
	free(d2);
	return loss;
}
