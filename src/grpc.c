#include "grpc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "version.h"

/* Unsent bytes a stream may queue before grpc_stream_send waits: enough for
 * several content chunks in flight (pull writes 256 KiB ones, ctr 1 MiB),
 * little enough to bound memory. */
#define SEND_QUEUE_LIMIT (4u << 20)
/* Our receive windows: large, so a server stream is never throttled by us. */
#define RECV_WINDOW (16 << 20)
#define CONN_WINDOW (64 << 20)

struct grpc_conn {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int fd;
  int wake_fd;
  nghttp2_session *session;
  bool polling;               /* a thread is inside poll() for everyone */
  bool got_settings;          /* the server's SETTINGS arrived: the handshake is done */
  int64_t handshake_deadline; /* until got_settings, calls fail after this */
  int64_t connect_timeout_ms;
  char *dead;           /* why the connection is unusable, NULL while it is fine */
  bool dead_is_connect; /* dead says it all: the handshake never completed */
  int io_errno;         /* errno of the send or recv that failed */
  char *address;
  char *peer;        /* the server, as messages name it */
  char *silent_hint; /* for a handshake that does not complete, NULL: none */
  struct strv md;    /* default metadata: key, value, key, value, ... */
  int64_t deadline_ms;
  bool debug;
};

struct grpc_stream {
  struct grpc_conn *conn;
  int32_t id;
  char *path;
  int64_t deadline_ms;
  /* sending */
  struct buf sendq;
  size_t send_off;
  /* Bytes that follow the queue, still the caller's: grpc_stream_send_bytes
   * waits until they are all out, so they are never copied but once. */
  const uint8_t *ext;
  size_t ext_len, ext_off;
  bool send_eof;
  bool deferred;
  /* receiving */
  struct buf rx;
  int http_status;
  int grpc_status; /* -1 until the trailers say */
  char *grpc_message;
  bool closed;
  uint32_t rst_code;
};

static void
conn_kill(struct grpc_conn *c, const char *why)
{
  if (c->dead == NULL)
    c->dead = xstrdup(why);
  pthread_cond_broadcast(&c->cond);
}

/* Mark the connection dead after nghttp2 failed with RV, in words that say
 * what happened to the socket rather than nghttp2's own. */
static void
conn_kill_rv(struct grpc_conn *c, int rv)
{
  char *why;

  if (rv == NGHTTP2_ERR_EOF)
    why = xasprintf("%s closed the connection", c->peer);
  else if (rv == NGHTTP2_ERR_CALLBACK_FAILURE && c->io_errno != 0)
    why = xstrdup(strerror(c->io_errno));
  else
    why = xasprintf("http/2: %s", nghttp2_strerror(rv));
  conn_kill(c, why);
  free(why);
}

static ssize_t
cb_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags, void *user_data)
{
  struct grpc_conn *c = user_data;
  ssize_t w;

  do
    w = send(c->fd, data, length, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return NGHTTP2_ERR_WOULDBLOCK;
    c->io_errno = errno;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return w;
}

static ssize_t
cb_recv(nghttp2_session *session, uint8_t *buf, size_t length, int flags, void *user_data)
{
  struct grpc_conn *c = user_data;
  ssize_t r;

  do
    r = recv(c->fd, buf, length, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return NGHTTP2_ERR_WOULDBLOCK;
    c->io_errno = errno;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (r == 0)
    return NGHTTP2_ERR_EOF;
  return r;
}

static int
cb_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  struct grpc_conn *c = user_data;

  if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
    c->got_settings = true;
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    /* Only the code: the debug data is the server's free text. */
    char *why = xasprintf("%s closed the connection (GOAWAY, %s)", c->peer,
                          nghttp2_http2_strerror(frame->goaway.error_code));
    conn_kill(c, why);
    free(why);
  }
  return 0;
}

/* nghttp2 ends the session itself when the server breaks the protocol (a
 * frame larger than we allow, a bad header block): it sends GOAWAY with the
 * reason and then ignores everything. Say so, instead of waiting on a
 * connection that will never deliver again. */
static int
cb_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
  struct grpc_conn *c = user_data;

  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    char *why = xasprintf("protocol error by %s: %s (%.*s)", c->peer,
                          nghttp2_http2_strerror(frame->goaway.error_code),
                          (int)frame->goaway.opaque_data_len,
                          frame->goaway.opaque_data ? (const char *)frame->goaway.opaque_data : "");
    conn_kill(c, why);
    free(why);
  }
  return 0;
}

