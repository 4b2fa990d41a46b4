/* faultsrv: sick registry mirrors for the end-to-end tests (DESIGN.md §6).
 *
 *   faultsrv [-b PORT_BASE] [-o FILE] [-s SLOW_S] [-t LIFETIME_S] [-P PID] [-i]
 *            UPSTREAM_HOST:PORT [[LABEL=]MODE[,ep=BYTES_PER_S][,conn=BYTES_PER_S]...]
 *
 * One listening socket on 127.0.0.1 per MODE (default: all of them), at
 * PORT_BASE + i, or on any free port when PORT_BASE is 0. Each is a small
 * HTTP/1.1 server that forwards requests to the real registry UPSTREAM unless
 * its mode says otherwise, and answers every request with Connection: close.
 * Once all sockets listen, FILE (written atomically) and stdout get one line
 * per mode: FAULT_<MODE>=127.0.0.1:<port> (MODE upper-cased, '-' as '_'; the
 * LABEL instead when one is given, so that a mode can listen more than once).
 * ep= caps what the whole endpoint sends (all its connections together), conn=
 * what each connection sends, in bytes per second (a K or M suffix: 1000s).
 * Every request ends with a line on stderr saying what was served:
 *   faultsrv: served LABEL METHOD TARGET range=RANGE|- bytes=N
 * (bytes: the body and headers written), so that a test sees who served what.
 *
 * Modes ("blob" is GET of /v2/<name>/blobs/<digest>):
 *   pass           forward everything faithfully (a healthy mirror, for the caps)
 *   hang           accept and never answer (not even /v2/)
 *   slow           first byte after SLOW_S seconds (default 3), then forward
 *   stall          blob: headers and half the body, then nothing
 *   500            every request: 500
 *   404            manifests and blobs: 404
 *   429            manifests and blobs: 429 with Retry-After: 1
 *   reset          blob: headers and part of the body, then a TCP RST; /v2/: RST
 *   corrupt        blob: one byte of the body flipped
 *   truncate       blob: full Content-Length, close after half the body
 *   badlength      blob: Content-Length larger than the body, then close
 *   redirect-loop  manifests and blobs: 302 to the same URL
 *   bigmanifest    manifests: a 5 MiB manifest
 *   badjson        manifests: invalid JSON with a manifest media type and the
 *                  Docker-Content-Digest of that body
 *   zerohead       HEAD of manifests: the upstream's headers with Content-Length: 0
 *                  (as some proxies answer HEAD); everything else forwarded
 *   headerlog      another origin: logs every header line it receives to stderr
 *                  ("headerlog: > Name: value"), answers /token with a token,
 *                  forwards the rest
 *   xredirect      manifests and blobs: 302 to the same path on headerlog
 *   tokenredirect  manifests and blobs want a Bearer token (401 with a realm
 *                  on this port); its /token answers 302 to headerlog's /token
 *   crlftoken      as tokenredirect, but /token itself answers a token with
 *                  CR LF and a header line in it
 *   bigconfig      manifests: a made-up manifest whose config claims 1 GiB;
 *                  blobs: 256 MiB without a length (close-delimited)
 *   longconfig     manifests: a made-up manifest with a 2-byte config; blobs:
 *                  that config and 1 MiB more, chunked (no length)
 *   escape         HEAD of manifests: 405; GET of manifests and blobs: 403 with
 *                  terminal escape sequences and a forged "ctrx:" line in the
 *                  error message
 *   bigheader      manifests and blobs: 200 with a 1 MiB header line
 *   headfail       HEAD of manifests: 405; GET of manifests: the upstream's
 *                  manifest with a blank appended, under the upstream's digest
 * Everything a mode does not disturb is forwarded faithfully (manifests in the
 * blob modes, so that a pull gets as far as the blobs); GET /v2/ answers 200
 * except in hang, slow, 500 and reset, where the mode itself shows.
 *
 * It stops by itself: after LIFETIME_S seconds (default 1800), when process
 * PID is gone (-P), or when stdin reaches end of file (-i). Loopback only.
 * Build: cc -O2 -pthread faultsrv.c -o faultsrv */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (64 * 1024)
#define MAX_UPSTREAM (512u << 20)
#define BIG_MANIFEST_SIZE (5u << 20)
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

enum mode {
  M_HANG,
  M_SLOW,
  M_STALL,
  M_500,
  M_404,
  M_429,
  M_RESET,
  M_CORRUPT,
  M_TRUNCATE,
  M_BADLENGTH,
  M_REDIRECT_LOOP,
  M_BIGMANIFEST,
  M_BADJSON,
  M_ZEROHEAD,
  M_HEADERLOG,
  M_XREDIRECT,
  M_TOKENREDIRECT,
  M_CRLFTOKEN,
  M_BIGCONFIG,
  M_LONGCONFIG,
  M_ESCAPE,
  M_BIGHEADER,
  M_HEADFAIL,
  M_PASS,
  M_COUNT,
};

