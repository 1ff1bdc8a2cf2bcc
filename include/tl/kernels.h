/* include/tl/kernels.h - the numeric primitives of tl's neural models.
 *
 * One table of functions per backend (ggml-backend style): kernels/cpu
 * implements it with OpenBLAS sgemm plus vectorised, OpenMP-parallel C;
 * kernels/cuda (a later issue) fills the same table with cuBLAS and .cu
 * kernels. Models call only through the table, so a backend is chosen at
 * run time (tl_kernels_get("cpu")).
 *
 * Conventions (llm.c): outputs first, then inputs, then parameters, sizes
 * last. Row-major float32 everywhere. B batch, T padded sequence length,
 * C channels (hidden size), NH heads, N rows (= B*T) where a kernel does not
 * care about the sequence structure. Linear weights are stored [out, in]
 * as in PyTorch: y = x W^T + b.
 *
 * Memory: every float/int pointer passed to a kernel is backend memory,
 * obtained from k->alloc (host memory for the CPU backend, where alloc is
 * malloc and the copies are memcpy). Sequence lengths `lens` are int32 in
 * backend memory too.
 *
 * Padding: sequences are padded on the right to T; lens[b] is the number of
 * real tokens of sequence b. Attention never looks at keys at t >= lens[b]
 * (identical to Hugging Face's additive mask of the dtype's minimum, whose
 * exp underflows to exactly 0), and rows t >= lens[b] of its output are 0.
 *
 * Backward kernels (training, issue 4) will take the same activations: the
 * forward kernels keep what backward needs (LayerNorm mean/rstd, attention
 * probabilities when att != NULL). Backward kernels accumulate (+=) into
 * gradient buffers, and their names mirror the forward ones.
 */
#ifndef TL_KERNELS_H
#define TL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum tl_pool { TL_POOL_CLS = 0, TL_POOL_MEAN = 1, TL_POOL_MAX = 2 };
/* Activation applied by matmul_forward_prepared to its output. */
enum tl_act { TL_ACT_NONE = 0, TL_ACT_GELU = 1 };

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
	/* Fused inference forms. out[N,C] = GELU(inp + bias[c]) (bias may be
	 * NULL; out may equal inp). */
	void (*bias_gelu_forward)(float *out, const float *inp, const float *bias, int N, int C);
	/* out[N,C] = LayerNorm(a + (b + bbias[c])) * weight + bias (bbias may be
	 * NULL; out may equal a or b). */
	void (*add_layernorm_forward)(float *out, const float *a, const float *b, const float *bbias,
				      const float *weight, const float *bias, int N, int C, float eps);
	/* BERT pooler: out[B,OC] = tanh(hidden[b, 0, :] W^T + bias). */
	void (*pooler_forward)(float *out, const float *hidden, const float *weight, const float *bias,
			       int B, int T, int C, int OC);
	/* Pool the real tokens of each sequence: out[B,C] (enum tl_pool). */
	void (*pool_forward)(float *out, const float *hidden, const int32_t *lens, int B, int T, int C,
			     int mode);
	/* Rows of x[N,C] scaled to unit L2 norm (a zero row stays zero). */
	void (*l2norm_forward)(float *x, int N, int C);
} tl_kernels;

enum tl_rows { TL_ROWS_PACK = 0, TL_ROWS_UNPACK = 1, TL_ROWS_FIRST = 2 };

/* The CPU backend's float erf (vectorisable; |error| < 2e-7), exposed for
 * its test. */
float tl_cpu_erf(float x);

/* The backend by name ("cpu"; "cuda" when built with it), or NULL. */
const tl_kernels *tl_kernels_get(const char *name);
/* The CPU backend (always present). */
const tl_kernels *tl_kernels_cpu(void);
/* The one selection point of the tools: name ("cpu", "cuda"), or NULL for
 * $TL_DEVICE, or "cpu" when that is unset or empty. Returns NULL with a
 * message in err (naming the backends built in) when there is no such
 * backend in this build. */
const tl_kernels *tl_kernels_select(const char *name, char *err, size_t errsz);

#endif
