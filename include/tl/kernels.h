/* include/tl/kernels.h - the numeric primitives of tl's neural models,
 * inference and training.
 *
 * One table of functions per backend (ggml-backend style): memory,
 * forward ops, their backward ops, losses and optimizer updates. The CPU
 * backend (kernels/cpu, one file per operation) implements it with
 * OpenBLAS sgemm, an AVX-512 GEMM on prepared weights, and vectorised,
 * OpenMP-parallel C; it is the only backend built today. Models call only
 * through the table, so a backend is chosen at run time
 * (tl_kernels_select: --device, $TL_DEVICE, else "cpu"); tl_kernels_at
 * enumerates the backends built in.
 *
 * Conventions (llm.c): outputs first, then inputs, then parameters, sizes
 * last. Row-major float32 everywhere. B batch, T padded sequence length,
 * C channels (hidden size), NH heads, N rows (= B*T) where a kernel does not
 * care about the sequence structure. Linear weights are stored [out, in]
 * as in PyTorch: y = x W^T + b.
 *
 * Memory: every float/int pointer passed to a kernel is backend memory,
 * obtained from k->alloc (host memory for the CPU backend, where alloc is
 * aligned malloc and the copies are memcpy; memory of k->alloc is freed
 * with k->free only, which the CPU backend checks); the caller moves data in and
 * out with to_device/to_host and never touches backend memory with libc
 * (memset, memcpy) unless host_memory is 1. Sequence lengths `lens` are
 * int32 in backend memory too.
 *
 * Padding: sequences are padded on the right to T; lens[b] is the number of
 * real tokens of sequence b. Attention never looks at keys at t >= lens[b]
 * (identical to Hugging Face's additive mask of the dtype's minimum, whose
 * exp underflows to exactly 0), and rows t >= lens[b] of its output are 0.
 *
 * Training: the forward kernels keep what backward needs (LayerNorm
 * mean/rstd, attention probabilities when att != NULL). Backward kernels
 * are named after the forward ones and ACCUMULATE (+=) into their gradient
 * outputs (dinp, dweight, dbias, ...), so the caller zeroes them once per
 * optimizer step and gradient accumulation over micro-batches is free. A
 * gradient output may be NULL when it is not wanted (frozen parameters,
 * an input that needs no gradient).
 *
 * Determinism: no kernel uses atomics or a thread-count dependent reduction
 * order for a given thread count; reductions over rows are split by output
 * column, so results are bitwise reproducible for a fixed --threads
 * (OpenBLAS sgemm is deterministic for a fixed thread count). Dropout masks
 * come from the counter-based generator of tl/dropout.h.
 */
#ifndef TL_KERNELS_H
#define TL_KERNELS_H

#include "tl/dropout.h"

#include <stddef.h>
#include <stdint.h>

enum tl_pool { TL_POOL_CLS = 0, TL_POOL_MEAN = 1, TL_POOL_MAX = 2 };
/* Activation applied by matmul_forward_prepared to its output. */
enum tl_act { TL_ACT_NONE = 0, TL_ACT_GELU = 1 };
/* matmul_forward_bf16io: which side is bf16 rows; TL_IO_OUT_ACC: out
 * (fp32 rows, not with TL_IO_OUT_BF16) += the product + bias */
enum tl_bf16io { TL_IO_IN_BF16 = 1, TL_IO_OUT_BF16 = 2, TL_IO_OUT_ACC = 4 };
/* attention_forward_packed_bf16's mode: bits */
enum tl_att_mode { TL_ATT_FIRST_ONLY = 1, TL_ATT_OUT_BF16 = 2, TL_ATT_IN_BF16 = 4 };
/* Precision of the products of matmul_prepare_prec: fp32; bf16 operands
 * with fp32 accumulation; int8 (weights symmetric per output channel,
 * activations u8 with a zero point per row, int32 accumulation). */
enum tl_precision { TL_PREC_FP32 = 0, TL_PREC_BF16 = 1, TL_PREC_INT8 = 2 };
/* adamw_update_zero's cold flags: elements per flag */
#define TL_ADAMW_BLOCK 64

