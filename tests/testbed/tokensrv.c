/* tokensrv: a Docker registry token server for the end-to-end tests.
 *
 *   tokensrv -k KEY.pem -c CERT.pem -u USER:PASSWORD [-r REFRESH] [-m MODEFILE]
 *            [-p PORT] [-o FILE] [-l LOG] [-i ISSUER] [-s SERVICE] [-t LIFETIME_S]
 *            [-P PID]
 *
 * Listens on 127.0.0.1:PORT (any free port when 0 or absent) and answers
 * token requests as docker-registry's `auth: token:` expects them
 * (distribution's token spec):
 *
 *   GET  /token?service=…&scope=…[&scope=…]   credentials as HTTP Basic
 *   POST /token  (form: grant_type=password&username=…&password=…&scope=…&service=…,
 *                 or grant_type=refresh_token&refresh_token=REFRESH&…: an OAuth2
 *                 refresh token, the "identitytoken" of Docker's config.json,
 *                 standing for USER)
 *
 * MODEFILE, read at each request, changes what is answered: "post-only"
 * refuses every GET (405), as realms that know only OAuth2 do; "get-only"
 * answers every POST 404, as realms without OAuth2 do; anything else, or no
 * file, answers both.
 *
 * Right credentials get a JWT (RS256, signed with KEY; CERT, which the
 * registry has in its rootcertbundle, goes in the x5c header) granting every
 * repository scope asked for. No credentials at all get a token that grants
 * nothing, as Docker Hub does for anonymous pulls of a private repository.
 * Wrong credentials get 401. The answer is {"token", "access_token",
 * "expires_in", "issued_at"}.
 *
 * Once listening, FILE (written atomically) gets TOKENSRV=127.0.0.1:<port>.
 * LOG gets one line per request: method, who ("user", "refresh" (the user,
 * by the refresh token), "anonymous", "denied", "refused" (by the mode)), the scopes, and for
 * issued tokens the token itself, so that a test can check that the token never shows up where it
 * must not.
 *
 * It stops by itself after LIFETIME_S seconds (default 1800) or when process
 * PID is gone (-P). Loopback only; one request per connection.
 * Build: cc -O2 tokensrv.c -o tokensrv -lcrypto */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define MAX_REQUEST (64 * 1024)
#define MAX_SCOPES 16
#define TOKEN_TTL 300

static EVP_PKEY *key;
static char *x5c;                 /* base64 of CERT's DER */
static const char *cred;          /* "user:password" */
static const char *refresh_token; /* -r */
static const char *mode_file;     /* -m */
static const char *issuer = "ctrx-tokensrv";
static const char *service = "ctrx-test-registry";
static FILE *logf;

static void
die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("tokensrv: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* --- small string helpers --- */

struct str {
  char *p;
  size_t len, cap;
};

static void
str_add(struct str *s, const void *p, size_t n)
{
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    while (cap < s->len + n + 1)
      cap *= 2;
    s->p = realloc(s->p, cap);
    if (s->p == NULL)
      die("out of memory");
    s->cap = cap;
  }
  memcpy(s->p + s->len, p, n);
  s->len += n;
  s->p[s->len] = '\0';
}

static void
str_addf(struct str *s, const char *fmt, ...)
{
  va_list ap;
  char *t = NULL;
  int n;
  va_start(ap, fmt);
  n = vasprintf(&t, fmt, ap);
  va_end(ap);
  if (n < 0)
    die("out of memory");
  str_add(s, t, (size_t)n);
  free(t);
}

static char *
b64(const unsigned char *p, size_t n, bool url)
{
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  int len;
  if (out == NULL)
    die("out of memory");
  len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
  if (url) {
    while (len > 0 && out[len - 1] == '=')
      len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
      out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
  }
  return out;
}

/* Standard base64 with padding; NULL when it is not that. */
static char *
unb64(const char *s)
{
  size_t n = strlen(s);
  unsigned char *out;
  int len;
  if (n == 0 || n % 4 != 0)
    return NULL;
  out = malloc(n / 4 * 3 + 1);
  if (out == NULL)
    die("out of memory");
  len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
  if (len < 0) {
    free(out);
    return NULL;
  }
  if (s[n - 1] == '=')
    len--;
  if (s[n - 2] == '=')
    len--;
  out[len] = '\0';
  if (strlen((char *)out) != (size_t)len) { /* a NUL inside */
    free(out);
    return NULL;
  }
  return (char *)out;
}

