/* OCI distribution client over libcurl, which is loaded with dlopen on the
 * first request: programs that never reach a registry never map it. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>

#include "registry.h"

#include "digest.h"
#include "log.h"
#include "version.h"

#define RESOLVE_ACCEPT                                                                             \
  "application/vnd.docker.distribution.manifest.v2+json, "                                         \
  "application/vnd.docker.distribution.manifest.list.v2+json, "                                    \
  "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*"

/* A transfer slower than LOW_SPEED_BYTES per second for LOW_SPEED_SECONDS is stalled. */
#define MAX_REDIRECTS 10
#define MAX_ERROR_BODY (64u * 1024u)
#define MAX_TOKEN_BODY (1024u * 1024u)
#define MAX_CA_FILE (16u * 1024u * 1024u)
#define MAX_DOCKER_CONFIG (16u * 1024u * 1024u)

/* ---- libcurl, resolved once ---- */

static struct {
  CURLcode (*global_init)(long flags);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
  CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
  CURLcode (*easy_perform)(CURL *h);
  void (*easy_reset)(CURL *h);
  void (*easy_cleanup)(CURL *h);
  const char *(*easy_strerror)(CURLcode code);
  struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
  void (*slist_free_all)(struct curl_slist *l);
  char *load_error; /* set when loading failed, for every later caller */
} lc;
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

static void
lc_load(void)
{
  void *dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  const char *missing = NULL;

  if (dl == NULL) {
    const char *e = dlerror();
    lc.load_error = xasprintf("load libcurl: %s", e ? e : "dlopen failed");
    return;
  }
#define LC_SYM(field, name)                                                                        \
  do {                                                                                             \
    void *p_ = dlsym(dl, name);                                                                    \
    if (p_ == NULL && missing == NULL)                                                             \
      missing = name;                                                                              \
    memcpy(&lc.field, &p_, sizeof(p_));                                                            \
  } while (0)
  LC_SYM(global_init, "curl_global_init");
  LC_SYM(easy_init, "curl_easy_init");
  LC_SYM(easy_setopt, "curl_easy_setopt");
  LC_SYM(easy_getinfo, "curl_easy_getinfo");
  LC_SYM(easy_perform, "curl_easy_perform");
  LC_SYM(easy_reset, "curl_easy_reset");
  LC_SYM(easy_cleanup, "curl_easy_cleanup");
  LC_SYM(easy_strerror, "curl_easy_strerror");
  LC_SYM(slist_append, "curl_slist_append");
  LC_SYM(slist_free_all, "curl_slist_free_all");
#undef LC_SYM
  if (missing != NULL) {
    lc.load_error = xasprintf("load libcurl: symbol %s not found", missing);
    return;
  }
  if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    lc.load_error = xstrdup("load libcurl: curl_global_init failed");
}

static int
lc_ready(struct error **err)
{
  pthread_once(&lc_once, lc_load);
  if (lc.load_error != NULL)
    return error_setc(err, ERR_UNAVAILABLE, "%s", lc.load_error);
  return 0;
}

/* ---- the client ---- */

struct auth_entry {
  char *key;   /* "<scheme://host:port> <scope>" */
  char *value; /* the whole Authorization value: "Bearer …" or "Basic …" */
};

struct ca_entry {
  char *key; /* the CA file names, '\n'-joined */
  struct buf pem;
};

struct registry {
  pthread_mutex_t lock; /* guards everything below */
  char *user;
  char *user_agent;
  bool debug;
  long connect_timeout_ms;
  int64_t first_byte_timeout_ms;
  int64_t stall_timeout_ms;
  int64_t hedge_delay_ms;
  int64_t deadline_ms;
  void (*on_failure)(const char *base, const struct error *e, void *arg);
  void *failure_arg;
  struct auth_entry *auth;
  size_t n_auth;
  struct ca_entry **cas;
  size_t n_cas;
  CURL **idle; /* easy handles to reuse, with their connections */
  size_t n_idle;
  size_t cap_idle;
};

int
registry_new(const struct registry_opts *opts, struct registry **out, struct error **err)
{
  static const struct registry_opts defaults = {0};
  struct registry *r = xcalloc(1, sizeof(*r));

  (void)err;
  if (opts == NULL)
    opts = &defaults;
  pthread_mutex_init(&r->lock, NULL);
  r->user = opts->user ? xstrdup(opts->user) : NULL;
  r->user_agent = opts->user_agent ? xstrdup(opts->user_agent) : xstrdup("ctrx/" CTRX_VERSION);
  r->debug = opts->debug;
  r->connect_timeout_ms =
      opts->connect_timeout_ms > 0 ? (long)opts->connect_timeout_ms : REGISTRY_CONNECT_TIMEOUT_MS;
  r->first_byte_timeout_ms = opts->first_byte_timeout_ms > 0 ? opts->first_byte_timeout_ms
                                                             : REGISTRY_FIRST_BYTE_TIMEOUT_MS;
  r->stall_timeout_ms =
      opts->stall_timeout_ms > 0 ? opts->stall_timeout_ms : REGISTRY_STALL_TIMEOUT_MS;
  r->hedge_delay_ms = opts->hedge_delay_ms > 0 ? opts->hedge_delay_ms : REGISTRY_HEDGE_DELAY_MS;
  r->deadline_ms = opts->deadline_ms;
  r->on_failure = opts->on_endpoint_failure;
  r->failure_arg = opts->failure_arg;
  *out = r;
  return 0;
}

void
registry_free(struct registry *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_auth; i++) {
    free(r->auth[i].key);
    if (r->auth[i].value)
      explicit_bzero(r->auth[i].value, strlen(r->auth[i].value));
    free(r->auth[i].value);
  }
  free(r->auth);
  for (size_t i = 0; i < r->n_cas; i++) {
    free(r->cas[i]->key);
    buf_release(&r->cas[i]->pem);
    free(r->cas[i]);
  }
  free(r->cas);
  for (size_t i = 0; i < r->n_idle; i++)
    lc.easy_cleanup(r->idle[i]);
  free(r->idle);
  if (r->user)
    explicit_bzero(r->user, strlen(r->user));
  free(r->user);
  free(r->user_agent);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

void
registry_desc_release(struct registry_desc *d)
{
  free(d->media_type);
  free(d->digest);
  d->media_type = d->digest = NULL;
  d->size = 0;
}

void
registry_ep_release(struct registry_ep *e)
{
  free(e->base);
  free(e->ns);
  strv_release(&e->ca_files);
  free(e->client_cert);
  free(e->client_key);
  strv_release(&e->headers);
  memset(e, 0, sizeof(*e));
  e->skip_verify = -1;
}

static CURL *
handle_get(struct registry *r)
{
  CURL *h = NULL;

  pthread_mutex_lock(&r->lock);
  if (r->n_idle > 0)
    h = r->idle[--r->n_idle];
  pthread_mutex_unlock(&r->lock);
  if (h == NULL)
    h = lc.easy_init();
  return h;
}

static void
handle_put(struct registry *r, CURL *h)
{
  if (h == NULL)
    return;
  lc.easy_reset(h); /* keeps live connections and caches */
  pthread_mutex_lock(&r->lock);
  if (r->n_idle == r->cap_idle) {
    r->cap_idle = r->cap_idle ? r->cap_idle * 2 : 4;
    r->idle = xrealloc(r->idle, r->cap_idle * sizeof(*r->idle));
  }
  r->idle[r->n_idle++] = h;
  pthread_mutex_unlock(&r->lock);
}

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
set_param(struct registry_challenge *c, const char *name, size_t name_len, char *value)
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

