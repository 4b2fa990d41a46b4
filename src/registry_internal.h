/* Pieces of the registry client (registry.c, auth.c, http.c) that need no
 * network, declared for the unit tests and the fuzz targets only. Nothing
 * else includes this header. */
#ifndef CTRX_REGISTRY_INTERNAL_H
#define CTRX_REGISTRY_INTERNAL_H

#include <stddef.h>

#include "error.h"
#include "registry.h"
#include "util.h"

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

/* The scopes of a token request: "repository:<repo>:pull" (none for REPO NULL) and CHALLENGE's
 * (may be NULL), sorted and without duplicates, into OUT. */
void auth_token_scopes(const char *repo, const struct strv *challenge, struct strv *out);
/* "<realm>?scope=…&scope=…&service=…" ('&' when realm has a query already). */
char *auth_token_url(const char *realm, const char *service, const struct strv *scopes);

/* Credentials for registry HOST (host[:port]) from the config.json at
 * CONFIG_PATH (NULL: none), as dockercfg_lookup finds them in its auths
 * (a helper is not run). Returns 1 with *user_pass = "user:password" (caller
 * frees), 0 when there is none, -1 when the file cannot be read or parsed.
 * The error never quotes the credentials. */
int auth_docker_credentials(const char *config_path, const char *host, char **user_pass,
                            struct error **err);
struct dockercfg_creds;
/* The OAuth2 token request's form for credentials C: grant_type=password
 * with username and password, or grant_type=refresh_token for an identity
 * token (or a secret without a user); client_id, service, and the scopes
 * joined by spaces. Holds the secret: wipe it. */
char *auth_token_form(const struct dockercfg_creds *c, const char *service,
                      const struct strv *scopes);
/* The POST's STATUS means the realm wants the GET instead (containerd's rule,
 * and a 3xx: the POST is never followed to another origin). */
bool auth_post_falls_back(long status, bool identity_token);

/* "<base>/<repo>/<kind>/<object>" plus "?ns=<escaped ns>" when ep->ns is set;
 * KIND is "manifests" or "blobs". */
char *registry_url(const struct registry_ep *ep, const char *repo, const char *kind,
                   const char *object);

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
