/* Typed calls to containerd's services. Thin: one function per RPC we use,
 * no policy. Generated message types come from proto/ (built by protoc-c). */
#ifndef CTRX_CTD_H
#define CTRX_CTD_H

#include "error.h"
#include "grpc.h"
#include "util.h"

#define CTD_SVC(pkg, svc, method) "/containerd.services." pkg ".v1." svc "/" method

/* containerd's gRPC metadata: the namespace of a call, the lease that keeps
 * what it creates. */
#define CTD_NAMESPACE_KEY "containerd-namespace"
#define CTD_LEASE_KEY "containerd-lease"

/* grpc_connect to containerd at address: messages name containerd, and a
 * socket that is missing, refuses or does not answer says what to check
 * (-a, CONTAINERD_ADDRESS, --connect-timeout). */
int ctd_connect(const char *address, int64_t connect_timeout_ms, struct grpc_conn **out,
                struct error **err);
/* The namespace of every later call on c (NULL: none sent). */
void ctd_set_namespace(struct grpc_conn *c, const char *ns);
/* "<prefix>-<nanoseconds>-<6 random hex digits>[ <suffix>]", a name no other
 * client picks at the same moment: unpack keys ("extract-… <chain ID>", as
 * containerd's unpacker names them), stream IDs. Allocated. */
char *ctd_unique_name(const char *prefix, const char *suffix);

/* Version/Version: both strings are newly allocated. */
int ctd_version(struct grpc_conn *c, char **version, char **revision, struct error **err);
/* Version/Version in two halves, so that it can ride along with other calls:
 * begin sends the request; end waits for the answer (*version allocated, and
 * *revision unless revision is NULL) and frees s whatever happens. */
int ctd_version_begin(struct grpc_conn *c, struct grpc_stream **s, struct error **err);
int ctd_version_end(struct grpc_stream *s, char **version, char **revision, struct error **err);
/* Version/Version and Introspection/Server at once (two calls in flight):
 * *uuid is NULL when the daemon does not say. */
int ctd_version_info(struct grpc_conn *c, char **version, char **revision, char **uuid,
                     struct error **err);
/* Images/Get: 0 when the image exists (its target's media type and digest,
 * allocated, where the pointers are not NULL), -1 with ERR_NOT_FOUND when it
 * does not. */
int ctd_image_get(struct grpc_conn *c, const char *name, char **media_type, char **digest,
                  struct error **err);

/* Leases/Create with containerd.io/gc.expire = now + 24 h; *id is allocated. */
int ctd_lease_create(struct grpc_conn *c, char **id, struct error **err);
int ctd_lease_delete(struct grpc_conn *c, const char *id, struct error **err);

/* Content/Info: 0 and the labels as "key=value" lines in *labels (may be
 * NULL), or -1 with ERR_NOT_FOUND. */
int ctd_content_labels(struct grpc_conn *c, const char *digest, struct strv *labels,
                       struct error **err);
/* Content/Update with mask labels.<key> for each key (value NULL deletes). */
int ctd_content_set_labels(struct grpc_conn *c, const char *lease, const char *digest,
                           const struct strv *keys, const struct strv *values, struct error **err);

/* A content ingest (Content/Write). */
struct ctd_writer;
/* Opens the writer for REF: *offset is where to continue (0 new, n resume,
 * total when the data is already there). *exists is set when the blob is
 * already committed in this namespace (nothing more to do). */
int ctd_writer_open(struct grpc_conn *c, const char *lease, const char *ref, int64_t total,
                    const char *expected, struct ctd_writer **w, int64_t *offset, bool *exists,
                    struct error **err);
int ctd_writer_write(struct ctd_writer *w, const void *data, size_t len, struct error **err);
/* COMMIT: containerd checks size and digest; a mismatch is an error. */
int ctd_writer_commit(struct ctd_writer *w, int64_t total, const char *expected,
                      struct error **err);
void ctd_writer_free(struct ctd_writer *w);
/* Content/Read of a whole blob of at most max bytes into out. */
int ctd_content_read(struct grpc_conn *c, const char *digest, size_t max, struct buf *out,
                     struct error **err);
/* Content/Abort: drop an ingest (its partial data). */
int ctd_content_abort(struct grpc_conn *c, const char *ref, struct error **err);

/* Images/Create, or Images/Update without mask when the name exists. */
int ctd_image_put(struct grpc_conn *c, const char *lease, const char *name, const char *media_type,
                  const char *digest, int64_t size, const struct strv *labels, struct error **err);

/* The namespace's default snapshotter label, or NULL (allocated). */
int ctd_namespace_label(struct grpc_conn *c, const char *ns, const char *key, char **value,
                        struct error **err);
/* The snapshotter to use in namespace ns: requested when it is set and not
 * empty, else the namespace's containerd.io/defaults/snapshotter label, else
 * overlayfs (containerd's default on Linux). *out is allocated. */
int ctd_default_snapshotter(struct grpc_conn *c, const char *ns, const char *requested, char **out,
                            struct error **err);