static const char *const mode_names[M_COUNT] = {
    "hang",      "slow",       "stall",     "500",       "404",           "429",
    "reset",     "corrupt",    "truncate",  "badlength", "redirect-loop", "bigmanifest",
    "badjson",   "zerohead",   "headerlog", "xredirect", "tokenredirect", "crlftoken",
    "bigconfig", "longconfig", "escape",    "bigheader", "headfail",      "pass",
};

/* The port each mode listens on, 0 when it is not served. */
static int mode_port[M_COUNT];

/* Sending at a capped rate: each piece reserves its time after the last. */
struct pacer {
  pthread_mutex_t mu;
  double rate; /* bytes per second, 0: no cap */
  double next; /* when the next byte may go (seconds, CLOCK_MONOTONIC) */
};

struct listener {
  enum mode mode;
  int fd;
  int port;
  char label[32];
  struct pacer ep; /* shared by its connections */
  double conn_rate;
};

struct conn {
  enum mode mode;
  int fd;
  int port;
  struct listener *l;
  struct pacer own;
  long long sent;
  char what[600]; /* "METHOD TARGET range=…" of the request */
};

/* The connection this thread serves, for the caps and the byte count. */
static __thread struct conn *cur_conn;

static char upstream_host[256];
static char upstream_port[16];
static int slow_s = 3;

/* Bodies served by bigmanifest and badjson, with their digests. */
static char *big_body;
static size_t big_len;
static char big_digest[72];
static const char bad_body[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":";
static char bad_digest[72];

/* The made-up images of bigconfig and longconfig: a manifest each, with its
 * digest, and longconfig's config. */
#define BIGCONFIG_CLAIM (1ll << 30)
#define BIGCONFIG_SENT (256u << 20)
#define LONGCONFIG_EXTRA (1u << 20)
static const char long_config[] = "{}";
static char *bigcfg_manifest, *longcfg_manifest;
static char bigcfg_digest[72], longcfg_digest[72];

/* --- SHA-256 (FIPS 180-4), for the digests of the bodies made up here. --- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror(uint32_t x, int n)
{
  return (x >> n) | (x << (32 - n));
}

static void
sha256_block(uint32_t h[8], const unsigned char *p)
{
  uint32_t w[64], a, b, c, d, e, f, g, hh;

  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* "sha256:<64 hex>" of data into out (at least 72 bytes). */
static void
sha256_digest(const void *data, size_t len, char *out)
{
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const unsigned char *p = data;
  unsigned char tail[128] = {0};
  size_t full = len / 64 * 64, rest = len - full, tl;
  uint64_t bits = (uint64_t)len * 8;
  char *o = out;

  for (size_t i = 0; i < full; i += 64)
    sha256_block(h, p + i);
  memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  tl = rest + 1 + 8 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; i++)
    tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t i = 0; i < tl; i += 64)
    sha256_block(h, tail + i);
  o += snprintf(o, 8, "sha256:");
  for (int i = 0; i < 8; i++)
    o += snprintf(o, 9, "%08x", h[i]);
}

/* --- Small I/O helpers. --- */

static void
logf_(const char *fmt, ...)
{
  va_list ap;
  char line[1024];

  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "faultsrv: %s\n", line);
}

static double
mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
pace(struct pacer *p, size_t n)
{
  double now, start;

  if (p->rate <= 0)
    return;
  pthread_mutex_lock(&p->mu);
  now = mono_s();
  start = p->next > now ? p->next : now;
  p->next = start + (double)n / p->rate;
  pthread_mutex_unlock(&p->mu);
  if (start > now)
    usleep((useconds_t)((start - now) * 1e6));
}

#define PACE_PIECE 16384

