/* `ctrx hosts check`'s work: which registries have a host directory, their
 * endpoints as a pull asks them (endpoints.h), and every endpoint probed at
 * once. Prints nothing; the command shows the result. */
#ifndef CTRX_PROBE_H
#define CTRX_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoints.h"
#include "hosts.h"
#include "registry.h"
#include "util.h"

/* An endpoint that answers only after the hedge delay is one a pull will
 * already have gone past: call it slow. */
#define PROBE_SLOW_MS REGISTRY_HEDGE_DELAY_MS

/* One endpoint and what its probe found. */
struct probe_endpoint {
  struct registry_ep ep;
  struct registry_probe res;
};

/* One registry: its configuration and endpoints, or why there are none. */
struct probe_registry {
  char *name;
  struct hosts_config hc;
  char *error; /* hosts_resolve failed; then there are no endpoints */
  struct probe_endpoint *eps;
  size_t n_eps;
};

/* The registry a host directory's name stands for: "host_port_" names
 * "host:port" (containerd's spelling where ':' is not allowed); anything
 * else is the name itself. Caller frees. */
char *probe_dir_registry(const char *dir_name);
/* Appends to out every registry with a host directory in dirs, in chain
 * order, each directory's names sorted, none twice; "_default" and dot
 * names are no registry, nor is anything but a directory. */
void probe_registries_in(const struct strv *dirs, struct strv *out);

/* Resolves name in dirs (a failure goes into c->error, not err: the other
 * registries are still checked) and converts its endpoints with o. c is
 * zeroed first; release it with probe_registry_release. */
void probe_registry_init(struct probe_registry *c, const char *name, const struct strv *dirs,
                         const struct endpoints_opts *o);
void probe_registry_release(struct probe_registry *c);

/* Probes every endpoint of the n registries at once (a thread each), with
 * reg's deadlines; returns when the slowest is done. */
void probe_all(struct registry *reg, struct probe_registry *regs, size_t n);

/* "ok", "slow" or "dead". */
const char *probe_verdict(const struct registry_probe *p);
/* How many of c's endpoints answered. */
size_t probe_answering(const struct probe_registry *c);
/* base, with "?ns=<ns>" when the endpoint sends one. Caller frees. */
char *probe_ep_url(const struct registry_ep *e);

#endif
