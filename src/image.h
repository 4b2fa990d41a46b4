/* The JSON documents of an image as registries serve them: index (or Docker
 * manifest list), manifest, config. Pure: no I/O, except image_read_config,
 * which reads them back from containerd's content store. Everything a
 * registry or a mirror sends is checked for shape here before pull acts on
 * it. */
#ifndef CTRX_IMAGE_H
#define CTRX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "grpc.h"
#include "oci.h"
#include "util.h"

/* Indexes nested in indexes are followed this deep (the root counts). Go's
 * containerd walks them without a limit; five levels is far more than any
 * registry serves (one is usual, two for some attestation layouts). */
#define IMAGE_MAX_INDEX_DEPTH 5

/* What an index lists, in order (GC labels cover every child, whatever its
 * platform). platforms[i] is "os/arch[/variant]" or NULL when not given. */
struct image_index {
  struct oci_desc *manifests;
  char **platforms;
  size_t n;
};

struct image_manifest {
  struct oci_desc config;
  struct oci_desc *layers;
  size_t n_layers;
};

/* -1 with *err naming the problem: not JSON, not an object, the wrong shape for
 * its kind (an index with config or layers, a manifest with manifests), a
 * descriptor without a valid digest or a size >= 0, more than
 * OCI_MAX_DOCUMENT bytes. */
int image_parse_index(const char *data, size_t len, struct image_index *out, struct error **err);
int image_parse_manifest(const char *data, size_t len, struct image_manifest *out,
                         struct error **err);
/* The config's rootfs.diff_ids, in order. */
int image_parse_config(const char *data, size_t len, struct strv *diff_ids, struct error **err);

/* The child a machine of platform ("os/arch[/variant]") runs, as containerd's
 * platforms.Only chooses it: an exact match (after normalizing aliases and
 * default variants) first, then the compatible ones in containerd's order of
 * preference (amd64/vN: vN-1 … v1, then 386; arm/vN: vN-1 … v5; arm64/vN:
 * arm/vN … v5); among equals the first listed. Manifests without a platform
 * are skipped; when nothing matches, the first nested index without a
 * platform is chosen (to be walked in turn). -1 when none fits. Pure: the
 * host is whatever platform says. */
ssize_t image_index_select(const struct image_index *ix, const char *platform);
/* Where os/arch/variant stands in what a want machine runs: 0 exact, n the
 * n-th fallback, -1 not at all. os.version does not count on Linux. */
int image_platform_rank(const char *want, const char *os, const char *arch, const char *variant);
bool image_platform_matches(const char *want, const char *os, const char *arch,
                            const char *variant);

/* The media types of an index (OCI index, Docker manifest list) and of a
 * manifest (OCI, Docker schema 2), compared exactly. */
bool image_is_index(const char *media_type);
bool image_is_manifest(const char *media_type);
/* What a blob of media_type is, as the prefix of its ingest ref and in pull's
 * events: "index", "manifest", "layer", "config" or "unknown". Static. */
const char *image_blob_kind(const char *media_type);

/* The GC labels containerd sets on a parent for its children
 * (images.ChildGCLabels), pushed onto keys with the child digests onto values:
 * an index's child i is "containerd.io/gc.ref.content.m.<i>" when it is a
 * manifest and ".<i>" otherwise (a nested index); a manifest's config is
 * "...config" and its layer i "...l.<i>". */
void image_index_gc_labels(const struct image_index *ix, struct strv *keys, struct strv *values);
void image_manifest_gc_labels(const struct image_manifest *m, struct strv *keys,
                              struct strv *values);

/* The chain IDs of diff IDs (PROTOCOL.md §3.1); out receives n strings. */
void image_chain_ids(const struct strv *diff_ids, struct strv *out);
/* 0 when the config of digest lists one diff ID per manifest layer; -1 with
 * containerd's words (its unpack refuses either mismatch) otherwise. */
int image_check_diff_ids(const char *config_digest, size_t n_diff_ids, size_t n_layers,
                         struct error **err);
/* This machine's platform as "linux/<arch>[/<variant>]"; caller frees. */
char *image_host_platform(void);

/* The config blob of an image already in the content store, found from its
 * target (index or manifest) for platform (NULL: this machine's), and the
 * chain ID of its top layer: from the config's
 * containerd.io/gc.ref.snapshot.<snapshotter> label when an unpack left one
 * (no hashing needed), else computed from its diff IDs. *top is NULL for an
 * image without layers. */
int image_read_config(struct grpc_conn *c, const char *media_type, const char *digest,
                      const char *platform, const char *snapshotter, struct buf *config, char **top,
                      struct error **err);

void image_index_release(struct image_index *ix);
void image_manifest_release(struct image_manifest *m);
#define cleanup_image_index __attribute__((cleanup(image_index_release)))
#define cleanup_image_manifest __attribute__((cleanup(image_manifest_release)))

#endif
