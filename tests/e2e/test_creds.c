/* Credentials as real nodes hold them, against the registries of
 * tests/testbed/secure-registries (htpasswd Basic auth; Bearer tokens from
 * tokensrv.c, which also speaks the OAuth2 POST and can be made to refuse
 * GET or POST): credential helpers (tests/testbed/docker-credential-ctrxtest,
 * which counts its calls, and can hang or fail) named by credHelpers for a
 * mirror or by credsStore; an identity token; a realm that takes only POST;
 * `ctrx login` and `ctrx logout` round trips; `hosts check` naming where the
 * credentials come from. Every output, --debug logs included, is searched
 * for the secrets: the password, it in base64, the refresh token, any token
 * issued. Tags: token v1 mirror helper, v2 identity token, v3 POST-only,
 * v4 GET-only; basic v1 credsStore, v2 login. */
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

Suite *creds_suite(void);

static char *secure_dir;
static char *helpers; /* the directory of docker-credential-ctrxtest */

static void
creds_setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0};

  secure_dir = e2e_secure_start("creds");
  ck_assert_int_eq(e2e_sh(&o, NULL, E2E_AT_TOP "pwd"), 0);
  o.out[strcspn(o.out, "\n")] = '\0';
  helpers = xasprintf("%s/tests/testbed", o.out);
  setenv("HELPERS", helpers, 1);
}

static void
creds_teardown(void)
{
  e2e_secure_stop(&secure_dir);
  free(helpers);
}

/* A directory of its own for a test: DIR/config.json holds CONFIG (NULL:
 * no file), DIR/helper the helper's state. Returns DIR. */
