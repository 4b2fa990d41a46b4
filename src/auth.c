/* Registry authentication: challenges, tokens, credentials and their cache. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>

#include "credhelper.h"
#include "digest.h"
#include "dockercfg.h"
#include "log.h"
#include "registry_internal.h"

#define MAX_TOKEN_BODY (1024u * 1024u)

/* ---- WWW-Authenticate, token URLs, docker's config.json: pure ---- */

/* ---- the client ---- */

/* ---- pure helpers ---- */

static bool
is_tchar(int c)
{
  return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_ows(int c)
{
  return c == ' ' || c == '\t';
}

static void
set_param(struct auth_challenge *c, const char *name, size_t name_len, char *value)
{
  char **slot = NULL;

  if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
    slot = &c->realm;
  else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
    slot = &c->service;
  else if (name_len == 5 && strncasecmp(name, "error", 5) == 0)
    slot = &c->error;
  else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0) {
    const char *p = value;
    while (*p) {
      size_t n;
      while (*p == ' ')
        p++;
      n = strcspn(p, " ");
      if (n > 0)
        strv_push_owned(&c->scopes, xstrndup(p, n));
      p += n;
    }
  }
  if (slot != NULL) {
    free(*slot);
    *slot = value;
  } else {
    free(value);
  }
}

/* A quoted-string at *pp (on its opening quote); NULL when unterminated. */
static char *
parse_quoted(const char **pp)
{
  const char *p = *pp + 1;
  struct buf b = BUF_INIT;

  buf_addstr(&b, "");
  for (;;) {
    if (*p == '\0') {
      buf_release(&b);
      return NULL;
    }
    if (*p == '"')
      break;
    if (*p == '\\') {
      p++;
      if (*p == '\0') {
        buf_release(&b);
        return NULL;
      }
    }
    buf_add(&b, p++, 1);
  }
  *pp = p + 1;
  return buf_steal(&b);
}

/* A parameter's value at *pp: a quoted-string or a token (with '/' and ':',
 * as registries send them unquoted); NULL, *pp unmoved, when there is none. */
static char *
parse_value(const char **pp)
{
  const char *p = *pp, *v = p;

  if (*p == '"')
    return parse_quoted(pp);
  while (is_tchar((unsigned char)*p) || *p == '/' || *p == ':')
    p++;
  if (p == v)
    return NULL;
  *pp = p;
  return xstrndup(v, (size_t)(p - v));
}

/* The parameters of challenge C from *pp on, or one token68 right after its
 * scheme, until the next scheme or the end. -1 when malformed, *pp there. */
static int
parse_params(const char **pp, struct auth_challenge *c)
{
  const char *p = *pp;
  int ret = -1;

  for (bool first = true;; first = false) {
    const char *save = p, *name, *q;
    size_t name_len;
    bool after_comma;
    char *value;

    while (is_ows(*p) || *p == ',')
      p++;
    if (*p == '\0')
      break;
    name = p;
    while (is_tchar((unsigned char)*p) || *p == '/')
      p++;
    name_len = (size_t)(p - name);
    if (name_len == 0)
      goto out;
    after_comma = memchr(save, ',', (size_t)(name - save)) != NULL;
    q = p;
    while (is_ows(*q))
      q++;
    if (*q != '=') {
      if (first && !after_comma) {
        p = q; /* a token68 without padding */
        continue;
      }
      /* Otherwise a word without '=' starts the next challenge. */
      if (memchr(name, '/', name_len) != NULL)
        goto out;
      p = save;
      break;
    }
    if (first && q == p && !after_comma) {
      /* token68 ("Basic dXNlcg==" as a credential): '='s up to the end or a comma. */
      const char *e = q;
      while (*e == '=')
        e++;
      while (is_ows(*e))
        e++;
      if (*e == '\0' || *e == ',') {
        p = e;
        continue;
      }
    }
    if (memchr(name, '/', name_len) != NULL)
      goto out;
    p = q + 1;
    while (is_ows(*p))
      p++;
    if ((value = parse_value(&p)) == NULL)
      goto out;
    set_param(c, name, name_len, value);
    while (is_ows(*p))
      p++;
    if (*p != '\0' && *p != ',')
      goto out;
  }
  ret = 0;
out:
  *pp = p;
  return ret;
}

