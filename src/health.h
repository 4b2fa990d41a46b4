/* Which registry endpoints failed recently: kept across runs in a small state
 * file so that a dead mirror is tried last for a while instead of first every
 * time. Thread-safe; pure bookkeeping, no network. */
#ifndef CTRX_HEALTH_H
#define CTRX_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* An endpoint that failed within this many seconds is tried last. */
#define HEALTH_WINDOW_S 600

struct health;

/* Load PATH, the state file ("endpoints" in the state directory the settings
 * name, see config_state_dir); NULL: a memory of this process only, never
 * read or written. A missing file is an empty memory; a damaged
 * one is ignored and *warning says so (caller frees; NULL when all is well).
 * What is not a regular file (a FIFO, a directory) is never opened blocking,
 * is ignored with a warning and is never written over by health_save. */
struct health *health_load(const char *path, char **warning);
/* Fill order[0..n) with indices of bases: the endpoints that failed within
 * the window go last, each group keeping its given order. */
void health_order(struct health *h, const char *const *bases, size_t n, size_t *order);
/* Seconds since base last failed, or -1 when it did not within the window. */
int64_t health_failed_ago(struct health *h, const char *base);
void health_failed(struct health *h, const char *base);
void health_ok(struct health *h, const char *base);
/* Write the file back if anything changed: temp file + fsync + rename. Only
 * failures within the window are written: older ones are dropped. */
int health_save(struct health *h, struct error **err);
void health_free(struct health *h);

#endif
