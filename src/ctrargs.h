/* What ctrx knows of the real ctr 1.6's command line: which words of a
 * command are image references, so that short names can be expanded before
 * the command is handed to ctr, and where a flag can be added. Pure: no I/O.
 *
 * args->v holds the words after ctr's global flags: args->v[0] is the command
 * ("images", "i", "content", "c", "run", ...). */
#ifndef CTRX_CTRARGS_H
#define CTRX_CTRARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

/* Rewrite in place, as ref_normalize does, every positional word that ctr
 * will read as an image reference: images pull/push/rm/tag/export/mount/
 * label/convert/usage, content fetch, containers create and run (the image,
 * unless --rootfs or --config says there is none). Flags and their values are
 * found as ctr 1.6 finds them: urfave/cli v1 first moves the flags it knows
 * (and the word after each, when it does not look like a flag) in front of
 * the other words, except for run; then Go's flag package parses up to the
 * first non-flag or "--". A command or sub-command ctrx does not know, a
 * command line ctr would reject, and a word that does not normalize are left
 * as they are, for ctr to report. Returns 0; -1 with *err is kept for
 * failures to come. */
int ctrargs_expand_refs(struct strv *args, struct error **err);

/* A word ctr reads as an image reference: its index in args->v, and whether
 * it names an image that must exist already (the image of run and
 * containers create, those of images rm/export/mount/label/usage, the source
 * of a tag or convert, the local image of a push) rather than one the
 * command creates or fetches (pull, content fetch, a tag target, a push's
 * remote name). */
struct ctrargs_ref {
  size_t index;
  bool existing;
};
/* The references of args, in the order ctr reads them, as
 * ctrargs_expand_refs finds them; refs has room for args->n. Returns how
 * many. */
size_t ctrargs_refs(const struct strv *args, struct ctrargs_ref *refs);

/* The first word ctr will read as an image reference (the one a pull or
 * fetch pulls), as found by ctrargs_expand_refs; NULL when there is none.
 * Points into args. */
const char *ctrargs_first_ref(const struct strv *args);

/* The value ctr reads for the value flag FLAG (without dashes) of args'
 * command, the last one when it is given more than once; NULL when it is
 * not given, or when ctr would reject the command line. Points into args. */
const char *ctrargs_flag_value(const struct strv *args, const char *flag);

/* True for "images|image|i pull" and "content fetch". */
bool ctrargs_is_pull(const struct strv *args);
/* True for "images|image|i push". */
bool ctrargs_is_push(const struct strv *args);

/* Insert "--flag value" after the first cmd_words words (2 for "images
 * pull"). flag may be given with or without its dashes; value NULL inserts the
 * flag alone. Returns 0, or -1 when args has fewer than cmd_words words. */
int ctrargs_insert_flag(struct strv *args, size_t cmd_words, const char *flag, const char *value);

#endif