static int
write_all(int fd, const void *data, size_t len)
{
  const char *p = data;

  while (len > 0) {
    size_t piece = len;
    ssize_t w;
    if (cur_conn && (cur_conn->own.rate > 0 || cur_conn->l->ep.rate > 0)) {
      piece = len < PACE_PIECE ? len : PACE_PIECE;
      pace(&cur_conn->own, piece);
      pace(&cur_conn->l->ep, piece);
    }
    w = send(fd, p, piece, MSG_NOSIGNAL);
    if (w > 0 && cur_conn)
      cur_conn->sent += w;
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Wait until the peer closes its end (or the process ends). */
static void
wait_peer_close(int fd)
{
  char sink[4096];

  for (;;) {
    ssize_t r = recv(fd, sink, sizeof(sink), 0);
    if (r == 0 || (r < 0 && errno != EINTR))
      return;
  }
}

static void
reset_close(int fd)
{
  struct linger l = {1, 0};

  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

/* --- The request. --- */

struct request {
  char method[16];
  char target[4096]; /* path and query as sent */
  char host[256];    /* the Host header */
  char *headers;     /* the header lines after the request line, "\r\n" separated */
  bool is_root;      /* /v2/ */
  bool is_blob;      /* /v2/<name>/blobs/<digest> */
  bool is_manifest;  /* /v2/<name>/manifests/<ref> */
};

/* Read one request head (a GET or HEAD has no body). */
static int
read_request(int fd, struct request *rq)
{
  char *buf = malloc(MAX_REQUEST + 1);
  size_t len = 0;
  char *end = NULL, *line_end, *path_end;

  if (buf == NULL)
    return -1;
  while (end == NULL) {
    ssize_t r;
    if (len >= MAX_REQUEST) {
      free(buf);
      return -1;
    }
    r = recv(fd, buf + len, MAX_REQUEST - len, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      free(buf);
      return -1;
    }
    len += (size_t)r;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  end[2] = '\0'; /* keep the last header's CRLF */
  line_end = strstr(buf, "\r\n");
  *line_end = '\0';
  if (sscanf(buf, "%15s %4095s", rq->method, rq->target) != 2) {
    free(buf);
    return -1;
  }
  rq->headers = strdup(line_end + 2);
  free(buf);
  if (rq->headers == NULL)
    return -1;
  for (char *l = rq->headers; *l;) {
    char *e = strstr(l, "\r\n");
    if (e == NULL)
      break;
    if (strncasecmp(l, "host:", 5) == 0) {
      const char *v = l + 5;
      while (*v == ' ' || *v == '\t')
        v++;
      snprintf(rq->host, sizeof(rq->host), "%.*s", (int)(e - v), v);
    }
    l = e + 2;
  }
  path_end = strchr(rq->target, '?');
  {
    size_t pl = path_end ? (size_t)(path_end - rq->target) : strlen(rq->target);
    char path[4096];
    snprintf(path, sizeof(path), "%.*s", (int)pl, rq->target);
    rq->is_root = strcmp(path, "/v2/") == 0 || strcmp(path, "/v2") == 0;
    if (strncmp(path, "/v2/", 4) == 0) {
      rq->is_blob = strstr(path + 3, "/blobs/") != NULL;
      rq->is_manifest = strstr(path + 3, "/manifests/") != NULL;
    }
  }
  return 0;
}

/* --- The upstream's answer. --- */

struct response {
  int status;
  char *status_line; /* "HTTP/1.1 200 OK" */
  char *headers;     /* header lines, "\r\n" separated, without framing headers */
  char *body;
  size_t body_len;
  long long length; /* the upstream's Content-Length, -1 when none */
};

static void
response_free(struct response *r)
{
  free(r->status_line);
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

static bool
is_hop_header(const char *line)
{
  static const char *const names[] = {
      "connection:",       "keep-alive:", "transfer-encoding:", "content-length:",
      "proxy-connection:", "te:",         "upgrade:",           "host:"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strncasecmp(line, names[i], strlen(names[i])) == 0)
      return true;
  return false;
}

static int
dial_upstream(void)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int fd = -1;

  if (getaddrinfo(upstream_host, upstream_port, &hints, &res) != 0)
    return -1;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

/* Forward RQ to the upstream as HTTP/1.0 (so the answer is neither chunked nor
 * kept alive: its body is everything up to the close) and read all of it. */
static int
forward(const struct request *rq, struct response *out)
{
  char *req = NULL, *buf = NULL, *hdr_end, *line_end;
  size_t req_len = 0, len = 0, cap = 1 << 16;
  FILE *f;
  int fd;

  memset(out, 0, sizeof(*out));
  f = open_memstream(&req, &req_len);
  if (f == NULL)
    return -1;
  fprintf(f, "%s %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n", rq->method, rq->target,
          upstream_host, upstream_port);
  for (const char *l = rq->headers; *l;) {
    const char *e = strstr(l, "\r\n");
    if (e == NULL)
      break;
    if (!is_hop_header(l))
      fprintf(f, "%.*s\r\n", (int)(e - l), l);
    l = e + 2;
  }
  fputs("\r\n", f);
  fclose(f);
  fd = dial_upstream();
  if (fd < 0 || write_all(fd, req, req_len) < 0) {
    free(req);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  free(req);
  buf = malloc(cap + 1);
  for (;;) {
    ssize_t r;
    if (buf == NULL)
      break;
    if (len == cap) {
      char *n;
      if (cap >= MAX_UPSTREAM)
        break;
      cap *= 2;
      n = realloc(buf, cap + 1);
      if (n == NULL)
        break;
      buf = n;
    }
    r = recv(fd, buf + len, cap - len, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  if (buf == NULL)
    return -1;
  buf[len] = '\0';
  hdr_end = memmem(buf, len, "\r\n\r\n", 4);
  if (hdr_end == NULL) {
    free(buf);
    return -1;
  }
  line_end = strstr(buf, "\r\n");
  out->status_line = strndup(buf, (size_t)(line_end - buf));
  /* The answer goes out in HTTP/1.1 (with Content-Length), whatever came in. */
  if (strncmp(out->status_line, "HTTP/1.0", 8) == 0)
    out->status_line[7] = '1';
  if (sscanf(buf, "HTTP/%*s %d", &out->status) != 1)
    out->status = 502;
  out->length = -1;
  {
    FILE *h = NULL;
    size_t hl = 0;
    h = open_memstream(&out->headers, &hl);
    for (char *l = line_end + 2; l < hdr_end + 2;) {
      char *e = strstr(l, "\r\n");
      if (e == NULL || e > hdr_end)
        break;
      if (strncasecmp(l, "content-length:", 15) == 0)
        out->length = strtoll(l + 15, NULL, 10);
      if (!is_hop_header(l))
        fprintf(h, "%.*s\r\n", (int)(e - l), l);
      l = e + 2;
    }
    fclose(h);
  }
  out->body_len = len - (size_t)(hdr_end + 4 - buf);
  out->body = malloc(out->body_len + 1);
  memcpy(out->body, hdr_end + 4, out->body_len);
  free(buf);
  return 0;
}

/* Status line and headers; Content-Length is ANNOUNCED (-1: none). */
static int
send_head(int fd, const char *status_line, const char *headers, long long announced)
{
  char *head = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&head, &len);
  int rc;

  if (f == NULL)
    return -1;
  fprintf(f, "%s\r\n%s", status_line, headers ? headers : "");
  if (announced >= 0)
    fprintf(f, "Content-Length: %lld\r\n", announced);
  fputs("Connection: close\r\n\r\n", f);
  fclose(f);
  rc = write_all(fd, head, len);
  free(head);
  return rc;
}

static void
send_simple(int fd, const struct request *rq, const char *status_line, const char *extra,
            const char *body)
{
  char headers[1024];

  snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s", extra ? extra : "");
  if (send_head(fd, status_line, headers, (long long)strlen(body)) == 0 &&
      strcmp(rq->method, "HEAD") != 0)
    write_all(fd, body, strlen(body));
}

static void
send_error(int fd, const struct request *rq, int status, const char *extra)
{
  const char *line = status == 500   ? "HTTP/1.1 500 Internal Server Error"
                     : status == 404 ? "HTTP/1.1 404 Not Found"
                     : status == 429 ? "HTTP/1.1 429 Too Many Requests"
                                     : "HTTP/1.1 502 Bad Gateway";
  const char *code = status == 404   ? (rq->is_blob ? "BLOB_UNKNOWN" : "MANIFEST_UNKNOWN")
                     : status == 429 ? "TOOMANYREQUESTS"
                                     : "UNKNOWN";
  char body[256];

  snprintf(body, sizeof(body),
           "{\"errors\":[{\"code\":\"%s\",\"message\":\"fault server: %d\"}]}\n", code, status);
  send_simple(fd, rq, line, extra, body);
}

/* Forward faithfully. */
static void
proxy(int fd, const struct request *rq)
{
  struct response r;

  if (forward(rq, &r) < 0) {
    send_error(fd, rq, 502, NULL);
    return;
  }
  /* A HEAD answer has no body: pass on the length it announced. */
  if (strcmp(rq->method, "HEAD") == 0)
    send_head(fd, r.status_line, r.headers, r.length);
  else if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0)
    write_all(fd, r.body, r.body_len);
  response_free(&r);
}

/* A made-up manifest with the headers a registry sends with one. */
static void
send_manifest(int fd, const struct request *rq, const char *body, size_t len, const char *digest)
{
  char headers[512];

  snprintf(headers, sizeof(headers), "Content-Type: %s\r\nDocker-Content-Digest: %s\r\n",
           OCI_MANIFEST, digest);
  if (send_head(fd, "HTTP/1.1 200 OK", headers, (long long)len) == 0 &&
      strcmp(rq->method, "HEAD") != 0)
    write_all(fd, body, len);
}

/* The blob modes: forward, then damage a successful GET's body. */
static void
damaged_blob(int fd, const struct request *rq, enum mode mode)
{
  struct response r;
  size_t half;

  if (forward(rq, &r) < 0) {
    send_error(fd, rq, 502, NULL);
    return;
  }
  if (r.status < 200 || r.status > 299 || r.body_len == 0) {
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0)
      write_all(fd, r.body, r.body_len);
    response_free(&r);
    return;
  }
  half = r.body_len / 2;
  switch (mode) {
  case M_CORRUPT:
    r.body[half] ^= 0x55;
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0)
      write_all(fd, r.body, r.body_len);
    break;
  case M_TRUNCATE:
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0)
      write_all(fd, r.body, half);
    shutdown(fd, SHUT_WR);
    break;
  case M_BADLENGTH:
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len + 1000) == 0)
      write_all(fd, r.body, r.body_len);
    shutdown(fd, SHUT_WR);
    break;
  case M_STALL:
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0 &&
        write_all(fd, r.body, half) == 0)
      wait_peer_close(fd);
    break;
  case M_RESET:
    if (send_head(fd, r.status_line, r.headers, (long long)r.body_len) == 0)
      write_all(fd, r.body, half);
    /* Let the part reach the peer before the RST throws away what is queued. */
    usleep(300 * 1000);
    response_free(&r);
    reset_close(fd);
    return;
  default:
    break;
  }
  response_free(&r);
  close(fd);
}

