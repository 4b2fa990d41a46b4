#include "oci.h"

#include <ctype.h>

#include "util.h"

void
oci_desc_release(struct oci_desc *d)
{
  free(d->media_type);
  free(d->digest);
  d->media_type = d->digest = NULL;
  d->size = 0;
}

static bool
is_ows(int c)
{
  return c == ' ' || c == '\t';
}

char *
oci_media_strip(const char *content_type)
{
  const char *s = content_type;
  size_t n;
  char *r;

  while (is_ows(*s))
    s++;
  n = strcspn(s, ";");
  while (n > 0 && is_ows(s[n - 1]))
    n--;
  r = xstrndup(s, n);
  for (char *q = r; *q; q++)
    *q = (char)tolower((unsigned char)*q);
  return r;
}

/* Every media type we know, with what it is; layers go by prefix. */
static const struct {
  const char *mt;
  enum oci_media kind;
} known_media[] = {
    {OCI_MT_INDEX, OCI_MEDIA_INDEX},
    {OCI_MT_DOCKER_LIST, OCI_MEDIA_INDEX},
    {OCI_MT_MANIFEST, OCI_MEDIA_MANIFEST},
    {OCI_MT_DOCKER_MANIFEST, OCI_MEDIA_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", OCI_MEDIA_SCHEMA1},
    {"application/vnd.docker.distribution.manifest.v1+json", OCI_MEDIA_SCHEMA1},
    {"text/plain", OCI_MEDIA_SCHEMA1},
    {OCI_MT_CONFIG, OCI_MEDIA_CONFIG},
    {OCI_MT_DOCKER_CONFIG, OCI_MEDIA_CONFIG},
};
static const char *const layer_prefixes[] = {
    "application/vnd.oci.image.layer.",
    "application/vnd.docker.image.rootfs.",
};

enum oci_media
oci_media_kind_exact(const char *media_type)
{
  if (media_type == NULL)
    return OCI_MEDIA_OTHER;
  for (size_t i = 0; i < ARRAY_SIZE(known_media); i++)
    if (strcmp(media_type, known_media[i].mt) == 0)
      return known_media[i].kind;
  for (size_t i = 0; i < ARRAY_SIZE(layer_prefixes); i++)
    if (str_has_prefix(media_type, layer_prefixes[i]))
      return OCI_MEDIA_LAYER;
  return OCI_MEDIA_OTHER;
}

enum oci_media
oci_media_kind(const char *media_type)
{
  cleanup_free char *mt = NULL;

  if (media_type == NULL)
    return OCI_MEDIA_OTHER;
  mt = oci_media_strip(media_type);
  return oci_media_kind_exact(mt);
}

bool
oci_digest_valid(const char *digest)
{
  static const struct {
    const char *alg;
    size_t hex;
  } known[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  const char *colon = digest ? strchr(digest, ':') : NULL;

  if (colon == NULL)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
    size_t alen = strlen(known[i].alg);
    if ((size_t)(colon - digest) != alen || strncmp(digest, known[i].alg, alen) != 0)
      continue;
    if (strlen(colon + 1) != known[i].hex)
      return false;
    for (const char *p = colon + 1; *p; p++)
      if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
        return false;
    return true;
  }
  return false;
}