int
auth_parse_challenges(const char *header, struct auth_challenge **out, size_t *n_out,
                      struct error **err)
{
  struct auth_challenge *cs = NULL;
  size_t n = 0;
  const char *p = header;

  *out = NULL;
  *n_out = 0;
  for (;;) {
    struct auth_challenge *c;
    const char *s;

    while (is_ows(*p) || *p == ',')
      p++;
    if (*p == '\0')
      break;
    s = p;
    while (is_tchar((unsigned char)*p))
      p++;
    if (p == s)
      goto bad;
    cs = xrealloc(cs, (n + 1) * sizeof(*cs));
    c = &cs[n++];
    memset(c, 0, sizeof(*c));
    c->scheme = xstrndup(s, (size_t)(p - s));
    for (char *q = c->scheme; *q; q++)
      *q = (char)tolower((unsigned char)*q);
    if (*p != '\0' && !is_ows(*p) && *p != ',')
      goto bad;
    if (parse_params(&p, c) < 0)
      goto bad;
  }
  *out = cs;
  *n_out = n;
  return 0;
bad:
  auth_challenges_free(cs, n);
  return error_setc(err, ERR_INVALID, "malformed WWW-Authenticate header at offset %zu",
                    (size_t)(p - header));
}

void
auth_challenges_free(struct auth_challenge *c, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(c[i].scheme);
    free(c[i].realm);
    free(c[i].service);
    free(c[i].error);
    strv_release(&c[i].scopes);
  }
  free(c);
}

void
auth_token_scopes(const char *repo, const struct strv *challenge, struct strv *out)
{
  struct strv all = STRV_INIT;

  if (repo != NULL)
    strv_push_owned(&all, xasprintf("repository:%s:pull", repo));
  for (size_t i = 0; challenge && i < challenge->n; i++)
    strv_push(&all, challenge->v[i]);
  if (all.n > 1)
    qsort(all.v, all.n, sizeof(*all.v), str_ptr_cmp);
  for (size_t i = 0; i < all.n; i++)
    if (i == 0 || strcmp(all.v[i], all.v[i - 1]) != 0)
      strv_push(out, all.v[i]);
  strv_release(&all);
}

char *
auth_token_url(const char *realm, const char *service, const struct strv *scopes)
{
  struct buf b = BUF_INIT;
  char sep = strchr(realm, '?') ? '&' : '?';

  buf_addstr(&b, realm);
  for (size_t i = 0; i < scopes->n; i++) {
    cleanup_free char *e = http_query_escape(scopes->v[i]);
    buf_addf(&b, "%cscope=%s", sep, e);
    sep = '&';
  }
  if (service != NULL && service[0] != '\0') {
    cleanup_free char *e = http_query_escape(service);
    buf_addf(&b, "%cservice=%s", sep, e);
  }
  return buf_steal(&b);
}

/* ---- credentials ---- */

static char *
b64_encode(const char *s)
{
  char *r = digest_base64_encode(s, strlen(s));
  return r ? r : xstrdup("");
}

/* jansson's own cleanup helper. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

int
auth_docker_credentials(const char *config_path, const char *host, char **user_pass,
                        struct error **err)
{
  struct dockercfg_creds c = {0};
  int rv;

  *user_pass = NULL;
  rv = dockercfg_lookup_file(config_path, host, &c, err);
  if (rv == 0 && c.kind == DOCKERCFG_AUTHS) {
    *user_pass = xasprintf("%s:%s", c.user ? c.user : "", c.secret);
    rv = 1;
  }
  dockercfg_creds_release(&c);
  return rv;
}

/* ---- authentication ---- */

/* ---- the cache of Authorization values ---- */

struct auth_entry {
  char *key;   /* "<scheme://host:port> <scope>" */
  char *value; /* the whole Authorization value: "Bearer …" or "Basic …" */
};

/* What one registry host's credentials turned out to be, for the process:
 * a helper runs once per host, whatever it answered. */
struct cred_entry {
  char *host;
  struct dockercfg_creds creds; /* kind NONE: anonymous */
  struct error *err;            /* the lookup failed: every request says so */
};

