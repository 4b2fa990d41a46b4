/* ctrx's own pull against the real containerd and registry: short names
 * through a hosts.toml mirror, and what containerd holds afterwards compared
 * with what ctr leaves for the same image. */
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

static char *
write_mirror_dir(const char *tag)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/hosts-%s", e2e_env("CTRX_TEST_ROOT"), tag);

  ck_assert_int_eq(
      e2e_sh(&o, NULL,
             "mkdir -p %1$s/docker.io && printf 'server = \"https://registry-1.docker.io\"\\n"
             "[host.\"http://%2$s\"]\\n  capabilities = [\"pull\", \"resolve\"]\\n' "
             "> %1$s/docker.io/hosts.toml",
             dir, e2e_env("CTRX_TEST_REGISTRY")),
      0);
  return dir;
}

START_TEST(short_name_through_mirror)
{
  cleanup_free char *ns = e2e_namespace("pull");
  cleanup_free char *dir = write_mirror_dir("short");
  cleanup_e2e_out struct e2e_out p = {0}, l = {0}, r = {0}, again = {0};

  ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull busybox", ns, dir) ==
                    0,
                "%s%s", p.out, p.err);
  ck_assert_msg(strstr(p.out, "docker.io/library/busybox:latest sha256:") == p.out, "%s", p.out);
  ck_assert_ptr_nonnull(strstr(p.out, e2e_env("CTRX_TEST_REGISTRY")));
  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_str_eq(l.out, "docker.io/library/busybox:latest\n");
  ck_assert_msg(e2e_sh(&r, NULL,
                       "$CTR -a \"$ADDR\" -n %s run --rm docker.io/library/busybox:latest t "
                       "echo ok",
                       ns) == 0,
                "%s", r.err);
  ck_assert_str_eq(r.out, "ok\n");
  /* again: a quick no-op, and no lease stays behind */
  ck_assert_int_eq(
      e2e_sh(&again, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull -q busybox", ns, dir), 0);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

static const char *const images[] = {"test/busybox:oci", "test/busybox:docker", "test/multi:oci",
                                     "test/multi:docker", "test/layers:v1"};

START_TEST(identical_to_ctr)
{
  const char *img = images[_i];
  cleanup_free char *a = e2e_namespace("same-ctrx");
  cleanup_free char *b = e2e_namespace("same-ctr");
  cleanup_e2e_out struct e2e_out x = {0}, c = {0};

  ck_assert_msg(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/%s", a, img) == 0, "%s",
                x.err);
  ck_assert_msg(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s images pull $REG/%s", b, img) == 0, "%s",
                c.err);
  e2e_assert_same_image(a, b);
  e2e_clean_namespace(a);
  e2e_clean_namespace(b);
}
END_TEST

START_TEST(missing_tag_leaves_nothing)
{
  cleanup_free char *ns = e2e_namespace("missing");
  cleanup_e2e_out struct e2e_out x = {0};

  ck_assert_int_eq(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/test/busybox:nope", ns), 1);
  ck_assert_msg(strstr(x.err, "ctrx: ") == x.err && strstr(x.err, "test/busybox:nope") != NULL,
                "%s", x.err);
  e2e_assert_nothing_left(ns);
}
END_TEST

Suite *
pull_suite(void)
{
  Suite *s = suite_create("pull");
  TCase *t = tcase_create("native");

  tcase_set_timeout(t, 120);
  tcase_add_test(t, short_name_through_mirror);
  tcase_add_loop_test(t, identical_to_ctr, 0, (int)ARRAY_SIZE(images));
  tcase_add_test(t, missing_tag_leaves_nothing);
  suite_add_tcase(s, t);
  return s;
}
