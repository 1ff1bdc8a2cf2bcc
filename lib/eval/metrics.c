/* metrics.c - classification metrics as scikit-learn defines them. */
#include "tl/metrics.h"
#include "tl/rng.h"
#include "tl/util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ratio0(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

void tl_metrics_prf(const long *tp, const long *n_gold, const long *n_pred, int k,
		    const unsigned char *use, tl_prf *per, tl_prf_avg *avg)
{
	long stp = 0, sg = 0, sp = 0;
	double mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
	int m = 0;
	for (int i = 0; i < k; i++) {
		tl_prf x;
		x.precision = ratio0((double)tp[i], (double)n_pred[i]);
		x.recall = ratio0((double)tp[i], (double)n_gold[i]);
		x.f1 = ratio0(2.0 * (double)tp[i], (double)(n_gold[i] + n_pred[i]));
		x.support = n_gold[i];
		if (per)
			per[i] = x;
		if (use && !use[i])
			continue;
		m++;
		stp += tp[i], sg += n_gold[i], sp += n_pred[i];
		mp += x.precision, mr += x.recall, mf += x.f1;
		wp += x.precision * (double)n_gold[i];
		wr += x.recall * (double)n_gold[i];
		wf += x.f1 * (double)n_gold[i];
	}
	if (!avg)
		return;
	avg->macro_p = m ? mp / m : 0;
	avg->macro_r = m ? mr / m : 0;
	avg->macro_f1 = m ? mf / m : 0;
	avg->micro_p = ratio0((double)stp, (double)sp);
	avg->micro_r = ratio0((double)stp, (double)sg);
	avg->micro_f1 = ratio0(2.0 * (double)stp, (double)(sg + sp));
	avg->weighted_p = ratio0(wp, (double)sg);
	avg->weighted_r = ratio0(wr, (double)sg);
	avg->weighted_f1 = ratio0(wf, (double)sg);
}

double tl_metrics_xent_row(const float *z, int k, int y)
{
	double mx = z[0], se = 0;
	for (int j = 1; j < k; j++)
		mx = z[j] > mx ? z[j] : mx;
	for (int j = 0; j < k; j++)
		se += exp((double)z[j] - mx);
	return mx + log(se) - z[y];
}

double tl_metrics_log_loss(const double *p_gold, size_t n)
{
	if (!n)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double p = p_gold[i];
		if (!(p >= DBL_EPSILON))
			p = DBL_EPSILON;
		if (p > 1 - DBL_EPSILON)
			p = 1 - DBL_EPSILON;
		s -= log(p);
	}
	return s / (double)n;
}

/* Sort order for the ranking metrics: score descending. */
static int by_score_desc(const void *a, const void *b, void *ctx)
{
	const double *score = ctx;
	double x = score[*(const size_t *)a], y = score[*(const size_t *)b];
	return x > y ? -1 : x < y ? 1 : 0;
}

static size_t *rank_order(const double *score, size_t n)
{
	size_t *ix = tl_xmalloc(n * sizeof *ix);
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, n, sizeof *ix, by_score_desc, (void *)score);
	return ix;
}

double tl_metrics_roc_auc(const double *score, const unsigned char *pos, size_t n)
{
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		np += pos[i] != 0;
	if (np == 0 || np == n)
		return NAN;
	size_t *ix = rank_order(score, n);
	double tp = 0, fp = 0, tp0 = 0, fp0 = 0, area = 0;
	for (size_t i = 0; i < n;) {
		double s = score[ix[i]];
		for (; i < n && score[ix[i]] == s; i++) {
			if (pos[ix[i]])
				tp++;
			else
				fp++;
		}
		area += (fp - fp0) * (tp + tp0) / 2;
		tp0 = tp, fp0 = fp;
	}
	free(ix);
	return area / ((double)np * (double)(n - np));
}

