/* `hosts check`'s pure steps: host directory names back to registries, and
 * which directories of a hosts chain name registries. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe.h"
#include "unit.h"
#include "util.h"

Suite *probe_suite(void);

static const struct {
  const char *dir;
  const char *registry;
} dir_names[] = {
    {"docker.io", "docker.io"},
    {"127.0.0.1_5000_", "127.0.0.1:5000"},
    {"host_443_", "host:443"},
    {"host:5000", "host:5000"},
    {"my_host_", "my_host_"}, /* no digits before the final '_' */
    {"a_1_2_", "a_1:2"},      /* the last "_digits_" is the port */
    {"_5000_", ":5000"},      /* an empty host, as it always was */
    {"x_", "x_"},             /* too short */
    {"host_50a0_", "host_50a0_"},
};

START_TEST(test_dir_registry)
{
  cleanup_free char *r = probe_dir_registry(dir_names[_i].dir);
  ck_assert_str_eq(r, dir_names[_i].registry);
}
END_TEST

static char tmpdir[] = "/tmp/ctrx-probe-test-XXXXXX";

static void
mkdir_in(const char *a, const char *b)
{
  cleanup_free char *p = b ? xasprintf("%s/%s/%s", tmpdir, a, b) : xasprintf("%s/%s", tmpdir, a);
  ck_assert_int_eq(mkdir(p, 0755), 0);
}

START_TEST(test_registries_in)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_strv struct strv out = STRV_INIT;

  unit_tmpdir_make(tmpdir);
  mkdir_in("one", NULL);
  mkdir_in("two", NULL);
  mkdir_in("one", "z.io");
  mkdir_in("one", "a.io");
  mkdir_in("one", "_default");
  mkdir_in("one", ".hidden");
  mkdir_in("one", "h_5000_");
  mkdir_in("two", "a.io");
  mkdir_in("two", "b.io");
  free(unit_write(tmpdir, "one/file.io", "not a directory"));
  strv_push_owned(&dirs, xasprintf("%s/one", tmpdir));
  strv_push_owned(&dirs, xasprintf("%s/missing", tmpdir));
  strv_push_owned(&dirs, xasprintf("%s/two", tmpdir));
  strv_push(&out, "first");
  probe_registries_in(&dirs, &out);
  ck_assert_uint_eq(out.n, 5);
  ck_assert_str_eq(out.v[0], "first");
  ck_assert_str_eq(out.v[1], "a.io");
  ck_assert_str_eq(out.v[2], "h:5000");
  ck_assert_str_eq(out.v[3], "z.io");
  ck_assert_str_eq(out.v[4], "b.io");
  unit_tmpdir_remove(tmpdir);
}
END_TEST

START_TEST(test_verdict)
{
  struct registry_probe p = {0};
  struct probe_registry c = {0};
  struct probe_endpoint eps[3] = {0};
  struct registry_ep e = {.base = (char *)"https://m/v2", .ns = (char *)"r.io"};
  cleanup_free char *url = probe_ep_url(&e);
  cleanup_free char *url2 = NULL;

  ck_assert_str_eq(probe_verdict(&p), "dead");
  p.alive = true;
  p.latency_ms = PROBE_SLOW_MS;
  ck_assert_str_eq(probe_verdict(&p), "ok");
  p.latency_ms = PROBE_SLOW_MS + 1;
  ck_assert_str_eq(probe_verdict(&p), "slow");
  eps[0].res.alive = true;
  eps[2].res.alive = true;
  c.eps = eps;
  c.n_eps = 3;
  ck_assert_uint_eq(probe_answering(&c), 2);
  ck_assert_str_eq(url, "https://m/v2?ns=r.io");
  e.ns = NULL;
  url2 = probe_ep_url(&e);
  ck_assert_str_eq(url2, "https://m/v2");
}
END_TEST

/* A registry that does not resolve keeps why, and has no endpoint. */
START_TEST(test_registry_init_error)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  struct probe_registry c;

  unit_tmpdir_make(tmpdir);
  mkdir_in("r.io", NULL);
  free(unit_write(tmpdir, "r.io/hosts.toml", "server = [\n"));
  strv_push(&dirs, tmpdir);
  probe_registry_init(&c, "r.io", &dirs, NULL);
  ck_assert_ptr_nonnull(c.error);
  ck_assert_uint_eq(c.n_eps, 0);
  probe_registry_release(&c);
  probe_registry_init(&c, "other.io", &dirs, &(struct endpoints_opts){.plain_http = true});
  ck_assert_ptr_null(c.error);
  ck_assert_uint_eq(c.n_eps, 1);
  ck_assert_str_eq(c.eps[0].ep.base, "http://other.io/v2");
  probe_registry_release(&c);
  unit_tmpdir_remove(tmpdir);
}
END_TEST

Suite *
probe_suite(void)
{
  Suite *s = suite_create("probe");
  TCase *tc = tcase_create("probe");

  tcase_add_loop_test(tc, test_dir_registry, 0, ARRAY_SIZE(dir_names));
  tcase_add_test(tc, test_registries_in);
  tcase_add_test(tc, test_verdict);
  tcase_add_test(tc, test_registry_init_error);
  suite_add_tcase(s, tc);
  return s;
}
