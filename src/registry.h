/* OCI distribution client: resolve a tag or digest, fetch manifests and blobs,
 * over the ordered endpoints of hosts.toml. libcurl is loaded on first use
 * (dlopen), so commands that never touch a registry do not pay for it. */
#ifndef CTRX_REGISTRY_H
#define CTRX_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci.h"
#include "util.h"

enum registry_cap { REGISTRY_PULL = 1, REGISTRY_RESOLVE = 2, REGISTRY_PUSH = 4 };

/* One endpoint, in the order it is to be tried. */
struct registry_ep {
  char *base;                 /* "https://registry-1.docker.io/v2", no trailing slash */
  char *ns;                   /* value for ?ns=, NULL when not sent */
  unsigned caps;              /* enum registry_cap bits */
  int skip_verify;            /* -1 unset, 0, 1 */
  struct strv ca_files;       /* PEM CA files added to the system roots */
  char *client_cert;          /* PEM client certificate, NULL for none */
  char *client_key;           /* its key; NULL: in client_cert */
  struct strv headers;        /* "Name: value" lines */
  int64_t connect_timeout_ms; /* hosts.toml dial_timeout; 0: the registry's default */
};

struct registry_opts {
  const char *user;              /* "user:password" from --user, NULL: docker config.json */
  const char *docker_config;     /* that config.json's path, NULL: none */
  const char *path;              /* the PATH its credential helpers are found on */
  const char *user_agent;        /* NULL: "ctrx/<version>" */
  bool debug;                    /* log each request (endpoint, status, time) to stderr:
                                    Authorization and hosts.toml header values redacted,
                                    URL userinfo dropped */
  int64_t connect_timeout_ms;    /* TCP/TLS connect; 0: REGISTRY_CONNECT_TIMEOUT_MS */
  int64_t first_byte_timeout_ms; /* no response this long after the request; 0: default */
  int64_t stall_timeout_ms;      /* no body bytes this long mid-transfer; 0: default */
  int64_t hedge_delay_ms;        /* resolve: start the next endpoint after this; 0: default */
  int64_t deadline_ms;           /* absolute (now_ms clock) end of everything, 0: none */
  bool no_spread;                /* a pull takes each blob from one endpoint at a time, in
                                    order, instead of spreading it (spread.h) */
  /* Called (from any thread) when an endpoint fails in a way that says it is
   * unwell: no connection, a deadline, a reset, a 5xx. Not for 404 or 401. */
  void (*on_endpoint_failure)(const char *base, const struct error *e, void *arg);
  void *failure_arg;
};

/* Defaults of the per-endpoint deadlines (DESIGN.md §4). */
#define REGISTRY_CONNECT_TIMEOUT_MS 5000
#define REGISTRY_FIRST_BYTE_TIMEOUT_MS 10000
#define REGISTRY_STALL_TIMEOUT_MS 15000
#define REGISTRY_HEDGE_DELAY_MS 500

struct registry;

int registry_new(const struct registry_opts *opts, struct registry **out, struct error **err);
void registry_free(struct registry *r);

/* Login: GET EP's /v2/ with the credentials of R's options, answering a
 * challenge as a pull would; 0 when it answers 200. */
int registry_check_login(struct registry *r, const struct registry_ep *ep, struct error **err);

/* Resolve REF_OBJECT (a tag, or a "sha256:…" digest) of repository REPO
 * ("library/busybox") into the root descriptor: HEAD manifests/<obj> with the
 * OCI + Docker Accept list, falling back to GET. The endpoints are asked in
 * order, those with pull+resolve for a tag (pull for a digest), hedged: when
 * one is slow to answer, the next starts after hedge_delay_ms, and the first
 * good answer wins (among answers there together, the earlier endpoint's).
 * *served_by is the index of the endpoint that answered. Failure lists each
 * endpoint with its own failure. */
int registry_resolve(struct registry *r, const struct registry_ep *eps, size_t n_eps,
                     const char *repo, const char *ref_object, struct oci_desc *out,
                     size_t *served_by, struct error **err);

/* Stream the blob or manifest DESC (manifests/ for manifest and index media
 * types, blobs/ otherwise) from byte OFFSET on into sink. Endpoints in order;
 * an endpoint that fails before sink saw a byte is skipped. sink returns 0 to
 * go on, -1 to abort (its error is kept). The caller verifies the digest.
 * The sink never gets more than desc->size bytes in all; a body longer than
 * that fails the endpoint, and its last byte is held back until the body
 * ended, so the sink never saw the whole of a body that was too long.
 * A redirect to another origin gets no credentials and no header of EP. */
typedef int (*registry_sink)(const void *data, size_t len, void *arg, struct error **err);
int registry_fetch(struct registry *r, const struct registry_ep *eps, size_t n_eps,
                   const char *repo, const struct oci_desc *desc, int64_t offset,
                   registry_sink sink, void *arg, size_t *served_by, struct error **err);

/* Bytes [from, to) of blob DESC from the one endpoint EP into sink, asked
 * with Range: bytes=from-(to-1). An answer that is not exactly that range
 * fails (a 200 sending the whole blob included, unless it is the range); the
 * sink never gets more than to - from bytes. cancel, when not NULL, is set by
 * another thread to give up. The caller verifies the digest. */
int registry_fetch_range(struct registry *r, const struct registry_ep *ep, const char *repo,
                         const struct oci_desc *desc, int64_t from, int64_t to, registry_sink sink,
                         void *arg, const volatile int *cancel, struct error **err);

/* A health probe of one endpoint: GET <base>/ (with ?ns=). An answer of 200,
 * or a 401 asking for credentials, means the endpoint is alive. */
struct registry_probe {
  bool alive;
  long status;          /* HTTP status, 0 when none came */
  int64_t latency_ms;   /* until the answer (or the failure) */
  char http_version[8]; /* "1.1", "2", "" when none */
  char *tls;   /* "verified", "not verified (skip_verify)", "plain http", or why TLS failed */
  char *error; /* why it is not alive, NULL when it is */
};
int registry_probe(struct registry *r, const struct registry_ep *ep, struct registry_probe *out);
void registry_probe_release(struct registry_probe *p);

void registry_ep_release(struct registry_ep *e);

#endif
