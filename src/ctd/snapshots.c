#include <errno.h>
#include <sys/mount.h>

#include "ctd.h"
#include "ctd/internal.h"
#include "diff.pb-c.h"
#include "namespaces.pb-c.h"
#include "snapshots.pb-c.h"
#include "util.h"

int
ctd_snapshot_stat(struct grpc_conn *c, const char *snapshotter, const char *key, struct error **err)
{
  Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
      CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;

  req.snapshotter = (char *)snapshotter;
  req.key = (char *)key;
  return grpc_unary(c, CTD_SVC("snapshots", "Snapshots", "Stat"), &req.base,
                    &containerd__services__snapshots__v1__stat_snapshot_response__descriptor, NULL,
                    NULL, err);
}

typedef Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry prepare_label;
typedef Containerd__Services__Snapshots__V1__CommitSnapshotRequest__LabelsEntry commit_label;

int
ctd_snapshot_prepare_labeled(struct grpc_conn *c, const char *lease, const char *snapshotter,
                             const char *key, const char *parent, const struct ctd_label *label,
                             struct ctd_mounts **mounts, struct error **err)
{
  Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
      CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  struct ctd_mounts *m = xcalloc(1, sizeof(*m));
  prepare_label e =
      CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__LABELS_ENTRY__INIT;
  prepare_label *ep[1] = {&e};

  req.snapshotter = (char *)snapshotter;
  req.key = (char *)key;
  req.parent = (char *)(parent ? parent : "");
  if (label) {
    e.key = (char *)label->key;
    e.value = (char *)label->value;
    req.labels = ep;
    req.n_labels = 1;
  }
  if (grpc_unary(c, CTD_SVC("snapshots", "Snapshots", "Prepare"), &req.base,
                 &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
                 (ProtobufCMessage **)&m->resp, &opts, err) < 0) {
    free(m);
    return error_wrap(err, "prepare snapshot '%s'", key);
  }
  *mounts = m;
  return 0;
}

int
ctd_snapshot_prepare(struct grpc_conn *c, const char *lease, const char *snapshotter,
                     const char *key, const char *parent, struct ctd_mounts **mounts,
                     struct error **err)
{
  return ctd_snapshot_prepare_labeled(c, lease, snapshotter, key, parent, NULL, mounts, err);
}

int
ctd_snapshot_commit_labeled(struct grpc_conn *c, const char *lease, const char *snapshotter,
                            const char *name, const char *key, const struct ctd_label *label,
                            struct error **err)
{
  Containerd__Services__Snapshots__V1__CommitSnapshotRequest req =
      CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  commit_label e = CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__LABELS_ENTRY__INIT;
  commit_label *ep[1] = {&e};

  req.snapshotter = (char *)snapshotter;
  req.name = (char *)name;
  req.key = (char *)key;
  if (label) {
    e.key = (char *)label->key;
    e.value = (char *)label->value;
    req.labels = ep;
    req.n_labels = 1;
  }
  return grpc_unary(c, CTD_SVC("snapshots", "Snapshots", "Commit"), &req.base, NULL, NULL, &opts,
                    err);
}

int
ctd_snapshot_commit(struct grpc_conn *c, const char *lease, const char *snapshotter,
                    const char *name, const char *key, struct error **err)
{
  return ctd_snapshot_commit_labeled(c, lease, snapshotter, name, key, NULL, err);
}

int
ctd_snapshot_remove(struct grpc_conn *c, const char *lease, const char *snapshotter,
                    const char *key, struct error **err)
{
  Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
      CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);

  req.snapshotter = (char *)snapshotter;
  req.key = (char *)key;
  return grpc_unary(c, CTD_SVC("snapshots", "Snapshots", "Remove"), &req.base, NULL, NULL, &opts,
                    err);
}

void
ctd_mounts_free(struct ctd_mounts *m)
{
  if (m == NULL)
    return;
  if (m->resp)
    protobuf_c_message_free_unpacked(&m->resp->base, NULL);
  free(m);
}

