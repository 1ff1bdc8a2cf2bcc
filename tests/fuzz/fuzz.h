/* fuzz.h - helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c):
 * the parsers that read a file by path are given the input as a file in a
 * private directory (/dev/shm/tl-fuzz-PID, removed at exit); inputs made of
 * several files are split at a separator line.
 *
 * Ownership: fz_dir() returns a static string; fz_part() returns pointers
 * into the caller's data. */
#ifndef TL_FUZZ_H
#define TL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Abort with a message: an invariant is broken (libFuzzer saves the input). */
#define FZ_CHECK(cond)                                                                     \
	do {                                                                               \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Allocations over 1 GiB fail (NULL) instead of stopping the run: the
 * parsers must check declared sizes, and a tl_x* allocation failing is
 * still reported (tl_oom aborts). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}

static char fz_dir_buf[64];

static inline void fz_cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir_buf);
	if (fz_dir_buf[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fz_dir_buf);
}

/* The private directory (created on first use): in /dev/shm (tmpfs) when
 * there is one, else $TMPDIR or /tmp. On a disk file system (ext4) every
 * input rewrote a file truncated to zero, which ext4 writes back at close
 * (auto_da_alloc): the truncation of the next input waited for the disk,
 * and most of a harness's time was spent there (docs/FAULTS.md, "Harness
 * speed"). FUZZ_TMPDIR overrides the choice. */
static inline const char *fz_dir(void)
{
	if (!fz_dir_buf[0]) {
		const char *base = getenv("FUZZ_TMPDIR");
		if (!base || !*base)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		if (!base || !*base || strlen(base) > 32)
			base = "/tmp";
		snprintf(fz_dir_buf, sizeof fz_dir_buf, "%s/tl-fuzz-%ld", base, (long)getpid());
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", fz_dir_buf, fz_dir_buf);
		if (system(cmd) != 0)
			abort();
		atexit(fz_cleanup);
	}
	return fz_dir_buf;
}

/* Write data to fz_dir()/name (replacing it); returns the path (static). */
static inline const char *fz_write(const char *name, const void *data, size_t size)
{
	static char path[192];
	snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	return path;
}

/* Remove fz_dir()/name when present. */
static inline void fz_unlink(const char *name)
{
	char path[192];
	snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
	unlink(path);
}

/* Part i of data split at lines "----\n" (FZ_SEP); NULL when there are
 * fewer parts. */
#define FZ_SEP "\n----\n"
static inline const uint8_t *fz_part(const uint8_t *data, size_t size, int i, size_t *len)
{
	const uint8_t *p = data, *end = data + size;
	size_t sl = strlen(FZ_SEP);
	for (;;) {
		const uint8_t *q = memmem(p, (size_t)(end - p), FZ_SEP, sl);
		if (i == 0) {
			*len = (size_t)((q ? q : end) - p);
			return p;
		}
		if (!q)
			return NULL;
		p = q + sl;
		i--;
	}
}

#endif
