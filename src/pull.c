#include "pull.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>

#include "ctd.h"
#include "digest.h"
#include "endpoints.h"
#include "health.h"
#include "image.h"
#include "hosts.h"
#include "pull_internal.h"
#include "ref.h"
#include "spread.h"

/* Bytes per content write: ctr writes 1 MiB messages; a quarter keeps our
 * memory low, and spread hands bytes on in pieces of just this size, which
 * then go out without a copy. */
#define CHUNK SPREAD_PIECE

void
pull_emit(struct pull *p, enum pull_event_kind kind, const char *what, const char *digest,
          int64_t size, const char *endpoint, bool existed)
{
  struct pull_event ev = {kind, what, digest, size, endpoint, existed, 0};
  if (p->o->on_event) {
    pthread_mutex_lock(&p->mu);
    p->o->on_event(&ev, p->o->arg);
    pthread_mutex_unlock(&p->mu);
  }
}

static void note(struct pull *p, enum pull_event_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct pull *p, enum pull_event_kind kind, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start(ap, fmt);
  msg = xvasprintf(fmt, ap);
  va_end(ap);
  pull_emit(p, kind, msg, NULL, 0, NULL, false);
}

/* Endpoint indices in the order to try them: those that failed recently last. */
static void
endpoint_order(struct pull *p, size_t *order)
{
  const char **bases = xcalloc(p->n_eps, sizeof(char *));

  for (size_t i = 0; i < p->n_eps; i++)
    bases[i] = p->eps[i].base;
  health_order(p->health, bases, p->n_eps, order);
  free(bases);
}

static void
on_endpoint_failure(const char *base, const struct error *e, void *arg)
{
  struct pull *p = arg;

  health_failed(p->health, base);
  note(p, PULL_NOTE, "%s failed (%s): it is tried last for a while", base, e->msg);
}

/* Streaming a blob: registry → digest check → content store, CHUNK bytes at a
 * time. */
struct sink_state {
  struct ctd_writer *w;
  struct digest *md;
  struct buf chunk;
  struct buf *keep;
  int64_t received;
  int64_t limit;
  /* progress reports, at most every PROGRESS_MS */
  struct pull *p;
  const struct oci_desc *d;
  int64_t reported_ms;
  bool store_failed; /* containerd refused the bytes: not the registry's fault */
};

#define PROGRESS_MS 100

/* Hand LEN bytes at DATA on to containerd in messages of CHUNK bytes. The
 * chunk never holds more than CHUNK: whole chunks go out from DATA itself. */
static int
sink_store(struct sink_state *s, const uint8_t *data, size_t len, struct error **err)
{
  while (len > 0) {
    const uint8_t *from = data;
    size_t take = CHUNK - s->chunk.len;

    if (take > len)
      take = len;
    if (s->chunk.len > 0 || take < CHUNK) {
      buf_add(&s->chunk, data, take);
      from = s->chunk.len == CHUNK ? (const uint8_t *)s->chunk.data : NULL;
    }
    data += take;
    len -= take;
    if (from == NULL)
      continue;
    if (ctd_writer_write(s->w, from, CHUNK, err) < 0) {
      s->store_failed = true;
      return -1;
    }
    s->chunk.len = 0;
  }
  return 0;
}

static int
sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct sink_state *s = arg;

  s->received += (int64_t)len;
  if (s->received > s->limit)
    return error_setc(err, ERR_DATA_LOSS, "more bytes than the descriptor's %" PRId64, s->limit);
  if (s->md)
    digest_update(s->md, data, len);
  if (s->keep)
    buf_add(s->keep, data, len);
  if (s->p && s->p->o->on_event) {
    int64_t now = now_ms();
    if (now - s->reported_ms >= PROGRESS_MS) {
      s->reported_ms = now;
      struct pull_event ev = {
          PULL_PROGRESS, image_blob_kind(s->d->media_type), s->d->digest, s->received, NULL, false,
          s->d->size};
      pthread_mutex_lock(&s->p->mu);
      s->p->o->on_event(&ev, s->p->o->arg);
      pthread_mutex_unlock(&s->p->mu);
    }
  }
  return sink_store(s, data, len, err);
}

static int
read_back(struct pull *p, const struct oci_desc *d, struct buf *keep, struct error **err)
{
  if (ctd_content_read(p->c, d->digest, OCI_MAX_DOCUMENT, keep, err) < 0)
    return -1;
  if ((int64_t)keep->len != d->size)
    return error_setc(err, ERR_DATA_LOSS, "read back %s: %zu of %" PRId64 " bytes", d->digest,
                      keep->len, d->size);
  return 0;
}

