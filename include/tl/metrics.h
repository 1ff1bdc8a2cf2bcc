/* tl/metrics.h - classification metrics, each defined as scikit-learn
 * defines it (tests/ref/gen_eval.py checks every figure against it).
 *
 * Every function works on plain arrays owned by the caller; none keeps a
 * pointer after it returns. Figures that are undefined for the input (an
 * ROC-AUC with one class only, an average precision without positives)
 * come back as NAN, and the caller reports them as null.
 */
#ifndef TL_METRICS_H
#define TL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* One class: precision, recall, F1 and support (number of gold items). */
typedef struct {
	double precision, recall, f1;
	long support;
} tl_prf;

/* Averages over classes. */
typedef struct {
	double macro_p, macro_r, macro_f1;
	double micro_p, micro_r, micro_f1;
	double weighted_p, weighted_r, weighted_f1;
} tl_prf_avg;

/* Per-class precision/recall/F1 from counts, with scikit-learn's
 * zero_division=0: a ratio with a zero denominator is 0 (a class never
 * predicted has precision 0, a class absent from gold recall 0), and
 * F1 = 2 tp / (n_gold + n_pred) as precision_recall_fscore_support does.
 * tp, n_gold, n_pred have k entries; per (k entries, caller's) receives the
 * per-class figures. avg (may be NULL) receives macro, micro and weighted
 * (by support) averages over the classes i with use[i] != 0 (use NULL: all).
 * Single-label: tp = diagonal of the confusion matrix, n_gold its row sums,
 * n_pred its column sums. Multi-label: counts per label. */
void tl_metrics_prf(const long *tp, const long *n_gold, const long *n_pred, int k,
		    const unsigned char *use, tl_prf *per, tl_prf_avg *avg);

/* Log loss (natural log), as sklearn.metrics.log_loss: the mean over n
 * items of -log(clip(p_gold[i], eps, 1 - eps)), eps = DBL_EPSILON.
 * Probabilities are used as given (not renormalized). NAN when n == 0. */
double tl_metrics_log_loss(const double *p_gold, size_t n);

/* Softmax cross-entropy of one row of k float logits z against class y
 * (0 <= y < k), in double: log(sum_j exp(z[j] - max z)) + max z - z[y]
 * (torch F.cross_entropy of the row). The dev losses of tl-train sum it
 * on the host. */
double tl_metrics_xent_row(const float *z, int k, int y);

/* Area under the ROC curve of score for the items with pos[i] != 0 against
 * the others (sklearn.metrics.roc_auc_score, binary; ties get half credit).
 * NAN when all items are of one class. */
double tl_metrics_roc_auc(const double *score, const unsigned char *pos, size_t n);

/* Average precision (sklearn.metrics.average_precision_score): the sum
 * over distinct score thresholds, highest first, of
 * (recall_i - recall_{i-1}) * precision_i, with no interpolation.
 * NAN when there is no positive item. */
double tl_metrics_average_precision(const double *score, const unsigned char *pos, size_t n);

/* One bin of a reliability table. */
typedef struct {
	double lo, hi;      /* confidence range [lo, hi); the last bin includes hi */
	long n;             /* items in the bin */
	double conf, acc;   /* mean confidence and accuracy in the bin (0 when n == 0) */
} tl_calib_bin;

/* Expected calibration error with nbins equal-width bins on [0, 1]: item
 * i goes to bin floor(conf[i] * nbins) (nbins - 1 for conf == 1);
 * ECE = sum over bins of n_b / n * |acc_b - conf_b|. bins (nbins entries,
 * may be NULL) receives the table. NAN when n == 0. */
double tl_metrics_ece(const double *conf, const unsigned char *correct, size_t n, int nbins,
		      tl_calib_bin *bins);

/* Multi-label figures on n x k 0/1 indicator matrices (row-major). */
double tl_metrics_subset_accuracy(const unsigned char *gold, const unsigned char *pred, size_t n, int k);
double tl_metrics_hamming_loss(const unsigned char *gold, const unsigned char *pred, size_t n, int k);

/* Percentile q in [0, 100] of v[0..n) (sorted in place), interpolated
 * linearly between order statistics as numpy.percentile's default. */
double tl_metrics_percentile(double *v, size_t n, double q);

/* One point of a risk-coverage curve. */
typedef struct {
	double coverage;  /* share of the items kept: n / total */
	long n;           /* items kept: the n most confident */
	double risk;      /* error rate among them (1 - selective accuracy) */
	double threshold; /* the confidence of the least confident one kept */
} tl_rc_point;

/* Risk-coverage curve of a selective classifier that keeps the items of
 * highest confidence: the items are ordered by conf descending (ties by
 * position), and point p (0..npoints-1) keeps the first
 * ceil(n * (p + 1) / npoints) of them; correct[i] says whether item i's
 * prediction is right. out (npoints entries, caller's) receives the
 * points; with n == 0 risk and threshold are NAN and n is 0. */
void tl_metrics_risk_coverage(const double *conf, const unsigned char *correct, size_t n, int npoints,
			      tl_rc_point *out);

/* Accuracy and macro-F1 of one single-label system (labels 0..k-1;
 * a pred < 0 is an abstention: wrong, and no prediction of any class);
 * macro-F1 over the labels that occur in gold or pred, as
 * sklearn.metrics.f1_score(average="macro"). idx (may be NULL: 0..n-1)
 * selects the n items to use, with repetition. */
void tl_metrics_acc_f1(const int *gold, const int *pred, const size_t *idx, size_t n, int k,
		       double *acc, double *macro_f1);

/* Paired bootstrap of system A minus system B on the same n items:
 * resamples times, draw n indices with tl_splitmix64_index (tl/rng.h) from
 * state = seed, compute accuracy and macro-F1 of both on the resample,
 * and keep the differences. ci_acc and ci_f1 receive the percentile
 * interval [(1-level)/2, (1+level)/2] * 100 of the differences. */
void tl_metrics_bootstrap_diff(const int *gold, const int *pa, const int *pb, size_t n, int k,
			       int resamples, uint64_t seed, double level, double ci_acc[2],
			       double ci_f1[2]);

/* McNemar's test on the discordant counts: b = items A got right and B
 * wrong, c = the reverse. Exact: two-sided binomial test of min(b, c) in
 * Bin(b + c, 1/2), p = min(1, 2 P(X <= min(b, c))) (statsmodels'
 * mcnemar(exact=True); 1 when b + c == 0). Chi-square: with continuity
 * correction, stat = (|b - c| - 1)^2 / (b + c), p from chi-square with one
 * degree of freedom (statsmodels' exact=False, correction=True). */
double tl_metrics_mcnemar_exact(long b, long c);
double tl_metrics_mcnemar_chi2(long b, long c, double *stat);

/* Natural string order: digit runs compare as numbers ("2" < "10"),
 * everything else bytewise. strcmp-like result. */
int tl_metrics_natcmp(const char *a, const char *b);

#endif
