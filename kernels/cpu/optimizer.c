/* kernels/cpu/optimizer.c - parameter updates: AdamW (plain, and fused with
 * gradient scaling, zeroing and the skipping of cold blocks) and SGD with
 * momentum. Built with
 * -fno-math-errno (mk/train.mk) so that sqrtf in the AdamW loop vectorises
 * (its arguments are never negative). */
#include "kernels/cpu/cpu.h"
#include "tl/util.h"

#include <math.h>
#include <omp.h>

/* The AdamW update of n elements, gradient g = grad * gscale; zero: then
 * grad[i] = 0 (the zero_grad of the next step, folded into this pass). */
static inline void adamw_body(float *restrict param, float *restrict grad, float *restrict m, float *restrict v,
			      size_t n, float decay, float b1, float b2, float step, float bc2s, float eps,
			      float gscale, int scaled, int zero)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++) {
		float g = scaled ? grad[i] * gscale : grad[i];
		float p = param[i] * decay;
		float mi = m[i] + (1.0f - b1) * (g - m[i]);
		float vi = v[i] * b2 + (1.0f - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		param[i] = p - step * (mi / (sqrtf(vi) / bc2s + eps));
		if (zero)
			grad[i] = 0.0f;
	}
}

/* The update of elements [i0, i1) (whole blocks of TL_ADAMW_BLOCK, but the
 * last) with cold flags (adamw_update_zero in kernels.h): a cold block
 * whose gradient is zero bits gets param *= decay, which is what the
 * formula gives there bit for bit (m = v = g = +0: m and v stay +0, the
 * step term is step * (+0 / eps) = +0, and p - +0 = p), and no other
 * access; any other block the full update, and its flag cleared. */
static void adamw_blocks(float *param, float *grad, float *m, float *v, size_t i0, size_t i1, float decay,
			 float b1, float b2, float step, float bc2s, float eps, float gscale, int scaled,
			 unsigned char *cold, const unsigned char *live)
{
	for (size_t lo = i0; lo < i1; lo += TL_ADAMW_BLOCK) {
		size_t hi = lo + TL_ADAMW_BLOCK < i1 ? lo + TL_ADAMW_BLOCK : i1, j = lo / TL_ADAMW_BLOCK;
		/* a block that is not live is zero bits: not even read */
		if (cold[j] && ((live && !live[j]) || tl_zero_floats(grad + lo, hi - lo))) {
			if (decay != 1.0f)
				for (size_t i = lo; i < hi; i++)
					param[i] *= decay;
			continue;
		}
		cold[j] = 0;
		if (scaled)
			adamw_body(param + lo, grad + lo, m + lo, v + lo, hi - lo, decay, b1, b2, step, bc2s, eps,
				   gscale, 1, 1);
		else
			adamw_body(param + lo, grad + lo, m + lo, v + lo, hi - lo, decay, b1, b2, step, bc2s, eps,
				   1.0f, 0, 1);
	}
}

static void adamw_run(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1, float b2,
		      float eps, float wd, int t, float gscale, int zero, unsigned char *cold,
		      const unsigned char *live)
{
	float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
	float step = lr / bc1, bc2s = sqrtf(bc2), decay = 1.0f - lr * wd;
	int scaled = gscale != 1.0f;
#pragma omp parallel if (n > 65536)
	{
		size_t i0, i1;
		if (cold) {
			/* chunks of whole blocks (a flag is one thread's), dealt as
			 * the threads come: cold blocks cost little and gather in
			 * the rare words' rows, so equal shares are uneven work;
			 * each element's update is its own, whoever makes it */
			size_t nb = (n + TL_ADAMW_BLOCK - 1) / TL_ADAMW_BLOCK, per = 256;
#pragma omp for schedule(dynamic, 1)
			for (size_t ch = 0; ch < (nb + per - 1) / per; ch++) {
				i0 = ch * per * TL_ADAMW_BLOCK;
				i1 = (ch + 1) * per * TL_ADAMW_BLOCK < n ? (ch + 1) * per * TL_ADAMW_BLOCK : n;
				adamw_blocks(param, grad, m, v, i0, i1, decay, b1, b2, step, bc2s, eps, gscale, scaled, cold,
					     live);
			}
		} else {
			tl_cpu_thread_share(n, &i0, &i1);
			float *P = param + i0, *G = grad + i0, *M = m + i0, *V = v + i0;
			size_t k = i1 - i0;
			/* one specialised loop per flag combination */
			if (zero && scaled)
				adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, gscale, 1, 1);
			else if (zero)
				adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, 1.0f, 0, 1);
			else if (scaled)
				adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, gscale, 1, 0);
			else
				adamw_body(P, G, M, V, k, decay, b1, b2, step, bc2s, eps, 1.0f, 0, 0);
		}
	}
}

void tl_cpu_adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr, float b1,
			 float b2, float eps, float wd, int t)
{
	/* grad is only read: zero = 0 */
	adamw_run(param, (float *)grad, m, v, n, lr, b1, b2, eps, wd, t, 1.0f, 0, NULL, NULL);
}

void tl_cpu_adamw_update_zero(float *param, float *grad, float *m, float *v, size_t n, float lr, float b1,
			      float b2, float eps, float wd, int t, float gscale, unsigned char *cold,
			      const unsigned char *live)
{
	adamw_run(param, grad, m, v, n, lr, b1, b2, eps, wd, t, gscale, 1, cold, live);
}

void tl_cpu_sgd_update(float *param, const float *grad, float *buf, size_t n, float lr, float mom, float wd,
		       int t)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		float g = grad[i] + wd * param[i];
		if (mom != 0.0f) {
			buf[i] = t <= 1 ? g : mom * buf[i] + g;
			g = buf[i];
		}
		param[i] -= lr * g;
	}
}