/* Open the ingest of ref. While another writer holds it (a parallel pull of
 * the same blob, in this process or another), containerd answers Unavailable
 * "ref … locked": wait for it as ctr does, until the pull's deadline (none:
 * as long as it takes); then the blob is usually there (exists). */
static int
writer_open(struct pull *p, const char *ref, const struct oci_desc *d, struct ctd_writer **w,
            int64_t *offset, bool *exists, struct error **err)
{
  int64_t deadline = p->o->registry.deadline_ms;
  bool noted = false;

  for (;;) {
    struct error *e = NULL;

    if (ctd_writer_open(p->c, p->lease, ref, d->size, d->digest, w, offset, exists, &e) == 0)
      return 0;
    /* Unavailable is also what a lost connection gives: only "locked" waits. */
    if (!error_is(e, ERR_UNAVAILABLE) || strstr(e->msg, " locked") == NULL ||
        (deadline > 0 && now_ms() >= deadline)) {
      *err = e;
      return -1;
    }
    if (!noted)
      note(p, PULL_NOTE, "%s: another writer holds %s, waiting for it", d->digest, ref);
    noted = true;
    error_free(e);
    usleep(100 * 1000);
  }
}

/* One blob on its way into the content store: the ingest ref, the writer and
 * what came so far. blob_put_release frees it. */
struct blob_put {
  struct sink_state s;
  char *ref;      /* the ingest ref, "<kind>-<digest>" */
  int64_t offset; /* what the ingest held when it was opened */
  bool exists;    /* the blob is in the store already */
  size_t served;  /* the endpoint that sent it */
};

static void
blob_put_release(struct blob_put *b)
{
  if (b->s.md)
    digest_free(b->s.md);
  buf_release(&b->s.chunk);
  ctd_writer_free(b->s.w);
  free(b->ref);
}
#define cleanup_blob_put __attribute__((cleanup(blob_put_release)))

/* Drop an ingest. A writer cancelled a moment ago (the daemon's own
 * Transfer pull, given up) may still be letting go of it: a few tries. */
static int
abort_ingest(struct pull *p, const char *ref, struct error **err)
{
  for (int i = 0;; i++) {
    struct error *e = NULL;
    if (ctd_content_abort(p->c, ref, &e) == 0 || error_is(e, ERR_NOT_FOUND)) {
      error_free(e);
      return 0;
    }
    if (i >= 30) {
      *err = e;
      return -1;
    }
    error_free(e);
    usleep(100 * 1000);
  }
}

/* Close the ingest and open it anew, empty. */
static int
reopen_ingest(struct blob_put *b, bool check, struct error **err)
{
  struct pull *p = b->s.p;

  ctd_writer_free(b->s.w);
  b->s.w = NULL;
  if (check && abort_ingest(p, b->ref, err) < 0)
    return -1;
  if (!check)
    ctd_content_abort(p->c, b->ref, NULL);
  return writer_open(p, b->ref, b->s.d, &b->s.w, &b->offset, &b->exists, err);
}

/* The blob did not verify: nothing of it is kept, it starts over. */
static int
restart_blob(struct blob_put *b, struct error **err)
{
  if (reopen_ingest(b, false, err) < 0)
    return -1;
  b->s.received = 0;
  buf_release(&b->s.chunk);
  if (b->s.keep)
    b->s.keep->len = 0;
  digest_reset(b->s.md);
  return 0;
}

/* One try at endpoint ep, from what came so far; *e says why it failed. A
 * digest mismatch keeps nothing unverified: the blob starts over. -1 only
 * when the ingest cannot be opened again for that. */
static int
fetch_from(struct blob_put *b, const struct registry_ep *ep, struct error **e, struct error **err)
{
  struct sink_state *s = &b->s;
  struct pull *p = s->p;
  const struct oci_desc *d = s->d;
  cleanup_free char *got = NULL;

  if (registry_fetch(p->reg, ep, 1, p->repo, d, s->received, sink, s, NULL, e) == 0 &&
      s->received != d->size)
    error_setc(e, ERR_DATA_LOSS, "short body: %" PRId64 " of %" PRId64 " bytes", s->received,
               d->size);
  /* Every byte came, even if the connection then failed (a Content-Length
   * that lied): the digest decides. */
  if (*e != NULL && s->received == d->size)
    error_freep(e);
  if (*e != NULL || s->md == NULL)
    return 0;
  got = digest_hex(s->md);
  if (strcmp(got, d->digest) == 0)
    return 0;
  error_setc(e, ERR_DATA_LOSS, "digest mismatch: got %s", got);
  if (restart_blob(b, err) < 0) {
    error_freep(e);
    return -1;
  }
  return 0;
}

