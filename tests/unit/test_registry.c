/* The registry client's pure parts: URLs with ?ns=, and descriptors refused
 * before any request. No network. */
#include <check.h>
#include <string.h>

#include "http.h"
#include "registry_internal.h"
#include "util.h"

Suite *registry_suite(void);

START_TEST(url_with_ns)
{
  struct registry_ep ep = {.base = (char *)"http://127.0.0.1:5000/v2", .skip_verify = -1};
  cleanup_free char *u1 = NULL, *u2 = NULL, *u3 = NULL, *e = NULL;

  u1 = registry_url(&ep, "library/busybox", "manifests", "latest");
  ck_assert_str_eq(u1, "http://127.0.0.1:5000/v2/library/busybox/manifests/latest");
  ep.ns = (char *)"docker.io";
  u2 = registry_url(&ep, "library/busybox", "blobs", "sha256:abc");
  ck_assert_str_eq(u2, "http://127.0.0.1:5000/v2/library/busybox/blobs/sha256:abc?ns=docker.io");
  ep.ns = (char *)"127.0.0.1:5000";
  u3 = registry_url(&ep, "a/b", "manifests", "v1");
  ck_assert_str_eq(u3, "http://127.0.0.1:5000/v2/a/b/manifests/v1?ns=127.0.0.1%3A5000");
  e = http_query_escape("aZ09-._~ /:?&=%+\xc3\xa9");
  ck_assert_str_eq(e, "aZ09-._~%20%2F%3A%3F%26%3D%25%2B%C3%A9");
}
END_TEST

START_TEST(fetch_refuses_bad_descriptors)
{
  struct registry *r = NULL;
  struct registry_opts o = {0};
  struct registry_ep ep = {
      .base = (char *)"http://127.0.0.1:1/v2", .caps = REGISTRY_PULL, .skip_verify = -1};
  static char mt[] = "application/vnd.oci.image.layer.v1.tar+gzip";
  static char good[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  struct oci_desc zero = {mt, good, 0};
  struct oci_desc bad = {mt, (char *)"sha256:nothex", 10};
  struct error *err = NULL;

  ck_assert_int_eq(registry_new(&o, &r, &err), 0);
  /* Refused before any network: libcurl need not even be loaded. */
  ck_assert_int_eq(registry_fetch(r, &ep, 1, "a/b", &zero, 0, NULL, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, "size of zero") != NULL, "%s", err->msg);
  error_free(err);
  err = NULL;
  ck_assert_int_eq(registry_fetch(r, &ep, 1, "a/b", &bad, 0, NULL, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  error_free(err);
  err = NULL;
  zero.size = 10;
  ck_assert_int_eq(registry_fetch(r, &ep, 1, "a/b", &zero, 10, NULL, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_OUT_OF_RANGE);
  error_free(err);
  err = NULL;
  ep.caps = REGISTRY_RESOLVE;
  ck_assert_int_eq(registry_fetch(r, &ep, 1, "a/b", &zero, 0, NULL, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  error_free(err);
  err = NULL;
  ck_assert_int_eq(registry_resolve(r, &ep, 1, "a/b", "sha256:short", &zero, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  error_free(err);
  registry_free(r);
}
END_TEST

/* Digests of the grammar containerd accepts, but of an algorithm other than
 * sha256: valid in a manifest, yet neither fetched nor resolved. */
START_TEST(fetch_and_resolve_sha256_only)
{
  struct registry *r = NULL;
  struct registry_ep ep = {.base = (char *)"http://127.0.0.1:1/v2",
                           .caps = REGISTRY_PULL | REGISTRY_RESOLVE,
                           .skip_verify = -1};
  static char mt[] = "application/vnd.oci.image.layer.v1.tar+gzip";
  cleanup_free char *sha512 = xasprintf("sha512:%0128d", 0);
  struct oci_desc d = {mt, sha512, 10};
  struct error *err = NULL;

  ck_assert(oci_digest_valid(sha512));
  ck_assert_int_eq(registry_new(NULL, &r, &err), 0);
  ck_assert_int_eq(registry_fetch(r, &ep, 1, "a/b", &d, 0, NULL, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, "unsupported digest") != NULL, "%s", err->msg);
  error_freep(&err);
  ck_assert_int_eq(registry_resolve(r, &ep, 1, "a/b", sha512, &d, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, "unsupported digest") != NULL, "%s", err->msg);
  error_freep(&err);
  registry_free(r);
}
END_TEST

Suite *
registry_suite(void)
{
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("pure");

  tcase_add_test(tc, url_with_ns);
  tcase_add_test(tc, fetch_refuses_bad_descriptors);
  tcase_add_test(tc, fetch_and_resolve_sha256_only);
  suite_add_tcase(s, tc);
  return s;
}
