/* The JSON documents of an image as registries serve them: index (or Docker
 * manifest list), manifest, config. Pure: no I/O. Everything a registry or a
 * mirror sends is checked for shape here before pull acts on it. */
#ifndef CTRX_IMAGE_H
#define CTRX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "registry.h"
#include "util.h"

/* The largest index, manifest or config read into memory: containerd's
 * MaxManifestSize (remotes/docker/resolver.go, "4 * 1048 * 1048", 1048 not
 * 1024 upstream). Configs get the same bound, and run accepts what pull
 * accepted (OCI_MAX_DOCUMENT is the same number). */
#define OCI_MAX_DOCUMENT (4u * 1048u * 1048u)

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

/* A digest as containerd (go-digest) accepts it: sha256 with exactly 64,
 * sha384 with 96, sha512 with 128 lowercase hex digits; any other algorithm
 * (even one the OCI grammar allows) is unsupported, uppercase hex invalid.
 * Only sha256 blobs can be fetched (pull refuses the others by name). */
bool oci_digest_valid(const char *digest);

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

void image_index_release(struct image_index *ix);
void image_manifest_release(struct image_manifest *m);

#endif
