/* The built binary: references, hosts discovery through containerd's
 * config_path, --hosts-dir overriding it, broken files, hosts add. */
#include "e2e.h"
#include "util.h"

START_TEST(ref_command)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, d = {0};

  ck_assert_int_eq(e2e_sh(&a, NULL, "$CTRX ref nginx"), 0);
  ck_assert_str_eq(a.out, "docker.io/library/nginx:latest\n");
  ck_assert_int_eq(e2e_sh(&b, NULL, "$CTRX ref --familiar docker.io/library/nginx:latest"), 0);
  ck_assert_str_eq(b.out, "nginx:latest\n");
  ck_assert_int_eq(e2e_sh(&c, NULL, "$CTRX ref Nginx"), 1);
  ck_assert_msg(strstr(c.err, "ctrx: invalid reference \"Nginx\": ") == c.err &&
                    strstr(c.err, "lowercase") != NULL,
                "%s", c.err);
  /* valid names are still printed around an invalid one */
  ck_assert_int_eq(e2e_sh(&d, NULL, "$CTRX ref busybox UPPER localhost:5000/app"), 1);
  ck_assert_str_eq(d.out, "docker.io/library/busybox:latest\nlocalhost:5000/app:latest\n");
}
END_TEST

static char *
setup_dirs(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *root = xasprintf("%s/cfgtest-%d", e2e_env("CTRX_TEST_ROOT"), (int)getpid());

  ck_assert_int_eq(
      e2e_sh(&o, NULL,
             "set -e; r=%s; mkdir -p $r/certs.d/docker.io $r/other/docker.io; "
             "printf 'version = 2\\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\\n"
             "  config_path = \"%%s\"\\n' $r/certs.d > $r/config.toml; "
             "printf 'server = \"https://registry-1.docker.io\"\\n"
             "[host.\"https://mirror.example.com\"]\\n  capabilities = [\"pull\", "
             "\"resolve\"]\\n' > $r/certs.d/docker.io/hosts.toml; "
             "printf '[host.\"https://other.example.com\"]\\n' > "
             "$r/other/docker.io/hosts.toml",
             root),
      0);
  return root;
}

START_TEST(hosts_from_containerd_config)
{
  cleanup_free char *r = setup_dirs();
  cleanup_e2e_out struct e2e_out a = {0}, b = {0};
  char *first, *last;

  ck_assert_msg(e2e_sh(&a, NULL, "CTRX_CONTAINERD_CONFIG=%s/config.toml $CTRX hosts nginx", r) == 0,
                "%s", a.err);
  first = strstr(a.out, "https://mirror.example.com");
  last = strstr(a.out, "https://registry-1.docker.io");
  ck_assert_msg(first && last && first < last, "%s", a.out);
  /* --hosts-dir overrides what containerd's config says */
  ck_assert_int_eq(e2e_sh(&b, NULL,
                          "CTRX_CONTAINERD_CONFIG=%1$s/config.toml $CTRX --hosts-dir %1$s/other "
                          "hosts nginx",
                          r),
                   0);
  ck_assert_msg(strstr(b.out, "https://other.example.com") &&
                    !strstr(b.out, "https://mirror.example.com"),
                "%s", b.out);
}
END_TEST

START_TEST(broken_hosts_toml)
{
  cleanup_free char *r = setup_dirs();
  cleanup_e2e_out struct e2e_out w = {0}, a = {0};

  e2e_sh(&w, NULL,
         "printf 'server = \"x\"\\n[host.\"https://a\"\\n' > %s/certs.d/docker.io/hosts.toml", r);
  ck_assert_int_eq(e2e_sh(&a, NULL, "$CTRX --hosts-dir %s/certs.d hosts nginx", r), 1);
  ck_assert_msg(strstr(a.err, "ctrx: ") == a.err && strstr(a.err, "/hosts.toml:2:") != NULL, "%s",
                a.err);
}
END_TEST

START_TEST(hosts_add_twice)
{
  cleanup_free char *r = setup_dirs();
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0};

  ck_assert_msg(e2e_sh(&a, NULL,
                       "$CTRX --hosts-dir %s/new hosts add docker.io https://mirror.example",
                       r) == 0,
                "%s", a.err);
  ck_assert_int_eq(
      e2e_sh(&b, NULL, "$CTRX --hosts-dir %s/new hosts add docker.io https://mirror.example", r),
      1);
  ck_assert_msg(strstr(b.err, "already") != NULL, "%s", b.err);
  ck_assert_int_eq(e2e_sh(&c, NULL, "$CTRX --hosts-dir %s/new hosts docker.io", r), 0);
  ck_assert_msg(strstr(c.out, "https://mirror.example") != NULL, "%s", c.out);
}
END_TEST

Suite *
cli_config_suite(void)
{
  Suite *s = suite_create("cli_config");
  TCase *t = tcase_create("binary");

  tcase_add_test(t, ref_command);
  tcase_add_test(t, hosts_from_containerd_config);
  tcase_add_test(t, broken_hosts_toml);
  tcase_add_test(t, hosts_add_twice);
  suite_add_tcase(s, t);
  return s;
}