/* A request carries a Bearer token. */
static bool
has_bearer(const struct request *rq)
{
  return strcasestr(rq->headers, "authorization: bearer ") != NULL;
}

static void
send_chunk(int fd, const void *data, size_t len)
{
  char head[32];

  snprintf(head, sizeof(head), "%zx\r\n", len);
  if (write_all(fd, head, strlen(head)) == 0 && write_all(fd, data, len) == 0)
    write_all(fd, "\r\n", 2);
}

/* The modes of a hostile registry or its accomplices. */
static void
hostile(int fd, const struct request *rq, const struct conn *c)
{
  bool kind = rq->is_blob || rq->is_manifest;
  bool get = strcmp(rq->method, "GET") == 0;
  bool token = strncmp(rq->target, "/token", 6) == 0;
  char extra[4600];

  switch (c->mode) {
  case M_HEADERLOG:
    for (const char *l = rq->headers; *l;) {
      const char *e = strstr(l, "\r\n");
      if (e == NULL)
        break;
      logf_("headerlog: > %.*s", (int)(e - l), l);
      l = e + 2;
    }
    if (token)
      send_simple(fd, rq, "HTTP/1.1 200 OK", NULL, "{\"token\":\"from-the-other-origin\"}\n");
    else
      proxy(fd, rq);
    return;
  case M_XREDIRECT:
    if (kind) {
      snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%d%s\r\n", mode_port[M_HEADERLOG],
               rq->target);
      send_simple(fd, rq, "HTTP/1.1 302 Found", extra, "{}\n");
    } else {
      proxy(fd, rq);
    }
    return;
  case M_TOKENREDIRECT:
  case M_CRLFTOKEN:
    if (token && c->mode == M_TOKENREDIRECT) {
      snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%d%s\r\n", mode_port[M_HEADERLOG],
               rq->target);
      send_simple(fd, rq, "HTTP/1.1 302 Found", extra, "{}\n");
    } else if (token) {
      send_simple(fd, rq, "HTTP/1.1 200 OK", NULL, "{\"token\":\"abc\\r\\nX-Injected: yes\"}\n");
    } else if (kind && !has_bearer(rq)) {
      snprintf(extra, sizeof(extra),
               "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"fault\"\r\n",
               c->port);
      send_simple(fd, rq, "HTTP/1.1 401 Unauthorized", extra,
                  "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"token wanted\"}]}\n");
    } else {
      proxy(fd, rq);
    }
    return;
  case M_BIGCONFIG:
  case M_LONGCONFIG:
    if (rq->is_manifest) {
      const char *m = c->mode == M_BIGCONFIG ? bigcfg_manifest : longcfg_manifest;
      send_manifest(fd, rq, m, strlen(m), c->mode == M_BIGCONFIG ? bigcfg_digest : longcfg_digest);
    } else if (rq->is_blob && get && c->mode == M_BIGCONFIG) {
      static char block[1 << 16];
      memset(block, ' ', sizeof(block));
      if (send_head(fd, "HTTP/1.1 200 OK", "Content-Type: application/octet-stream\r\n", -1) == 0)
        for (size_t sent = 0; sent < BIGCONFIG_SENT; sent += sizeof(block))
          if (write_all(fd, block, sizeof(block)) < 0)
            break;
    } else if (rq->is_blob && get) {
      static char block[1 << 16];
      memset(block, ' ', sizeof(block));
      if (write_all(fd,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                    strlen("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")) == 0) {
        send_chunk(fd, long_config, strlen(long_config));
        for (size_t sent = 0; sent < LONGCONFIG_EXTRA; sent += sizeof(block))
          send_chunk(fd, block, sizeof(block));
        write_all(fd, "0\r\n\r\n", 5);
      }
    } else {
      proxy(fd, rq);
    }
    return;
  case M_ESCAPE:
    /* HEAD has no body to say things in: refuse it, so that GET comes. */
    if (rq->is_manifest && !get)
      send_simple(fd, rq, "HTTP/1.1 405 Method Not Allowed", NULL, "");
    else if (kind)
      send_simple(fd, rq, "HTTP/1.1 403 Forbidden", NULL,
                  "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"\\u001b[2J\\u001b[H"
                  "\\u001b]0;owned\\u0007\\nctrx: forged line\\r\\u009b31m"
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "-end-of-a-long-message\"}]}\n");
    else
      proxy(fd, rq);
    return;
  case M_BIGHEADER:
    if (kind) {
      size_t n = 1u << 20;
      char *h = malloc(n + 16);
      if (h != NULL) {
        memcpy(h, "X-Big: ", 7);
        memset(h + 7, 'a', n);
        memcpy(h + 7 + n, "\r\n", 3);
        if (send_head(fd, "HTTP/1.1 200 OK", h, 3) == 0 && get)
          write_all(fd, "{}\n", 3);
      }
      free(h);
    } else {
      proxy(fd, rq);
    }
    return;
  case M_HEADFAIL:
    if (rq->is_manifest && !get) {
      send_simple(fd, rq, "HTTP/1.1 405 Method Not Allowed", NULL, "");
    } else if (rq->is_manifest) {
      struct response r;
      if (forward(rq, &r) < 0) {
        send_error(fd, rq, 502, NULL);
        return;
      }
      if (send_head(fd, r.status_line, r.headers, (long long)r.body_len + 1) == 0 &&
          write_all(fd, r.body, r.body_len) == 0)
        write_all(fd, " ", 1);
      response_free(&r);
    } else {
      proxy(fd, rq);
    }
    return;
  default:
    proxy(fd, rq);
    return;
  }
}

