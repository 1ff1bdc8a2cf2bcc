/* tl/checkpoint.h - resumable training checkpoints.
 *
 * A checkpoint is a directory with
 *   state.json          the loop's scalar state (position in the data,
 *                       optimizer step, random state, best metric, ...),
 *                       whatever JSON object the trainer passes
 *   tensors.safetensors named float32 arrays (weights, optimizer moments)
 * written into a temporary sibling and renamed over the old checkpoint
 * (tl_fs_publish_dir with force): a crash at any moment leaves either the
 * old or the new checkpoint, never a mixture.
 *
 * Ownership: the functions keep no pointer to their arguments and no state
 * between calls. tl_ckpt_write only reads state and the tensor arrays (the
 * caller keeps its reference to state); tl_ckpt_read_state returns a new
 * jansson reference the caller releases with json_decref;
 * tl_ckpt_read_tensor fills the caller's array.
 */
#ifndef TL_CHECKPOINT_H
#define TL_CHECKPOINT_H

#include <jansson.h>
#include <stddef.h>

/* Write a checkpoint to dir (replacing an old one atomically). state is
 * not consumed. Tensors i: names[i], data[i] (lens[i] floats, 1-d).
 * 0, or -1 with err (errno kept). */
int tl_ckpt_write(const char *dir, const json_t *state, size_t nt, const char *const *names,
		  const float *const *data, const size_t *lens, char *err, size_t errsz);

/* dir/state.json: a new reference (json_decref), or NULL with err. */
json_t *tl_ckpt_read_state(const char *dir, char *err, size_t errsz);

/* Read tensor name of dir/tensors.safetensors into out (exactly n
 * floats). 0, or -1 with err (missing, wrong size). */
int tl_ckpt_read_tensor(const char *dir, const char *name, float *out, size_t n, char *err, size_t errsz);

#endif
