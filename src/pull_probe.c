/* Whether a registry's only endpoint is slow per connection (pull_internal.h):
 * on 2.x that decides between the daemon's Transfer service and ctrx's own
 * pull, which opens more connections when they pay and brings lower layers
 * first. One connection's rate is measured on the first PROBE_BYTES of the
 * image's lowest layer that has that many, and those bytes are kept for its
 * download. */
#include <string.h>

#include "image.h"
#include "log.h"
#include "pull_internal.h"
#include "spread.h"

#define PROBE_BYTES (256 << 10)

struct probe {
  struct buf *b;
  int64_t limit;
  int64_t t_first; /* when the first piece came (ms): the rate counts from then */
  size_t first_len;
};

static int
probe_sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct probe *pr = arg;

  if ((int64_t)(pr->b->len + len) > pr->limit)
    return error_setc(err, ERR_DATA_LOSS, "more bytes than asked for");
  if (pr->b->len == 0) {
    pr->t_first = now_ms();
    pr->first_len = len;
  }
  buf_add(pr->b, data, len);
  return 0;
}

/* The manifest for the pull's platform, from the root down (its bytes into
 * out): the root's bytes are in p->manb. */
static int
probe_manifest(struct pull *p, struct image_manifest *out, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;
  cleanup_free char *media_type = xstrdup(p->root.media_type);

  buf_add(&b, p->manb.data, p->manb.len);
  for (size_t depth = 0; image_is_index(media_type); depth++) {
    cleanup_image_index struct image_index ix = {0};
    struct probe pr = {&b, OCI_MAX_DOCUMENT};
    ssize_t k;

    if (depth >= IMAGE_MAX_INDEX_DEPTH || image_parse_index(b.data, b.len, &ix, err) < 0)
      return -1;
    if ((k = image_index_select(&ix, p->platform)) < 0)
      return error_setc(err, ERR_NOT_FOUND, "no manifest for the platform");
    b.len = 0;
    pr.limit = ix.manifests[k].size;
    if (registry_fetch(p->reg, &p->eps[p->served], 1, p->repo, &ix.manifests[k], 0, probe_sink, &pr,
                       NULL, err) < 0)
      return -1;
    free(media_type);
    media_type = xstrdup(ix.manifests[k].media_type);
  }
  return image_parse_manifest(b.data, b.len, out, err);
}

bool
pull_link_slow(struct pull *p, const volatile int *stop)
{
  cleanup_image_manifest struct image_manifest m = {0};
  struct probe pr = {&p->probe, PROBE_BYTES};
  const struct oci_desc *layer = NULL;
  struct error *e = NULL;
  int64_t dt;
  double rate;

  if (probe_manifest(p, &m, &e) < 0) {
    log_debug("probe: %s", e->msg);
    error_free(e);
    return false;
  }
  for (size_t i = 0; i < m.n_layers && layer == NULL; i++)
    if (m.layers[i].size >= PROBE_BYTES)
      layer = &m.layers[i];
  if (layer == NULL || *stop)
    return false;
  if (registry_fetch_range(p->reg, &p->eps[p->served], p->repo, layer, 0, PROBE_BYTES, probe_sink,
                           &pr, stop, &e) < 0) {
    log_debug("probe: %s", *stop ? "stopped: the daemon's pull ended first" : e->msg);
    error_free(e);
    p->probe.len = 0;
    return false;
  }
  /* from the first piece on: the round trip is paid once a layer by the
   * daemon too, what decides is what a connection carries */
  dt = now_ms() - pr.t_first;
  rate = (double)(PROBE_BYTES - pr.first_len) * 1000.0 / (double)(dt > 0 ? dt : 1);
  log_debug("probe: %s: one connection brought %.1f MB/s", p->eps[p->served].base, rate / 1e6);
  if (rate >= SPREAD_SLOW_RATE) {
    p->probe.len = 0;
    return false;
  }
  p->probe_digest = xstrdup(layer->digest);
  return true;
}
