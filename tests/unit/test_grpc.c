/* The gRPC transport without containerd: the grpc-timeout encoding and the
 * grpc-message decoding as pure functions, and the connection against fake
 * peers on a unix socket (one that never answers, one that dies, one that
 * breaks the protocol, one that reads our headers late). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "content.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "grpc.h"
#include "unit.h"
#include "util.h"

/* grpc-timeout: "TimeoutValue: positive integer as ASCII string of at most 8
 * digits", units H M S m u n (gRPC's PROTOCOL-HTTP2.md). */
static const struct {
  int64_t ns;
  const char *want;
} timeouts[] = {
    {-5, "1n"},
    {0, "1n"},
    {1, "1n"},
    {999, "999n"},
    {1000000, "1000000n"},
    {99999999, "99999999n"},
    {100000000, "100000u"},
    {100000001, "100001u"}, /* rounded up, never down */
    {INT64_C(99999999000), "99999999u"},
    {INT64_C(99999999001), "100000m"},
    {INT64_C(60000000000), "60000000u"}, /* --timeout 60s */
    {INT64_C(99999999000000), "99999999m"},
    {INT64_C(99999999000001), "100000S"},
    {INT64_C(100800000000000), "100800S"}, /* 28 h: 9 digits in ms */
    {INT64_C(99999999000000000), "99999999S"},
    {INT64_C(99999999000000001), "1666667M"},
    {INT64_C(5999999940000000000), "99999999M"},
    {INT64_C(5999999940000000001), "1666667H"},
    {INT64_MAX, "2562048H"},
};

START_TEST(timeout_units)
{
  char out[GRPC_TIMEOUT_SIZE];
  size_t digits;

  memset(out, 'x', sizeof(out));
  grpc_timeout_format(timeouts[_i].ns, out);
  ck_assert_str_eq(out, timeouts[_i].want);
  digits = strspn(out, "0123456789");
  ck_assert_uint_ge(digits, 1);
  ck_assert_uint_le(digits, 8);
  ck_assert_ptr_nonnull(strchr("HMSmun", out[digits]));
  ck_assert_int_eq(out[digits + 1], '\0');
}
END_TEST

/* LEN bytes of IN, no terminator after them (the header value as nghttp2
 * hands it over): the decoder reads none of the bytes past LEN. */
static const struct {
  const char *in;
  size_t len;
  const char *want;
} decodes[] = {
    {"", 0, ""},
    {"abc", 3, "abc"},
    {"%41", 3, "A"},
    {"%41", 2, "%4"}, /* the 1 is past the value */
    {"%41", 1, "%"},
    {"%", 1, "%"},
    {"%4", 2, "%4"},
    {"a%", 2, "a%"},
    {"a%4", 3, "a%4"},
    {"a%41b", 4, "aA"},
    {"%zz", 3, "%zz"},
    {"%4g", 3, "%4g"},
    {"%g4", 3, "%g4"},
    {"%-1", 3, "%-1"},
    {"%+1", 3, "%+1"},
    {"% 1", 3, "% 1"},
    {"%0x", 3, "%0x"},
    {"%%41", 4, "%A"},
    {"100%25", 6, "100%"},
    {"%e2%80%9cx%E2%80%9D", 19, "\xe2\x80\x9cx\xe2\x80\x9d"},
    {"image %22x%22: not found%", 25, "image \"x\": not found%"},
};

START_TEST(percent_decode)
{
  size_t len = decodes[_i].len;
  char *in = xmalloc(len ? len : 1);
  char *out;

  /* exactly LEN bytes: a sanitized build sees any read past them */
  memcpy(in, decodes[_i].in, len);
  out = grpc_percent_decode(in, len);
  ck_assert_ptr_nonnull(out);
  ck_assert_str_eq(out, decodes[_i].want);
  free(out);
  free(in);
  /* the rest of the literal after LEN: hex digits there must not count */
  out = grpc_percent_decode(decodes[_i].in, len);
  ck_assert_ptr_nonnull(out);
  ck_assert_str_eq(out, decodes[_i].want);
  free(out);
}
END_TEST

/* A message whose last bytes field follows its head (pull's content writes,
 * sent from the caller's buffer): prefix, fields, key and length, then the
 * bytes make the message protobuf-c packs itself. */
static const size_t head_lens[] = {0, 1, 127, 128, 300000};

