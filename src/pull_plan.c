/* The decisions of a pull that need no I/O: which layer downloads a blob
 * and when a layer can be unpacked, what can be pulled at all, the source
 * label and the words of a fetch failure (pull_internal.h). */
#include <inttypes.h>
#include <stdlib.h>

#include "image.h"
#include "pull_internal.h"

#define LABEL_SOURCE "containerd.io/distribution.source."

void
pull_layers_share_blobs(struct pull_layer *layers, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    layers[i].blob = i;
    for (size_t j = 0; j < i; j++)
      if (str_eq(layers[j].desc.digest, layers[i].desc.digest)) {
        layers[i].blob = j;
        break;
      }
  }
}

size_t
pull_next_download(const struct pull_layer *layers, size_t n, size_t next)
{
  while (next < n && layers[next].blob != next)
    next++;
  return next;
}

bool
pull_unpack_ready(const struct pull_layer *layers, size_t i)
{
  return layers[layers[i].blob].done;
}

int
pull_check_root(const struct oci_desc *root, struct error **err)
{
  if (!image_is_index(root->media_type) && !image_is_manifest(root->media_type))
    return error_setc(err, ERR_INVALID, "unsupported media type %s", root->media_type);
  if (root->size > (int64_t)OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED, "manifest of %" PRId64 " bytes is larger than %u",
                      root->size, OCI_MAX_DOCUMENT);
  return 0;
}

int
pull_check_index_child(const struct oci_desc *child, struct error **err)
{
  if (!image_is_manifest(child->media_type) && !image_is_index(child->media_type))
    return error_setc(err, ERR_INVALID, "unsupported media type %s in index", child->media_type);
  if (child->size > (int64_t)OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED, "%s of %" PRId64 " bytes is over the %u byte limit",
                      child->digest, child->size, OCI_MAX_DOCUMENT);
  return 0;
}

int
pull_check_blob(const struct oci_desc *d, bool keep, struct error **err)
{
  if (!str_has_prefix(d->digest, "sha256:"))
    return error_setc(err, ERR_INVALID, "blob %s: only sha256 digests are supported", d->digest);
  if (d->size <= 0)
    return error_setc(err, ERR_INVALID, "blob %s reports content size of zero", d->digest);
  /* What is kept is held in memory: no bigger than containerd reads a manifest. */
  if (keep && d->size > (int64_t)OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED, "%s %s of %" PRId64 " bytes is over the %u byte limit",
                      image_blob_kind(d->media_type), d->digest, d->size, OCI_MAX_DOCUMENT);
  return 0;
}

char *
pull_source_key(const char *domain)
{
  size_t hl = strlen(domain);
  const char *colon = strrchr(domain, ':');

  if (colon && !strchr(colon, ']'))
    hl = (size_t)(colon - domain);
  return xasprintf(LABEL_SOURCE "%.*s", (int)hl, domain);
}

char *
pull_source_value(const struct strv *labels, const char *key, const char *repo)
{
  cleanup_strv struct strv repos = STRV_INIT;
  size_t klen = strlen(key);
  struct buf v = BUF_INIT;

  for (size_t i = 0; i < labels->n; i++) {
    if (strncmp(labels->v[i], key, klen) == 0 && labels->v[i][klen] == '=') {
      cleanup_free char *copy = xstrdup(labels->v[i] + klen + 1);
      for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strv_contains(&repos, t))
          strv_push(&repos, t);
    }
  }
  if (strv_contains(&repos, repo))
    return NULL;
  strv_push(&repos, repo);
  qsort(repos.v, repos.n, sizeof(char *), str_ptr_cmp);
  for (size_t i = 0; i < repos.n; i++)
    buf_addf(&v, "%s%s", i ? "," : "", repos.v[i]);
  return buf_steal(&v);
}

/* registry_fetch names what and where ("fetch \"r@d\": <base>: why"); the
 * failure list here names the endpoint itself, so keep only the why. */
const char *
pull_fetch_reason(const char *msg, const char *base)
{
  const char *at = strstr(msg, base);

  if (str_has_prefix(msg, "fetch \"") && at && str_has_prefix(at + strlen(base), ": "))
    return at + strlen(base) + 2;
  return msg;
}

void
pull_line_of(const char *version, struct pull_line *out)
{
  const char *v = version ? version : "";
  char *end = NULL;

  *out = (struct pull_line){0};
  if (*v == 'v')
    v++;
  if (*v < '0' || *v > '9')
    return;
  out->major = (int)strtol(v, &end, 10);
  if (*end == '.' && end[1] >= '0' && end[1] <= '9')
    out->minor = (int)strtol(end + 1, NULL, 10);
  out->all_metadata = out->major >= 2;
  out->snapshot_ref = out->major >= 2;
}