static int
cb_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
          const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
  struct grpc_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

  if (s == NULL)
    return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
    int64_t v = 0;
    char tmp[8] = {0};
    memcpy(tmp, value, valuelen < 7 ? valuelen : 7);
    if (parse_int64(tmp, 10, &v) == 0)
      s->http_status = (int)v;
  } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
    int64_t v = 0;
    char tmp[12] = {0};
    memcpy(tmp, value, valuelen < 11 ? valuelen : 11);
    s->grpc_status = parse_int64(tmp, 10, &v) == 0 ? (int)v : ERR_UNKNOWN;
  } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    free(s->grpc_message);
    s->grpc_message = grpc_percent_decode((const char *)value, valuelen);
  }
  return 0;
}

static int
cb_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
              size_t len, void *user_data)
{
  struct grpc_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);

  if (s != NULL)
    buf_add(&s->rx, data, len);
  return 0;
}

static int
cb_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
  struct grpc_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);

  if (s != NULL) {
    s->closed = true;
    s->rst_code = error_code;
  }
  return 0;
}

/* Bytes queued on S and not yet taken by nghttp2. */
static size_t
stream_unsent(const struct grpc_stream *s)
{
  return s->sendq.len - s->send_off + (s->ext != NULL ? s->ext_len - s->ext_off : 0);
}

static ssize_t
cb_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *out, size_t length,
             uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
  struct grpc_stream *s = source->ptr;
  size_t avail = s->sendq.len - s->send_off;
  size_t n = avail < length ? avail : length;

  if (n > 0) {
    memcpy(out, s->sendq.data + s->send_off, n);
    s->send_off += n;
    if (s->send_off == s->sendq.len) {
      s->sendq.len = 0;
      s->send_off = 0;
    } else if (s->send_off > (1u << 20)) {
      buf_consume(&s->sendq, s->send_off);
      s->send_off = 0;
    }
  } else if (s->ext != NULL && s->ext_off < s->ext_len) {
    n = s->ext_len - s->ext_off < length ? s->ext_len - s->ext_off : length;
    memcpy(out, s->ext + s->ext_off, n);
    s->ext_off += n;
  }
  if (stream_unsent(s) == 0 && s->send_eof) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
  }
  if (n == 0) {
    s->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return (ssize_t)n;
}

/* Flush what nghttp2 has to send; with the lock held. */
static void
conn_flush(struct grpc_conn *c)
{
  int rv;

  if (c->dead)
    return;
  rv = nghttp2_session_send(c->session);
  if (rv != 0)
    conn_kill_rv(c, rv);
  else if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
    conn_kill(c, "the HTTP/2 session has ended");
  else if (c->polling && nghttp2_session_want_write(c->session)) {
    /* The poller may be waiting without POLLOUT: make it look again. */
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof(one)) < 0) {
      /* the counter is full: the poller wakes anyway */
    }
  }
}

/* Drive the socket for at most timeout_ms (-1: no limit). With the lock held;
 * releases it around poll(). */
static void
conn_pump(struct grpc_conn *c, int timeout_ms)
{
  struct pollfd pfd[2];
  int rv;

  c->polling = true;
  pfd[0].fd = c->fd;
  pfd[0].events = POLLIN;
  if (nghttp2_session_want_write(c->session))
    pfd[0].events |= POLLOUT;
  pfd[1].fd = c->wake_fd;
  pfd[1].events = POLLIN;
  pthread_mutex_unlock(&c->mu);
  rv = poll(pfd, 2, timeout_ms);
  pthread_mutex_lock(&c->mu);
  c->polling = false;
  if (rv < 0 && errno != EINTR) {
    conn_kill(c, strerror(errno));
  } else if (rv > 0) {
    if (pfd[1].revents & POLLIN) {
      uint64_t v;
      if (read(c->wake_fd, &v, sizeof(v)) < 0) {
        /* nothing to drain */
      }
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      rv = nghttp2_session_recv(c->session);
      if (rv != 0)
        conn_kill_rv(c, rv);
    }
    conn_flush(c);
  }
  pthread_cond_broadcast(&c->cond);
}