double tl_metrics_average_precision(const double *score, const unsigned char *pos, size_t n)
{
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		np += pos[i] != 0;
	if (np == 0)
		return NAN;
	size_t *ix = rank_order(score, n);
	double tp = 0, fp = 0, r0 = 0, ap = 0;
	for (size_t i = 0; i < n;) {
		double s = score[ix[i]];
		for (; i < n && score[ix[i]] == s; i++) {
			if (pos[ix[i]])
				tp++;
			else
				fp++;
		}
		double r = tp / (double)np;
		ap += (r - r0) * (tp / (tp + fp));
		r0 = r;
	}
	free(ix);
	return ap < 0 ? 0 : ap;
}

double tl_metrics_ece(const double *conf, const unsigned char *correct, size_t n, int nbins,
		      tl_calib_bin *bins)
{
	double *cs = tl_xcalloc((size_t)nbins, sizeof *cs), *as = tl_xcalloc((size_t)nbins, sizeof *as);
	long *cnt = tl_xcalloc((size_t)nbins, sizeof *cnt);
	for (size_t i = 0; i < n; i++) {
		double c = conf[i];
		long b = (long)floor(c * nbins);
		if (b >= nbins)
			b = nbins - 1;
		if (b < 0)
			b = 0;
		cnt[b]++;
		cs[b] += c;
		as[b] += correct[i] ? 1.0 : 0.0;
	}
	double ece = 0;
	for (int b = 0; b < nbins; b++) {
		double mc = cnt[b] ? cs[b] / (double)cnt[b] : 0, ma = cnt[b] ? as[b] / (double)cnt[b] : 0;
		if (cnt[b])
			ece += (double)cnt[b] / (double)n * fabs(ma - mc);
		if (bins) {
			bins[b].lo = (double)b / nbins;
			bins[b].hi = (double)(b + 1) / nbins;
			bins[b].n = cnt[b];
			bins[b].conf = mc;
			bins[b].acc = ma;
		}
	}
	free(cs), free(as), free(cnt);
	return n ? ece : NAN;
}

double tl_metrics_subset_accuracy(const unsigned char *gold, const unsigned char *pred, size_t n, int k)
{
	if (!n)
		return NAN;
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		ok += memcmp(gold + i * (size_t)k, pred + i * (size_t)k, (size_t)k) == 0;
	return (double)ok / (double)n;
}

double tl_metrics_hamming_loss(const unsigned char *gold, const unsigned char *pred, size_t n, int k)
{
	if (!n || k <= 0)
		return NAN;
	size_t bad = 0;
	for (size_t i = 0; i < n * (size_t)k; i++)
		bad += (gold[i] != 0) != (pred[i] != 0);
	return (double)bad / ((double)n * (double)k);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

double tl_metrics_percentile(double *v, size_t n, double q)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	double pos = q / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	if (lo >= n - 1)
		return v[n - 1];
	double t = pos - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * t;
}

void tl_metrics_acc_f1(const int *gold, const int *pred, const size_t *idx, size_t n, int k,
		       double *acc, double *macro_f1)
{
	long *c = tl_xcalloc((size_t)k * 3, sizeof *c), *tp = c, *ng = c + k, *npr = c + 2 * k;
	size_t ok = 0;
	for (size_t j = 0; j < n; j++) {
		size_t i = idx ? idx[j] : j;
		ng[gold[i]]++;
		if (pred[i] < 0) /* an abstention: a miss, no prediction */
			continue;
		npr[pred[i]]++;
		if (gold[i] == pred[i]) {
			tp[gold[i]]++;
			ok++;
		}
	}
	unsigned char *use = tl_xmalloc((size_t)k);
	for (int i = 0; i < k; i++)
		use[i] = ng[i] + npr[i] > 0;
	tl_prf_avg avg;
	tl_metrics_prf(tp, ng, npr, k, use, NULL, &avg);
	*acc = n ? (double)ok / (double)n : NAN;
	*macro_f1 = avg.macro_f1;
	free(use);
	free(c);
}