int
registry_parse_challenges(const char *header, struct registry_challenge **out, size_t *n_out,
                          struct error **err)
{
  struct registry_challenge *cs = NULL;
  size_t n = 0;
  const char *p = header;

  *out = NULL;
  *n_out = 0;
  for (;;) {
    struct registry_challenge *c;
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
    /* Parameters, or one token68 right after the scheme, until the next scheme. */
    for (bool first = true;; first = false) {
      const char *save, *name, *q;
      size_t name_len;
      char *value;

      save = p;
      while (is_ows(*p) || *p == ',')
        p++;
      if (*p == '\0')
        break;
      name = p;
      while (is_tchar((unsigned char)*p) || *p == '/')
        p++;
      name_len = (size_t)(p - name);
      if (name_len == 0)
        goto bad;
      q = p;
      while (is_ows(*q))
        q++;
      if (*q != '=') {
        if (first && memchr(save, ',', (size_t)(name - save)) == NULL) {
          p = q; /* a token68 without padding */
          continue;
        }
        /* Otherwise a word without '=' starts the next challenge. */
        if (memchr(name, '/', name_len) != NULL)
          goto bad;
        p = save;
        break;
      }
      if (first && q == p && memchr(save, ',', (size_t)(name - save)) == NULL) {
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
        goto bad;
      p = q + 1;
      while (is_ows(*p))
        p++;
      if (*p == '"') {
        value = parse_quoted(&p);
        if (value == NULL)
          goto bad;
      } else {
        const char *v = p;
        while (is_tchar((unsigned char)*p) || *p == '/' || *p == ':')
          p++;
        if (p == v)
          goto bad;
        value = xstrndup(v, (size_t)(p - v));
      }
      set_param(c, name, name_len, value);
      while (is_ows(*p))
        p++;
      if (*p != '\0' && *p != ',')
        goto bad;
    }
  }
  *out = cs;
  *n_out = n;
  return 0;
bad:
  registry_challenges_free(cs, n);
  return error_setc(err, ERR_INVALID, "malformed WWW-Authenticate header at offset %zu",
                    (size_t)(p - header));
}

void
registry_challenges_free(struct registry_challenge *c, size_t n)
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

char *
registry_query_escape(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  struct buf b = BUF_INIT;

  buf_addstr(&b, "");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      buf_add(&b, s, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      buf_add(&b, e, 3);
    }
  }
  return buf_steal(&b);
}

char *
registry_url(const struct registry_ep *ep, const char *repo, const char *kind, const char *object)
{
  cleanup_free char *ns = NULL;

  if (ep->ns == NULL || ep->ns[0] == '\0')
    return xasprintf("%s/%s/%s/%s", ep->base, repo, kind, object);
  ns = registry_query_escape(ep->ns);
  return xasprintf("%s/%s/%s/%s?ns=%s", ep->base, repo, kind, object, ns);
}

void
registry_token_scopes(const char *repo, const struct strv *challenge, struct strv *out)
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
registry_token_url(const char *realm, const char *service, const struct strv *scopes)
{
  struct buf b = BUF_INIT;
  char sep = strchr(realm, '?') ? '&' : '?';

  buf_addstr(&b, realm);
  for (size_t i = 0; i < scopes->n; i++) {
    cleanup_free char *e = registry_query_escape(scopes->v[i]);
    buf_addf(&b, "%cscope=%s", sep, e);
    sep = '&';
  }
  if (service != NULL && service[0] != '\0') {
    cleanup_free char *e = registry_query_escape(service);
    buf_addf(&b, "%cservice=%s", sep, e);
  }
  return buf_steal(&b);
}

char *
registry_media_strip(const char *content_type)
{
  const char *s = content_type;
  size_t n;
  char *r;

  while (is_ows(*s))
    s++;
  n = strcspn(s, ";");
  while (n > 0 && is_ows(s[n - 1]))
    n--;
  r = xstrndup(s, n);
  for (char *q = r; *q; q++)
    *q = (char)tolower((unsigned char)*q);
  return r;
}

enum registry_media
registry_media_kind(const char *media_type)
{
  static const struct {
    const char *mt;
    enum registry_media kind;
  } known[] = {
      {"application/vnd.oci.image.index.v1+json", REGISTRY_MEDIA_INDEX},
      {"application/vnd.docker.distribution.manifest.list.v2+json", REGISTRY_MEDIA_INDEX},
      {"application/vnd.oci.image.manifest.v1+json", REGISTRY_MEDIA_MANIFEST},
      {"application/vnd.docker.distribution.manifest.v2+json", REGISTRY_MEDIA_MANIFEST},
      {"application/vnd.docker.distribution.manifest.v1+prettyjws", REGISTRY_MEDIA_SCHEMA1},
      {"application/vnd.docker.distribution.manifest.v1+json", REGISTRY_MEDIA_SCHEMA1},
      {"text/plain", REGISTRY_MEDIA_SCHEMA1},
      {"application/vnd.oci.image.config.v1+json", REGISTRY_MEDIA_CONFIG},
      {"application/vnd.docker.container.image.v1+json", REGISTRY_MEDIA_CONFIG},
  };
  cleanup_free char *mt = NULL;

  if (media_type == NULL)
    return REGISTRY_MEDIA_OTHER;
  mt = registry_media_strip(media_type);
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    if (strcmp(mt, known[i].mt) == 0)
      return known[i].kind;
  if (str_has_prefix(mt, "application/vnd.oci.image.layer.") ||
      str_has_prefix(mt, "application/vnd.docker.image.rootfs."))
    return REGISTRY_MEDIA_LAYER;
  return REGISTRY_MEDIA_OTHER;
}

