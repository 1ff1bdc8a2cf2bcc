/* test_metrics.c - lib/eval/metrics.c against scikit-learn / scipy / numpy values
 * (computed with sklearn 1.9.1, scipy 1.17.1, numpy 2.4; the commands are in
 * the comments). The whole-tool parity on real predictions is in
 * tests/bats/eval.bats with the fixtures of tests/ref/gen_eval.py. */
#include "tl/metrics.h"
#include "tl/rng.h"
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>

static void test_prf(void)
{
	/* y = [0,0,1,2,2,2,1,0], p = [0,1,1,2,0,1,1,2]:
	 * precision_recall_fscore_support(y, p, zero_division=0) */
	int y[] = {0, 0, 1, 2, 2, 2, 1, 0}, p[] = {0, 1, 1, 2, 0, 1, 1, 2};
	long tp[3] = {0}, ng[3] = {0}, np_[3] = {0};
	for (int i = 0; i < 8; i++) {
		ng[y[i]]++, np_[p[i]]++;
		tp[y[i]] += y[i] == p[i];
	}
	tl_prf per[3];
	tl_prf_avg avg;
	tl_metrics_prf(tp, ng, np_, 3, NULL, per, &avg);
	CHECK_NEAR(per[0].precision, 0.5, 1e-15);
	CHECK_NEAR(per[0].recall, 1.0 / 3, 1e-15);
	CHECK_NEAR(per[0].f1, 0.4, 1e-15);
	CHECK_NEAR(per[1].recall, 1.0, 1e-15);
	CHECK_NEAR(per[1].f1, 2.0 / 3, 1e-15);
	CHECK_EQ_INT(per[2].support, 3);
	CHECK_NEAR(avg.macro_p, 0.5, 1e-15);
	CHECK_NEAR(avg.macro_r, 0.5555555555555555, 1e-15);
	CHECK_NEAR(avg.macro_f1, 0.48888888888888893, 1e-15);
	CHECK_NEAR(avg.micro_f1, 0.5, 1e-15);
	CHECK_NEAR(avg.weighted_f1, 0.4666666666666667, 1e-15);
	double acc, f1;
	tl_metrics_acc_f1(y, p, NULL, 8, 3, &acc, &f1);
	CHECK_NEAR(acc, 0.5, 1e-15);
	CHECK_NEAR(f1, 0.48888888888888893, 1e-15);

	/* zero_division=0: a class never predicted and a class absent from gold */
	long tp2[2] = {0, 0}, ng2[2] = {4, 0}, np2[2] = {0, 4};
	tl_metrics_prf(tp2, ng2, np2, 2, NULL, per, &avg);
	CHECK(per[0].precision == 0 && per[0].recall == 0 && per[0].f1 == 0);
	CHECK(per[1].precision == 0 && per[1].recall == 0 && per[1].f1 == 0);
	CHECK(avg.weighted_f1 == 0 && avg.micro_p == 0);
	/* use mask: only class 0 enters the averages */
	long tp3[2] = {2, 0}, ng3[2] = {2, 0}, np3[2] = {2, 0};
	unsigned char use[2] = {1, 0};
	tl_metrics_prf(tp3, ng3, np3, 2, use, per, &avg);
	CHECK_NEAR(avg.macro_f1, 1.0, 0);
}

