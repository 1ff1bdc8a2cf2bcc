/* kernels/cpu/lowprec_amx.c - the AMX blocks of the low-precision products
 * (lowprec.h: tl_cpu_amx_start, tl_cpu_amx_finish): a block of up to 32 rows
 * x 32 outputs over the whole K on the tile unit (TMUL), on lowprec.h's
 * layouts as they are:
 *   A: rows of G 32-bit words (a bf16 pair or four u8 per word), stride lda
 *      words; a tile is 16 rows x 16 words (64 bytes) of it.
 *   B: a panel of 32 outputs, word g of output c at B[32 g + c]; a tile is
 *      16 words (k-groups) x 16 outputs, read with a stride of 128 bytes
 *      (the first or the second half of the panel's rows). This is the
 *      layout TDPBF16PS / TDPBUSD take for B ("VNNI" pairs / quads).
 * Tiles: tmm0-3 the 2 x 2 accumulators (rows 0-15 / 16-31 x outputs 0-15 /
 * 16-31), tmm4-5 A, tmm6-7 B. The rows of the configuration are the
 * block's rows (at most 16 per tile), so no tile reads a row past the
 * block: the caller need not pad A. The configuration is loaded once per
 * thread and row count (ldtilecfg costs about as much as a few products).
 *
 * K runs over the groups in chunks of 16 words on the tiles, in order;
 * the last G % 16 words (shapes whose K is not a multiple of 32 bf16 or
 * 64 int8) are one more chunk, copied with zeros after them into a
 * thread's tail tiles (zero words add exact zeros). int8 sums are exact
 * (u8 x s8 into int32, no saturation): the same integers as every other
 * path. bf16 sums are fp32 with the unit's own order and rounding inside
 * an instruction (tests/unit/test_lowprec.c bounds them against the
 * reference); each output element depends only on its row of A and its
 * column of B, in the same sequence of instructions whatever the other
 * rows of the block, the block's position or the threads: bitwise
 * reproducible for any batch and thread count.
 *
 * The OS must have granted the tile data to the process
 * (arch_prctl(ARCH_REQ_XCOMP_PERM), done by isa.c's detection before the
 * level reads amx); callers reach these only through a path chosen by
 * tl_cpu_prec_path_ok(prec, TL_LP_AMX). */
#include "kernels/cpu/lowprec.h"
#include "tl/kernels.h"

#include <immintrin.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define TL_HAVE_AMX 1
#endif

#ifdef TL_HAVE_AMX
#define TGT_AMX_BF __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))
#define TGT_AMX_I8 __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TGT_AMX __attribute__((target("amx-tile")))

/* palette 1: 8 tiles of up to 16 rows x 64 bytes */
struct tilecfg {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
};

/* The row count the calling thread's tile configuration was loaded for
 * (-1: none yet). */
static __thread int cfg_rows = -1;

TGT_AMX static void configure(int rows)
{
	if (cfg_rows == rows)
		return;
	struct tilecfg c __attribute__((aligned(64)));
	memset(&c, 0, sizeof c);
	c.palette = 1;
	int r0 = rows < 16 ? rows : 16, r1 = rows - r0;
	int tr[8] = {r0, r0, r1, r1, r0, r1, 16, 16};
	for (int i = 0; i < 8; i++)
		if (tr[i] > 0) {
			c.rows[i] = (uint8_t)tr[i];
			c.colsb[i] = 64;
		}
	/* ldtilecfg by hand: GCC 12's _tile_loadconfig does not tell the
	 * optimizer that it reads the struct, which then drops the stores of
	 * the rows and widths above (seen: a zero configuration, #GP) */
	__asm__ volatile("ldtilecfg %0" : : "m"(c));
	cfg_rows = rows;
}

/* the accumulators (2 x 2 tiles of 16 rows x 16 32-bit outputs; two: the
 * second row of tiles too) into rows of stride `stride` bytes */
TGT_AMX static void store_tiles(void *dst, size_t stride, int two)
{
	_tile_stored(0, dst, stride);
	_tile_stored(1, (char *)dst + 64, stride);
	if (two) {
		_tile_stored(2, (char *)dst + 16 * stride, stride);
		_tile_stored(3, (char *)dst + 16 * stride + 64, stride);
	}
}

/* The last G % 16 words of a block's A rows and B panel, zero-padded to
 * a chunk: A as 32 rows of 16 words, B as 16 words x 32 outputs. */
static __thread uint32_t tail_a[32 * 16] __attribute__((aligned(64)));
static __thread uint32_t tail_b[16 * 32] __attribute__((aligned(64)));

static void tail_tiles(const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)
{
	int G16 = G / 16 * 16, gt = G - G16;
	for (int r = 0; r < rows; r++) {
		memcpy(tail_a + 16 * r, A + (size_t)r * lda + G16, (size_t)gt * sizeof(uint32_t));
		memset(tail_a + 16 * r + gt, 0, (size_t)(16 - gt) * sizeof(uint32_t));
	}
	memcpy(tail_b, B + (size_t)G16 * 32, (size_t)gt * 32 * sizeof(uint32_t));
	memset(tail_b + 32 * gt, 0, (size_t)(16 - gt) * 32 * sizeof(uint32_t));
}

/* The products of a block into tmm0-3 (not stored): run_bf16 with
 * tdpbf16ps, run_int8 with tdpbusd (DP: the instruction's intrinsic);
 * the tail chunk last, from tail_tiles. */
