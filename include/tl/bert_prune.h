/* tl/bert_prune.h - pruning BERT attention heads and encoder layers
 * (tl-prune): head importance after Michel et al. 2019 ("Are Sixteen
 * Heads Really Better than One?"), the choice of the heads to remove, and
 * the writing of a smaller model directory that transformers 4.x loads
 * (config.json "pruned_heads", tl/bert.h) and tl's tools load.
 *
 * Importance of head h of layer l: I[l,h] = sum over batches of
 * |dL/dm[l,h]|, m a head mask of ones on the heads' context outputs and L
 * the mean cross-entropy of the batch (dropout off, as the authors' code
 * and transformers' bertology example: the absolute value is taken per
 * batch, then summed), then each layer's scores divided by their L2 norm
 * (+ 1e-20), as the paper's section 4.1 / the bertology example
 * normalise. The gradient is tl_bert_train's head_grad
 * (tl_bert_train_head_grad_on, tl/bert_train.h).
 *
 * Ownership: every array is the caller's; nothing here keeps a pointer.
 */
#ifndef TL_BERT_PRUNE_H
#define TL_BERT_PRUNE_H

#include "tl/bert_train.h"

#include <stddef.h>
#include <stdint.h>

/* One batch of importance: imp[L*NH] += |dL/dm| of the padded batch
 * (ids/type_ids [B,T], type_ids may be NULL; lens[B]; labels y[B] in
 * [0, NL)). t must have head_grad on; its gradients are overwritten. */
void tl_bert_importance_batch(tl_bert_train *t, const int32_t *ids, const int32_t *type_ids, const int32_t *lens,
			      int B, int T, const int32_t *y, double *imp);
/* Divide each layer's row of imp[L*NH] by its L2 norm (+ 1e-20) into norm. */
void tl_bert_importance_normalize(const double *imp, int L, int NH, double *norm);
/* Mark in remove[L*NH] (set to 0/1) the n heads of least normalised
 * importance over the whole model (ties: the lower layer, then the lower
 * head first), skipping any head whose removal would leave its layer
 * without heads and any already marked in pruned[L*NH] (may be NULL).
 * Returns 0, or -1 when fewer than n heads can go. */
int tl_bert_prune_choose(const double *norm, int L, int NH, const unsigned char *pruned, int n,
			 unsigned char *remove);

/* Write into the directory tmp (existing, empty; the caller publishes it,
 * tl/fsutil.h) the model of directory src (one model.safetensors, any
 * float or tl-quantize int8 dtypes, kept as they are) with the heads
 * rm_heads[l*NH + h] (original head numbers, as config.json counts them;
 * NULL: none) and the layers rm_layers[l] (NULL: none) removed: query, key
 * and value rows and attention.output.dense columns of removed heads cut,
 * later layers renumbered, config.json num_hidden_layers and pruned_heads
 * (the union with the heads pruned before, under the new layer numbers)
 * updated, tl.json given "pruning": pruning_info (a jansson object, may be
 * NULL; not stolen), every other regular file of src copied. 0, or -1 with
 * err and *code (enum tl_exit: TL_EXIT_MODEL for src, TL_EXIT_USAGE for
 * a removal that leaves a layer without heads or no layer, TL_EXIT_IO). */
int tl_bert_prune_write(const char *src, const char *tmp, const unsigned char *rm_heads,
			const unsigned char *rm_layers, const void *pruning_info, int *code, char *err, size_t errsz);

#endif
