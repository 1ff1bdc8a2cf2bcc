/* include/tl/kernels_train.h - the training primitives of tl's neural models:
 * backward passes, losses, dropout, optimizer updates.
 *
 * A second table beside include/tl/kernels.h with the same conventions
 * (llm.c): outputs first, then inputs, then parameters, sizes last;
 * row-major float32; linear weights [out, in]; all pointers are backend
 * memory (host memory for the CPU backend). A CUDA backend fills the same
 * table later (tl_train_kernels_get("cuda")).
 *
 * Gradients: every _backward kernel ACCUMULATES (+=) into its gradient
 * outputs (dinp, dweight, dbias, ...), so the caller zeroes them once per
 * optimizer step and gradient accumulation over micro-batches is free.
 * A gradient output may be NULL when it is not wanted (frozen parameters,
 * an input that needs no gradient).
 *
 * Determinism: no kernel uses atomics or a thread-count dependent reduction
 * order for a given thread count; reductions over rows are split by output
 * column, so results are bitwise reproducible for a fixed --threads
 * (OpenBLAS sgemm is deterministic for a fixed thread count).
 *
 * Dropout uses a counter-based generator: keep(i) is a pure function of
 * (seed, stream, i) (splitmix64 finaliser), so the forward pass and the
 * backward pass recompute the same mask without storing it, and the mask
 * does not depend on thread scheduling. `stream` identifies the call site
 * and step (see tl_dropout_stream).
 */
#ifndef TL_KERNELS_TRAIN_H
#define TL_KERNELS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

/* A stream id for dropout from (step, site): site numbers a dropout call
 * within one forward pass (layer * 8 + position, ...). */
static inline uint64_t tl_dropout_stream(uint64_t step, uint64_t site)
{
	return step * 0x100000001b3ull + site * 0x9e3779b97f4a7c15ull;
}

/* splitmix64 finaliser of x: a well-mixed 64-bit hash. */
static inline uint64_t tl_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* 1 when element i survives dropout with probability p (drop rate). */
static inline int tl_dropout_keep(uint64_t seed, uint64_t stream, uint64_t i, float p)
{
	uint64_t h = tl_mix64(seed ^ tl_mix64(stream ^ tl_mix64(i)));
	/* 24 random bits -> [0, 1) */
	float u = (float)(h >> 40) * (1.0f / 16777216.0f);
	return u >= p;
}