static int
hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Percent-decode (and '+' as space, for forms) N bytes of S. */
static char *
unescape(const char *s, size_t n)
{
  char *out = malloc(n + 1), *o = out;
  if (out == NULL)
    die("out of memory");
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      *o++ = s[i] == '+' ? ' ' : s[i];
    }
  }
  *o = '\0';
  return out;
}

/* --- the request --- */

struct request {
  char method[8];
  char *path;  /* without the query */
  char *query; /* after '?', or "" */
  char *authorization;
  char *body;
  /* parsed parameters */
  char *user, *password, *grant_type, *service, *refresh;
  char *scopes[MAX_SCOPES];
  size_t n_scopes;
};

static void
request_free(struct request *r)
{
  free(r->path);
  free(r->query);
  free(r->authorization);
  free(r->body);
  free(r->user);
  free(r->password);
  free(r->grant_type);
  free(r->service);
  free(r->refresh);
  for (size_t i = 0; i < r->n_scopes; i++)
    free(r->scopes[i]);
}

static void
add_scope(struct request *r, const char *s)
{
  if (r->n_scopes < MAX_SCOPES && *s != '\0')
    r->scopes[r->n_scopes++] = strdup(s);
}

/* "a=b&c=d": scope (space-separated words in a form), service, and in a form
 * the password grant's fields. */
static void
parse_params(struct request *r, const char *s, bool form)
{
  while (*s != '\0') {
    size_t n = strcspn(s, "&");
    const char *eq = memchr(s, '=', n);
    if (eq != NULL) {
      char *k = unescape(s, (size_t)(eq - s));
      char *v = unescape(eq + 1, (size_t)(s + n - eq - 1));
      if (strcmp(k, "scope") == 0) {
        char *save = NULL;
        for (char *w = strtok_r(v, " ", &save); w; w = strtok_r(NULL, " ", &save))
          add_scope(r, w);
      } else if (strcmp(k, "service") == 0) {
        free(r->service);
        r->service = strdup(v);
      } else if (form && strcmp(k, "username") == 0) {
        free(r->user);
        r->user = strdup(v);
      } else if (form && strcmp(k, "password") == 0) {
        free(r->password);
        r->password = strdup(v);
      } else if (form && strcmp(k, "refresh_token") == 0) {
        free(r->refresh);
        r->refresh = strdup(v);
      } else if (form && strcmp(k, "grant_type") == 0) {
        free(r->grant_type);
        r->grant_type = strdup(v);
      }
      free(k);
      free(v);
    }
    s += n;
    if (*s == '&')
      s++;
  }
}

static int
read_request(int fd, struct request *r)
{
  static char buf[MAX_REQUEST + 1];
  size_t len = 0, head = 0, body_len = 0;
  char *line, *save = NULL, *eol;
  int64_t deadline = (int64_t)time(NULL) + 10;

  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;
    char *e;
    if (time(NULL) > deadline || poll(&p, 1, 1000) < 0)
      return -1;
    if (!(p.revents & (POLLIN | POLLHUP)))
      continue;
    n = read(fd, buf + len, MAX_REQUEST - len);
    if (n <= 0)
      return -1;
    len += (size_t)n;
    buf[len] = '\0';
    if (head == 0 && (e = strstr(buf, "\r\n\r\n")) != NULL) {
      const char *cl;
      head = (size_t)(e - buf) + 4;
      cl = strcasestr(buf, "\r\ncontent-length:");
      if (cl != NULL && cl < e)
        body_len = strtoul(cl + 17, NULL, 10);
      if (body_len > MAX_REQUEST - head)
        return -1;
    }
    if (head > 0 && len >= head + body_len)
      break;
    if (len == MAX_REQUEST)
      return -1;
  }
  r->body = strndup(buf + head, body_len);
  buf[head - 2] = '\0';
  line = strtok_r(buf, "\r\n", &save);
  if (line == NULL)
    return -1;
  {
    char *sp1 = strchr(line, ' '), *sp2, *q;
    if (sp1 == NULL || (size_t)(sp1 - line) >= sizeof(r->method))
      return -1;
    memcpy(r->method, line, (size_t)(sp1 - line));
    sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL)
      return -1;
    *sp2 = '\0';
    q = strchr(sp1 + 1, '?');
    if (q != NULL) {
      *q = '\0';
      r->query = strdup(q + 1);
    } else {
      r->query = strdup("");
    }
    r->path = strdup(sp1 + 1);
  }
  while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
    if (strncasecmp(line, "authorization:", 14) == 0) {
      eol = line + 14;
      while (*eol == ' ' || *eol == '\t')
        eol++;
      r->authorization = strdup(eol);
    }
  }
  return 0;
}