bool
registry_digest_valid(const char *digest)
{
  if (digest == NULL || !str_has_prefix(digest, "sha256:") || strlen(digest) != 7 + 64)
    return false;
  for (const char *p = digest + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

char *
registry_redact_header(const char *line)
{
  static const char *const secret[] = {"authorization", "proxy-authorization", "cookie"};
  size_t n = strcspn(line, ":");

  if (line[n] != ':')
    return xstrdup(line);
  for (size_t i = 0; i < ARRAY_SIZE(secret); i++)
    if (n == strlen(secret[i]) && strncasecmp(line, secret[i], n) == 0)
      return xasprintf("%.*s: <redacted>", (int)n, line);
  return xstrdup(line);
}

/* The length of the UTF-8 sequence at S (N bytes left) when it is valid and
 * no C1 control, else 0. */
static size_t
utf8_printable(const unsigned char *s, size_t n)
{
  size_t len;
  uint32_t cp;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, cp = s[0] & 0x1fu;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, cp = s[0] & 0x0fu;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, cp = s[0] & 0x07u;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
    return 0;
  return len;
}

/* The bytes an escape sequence at S (ESC, N bytes left) takes: CSI up to its
 * final byte, OSC/DCS/APC/PM/SOS up to BEL or ST, else up to its final byte. */
static size_t
escape_len(const unsigned char *s, size_t n)
{
  size_t i = 2;

  if (n < 2)
    return n;
  if (s[1] == '[') {
    while (i < n && !(s[i] >= 0x40 && s[i] <= 0x7e))
      i++;
    return i < n ? i + 1 : n;
  }
  if (s[1] == ']' || s[1] == 'P' || s[1] == '_' || s[1] == '^' || s[1] == 'X') {
    for (; i < n; i++) {
      if (s[i] == 0x07)
        return i + 1;
      if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '\\')
        return i + 2;
    }
    return n;
  }
  /* ESC, intermediate bytes, one final byte ("ESC ( B") */
  for (i = 1; i < n && s[i] >= 0x20 && s[i] <= 0x2f; i++)
    ;
  return i < n ? i + 1 : n;
}

char *
registry_sanitize(const char *text, size_t len, size_t max)
{
  const unsigned char *s = (const unsigned char *)text;
  struct buf b = BUF_INIT;
  size_t i = 0;

  buf_addstr(&b, "");
  while (i < len) {
    size_t k;
    if (b.len >= max) {
      buf_addstr(&b, "...");
      break;
    }
    if (s[i] == 0x1b) {
      i += escape_len(s + i, len - i);
    } else if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
      if (b.len > 0 && b.data[b.len - 1] != ' ')
        buf_addstr(&b, " ");
      i++;
    } else if (s[i] < 0x20 || s[i] == 0x7f) {
      i++;
    } else if (s[i] < 0x80) {
      buf_add(&b, s + i, 1);
      i++;
    } else if ((k = utf8_printable(s + i, len - i)) > 0 && b.len + k <= max) {
      buf_add(&b, s + i, k);
      i += k;
    } else if (k > 0) {
      buf_addstr(&b, "...");
      break;
    } else {
      buf_addstr(&b, "?");
      i++;
    }
  }
  while (b.len > 0 && b.data[b.len - 1] == ' ')
    b.data[--b.len] = '\0';
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
registry_docker_credentials(const char *host, char **user_pass, struct error **err)
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

/* "scheme://host[:port]" of URL; host[:port] alone with hostonly. */
static char *
url_origin(const char *url, bool hostonly)
{
  const char *s = strstr(url, "://");
  const char *h, *e;

  if (s == NULL)
    return xstrdup(url);
  h = s + 3;
  e = h + strcspn(h, "/?#");
  {
    const char *at = memchr(h, '@', (size_t)(e - h));
    if (at != NULL)
      h = at + 1;
  }
  if (hostonly)
    return xstrndup(h, (size_t)(e - h));
  return xasprintf("%.*s%.*s", (int)(s + 3 - url), url, (int)(e - h), h);
}

/* ---- one HTTP exchange ---- */

struct req {
  /* request */
  const char *method; /* "GET" or "HEAD" */
  const char *accept;
  int64_t offset;     /* Range start, 0: none */
  size_t body_max;    /* bytes of a 2xx body kept in .body (manifests) */
  registry_sink sink; /* or a 2xx body streamed here */
  void *arg;
  int64_t sink_limit;      /* most bytes the sink may get, -1: no limit */
  bool no_ep_headers;      /* a token request: only User-Agent */
  const char *basic_creds; /* "user:pass" for a token request */
  /* response */
  long status;
  char *content_type;
  char *digest;
  int64_t content_length; /* -1: not sent */
  int64_t range_start;    /* from Content-Range, -1: none */
  struct strv www_auth;
  struct buf body;
  bool too_large;
  int64_t skip;       /* bytes still to drop before the sink (a 200 to a Range) */
  int64_t delivered;  /* bytes the sink took */
  unsigned char held; /* the descriptor's last byte, kept back until the body ends */
  bool has_held;
  bool body_started;
  struct error *sink_err;
  /* deadlines, watched from curl's progress callback */
  const volatile int *cancel; /* set by another thread: give up */
  struct registry *r;
  int64_t started_ms;
  int64_t progress_ms; /* when the last byte came */
  curl_off_t last_dlnow;
  bool answered; /* the status line arrived */
  char why[128]; /* why the callback stopped the transfer */
};

static void
req_reset_response(struct req *q)
{
  q->status = 0;
  free(q->content_type);
  free(q->digest);
  q->content_type = q->digest = NULL;
  q->content_length = -1;
  q->range_start = -1;
  strv_release(&q->www_auth);
  buf_release(&q->body);
  q->too_large = false;
  q->body_started = false;
  q->has_held = false;
}

static void
req_release(struct req *q)
{
  req_reset_response(q);
  error_free(q->sink_err);
  q->sink_err = NULL;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
  struct req *q = arg;
  size_t n = size * nmemb;
  size_t len = n;
  const char *colon;
  char *value;

  while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
    len--;
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    const char *sp = memchr(data, ' ', len);
    req_reset_response(q);
    q->answered = true;
    q->progress_ms = now_ms();
    if (sp != NULL && (size_t)(sp - data) + 4 <= len && isdigit((unsigned char)sp[1]) &&
        isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
      q->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    return n;
  }
  colon = memchr(data, ':', len);
  if (colon == NULL)
    return n;
  {
    const char *v = colon + 1;
    size_t vlen = len - (size_t)(v - data);
    while (vlen > 0 && is_ows(*v))
      v++, vlen--;
    while (vlen > 0 && is_ows(v[vlen - 1]))
      vlen--;
    value = xstrndup(v, vlen);
  }
#define IS(name)                                                                                   \
  ((size_t)(colon - data) == strlen(name) && strncasecmp(data, name, strlen(name)) == 0)
  if (IS("content-type")) {
    free(q->content_type);
    q->content_type = steal_pointer(&value);
  } else if (IS("docker-content-digest")) {
    free(q->digest);
    q->digest = steal_pointer(&value);
  } else if (IS("content-length")) {
    int64_t v;
    if (parse_int64(value, 10, &v) == 0 && v >= 0)
      q->content_length = v;
  } else if (IS("content-range")) {
    int64_t v;
    if (str_has_prefix(value, "bytes ")) {
      char *dash = strchr(value + 6, '-');
      if (dash != NULL) {
        *dash = '\0';
        if (parse_int64(value + 6, 10, &v) == 0)
          q->range_start = v;
      }
    }
  } else if (IS("www-authenticate")) {
    strv_push_owned(&q->www_auth, steal_pointer(&value));
  }
#undef IS
  free(value);
  return n;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
  struct req *q = arg;
  size_t n = size * nmemb;
  const char *p = data;
  size_t len = n;

  if (q->status < 200 || q->status > 299) {
    /* An error body is only read for its message: keep its start. */
    if (q->body.len < MAX_ERROR_BODY)
      buf_add(&q->body, p, len < MAX_ERROR_BODY - q->body.len ? len : MAX_ERROR_BODY - q->body.len);
    return n;
  }
  if (q->sink == NULL) {
    if (q->body.len + len > q->body_max) {
      q->too_large = true;
      return 0;
    }
    buf_add(&q->body, p, len);
    return n;
  }
  if (!q->body_started) {
    q->body_started = true;
    q->skip = 0;
    /* A 200 without Content-Range ignored the Range: drop the bytes ourselves. */
    if (q->offset > 0 && q->status == 200 && q->range_start != q->offset)
      q->skip = q->offset;
    else if (q->offset > 0 && q->status == 206 && q->range_start != q->offset) {
      error_setc(&q->sink_err, ERR_DATA_LOSS, "server sent range from byte %lld, not %lld",
                 (long long)q->range_start, (long long)q->offset);
      return 0;
    }
    /* A length announced past the descriptor's: refuse before the sink sees
     * a byte, so that the next endpoint starts clean. */
    if (q->sink_limit >= 0 && q->content_length >= 0 &&
        q->content_length - q->skip > q->sink_limit) {
      error_setc(&q->sink_err, ERR_DATA_LOSS,
                 "server announced %lld bytes, more than the descriptor's %lld bytes",
                 (long long)(q->content_length - q->skip + q->offset),
                 (long long)(q->sink_limit + q->offset));
      return 0;
    }
  }
  if (q->skip > 0) {
    size_t drop = (int64_t)len < q->skip ? len : (size_t)q->skip;
    q->skip -= (int64_t)drop;
    p += drop;
    len -= drop;
  }
  if (len == 0)
    return n;
  if (q->sink_limit >= 0 && q->delivered + q->has_held + (int64_t)len > q->sink_limit) {
    error_setc(&q->sink_err, ERR_DATA_LOSS, "server sent more than the descriptor's %lld bytes",
               (long long)(q->sink_limit + q->offset));
    return 0;
  }
  if (q->sink_limit >= 0 && q->delivered + (int64_t)len == q->sink_limit) {
    /* Whether more comes shows only later: until then the sink must not
     * hold the whole blob, or a longer body would pass as complete. */
    q->held = (unsigned char)p[len - 1];
    q->has_held = true;
    if (--len == 0)
      return n;
  }
  if (q->sink(p, len, q->arg, &q->sink_err) < 0) {
    if (q->sink_err == NULL)
      error_setc(&q->sink_err, ERR_ABORTED, "aborted by the receiver");
    return 0;
  }
  q->delivered += (int64_t)len;
  return n;
}

static const struct ca_entry *
ca_blob(struct registry *r, CURL *h, const struct strv *files, struct error **err)
{
  cleanup_buf struct buf key = BUF_INIT;
  struct buf pem = BUF_INIT;
  char *sys = NULL;
  const struct ca_entry *found = NULL;

  buf_addstr(&key, "");

  for (size_t i = 0; i < files->n; i++)
    buf_addf(&key, "%s\n", files->v[i]);
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n_cas && found == NULL; i++)
    if (strcmp(r->cas[i]->key, key.data) == 0)
      found = r->cas[i];
  pthread_mutex_unlock(&r->lock);
  if (found != NULL)
    return found;
  /* The endpoint's CAs are added to the system roots, not put in their place. */
  if (lc.easy_getinfo(h, CURLINFO_CAINFO, &sys) == CURLE_OK && sys != NULL) {
    struct buf b = BUF_INIT;
    if (read_file(sys, MAX_CA_FILE, &b) == 0) {
      buf_add(&pem, b.data, b.len);
      buf_addstr(&pem, "\n");
    }
    buf_release(&b);
  }
  for (size_t i = 0; i < files->n; i++) {
    struct buf b = BUF_INIT;
    if (read_file(files->v[i], MAX_CA_FILE, &b) < 0) {
      int e = errno;
      buf_release(&pem);
      return error_set(err, e, "read CA file '%s'", files->v[i]), NULL;
    }
    /* curl takes what it can parse of a bundle and says nothing of the rest. */
    if (b.len == 0 || memmem(b.data, b.len, "-----BEGIN CERTIFICATE-----", 27) == NULL) {
      buf_release(&b);
      buf_release(&pem);
      return error_setc(err, ERR_INVALID, "CA file '%s' holds no PEM certificate", files->v[i]),
             NULL;
    }
    buf_add(&pem, b.data, b.len);
    buf_addstr(&pem, "\n");
    buf_release(&b);
  }
  {
    struct ca_entry *c = xcalloc(1, sizeof(*c));
    c->key = buf_steal(&key);
    c->pem = pem;
    pthread_mutex_lock(&r->lock);
    r->cas = xrealloc(r->cas, (r->n_cas + 1) * sizeof(*r->cas));
    r->cas[r->n_cas++] = c;
    pthread_mutex_unlock(&r->lock);
    return c;
  }
}

