/* Registry host configuration as containerd reads it (PROTOCOL.md §5): which
 * hosts directories are searched, which host directory serves a registry,
 * and the ordered endpoint list from its hosts.toml (or Docker's certs.d
 * layout, or the built-in defaults). No network. */
#ifndef CTRX_HOSTS_H
#define CTRX_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "util.h"

#define HOSTS_CONTAINERD_CERTS_D "/etc/containerd/certs.d"
#define HOSTS_DOCKER_CERTS_D "/etc/docker/certs.d"
#define HOSTS_CONTAINERD_CONFIG "/etc/containerd/config.toml"

enum hosts_cap {
  HOSTS_CAP_PULL = 1 << 0,
  HOSTS_CAP_RESOLVE = 1 << 1,
  HOSTS_CAP_PUSH = 1 << 2,
  HOSTS_CAP_REFERRERS = 1 << 3,
  HOSTS_CAP_ALL = HOSTS_CAP_PULL | HOSTS_CAP_RESOLVE | HOSTS_CAP_PUSH | HOSTS_CAP_REFERRERS,
};

struct hosts_client_pair {
  char *cert;
  char *key; /* "" when cert holds both the certificate and its key */
};

struct hosts_header {
  char *name;
  struct strv values; /* one or more */
};

struct hosts_endpoint {
  char *scheme;   /* "https" or "http" */
  char *host;     /* host[:port] */
  char *path;     /* API root: "/v2", "/us/v2", or "" with override_path */
  unsigned caps;  /* enum hosts_cap bits */
  struct strv ca; /* CA files, relative ones joined to the host directory */
  struct hosts_client_pair *clients;
  size_t n_clients;
  int skip_verify;              /* -1 unset, 0 false, 1 true */
  struct hosts_header *headers; /* in file order */
  size_t n_headers;
  bool override_path;
  int64_t dial_timeout_ms; /* -1 unset */
  bool ns;                 /* requests carry ?ns=<registry host> */
  bool upstream;           /* the `server` (or built-in default) endpoint, always last */
  bool userinfo;           /* its URL had user:password@, which is ignored as in containerd */
  char *file;              /* hosts.toml or certs directory it came from; NULL: built in */
  int line;                /* line of its table or `server` key in file; 0 when none */
};

struct hosts_list {
  struct hosts_endpoint *v;
  size_t n;
};

enum hosts_source {
  HOSTS_SOURCE_DEFAULT, /* no host directory matched: built-in defaults */
  HOSTS_SOURCE_TOML,    /* host directory with a non-empty hosts.toml */
  HOSTS_SOURCE_CERTS,   /* host directory in Docker's certs.d layout */
};

/* Everything hosts_resolve found out, for a pull and for `ctrx hosts`. */
struct hosts_config {
  char *registry;   /* as asked for: "docker.io", "127.0.0.1:5000" */
  struct strv dirs; /* the hosts directories searched, in order */
  /* configured directories that do not exist, for `ctrx hosts` to point out
   * (a typo in config_path is otherwise silent); filled by the caller */
  struct strv missing;
  char *host_dir; /* the directory used, NULL with HOSTS_SOURCE_DEFAULT */
  char *file;     /* the hosts.toml parsed, NULL unless HOSTS_SOURCE_TOML */
  enum hosts_source source;
  struct hosts_list endpoints; /* in the order they are to be tried */
  /* things the user should hear about (user information ignored in a URL);
   * never holds a configured secret */
  struct strv warnings;
};

/* The hosts directory chain (DESIGN.md §3): flag_dirs (--hosts-dir) if any,
 * else cfg_dirs (the ctrx config's hosts_dir), else the CRI registry
 * config_path of containerd's config.toml at containerd_config (which the
 * settings resolve: env CTRX_CONTAINERD_CONFIG, else the ctrx config's
 * containerd_config; NULL: HOSTS_CONTAINERD_CONFIG) followed by
 * /etc/containerd/certs.d and /etc/docker/certs.d. With existing_only,
 * directories that do not exist are left out. flag_dirs and cfg_dirs may be NULL.
 * Fills out (which the caller releases); a containerd config that does not
 * parse is an error naming FILE:LINE:COL. */
int hosts_dirs(const struct strv *flag_dirs, const struct strv *cfg_dirs,
               const char *containerd_config, bool existing_only, struct strv *out,
               struct error **err);
