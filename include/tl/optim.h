/* tl/optim.h - optimizers and learning-rate schedules for training.
 *
 * The optimizer updates one flat parameter arena (and its gradient arena of
 * the same layout) segment by segment: a segment is a range of the arena
 * with its own learning-rate multiplier (layer-wise decay), weight decay
 * (none for biases and LayerNorm) and a frozen flag (not updated, no
 * moments). Moments live in the optimizer (tl_optim owns m and v, backend
 * memory from k->alloc, freed by tl_optim_free); param and grad are
 * backend memory of the same table.
 *
 * AdamW and SGD follow torch.optim exactly (see kernels.h); the
 * schedules are Hugging Face's: a multiplier of the base rate that rises
 * linearly from 0 over `warmup` steps, then decays linearly to 0 at
 * `total`, along a half cosine, stays constant, or is multiplied by gamma
 * every step_size steps. The rate used by optimizer step s (0-based) is
 * lr * factor(s), as when scheduler.step() follows optimizer.step().
 *
 * Ownership: a tl_optim is the caller's struct; tl_optim_init gives it its
 * segment table, and the steps its moments and cold flags (all freed by
 * tl_optim_free). The parameter and
 * gradient arenas stay the caller's; tl_optim_step and tl_optim_clip only
 * read and update them during the call. The kernel table is borrowed.
 */
#ifndef TL_OPTIM_H
#define TL_OPTIM_H

#include "tl/kernels.h"

#include <stddef.h>

enum tl_optim_kind { TL_OPT_ADAMW = 0, TL_OPT_SGD = 1 };
enum tl_sched_kind { TL_SCHED_LINEAR = 0, TL_SCHED_COSINE, TL_SCHED_CONSTANT, TL_SCHED_STEP };

typedef struct {
	size_t off, n;   /* range of the arenas (floats) */
	float lr_scale;  /* multiplier of the scheduled rate */
	int decay;       /* 1: apply weight decay */
	int frozen;      /* 1: never updated */
	size_t cold_off; /* its first flag in cold */
} tl_optim_seg;

typedef struct {
	int kind;                   /* enum tl_optim_kind */
	float lr, b1, b2, eps, wd;  /* AdamW: betas, eps; wd for both */
	float momentum;             /* SGD */
	int sched;                  /* enum tl_sched_kind */
	long warmup, total;         /* optimizer steps */
	long step_size;             /* TL_SCHED_STEP: steps between decays */
	float gamma;                /* TL_SCHED_STEP: factor */
	long t;                     /* optimizer steps done */
	tl_optim_seg *segs;         /* owned */
	size_t nsegs;
	float *m, *v;               /* moments (v NULL for SGD), n floats each, backend memory, owned */
	unsigned char *cold;        /* AdamW's cold flags (kernels.h adamw_update_zero) of the segments
				     * (frozen ones too: they may be unfrozen), host memory, owned;
				     * derived from m and v, NULL until the fused step makes them */
	size_t n;
	const tl_kernels *k;       /* the backend of param/grad/m/v (not owned) */
	/* tl_optim_hint_rows's promise for the next fused step (rows
	 * borrowed, NULL: none) */
	size_t hint_off, hint_width, hint_nrows;
	const unsigned char *hint_rows;
} tl_optim;

/* Defaults: AdamW lr 5e-5, betas (0.9, 0.999), eps 1e-8, wd 0.01, linear
 * schedule, no warmup; total must be set. n is the arena size; k the
 * backend table the arenas live in (a static table: not freed). */
void tl_optim_init(tl_optim *o, size_t n, const tl_kernels *k);
void tl_optim_free(tl_optim *o);
/* Append a segment. */
void tl_optim_add(tl_optim *o, size_t off, size_t n, float lr_scale, int decay, int frozen);

/* Schedule multiplier for optimizer step s (0-based). */
double tl_optim_factor(const tl_optim *o, long s);
/* The rate of the next step (lr * factor(t)). */
double tl_optim_lr(const tl_optim *o);

/* Global L2 norm of the gradient over the trainable segments; when
 * max_norm > 0 and the norm exceeds it, scale the gradient by
 * max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns the
 * norm before clipping. */
double tl_optim_clip(tl_optim *o, float *grad, double max_norm);

/* One update of param from grad, then t++. */
void tl_optim_step(tl_optim *o, float *param, const float *grad);

/* The training loop's step: tl_optim_clip(o, grad, max_norm), then
 * tl_optim_step(o, param, grad), then grad[0, o->n) zeroed, bitwise the
 * same as those three calls but fused for AdamW over disjoint segments
 * (two passes over memory instead of five). On a host-memory backend it
 * keeps cold flags, made from m and v at its first call (so m and v may
 * be set by the caller before it, as a resume does; afterwards only the
 * optimizer writes them): blocks whose moments are still zero and whose
 * gradient is zero (the embedding rows of tokens not seen yet) cost a
 * read of the gradient and the weight decay instead of the whole update.
 * Returns the norm before clipping. */
double tl_optim_step_clip_zero(tl_optim *o, float *param, float *grad, double max_norm);

/* A promise for the next tl_optim_step_clip_zero only (it forgets it): the
 * gradient over [off, off + nrows * width) is zero bits but in the rows r
 * whose rows[r] is nonzero (an embedding table's gradient, rows[r]: token
 * r was in the batch). That step then neither sums nor reads the other
 * rows of the segments that lie inside the range (kernels.h sumsq_live,
 * adamw_update_zero's live flags): the same bits as without the promise,
 * which must be true. rows: host memory, nrows flags, borrowed until that
 * step. Ignored by the unfused path and on a backend without host memory. */
void tl_optim_hint_rows(tl_optim *o, size_t off, size_t width, size_t nrows, const unsigned char *rows);

#endif
