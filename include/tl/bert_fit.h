/* tl/bert_fit.h - `tl-train -m bert`: the fine-tuning loop and its command
 * line (data loading, label set, length-bucketed batches, AdamW with
 * schedules, dev evaluation with early stopping, checkpoints and resume,
 * progress, the model directory in Hugging Face layout).
 *
 * cmd/tl-train.c hands the whole command line over when the model kind is
 * bert; the options are documented in tl_bert_fit_usage and man/tl-train.1
 * (section "BERT FINE-TUNING").
 */
#ifndef TL_BERT_FIT_H
#define TL_BERT_FIT_H

#include <stdio.h>

/* The option summary printed by --help (a static string). */
extern const char tl_bert_fit_usage[];

/* Run `tl-train -m bert ...` with argv as tl-train received it (the
 * "-m bert" pair may be anywhere in it). Returns the exit status (enum
 * tl_exit); exits by itself on fatal errors and SIGINT (130). */
int tl_bert_fit_main(int argc, char **argv);

#endif
