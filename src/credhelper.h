/* Docker's credential helpers (docker-credential-NAME, the protocol of
 * docker-credential-helpers): `get` with a server URL on stdin answers JSON
 * {"ServerURL","Username","Secret"}; `store` reads that JSON; `erase` reads
 * the URL. The helper is found on the PATH given, run without a shell, fed
 * and read through pipes, and killed when it outlives its deadline. What it
 * writes to stdout is a secret: kept in memory the caller wipes, never in an
 * error. Its error names it, its exit status and its stderr's first line. */
#ifndef CTRX_CREDHELPER_H
#define CTRX_CREDHELPER_H

#include <stdint.h>

#include "dockercfg.h"
#include "error.h"
#include "util.h"

#define CREDHELPER_TIMEOUT_MS 10000
#define CREDHELPER_MAX_OUTPUT (1024u * 1024u)

struct credhelper_opts {
  const char *path;    /* the PATH to search, NULL or "": none is found */
  int64_t timeout_ms;  /* 0: CREDHELPER_TIMEOUT_MS */
  int64_t deadline_ms; /* absolute (now_ms clock) end of the command, 0: none */
};

/* "docker-credential-NAME" found on o->path, or NULL (caller frees). A NAME
 * holding '/' is never looked up. */
char *credhelper_find(const struct credhelper_opts *o, const char *name);

/* Run docker-credential-NAME VERB with INPUT on stdin; *out receives its
 * stdout (at most CREDHELPER_MAX_OUTPUT bytes; wipe it). 0 when it exited
 * 0. Otherwise -1: ERR_NOT_FOUND when it is not on the PATH, ERR_DEADLINE
 * when it was killed at its deadline, else the exit status and stderr's
 * first line (*out still holds stdout, for dockercfg_helper_not_found). */
int credhelper_run(const struct credhelper_opts *o, const char *name, const char *verb,
                   const char *input, struct buf *out, struct error **err);

/* get for SERVER_URL into out->user/secret/identity_token. 1: found; 0: the
 * helper has nothing for it; -1: error (ERR_NOT_FOUND: no such helper). */
int credhelper_get(const struct credhelper_opts *o, const char *name, const char *server_url,
                   struct dockercfg_creds *out, struct error **err);
int credhelper_store(const struct credhelper_opts *o, const char *name, const char *server_url,
                     const char *user, const char *secret, struct error **err);
/* 1 erased, 0 the helper had nothing for it. */
int credhelper_erase(const struct credhelper_opts *o, const char *name, const char *server_url,
                     struct error **err);

#endif
