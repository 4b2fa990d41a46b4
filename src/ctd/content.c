#include "content.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "ctd.h"
#include "ctd/internal.h"
#include "util.h"

#define WRITE_DESC containerd__services__content__v1__write_content_response__descriptor
typedef Containerd__Services__Content__V1__WriteContentRequest write_req;
typedef Containerd__Services__Content__V1__WriteContentResponse write_resp;

int
ctd_content_labels(struct grpc_conn *c, const char *digest, struct strv *labels, struct error **err)
{
  Containerd__Services__Content__V1__InfoRequest req =
      CONTAINERD__SERVICES__CONTENT__V1__INFO_REQUEST__INIT;
  Containerd__Services__Content__V1__InfoResponse *resp = NULL;

  req.digest = (char *)digest;
  if (grpc_unary(c, CTD_SVC("content", "Content", "Info"), &req.base,
                 &containerd__services__content__v1__info_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, err) < 0)
    return -1;
  if (labels && resp->info)
    for (size_t i = 0; i < resp->info->n_labels; i++)
      strv_push_owned(labels,
                      xasprintf("%s=%s", resp->info->labels[i]->key, resp->info->labels[i]->value));
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_content_set_labels(struct grpc_conn *c, const char *lease, const char *digest,
                       const struct strv *keys, const struct strv *values, struct error **err)
{
  Containerd__Services__Content__V1__UpdateRequest req =
      CONTAINERD__SERVICES__CONTENT__V1__UPDATE_REQUEST__INIT;
  Containerd__Services__Content__V1__Info info = CONTAINERD__SERVICES__CONTENT__V1__INFO__INIT;
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  size_t n = keys->n;
  Containerd__Services__Content__V1__Info__LabelsEntry *entries = xcalloc(n, sizeof(*entries));
  Containerd__Services__Content__V1__Info__LabelsEntry **ep = xcalloc(n, sizeof(*ep));
  char **paths = xcalloc(n, sizeof(char *));
  size_t nl = 0;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  int rv;

  for (size_t i = 0; i < n; i++) {
    paths[i] = xasprintf("labels.%s", keys->v[i]);
    if (values->v[i] && *values->v[i]) {
      containerd__services__content__v1__info__labels_entry__init(&entries[nl]);
      entries[nl].key = keys->v[i];
      entries[nl].value = values->v[i];
      ep[nl] = &entries[nl];
      nl++;
    }
  }
  info.digest = (char *)digest;
  info.n_labels = nl;
  info.labels = ep;
  mask.n_paths = n;
  mask.paths = paths;
  req.info = &info;
  req.update_mask = &mask;
  rv = grpc_unary(c, CTD_SVC("content", "Content", "Update"), &req.base, NULL, NULL, &opts, err);
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  free(ep);
  free(entries);
  if (rv < 0)
    return error_wrap(err, "label %s", digest);
  return 0;
}

struct ctd_writer {
  struct grpc_stream *s;
  char *ref;
  int64_t offset;
};

static int
writer_recv(struct ctd_writer *w, write_resp **out, struct error **err)
{
  int rv = grpc_stream_recv(w->s, &WRITE_DESC, (ProtobufCMessage **)out, err);
  if (rv == 0)
    return error_setc(err, ERR_INTERNAL, "write %s: stream ended early", w->ref);
  return rv < 0 ? -1 : 0;
}

int
ctd_writer_open(struct grpc_conn *c, const char *lease, const char *ref, int64_t total,
                const char *expected, struct ctd_writer **out, int64_t *offset, bool *exists,
                struct error **err)
{
  write_req req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  write_resp *resp = NULL;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  struct ctd_writer *w = xcalloc(1, sizeof(*w));
  int delay_ms = 16;

  *exists = false;
  w->ref = xstrdup(ref);
  req.ref = (char *)ref;
  req.total = total;
  req.expected = (char *)expected;
  for (;;) {
    struct error *e = NULL;
    if (grpc_stream_open(c, CTD_SVC("content", "Content", "Write"), &opts, &w->s, err) < 0)
      goto fail;
    if (grpc_stream_send(w->s, &req.base, err) < 0)
      goto fail;
    if (writer_recv(w, &resp, &e) == 0)
      break;
    grpc_stream_freep(&w->s);
    if (error_is(e, ERR_ALREADY_EXISTS)) {
      error_free(e);
      *exists = true;
      ctd_writer_free(w);
      *out = NULL;
      return 0;
    }
    /* Another writer holds the ref (a parallel pull): back off and retry. */
    if (error_is(e, ERR_UNAVAILABLE) && delay_ms <= 2048) {
      error_free(e);
      usleep((useconds_t)delay_ms * 1000);
      delay_ms *= 2;
      continue;
    }
    *err = e;
    goto fail;
  }
  w->offset = resp->offset;
  *offset = resp->offset;
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  *out = w;
  return 0;

fail:
  ctd_writer_free(w);
  return error_wrap(err, "write %s", ref);
}

/* The number of WriteContentRequest's data field, from our .proto. */
static unsigned
data_field(void)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
      &containerd__services__content__v1__write_content_request__descriptor, "data");
  return f->id;
}

