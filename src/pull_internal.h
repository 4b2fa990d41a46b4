/* What the files of pull share, and the unit tests see: the steps that decide
 * without I/O (pull_plan.c), the state of one pull (struct pull) and the I/O
 * steps pull.c, pull_layers.c, pull_meta.c and pull_transfer.c call on each
 * other. Not part of pull's interface. */
#ifndef CTRX_PULL_INTERNAL_H
#define CTRX_PULL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "grpc.h"
#include "oci.h"
#include "pull.h"
#include "ref.h"
#include "registry.h"
#include "util.h"

struct pull_layer {
  struct oci_desc desc;
  char *diff_id;
  char *chain_id;
  size_t blob; /* the layer whose download brings this blob in: itself, or the
                * first one listing the same digest (downloaded once) */
  bool done;
  bool failed;
};

/* Set each layer's blob: a digest listed twice comes in once. */
void pull_layers_share_blobs(struct pull_layer *layers, size_t n);
/* The first layer from next on that downloads its own blob; n when none. */
size_t pull_next_download(const struct pull_layer *layers, size_t n, size_t next);
/* Whether layer i can be unpacked: its blob is in (the layers below it are
 * unpacked first, in order). */
bool pull_unpack_ready(const struct pull_layer *layers, size_t i);

/* Whether a root an endpoint resolved can be pulled at all (an index or a
 * manifest within OCI_MAX_DOCUMENT), and the same for the child of an index. */
int pull_check_root(const struct oci_desc *root, struct error **err);
int pull_check_index_child(const struct oci_desc *child, struct error **err);
/* Whether a blob can be put into the store: sha256, not empty, and no larger
 * than OCI_MAX_DOCUMENT when its bytes are kept in memory. */
int pull_check_blob(const struct oci_desc *d, bool keep, struct error **err);

/* containerd.io/distribution.source.<domain without its port>. */
char *pull_source_key(const char *domain);
/* The value the source label key gets: the repositories already listed under
 * key among labels ("k=v" lines) and repo, sorted, comma-separated; NULL when
 * repo is listed already (nothing to set). */
char *pull_source_value(const struct strv *labels, const char *key, const char *repo);
/* The reason part of a fetch error from endpoint base ("fetch \"r@d\": <base>:
 * why" gives "why"); msg itself when it has another shape. */
const char *pull_fetch_reason(const char *msg, const char *base);

/* What a pull leaves depends on the daemon's line: what that line's ctr pull
 * leaves with its defaults (docs/CONTAINERD-LINES.md). 1.6 and 1.7 pull in the
 * client: only the chosen platform's documents, snapshots without labels. 2.x
 * pulls through the Transfer service: every manifest of an index and its
 * config are kept (their layers are not), and the unpacker labels each
 * snapshot with its chain ID. */
struct pull_line {
  int major, minor;  /* 0.0 when the version names no number */
  bool all_metadata; /* other platforms' manifests and configs kept */
  bool snapshot_ref; /* snapshots labelled containerd.io/snapshot.ref=<chain ID> */
};
/* The line of a daemon from the version it reports ("1.6.20~ds1", "v2.1.5",
 * "2.2.0-rc.1"); one it cannot read is taken for 1.x. */
void pull_line_of(const char *version, struct pull_line *out);

/* The I/O steps pull.c shares with pull_meta.c and pull_layers.c. */
struct health;
struct spread;

/* Everything one pull holds; pull_state_release frees it, whatever step it
 * stopped at. */
struct pull {
  struct grpc_conn *c;
  const struct pull_opts *o;
  struct ref ref;
  char *name;     /* the normalized reference: the image record's name */
  char *platform; /* what to choose from an index */
  struct registry *reg;
  struct registry_ep *eps;
  size_t n_eps;
  struct health *health;
  struct spread *sched; /* NULL: --no-spread, or no endpoint to spread over */
  char *lease;
  char *repo;       /* "library/busybox" */
  char *source_key; /* containerd.io/distribution.source.<host without port> */
  char *snapshotter;
  struct pull_line line; /* what the daemon's line leaves (pull_internal.h) */
  /* the documents: the root as resolved; man/manb the root's bytes at first,
   * then each chosen child's, down to the manifest */
  struct oci_desc root, man, cfg;
  struct buf manb, cfgb;
  size_t served; /* the endpoint that resolved the root */
  /* the probe beside a 2.x daemon's pull (pull_probe.c) */
  struct {
    pthread_t thread;
    bool running;      /* the thread is to be joined (pull_probe_end) */
    volatile int slow; /* judged slow: cancels the daemon's pull */
    volatile int stop; /* end where it is */
    int64_t until;     /* judged slow: when it means to end (ms, now_ms) */
    struct buf bytes;  /* the first bytes of layer digest, once slow */
    char *digest;
  } probe;
  /* layers, shared with the download threads */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct pull_layer *layers;
  size_t n_layers;
  size_t next; /* next layer to download */
  struct error *first_err;
};

