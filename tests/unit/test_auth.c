/* Registry authentication's pure parts: WWW-Authenticate parsing, token
 * request URLs and scopes, docker config.json credentials. No network. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry_internal.h"
#include "util.h"

Suite *auth_suite(void);

/* expect: NULL when the header is malformed; else challenges separated by
 * " | ", each "scheme realm=… service=… error=… scope=a,b" with absent
 * fields left out. */
static const struct {
  const char *header;
  const char *expect;
} challenge_cases[] = {
    {"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
     "scope=\"repository:library/busybox:pull\"",
     "bearer realm=https://auth.docker.io/token service=registry.docker.io "
     "scope=repository:library/busybox:pull"},
    {"Basic realm=\"Registry Realm\"", "basic realm=Registry Realm"},
    {"Bearer realm=\"r\",scope=\"a b  c\"", "bearer realm=r scope=a,b,c"},
    {"Basic realm=\"x\", Bearer realm=\"y\",service=\"s\"",
     "basic realm=x | bearer realm=y service=s"},
    {"Bearer realm=\"a\\\"b\\\\c\"", "bearer realm=a\"b\\c"},
    {"BEARER Realm=\"r\",SERVICE=\"s\"", "bearer realm=r service=s"},
    {"Bearer realm=r,service=s", "bearer realm=r service=s"},
    {"Bearer realm = \"r\" , service= s", "bearer realm=r service=s"},
    {"Bearer realm=\"r\",error=\"insufficient_scope\"", "bearer realm=r error=insufficient_scope"},
    {"Bearer realm=\"r\",foo=\"bar\",service=\"s\"", "bearer realm=r service=s"},
    {"", ""},
    {"  , ,", ""},
    {"Negotiate", "negotiate"},
    {"Negotiate abc123==, Basic realm=\"x\"", "negotiate | basic realm=x"},
    {"Basic dXNlcjpwYXNz", "basic"},
    {", , Basic realm=\"x\",", "basic realm=x"},
    {"Bearer realm=\"r\",scope=\"a\",scope=\"b\"", "bearer realm=r scope=a,b"},
    {"Bearer realm=\"\"", "bearer realm="},
    {"Bearer realm=\"http://127.0.0.1:5000/token?x=1\"",
     "bearer realm=http://127.0.0.1:5000/token?x=1"},
    /* malformed */
    {"Bearer realm=\"abc", NULL},
    {"Bearer realm=\"abc\\", NULL},
    {"Bearer realm=\"r\",service=", NULL},
    {"Bearer realm=\"a\" service=\"b\"", NULL},
    {"=abc", NULL},
    {"Bearer realm=\"r\",@=\"x\"", NULL},
    {"Bearer\"x\"", NULL},
    {"Bearer realm=\"r\"x", NULL},
    {"Bearer a/b", "bearer"},
    {"Bearer realm=\"r\", a/b", NULL},
    {"Bearer realm=\"r\",,=", NULL},
};

static char *
describe(const struct auth_challenge *c, size_t n)
{
  struct buf b = BUF_INIT;

  buf_addstr(&b, "");
  for (size_t i = 0; i < n; i++) {
    buf_addf(&b, "%s%s", i ? " | " : "", c[i].scheme);
    if (c[i].realm)
      buf_addf(&b, " realm=%s", c[i].realm);
    if (c[i].service)
      buf_addf(&b, " service=%s", c[i].service);
    if (c[i].error)
      buf_addf(&b, " error=%s", c[i].error);
    for (size_t j = 0; j < c[i].scopes.n; j++)
      buf_addf(&b, "%s%s", j ? "," : " scope=", c[i].scopes.v[j]);
  }
  return buf_steal(&b);
}

START_TEST(parse_challenges)
{
  struct auth_challenge *c = NULL;
  struct error *err = NULL;
  size_t n = 0;
  int rc = auth_parse_challenges(challenge_cases[_i].header, &c, &n, &err);

  if (challenge_cases[_i].expect == NULL) {
    ck_assert_msg(rc < 0, "accepted: %s", challenge_cases[_i].header);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err->code, ERR_INVALID);
    ck_assert_msg(strstr(err->msg, "malformed WWW-Authenticate") != NULL, "%s", err->msg);
    error_free(err);
  } else {
    cleanup_free char *got = NULL;
    ck_assert_msg(rc == 0, "%s: %s", challenge_cases[_i].header, err ? err->msg : "");
    got = describe(c, n);
    ck_assert_str_eq(got, challenge_cases[_i].expect);
    auth_challenges_free(c, n);
  }
}
END_TEST

