/* Media types and digests as the OCI specs and containerd read them. */
#include <check.h>
#include <string.h>

#include "oci.h"
#include "util.h"

Suite *oci_suite(void);

static const struct {
  const char *mt;
  enum oci_media kind;
} media_cases[] = {
    {"application/vnd.oci.image.index.v1+json", OCI_MEDIA_INDEX},
    {"application/vnd.docker.distribution.manifest.list.v2+json", OCI_MEDIA_INDEX},
    {"application/vnd.oci.image.manifest.v1+json", OCI_MEDIA_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v2+json", OCI_MEDIA_MANIFEST},
    {"Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8", OCI_MEDIA_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", OCI_MEDIA_SCHEMA1},
    {"text/plain; charset=utf-8", OCI_MEDIA_SCHEMA1},
    {"application/vnd.oci.image.config.v1+json", OCI_MEDIA_CONFIG},
    {"application/vnd.docker.container.image.v1+json", OCI_MEDIA_CONFIG},
    {"application/vnd.oci.image.layer.v1.tar+gzip", OCI_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.v1.tar+zstd", OCI_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_MEDIA_LAYER},
    {"application/octet-stream", OCI_MEDIA_OTHER},
    {"application/json", OCI_MEDIA_OTHER},
    {"", OCI_MEDIA_OTHER},
    {NULL, OCI_MEDIA_OTHER},
};

START_TEST(media_kinds)
{
  ck_assert_int_eq(oci_media_kind(media_cases[_i].mt), media_cases[_i].kind);
}
END_TEST

START_TEST(media_strip_and_digest)
{
  cleanup_free char *a = oci_media_strip(" Application/JSON ; charset=utf-8");
  cleanup_free char *b = oci_media_strip("application/vnd.oci.image.index.v1+json");
  static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  cleanup_free char *good = xasprintf("sha256:%s", hex64);
  cleanup_free char *upper = xasprintf("sha256:%.63sA", hex64);
  cleanup_free char *shorter = xasprintf("sha256:%.63s", hex64);
  cleanup_free char *other = xasprintf("sha512:%s", hex64);
  cleanup_free char *longer = xasprintf("sha256:%s0", hex64);
  cleanup_free char *beyond_f = xasprintf("sha256:%.63sg", hex64);

  ck_assert_str_eq(a, "application/json");
  ck_assert_str_eq(b, "application/vnd.oci.image.index.v1+json");
  ck_assert(oci_digest_valid(good));
  ck_assert(!oci_digest_valid(upper));
  ck_assert(!oci_digest_valid(shorter));
  ck_assert(!oci_digest_valid(other));
  ck_assert(!oci_digest_valid(longer));
  ck_assert(!oci_digest_valid(beyond_f));
  ck_assert(!oci_digest_valid(NULL));
  ck_assert(!oci_digest_valid("latest"));
}
END_TEST

/* A descriptor's mediaType is compared as written, as containerd does. */
static const struct {
  const char *mt;
  enum oci_media kind;
} exact_cases[] = {
    {OCI_MT_INDEX, OCI_MEDIA_INDEX},
    {OCI_MT_DOCKER_LIST, OCI_MEDIA_INDEX},
    {OCI_MT_MANIFEST, OCI_MEDIA_MANIFEST},
    {OCI_MT_DOCKER_MANIFEST, OCI_MEDIA_MANIFEST},
    {OCI_MT_CONFIG, OCI_MEDIA_CONFIG},
    {OCI_MT_DOCKER_CONFIG, OCI_MEDIA_CONFIG},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", OCI_MEDIA_SCHEMA1},
    {"application/vnd.oci.image.layer.v1.tar+gzip", OCI_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_MEDIA_LAYER},
    {"Application/VND.OCI.Image.Manifest.v1+JSON", OCI_MEDIA_OTHER},
    {"application/vnd.oci.image.index.v1+json; charset=utf-8", OCI_MEDIA_OTHER},
    {" application/vnd.oci.image.index.v1+json", OCI_MEDIA_OTHER},
    {"application/vnd.oci.image.layer", OCI_MEDIA_OTHER},
    {"", OCI_MEDIA_OTHER},
    {NULL, OCI_MEDIA_OTHER},
};

START_TEST(media_kinds_exact)
{
  ck_assert_int_eq(oci_media_kind_exact(exact_cases[_i].mt), exact_cases[_i].kind);
}
END_TEST

Suite *
oci_suite(void)
{
  Suite *s = suite_create("oci");
  TCase *tc = tcase_create("pure");

  tcase_add_loop_test(tc, media_kinds, 0, ARRAY_SIZE(media_cases));
  tcase_add_test(tc, media_strip_and_digest);
  tcase_add_loop_test(tc, media_kinds_exact, 0, ARRAY_SIZE(exact_cases));
  suite_add_tcase(s, tc);
  return s;
}
