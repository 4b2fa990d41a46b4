/* ctrx's own config file: keys, types, per-key overriding, CTRX_CONFIG. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"
#include "util.h"

Suite *config_suite(void);

static char tmpdir[] = "/tmp/ctrx-config-test-XXXXXX";

/* The tests change these; other suites in the same process must not notice. */
static const char *const saved_names[] = {"CTRX_CONFIG", "XDG_CONFIG_HOME", "HOME"};
static char *saved[ARRAY_SIZE(saved_names)];

static void
setup(void)
{
  for (size_t i = 0; i < ARRAY_SIZE(saved_names); i++) {
    const char *v = getenv(saved_names[i]);
    saved[i] = v ? xstrdup(v) : NULL;
  }
  unit_tmpdir_make(tmpdir);
  /* the machine's /etc/ctrx/config.toml is none of these tests' business */
  config_set_system_file("/nonexistent/etc/ctrx/config.toml");
}

static void
teardown(void)
{
  for (size_t i = 0; i < ARRAY_SIZE(saved_names); i++) {
    if (saved[i])
      setenv(saved_names[i], saved[i], 1);
    else
      unsetenv(saved_names[i]);
    free(saved[i]);
    saved[i] = NULL;
  }
  config_set_system_file(NULL);
  unit_tmpdir_remove(tmpdir);
}

static char *
write_tmp(const char *name, const char *text)
{
  return unit_write(tmpdir, name, text);
}

START_TEST(test_all_keys)
{
  cleanup_free char *path = write_tmp("c.toml", "namespace = \"k8s.io\"\n"
                                                "hosts_dir = [\"/a/certs.d\", \"/b\"]\n"
                                                "containerd_config = \"/etc/cd.toml\"\n"
                                                "ctr = \"/usr/bin/ctr\"\n"
                                                "unknown_key = 1 # ignored\n"
                                                "[mirror]\n"
                                                "connect_timeout = \"2s\"\n"
                                                "first_byte_timeout = \"1m30s\"\n"
                                                "stall_timeout = \"500ms\"\n");
  const char *paths[] = {path};
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  ck_assert_int_eq(config_load_paths(&cfg, paths, 1, &err), 0);
  ck_assert_str_eq(cfg.namespace, "k8s.io");
  ck_assert_uint_eq(cfg.hosts_dirs.n, 2);
  ck_assert_str_eq(cfg.hosts_dirs.v[0], "/a/certs.d");
  ck_assert_str_eq(cfg.hosts_dirs.v[1], "/b");
  ck_assert_str_eq(cfg.containerd_config, "/etc/cd.toml");
  ck_assert_str_eq(cfg.ctr, "/usr/bin/ctr");
  ck_assert_int_eq(cfg.connect_timeout_ms, 2000);
  ck_assert_int_eq(cfg.first_byte_timeout_ms, 90000);
  ck_assert_int_eq(cfg.stall_timeout_ms, 500);
  ck_assert_uint_eq(cfg.files.n, 1);
  ck_assert_str_eq(cfg.files.v[0], path);
  config_release(&cfg);
}
END_TEST

START_TEST(test_override_per_key)
{
  cleanup_free char *sys = write_tmp("sys.toml", "namespace = \"a\"\nctr = \"/x/ctr\"\n"
                                                 "hosts_dir = [\"/1\", \"/2\"]\n"
                                                 "[mirror]\nconnect_timeout = \"1s\"\n"
                                                 "stall_timeout = \"9s\"\n");
  cleanup_free char *user = write_tmp("user.toml", "namespace = \"b\"\nhosts_dir = \"/3\"\n"
                                                   "mirror.stall_timeout = \"3s\"\n");
  cleanup_free char *missing = xasprintf("%s/missing.toml", tmpdir);
  const char *paths[] = {sys, missing, user};
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  ck_assert_int_eq(config_load_paths(&cfg, paths, 3, &err), 0);
  ck_assert_str_eq(cfg.namespace, "b");
  ck_assert_str_eq(cfg.ctr, "/x/ctr");
  ck_assert_uint_eq(cfg.hosts_dirs.n, 1);
  ck_assert_str_eq(cfg.hosts_dirs.v[0], "/3");
  ck_assert_int_eq(cfg.connect_timeout_ms, 1000);
  ck_assert_int_eq(cfg.stall_timeout_ms, 3000);
  ck_assert_int_eq(cfg.first_byte_timeout_ms, -1);
  ck_assert_ptr_null(cfg.containerd_config);
  ck_assert_uint_eq(cfg.files.n, 2);
  ck_assert_str_eq(cfg.files.v[1], user);
  config_release(&cfg);
}
END_TEST

