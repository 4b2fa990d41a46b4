#include "pull.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/utsname.h>

#include "ctd.h"
#include "digest.h"
#include "health.h"
#include "image.h"
#include "hosts.h"
#include "ref.h"

#define CHUNK (256u << 10) /* ctr writes 1 MiB messages; a quarter keeps our memory low */
#define DEFAULT_CONCURRENCY 4
#define LABEL_SOURCE "containerd.io/distribution.source."

static const char *const index_types[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
};
static const char *const manifest_types[] = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
};

static bool
is_one_of(const char *mt, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (str_eq(mt, list[i]))
      return true;
  return false;
}

struct layer {
  struct registry_desc desc;
  char *diff_id;
  char *chain_id;
  size_t blob; /* the layer whose download brings this blob in: itself, or the
                * first one listing the same digest (downloaded once) */
  bool done;
  bool failed;
};

struct pull {
  struct grpc_conn *c;
  const struct pull_opts *o;
  struct registry *reg;
  struct registry_ep *eps;
  size_t n_eps;
  struct health *health;
  char *lease;
  char *repo;       /* "library/busybox" */
  char *source_key; /* containerd.io/distribution.source.<host without port> */
  char *snapshotter;
  /* layers, shared with the download threads */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct layer *layers;
  size_t n_layers;
  size_t next; /* next layer to download */
  struct error *first_err;
};

static void
emit(struct pull *p, enum pull_event_kind kind, const char *what, const char *digest, int64_t size,
     const char *endpoint, bool existed)
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
  emit(p, kind, msg, NULL, 0, NULL, false);
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

void
pull_chain_ids(const struct strv *diff_ids, struct strv *out)
{
  for (size_t i = 0; i < diff_ids->n; i++) {
    if (i == 0) {
      strv_push(out, diff_ids->v[0]);
      continue;
    }
    cleanup_free char *joined = xasprintf("%s %s", out->v[i - 1], diff_ids->v[i]);
    char *id = digest_sha256(joined, strlen(joined), NULL);
    strv_push_owned(out, id ? id : xstrdup(""));
  }
}

char *
pull_host_platform(void)
{
  struct utsname u;

  if (uname(&u) < 0)
    return xstrdup("linux/amd64");
  if (strcmp(u.machine, "x86_64") == 0)
    return xstrdup("linux/amd64");
  if (strcmp(u.machine, "aarch64") == 0)
    return xstrdup("linux/arm64/v8");
  if (str_has_prefix(u.machine, "armv7"))
    return xstrdup("linux/arm/v7");
  if (str_has_prefix(u.machine, "armv6"))
    return xstrdup("linux/arm/v6");
  if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
    return xstrdup("linux/386");
  return xasprintf("linux/%s", u.machine);
}

static const char *
ref_prefix(const char *media_type)
{
  if (is_one_of(media_type, index_types, ARRAY_SIZE(index_types)))
    return "index";
  if (is_one_of(media_type, manifest_types, ARRAY_SIZE(manifest_types)))
    return "manifest";
  if (str_has_prefix(media_type, "application/vnd.oci.image.layer.") ||
      str_has_prefix(media_type, "application/vnd.docker.image.rootfs."))
    return "layer";
  if (str_eq(media_type, "application/vnd.oci.image.config.v1+json") ||
      str_eq(media_type, "application/vnd.docker.container.image.v1+json"))
    return "config";
  return "unknown";
}

/* Streaming a blob: registry → digest check → content store, 1 MiB at a time. */
struct sink_state {
  struct ctd_writer *w;
  struct digest *md;
  struct buf chunk;
  struct buf *keep;
  int64_t received;
  int64_t limit;
  /* progress reports, at most every PROGRESS_MS */
  struct pull *p;
  const struct registry_desc *d;
  int64_t reported_ms;
  bool store_failed; /* containerd refused the bytes: not the registry's fault */
};

#define PROGRESS_MS 100

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
  buf_add(&s->chunk, data, len);
  if (s->p && s->p->o->on_event) {
    int64_t now = now_ms();
    if (now - s->reported_ms >= PROGRESS_MS) {
      s->reported_ms = now;
      struct pull_event ev = {
          PULL_PROGRESS, ref_prefix(s->d->media_type), s->d->digest, s->received, NULL, false,
          s->d->size};
      pthread_mutex_lock(&s->p->mu);
      s->p->o->on_event(&ev, s->p->o->arg);
      pthread_mutex_unlock(&s->p->mu);
    }
  }
  while (s->chunk.len >= CHUNK) {
    if (ctd_writer_write(s->w, s->chunk.data, CHUNK, err) < 0) {
      s->store_failed = true;
      return -1;
    }
    buf_consume(&s->chunk, CHUNK);
  }
  return 0;
}

static char *
md_hex(struct digest *md)
{
  return digest_hex(md);
}