static void test_ranking(void)
{
	/* roc_auc_score(t, s), average_precision_score(t, s) with ties */
	double s[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.3, 0.1};
	unsigned char t[] = {1, 1, 0, 1, 0, 1, 0, 0};
	CHECK_NEAR(tl_metrics_roc_auc(s, t, 8), 0.8125, 1e-15);
	CHECK_NEAR(tl_metrics_average_precision(s, t, 8), 0.7708333333333333, 1e-15);
	unsigned char one[] = {1, 1, 1, 1, 1, 1, 1, 1}, none[8] = {0};
	CHECK(isnan(tl_metrics_roc_auc(s, one, 8)));
	CHECK(isnan(tl_metrics_roc_auc(s, none, 8)));
	CHECK(isnan(tl_metrics_average_precision(s, none, 8)));
	CHECK_NEAR(tl_metrics_average_precision(s, one, 8), 1.0, 1e-15);
	/* log_loss([1,1,1,1], [[1-x, x] for x in (0.9, 0.0, 1.0, 0.3)]): clipped at eps */
	double pg[] = {0.9, 0.0, 1.0, 0.3};
	CHECK_NEAR(tl_metrics_log_loss(pg, 4), 9.33824667727523, 1e-12);
	CHECK(isnan(tl_metrics_log_loss(pg, 0)));
	/* torch F.cross_entropy (float64) of one row: [1,2,3] y=0, [1000,0]
	 * y=1 (no overflow), [-3.5,0.25,7,2] y=2 */
	{
		float z1[] = {1, 2, 3}, z2[] = {1000, 0}, z3[] = {-3.5f, 0.25f, 7, 2};
		CHECK_NEAR(tl_metrics_xent_row(z1, 3, 0), 2.4076059644443806, 1e-12);
		CHECK_NEAR(tl_metrics_xent_row(z2, 2, 1), 1000.0, 1e-12);
		CHECK_NEAR(tl_metrics_xent_row(z3, 4, 2), 0.00790503578050845, 1e-12);
	}
}

static void test_ece(void)
{
	double conf[] = {0.55, 0.6, 0.8, 0.9, 1.0, 0.95};
	unsigned char ok[] = {0, 0, 1, 1, 1, 0};
	tl_calib_bin bins[10];
	double e = tl_metrics_ece(conf, ok, 6, 10, bins);
	/* bins: 5:{.55,0} 6:{.6,0} 8:{.8,1} 9:{.9,1,.95,0} (1.0 joins the last bin) */
	double want = (1 * 0.55 + 1 * 0.6 + 1 * 0.2 + 3 * fabs(2.0 / 3 - (0.9 + 1.0 + 0.95) / 3)) / 6;
	CHECK_NEAR(e, want, 1e-15);
	CHECK_EQ_INT(bins[9].n, 3);
	CHECK_EQ_INT(bins[7].n, 0);
	CHECK_NEAR(bins[9].acc, 2.0 / 3, 1e-15);
	CHECK_NEAR(bins[0].lo, 0, 0);
	CHECK_NEAR(bins[9].hi, 1, 0);
}

static void test_multilabel(void)
{
	unsigned char g[] = {1, 0, 1, 0, 1, 0}, p[] = {1, 0, 1, 1, 1, 0};
	CHECK_NEAR(tl_metrics_subset_accuracy(g, p, 2, 3), 0.5, 0);
	CHECK_NEAR(tl_metrics_hamming_loss(g, p, 2, 3), 1.0 / 6, 1e-15);
}

static void test_stats(void)
{
	/* scipy.stats.binomtest(min(b,c), b+c, 0.5).pvalue and
	 * scipy.stats.chi2.sf((|b-c|-1)^2/(b+c), 1) */
	static const struct {
		long b, c;
		double exact, stat, chi;
	} ref[] = {
		{10, 3, 0.09228515625, 2.769230769230769, 0.0960923294556734},
		{25, 40, 0.08168153394154003, 3.0153846153846153, 0.08247788747320971},
		{1000, 1100, 0.03072070786424249, 4.667142857142857, 0.030745034758993192},
		{0, 5, 0.0625, 3.2, 0.07363827012030258},
		{7, 7, 1.0, 0.07142857142857142, 0.7892680261342813},
	};
	for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
		double st;
		CHECK_NEAR(tl_metrics_mcnemar_exact(ref[i].b, ref[i].c), ref[i].exact, 1e-12 * ref[i].exact + 1e-15);
		CHECK_NEAR(tl_metrics_mcnemar_chi2(ref[i].b, ref[i].c, &st), ref[i].chi, 1e-12);
		CHECK_NEAR(st, ref[i].stat, 1e-12);
	}
	CHECK_NEAR(tl_metrics_mcnemar_exact(0, 0), 1.0, 0);
	/* np.percentile([3,1,4,1,5,9,2,6], q) */
	double v[] = {3, 1, 4, 1, 5, 9, 2, 6};
	CHECK_NEAR(tl_metrics_percentile(v, 8, 2.5), 1.0, 1e-15);
	CHECK_NEAR(tl_metrics_percentile(v, 8, 97.5), 8.475000000000001, 1e-12);
	CHECK_NEAR(tl_metrics_percentile(v, 8, 50), 3.5, 1e-15);
	CHECK_NEAR(tl_metrics_percentile(v, 8, 100), 9, 0);
	/* splitmix64 reference output for seed 0 */
	uint64_t s = 0;
	CHECK(tl_splitmix64(&s) == 0xe220a8397b1dcdafULL);
	CHECK(tl_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
	int out_of_range = 0, hits[7] = {0};
	for (int i = 0; i < 7000; i++) {
		size_t ix = tl_splitmix64_index(&s, 7);
		if (ix >= 7)
			out_of_range++;
		else
			hits[ix]++;
	}
	CHECK_EQ_INT(out_of_range, 0);
	for (int i = 0; i < 7; i++)
		CHECK(hits[i] > 850 && hits[i] < 1150);
	/* bootstrap: identical systems give a zero interval; a better system
	 * a positive one */
	int g[40], a[40], b[40];
	for (int i = 0; i < 40; i++) {
		g[i] = i % 2;
		a[i] = g[i];
		b[i] = i % 4 == 0 ? 1 - g[i] : g[i];
	}
	double ca[2], cf[2];
	tl_metrics_bootstrap_diff(g, a, a, 40, 2, 200, 1, 0.95, ca, cf);
	CHECK(ca[0] == 0 && ca[1] == 0 && cf[0] == 0 && cf[1] == 0);
	tl_metrics_bootstrap_diff(g, a, b, 40, 2, 200, 1, 0.95, ca, cf);
	CHECK(ca[0] > 0 && ca[1] > ca[0] && ca[1] <= 0.5);
}