/* Where d comes in the image's layers, bottom first; -1 when it is not one of
 * them. */
static int
layer_rank(const struct pull *p, const struct oci_desc *d)
{
  for (size_t i = 0; i < p->n_layers; i++)
    if (strcmp(p->layers[i].desc.digest, d->digest) == 0)
      return (int)i;
  return -1;
}

/* The rest of the blob spread over the endpoints (spread.h). *done when it is
 * all in and verified; else what came is kept (a failure) or thrown away (a
 * digest mismatch: which endpoint lied is unknown) for the one-by-one loop. */
static int
fetch_spread(struct blob_put *b, bool *done, struct error **err)
{
  struct sink_state *s = &b->s;
  struct pull *p = s->p;
  const struct oci_desc *d = s->d;
  struct error *e = NULL;
  int64_t got = 0;
  cleanup_free char *hex = NULL;

  if (spread_fetch(p->sched, p->repo, d, layer_rank(p, d), s->received, sink, s, &got, &e) < 0) {
    if (s->store_failed) {
      *err = e;
      return error_wrap(err, "store %s", d->digest);
    }
    note(p, PULL_NOTE, "%s: spread over the endpoints failed (%s): one endpoint at a time",
         d->digest, e->msg);
    error_free(e);
    return 0;
  }
  if (s->md != NULL && strcmp((hex = digest_hex(s->md)), d->digest) != 0) {
    note(p, PULL_NOTE, "%s: digest mismatch (got %s) from the spread: one endpoint at a time",
         d->digest, hex);
    return restart_blob(b, err);
  }
  *done = true;
  b->served = p->served;
  if (s->chunk.len > 0 && ctd_writer_write(s->w, s->chunk.data, s->chunk.len, err) < 0)
    return -1;
  return 0;
}

/* The rest of the blob from the endpoints in health order. A short body, a
 * reset or a stall keeps what came and resumes from the next endpoint with
 * Range; a digest mismatch throws the whole blob away and starts it again
 * from the next one. */
static int
fetch_blob(struct blob_put *b, struct error **err)
{
  struct pull *p = b->s.p;
  const struct oci_desc *d = b->s.d;
  cleanup_free size_t *order = xcalloc(p->n_eps, sizeof(size_t));
  cleanup_buf struct buf failures = BUF_INIT;

  endpoint_order(p, order);
  if (b->offset == 0 && digest_new(&b->s.md, err) < 0)
    return -1;
  b->s.received = b->offset;
  /* the bytes the probe beside the daemon's pull fetched (pull_probe.c) */
  if (p->probe.digest != NULL && strcmp(p->probe.digest, d->digest) == 0) {
    int rc = 0;
    pull_probe_end(p, false); /* it is near its end: the link was not to idle */
    if (b->offset == 0 && p->probe.bytes.len > 0)
      rc = sink(p->probe.bytes.data, p->probe.bytes.len, &b->s, err);
    buf_release(&p->probe.bytes); /* a blob started again fetches them anew */
    if (rc < 0)
      return -1;
  }
  /* layers are spread; a document (small, needed first) takes no turn */
  if (p->sched && layer_rank(p, d) >= 0) {
    bool done = false;
    if (fetch_spread(b, &done, err) < 0)
      return -1;
    if (done)
      return 0;
  }
  for (size_t k = 0; k < p->n_eps; k++) {
    const struct registry_ep *ep = &p->eps[order[k]];
    struct error *e = NULL;
    int64_t from = b->s.received;

    if (fetch_from(b, ep, &e, err) < 0)
      return -1;
    if (e == NULL) {
      b->served = order[k];
      health_ok(p->health, ep->base);
      if (b->s.chunk.len > 0 && ctd_writer_write(b->s.w, b->s.chunk.data, b->s.chunk.len, err) < 0)
        return -1;
      return 0;
    }
    /* containerd failed (disk full, gone): no endpoint can help and none
     * is to blame. */
    if (b->s.store_failed) {
      *err = e;
      return error_wrap(err, "store %s", d->digest);
    }
    if (e->code != ERR_NOT_FOUND && e->code != ERR_UNAUTHENTICATED) {
      health_failed(p->health, ep->base);
      if (p->sched)
        spread_endpoint_failed(p->sched, order[k]);
      note(p, PULL_NOTE, "%s: %s from %s failed after %" PRId64 " bytes: %s", d->digest,
           image_blob_kind(d->media_type), ep->base, b->s.received - from, e->msg);
    }
    buf_addf(&failures, "%s%s: %s", failures.len ? "; " : "", ep->base,
             pull_fetch_reason(e->msg, ep->base));
    error_free(e);
  }
  return error_setc(err, ERR_UNAVAILABLE, "fetch %s: %s", d->digest,
                    failures.len ? failures.data : "no endpoint");
}

