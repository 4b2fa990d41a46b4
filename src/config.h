/* ctrx's own configuration file: /etc/ctrx/config.toml, then
 * $XDG_CONFIG_HOME/ctrx/config.toml (or ~/.config/ctrx/config.toml); a key in
 * the later file overrides the same key of the earlier one. */
#ifndef CTRX_CONFIG_H
#define CTRX_CONFIG_H

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
