/* The image documents: index, manifest and config, and platform choice. */
#include <check.h>

#include "image.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

struct doc_case {
  const char *json;
  int rv;          /* 0 or -1 */
  const char *why; /* part of the error when -1 */
  size_t n;        /* children / layers when 0 */
};

static const struct doc_case indexes[] = {
    {"{\"manifests\":[]}", 0, NULL, 0},
    {"{\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" D1 "\",\"size\":5,\"platform\":{"
     "\"os\":\"linux\",\"architecture\":\"amd64\"}},{\"digest\":\"" D2 "\",\"size\":0}]}",
     0, NULL, 2},
    {"", -1, "malformed JSON", 0},
    {"[]", -1, "not a JSON object", 0},
    {"{}", -1, "no manifests", 0},
    {"{\"manifests\":{}}", -1, "no manifests", 0},
    {"{\"manifests\":[],\"layers\":[]}", -1, "as a manifest would", 0},
    {"{\"manifests\":[],\"config\":{}}", -1, "as a manifest would", 0},
    {"{\"manifests\":[1]}", -1, "not a descriptor", 0},
    {"{\"manifests\":[{\"digest\":\"sha256:abc\",\"size\":1}]}", -1, "valid digest", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\"}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":\"5\"}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":5,\"size\":5}]}", -1, "valid digest", 0},
};

START_TEST(index_shapes)
{
  const struct doc_case *c = &indexes[_i];
  struct image_index ix = {0};
  struct error *err = NULL;
  int rv = image_parse_index(c->json, strlen(c->json), &ix, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0)
    ck_assert_uint_eq(ix.n, c->n);
  else
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  image_index_release(&ix);
  error_free(err);
}
END_TEST

static const struct doc_case manifests[] = {
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[]}", 0, NULL, 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[{\"digest\":\"" D2
     "\",\"size\":9},{\"digest\":\"" D3 "\",\"size\":1}]}",
     0, NULL, 2},
    {"{\"layers\":[]}", -1, "not a descriptor", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3}}", -1, "no layers", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[],\"manifests\":[]}", -1,
     "as an index would", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[{\"size\":1}]}", -1,
     "valid digest", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[\"x\"]}", -1, "not a descriptor",
     0},
    {"not json", -1, "malformed JSON", 0},
};

START_TEST(manifest_shapes)
{
  const struct doc_case *c = &manifests[_i];
  struct image_manifest m = {0};
  struct error *err = NULL;
  int rv = image_parse_manifest(c->json, strlen(c->json), &m, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0) {
    ck_assert_uint_eq(m.n_layers, c->n);
    ck_assert_str_eq(m.config.digest, D1);
  } else {
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  }
  image_manifest_release(&m);
  error_free(err);
}
END_TEST

static const struct doc_case configs[] = {
    {"{\"rootfs\":{\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}", 0, NULL, 2},
    {"{\"rootfs\":{\"type\":\"layers\"}}", 0, NULL, 0},
    {"{}", 0, NULL, 0},
    {"{\"rootfs\":{\"diff_ids\":\"x\"}}", -1, "not a list", 0},
    {"{\"rootfs\":{\"diff_ids\":[3]}}", -1, "not a digest", 0},
    {"{\"rootfs\":{\"diff_ids\":[\"sha256:zz\"]}}", -1, "not a digest", 0},
    {"\"text\"", -1, "malformed JSON", 0},
};

START_TEST(config_shapes)
{
  const struct doc_case *c = &configs[_i];
  struct strv ids = STRV_INIT;
  struct error *err = NULL;
  int rv = image_parse_config(c->json, strlen(c->json), &ids, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0)
    ck_assert_uint_eq(ids.n, c->n);
  else
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  strv_release(&ids);
  error_free(err);
}
END_TEST

START_TEST(too_large)
{
  size_t n = REGISTRY_MAX_MANIFEST + 1;
  char *big = xmalloc(n);
  struct image_manifest m = {0};
  struct error *err = NULL;

  memset(big, ' ', n);
  ck_assert_int_eq(image_parse_manifest(big, n, &m, &err), -1);
  ck_assert(error_is(err, ERR_EXHAUSTED));
  error_free(err);
  free(big);
}
END_TEST

struct plat_case {
  const char *want, *os, *arch, *variant;
  bool match;
};

static const struct plat_case plats[] = {
    {"linux/amd64", "linux", "amd64", NULL, true},
    {"linux/amd64", "linux", "arm64", NULL, false},
    {"linux/amd64", "windows", "amd64", NULL, false},
    {"linux/arm64/v8", "linux", "arm64", NULL, true},
    {"linux/arm64", "linux", "arm64", "v8", true},
    {"linux/arm64/v8", "linux", "arm64", "v9", false},
    {"linux/arm/v7", "linux", "arm", "v7", true},
    {"linux/arm/v7", "linux", "arm", "v6", false},
    {"linux/arm/v7", "linux", "arm", NULL, true},
    {"linux", "linux", "amd64", NULL, false},
    {"linux/amd64", NULL, "amd64", NULL, false},
};

START_TEST(platforms)
{
  const struct plat_case *c = &plats[_i];
  ck_assert_msg(image_platform_matches(c->want, c->os, c->arch, c->variant) == c->match, "%s",
                c->want);
}
END_TEST

START_TEST(select_child)
{
  const char *doc =
      "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1},"
      "{\"digest\":\"" D2 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
      "\"arm64\"}},"
      "{\"digest\":\"" D3 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
      "\"amd64\"}}]}";
  struct image_index ix = {0};

  ck_assert_int_eq(image_parse_index(doc, strlen(doc), &ix, NULL), 0);
  ck_assert_int_eq(image_index_select(&ix, "linux/amd64"), 2);
  ck_assert_int_eq(image_index_select(&ix, "linux/arm64/v8"), 1);
  ck_assert_int_eq(image_index_select(&ix, "linux/s390x"), -1);
  image_index_release(&ix);
}
END_TEST

Suite *
image_suite(void)
{
  Suite *s = suite_create("image");
  TCase *t = tcase_create("documents");

  tcase_add_loop_test(t, index_shapes, 0, (int)ARRAY_SIZE(indexes));
  tcase_add_loop_test(t, manifest_shapes, 0, (int)ARRAY_SIZE(manifests));
  tcase_add_loop_test(t, config_shapes, 0, (int)ARRAY_SIZE(configs));
  tcase_add_test(t, too_large);
  tcase_add_loop_test(t, platforms, 0, (int)ARRAY_SIZE(plats));
  tcase_add_test(t, select_child);
  suite_add_tcase(s, t);
  return s;
}
