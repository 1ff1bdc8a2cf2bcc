/* util.c - errors, allocation (the out-of-memory handler), buffers, sha256.
 * The functions that print and exit are in lib/cli/cli.c. */
#include "tl/util.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *tl_progname = "tl";

static tl_oom_handler oom_handler;

tl_oom_handler tl_set_oom_handler(tl_oom_handler h)
{
	tl_oom_handler old = oom_handler;
	oom_handler = h;
	return old;
}

void tl_oom(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (oom_handler)
		oom_handler(msg);
	fprintf(stderr, "%s: %s\n", tl_progname, msg);
	abort();
}

int tl_errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int tl_seterr(tl_err *e, int code, const char *fmt, ...)
{
	if (!e)
		return -1;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void *tl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		tl_oom("out of memory (%zu bytes)", n);
	return p;
}

void *tl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		tl_oom("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *tl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		tl_oom("out of memory (%zu bytes)", n);
	return q;
}

char *tl_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = tl_xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void tl_buf_reserve(tl_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra)
		cap *= 2;
	b->data = tl_xrealloc(b->data, cap);
	b->cap = cap;
}

void tl_buf_add(tl_buf *b, const void *p, size_t n)
{
	tl_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void tl_buf_adds(tl_buf *b, const char *s)
{
	tl_buf_add(b, s, strlen(s));
}

void tl_buf_printf(tl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	tl_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *tl_buf_cstr(tl_buf *b)
{
	tl_buf_reserve(b, 1);
	b->data[b->len] = 0;
	return b->data;
}

void tl_buf_free(tl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

double tl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int tl_zero_floats(const float *p, size_t n)
{
	uint32_t x = 0;
#pragma omp simd reduction(| : x)
	for (size_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, p + i, sizeof u); /* the bits, without aliasing the float */
		x |= u;
	}
	return x == 0;
}

/* ---- sha256 (FIPS 180-4) ---- */

typedef struct {
	uint32_t h[8];
	uint64_t nbytes;
	unsigned char blk[64];
	size_t fill;
	int ni; /* the SHA extensions are used (sha256_init decides) */
} sha256_ctx;

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const unsigned char *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
		h = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
	}
	c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
	c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

/* The same compression with the SHA extensions (sha_ni: Intel since Ice
 * Lake/Goldmont, AMD since Zen): about 5x the portable loop, which made
 * the sha256 of a 90 MB model.safetensors most of tl-embed's start-up.
 * State kept as the two halves ABEF and CDGH that sha256rnds2 works on;
 * the message schedule four words at a time (sha256msg1: W[t-16] +
 * s0(W[t-15]); + W[t-7]; sha256msg2: + s1(W[t-2])). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define TL_SHA_NI 1
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_ni(uint32_t st[8], const unsigned char *p,
									  size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&st[0]); /* lanes: a b c d */
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&st[4]); /* lanes: e f g h */
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
	for (; nblocks; nblocks--, p += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh, w[4];
		for (int i = 0; i < 16; i++) {
			__m128i m;
			if (i < 4)
				m = w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
			else {
				__m128i t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				m = w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
			m = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)&K256[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&st[0], _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128((__m128i *)&st[4], _mm_alignr_epi8(dchg, feba, 8));
}


/* CPUID: SHA (leaf 7 EBX bit 29), SSE4.1 and SSSE3 (leaf 1 ECX bits 19,
 * 9). (Not __builtin_cpu_supports: clang's has no "sha".) */
static int sha_ni_present(void)
{
	static int known = -1;
	if (known < 0) {
		unsigned a, b, c, d;
		int ok = __get_cpuid(1, &a, &b, &c, &d) && (c >> 19 & 1) && (c >> 9 & 1);
		ok = ok && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
		known = ok;
	}
	return known;
}
#endif

/* Whole blocks: the SHA extensions when sha256_init chose them. */
static void sha256_blocks(sha256_ctx *c, const unsigned char *p, size_t nblocks)
{
#ifdef TL_SHA_NI
	if (c->ni) {
		sha256_blocks_ni(c->h, p, nblocks);
		return;
	}
#endif
	for (; nblocks; nblocks--, p += 64)
		sha256_block(c, p);
}

static void sha256_init(sha256_ctx *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(c->h, iv, sizeof iv);
	c->nbytes = 0;
	c->fill = 0;
	c->ni = 0;
#ifdef TL_SHA_NI
	/* the CPU's SHA extensions unless TL_SHA256=portable (the tests
	 * compare both; the digests are the same) */
	const char *env = getenv("TL_SHA256");
	c->ni = sha_ni_present() && !(env && !strcmp(env, "portable"));
#endif
}

static void sha256_update(sha256_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	c->nbytes += len;
	while (len) {
		if (c->fill == 0 && len >= 64) { /* whole blocks straight from the input */
			size_t nb = len / 64;
			sha256_blocks(c, p, nb);
			p += nb * 64, len -= nb * 64;
			continue;
		}
		size_t n = 64 - c->fill;
		if (n > len)
			n = len;
		memcpy(c->blk + c->fill, p, n);
		c->fill += n, p += n, len -= n;
		if (c->fill == 64) {
			sha256_blocks(c, c->blk, 1);
			c->fill = 0;
		}
	}
}

static void sha256_final(sha256_ctx *c, char out[65])
{
	uint64_t bits = c->nbytes * 8;
	unsigned char pad = 0x80, zero = 0, lenb[8];
	sha256_update(c, &pad, 1);
	while (c->fill != 56)
		sha256_update(c, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(c, lenb, 8);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}

void tl_sha256_hex(const void *data, size_t len, char out[65])
{
	sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

int tl_sha256_file(const char *path, char out[65])
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	sha256_ctx c;
	sha256_init(&c);
	unsigned char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(&c, buf, (size_t)n);
	}
	close(fd);
	sha256_final(&c, out);
	return 0;
}

/* The sha256 of a file on a thread of its own (tl_sha256_file_start,
 * tl_sha256_file_join): a tool that needs a model's identity only when it
 * writes its first output hashes while it loads. */
struct tl_sha256_job {
	pthread_t th;
	int started, rc, err;
	char *path[2];
	char out[65];
};

static void *sha256_job_run(void *arg)
{
	tl_sha256_job *j = arg;
	j->rc = -1;
	for (int i = 0; i < 2 && j->rc < 0 && j->path[i]; i++) {
		j->rc = tl_sha256_file(j->path[i], j->out);
		j->err = j->rc < 0 ? errno : 0;
	}
	return NULL;
}

tl_sha256_job *tl_sha256_file_start(const char *path, const char *alt)
{
	tl_sha256_job *j = tl_xcalloc(1, sizeof *j);
	j->path[0] = tl_xstrdup(path);
	j->path[1] = alt ? tl_xstrdup(alt) : NULL;
	if (pthread_create(&j->th, NULL, sha256_job_run, j) == 0)
		j->started = 1;
	else
		sha256_job_run(j); /* no thread: here and now */
	return j;
}

int tl_sha256_file_join(tl_sha256_job *j, char out[65])
{
	if (!j)
		return -1;
	if (j->started)
		pthread_join(j->th, NULL);
	int rc = j->rc, e = j->err;
	if (rc == 0)
		memcpy(out, j->out, 65);
	free(j->path[0]);
	free(j->path[1]);
	free(j);
	if (rc < 0)
		errno = e;
	return rc;
}