/* URL without the "user:password@" it may hold. */
static char *
url_without_userinfo(const char *url)
{
  const char *s = strstr(url, "://");
  const char *h = s ? s + 3 : url;
  size_t auth_len = strcspn(h, "/?#");
  const char *at = memchr(h, '@', auth_len);

  if (at == NULL)
    return xstrdup(url);
  return xasprintf("%.*s%s", (int)(h - url), url, at + 1);
}

/* The first N_CONFIGURED lines of SENT come from hosts.toml: their names are
 * shown, never their values, which are often tokens. */
static void
debug_log(struct registry *r, const char *method, const char *url, const struct strv *sent,
          size_t n_configured, long status, const char *failure, int64_t ms)
{
  struct buf b = BUF_INIT;
  cleanup_free char *shown_url = NULL;
  size_t shown = 0;

  if (!r->debug)
    return;
  shown_url = url_without_userinfo(url);
  buf_addf(&b, "registry %s %s", method, shown_url);
  for (size_t i = 0; i < sent->n; i++) {
    cleanup_free char *line = NULL;
    if (i < n_configured) {
      line = xasprintf("%.*s: <redacted>", (int)strcspn(sent->v[i], ":"), sent->v[i]);
    } else {
      if (str_has_prefix(sent->v[i], "Accept: ") || str_has_prefix(sent->v[i], "User-Agent: "))
        continue; /* the same on every request */
      line = registry_redact_header(sent->v[i]);
    }
    buf_addf(&b, "%s%s", shown++ == 0 ? " [" : "; ", line);
  }
  if (shown > 0)
    buf_addstr(&b, "]");
  if (failure != NULL)
    buf_addf(&b, " -> %s (%lld ms)", failure, (long long)ms);
  else
    buf_addf(&b, " -> %ld (%lld ms)", status, (long long)ms);
  log_debug("%s", b.data);
  buf_release(&b);
}

static void
fmt_ms(char *out, size_t len, int64_t ms)
{
  if (ms % 1000 == 0)
    snprintf(out, len, "%llds", (long long)(ms / 1000));
  else
    snprintf(out, len, "%.1fs", (double)ms / 1000.0);
}

/* The deadlines curl has no option for: first byte, stall, cancellation and
 * the command's own --timeout. Returning non-zero aborts the transfer. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  struct req *q = arg;
  int64_t now = now_ms();
  char d[32];

  (void)dltotal;
  (void)ultotal;
  (void)ulnow;
  if (q->cancel != NULL && *q->cancel) {
    snprintf(q->why, sizeof(q->why), "cancelled: another endpoint answered first");
    return 1;
  }
  if (q->r->deadline_ms > 0 && now >= q->r->deadline_ms) {
    snprintf(q->why, sizeof(q->why), "the command's --timeout ran out");
    return 1;
  }
  if (!q->answered) {
    if (now - q->started_ms >= q->r->first_byte_timeout_ms) {
      fmt_ms(d, sizeof(d), q->r->first_byte_timeout_ms);
      snprintf(q->why, sizeof(q->why), "timed out after %s without an answer", d);
      return 1;
    }
    return 0;
  }
  if (dlnow != q->last_dlnow) {
    q->last_dlnow = dlnow;
    q->progress_ms = now;
  } else if (now - q->progress_ms >= q->r->stall_timeout_ms) {
    fmt_ms(d, sizeof(d), q->r->stall_timeout_ms);
    snprintf(q->why, sizeof(q->why), "stalled: no data for %s", d);
    return 1;
  }
  return 0;
}

/* One request to URL, no redirect followed. With AUTH (a whole Authorization
 * value) sent. FOREIGN: URL is a redirect to another origin than the request's
 * own, which gets neither credentials nor the endpoint's configured headers.
 * Returns -1 on a transport failure or a sink error. */
