#include "image.h"

#include <jansson.h>

static int
load(const char *data, size_t len, const char *kind, json_t **out, struct error **err)
{
  json_error_t je;

  if (len > REGISTRY_MAX_MANIFEST)
    return error_setc(err, ERR_EXHAUSTED, "%s of %zu bytes is over the %u byte limit", kind, len,
                      REGISTRY_MAX_MANIFEST);
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

static int
descriptor(json_t *j, struct registry_desc *d, const char *what, struct error **err)
{
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  const char *dg = json_string_value(json_object_get(j, "digest"));
  json_t *sz = json_object_get(j, "size");

  if (!json_is_object(j))
    return error_setc(err, ERR_INVALID, "%s: not a descriptor", what);
  if (dg == NULL || !registry_digest_valid(dg))
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
    if (s == NULL || !registry_digest_valid(s))
      return error_setc(err, ERR_INVALID, "config: diff_ids[%zu] is not a digest", i);
    strv_push(diff_ids, s);
  }
  return 0;
}

bool
image_platform_matches(const char *want, const char *os, const char *arch, const char *variant)
{
  cleanup_free char *w = xstrdup(want);
  char *wos = w, *warch = strchr(w, '/'), *wvar = NULL;

  if (warch) {
    *warch++ = '\0';
    wvar = strchr(warch, '/');
    if (wvar)
      *wvar++ = '\0';
  }
  if (!os || !arch || !warch || strcmp(os, wos) != 0 || strcmp(arch, warch) != 0)
    return false;
  if (strcmp(arch, "arm64") == 0) {
    if (variant == NULL || *variant == '\0')
      variant = "v8";
    if (wvar == NULL)
      wvar = (char *)"v8";
  }
  if (wvar && variant && *variant)
    return strcmp(wvar, variant) == 0;
  return true;
}

ssize_t
image_index_select(const struct image_index *ix, const char *platform)
{
  for (size_t i = 0; i < ix->n; i++) {
    cleanup_free char *p = ix->platforms[i] ? xstrdup(ix->platforms[i]) : NULL;
    char *arch, *variant = NULL;

    if (p == NULL || (arch = strchr(p, '/')) == NULL)
      continue;
    *arch++ = '\0';
    variant = strchr(arch, '/');
    if (variant)
      *variant++ = '\0';
    if (image_platform_matches(platform, p, arch, variant))
      return (ssize_t)i;
  }
  return -1;
}

void
image_index_release(struct image_index *ix)
{
  for (size_t i = 0; i < ix->n; i++) {
    registry_desc_release(&ix->manifests[i]);
    free(ix->platforms[i]);
  }
  free(ix->manifests);
  free(ix->platforms);
  memset(ix, 0, sizeof(*ix));
}

void
image_manifest_release(struct image_manifest *m)
{
  registry_desc_release(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    registry_desc_release(&m->layers[i]);
  free(m->layers);
  memset(m, 0, sizeof(*m));
}