#define AMX_RUN(name, TGT, DP)                                                                                   \
	TGT static void name(const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)                  \
	{                                                                                                        \
		configure(rows);                                                                                 \
		int G16 = G / 16 * 16;                                                                           \
		size_t sa = lda * sizeof(uint32_t);                                                              \
		_tile_zero(0);                                                                                   \
		_tile_zero(1);                                                                                   \
		if (rows > 16) {                                                                                 \
			const uint32_t *A1 = A + 16 * lda;                                                       \
			_tile_zero(2);                                                                           \
			_tile_zero(3);                                                                           \
			for (int g = 0; g < G16; g += 16) {                                                      \
				_tile_loadd(4, A + g, sa);                                                       \
				_tile_loadd(6, B + (size_t)g * 32, 128);                                         \
				_tile_loadd(7, B + (size_t)g * 32 + 16, 128);                                    \
				_tile_loadd(5, A1 + g, sa);                                                      \
				DP(0, 4, 6);                                                                     \
				DP(1, 4, 7);                                                                     \
				DP(2, 5, 6);                                                                     \
				DP(3, 5, 7);                                                                     \
			}                                                                                        \
		} else {                                                                                         \
			for (int g = 0; g < G16; g += 16) {                                                      \
				_tile_loadd(4, A + g, sa);                                                       \
				_tile_loadd(6, B + (size_t)g * 32, 128);                                         \
				_tile_loadd(7, B + (size_t)g * 32 + 16, 128);                                    \
				DP(0, 4, 6);                                                                     \
				DP(1, 4, 7);                                                                     \
			}                                                                                        \
		}                                                                                                \
		if (G16 < G) {                                                                                   \
			tail_tiles(A, lda, G, B, rows);                                                          \
			_tile_loadd(4, tail_a, 64);                                                              \
			_tile_loadd(6, tail_b, 128);                                                             \
			_tile_loadd(7, tail_b + 16, 128);                                                        \
			DP(0, 4, 6);                                                                             \
			DP(1, 4, 7);                                                                             \
			if (rows > 16) {                                                                         \
				_tile_loadd(5, tail_a + 16 * 16, 64);                                            \
				DP(2, 5, 6);                                                                     \
				DP(3, 5, 7);                                                                     \
			}                                                                                        \
		}                                                                                                \
	}
AMX_RUN(run_bf16, TGT_AMX_BF, _tile_dpbf16ps)
AMX_RUN(run_int8, TGT_AMX_I8, _tile_dpbusd)

void tl_cpu_amx_start(int prec, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)
{
	(prec == TL_PREC_BF16 ? run_bf16 : run_int8)(A, lda, G, B, rows);
}

void tl_cpu_amx_finish(int prec, void *raw, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)
{
	(void)prec, (void)A, (void)lda, (void)G, (void)B;
	store_tiles(raw, 128, rows > 16);
}

/* S[r, 32 j + c] = sum over the G words of A row r times panel j's column
 * c (panels at B + 32 G j), for j < npan, stored from the accumulator
 * tiles straight into S (row stride lds floats): run_bf16's products and
 * bits, without tl_cpu_amx_finish's raw block and the copy from it.
 * G % 16 == 0. With one chunk (G == 16: a head of 32 dimensions) A's
 * tiles are loaded once for every panel. */
TGT_AMX_BF static void panels_bf16(float *S, size_t lds, const uint32_t *A, int G, const uint32_t *B, int npan,
				   int rows)
{
	size_t ss = lds * sizeof(float);
	int two = rows > 16;
	if (G != 16) {
		for (int j = 0; j < npan; j++) {
			run_bf16(A, (size_t)G, G, B + (size_t)j * 32 * G, rows);
			store_tiles(S + 32 * (size_t)j, ss, two);
		}
		return;
	}
	configure(rows);
	_tile_loadd(4, A, 16 * sizeof(uint32_t));
	if (two)
		_tile_loadd(5, A + 16 * 16, 16 * sizeof(uint32_t));
	for (int j = 0; j < npan; j++) {
		const uint32_t *b = B + (size_t)j * 32 * 16;
		_tile_zero(0);
		_tile_zero(1);
		_tile_loadd(6, b, 128);
		_tile_loadd(7, b + 16, 128);
		_tile_dpbf16ps(0, 4, 6);
		_tile_dpbf16ps(1, 4, 7);
		if (two) {
			_tile_zero(2);
			_tile_zero(3);
			_tile_dpbf16ps(2, 5, 6);
			_tile_dpbf16ps(3, 5, 7);
		}
		store_tiles(S + 32 * (size_t)j, ss, two);
	}
}

void tl_cpu_amx_bf16_panels(float *S, size_t lds, const uint32_t *A, int G, const uint32_t *B, int npan, int rows)
{
	panels_bf16(S, lds, A, G, B, npan, rows);
}

int tl_cpu_amx_built(void)
{
	return 1;
}
#else
/* A compiler without AMX intrinsics: the path is never chosen
 * (tl_cpu_amx_built() is 0), these are never called. */
void tl_cpu_amx_start(int prec, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)
{
	(void)prec, (void)A, (void)lda, (void)G, (void)B, (void)rows;
}

void tl_cpu_amx_finish(int prec, void *raw, const uint32_t *A, size_t lda, int G, const uint32_t *B, int rows)
{
	(void)prec, (void)raw, (void)A, (void)lda, (void)G, (void)B, (void)rows;
}

void tl_cpu_amx_bf16_panels(float *S, size_t lds, const uint32_t *A, int G, const uint32_t *B, int npan, int rows)
{
	(void)S, (void)lds, (void)A, (void)G, (void)B, (void)npan, (void)rows;
}

int tl_cpu_amx_built(void)
{
	return 0;
}
#endif