static void
serve(const struct conn *c)
{
  struct request rq = {0};
  bool blob_get, kind;
  int fd = c->fd;

  if (c->mode == M_HANG) {
    wait_peer_close(fd);
    close(fd);
    return;
  }
  if (read_request(fd, &rq) < 0) {
    close(fd);
    return;
  }
  logf_("%s: %s %s", mode_names[c->mode], rq.method, rq.target);
  if (cur_conn) {
    const char *r = strcasestr(rq.headers, "\r\nrange:");
    char range[64] = "-";
    if (r == NULL && strncasecmp(rq.headers, "range:", 6) == 0)
      r = rq.headers - 2;
    if (r) {
      r += 8;
      while (*r == ' ')
        r++;
      snprintf(range, sizeof(range), "%.*s", (int)strcspn(r, "\r"), r);
    }
    snprintf(cur_conn->what, sizeof(cur_conn->what), "%s %.500s range=%s", rq.method, rq.target,
             range);
  }
  blob_get = rq.is_blob && strcmp(rq.method, "GET") == 0;
  kind = rq.is_blob || rq.is_manifest;
  switch (c->mode) {
  case M_SLOW:
    sleep((unsigned)slow_s);
    proxy(fd, &rq);
    break;
  case M_500:
    send_error(fd, &rq, 500, NULL);
    break;
  case M_404:
    if (kind)
      send_error(fd, &rq, 404, NULL);
    else
      proxy(fd, &rq);
    break;
  case M_429:
    if (kind)
      send_error(fd, &rq, 429, "Retry-After: 1\r\n");
    else
      proxy(fd, &rq);
    break;
  case M_RESET:
    if (rq.is_root) {
      free(rq.headers);
      reset_close(fd);
      return;
    }
    /* fall through */
  case M_STALL:
  case M_CORRUPT:
  case M_TRUNCATE:
  case M_BADLENGTH:
    if (blob_get) {
      damaged_blob(fd, &rq, c->mode);
      free(rq.headers);
      return;
    }
    proxy(fd, &rq);
    break;
  case M_REDIRECT_LOOP:
    if (kind) {
      char extra[4500];
      snprintf(extra, sizeof(extra), "Location: http://%s%s\r\n",
               rq.host[0] ? rq.host : "127.0.0.1", rq.target);
      send_simple(fd, &rq, "HTTP/1.1 302 Found", extra, "{}\n");
    } else {
      proxy(fd, &rq);
    }
    break;
  case M_BIGMANIFEST:
    if (rq.is_manifest)
      send_manifest(fd, &rq, big_body, big_len, big_digest);
    else
      proxy(fd, &rq);
    break;
  case M_BADJSON:
    if (rq.is_manifest)
      send_manifest(fd, &rq, bad_body, strlen(bad_body), bad_digest);
    else
      proxy(fd, &rq);
    break;
  case M_HEADERLOG:
  case M_XREDIRECT:
  case M_TOKENREDIRECT:
  case M_CRLFTOKEN:
  case M_BIGCONFIG:
  case M_LONGCONFIG:
  case M_ESCAPE:
  case M_BIGHEADER:
  case M_HEADFAIL:
    hostile(fd, &rq, c);
    break;
  case M_ZEROHEAD:
    if (rq.is_manifest && strcmp(rq.method, "HEAD") == 0) {
      struct response r;
      if (forward(&rq, &r) < 0) {
        send_error(fd, &rq, 502, NULL);
        break;
      }
      send_head(fd, r.status_line, r.headers, 0);
      response_free(&r);
    } else {
      proxy(fd, &rq);
    }
    break;
  default:
    proxy(fd, &rq);
    break;
  }
  free(rq.headers);
  close(fd);
}