static int
ms_until(int64_t deadline)
{
  int64_t left;

  if (deadline <= 0)
    return -1;
  left = deadline - now_ms();
  if (left < 0)
    return 0;
  return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Wait until done(arg) holds, the connection dies, or the deadline passes.
 * With the lock held. Returns 0 when done, -1 on death (*why set) or -2 on
 * timeout. */
static int
conn_wait(struct grpc_conn *c, bool (*done)(void *), void *arg, int64_t deadline)
{
  for (;;) {
    int64_t until;
    int left;

    if (done(arg))
      return 0;
    if (c->dead)
      return -1;
    /* Calls go out before the server's SETTINGS come back (one round trip
     * saved); a socket that never answers still fails within the connect
     * timeout. */
    until = deadline;
    if (!c->got_settings && c->handshake_deadline > 0) {
      if (now_ms() >= c->handshake_deadline) {
        char *why =
            xasprintf("connect to %s at '%s': no answer within %" PRId64 " ms%s%s%s", c->peer,
                      c->address, c->connect_timeout_ms, c->silent_hint ? " (" : "",
                      c->silent_hint ? c->silent_hint : "", c->silent_hint ? ")" : "");
        conn_kill(c, why);
        free(why);
        c->dead_is_connect = true;
        return -1;
      }
      if (until <= 0 || c->handshake_deadline < until)
        until = c->handshake_deadline;
    }
    /* Block in poll (or on the condition) until the nearer of the call's
     * deadline and the handshake's: whichever passes first ends the wait. */
    left = ms_until(until);
    if (left == 0) {
      if (deadline > 0 && now_ms() >= deadline)
        return -2;
      continue; /* the handshake deadline: reported above */
    }
    if (!c->polling) {
      conn_pump(c, left);
    } else {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      /* Wake at least every 100 ms: the poller may leave without news for us. */
      int step = left < 0 || left > 100 ? 100 : left;
      ts.tv_sec += step / 1000;
      ts.tv_nsec += (long)(step % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    }
  }
}

static const char *
socket_path(const char *address)
{
  if (str_has_prefix(address, "unix://"))
    return address + 7;
  if (str_has_prefix(address, "unix:"))
    return address + 5;
  return address;
}

int
grpc_connect(const char *address, const struct grpc_peer *peer, int64_t connect_timeout_ms,
             struct grpc_conn **out, struct error **err)
{
  static const struct grpc_peer anonymous = {"the server", NULL, NULL};
  const char *path = socket_path(address);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  nghttp2_session_callbacks *cbs = NULL;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, RECV_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 1 << 20},
  };
  struct grpc_conn *c;
  int rv;

  if (strlen(path) >= sizeof(sa.sun_path))
    return error_setc(err, ERR_INVALID, "address '%s': socket path too long", address);
  memcpy(sa.sun_path, path, strlen(path) + 1);

  c = xcalloc(1, sizeof(*c));
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cond, NULL);
  c->wake_fd = -1;
  c->address = xstrdup(address);
  if (peer == NULL)
    peer = &anonymous;
  c->peer = xstrdup(peer->name ? peer->name : anonymous.name);
  c->silent_hint = peer->silent_hint ? xstrdup(peer->silent_hint) : NULL;
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    error_set(err, errno, "connect to %s at '%s'", c->peer, address);
    goto fail;
  }
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS &&
      errno != EAGAIN) {
    int e = errno;
    error_setc(err, ERR_UNAVAILABLE, "connect to %s at '%s': %s%s%s%s", c->peer, address,
               strerror(e), peer->refused_hint ? " (" : "",
               peer->refused_hint ? peer->refused_hint : "", peer->refused_hint ? ")" : "");
    goto fail;
  }
  c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->wake_fd < 0) {
    error_set(err, errno, "eventfd");
    goto fail;
  }

  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, cb_send);
  nghttp2_session_callbacks_set_recv_callback(cbs, cb_recv);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, cb_frame_send);
  nghttp2_session_callbacks_set_on_header_callback(cbs, cb_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb_stream_close);
  rv = nghttp2_session_client_new(&c->session, cbs, c);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    error_setc(err, ERR_INTERNAL, "http/2 session: %s", nghttp2_strerror(rv));
    goto fail;
  }
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv));
  nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);

  if (connect_timeout_ms <= 0)
    connect_timeout_ms = 10000;
  c->connect_timeout_ms = connect_timeout_ms;
  c->handshake_deadline = now_ms() + connect_timeout_ms;
  pthread_mutex_lock(&c->mu);
  conn_flush(c);
  pthread_mutex_unlock(&c->mu);
  *out = c;
  return 0;

