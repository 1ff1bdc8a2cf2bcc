/* fuzz_safetensors.c - libFuzzer harness for the safetensors reader: any
 * byte string must be either refused with a message or yield tensors whose
 * every byte lies inside the input. Built and run by `make fuzz`
 * (mk/fuzz.mk, clang -fsanitize=fuzzer,address,undefined). */
#include "tl/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tl_st_file f;
	char err[512];
	/* a private copy, so reads past the end are caught by ASan */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (tl_st_open_mem(&f, buf, size, "fuzz.safetensors", err, sizeof err) == 0) {
		for (size_t i = 0; i < f.n; i++) {
			const tl_st_tensor *t = &f.tensors[i];
			if (tl_st_find(&f, t->name) != t)
				abort();
			if (t->begin > t->end || t->end > f.data_size)
				abort();
			float *out = malloc(t->numel * sizeof(float) + 1);
			if (out) {
				tl_st_read_f32(&f, t, out, err, sizeof err);
				free(out);
			}
		}
		tl_st_close(&f);
	} else if (!err[0]) {
		abort(); /* every refusal has a message */
	}
	free(buf);
	return 0;
}