void tl_metrics_bootstrap_diff(const int *gold, const int *pa, const int *pb, size_t n, int k,
			       int resamples, uint64_t seed, double level, double ci_acc[2],
			       double ci_f1[2])
{
	size_t *idx = tl_xmalloc((n ? n : 1) * sizeof *idx);
	double *da = tl_xmalloc((size_t)resamples * sizeof *da), *df = tl_xmalloc((size_t)resamples * sizeof *df);
	uint64_t st = seed;
	for (int r = 0; r < resamples; r++) {
		for (size_t j = 0; j < n; j++)
			idx[j] = tl_splitmix64_index(&st, n);
		double a1, f1, a2, f2;
		tl_metrics_acc_f1(gold, pa, idx, n, k, &a1, &f1);
		tl_metrics_acc_f1(gold, pb, idx, n, k, &a2, &f2);
		da[r] = a1 - a2;
		df[r] = f1 - f2;
	}
	double lo = (1 - level) / 2 * 100, hi = (1 + level) / 2 * 100;
	ci_acc[0] = tl_metrics_percentile(da, (size_t)resamples, lo);
	ci_acc[1] = tl_metrics_percentile(da, (size_t)resamples, hi);
	ci_f1[0] = tl_metrics_percentile(df, (size_t)resamples, lo);
	ci_f1[1] = tl_metrics_percentile(df, (size_t)resamples, hi);
	free(idx), free(da), free(df);
}

double tl_metrics_mcnemar_exact(long b, long c)
{
	long n = b + c, m = b < c ? b : c;
	if (n <= 0)
		return 1.0;
	/* P(X <= m), X ~ Bin(n, 1/2): terms in log space, summed from the
	 * largest (i = m) down so small terms do not get lost. */
	double lfn = lgamma((double)n + 1), ln2 = log(2.0) * (double)n, s = 0;
	for (long i = m; i >= 0; i--) {
		double t = exp(lfn - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - ln2);
		s += t;
		if (t < s * 1e-18)
			break;
	}
	double p = 2 * s;
	return p > 1 ? 1 : p;
}

double tl_metrics_mcnemar_chi2(long b, long c, double *stat)
{
	long n = b + c;
	if (n <= 0) {
		if (stat)
			*stat = 0;
		return 1.0;
	}
	double d = fabs((double)(b - c)) - 1;
	double x = d * d / (double)n;
	if (stat)
		*stat = x;
	return erfc(sqrt(x / 2));
}

int tl_metrics_natcmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	while (*p && *q) {
		if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
			while (*p == '0' && p[1] >= '0' && p[1] <= '9')
				p++;
			while (*q == '0' && q[1] >= '0' && q[1] <= '9')
				q++;
			size_t lp = 0, lq = 0;
			while (p[lp] >= '0' && p[lp] <= '9')
				lp++;
			while (q[lq] >= '0' && q[lq] <= '9')
				lq++;
			if (lp != lq)
				return lp < lq ? -1 : 1;
			int c = memcmp(p, q, lp);
			if (c)
				return c < 0 ? -1 : 1;
			p += lp, q += lq;
			continue;
		}
		if (*p != *q)
			return *p < *q ? -1 : 1;
		p++, q++;
	}
	if (*p || *q)
		return *p ? 1 : -1;
	return strcmp(a, b);
}

/* Order of risk_coverage: confidence descending, then position. */
static const double *rc_conf;
static int rc_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (rc_conf[i] != rc_conf[j])
		return rc_conf[i] > rc_conf[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

void tl_metrics_risk_coverage(const double *conf, const unsigned char *correct, size_t n, int npoints,
			      tl_rc_point *out)
{
	for (int p = 0; p < npoints; p++)
		out[p] = (tl_rc_point){(double)(p + 1) / npoints, 0, NAN, NAN};
	if (n == 0)
		return;
	size_t *ord = tl_xmalloc(n * sizeof *ord);
	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	rc_conf = conf;
	qsort(ord, n, sizeof *ord, rc_cmp);
	size_t err = 0, done = 0;
	for (int p = 0; p < npoints; p++) {
		/* ceil(n * (p + 1) / npoints) in integers: exact at every point */
		size_t m = (n * (size_t)(p + 1) + (size_t)npoints - 1) / (size_t)npoints;
		if (m < 1)
			m = 1;
		for (; done < m; done++)
			err += !correct[ord[done]];
		out[p].coverage = (double)m / (double)n;
		out[p].n = (long)m;
		out[p].risk = (double)err / (double)m;
		out[p].threshold = conf[ord[m - 1]];
	}
	free(ord);
}