static int
perform_once(struct registry *r, CURL *h, const struct registry_ep *ep, const char *url,
             const char *auth, bool foreign, struct req *q, struct error **err)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  cleanup_strv struct strv sent = STRV_INIT; /* extra headers, for the log */
  size_t n_configured = 0;
  struct curl_slist *hl = NULL;
  bool have_ua = false;
  int64_t start = now_ms();
  CURLcode rc;
  int ret = 0;

  lc.easy_reset(h);
  req_reset_response(q);
  if (!q->no_ep_headers && !foreign) {
    for (size_t i = 0; i < ep->headers.n; i++) {
      if (strncasecmp(ep->headers.v[i], "user-agent:", 11) == 0)
        have_ua = true;
      strv_push(&sent, ep->headers.v[i]);
    }
    n_configured = sent.n;
  }
  if (q->accept != NULL)
    strv_push_owned(&sent, xasprintf("Accept: %s", q->accept));
  if (q->offset > 0)
    strv_push_owned(&sent, xasprintf("Range: bytes=%lld-", (long long)q->offset));
  if (auth != NULL)
    strv_push_owned(&sent, xasprintf("Authorization: %s", auth));
  if (!have_ua)
    strv_push_owned(&sent, xasprintf("User-Agent: %s", r->user_agent));
  for (size_t i = 0; i < sent.n; i++) {
    struct curl_slist *n = lc.slist_append(hl, sent.v[i]);
    if (n == NULL) {
      lc.slist_free_all(hl);
      return error_setc(err, ERR_INTERNAL, "curl_slist_append failed");
    }
    hl = n;
  }

  lc.easy_setopt(h, CURLOPT_URL, url);
  lc.easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  lc.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  lc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lc.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
  lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                 ep->connect_timeout_ms > 0 ? (long)ep->connect_timeout_ms : r->connect_timeout_ms);
  q->r = r;
  q->started_ms = start;
  q->progress_ms = start;
  q->last_dlnow = 0;
  q->answered = false;
  q->why[0] = '\0';
  lc.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  lc.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  lc.easy_setopt(h, CURLOPT_XFERINFODATA, q);
  lc.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  lc.easy_setopt(h, CURLOPT_HEADERDATA, q);
  lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  lc.easy_setopt(h, CURLOPT_WRITEDATA, q);
  if (strcmp(q->method, "HEAD") == 0)
    lc.easy_setopt(h, CURLOPT_NOBODY, 1L);
  else
    lc.easy_setopt(h, CURLOPT_HTTPGET, 1L);
  if (q->basic_creds != NULL && !foreign) {
    lc.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    lc.easy_setopt(h, CURLOPT_USERPWD, q->basic_creds);
  }
  if (ep->skip_verify == 1) {
    lc.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    lc.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (ep->ca_files.n > 0) {
    const struct ca_entry *ca = ca_blob(r, h, &ep->ca_files, err);
    struct curl_blob blob;
    if (ca == NULL) {
      lc.slist_free_all(hl);
      return -1;
    }
    blob.data = ca->pem.data;
    blob.len = ca->pem.len;
    blob.flags = CURL_BLOB_COPY;
    lc.easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (ep->client_cert != NULL) {
    lc.easy_setopt(h, CURLOPT_SSLCERT, ep->client_cert);
    lc.easy_setopt(h, CURLOPT_SSLKEY, ep->client_key ? ep->client_key : ep->client_cert);
  }

  rc = lc.easy_perform(h);
  if (q->has_held && q->sink_err == NULL) {
    /* Nothing came after it (the transfer may still have failed later). */
    q->has_held = false;
    if (q->sink(&q->held, 1, q->arg, &q->sink_err) < 0 && q->sink_err == NULL)
      error_setc(&q->sink_err, ERR_ABORTED, "aborted by the receiver");
    else if (q->sink_err == NULL)
      q->delivered++;
  }
  if (q->sink_err != NULL) {
    debug_log(r, q->method, url, &sent, n_configured, q->status, "aborted", now_ms() - start);
    *err = steal_pointer(&q->sink_err);
    ret = -1;
  } else if (rc == CURLE_WRITE_ERROR && q->too_large) {
    debug_log(r, q->method, url, &sent, n_configured, q->status, "too large", now_ms() - start);
    ret = error_setc(err, ERR_EXHAUSTED, "response larger than %zu bytes", q->body_max);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK && q->why[0]) {
    debug_log(r, q->method, url, &sent, n_configured, q->status, q->why, now_ms() - start);
    ret = error_setc(err, ERR_DEADLINE, "%s", q->why);
  } else if (rc != CURLE_OK) {
    /* curl's header buffer is bounded; overflowing it reads as "Out of memory". */
    const char *msg = errbuf[0]                   ? errbuf
                      : rc == CURLE_OUT_OF_MEMORY ? "response headers too large for curl "
                                                    "(or out of memory)"
                                                  : lc.easy_strerror(rc);
    debug_log(r, q->method, url, &sent, n_configured, q->status, msg, now_ms() - start);
    ret =
        error_setc(err, rc == CURLE_OPERATION_TIMEDOUT ? ERR_DEADLINE : ERR_UNAVAILABLE, "%s", msg);
  } else {
    debug_log(r, q->method, url, &sent, n_configured, q->status, NULL, now_ms() - start);
  }
  if (auth != NULL) {
    /* The header list held the credential: wipe our copy of it. */
    for (size_t i = 0; i < sent.n; i++)
      explicit_bzero(sent.v[i], strlen(sent.v[i]));
  }
  lc.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  lc.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  lc.slist_free_all(hl);
  return ret;
}

/* Follow redirects ourselves: once the target is another origin (blob
 * storage, or anyone a hostile registry names), it gets no Authorization, no
 * Basic credentials of a token request and no header from hosts.toml. */
static int
perform(struct registry *r, CURL *h, const struct registry_ep *ep, const char *url,
        const char *auth, struct req *q, struct error **err)
{
  cleanup_free char *cur = xstrdup(url);
  cleanup_free char *origin = url_origin(url, false);

  for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
    cleanup_free char *cur_origin = url_origin(cur, false);
    bool foreign = strcmp(cur_origin, origin) != 0;
    char *next = NULL;

    if (perform_once(r, h, ep, cur, foreign ? NULL : auth, foreign, q, err) < 0)
      return -1;
    if (q->status != 301 && q->status != 302 && q->status != 303 && q->status != 307 &&
        q->status != 308)
      return 0;
    if (lc.easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || next == NULL)
      return 0; /* a 3xx without Location: the caller reports the status */
    if (!str_has_prefix(next, "http://") && !str_has_prefix(next, "https://"))
      return error_setc(err, ERR_UNAVAILABLE, "redirect to an unsupported URL scheme");
    free(cur);
    cur = xstrdup(next);
  }
  return error_setc(err, ERR_UNAVAILABLE, "more than %d redirects", MAX_REDIRECTS);
}

/* The first errors[].message of a registry's JSON error body, or NULL. */
static char *
registry_message(const struct buf *body)
{
  cleanup_json json_t *j = NULL;
  json_t *e;
  const char *m;

  if (body->len == 0)
    return NULL;
  j = json_loadb(body->data, body->len, 0, NULL);
  e = json_array_get(json_object_get(j, "errors"), 0);
  m = json_string_value(json_object_get(e, "message"));
  if (m == NULL || m[0] == '\0')
    m = json_string_value(json_object_get(e, "code"));
  if (m == NULL && j == NULL) {
    /* Not JSON: the first line of a short plain-text answer says enough
     * ("Client sent an HTTP request to an HTTPS server."). */
    size_t n = strcspn(body->data, "\r\n");
    if (n > 120)
      n = 120;
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)body->data[i] < 0x20 || (unsigned char)body->data[i] > 0x7e)
        return NULL;
    return n ? xstrndup(body->data, n) : NULL;
  }
  if (m == NULL)
    return NULL;
  /* A server's words reach a terminal: no escape sequence, no line of its own. */
  {
    char *clean = registry_sanitize(m, strlen(m), REGISTRY_MAX_MESSAGE);
    if (clean[0] == '\0') {
      free(clean);
      return NULL;
    }
    return clean;
  }
}

