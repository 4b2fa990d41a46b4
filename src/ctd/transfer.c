/* containerd's Transfer service (2.x's default pull path): the daemon fetches
 * and unpacks the image itself, reporting progress on a Streaming stream. */
#include "ctd.h"
#include "ctd/internal.h"
#include "google/protobuf/any.pb-c.h"
#include "streaming.pb-c.h"
#include "transfer.pb-c.h"
#include "transfer_types.pb-c.h"
#include "util.h"

typedef Containerd__Types__Transfer__ImageStore image_store;
typedef Containerd__Types__Transfer__OCIRegistry oci_registry;

/* Any{type_url: the message's full name, as containerd's typeurl names it}. */
static void
any_pack(Google__Protobuf__Any *a, const ProtobufCMessage *m)
{
  google__protobuf__any__init(a);
  a->type_url = (char *)m->descriptor->name;
  a->value.len = protobuf_c_message_get_packed_size(m);
  a->value.data = xmalloc(a->value.len ? a->value.len : 1);
  protobuf_c_message_pack(m, a->value.data);
}

/* Open the progress stream: StreamInit with its ID, then the daemon's ack. */
static int
progress_open(struct grpc_conn *c, const char *id, struct grpc_stream **s, struct error **err)
{
  Containerd__Services__Streaming__V1__StreamInit init =
      CONTAINERD__SERVICES__STREAMING__V1__STREAM_INIT__INIT;
  Google__Protobuf__Any a;
  int rv;

  init.id = (char *)id;
  any_pack(&a, &init.base);
  if (grpc_stream_open(c, "/containerd.services.streaming.v1.Streaming/Stream", NULL, s, err) < 0) {
    free(a.value.data);
    return -1;
  }
  rv = grpc_stream_send(*s, &a.base, err);
  free(a.value.data);
  if (rv < 0 || grpc_stream_recv(*s, NULL, NULL, err) < 0) {
    grpc_stream_freep(s);
    return error_wrap(err, "progress stream");
  }
  return 0;
}

static Containerd__Types__Platform *
platform_new(const struct ctd_transfer_pull *t)
{
  Containerd__Types__Platform *p = xcalloc(1, sizeof(*p));

  containerd__types__platform__init(p);
  p->os = (char *)t->os;
  p->architecture = (char *)t->arch;
  p->variant = (char *)(t->variant ? t->variant : "");
  return p;
}

/* The request: OCIRegistry source, ImageStore destination (ctr 2.x pull's
 * defaults: all metadata, one platform, unpacked for it). */
static void
request_build(const struct ctd_transfer_pull *t, Google__Protobuf__Any *src,
              Google__Protobuf__Any *dst)
{
  Containerd__Types__Transfer__RegistryResolver res =
      CONTAINERD__TYPES__TRANSFER__REGISTRY_RESOLVER__INIT;
  oci_registry reg = CONTAINERD__TYPES__TRANSFER__OCIREGISTRY__INIT;
  image_store is = CONTAINERD__TYPES__TRANSFER__IMAGE_STORE__INIT;
  Containerd__Types__Transfer__UnpackConfiguration up =
      CONTAINERD__TYPES__TRANSFER__UNPACK_CONFIGURATION__INIT;
  Containerd__Types__Transfer__UnpackConfiguration *ups[1] = {&up};
  Containerd__Types__Platform *plat = platform_new(t);
  size_t n = t->labels ? t->labels->n : 0;
  Containerd__Types__Transfer__ImageStore__LabelsEntry *le = xcalloc(n + 1, sizeof(*le));
  Containerd__Types__Transfer__ImageStore__LabelsEntry **lp = xcalloc(n + 1, sizeof(*lp));

  res.host_dir = (char *)t->host_dir;
  res.default_scheme = (char *)(t->default_scheme ? t->default_scheme : "");
  reg.reference = (char *)t->reference;
  reg.resolver = &res;
  any_pack(src, &reg.base);
  for (size_t i = 0; i < n; i++) {
    const char *kv = t->labels->v[i];
    const char *eq = strchr(kv, '=');
    containerd__types__transfer__image_store__labels_entry__init(&le[i]);
    le[i].key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
    le[i].value = (char *)(eq ? eq + 1 : "");
    lp[i] = &le[i];
  }
  is.name = (char *)t->name;
  is.n_labels = n;
  is.labels = lp;
  is.n_platforms = 1;
  is.platforms = &plat;
  is.all_metadata = true;
  up.platform = plat;
  up.snapshotter = (char *)t->snapshotter;
  is.n_unpacks = 1;
  is.unpacks = ups;
  any_pack(dst, &is.base);
  for (size_t i = 0; i < n; i++)
    free(le[i].key);
  free(le);
  free(lp);
  free(plat);
}

/* How far each named transfer got: a stall is no news on any of them. */
struct tracker {
  struct strv names;
  int64_t *done;
};