static void test_natcmp(void)
{
	CHECK(tl_metrics_natcmp("2", "10") < 0);
	CHECK(tl_metrics_natcmp("10", "2") > 0);
	CHECK(tl_metrics_natcmp("a2b", "a10b") < 0);
	CHECK(tl_metrics_natcmp("Business", "Sci/Tech") < 0);
	CHECK(tl_metrics_natcmp("abc", "abc") == 0);
	CHECK(tl_metrics_natcmp("ab", "abc") < 0);
	CHECK(tl_metrics_natcmp("02", "2") != 0);
	CHECK(tl_metrics_natcmp("x9", "x") > 0);
}

/* Abstentions (pred < 0) and the risk-coverage curve, by hand. */
static void test_abstain(void)
{
	/* gold a a b b b; pred a - b a - (-1: abstained) */
	int gold[] = {0, 0, 1, 1, 1}, pred[] = {0, -1, 1, 0, -1};
	double acc, f1;
	tl_metrics_acc_f1(gold, pred, NULL, 5, 2, &acc, &f1);
	CHECK_NEAR(acc, 0.4, 1e-15);
	CHECK_NEAR(f1, 0.5, 1e-15); /* a: P 1/2 R 1/2; b: P 1 R 1/3 F1 1/2 */
	double conf[] = {0.95, 0.6, 0.9, 0.92, 0.55};
	unsigned char ok[] = {1, 1, 1, 0, 0};
	tl_rc_point rc[10];
	tl_metrics_risk_coverage(conf, ok, 5, 10, rc);
	CHECK_EQ_INT(rc[0].n, 1);
	CHECK_NEAR(rc[0].risk, 0, 0);
	CHECK_NEAR(rc[0].threshold, 0.95, 0);
	CHECK_EQ_INT(rc[2].n, 2);
	CHECK_NEAR(rc[2].risk, 0.5, 0);
	CHECK_NEAR(rc[4].risk, 1.0 / 3, 1e-15);
	CHECK_NEAR(rc[6].risk, 0.25, 0);
	CHECK_NEAR(rc[6].threshold, 0.6, 0);
	CHECK_EQ_INT(rc[9].n, 5);
	CHECK_NEAR(rc[9].coverage, 1, 0);
	CHECK_NEAR(rc[9].risk, 0.4, 1e-15);
	tl_metrics_risk_coverage(conf, ok, 0, 10, rc);
	CHECK(rc[9].n == 0 && isnan(rc[9].risk));
}

int main(void)
{
	test_abstain();
	test_prf();
	test_ranking();
	test_ece();
	test_multilabel();
	test_stats();
	test_natcmp();
	TEST_REPORT("test_metrics");
}
