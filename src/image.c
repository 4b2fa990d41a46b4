#include "image.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>

static int
load(const char *data, size_t len, const char *kind, json_t **out, struct error **err)
{
  json_error_t je;

  if (len > OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_EXHAUSTED, "%s of %zu bytes is over the %u byte limit", kind, len,
                      OCI_MAX_DOCUMENT);
  *out = json_loadb(data, len, 0, &je);
  if (*out == NULL)
    return error_setc(err, ERR_INVALID, "%s: malformed JSON: %s", kind, je.text);
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return error_setc(err, ERR_INVALID, "%s: not a JSON object", kind);
  }
  return 0;
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

static int
descriptor(json_t *j, struct oci_desc *d, const char *what, struct error **err)
{
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  const char *dg = json_string_value(json_object_get(j, "digest"));
  json_t *sz = json_object_get(j, "size");

  if (!json_is_object(j))
    return error_setc(err, ERR_INVALID, "%s: not a descriptor", what);
  if (dg == NULL || !oci_digest_valid(dg))
    return error_setc(err, ERR_INVALID, "%s: descriptor without a valid digest", what);
  if (!json_is_integer(sz) || json_integer_value(sz) < 0)
    return error_setc(err, ERR_INVALID, "%s: descriptor without a size", what);
  d->media_type = xstrdup(mt ? mt : "");
  d->digest = xstrdup(dg);
  d->size = json_integer_value(sz);
  return 0;
}

int
image_parse_index(const char *data, size_t len, struct image_index *out, struct error **err)
{
  json_auto_t *j = NULL;
  json_t *list, *m;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (load(data, len, "index", &j, err) < 0)
    return -1;
  list = json_object_get(j, "manifests");
  if (!json_is_array(list))
    return error_setc(err, ERR_INVALID, "index: no manifests list");
  if (json_object_get(j, "config") || json_object_get(j, "layers"))
    return error_setc(err, ERR_INVALID, "index: has config or layers, as a manifest would");
  out->manifests = xcalloc(json_array_size(list) + 1, sizeof(*out->manifests));
  out->platforms = xcalloc(json_array_size(list) + 1, sizeof(char *));
  json_array_foreach(list, i, m)
  {
    json_t *plat = json_object_get(m, "platform");
    const char *os = json_string_value(json_object_get(plat, "os"));
    const char *arch = json_string_value(json_object_get(plat, "architecture"));
    const char *variant = json_string_value(json_object_get(plat, "variant"));

    if (descriptor(m, &out->manifests[i], "index entry", err) < 0) {
      out->n = i;
      image_index_release(out);
      return -1;
    }
    out->n = i + 1;
    if (os && arch)
      out->platforms[i] = variant && *variant ? xasprintf("%s/%s/%s", os, arch, variant)
                                              : xasprintf("%s/%s", os, arch);
  }
  return 0;
}

int
image_parse_manifest(const char *data, size_t len, struct image_manifest *out, struct error **err)
{
  json_auto_t *j = NULL;
  json_t *layers, *l;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (load(data, len, "manifest", &j, err) < 0)
    return -1;
  if (json_object_get(j, "manifests"))
    return error_setc(err, ERR_INVALID, "manifest: has manifests, as an index would");
  layers = json_object_get(j, "layers");
  if (!json_is_array(layers))
    return error_setc(err, ERR_INVALID, "manifest: no layers list");
  if (descriptor(json_object_get(j, "config"), &out->config, "manifest config", err) < 0)
    return -1;
  out->layers = xcalloc(json_array_size(layers) + 1, sizeof(*out->layers));
  json_array_foreach(layers, i, l)
  {
    if (descriptor(l, &out->layers[i], "manifest layer", err) < 0) {
      out->n_layers = i;
      image_manifest_release(out);
      return -1;
    }
    out->n_layers = i + 1;
  }
  return 0;
}