/* --- the token --- */

/* Scope words are "repository:<name>:<actions>"; only names a registry would
 * accept are let into the JSON. */
static bool
scope_ok(const char *s)
{
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && strchr("._-/:,", *s) == NULL)
      return false;
  return true;
}

static void
access_json(struct str *j, char *const *scopes, size_t n)
{
  str_add(j, "[", 1);
  for (size_t i = 0, k = 0; i < n; i++) {
    char *type, *name, *actions, *c1, *c2;
    if (!scope_ok(scopes[i]))
      continue;
    c1 = strchr(scopes[i], ':');
    c2 = strrchr(scopes[i], ':');
    if (c1 == NULL || c2 == c1)
      continue;
    type = strndup(scopes[i], (size_t)(c1 - scopes[i]));
    name = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
    actions = strdup(c2 + 1);
    str_addf(j, "%s{\"type\":\"%s\",\"name\":\"%s\",\"actions\":[", k++ ? "," : "", type, name);
    {
      char *save = NULL;
      int a = 0;
      for (char *w = strtok_r(actions, ",", &save); w; w = strtok_r(NULL, ",", &save))
        str_addf(j, "%s\"%s\"", a++ ? "," : "", w);
    }
    str_add(j, "]}", 2);
    free(type);
    free(name);
    free(actions);
  }
  str_add(j, "]", 1);
}

static char *
sign_token(const char *subject, char *const *scopes, size_t n)
{
  struct str head = {0}, claims = {0}, tok = {0};
  unsigned char jti[12], sig[1024];
  size_t siglen = sizeof(sig);
  char *h64, *c64, *s64, *jti64;
  time_t now = time(NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();

  if (RAND_bytes(jti, sizeof(jti)) != 1)
    die("RAND_bytes failed");
  jti64 = b64(jti, sizeof(jti), true);
  str_addf(&head, "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"%s\"]}", x5c);
  str_addf(&claims,
           "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,\"nbf\":%lld,"
           "\"iat\":%lld,\"jti\":\"%s\",\"access\":",
           issuer, subject, service, (long long)now + TOKEN_TTL, (long long)now - 10,
           (long long)now, jti64);
  access_json(&claims, scopes, n);
  str_add(&claims, "}", 1);
  h64 = b64((unsigned char *)head.p, head.len, true);
  c64 = b64((unsigned char *)claims.p, claims.len, true);
  str_addf(&tok, "%s.%s", h64, c64);
  if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
      EVP_DigestSign(md, sig, &siglen, (unsigned char *)tok.p, tok.len) != 1)
    die("signing failed");
  s64 = b64(sig, siglen, true);
  str_addf(&tok, ".%s", s64);
  EVP_MD_CTX_free(md);
  free(head.p);
  free(claims.p);
  free(h64);
  free(c64);
  free(s64);
  free(jti64);
  return tok.p;
}

/* --- answering --- */