/* Put one blob into the content store. keep, when not NULL, receives its bytes
 * (manifests and configs are parsed from them). */
static int
put_blob_once(struct pull *p, const struct oci_desc *d, struct buf *keep, bool retried,
              struct error **err)
{
  const char *kind = image_blob_kind(d->media_type);
  cleanup_blob_put struct blob_put b = {
      .s = {.keep = keep, .limit = d->size, .p = p, .d = d},
      .ref = xasprintf("%s-%s", kind, d->digest),
  };

  if (pull_check_blob(d, keep != NULL, err) < 0 ||
      writer_open(p, b.ref, d, &b.s.w, &b.offset, &b.exists, err) < 0)
    return -1;
  if (b.exists) {
    pull_emit(p, PULL_BLOB, kind, d->digest, d->size, NULL, true);
    return keep ? read_back(p, d, keep, err) : 0;
  }
  /* A partial manifest or config: cheaper to start over than to read back. */
  if (b.offset > 0 && b.offset < d->size && keep && reopen_ingest(&b, true, err) < 0)
    return -1;
  if (b.offset < d->size && fetch_blob(&b, err) < 0)
    return -1;
  if (ctd_writer_commit(b.s.w, d->size, d->digest, err) < 0) {
    if (b.s.md != NULL || b.offset <= 0 || retried)
      return -1;
    /* A resumed ingest held bytes we could not check (some, or all of
     * them: a writer that failed before us, such as the daemon's own
     * Transfer pull of a corrupt blob, leaves them under the same ref), and
     * containerd found the blob wrong: drop it and fetch it once more. */
    note(p, PULL_NOTE, "%s: resumed data did not verify, fetching it again", d->digest);
    error_freep(err);
    ctd_writer_free(b.s.w);
    b.s.w = NULL;
    ctd_content_abort(p->c, b.ref, NULL);
    buf_release(&b.s.chunk);
    return put_blob_once(p, d, keep, true, err);
  }
  /* Shared from another namespace: nothing came over the wire to keep. */
  if (keep && keep->len == 0 && read_back(p, d, keep, err) < 0)
    return -1;
  pull_emit(p, PULL_BLOB, kind, d->digest, d->size, p->eps[b.served].base, b.offset >= d->size);
  return 0;
}

static int
put_blob(struct pull *p, const struct oci_desc *d, struct buf *keep, struct error **err)
{
  return put_blob_once(p, d, keep, false, err);
}

/* Set labels on a blob; values NULL-free. */
int
pull_blob_labels(struct pull *p, const char *digest, struct strv *keys, struct strv *values,
                 struct error **err)
{
  if (keys->n == 0)
    return 0;
  return ctd_content_set_labels(p->c, p->lease, digest, keys, values, err);
}

/* containerd.io/distribution.source.<host>: merged with what is there, sorted. */
int
pull_blob_source(struct pull *p, const char *digest, struct error **err)
{
  cleanup_strv struct strv labels = STRV_INIT;
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  char *value = NULL;

  if (ctd_content_labels(p->c, digest, &labels, err) < 0)
    return -1;
  value = pull_source_value(&labels, p->source_key, p->repo);
  if (value == NULL)
    return 0;
  strv_push(&keys, p->source_key);
  strv_push_owned(&values, value);
  return pull_blob_labels(p, digest, &keys, &values, err);
}

/* For pull_meta.c (pull_internal.h). */
int
pull_put_blob(struct pull *p, const struct oci_desc *d, struct buf *keep, struct error **err)
{
  return put_blob(p, d, keep, err);
}

