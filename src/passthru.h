/* Handing a command to the real ctr, as pure steps over its words (strv in,
 * strv out): finding ctr among the places it may be, rewriting image names
 * and adding the hosts directory to pulls, ctr's global flags, and a copy fit
 * for the --debug log. The command layer (src/cmd/cli.c) gathers the values,
 * runs these steps and execs ctr. */
#ifndef CTRX_PASSTHRU_H
#define CTRX_PASSTHRU_H

#include <stdbool.h>

#include "error.h"
#include "util.h"

struct stat;

/* The real ctr: env_ctr ($CTRX_CTR), else `configured` (ctrx config "ctr"),
 * else the first executable "ctr" on path ($PATH; NULL or empty: the usual
 * system directories) that is not this program (compared by device and
 * inode, so a symlink or copy named ctr is skipped). *out is allocated. */
int passthru_find_ctr(const char *env_ctr, const char *configured, const char *path, char **out,
                      struct error **err);

/* ctr's global flags, made explicit so that ctr sees what ctrx saw. */
struct passthru_globals {
  const char *address;
  const char *namespace;
  const char *timeout;         /* --timeout as given, or NULL */
  const char *connect_timeout; /* --connect-timeout as given, or NULL */
  bool debug;
};

/* ctr's argv: CTR --address ADDR --namespace NS [--timeout T]
 * [--connect-timeout T] [--debug] followed by args (the command and its
 * arguments). */
void passthru_build_argv(const struct passthru_globals *g, const char *ctr, const struct strv *args,
                         struct strv *out);

/* How the caller names images: existing() for a name the command expects to
 * exist (sets *local when the name is a local one that differs from its
 * expansion), created() for one it makes; both return an allocated name. */
struct passthru_names {
  char *(*existing)(const char *typed, bool *local, void *data);
  char *(*created)(const char *typed, void *data);
  void *data;
};

/* Rewrite the image names of a ctr command line (args->v[0] is the
 * command) as ctr of lines reads it (ctrargs_refs): "push REMOTE" of a local
 * name becomes "push EXPANDED REMOTE"; every other name as names says.
 * Returns 0, or -1 with *err when ctrargs_refs cannot tell the names. */
int passthru_rewrite_names(unsigned lines, struct strv *args, const struct passthru_names *names,
                           struct error **err);

/* The registry a pull handed to ctr of lines needs a hosts directory for:
 * NULL when args is no pull, names its own --hosts-dir, or has no reference
 * with a domain (ctr reports what is wrong with it). Allocated. */
char *passthru_pull_registry(unsigned lines, const struct strv *args);
/* Add "--hosts-dir DIR" after "images pull", DIR being the directory of
 * chain (the existing hosts dirs, in order) that holds registry's host
 * directory; nothing when none does. */
void passthru_add_hosts_dir(struct strv *args, const char *registry, const struct strv *chain);

/* The version cache: what `ctr --version` said, kept in FILE (ctrx's state
 * directory) with the identity of the binary that said it (path, device,
 * inode, size, modification time), so that ctr is asked once, not on every
 * command. */

/* The cached version line of the ctr at path whose stat is st; NULL when
 * file is missing, damaged (ignored: the next save rewrites it) or is about
 * another binary or an older one. Allocated. */
char *passthru_version_cached(const char *file, const char *path, const struct stat *st);
/* Replace file with the version line of the ctr at path whose stat is st
 * (atomically; the directory is created when missing). */
int passthru_version_save(const char *file, const char *path, const struct stat *st,
                          const char *version, struct error **err);

/* A copy of a command line fit to print: the password of -u/--user
 * USER:PASSWORD, the value of any flag named like a secret (password, token,
 * ...) and the userinfo of URLs replaced by "***". */
void passthru_redact_argv(const struct strv *in, struct strv *out);

#endif
