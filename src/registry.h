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

#define OCI_MAX_DOCUMENT (4u * 1048u * 1048u) /* as containerd */

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
  const char *user_agent;        /* NULL: "ctrx/<version>" */
  bool debug;                    /* log each request (endpoint, status, time) to stderr:
                                    Authorization and hosts.toml header values redacted,
                                    URL userinfo dropped */
  int64_t connect_timeout_ms;    /* TCP/TLS connect; 0: REGISTRY_CONNECT_TIMEOUT_MS */
  int64_t first_byte_timeout_ms; /* no response this long after the request; 0: default */
  int64_t stall_timeout_ms;      /* no body bytes this long mid-transfer; 0: default */
  int64_t hedge_delay_ms;        /* resolve: start the next endpoint after this; 0: default */
  int64_t deadline_ms;           /* absolute (now_ms clock) end of everything, 0: none */
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

struct oci_desc {
  char *media_type;
  char *digest;
  int64_t size;
};

struct registry;

int registry_new(const struct registry_opts *opts, struct registry **out, struct error **err);
void registry_free(struct registry *r);

/* Resolve REF_OBJECT (hedged: when an endpoint is slow to answer, the next
 * one starts after hedge_delay_ms and the first good answer wins, the earlier
 * endpoint among answers that are there together)  (a tag, or a "sha256:…" digest) of repository
 * REPO
 * ("library/busybox") into the root descriptor: HEAD manifests/<obj> with the
 * OCI + Docker Accept list, falling back to GET; endpoints in order, those with
 * pull+resolve for a tag (pull for a digest). *served_by is the index of the
 * endpoint that answered. Failure lists each endpoint with its own failure. */
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

void oci_desc_release(struct oci_desc *d);
void registry_ep_release(struct registry_ep *e);

/* --- Pieces of the client that need no network, exposed for the tests. --- */

/* One challenge of a WWW-Authenticate header. scheme is lower-cased; realm,
 * service and error are NULL when absent; scopes holds the space-separated
 * words of every scope parameter. Other parameters are ignored. */
struct auth_challenge {
  char *scheme;
  char *realm;
  char *service;
  char *error;
  struct strv scopes;
};

/* Parse HEADER (several header lines may be joined with ", ") into *out, an
 * array of *n_out challenges the caller frees with auth_challenges_free.
 * Quoted strings may hold backslash escapes; token68 credentials are skipped.
 * A malformed header is ERR_INVALID and leaves *out NULL. */
int auth_parse_challenges(const char *header, struct auth_challenge **out, size_t *n_out,
                              struct error **err);
void auth_challenges_free(struct auth_challenge *c, size_t n);

/* Percent-encode S for a URL query value: all but A-Z a-z 0-9 - . _ ~. */
char *http_query_escape(const char *s);
/* "<base>/<repo>/<kind>/<object>" plus "?ns=<escaped ns>" when ep->ns is set;
 * KIND is "manifests" or "blobs". */
char *registry_url(const struct registry_ep *ep, const char *repo, const char *kind,
                   const char *object);
/* The scopes of a token request: "repository:<repo>:pull" and CHALLENGE's
 * (may be NULL), sorted and without duplicates, into OUT. */
void auth_token_scopes(const char *repo, const struct strv *challenge, struct strv *out);
/* "<realm>?scope=…&scope=…&service=…" ('&' when realm has a query already). */
char *auth_token_url(const char *realm, const char *service, const struct strv *scopes);

enum oci_media {
  OCI_MEDIA_OTHER = 0,
  OCI_MEDIA_INDEX,    /* OCI index, Docker manifest list */
  OCI_MEDIA_MANIFEST, /* OCI manifest, Docker schema 2 manifest */
  OCI_MEDIA_SCHEMA1,  /* Docker schema 1 (also text/plain) */
  OCI_MEDIA_CONFIG,   /* OCI or Docker image config */
  OCI_MEDIA_LAYER,
};
/* Classify a media type (parameters and case ignored). */
enum oci_media oci_media_kind(const char *media_type);
/* A Content-Type without its parameters and surrounding blanks, lower-cased. */
char *oci_media_strip(const char *content_type);
/* "sha256:" and 64 lower-case hex digits. */
bool oci_digest_valid(const char *digest);

/* Credentials for registry HOST (host[:port]) from $DOCKER_CONFIG/config.json,
 * else ~/.docker/config.json: the "auths" entry keyed "host", "https://host",
 * "http://host" or "https://host/v1/", its "auth" (base64 of user:password)
 * or "username" and "password". Returns 1 with *user_pass = "user:password"
 * (caller frees), 0 when there is none, -1 when the file cannot be read or
 * parsed. The error never quotes the credentials. */
int auth_docker_credentials(const char *host, char **user_pass, struct error **err);

/* What a server said (LEN bytes of TEXT), fit for a terminal: escape
 * sequences and control characters dropped (tab, CR and LF become one blank),
 * invalid UTF-8 and C1 controls as '?', cut after about MAX bytes with "...".
 * Caller frees. */
#define HTTP_MAX_MESSAGE 200
char *http_sanitize(const char *text, size_t len, size_t max);

/* A copy of the header line LINE with the value of Authorization,
 * Proxy-Authorization and Cookie replaced by "<redacted>". */
char *http_redact_header(const char *line);

#endif