struct auth {
  pthread_mutex_t lock; /* guards user, entries, n */
  char *user;
  char *docker_config;
  char *path;
  struct credhelper_opts helper;
  struct auth_entry *entries;
  size_t n;
  pthread_mutex_t cred_lock; /* guards creds, n_creds; held while a helper runs */
  struct cred_entry *creds;
  size_t n_creds;
};

struct auth *
auth_new(const struct auth_opts *o)
{
  static const struct auth_opts none = {0};
  struct auth *a = xcalloc(1, sizeof(*a));

  if (o == NULL)
    o = &none;
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->cred_lock, NULL);
  a->user = o->user ? xstrdup(o->user) : NULL;
  a->docker_config = o->docker_config ? xstrdup(o->docker_config) : NULL;
  a->path = o->path ? xstrdup(o->path) : NULL;
  a->helper.path = a->path;
  a->helper.timeout_ms = o->helper_timeout_ms;
  a->helper.deadline_ms = o->deadline_ms;
  return a;
}

void
auth_free(struct auth *a)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->n; i++) {
    free(a->entries[i].key);
    if (a->entries[i].value)
      explicit_bzero(a->entries[i].value, strlen(a->entries[i].value));
    free(a->entries[i].value);
  }
  free(a->entries);
  for (size_t i = 0; i < a->n_creds; i++) {
    free(a->creds[i].host);
    dockercfg_creds_release(&a->creds[i].creds);
    error_free(a->creds[i].err);
  }
  free(a->creds);
  if (a->user)
    explicit_bzero(a->user, strlen(a->user));
  free(a->user);
  free(a->docker_config);
  free(a->path);
  pthread_mutex_destroy(&a->lock);
  pthread_mutex_destroy(&a->cred_lock);
  free(a);
}

static char *
auth_key(const char *base, const char *repo)
{
  cleanup_free char *origin = http_url_origin(base, false);
  return xasprintf("%s repository:%s:pull", origin, repo);
}

static char *
auth_lookup(struct auth *a, const char *key)
{
  char *v = NULL;

  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < a->n && v == NULL; i++)
    if (strcmp(a->entries[i].key, key) == 0)
      v = xstrdup(a->entries[i].value);
  pthread_mutex_unlock(&a->lock);
  return v;
}

/* VALUE NULL forgets the entry. */
static void
auth_store(struct auth *a, const char *key, const char *value)
{
  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->entries[i].key, key) == 0) {
      explicit_bzero(a->entries[i].value, strlen(a->entries[i].value));
      free(a->entries[i].value);
      free(a->entries[i].key);
      a->entries[i] = a->entries[--a->n];
      break;
    }
  }
  if (value != NULL) {
    a->entries = xrealloc(a->entries, (a->n + 1) * sizeof(*a->entries));
    a->entries[a->n].key = xstrdup(key);
    a->entries[a->n].value = xstrdup(value);
    a->n++;
  }
  pthread_mutex_unlock(&a->lock);
}