int
pull_label_blob(struct pull *p, const char *digest, struct strv *keys, struct strv *values,
                struct error **err)
{
  return pull_blob_labels(p, digest, keys, values, err) < 0 || pull_blob_source(p, digest, err) < 0
             ? -1
             : 0;
}

static int
endpoints_for(struct pull *p, const char *registry, struct error **err)
{
  struct hosts_config hc = {0};

  if (hosts_resolve(registry, p->o->dirs, &hc, err) < 0)
    return -1;
  for (size_t i = 0; i < hc.warnings.n; i++)
    note(p, PULL_WARNING, "%s", hc.warnings.v[i]);
  {
    struct endpoints_opts eo = {.plain_http = p->o->plain_http,
                                .skip_verify = p->o->skip_verify == 1};
    p->eps = endpoints_from_hosts(&hc, &eo, &p->n_eps);
  }
  hosts_config_release(&hc);
  if (p->n_eps == 0)
    return error_setc(err, ERR_NOT_FOUND, "no endpoint for registry '%s'", registry);
  return 0;
}

static void
note_failed_recently(struct pull *p)
{
  for (size_t i = 0; i < p->n_eps; i++) {
    int64_t ago = health_failed_ago(p->health, p->eps[i].base);
    if (ago >= 0 && p->n_eps > 1)
      note(p, PULL_NOTE, "%s failed %" PRId64 "s ago: trying it last", p->eps[i].base, ago);
  }
}

/* Store the root an endpoint resolved and parse it; *e says why it is no
 * manifest pull can use. -1 only when it cannot be stored. */
static int
store_root(struct pull *p, struct oci_desc *root, struct buf *rootb, struct error **e,
           struct error **err)
{
  if (pull_check_root(root, e) < 0)
    return 0;
  if (put_blob(p, root, rootb, err) < 0)
    return -1;
  if (image_is_index(root->media_type)) {
    cleanup_image_index struct image_index ix = {0};
    image_parse_index(rootb->data, rootb->len, &ix, e);
  } else {
    cleanup_image_manifest struct image_manifest m = {0};
    image_parse_manifest(rootb->data, rootb->len, &m, e);
  }
  return 0;
}

/* Resolve the reference and fetch its root (index or manifest). An endpoint
 * whose answer turns out to be no manifest at all (not JSON, a media type we
 * cannot use, too large) is set aside and the reference resolved again by the
 * others: its digest was its own, so the blob verified and only parsing shows. */
static int
resolve_root(struct pull *p, const char *object, struct oci_desc *root, struct buf *rootb,
             size_t *served, struct error **err)
{
  cleanup_free bool *aside = xcalloc(p->n_eps, sizeof(bool));
  cleanup_free size_t *order = xcalloc(p->n_eps, sizeof(size_t));
  cleanup_free struct registry_ep *ordered = xcalloc(p->n_eps, sizeof(*ordered));
  cleanup_buf struct buf failures = BUF_INIT;

  note_failed_recently(p);
  for (;;) {
    struct error *e = NULL;
    size_t n = 0, got = 0;

    endpoint_order(p, order);
    for (size_t i = 0; i < p->n_eps; i++)
      if (!aside[order[i]])
        ordered[n++] = p->eps[order[i]];
    if (n == 0)
      return error_setc(err, ERR_INVALID, "resolve \"%s\": %s", object, failures.data);
    if (registry_resolve(p->reg, ordered, n, p->repo, object, root, &got, err) < 0)
      return failures.len ? error_wrap(err, "%s", failures.data) : -1;
    for (size_t i = 0; i < p->n_eps; i++)
      if (p->eps[i].base == ordered[got].base)
        *served = i;
    pull_emit(p, PULL_RESOLVED, image_blob_kind(root->media_type), root->digest, root->size,
              p->eps[*served].base, false);
    if (store_root(p, root, rootb, &e, err) < 0)
      return -1;
    if (e == NULL) {
      health_ok(p->health, p->eps[*served].base);
      return 0;
    }
    health_failed(p->health, p->eps[*served].base);
    note(p, PULL_NOTE, "%s answered with no usable manifest (%s): asking the others",
         p->eps[*served].base, e->msg);
    buf_addf(&failures, "%s%s: %s", failures.len ? "; " : "", p->eps[*served].base, e->msg);
    error_free(e);
    aside[*served] = true;
    oci_desc_release(root);
    buf_release(rootb);
  }
}

/* One level of walk_indexes: the index cur labelled with all its children
 * and its source, then the child for the platform fetched into cur/curb. */
