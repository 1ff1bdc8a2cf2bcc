/* backward_util.h - helpers of the BERT gradient tests (fixture reading,
 * error measures), shared by test_backward_kd.c, test_backward_mt.c,
 * test_backward_token.c and test_lstm_net.c; include after testhelp.h.
 * Everything is static inline: one copy per test program, no warning for
 * the helpers a test does not use. */
#ifndef TL_BACKWARD_UTIL_H
#define TL_BACKWARD_UTIL_H

#include "tl/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tl_st_file bu_F; /* the open fixture */

static inline const tl_st_tensor *bu_need(const char *name)
{
	const tl_st_tensor *t = tl_st_find(&bu_F, name);
	if (!t) {
		fprintf(stderr, "fixture lacks %s\n", name);
		exit(1);
	}
	return t;
}

/* float tensor NAME (malloc'd); *n its element count (n may be NULL) */
static inline float *bu_getf(const char *name, size_t *n)
{
	const tl_st_tensor *t = bu_need(name);
	float *v = malloc(t->numel * sizeof(float) + 4);
	char err[256];
	if (tl_st_read_f32(&bu_F, t, v, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (n)
		*n = t->numel;
	return v;
}

/* int32 tensor NAME (malloc'd); d0, d1 its shape (may be NULL) */
static inline int32_t *bu_geti(const char *name, int64_t *d0, int64_t *d1)
{
	const tl_st_tensor *t = bu_need(name);
	int32_t *v = malloc(t->numel * sizeof(int32_t) + 4);
	memcpy(v, tl_st_bytes(&bu_F, t), t->numel * sizeof(int32_t));
	if (d0)
		*d0 = t->shape[0];
	if (d1)
		*d1 = t->ndim > 1 ? t->shape[1] : 1;
	return v;
}

static inline double bu_max_abs(const float *a, size_t n)
{
	double mx = 0;
	for (size_t i = 0; i < n; i++)
		mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
	return mx;
}

/* max_i |a_i - b_i| / max_i |b_i| (the absolute error when b is all 0):
 * test_backward.c's measure, bar 1e-3 */
static inline double bu_rel_err(const float *a, const float *b, size_t n)
{
	double md = 0, mb = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		md = d > md ? d : md;
		mb = fabs(b[i]) > mb ? fabs(b[i]) : mb;
	}
	return mb > 0 ? md / mb : md;
}

/* Attention key biases have an exact gradient of 0 (noise on both sides):
 * the larger |value| of a and b over scale (the model's largest gradient)
 * times 100, so that the 1e-3 bar means 1e-5 of the scale. */
static inline double bu_zero_err(const float *a, const float *b, size_t n, double scale)
{
	double mx = fmax(bu_max_abs(a, n), bu_max_abs(b, n));
	return mx / scale * 100.0;
}

static inline int bu_is_key_bias(const char *name)
{
	return strstr(name, "attention.self.key.bias") != NULL;
}

#endif
