#include "hosts.h"
#include "hosts_internal.h"

#include "ref.h"
#include "toml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const hosts_cap_names[HOSTS_N_CAPS] = {"pull", "resolve", "push", "referrers"};

/* ---- small helpers ---- */

bool
hosts_is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *
hosts_path_join(const char *dir, const char *name)
{
  if (dir == NULL || *dir == '\0' || name[0] == '/')
    return xstrdup(name);
  return xasprintf("%s%s%s", dir, str_has_suffix(dir, "/") ? "" : "/", name);
}

static void
strv_push_unique(struct strv *s, const char *str)
{
  if (!strv_contains(s, str))
    strv_push(s, str);
}

/* The port of host[:port] ("[v6]:port" too), or NULL. */
const char *
hosts_host_port(const char *host)
{
  const char *colon = strrchr(host, ':');
  const char *close = strrchr(host, ']');

  if (colon == NULL || colon == host || colon[1] == '\0')
    return NULL;
  if (host[0] == '[' && (close == NULL || close + 1 != colon))
    return NULL;
  if (host[0] != '[' && strchr(host, ':') != colon)
    return NULL; /* a bare IPv6 address */
  for (const char *p = colon + 1; *p; p++)
    if (*p < '0' || *p > '9')
      return NULL;
  return colon + 1;
}