int
image_parse_config(const char *data, size_t len, struct strv *diff_ids, struct error **err)
{
  json_auto_t *j = NULL;
  json_t *ids, *d;
  size_t i;

  if (load(data, len, "config", &j, err) < 0)
    return -1;
  ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
  if (ids != NULL && !json_is_array(ids))
    return error_setc(err, ERR_INVALID, "config: rootfs.diff_ids is not a list");
  json_array_foreach(ids, i, d)
  {
    const char *s = json_string_value(d);
    if (s == NULL || !oci_digest_valid(s))
      return error_setc(err, ERR_INVALID, "config: diff_ids[%zu] is not a digest", i);
    strv_push(diff_ids, s);
  }
  return 0;
}

/* A platform as containerd's matcher compares it: lowercased, os "macos" is
 * darwin, and architecture aliases and default variants resolved (arm64 is
 * v8, arm is v7, armhf is arm/v7, armel arm/v6, x86_64 amd64, i386 386).
 * os.version and os.features play no part in the choice on Linux. */
struct plat {
  char os[32], arch[32], variant[16];
};

static void
lower_into(char *dst, size_t n, const char *src)
{
  size_t i = 0;

  for (; src && src[i] && i + 1 < n; i++)
    dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
  dst[i] = '\0';
}

static void
plat_normalize(struct plat *p, const char *os, const char *arch, const char *variant)
{
  lower_into(p->os, sizeof(p->os), os && *os ? os : "linux");
  lower_into(p->arch, sizeof(p->arch), arch);
  lower_into(p->variant, sizeof(p->variant), variant);
  if (str_eq(p->os, "macos"))
    snprintf(p->os, sizeof(p->os), "darwin");
  if (str_eq(p->arch, "i386")) {
    snprintf(p->arch, sizeof(p->arch), "386");
    p->variant[0] = '\0';
  } else if (str_eq(p->arch, "x86_64") || str_eq(p->arch, "x86-64")) {
    snprintf(p->arch, sizeof(p->arch), "amd64");
    p->variant[0] = '\0';
  } else if (str_eq(p->arch, "aarch64") || str_eq(p->arch, "arm64")) {
    snprintf(p->arch, sizeof(p->arch), "arm64");
    if (p->variant[0] == '\0' || str_eq(p->variant, "8"))
      snprintf(p->variant, sizeof(p->variant), "v8");
  } else if (str_eq(p->arch, "armhf")) {
    snprintf(p->arch, sizeof(p->arch), "arm");
    snprintf(p->variant, sizeof(p->variant), "v7");
  } else if (str_eq(p->arch, "armel")) {
    snprintf(p->arch, sizeof(p->arch), "arm");
    snprintf(p->variant, sizeof(p->variant), "v6");
  } else if (str_eq(p->arch, "arm")) {
    if (p->variant[0] == '\0' || str_eq(p->variant, "7"))
      snprintf(p->variant, sizeof(p->variant), "v7");
    else if (str_eq(p->variant, "5") || str_eq(p->variant, "6") || str_eq(p->variant, "8")) {
      char d = p->variant[0];
      snprintf(p->variant, sizeof(p->variant), "v%c", d);
    }
  }
}

/* The version number of a "vN" variant, or 0. */
static int
variant_number(const char *variant)
{
  int64_t n = 0;

  if (variant[0] != 'v' || parse_int64(variant + 1, 10, &n) < 0 || n < 0 || n > 99)
    return 0;
  return (int)n;
}

#define MAX_VECTOR 128

/* What a machine of platform want runs, most preferred first: containerd's
 * platforms.Only (platformVector). amd64/vN also runs vN-1 … v1 and then 386;
 * arm/vN runs vN-1 … v5; arm64/vN runs arm/vN … v5. */