/* Whether p says something new: an unseen name, more bytes, or an event. */
static bool
tracker_moved(struct tracker *tr, const Containerd__Types__Transfer__Progress *p)
{
  const char *name = p->name ? p->name : "";

  for (size_t i = 0; i < tr->names.n; i++)
    if (strcmp(tr->names.v[i], name) == 0) {
      bool moved = p->progress > tr->done[i] || (p->event && *p->event);
      if (p->progress > tr->done[i])
        tr->done[i] = p->progress;
      return moved;
    }
  strv_push(&tr->names, name);
  tr->done = xrealloc(tr->done, tr->names.n * sizeof(*tr->done));
  tr->done[tr->names.n - 1] = p->progress;
  return true;
}

/* One message of the progress stream: handed on, and whether it moved. */
static bool
progress_event(const Google__Protobuf__Any *a, const struct ctd_transfer_pull *t,
               struct tracker *tr)
{
  Containerd__Types__Transfer__Progress *p = NULL;
  bool moved;

  if (a->type_url == NULL ||
      strcmp(a->type_url, containerd__types__transfer__progress__descriptor.name) != 0)
    return true;
  p = containerd__types__transfer__progress__unpack(NULL, a->value.len, a->value.data);
  if (p == NULL)
    return true;
  moved = tracker_moved(tr, p);
  if (t->on_progress) {
    struct ctd_progress ev = {p->event, p->name, p->progress, p->total, NULL, NULL, 0};
    if (p->desc) {
      ev.media_type = p->desc->media_type;
      ev.digest = p->desc->digest;
      ev.size = p->desc->size;
    }
    t->on_progress(&ev, t->arg);
  }
  containerd__types__transfer__progress__free_unpacked(p, NULL);
  return moved;
}

/* Follow the progress until the transfer answers; a transfer that reports
 * nothing new for stall_ms, or whose cancel flag is set, is given up (the
 * caller's freeing of the streams cancels it in the daemon). */
static int
watch(struct grpc_stream *ps, struct grpc_stream *ts, const struct ctd_transfer_pull *t,
      struct error **err)
{
  cleanup_strv struct strv names = STRV_INIT;
  struct tracker tr = {names, NULL};
  int64_t last = now_ms();
  bool progress_open = true;
  int rv = -1;

  for (;;) {
    struct error *e = NULL;
    int r;

    if (t->cancel && *t->cancel) {
      error_setc(err, ERR_CANCELLED, "cancelled");
      break;
    }
    if (progress_open) {
      Google__Protobuf__Any *a = NULL;
      /* awake often enough to see the cancel flag */
      grpc_stream_set_deadline(ps, now_ms() + (t->cancel ? 5 : 200));
      r = grpc_stream_recv(ps, &google__protobuf__any__descriptor, (ProtobufCMessage **)&a, &e);
      if (r == 1) {
        if (progress_event(a, t, &tr))
          last = now_ms();
        google__protobuf__any__free_unpacked(a, NULL);
        continue;
      }
      if (r == 0 || !error_is(e, ERR_DEADLINE))
        progress_open = false;
      error_freep(&e);
    }
    grpc_stream_set_deadline(ts, now_ms() + (progress_open ? 1 : t->stall_ms));
    r = grpc_stream_recv(ts, NULL, NULL, &e);
    if (r == 1)
      continue;
    if (r == 0) {
      rv = 0;
      break;
    }
    if (!error_is(e, ERR_DEADLINE)) {
      *err = e;
      break;
    }
    error_free(e);
    if (now_ms() - last >= t->stall_ms) {
      error_setc(err, ERR_DEADLINE, "no progress for %lld ms", (long long)t->stall_ms);
      break;
    }
  }
  strv_release(&tr.names);
  free(tr.done);
  return rv;
}

int
ctd_transfer_pull(struct grpc_conn *c, const char *lease, const struct ctd_transfer_pull *t,
                  struct error **err)
{
  Containerd__Services__Transfer__V1__TransferRequest req =
      CONTAINERD__SERVICES__TRANSFER__V1__TRANSFER_REQUEST__INIT;
  Containerd__Services__Transfer__V1__TransferOptions topt =
      CONTAINERD__SERVICES__TRANSFER__V1__TRANSFER_OPTIONS__INIT;
  Google__Protobuf__Any src, dst;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  cleanup_free char *id = ctd_unique_name("progress", NULL);
  struct grpc_stream *ps = NULL, *ts = NULL;
  int rv;

  if (progress_open(c, id, &ps, err) < 0)
    return -1;
  request_build(t, &src, &dst);
  topt.progress_stream = id;
  req.source = &src;
  req.destination = &dst;
  req.options = &topt;
  rv = grpc_unary_begin(c, "/containerd.services.transfer.v1.Transfer/Transfer", &req.base, &opts,
                        &ts, err);
  free(src.value.data);
  free(dst.value.data);
  if (rv == 0)
    rv = watch(ps, ts, t, err);
  grpc_stream_free(ts);
  grpc_stream_free(ps);
  return rv < 0 ? error_wrap(err, "transfer %s", t->reference) : 0;
}
