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

/* What an index lists, in order (GC labels cover every child, whatever its
 * platform). platforms[i] is "os/arch[/variant]" or NULL when not given. */
struct image_index {
  struct registry_desc *manifests;
  char **platforms;
  size_t n;
};

struct image_manifest {
  struct registry_desc config;
  struct registry_desc *layers;
  size_t n_layers;
};

/* -1 with *err naming the problem: not JSON, not an object, the wrong shape for
 * its kind (an index with config or layers, a manifest with manifests), a
 * descriptor without a valid digest or a size >= 0, more than 4 MiB. */
int image_parse_index(const char *data, size_t len, struct image_index *out, struct error **err);
int image_parse_manifest(const char *data, size_t len, struct image_manifest *out,
                         struct error **err);
/* The config's rootfs.diff_ids, in order. */
int image_parse_config(const char *data, size_t len, struct strv *diff_ids, struct error **err);

/* The child to use for platform ("os/arch[/variant]"), or -1. */
ssize_t image_index_select(const struct image_index *ix, const char *platform);
/* "linux/arm64/v8" and os/arch/variant match when os and architecture are
 * equal and the variant too where both name one (arm64's v8 is implied). */
bool image_platform_matches(const char *want, const char *os, const char *arch,
                            const char *variant);

void image_index_release(struct image_index *ix);
void image_manifest_release(struct image_manifest *m);

#endif
