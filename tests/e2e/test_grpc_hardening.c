/* The gRPC transport under a deadline: pulls of a multi-MB image with
 * --timeout, so that every request carries a grpc-timeout header while the
 * socket is busy with content writes (the sanitized e2e run sees any header
 * that does not outlive its call), and a --timeout longer than 8 digits of
 * milliseconds, which containerd must still accept. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

/* Push an OCI image of four layers of random bytes (6 MiB each, stored
 * uncompressible) to $REG as REPO:v1; prints the digests of its config and
 * layers, one a line. */
static const char push_script[] =
    "set -eu\n"
    "w=$1 repo=$2\n"
    "mkdir -p \"$w/blobs\"\n"
    "diffs='' layers=''\n"
    "for i in 1 2 3 4; do\n"
    "  mkdir -p \"$w/l$i/data\"\n"
    "  head -c 6291456 /dev/urandom >\"$w/l$i/data/random$i\"\n"
    "  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C \"$w/l$i\" -cf "
    "\"$w/l$i.tar\" .\n"
    "  diffs=\"$diffs\\\"sha256:$(sha256sum \"$w/l$i.tar\" | cut -d' ' -f1)\\\",\"\n"
    "  gzip -n -1 -c \"$w/l$i.tar\" >\"$w/l$i.tgz\"\n"
    "  d=$(sha256sum \"$w/l$i.tgz\" | cut -d' ' -f1); s=$(stat -c %s \"$w/l$i.tgz\")\n"
    "  mv \"$w/l$i.tgz\" \"$w/blobs/$d\"\n"
    "  layers=\"$layers{\\\"mediaType\\\":\\\"application/vnd.oci.image.layer.v1.tar+gzip\\\","
    "\\\"digest\\\":\\\"sha256:$d\\\",\\\"size\\\":$s},\"\n"
    "done\n"
    "arch=$(dpkg --print-architecture 2>/dev/null || uname -m)\n"
    "case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac\n"
    "printf '{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
    "\"diff_ids\":[%s]}}' \"$arch\" \"${diffs%,}\" >\"$w/config.json\"\n"
    "cd=$(sha256sum \"$w/config.json\" | cut -d' ' -f1); cs=$(stat -c %s \"$w/config.json\")\n"
    "cp \"$w/config.json\" \"$w/blobs/$cd\"\n"
    "printf '{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
    "\"sha256:%s\",\"size\":%s},\"layers\":[%s]}' \"$cd\" \"$cs\" \"${layers%,}\" "
    ">\"$w/manifest.json\"\n"
    "for b in \"$w\"/blobs/*; do\n"
    "  loc=$(curl -sf -X POST -D - -o /dev/null \"http://$REG/v2/$repo/blobs/uploads/\" |\n"
    "    tr -d '\\r' | awk 'tolower($1) == \"location:\" {print $2}')\n"
    "  case $loc in http*) ;; *) loc=\"http://$REG$loc\" ;; esac\n"
    "  case $loc in *\\?*) loc=\"$loc&digest=sha256:${b##*/}\" ;; "
    "*) loc=\"$loc?digest=sha256:${b##*/}\" ;; esac\n"
    "  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary \"@$b\" "
    "\"$loc\" >/dev/null\n"
    "  echo \"sha256:${b##*/}\"\n"
    "done\n"
    "curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' "
    "--data-binary \"@$w/manifest.json\" \"http://$REG/v2/$repo/manifests/v1\" >/dev/null\n"
    "rm -rf \"$w\"\n";

/* The image's reference; *blobs gets the digests of its config and layers. */
static char *
push_big(char **blobs)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *repo = xasprintf("grpc/big-%d", (int)getpid());
  cleanup_free char *work = xasprintf("%s/grpc-big-%d", e2e_env("CTRX_TEST_ROOT"), (int)getpid());
  cleanup_free char *script = xasprintf("%s.sh", work);
  FILE *f = fopen(script, "w");

  ck_assert_ptr_nonnull(f);
  fputs(push_script, f);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(e2e_sh(&o, NULL, "sh %s %s %s", script, work, repo) == 0, "push: %s", o.err);
  *blobs = xstrdup(o.out);
  return xasprintf("%s/%s:v1", e2e_env("CTRX_TEST_REGISTRY"), repo);
}

/* NS holds REF, complete: every blob in the content store, unpacked. */
static void
assert_complete(const char *ns, const char *ref, const char *blobs)
{
  cleanup_e2e_out struct e2e_out l = {0}, c = {0}, chk = {0};
  cleanup_free char *want = xasprintf("%s\n", ref);

  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_str_eq(l.out, want);
  e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s content ls -q", ns);
  for (const char *d = blobs; *d;) {
    const char *nl = strchr(d, '\n');
    cleanup_free char *digest = nl ? xstrndup(d, (size_t)(nl - d)) : xstrdup(d);
    ck_assert_msg(strstr(c.out, digest) != NULL, "%s missing from the content store:\n%s", digest,
                  c.out);
    d = nl ? nl + 1 : d + strlen(d);
  }
  ck_assert_int_eq(e2e_sh(&chk, NULL, "$CTR -a \"$ADDR\" -n %s images check", ns), 0);
  /* the config and four layers, all there, and unpacked */
  ck_assert_msg(strstr(chk.out, "complete (5/5)") != NULL && strstr(chk.out, " true") != NULL, "%s",
                chk.out);
}

START_TEST(timeout_pulls_of_big_image)
{
  cleanup_free char *blobs = NULL;
  cleanup_free char *ref = push_big(&blobs);

  for (int i = 0; i < 3; i++) {
    cleanup_free char *ns = e2e_namespace("grpc-timeout");
    cleanup_e2e_out struct e2e_out p = {0};

    ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --timeout 60s pull -q %s", ns, ref) ==
                      0,
                  "pull %d: %s", i, p.err);
    assert_complete(ns, ref, blobs);
    e2e_assert_no_lease(ns);
    e2e_clean_namespace(ns);
  }
}
END_TEST

/* 30 h is 108000000 ms: nine digits, one more than gRPC allows. */
START_TEST(long_timeout_accepted)
{
  cleanup_free char *ns = e2e_namespace("grpc-long");
  cleanup_e2e_out struct e2e_out p = {0}, l = {0};

  ck_assert_msg(e2e_sh(&p, NULL,
                       "$CTRX -a \"$ADDR\" -n %s --timeout 30h pull -q $REG/test/busybox:oci",
                       ns) == 0,
                "%s", p.err);
  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_ptr_nonnull(strstr(l.out, "test/busybox:oci"));
  e2e_clean_namespace(ns);
}
END_TEST

Suite *
grpc_hardening_suite(void)
{
  Suite *s = suite_create("grpc_hardening");
  TCase *t = tcase_create("deadlines");

  tcase_set_timeout(t, 300);
  tcase_add_test(t, timeout_pulls_of_big_image);
  tcase_add_test(t, long_timeout_accepted);
  suite_add_tcase(s, t);
  return s;
}