static const struct {
  const char *text;
  const char *want; /* after "ctrx config: <file>" */
} bad[] = {
    {"namespace = 1\n", ":1:13: namespace must be a string, not integer"},
    {"namespace = \"\"\n", ":1:13: namespace must not be empty or hold NUL characters"},
    {"hosts_dir = true\n", ":1:13: hosts_dir must be a string or an array of strings, not boolean"},
    {"hosts_dir = [\"/a\", 2]\n", ":1:20: hosts_dir must be a string, not integer"},
    {"ctr = [\"x\"]\n", ":1:7: ctr must be a string, not array"},
    {"containerd_config = {}\n", ":1:21: containerd_config must be a string, not table"},
    {"mirror = 5\n", ":1:10: mirror must be a table, not integer"},
    {"[mirror]\nconnect_timeout = 5\n",
     ":2:19: mirror.connect_timeout must be a string, not integer"},
    {"[mirror]\nstall_timeout = \"5 s\"\n",
     ":2:17: mirror.stall_timeout: invalid duration \"5 s\" (want e.g. \"5s\", \"500ms\")"},
    {"[mirror]\nfirst_byte_timeout = \"-1s\"\n",
     ":2:22: mirror.first_byte_timeout: invalid duration \"-1s\" (want e.g. \"5s\", \"500ms\")"},
    {"namespace = \"a\"\nnamespace = \"b\"\n",
     ":2:1: duplicate key namespace (first defined at line 1)"},
    {"[mirror\n", ":1:8: expected ']' closing the table header, found end of line"},
};

START_TEST(test_bad)
{
  cleanup_free char *path = write_tmp("bad.toml", bad[_i].text);
  cleanup_free char *want = xasprintf("ctrx config: %s%s", path, bad[_i].want);
  const char *paths[] = {path};
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  ck_assert_int_lt(config_load_paths(&cfg, paths, 1, &err), 0);
  ck_assert_str_eq(err->msg, want);
  /* nothing is left allocated after a failure */
  ck_assert_ptr_null(cfg.namespace);
  ck_assert_uint_eq(cfg.files.n, 0);
}
END_TEST