START_TEST(message_head)
{
  typedef Containerd__Services__Content__V1__WriteContentRequest req_t;
  req_t req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  const size_t len = head_lens[_i];
  const unsigned field =
      protobuf_c_message_descriptor_get_field_by_name(
          &containerd__services__content__v1__write_content_request__descriptor, "data")
          ->id;
  cleanup_buf struct buf got = BUF_INIT;
  cleanup_buf struct buf want = BUF_INIT;
  uint8_t *data = xmalloc(len + 1);
  ssize_t total;

  for (size_t i = 0; i < len; i++)
    data[i] = (uint8_t)(i * 7 + 1);
  req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
  req.ref = (char *)"ref";
  req.offset = 1 << 20;
  buf_addstr(&got, "x"); /* what is there stays */
  total = grpc_message_head(&req.base, field, len, &got);
  buf_add(&got, data, len);
  ck_assert_int_eq(total, (ssize_t)got.len - 6);
  req.data.data = data;
  req.data.len = len;
  /* protobuf-c leaves an empty field out; its key and 0 length are as valid */
  ck_assert_int_eq(total,
                   (ssize_t)protobuf_c_message_get_packed_size(&req.base) + (len == 0 ? 2 : 0));
  ck_assert_int_eq(got.data[0], 'x');
  ck_assert_int_eq(got.data[1], 0); /* not compressed */
  ck_assert_uint_eq(((size_t)(uint8_t)got.data[2] << 24) | ((size_t)(uint8_t)got.data[3] << 16) |
                        ((size_t)(uint8_t)got.data[4] << 8) | (uint8_t)got.data[5],
                    (size_t)total);
  req_t *back = containerd__services__content__v1__write_content_request__unpack(
      NULL, (size_t)total, (const uint8_t *)got.data + 6);
  ck_assert_ptr_nonnull(back);
  ck_assert_int_eq(back->action, req.action);
  ck_assert_str_eq(back->ref, "ref");
  ck_assert_int_eq(back->offset, req.offset);
  ck_assert_uint_eq(back->data.len, len);
  ck_assert(len == 0 || memcmp(back->data.data, data, len) == 0);
  containerd__services__content__v1__write_content_request__free_unpacked(back, NULL);

  /* field 0: the whole message, as protobuf-c packs it */
  total = grpc_message_head(&req.base, 0, 0, &want);
  ck_assert_int_eq(total, (ssize_t)want.len - 5);
  req_t *whole = containerd__services__content__v1__write_content_request__unpack(
      NULL, (size_t)total, (const uint8_t *)want.data + 5);
  ck_assert_ptr_nonnull(whole);
  ck_assert_uint_eq(whole->data.len, len);
  containerd__services__content__v1__write_content_request__free_unpacked(whole, NULL);
  free(data);
}
END_TEST

/* Past the limit nothing is appended. */
START_TEST(message_head_too_large)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
  cleanup_buf struct buf b = BUF_INIT;

  ck_assert_int_eq(grpc_message_head(&req.base, 1, GRPC_MAX_MESSAGE, &b), -1);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_int_eq(grpc_message_head(&req.base, 1, GRPC_MAX_MESSAGE - 6, &b),
                   (ssize_t)GRPC_MAX_MESSAGE - 6 + 5);
  ck_assert_uint_eq(b.len, 5 + 5);
}
END_TEST

/* ---- fake peers on a unix socket ---- */

enum peer_mode {
  PEER_SILENT,    /* accepts, reads, never answers */
  PEER_DIES,      /* accepts, waits for the request, closes without reading it */
  PEER_BIG_FRAME, /* SETTINGS, then a frame larger than HTTP/2 allows by default */
  PEER_BIG_MSG,   /* answers with a gRPC message over our limit */
  PEER_RECORD,    /* reads nothing until told, then decodes and records headers */
};

#define RECORD_STREAMS 64

struct peer {
  enum peer_mode mode;
  char dir[64];
  char *path;
  int lfd;
  int go[2]; /* PEER_RECORD starts reading when a byte arrives */
  pthread_t thread;
  bool joined;
  /* PEER_RECORD: per client stream (id 1, 3, 5, …) */
  char *seen[RECORD_STREAMS][4]; /* :path, grpc-timeout, containerd-namespace, containerd-lease */
  int headers_done;
  bool saw_last; /* the HEADERS of LAST_PATH arrived */
};

#define LAST_PATH "/test.Fake/Last"

static const char *const recorded[] = {":path", "grpc-timeout", "containerd-namespace",
                                       "containerd-lease"};

static void
peer_write(int fd, const void *p, size_t n)
{
  const char *c = p;

  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    c += w;
    n -= (size_t)w;
  }
}

