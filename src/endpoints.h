/* The registry endpoints of a hosts configuration: what hosts.toml (or the
 * built-in default) says, with what ctr's pull flags change about it. The
 * one conversion a pull and `ctrx hosts check` share, so that the check asks
 * every endpoint exactly as the pull will. No network. */
#ifndef CTRX_ENDPOINTS_H
#define CTRX_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "hosts.h"
#include "registry.h"

/* ctr's flags that change endpoints. */
struct endpoints_opts {
  bool plain_http;  /* --plain-http: the upstream endpoint over http, unless a
                       hosts.toml names it */
  bool skip_verify; /* --skip-verify: no TLS verification on any endpoint */
};

/* hc's endpoints in its order, as registry endpoints; o may be NULL (no
 * flags). Returns an array of *n entries (at least one slot is allocated even
 * when *n is 0); release with endpoints_free. */
struct registry_ep *endpoints_from_hosts(const struct hosts_config *hc,
                                         const struct endpoints_opts *o, size_t *n);
/* Releases the n endpoints and the array; NULL is fine. */
void endpoints_free(struct registry_ep *eps, size_t n);

#endif