START_TEST(test_env_names_only_file)
{
  cleanup_free char *path = write_tmp("env.toml", "namespace = \"from-env\"\n");
  cleanup_free char *xdg = xasprintf("%s/xdg", tmpdir);
  cleanup_free char *xdgdir = xasprintf("%s/xdg/ctrx", tmpdir);
  cleanup_free char *xdgfile = NULL;
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  ck_assert_int_eq(mkdir(xdg, 0755), 0);
  ck_assert_int_eq(mkdir(xdgdir, 0755), 0);
  xdgfile = write_tmp("xdg/ctrx/config.toml", "namespace = \"from-xdg\"\nctr = \"/xdg/ctr\"\n");
  setenv("XDG_CONFIG_HOME", xdg, 1);

  setenv("CTRX_CONFIG", path, 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "from-env");
  ck_assert_ptr_null(cfg.ctr);
  ck_assert_uint_eq(cfg.files.n, 1);
  config_release(&cfg);

  /* set but empty: no file at all */
  setenv("CTRX_CONFIG", "", 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_ptr_null(cfg.namespace);
  ck_assert_uint_eq(cfg.files.n, 0);
  config_release(&cfg);

  /* a missing file named by CTRX_CONFIG is not an error */
  setenv("CTRX_CONFIG", "/nonexistent/ctrx.toml", 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_uint_eq(cfg.files.n, 0);
  config_release(&cfg);

  /* unset: /etc/ctrx/config.toml (if any), then $XDG_CONFIG_HOME/ctrx/config.toml */
  unsetenv("CTRX_CONFIG");
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "from-xdg");
  ck_assert_str_eq(cfg.ctr, "/xdg/ctr");
  ck_assert_str_eq(cfg.files.v[cfg.files.n - 1], xdgfile);
  config_release(&cfg);
}
END_TEST

START_TEST(test_home_fallback)
{
  cleanup_free char *dot = xasprintf("%s/.config", tmpdir);
  cleanup_free char *dir = xasprintf("%s/.config/ctrx", tmpdir);
  cleanup_free char *file = NULL;
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  ck_assert_int_eq(mkdir(dot, 0755), 0);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  file = write_tmp(".config/ctrx/config.toml", "namespace = \"home\"\n");
  unsetenv("CTRX_CONFIG");
  unsetenv("XDG_CONFIG_HOME");
  setenv("HOME", tmpdir, 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "home");
  ck_assert_uint_gt(cfg.files.n, 0);
  ck_assert_str_eq(cfg.files.v[cfg.files.n - 1], file);
  config_release(&cfg);

  /* a relative XDG_CONFIG_HOME is ignored */
  setenv("XDG_CONFIG_HOME", "relative", 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "home");
  config_release(&cfg);
}
END_TEST

/* The system file comes first, the user's overrides it key by key, and
 * CTRX_CONFIG replaces both. */
START_TEST(test_system_file)
{
  cleanup_free char *sys = write_tmp("system.toml", "namespace = \"from-system\"\n"
                                                    "ctr = \"/system/ctr\"\n"
                                                    "hosts_dir = \"/system/certs.d\"\n");
  cleanup_free char *xdg = xasprintf("%s/xdg", tmpdir);
  cleanup_free char *xdgdir = xasprintf("%s/xdg/ctrx", tmpdir);
  cleanup_free char *user = NULL;
  cleanup_free char *only = write_tmp("only.toml", "ctr = \"/only/ctr\"\n");
  cleanup_error struct error *err = NULL;
  struct ctrx_config cfg;

  unsetenv("CTRX_CONFIG");
  ck_assert_int_eq(mkdir(xdg, 0755), 0);
  setenv("XDG_CONFIG_HOME", xdg, 1);
  config_set_system_file(sys);

  /* the system file alone, while the user has none */
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "from-system");
  ck_assert_str_eq(cfg.ctr, "/system/ctr");
  ck_assert_uint_eq(cfg.hosts_dirs.n, 1);
  ck_assert_str_eq(cfg.hosts_dirs.v[0], "/system/certs.d");
  ck_assert_uint_eq(cfg.files.n, 1);
  ck_assert_str_eq(cfg.files.v[0], sys);
  config_release(&cfg);

  /* then the user's, key by key */
  ck_assert_int_eq(mkdir(xdgdir, 0755), 0);
  user = write_tmp("xdg/ctrx/config.toml", "namespace = \"from-user\"\n");
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "from-user");
  ck_assert_str_eq(cfg.ctr, "/system/ctr");
  ck_assert_uint_eq(cfg.files.n, 2);
  ck_assert_str_eq(cfg.files.v[0], sys);
  ck_assert_str_eq(cfg.files.v[1], user);
  config_release(&cfg);

  /* CTRX_CONFIG: that file only */
  setenv("CTRX_CONFIG", only, 1);
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_ptr_null(cfg.namespace);
  ck_assert_str_eq(cfg.ctr, "/only/ctr");
  ck_assert_uint_eq(cfg.files.n, 1);
  config_release(&cfg);
  unsetenv("CTRX_CONFIG");

  /* a broken system file is an error naming it */
  cleanup_free char *broken = write_tmp("broken.toml", "namespace = \n");
  config_set_system_file(broken);
  ck_assert_int_lt(config_load(&cfg, &err), 0);
  ck_assert_msg(strstr(err->msg, "broken.toml") != NULL, "%s", err->msg);
  /* a missing one is not */
  error_free(err);
  err = NULL;
  config_set_system_file("/nonexistent/ctrx/config.toml");
  ck_assert_int_eq(config_load(&cfg, &err), 0);
  ck_assert_str_eq(cfg.namespace, "from-user");
  ck_assert_uint_eq(cfg.files.n, 1);
  config_release(&cfg);
}
END_TEST