static int
read_back(struct pull *p, const struct registry_desc *d, struct buf *keep, struct error **err)
{
  if (ctd_content_read(p->c, d->digest, IMAGE_MAX_DOCUMENT, keep, err) < 0)
    return -1;
  if ((int64_t)keep->len != d->size)
    return error_setc(err, ERR_DATA_LOSS, "read back %s: %zu of %" PRId64 " bytes", d->digest,
                      keep->len, d->size);
  return 0;
}

/* registry_fetch names what and where ("fetch \"r@d\": <base>: why"); the
 * failure list here names the endpoint itself, so keep only the why. */
static const char *
fetch_reason(const char *msg, const char *base)
{
  const char *at = strstr(msg, base);

  if (str_has_prefix(msg, "fetch \"") && at && str_has_prefix(at + strlen(base), ": "))
    return at + strlen(base) + 2;
  return msg;
}

/* Open the ingest of ref. While another writer holds it (a parallel pull of
 * the same blob, in this process or another), containerd answers Unavailable
 * "ref … locked": wait for it as ctr does, until the pull's deadline (none:
 * as long as it takes); then the blob is usually there (exists). */
static int
writer_open(struct pull *p, const char *ref, const struct registry_desc *d, struct ctd_writer **w,
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

/* Put one blob into the content store. keep, when not NULL, receives its bytes
 * (manifests and configs are parsed from them). */
static int
put_blob_once(struct pull *p, const struct registry_desc *d, struct buf *keep, bool retried,
              struct error **err)
{
  cleanup_free char *ref = xasprintf("%s-%s", ref_prefix(d->media_type), d->digest);
  struct sink_state s = {.keep = keep, .limit = d->size, .p = p, .d = d};
  size_t served = 0;
  int64_t offset = 0;
  bool exists = false;
  int rv = -1;

  if (!str_has_prefix(d->digest, "sha256:"))
    return error_setc(err, ERR_INVALID, "blob %s: only sha256 digests are supported", d->digest);
  if (d->size <= 0)
    return error_setc(err, ERR_INVALID, "blob %s reports content size of zero", d->digest);
  /* What is kept is held in memory: no bigger than containerd reads a manifest. */
  if (keep && d->size > (int64_t)IMAGE_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED, "%s %s of %" PRId64 " bytes is over the %u byte limit",
                      ref_prefix(d->media_type), d->digest, d->size, IMAGE_MAX_DOCUMENT);
  if (writer_open(p, ref, d, &s.w, &offset, &exists, err) < 0)
    return -1;
  if (exists) {
    emit(p, PULL_BLOB, ref_prefix(d->media_type), d->digest, d->size, NULL, true);
    return keep ? read_back(p, d, keep, err) : 0;
  }
  if (offset > 0 && offset < d->size && keep) {
    /* A partial manifest or config: cheaper to start over than to read back. */
    ctd_writer_free(s.w);
    s.w = NULL;
    if (ctd_content_abort(p->c, ref, err) < 0 ||
        writer_open(p, ref, d, &s.w, &offset, &exists, err) < 0)
      return -1;
  }
  if (offset < d->size) {
    size_t *order = xcalloc(p->n_eps, sizeof(size_t));
    struct buf failures = BUF_INIT;
    size_t k = 0;
    bool done = false;

    endpoint_order(p, order);
    /* Endpoints in health order. A short body, a reset or a stall keeps what
     * came and resumes from the next endpoint with Range; a digest mismatch
     * throws the whole blob away and starts it again from the next one. */
    if (offset == 0 && digest_new(&s.md, err) < 0) {
      free(order);
      goto out;
    }
    s.received = offset;
    for (k = 0; k < p->n_eps && !done; k++) {
      const struct registry_ep *ep = &p->eps[order[k]];
      struct error *e = NULL;
      int64_t from = s.received;

      if (registry_fetch(p->reg, ep, 1, p->repo, d, from, sink, &s, NULL, &e) == 0 &&
          s.received != d->size)
        error_setc(&e, ERR_DATA_LOSS, "short body: %" PRId64 " of %" PRId64 " bytes", s.received,
                   d->size);
      /* Every byte came, even if the connection then failed (a Content-Length
       * that lied): the digest decides. */
      if (e != NULL && s.received == d->size)
        error_freep(&e);
      if (e == NULL && s.md) {
        cleanup_free char *got = md_hex(s.md);
        if (strcmp(got, d->digest) != 0) {
          error_setc(&e, ERR_DATA_LOSS, "digest mismatch: got %s", got);
          /* Nothing unverified is kept: start the blob over. */
          ctd_writer_free(s.w);
          s.w = NULL;
          ctd_content_abort(p->c, ref, NULL);
          if (writer_open(p, ref, d, &s.w, &offset, &exists, err) < 0) {
            buf_release(&failures);
            free(order);
            goto out;
          }
          s.received = 0;
          buf_release(&s.chunk);
          if (keep)
            keep->len = 0;
          digest_reset(s.md);
        }
      }
      if (e == NULL) {
        served = order[k];
        health_ok(p->health, ep->base);
        done = true;
        break;
      }
      /* containerd failed (disk full, gone): no endpoint can help and none
       * is to blame. */
      if (s.store_failed) {
        *err = e;
        error_wrap(err, "store %s", d->digest);
        buf_release(&failures);
        free(order);
        goto out;
      }
      if (e->code != ERR_NOT_FOUND && e->code != ERR_UNAUTHENTICATED) {
        health_failed(p->health, ep->base);
        note(p, PULL_NOTE, "%s: %s from %s failed after %" PRId64 " bytes: %s", d->digest,
             ref_prefix(d->media_type), ep->base, s.received - from, e->msg);
      }
      buf_addf(&failures, "%s%s: %s", failures.len ? "; " : "", ep->base,
               fetch_reason(e->msg, ep->base));
      error_free(e);
    }
    free(order);
    if (!done) {
      error_setc(err, ERR_UNAVAILABLE, "fetch %s: %s", d->digest,
                 failures.len ? failures.data : "no endpoint");
      buf_release(&failures);
      goto out;
    }
    buf_release(&failures);
    if (s.chunk.len > 0 && ctd_writer_write(s.w, s.chunk.data, s.chunk.len, err) < 0)
      goto out;
  }
  if (ctd_writer_commit(s.w, d->size, d->digest, err) < 0) {
    if (s.md == NULL && offset > 0 && offset < d->size && !retried) {
      /* A resumed ingest held bytes we could not check, and containerd found
       * the blob wrong: drop it and fetch the whole blob once more. */
      note(p, PULL_NOTE, "%s: resumed data did not verify, fetching it again", d->digest);
      error_freep(err);
      ctd_writer_free(s.w);
      s.w = NULL;
      ctd_content_abort(p->c, ref, NULL);
      buf_release(&s.chunk);
      return put_blob_once(p, d, keep, true, err);
    }
    goto out;
  }
  /* Shared from another namespace: nothing came over the wire to keep. */
  if (keep && keep->len == 0 && read_back(p, d, keep, err) < 0)
    goto out;
  emit(p, PULL_BLOB, ref_prefix(d->media_type), d->digest, d->size, p->eps[served].base,
       offset >= d->size);
  rv = 0;
out:
  if (s.md)
    digest_free(s.md);
  buf_release(&s.chunk);
  ctd_writer_free(s.w);
  return rv;
}

static int
put_blob(struct pull *p, const struct registry_desc *d, struct buf *keep, struct error **err)
{
  return put_blob_once(p, d, keep, false, err);
}

/* Set labels on a blob; values NULL-free. */
static int
label_blob(struct pull *p, const char *digest, struct strv *keys, struct strv *values,
           struct error **err)
{
  if (keys->n == 0)
    return 0;
  return ctd_content_set_labels(p->c, p->lease, digest, keys, values, err);
}

/* containerd.io/distribution.source.<host>: merged with what is there, sorted. */
static int
label_source(struct pull *p, const char *digest, struct error **err)
{
  cleanup_strv struct strv labels = STRV_INIT;
  cleanup_strv struct strv repos = STRV_INIT;
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  size_t klen = strlen(p->source_key);
  struct buf v = BUF_INIT;

  if (ctd_content_labels(p->c, digest, &labels, err) < 0)
    return -1;
  for (size_t i = 0; i < labels.n; i++) {
    if (strncmp(labels.v[i], p->source_key, klen) == 0 && labels.v[i][klen] == '=') {
      cleanup_free char *copy = xstrdup(labels.v[i] + klen + 1);
      for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strv_contains(&repos, t))
          strv_push(&repos, t);
    }
  }
  if (strv_contains(&repos, p->repo))
    return 0;
  strv_push(&repos, p->repo);
  qsort(repos.v, repos.n, sizeof(char *), str_ptr_cmp);
  for (size_t i = 0; i < repos.n; i++)
    buf_addf(&v, "%s%s", i ? "," : "", repos.v[i]);
  strv_push(&keys, p->source_key);
  strv_push_owned(&values, buf_steal(&v));
  return label_blob(p, digest, &keys, &values, err);
}