static size_t
plat_vector(const struct plat *want, struct plat *v, size_t n)
{
  size_t k = 0;
  int ver = variant_number(want->variant);

  v[k++] = *want;
  if (str_eq(want->arch, "amd64")) {
    for (int i = ver - 1; ver > 1 && i >= 1 && k + 1 < n; i--) {
      v[k] = *want;
      snprintf(v[k++].variant, sizeof(v->variant), "v%d", i);
    }
    v[k] = *want;
    snprintf(v[k].arch, sizeof(v->arch), "386");
    v[k++].variant[0] = '\0';
  } else if (str_eq(want->arch, "arm")) {
    for (int i = ver - 1; ver > 5 && i >= 5 && k < n; i--) {
      v[k] = *want;
      snprintf(v[k++].variant, sizeof(v->variant), "v%d", i);
    }
  } else if (str_eq(want->arch, "arm64")) {
    struct plat arm = *want;
    snprintf(arm.arch, sizeof(arm.arch), "arm");
    k += plat_vector(&arm, v + k, n - k);
  }
  return k;
}

/* "os/arch[/variant]" into a normalized platform; false when it has no arch. */
static bool
plat_parse(const char *s, struct plat *p)
{
  cleanup_free char *w = xstrdup(s ? s : "");
  char *arch = strchr(w, '/'), *variant = NULL;

  if (arch == NULL || arch[1] == '\0')
    return false;
  *arch++ = '\0';
  variant = strchr(arch, '/');
  if (variant)
    *variant++ = '\0';
  plat_normalize(p, w, arch, variant);
  return true;
}

int
image_platform_rank(const char *want, const char *os, const char *arch, const char *variant)
{
  struct plat w, have, v[MAX_VECTOR];
  size_t n;

  if (os == NULL || arch == NULL || !plat_parse(want, &w))
    return -1;
  plat_normalize(&have, os, arch, variant);
  n = plat_vector(&w, v, ARRAY_SIZE(v));
  for (size_t i = 0; i < n; i++)
    if (str_eq(have.os, v[i].os) && str_eq(have.arch, v[i].arch) &&
        str_eq(have.variant, v[i].variant))
      return (int)i;
  return -1;
}

bool
image_platform_matches(const char *want, const char *os, const char *arch, const char *variant)
{
  return image_platform_rank(want, os, arch, variant) >= 0;
}

ssize_t
image_index_select(const struct image_index *ix, const char *platform)
{
  ssize_t best = -1;
  int best_rank = INT_MAX;

  for (size_t i = 0; i < ix->n; i++) {
    cleanup_free char *p = ix->platforms[i] ? xstrdup(ix->platforms[i]) : NULL;
    char *arch, *variant = NULL;
    int rank;

    if (p == NULL || (arch = strchr(p, '/')) == NULL)
      continue;
    *arch++ = '\0';
    variant = strchr(arch, '/');
    if (variant)
      *variant++ = '\0';
    rank = image_platform_rank(platform, p, arch, variant);
    /* The most preferred wins; among equals the first listed (a stable sort). */
    if (rank >= 0 && rank < best_rank) {
      best = (ssize_t)i;
      best_rank = rank;
    }
  }
  /* A nested index without a platform is kept by containerd's filter and
   * sorted after every matching child: follow the first one. */
  for (size_t i = 0; best < 0 && i < ix->n; i++)
    if (ix->platforms[i] == NULL &&
        (str_eq(ix->manifests[i].media_type, "application/vnd.oci.image.index.v1+json") ||
         str_eq(ix->manifests[i].media_type,
                "application/vnd.docker.distribution.manifest.list.v2+json")))
      best = (ssize_t)i;
  return best;
}

void
image_index_release(struct image_index *ix)
{
  for (size_t i = 0; i < ix->n; i++) {
    oci_desc_release(&ix->manifests[i]);
    free(ix->platforms[i]);
  }
  free(ix->manifests);
  free(ix->platforms);
  memset(ix, 0, sizeof(*ix));
}

void
image_manifest_release(struct image_manifest *m)
{
  oci_desc_release(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    oci_desc_release(&m->layers[i]);
  free(m->layers);
  memset(m, 0, sizeof(*m));
}