static int
follow_index(struct pull *p, struct oci_desc *cur, struct buf *curb, size_t depth,
             struct error **err)
{
  cleanup_image_index struct image_index ix = {0};
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  cleanup_buf struct buf childb = BUF_INIT;
  ssize_t k;

  if (image_parse_index(curb->data, curb->len, &ix, err) < 0)
    return error_wrap(err, "%s", cur->digest);
  image_index_gc_labels(&ix, &keys, &values);
  k = image_index_select(&ix, p->platform);
  if (pull_blob_labels(p, cur->digest, &keys, &values, err) < 0 ||
      pull_blob_source(p, cur->digest, err) < 0)
    return -1;
  if (k < 0)
    return error_setc(err, ERR_NOT_FOUND, "no manifest for platform %s in %s", p->platform,
                      p->name);
  for (size_t i = 0; p->line.all_metadata && i < ix.n; i++)
    if (i != (size_t)k && pull_keep_metadata(p, &ix.manifests[i], depth + 1, err) < 0)
      return -1;
  if (pull_check_index_child(&ix.manifests[k], err) < 0 ||
      put_blob(p, &ix.manifests[k], &childb, err) < 0)
    return -1;
  oci_desc_release(cur);
  buf_release(curb);
  *cur = ix.manifests[k];
  memset(&ix.manifests[k], 0, sizeof(ix.manifests[k]));
  *curb = childb;
  memset(&childb, 0, sizeof(childb));
  return 0;
}

/* From the root (an index, or already the manifest) down to the manifest for
 * the platform, nested indexes followed up to IMAGE_MAX_INDEX_DEPTH levels:
 * p->man starts as the root (its bytes are in p->manb already). */
static int
walk_indexes(struct pull *p, struct error **err)
{
  p->man.media_type = xstrdup(p->root.media_type);
  p->man.digest = xstrdup(p->root.digest);
  p->man.size = p->root.size;
  for (size_t depth = 0; image_is_index(p->man.media_type); depth++) {
    if (depth >= IMAGE_MAX_INDEX_DEPTH)
      return error_setc(err, ERR_INVALID, "%s: indexes nested more than %d deep", p->man.digest,
                        IMAGE_MAX_INDEX_DEPTH);
    if (follow_index(p, &p->man, &p->manb, depth, err) < 0)
      return -1;
  }
  return 0;
}

/* The manifest: its config and layers taken into the state, and it labelled
 * with them and its source. */
static int
read_manifest(struct pull *p, struct error **err)
{
  cleanup_image_manifest struct image_manifest m = {0};
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;

  if (image_parse_manifest(p->manb.data, p->manb.len, &m, err) < 0)
    return error_wrap(err, "%s", p->man.digest);
  image_manifest_gc_labels(&m, &keys, &values);
  p->cfg = m.config;
  memset(&m.config, 0, sizeof(m.config));
  p->n_layers = m.n_layers;
  p->layers = xcalloc(p->n_layers ? p->n_layers : 1, sizeof(*p->layers));
  for (size_t i = 0; i < m.n_layers; i++) {
    p->layers[i].desc = m.layers[i];
    memset(&m.layers[i], 0, sizeof(m.layers[i]));
  }
  pull_layers_share_blobs(p->layers, p->n_layers);
  if (pull_blob_labels(p, p->man.digest, &keys, &values, err) < 0 ||
      pull_blob_source(p, p->man.digest, err) < 0)
    return -1;
  return 0;
}

/* The config: fetched, its diff IDs checked against the layers, and the
 * layers given their diff and chain IDs. */
static int
read_config(struct pull *p, struct error **err)
{
  cleanup_strv struct strv diff_ids = STRV_INIT;
  cleanup_strv struct strv chains = STRV_INIT;

  if (p->cfg.size > (int64_t)OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED,
                      "config %s of %" PRId64 " bytes is over the %u byte limit", p->cfg.digest,
                      p->cfg.size, OCI_MAX_DOCUMENT);
  if (put_blob(p, &p->cfg, &p->cfgb, err) < 0 || pull_blob_source(p, p->cfg.digest, err) < 0)
    return -1;
  if (image_parse_config(p->cfgb.data, p->cfgb.len, &diff_ids, err) < 0)
    return error_wrap(err, "%s", p->cfg.digest);
  if (image_check_diff_ids(p->cfg.digest, diff_ids.n, p->n_layers, err) < 0)
    return -1;
  image_chain_ids(&diff_ids, &chains);
  for (size_t i = 0; i < p->n_layers; i++) {
    p->layers[i].diff_id = xstrdup(diff_ids.v[i]);
    p->layers[i].chain_id = xstrdup(chains.v[i]);
  }
  return 0;
}

