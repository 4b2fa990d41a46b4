/* The metadata a 2.x daemon's pull keeps besides the image it unpacks
 * (ImageStore's all_metadata, ctr 2.x's default): every manifest an index
 * lists, whatever its platform, with its config, labelled as the chosen ones
 * are; their layers stay in the registry. */
#include <inttypes.h>

#include "image.h"
#include "pull_internal.h"

/* A manifest kept for its metadata only: labelled with its config and
 * layers, its config fetched, the layers not. */
static int
keep_manifest(struct pull *p, const struct oci_desc *d, const struct buf *b, struct error **err)
{
  cleanup_image_manifest struct image_manifest m = {0};
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;
  cleanup_strv struct strv none = STRV_INIT;

  if (image_parse_manifest(b->data, b->len, &m, err) < 0)
    return error_wrap(err, "%s", d->digest);
  image_manifest_gc_labels(&m, &keys, &values);
  if (pull_label_blob(p, d->digest, &keys, &values, err) < 0)
    return -1;
  if (m.config.size > (int64_t)OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED,
                      "config %s of %" PRId64 " bytes is over the %u byte limit", m.config.digest,
                      m.config.size, OCI_MAX_DOCUMENT);
  if (pull_put_blob(p, &m.config, NULL, err) < 0 ||
      pull_label_blob(p, m.config.digest, &none, &none, err) < 0)
    return -1;
  return 0;
}

int
pull_keep_metadata(struct pull *p, const struct oci_desc *d, size_t depth, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;
  cleanup_image_index struct image_index ix = {0};
  cleanup_strv struct strv keys = STRV_INIT;
  cleanup_strv struct strv values = STRV_INIT;

  if (!image_is_index(d->media_type) && !image_is_manifest(d->media_type))
    return 0;
  if (depth >= IMAGE_MAX_INDEX_DEPTH)
    return error_setc(err, ERR_INVALID, "%s: indexes nested more than %d deep", d->digest,
                      IMAGE_MAX_INDEX_DEPTH);
  if (pull_check_index_child(d, err) < 0 || pull_put_blob(p, d, &b, err) < 0)
    return -1;
  if (image_is_manifest(d->media_type))
    return keep_manifest(p, d, &b, err);
  if (image_parse_index(b.data, b.len, &ix, err) < 0)
    return error_wrap(err, "%s", d->digest);
  image_index_gc_labels(&ix, &keys, &values);
  if (pull_label_blob(p, d->digest, &keys, &values, err) < 0)
    return -1;
  for (size_t i = 0; i < ix.n; i++)
    if (pull_keep_metadata(p, &ix.manifests[i], depth + 1, err) < 0)
      return -1;
  return 0;
}
