/* libFuzzer target: any bytes as an index, a manifest and a config. Each parse
 * either fails with an error and nothing allocated, or gives descriptors with
 * valid digests and sizes that are not negative. */
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_desc(const struct oci_desc *d)
{
  if (d->digest == NULL || !oci_digest_valid(d->digest) || d->size < 0 ||
      d->media_type == NULL)
    __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  struct image_index ix = {0};
  struct image_manifest m = {0};
  struct strv ids = STRV_INIT;
  struct error *err = NULL;

  if (image_parse_index(text, size, &ix, &err) == 0) {
    ssize_t k = image_index_select(&ix, "linux/amd64");
    for (size_t i = 0; i < ix.n; i++)
      check_desc(&ix.manifests[i]);
    if (k >= (ssize_t)ix.n)
      __builtin_trap();
    image_index_release(&ix);
  } else if (err == NULL || ix.manifests != NULL) {
    __builtin_trap();
  }
  error_freep(&err);
  if (image_parse_manifest(text, size, &m, &err) == 0) {
    check_desc(&m.config);
    for (size_t i = 0; i < m.n_layers; i++)
      check_desc(&m.layers[i]);
    image_manifest_release(&m);
  } else if (err == NULL || m.layers != NULL) {
    __builtin_trap();
  }
  error_freep(&err);
  if (image_parse_config(text, size, &ids, &err) == 0) {
    for (size_t i = 0; i < ids.n; i++)
      if (!oci_digest_valid(ids.v[i]))
        __builtin_trap();
  } else if (err == NULL) {
    __builtin_trap();
  }
  error_freep(&err);
  strv_release(&ids);
  return 0;
}
