/* tl/safetensors.h - a checked reader of safetensors files.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {...}}, then the data; offsets count from the end of the
 * header. tl_st_open checks everything before a tensor is used: the header
 * length against the file size, the JSON, every dtype (known name), shape
 * (non-negative, no overflow), and offsets (begin <= end <= data size,
 * end - begin == numel * dtype size, no two tensors overlapping). Errors
 * name the file and the tensor.
 *
 * Ownership: a tl_st_file is the caller's struct (usually on its stack);
 * tl_st_open fills it with memory it owns (the path, the tensor table, the
 * mapping of the file) and tl_st_close releases all of it. The tensors
 * (tl_st_find), their names and tl_st_bytes point into the file and stay
 * valid until tl_st_close; so does everything of tl_st_open_mem, whose
 * buffer the caller keeps alive and frees after tl_st_close. On failure
 * tl_st_open leaves nothing to close.
 */
#ifndef TL_SAFETENSORS_H
#define TL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

enum tl_st_dtype {
	TL_ST_F32, TL_ST_F16, TL_ST_BF16, TL_ST_F64, TL_ST_I64, TL_ST_I32, TL_ST_I16, TL_ST_I8,
	TL_ST_U8, TL_ST_U16, TL_ST_U32, TL_ST_U64, TL_ST_BOOL, TL_ST_F8_E4M3, TL_ST_F8_E5M2,
	TL_ST_NDTYPES
};

#define TL_ST_MAXDIM 8

typedef struct {
	char *name;        /* owned by the file */
	int dtype;         /* enum tl_st_dtype */
	int ndim;
	int64_t shape[TL_ST_MAXDIM];
	size_t numel;
	size_t begin, end; /* byte offsets into the data section */
} tl_st_tensor;

typedef struct {
	char *path;            /* for messages; owned */
	const uint8_t *base;   /* whole file (mapped or borrowed) */
	size_t size;
	const uint8_t *data;   /* data section: base + 8 + N */
	size_t data_size;
	tl_st_tensor *tensors; /* sorted by name; owned */
	size_t n;
	int mapped;            /* 1: base is an mmap to munmap */
} tl_st_file;

/* Map and check path. 0, or -1 with a one-line message in err
 * ("model.safetensors: tensor 'x': data_offsets [..] beyond the data (...)").
 * Close with tl_st_close. */
int tl_st_open(tl_st_file *f, const char *path, char *err, size_t errsz);
/* The same over memory the caller keeps alive (fuzzing, tests); name is
 * used in messages. */
int tl_st_open_mem(tl_st_file *f, const void *buf, size_t size, const char *name, char *err, size_t errsz);
void tl_st_close(tl_st_file *f);

/* The tensor called name, or NULL. */
const tl_st_tensor *tl_st_find(const tl_st_file *f, const char *name);

/* Convert a floating tensor (F32, F16, BF16, F64) to float32 into out,
 * which holds t->numel floats (the caller's). 0, or -1 with err for another
 * dtype. */
int tl_st_read_f32(const tl_st_file *f, const tl_st_tensor *t, float *out, char *err, size_t errsz);
/* Raw bytes of a tensor (unaligned; little-endian). */
static inline const void *tl_st_bytes(const tl_st_file *f, const tl_st_tensor *t)
{
	return f->data + t->begin;
}

/* Name of an enum tl_st_dtype value ("F32", ...; "?" out of range): a
 * static string, never freed. */
const char *tl_st_dtype_name(int dtype);

/* Writing: see tl/safetensors_save.h. */

#endif