static char *
case_dir(const char *name, const char *config)
{
  char *dir = xasprintf("%s/case-%s", secure_dir, name);
  cleanup_free char *cmd = xasprintf("rm -rf %1$s && mkdir -p %1$s/helper", dir);
  cleanup_e2e_out struct e2e_out o = {0};

  ck_assert_int_eq(e2e_sh(&o, NULL, "%s", cmd), 0);
  if (config != NULL) {
    cleanup_free char *path = xasprintf("%s/config.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(config, f);
    ck_assert_int_eq(fclose(f), 0);
  }
  return dir;
}

/* The environment of a command of the test in DIR. */
#define ENV_FMT "DOCKER_CONFIG=%1$s CTRXTEST_DIR=%1$s/helper PATH=\"$HELPERS:$PATH\" "

static char *
read_text(const char *path)
{
  struct buf b = BUF_INIT;
  if (read_file(path, 1 << 20, &b) < 0)
    buf_addstr(&b, "");
  return buf_steal(&b);
}

/* The helper's calls so far, one "<verb> <url>" line each. */
static char *
helper_calls(const char *dir)
{
  cleanup_free char *p = xasprintf("%s/helper/calls", dir);
  return read_text(p);
}

static size_t
count(const char *text, const char *what)
{
  size_t n = 0;
  for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
    n++;
  return n;
}

/* The helper holds USER:PASSWORD of the secure registries for URL. */
static void
helper_holds(const char *dir, const char *url)
{
  cleanup_e2e_out struct e2e_out o = {0};
  ck_assert_msg(e2e_sh(&o, NULL,
                       "printf '{\"ServerURL\":\"%2$s\",\"Username\":\"%%s\",\"Secret\":\"%%s\"}' "
                       "\"$SECURE_USER\" \"$SECURE_PASS\" | CTRXTEST_DIR=%1$s/helper "
                       "$HELPERS/docker-credential-ctrxtest store && rm %1$s/helper/calls",
                       dir, url) == 0,
                "%s", o.err);
}

static void
helper_mode(const char *dir, const char *mode)
{
  cleanup_e2e_out struct e2e_out o = {0};
  ck_assert_int_eq(e2e_sh(&o, NULL, "echo %s > %s/helper/mode", mode, dir), 0);
}

static void
token_mode(const char *mode)
{
  cleanup_e2e_out struct e2e_out o = {0};
  ck_assert_int_eq(e2e_sh(&o, NULL, "echo %s > \"$SECURE_TOKEN_MODE\"", mode), 0);
}

static char *
token_log(void)
{
  return read_text(e2e_env("SECURE_TOKEN_LOG"));
}

/* No secret in TEXT: the password, user:password in base64, the refresh
 * token, nor any token the token server issued. */
static void
assert_no_secret(const char *what, const char *text)
{
  cleanup_e2e_out struct e2e_out enc = {0};
  cleanup_free char *log = token_log();
  char *b64;

  ck_assert_msg(strstr(text, e2e_env("SECURE_PASS")) == NULL, "%s shows the password:\n%s", what,
                text);
  ck_assert_msg(strstr(text, e2e_env("SECURE_REFRESH")) == NULL, "%s shows the refresh token:\n%s",
                what, text);
  e2e_sh(&enc, NULL, "printf '%%s:%%s' \"$SECURE_USER\" \"$SECURE_PASS\" | base64 -w0");
  b64 = enc.out;
  b64[strcspn(b64, "=")] = '\0';
  ck_assert_int_gt(strlen(b64), 8);
  ck_assert_msg(strstr(text, b64) == NULL, "%s shows base64 credentials:\n%s", what, text);
  for (char *t = strstr(log, "token="); t != NULL; t = strstr(t, "token=")) {
    cleanup_free char *tok = NULL;
    char *sig;
    t += 6;
    tok = xstrndup(t, strcspn(t, "\n"));
    sig = strrchr(tok, '.');
    ck_assert_ptr_nonnull(sig);
    ck_assert_msg(strstr(text, sig + 1) == NULL, "%s shows a token:\n%s", what, text);
  }
}

static void
assert_clean(const char *what, const struct e2e_out *o)
{
  assert_no_secret(what, o->out);
  assert_no_secret(what, o->err);
}

/* The image NS holds is IMAGE at DIGEST. */
static void
assert_image(const char *ns, const char *image, const char *digest)
{
  cleanup_e2e_out struct e2e_out l = {0};
  cleanup_free char *want = xasprintf("%s %s\n", image, digest);

  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls | awk 'NR > 1 {print $1, $3}'", ns);
  ck_assert_str_eq(l.out, want);
  e2e_assert_no_lease(ns);
}

static char *
image_at(const char *registry_var, const char *tag)
{
  return xasprintf("%s/%s:%s", e2e_env(registry_var), e2e_env("SECURE_REPO"), tag);
}

/* A hosts dir for the test bed's anonymous registry $REG whose mirror is
 * the token registry: secure/busybox exists only on the mirror. */
static char *
mirror_hosts(const char *dir)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *hosts = xasprintf("%s/hosts", dir);

  ck_assert_msg(e2e_sh(&o, NULL,
                       "r=$(echo $REG | sed 's/:\\([0-9]*\\)$/_\\1_/'); mkdir -p %1$s/$r && "
                       "printf 'server = \"http://%%s\"\\n[host.\"http://%%s\"]\\n"
                       "  capabilities = [\"pull\", \"resolve\"]\\n' $REG \"$SECURE_TOKEN\" "
                       "> %1$s/$r/hosts.toml",
                       hosts) == 0,
                "%s", o.err);
  return hosts;
}

/* --- credential helpers --- */

/* credHelpers names the helper for the mirror only: the mirror's
 * credentials come from it, asked once for the whole pull; the upstream
 * is asked anonymously, and the helper never for it. */