static int
status_error(const struct req *q, struct error **err)
{
  cleanup_free char *m = registry_message(&q->body);
  int code = ERR_UNAVAILABLE;
  const char *what = "unexpected status";

  switch (q->status) {
  case 401:
    code = ERR_UNAUTHENTICATED;
    what = "unauthorized";
    break;
  case 403:
    code = ERR_PERMISSION;
    what = "denied";
    break;
  case 404:
    return error_setc(err, ERR_NOT_FOUND, "not found");
  case 429:
    code = ERR_EXHAUSTED;
    what = "too many requests";
    break;
  }
  if (q->status >= 300 && q->status < 400)
    what = "unexpected redirect";
  if (m != NULL)
    return error_setc(err, code, "%s: status %ld: %s", what, q->status, m);
  return error_setc(err, code, "%s: status %ld", what, q->status);
}

/* ---- authentication ---- */

static char *
auth_key(const struct registry_ep *ep, const char *repo)
{
  cleanup_free char *origin = url_origin(ep->base, false);
  return xasprintf("%s repository:%s:pull", origin, repo);
}

static char *
auth_lookup(struct registry *r, const char *key)
{
  char *v = NULL;

  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n_auth && v == NULL; i++)
    if (strcmp(r->auth[i].key, key) == 0)
      v = xstrdup(r->auth[i].value);
  pthread_mutex_unlock(&r->lock);
  return v;
}

/* VALUE NULL forgets the entry. */
static void
auth_store(struct registry *r, const char *key, const char *value)
{
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n_auth; i++) {
    if (strcmp(r->auth[i].key, key) == 0) {
      explicit_bzero(r->auth[i].value, strlen(r->auth[i].value));
      free(r->auth[i].value);
      free(r->auth[i].key);
      r->auth[i] = r->auth[--r->n_auth];
      break;
    }
  }
  if (value != NULL) {
    r->auth = xrealloc(r->auth, (r->n_auth + 1) * sizeof(*r->auth));
    r->auth[r->n_auth].key = xstrdup(key);
    r->auth[r->n_auth].value = xstrdup(value);
    r->n_auth++;
  }
  pthread_mutex_unlock(&r->lock);
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

/* Credentials for EP: --user, else docker's config.json. 0 and NULL: none. */
static int
credentials(struct registry *r, const struct registry_ep *ep, char **out, struct error **err)
{
  cleanup_free char *host = url_origin(ep->base, true);

  *out = NULL;
  if (r->user != NULL) {
    *out = strchr(r->user, ':') ? xstrdup(r->user) : xasprintf("%s:", r->user);
    return 0;
  }
  return registry_docker_credentials(host, out, err) < 0 ? -1 : 0;
}

static char *
bearer_token(struct registry *r, CURL *h, const struct registry_ep *ep, const char *repo,
             const struct registry_challenge *c, const char *creds, struct error **err)
{
  cleanup_strv struct strv scopes = STRV_INIT;
  cleanup_free char *url = NULL;
  cleanup_json json_t *j = NULL;
  struct req q = {.method = "GET", .body_max = MAX_TOKEN_BODY, .sink_limit = -1};
  const char *tok;
  char *ret = NULL;

  if (c->realm == NULL || c->realm[0] == '\0')
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer challenge without realm"), NULL;
  if (!str_has_prefix(c->realm, "http://") && !str_has_prefix(c->realm, "https://"))
    return error_setc(err, ERR_UNAUTHENTICATED, "bearer realm is not an http(s) URL"), NULL;
  registry_token_scopes(repo, &c->scopes, &scopes);
  url = registry_token_url(c->realm, c->service, &scopes);
  q.no_ep_headers = true;
  q.basic_creds = creds;
  if (perform(r, h, ep, url, NULL, &q, err) < 0) {
    req_release(&q);
    return error_wrap(err, "fetch token"), NULL;
  }
  if (q.status != 200) {
    status_error(&q, err);
    req_release(&q);
    return error_wrap(err, "fetch token"), NULL;
  }
  j = json_loadb(q.body.data ? q.body.data : "", q.body.len, 0, NULL);
  if (q.body.data != NULL)
    explicit_bzero(q.body.data, q.body.len);
  req_release(&q);
  tok = json_string_value(json_object_get(j, "access_token"));
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
  ret = xasprintf("Bearer %s", tok);
  return ret;
}

/* A 401 carried CHALLENGES: the Authorization value to retry with. */
static char *
authenticate(struct registry *r, CURL *h, const struct registry_ep *ep, const char *repo,
             const struct strv *challenges, struct error **err)
{
  cleanup_buf struct buf joined = BUF_INIT;
  cleanup_secret char *creds = NULL;
  struct registry_challenge *cs = NULL;
  const struct registry_challenge *bearer = NULL, *basic = NULL;
  size_t n = 0;
  char *ret = NULL;

  for (size_t i = 0; i < challenges->n; i++)
    buf_addf(&joined, "%s%s", i ? ", " : "", challenges->v[i]);
  if (registry_parse_challenges(joined.data ? joined.data : "", &cs, &n, err) < 0)
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
  if (credentials(r, ep, &creds, err) < 0)
    goto out;
  if (bearer != NULL) {
    ret = bearer_token(r, h, ep, repo, bearer, creds, err);
  } else if (creds == NULL) {
    error_setc(err, ERR_UNAUTHENTICATED, "unauthorized: basic authentication needs credentials");
  } else {
    cleanup_secret char *b = b64_encode(creds);
    ret = xasprintf("Basic %s", b);
  }
out:
  registry_challenges_free(cs, n);
  return ret;
}

/* perform() with the cached authorization for EP and REPO; on a 401 the
 * challenge is answered and the request retried once. */
static int
perform_authed(struct registry *r, CURL *h, const struct registry_ep *ep, const char *repo,
               const char *url, struct req *q, struct error **err)
{
  cleanup_free char *key = auth_key(ep, repo);
  cleanup_secret char *auth = auth_lookup(r, key);
  bool fresh = false;

  for (;;) {
    if (perform(r, h, ep, url, auth, q, err) < 0)
      return -1;
    if (q->status != 401)
      return 0;
    if (fresh || q->www_auth.n == 0) {
      cleanup_free char *m = registry_message(&q->body);
      if (fresh)
        auth_store(r, key, NULL);
      return error_setc(err, ERR_UNAUTHENTICATED,
                        "pull access denied, repository does not exist or may require "
                        "authorization%s%s",
                        m ? ": " : "", m ? m : "");
    }
    free_secret(&auth);
    auth = authenticate(r, h, ep, repo, &q->www_auth, err);
    if (auth == NULL)
      return -1;
    auth_store(r, key, auth);
    fresh = true;
  }
}

/* ---- resolve and fetch ---- */

static char *
sha256_hex(const void *data, size_t len)
{
  char *r = digest_sha256(data, len, NULL);
  return r ? r : xstrdup("sha256:");
}

/* A Content-Type is named in messages: printable ASCII only. */
static bool
printable_ascii(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return false;
  return true;
}

static int
resolve_one(struct registry *r, CURL *h, const struct registry_ep *ep, const char *repo,
            const char *object, bool by_digest, const volatile int *cancel,
            struct registry_desc *out, struct error **err)
{
  cleanup_free char *url = registry_url(ep, repo, "manifests", object);
  cleanup_free char *mt = NULL;
  struct req q = {.method = "HEAD", .accept = RESOLVE_ACCEPT, .sink_limit = -1, .cancel = cancel};
  int ret = -1;

