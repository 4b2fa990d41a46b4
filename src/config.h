/* ctrx's own configuration file: /etc/ctrx/config.toml, then
 * $XDG_CONFIG_HOME/ctrx/config.toml (or ~/.config/ctrx/config.toml); a key in
 * the later file overrides the same key of the earlier one. */
#ifndef CTRX_CONFIG_H
#define CTRX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

struct ctrx_config {
  char *namespace;         /* "namespace", NULL if unset */
  struct strv hosts_dirs;  /* "hosts_dir": a string or an array of strings */
  char *containerd_config; /* "containerd_config": path of containerd's config.toml */
  char *ctr;               /* "ctr": path of the real ctr */
  /* [mirror] timeouts in milliseconds, -1 when unset */
  int64_t connect_timeout_ms;    /* mirror.connect_timeout = "5s" */
  int64_t first_byte_timeout_ms; /* mirror.first_byte_timeout */
  int64_t stall_timeout_ms;      /* mirror.stall_timeout */
  struct strv files;             /* the files that were read, in order */
};

/* The environment variables that set what a flag or the ctrx config may also
 * set, read once at start (config_read_env) and handed down from there.
 * Precedence everywhere: a flag, then the environment, then the ctrx config,
 * then the default (config_pick). Values as the environment has them: NULL
 * when unset, possibly empty. */
struct ctrx_env {
  const char *address;           /* CONTAINERD_ADDRESS */
  const char *namespace;         /* CONTAINERD_NAMESPACE */
  const char *snapshotter;       /* CONTAINERD_SNAPSHOTTER */
  const char *no_expand;         /* CTRX_NO_EXPAND */
  const char *ctr;               /* CTRX_CTR */
  const char *containerd_config; /* CTRX_CONTAINERD_CONFIG */
  const char *path;              /* PATH, where ctr is looked for */
  const char *state_dir;         /* CTRX_STATE_DIR */
  const char *xdg_state_home;    /* XDG_STATE_HOME */
  const char *home;              /* HOME */
};
/* Fill env through get (getenv, or a test's table). */
void config_read_env(struct ctrx_env *env, const char *(*get)(const char *name));
/* The first of flag, env, cfg that is set and not empty, else def. */
const char *config_pick(const char *flag, const char *env, const char *cfg, const char *def);
/* ctrx's state directory (endpoint health memory, caches): $CTRX_STATE_DIR,
 * else $XDG_STATE_HOME/ctrx, else /var/lib/ctrx for root (and for anyone
 * without a home) and ~/.local/state/ctrx for others. Caller frees. */
char *config_state_dir(const struct ctrx_env *env, bool root);

/* Read the config files that exist. A file that does not parse, or a key of the
 * wrong type, is an error naming FILE:LINE:COL. Missing files are not errors.
 * The environment variable CTRX_CONFIG, when set, names the only file read. */
int config_load(struct ctrx_config *cfg, struct error **err);
/* As config_load, from the given files in order (later ones override earlier
 * ones key by key); for tests and tools that name their files. */
int config_load_paths(struct ctrx_config *cfg, const char *const *paths, size_t n,
                      struct error **err);
void config_release(struct ctrx_config *cfg);
/* The system-wide file config_load reads first; NULL restores
 * /etc/ctrx/config.toml. For tests, which must not depend on the machine's. */
void config_set_system_file(const char *path);

#endif
