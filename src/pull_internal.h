/* The steps of a pull that decide without I/O (pull_plan.c), declared for
 * pull.c and the unit tests. Not part of pull's interface. */
#ifndef CTRX_PULL_INTERNAL_H
#define CTRX_PULL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
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

#endif
