/* The probe beside a 2.x daemon's pull from a registry's only endpoint
 * (pull_internal.h): whether that endpoint is slow per connection decides
 * between the daemon's Transfer service and ctrx's own pull, which opens more
 * connections when they pay and brings lower layers first.
 *
 * One connection's rate is measured on the first PROBE_BYTES of the image's
 * lowest layer over PROBE_MAX (else over PROBE_BYTES). Judged slow, the probe
 * sets p->probe.slow (the daemon's pull is cancelled) and goes on fetching
 * that layer for one more round trip and the time ctrx's own pull takes to
 * set out (cancel, plan), up to PROBE_MAX:
 * the link carries the layer's bytes while ctrx's own pull sets out and its
 * first requests cross, instead of idling. Everything it fetched is the start
 * of the layer's download. Judged fast, it stops and lets its bytes go; when
 * it looks fast at PROBE_EARLY, it keeps no more of them. */
#include <string.h>

#include "image.h"
#include "log.h"
#include "pull_internal.h"

/* A shorter measure is flattered by what the link lets through at once: on a
 * 20 MB/s link 256 KiB came at 24-27 MB/s, 1 MiB at 21. */
#define PROBE_BYTES (1 << 20)
#define PROBE_EARLY (256 << 10) /* where a plain verdict may come */
#define PROBE_MAX (8 << 20)
#define PROBE_SET_OUT_MS 25 /* ctrx's pull setting out: the cancel, the plan */
/* Slow: under what three connections (the daemon's three layers at a time)
 * must each bring to match ctrx's own content writes on 2.x (about 84 MB/s on
 * loopback). Over it the daemon's pull is as fast, and it is what ctr does. */
#define PROBE_SLOW_RATE 28e6

struct probe {
  struct pull *p;
  int64_t t_asked; /* when the range was asked for (ms) */
  int64_t got;
  int64_t t_first; /* when the first piece came (ms): the rate counts from then */
  size_t first_len;
  bool judged;
  bool dropping; /* fast at PROBE_EARLY: the bytes after it are not kept */
  double rate;   /* bytes/s, once judged */
};

/* from the first piece on: the round trip is paid once a layer by the daemon
 * too, what decides is what a connection carries */
static double
probe_rate(const struct probe *pr)
{
  int64_t dt = now_ms() - pr->t_first;

  return (double)(pr->got - (int64_t)pr->first_len) * 1000.0 / (double)(dt > 0 ? dt : 1);
}

/* Judge at PROBE_BYTES, or at PROBE_EARLY when the connection is under half
 * the mark there (not on the first piece: the rate counts from there).
 * Returns -1 to stop: judged fast. */
static int
probe_judge(struct probe *pr, int64_t before, struct error **err)
{
  struct pull *p = pr->p;
  double rate;

  if (pr->judged || pr->got <= (int64_t)pr->first_len ||
      !((before < PROBE_EARLY && pr->got >= PROBE_EARLY) || pr->got >= PROBE_BYTES))
    return 0;
  rate = probe_rate(pr);
  if (rate < (pr->got >= PROBE_BYTES ? PROBE_SLOW_RATE : PROBE_SLOW_RATE / 2)) {
    pr->judged = true;
    pr->rate = rate;
    p->probe.until =
        pr->dropping ? now_ms() : now_ms() + (pr->t_first - pr->t_asked) + PROBE_SET_OUT_MS;
    __atomic_store_n(&p->probe.slow, 1, __ATOMIC_RELEASE); /* after probe.digest */
    log_debug("probe: %s: one connection brought %.1f MB/s over %.0f KiB", p->eps[p->served].base,
              rate / 1e6, (double)pr->got / 1024);
    /* bytes that do not follow on from those kept are no start */
    return pr->dropping ? error_setc(err, ERR_CANCELLED, "judged") : 0;
  }
  if (pr->got < PROBE_BYTES) {
    /* likely fast: a fast endpoint's bytes go to waste, and cost no memory */
    pr->dropping = rate >= PROBE_SLOW_RATE;
    return 0;
  }
  pr->judged = true;
  pr->rate = rate;
  return error_setc(err, ERR_CANCELLED, "fast");
}