typedef struct tl_kernels {
	const char *name;  /* "cpu", "cuda" */
	int host_memory;   /* 1: backend memory is ordinary host memory */

	/* ---- memory ---- */
	void *(*alloc)(size_t bytes);            /* never NULL (dies on OOM), zeroed */
	void (*free)(void *p);
	void (*to_device)(void *dst, const void *src, size_t bytes);
	void (*to_host)(void *dst, const void *src, size_t bytes);
	/* Backend memory to backend memory (dst and src do not overlap), and
	 * bytes of backend memory set to the byte value c. */
	void (*copy)(void *dst, const void *src, size_t bytes);
	void (*memset)(void *p, int c, size_t bytes);
	/* Thread budget (CPU: OpenMP and OpenBLAS both, so they do not
	 * oversubscribe). n <= 0: all cores. */
	void (*set_threads)(int n);
	void (*synchronize)(void);

	/* ---- forward ---- */
	/* out[N,OC] = inp[N,IC] weight[OC,IC]^T + bias[OC] (bias may be NULL) */
	void (*matmul_forward)(float *out, const float *inp, const float *weight, const float *bias,
			       int N, int IC, int OC);
	/* out[B,T,C] = wte[ids] + wpe[t] + wtt[type_ids] (type_ids may be NULL:
	 * all 0). ids/type_ids are [B,T]. */
	void (*embedding_forward)(float *out, const int32_t *ids, const int32_t *type_ids,
				  const float *wte, const float *wpe, const float *wtt, int B, int T, int C);
	/* out[N,C] = LayerNorm(inp) * weight + bias; mean/rstd [N] may be NULL
	 * (kept for backward otherwise). out may equal inp. */
	void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp,
				  const float *weight, const float *bias, int N, int C, float eps);
	/* out[n] = a[n] + b[n]; out may equal a or b. */
	void (*residual_forward)(float *out, const float *a, const float *b, size_t n);
	/* out[n] = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (exact, as BERT). */
	void (*gelu_forward)(float *out, const float *inp, size_t n);
	/* Prepared weights, for products repeated with the same weight
	 * (inference). matmul_prepare rearranges weight[OC,IC] IN PLACE into
	 * the layout the backend multiplies fastest with and returns its tag:
	 * > 0, or 0 when it left the weight as it is (no faster layout for
	 * this shape or machine; the CPU backend: no AVX-512F, OC not a
	 * multiple of 32, or TL_GEMM=blas in the environment).
	 * matmul_unprepare restores [OC,IC] bit for bit.
	 * matmul_forward_prepared: out[N,OC] = act(inp W^T + bias) (enum
	 * tl_act; bias may be NULL) on a weight with that tag (0: a plain
	 * [OC,IC] weight, through matmul_forward). Output row n depends on
	 * input row n only: bitwise the same whatever N and the threads. */
	int (*matmul_prepare)(float *weight, int IC, int OC);
	void (*matmul_unprepare)(float *weight, int IC, int OC, int tag);
	void (*matmul_forward_prepared)(float *out, const float *inp, const float *weight, int tag,
					const float *bias, int N, int IC, int OC, int act);
	/* Products at a precision (enum tl_precision) on a weight prepared
	 * once: matmul_prepare_prec reads weight[OC,IC] (left unchanged) and
	 * returns a new prepared copy in backend memory, owned by the caller
	 * and freed with matmul_free_prec (NULL is a no-op); the kernels are
	 * chosen then, from the CPU's instruction sets and $TL_ISA
	 * (tl_isa_level). matmul_forward_prec: out[N,OC] = act(inp[N,IC] W^T +
	 * bias) (bias may be NULL; IC, OC as prepared). bf16: weights rounded
	 * to bf16 once, activations per call (round to nearest even), fp32
	 * accumulation. int8: weights per output channel q = round(w / s),
	 * s = max|w| / 127; each activation row quantized at run time to u8 with
	 * a zero point over [min(0, min x), max(0, max x)]; int32 sums, then
	 * dequantized with the bias (and GELU) in the epilogue. Output row n
	 * depends on input row n only: bitwise the same whatever N and the
	 * threads. */
	void *(*matmul_prepare_prec)(const float *weight, int IC, int OC, int prec);
	/* The same at int8 from a weight quantized already (host memory):
	 * q[OC,IC] and scale[OC] as tl_quantize_row makes them (w = q scale). */
	void *(*matmul_prepare_q8)(const int8_t *q, const float *scale, int IC, int OC);
	void (*matmul_forward_prec)(float *out, const float *inp, const void *pw, const float *bias, int N, int IC,
				    int OC, int act);
	void (*matmul_free_prec)(void *pw);
	/* fp32 training (tl-train --precision fp32): a handle from
	 * matmul_prepare_prec(weight, IC, OC, TL_PREC_FP32) made again from
	 * the updated weight[OC,IC], once per optimizer step, in place and
	 * without allocating: the same bits as a fresh prepare. The forward
	 * Y = X W^T + b is then matmul_forward_prec on it (the inference
	 * micro-kernel, on a layout packed once per step instead of once per
	 * product and thread). Returns the layout's tag: 0 when the handle
	 * holds the plain weight (no faster layout here: a copy that gains
	 * nothing over matmul_forward on the weight itself). */
	int (*matmul_update_fp32)(void *pw, const float *weight);
	/* bf16 training products (tl-train --precision bf16): bf16 operands
	 * rounded to nearest even, fp32 accumulation, fp32 master weights.
	 * matmul_prepare_bf16_train reads weight[OC,IC] (unchanged) and returns
	 * a bf16 handle (freed with matmul_free_prec) holding the weight in the
	 * layouts of both products; matmul_forward_prec on it is the forward
	 * Y = X W^T + b. matmul_update_bf16_train re-rounds the handle from the
	 * (updated) fp32 weight, once per optimizer step. matmul_backward_bf16
	 * is matmul_backward with bf16 products: dinp[N,IC] += dout W (dout
	 * rounded per call, W the handle's), dweight[OC,IC] += dout^T inp (both
	 * rounded per call), dbias[OC] += sum_n dout in fp32 (the same bits as
	 * matmul_backward's); any of the three may be NULL. Each output
	 * element is one fp32 sum over the whole K in order, added once: the
	 * bits do not depend on the threads or the instruction set
	 * (vdpbf16ps, its AVX-512F fallback, the C reference). */
	void *(*matmul_prepare_bf16_train)(const float *weight, int IC, int OC);
	void (*matmul_update_bf16_train)(void *pw, const float *weight);
	void (*matmul_backward_bf16)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
				     const void *pw, int N, int IC, int OC);
	/* Multi-head scaled dot-product attention over qkv[B,T,3C] (q, k, v
	 * concatenated per token, heads of size C/NH within each):
	 * out[B,T,C]; att[B,NH,T,T] the softmax probabilities (may be NULL
	 * when not training). */
	void (*attention_forward)(float *out, float *att, const float *qkv, const int32_t *lens,
				  int B, int T, int C, int NH);
	/* Packed layout: the lens[b] real rows of each sequence back to back,
	 * N = sum(lens) rows, no padding. pack_rows moves rows of width C
	 * (enum tl_rows): TL_ROWS_PACK from the padded [B,T,C] layout to the
	 * packed one; TL_ROWS_UNPACK back (padding rows of dst zeroed);
	 * TL_ROWS_FIRST the first row of each packed sequence into dst[B,C]
	 * (T unused). dst != src. */
	void (*pack_rows)(float *dst, const float *src, const int32_t *lens, int B, int T, int C, int mode);
	/* attention_forward over packed qkv[N,3C] into packed out[N,C] (no
	 * probabilities): the inference path, where padding rows cost nothing.
	 * first_only: only the first query of each sequence (the [CLS] row),
	 * out[B,C]; keys and values are still every row. */
	void (*attention_forward_packed)(float *out, const float *qkv, const int32_t *lens, int B, int C,
					 int NH, int first_only);
	/* attention_forward_packed with both products (scale Q K^T and P V)
	 * on bf16 operands with fp32 sums, the softmax in fp32: the attention
	 * of --precision bf16 (on fp32 rows, sequences under 64 tokens run
	 * the fp32 attention). The same bits for any batch and thread count; the
	 * kernel path follows tl_isa_level. May be NULL (not offered).
	 * mode (enum tl_att_mode): TL_ATT_FIRST_ONLY is first_only above;
	 * with TL_ATT_OUT_BF16, out holds bf16 rows of C (the format of
	 * add_layernorm_forward_bf16 below: each fp32 result rounded to
	 * nearest even), for matmul_forward_bf16io's TL_IO_IN_BF16; with
	 * TL_ATT_IN_BF16, qkv is bf16 rows of 3C (matmul_forward_bf16io's
	 * TL_IO_OUT_BF16), used as they are, and every sequence runs the bf16
	 * kernel (the same bits as the fp32 rows rounded give there). */
	void (*attention_forward_packed_bf16)(float *out, const float *qkv, const int32_t *lens, int B, int C,
					      int NH, int mode);
	/* Fused inference forms. out[N,C] = GELU(inp + bias[c]) (bias may be
	 * NULL; out may equal inp). */
	void (*bias_gelu_forward)(float *out, const float *inp, const float *bias, int N, int C);
	/* out[N,C] = LayerNorm(a + (b + bbias[c])) * weight + bias (bbias may be
	 * NULL; out may equal a or b). */
	void (*add_layernorm_forward)(float *out, const float *a, const float *b, const float *bbias,
				      const float *weight, const float *bias, int N, int C, float eps);
	/* bf16 activation rows, for --precision bf16's inference forward: the
	 * producer of a product's input writes it rounded to bf16 once, and
	 * the product reads it without a conversion pass of its own. A bf16
	 * row of C values is C uint16_t (bf16 of element c at index c, round
	 * to nearest even, NaN a quiet NaN: the bits matmul_forward_prec's
	 * own rounding gives), padded to an even count with a zero.
	 * add_layernorm_forward_bf16 is add_layernorm_forward (b == NULL: the
	 * plain layernorm_forward of a, without mean/rstd; out may equal a)
	 * that also writes out_bf16[N, C] (bf16 rows) of out; the same fp32
	 * bits. matmul_forward_bf16io is matmul_forward_prec on a bf16 weight
	 * with (io, enum tl_bf16io) inp as bf16 rows of IC and/or out as bf16
	 * rows of OC (rounded after the bias and GELU); the results are the
	 * bits matmul_forward_prec gives (then rounded) on the same values.
	 * With TL_IO_OUT_ACC each fp32 out element becomes out + (the product
	 * + bias), the sum add_layernorm_forward forms from its a, b and
	 * bbias (the same bits), so that a residual LayerNorm reads one
	 * array instead of two. io 0: matmul_forward_prec. Both may be NULL
	 * (not offered). */
	void (*add_layernorm_forward_bf16)(float *out, void *out_bf16, const float *a, const float *b,
					   const float *bbias, const float *weight, const float *bias, int N, int C,
					   float eps);
	void (*matmul_forward_bf16io)(void *out, const void *inp, const void *pw, const float *bias, int N, int IC,
				      int OC, int act, int io);
	/* BERT pooler: out[B,OC] = tanh(hidden[b, 0, :] W^T + bias). */
	void (*pooler_forward)(float *out, const float *hidden, const float *weight, const float *bias,
			       int B, int T, int C, int OC);
	/* Pool the real tokens of each sequence: out[B,C] (enum tl_pool). */
	void (*pool_forward)(float *out, const float *hidden, const int32_t *lens, int B, int T, int C,
			     int mode);
	/* Rows of x[N,C] scaled to unit L2 norm (a zero row stays zero). */
	void (*l2norm_forward)(float *x, int N, int C);

	/* ---- backward of the forward ops above ---- */
	/* out = inp W^T + b: dinp[N,IC] += dout W, dweight[OC,IC] += dout^T inp,
	 * dbias[OC] += sum_n dout. */
	void (*matmul_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
				const float *weight, int N, int IC, int OC);
	/* out = (inp - mean) * rstd * weight + bias, with mean/rstd saved by the
	 * forward: dinp, dweight, dbias accumulate. */
	void (*layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout,
				   const float *inp, const float *weight, const float *mean, const float *rstd,
				   int N, int C);
	/* The training forward of a linear layer followed by GELU on a handle
	 * of matmul_prepare_prec: pre = inp W^T + bias and out = GELU(pre),
	 * both kept (the backward needs pre). The bits of
	 * matmul_forward_prec(pre, ..., TL_ACT_NONE) then gelu_forward(out,
	 * pre). Optional (NULL: those calls). */
	void (*matmul_forward_gelu_keep)(float *pre, float *out, const float *inp, const void *pw, const float *bias,
					 int N, int IC, int OC);
	/* The forward of a residual block's end in one pass over the rows:
	 * res = dropout(res) + x (res holds the block's output y on entry),
	 * out = LayerNorm(res) with mean and rstd saved as layernorm_forward's.
	 * The bits of dropout_forward(res, res), residual_forward(res, res, x),
	 * layernorm_forward(out, mean, rstd, res). Optional (NULL: those
	 * calls). */
	void (*dropout_add_layernorm_forward)(float *res, float *out, float *mean, float *rstd, const float *x,
					      const float *weight, const float *bias, int N, int C, float eps,
					      float p, uint64_t seed, uint64_t stream);
	/* The two backward steps of a residual block's end, x = LN(r), r = h +
	 * dropout(y), in one pass over the rows: dres = d r (the gradient
	 * that flows to h, assigned; dres may equal dout) and ddrop = d y =
	 * dropout_backward of d r (assigned); dweight, dbias accumulate as in
	 * layernorm_backward. The bits of memset(dres), layernorm_backward(dres),
	 * then ddrop = dropout_backward(copy of dres). Optional (NULL: those
	 * calls). */
	void (*layernorm_backward_dropout)(float *dres, float *ddrop, float *dweight, float *dbias, const float *dout,
					   const float *inp, const float *weight, const float *mean,
					   const float *rstd, int N, int C, float p, uint64_t seed, uint64_t stream);
	/* The backward of out = GELU(pre) W^T + b, inp = GELU(pre) [N,IC]:
	 * dpre[N,IC] = (dout W) * gelu'(pre), assigned (GELU's backward fused
	 * into the product's tiles); dweight, dbias accumulate as in
	 * matmul_backward. The bits of memset(t), matmul_backward(t, ...),
	 * memset(dpre), gelu_backward(dpre, pre, t). Optional (NULL: those
	 * calls). */
	void (*matmul_backward_gelu)(float *dpre, float *dweight, float *dbias, const float *dout, const float *inp,
				     const float *weight, const float *pre, int N, int IC, int OC);
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
	 * qkv[B,T,3C] as in attention_forward; att[B,NH,T,T] receives
	 * the softmax probabilities BEFORE dropout (saved for backward); out is
	 * dropout(att) V with inverted scaling 1/(1-p); p = 0 disables dropout.
	 * Query rows t >= lens[b] give 0. packed: qkv and out hold only the
	 * real rows instead, sequence after sequence (sequence b's min(lens[b],
	 * T) rows after those of the sequences before it: [N,3C] and [N,C]);
	 * att keeps its padded shape. The same bits either way. */
	void (*attention_forward_train)(float *out, float *att, const float *qkv, const int32_t *lens, int B,
					int T, int C, int NH, float p, uint64_t seed, uint64_t stream, int packed);
	/* dqkv[B,T,3C] += gradient from dout[B,T,C]; same p/seed/stream as the
	 * forward; packed: dqkv, dout and qkv packed as in the forward, and
	 * dqkv assigned, not accumulated (the same bits as accumulating into
	 * zeros). */
	void (*attention_backward)(float *dqkv, const float *dout, const float *qkv, const float *att,
				   const int32_t *lens, int B, int T, int C, int NH, float p, uint64_t seed,
				   uint64_t stream, int packed);

	/* ---- LSTM (one layer, one direction: PyTorch nn.LSTM, batch_first) ----
	 * Gates in PyTorch's order i, f, g, o: w_ih[4H,I], w_hh[4H,H], b_ih[4H],
	 * b_hh[4H] (either bias may be NULL). x[B,T,I] (I is the In argument:
	 * <complex.h> makes I a macro); lens[b] in [0, T] real
	 * steps of sequence b (NULL: all T; 0 allowed: the state passes
	 * through). h0, c0 [B,H] the initial state (NULL: zeros).
	 * lstm_forward writes h[B,T,H] (rows t >= lens[b] are 0), c[B,T,H] the
	 * cell states and gates[B,T,4H] the activated gates (sigmoid i, f, o;
	 * tanh g), both kept for backward (both may be NULL at inference), and
	 * hT, cT [B,H] the state after step lens[b]-1 (h0/c0 or 0 when
	 * lens[b] == 0; either may be NULL). c, gates and h are 0 at padded
	 * steps. Bits: every output row depends on its own sequence only (not
	 * on the rest of the batch), the same whatever the threads and the
	 * instruction set (kernels/cpu/lstm.c, tests/unit/test_lstm_kernel.c);
	 * dw_ih/dw_hh go through the sgemm of matmul_backward (fixed order
	 * per thread count). Nonlinearities: vmath.h's exp (sigmoid
	 * 1/(1+e^-x), tanh 1-2/(e^2x+1)): max abs error 8.9e-8 and 1.8e-7
	 * against double-precision libm on [-20, 20].
	 * pw_ih, pw_hh: NULL (fp32), or matmul_prepare_bf16_train handles
	 * of w_ih (In, 4H) and w_hh (H, 4H), rounded from them
	 * (matmul_update_bf16_train) after each change; both calls of a step
	 * take the same ones. pw_ih: the products that do not recur (x
	 * w_ih^T; in the backward dx = dG w_ih, dw_ih = dG^T x, dw_hh = dG^T
	 * h_{t-1}) run on bf16 operands with fp32 sums; pw_hh: so does the
	 * recurrence (h_{t-1} rounded at every step) and its backward dh =
	 * dG_{t+1} w_hh. The kernels and bits are the bf16 training
	 * products' (the same on every path below AMX, AMX its own); the
	 * cells and their backward stay fp32; row independence and thread
	 * independence hold as in fp32. */
	void (*lstm_forward)(float *h, float *c, float *gates, float *hT, float *cT, const float *x,
			     const float *h0, const float *c0, const float *w_ih, const float *w_hh,
			     const float *b_ih, const float *b_hh, const int32_t *lens, int B, int T, int In, int H,
			     const void *pw_ih, const void *pw_hh);
	/* lstm_backward ACCUMULATES into dx[B,T,I], dh0, dc0 [B,H], dw_ih,
	 * dw_hh, db_ih, db_hh (any may be NULL) from dh[B,T,H] (the gradient
	 * w.r.t. h; NULL: none; rows t >= lens[b] ignored) and dhT, dcT [B,H]
	 * (w.r.t. the final state; NULL: none); x, h0, c0, h, c, gates as given
	 * to and written by lstm_forward. Padded steps get no gradient. */
	void (*lstm_backward)(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh, float *db_ih,
			      float *db_hh, const float *dh, const float *dhT, const float *dcT, const float *x,
			      const float *h0, const float *c0, const float *h, const float *c, const float *gates,
			      const float *w_ih, const float *w_hh, const int32_t *lens, int B, int T, int In, int H,
			      const void *pw_ih, const void *pw_hh);

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
	/* Language-model cross-entropy over a large vocabulary, rows in
	 * place: for each of the n rows z_i[V] of logits, rowloss[i] =
	 * logsumexp(z_i) - z_i[y_i], in double (summed by the caller); with
	 * grad, z_i becomes f * (softmax(z_i) - onehot(y_i)), the gradient of
	 * f * sum_i rowloss[i]. Rows are spread over the threads, each row's
	 * bits do not depend on their number; exp is vmath's (1 ulp). */
	void (*lm_xent)(float *z, const int32_t *y, double *rowloss, int n, int V, float f, int grad);

	/* ---- optimizer ----
	 * AdamW as torch.optim.AdamW (decoupled decay): p -= lr*wd*p;
	 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
	 * p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps). t >= 1. */
	void (*adamw_update)(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			     float b2, float eps, float wd, int t);
	/* The training loop's fused step: AdamW as adamw_update on the gradient
	 * gscale * grad (gradient clipping folded in; 1: none), then grad[i] = 0
	 * (the next step's zero_grad folded in). Bitwise equal to scale(grad,
	 * gscale) (skipped when gscale == 1), adamw_update, memset(grad, 0).
	 * cold: NULL, or one flag per block of TL_ADAMW_BLOCK elements (block
	 * j: elements j*TL_ADAMW_BLOCK ..), host memory: a nonzero flag
	 * promises that m and v are zero bits over the block. A cold block
	 * whose gradient is zero bits too (an embedding row no token of the
	 * step used, whose moments never moved) is updated without reading m
	 * and v: param *= 1 - lr wd, the same bits the formula gives there;
	 * every other block is updated in full and its flag cleared.
	 * live: NULL, or one flag per block as cold's (host memory): a zero
	 * flag promises that the gradient is zero bits over the block (an
	 * embedding row no token of the step used), so that a cold block
	 * with it is updated without even reading the gradient. */
	void (*adamw_update_zero)(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1,
				  float b2, float eps, float wd, int t, float gscale, unsigned char *cold,
				  const unsigned char *live);
	/* SGD with momentum (torch.optim.SGD, dampening 0, coupled weight decay
	 * as torch: g += wd p; buf = mom buf + g (buf = g at t == 1);
	 * p -= lr buf). buf may be NULL when mom == 0. */
	void (*sgd_update)(float *param, const float *grad, float *buf, size_t n, float lr, float mom, float wd,
			   int t);
	/* sum of squares (accumulated in double, fixed order per thread count). */
	double (*sumsq)(const float *x, size_t n);
	/* sumsq with live flags as adamw_update_zero's (host memory, one per
	 * TL_ADAMW_BLOCK elements): a zero flag promises the block is zero
	 * bits, and it is not read. The same bits as sumsq. */
	double (*sumsq_live)(const float *x, size_t n, const unsigned char *live);
	/* x[i] *= s */
	void (*scale)(float *x, size_t n, float s);
	/* 1 if any element is NaN or infinite. */
	int (*nonfinite)(const float *x, size_t n);
} tl_kernels;