int
ctd_diff_apply(struct grpc_conn *c, const char *lease, const char *media_type, const char *digest,
               int64_t size, const struct ctd_mounts *mounts, char **diff_id, struct error **err)
{
  Containerd__Services__Diff__V1__ApplyRequest req =
      CONTAINERD__SERVICES__DIFF__V1__APPLY_REQUEST__INIT;
  Containerd__Services__Diff__V1__ApplyResponse *resp = NULL;
  Containerd__Types__Descriptor d = CONTAINERD__TYPES__DESCRIPTOR__INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);

  d.media_type = (char *)media_type;
  d.digest = (char *)digest;
  d.size = size;
  req.diff = &d;
  req.n_mounts = mounts->resp->n_mounts;
  req.mounts = mounts->resp->mounts;
  if (grpc_unary(c, CTD_SVC("diff", "Diff", "Apply"), &req.base,
                 &containerd__services__diff__v1__apply_response__descriptor,
                 (ProtobufCMessage **)&resp, &opts, err) < 0)
    return error_wrap(err, "apply layer %s", digest);
  *diff_id = xstrdup(resp->applied && resp->applied->digest ? resp->applied->digest : "");
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_namespace_label(struct grpc_conn *c, const char *ns, const char *key, char **value,
                    struct error **err)
{
  Containerd__Services__Namespaces__V1__GetNamespaceRequest req =
      CONTAINERD__SERVICES__NAMESPACES__V1__GET_NAMESPACE_REQUEST__INIT;
  Containerd__Services__Namespaces__V1__GetNamespaceResponse *resp = NULL;
  struct error *e = NULL;

  *value = NULL;
  req.name = (char *)ns;
  if (grpc_unary(c, CTD_SVC("namespaces", "Namespaces", "Get"), &req.base,
                 &containerd__services__namespaces__v1__get_namespace_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, &e) < 0) {
    /* A namespace that does not exist yet has no labels. */
    if (error_is(e, ERR_NOT_FOUND)) {
      error_free(e);
      return 0;
    }
    *err = e;
    return -1;
  }
  if (resp->namespace_)
    for (size_t i = 0; i < resp->namespace_->n_labels; i++)
      if (strcmp(resp->namespace_->labels[i]->key, key) == 0)
        *value = xstrdup(resp->namespace_->labels[i]->value);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_default_snapshotter(struct grpc_conn *c, const char *ns, const char *requested, char **out,
                        struct error **err)
{
  *out = NULL;
  if (requested && *requested) {
    *out = xstrdup(requested);
    return 0;
  }
  if (ctd_namespace_label(c, ns, "containerd.io/defaults/snapshotter", out, err) < 0)
    return -1;
  if (*out == NULL)
    *out = xstrdup("overlayfs");
  return 0;
}

int
ctd_mounts_mount(const struct ctd_mounts *m, const char *dir, struct error **err)
{
  for (size_t i = 0; i < m->resp->n_mounts; i++) {
    const Containerd__Types__Mount *mt = m->resp->mounts[i];
    unsigned long flags = 0;
    struct buf data = BUF_INIT;
    int rv;

    for (size_t j = 0; j < mt->n_options; j++) {
      const char *o = mt->options[j];
      if (strcmp(o, "rbind") == 0)
        flags |= MS_BIND | MS_REC;
      else if (strcmp(o, "bind") == 0)
        flags |= MS_BIND;
      else if (strcmp(o, "ro") == 0)
        flags |= MS_RDONLY;
      else if (strcmp(o, "rw") == 0)
        continue;
      else
        buf_addf(&data, "%s%s", data.len ? "," : "", o);
    }
    rv = mount(mt->source, dir, strcmp(mt->type, "bind") == 0 ? NULL : mt->type, flags,
               data.len ? data.data : NULL);
    buf_release(&data);
    if (rv < 0)
      return error_set(err, errno, "mount %s on '%s'", mt->type, dir);
  }
  return 0;
}
