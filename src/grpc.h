/* gRPC over one HTTP/2 connection (nghttp2) on a unix socket.
 *
 * One connection per process, shared by every call and safe to use from
 * several threads at once: whichever thread is waiting drives the socket and
 * the others sleep until their stream has news (leader/followers). Messages
 * are protobuf-c messages; a non-OK grpc-status becomes an error whose code is
 * that status (error_is(err, ERR_NOT_FOUND)) and whose message is the
 * server's own grpc-message. What the server is (containerd: its metadata,
 * its name in messages, hints for the user) is the caller's to say. */
#ifndef CTRX_GRPC_H
#define CTRX_GRPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct buf;
struct grpc_conn;
struct grpc_stream;

/* One metadata entry of a call: an HTTP/2 header, key in lower case. */
struct grpc_metadata {
  const char *key;
  const char *value; /* NULL or "": not sent */
};

/* Per-call options; a NULL pointer means all defaults. */
struct grpc_call_opts {
  /* sent with the call; a key the connection has a default for replaces it */
  const struct grpc_metadata *md;
  size_t n_md;
  int64_t deadline_ms; /* absolute, on now_ms()'s clock; 0: the connection's */
};

/* The server, for messages: its name ("connect to <name> at '<address>'")
 * and what to tell the user, in parentheses after the error, when its
 * socket is missing or refuses and when it does not complete the
 * handshake. NULL pointers: "the server", no hints. */
struct grpc_peer {
  const char *name;
  const char *refused_hint;
  const char *silent_hint;
};

/* Largest message accepted from the server (containerd's own send limit). */
#define GRPC_MAX_MESSAGE (16u << 20)

/* Connect to ADDRESS ("/path", "unix:///path" or "unix:/path") and start the
 * HTTP/2 handshake. A socket that is missing or refuses is an error here; one
 * that does not complete the handshake within connect_timeout_ms makes the
 * first call fail with an error naming the address (calls do not wait for the
 * handshake before they are sent). */
int grpc_connect(const char *address, const struct grpc_peer *peer, int64_t connect_timeout_ms,
                 struct grpc_conn **out, struct error **err);
void grpc_conn_free(struct grpc_conn *c);
/* Defaults for every later call: a metadata entry (both copied; setting a
 * key again replaces its value, NULL or "" stops sending it) and an absolute
 * deadline (0 = none) such as ctr's --timeout. */
void grpc_conn_set_metadata(struct grpc_conn *c, const char *key, const char *value);
void grpc_conn_set_deadline(struct grpc_conn *c, int64_t deadline_ms);
/* Log each call's path and metadata (log_debug). */
void grpc_conn_set_debug(struct grpc_conn *c, bool debug);

/* One request, one response. *resp is allocated by protobuf-c; free it with
 * protobuf_c_message_free_unpacked(). resp_desc may be NULL for calls that
 * answer google.protobuf.Empty (then resp may be NULL too). */
int grpc_unary(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
               const struct grpc_call_opts *opts, struct error **err);

/* The two halves of grpc_unary, so that several calls can be in flight at
 * once: begin sends the request; end waits for the answer and frees the
 * stream, whatever happens. */
int grpc_unary_begin(struct grpc_conn *c, const char *path, const ProtobufCMessage *req,
                     const struct grpc_call_opts *opts, struct grpc_stream **s, struct error **err);
int grpc_unary_end(struct grpc_stream *s, const ProtobufCMessageDescriptor *resp_desc,
                   ProtobufCMessage **resp, struct error **err);

/* Streams: open, send any number of messages, close the sending side, receive
 * until grpc_stream_recv returns 0 (the server ended the stream with OK).
 * A server-streaming call sends one request and closes the sending side. */
int grpc_stream_open(struct grpc_conn *c, const char *path, const struct grpc_call_opts *opts,
                     struct grpc_stream **out, struct error **err);
/* Queues the message; blocks while more than a few MiB are still unsent. */
int grpc_stream_send(struct grpc_stream *s, const ProtobufCMessage *msg, struct error **err);
/* MSG and then a bytes field FIELD holding LEN bytes at DATA, which MSG must
 * leave unset. DATA is not copied: returns once all of it is on its way. */
int grpc_stream_send_bytes(struct grpc_stream *s, const ProtobufCMessage *msg, unsigned field,
                           const void *data, size_t len, struct error **err);
int grpc_stream_close_send(struct grpc_stream *s, struct error **err);
/* 1 with *out set, 0 at the end of a stream that ended OK, -1 on error. */
int grpc_stream_recv(struct grpc_stream *s, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out, struct error **err);
/* Frees the stream; one still open is cancelled (RST_STREAM). */
/* Move the deadline of s's later receives (absolute, now_ms()'s clock; 0:
 * none). A receive that runs out returns ERR_DEADLINE and leaves the stream
 * as it was; the server is not told. */
void grpc_stream_set_deadline(struct grpc_stream *s, int64_t deadline_ms);
void grpc_stream_free(struct grpc_stream *s);
void grpc_stream_freep(struct grpc_stream **s);
#define cleanup_grpc_stream __attribute__((cleanup(grpc_stream_freep)))

/* Encode a gRPC status into our error (used by the transport and its tests):
 * message is containerd's grpc-message, percent-decoded. */
int grpc_status_error(struct error **err, int status, const char *message, const char *path);
/* A gRPC message on the wire: its 5-byte prefix and MSG packed, then (FIELD
 * not 0) the key and length of a bytes field FIELD whose LEN bytes follow
 * but are not appended; protobuf readers take fields in any order. Appended
 * to OUT; -1 (nothing appended) past GRPC_MAX_MESSAGE, else the length the
 * prefix gives. */
ssize_t grpc_message_head(const ProtobufCMessage *msg, unsigned field, size_t len, struct buf *out);

/* grpc-timeout's value for a timeout of NS nanoseconds: at most 8 digits
 * and a unit (n u m S M H), the finest unit that fits, rounded up; NS < 1
 * counts as 1. */
#define GRPC_TIMEOUT_MAX_VALUE 99999999
#define GRPC_TIMEOUT_SIZE 10 /* 8 digits, the unit, the NUL */
void grpc_timeout_format(int64_t ns, char out[GRPC_TIMEOUT_SIZE]);
/* Percent-decoding of grpc-message (LEN bytes, not terminated); a '%'
 * without two hex digits after it is kept. Never NULL; caller frees. */
char *grpc_percent_decode(const char *s, size_t len);
/* Parse one length-prefixed message from buf. Returns 1 and sets *msg_len and
 * *msg when a whole frame is there, 0 when more bytes are needed, -1 with *err
 * for a compressed or oversized frame. */
int grpc_frame_parse(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
                     struct error **err);

#endif
