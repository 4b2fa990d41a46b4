/* OCI distribution client: resolve a tag or digest, fetch manifests and blobs,
 * over the ordered endpoints of hosts.toml. libcurl is loaded on first use
 * (dlopen), so commands that never touch a registry do not pay for it. */
#ifndef CTRX_REGISTRY_H
#define CTRX_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

#define REGISTRY_MAX_MANIFEST (4u * 1048u * 1048u) /* as containerd */

enum registry_cap { REGISTRY_PULL = 1, REGISTRY_RESOLVE = 2, REGISTRY_PUSH = 4 };

/* One endpoint, in the order it is to be tried. */
struct registry_ep {
  char *base;           /* "https://registry-1.docker.io/v2", no trailing slash */
  char *ns;             /* value for ?ns=, NULL when not sent */
  unsigned caps;        /* enum registry_cap bits */
  int skip_verify;      /* -1 unset, 0, 1 */
  struct strv ca_files; /* PEM CA files added to the system roots */
  char *client_cert;    /* PEM client certificate, NULL for none */
  char *client_key;     /* its key; NULL: in client_cert */
  struct strv headers;  /* "Name: value" lines */
};

struct registry_opts {
  const char *user;       /* "user:password" from --user, NULL: docker config.json */
  const char *user_agent; /* NULL: "ctrx/<version>" */
  bool debug;             /* log each request (endpoint, status, time) to stderr,
                             Authorization values redacted */
  int64_t connect_timeout_ms; /* 0: default */
};

struct registry_desc {
  char *media_type;
  char *digest;
  int64_t size;
};

struct registry;

int registry_new(const struct registry_opts *opts, struct registry **out, struct error **err);
void registry_free(struct registry *r);

/* Resolve REF_OBJECT (a tag, or a "sha256:…" digest) of repository REPO
 * ("library/busybox") into the root descriptor: HEAD manifests/<obj> with the
 * OCI + Docker Accept list, falling back to GET; endpoints in order, those with
 * pull+resolve for a tag (pull for a digest). *served_by is the index of the
 * endpoint that answered. Failure lists each endpoint with its own failure. */
int registry_resolve(struct registry *r, const struct registry_ep *eps, size_t n_eps,
                     const char *repo, const char *ref_object, struct registry_desc *out,
                     size_t *served_by, struct error **err);

/* Stream the blob or manifest DESC (manifests/ for manifest and index media
 * types, blobs/ otherwise) from byte OFFSET on into sink. Endpoints in order;
 * an endpoint that fails before sink saw a byte is skipped. sink returns 0 to
 * go on, -1 to abort (its error is kept). The caller verifies the digest. */
typedef int (*registry_sink)(const void *data, size_t len, void *arg, struct error **err);
int registry_fetch(struct registry *r, const struct registry_ep *eps, size_t n_eps,
                   const char *repo, const struct registry_desc *desc, int64_t offset,
                   registry_sink sink, void *arg, size_t *served_by, struct error **err);

void registry_desc_release(struct registry_desc *d);
void registry_ep_release(struct registry_ep *e);

#endif