typedef struct tl_train_kernels {
	const char *name;

	/* ---- backward of kernels.h forward ops ---- */
	/* out = inp W^T + b: dinp[N,IC] += dout W, dweight[OC,IC] += dout^T inp,
	 * dbias[OC] += sum_n dout. */
	void (*matmul_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
				const float *weight, int N, int IC, int OC);
	/* out = (inp - mean) * rstd * weight + bias, with mean/rstd saved by the
	 * forward: dinp, dweight, dbias accumulate. */
	void (*layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout,
				   const float *inp, const float *weight, const float *mean, const float *rstd,
				   int N, int C);
	/* exact erf GELU: dinp[i] += dout[i] * gelu'(inp[i]) (dinp may equal
	 * dout: then it is assigned, dinp[i] = dout[i] * gelu'(inp[i])). */
	void (*gelu_backward)(float *dinp, const float *inp, const float *dout, size_t n);
	/* tanh: out = tanh(x) saved; dinp[i] += dout[i] * (1 - out[i]^2). */
	void (*tanh_backward)(float *dinp, const float *out, const float *dout, size_t n);
	/* embedding: scatter-add of dout[B,T,C] into the rows of dwte (ids),
	 * dwpe (position t) and dwtt (type_ids, NULL: type 0). Rows t >=
	 * lens[b] are skipped (lens may be NULL: all T). */
	void (*embedding_backward)(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
				   const int32_t *type_ids, const int32_t *lens, int B, int T, int C);

	/* ---- attention with probability dropout (training forward + backward) ----
	 * qkv[B,T,3C] as in kernels.h attention_forward; att[B,NH,T,T] receives
	 * the softmax probabilities BEFORE dropout (saved for backward); out is
	 * dropout(att) V with inverted scaling 1/(1-p); p = 0 disables dropout.
	 * Query rows t >= lens[b] give 0. */
	void (*attention_forward)(float *out, float *att, const float *qkv, const int32_t *lens, int B, int T,
				  int C, int NH, float p, uint64_t seed, uint64_t stream);
	/* dqkv[B,T,3C] += gradient from dout[B,T,C]; same p/seed/stream as the
	 * forward. */
	void (*attention_backward)(float *dqkv, const float *dout, const float *qkv, const float *att,
				   const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				   uint64_t stream);

	/* ---- dropout (inverted: kept elements scaled by 1/(1-p)) ----
	 * out[i] = keep(i) ? inp[i] / (1-p) : 0; out may equal inp. */
	void (*dropout_forward)(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream);
	/* dinp[i] += keep(i) ? dout[i] / (1-p) : 0 (dinp may equal dout: then
	 * it is assigned, not accumulated). */
	void (*dropout_backward)(float *dinp, const float *dout, size_t n, float p, uint64_t seed,
				 uint64_t stream);

	/* ---- losses; return the batch loss, write dlogits (assigned) ----
	 * Softmax cross-entropy as torch.nn.CrossEntropyLoss(weight,
	 * label_smoothing, reduction="mean"): row i contributes
	 * -(1-ls) w[y] log p_y - ls/K sum_c w[c] log p_c, and the sum is
	 * divided by sum_i w[y_i] * sw[i]; sw are per-record sample weights
	 * (NULL: 1) multiplied into each row. w NULL: all 1. dlogits[N,K] is the
	 * gradient of that mean, times `scale` (1/accumulation steps). */
	double (*softmax_xent)(float *dlogits, const float *logits, const int32_t *y, const float *w,
			       const float *sw, float ls, float scale, int N, int K);
	/* Sigmoid binary cross-entropy as torch.nn.BCEWithLogitsLoss(mean over
	 * N*K) with targets y[N,K] in {0,1} smoothed to y(1-ls) + ls/2; pw
	 * (NULL: 1) a per-label weight on the positive term (pos_weight). */
	double (*sigmoid_bce)(float *dlogits, const float *logits, const float *y, const float *pw, float ls,
			      float scale, int N, int K);

	/* ---- optimizer ----
	 * AdamW as torch.optim.AdamW (decoupled decay): p -= lr*wd*p;
	 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
	 * p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps). t >= 1. */
	void (*adamw_update)(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			     float b2, float eps, float wd, int t);
	/* The training loop's fused step: AdamW as adamw_update on the gradient
	 * gscale * grad (gradient clipping folded in; 1: none), then grad[i] = 0
	 * (the next step's zero_grad folded in). Bitwise equal to scale(grad,
	 * gscale) (skipped when gscale == 1), adamw_update, memset(grad, 0). */
	void (*adamw_update_zero)(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1,
				  float b2, float eps, float wd, int t, float gscale);
	/* SGD with momentum (torch.optim.SGD, dampening 0, coupled weight decay
	 * as torch: g += wd p; buf = mom buf + g (buf = g at t == 1);
	 * p -= lr buf). buf may be NULL when mom == 0. */
	void (*sgd_update)(float *param, const float *grad, float *buf, size_t n, float lr, float mom, float wd,
			   int t);
	/* sum of squares (accumulated in double, fixed order per thread count). */
	double (*sumsq)(const float *x, size_t n);
	/* x[i] *= s */
	void (*scale)(float *x, size_t n, float s);
	/* 1 if any element is NaN or infinite. */
	int (*nonfinite)(const float *x, size_t n);
} tl_train_kernels;

/* The CPU table (always present). */
const tl_train_kernels *tl_train_kernels_cpu(void);
/* By name ("cpu"), or NULL. */
const tl_train_kernels *tl_train_kernels_get(const char *name);

#endif