START_TEST(mirror_helper_upstream_anonymous)
{
  cleanup_free char *ns = e2e_namespace("creds-mirror");
  cleanup_free char *cfg =
      xasprintf("{\"credHelpers\": {\"%s\": \"ctrxtest\"}}", e2e_env("SECURE_TOKEN"));
  cleanup_free char *dir = case_dir("mirror", cfg);
  cleanup_free char *hosts = mirror_hosts(dir);
  cleanup_free char *img = xasprintf("%s/secure/busybox:v1", e2e_env("REG"));
  cleanup_free char *calls = NULL, *log = NULL, *want = NULL;
  cleanup_e2e_out struct e2e_out p = {0}, c = {0};

  helper_holds(dir, e2e_env("SECURE_TOKEN"));
  ck_assert_msg(e2e_sh(&p, NULL,
                       ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s --hosts-dir %3$s --debug pull %4$s", dir,
                       ns, hosts, img) == 0,
                "%s%s", p.out, p.err);
  assert_image(ns, img, e2e_env("SECURE_DIGEST_TOKEN_V1"));
  calls = helper_calls(dir);
  want = xasprintf("get %s\n", e2e_env("SECURE_TOKEN"));
  ck_assert_msg(strcmp(calls, want) == 0, "one call for the mirror, none else: %s", calls);
  /* the token came by POST, for the user */
  log = token_log();
  ck_assert_msg(strstr(log, "POST user scope=repository:secure/busybox:pull token=") != NULL, "%s",
                log);
  assert_clean("pull through a mirror with a helper", &p);

  /* hosts check says where each endpoint's credentials come from, asking no helper */
  ck_assert_msg(e2e_sh(&c, NULL, ENV_FMT "$CTRX --hosts-dir %2$s hosts check $REG", dir, hosts) ==
                    0,
                "%s%s", c.out, c.err);
  ck_assert_msg(strstr(c.out, "credentials: helper docker-credential-ctrxtest (credHelpers)") !=
                    NULL,
                "%s", c.out);
  ck_assert_msg(strstr(c.out, "credentials: none") != NULL, "%s", c.out);
  assert_clean("hosts check", &c);
  ck_assert_int_eq(
      e2e_sh(&c, NULL, ENV_FMT "$CTRX --hosts-dir %2$s hosts check --json $REG", dir, hosts), 0);
  ck_assert_msg(strstr(c.out, "\"credentials\": \"helper docker-credential-ctrxtest "
                              "(credHelpers)\"") != NULL,
                "%s", c.out);
  free(calls);
  calls = helper_calls(dir);
  ck_assert_str_eq(calls, want);
  e2e_clean_namespace(ns);
}
END_TEST

START_TEST(creds_store)
{
  cleanup_free char *ns = e2e_namespace("creds-store");
  cleanup_free char *cfg =
      xasprintf("{\"credsStore\": \"ctrxtest\", \"auths\": {\"%s\": {}}}", e2e_env("SECURE_BASIC"));
  cleanup_free char *dir = case_dir("store", cfg);
  cleanup_free char *img = image_at("SECURE_BASIC", "v1");
  cleanup_free char *calls = NULL, *want = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  helper_holds(dir, e2e_env("SECURE_BASIC"));
  ck_assert_msg(
      e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s --debug pull %3$s", dir, ns, img) == 0,
      "%s%s", p.out, p.err);
  assert_image(ns, img, e2e_env("SECURE_DIGEST_BASIC_V1"));
  calls = helper_calls(dir);
  want = xasprintf("get %s\n", e2e_env("SECURE_BASIC"));
  ck_assert_msg(strcmp(calls, want) == 0, "one call: %s", calls);
  assert_clean("pull with credsStore", &p);
  e2e_clean_namespace(ns);
}
END_TEST

/* A helper that never answers is killed at its deadline (10 s), and the
 * error names it. */