/* Read and drop until the client closes or TIMEOUT_MS without data. */
static void
drain(int fd, int timeout_ms)
{
  char b[4096];
  struct pollfd p = {.fd = fd, .events = POLLIN};

  while (poll(&p, 1, timeout_ms) > 0)
    if (read(fd, b, sizeof(b)) <= 0)
      return;
}

static void
frame_head(uint8_t *h, uint32_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
  h[0] = (uint8_t)(len >> 16);
  h[1] = (uint8_t)(len >> 8);
  h[2] = (uint8_t)len;
  h[3] = type;
  h[4] = flags;
  h[5] = (uint8_t)(stream >> 24);
  h[6] = (uint8_t)(stream >> 16);
  h[7] = (uint8_t)(stream >> 8);
  h[8] = (uint8_t)stream;
}

static int
rec_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
           size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
  struct peer *p = user_data;
  int32_t i = (frame->hd.stream_id - 1) / 2;

  if (i < 0 || i >= RECORD_STREAMS)
    return 0;
  for (size_t k = 0; k < ARRAY_SIZE(recorded); k++)
    if (strlen(recorded[k]) == namelen && memcmp(recorded[k], name, namelen) == 0) {
      free(p->seen[i][k]);
      p->seen[i][k] = xstrndup((const char *)value, valuelen);
    }
  return 0;
}

static int
rec_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  struct peer *p = user_data;

  if (frame->hd.type == NGHTTP2_HEADERS) {
    int32_t i = (frame->hd.stream_id - 1) / 2;
    p->headers_done++;
    if (i >= 0 && i < RECORD_STREAMS && p->seen[i][0] && strcmp(p->seen[i][0], LAST_PATH) == 0)
      p->saw_last = true;
  }
  return 0;
}

static void
record(struct peer *p, int fd)
{
  nghttp2_session_callbacks *cbs = NULL;
  nghttp2_session *session = NULL;
  uint8_t b[16384];
  char go;

  if (read(p->go[0], &go, 1) != 1)
    return;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, rec_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, rec_frame);
  nghttp2_session_server_new(&session, cbs, p);
  nghttp2_session_callbacks_del(cbs);
  while (p->headers_done < RECORD_STREAMS && !p->saw_last) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&pf, 1, 20000) <= 0)
      break;
    r = read(fd, b, sizeof(b));
    if (r <= 0 || nghttp2_session_mem_recv(session, b, (size_t)r) < 0)
      break;
  }
  nghttp2_session_del(session);
}

static void *
peer_main(void *arg)
{
  struct peer *p = arg;
  int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
  uint8_t h[9];

  if (fd < 0)
    return NULL;
  switch (p->mode) {
  case PEER_SILENT:
    drain(fd, 30000);
    break;
  case PEER_DIES: {
    /* Wait for the request, leave it unread: closing then resets the
     * connection (ECONNRESET on the client), as a killed daemon does. */
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    poll(&pf, 1, 10000);
    usleep(100000);
    break;
  }
  case PEER_BIG_FRAME: {
    static uint8_t body[20000];
    frame_head(h, 0, NGHTTP2_SETTINGS, 0, 0);
    peer_write(fd, h, sizeof(h));
    frame_head(h, sizeof(body), NGHTTP2_DATA, 0, 1);
    peer_write(fd, h, sizeof(h));
    peer_write(fd, body, sizeof(body));
    drain(fd, 10000);
    break;
  }
  case PEER_BIG_MSG: {
    /* :status 200 is entry 8 of HPACK's static table; then a message
     * prefix saying 16 MiB + 1 */
    static const uint8_t block[] = {0x88};
    static const uint8_t prefix[] = {0, 0x01, 0x00, 0x00, 0x01};
    frame_head(h, 0, NGHTTP2_SETTINGS, 0, 0);
    peer_write(fd, h, sizeof(h));
    frame_head(h, sizeof(block), NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1);
    peer_write(fd, h, sizeof(h));
    peer_write(fd, block, sizeof(block));
    frame_head(h, sizeof(prefix), NGHTTP2_DATA, 0, 1);
    peer_write(fd, h, sizeof(h));
    peer_write(fd, prefix, sizeof(prefix));
    drain(fd, 10000);
    break;
  }
  case PEER_RECORD:
    record(p, fd);
    break;
  }
  close(fd);
  return NULL;
}