  if (perform_authed(r, h, ep, repo, url, &q, err) < 0)
    goto out;
  if (q.status >= 200 && q.status <= 299) {
    if (q.content_length > (int64_t)REGISTRY_MAX_MANIFEST) {
      error_setc(err, ERR_EXHAUSTED, "manifest of %lld bytes is over the %u byte limit",
                 (long long)q.content_length, REGISTRY_MAX_MANIFEST);
      goto out;
    }
    /* A length of 0 is what some proxies answer to any HEAD: not a size. */
    if (q.content_type != NULL && !printable_ascii(q.content_type)) {
      error_setc(err, ERR_INVALID, "Content-Type with control characters");
      goto out;
    }
    if (q.content_type != NULL && q.content_length > 0 &&
        (by_digest || registry_digest_valid(q.digest))) {
      out->media_type = registry_media_strip(q.content_type);
      out->digest = xstrdup(by_digest ? object : q.digest);
      out->size = q.content_length;
      ret = 0;
      goto out;
    }
  } else if (q.status != 405) {
    status_error(&q, err);
    goto out;
  }
  /* No usable answer to HEAD: fetch the manifest and measure it. */
  q.method = "GET";
  q.body_max = REGISTRY_MAX_MANIFEST;
  if (perform_authed(r, h, ep, repo, url, &q, err) < 0) {
    if (error_is(*err, ERR_EXHAUSTED)) {
      error_free(*err);
      *err = NULL;
      error_setc(err, ERR_EXHAUSTED, "manifest is over the %u byte limit", REGISTRY_MAX_MANIFEST);
    }
    goto out;
  }
  if (q.status < 200 || q.status > 299) {
    status_error(&q, err);
    goto out;
  }
  if (q.content_type == NULL) {
    error_setc(err, ERR_INVALID, "manifest without Content-Type");
    goto out;
  }
  if (!printable_ascii(q.content_type)) {
    error_setc(err, ERR_INVALID, "Content-Type with control characters");
    goto out;
  }
  out->digest = sha256_hex(q.body.data ? q.body.data : "", q.body.len);
  if (by_digest && strcmp(out->digest, object) != 0) {
    error_setc(err, ERR_DATA_LOSS, "manifest digest is %s", out->digest);
    registry_desc_release(out);
    goto out;
  }
  out->media_type = registry_media_strip(q.content_type);
  out->size = (int64_t)q.body.len;
  ret = 0;
out:
  req_release(&q);
  return ret;
}

/* Collects the failures of an endpoint loop into one error. */
struct failures {
  struct buf text;
  size_t n;
  size_t n_not_found;
  int first_code; /* of the first failure other than not found */
};

static void
failures_add(struct failures *f, const struct registry_ep *ep, struct error *e)
{
  buf_addf(&f->text, "%s%s: %s", f->n ? "; " : "", ep->base, e->msg);
  if (e->code == ERR_NOT_FOUND)
    f->n_not_found++;
  else if (f->n == f->n_not_found)
    f->first_code = e->code;
  f->n++;
  error_free(e);
}

static int
failures_error(struct failures *f, const char *what, struct error **err)
{
  int ret;

  if (f->n == 0)
    ret = error_setc(err, ERR_INVALID, "%s: no endpoint to try", what);
  else if (f->n == f->n_not_found)
    ret = error_setc(err, ERR_NOT_FOUND, "%s: not found", what);
  else
    ret = error_setc(err, f->first_code, "%s: %s", what, f->text.data);
  buf_release(&f->text);
  return ret;
}

/* One resolve attempt on its own thread, for hedging. */
struct attempt {
  struct registry *r;
  const struct registry_ep *ep;
  const char *repo;
  const char *object;
  bool by_digest;
  volatile int cancel;
  bool started, done;
  int rc;
  struct registry_desc desc;
  struct error *err;
  pthread_t thread;
  pthread_mutex_t *mu;
  pthread_cond_t *cond;
};

static void *
attempt_run(void *arg)
{
  struct attempt *a = arg;
  CURL *h = handle_get(a->r);
  struct error *e = NULL;
  int rc;

  if (h == NULL)
    rc = error_setc(&e, ERR_INTERNAL, "curl_easy_init failed");
  else
    rc = resolve_one(a->r, h, a->ep, a->repo, a->object, a->by_digest, &a->cancel, &a->desc, &e);
  handle_put(a->r, h);
  pthread_mutex_lock(a->mu);
  a->rc = rc;
  a->err = e;
  a->done = true;
  pthread_cond_broadcast(a->cond);
  pthread_mutex_unlock(a->mu);
  return NULL;
}

int
registry_resolve(struct registry *r, const struct registry_ep *eps, size_t n_eps, const char *repo,
                 const char *ref_object, struct registry_desc *out, size_t *served_by,
                 struct error **err)
{
  bool by_digest = strchr(ref_object, ':') != NULL;
  unsigned need = by_digest ? REGISTRY_PULL : (REGISTRY_PULL | REGISTRY_RESOLVE);
  cleanup_free char *what =
      xasprintf("resolve \"%s%s%s\"", repo, by_digest ? "@" : ":", ref_object);
  struct failures f = {BUF_INIT, 0, 0, ERR_UNAVAILABLE};
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond;
  pthread_condattr_t ca;
  struct attempt *at;
  size_t n = 0, next = 0, winner = SIZE_MAX;
  int64_t last_start = 0;

  memset(out, 0, sizeof(*out));
  if (by_digest && !registry_digest_valid(ref_object))
    return error_setc(err, ERR_INVALID, "%s: unsupported digest", what);
  if (lc_ready(err) < 0)
    return error_wrap(err, "%s", what);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cond, &ca);
  pthread_condattr_destroy(&ca);
  at = xcalloc(n_eps ? n_eps : 1, sizeof(*at));
  for (size_t i = 0; i < n_eps; i++) {
    if ((eps[i].caps & need) != need)
      continue;
    at[n] = (struct attempt){.r = r,
                             .ep = &eps[i],
                             .repo = repo,
                             .object = ref_object,
                             .by_digest = by_digest,
                             .mu = &mu,
                             .cond = &cond};
    n++;
  }

  pthread_mutex_lock(&mu);
  for (;;) {
    /* The first good answer wins; among answers that came in together, the
     * earlier endpoint's. */
    for (size_t k = 0; k < next && winner == SIZE_MAX; k++)
      if (at[k].done && at[k].err == NULL)
        winner = k;
    if (winner != SIZE_MAX)
      break;
    {
      bool all_done = next == n;
      for (size_t k = 0; k < next; k++)
        all_done = all_done && at[k].done;
      if (all_done)
        break;
    }
    /* start the next endpoint now when every started one has failed, or
     * when the hedge delay has passed */
    if (next < n) {
      bool any_running = false;
      for (size_t k = 0; k < next; k++)
        any_running = any_running || !at[k].done;
      if (!any_running || now_ms() - last_start >= r->hedge_delay_ms) {
        if (next > 0 && any_running && r->debug)
          log_debug("registry %s is slow to answer; also asking %s", at[next - 1].ep->base,
                    at[next].ep->base);
        if (pthread_create(&at[next].thread, NULL, attempt_run, &at[next]) == 0) {
          at[next].started = true;
        } else {
          at[next].done = true;
          error_setc(&at[next].err, ERR_INTERNAL, "cannot start a thread");
        }
        next++;
        last_start = now_ms();
        continue;
      }
    }
    {
      struct timespec ts;
      int64_t wake = next < n ? last_start + r->hedge_delay_ms : now_ms() + 1000;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      int64_t left = wake - now_ms();
      if (left < 1)
        left = 1;
      ts.tv_sec += left / 1000;
      ts.tv_nsec += (left % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&cond, &mu, &ts);
    }
  }
  for (size_t k = 0; k < next; k++)
    if (k != winner)
      at[k].cancel = 1;
  pthread_mutex_unlock(&mu);
  for (size_t k = 0; k < next; k++)
    if (at[k].started)
      pthread_join(at[k].thread, NULL);

  for (size_t k = 0; k < n; k++) {
    if (k == winner) {
      *out = at[k].desc;
      if (served_by)
        *served_by = (size_t)(at[k].ep - eps);
      continue;
    }
    registry_desc_release(&at[k].desc);
    if (k < next && at[k].err != NULL) {
      const struct error *e = at[k].err;
      bool cancelled = at[k].cancel && str_has_prefix(e->msg, "cancelled");
      if (cancelled && k < winner && r->on_failure) {
        /* asked before the winner and still silent: slow, so try it later */
        struct error *slow = NULL;
        error_setc(&slow, ERR_DEADLINE, "no answer before %s answered", at[winner].ep->base);
        r->on_failure(at[k].ep->base, slow, r->failure_arg);
        error_free(slow);
      } else if (!cancelled && r->on_failure && e->code != ERR_NOT_FOUND &&
                 e->code != ERR_UNAUTHENTICATED && e->code != ERR_INVALID) {
        r->on_failure(at[k].ep->base, e, r->failure_arg);
      }
      if (winner == SIZE_MAX)
        failures_add(&f, at[k].ep, at[k].err);
      else
        error_free(at[k].err);
    }
  }
  free(at);
  pthread_cond_destroy(&cond);
  pthread_mutex_destroy(&mu);
  if (winner != SIZE_MAX) {
    buf_release(&f.text);
    return 0;
  }
  return failures_error(&f, what, err);
}