/* Snapshots: Stat (0 exists, -1 with ERR_NOT_FOUND), Prepare (mounts as
 * returned, to pass on to Diff/Apply), Commit, Remove. */
struct ctd_mounts;
int ctd_snapshot_stat(struct grpc_conn *c, const char *snapshotter, const char *key,
                      struct error **err);
int ctd_snapshot_prepare(struct grpc_conn *c, const char *lease, const char *snapshotter,
                         const char *key, const char *parent, struct ctd_mounts **mounts,
                         struct error **err);
int ctd_snapshot_commit(struct grpc_conn *c, const char *lease, const char *snapshotter,
                        const char *name, const char *key, struct error **err);
/* One snapshot label, as 2.x's unpacker gives Prepare and Commit
 * (containerd.io/snapshot.ref=<chain ID>). */
struct ctd_label {
  const char *key, *value;
};
/* Prepare and Commit with label (NULL: none). */
int ctd_snapshot_prepare_labeled(struct grpc_conn *c, const char *lease, const char *snapshotter,
                                 const char *key, const char *parent, const struct ctd_label *label,
                                 struct ctd_mounts **mounts, struct error **err);
int ctd_snapshot_commit_labeled(struct grpc_conn *c, const char *lease, const char *snapshotter,
                                const char *name, const char *key, const struct ctd_label *label,
                                struct error **err);
int ctd_snapshot_remove(struct grpc_conn *c, const char *lease, const char *snapshotter,
                        const char *key, struct error **err);
void ctd_mounts_free(struct ctd_mounts *m);
/* Diff/Apply of a layer blob onto mounts; *diff_id is the applied digest. */
int ctd_diff_apply(struct grpc_conn *c, const char *lease, const char *media_type,
                   const char *digest, int64_t size, const struct ctd_mounts *mounts,
                   char **diff_id, struct error **err);

/* Transfer service (containerd 2.x's default pull): the daemon fetches
 * reference through the hosts.toml directory host_dir and unpacks it for one
 * platform into snapshotter, keeping every platform's metadata, and names the
 * image record name. Progress messages go to on_progress; a transfer with
 * nothing new for stall_ms is cancelled (ERR_DEADLINE). */
struct ctd_progress {
  const char *event, *name;
  int64_t progress, total;
  const char *media_type, *digest; /* the blob, NULL when the message has none */
  int64_t size;
};
struct ctd_transfer_pull {
  const char *reference;      /* "host/repo@sha256:…" */
  const char *host_dir;       /* hosts.toml directory the daemon resolves through */
  const char *default_scheme; /* "http" for --plain-http, NULL: https */
  const char *name;           /* the image record */
  const struct strv *labels;  /* its labels, "k=v" */
  const char *os, *arch, *variant;
  const char *snapshotter;
  int64_t stall_ms;
  const volatile int *cancel; /* set by another thread: give up (ERR_CANCELLED) */
  void (*on_progress)(const struct ctd_progress *p, void *arg);
  void *arg;
};
int ctd_transfer_pull(struct grpc_conn *c, const char *lease, const struct ctd_transfer_pull *t,
                      struct error **err);

/* Containers */
struct ctd_container {
  const char *id;
  const char *image;
  const char *runtime;   /* "io.containerd.runc.v2" */
  const char *spec_json; /* OCI runtime spec */
  const char *snapshotter;
  const char *snapshot_key;
  const struct strv *labels; /* "k=v" */
};
int ctd_container_create(struct grpc_conn *c, const char *lease, const struct ctd_container *ct,
                         struct error **err);
/* 0 when it exists, -1 with ERR_NOT_FOUND when not. */
int ctd_container_exists(struct grpc_conn *c, const char *id, struct error **err);
int ctd_container_delete(struct grpc_conn *c, const char *id, struct error **err);
/* Mount them on dir (as the daemon would); 0 or -1 with errno-based error. */
int ctd_mounts_mount(const struct ctd_mounts *m, const char *dir, struct error **err);

/* Tasks */
struct ctd_task_io {
  const char *stdin_path, *stdout_path, *stderr_path; /* "" or NULL: none */
  bool terminal;
};
int ctd_task_create(struct grpc_conn *c, const char *id, const struct ctd_mounts *rootfs,
                    const struct ctd_task_io *io, uint32_t *pid, struct error **err);
int ctd_task_start(struct grpc_conn *c, const char *id, uint32_t *pid, struct error **err);
/* Tasks/Wait as an open stream: start it before Start, finish it after. */
int ctd_task_wait_begin(struct grpc_conn *c, const char *id, struct grpc_stream **s,
                        struct error **err);
int ctd_task_wait_end(struct grpc_stream *s, uint32_t *exit_status, struct error **err);
int ctd_task_kill(struct grpc_conn *c, const char *id, uint32_t signal, struct error **err);
int ctd_task_resize(struct grpc_conn *c, const char *id, uint32_t width, uint32_t height,
                    struct error **err);
int ctd_task_close_stdin(struct grpc_conn *c, const char *id, struct error **err);
int ctd_task_delete(struct grpc_conn *c, const char *id, uint32_t *exit_status, struct error **err);

#endif
