/* tl/probs.h - reading the labels and the 'probs' map of a prediction
 * record (tl-eval): a label is a string without NUL bytes or an integer
 * (taken as its decimal text); 'probs' is a map label -> probability in
 * [0, 1] (a float or an integer).
 *
 * Labels are turned into ids by the caller's callback (e.g. interning in a
 * string table), called in map order for each key up to the first bad
 * entry, exactly as the reader meets them.
 *
 * Ownership: the msgpack objects are only read during the call. The id and
 * value arrays of tl_probs_parse are grown with realloc and owned by the
 * caller, who frees them (also after an error). The text given to the
 * callback is valid only during the callback.
 */
#ifndef TL_PROBS_H
#define TL_PROBS_H

#include <msgpack.h>
#include <stddef.h>

/* Returns the id of label text s[0..n-1] (not NUL-terminated). */
typedef int (*tl_label_fn)(void *ctx, const char *s, size_t n);

/* One label value: a string (without NUL bytes) or an integer. Sets *id
 * from fn and returns 0, or returns -1 (fn not called). */
int tl_label_scalar(const msgpack_object *o, tl_label_fn fn, void *ctx, int *id);

enum { TL_PROBS_NOT_MAP = -1, TL_PROBS_BAD = -2 };

/* Parse a 'probs' value: returns the number of entries n, with the label
 * ids in (*ids)[0..n-1] and the probabilities in (*vals)[0..n-1] (both
 * arrays grown to *cap entries), or TL_PROBS_NOT_MAP when q is not a map,
 * TL_PROBS_BAD when a key is not a label or a value is not a number in
 * [0, 1]. */
long tl_probs_parse(const msgpack_object *q, tl_label_fn fn, void *ctx, int **ids, double **vals, size_t *cap);

/* A label map (--label-names of tl-predict and tl-eval): label -> name.
 *
 * spec is either the path of an existing file with one name a line
 * (positional: line i names the i-th label of an order the caller
 * supplies, e.g. the model's id2label order; a final newline and \r\n line
 * ends are allowed, an empty line is an error), or inline pairs
 * "KEY=NAME[,KEY=NAME...]" (split at the first '=' of each pair; keys and
 * names non-empty; a name cannot hold ',' inline, use a file). Keys are
 * distinct, names are distinct (two labels never merge), neither holds a
 * NUL byte or a newline.
 *
 * Ownership: the map owns its strings (copies); free with
 * tl_label_names_free. */
typedef struct {
	size_t n;
	char **key;     /* NULL for a positional file (key[] not allocated) */
	char **name;
	int positional; /* 1: from a file, names in order */
} tl_label_names;

/* Parse spec into *m. Returns 0, or -1 with a message in err (m is left
 * empty). A file that exists but cannot be read is -1 with errno's text. */
int tl_label_names_parse(const char *spec, tl_label_names *m, char *err, size_t errlen);

/* Make the map keyed: the positional names of m get the keys labels[0..n-1]
 * (copied). Returns 0, or -1 with err when the counts differ. No-op for a
 * keyed map. */
int tl_label_names_bind(tl_label_names *m, const char *const *labels, size_t n, char *err, size_t errlen);

/* The name of label s[0..len-1] (not NUL-terminated), or NULL when the
 * keyed map has no such key (also for an unbound positional map). The
 * result belongs to m. */
const char *tl_label_names_get(const tl_label_names *m, const char *s, size_t len);

void tl_label_names_free(tl_label_names *m);

#endif
