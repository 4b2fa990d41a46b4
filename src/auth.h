/* Registry authentication: the WWW-Authenticate challenge of a 401 answered
 * with a bearer token (fetched from the realm it names) or Basic
 * credentials, from --user or docker's config.json; the Authorization
 * values are cached per endpoint origin and repository. */
#ifndef CTRX_AUTH_H
#define CTRX_AUTH_H

#include "error.h"
#include "http.h"

struct auth;

/* USER: "user[:password]" from --user, NULL to read docker's config.json. */
struct auth *auth_new(const char *user);
void auth_free(struct auth *a);

/* http_perform of URL on the endpoint at BASE (EP its transport settings),
 * with the cached authorization for REPO there; on a 401 the challenge is
 * answered and the request retried once. A 401 after that, or one without
 * a challenge, is ERR_UNAUTHENTICATED. */
int auth_perform(struct auth *a, struct http *http, struct http_conn *c, const char *base,
                 const struct http_endpoint *ep, const char *repo, const char *url,
                 struct http_req *q, struct error **err);

#endif