bool
hosts_is_localhost(const char *host)
{
  cleanup_free char *h = NULL;
  const char *port = hosts_host_port(host);
  size_t len = port ? (size_t)(port - 1 - host) : strlen(host);
  struct in_addr a4;
  struct in6_addr a6;

  if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
    h = xstrndup(host + 1, len - 2);
  else
    h = xstrndup(host, len);
  if (strcasecmp(h, "localhost") == 0)
    return true;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, h, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

int
hosts_caps_parse(const char *list, unsigned *out, struct error **err)
{
  unsigned caps = 0;
  const char *p = list;

  while (*p) {
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t len = n;
    bool found = false;

    while (len > 0 && (*s == ' ' || *s == '\t')) {
      s++;
      len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
      len--;
    for (size_t i = 0; i < ARRAY_SIZE(hosts_cap_names) && len > 0; i++) {
      if (strlen(hosts_cap_names[i]) == len && strncasecmp(s, hosts_cap_names[i], len) == 0) {
        caps |= 1u << i;
        found = true;
      }
    }
    if (!found)
      return error_setc(err, ERR_INVALID,
                        "unknown capability \"%.*s\" (known: pull, resolve, push, referrers)",
                        (int)len, s);
    p += n;
    if (*p == ',')
      p++;
  }
  *out = caps;
  return 0;
}

char *
hosts_caps_string(unsigned caps)
{
  struct buf b = BUF_INIT;

  for (size_t i = 0; i < ARRAY_SIZE(hosts_cap_names); i++) {
    if (caps & (1u << i)) {
      if (b.len)
        buf_add(&b, ",", 1);
      buf_addstr(&b, hosts_cap_names[i]);
    }
  }
  if (b.len == 0)
    buf_addstr(&b, "none");
  return buf_steal(&b);
}

bool
hosts_header_is_secret(const char *name)
{
  static const char *const exact[] = {"authorization", "proxy-authorization", "cookie",
                                      "set-cookie"};
  static const char *const parts[] = {"token", "secret", "key",    "password",
                                      "auth",  "cred",   "session"};

  for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
    if (strcasecmp(name, exact[i]) == 0)
      return true;
  for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
    if (strcasestr(name, parts[i]) != NULL)
      return true;
  return false;
}

/* ---- endpoints ---- */

static void
endpoint_release(struct hosts_endpoint *e)
{
  free(e->scheme);
  free(e->host);
  free(e->path);
  strv_release(&e->ca);
  for (size_t i = 0; i < e->n_clients; i++) {
    free(e->clients[i].cert);
    free(e->clients[i].key);
  }
  free(e->clients);
  for (size_t i = 0; i < e->n_headers; i++) {
    free(e->headers[i].name);
    strv_release(&e->headers[i].values);
  }
  free(e->headers);
  free(e->file);
  memset(e, 0, sizeof(*e));
}

void
hosts_list_release(struct hosts_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    endpoint_release(&l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

void
hosts_config_release(struct hosts_config *c)
{
  free(c->registry);
  strv_release(&c->dirs);
  strv_release(&c->missing);
  strv_release(&c->warnings);
  free(c->host_dir);
  free(c->file);
  hosts_list_release(&c->endpoints);
  memset(c, 0, sizeof(*c));
}

static struct hosts_endpoint *
list_add(struct hosts_list *l)
{
  struct hosts_endpoint *e;

  l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  e = &l->v[l->n++];
  memset(e, 0, sizeof(*e));
  e->skip_verify = -1;
  e->dial_timeout_ms = -1;
  e->caps = HOSTS_CAP_ALL;
  return e;
}

static void
add_client(struct hosts_endpoint *e, char *cert, char *key)
{
  e->clients = xrealloc(e->clients, (e->n_clients + 1) * sizeof(*e->clients));
  e->clients[e->n_clients].cert = cert;
  e->clients[e->n_clients].key = key;
  e->n_clients++;
}

char *
hosts_endpoint_url(const struct hosts_endpoint *e)
{
  return xasprintf("%s://%s%s", e->scheme ? e->scheme : "", e->host ? e->host : "",
                   e->path ? e->path : "");
}

/* The upstream endpoint when nothing names it (PROTOCOL.md §5.5). For
 * localhost-like registries this is containerd 1.6.20's behaviour (the
 * installed daemon's): plain http with TLS verification skipped, and no
 * https-first fallback; 1.6.25+/1.7.8+/2.x try https first instead. */
static void
fill_default(struct hosts_endpoint *e, const char *registry)
{
  free(e->scheme);
  free(e->host);
  free(e->path);
  if (strcmp(registry, "docker.io") == 0) {
    e->scheme = xstrdup("https");
    e->host = xstrdup("registry-1.docker.io");
  } else if (hosts_is_localhost(registry)) {
    e->scheme = xstrdup("http");
    e->host = xstrdup(registry);
    e->skip_verify = 1;
  } else {
    e->scheme = xstrdup("https");
    e->host = xstrdup(registry);
  }
  e->path = xstrdup("/v2");
  e->caps = HOSTS_CAP_ALL;
  e->upstream = true;
}

static void
mark_ns(struct hosts_list *l, const char *registry)
{
  for (size_t i = 0; i < l->n; i++) {
    struct hosts_endpoint *e = &l->v[i];
    bool docker_hub = strcmp(registry, "docker.io") == 0 && e->host &&
                      strcmp(e->host, "registry-1.docker.io") == 0;
    e->ns = e->host && strcmp(e->host, registry) != 0 && !docker_hub;
  }
}

void
hosts_default(const char *registry, struct hosts_list *out)
{
  struct hosts_endpoint *e = list_add(out);
  fill_default(e, registry);
  mark_ns(out, registry);
}

/* ---- hosts.toml ---- */

struct hctx {
  const char *registry;
  const char *host_dir;
  const char *file;
  struct error **err;
};

/* An error about a URL: at its position in the file, or on its own for a URL
 * given on the command line (at == NULL). */
static int __attribute__((format(printf, 3, 4)))
url_error(struct hctx *c, const struct toml_value *at, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start(ap, fmt);
  /* no file named for a URL given on the command line */
  r = toml_verror_at(c->err, at ? c->file : NULL, at, fmt, ap);
  va_end(ap);
  return r;
}

char *
hosts_strip_userinfo(const char *s)
{
  struct buf b = BUF_INIT;
  const char *p = s;

  for (;;) {
    const char *sep = strstr(p, "://");
    size_t n;
    const char *at = NULL;

    if (sep == NULL) {
      buf_addstr(&b, p);
      break;
    }
    buf_add(&b, p, (size_t)(sep + 3 - p));
    p = sep + 3;
    /* the authority ends where a URL would end it, or where a message
     * would: quotes, spaces, control characters */
    n = strcspn(p, "/?#\"' \t\r\n");
    for (size_t i = 0; i < n; i++)
      if (p[i] == '@')
        at = p + i;
    if (at != NULL)
      p = at + 1;
  }
  return buf_steal(&b);
}

/* Split an endpoint URL into scheme, host and path; a URL without a scheme is
 * https, as in containerd. User information (user:password@) is dropped, as
 * Go's url.Parse leaves it out of the host containerd uses; e->userinfo says
 * that there was some. Messages show the URL without it. */
static int
split_url(struct hctx *c, const struct toml_value *at, const char *url, struct hosts_endpoint *e)
{
  const char *sep = strstr(url, "://");
  const char *rest = sep ? sep + 3 : url;
  size_t al = strcspn(rest, "/?#");
  const char *host = rest;
  cleanup_free char *shown = NULL;
  size_t hl, pl;

  for (size_t i = 0; i < al; i++)
    if (rest[i] == '@')
      host = rest + i + 1;
  shown = xasprintf("%.*s%s", (int)(rest - url), url, host);
  hl = al - (size_t)(host - rest);
  pl = strcspn(host + hl, "?#");
  free(e->scheme);
  free(e->host);
  free(e->path);
  e->userinfo = host != rest;
  e->scheme = sep ? xstrndup(url, (size_t)(sep - url)) : xstrdup("https");
  e->host = xstrndup(host, hl);
  e->path = xstrndup(host + hl, pl);
  for (char *p = e->scheme; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  if (strcmp(e->scheme, "http") != 0 && strcmp(e->scheme, "https") != 0)
    return url_error(c, at, "\"%s\": scheme must be http or https", shown);
  if (e->host[0] == '\0')
    return url_error(c, at, "\"%s\": no host in URL", shown);
  for (const char *p = e->host; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= ' ' || ch == 0x7F || ch == '\\')
      return url_error(c, at, "\"%s\": invalid host \"%s\"", shown, e->host);
  }
  for (const char *p = e->path; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= ' ' || ch == 0x7F)
      return url_error(c, at, "\"%s\": invalid character in path", shown);
  }
  return 0;
}

/* "/v2" is appended unless override_path, or the path already ends in /v2. */
static void
finish_path(struct hosts_endpoint *e)
{
  size_t n;

  if (e->override_path)
    return;
  n = strlen(e->path);
  while (n > 0 && e->path[n - 1] == '/')
    e->path[--n] = '\0';
  if (!str_has_suffix(e->path, "/v2")) {
    char *p = xasprintf("%s/v2", e->path);
    free(e->path);
    e->path = p;
  }
}

static int
want_type(struct hctx *c, const struct toml_value *v, enum toml_type t, const char *key)
{
  if (v->type != t)
    return toml_error_at(c->err, c->file, v, "%s must be a %s, not %s", key, toml_type_name(t),
                         toml_type_name(v->type));
  return 0;
}

static int
want_path(struct hctx *c, const struct toml_value *v, const char *key)
{
  if (want_type(c, v, TOML_STRING, key) < 0)
    return -1;
  if (v->u.str.len == 0 || strlen(v->u.str.ptr) != v->u.str.len)
    return toml_error_at(c->err, c->file, v, "%s: empty or invalid file name", key);
  return 0;
}

static int
parse_caps(struct hctx *c, const struct toml_value *v, unsigned *out)
{
  unsigned caps = 0;

  if (want_type(c, v, TOML_ARRAY, "capabilities") < 0)
    return -1;
  for (size_t i = 0; i < toml_len(v); i++) {
    const struct toml_value *item = toml_at(v, i);
    bool found = false;
    if (want_type(c, item, TOML_STRING, "a capability") < 0)
      return -1;
    for (size_t k = 0; k < ARRAY_SIZE(hosts_cap_names); k++) {
      if (strcasecmp(item->u.str.ptr, hosts_cap_names[k]) == 0 &&
          item->u.str.len == strlen(hosts_cap_names[k])) {
        caps |= 1u << k;
        found = true;
      }
    }
    if (!found)
      return toml_error_at(c->err, c->file, item,
                           "unknown capability \"%s\" (known: pull, resolve, push, referrers)",
                           item->u.str.ptr);
  }
  *out = caps;
  return 0;
}

static int
parse_ca(struct hctx *c, const struct toml_value *v, struct hosts_endpoint *e)
{
  if (v->type == TOML_STRING) {
    if (want_path(c, v, "ca") < 0)
      return -1;
    strv_push_owned(&e->ca, hosts_path_join(c->host_dir, v->u.str.ptr));
    return 0;
  }
  if (v->type != TOML_ARRAY)
    return toml_error_at(c->err, c->file, v, "ca must be a string or an array of strings, not %s",
                         toml_type_name(v->type));
  for (size_t i = 0; i < toml_len(v); i++) {
    const struct toml_value *item = toml_at(v, i);
    if (want_path(c, item, "ca") < 0)
      return -1;
    strv_push_owned(&e->ca, hosts_path_join(c->host_dir, item->u.str.ptr));
  }
  return 0;
}

/* client = "both.pem" | ["a.pem", "b.pem"] | [["cert", "key"], ["both.pem", ""]] */
static int
parse_client(struct hctx *c, const struct toml_value *v, struct hosts_endpoint *e)
{
  if (v->type == TOML_STRING) {
    if (want_path(c, v, "client") < 0)
      return -1;
    add_client(e, hosts_path_join(c->host_dir, v->u.str.ptr), xstrdup(""));
    return 0;
  }
  if (v->type != TOML_ARRAY)
    return toml_error_at(c->err, c->file, v,
                         "client must be a string, an array of strings or of [cert, key] pairs, "
                         "not %s",
                         toml_type_name(v->type));
  for (size_t i = 0; i < toml_len(v); i++) {
    const struct toml_value *item = toml_at(v, i);
    const struct toml_value *cert, *key;

    if (item->type == TOML_STRING) {
      if (want_path(c, item, "client") < 0)
        return -1;
      add_client(e, hosts_path_join(c->host_dir, item->u.str.ptr), xstrdup(""));
      continue;
    }
    if (item->type != TOML_ARRAY || toml_len(item) < 1 || toml_len(item) > 2)
      return toml_error_at(c->err, c->file, item,
                           "client entries must be file names or [cert, key] pairs");
    cert = toml_at(item, 0);
    key = toml_at(item, 1);
    if (want_path(c, cert, "client certificate") < 0)
      return -1;
    if (key && (want_type(c, key, TOML_STRING, "client key") < 0 ||
                strlen(key->u.str.ptr) != key->u.str.len))
      return key->type == TOML_STRING
                 ? toml_error_at(c->err, c->file, key, "client key: invalid file name")
                 : -1;
    add_client(e, hosts_path_join(c->host_dir, cert->u.str.ptr),
               key && key->u.str.len ? hosts_path_join(c->host_dir, key->u.str.ptr) : xstrdup(""));
  }
  return 0;
}

static bool
is_token_char(unsigned char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
check_header_value(struct hctx *c, const struct toml_value *v, const char *name)
{
  if (want_type(c, v, TOML_STRING, "a header value") < 0)
    return -1;
  for (size_t i = 0; i < v->u.str.len; i++) {
    unsigned char ch = (unsigned char)v->u.str.ptr[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
      return toml_error_at(c->err, c->file, v, "header %s: control character in value", name);
  }
  return 0;
}

static int
parse_headers(struct hctx *c, const struct toml_value *t, struct hosts_endpoint *e)
{
  if (want_type(c, t, TOML_TABLE, "header") < 0)
    return -1;
  for (size_t i = 0; i < toml_len(t); i++) {
    const char *name = toml_key_at(t, i);
    const struct toml_value *v = toml_at(t, i);
    struct hosts_header *h;

    if (*name == '\0' || strlen(name) != t->u.table.items[i].key_len)
      return toml_error_at(c->err, c->file, v, "empty or invalid header name");
    for (const char *p = name; *p; p++)
      if (!is_token_char((unsigned char)*p))
        return toml_error_at(c->err, c->file, v, "invalid header name \"%s\"", name);
    if (v->type == TOML_ARRAY) {
      if (toml_len(v) == 0)
        return toml_error_at(c->err, c->file, v, "header %s has no values", name);
      for (size_t k = 0; k < toml_len(v); k++)
        if (check_header_value(c, toml_at(v, k), name) < 0)
          return -1;
    } else if (v->type != TOML_STRING) {
      return toml_error_at(c->err, c->file, v,
                           "header %s must be a string or an array of strings, not %s", name,
                           toml_type_name(v->type));
    } else if (check_header_value(c, v, name) < 0) {
      return -1;
    }
    e->headers = xrealloc(e->headers, (e->n_headers + 1) * sizeof(*e->headers));
    h = &e->headers[e->n_headers++];
    h->name = xstrdup(name);
    h->values = (struct strv)STRV_INIT;
    if (v->type == TOML_STRING)
      strv_push(&h->values, v->u.str.ptr);
    for (size_t k = 0; v->type == TOML_ARRAY && k < toml_len(v); k++)
      strv_push(&h->values, toml_at(v, k)->u.str.ptr);
  }
  return 0;
}

/* The keys shared by the top level and [host."URL"] tables. url is NULL for
 * a top level without `server`. Unknown keys are ignored, as in containerd. */
static int
parse_host_table(struct hctx *c, const struct toml_value *t, const char *url,
                 const struct toml_value *url_at, struct hosts_endpoint *e)
{
  const struct toml_value *v;

  if (url && split_url(c, url_at, url, e) < 0)
    return -1;
  if ((v = toml_get(t, "capabilities")) && parse_caps(c, v, &e->caps) < 0)
    return -1;
  if ((v = toml_get(t, "ca")) && parse_ca(c, v, e) < 0)
    return -1;
  if ((v = toml_get(t, "client")) && parse_client(c, v, e) < 0)
    return -1;
  if ((v = toml_get(t, "skip_verify"))) {
    if (want_type(c, v, TOML_BOOL, "skip_verify") < 0)
      return -1;
    e->skip_verify = v->u.boolean ? 1 : 0;
  }
  if ((v = toml_get(t, "header")) && parse_headers(c, v, e) < 0)
    return -1;
  if ((v = toml_get(t, "override_path"))) {
    if (want_type(c, v, TOML_BOOL, "override_path") < 0)
      return -1;
    e->override_path = v->u.boolean;
  }
  if ((v = toml_get(t, "dial_timeout"))) {
    if (want_type(c, v, TOML_STRING, "dial_timeout") < 0)
      return -1;
    if (parse_duration_ms(v->u.str.ptr, &e->dial_timeout_ms) < 0)
      return toml_error_at(c->err, c->file, v, "dial_timeout: invalid duration \"%s\"",
                           v->u.str.ptr);
  }
  if (url)
    finish_path(e);
  e->file = c->file ? xstrdup(c->file) : NULL;
  return 0;
}

int
hosts_parse(const char *registry, const char *host_dir, const char *file, const char *text,
            size_t len, struct hosts_list *out, struct error **err)
{
  cleanup_toml struct toml_value *root = NULL;
  struct hctx c = {registry, host_dir, file, err};
  struct hosts_list l = {NULL, 0};
  const struct toml_value *hosts, *server;
  struct hosts_endpoint *up;

  if (toml_parse(text, len, file, &root, err) < 0)
    goto fail;
  hosts = toml_get(root, "host");
  if (hosts && want_type(&c, hosts, TOML_TABLE, "host") < 0)
    return -1;
  /* mirrors first, in the order their tables appear in the file */
  for (size_t i = 0; hosts != NULL && i < toml_len(hosts); i++) {
    const struct toml_value *t = toml_at(hosts, i);
    const char *url = toml_key_at(hosts, i);
    struct hosts_endpoint *e;

    if (t->type != TOML_TABLE) {
      cleanup_free char *shown = hosts_strip_userinfo(url);
      toml_error_at(err, file, t, "host.\"%s\" must be a table, not %s", shown,
                    toml_type_name(t->type));
      goto fail;
    }
    if (strlen(url) != hosts->u.table.items[i].key_len || *url == '\0') {
      toml_error_at(err, file, t, "empty or invalid host URL");
      goto fail;
    }
    e = list_add(&l);
    e->line = t->line;
    if (parse_host_table(&c, t, url, t, e) < 0)
      goto fail;
  }
  server = toml_get(root, "server");
  up = list_add(&l);
  up->upstream = true;
  if (server) {
    if (want_type(&c, server, TOML_STRING, "server") < 0 ||
        strlen(server->u.str.ptr) != server->u.str.len || server->u.str.len == 0) {
      if (server->type == TOML_STRING)
        toml_error_at(err, file, server, "server must not be empty");
      goto fail;
    }
    up->line = server->line;
    if (parse_host_table(&c, root, server->u.str.ptr, server, up) < 0)
      goto fail;
  } else {
    /* No server: the built-in upstream, with all capabilities whatever the
     * top level says, but the top level's TLS settings and headers. */
    if (parse_host_table(&c, root, NULL, NULL, up) < 0)
      goto fail;
    up->override_path = false;
    fill_default(up, registry);
  }
  mark_ns(&l, registry);
  *out = l;
  return 0;
fail:
  hosts_list_release(&l);
  /* a message may quote a host key; its user information stays out */
  if (err && *err && (*err)->msg) {
    char *msg = hosts_strip_userinfo((*err)->msg);
    free((*err)->msg);
    (*err)->msg = msg;
  }
  return -1;
}

int
hosts_load_certs(const char *registry, const char *dir, struct hosts_list *out, struct error **err)
{
  DIR *d = opendir(dir);
  cleanup_strv struct strv names = STRV_INIT;
  struct hosts_list l = {NULL, 0};
  struct hosts_endpoint *e;
  struct dirent *de;

  if (d == NULL)
    return error_set(err, errno, "open host directory '%s'", dir);
  while ((errno = 0, de = readdir(d)) != NULL)
    if (str_has_suffix(de->d_name, ".crt") || str_has_suffix(de->d_name, ".cert"))
      strv_push(&names, de->d_name);
  if (errno != 0) {
    int saved = errno;
    closedir(d);
    return error_set(err, saved, "read host directory '%s'", dir);
  }
  closedir(d);
  /* Go's os.ReadDir order: by name, bytewise */
  if (names.n > 1)
    qsort(names.v, names.n, sizeof(char *), str_ptr_cmp);

  e = list_add(&l);
  fill_default(e, registry);
  e->file = xstrdup(dir);
  for (size_t i = 0; i < names.n; i++) {
    const char *n = names.v[i];
    if (str_has_suffix(n, ".crt")) {
      strv_push_owned(&e->ca, hosts_path_join(dir, n));
    } else {
      cleanup_free char *base = xstrndup(n, strlen(n) - strlen(".cert"));
      cleanup_free char *keyname = xasprintf("%s.key", base);
      char *key = hosts_path_join(dir, keyname);
      struct stat st;
      if (stat(key, &st) < 0) {
        if (errno != ENOENT) {
          error_set(err, errno, "stat '%s'", key);
          free(key);
          hosts_list_release(&l);
          return -1;
        }
        free(key);
        key = xstrdup("");
      }
      add_client(e, hosts_path_join(dir, n), key);
    }
  }
  mark_ns(&l, registry);
  *out = l;
  return 0;
}

/* ---- discovery ---- */

int
hosts_containerd_config_path(const char *file, struct strv *out, struct error **err)
{
  /* The CRI registry section moved between config versions. */
  static const char *const v3 = "plugins.\"io.containerd.cri.v1.images\".registry.config_path";
  static const char *const v2 = "plugins.\"io.containerd.grpc.v1.cri\".registry.config_path";
  static const char *const v1 = "plugins.cri.registry.config_path";
  cleanup_toml struct toml_value *root = NULL;
  cleanup_error struct error *e = NULL;
  const struct toml_value *version, *v = NULL;
  const char *order[3];
  const char *p;

  if (toml_parse_file(file, HOSTS_TOML_MAX_BYTES, &root, &e) < 0) {
    if (e->sys_errno == ENOENT || e->sys_errno == ENOTDIR)
      return 0;
    *err = steal_pointer(&e);
    return error_wrap(err, "containerd config");
  }
  version = toml_get(root, "version");
  if (version && version->type == TOML_INTEGER && version->u.integer >= 3) {
    order[0] = v3, order[1] = v2, order[2] = v1;
  } else if (version && version->type == TOML_INTEGER && version->u.integer == 2) {
    order[0] = v2, order[1] = v3, order[2] = v1;
  } else {
    order[0] = v1, order[1] = v2, order[2] = v3;
  }
  for (size_t i = 0; i < ARRAY_SIZE(order) && v == NULL; i++)
    v = toml_get_path(root, order[i]);
  if (v == NULL)
    return 0;
  if (v->type != TOML_STRING) {
    toml_error_at(err, file, v, "config_path must be a string, not %s", toml_type_name(v->type));
    return error_wrap(err, "containerd config");
  }
  /* filepath.SplitList: ':'-separated, empty parts dropped */
  p = v->u.str.ptr;
  while (*p) {
    size_t n = strcspn(p, ":");
    if (n > 0) {
      cleanup_free char *d = xstrndup(p, n);
      strv_push_unique(out, d);
    }
    p += n;
    if (*p == ':')
      p++;
  }
  return 0;
}

int
hosts_dirs(const struct strv *flag_dirs, const struct strv *cfg_dirs, const char *containerd_config,
           bool existing_only, struct strv *out, struct error **err)
{
  cleanup_strv struct strv all = STRV_INIT;

  if (flag_dirs && flag_dirs->n > 0) {
    for (size_t i = 0; i < flag_dirs->n; i++)
      strv_push_unique(&all, flag_dirs->v[i]);
  } else if (cfg_dirs && cfg_dirs->n > 0) {
    for (size_t i = 0; i < cfg_dirs->n; i++)
      strv_push_unique(&all, cfg_dirs->v[i]);
  } else {
    const char *file = containerd_config ? containerd_config : HOSTS_CONTAINERD_CONFIG;
    if (hosts_containerd_config_path(file, &all, err) < 0)
      return -1;
    strv_push_unique(&all, HOSTS_CONTAINERD_CERTS_D);
    strv_push_unique(&all, HOSTS_DOCKER_CERTS_D);
  }
  for (size_t i = 0; i < all.n; i++)
    if (!existing_only || hosts_is_dir(all.v[i]))
      strv_push(out, all.v[i]);
  return 0;
}

void
hosts_find_dir(const struct strv *dirs, const char *registry, char **out)
{
  const char *port = hosts_host_port(registry);
  cleanup_free char *ported = NULL;

  *out = NULL;
  if (port)
    ported = xasprintf("%.*s_%s_", (int)(port - 1 - registry), registry, port);
  for (size_t i = 0; i < dirs->n; i++) {
    const char *cands[] = {ported, registry, "_default"};
    for (size_t k = 0; k < ARRAY_SIZE(cands); k++) {
      char *p;
      if (cands[k] == NULL)
        continue;
      p = hosts_path_join(dirs->v[i], cands[k]);
      if (hosts_is_dir(p)) {
        *out = p;
        return;
      }
      free(p);
    }
  }
}

/* A registry host becomes a directory name: keep it from naming anything else. */
int
hosts_check_registry(const char *registry, struct error **err)
{
  if (*registry == '\0' || registry[0] == '.' || strchr(registry, '/') != NULL)
    return error_setc(err, ERR_INVALID, "invalid registry host \"%s\"", registry);
  for (const char *p = registry; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7F)
      return error_setc(err, ERR_INVALID, "invalid registry host \"%s\"", registry);
  return 0;
}

int
hosts_resolve(const char *registry, const struct strv *dirs, struct hosts_config *out,
              struct error **err)
{
  struct hosts_config c = {0};
  cleanup_buf struct buf text = BUF_INIT;

  if (hosts_check_registry(registry, err) < 0)
    return -1;
  c.registry = xstrdup(registry);
  for (size_t i = 0; dirs && i < dirs->n; i++)
    strv_push(&c.dirs, dirs->v[i]);
  hosts_find_dir(&c.dirs, registry, &c.host_dir);
  if (c.host_dir == NULL) {
    c.source = HOSTS_SOURCE_DEFAULT;
    hosts_default(registry, &c.endpoints);
    *out = c;
    return 0;
  }
  c.file = hosts_path_join(c.host_dir, "hosts.toml");
  {
    cleanup_error struct error *e = NULL;
    if (toml_read_file(c.file, HOSTS_TOML_MAX_BYTES, &text, NULL, &e) < 0) {
      if (e->sys_errno != ENOENT) {
        *err = steal_pointer(&e);
        goto fail;
      }
      buf_release(&text);
    }
  }
  if (text.len == 0) {
    free(c.file);
    c.file = NULL;
    c.source = HOSTS_SOURCE_CERTS;
    if (hosts_load_certs(registry, c.host_dir, &c.endpoints, err) < 0)
      goto fail;
  } else {
    c.source = HOSTS_SOURCE_TOML;
    if (hosts_parse(registry, c.host_dir, c.file, text.data, text.len, &c.endpoints, err) < 0)
      goto fail;
    /* once per file, however many URLs have it */
    for (size_t i = 0; i < c.endpoints.n; i++) {
      if (c.endpoints.v[i].userinfo) {
        strv_push_owned(&c.warnings,
                        xasprintf("%s: user information in a host URL is ignored, as by "
                                  "containerd; credentials go in the Docker config",
                                  c.file));
        break;
      }
    }
  }
  *out = c;
  return 0;
fail:
  hosts_config_release(&c);
  return -1;
}

/* ---- `ctrx hosts` ---- */

static bool
all_digits(const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

int
hosts_registry_of(const char *arg, char **out, struct error **err)
{
  cleanup_ref struct ref r = {0};
  const char *colon = strrchr(arg, ':');
  bool host;

  if (*arg == '\0')
    return error_setc(err, ERR_USAGE, "empty registry or reference");
  if (strchr(arg, '/') || strchr(arg, '@')) {
    host = false;
  } else if (arg[0] == '[') {
    host = true;
  } else if (colon) {
    cleanup_free char *name = xstrndup(arg, (size_t)(colon - arg));
    host = all_digits(colon + 1) && (strchr(name, '.') || strcmp(name, "localhost") == 0);
  } else {
    host = strchr(arg, '.') != NULL || strcmp(arg, "localhost") == 0;
  }
  if (host) {
    if (hosts_check_registry(arg, err) < 0)
      return -1;
    *out = xstrdup(arg);
    return 0;
  }
  if (ref_parse_docker(arg, &r, err) < 0)
    return error_wrap(err, "\"%s\"", arg);
  *out = steal_pointer(&r.domain);
  return 0;
}

/* ---- for hosts_add.c ---- */

char *
hosts_upstream_url(const char *registry)
{
  struct hosts_endpoint e = {0};
  char *url;

  e.skip_verify = -1;
  fill_default(&e, registry);
  /* the API root is implied by server; only the scheme and host are written */
  url = xasprintf("%s://%s", e.scheme, e.host);
  endpoint_release(&e);
  return url;
}

/* The mirror URL as containerd sees it (to compare with those in the file),
 * or an error when containerd would not accept it. */
int
hosts_mirror_url(const char *registry, const char *url, bool override_path, char **out,
                 struct error **err)
{
  struct hosts_endpoint probe = {0};
  struct hctx c = {registry, NULL, NULL, err};

  probe.override_path = override_path;
  if (split_url(&c, NULL, url, &probe) < 0) {
    endpoint_release(&probe);
    return -1;
  }
  finish_path(&probe);
  *out = hosts_endpoint_url(&probe);
  endpoint_release(&probe);
  return 0;
}
