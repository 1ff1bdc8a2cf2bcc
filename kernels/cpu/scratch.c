/* kernels/cpu/scratch.c - per-thread scratch buffers (scratch.h). */
#include "kernels/cpu/scratch.h"
#include "tl/util.h"

#include <pthread.h>
#include <stdlib.h>

/* One thread's slots: the table is allocated at the thread's first call and
 * registered under the key, whose destructor frees it with its buffers when
 * the thread exits. The main thread's stays reachable until the process
 * ends. */
struct scratch_tab {
	void *buf[TL_SCR_NSLOT];
	size_t cap[TL_SCR_NSLOT];
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local struct scratch_tab *tab;

static void tab_free(void *p)
{
	struct scratch_tab *t = p;
	for (int i = 0; i < TL_SCR_NSLOT; i++)
		free(t->buf[i]);
	free(t);
	tab = NULL;
}

static void key_make(void)
{
	if (pthread_key_create(&key, tab_free) != 0)
		tl_oom("out of memory (pthread_key_create)");
}

void *tl_cpu_scratch_slot(int slot, size_t bytes)
{
	struct scratch_tab *t = tab;
	if (!t) {
		pthread_once(&once, key_make);
		t = calloc(1, sizeof *t);
		if (!t)
			tl_oom("out of memory (%zu bytes)", sizeof *t);
		if (pthread_setspecific(key, t) != 0) {
			free(t);
			tl_oom("out of memory (pthread_setspecific)");
		}
		tab = t;
	}
	if (bytes > t->cap[slot] || !t->buf[slot]) {
		/* at least half again the old size: a slowly growing request
		 * (longer batches) reallocates O(log) times */
		size_t grow = t->cap[slot] + t->cap[slot] / 2;
		size_t want = bytes > grow ? bytes : grow;
		free(t->buf[slot]);
		t->buf[slot] = NULL;
		t->cap[slot] = 0;
		want = want ? (want + 63) & ~(size_t)63 : 64;
		void *b = aligned_alloc(64, want);
		if (!b)
			tl_oom("out of memory (scratch, %zu bytes)", want);
		t->buf[slot] = b;
		t->cap[slot] = want;
	}
	return t->buf[slot];
}
