/* Registry authentication: challenges, tokens, credentials and their cache. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>

#include "digest.h"
#include "registry_internal.h"

#define MAX_TOKEN_BODY (1024u * 1024u)
#define MAX_DOCKER_CONFIG (16u * 1024u * 1024u)

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

  strv_push_owned(&all, xasprintf("repository:%s:pull", repo));
  for (size_t i = 0; challenge && i < challenge->n; i++)
    strv_push(&all, challenge->v[i]);
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

/* NULL when S is not valid base64 (or decodes to text with a NUL in it). */
static char *
b64_decode(const char *s)
{
  size_t len = 0;
  char *out;

  if (*s == '\0')
    return NULL;
  out = digest_base64_decode(s, &len);
  if (out != NULL && memchr(out, '\0', len) != NULL) {
    free(out);
    return NULL;
  }
  return out;
}

/* jansson's own cleanup helper. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

int
auth_docker_credentials(const char *host, char **user_pass, struct error **err)
{
  cleanup_free char *path = NULL;
  cleanup_buf struct buf data = BUF_INIT;
  cleanup_json json_t *root = NULL;
  const char *dir = getenv("DOCKER_CONFIG");
  json_t *auths, *entry = NULL;
  json_error_t jerr;

  *user_pass = NULL;
  if (dir != NULL && dir[0] != '\0') {
    path = xasprintf("%s/config.json", dir);
  } else {
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
      return 0;
    path = xasprintf("%s/.docker/config.json", home);
  }
  if (read_file(path, MAX_DOCKER_CONFIG, &data) < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return 0;
    return error_set(err, errno, "read '%s'", path);
  }
  root = json_loadb(data.data, data.len, 0, &jerr);
  explicit_bzero(data.data, data.len);
  if (root == NULL)
    /* Not jansson's text: it quotes the token it stumbled on, a password perhaps. */
    return error_setc(err, ERR_INVALID, "parse '%s': invalid JSON at line %d, column %d", path,
                      jerr.line, jerr.column);
  if (!json_is_object(root))
    return error_setc(err, ERR_INVALID, "parse '%s': not a JSON object", path);
  auths = json_object_get(root, "auths");
  if (!json_is_object(auths))
    return 0;
  {
    char *keys[5] = {xstrdup(host), xasprintf("https://%s", host), xasprintf("http://%s", host),
                     xasprintf("https://%s/v1/", host), NULL};
    if (strcmp(host, "registry-1.docker.io") == 0 || strcmp(host, "docker.io") == 0)
      keys[4] = xstrdup("https://index.docker.io/v1/");
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
      if (entry == NULL && keys[i] != NULL)
        entry = json_object_get(auths, keys[i]);
      free(keys[i]);
    }
  }
  if (!json_is_object(entry))
    return 0;
  {
    const char *auth = json_string_value(json_object_get(entry, "auth"));
    const char *user = json_string_value(json_object_get(entry, "username"));
    const char *pass = json_string_value(json_object_get(entry, "password"));

    if (auth != NULL && auth[0] != '\0') {
      char *dec = b64_decode(auth);
      if (dec == NULL || strchr(dec, ':') == NULL) {
        free(dec);
        return error_setc(err, ERR_INVALID, "parse '%s': invalid \"auth\" for %s", path, host);
      }
      *user_pass = dec;
      return 1;
    }
    if (user != NULL && user[0] != '\0') {
      *user_pass = xasprintf("%s:%s", user, pass ? pass : "");
      return 1;
    }
  }
  return 0;
}

/* ---- authentication ---- */

/* ---- the cache of Authorization values ---- */

struct auth_entry {
  char *key;   /* "<scheme://host:port> <scope>" */
  char *value; /* the whole Authorization value: "Bearer …" or "Basic …" */
};

struct auth {
  pthread_mutex_t lock; /* guards everything below */
  char *user;
  struct auth_entry *entries;
  size_t n;
};

struct auth *
auth_new(const char *user)
{
  struct auth *a = xcalloc(1, sizeof(*a));

  pthread_mutex_init(&a->lock, NULL);
  a->user = user ? xstrdup(user) : NULL;
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
  if (a->user)
    explicit_bzero(a->user, strlen(a->user));
  free(a->user);
  pthread_mutex_destroy(&a->lock);
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

/* ---- answering a challenge ---- */

/* Credentials for the endpoint at BASE: --user, else docker's config.json.
 * 0 and NULL: none. */
static int
credentials(struct auth *a, const char *base, char **out, struct error **err)
{
  cleanup_free char *host = http_url_origin(base, true);

  *out = NULL;
  if (a->user != NULL) {
    *out = strchr(a->user, ':') ? xstrdup(a->user) : xasprintf("%s:", a->user);
    return 0;
  }
  return auth_docker_credentials(host, out, err) < 0 ? -1 : 0;
}

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

static char *
bearer_token(struct http *http, struct http_conn *conn, const struct http_endpoint *ep,
             const char *repo, const struct auth_challenge *c, const char *creds,
             struct error **err)
{
  cleanup_strv struct strv scopes = STRV_INIT;
  cleanup_free char *url = NULL;
  struct http_req q = {.method = "GET", .body_max = MAX_TOKEN_BODY, .sink_limit = -1};
  char *ret;

  if (c->realm == NULL || c->realm[0] == '\0')
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer challenge without realm"), NULL;
  if (!str_has_prefix(c->realm, "http://") && !str_has_prefix(c->realm, "https://"))
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer realm is not an http(s) URL"), NULL;
  auth_token_scopes(repo, &c->scopes, &scopes);
  url = auth_token_url(c->realm, c->service, &scopes);
  q.no_ep_headers = true;
  q.basic_creds = creds;
  if (http_perform(http, conn, ep, url, NULL, &q, err) < 0) {
    http_req_release(&q);
    return error_wrap(err, "fetch token"), NULL;
  }
  if (q.status != 200) {
    http_status_error(&q, err);
    http_req_release(&q);
    return error_wrap(err, "fetch token"), NULL;
  }
  ret = bearer_from_answer(&q.body, err);
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
  cleanup_secret char *creds = NULL;
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
    ret = bearer_token(http, conn, ep, repo, bearer, creds, err);
  } else if (creds == NULL) {
    error_setc(err, ERR_UNAUTHENTICATED, "unauthorized: basic authentication needs credentials");
  } else {
    cleanup_secret char *b = b64_encode(creds);
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
