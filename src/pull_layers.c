/* The layers of a pull: downloaded by worker threads, unpacked in order as
 * each comes in (PROTOCOL.md §3.2). */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ctd.h"
#include "pull_internal.h"

/* as containerd's CRI plugin: more only spread the link over more layers, and
 * each one being written holds a 256 KiB chunk */
#define DEFAULT_CONCURRENCY 3

/* Under p->mu: e is the pull's failure, unless it already has one. */
static void
fail(struct pull *p, struct error *e)
{
  if (p->first_err == NULL)
    p->first_err = e;
  else
    error_free(e);
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
    p->next = pull_next_download(p->layers, p->n_layers, p->next);
    if (p->next >= p->n_layers || p->first_err) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    i = p->next++;
    pthread_mutex_unlock(&p->mu);
    if (pull_put_blob(p, &p->layers[i].desc, NULL, &e) == 0)
      pull_blob_source(p, p->layers[i].desc.digest, &e);
    pthread_mutex_lock(&p->mu);
    if (e) {
      p->layers[i].failed = true;
      fail(p, e);
    } else {
      p->layers[i].done = true;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
  }
}

/* 2.x's unpacker labels the snapshots it prepares and commits with their
 * chain ID; 1.x's client unpack sets no label. */
static const struct ctd_label *
snapshot_label(const struct pull *p, const struct pull_layer *l, struct ctd_label *label)
{
  if (!p->line.snapshot_ref)
    return NULL;
  *label = (struct ctd_label){"containerd.io/snapshot.ref", l->chain_id};
  return label;
}

/* Apply layer l onto the active snapshot key (mounted as m) and commit it as
 * its chain ID. On failure the active snapshot is the caller's to remove. */
static int
apply_layer(struct pull *p, const struct pull_layer *l, const char *key, struct ctd_mounts *m,
            struct error **err)
{
  cleanup_free char *applied = NULL;
  struct error *e = NULL;
  struct ctd_label label;

  if (ctd_diff_apply(p->c, p->lease, l->desc.media_type, l->desc.digest, l->desc.size, m, &applied,
                     err) < 0)
    return -1;
  if (strcmp(applied, l->diff_id) != 0)
    return error_setc(err, ERR_DATA_LOSS,
                      "layer %s: wrong diff id calculated on extraction (%s, the config says %s)",
                      l->desc.digest, applied, l->diff_id);
  if (ctd_snapshot_commit_labeled(p->c, p->lease, p->snapshotter, l->chain_id, key,
                                  snapshot_label(p, l, &label), &e) == 0)
    return 0;
  if (!error_is(e, ERR_ALREADY_EXISTS)) {
    *err = e;
    return error_wrap(err, "commit snapshot %s", l->chain_id);
  }
  /* someone else unpacked the same chain meanwhile: theirs is as good */
  error_free(e);
  ctd_snapshot_remove(p->c, p->lease, p->snapshotter, key, NULL);
  return 0;
}

/* Apply layer i on top of layer i-1 (PROTOCOL.md §3.2). */
static int
unpack_layer(struct pull *p, size_t i, struct error **err)
{
  struct pull_layer *l = &p->layers[i];
  const char *parent = i ? p->layers[i - 1].chain_id : "";
  struct ctd_mounts *m = NULL;
  cleanup_free char *key = NULL;
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  struct error *e = NULL;
  struct ctd_label label;
  int rv;

  if (ctd_snapshot_stat(p->c, p->snapshotter, l->chain_id, &e) == 0)
    return 0;
  if (!error_is(e, ERR_NOT_FOUND)) {
    *err = e;
    return error_wrap(err, "snapshot %s", l->chain_id);
  }
  error_freep(&e);
  key = ctd_unique_name("extract", l->chain_id);
  if (ctd_snapshot_prepare_labeled(p->c, p->lease, p->snapshotter, key, parent,
                                   snapshot_label(p, l, &label), &m, err) < 0)
    return -1;
  rv = apply_layer(p, l, key, m, err);
  ctd_mounts_free(m);
  if (rv < 0) {
    ctd_snapshot_remove(p->c, p->lease, p->snapshotter, key, NULL);
    return -1;
  }
  strv_push(&keys, "containerd.io/uncompressed");
  strv_push(&values, l->diff_id);
  if (pull_blob_labels(p, l->desc.digest, &keys, &values, err) < 0)
    return -1;
  pull_emit(p, PULL_UNPACKED, "layer", l->chain_id, 0, NULL, false);
  return 0;
}

int
pull_layers(struct pull *p, int (*meanwhile)(struct pull *, struct error **), struct error **err)
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
  if (meanwhile) {
    struct error *e = NULL;
    if (meanwhile(p, &e) < 0) {
      pthread_mutex_lock(&p->mu);
      fail(p, e);
      pthread_mutex_unlock(&p->mu);
      rv = -1;
    }
  }

  /* Unpack each layer as soon as it is in; the ones below it already are. */
  for (size_t i = 0; i < p->n_layers && rv == 0; i++) {
    pthread_mutex_lock(&p->mu);
    while (!pull_unpack_ready(p->layers, i) && !p->first_err)
      pthread_cond_wait(&p->cond, &p->mu);
    bool ok = pull_unpack_ready(p->layers, i) && p->first_err == NULL;
    pthread_mutex_unlock(&p->mu);
    if (!ok)
      break;
    struct error *e = NULL;
    if (unpack_layer(p, i, &e) < 0) {
      pthread_mutex_lock(&p->mu);
      fail(p, e);
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