int
registry_fetch(struct registry *r, const struct registry_ep *eps, size_t n_eps, const char *repo,
               const struct registry_desc *desc, int64_t offset, registry_sink sink, void *arg,
               size_t *served_by, struct error **err)
{
  enum registry_media kind = registry_media_kind(desc->media_type);
  bool manifest = kind == REGISTRY_MEDIA_INDEX || kind == REGISTRY_MEDIA_MANIFEST ||
                  kind == REGISTRY_MEDIA_SCHEMA1;
  cleanup_free char *what = xasprintf("fetch \"%s@%s\"", repo, desc->digest ? desc->digest : "");
  cleanup_free char *accept = NULL;
  struct failures f = {BUF_INIT, 0, 0, ERR_UNAVAILABLE};
  bool has_pull = false;
  CURL *h;

  if (!registry_digest_valid(desc->digest))
    return error_setc(err, ERR_INVALID, "%s: unsupported digest", what);
  if (desc->size == 0)
    return error_setc(err, ERR_INVALID, "%s: descriptor reports content size of zero", what);
  if (offset < 0 || (desc->size > 0 && offset >= desc->size))
    return error_setc(err, ERR_OUT_OF_RANGE, "%s: offset %lld out of range", what,
                      (long long)offset);
  for (size_t i = 0; i < n_eps; i++)
    has_pull = has_pull || (eps[i].caps & REGISTRY_PULL) != 0;
  if (!has_pull)
    return error_setc(err, ERR_INVALID, "%s: no endpoint with the pull capability", what);
  if (lc_ready(err) < 0)
    return error_wrap(err, "%s", what);
  h = handle_get(r);
  if (h == NULL)
    return error_setc(err, ERR_INTERNAL, "%s: curl_easy_init failed", what);
  accept = desc->media_type && desc->media_type[0] ? xasprintf("%s, */*", desc->media_type)
                                                   : xstrdup("*/*");
  /* Every endpoint, whatever its capabilities, as containerd does. */
  for (size_t i = 0; i < n_eps; i++) {
    cleanup_free char *url =
        registry_url(&eps[i], repo, manifest ? "manifests" : "blobs", desc->digest);
    struct req q = {.method = "GET",
                    .accept = accept,
                    .offset = offset,
                    .sink = sink,
                    .arg = arg,
                    .sink_limit = desc->size > 0 ? desc->size - offset : -1};
    struct error *e = NULL;
    int rc = perform_authed(r, h, &eps[i], repo, url, &q, &e);

    if (rc == 0 && (q.status < 200 || q.status > 299))
      rc = status_error(&q, &e);
    if (rc == 0) {
      req_release(&q);
      handle_put(r, h);
      buf_release(&f.text);
      if (served_by)
        *served_by = i;
      return 0;
    }
    if (q.delivered > 0) {
      /* The sink has part of it: the caller resumes from its new offset. */
      req_release(&q);
      handle_put(r, h);
      buf_release(&f.text);
      *err = e;
      return error_wrap(err, "%s: %s", what, eps[i].base);
    }
    req_release(&q);
    failures_add(&f, &eps[i], e);
  }
  handle_put(r, h);
  return failures_error(&f, what, err);
}

/* Whether curl's words say the TLS layer failed. */
static bool
tls_error(const char *msg)
{
  return strstr(msg, "SSL") || strstr(msg, "TLS") || strstr(msg, "certificate") ||
         strstr(msg, "handshake");
}

int
registry_probe(struct registry *r, const struct registry_ep *ep, struct registry_probe *out)
{
  cleanup_free char *url = NULL;
  struct req q = {.method = "GET", .body_max = MAX_ERROR_BODY, .sink_limit = -1};
  struct error *e = NULL;
  int64_t t0 = now_ms();
  bool https = str_has_prefix(ep->base, "https://");
  long ver = 0;
  CURL *h;

  memset(out, 0, sizeof(*out));
  if (lc_ready(&e) < 0 || (h = handle_get(r)) == NULL) {
    out->error = xstrdup(e ? e->msg : "curl_easy_init failed");
    out->tls = xstrdup("-");
    error_free(e);
    return -1;
  }
  if (ep->ns != NULL && ep->ns[0] != '\0') {
    cleanup_free char *ns = registry_query_escape(ep->ns);
    url = xasprintf("%s/?ns=%s", ep->base, ns);
  } else {
    url = xasprintf("%s/", ep->base);
  }
  perform(r, h, ep, url, NULL, &q, &e);
  out->latency_ms = now_ms() - t0;
  out->status = q.status;
  if (lc.easy_getinfo(h, CURLINFO_HTTP_VERSION, &ver) == CURLE_OK && q.status > 0)
    snprintf(out->http_version, sizeof(out->http_version), "%s",
             ver == CURL_HTTP_VERSION_2_0   ? "2"
             : ver == CURL_HTTP_VERSION_3   ? "3"
             : ver == CURL_HTTP_VERSION_1_0 ? "1.0"
                                            : "1.1");
  if (!https)
    out->tls = xstrdup("plain http");
  else if (e != NULL && q.status == 0 && !tls_error(e->msg))
    out->tls = xstrdup("-"); /* no answer at all: TLS was not what failed */
  else if (e != NULL && q.status == 0)
    out->tls = xasprintf("failed: %s", e->msg);
  else
    out->tls = xstrdup(ep->skip_verify == 1 ? "not verified (skip_verify)" : "verified");
  if (e != NULL) {
    out->error = xstrdup(e->msg);
  } else if (q.status == 200 || q.status == 401) {
    out->alive = true;
  } else {
    struct error *se = NULL;
    status_error(&q, &se);
    out->error = xstrdup(se->msg);
    error_free(se);
  }
  error_free(e);
  req_release(&q);
  handle_put(r, h);
  return out->alive ? 0 : -1;
}

void
registry_probe_release(struct registry_probe *p)
{
  free(p->tls);
  free(p->error);
  memset(p, 0, sizeof(*p));
}
