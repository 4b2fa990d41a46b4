/* Whether a registry's only endpoint is slow per connection (pull_internal.h):
 * on 2.x that decides between the daemon's Transfer service and ctrx's own
 * pull, which opens more connections when they pay and brings lower layers
 * first. One connection's rate is measured on the first PROBE_BYTES of the
 * image's lowest layer that has more, and they are kept for its
 * download: all of them while the connection looks slow, else the first
 * PROBE_KEEP (a fast one's go to waste, and should not cost memory). */
#include <string.h>

#include "image.h"
#include "log.h"
#include "pull_internal.h"

/* A shorter measure is flattered by what the link lets through at once: on a
 * 20 MB/s link 256 KiB came at 24-27 MB/s, 1 MiB at 21. */
#define PROBE_BYTES (1 << 20)
#define PROBE_KEEP (256 << 10)
/* Slow: under what three connections (the daemon's three layers at a time)
 * must each bring to match ctrx's own content writes on 2.x (about 84 MB/s on
 * loopback). Over it the daemon's pull is as fast, and it is what ctr does. */
#define PROBE_SLOW_RATE 28e6

struct probe {
  struct buf *b;
  int64_t limit; /* the bytes asked for */
  int64_t keep;  /* how many of them go into b, at most */
  int64_t got;
  int64_t t_first; /* when the first piece came (ms): the rate counts from then */
  size_t first_len;
  bool early;  /* measuring: may stop at PROBE_KEEP bytes when the verdict is plain */
  bool judged; /* stopped there, slow */
  double rate; /* bytes/s, when judged */
};

/* from the first piece on: the round trip is paid once a layer by the daemon
 * too, what decides is what a connection carries */
static double
probe_rate(const struct probe *pr)
{
  int64_t dt = now_ms() - pr->t_first;

  return (double)(pr->got - (int64_t)pr->first_len) * 1000.0 / (double)(dt > 0 ? dt : 1);
}

static int
probe_sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct probe *pr = arg;
  size_t room;

  if (pr->got + (int64_t)len > pr->limit)
    return error_setc(err, ERR_DATA_LOSS, "more bytes than asked for");
  if (pr->got == 0) {
    pr->t_first = now_ms();
    pr->first_len = len;
  }
  room = pr->got < pr->keep ? (size_t)(pr->keep - pr->got) : 0;
  buf_add(pr->b, data, len < room ? len : room);
  pr->got += (int64_t)len;
  /* judged once, on the piece that reaches PROBE_KEEP (not the first: the
   * rate counts from there) */
  if (pr->early && pr->got >= PROBE_KEEP && pr->got - (int64_t)len < PROBE_KEEP &&
      pr->got > (int64_t)pr->first_len) {
    double rate = probe_rate(pr);
    /* a connection this far under the mark needs no longer look */
    if (rate < PROBE_SLOW_RATE / 2) {
      pr->judged = true;
      pr->rate = rate;
      return error_setc(err, ERR_CANCELLED, "measured");
    }
    if (rate >= PROBE_SLOW_RATE)
      pr->keep = PROBE_KEEP;
  }
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
    struct probe pr = {&b, OCI_MAX_DOCUMENT, OCI_MAX_DOCUMENT};
    ssize_t k;

    if (depth >= IMAGE_MAX_INDEX_DEPTH || image_parse_index(b.data, b.len, &ix, err) < 0)
      return -1;
    if ((k = image_index_select(&ix, p->platform)) < 0)
      return error_setc(err, ERR_NOT_FOUND, "no manifest for the platform");
    b.len = 0;
    pr.limit = pr.keep = ix.manifests[k].size;
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
  struct probe pr = {&p->probe, PROBE_BYTES, PROBE_BYTES, .early = true};
  const struct oci_desc *layer = NULL;
  struct error *e = NULL;

  if (probe_manifest(p, &m, &e) < 0) {
    log_debug("probe: %s", e->msg);
    error_free(e);
    return false;
  }
  for (size_t i = 0; i < m.n_layers && layer == NULL; i++)
    if (m.layers[i].size > PROBE_BYTES) /* some left to fetch after it */
      layer = &m.layers[i];
  if (layer == NULL || *stop)
    return false;
  if (registry_fetch_range(p->reg, &p->eps[p->served], p->repo, layer, 0, PROBE_BYTES, probe_sink,
                           &pr, stop, &e) < 0 &&
      !pr.judged) {
    log_debug("probe: %s", *stop ? "stopped: the daemon's pull ended first" : e->msg);
    error_free(e);
    buf_release(&p->probe);
    return false;
  }
  error_free(e);
  if (!pr.judged)
    pr.rate = probe_rate(&pr);
  log_debug("probe: %s: one connection brought %.1f MB/s over %.0f KiB", p->eps[p->served].base,
            pr.rate / 1e6, (double)pr.got / 1024);
  if (pr.rate >= PROBE_SLOW_RATE) {
    buf_release(&p->probe);
    return false;
  }
  p->probe_digest = xstrdup(layer->digest);
  return true;
}