START_TEST(helper_hangs)
{
  cleanup_free char *ns = e2e_namespace("creds-hang");
  cleanup_free char *cfg =
      xasprintf("{\"credHelpers\": {\"%s\": \"ctrxtest\"}}", e2e_env("SECURE_BASIC"));
  cleanup_free char *dir = case_dir("hang", cfg);
  cleanup_free char *img = image_at("SECURE_BASIC", "v3");
  cleanup_e2e_out struct e2e_out p = {0};
  int64_t t0;

  helper_mode(dir, "hang");
  t0 = now_ms();
  ck_assert_int_eq(e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s pull %3$s", dir, ns, img),
                   1);
  /* the deadline is the feature; the margin is for a loaded machine */
  ck_assert_int_lt(now_ms() - t0, 40000);
  ck_assert_msg(strstr(p.err, "credential helper docker-credential-ctrxtest get: no answer within "
                              "10000 ms: killed") != NULL,
                "%s", p.err);
  ck_assert_msg(strchr(p.err, '\n') == p.err + strlen(p.err) - 1, "one line: %s", p.err);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* A helper that fails: its exit status and the first line of what it said,
 * never its second line, which holds the secret. */
START_TEST(helper_fails)
{
  cleanup_free char *ns = e2e_namespace("creds-fail");
  cleanup_free char *cfg =
      xasprintf("{\"credHelpers\": {\"%s\": \"ctrxtest\"}}", e2e_env("SECURE_BASIC"));
  cleanup_free char *dir = case_dir("fail", cfg);
  cleanup_free char *img = image_at("SECURE_BASIC", "v3");
  cleanup_e2e_out struct e2e_out p = {0};

  helper_holds(dir, e2e_env("SECURE_BASIC"));
  helper_mode(dir, "fail");
  ck_assert_int_eq(
      e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s --debug pull %3$s", dir, ns, img), 1);
  ck_assert_msg(strstr(p.err, "credential helper docker-credential-ctrxtest get: exit status 3: "
                              "ctrxtest: the keyring is locked (try unlocking it)") != NULL,
                "%s", p.err);
  assert_clean("pull with a failing helper", &p);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* --- the token flow --- */

/* An identity token (an OAuth2 refresh token) is exchanged by POST with
 * grant_type=refresh_token, and written nowhere. */
START_TEST(identity_token)
{
  cleanup_free char *ns = e2e_namespace("creds-idt");
  cleanup_free char *cfg = xasprintf("{\"auths\": {\"%s\": {\"identitytoken\": \"%s\"}}}",
                                     e2e_env("SECURE_TOKEN"), e2e_env("SECURE_REFRESH"));
  cleanup_free char *dir = case_dir("idt", cfg);
  cleanup_free char *img = image_at("SECURE_TOKEN", "v2");
  cleanup_free char *log = NULL, *path = xasprintf("%s/config.json", dir), *after = NULL;
  cleanup_e2e_out struct e2e_out p = {0}, f = {0};

  ck_assert_msg(
      e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s --debug pull %3$s", dir, ns, img) == 0,
      "%s%s", p.out, p.err);
  assert_image(ns, img, e2e_env("SECURE_DIGEST_TOKEN_V2"));
  log = token_log();
  ck_assert_msg(strstr(log, "POST refresh scope=repository:secure/busybox:pull token=") != NULL,
                "%s", log);
  assert_clean("pull with an identity token", &p);
  /* config.json as it was, and the refresh token in no other file of ours */
  after = read_text(path);
  ck_assert_str_eq(after, cfg);
  e2e_sh(&f, NULL,
         "grep -rl \"$SECURE_REFRESH\" %s \"$CTRX_STATE_DIR\" 2>/dev/null | "
         "grep -v '^%s$' || true",
         dir, path);
  ck_assert_msg(f.out[0] == '\0', "the refresh token is written in: %s", f.out);
  e2e_clean_namespace(ns);
}
END_TEST

/* A realm that takes only POST (GET: 405), and one without POST (404):
 * the first gets the POST alone, the second the GET after it. */
START_TEST(post_only_and_get_only_realms)
{
  static const struct {
    const char *mode, *tag, *digest, *expect, *never;
  } cases[] = {
      {"post-only", "v3", "SECURE_DIGEST_TOKEN_V3", "POST user scope=", "GET user"},
      {"get-only", "v4", "SECURE_DIGEST_TOKEN_V4", "GET user scope=", "POST user"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *ns = e2e_namespace("creds-realm");
    cleanup_free char *img = image_at("SECURE_TOKEN", cases[i].tag);
    cleanup_free char *log = NULL;
    cleanup_e2e_out struct e2e_out p = {0}, t = {0};

    token_mode(cases[i].mode);
    e2e_sh(&t, NULL, ": > \"$SECURE_TOKEN_LOG\"");
    ck_assert_msg(e2e_sh(&p, NULL,
                         "$CTRX -a \"$ADDR\" -n %s --debug pull --user "
                         "\"$SECURE_USER:$SECURE_PASS\" %s",
                         ns, img) == 0,
                  "%s: %s%s", cases[i].mode, p.out, p.err);
    token_mode("");
    assert_image(ns, img, e2e_env(cases[i].digest));
    log = token_log();
    ck_assert_msg(strstr(log, cases[i].expect) != NULL && strstr(log, cases[i].never) == NULL,
                  "%s: %s", cases[i].mode, log);
    assert_clean(cases[i].mode, &p);
    e2e_clean_namespace(ns);
  }
}
END_TEST

/* --- login and logout --- */

static const struct {
  const char *registry_var;
  const char *config; /* the file before login; NULL: none */
  bool store;         /* credsStore: the helper keeps the credentials */
} logins[] = {
    {"SECURE_BASIC", NULL, false},
    {"SECURE_TOKEN",
     "{\"psFormat\": \"table\", \"auths\": {\"other.example\": {\"auth\": "
     "\"b3RoZXI6eA==\"}}}",
     false},
    {"SECURE_TOKEN", "{\"credsStore\": \"ctrxtest\", \"psFormat\": \"table\"}", true},
};

START_TEST(login_logout_round_trip)
{
  const char *reg = e2e_env(logins[_i].registry_var);
  cleanup_free char *name = xasprintf("login%d", _i);
  cleanup_free char *dir = case_dir(name, logins[_i].config);
  cleanup_free char *ns = e2e_namespace("creds-login");
  cleanup_free char *img = image_at(logins[_i].registry_var, "v2");
  cleanup_free char *path = xasprintf("%s/config.json", dir), *text = NULL, *calls = NULL;
  cleanup_e2e_out struct e2e_out l = {0}, p = {0}, o = {0}, w = {0};
  struct stat st;

  if (logins[_i].config != NULL)
    ck_assert_int_eq(chmod(path, 0640), 0);
  /* a wrong password is refused, and nothing is written */
  ck_assert_int_eq(e2e_sh(&w, "Wr0ng-pass\n",
                          ENV_FMT "$CTRX --debug login -u \"$SECURE_USER\" --password-stdin %2$s",
                          dir, reg),
                   1);
  ck_assert_msg(strstr(w.err, "ctrx: login to ") != NULL && strstr(w.err, "401") != NULL, "%s",
                w.err);
  text = read_text(path);
  ck_assert_str_eq(text, logins[_i].config ? logins[_i].config : "");
  free(text);

  ck_assert_msg(e2e_sh(&l, NULL,
                       "printf '%%s\\n' \"$SECURE_PASS\" | " ENV_FMT
                       "$CTRX --debug login -u \"$SECURE_USER\" --password-stdin %2$s",
                       dir, reg) == 0,
                "%s%s", l.out, l.err);
  ck_assert_str_eq(l.out, "Login Succeeded\n");
  assert_clean("login", &l);
  /* a new file is 0600; one that was there keeps its mode, as docker keeps it */
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, logins[_i].config ? 0640 : 0600);
  text = read_text(path);
  if (logins[_i].config != NULL)
    ck_assert_msg(strstr(text, "\"psFormat\": \"table\"") != NULL, "other keys lost: %s", text);
  if (logins[_i].store) {
    /* the helper has them; config.json only an empty entry */
    assert_no_secret("config.json", text);
    calls = helper_calls(dir);
    ck_assert_msg(count(calls, "store ") == 1, "%s", calls);
  } else {
    ck_assert_msg(strstr(text, "\"auth\"") != NULL, "%s", text);
  }
  ck_assert_msg(strstr(text, reg) != NULL, "%s", text);

  /* the saved credentials pull */
  ck_assert_msg(e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s pull %3$s", dir, ns, img) == 0,
                "%s%s", p.out, p.err);
  e2e_clean_namespace(ns);

  ck_assert_msg(e2e_sh(&o, NULL, ENV_FMT "$CTRX logout %2$s", dir, reg) == 0, "%s", o.err);
  {
    cleanup_free char *want = xasprintf("Removing login credentials for %s\n", reg);
    ck_assert_str_eq(o.out, want);
  }
  free(text);
  text = read_text(path);
  ck_assert_msg(strstr(text, reg) == NULL, "still there: %s", text);
  if (logins[_i].config != NULL)
    ck_assert_msg(strstr(text, "\"psFormat\": \"table\"") != NULL, "other keys lost: %s", text);
  if (logins[_i].store) {
    free(calls);
    calls = helper_calls(dir);
    ck_assert_msg(count(calls, "erase ") == 1, "%s", calls);
  }
  /* and without them the pull is refused */
  ck_assert_int_eq(e2e_sh(&p, NULL, ENV_FMT "$CTRX -a \"$ADDR\" -n %2$s pull %3$s", dir, ns, img),
                   1);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* -p warns as docker does; Docker Hub's names map to its key; no terminal
 * and no --password-stdin is refused rather than read blind. */
START_TEST(login_flags_as_docker_has_them)
{
  cleanup_free char *dir = case_dir("login-flags", NULL);
  cleanup_e2e_out struct e2e_out o = {0};

  ck_assert_msg(e2e_sh(&o, NULL, ENV_FMT "$CTRX login -u \"$SECURE_USER\" -p \"$SECURE_PASS\" %2$s",
                       dir, e2e_env("SECURE_BASIC")) == 0,
                "%s", o.err);
  ck_assert_msg(strstr(o.err, "WARNING! Using --password via the CLI is insecure. Use "
                              "--password-stdin.") != NULL,
                "%s", o.err);
  assert_clean("login -p", &o);
  ck_assert_int_eq(e2e_sh(&o, NULL, ENV_FMT "$CTRX logout docker.io", dir), 0);
  ck_assert_str_eq(o.out, "Not logged in to https://index.docker.io/v1/\n");
  ck_assert_int_eq(e2e_sh(&o, NULL, ENV_FMT "$CTRX login %2$s", dir, e2e_env("SECURE_BASIC")), 1);
  ck_assert_msg(strstr(o.err, "no terminal") != NULL, "%s", o.err);
}
END_TEST

Suite *
creds_suite(void)
{
  Suite *s = suite_create("creds");
  TCase *t = tcase_create("creds");

  tcase_set_timeout(t, 120);
  tcase_add_unchecked_fixture(t, creds_setup, creds_teardown);
  tcase_add_test(t, mirror_helper_upstream_anonymous);
  tcase_add_test(t, creds_store);
  tcase_add_test(t, helper_hangs);
  tcase_add_test(t, helper_fails);
  tcase_add_test(t, identity_token);
  tcase_add_test(t, post_only_and_get_only_realms);
  tcase_add_loop_test(t, login_logout_round_trip, 0, (int)ARRAY_SIZE(logins));
  tcase_add_test(t, login_flags_as_docker_has_them);
  suite_add_tcase(s, t);
  return s;
}