START_TEST(token_url_and_scopes)
{
  cleanup_strv struct strv ch = STRV_INIT, scopes = STRV_INIT, none = STRV_INIT;
  cleanup_free char *u1 = NULL, *u2 = NULL, *u3 = NULL;

  strv_push(&ch, "repository:library/busybox:pull");
  strv_push(&ch, "repository:other/x:pull");
  strv_push(&ch, "repository:library/busybox:pull");
  auth_token_scopes("library/busybox", &ch, &scopes);
  ck_assert_uint_eq(scopes.n, 2);
  ck_assert_str_eq(scopes.v[0], "repository:library/busybox:pull");
  ck_assert_str_eq(scopes.v[1], "repository:other/x:pull");
  u1 = auth_token_url("http://127.0.0.1:6103/token", "fake-registry", &scopes);
  ck_assert_str_eq(u1, "http://127.0.0.1:6103/token?scope=repository%3Alibrary%2Fbusybox%3Apull"
                       "&scope=repository%3Aother%2Fx%3Apull&service=fake-registry");
  u2 = auth_token_url("https://a/t?x=1", NULL, &scopes);
  ck_assert(str_has_prefix(u2, "https://a/t?x=1&scope=repository%3Alibrary"));
  ck_assert(strstr(u2, "service=") == NULL);
  u3 = auth_token_url("https://a/t", "s p", &none);
  ck_assert_str_eq(u3, "https://a/t?service=s%20p");

  strv_release(&scopes);
  auth_token_scopes("x/y", NULL, &scopes);
  ck_assert_uint_eq(scopes.n, 1);
  ck_assert_str_eq(scopes.v[0], "repository:x/y:pull");
}
END_TEST

/* A DOCKER_CONFIG directory of its own, removed afterwards. */
static char *cfg_dir;
static char *saved_docker_config;
static char *saved_home;

static void
cfg_setup(void)
{
  char tmpl[] = "/tmp/ctrx-unit-docker.XXXXXX";
  const char *d = getenv("DOCKER_CONFIG");
  const char *h = getenv("HOME");

  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  cfg_dir = xstrdup(tmpl);
  saved_docker_config = d ? xstrdup(d) : NULL;
  saved_home = h ? xstrdup(h) : NULL;
  setenv("DOCKER_CONFIG", cfg_dir, 1);
}

static void
cfg_teardown(void)
{
  cleanup_free char *f = xasprintf("%s/config.json", cfg_dir);
  cleanup_free char *dd = xasprintf("%s/.docker", cfg_dir);
  cleanup_free char *f2 = xasprintf("%s/.docker/config.json", cfg_dir);

  unlink(f);
  unlink(f2);
  rmdir(dd);
  rmdir(cfg_dir);
  free(cfg_dir);
  if (saved_docker_config)
    setenv("DOCKER_CONFIG", saved_docker_config, 1);
  else
    unsetenv("DOCKER_CONFIG");
  if (saved_home)
    setenv("HOME", saved_home, 1);
  free(saved_docker_config);
  free(saved_home);
}

static void
write_config(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");

  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* base64("alice:pw1") = YWxpY2U6cHcx, base64("bob:p:w") = Ym9iOnA6dw==,
 * base64("carol:x") = Y2Fyb2w6eA==, base64("dave:") = ZGF2ZTo= */
static const char config_json[] =
    "{\"auths\": {"
    "\"plain.example:5000\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "\"https://secure.example\": {\"auth\": \"Ym9iOnA6dw==\"},"
    "\"http://old.example\": {\"auth\": \"Y2Fyb2w6eA==\"},"
    "\"https://legacy.example/v1/\": {\"auth\": \"ZGF2ZTo=\"},"
    "\"https://index.docker.io/v1/\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "\"split.example\": {\"username\": \"erin\", \"password\": \"sec\"},"
    "\"bad.example\": {\"auth\": \"%%%\"},"
    "\"nocolon.example\": {\"auth\": \"YWxpY2U=\"},"
    "\"empty.example\": {}"
    "}}";

START_TEST(docker_credentials)
{
  static const struct {
    const char *host;
    int rc;
    const char *user_pass;
  } cases[] = {
      {"plain.example:5000", 1, "alice:pw1"},
      {"secure.example", 1, "bob:p:w"},
      {"old.example", 1, "carol:x"},
      {"legacy.example", 1, "dave:"},
      {"registry-1.docker.io", 1, "alice:pw1"},
      {"split.example", 1, "erin:sec"},
      {"empty.example", 0, NULL},
      {"unknown.example", 0, NULL},
      {"plain.example", 0, NULL},
      {"bad.example", -1, NULL},
      {"nocolon.example", -1, NULL},
  };
  cleanup_free char *path = xasprintf("%s/config.json", cfg_dir);

  write_config(path, config_json);
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct error *err = NULL;
    char *up = NULL;
    int rc = auth_docker_credentials(path, cases[i].host, &up, &err);

    ck_assert_msg(rc == cases[i].rc, "%s: rc %d", cases[i].host, rc);
    if (cases[i].user_pass) {
      ck_assert_str_eq(up, cases[i].user_pass);
    } else {
      ck_assert_ptr_null(up);
    }
    if (rc < 0) {
      /* The error names the file and host, never the secret. */
      ck_assert_msg(strstr(err->msg, cases[i].host) != NULL, "%s", err->msg);
      ck_assert(strstr(err->msg, "%%%") == NULL && strstr(err->msg, "YWxp") == NULL);
      error_free(err);
    }
    free(up);
  }
}
END_TEST