static void
peer_start(struct peer *p, enum peer_mode mode)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};

  memset(p, 0, sizeof(*p));
  p->mode = mode;
  memcpy(p->dir, "/tmp/ctrx-grpc-XXXXXX", sizeof("/tmp/ctrx-grpc-XXXXXX"));
  unit_tmpdir_make(p->dir);
  p->path = xasprintf("%s/fake.sock", p->dir);
  memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
  p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(p->lfd, 0);
  ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(listen(p->lfd, 4), 0);
  ck_assert_int_eq(pipe2(p->go, O_CLOEXEC), 0);
  ck_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void
peer_stop(struct peer *p)
{
  close(p->go[1]); /* a PEER_RECORD never told to go gives up */
  if (!p->joined)
    pthread_join(p->thread, NULL);
  close(p->go[0]);
  close(p->lfd);
  unit_tmpdir_remove(p->dir);
  free(p->path);
  for (int i = 0; i < RECORD_STREAMS; i++)
    for (size_t k = 0; k < ARRAY_SIZE(recorded); k++)
      free(p->seen[i][k]);
}

static int
call_empty(struct grpc_conn *c, struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;

  return grpc_unary(c, "/containerd.services.version.v1.Version/Version", &req.base, NULL, NULL,
                    NULL, err);
}

static int64_t
cpu_ms(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A socket that accepts and never completes the HTTP/2 handshake: the call
 * ends at --timeout (1 s), not at the connect timeout (20 s), and the wait
 * sleeps in poll instead of spinning. */
START_TEST(silent_peer_deadline)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  int64_t t0, wall, cpu0, cpu;

  peer_start(&p, PEER_SILENT);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 20000, &c, &err), 0);
  t0 = now_ms();
  cpu0 = cpu_ms();
  grpc_conn_set_deadline(c, t0 + 1000);
  ck_assert_int_eq(call_empty(c, &err), -1);
  wall = now_ms() - t0;
  cpu = cpu_ms() - cpu0;
  /* the bound is the feature: generous for a loaded machine */
  ck_assert_msg(wall >= 900 && wall < 8000 && cpu * 10 < wall * 3,
                "the call took %lld ms and %lld ms of CPU: %s", (long long)wall, (long long)cpu,
                err->msg);
  ck_assert_msg(error_is(err, ERR_DEADLINE), "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "handshake") != NULL, "%s", err->msg);
  error_free(err);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* A daemon that dies with our request unread: the error names the lost
 * connection and why, not nghttp2's "user callback function failed". */
START_TEST(peer_dies_mid_call)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;

  peer_start(&p, PEER_DIES);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 20000, &c, &err), 0);
  grpc_conn_set_deadline(c, now_ms() + 10000);
  ck_assert_int_eq(call_empty(c, &err), -1);
  ck_assert_msg(error_is(err, ERR_UNAVAILABLE), "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "connection to the server at '") != NULL &&
                    strstr(err->msg, "' lost: ") != NULL,
                "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "callback") == NULL, "%s", err->msg);
  error_free(err);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* A frame over our SETTINGS_MAX_FRAME_SIZE: nghttp2 ends the session; the
 * call fails at once and says why, instead of waiting for its deadline. */
START_TEST(peer_big_frame)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  int64_t t0;

  peer_start(&p, PEER_BIG_FRAME);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 20000, &c, &err), 0);
  t0 = now_ms();
  grpc_conn_set_deadline(c, t0 + 20000);
  ck_assert_int_eq(call_empty(c, &err), -1);
  ck_assert_msg(error_is(err, ERR_UNAVAILABLE), "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "FRAME_SIZE_ERROR") != NULL, "%s", err->msg);
  ck_assert_msg(now_ms() - t0 < 15000, "waited for the deadline");
  error_free(err);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

START_TEST(peer_big_message)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;

  peer_start(&p, PEER_BIG_MSG);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 20000, &c, &err), 0);
  grpc_conn_set_deadline(c, now_ms() + 20000);
  ck_assert_int_eq(call_empty(c, &err), -1);
  ck_assert_msg(error_is(err, ERR_EXHAUSTED), "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "16777217 bytes") != NULL && strstr(err->msg, "16777216") != NULL,
                "%s", err->msg);
  error_free(err);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* Scribble over the stack below the caller, where a returned function's
 * locals were. */
static __attribute__((noinline)) void
scribble_stack(void)
{
  volatile char junk[8192];

  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = 'Z';
}