static void
reply(int fd, int status, const char *reason, const char *extra, const char *body)
{
  struct str r = {0};
  str_addf(&r,
           "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
           "Connection: close\r\n%s\r\n%s",
           status, reason, strlen(body), extra ? extra : "", body);
  for (size_t off = 0; off < r.len;) {
    ssize_t w = write(fd, r.p + off, r.len - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  free(r.p);
}

static void
logline(const struct request *r, const char *who, const char *token)
{
  if (logf == NULL)
    return;
  fprintf(logf, "%s %s", r->method, who);
  for (size_t i = 0; i < r->n_scopes; i++)
    fprintf(logf, " scope=%s", r->scopes[i]);
  if (token != NULL)
    fprintf(logf, " token=%s", token);
  fputc('\n', logf);
  fflush(logf);
}

/* What MODEFILE says now: "post-only", "get-only" or "". */
static void
read_mode(char *out, size_t len)
{
  FILE *f = mode_file ? fopen(mode_file, "r") : NULL;

  out[0] = '\0';
  if (f == NULL)
    return;
  if (fgets(out, (int)len, f) == NULL)
    out[0] = '\0';
  out[strcspn(out, "\r\n")] = '\0';
  fclose(f);
}

static void
serve(int fd)
{
  struct request r = {0};
  char *given = NULL, *token = NULL;
  const char *who = "user";
  struct str body = {0};
  char mode[32];

  if (read_request(fd, &r) < 0) {
    request_free(&r);
    return;
  }
  if (strcmp(r.path, "/token") != 0) {
    reply(fd, 404, "Not Found", NULL, "{\"errors\":[{\"code\":\"NOT_FOUND\"}]}");
    goto out;
  }
  parse_params(&r, r.query, false);
  read_mode(mode, sizeof(mode));
  if ((strcmp(mode, "post-only") == 0 && strcmp(r.method, "GET") == 0) ||
      (strcmp(mode, "get-only") == 0 && strcmp(r.method, "POST") == 0)) {
    logline(&r, "refused", NULL);
    if (strcmp(r.method, "GET") == 0)
      reply(fd, 405, "Method Not Allowed", NULL, "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}");
    else
      reply(fd, 404, "Not Found", NULL, "{\"errors\":[{\"code\":\"NOT_FOUND\"}]}");
    goto out;
  }
  if (strcmp(r.method, "POST") == 0) {
    parse_params(&r, r.body, true);
    if (r.grant_type != NULL && strcmp(r.grant_type, "refresh_token") == 0) {
      /* the refresh token stands for the user; any other is refused */
      bool ok = refresh_token != NULL && r.refresh != NULL && strcmp(r.refresh, refresh_token) == 0;
      given = strdup(ok ? cred : "refresh:wrong");
      who = "refresh";
    } else if (r.grant_type == NULL || strcmp(r.grant_type, "password") != 0) {
      logline(&r, "unsupported-grant", NULL);
      reply(fd, 400, "Bad Request", NULL, "{\"error\":\"unsupported_grant_type\"}");
      goto out;
    } else if (r.user != NULL) {
      if (asprintf(&given, "%s:%s", r.user, r.password ? r.password : "") < 0)
        die("out of memory");
    }
  } else if (strcmp(r.method, "GET") == 0) {
    if (r.authorization != NULL && strncasecmp(r.authorization, "basic ", 6) == 0) {
      given = unb64(r.authorization + 6);
      if (given == NULL) {
        logline(&r, "denied", NULL);
        reply(fd, 400, "Bad Request", NULL, "{\"errors\":[{\"code\":\"BAD_REQUEST\"}]}");
        goto out;
      }
    }
  } else {
    reply(fd, 405, "Method Not Allowed", NULL, "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}");
    goto out;
  }
  if (r.service != NULL && strcmp(r.service, service) != 0) {
    logline(&r, "wrong-service", NULL);
    reply(fd, 400, "Bad Request", NULL, "{\"errors\":[{\"code\":\"BAD_REQUEST\"}]}");
    goto out;
  }
  if (given != NULL && strcmp(given, cred) != 0) {
    logline(&r, "denied", NULL);
    reply(fd, 401, "Unauthorized", "WWW-Authenticate: Basic realm=\"tokensrv\"\r\n",
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication failed\"}]}");
    goto out;
  }
  if (given != NULL) {
    token = sign_token("ctrx-user", r.scopes, r.n_scopes);
  } else {
    who = "anonymous";
    token = sign_token("", NULL, 0);
  }
  {
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    str_addf(&body,
             "{\"token\":\"%s\",\"access_token\":\"%s\",\"expires_in\":%d,\"issued_at\":\"%s\"}",
             token, token, TOKEN_TTL, when);
  }
  logline(&r, who, token);
  reply(fd, 200, "OK", NULL, body.p);
out:
  if (given != NULL)
    explicit_bzero(given, strlen(given));
  free(given);
  free(token);
  free(body.p);
  request_free(&r);
}

/* --- set-up --- */

static void
load_key(const char *key_path, const char *cert_path)
{
  FILE *f = fopen(key_path, "r");
  X509 *cert;
  unsigned char *der = NULL;
  int n;

  if (f == NULL)
    die("open %s: %s", key_path, strerror(errno));
  key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
    die("%s: not an RSA private key", key_path);
  f = fopen(cert_path, "r");
  if (f == NULL)
    die("open %s: %s", cert_path, strerror(errno));
  cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (cert == NULL)
    die("%s: not a PEM certificate", cert_path);
  n = i2d_X509(cert, &der);
  if (n <= 0)
    die("%s: cannot encode", cert_path);
  x5c = b64(der, (size_t)n, false);
  OPENSSL_free(der);
  X509_free(cert);
}

static void
write_port_file(const char *path, int port)
{
  char *tmp = NULL;
  FILE *f;
  if (asprintf(&tmp, "%s.tmp", path) < 0)
    die("out of memory");
  f = fopen(tmp, "w");
  if (f == NULL || fprintf(f, "TOKENSRV=127.0.0.1:%d\n", port) < 0 || fclose(f) != 0 ||
      rename(tmp, path) != 0)
    die("write %s: %s", path, strerror(errno));
  free(tmp);
}

int
main(int argc, char **argv)
{
  const char *key_path = NULL, *cert_path = NULL, *out = NULL, *log_path = NULL;
  long port = 0, lifetime = 1800, watch = 0;
  struct sockaddr_in a = {0};
  socklen_t alen = sizeof(a);
  time_t deadline;
  int opt, ls, one = 1;

  while ((opt = getopt(argc, argv, "k:c:u:r:m:p:o:l:i:s:t:P:")) != -1) {
    char *end = NULL;
    switch (opt) {
    case 'k':
      key_path = optarg;
      break;
    case 'c':
      cert_path = optarg;
      break;
    case 'u':
      cred = optarg;
      break;
    case 'r':
      refresh_token = optarg;
      break;
    case 'm':
      mode_file = optarg;
      break;
    case 'o':
      out = optarg;
      break;
    case 'l':
      log_path = optarg;
      break;
    case 'i':
      issuer = optarg;
      break;
    case 's':
      service = optarg;
      break;
    case 'p':
    case 't':
    case 'P': {
      long v = strtol(optarg, &end, 10);
      if (end == optarg || *end != '\0' || v < 0 || v > 4194304)
        die("-%c: not a number: %s", opt, optarg);
      if (opt == 'p')
        port = v;
      else if (opt == 't')
        lifetime = v;
      else
        watch = v;
      break;
    }
    default:
      fprintf(stderr, "usage: tokensrv -k KEY -c CERT -u USER:PASSWORD [-r REFRESH] [-m MODEFILE] "
                      "[-p PORT] [-o FILE] "
                      "[-l LOG] [-i ISSUER] [-s SERVICE] [-t LIFETIME_S] [-P PID]\n");
      return 2;
    }
  }
  if (key_path == NULL || cert_path == NULL || cred == NULL || strchr(cred, ':') == NULL ||
      port > 65535)
    die("-k KEY, -c CERT and -u USER:PASSWORD are required");
  if (!scope_ok(issuer) || !scope_ok(service))
    die("issuer and service: letters, digits and ._-/:, only");
  load_key(key_path, cert_path);
  if (log_path != NULL && (logf = fopen(log_path, "a")) == NULL)
    die("open %s: %s", log_path, strerror(errno));
  signal(SIGPIPE, SIG_IGN);

  ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0)
    die("socket: %s", strerror(errno));
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 64) < 0 ||
      getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
    die("listen on 127.0.0.1:%ld: %s", port, strerror(errno));
  if (out != NULL)
    write_port_file(out, ntohs(a.sin_port));
  printf("TOKENSRV=127.0.0.1:%d\n", ntohs(a.sin_port));
  fflush(stdout);

  deadline = time(NULL) + lifetime;
  for (;;) {
    struct pollfd p = {ls, POLLIN, 0};
    int fd;
    if (time(NULL) >= deadline)
      die("lifetime over: exiting");
    if (watch > 0 && kill((pid_t)watch, 0) < 0 && errno == ESRCH)
      die("process %ld is gone: exiting", watch);
    if (poll(&p, 1, 1000) <= 0)
      continue;
    fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    serve(fd);
    close(fd);
  }
}
