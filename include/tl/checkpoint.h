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

#include "tl/util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

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

/* After the model is published: remove the checkpoint directory ckpt_dir
 * when this run wrote it (wrote != 0) or resumed from it (resume names
 * the same directory), and only when it is a checkpoint (has state.json):
 * hundreds of MB that have served. A failure to remove is a warning on
 * stderr; "removed" is said unless quiet. Never fails. */
void tl_ckpt_remove_served(const char *ckpt_dir, const char *resume, int wrote, int quiet);

/* ---------------- run options and --resume ----------------
 * A trainer records the options that decide what a run computes (by
 * option name without "--", every value a string) in state.json's
 * "options"; a resume compares them with the new run's so that a resumed
 * run repeats the interrupted one bit for bit. Used by tl-train -m bert
 * and -m lstm(-lm); the lists of options are the trainers'. */

/* Set j[name] to v (NULL: "none"), to v in decimal, or to the shortest
 * %.15g/%.17g text that reads back as v. */
void tl_runopt_str(json_t *j, const char *name, const char *v);
void tl_runopt_long(json_t *j, const char *name, long v);
void tl_runopt_dbl(json_t *j, const char *name, double v);

/* Is name in the comma list (names may carry a leading "--"), or is the
 * list "all"? NULL: no. */
int tl_runopt_in_list(const char *list, const char *name);

/* Every name of list (the --allow-change value; NULL or "all": nothing to
 * check) is a key of known: 0, or -1 with a usage error (TL_EXIT_USAGE)
 * naming it and the keys. */
int tl_runopt_check_allow(const char *list, const json_t *known, tl_err *e);

/* Compare was (the checkpoint's "options") with now, key by key of now: a
 * key missing from was reads as absent[k + 1] where absent is a NULL
 * terminated list of name, value pairs (options added after some
 * checkpoints were written, with the value that meant), else as "(not
 * recorded)". A difference is a usage error naming the option, both values
 * and ckpt, unless the name is in allow (tl_runopt_in_list); an allowed
 * difference is reported on stderr as "tl-train: --resume: ..." unless
 * quiet. 0, or -1 with e. */
int tl_runopt_compare(const json_t *was, const json_t *now, const char *const *absent, const char *ckpt,
		      const char *allow, int quiet, tl_err *e);

/* ---------------- --log on --resume ----------------
 * A trainer that writes a --log records in state.json "log" (the path)
 * and "log_bytes" (the log's length after the checkpoint's last line).
 * On --resume with --log path: when st names the same path, path is a
 * regular file and is at least log_bytes long, it is cut back to
 * log_bytes (the steps after the checkpoint run again and log again);
 * then path is opened for appending (created when missing).
 * st is only read (the caller keeps its reference); path is not kept.
 * Returns the open stream, owned by the caller (fclose), or NULL with e
 * set (TL_EXIT_IO: "cannot truncate PATH: ..." / "cannot open PATH: ..."). */
FILE *tl_ckpt_reopen_log(const json_t *st, const char *path, tl_err *e);

#endif