static char *
big_value(const char *what, int i)
{
  struct buf b = BUF_INIT;

  /* long and different per stream: HPACK cannot index it away, and all of
   * them together are more than the socket takes while the peer sleeps */
  buf_addf(&b, "%s-%d-", what, i);
  for (int k = 0; b.len < 6000; k++)
    buf_addf(&b, "%x", (unsigned)(k * 2654435761u + (unsigned)i));
  return buf_steal(&b);
}

/* Every header value of a request outlives grpc_stream_open: the peer reads
 * the HEADERS frames only after the caller's buffers (path, namespace,
 * lease) are overwritten and the stack below it reused. */
START_TEST(headers_outlive_open)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  struct grpc_stream *s[RECORD_STREAMS] = {0};
  int64_t t0;

  peer_start(&p, PEER_RECORD);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 30000, &c, &err), 0);
  t0 = now_ms();
  for (int i = 0; i < RECORD_STREAMS; i++) {
    char *path = xasprintf("/test.Fake/Call%d", i);
    char *ns = big_value("ns", i);
    char *lease = big_value("lease", i);
    struct grpc_metadata md[] = {{"containerd-namespace", ns}, {"containerd-lease", lease}};
    struct grpc_call_opts o = {.md = md, .n_md = 2, .deadline_ms = t0 + 60000};

    ck_assert_msg(grpc_stream_open(c, path, &o, &s[i], &err) == 0, "%s", err ? err->msg : "");
    memset(path, 'X', strlen(path));
    memset(ns, 'X', strlen(ns));
    memset(lease, 'X', strlen(lease));
    scribble_stack();
    free(path);
    free(ns);
    free(lease);
  }
  ck_assert_int_eq(write(p.go[1], "g", 1), 1);
  /* let the connection flush while the peer reads; its close ends this */
  grpc_stream_close_send(s[0], &err);
  {
    struct error *e = NULL;
    grpc_stream_recv(s[0], NULL, NULL, &e);
    error_free(e);
  }
  pthread_join(p.thread, NULL);
  p.joined = true;
  ck_assert_int_eq(p.headers_done, RECORD_STREAMS);
  for (int i = 0; i < RECORD_STREAMS; i++) {
    cleanup_free char *path = xasprintf("/test.Fake/Call%d", i);
    cleanup_free char *ns = big_value("ns", i);
    cleanup_free char *lease = big_value("lease", i);
    const char *t = p.seen[i][1];
    size_t digits;
    int64_t v = 0;

    ck_assert_ptr_nonnull(p.seen[i][0]);
    ck_assert_str_eq(p.seen[i][0], path);
    ck_assert_msg(t != NULL, "stream %d: no grpc-timeout", i);
    digits = strspn(t, "0123456789");
    ck_assert_msg(digits >= 1 && digits <= 8 && t[digits] == 'u' && t[digits + 1] == '\0',
                  "stream %d: grpc-timeout '%s'", i, t);
    v = strtoll(t, NULL, 10);
    ck_assert_msg(v > 30000000 && v <= 60000000, "stream %d: grpc-timeout '%s'", i, t);
    ck_assert_ptr_nonnull(p.seen[i][2]);
    ck_assert_str_eq(p.seen[i][2], ns);
    ck_assert_ptr_nonnull(p.seen[i][3]);
    ck_assert_str_eq(p.seen[i][3], lease);
  }
  for (int i = 0; i < RECORD_STREAMS; i++)
    grpc_stream_free(s[i]);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* Streams given up while their HEADERS still wait for the socket (a pull
 * that fails and frees its other calls): nothing of them is used after
 * grpc_stream_free, and the connection still carries the next call. */
START_TEST(free_before_headers_sent)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  struct grpc_stream *last = NULL;

  peer_start(&p, PEER_RECORD);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 30000, &c, &err), 0);
  for (int i = 0; i < RECORD_STREAMS - 1; i++) {
    cleanup_free char *lease = big_value("lease", i);
    struct grpc_metadata md[] = {{"containerd-lease", lease}};
    struct grpc_call_opts o = {.md = md, .n_md = 1, .deadline_ms = now_ms() + 60000};
    struct grpc_stream *s = NULL;

    ck_assert_msg(grpc_stream_open(c, "/test.Fake/Gone", &o, &s, &err) == 0, "%s",
                  err ? err->msg : "");
    grpc_stream_free(s);
  }
  {
    struct grpc_call_opts o = {.deadline_ms = now_ms() + 30000};
    ck_assert_int_eq(grpc_stream_open(c, LAST_PATH, &o, &last, &err), 0);
  }
  ck_assert_int_eq(write(p.go[1], "g", 1), 1);
  grpc_stream_close_send(last, &err);
  {
    struct error *e = NULL;
    grpc_stream_recv(last, NULL, NULL, &e);
    error_free(e);
  }
  pthread_join(p.thread, NULL);
  p.joined = true;
  ck_assert(p.saw_last);
  grpc_stream_free(last);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* The connection's metadata goes with every call; a call's own value for
 * the same key replaces it, and an empty value is not sent at all. */