static void *
conn_thread(void *arg)
{
  struct conn c = *(struct conn *)arg;

  free(arg);
  c.own.rate = c.l->conn_rate;
  pthread_mutex_init(&c.own.mu, NULL);
  cur_conn = &c;
  serve(&c);
  if (c.what[0])
    logf_("served %s %s bytes=%lld", c.l->label, c.what, c.sent);
  return NULL;
}

static void *
accept_thread(void *arg)
{
  struct listener *l = arg;

  for (;;) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    struct conn *c;
    pthread_t t;

    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE)
          usleep(100 * 1000);
        continue;
      }
      logf_("accept (%s): %s", mode_names[l->mode], strerror(errno));
      return NULL;
    }
    c = malloc(sizeof(*c));
    if (c == NULL) {
      close(fd);
      continue;
    }
    *c = (struct conn){.mode = l->mode, .fd = fd, .port = l->port, .l = l};
    if (pthread_create(&t, NULL, conn_thread, c) != 0) {
      free(c);
      close(fd);
      continue;
    }
    pthread_detach(t);
  }
}

/* --- Staying alive only as long as wanted. --- */

static time_t deadline;
static pid_t watch_pid;

static void *
watchdog(void *arg)
{
  (void)arg;
  for (;;) {
    if (time(NULL) >= deadline) {
      logf_("lifetime over: exiting");
      _exit(0);
    }
    if (watch_pid > 0 && kill(watch_pid, 0) < 0 && errno == ESRCH) {
      logf_("process %d is gone: exiting", (int)watch_pid);
      _exit(0);
    }
    usleep(200 * 1000);
  }
}