enum tl_rows { TL_ROWS_PACK = 0, TL_ROWS_UNPACK = 1, TL_ROWS_FIRST = 2 };

/* The backend by name ("cpu"; "cuda" when built with it), or NULL. */
const tl_kernels *tl_kernels_get(const char *name);
/* The CPU backend (always present). */
const tl_kernels *tl_kernels_cpu(void);
/* The i-th backend built in (0: "cpu"), or NULL when i is out of range:
 * for (i = 0; (k = tl_kernels_at(i)); i++) enumerates them. Tables are
 * static: never freed, valid for the life of the process. */
const tl_kernels *tl_kernels_at(int i);
/* The one selection point of the tools: name ("cpu", "cuda"), or NULL for
 * $TL_DEVICE, or "cpu" when that is unset or empty. Returns NULL with a
 * message in err (naming the backends built in) when there is no such
 * backend in this build. */
const tl_kernels *tl_kernels_select(const char *name, char *err, size_t errsz);

/* ---- instruction sets (kernels/cpu/isa.c) ----
 * Levels of the CPU's kernels, each including the ones below: avx2 (AVX2,
 * FMA), avx512 (AVX-512 F/BW/VL/DQ), vnni (AVX512-VNNI and/or
 * AVX512-BF16), amx (AMX tiles, permission granted by the OS). Read once
 * from cpuid/xgetbv. $TL_ISA=avx2|avx512|vnni|amx caps the level used
 * (forces a lower path). */