START_TEST(docker_credentials_files)
{
  cleanup_free char *path = xasprintf("%s/config.json", cfg_dir);
  struct error *err = NULL;
  char *up = NULL;

  /* No file, or no path at all: no credentials, no error. */
  ck_assert_int_eq(auth_docker_credentials(path, "plain.example:5000", &up, &err), 0);
  ck_assert_int_eq(auth_docker_credentials(NULL, "plain.example:5000", &up, &err), 0);
  ck_assert_ptr_null(err);
  /* Not JSON: an error naming the file. */
  write_config(path, "{\"auths\": ");
  ck_assert_int_eq(auth_docker_credentials(path, "plain.example:5000", &up, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, path) != NULL, "%s", err->msg);
  error_free(err);
  err = NULL;
  write_config(path, "[1]");
  ck_assert_int_eq(auth_docker_credentials(path, "x", &up, &err), -1);
  error_free(err);
  err = NULL;
  /* The path is the caller's: DOCKER_CONFIG and HOME are not read here. */
  unlink(path);
  setenv("DOCKER_CONFIG", cfg_dir, 1);
  write_config(path, config_json);
  ck_assert_int_eq(auth_docker_credentials(NULL, "secure.example", &up, &err), 0);
  ck_assert_int_eq(auth_docker_credentials(path, "secure.example", &up, &err), 1);
  ck_assert_str_eq(up, "bob:p:w");
  free(up);
}
END_TEST

/* A malformed config.json: the error names the file and the place, never
 * what is written there (jansson's own message quotes the token it stopped
 * at, which may be the password or the base64 "auth"). */
static const char *const malformed_configs[] = {
    "{\"auths\": {\"r.example\": {\"auth\": cGxhbnRlZDpTM2NyZXQtcGxhbnRlZA==}}}",
    "{\"auths\": {\"r.example\": {\"username\": \"u\", \"password\": S3cret-planted}}}",
    "{\"auths\": {\"r.example\": {\"password\": \"S3cret-planted\" \"x\"}}}",
    "{\"auths\": {\"r.example\": {\"password\": \"S3cret-planted\\x\"}}}",
    "{\"auths\": {\"r.example\": {\"password\": \"S3cret-planted",
    "S3cret-planted",
    "{\"S3cret-planted\": 1, \"S3cret-planted\": }",
};

START_TEST(docker_config_error_keeps_secrets)
{
  cleanup_free char *path = xasprintf("%s/config.json", cfg_dir);
  struct error *err = NULL;
  char *up = NULL;

  write_config(path, malformed_configs[_i]);
  ck_assert_int_eq(auth_docker_credentials(path, "r.example", &up, &err), -1);
  ck_assert_ptr_null(up);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, path) != NULL, "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "S3cret") == NULL && strstr(err->msg, "cGxhbnRlZ") == NULL,
                "the error quotes the file: %s", err->msg);
  error_free(err);
}
END_TEST

Suite *
auth_suite(void)
{
  Suite *s = suite_create("auth");
  TCase *tc = tcase_create("pure");
  TCase *cfg = tcase_create("docker-config");

  tcase_add_loop_test(tc, parse_challenges, 0, ARRAY_SIZE(challenge_cases));
  tcase_add_test(tc, token_url_and_scopes);
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(cfg, cfg_setup, cfg_teardown);
  tcase_add_test(cfg, docker_credentials);
  tcase_add_test(cfg, docker_credentials_files);
  tcase_add_loop_test(cfg, docker_config_error_keeps_secrets, 0, ARRAY_SIZE(malformed_configs));
  suite_add_tcase(s, cfg);
  return s;
}
