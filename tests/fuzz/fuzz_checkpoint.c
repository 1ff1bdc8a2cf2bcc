/* fuzz_checkpoint.c - a training checkpoint (tl/checkpoint.h): the input is
 * state.json, a line "----", then tensors.safetensors. tl_ckpt_read_state
 * gives an object or a message; the state's fields are read as tl-train
 * --resume reads them; tl_ckpt_read_tensor of "params", "m", "v" with the
 * size the state declares refuses any other size. */
#include "fuzz.h"
#include "tl/checkpoint.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t l0 = 0, l1 = 0;
	const uint8_t *p0 = fz_part(data, size, 0, &l0), *p1 = fz_part(data, size, 1, &l1);
	fz_write("state.json", p0, l0);
	if (p1)
		fz_write("tensors.safetensors", p1, l1);
	else
		fz_unlink("tensors.safetensors");
	char err[512] = "";
	json_t *st = tl_ckpt_read_state(fz_dir(), err, sizeof err);
	if (!st) {
		FZ_CHECK(err[0]);
		return 0;
	}
	FZ_CHECK(json_is_object(st));
	static const char *ints[] = {"nparams", "nlabels", "epoch", "batch", "step", "best_step", "bad_evals"};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
		(void)json_integer_value(json_object_get(st, ints[i]));
	(void)json_string_value(json_object_get(st, "data_sha256"));
	(void)json_number_value(json_object_get(st, "best"));
	json_int_t np = json_integer_value(json_object_get(st, "nparams"));
	size_t n = np > 0 && np <= 65536 ? (size_t)np : 4;
	float *buf = malloc(n * sizeof *buf);
	FZ_CHECK(buf);
	static const char *names[] = {"params", "m", "v", "best"};
	for (size_t i = 0; i < 4; i++) {
		err[0] = 0;
		if (tl_ckpt_read_tensor(fz_dir(), names[i], buf, n, err, sizeof err) < 0)
			FZ_CHECK(err[0]);
	}
	free(buf);
	json_decref(st);
	return 0;
}