static void
free_secret(char **p)
{
  if (*p != NULL) {
    explicit_bzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}
#define cleanup_secret __attribute__((cleanup(free_secret)))
#define cleanup_creds __attribute__((cleanup(dockercfg_creds_release)))

/* ---- where the credentials come from ---- */

/* HOST's credentials from config.json: its auths entry, or what the helper
 * it names answers. A helper that is not on the PATH means anonymous, as
 * Docker has it, with a warning; one that fails is an error. */
static int
lookup_creds(struct auth *a, const char *host, struct dockercfg_creds *out, struct error **err)
{
  int rv = dockercfg_lookup_file(a->docker_config, host, out, err);

  if (rv < 0 || out->kind != DOCKERCFG_HELPER)
    return rv;
  rv = credhelper_get(&a->helper, out->helper, out->server_url, out, err);
  log_debug("credentials for %s: docker-credential-%s get: %s", host, out->helper,
            rv > 0    ? "found"
            : rv == 0 ? "none (anonymous)"
                      : "failed");
  if (rv < 0 && error_is(*err, ERR_NOT_FOUND)) {
    log_warn("%s for %s: pulling anonymously", (*err)->msg, host);
    error_free(steal_pointer(err));
    dockercfg_creds_release(out);
    return 0;
  }
  if (rv <= 0) {
    if (rv < 0)
      error_wrap(err, "credentials for %s", host);
    dockercfg_creds_release(out);
  }
  return rv < 0 ? -1 : 0;
}

static void
creds_copy(const struct dockercfg_creds *from, struct dockercfg_creds *to)
{
  memset(to, 0, sizeof(*to));
  to->kind = from->kind;
  to->helper = from->helper ? xstrdup(from->helper) : NULL;
  to->from_store = from->from_store;
  to->server_url = from->server_url ? xstrdup(from->server_url) : NULL;
  to->user = from->user ? xstrdup(from->user) : NULL;
  to->secret = from->secret ? xstrdup(from->secret) : NULL;
  to->identity_token = from->identity_token;
}

/* Credentials for the endpoint at BASE: --user, else config.json's for its
 * host, looked up once per process. out->secret NULL: anonymous. */
static int
credentials(struct auth *a, const char *base, struct dockercfg_creds *out, struct error **err)
{
  cleanup_free char *host = http_url_origin(base, true);
  struct cred_entry *e = NULL;

  memset(out, 0, sizeof(*out));
  if (a->user != NULL) {
    const char *colon = strchr(a->user, ':');
    out->kind = DOCKERCFG_AUTHS;
    out->user = colon ? xstrndup(a->user, (size_t)(colon - a->user)) : xstrdup(a->user);
    out->secret = xstrdup(colon ? colon + 1 : "");
    return 0;
  }
  pthread_mutex_lock(&a->cred_lock);
  for (size_t i = 0; i < a->n_creds && e == NULL; i++)
    if (strcmp(a->creds[i].host, host) == 0)
      e = &a->creds[i];
  if (e == NULL) {
    a->creds = xrealloc(a->creds, (a->n_creds + 1) * sizeof(*a->creds));
    e = &a->creds[a->n_creds++];
    memset(e, 0, sizeof(*e));
    e->host = xstrdup(host);
    if (lookup_creds(a, host, &e->creds, &e->err) < 0 && e->err == NULL)
      error_setc(&e->err, ERR_INTERNAL, "credentials for %s", host);
  }
  if (e->err != NULL)
    error_setc(err, e->err->code, "%s", e->err->msg);
  else
    creds_copy(&e->creds, out);
  pthread_mutex_unlock(&a->cred_lock);
  return e->err != NULL ? -1 : 0;
}

int
auth_describe_source(const char *config_path, const char *host, char **out, struct error **err)
{
  struct dockercfg_creds c = {0};

  *out = NULL;
  if (dockercfg_lookup_file(config_path, host, &c, err) < 0)
    return -1;
  if (c.kind == DOCKERCFG_HELPER)
    *out = xasprintf("helper docker-credential-%s (%s)", c.helper,
                     c.from_store ? "credsStore" : "credHelpers");
  else if (c.kind == DOCKERCFG_AUTHS)
    *out = xstrdup(c.identity_token ? "config.json auths (identity token)" : "config.json auths");
  else
    *out = xstrdup("none");
  dockercfg_creds_release(&c);
  return 0;
}

/* ---- answering a challenge ---- */

/* "Bearer <token>" from a token answer (BODY), or NULL with *err. */
static char *
bearer_from_answer(const struct buf *body, struct error **err)
{
  cleanup_json json_t *j = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
  const char *tok = json_string_value(json_object_get(j, "access_token"));

  if (tok == NULL || tok[0] == '\0')
    tok = json_string_value(json_object_get(j, "token"));
  if (tok == NULL || tok[0] == '\0')
    return error_setc(err, ERR_UNAUTHENTICATED, "fetch token: no token in the answer"), NULL;
  for (const char *p = tok; *p; p++)
    /* It goes into a header line: CR or LF would start lines of the server's choosing. */
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return error_setc(err, ERR_UNAUTHENTICATED,
                        "fetch token: the token holds a control character"),
             NULL;
  return xasprintf("Bearer %s", tok);
}

char *
auth_token_form(const struct dockercfg_creds *c, const char *service, const struct strv *scopes)
{
  struct buf b = BUF_INIT;
  cleanup_secret char *secret = http_query_escape(c->secret);

  if (c->identity_token || c->user == NULL || c->user[0] == '\0') {
    buf_addf(&b, "grant_type=refresh_token&refresh_token=%s", secret);
  } else {
    cleanup_secret char *user = http_query_escape(c->user);
    buf_addf(&b, "grant_type=password&username=%s&password=%s", user, secret);
  }
  buf_addstr(&b, "&client_id=ctrx");
  if (service != NULL && service[0] != '\0') {
    cleanup_free char *e = http_query_escape(service);
    buf_addf(&b, "&service=%s", e);
  }
  if (scopes->n > 0) {
    struct buf joined = BUF_INIT;
    for (size_t i = 0; i < scopes->n; i++)
      buf_addf(&joined, "%s%s", i ? " " : "", scopes->v[i]);
    {
      cleanup_free char *e = http_query_escape(joined.data);
      buf_addf(&b, "&scope=%s", e);
    }
    buf_release(&joined);
  }
  return buf_steal(&b);
}

bool
auth_post_falls_back(long status, bool identity_token)
{
  /* containerd's rule: registries without the OAuth2 POST answer 404 (GCR),
   * 401 (Artifactory) or 400 (ACR); 405 too, unless the secret is a refresh
   * token, which only the POST can use. Ours too: a redirect of the form to
   * another origin (not followed: it holds the secret) gets the GET, which
   * follows it without credentials. */
  return status == 400 || status == 401 || status == 404 || (status == 405 && !identity_token) ||
         (status >= 300 && status < 400);
}

/* One token request; 0 with Q answered (any status), -1 on a transport failure. */
static int
token_request(struct http *http, struct http_conn *conn, const struct http_endpoint *ep,
              const char *url, const char *form, const char *basic, struct http_req *q,
              struct error **err)
{
  *q = (struct http_req){.method = form ? "POST" : "GET",
                         .body_max = MAX_TOKEN_BODY,
                         .sink_limit = -1,
                         .no_ep_headers = true,
                         .basic_creds = basic,
                         .post_form = form};
  if (http_perform(http, conn, ep, url, NULL, q, err) < 0)
    return error_wrap(err, "fetch token");
  return 0;
}

/* The token for C's realm: with credentials, the OAuth2 POST first and the
 * GET (Basic) when the realm has no POST; without, an anonymous GET. */
static char *
bearer_token(struct http *http, struct http_conn *conn, const struct http_endpoint *ep,
             const char *repo, const struct auth_challenge *c, const struct dockercfg_creds *cr,
             struct error **err)
{
  cleanup_strv struct strv scopes = STRV_INIT;
  cleanup_free char *url = NULL;
  cleanup_secret char *form = NULL, *basic = NULL;
  struct http_req q = {0};
  bool have = cr->secret != NULL && cr->secret[0] != '\0';
  char *ret = NULL;

  if (c->realm == NULL || c->realm[0] == '\0')
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer challenge without realm"), NULL;
  if (!str_has_prefix(c->realm, "http://") && !str_has_prefix(c->realm, "https://"))
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer realm is not an http(s) URL"), NULL;
  auth_token_scopes(repo, &c->scopes, &scopes);
  if (have) {
    basic = xasprintf("%s:%s", cr->user ? cr->user : "", cr->secret);
    form = auth_token_form(cr, c->service, &scopes);
    if (token_request(http, conn, ep, c->realm, form, NULL, &q, err) < 0)
      goto out;
    if (q.status == 200 || !auth_post_falls_back(q.status, cr->identity_token))
      goto answer;
    log_debug("token POST answered %ld: asking again with GET", q.status);
    http_req_release(&q);
  }
  url = auth_token_url(c->realm, c->service, &scopes);
  if (token_request(http, conn, ep, url, NULL, basic, &q, err) < 0)
    goto out;
answer:
  if (q.status != 200) {
    http_status_error(&q, err);
    error_wrap(err, "fetch token");
  } else {
    ret = bearer_from_answer(&q.body, err);
  }
out:
  if (q.body.data != NULL)
    explicit_bzero(q.body.data, q.body.len);
  http_req_release(&q);
  return ret;
}

/* A 401 carried CHALLENGES: the Authorization value to retry with. */
static char *
authenticate(struct auth *a, struct http *http, struct http_conn *conn, const char *base,
             const struct http_endpoint *ep, const char *repo, const struct strv *challenges,
             struct error **err)
{
  cleanup_buf struct buf joined = BUF_INIT;
  cleanup_creds struct dockercfg_creds creds = {0};
  struct auth_challenge *cs = NULL;
  const struct auth_challenge *bearer = NULL, *basic = NULL;
  size_t n = 0;
  char *ret = NULL;

  for (size_t i = 0; i < challenges->n; i++)
    buf_addf(&joined, "%s%s", i ? ", " : "", challenges->v[i]);
  if (auth_parse_challenges(joined.data ? joined.data : "", &cs, &n, err) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (bearer == NULL && strcmp(cs[i].scheme, "bearer") == 0)
      bearer = &cs[i];
    if (basic == NULL && strcmp(cs[i].scheme, "basic") == 0)
      basic = &cs[i];
  }
  if (bearer == NULL && basic == NULL) {
    error_setc(err, ERR_UNAUTHENTICATED, "unauthorized: no supported authentication scheme");
    goto out;
  }
  if (credentials(a, base, &creds, err) < 0)
    goto out;
  if (bearer != NULL) {
    ret = bearer_token(http, conn, ep, repo, bearer, &creds, err);
  } else if (creds.secret == NULL) {
    error_setc(err, ERR_UNAUTHENTICATED, "unauthorized: basic authentication needs credentials");
  } else {
    cleanup_secret char *up = xasprintf("%s:%s", creds.user ? creds.user : "", creds.secret);
    cleanup_secret char *b = b64_encode(up);
    ret = xasprintf("Basic %s", b);
  }
out:
  auth_challenges_free(cs, n);
  return ret;
}

int
auth_perform(struct auth *a, struct http *http, struct http_conn *conn, const char *base,
             const struct http_endpoint *ep, const char *repo, const char *url, struct http_req *q,
             struct error **err)
{
  cleanup_free char *key = auth_key(base, repo);
  cleanup_secret char *auth = auth_lookup(a, key);
  bool fresh = false;

  for (;;) {
    if (http_perform(http, conn, ep, url, auth, q, err) < 0)
      return -1;
    if (q->status != 401)
      return 0;
    if (fresh || q->www_auth.n == 0) {
      cleanup_free char *m = http_message(&q->body);
      if (fresh)
        auth_store(a, key, NULL);
      return error_setc(err, ERR_UNAUTHENTICATED,
                        "pull access denied, repository does not exist or may require "
                        "authorization%s%s",
                        m ? ": " : "", m ? m : "");
    }
    free_secret(&auth);
    auth = authenticate(a, http, conn, base, ep, repo, &q->www_auth, err);
    if (auth == NULL)
      return -1;
    auth_store(a, key, auth);
    fresh = true;
  }
}

int
auth_check_login(struct auth *a, struct http *http, struct http_conn *conn, const char *base,
                 const struct http_endpoint *ep, struct error **err)
{
  cleanup_free char *url = xasprintf("%s/", base);
  cleanup_secret char *auth = NULL;
  struct http_req q = {.method = "GET", .body_max = HTTP_MAX_ERROR_BODY, .sink_limit = -1};
  int rv = -1;

  if (http_perform(http, conn, ep, url, NULL, &q, err) < 0)
    goto out;
  if (q.status == 401 && q.www_auth.n > 0) {
    auth = authenticate(a, http, conn, base, ep, NULL, &q.www_auth, err);
    if (auth == NULL || http_perform(http, conn, ep, url, auth, &q, err) < 0)
      goto out;
  }
  if (q.status == 200)
    rv = 0;
  else if (q.status == 401)
    rv = error_setc(err, ERR_UNAUTHENTICATED, "unauthorized: incorrect username or password");
  else
    rv = http_status_error(&q, err);
out:
  http_req_release(&q);
  return rv;
}