int
ctd_writer_write(struct ctd_writer *w, const void *data, size_t len, struct error **err)
{
  write_req req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  write_resp *resp = NULL;

  req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
  req.offset = w->offset;
  /* the bytes go out from DATA itself, not from a packed copy */
  if (grpc_stream_send_bytes(w->s, &req.base, data_field(), data, len, err) < 0 ||
      writer_recv(w, &resp, err) < 0)
    return error_wrap(err, "write %s", w->ref);
  w->offset = resp->offset;
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_writer_commit(struct ctd_writer *w, int64_t total, const char *expected, struct error **err)
{
  write_req req = CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  write_resp *resp = NULL;
  int rv;

  req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT;
  req.total = total;
  req.expected = (char *)expected;
  req.offset = w->offset;
  if (grpc_stream_send(w->s, &req.base, err) < 0 || grpc_stream_close_send(w->s, err) < 0)
    return error_wrap(err, "commit %s", w->ref);
  /* containerd answers COMMIT twice; read to the end of the stream. */
  while ((rv = grpc_stream_recv(w->s, &WRITE_DESC, (ProtobufCMessage **)&resp, err)) == 1)
    protobuf_c_message_free_unpacked(&resp->base, NULL);
  if (rv < 0) {
    if (error_is(*err, ERR_ALREADY_EXISTS)) {
      error_freep(err);
      return 0;
    }
    return error_wrap(err, "commit %s", w->ref);
  }
  return 0;
}

void
ctd_writer_free(struct ctd_writer *w)
{
  if (w == NULL)
    return;
  grpc_stream_free(w->s);
  free(w->ref);
  free(w);
}

int
ctd_content_abort(struct grpc_conn *c, const char *ref, struct error **err)
{
  Containerd__Services__Content__V1__AbortRequest req =
      CONTAINERD__SERVICES__CONTENT__V1__ABORT_REQUEST__INIT;

  req.ref = (char *)ref;
  return grpc_unary(c, CTD_SVC("content", "Content", "Abort"), &req.base, NULL, NULL, NULL, err);
}

int
ctd_content_read(struct grpc_conn *c, const char *digest, size_t max, struct buf *out,
                 struct error **err)
{
  Containerd__Services__Content__V1__ReadContentRequest req =
      CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
  struct grpc_stream *s = NULL;
  int rv;

  req.digest = (char *)digest;
  if (grpc_stream_open(c, CTD_SVC("content", "Content", "Read"), NULL, &s, err) < 0)
    return -1;
  if (grpc_stream_send(s, &req.base, err) < 0 || grpc_stream_close_send(s, err) < 0) {
    grpc_stream_free(s);
    return -1;
  }
  for (;;) {
    Containerd__Services__Content__V1__ReadContentResponse *r = NULL;
    rv = grpc_stream_recv(s, &containerd__services__content__v1__read_content_response__descriptor,
                          (ProtobufCMessage **)&r, err);
    if (rv <= 0)
      break;
    if (out->len + r->data.len > max) {
      protobuf_c_message_free_unpacked(&r->base, NULL);
      rv = error_setc(err, ERR_EXHAUSTED, "read %s: larger than %zu bytes", digest, max);
      break;
    }
    buf_add(out, r->data.data, r->data.len);
    protobuf_c_message_free_unpacked(&r->base, NULL);
  }
  grpc_stream_free(s);
  return rv < 0 ? -1 : 0;
}