static void *
stdin_watch(void *arg)
{
  char b[256];

  (void)arg;
  for (;;) {
    ssize_t r = read(0, b, sizeof(b));
    if (r == 0 || (r < 0 && errno != EINTR)) {
      logf_("stdin closed: exiting");
      _exit(0);
    }
  }
}

static int
listen_on(int port, int *bound)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  socklen_t al = sizeof(a);
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
    close(fd);
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

static int
parse_int(const char *s, long min, long max, long *out)
{
  char *end = NULL;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static void usage(void);

/* A rate: digits with an optional K or M (thousands, millions). */
static int
parse_rate(const char *s, double *out)
{
  char *end = NULL;
  double v = strtod(s, &end);

  if (end == s || v <= 0)
    return -1;
  if (*end == 'K' || *end == 'k')
    v *= 1e3, end++;
  else if (*end == 'M' || *end == 'm')
    v *= 1e6, end++;
  if (*end != '\0')
    return -1;
  *out = v;
  return 0;
}

/* [LABEL=]MODE[,ep=RATE][,conn=RATE] into l; the mode's index. */
static int
parse_mode_arg(const char *arg, struct listener *l)
{
  char buf[128], *save = NULL, *word, *eq;
  int m = -1;

  snprintf(buf, sizeof(buf), "%s", arg);
  word = strtok_r(buf, ",", &save);
  if (word == NULL)
    usage();
  eq = strchr(word, '=');
  snprintf(l->label, sizeof(l->label), "%s", eq ? word : word);
  if (eq) {
    *eq = '\0';
    snprintf(l->label, sizeof(l->label), "%s", word);
    word = eq + 1;
  }
  for (int k = 0; k < M_COUNT; k++)
    if (strcmp(word, mode_names[k]) == 0)
      m = k;
  if (m < 0) {
    fprintf(stderr, "faultsrv: unknown mode '%s'\n", word);
    usage();
  }
  if (!eq)
    snprintf(l->label, sizeof(l->label), "%s", mode_names[m]);
  while ((word = strtok_r(NULL, ",", &save)) != NULL) {
    if (strncmp(word, "ep=", 3) == 0 && parse_rate(word + 3, &l->ep.rate) == 0)
      continue;
    if (strncmp(word, "conn=", 5) == 0 && parse_rate(word + 5, &l->conn_rate) == 0)
      continue;
    fprintf(stderr, "faultsrv: bad option '%s' in '%s'\n", word, arg);
    usage();
  }
  return m;
}

static void
usage(void)
{
  fprintf(stderr, "usage: faultsrv [-b PORT_BASE] [-o FILE] [-s SLOW_S] [-t LIFETIME_S] "
                  "[-P PID] [-i] UPSTREAM_HOST:PORT [MODE...]\nmodes:");
  for (int i = 0; i < M_COUNT; i++)
    fprintf(stderr, " %s", mode_names[i]);
  fputc('\n', stderr);
  exit(2);
}

int
main(int argc, char **argv)
{
  struct listener ls[64];
  int n_ls = 0;
  long base = 0, lifetime = 1800, v = 0;
  const char *out_file = NULL;
  bool watch_stdin = false;
  char *colon;
  int opt;
  pthread_t t;
  FILE *f = NULL;
  char *tmp = NULL;

  while ((opt = getopt(argc, argv, "b:o:s:t:P:ih")) != -1) {
    switch (opt) {
    case 'b':
      if (parse_int(optarg, 0, 65535, &base) < 0)
        usage();
      break;
    case 'o':
      out_file = optarg;
      break;
    case 's':
      if (parse_int(optarg, 0, 3600, &v) < 0)
        usage();
      slow_s = (int)v;
      break;
    case 't':
      if (parse_int(optarg, 1, 86400, &lifetime) < 0)
        usage();
      break;
    case 'P':
      if (parse_int(optarg, 1, 1L << 30, &v) < 0)
        usage();
      watch_pid = (pid_t)v;
      break;
    case 'i':
      watch_stdin = true;
      break;
    default:
      usage();
    }
  }
  if (optind >= argc)
    usage();
  colon = strrchr(argv[optind], ':');
  if (colon == NULL || colon == argv[optind] || colon[1] == '\0')
    usage();
  snprintf(upstream_host, sizeof(upstream_host), "%.*s", (int)(colon - argv[optind]), argv[optind]);
  snprintf(upstream_port, sizeof(upstream_port), "%s", colon + 1);
  optind++;

  signal(SIGPIPE, SIG_IGN);
  deadline = time(NULL) + lifetime;

  /* The bodies of bigmanifest (valid JSON, only too big) and badjson. */
  {
    static const char head[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\",\"annotations\":{\"pad\":\"";
    static const char tail[] = "\"}}";
    big_len = BIG_MANIFEST_SIZE;
    big_body = malloc(big_len);
    if (big_body == NULL)
      return 1;
    memset(big_body, 'x', big_len);
    memcpy(big_body, head, strlen(head));
    memcpy(big_body + big_len - strlen(tail), tail, strlen(tail));
    sha256_digest(big_body, big_len, big_digest);
    sha256_digest(bad_body, strlen(bad_body), bad_digest);
  }
  {
    static const char fmt[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        "\"digest\":\"%s\",\"size\":%lld},\"layers\":[]}";
    char d[72];
    sha256_digest("bigconfig", 9, d);
    if (asprintf(&bigcfg_manifest, fmt, d, BIGCONFIG_CLAIM) < 0)
      return 1;
    sha256_digest(long_config, strlen(long_config), d);
    if (asprintf(&longcfg_manifest, fmt, d, (long long)strlen(long_config)) < 0)
      return 1;
    sha256_digest(bigcfg_manifest, strlen(bigcfg_manifest), bigcfg_digest);
    sha256_digest(longcfg_manifest, strlen(longcfg_manifest), longcfg_digest);
  }

  if (argc - optind > (int)(sizeof(ls) / sizeof(ls[0])))
    usage();
  for (int i = optind == argc ? 0 : optind; i < (optind == argc ? M_COUNT : argc); i++) {
    int m = optind == argc ? i : -1;
    memset(&ls[n_ls], 0, sizeof(ls[n_ls]));
    pthread_mutex_init(&ls[n_ls].ep.mu, NULL);
    if (m < 0)
      m = parse_mode_arg(argv[i], &ls[n_ls]);
    else
      snprintf(ls[n_ls].label, sizeof(ls[n_ls].label), "%s", mode_names[m]);
    ls[n_ls].mode = (enum mode)m;
    ls[n_ls].fd = listen_on(base ? (int)base + n_ls : 0, &ls[n_ls].port);
    if (ls[n_ls].fd < 0) {
      fprintf(stderr, "faultsrv: listen for %s on port %ld: %s\n", mode_names[m],
              base ? base + n_ls : 0, strerror(errno));
      return 1;
    }
    if (mode_port[m] == 0)
      mode_port[m] = ls[n_ls].port;
    n_ls++;
  }

  if (out_file != NULL) {
    if (asprintf(&tmp, "%s.tmp", out_file) < 0 || (f = fopen(tmp, "we")) == NULL) {
      fprintf(stderr, "faultsrv: cannot write %s: %s\n", out_file, strerror(errno));
      return 1;
    }
  }
  for (int i = 0; i < n_ls; i++) {
    char name[32];
    snprintf(name, sizeof(name), "%s", ls[i].label);
    for (char *p = name; *p; p++)
      *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    printf("FAULT_%s=127.0.0.1:%d\n", name, ls[i].port);
    if (f)
      fprintf(f, "FAULT_%s=127.0.0.1:%d\n", name, ls[i].port);
  }
  fflush(stdout);
  if (f) {
    if (fclose(f) != 0 || rename(tmp, out_file) < 0) {
      fprintf(stderr, "faultsrv: cannot write %s: %s\n", out_file, strerror(errno));
      return 1;
    }
    free(tmp);
  }

  if (pthread_create(&t, NULL, watchdog, NULL) != 0)
    return 1;
  if (watch_stdin && pthread_create(&t, NULL, stdin_watch, NULL) != 0)
    return 1;
  for (int i = 1; i < n_ls; i++)
    if (pthread_create(&t, NULL, accept_thread, &ls[i]) != 0)
      return 1;
  accept_thread(&ls[0]);
  return 1;
}