/* Report an event to the pull's callback (pull.h), under the pull's lock. */
void pull_emit(struct pull *p, enum pull_event_kind kind, const char *what, const char *digest,
               int64_t size, const char *endpoint, bool existed);
/* Set keys=values on a blob (none when keys is empty). */
int pull_blob_labels(struct pull *p, const char *digest, struct strv *keys, struct strv *values,
                     struct error **err);
/* Add the pull's repository to a blob's distribution.source label. */
int pull_blob_source(struct pull *p, const char *digest, struct error **err);
/* Download p->layers with worker threads and unpack each as soon as it and
 * the layers below it are in (pull_layers.c). meanwhile runs while the first
 * downloads start (the config, which unpacking needs and downloading not). */
int pull_layers(struct pull *p, int (*meanwhile)(struct pull *, struct error **),
                struct error **err);
/* Put one blob into the content store (keep, when not NULL, gets its bytes). */
int pull_put_blob(struct pull *p, const struct oci_desc *d, struct buf *keep, struct error **err);
/* Set keys=values on a blob (none when keys is empty) and add the pull's
 * repository to its distribution.source label. */
int pull_label_blob(struct pull *p, const char *digest, struct strv *keys, struct strv *values,
                    struct error **err);
/* The metadata kept of d, an index's child that is not unpacked (2.x): a
 * manifest and its config, or an index and in turn all it lists; depth is
 * d's (the root is 0). Other media types are left out. */
int pull_keep_metadata(struct pull *p, const struct oci_desc *d, size_t depth, struct error **err);

/* 2.x, one endpoint: a thread beside the daemon's pull measures one
 * connection to it, on one of the image's lower layers. When it is so slow
 * that ctrx's own pull (more connections when they pay, lower layers first)
 * beats the daemon's, it sets p->probe.slow, which cancels that pull, and goes
 * on fetching the layer into p->probe.bytes a while longer, so that the link
 * does not idle while ctrx's own pull sets out (pull_probe.c). */
void pull_probe_start(struct pull *p);
/* Whether the probe judged the endpoint slow. */
bool pull_probe_slow(struct pull *p);
/* Wait for the probe to end, stopping it where it is when now, else once it
 * is past its time (a connection that stalls then is not waited for); its
 * bytes stay in p->probe.bytes when it judged slow. Once is enough; more do
 * nothing. */
void pull_probe_end(struct pull *p, bool now);

/* A pull through the daemon's Transfer service (pull_transfer.c). */
struct pull_transfer {
  struct grpc_conn *c;
  const char *lease;
  const struct registry_ep *ep; /* the endpoint the daemon fetches from */
  struct health *health;
  const char *domain, *repo;
  const struct oci_desc *root; /* as resolved */
  const char *name;            /* the image record */
  const struct strv *labels;   /* its labels "k=v" */
  const char *platform;        /* "os/arch[/variant]" */
  const char *snapshotter;
  int64_t stall_ms;
  const volatile int *cancel; /* set: give the pull back to ctrx at once */
  void (*on_event)(const struct pull_event *ev, void *arg);
  void *arg;
};
/* The hosts.toml that gives the daemon ep alone, with ep's TLS settings and
 * headers. Allocated. */
char *pull_transfer_hosts_toml(const struct registry_ep *ep);
/* domain/repo@<root digest> fetched and unpacked by the daemon, the image
 * record made, res filled in: true. False when the daemon could not (a bad
 * blob, a stall, credentials it lacks): the caller pulls the rest itself, and
 * the endpoint is tried last from now on unless the daemon lacked
 * credentials. */
bool pull_by_daemon(const struct pull_transfer *t, struct pull_result *res);

#endif