fail:
  grpc_conn_free(c);
  return -1;
}

void
grpc_conn_free(struct grpc_conn *c)
{
  if (c == NULL)
    return;
  if (c->session) {
    pthread_mutex_lock(&c->mu);
    if (!c->dead) {
      nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
      nghttp2_session_send(c->session);
    }
    pthread_mutex_unlock(&c->mu);
    nghttp2_session_del(c->session);
  }
  if (c->fd >= 0)
    close(c->fd);
  if (c->wake_fd >= 0)
    close(c->wake_fd);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cond);
  free(c->dead);
  free(c->address);
  free(c->peer);
  free(c->silent_hint);
  strv_release(&c->md);
  free(c);
}

void
grpc_conn_set_metadata(struct grpc_conn *c, const char *key, const char *value)
{
  for (size_t i = 0; i + 1 < c->md.n; i += 2)
    if (strcmp(c->md.v[i], key) == 0) {
      free(c->md.v[i + 1]);
      c->md.v[i + 1] = xstrdup(value ? value : "");
      return;
    }
  strv_push(&c->md, key);
  strv_push(&c->md, value ? value : "");
}

void
grpc_conn_set_deadline(struct grpc_conn *c, int64_t deadline_ms)
{
  c->deadline_ms = deadline_ms;
}

void
grpc_conn_set_debug(struct grpc_conn *c, bool debug)
{
  c->debug = debug;
}

/* nghttp2_submit_request copies every name and value unless told not to;
 * what it does not copy must live until the HEADERS frame has left, which
 * can be long after grpc_stream_open returns (a full socket, a busy peer).
 * So only string literals go uncopied; anything else (the path, metadata,
 * timeout) is copied at submit time. */
