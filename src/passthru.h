/* Handing a command to the real ctr. */
#ifndef CTRX_PASSTHRU_H
#define CTRX_PASSTHRU_H

#include "cli.h"
#include "error.h"
#include "util.h"

/* The real ctr: $CTRX_CTR, else `configured` (ctrx config "ctr"), else the
 * first executable "ctr" on $PATH that is not this program (compared by device
 * and inode, so a symlink or copy named ctr is skipped). *out is allocated. */
int passthru_find_ctr(const char *configured, char **out, struct error **err);

/* ctr's argv: CTR -a ADDR -n NS [--timeout T] [--connect-timeout T] [--debug]
 * followed by args (the command and its arguments). */
void passthru_build_argv(const struct global_opts *g, const char *ctr, const struct strv *args,
                         struct strv *out);

/* Rewrite a ctr command line (args->v[0] is the command) before it is
 * handed over: image names expanded, --hosts-dir added to pulls. */
int passthru_prepare(struct cli *cli, struct strv *args, struct error **err);

/* A copy of a command line fit to print: the password of -u/--user
 * USER:PASSWORD, the value of any flag named like a secret (password, token,
 * ...) and the userinfo of URLs replaced by "***". */
void passthru_redact_argv(const struct strv *in, struct strv *out);

#endif
