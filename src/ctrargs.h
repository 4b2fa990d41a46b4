/* What ctrx knows of the real ctr's command line, per line of ctr (1.6, 1.7,
 * 2.x): which words of a command are image references, so that short names
 * can be expanded before the command is handed to ctr, and where a flag can
 * be added. Pure: no I/O.
 *
 * args->v holds the words after ctr's global flags: args->v[0] is the command
 * ("images", "i", "content", "c", "run", ...). */
#ifndef CTRX_CTRARGS_H
#define CTRX_CTRARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "util.h"

/* The lines of ctr whose command lines differ, as bits: `lines` arguments
 * are the set of lines the real ctr may be, one bit when its version is
 * known. */
enum ctrargs_line {
  CTRARGS_1_6 = 1, /* and older: urfave/cli v1, flags moved ahead except for run */
  CTRARGS_1_7 = 2, /* as 1.6, containers create not reordered either; --local */
  CTRARGS_2 = 4,   /* 2.0 and later: urfave/cli v2, nothing parsed after a positional */
  CTRARGS_ANY = 7, /* a ctr of unknown version */
};

/* The line a `ctr --version` output names ("ctr github.com/containerd/
 * containerd 1.6.20~ds1", "ctr github.com/containerd/containerd/v2 2.1.5",
 * "ctr containerd.io v1.7.2"): the version is the first line's last word;
 * CTRARGS_ANY when there is none. */
unsigned ctrargs_line_of_version(const char *version);
/* "1.6", "1.7", "2.x", or "of an unknown version" for a set of lines. */
const char *ctrargs_line_name(unsigned lines);

/* True when args' command takes image references on some line (pull, run,
 * ...): only then does the line matter. */
bool ctrargs_takes_images(const struct strv *args);

/* A word ctr reads as an image reference: its index in args->v, and whether
 * it names an image that must exist already (the image of run and
 * containers create, those of images rm/export/mount/label/usage/inspect,
 * the source of a tag or convert, the local image of a push) rather than one
 * the command creates or fetches (pull, content fetch, a tag target, a
 * push's remote name). */
struct ctrargs_ref {
  size_t index;
  bool existing;
};

/* The words ctr of lines reads as image references, in the order ctr reads
 * them: images pull/push/rm/tag/export/mount/label/convert/usage/inspect,
 * content fetch, containers create and run (the image, unless --rootfs or
 * --config says there is none). Flags and their values are found as ctr
 * finds them: 1.x's urfave/cli first moves the flags it knows (and the word
 * after each, when it does not look like a flag) in front of the other words,
 * except for run (and, on 1.7, containers create); then Go's flag package
 * parses up to the first non-flag or "--".
 *
 * A flag ctrx does not know (or a ctr of unknown version) may be read more
 * than one way: as no flag of ctr's, a boolean, or a flag with a value. The
 * readings ctr would accept are compared: when they agree, those are the
 * references; when they differ over a word that ref_normalize would change,
 * this fails (-1, *err says which flag), since handing ctr an unexpanded short
 * name, or expanding a flag's value, would be wrong; when they differ only
 * over words that stay as they are, there are none. A command ctrx does not
 * know, a command line ctr would reject, and a word that does not normalize
 * are left to ctr to report. refs has room for args->n. Returns how many. */
int ctrargs_refs(unsigned lines, const struct strv *args, struct ctrargs_ref *refs,
                 struct error **err);

/* Rewrite in place, as ref_normalize does, every word ctrargs_refs finds.
 * Returns 0, or -1 with *err as ctrargs_refs. */
int ctrargs_expand_refs(unsigned lines, struct strv *args, struct error **err);

/* The first word ctr will read as an image reference (the one a pull or
 * fetch pulls), as found by ctrargs_refs; NULL when there is none or it
 * fails. Points into args. */
const char *ctrargs_first_ref(unsigned lines, const struct strv *args);

/* The value ctr reads for the value flag FLAG (without dashes) of args'
 * command, the last one when it is given more than once; NULL when it is
 * not given, when ctr would reject the command line, or when the readings
 * of ctrargs_refs disagree. Points into args. */
const char *ctrargs_flag_value(unsigned lines, const struct strv *args, const char *flag);

/* True for "images|image|i pull" and "content fetch". */
bool ctrargs_is_pull(const struct strv *args);
/* True for "images|image|i push". */
bool ctrargs_is_push(const struct strv *args);

/* Insert "--flag value" after the first cmd_words words (2 for "images
 * pull"). flag may be given with or without its dashes; value NULL inserts the
 * flag alone. Returns 0, or -1 when args has fewer than cmd_words words. */
int ctrargs_insert_flag(struct strv *args, size_t cmd_words, const char *flag, const char *value);

#endif