#define NV_STATIC(n, v)                                                                            \
  {                                                                                                \
    (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1,                                  \
        NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                               \
  }
#define NV_COPY(n, v)                                                                              \
  {                                                                                                \
    (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME         \
  }
#define NV_COPY_BOTH(n, v)                                                                         \
  {                                                                                                \
    (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                     \
  }

/* The value a call sends for key: its own, else the connection's default. */
static const char *
md_value(const struct grpc_conn *c, const struct grpc_call_opts *opts, const char *key)
{
  for (size_t i = 0; opts && i < opts->n_md; i++)
    if (strcmp(opts->md[i].key, key) == 0)
      return opts->md[i].value;
  for (size_t i = 0; i + 1 < c->md.n; i += 2)
    if (strcmp(c->md.v[i], key) == 0)
      return c->md.v[i + 1];
  return NULL;
}

static void
md_add(nghttp2_nv *nva, size_t *n, const char *key, const char *value, struct buf *shown)
{
  if (value == NULL || *value == '\0')
    return;
  nva[(*n)++] = (nghttp2_nv)NV_COPY_BOTH(key, value);
  buf_addf(shown, "%s%s %s", shown->len ? ", " : "", key, value);
}

/* The metadata of a call: the connection's defaults (a call's own value for
 * the same key replaces one), then the call's other keys; empty values are
 * not sent. shown receives them for the debug log. */
static void
md_headers(const struct grpc_conn *c, const struct grpc_call_opts *opts, nghttp2_nv *nva, size_t *n,
           struct buf *shown)
{
  for (size_t i = 0; i + 1 < c->md.n; i += 2)
    md_add(nva, n, c->md.v[i], md_value(c, opts, c->md.v[i]), shown);
  for (size_t i = 0; opts && i < opts->n_md; i++) {
    bool dup = false;
    for (size_t k = 0; k + 1 < c->md.n; k += 2)
      dup |= strcmp(c->md.v[k], opts->md[i].key) == 0;
    for (size_t k = 0; k < i; k++)
      dup |= strcmp(opts->md[k].key, opts->md[i].key) == 0;
    if (!dup)
      md_add(nva, n, opts->md[i].key, opts->md[i].value, shown);
  }
}

static int64_t
call_deadline(const struct grpc_conn *c, const struct grpc_call_opts *opts)
{
  int64_t deadline = opts && opts->deadline_ms ? opts->deadline_ms : c->deadline_ms;

  if (c->deadline_ms && (deadline == 0 || c->deadline_ms < deadline))
    deadline = c->deadline_ms;
  return deadline;
}

int
grpc_stream_open(struct grpc_conn *c, const char *path, const struct grpc_call_opts *opts,
                 struct grpc_stream **out, struct error **err)
{
  char timeout[GRPC_TIMEOUT_SIZE] = "";
  cleanup_free nghttp2_nv *nva = xcalloc(8 + c->md.n / 2 + (opts ? opts->n_md : 0), sizeof(*nva));
  cleanup_buf struct buf shown = BUF_INIT;
  size_t n = 0;
  nghttp2_data_provider prd;
  struct grpc_stream *s;
  int64_t deadline = call_deadline(c, opts);

  s = xcalloc(1, sizeof(*s));
  s->conn = c;
  s->path = xstrdup(path);
  s->grpc_status = -1;
  s->deadline_ms = deadline;

  nva[n++] = (nghttp2_nv)NV_STATIC(":method", "POST");
  nva[n++] = (nghttp2_nv)NV_STATIC(":scheme", "http");
  nva[n++] = (nghttp2_nv)NV_COPY(":path", path);
  nva[n++] = (nghttp2_nv)NV_STATIC(":authority", "localhost");
  nva[n++] = (nghttp2_nv)NV_STATIC("content-type", "application/grpc");
  nva[n++] = (nghttp2_nv)NV_STATIC("te", "trailers");
  nva[n++] = (nghttp2_nv)NV_STATIC("user-agent", "ctrx/" CTRX_VERSION);
  if (deadline > 0) {
    int64_t left = deadline - now_ms();
    if (left > INT64_MAX / 1000000)
      left = INT64_MAX / 1000000;
    grpc_timeout_format(left * 1000000, timeout);
    nva[n++] = (nghttp2_nv)NV_COPY("grpc-timeout", timeout);
  }
  md_headers(c, opts, nva, &n, &shown);

  prd.source.ptr = s;
  prd.read_callback = cb_data_read;

  pthread_mutex_lock(&c->mu);
  if (c->dead) {
    if (c->dead_is_connect)
      error_setc(err, ERR_DEADLINE, "%s: %s", path, c->dead);
    else
      error_setc(err, ERR_UNAVAILABLE, "%s: connection to %s at '%s' lost: %s", path, c->peer,
                 c->address, c->dead);
    pthread_mutex_unlock(&c->mu);
    grpc_stream_free(s);
    return -1;
  }
  s->id = nghttp2_submit_request(c->session, NULL, nva, n, &prd, s);
  if (s->id < 0) {
    error_setc(err, ERR_INTERNAL, "%s: %s", path, nghttp2_strerror(s->id));
    pthread_mutex_unlock(&c->mu);
    s->id = 0;
    grpc_stream_free(s);
    return -1;
  }
  conn_flush(c);
  pthread_mutex_unlock(&c->mu);
  if (c->debug)
    log_debug("grpc %s%s%s%s", path, shown.len ? " (" : "", shown.len ? shown.data : "",
              shown.len ? ")" : "");
  *out = s;
  return 0;
}

static bool
sendq_drained(void *arg)
{
  struct grpc_stream *s = arg;
  return s->closed || s->sendq.len - s->send_off <= SEND_QUEUE_LIMIT;
}

static int
stream_failure(struct grpc_stream *s, int rv, struct error **err)
{
  struct grpc_conn *c = s->conn;

  if (rv == -2 && !c->got_settings)
    return error_setc(err, ERR_DEADLINE,
                      "%s: deadline exceeded while %s at '%s' had not yet answered the "
                      "HTTP/2 handshake",
                      s->path, c->peer, c->address);
  if (rv == -2)
    return error_setc(err, ERR_DEADLINE, "%s: deadline exceeded", s->path);
  if (c->dead_is_connect)
    return error_setc(err, ERR_DEADLINE, "%s", c->dead);
  return error_setc(err, ERR_UNAVAILABLE, "%s: connection to %s at '%s' lost: %s", s->path, c->peer,
                    c->address, c->dead ? c->dead : "unknown cause");
}

static void
stream_resume(struct grpc_stream *s)
{
  if (s->deferred && !s->closed) {
    s->deferred = false;
    nghttp2_session_resume_data(s->conn->session, s->id);
  }
  conn_flush(s->conn);
}

static bool
ext_sent(void *arg)
{
  struct grpc_stream *s = arg;
  return s->closed || s->ext_off == s->ext_len;
}

/* Queue MSG, then (when DATA is not NULL) a bytes field FIELD of LEN bytes
 * that stays in the caller's buffer until it is out: protobuf readers take
 * fields in any order, so appending one is a valid encoding of the message. */
static int
stream_send(struct grpc_stream *s, const ProtobufCMessage *msg, unsigned field, const void *data,
            size_t len, struct error **err)
{
  struct grpc_conn *c = s->conn;
  int rv = 0;

  pthread_mutex_lock(&c->mu);
  if (s->send_eof) {
    pthread_mutex_unlock(&c->mu);
    return error_setc(err, ERR_INTERNAL, "%s: send after close", s->path);
  }
  if (grpc_message_head(msg, data != NULL ? field : 0, len, &s->sendq) < 0) {
    pthread_mutex_unlock(&c->mu);
    return error_setc(err, ERR_INVALID, "%s: message of over %u bytes", s->path, GRPC_MAX_MESSAGE);
  }
  if (data != NULL) {
    s->ext = data;
    s->ext_len = len;
    s->ext_off = 0;
  }
  stream_resume(s);
  if (data != NULL)
    rv = conn_wait(c, ext_sent, s, s->deadline_ms);
  else if (!sendq_drained(s))
    rv = conn_wait(c, sendq_drained, s, s->deadline_ms);
  s->ext = NULL; /* sent, or the stream is lost: nghttp2 never reads it again */
  pthread_mutex_unlock(&c->mu);
  if (rv < 0)
    return stream_failure(s, rv, err);
  return 0;
}

int
grpc_stream_send(struct grpc_stream *s, const ProtobufCMessage *msg, struct error **err)
{
  return stream_send(s, msg, 0, NULL, 0, err);
}

int
grpc_stream_send_bytes(struct grpc_stream *s, const ProtobufCMessage *msg, unsigned field,
                       const void *data, size_t len, struct error **err)
{
  return stream_send(s, msg, field, data, len, err);
}

int
grpc_stream_close_send(struct grpc_stream *s, struct error **err)
{
  struct grpc_conn *c = s->conn;

  pthread_mutex_lock(&c->mu);
  s->send_eof = true;
  stream_resume(s);
  pthread_mutex_unlock(&c->mu);
  return 0;
}

/* grpc_frame_parse, naming the sender in its errors. */
static int
frame_parse(const char *peer, const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
            struct error **err)
{
  uint32_t n;

  if (len < 5)
    return 0;
  if (buf[0] != 0)
    return error_setc(err, ERR_INTERNAL, "compressed gRPC message (flag %u) not supported", buf[0]);
  n = ((uint32_t)buf[1] << 24) | ((uint32_t)buf[2] << 16) | ((uint32_t)buf[3] << 8) | buf[4];
  if (n > GRPC_MAX_MESSAGE)
    return error_setc(err, ERR_EXHAUSTED,
                      "%s sent a gRPC message of %" PRIu32 " bytes, larger than the %u we accept",
                      peer, n, GRPC_MAX_MESSAGE);
  if (len - 5 < n)
    return 0;
  *msg = buf + 5;
  *msg_len = n;
  return 1;
}

int
grpc_frame_parse(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
                 struct error **err)
{
  return frame_parse("the server", buf, len, msg, msg_len, err);
}

static bool
frame_or_end(void *arg)
{
  struct grpc_stream *s = arg;
  const uint8_t *m;
  size_t ml;

  if (s->closed)
    return true;
  return grpc_frame_parse((const uint8_t *)s->rx.data, s->rx.len, &m, &ml, NULL) != 0;
}

int
grpc_status_error(struct error **err, int status, const char *message, const char *path)
{
  const char *m = message && *message ? message : NULL;

  if (m)
    return error_setc(err, status, "%s", m);
  return error_setc(err, status, "%s: gRPC status %d", path ? path : "call", status);
}

int
grpc_stream_recv(struct grpc_stream *s, const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **out, struct error **err)
{
  struct grpc_conn *c = s->conn;
  const uint8_t *m = NULL;
  size_t ml = 0;
  int rv;

  if (out)
    *out = NULL;
  pthread_mutex_lock(&c->mu);
  rv = conn_wait(c, frame_or_end, s, s->deadline_ms);
  if (rv < 0) {
    pthread_mutex_unlock(&c->mu);
    return stream_failure(s, rv, err);
  }
  rv = frame_parse(c->peer, (const uint8_t *)s->rx.data, s->rx.len, &m, &ml, err);
  if (rv < 0) {
    pthread_mutex_unlock(&c->mu);
    return error_wrap(err, "%s", s->path);
  }
  if (rv == 1) {
    ProtobufCMessage *msg = NULL;
    if (desc) {
      msg = protobuf_c_message_unpack(desc, NULL, ml, m);
      if (msg == NULL) {
        pthread_mutex_unlock(&c->mu);
        return error_setc(err, ERR_INTERNAL, "%s: cannot decode the %s answer", s->path,
                          desc->name);
      }
    }
    buf_consume(&s->rx, 5 + ml);
    pthread_mutex_unlock(&c->mu);
    if (out)
      *out = msg;
    else if (msg)
      protobuf_c_message_free_unpacked(msg, NULL);
    return 1;
  }
  /* The stream is closed and holds no whole message. */
  pthread_mutex_unlock(&c->mu);
  if (s->grpc_status == 0)
    return 0;
  if (s->grpc_status > 0)
    return grpc_status_error(err, s->grpc_status, s->grpc_message, s->path);
  if (s->http_status != 0 && s->http_status != 200)
    return error_setc(err, ERR_UNKNOWN, "%s: HTTP status %d from %s", s->path, s->http_status,
                      s->conn->peer);
  return error_setc(err, ERR_UNAVAILABLE, "%s: stream reset by %s (%s)", s->path, s->conn->peer,
                    nghttp2_http2_strerror(s->rst_code));
}

void
grpc_stream_set_deadline(struct grpc_stream *s, int64_t deadline_ms)
{
  pthread_mutex_lock(&s->conn->mu);
  s->deadline_ms = deadline_ms;
  pthread_mutex_unlock(&s->conn->mu);
}

void
grpc_stream_free(struct grpc_stream *s)
{
  struct grpc_conn *c;

  if (s == NULL)
    return;
  c = s->conn;
  pthread_mutex_lock(&c->mu);
  if (s->id > 0) {
    nghttp2_session_set_stream_user_data(c->session, s->id, NULL);
    if (!s->closed && !c->dead) {
      nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
      conn_flush(c);
    }
  }
  pthread_mutex_unlock(&c->mu);
  buf_release(&s->sendq);
  buf_release(&s->rx);
  free(s->grpc_message);
  free(s->path);
  free(s);
}

void
grpc_stream_freep(struct grpc_stream **s)
{
  grpc_stream_free(*s);
  *s = NULL;
}

int
grpc_unary_begin(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
                 const struct grpc_call_opts *opts, struct grpc_stream **out, struct error **err)
{
  struct grpc_stream *s = NULL;

  if (grpc_stream_open(c, path, opts, &s, err) < 0)
    return -1;
  if (grpc_stream_send(s, req, err) < 0 || grpc_stream_close_send(s, err) < 0) {
    grpc_stream_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

int
grpc_unary_end(struct grpc_stream *s, const ProtobufCMessageDescriptor *resp_desc,
               ProtobufCMessage **resp, struct error **err)
{
  ProtobufCMessage *msg = NULL;
  int rv;

  if (resp)
    *resp = NULL;
  rv = grpc_stream_recv(s, resp_desc, &msg, err);
  if (rv < 0)
    goto out;
  if (rv == 0) {
    rv = error_setc(err, ERR_INTERNAL, "%s: no answer from %s", s->path, s->conn->peer);
    goto out;
  }
  /* Drain to the trailers: a non-OK status after the message still fails. */
  rv = grpc_stream_recv(s, NULL, NULL, err);
  if (rv < 0) {
    if (msg)
      protobuf_c_message_free_unpacked(msg, NULL);
    goto out;
  }
  if (resp)
    *resp = msg;
  else if (msg)
    protobuf_c_message_free_unpacked(msg, NULL);
  rv = 0;
out:
  grpc_stream_free(s);
  return rv < 0 ? -1 : 0;
}

int
grpc_unary(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
           const struct grpc_call_opts *opts, struct error **err)
{
  struct grpc_stream *s = NULL;

  if (resp)
    *resp = NULL;
  if (grpc_unary_begin(c, path, req, opts, &s, err) < 0)
    return -1;
  return grpc_unary_end(s, resp_desc, resp, err);
}
