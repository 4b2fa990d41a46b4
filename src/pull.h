/* Pull an image into containerd the way ctr does (PROTOCOL.md §8.1): blobs from
 * the registry into the content store under a lease, the labels ctr sets, the
 * layers unpacked as soon as they and the ones below them are in, the image
 * record. Layers download in parallel; unpacking overlaps downloading. */
#ifndef CTRX_PULL_H
#define CTRX_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "grpc.h"
#include "registry.h"
#include "util.h"

enum pull_event_kind {
  PULL_RESOLVED, /* root descriptor known: digest, endpoint */
  PULL_PROGRESS, /* bytes of a blob so far (in size): digest, what */
  PULL_BLOB,     /* a blob is in the store: digest, size, what ("layer", "config", …) */
  PULL_UNPACKED, /* a layer applied: digest = chain ID */
  PULL_WARNING,  /* what: a message for the user */
  PULL_NOTE,     /* what: a detail for --debug (endpoint order, failover) */
};

struct pull_event {
  enum pull_event_kind kind;
  const char *what;
  const char *digest;
  int64_t size;
  const char *endpoint;
  bool existed;  /* already in the store, nothing transferred */
  int64_t total; /* PULL_PROGRESS: the blob's size */
};

struct pull_opts {
  const char *ref;           /* as the user typed it; normalized here */
  const char *ns;            /* namespace, for its default snapshotter */
  const char *platform;      /* "os/arch[/variant]", NULL: this machine's */
  const char *snapshotter;   /* NULL: namespace default, else overlayfs */
  const struct strv *labels; /* image labels "k=v" */
  const struct strv *dirs;   /* hosts directory chain */
  const char *state_path;    /* endpoint health file; NULL: this pull's memory only */
  int max_concurrent;        /* parallel layer downloads; 0: 4 */
  bool plain_http;           /* default endpoint over http (ctr --plain-http) */
  int skip_verify;           /* -1 unset, 1: ctr --skip-verify for every endpoint */
  struct registry_opts registry;
  void (*on_event)(const struct pull_event *ev, void *arg); /* may be NULL */
  void *arg;
};

struct pull_result {
  char *name;     /* the image record's name */
  char *digest;   /* its target */
  char *endpoint; /* the endpoint that resolved it */
  char *chain_id; /* the top layer's chain ID */
};

/* Everything or nothing: on failure the lease is deleted, so nothing of this
 * pull is kept by the garbage collector. */
int pull_image(struct grpc_conn *c, const struct pull_opts *o, struct pull_result *res,
               struct error **err);
void pull_result_release(struct pull_result *r);

#endif