static void *
download_worker(void *arg)
{
  struct pull *p = arg;

  for (;;) {
    struct error *e = NULL;
    size_t i;

    pthread_mutex_lock(&p->mu);
    /* A layer listed twice comes in once: its first listing downloads it. */
    while (p->next < p->n_layers && p->layers[p->next].blob != p->next)
      p->next++;
    if (p->next >= p->n_layers || p->first_err) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    i = p->next++;
    pthread_mutex_unlock(&p->mu);
    if (put_blob(p, &p->layers[i].desc, NULL, &e) == 0)
      label_source(p, p->layers[i].desc.digest, &e);
    pthread_mutex_lock(&p->mu);
    if (e) {
      p->layers[i].failed = true;
      if (p->first_err == NULL)
        p->first_err = e;
      else
        error_free(e);
    } else {
      p->layers[i].done = true;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
  }
}

static char *
unique_key(const char *chain)
{
  struct timespec ts;
  unsigned r = 0;
  cleanup_close int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

  clock_gettime(CLOCK_REALTIME, &ts);
  if (fd < 0 || read(fd, &r, sizeof(r)) != sizeof(r))
    r = (unsigned)ts.tv_nsec;
  return xasprintf("extract-%ld-%06x %s", ts.tv_nsec, r & 0xffffff, chain);
}

/* Apply layer i on top of layer i-1 (PROTOCOL.md §3.2). */
static int
unpack_layer(struct pull *p, size_t i, struct error **err)
{
  struct layer *l = &p->layers[i];
  const char *parent = i ? p->layers[i - 1].chain_id : "";
  struct ctd_mounts *m = NULL;
  cleanup_free char *key = NULL;
  cleanup_free char *applied = NULL;
  struct error *e = NULL;

  if (ctd_snapshot_stat(p->c, p->snapshotter, l->chain_id, &e) == 0)
    return 0;
  if (!error_is(e, ERR_NOT_FOUND)) {
    *err = e;
    return error_wrap(err, "snapshot %s", l->chain_id);
  }
  error_freep(&e);
  key = unique_key(l->chain_id);
  if (ctd_snapshot_prepare(p->c, p->lease, p->snapshotter, key, parent, &m, err) < 0)
    return -1;
  if (ctd_diff_apply(p->c, p->lease, l->desc.media_type, l->desc.digest, l->desc.size, m, &applied,
                     err) < 0)
    goto fail;
  if (strcmp(applied, l->diff_id) != 0) {
    error_setc(err, ERR_DATA_LOSS,
               "layer %s: wrong diff id calculated on extraction (%s, the config says %s)",
               l->desc.digest, applied, l->diff_id);
    goto fail;
  }
  if (ctd_snapshot_commit(p->c, p->lease, p->snapshotter, l->chain_id, key, &e) < 0) {
    if (!error_is(e, ERR_ALREADY_EXISTS)) {
      *err = e;
      error_wrap(err, "commit snapshot %s", l->chain_id);
      goto fail;
    }
    /* someone else unpacked the same chain meanwhile: theirs is as good */
    error_freep(&e);
    ctd_snapshot_remove(p->c, p->lease, p->snapshotter, key, NULL);
  }
  ctd_mounts_free(m);
  {
    cleanup_strv struct strv keys = STRV_INIT;
    cleanup_strv struct strv values = STRV_INIT;
    strv_push(&keys, "containerd.io/uncompressed");
    strv_push(&values, l->diff_id);
    if (label_blob(p, l->desc.digest, &keys, &values, err) < 0)
      return -1;
  }
  emit(p, PULL_UNPACKED, "layer", l->chain_id, 0, NULL, false);
  return 0;

fail:
  ctd_mounts_free(m);
  ctd_snapshot_remove(p->c, p->lease, p->snapshotter, key, NULL);
  return -1;
}

static int
endpoints_for(struct pull *p, const char *registry, struct error **err)
{
  struct hosts_config hc = {0};

  if (hosts_resolve(registry, p->o->dirs, &hc, err) < 0)
    return -1;
  for (size_t i = 0; i < hc.warnings.n; i++)
    note(p, PULL_WARNING, "%s", hc.warnings.v[i]);
  p->eps = xcalloc(hc.endpoints.n, sizeof(*p->eps));
  for (size_t i = 0; i < hc.endpoints.n; i++) {
    const struct hosts_endpoint *h = &hc.endpoints.v[i];
    struct registry_ep *e = &p->eps[p->n_eps++];
    const char *scheme = h->scheme;
    if (p->o->plain_http && h->upstream && hc.source != HOSTS_SOURCE_TOML)
      scheme = "http";
    e->base = xasprintf("%s://%s%s", scheme, h->host, h->path);
    e->ns = h->ns ? xstrdup(registry) : NULL;
    e->caps = (h->caps & HOSTS_CAP_PULL ? REGISTRY_PULL : 0) |
              (h->caps & HOSTS_CAP_RESOLVE ? REGISTRY_RESOLVE : 0) |
              (h->caps & HOSTS_CAP_PUSH ? REGISTRY_PUSH : 0);
    e->skip_verify = p->o->skip_verify == 1 ? 1 : h->skip_verify;
    e->connect_timeout_ms = h->dial_timeout_ms > 0 ? h->dial_timeout_ms : 0;
    for (size_t j = 0; j < h->ca.n; j++)
      strv_push(&e->ca_files, h->ca.v[j]);
    if (h->n_clients > 0) {
      e->client_cert = xstrdup(h->clients[0].cert);
      e->client_key = h->clients[0].key && *h->clients[0].key ? xstrdup(h->clients[0].key) : NULL;
    }
    for (size_t j = 0; j < h->n_headers; j++)
      for (size_t k = 0; k < h->headers[j].values.n; k++)
        strv_push_owned(&e->headers,
                        xasprintf("%s: %s", h->headers[j].name, h->headers[j].values.v[k]));
  }
  hosts_config_release(&hc);
  if (p->n_eps == 0)
    return error_setc(err, ERR_NOT_FOUND, "no endpoint for registry '%s'", registry);
  return 0;
}

/* containerd's GC label for child i of an index: manifests are "m.<i>",
 * anything else (a nested index) plain "<i>" (images.ChildGCLabels). */
static char *
index_child_label(const struct registry_desc *child, size_t i)
{
  if (is_one_of(child->media_type, manifest_types, ARRAY_SIZE(manifest_types)))
    return xasprintf("containerd.io/gc.ref.content.m.%zu", i);
  return xasprintf("containerd.io/gc.ref.content.%zu", i);
}

/* From the root (an index, or already the manifest) down to the manifest for
 * platform: each index labelled with all its children and its source, the
 * chosen child fetched, nested indexes followed up to IMAGE_MAX_INDEX_DEPTH
 * levels. man/manb receive the manifest and its bytes. */
static int
walk_indexes(struct pull *p, const char *platform, const char *name,
             const struct registry_desc *root, const struct buf *rootb, struct registry_desc *man,
             struct buf *manb, struct error **err)
{
  struct registry_desc cur = {0};
  struct buf curb = BUF_INIT;
  int rv = -1;

  cur.media_type = xstrdup(root->media_type);
  cur.digest = xstrdup(root->digest);
  cur.size = root->size;
  buf_add(&curb, rootb->data, rootb->len);
  for (size_t depth = 0; is_one_of(cur.media_type, index_types, ARRAY_SIZE(index_types)); depth++) {
    struct image_index ix = {0};
    struct registry_desc child = {0};
    struct buf childb = BUF_INIT;
    cleanup_strv struct strv keys = STRV_INIT;
    cleanup_strv struct strv values = STRV_INIT;
    ssize_t k;

    if (depth >= IMAGE_MAX_INDEX_DEPTH) {
      error_setc(err, ERR_INVALID, "%s: indexes nested more than %d deep", cur.digest,
                 IMAGE_MAX_INDEX_DEPTH);
      goto out;
    }
    if (image_parse_index(curb.data, curb.len, &ix, err) < 0) {
      error_wrap(err, "%s", cur.digest);
      goto out;
    }
    for (size_t i = 0; i < ix.n; i++) {
      strv_push_owned(&keys, index_child_label(&ix.manifests[i], i));
      strv_push(&values, ix.manifests[i].digest);
    }
    k = image_index_select(&ix, platform);
    if (k >= 0) {
      child = ix.manifests[k];
      memset(&ix.manifests[k], 0, sizeof(ix.manifests[k]));
    }
    image_index_release(&ix);
    if (label_blob(p, cur.digest, &keys, &values, err) < 0 ||
        label_source(p, cur.digest, err) < 0) {
      registry_desc_release(&child);
      goto out;
    }
    if (k < 0) {
      error_setc(err, ERR_NOT_FOUND, "no manifest for platform %s in %s", platform, name);
      goto out;
    }
    if (!is_one_of(child.media_type, manifest_types, ARRAY_SIZE(manifest_types)) &&
        !is_one_of(child.media_type, index_types, ARRAY_SIZE(index_types))) {
      error_setc(err, ERR_INVALID, "unsupported media type %s in index", child.media_type);
      registry_desc_release(&child);
      goto out;
    }
    if (child.size > (int64_t)IMAGE_MAX_DOCUMENT) {
      error_setc(err, ERR_EXHAUSTED, "%s of %" PRId64 " bytes is over the %u byte limit",
                 child.digest, child.size, IMAGE_MAX_DOCUMENT);
      registry_desc_release(&child);
      goto out;
    }
    if (put_blob(p, &child, &childb, err) < 0) {
      registry_desc_release(&child);
      buf_release(&childb);
      goto out;
    }
    registry_desc_release(&cur);
    buf_release(&curb);
    cur = child;
    curb = childb;
  }
  *man = cur;
  *manb = curb;
  memset(&cur, 0, sizeof(cur));
  memset(&curb, 0, sizeof(curb));
  rv = 0;
out:
  registry_desc_release(&cur);
  buf_release(&curb);
  return rv;
}

static int
pull_layers(struct pull *p, struct error **err)
{
  int workers = p->o->max_concurrent > 0 ? p->o->max_concurrent : DEFAULT_CONCURRENCY;
  pthread_t tids[32];
  int started = 0;
  int rv = 0;

  if (workers > (int)ARRAY_SIZE(tids))
    workers = (int)ARRAY_SIZE(tids);
  if ((size_t)workers > p->n_layers)
    workers = (int)p->n_layers;
  for (int i = 0; i < workers; i++)
    if (pthread_create(&tids[started], NULL, download_worker, p) == 0)
      started++;
  if (started == 0)
    return error_set(err, errno, "start download threads");

  /* Unpack each layer as soon as it is in; the ones below it already are. */
  for (size_t i = 0; i < p->n_layers && rv == 0; i++) {
    size_t b = p->layers[i].blob;
    pthread_mutex_lock(&p->mu);
    while (!p->layers[b].done && !p->first_err)
      pthread_cond_wait(&p->cond, &p->mu);
    bool ok = p->layers[b].done && p->first_err == NULL;
    pthread_mutex_unlock(&p->mu);
    if (!ok)
      break;
    struct error *e = NULL;
    if (unpack_layer(p, i, &e) < 0) {
      pthread_mutex_lock(&p->mu);
      if (p->first_err == NULL)
        p->first_err = e;
      else
        error_free(e);
      pthread_mutex_unlock(&p->mu);
      rv = -1;
    }
  }
  for (int i = 0; i < started; i++)
    pthread_join(tids[i], NULL);
  if (p->first_err) {
    *err = steal_pointer(&p->first_err);
    return -1;
  }
  return rv;
}

/* Resolve the reference and fetch its root (index or manifest). An endpoint
 * whose answer turns out to be no manifest at all (not JSON, a media type we
 * cannot use, too large) is set aside and the reference resolved again by the
 * others: its digest was its own, so the blob verified and only parsing shows. */
static int
resolve_root(struct pull *p, const char *object, struct registry_desc *root, struct buf *rootb,
             size_t *served, struct error **err)
{
  bool *aside = xcalloc(p->n_eps, sizeof(bool));
  size_t *order = xcalloc(p->n_eps, sizeof(size_t));
  struct registry_ep *ordered = xcalloc(p->n_eps, sizeof(*ordered));
  struct buf failures = BUF_INIT;
  int rv = -1;

  for (size_t i = 0; i < p->n_eps; i++) {
    int64_t ago = health_failed_ago(p->health, p->eps[i].base);
    if (ago >= 0 && p->n_eps > 1)
      note(p, PULL_NOTE, "%s failed %" PRId64 "s ago: trying it last", p->eps[i].base, ago);
  }
  for (;;) {
    struct error *e = NULL;
    size_t n = 0, got = 0;

    endpoint_order(p, order);
    for (size_t i = 0; i < p->n_eps; i++)
      if (!aside[order[i]])
        ordered[n++] = p->eps[order[i]];
    if (n == 0) {
      error_setc(err, ERR_INVALID, "resolve \"%s\": %s", object, failures.data);
      break;
    }
    if (registry_resolve(p->reg, ordered, n, p->repo, object, root, &got, err) < 0) {
      if (failures.len)
        error_wrap(err, "%s", failures.data);
      break;
    }
    for (size_t i = 0; i < p->n_eps; i++)
      if (p->eps[i].base == ordered[got].base)
        *served = i;
    emit(p, PULL_RESOLVED, ref_prefix(root->media_type), root->digest, root->size,
         p->eps[*served].base, false);
    if (!is_one_of(root->media_type, index_types, ARRAY_SIZE(index_types)) &&
        !is_one_of(root->media_type, manifest_types, ARRAY_SIZE(manifest_types)))
      error_setc(&e, ERR_INVALID, "unsupported media type %s", root->media_type);
    else if (root->size > (int64_t)IMAGE_MAX_DOCUMENT)
      error_setc(&e, ERR_EXHAUSTED, "manifest of %" PRId64 " bytes is larger than %u", root->size,
                 IMAGE_MAX_DOCUMENT);
    else if (put_blob(p, root, rootb, err) < 0)
      break;
    else if (is_one_of(root->media_type, index_types, ARRAY_SIZE(index_types))) {
      struct image_index ix = {0};
      if (image_parse_index(rootb->data, rootb->len, &ix, &e) == 0)
        image_index_release(&ix);
    } else {
      struct image_manifest m = {0};
      if (image_parse_manifest(rootb->data, rootb->len, &m, &e) == 0)
        image_manifest_release(&m);
    }
    if (e == NULL) {
      health_ok(p->health, p->eps[*served].base);
      rv = 0;
      break;
    }
    health_failed(p->health, p->eps[*served].base);
    note(p, PULL_NOTE, "%s answered with no usable manifest (%s): asking the others",
         p->eps[*served].base, e->msg);
    buf_addf(&failures, "%s%s: %s", failures.len ? "; " : "", p->eps[*served].base, e->msg);
    error_free(e);
    aside[*served] = true;
    registry_desc_release(root);
    buf_release(rootb);
  }
  buf_release(&failures);
  free(ordered);
  free(order);
  free(aside);
  return rv;
}

int
pull_image(struct grpc_conn *c, const struct pull_opts *o, struct pull_result *res,
           struct error **err)
{
  struct pull p = {.c = c, .o = o};
  cleanup_ref struct ref ref = {0};
  cleanup_free char *name = NULL;
  cleanup_free char *platform = o->platform ? xstrdup(o->platform) : pull_host_platform();
  struct registry_desc root = {0}, man = {0}, cfg = {0};
  struct buf rootb = BUF_INIT, manb = BUF_INIT, cfgb = BUF_INIT;
  cleanup_strv struct strv diff_ids = STRV_INIT;
  cleanup_strv struct strv chains = STRV_INIT;
  size_t served = 0;
  int rv = -1;

  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cond, NULL);
  if (ref_parse_docker(o->ref, &ref, err) < 0) {
    error_wrap(err, "invalid reference \"%s\"", o->ref);
    goto out;
  }
  name = ref_string(&ref);
  p.repo = xstrdup(ref.path);
  {
    const char *host = ref.domain;
    size_t hl = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
      hl = (size_t)(colon - host);
    p.source_key = xasprintf(LABEL_SOURCE "%.*s", (int)hl, host);
  }
  {
    char *warning = NULL;
    struct registry_opts ro = o->registry;
    p.health = health_load(o->state_path, &warning);
    if (warning) {
      note(&p, PULL_WARNING, "%s", warning);
      free(warning);
    }
    ro.on_endpoint_failure = on_endpoint_failure;
    ro.failure_arg = &p;
    if (endpoints_for(&p, ref.domain, err) < 0 || registry_new(&ro, &p.reg, err) < 0)
      goto out_wrap;
  }
  if (o->snapshotter && *o->snapshotter) {
    p.snapshotter = xstrdup(o->snapshotter);
  } else {
    if (ctd_namespace_label(c, o->ns, "containerd.io/defaults/snapshotter", &p.snapshotter, err) <
        0)
      goto out_wrap;
    if (p.snapshotter == NULL)
      p.snapshotter = xstrdup("overlayfs");
  }

  if (ctd_lease_create(c, &p.lease, err) < 0)
    goto out_wrap;
  if (resolve_root(&p, ref.digest ? ref.digest : ref.tag, &root, &rootb, &served, err) < 0)
    goto out_wrap;
  res->endpoint = xstrdup(p.eps[served].base);
  if (walk_indexes(&p, platform, name, &root, &rootb, &man, &manb, err) < 0)
    goto out_wrap;

  /* The manifest: config and layers. */
  {
    struct image_manifest m = {0};
    cleanup_strv struct strv keys = STRV_INIT;
    cleanup_strv struct strv values = STRV_INIT;

    if (image_parse_manifest(manb.data, manb.len, &m, err) < 0) {
      error_wrap(err, "%s", man.digest);
      goto out_wrap;
    }
    cfg = m.config;
    memset(&m.config, 0, sizeof(m.config));
    strv_push(&keys, "containerd.io/gc.ref.content.config");
    strv_push(&values, cfg.digest);
    p.n_layers = m.n_layers;
    p.layers = xcalloc(p.n_layers ? p.n_layers : 1, sizeof(*p.layers));
    for (size_t i = 0; i < m.n_layers; i++) {
      p.layers[i].desc = m.layers[i];
      memset(&m.layers[i], 0, sizeof(m.layers[i]));
      p.layers[i].blob = i;
      for (size_t j = 0; j < i; j++)
        if (str_eq(p.layers[j].desc.digest, p.layers[i].desc.digest)) {
          p.layers[i].blob = j;
          break;
        }
      strv_push_owned(&keys, xasprintf("containerd.io/gc.ref.content.l.%zu", i));
      strv_push(&values, p.layers[i].desc.digest);
    }
    image_manifest_release(&m);
    if (label_blob(&p, man.digest, &keys, &values, err) < 0 ||
        label_source(&p, man.digest, err) < 0)
      goto out_wrap;
  }

  if (cfg.size > (int64_t)IMAGE_MAX_DOCUMENT) {
    error_setc(err, ERR_EXHAUSTED, "config %s of %" PRId64 " bytes is over the %u byte limit",
               cfg.digest, cfg.size, IMAGE_MAX_DOCUMENT);
    goto out_wrap;
  }
  if (put_blob(&p, &cfg, &cfgb, err) < 0 || label_source(&p, cfg.digest, err) < 0)
    goto out_wrap;
  if (image_parse_config(cfgb.data, cfgb.len, &diff_ids, err) < 0) {
    error_wrap(err, "%s", cfg.digest);
    goto out_wrap;
  }
  if (diff_ids.n != p.n_layers) {
    /* containerd's unpack refuses both ways with these words. */
    error_setc(err, ERR_INVALID,
               "mismatched image rootfs and manifest layers: config %s lists %zu diff ids for %zu "
               "layers",
               cfg.digest, diff_ids.n, p.n_layers);
    goto out_wrap;
  }
  pull_chain_ids(&diff_ids, &chains);
  for (size_t i = 0; i < p.n_layers; i++) {
    p.layers[i].diff_id = xstrdup(diff_ids.v[i]);
    p.layers[i].chain_id = xstrdup(chains.v[i]);
  }

  if (p.n_layers > 0 && pull_layers(&p, err) < 0)
    goto out_wrap;
  if (p.n_layers > 0) {
    cleanup_strv struct strv keys = STRV_INIT;
    cleanup_strv struct strv values = STRV_INIT;
    strv_push_owned(&keys, xasprintf("containerd.io/gc.ref.snapshot.%s", p.snapshotter));
    strv_push(&values, chains.v[chains.n - 1]);
    if (label_blob(&p, cfg.digest, &keys, &values, err) < 0)
      goto out_wrap;
    res->chain_id = xstrdup(chains.v[chains.n - 1]);
  }
  if (ctd_image_put(c, p.lease, name, root.media_type, root.digest, root.size, o->labels, err) < 0)
    goto out_wrap;
  res->name = xstrdup(name);
  res->digest = xstrdup(root.digest);
  rv = 0;
  goto out;

out_wrap:
  error_wrap(err, "pull \"%s\"", name ? name : o->ref);
out:
  /* The lease goes in every case: on success the image record now holds
   * everything; on failure nothing of this pull is kept. */
  if (p.lease)
    ctd_lease_delete(c, p.lease, NULL);
  buf_release(&rootb);
  buf_release(&manb);
  buf_release(&cfgb);
  registry_desc_release(&root);
  registry_desc_release(&man);
  registry_desc_release(&cfg);
  for (size_t i = 0; i < p.n_layers; i++) {
    registry_desc_release(&p.layers[i].desc);
    free(p.layers[i].diff_id);
    free(p.layers[i].chain_id);
  }
  free(p.layers);
  for (size_t i = 0; i < p.n_eps; i++)
    registry_ep_release(&p.eps[i]);
  free(p.eps);
  registry_free(p.reg);
  if (p.health) {
    struct error *e = NULL;
    if (health_save(p.health, &e) < 0) {
      note(&p, PULL_NOTE, "cannot keep endpoint health: %s", e->msg);
      error_free(e);
    }
    health_free(p.health);
  }
  error_free(p.first_err);
  free(p.lease);
  free(p.repo);
  free(p.source_key);
  free(p.snapshotter);
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cond);
  return rv;
}

