/* One HTTP exchange over libcurl, which is loaded with dlopen on the first
 * request: programs that never reach a registry never map it. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>

#include "dl.h"
#include "log.h"
#include "registry_internal.h"

#define MAX_REDIRECTS 10
#define MAX_CA_FILE (16u * 1024u * 1024u)

/* jansson's own cleanup helper. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

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

/* libcurl's dependencies (librtmp, libldap) bring GnuTLS in, whose library
 * constructor initializes it, p11-kit's modules included, though ctrx never
 * uses it: about 1 MiB of memory. GnuTLS's documented switch turns that off
 * while libcurl loads, and the environment is as it was afterwards (main
 * tells whether the switch was there already). This is the one place core
 * changes the environment: lc_load runs once, before any libcurl call, and
 * no other thread of ctrx reads the environment (tests/lint/ratchet). */
#define GNUTLS_SWITCH "GNUTLS_NO_IMPLICIT_INIT"
static bool gnutls_switch_set;

void
http_gnutls_switch_set(bool set)
{
  gnutls_switch_set = set;
}

static void
lc_load(void)
{
  const struct dl_sym syms[] = {
      DL_SYM(lc.global_init, "curl_global_init"),
      DL_SYM(lc.easy_init, "curl_easy_init"),
      DL_SYM(lc.easy_setopt, "curl_easy_setopt"),
      DL_SYM(lc.easy_getinfo, "curl_easy_getinfo"),
      DL_SYM(lc.easy_perform, "curl_easy_perform"),
      DL_SYM(lc.easy_reset, "curl_easy_reset"),
      DL_SYM(lc.easy_cleanup, "curl_easy_cleanup"),
      DL_SYM(lc.easy_strerror, "curl_easy_strerror"),
      DL_SYM(lc.slist_append, "curl_slist_append"),
      DL_SYM(lc.slist_free_all, "curl_slist_free_all"),
  };
  const char *missing, *why;
  bool gnutls_off = !gnutls_switch_set && setenv(GNUTLS_SWITCH, "1", 0) == 0;
  void *dl = dl_open("libcurl.so.4", syms, ARRAY_SIZE(syms), &missing, &why);

  if (gnutls_off)
    unsetenv(GNUTLS_SWITCH);
  if (dl == NULL) {
    if (missing != NULL)
      lc.load_error = xasprintf("load libcurl: symbol %s not found", missing);
    else
      lc.load_error = xasprintf("load libcurl: %s", why ? why : "dlopen failed");
    return;
  }
  if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    lc.load_error = xstrdup("load libcurl: curl_global_init failed");
}

int
http_ready(struct error **err)
{
  pthread_once(&lc_once, lc_load);
  if (lc.load_error != NULL)
    return error_setc(err, ERR_UNAVAILABLE, "%s", lc.load_error);
  return 0;
}

/* ---- the client: its settings, connections and CA bundles ---- */

struct ca_entry {
  char *key; /* the CA file names, '\n'-joined */
  struct buf pem;
};

struct http {
  pthread_mutex_t lock; /* guards the CA cache and the pool */
  char *user_agent;
  bool debug;
  long connect_timeout_ms;
  int64_t first_byte_timeout_ms;
  int64_t stall_timeout_ms;
  int64_t deadline_ms;
  struct ca_entry **cas;
  size_t n_cas;
  CURL **idle; /* easy handles to reuse, with their connections */
  size_t n_idle;
  size_t cap_idle;
};

struct http *
http_new(const struct http_opts *opts)
{
  struct http *http = xcalloc(1, sizeof(*http));

  pthread_mutex_init(&http->lock, NULL);
  http->user_agent = xstrdup(opts->user_agent);
  http->debug = opts->debug;
  http->connect_timeout_ms = opts->connect_timeout_ms;
  http->first_byte_timeout_ms = opts->first_byte_timeout_ms;
  http->stall_timeout_ms = opts->stall_timeout_ms;
  http->deadline_ms = opts->deadline_ms;
  return http;
}

void
http_free(struct http *http)
{
  if (http == NULL)
    return;
  for (size_t i = 0; i < http->n_cas; i++) {
    free(http->cas[i]->key);
    buf_release(&http->cas[i]->pem);
    free(http->cas[i]);
  }
  free(http->cas);
  for (size_t i = 0; i < http->n_idle; i++)
    lc.easy_cleanup(http->idle[i]);
  free(http->idle);
  free(http->user_agent);
  pthread_mutex_destroy(&http->lock);
  free(http);
}

