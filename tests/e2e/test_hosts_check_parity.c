/* `ctrx hosts check` judges an endpoint as the pull that uses it: with the
 * same ctr flags (--plain-http, --skip-verify) it asks the same URL with the
 * same TLS settings, so an endpoint it calls alive is one that pull takes,
 * and one it calls dead is one that pull cannot use.
 *
 * Two registries: the test bed's plain HTTP one named "0.0.0.0:PORT" (no
 * localhost name, so its built-in endpoint is https unless --plain-http),
 * and secure-registries' TLS one behind a hosts.toml without its CA (trusted
 * only with --skip-verify). */
#include <jansson.h>

#include "e2e.h"
#include "util.h"

static char *secure_dir;

static void
secure_setup(void)
{
  secure_dir = e2e_secure_start("hosts-check-parity");
}

static void
secure_teardown(void)
{
  e2e_secure_stop(&secure_dir);
}

static const struct {
  bool tls;          /* the TLS registry (else the plain HTTP one as 0.0.0.0:PORT) */
  const char *flags; /* given to both pull and hosts check */
  bool works;        /* the pull succeeds */
} cases[] = {
    {false, "", false},
    {false, "--plain-http", true},
    {true, "", false},
    {true, "--skip-verify", true},
};

/* The registry host of case i and a hosts directory for it. */
static void
case_registry(size_t i, char **reg, char **image, char **dir)
{
  cleanup_e2e_out struct e2e_out o = {0};

  *dir = xasprintf("%s/hosts-%zu", secure_dir, i);
  if (cases[i].tls) {
    *reg = xstrdup(e2e_env("SECURE_TLS"));
    *image = xasprintf("%s/secure/busybox:v1", *reg);
    /* https, and no CA: the private certificate is not trusted */
    ck_assert_int_eq(e2e_sh(&o, NULL,
                            "mkdir -p '%1$s/%2$s' && "
                            "printf 'server = \"https://%2$s\"\\n' >'%1$s/%2$s/hosts.toml'",
                            *dir, *reg),
                     0);
  } else {
    const char *colon = strrchr(e2e_env("CTRX_TEST_REGISTRY"), ':');
    ck_assert_ptr_nonnull(colon);
    *reg = xasprintf("0.0.0.0%s", colon);
    *image = xasprintf("%s/test/busybox:oci", *reg);
    ck_assert_int_eq(e2e_sh(&o, NULL, "mkdir -p '%s'", *dir), 0);
  }
}

START_TEST(check_judges_as_pull)
{
  cleanup_free char *ns = e2e_namespace("check-parity");
  cleanup_free char *reg = NULL, *image = NULL, *dir = NULL;
  cleanup_e2e_out struct e2e_out c = {0};
  cleanup_e2e_out struct e2e_out p = {0};
  json_t *root = NULL, *ep = NULL;
  json_error_t jerr;
  const char *url, *status;
  int crc, prc;

  case_registry((size_t)_i, &reg, &image, &dir);
  crc =
      e2e_sh(&c, NULL, "$CTRX --hosts-dir %s hosts check --json %s %s", dir, cases[_i].flags, reg);
  prc = e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull %s %s", ns, dir,
               cases[_i].flags, image);
  ck_assert_msg(prc == (cases[_i].works ? 0 : 1), "pull %s %s: %d\n%s%s", cases[_i].flags, image,
                prc, p.out, p.err);
  ck_assert_msg(crc == prc, "hosts check %s %s: %d, pull: %d\n%s%s", cases[_i].flags, reg, crc, prc,
                c.out, c.err);
  root = json_loads(c.out, 0, &jerr);
  ck_assert_msg(root != NULL, "hosts check --json: %s\n%s", jerr.text, c.out);
  ep = json_array_get(
      json_object_get(json_array_get(json_object_get(root, "registries"), 0), "endpoints"), 0);
  url = json_string_value(json_object_get(ep, "url"));
  status = json_string_value(json_object_get(ep, "status"));
  ck_assert_msg(url != NULL && status != NULL, "%s", c.out);
  if (cases[_i].works) {
    /* the endpoint check found alive is the one the pull came from */
    cleanup_free char *from = xasprintf(" from %s ", url);
    ck_assert_msg(strcmp(status, "dead") != 0, "%s", c.out);
    ck_assert_msg(strstr(p.out, from) != NULL, "check: %s\npull: %s", url, p.out);
    e2e_clean_namespace(ns);
  } else {
    ck_assert_str_eq(status, "dead");
    e2e_assert_nothing_left(ns);
  }
  if (cases[_i].tls && cases[_i].works)
    ck_assert_str_eq(json_string_value(json_object_get(ep, "tls")), "not verified (skip_verify)");
  if (!cases[_i].tls)
    ck_assert_msg(str_has_prefix(url, cases[_i].works ? "http://0.0.0.0:" : "https://0.0.0.0:"),
                  "%s", url);
  json_decref(root);
}
END_TEST

Suite *
hosts_check_parity_suite(void)
{
  Suite *s = suite_create("hosts_check_parity");
  TCase *t = tcase_create("parity");

  tcase_set_timeout(t, 60);
  tcase_add_unchecked_fixture(t, secure_setup, secure_teardown);
  tcase_add_loop_test(t, check_judges_as_pull, 0, (int)ARRAY_SIZE(cases));
  suite_add_tcase(s, t);
  return s;
}