int
pull_read_config(struct grpc_conn *c, const char *media_type, const char *digest,
                 const char *platform, const char *snapshotter, struct buf *config, char **top,
                 struct error **err)
{
  cleanup_free char *plat = platform ? xstrdup(platform) : pull_host_platform();
  cleanup_free char *man_digest = xstrdup(digest);
  cleanup_free char *mt = xstrdup(media_type);
  cleanup_free char *label = xasprintf("containerd.io/gc.ref.snapshot.%s=", snapshotter);
  cleanup_strv struct strv diff_ids = STRV_INIT;
  cleanup_strv struct strv chains = STRV_INIT;
  cleanup_strv struct strv labels = STRV_INIT;
  struct image_manifest m = {0};
  struct buf b = BUF_INIT;
  int rv = -1;

  *top = NULL;
  if (ctd_content_read(c, digest, IMAGE_MAX_DOCUMENT, &b, err) < 0)
    goto out;
  for (size_t depth = 0; is_one_of(mt, index_types, ARRAY_SIZE(index_types)); depth++) {
    struct image_index ix = {0};
    ssize_t k;

    if (depth >= IMAGE_MAX_INDEX_DEPTH) {
      error_setc(err, ERR_INVALID, "%s: indexes nested more than %d deep", man_digest,
                 IMAGE_MAX_INDEX_DEPTH);
      goto out;
    }
    if (image_parse_index(b.data, b.len, &ix, err) < 0)
      goto out;
    k = image_index_select(&ix, plat);
    if (k >= 0) {
      free(man_digest);
      man_digest = xstrdup(ix.manifests[k].digest);
      free(mt);
      mt = xstrdup(ix.manifests[k].media_type);
    }
    image_index_release(&ix);
    if (k < 0) {
      error_setc(err, ERR_NOT_FOUND, "no manifest for platform %s in %s", plat, digest);
      goto out;
    }
    buf_release(&b);
    if (ctd_content_read(c, man_digest, IMAGE_MAX_DOCUMENT, &b, err) < 0)
      goto out;
  }
  if (image_parse_manifest(b.data, b.len, &m, err) < 0 ||
      ctd_content_read(c, m.config.digest, IMAGE_MAX_DOCUMENT, config, err) < 0)
    goto out;
  /* The unpack named the top snapshot on the config: no need to hash. */
  if (ctd_content_labels(c, m.config.digest, &labels, NULL) == 0)
    for (size_t i = 0; i < labels.n && *top == NULL; i++)
      if (str_has_prefix(labels.v[i], label))
        *top = xstrdup(labels.v[i] + strlen(label));
  if (*top == NULL) {
    if (image_parse_config(config->data, config->len, &diff_ids, err) < 0)
      goto out;
    pull_chain_ids(&diff_ids, &chains);
    if (chains.n > 0)
      *top = xstrdup(chains.v[chains.n - 1]);
  }
  rv = 0;
out:
  image_manifest_release(&m);
  buf_release(&b);
  return rv;
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