/* A connection is the easy handle itself, under a type of our own. */
static CURL *
curl_of(struct http_conn *c)
{
  return (CURL *)c;
}

struct http_conn *
http_conn_get(struct http *http)
{
  CURL *h = NULL;

  pthread_mutex_lock(&http->lock);
  if (http->n_idle > 0)
    h = http->idle[--http->n_idle];
  pthread_mutex_unlock(&http->lock);
  if (h == NULL)
    h = lc.easy_init();
  return (struct http_conn *)h;
}

void
http_conn_put(struct http *http, struct http_conn *c)
{
  CURL *h = curl_of(c);

  if (h == NULL)
    return;
  lc.easy_reset(h); /* keeps live connections and caches */
  pthread_mutex_lock(&http->lock);
  if (http->n_idle == http->cap_idle) {
    http->cap_idle = http->cap_idle ? http->cap_idle * 2 : 4;
    http->idle = xrealloc(http->idle, http->cap_idle * sizeof(*http->idle));
  }
  http->idle[http->n_idle++] = h;
  pthread_mutex_unlock(&http->lock);
}

const char *
http_conn_version(struct http_conn *c)
{
  long ver = 0;

  if (lc.easy_getinfo(curl_of(c), CURLINFO_HTTP_VERSION, &ver) != CURLE_OK)
    return "";
  return ver == CURL_HTTP_VERSION_2_0   ? "2"
         : ver == CURL_HTTP_VERSION_3   ? "3"
         : ver == CURL_HTTP_VERSION_1_0 ? "1.0"
                                        : "1.1";
}

/* ---- pure helpers ---- */

static bool
is_ows(int c)
{
  return c == ' ' || c == '\t';
}

char *
http_query_escape(const char *s)
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
http_redact_header(const char *line)
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
http_sanitize(const char *text, size_t len, size_t max)
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

/* "scheme://host[:port]" of URL; host[:port] alone with hostonly. */
char *
http_url_origin(const char *url, bool hostonly)
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

static void
req_reset_response(struct http_req *q)
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