static int
probe_sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct probe *pr = arg;
  int64_t before = pr->got;

  if (before == 0) {
    pr->t_first = now_ms();
    pr->first_len = len;
  }
  if (!pr->dropping)
    buf_add(&pr->p->probe.bytes, data, len);
  pr->got += (int64_t)len;
  if (pr->judged && now_ms() >= pr->p->probe.until)
    return error_setc(err, ERR_CANCELLED, "bridged");
  return probe_judge(pr, before, err);
}

struct doc_sink {
  struct buf *b;
  int64_t limit;
};

static int
doc_sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct doc_sink *ds = arg;

  if ((int64_t)(ds->b->len + len) > ds->limit)
    return error_setc(err, ERR_DATA_LOSS, "more bytes than asked for");
  buf_add(ds->b, data, len);
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
    struct doc_sink ds = {&b, 0};
    ssize_t k;

    if (depth >= IMAGE_MAX_INDEX_DEPTH || image_parse_index(b.data, b.len, &ix, err) < 0)
      return -1;
    if ((k = image_index_select(&ix, p->platform)) < 0)
      return error_setc(err, ERR_NOT_FOUND, "no manifest for the platform");
    b.len = 0;
    ds.limit = ix.manifests[k].size;
    if (registry_fetch(p->reg, &p->eps[p->served], 1, p->repo, &ix.manifests[k], 0, doc_sink, &ds,
                       NULL, err) < 0)
      return -1;
    free(media_type);
    media_type = xstrdup(ix.manifests[k].media_type);
  }
  return image_parse_manifest(b.data, b.len, out, err);
}

static void
probe_layer(struct pull *p)
{
  cleanup_image_manifest struct image_manifest m = {0};
  struct probe pr = {p};
  const struct oci_desc *layer = NULL;
  struct error *e = NULL;
  int64_t to;

  if (probe_manifest(p, &m, &e) < 0) {
    log_debug("probe: %s", e->msg);
    error_free(e);
    return;
  }
  for (size_t i = 0; i < m.n_layers && layer == NULL; i++)
    if (m.layers[i].size > PROBE_MAX)
      layer = &m.layers[i];
  for (size_t i = 0; i < m.n_layers && layer == NULL; i++)
    if (m.layers[i].size > PROBE_BYTES)
      layer = &m.layers[i];
  if (layer == NULL)
    return;
  /* its last byte is left for the pull: the probe never holds a whole blob */
  to = layer->size - 1 < PROBE_MAX ? layer->size - 1 : PROBE_MAX;
  p->probe.digest = xstrdup(layer->digest);
  pr.t_asked = now_ms();
  if (registry_fetch_range(p->reg, &p->eps[p->served], p->repo, layer, 0, to, probe_sink, &pr,
                           &p->probe.stop, &e) < 0 &&
      !pr.judged)
    log_debug("probe: %s", p->probe.stop ? "stopped: the daemon's pull ended first" : e->msg);
  else if (pr.rate >= PROBE_SLOW_RATE)
    log_debug("probe: %s: one connection brought %.1f MB/s over %.0f KiB", p->eps[p->served].base,
              pr.rate / 1e6, (double)pr.got / 1024);
  error_free(e);
  if (!p->probe.slow)
    buf_release(&p->probe.bytes);
}

static void *
probe_main(void *arg)
{
  probe_layer(arg);
  return NULL;
}

void
pull_probe_start(struct pull *p)
{
  p->probe.running = pthread_create(&p->probe.thread, NULL, probe_main, p) == 0;
}

bool
pull_probe_slow(struct pull *p)
{
  return __atomic_load_n(&p->probe.slow, __ATOMIC_ACQUIRE) != 0;
}

void
pull_probe_end(struct pull *p, bool now)
{
  struct timespec ts;
  int64_t wait;

  if (!__atomic_exchange_n(&p->probe.running, false, __ATOMIC_ACQ_REL))
    return;
  /* p->probe.until was set before p->probe.slow, which the caller saw */
  wait = now ? 0 : p->probe.until + PROBE_SET_OUT_MS - now_ms();
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)(wait / 1000);
  ts.tv_nsec += (long)(wait % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  if (wait <= 0 || pthread_timedjoin_np(p->probe.thread, NULL, &ts) != 0) {
    p->probe.stop = 1;
    pthread_join(p->probe.thread, NULL);
  }
  if (!p->probe.slow) {
    buf_release(&p->probe.bytes);
    free(p->probe.digest);
    p->probe.digest = NULL;
  }
  log_debug("probe: ended with %zu bytes of its layer", p->probe.bytes.len);
}
