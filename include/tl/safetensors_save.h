/* tl/safetensors_save.h - writing safetensors files (Hugging Face format).
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"k": "v"}} padded with spaces to a multiple of 8, then
 * the tensor data back to back in the order added (offsets relative to the
 * end of the header). The file is written atomically (temporary file +
 * fsync + rename): a failed save leaves any old file intact.
 *
 * Ownership: tl_st_saver_init returns a saver the caller frees with
 * tl_st_saver_free (whether or not it was written). Names, dtypes and
 * metadata strings are copied when added; tensor data is NOT copied and
 * must stay valid until tl_st_saver_write returns.
 */
#ifndef TL_SAFETENSORS_SAVE_H
#define TL_SAFETENSORS_SAVE_H

#include <stddef.h>
#include <stdint.h>

typedef struct tl_st_saver tl_st_saver;

/* A new, empty saver (dies on out of memory); free with tl_st_saver_free. */
tl_st_saver *tl_st_saver_init(void);
void tl_st_saver_free(tl_st_saver *s);

/* Add a tensor. dtype is "F32", "F16", "BF16", "I64", "I32", ...; data is
 * NOT copied: it must stay valid until tl_st_saver_write returns. nbytes
 * must equal numel(shape) * size of dtype, and ndim be 0..8 (both checked
 * by the write: EINVAL). */
void tl_st_saver_add(tl_st_saver *s, const char *name, const char *dtype, const int64_t *shape, int ndim,
		     const void *data, size_t nbytes);
/* A string pair in __metadata__ (both copied). */
void tl_st_saver_meta(tl_st_saver *s, const char *key, const char *value);

/* Write to path. Returns 0, or -1 with errno set (EINVAL for a size that
 * does not match the shape; ENOSPC etc. from the file system). */
int tl_st_saver_write(tl_st_saver *s, const char *path);

#endif
