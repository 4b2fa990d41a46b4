/* What `ctrx hosts` and `hosts check --json` show of a hosts configuration:
 * the aligned endpoint lines of hosts_describe, and text made valid UTF-8
 * for JSON (see hosts.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
  size_t len;
  uint32_t cp;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    len = 2, cp = s[0] & 0x1Fu;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    len = 3, cp = s[0] & 0x0Fu;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    len = 4, cp = s[0] & 0x07u;
  else
    return 0;
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

char *
hosts_utf8_sanitize(const char *s)
{
  struct buf b = BUF_INIT;
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);

  while (n > 0) {
    size_t len = utf8_seq(p, n);
    if (len == 0) {
      buf_addstr(&b, "\xEF\xBF\xBD");
      len = 1;
    } else {
      buf_add(&b, p, len);
    }
    p += len;
    n -= len;
  }
  if (b.data == NULL)
    buf_add(&b, "", 0);
  return buf_steal(&b);
}

/* A value in the `key=value` columns: bare when it is plain, else quoted. */
static void
put_value(struct buf *b, const char *s)
{
  bool plain = *s != '\0';

  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= ' ' || ch == '"' || ch == '\\' || ch == 0x7F || ch == ',')
      plain = false;
  }
  if (plain) {
    buf_addstr(b, s);
    return;
  }
  buf_add(b, "\"", 1);
  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\')
      buf_addf(b, "\\%c", ch);
    else if (ch < ' ' || ch == 0x7F)
      buf_addf(b, "\\x%02x", ch);
    else
      buf_add(b, p, 1);
  }
  buf_add(b, "\"", 1);
}

static void
format_duration(struct buf *b, int64_t ms)
{
  if (ms % 1000 == 0)
    buf_addf(b, "%llds", (long long)(ms / 1000));
  else
    buf_addf(b, "%lldms", (long long)ms);
}

/* The header: directories searched, those missing, the file used. */
static void
describe_header(const struct hosts_config *c, struct buf *out)
{
  buf_addstr(out, "# hosts dirs: ");
  if (c->dirs.n == 0)
    buf_addstr(out, "(none)");
  for (size_t i = 0; i < c->dirs.n; i++)
    buf_addf(out, "%s%s", i ? ", " : "", c->dirs.v[i]);
  if (c->missing.n > 0) {
    buf_addstr(out, "\n# not found, skipped: ");
    for (size_t i = 0; i < c->missing.n; i++)
      buf_addf(out, "%s%s", i ? ", " : "", c->missing.v[i]);
  }
  buf_addf(out, "\n# %s: ", c->registry);
  switch (c->source) {
  case HOSTS_SOURCE_DEFAULT:
    buf_addstr(out, "no host directory matched; built-in defaults\n");
    break;
  case HOSTS_SOURCE_TOML:
    buf_addf(out, "%s\n", c->file);
    break;
  case HOSTS_SOURCE_CERTS:
    buf_addf(out, "%s (no hosts.toml; certs.d layout on the default endpoint)\n", c->host_dir);
    break;
  }
}

/* TLS files and settings, header names, dial timeout, ns. */
static void
describe_settings(const struct hosts_config *c, const struct hosts_endpoint *e, struct buf *out)
{
  for (size_t k = 0; k < e->ca.n; k++) {
    buf_addstr(out, "  ca=");
    put_value(out, e->ca.v[k]);
  }
  for (size_t k = 0; k < e->n_clients; k++) {
    buf_addstr(out, "  client=");
    put_value(out, e->clients[k].cert);
    if (e->clients[k].key[0]) {
      buf_addstr(out, ",");
      put_value(out, e->clients[k].key);
    }
  }
  if (e->skip_verify >= 0)
    buf_addf(out, "  skip_verify=%s", e->skip_verify ? "true" : "false");
  /* Header values are often credentials under names no list can
   * foresee (X-Registry-Pass): show the names only, never a value. */
  for (size_t k = 0; k < e->n_headers; k++) {
    const struct hosts_header *h = &e->headers[k];
    buf_addf(out, "  header.%s=", h->name);
    for (size_t j = 0; j < h->values.n; j++)
      buf_addstr(out, j ? ",<redacted>" : "<redacted>");
  }
  if (e->dial_timeout_ms >= 0) {
    buf_addstr(out, "  dial_timeout=");
    format_duration(out, e->dial_timeout_ms);
  }
  if (e->ns) {
    buf_addstr(out, "  ns=");
    put_value(out, c->registry);
  }
}

static void
describe_origin(const struct hosts_config *c, const struct hosts_endpoint *e, struct buf *out)
{
  buf_addstr(out, "  from=");
  if (e->file == NULL) {
    buf_addstr(out, "built-in");
  } else {
    put_value(out, e->file);
    if (e->line > 0)
      buf_addf(out, ":%d", e->line);
    else if (c->source == HOSTS_SOURCE_TOML)
      buf_addstr(out, "+built-in");
  }
  buf_add(out, "\n", 1);
}

void
hosts_describe(const struct hosts_config *c, struct buf *out)
{
  size_t url_w = 0, caps_w = 0;
  char **urls = xcalloc(c->endpoints.n ? c->endpoints.n : 1, sizeof(char *));
  char **caps = xcalloc(c->endpoints.n ? c->endpoints.n : 1, sizeof(char *));

  describe_header(c, out);
  for (size_t i = 0; i < c->endpoints.n; i++) {
    size_t n;
    urls[i] = hosts_endpoint_url(&c->endpoints.v[i]);
    caps[i] = hosts_caps_string(c->endpoints.v[i].caps);
    if ((n = strlen(urls[i])) > url_w)
      url_w = n;
    if ((n = strlen(caps[i])) > caps_w)
      caps_w = n;
  }
  for (size_t i = 0; i < c->endpoints.n; i++) {
    buf_addf(out, "%-*s  caps=%-*s", (int)url_w, urls[i], (int)caps_w, caps[i]);
    describe_settings(c, &c->endpoints.v[i], out);
    describe_origin(c, &c->endpoints.v[i], out);
    free(urls[i]);
    free(caps[i]);
  }
  free(urls);
  free(caps);
}