/* Append the directories of config_path in containerd's config file (a
 * ':'-separated list; v1, v2 and v3 layouts). A missing file adds nothing. */
int hosts_containerd_config_path(const char *file, struct strv *out, struct error **err);

/* The host directory for registry in the chain: in each directory in turn,
 * "host_port_" (only when registry has a port), "host:port", "_default".
 * *out is NULL when none exists. Caller frees. */
void hosts_find_dir(const struct strv *dirs, const char *registry, char **out);

/* Endpoints from hosts.toml text (file and host_dir are used for messages,
 * `from`, and to resolve relative paths; host_dir may be NULL). */
int hosts_parse(const char *registry, const char *host_dir, const char *file, const char *text,
                size_t len, struct hosts_list *out, struct error **err);
/* Docker's certs.d layout in dir (*.crt, *.cert + *.key) on the single
 * default endpoint. */
int hosts_load_certs(const char *registry, const char *dir, struct hosts_list *out,
                     struct error **err);
/* The single built-in default endpoint of registry (PROTOCOL.md §5.5). */
void hosts_default(const char *registry, struct hosts_list *out);
/* All of the above: find registry's host directory in dirs and build its
 * endpoint list. A hosts.toml that does not parse is an error (containerd
 * would silently fall back to defaults; we refuse to guess). */
int hosts_resolve(const char *registry, const struct strv *dirs, struct hosts_config *out,
                  struct error **err);

void hosts_list_release(struct hosts_list *l);
void hosts_config_release(struct hosts_config *c);

/* scheme://host[:port]path. Caller frees. */
char *hosts_endpoint_url(const struct hosts_endpoint *e);
/* localhost, loopback IPv4/IPv6 addresses, with or without a port. */
bool hosts_is_localhost(const char *host);
/* "pull,resolve" <-> bits; unknown names are an error. */
int hosts_caps_parse(const char *list, unsigned *out, struct error **err);
char *hosts_caps_string(unsigned caps); /* caller frees; "none" for 0 */
/* True for header names whose values must not be shown in a debug log.
 * (`ctrx hosts` shows no configured header value at all.) */
bool hosts_header_is_secret(const char *name);
/* s with the user information of every "scheme://user:password@host" in it
 * left out, for messages. Caller frees. */
char *hosts_strip_userinfo(const char *s);
/* s as valid UTF-8: every byte that does not begin a valid UTF-8 sequence
 * (stray continuation bytes, overlong forms, surrogates, truncated
 * sequences, code points past U+10FFFF) becomes U+FFFD, one per byte, the
 * rule of Go's encoding/json. For JSON output. Caller frees. */
char *hosts_utf8_sanitize(const char *s);

/* The registry host named by a `ctrx hosts` argument: a REF (anything with
 * '/', '@', a tag, or a bare word such as "nginx") gives its domain after
 * Docker normalization; a name with a dot or a port, "localhost" or "[v6]"
 * is taken as the registry host itself. Caller frees *out. */
int hosts_registry_of(const char *arg, char **out, struct error **err);

/* The text `ctrx hosts` prints: a header naming the directories and the
 * file used, then one aligned line per endpoint. */
void hosts_describe(const struct hosts_config *c, struct buf *out);

struct hosts_mirror_opts {
  const char *url;
  unsigned caps; /* 0: pull,resolve */
  bool skip_verify;
  const char *ca; /* NULL: none; relative to the current directory */
  bool override_path;
};

/* Add a [host."URL"] table to root/<registry>/hosts.toml, creating the
 * directories and the file (with `server` set to the registry's upstream) as
 * needed. The URL must be a plain RFC 3986 URL (printable ASCII, no quotes,
 * backslashes or spaces, valid %XX escapes, no user information). Everything
 * is validated before anything is created. Writers of one registry hold an
 * exclusive flock on its directory and re-read the file under it, so that
 * concurrent adds all land. Existing bytes are kept as they are; the result
 * is parsed before it replaces the file atomically; a symlinked hosts.toml
 * is written through (next to its target), and the owner and mode of an
 * existing file are kept. A URL that is already a mirror is refused.
 * *out_file (caller frees) names the file written. */
int hosts_add_mirror(const char *root, const char *registry, const struct hosts_mirror_opts *o,
                     char **out_file, struct error **err);

#endif
