/* include/tl/domain.h - domain-adaptation losses on pooled features (issue
 * 18): a DANN domain discriminator behind a gradient reversal layer, CORAL
 * and multi-kernel MMD, and the DANN lambda schedule.
 *
 * These are pure functions on host memory: the features are the caller's
 * fp32 rows (typically tl_bert_train_pooled, copied to the host), every
 * sum, product and exponential is evaluated in double (OpenBLAS dgemm for
 * DANN's and CORAL's matrix products), and the results are rounded to fp32 once at the
 * end. Deterministic: the same inputs give the same bits.
 *
 * Ownership: every pointer argument is the caller's and is not kept after
 * the call. Inputs are read only. Gradients documented as ADDED accumulate
 * into the caller's buffers (the discriminator's parameter gradients, like
 * every other tensor of the grad arena); those documented as ASSIGNED are
 * overwritten (the feature gradients, which the caller then passes to
 * tl_bert_train_add_pooled_grad). Temporary workspace is allocated with
 * tl_xmalloc and freed before returning (an allocation failure ends the
 * process through tl_oom, as everywhere in the library); nothing is cached
 * between calls, so the functions are reentrant.
 *
 * Invalid input (a NaN or infinite feature, parameter, lambda or scale, a
 * domain index outside 0..D-1, a negative row count, C < 1, H < 1, D < 2,
 * a non-positive MMD multiplier): the functions return NaN, do not touch
 * the ADDED gradients and set the ASSIGNED gradients to zero (when the row
 * counts themselves are valid); the caller must refuse the step (the
 * training loop stops with an error).
 * Degenerate but valid batches are documented per function and never give
 * NaN: constant features (zero variance, zero distances), fewer than two
 * rows per domain for CORAL, an empty batch.
 */
#ifndef TL_DOMAIN_H
#define TL_DOMAIN_H

#include <stdint.h>

/* DANN discriminator with a gradient reversal layer (Ganin et al. 2016)
 * on features f[n, C] (row-major), domains dom[n] in 0..D-1:
 *   z = relu(f W1^T + b1)        [n, H]   W1 [H, C], b1 [H]
 *   logits = z W2^T + b2         [n, D]   W2 [D, H], b2 [D]
 *   loss = mean_i CE(logits_i, dom[i])   (torch CrossEntropyLoss, 'mean')
 * Writes dW1, db1, dW2, db2 ADDED, times scale (the discriminator minimises
 * the loss: these are d(scale * loss)/dparam), and df[n, C] ASSIGNED =
 * -lambda * scale * dloss/df (the gradient reversal layer: identity forward,
 * -lambda times the gradient backward, for the feature extractor). lambda = 0
 * gives df = 0 while the discriminator still learns. relu'(0) = 0 (as
 * torch). D >= 2 domains, any number (not only 2). Returns the loss; *acc
 * (may be NULL) = the fraction of rows whose argmax logit (the first on a
 * tie) is dom[i]. n = 0: returns 0, *acc = 0, df untouched (no rows).
 * Invalid input (see above): NaN. */
double tl_dann_loss(const float *f, const int32_t *dom, int n, int C, int H, int D, const float *W1,
		    const float *b1, const float *W2, const float *b2, float lambda, float scale, float *dW1,
		    float *db1, float *dW2, float *db2, float *df, double *acc);

/* The DANN schedule 2 / (1 + exp(-gamma p)) - 1 (the paper's gamma is 10),
 * p = training progress, clamped to [0, 1]: 0 at p = 0, rising to
 * 2 / (1 + e^-gamma) - 1 (0.99991 for gamma 10) at p = 1. */
double tl_dann_lambda(double p, double gamma);

/* CORAL (Sun & Saenko 2016, Deep CORAL's loss): fs[ns, C], ft[nt, C],
 *   loss = ||Cov_s - Cov_t||_F^2 / (4 C^2),
 * covariances unbiased (1 / (n - 1)) about each domain's own mean.
 * Gradients dfs[ns, C] and dft[nt, C] ASSIGNED, times scale:
 *   dfs = scale * (fs - mean_s) (Cov_s - Cov_t) / (C^2 (ns - 1)), dft likewise
 *   with the sign reversed.
 * Fewer than 2 rows in either domain (no covariance): returns 0 with zero
 * gradients (a batch that cannot be aligned is skipped, not refused).
 * Constant features are fine (their covariance rows are 0). */
double tl_coral_loss(const float *fs, int ns, const float *ft, int nt, int C, float scale, float *dfs, float *dft);

/* The default MMD bandwidth multipliers {1/4, 1/2, 1, 2, 4} (mult = NULL). */
#define TL_MMD_NK_DEFAULT 5

/* The bandwidth floor: a base below it (all features equal, or nearly) is
 * raised to it, so no division by zero; with all distances zero every
 * kernel is 1 and the loss is 0 whatever the base. */
#define TL_MMD_BASE_FLOOR 1e-12

/* Squared maximum mean discrepancy, biased estimate with a multi-kernel
 * Gaussian (Long et al. 2015, DAN), between fs[ns, C] and ft[nt, C]:
 *   k(x, y) = sum_j exp(-|x - y|^2 / bw_j),  bw_j = base * mult[j],
 *   loss = mean_ss k + mean_tt k - 2 mean_st k   (means over all pairs,
 *          the diagonals included),
 * base = the mean squared distance over the N (N - 1) ordered pairs of
 * distinct rows of the joint batch (N = ns + nt, the diagonal excluded, as
 * DAN's reference code), floored at TL_MMD_BASE_FLOOR and treated as a
 * constant (no gradient through it: torch's .detach()). mult[nk] (NULL:
 * the default, nk ignored) must be positive. Gradients dfs, dft ASSIGNED,
 * times scale. ns or nt = 0: returns 0, zero gradients. Cost O(N^2 C). */
double tl_mmd_loss(const float *fs, int ns, const float *ft, int nt, int C, const float *mult, int nk,
		   float scale, float *dfs, float *dft);

/* The bandwidth base tl_mmd_loss uses for this batch (the mean squared
 * distance over distinct pairs, floored); NaN on invalid input, the floor
 * when ns + nt < 2. */
double tl_mmd_base(const float *fs, int ns, const float *ft, int nt, int C);

/* tl_mmd_loss with the base given (base > 0, else NaN) instead of computed
 * from the batch: a fixed bandwidth, and the function whose exact gradient
 * tl_mmd_loss returns (finite differences of tl_mmd_loss itself also move
 * its base). tl_mmd_loss(...) == tl_mmd_loss_base(..., tl_mmd_base(...)). */
double tl_mmd_loss_base(const float *fs, int ns, const float *ft, int nt, int C, const float *mult, int nk,
			double base, float scale, float *dfs, float *dft);

#endif
