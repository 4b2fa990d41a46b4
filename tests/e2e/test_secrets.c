/* One sweep for every secret ctrx is given: credentials (--user, Docker's
 * config.json), hosts.toml header values and user information in host URLs
 * are planted together, then every output of every command that sees them is
 * searched: stdout, stderr and the --debug log of a pull that works, one that
 * fails and a dry run; `hosts`, `hosts check`, `hosts check --json`; the exec
 * line of a pull handed to ctr; and the endpoint state file, which a failing
 * mirror writes to. The test bed's registry asks for no credentials, so they
 * are offered to it (config.json) and would show wherever they leaked. */
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

Suite *secrets_suite(void);

/* Each planted value is unique to this file, so a hit can only be a leak. */
static const char *const planted[] = {
    "SwPass-user-flag-91",             /* --user's password */
    "SwPass-config-92",                /* config.json password */
    "U3dVc2VyOlN3UGFzcy1jb25maWctOTI", /* base64("SwUser:SwPass-config-92"), unpadded */
    "SwHdr-token-93",                  /* hosts.toml [header] value */
    "SwHdr-mirror-94",                 /* a mirror's header value */
    "SwInfo-mirror-95",                /* user information of a mirror URL */
    "SwInfo-server-96",                /* user information of the server URL */
};

static void
assert_no_secret(const char *what, const char *text)
{
  for (size_t i = 0; i < ARRAY_SIZE(planted); i++)
    ck_assert_msg(strstr(text, planted[i]) == NULL, "%s shows the planted %s:\n%.2000s", what,
                  planted[i], text);
}

static void
assert_outputs_clean(const char *what, const struct e2e_out *o)
{
  cleanup_free char *out = xasprintf("%s (stdout)", what);
  cleanup_free char *err = xasprintf("%s (stderr)", what);
  assert_no_secret(out, o->out);
  assert_no_secret(err, o->err);
}