START_TEST(test_release_twice)
{
  struct ctrx_config cfg;
  const char *none[] = {"/nonexistent/a.toml"};
  cleanup_error struct error *err = NULL;

  ck_assert_int_eq(config_load_paths(&cfg, none, 1, &err), 0);
  ck_assert_int_eq(cfg.connect_timeout_ms, -1);
  config_release(&cfg);
  config_release(&cfg);
}
END_TEST

/* Settings: a flag, then the environment, then the ctrx config, then the
 * default; an empty value counts as unset. */
static const struct {
  const char *flag, *env, *cfg, *def, *want;
} picks[] = {
    {"f", "e", "c", "d", "f"},   {NULL, "e", "c", "d", "e"}, {"", "e", "c", "d", "e"},
    {NULL, NULL, "c", "d", "c"}, {NULL, "", "", "d", "d"},   {NULL, NULL, NULL, NULL, NULL},
};

START_TEST(test_precedence)
{
  const char *got = config_pick(picks[_i].flag, picks[_i].env, picks[_i].cfg, picks[_i].def);

  if (picks[_i].want == NULL)
    ck_assert_ptr_null(got);
  else
    ck_assert_str_eq(got, picks[_i].want);
}
END_TEST

static const char *
fake_env(const char *name)
{
  static const char *const vars[][2] = {
      {"CONTAINERD_ADDRESS", "/a.sock"}, {"CONTAINERD_NAMESPACE", "ns"},
      {"CONTAINERD_SNAPSHOTTER", ""},    {"CTRX_CTR", "/bin/ctr"},
      {"CTRX_CONTAINERD_CONFIG", "/c"},  {"PATH", "/p"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
    if (strcmp(vars[i][0], name) == 0)
      return vars[i][1];
  return NULL;
}

START_TEST(test_read_env)
{
  struct ctrx_env env;

  config_read_env(&env, fake_env);
  ck_assert_str_eq(env.address, "/a.sock");
  ck_assert_str_eq(env.namespace, "ns");
  ck_assert_str_eq(env.snapshotter, "");
  ck_assert_ptr_null(env.no_expand);
  ck_assert_str_eq(env.ctr, "/bin/ctr");
  ck_assert_str_eq(env.containerd_config, "/c");
  ck_assert_str_eq(env.path, "/p");
}
END_TEST

Suite *
config_suite(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("load");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_all_keys);
  tcase_add_test(tc, test_override_per_key);
  tcase_add_loop_test(tc, test_bad, 0, ARRAY_SIZE(bad));
  tcase_add_test(tc, test_env_names_only_file);
  tcase_add_test(tc, test_home_fallback);
  tcase_add_test(tc, test_release_twice);
  tcase_add_test(tc, test_system_file);
  tcase_add_loop_test(tc, test_precedence, 0, ARRAY_SIZE(picks));
  tcase_add_test(tc, test_read_env);
  suite_add_tcase(s, tc);
  return s;
}
