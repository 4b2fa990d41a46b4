/* Registry authentication: the WWW-Authenticate challenge of a 401 answered
 * with a bearer token (fetched from the realm it names: the OAuth2 POST with
 * a password or an identity token, the GET as a fallback and for anonymous
 * pulls) or Basic credentials, from --user or docker's config.json (its
 * auths, or the credential helper it names for the endpoint's host); the
 * Authorization values are cached per endpoint origin and repository, the
 * credentials per host, for the process. */
#ifndef CTRX_AUTH_H
#define CTRX_AUTH_H

#include <stdint.h>

#include "error.h"
#include "http.h"

struct auth;

struct auth_opts {
  const char *user;          /* "user[:password]" from --user; NULL: config.json */
  const char *docker_config; /* the config.json path; NULL: none */
  const char *path;          /* the PATH credential helpers are looked for on */
  int64_t helper_timeout_ms; /* a helper's deadline; 0: CREDHELPER_TIMEOUT_MS */
  int64_t deadline_ms;       /* absolute (now_ms clock) end of the command, 0: none */
};
/* Copies what O points to; O NULL: anonymous. */
struct auth *auth_new(const struct auth_opts *o);
void auth_free(struct auth *a);

/* http_perform of URL on the endpoint at BASE (EP its transport settings),
 * with the cached authorization for REPO there; on a 401 the challenge is
 * answered and the request retried once. A 401 after that, or one without
 * a challenge, is ERR_UNAUTHENTICATED. */
int auth_perform(struct auth *a, struct http *http, struct http_conn *c, const char *base,
                 const struct http_endpoint *ep, const char *repo, const char *url,
                 struct http_req *q, struct error **err);

/* GET <base>/ (a registry's /v2/) with A's credentials, answering its
 * challenge as a pull would (the token flow included, no repository
 * scope): 0 when it answers 200. */
int auth_check_login(struct auth *a, struct http *http, struct http_conn *conn, const char *base,
                     const struct http_endpoint *ep, struct error **err);

/* Where config.json at CONFIG_PATH (NULL: none) says HOST's credentials
 * come from, in words: "helper docker-credential-NAME (credHelpers)",
 * "config.json auths", "none". Never the credentials; no helper is run.
 * Caller frees *out. */
int auth_describe_source(const char *config_path, const char *host, char **out, struct error **err);

#endif