START_TEST(every_output_keeps_the_planted_secrets)
{
  cleanup_free char *d = xasprintf("%s/secrets-%d", e2e_env("CTRX_TEST_ROOT"), (int)getpid());
  cleanup_free char *ns = e2e_namespace("secrets");
  cleanup_free char *env = NULL;
  cleanup_e2e_out struct e2e_out w = {0}, o = {0}, st = {0};
  cleanup_free char *tb = e2e_testbed();
  /* An image of this test's own: its blobs are in the daemon from no other
   * test (content is shared across namespaces), so the first pull fetches
   * them, and the --debug log of those requests is searched too. */
  cleanup_free char *img = xasprintf("$REG/secrets/unique-%d:v1", (int)getpid());

  /* hosts.toml for the test registry: a dead mirror with user information
   * and a header, then the registry itself as the server, with user
   * information and a header of its own; config.json with a password. */
  ck_assert_msg(
      e2e_sh(&w, NULL,
             "set -e; d=%1$s; r=$(echo $REG | sed 's/:\\([0-9]*\\)$/_\\1_/'); "
             "mkdir -p $d/hosts/$r $d/docker $d/state; "
             "printf 'server = \"http://SwUser:SwInfo-server-96@%%s\"\\n"
             "[header]\\n  X-Auth-Token = \"SwHdr-token-93\"\\n"
             "[host.\"http://SwUser:SwInfo-mirror-95@127.0.0.1:1\"]\\n"
             "  capabilities = [\"pull\", \"resolve\"]\\n"
             "  [host.\"http://SwUser:SwInfo-mirror-95@127.0.0.1:1\".header]\\n"
             "    X-Registry-Pass = \"SwHdr-mirror-94\"\\n' $REG > $d/hosts/$r/hosts.toml; "
             "printf '{\"auths\": {\"%%s\": {\"auth\": \"%%s\"}}}\\n' $REG "
             "\"$(printf SwUser:SwPass-config-92 | base64 -w0)\" > $d/docker/config.json",
             d) == 0,
      "%s", w.err);
  env = xasprintf("DOCKER_CONFIG=%1$s/docker CTRX_STATE_DIR=%1$s/state", d);
  ck_assert_msg(e2e_sh(&w, NULL, "%s push-unique %s/unique $REG secrets/unique-%d v1", tb, d,
                       (int)getpid()) == 0,
                "push-unique: %s", w.err);

  /* a pull that works, through the dead mirror to the registry */
  ck_assert_msg(e2e_sh(&o, NULL, "%s $CTRX -a \"$ADDR\" -n %s --hosts-dir %s/hosts --debug pull %s",
                       env, ns, d, img) == 0,
                "%s", o.err);
  ck_assert_msg(strstr(o.err, "ctrx: registry GET") != NULL, "no --debug log:\n%s", o.err);
  assert_outputs_clean("pull --debug", &o);

  /* the same with --user, whose password is offered too */
  ck_assert_msg(e2e_sh(&o, NULL,
                       "%s $CTRX -a \"$ADDR\" -n %s --hosts-dir %s/hosts --debug pull "
                       "--user SwUser:SwPass-user-flag-91 %s",
                       env, ns, d, img) == 0,
                "%s", o.err);
  assert_outputs_clean("pull --debug --user", &o);

  /* a pull that fails, naming every endpoint it tried */
  ck_assert_int_eq(e2e_sh(&o, NULL,
                          "%s $CTRX -a \"$ADDR\" -n %s --hosts-dir %s/hosts --debug pull "
                          "--user SwUser:SwPass-user-flag-91 $REG/test/busybox:no-such-tag",
                          env, ns, d),
                   1);
  ck_assert_msg(strstr(o.err, "127.0.0.1:1") != NULL, "the error names no endpoint:\n%s", o.err);
  assert_outputs_clean("failed pull --debug", &o);

  ck_assert_msg(e2e_sh(&o, NULL,
                       "%s $CTRX -a \"$ADDR\" -n %s --hosts-dir %s/hosts --debug pull --dry-run "
                       "--user SwUser:SwPass-user-flag-91 %s",
                       env, ns, d, img) == 0,
                "%s", o.err);
  assert_outputs_clean("pull --dry-run", &o);

  ck_assert_msg(e2e_sh(&o, NULL, "%s $CTRX --hosts-dir %s/hosts --debug hosts $REG", env, d) == 0,
                "%s", o.err);
  ck_assert_msg(strstr(o.out, "header.X-Registry-Pass=<redacted>") != NULL, "%s", o.out);
  assert_outputs_clean("hosts", &o);

  /* the mirror is dead, the registry answers: exit 0 */
  ck_assert_msg(
      e2e_sh(&o, NULL, "%s $CTRX --hosts-dir %s/hosts --debug hosts check $REG", env, d) == 0, "%s",
      o.err);
  assert_outputs_clean("hosts check", &o);
  ck_assert_msg(e2e_sh(&o, NULL, "%s $CTRX --hosts-dir %s/hosts --debug hosts check --json $REG",
                       env, d) == 0,
                "%s", o.err);
  ck_assert_msg(strstr(o.out, "\"url\": \"http://127.0.0.1:1/v2\"") != NULL, "%s", o.out);
  assert_outputs_clean("hosts check --json", &o);

  /* a pull handed to ctr: the exec line --debug prints; the stand-in ctr
   * prints nothing itself */
  ck_assert_msg(e2e_sh(&o, NULL,
                       "%s CTRX_CTR=/bin/true $CTRX -a \"$ADDR\" -n %s --hosts-dir %s/hosts "
                       "--debug images pull --all-platforms --user SwUser:SwPass-user-flag-91 %s",
                       env, ns, d, img) == 0,
                "%s", o.err);
  ck_assert_msg(strstr(o.err, "--all-platforms") != NULL, "no exec line:\n%s", o.err);
  assert_outputs_clean("pull handed to ctr", &o);

  /* the dead mirror is remembered, by its URL without user information */
  ck_assert_int_eq(e2e_sh(&st, NULL, "cat %s/state/endpoints", d), 0);
  ck_assert_msg(strstr(st.out, "127.0.0.1:1") != NULL, "the failure was not kept:\n%s", st.out);
  assert_no_secret("the endpoint state file", st.out);
  e2e_clean_namespace(ns);
}
END_TEST

Suite *
secrets_suite(void)
{
  Suite *s = suite_create("secrets");
  TCase *t = tcase_create("secrets");

  tcase_set_timeout(t, 300);
  tcase_add_test(t, every_output_keeps_the_planted_secrets);
  suite_add_tcase(s, t);
  return s;
}