/* The config read, the layers downloaded and unpacked, and the config labelled with the top
 * snapshot (for run, and for containerd's GC). */
static int
fetch_and_unpack(struct pull *p, struct pull_result *res, struct error **err)
{
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  const char *top = NULL;

  /* the config comes while the first layers download */
  if (p->n_layers == 0)
    return read_config(p, err);
  if (pull_layers(p, read_config, err) < 0)
    return -1;
  top = p->layers[p->n_layers - 1].chain_id;
  strv_push_owned(&keys, xasprintf("containerd.io/gc.ref.snapshot.%s", p->snapshotter));
  strv_push(&values, top);
  if (pull_blob_labels(p, p->cfg.digest, &keys, &values, err) < 0)
    return -1;
  res->chain_id = xstrdup(top);
  res->n_endpoints = p->sched ? spread_endpoints_used(p->sched) : 1;
  if (res->n_endpoints == 0)
    res->n_endpoints = 1;
  return 0;
}

static int
create_image_record(struct pull *p, struct pull_result *res, struct error **err)
{
  if (ctd_image_put(p->c, p->lease, p->name, p->root.media_type, p->root.digest, p->root.size,
                    p->o->labels, err) < 0)
    return -1;
  res->name = xstrdup(p->name);
  res->digest = xstrdup(p->root.digest);
  return 0;
}

static int
parse_reference(struct pull *p, struct error **err)
{
  if (ref_parse_docker(p->o->ref, &p->ref, err) < 0)
    return error_wrap(err, "invalid reference \"%s\"", p->o->ref);
  p->name = ref_string(&p->ref);
  p->repo = xstrdup(p->ref.path);
  p->source_key = pull_source_key(p->ref.domain);
  return 0;
}

/* Endpoint health, the endpoints of the reference's registry in hosts order,
 * and a registry client that reports failing endpoints to the health. */
static int
open_registry(struct pull *p, struct error **err)
{
  char *warning = NULL;
  struct registry_opts ro = p->o->registry;

  p->health = health_load(p->o->state_path, &warning);
  if (warning) {
    note(p, PULL_WARNING, "%s", warning);
    free(warning);
  }
  ro.on_endpoint_failure = on_endpoint_failure;
  ro.failure_arg = p;
  if (endpoints_for(p, p->ref.domain, err) < 0)
    return -1;
  return registry_new(&ro, &p->reg, err);
}

/* Spread the blobs over the endpoints with pull that did not fail lately
 * (and the one that resolved), unless told not to. */
static void
start_sched(struct pull *p)
{
  cleanup_free bool *usable = xcalloc(p->n_eps, sizeof(bool));
  struct spread_opts so = {.on_failure = on_endpoint_failure, .arg = p};

  if (p->o->registry.no_spread)
    return;
  for (size_t i = 0; i < p->n_eps; i++)
    usable[i] = i == p->served || health_failed_ago(p->health, p->eps[i].base) < 0;
  p->sched = spread_new(p->reg, p->eps, p->n_eps, usable, &so);
}

/* The daemon's line, from its Version API: what the pull leaves follows it. */
static int
learn_line(struct pull *p, struct error **err)
{
  cleanup_free char *version = NULL;
  cleanup_free char *revision = NULL;

  if (ctd_version(p->c, &version, &revision, err) < 0)
    return error_wrap(err, "containerd version");
  pull_line_of(version, &p->line);
  note(p, PULL_NOTE, "containerd %s: a %s pull", version,
       p->line.all_metadata ? "2.x (Transfer service)" : "1.x (client)");
  return 0;
}

/* 2.x: the daemon pulls through its Transfer service (pull_transfer.c),
 * unless --max-concurrent-downloads was given: ctr 2.x takes that only with
 * --local, for a pull in the client, and so does ctrx. Unless told not to
 * spread, a probe runs beside it: when one connection to the endpoint turns
 * out slow, the daemon's pull is cancelled and ctrx's own goes on from what
 * the daemon holds, with more connections. */