enum tl_isa { TL_ISA_BASE = 0, TL_ISA_AVX2 = 1, TL_ISA_AVX512 = 2, TL_ISA_VNNI = 3, TL_ISA_AMX = 4 };
enum tl_isa_feature { TL_FEAT_AVX512 = 1, TL_FEAT_VNNI = 2, TL_FEAT_BF16 = 3, TL_FEAT_AMX = 4 };
/* The level this CPU has. */
int tl_isa_detected(void);
/* The level in use: the detected one, capped by a valid $TL_ISA. */
int tl_isa_level(void);
/* 1 when the kernels of a feature (enum tl_isa_feature) may run: the CPU
 * has it and $TL_ISA does not cap it away. */
int tl_isa_has(int feature);
/* "base", "avx2", "avx512", "vnni", "amx" (static strings). */
const char *tl_isa_name(int level);
/* A level by name (avx2..amx), or -1. */
int tl_isa_parse(const char *s);
/* 0 when $TL_ISA is unset, empty, or a level this CPU has; otherwise -1
 * with a message in err (unknown name, or a level the CPU lacks). The
 * tools exit 2 on it; the library alone ignores such a value. */
int tl_isa_check(char *err, size_t errsz);
/* The int8 quantization of one weight row (kernels/cpu/lowprec.c), as
 * matmul_prepare_prec does it: scale = max |w| / 127 (0 for a zero row),
 * q[k] = round(w[k] / scale) (to nearest even), clamped to -127..127. */
void tl_quantize_row(int8_t *q, float *scale, const float *w, int IC);
/* enum tl_precision by name ("fp32", "bf16", "int8"), or -1; and back. */
int tl_precision_parse(const char *s);
const char *tl_precision_name(int prec);

#endif
