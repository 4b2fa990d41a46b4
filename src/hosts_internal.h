/* What hosts.c shares with hosts_add.c and nothing else. */
#ifndef CTRX_HOSTS_INTERNAL_H
#define CTRX_HOSTS_INTERNAL_H

#include <stdbool.h>

#include "error.h"

/* The largest hosts.toml read. */
#define HOSTS_TOML_MAX_BYTES (1u << 20)

/* The capability names, bit i of enum hosts_cap being hosts_cap_names[i]. */
#define HOSTS_N_CAPS 4
extern const char *const hosts_cap_names[HOSTS_N_CAPS];

bool hosts_is_dir(const char *path);
/* dir/name. Caller frees. */
char *hosts_path_join(const char *dir, const char *name);
/* The port of host[:port] ("[v6]:port" too), or NULL. */
const char *hosts_host_port(const char *host);
/* A registry host becomes a directory name: keep it from naming anything
 * else (empty, a leading '.', a '/', blanks and control characters). */
int hosts_check_registry(const char *registry, struct error **err);
/* "scheme://host" of registry's built-in upstream endpoint. Caller frees. */
char *hosts_upstream_url(const char *registry);
/* url as containerd reads it in a [host] table (scheme://host/path), or an
 * error when containerd would refuse it. Caller frees *out. */
int hosts_mirror_url(const char *registry, const char *url, bool override_path, char **out,
                     struct error **err);

#endif