static bool
pulled_by_daemon(struct pull *p, struct pull_result *res)
{
  int64_t stall = p->o->registry.stall_timeout_ms;
  bool done;
  struct pull_transfer t = {
      p->c,           p->lease,       &p->eps[p->served],
      p->health,      p->ref.domain,  p->repo,
      &p->root,       p->name,        p->o->labels,
      p->platform,    p->snapshotter, stall > 0 ? stall : REGISTRY_STALL_TIMEOUT_MS,
      &p->probe.slow, p->o->on_event, p->o->arg};

  if (!p->line.all_metadata || p->o->registry.user != NULL || p->o->max_concurrent != 0)
    return false;
  if (p->sched != NULL)
    pull_probe_start(p);
  done = pull_by_daemon(&t, res);
  /* taken over: the probe goes on a round trip longer, and ctrx's pull takes
   * its bytes when it comes to that layer */
  if (done || !pull_probe_slow(p))
    pull_probe_end(p, true);
  else
    note(p, PULL_NOTE, "one connection to %s is slow: ctrx pulls the rest itself",
         p->eps[p->served].base);
  return done;
}

static int
pull_steps(struct pull *p, struct pull_result *res, struct error **err)
{
  if (open_registry(p, err) < 0 || learn_line(p, err) < 0 ||
      ctd_default_snapshotter(p->c, p->o->ns, p->o->snapshotter, &p->snapshotter, err) < 0 ||
      ctd_lease_create(p->c, &p->lease, err) < 0 ||
      resolve_root(p, p->ref.digest ? p->ref.digest : p->ref.tag, &p->root, &p->manb, &p->served,
                   err) < 0)
    return -1;
  res->endpoint = xstrdup(p->eps[p->served].base);
  start_sched(p);
  /* Over several endpoints ctrx spreads the blobs itself; from one, a 2.x
   * daemon fetches them faster than Content/Write can be fed. */
  if ((p->sched == NULL || spread_usable(p->sched) < 2) && pulled_by_daemon(p, res))
    return 0;
  if (walk_indexes(p, err) < 0 || read_manifest(p, err) < 0 || fetch_and_unpack(p, res, err) < 0 ||
      create_image_record(p, res, err) < 0)
    return -1;
  return 0;
}

static void
save_health(struct pull *p)
{
  struct error *e = NULL;

  if (p->health == NULL)
    return;
  if (health_save(p->health, &e) < 0) {
    note(p, PULL_NOTE, "cannot keep endpoint health: %s", e->msg);
    error_free(e);
  }
  health_free(p->health);
  p->health = NULL;
}

static void
pull_state_release(struct pull *p)
{
  /* The lease goes in every case: on success the image record now holds
   * everything; on failure nothing of this pull is kept. */
  if (p->lease)
    ctd_lease_delete(p->c, p->lease, NULL);
  buf_release(&p->manb);
  buf_release(&p->cfgb);
  pull_probe_end(p, true);
  buf_release(&p->probe.bytes);
  free(p->probe.digest);
  oci_desc_release(&p->root);
  oci_desc_release(&p->man);
  oci_desc_release(&p->cfg);
  for (size_t i = 0; i < p->n_layers; i++) {
    oci_desc_release(&p->layers[i].desc);
    free(p->layers[i].diff_id);
    free(p->layers[i].chain_id);
  }
  free(p->layers);
  spread_free(p->sched);
  for (size_t i = 0; i < p->n_eps; i++)
    registry_ep_release(&p->eps[i]);
  free(p->eps);
  registry_free(p->reg);
  save_health(p);
  error_free(p->first_err);
  free(p->lease);
  free(p->repo);
  free(p->source_key);
  free(p->snapshotter);
  free(p->name);
  free(p->platform);
  ref_release(&p->ref);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cond);
}
#define cleanup_pull __attribute__((cleanup(pull_state_release)))

int
pull_image(struct grpc_conn *c, const struct pull_opts *o, struct pull_result *res,
           struct error **err)
{
  cleanup_pull struct pull p = {
      .c = c,
      .o = o,
      .platform = o->platform ? xstrdup(o->platform) : image_host_platform(),
      .mu = PTHREAD_MUTEX_INITIALIZER,
      .cond = PTHREAD_COND_INITIALIZER,
  };

  if (parse_reference(&p, err) < 0)
    return -1;
  if (pull_steps(&p, res, err) < 0)
    return error_wrap(err, "pull \"%s\"", p.name);
  return 0;
}

void
pull_result_release(struct pull_result *r)
{
  free(r->name);
  free(r->digest);
  free(r->endpoint);
  free(r->chain_id);
  memset(r, 0, sizeof(*r));
}