static const struct {
  const char *ns;    /* the call's containerd-namespace, NULL: none given */
  const char *lease; /* the call's containerd-lease, NULL: none given */
  const char *want_ns, *want_lease;
} md_cases[] = {
    {NULL, NULL, "conn-ns", NULL},
    {"call-ns", NULL, "call-ns", NULL},
    {NULL, "L", "conn-ns", "L"},
    {"", "", NULL, NULL},
};

START_TEST(metadata_defaults)
{
  struct peer p;
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  struct grpc_stream *s[ARRAY_SIZE(md_cases) + 1] = {0};

  peer_start(&p, PEER_RECORD);
  ck_assert_int_eq(grpc_connect(p.path, NULL, 30000, &c, &err), 0);
  grpc_conn_set_metadata(c, "containerd-namespace", "first");
  grpc_conn_set_metadata(c, "containerd-namespace", "conn-ns");
  for (size_t i = 0; i < ARRAY_SIZE(md_cases); i++) {
    struct grpc_metadata md[2];
    struct grpc_call_opts o = {.md = md, .deadline_ms = now_ms() + 60000};
    if (md_cases[i].ns)
      md[o.n_md++] = (struct grpc_metadata){"containerd-namespace", md_cases[i].ns};
    if (md_cases[i].lease)
      md[o.n_md++] = (struct grpc_metadata){"containerd-lease", md_cases[i].lease};
    ck_assert_int_eq(grpc_stream_open(c, "/test.Fake/Call", &o, &s[i], &err), 0);
  }
  ck_assert_int_eq(grpc_stream_open(c, LAST_PATH, NULL, &s[ARRAY_SIZE(md_cases)], &err), 0);
  ck_assert_int_eq(write(p.go[1], "g", 1), 1);
  pthread_join(p.thread, NULL);
  p.joined = true;
  ck_assert(p.saw_last);
  for (size_t i = 0; i < ARRAY_SIZE(md_cases); i++) {
    if (md_cases[i].want_ns)
      ck_assert_str_eq(p.seen[i][2], md_cases[i].want_ns);
    else
      ck_assert_ptr_null(p.seen[i][2]);
    if (md_cases[i].want_lease)
      ck_assert_str_eq(p.seen[i][3], md_cases[i].want_lease);
    else
      ck_assert_ptr_null(p.seen[i][3]);
  }
  for (size_t i = 0; i < ARRAY_SIZE(s); i++)
    grpc_stream_free(s[i]);
  grpc_conn_free(c);
  peer_stop(&p);
}
END_TEST

/* Without a peer description the transport names no one in particular and
 * gives no hint. */
START_TEST(anonymous_peer)
{
  struct grpc_conn *c = NULL;
  struct error *err = NULL;

  ck_assert_int_eq(grpc_connect("/nonexistent/grpc.sock", NULL, 1000, &c, &err), -1);
  ck_assert_str_eq(err->msg,
                   "connect to the server at '/nonexistent/grpc.sock': No such file or directory");
  error_free(err);
}
END_TEST

Suite *
grpc_suite(void)
{
  Suite *s = suite_create("grpc");
  TCase *t = tcase_create("pure");
  TCase *f = tcase_create("fake_peers");

  tcase_add_loop_test(t, timeout_units, 0, (int)ARRAY_SIZE(timeouts));
  tcase_add_loop_test(t, percent_decode, 0, (int)ARRAY_SIZE(decodes));
  tcase_add_loop_test(t, message_head, 0, (int)ARRAY_SIZE(head_lens));
  tcase_add_test(t, message_head_too_large);
  suite_add_tcase(s, t);
  tcase_set_timeout(f, 60);
  tcase_add_test(f, silent_peer_deadline);
  tcase_add_test(f, metadata_defaults);
  tcase_add_test(f, anonymous_peer);
  tcase_add_test(f, peer_dies_mid_call);
  tcase_add_test(f, peer_big_frame);
  tcase_add_test(f, peer_big_message);
  tcase_add_test(f, headers_outlive_open);
  tcase_add_test(f, free_before_headers_sent);
  suite_add_tcase(s, f);
  return s;
}