void
http_req_release(struct http_req *q)
{
  req_reset_response(q);
  error_free(q->sink_err);
  q->sink_err = NULL;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
  struct http_req *q = arg;
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
  struct http_req *q = arg;
  size_t n = size * nmemb;
  const char *p = data;
  size_t len = n;

  if (q->status < 200 || q->status > 299) {
    /* An error body is only read for its message: keep its start. */
    if (q->body.len < HTTP_MAX_ERROR_BODY)
      buf_add(&q->body, p,
              len < HTTP_MAX_ERROR_BODY - q->body.len ? len : HTTP_MAX_ERROR_BODY - q->body.len);
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
    /* A 200 to a bounded range would send the whole blob for a part of it. */
    if (q->range_end > 0 && q->status != 206 &&
        !(q->offset == 0 && q->content_length == q->range_end)) {
      error_setc(&q->sink_err, ERR_UNIMPLEMENTED, "range asked, status %ld answered", q->status);
      return 0;
    }
    /* A 200 without Content-Range ignored the Range: drop the bytes ourselves. */
    if (q->offset > 0 && q->status == 200 && q->range_start != q->offset)
      q->skip = q->offset;
    else if ((q->offset > 0 || q->range_end > 0) && q->status == 206 &&
             q->range_start != q->offset) {
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
ca_blob(struct http *http, CURL *h, const struct strv *files, struct error **err)
{
  cleanup_buf struct buf key = BUF_INIT;
  struct buf pem = BUF_INIT;
  char *sys = NULL;
  const struct ca_entry *found = NULL;

  buf_addstr(&key, "");

  for (size_t i = 0; i < files->n; i++)
    buf_addf(&key, "%s\n", files->v[i]);
  pthread_mutex_lock(&http->lock);
  for (size_t i = 0; i < http->n_cas && found == NULL; i++)
    if (strcmp(http->cas[i]->key, key.data) == 0)
      found = http->cas[i];
  pthread_mutex_unlock(&http->lock);
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
    pthread_mutex_lock(&http->lock);
    http->cas = xrealloc(http->cas, (http->n_cas + 1) * sizeof(*http->cas));
    http->cas[http->n_cas++] = c;
    pthread_mutex_unlock(&http->lock);
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
debug_log(struct http *http, const char *method, const char *url, const struct strv *sent,
          size_t n_configured, long status, const char *failure, int64_t ms)
{
  struct buf b = BUF_INIT;
  cleanup_free char *shown_url = NULL;
  size_t shown = 0;

  if (!http->debug)
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
      line = http_redact_header(sent->v[i]);
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
  struct http_req *q = arg;
  int64_t now = now_ms();
  char d[32];

  (void)dltotal;
  (void)ultotal;
  (void)ulnow;
  if (q->cancel != NULL && *q->cancel) {
    snprintf(q->why, sizeof(q->why), "cancelled: another endpoint answered first");
    return 1;
  }
  if (q->http->deadline_ms > 0 && now >= q->http->deadline_ms) {
    snprintf(q->why, sizeof(q->why), "the command's --timeout ran out");
    return 1;
  }
  if (!q->answered) {
    if (now - q->started_ms >= q->http->first_byte_timeout_ms) {
      fmt_ms(d, sizeof(d), q->http->first_byte_timeout_ms);
      snprintf(q->why, sizeof(q->why), "timed out after %s without an answer", d);
      return 1;
    }
    return 0;
  }
  if (dlnow != q->last_dlnow) {
    q->last_dlnow = dlnow;
    q->progress_ms = now;
  } else if (now - q->progress_ms >= q->http->stall_timeout_ms) {
    fmt_ms(d, sizeof(d), q->http->stall_timeout_ms);
    snprintf(q->why, sizeof(q->why), "stalled: no data for %s", d);
    return 1;
  }
  return 0;
}

/* The header lines of a request, into SENT (for the log too); the first
 * *n_configured come from hosts.toml. */
static void
request_headers(const struct http *http, const struct http_endpoint *ep, const char *auth,
                bool foreign, const struct http_req *q, struct strv *sent, size_t *n_configured)
{
  bool have_ua = false;

  *n_configured = 0;
  if (!q->no_ep_headers && !foreign) {
    for (size_t i = 0; ep->headers != NULL && i < ep->headers->n; i++) {
      if (strncasecmp(ep->headers->v[i], "user-agent:", 11) == 0)
        have_ua = true;
      strv_push(sent, ep->headers->v[i]);
    }
    *n_configured = sent->n;
  }
  if (q->accept != NULL)
    strv_push_owned(sent, xasprintf("Accept: %s", q->accept));
  if (q->post_form != NULL)
    strv_push(sent, "Content-Type: application/x-www-form-urlencoded");
  if (q->range_end > 0)
    strv_push_owned(sent, xasprintf("Range: bytes=%lld-%lld", (long long)q->offset,
                                    (long long)q->range_end - 1));
  else if (q->offset > 0)
    strv_push_owned(sent, xasprintf("Range: bytes=%lld-", (long long)q->offset));
  if (auth != NULL)
    strv_push_owned(sent, xasprintf("Authorization: %s", auth));
  if (!have_ua)
    strv_push_owned(sent, xasprintf("User-Agent: %s", http->user_agent));
}

/* TLS of EP: no check, or extra CA files, and a client certificate. */
static int
set_tls(struct http *http, CURL *h, const struct http_endpoint *ep, struct error **err)
{
  if (ep->skip_verify == 1) {
    lc.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    lc.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (ep->ca_files != NULL && ep->ca_files->n > 0) {
    const struct ca_entry *ca = ca_blob(http, h, ep->ca_files, err);
    struct curl_blob blob;
    if (ca == NULL)
      return -1;
    blob.data = ca->pem.data;
    blob.len = ca->pem.len;
    blob.flags = CURL_BLOB_COPY;
    lc.easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (ep->client_cert != NULL) {
    lc.easy_setopt(h, CURLOPT_SSLCERT, ep->client_cert);
    lc.easy_setopt(h, CURLOPT_SSLKEY, ep->client_key ? ep->client_key : ep->client_cert);
  }
  return 0;
}

/* Everything but the headers and TLS: where, how, and our callbacks. */
static void
set_request(struct http *http, CURL *h, const struct http_endpoint *ep, const char *url,
            bool foreign, struct http_req *q, char *errbuf)
{
  lc.easy_setopt(h, CURLOPT_URL, url);
  lc.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  lc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lc.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
  lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                 ep->connect_timeout_ms > 0 ? (long)ep->connect_timeout_ms
                                            : http->connect_timeout_ms);
  q->http = http;
  q->started_ms = now_ms();
  q->progress_ms = q->started_ms;
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
  if (strcmp(q->method, "HEAD") == 0) {
    lc.easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (q->post_form != NULL) {
    lc.easy_setopt(h, CURLOPT_POSTFIELDS, q->post_form);
    lc.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(q->post_form));
  } else
    lc.easy_setopt(h, CURLOPT_HTTPGET, 1L);
  if (q->basic_creds != NULL && !foreign) {
    lc.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    lc.easy_setopt(h, CURLOPT_USERPWD, q->basic_creds);
  }
}

/* The body ended: the byte held back goes to the sink now. */
static void
release_held(struct http_req *q)
{
  if (!q->has_held || q->sink_err != NULL)
    return;
  /* Nothing came after it (the transfer may still have failed later). */
  q->has_held = false;
  if (q->sink(&q->held, 1, q->arg, &q->sink_err) < 0 && q->sink_err == NULL)
    error_setc(&q->sink_err, ERR_ABORTED, "aborted by the receiver");
  else if (q->sink_err == NULL)
    q->delivered++;
}

/* What became of the transfer: 0, or -1 with *err; *failure is its words for
 * the log (NULL when an answer came). */
static int
outcome(CURLcode rc, struct http_req *q, const char *errbuf, const char **failure,
        struct error **err)
{
  *failure = NULL;
  if (q->sink_err != NULL) {
    *failure = "aborted";
    *err = steal_pointer(&q->sink_err);
    return -1;
  }
  if (rc == CURLE_WRITE_ERROR && q->too_large) {
    *failure = "too large";
    return error_setc(err, ERR_EXHAUSTED, "response larger than %zu bytes", q->body_max);
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK && q->why[0]) {
    *failure = q->why;
    return error_setc(err, ERR_DEADLINE, "%s", q->why);
  }
  if (rc != CURLE_OK) {
    /* curl's header buffer is bounded; overflowing it reads as "Out of memory". */
    *failure = errbuf[0]                   ? errbuf
               : rc == CURLE_OUT_OF_MEMORY ? "response headers too large for curl "
                                             "(or out of memory)"
                                           : lc.easy_strerror(rc);
    return error_setc(err, rc == CURLE_OPERATION_TIMEDOUT ? ERR_DEADLINE : ERR_UNAVAILABLE, "%s",
                      *failure);
  }
  return 0;
}

/* One request to URL, no redirect followed. With AUTH (a whole Authorization
 * value) sent. FOREIGN: URL is a redirect to another origin than the request's
 * own, which gets neither credentials nor the endpoint's configured headers.
 * Returns -1 on a transport failure or a sink error. */
static int
perform_once(struct http *http, CURL *h, const struct http_endpoint *ep, const char *url,
             const char *auth, bool foreign, struct http_req *q, struct error **err)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  cleanup_strv struct strv sent = STRV_INIT; /* extra headers, for the log */
  size_t n_configured = 0;
  struct curl_slist *hl = NULL;
  const char *failure = NULL;
  int ret = -1;

  lc.easy_reset(h);
  req_reset_response(q);
  request_headers(http, ep, auth, foreign, q, &sent, &n_configured);
  for (size_t i = 0; i < sent.n; i++) {
    struct curl_slist *n = lc.slist_append(hl, sent.v[i]);
    if (n == NULL) {
      error_setc(err, ERR_INTERNAL, "curl_slist_append failed");
      goto out;
    }
    hl = n;
  }
  lc.easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  set_request(http, h, ep, url, foreign, q, errbuf);
  if (set_tls(http, h, ep, err) < 0)
    goto out;
  {
    CURLcode rc = lc.easy_perform(h);
    release_held(q);
    ret = outcome(rc, q, errbuf, &failure, err);
  }
  debug_log(http, q->method, url, &sent, n_configured, q->status, failure,
            now_ms() - q->started_ms);
out:
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

int
http_perform(struct http *http, struct http_conn *c, const struct http_endpoint *ep,
             const char *url, const char *auth, struct http_req *q, struct error **err)
{
  CURL *h = curl_of(c);
  cleanup_free char *cur = xstrdup(url);
  cleanup_free char *origin = http_url_origin(url, false);

  for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
    cleanup_free char *cur_origin = http_url_origin(cur, false);
    bool foreign = strcmp(cur_origin, origin) != 0;
    char *next = NULL;

    if (foreign && q->post_form != NULL)
      /* The form holds a password or a refresh token: not for another origin.
       * The redirect is the answer (q->status is its 3xx). */
      return 0;
    if (perform_once(http, h, ep, cur, foreign ? NULL : auth, foreign, q, err) < 0)
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
char *
http_message(const struct buf *body)
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
    char *clean = http_sanitize(m, strlen(m), HTTP_MAX_MESSAGE);
    if (clean[0] == '\0') {
      free(clean);
      return NULL;
    }
    return clean;
  }
}

int
http_status_error(const struct http_req *q, struct error **err)
{
  cleanup_free char *m = http_message(&q->body);
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
