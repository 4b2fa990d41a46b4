/* The registry client's pure parts: WWW-Authenticate parsing, URLs with ?ns=,
 * token request URLs and scopes, media types, digests, docker config.json
 * credentials and header redaction. No network. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry.h"
#include "util.h"

Suite *registry_suite(void);

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

static const struct {
  const char *mt;
  enum oci_media kind;
} media_cases[] = {
    {"application/vnd.oci.image.index.v1+json", OCI_MEDIA_INDEX},
    {"application/vnd.docker.distribution.manifest.list.v2+json", OCI_MEDIA_INDEX},
    {"application/vnd.oci.image.manifest.v1+json", OCI_MEDIA_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v2+json", OCI_MEDIA_MANIFEST},
    {"Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8", OCI_MEDIA_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", OCI_MEDIA_SCHEMA1},
    {"text/plain; charset=utf-8", OCI_MEDIA_SCHEMA1},
    {"application/vnd.oci.image.config.v1+json", OCI_MEDIA_CONFIG},
    {"application/vnd.docker.container.image.v1+json", OCI_MEDIA_CONFIG},
    {"application/vnd.oci.image.layer.v1.tar+gzip", OCI_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.v1.tar+zstd", OCI_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_MEDIA_LAYER},
    {"application/octet-stream", OCI_MEDIA_OTHER},
    {"application/json", OCI_MEDIA_OTHER},
    {"", OCI_MEDIA_OTHER},
    {NULL, OCI_MEDIA_OTHER},
};

START_TEST(media_kinds)
{
  ck_assert_int_eq(oci_media_kind(media_cases[_i].mt), media_cases[_i].kind);
}
END_TEST

START_TEST(media_strip_and_digest)
{
  cleanup_free char *a = oci_media_strip(" Application/JSON ; charset=utf-8");
  cleanup_free char *b = oci_media_strip("application/vnd.oci.image.index.v1+json");
  static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  cleanup_free char *good = xasprintf("sha256:%s", hex64);
  cleanup_free char *upper = xasprintf("sha256:%.63sA", hex64);
  cleanup_free char *shorter = xasprintf("sha256:%.63s", hex64);
  cleanup_free char *other = xasprintf("sha512:%s", hex64);
  cleanup_free char *longer = xasprintf("sha256:%s0", hex64);
  cleanup_free char *beyond_f = xasprintf("sha256:%.63sg", hex64);

  ck_assert_str_eq(a, "application/json");
  ck_assert_str_eq(b, "application/vnd.oci.image.index.v1+json");
  ck_assert(oci_digest_valid(good));
  ck_assert(!oci_digest_valid(upper));
  ck_assert(!oci_digest_valid(shorter));
  ck_assert(!oci_digest_valid(other));
  ck_assert(!oci_digest_valid(longer));
  ck_assert(!oci_digest_valid(beyond_f));
  ck_assert(!oci_digest_valid(NULL));
  ck_assert(!oci_digest_valid("latest"));
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
    "}, \"credsStore\": \"none\"}";

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
    int rc = auth_docker_credentials(cases[i].host, &up, &err);

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
  cleanup_free char *home_docker = xasprintf("%s/.docker", cfg_dir);
  cleanup_free char *home_path = xasprintf("%s/.docker/config.json", cfg_dir);
  struct error *err = NULL;
  char *up = NULL;

  /* No file: no credentials, no error. */
  ck_assert_int_eq(auth_docker_credentials("plain.example:5000", &up, &err), 0);
  ck_assert_ptr_null(err);
  /* Not JSON: an error naming the file. */
  write_config(path, "{\"auths\": ");
  ck_assert_int_eq(auth_docker_credentials("plain.example:5000", &up, &err), -1);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, path) != NULL, "%s", err->msg);
  error_free(err);
  err = NULL;
  write_config(path, "[1]");
  ck_assert_int_eq(auth_docker_credentials("x", &up, &err), -1);
  error_free(err);
  err = NULL;
  unlink(path);
  /* Without DOCKER_CONFIG, ~/.docker/config.json. */
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", cfg_dir, 1);
  ck_assert_int_eq(mkdir(home_docker, 0700), 0);
  write_config(home_path, config_json);
  ck_assert_int_eq(auth_docker_credentials("secure.example", &up, &err), 1);
  ck_assert_str_eq(up, "bob:p:w");
  free(up);
}
END_TEST

START_TEST(redact_headers)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"Authorization: Bearer abc.def", "Authorization: <redacted>"},
      {"authorization: Basic Ym9iOnB3", "authorization: <redacted>"},
      {"Proxy-Authorization: Basic x", "Proxy-Authorization: <redacted>"},
      {"Cookie: session=1", "Cookie: <redacted>"},
      {"X-Custom: visible", "X-Custom: visible"},
      {"Authorization-Hint: visible", "Authorization-Hint: visible"},
      {"Range: bytes=10-", "Range: bytes=10-"},
      {"no colon", "no colon"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *r = http_redact_header(cases[i].in);
    ck_assert_str_eq(r, cases[i].out);
  }
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
  ck_assert_int_eq(auth_docker_credentials("r.example", &up, &err), -1);
  ck_assert_ptr_null(up);
  ck_assert_int_eq(err->code, ERR_INVALID);
  ck_assert_msg(strstr(err->msg, path) != NULL, "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "S3cret") == NULL && strstr(err->msg, "cGxhbnRlZ") == NULL,
                "the error quotes the file: %s", err->msg);
  error_free(err);
}
END_TEST

/* What a server says, made fit for a terminal. */
static const struct {
  const char *in;
  size_t max;
  const char *out;
} sanitize_cases[] = {
    {"manifest unknown", 200, "manifest unknown"},
    {"", 200, ""},
    {"\033[2J\033[Hclear", 200, "clear"},
    {"a\033[31;1mred\033[0m b", 200, "ared b"},
    {"\033]0;title\007after", 200, "after"},
    {"\033]8;;http://x\033\\link\033]8;;\033\\", 200, "link"},
    {"\033Pdcs\033\\x", 200, "x"},
    {"\033(Bx", 200, "x"},
    {"\033cx", 200, "x"},
    {"\033", 200, ""},
    {"\033[", 200, ""},
    {"\033]unterminated", 200, ""},
    {"one\ntwo\r\nctrx: forged", 200, "one two ctrx: forged"},
    {"tab\there", 200, "tab here"},
    {"bell\007 del\177 nul-free\001", 200, "bell del nul-free"},
    {"trailing\n\n", 200, "trailing"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 200, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"},
    {"c1 \xc2\x9b"
     "31m csi",
     200, "c1 ??31m csi"},
    {"bad \xff\xfe", 200, "bad ??"},
    {"overlong \xc0\xaf", 200, "overlong ??"},
    {"surrogate \xed\xa0\x80", 200, "surrogate ???"},
    {"truncated \xe2\x82", 200, "truncated ??"},
    {"abcdefghij", 5, "abcde..."},
    {"abcde", 5, "abcde"},
    {"abcd\xc3\xa9", 5, "abcd..."},
    {"\033[1mabcdef", 3, "abc..."},
};

START_TEST(sanitize_server_text)
{
  cleanup_free char *got = http_sanitize(sanitize_cases[_i].in, strlen(sanitize_cases[_i].in),
                                             sanitize_cases[_i].max);

  ck_assert_msg(strcmp(got, sanitize_cases[_i].out) == 0, "case %d: got \"%s\", want \"%s\"", _i,
                got, sanitize_cases[_i].out);
}
END_TEST

Suite *
registry_suite(void)
{
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("pure");
  TCase *cfg = tcase_create("docker-config");

  tcase_add_loop_test(tc, parse_challenges, 0, ARRAY_SIZE(challenge_cases));
  tcase_add_test(tc, url_with_ns);
  tcase_add_test(tc, token_url_and_scopes);
  tcase_add_loop_test(tc, media_kinds, 0, ARRAY_SIZE(media_cases));
  tcase_add_test(tc, media_strip_and_digest);
  tcase_add_test(tc, redact_headers);
  tcase_add_test(tc, fetch_refuses_bad_descriptors);
  tcase_add_loop_test(tc, sanitize_server_text, 0, ARRAY_SIZE(sanitize_cases));
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(cfg, cfg_setup, cfg_teardown);
  tcase_add_test(cfg, docker_credentials);
  tcase_add_test(cfg, docker_credentials_files);
  tcase_add_loop_test(cfg, docker_config_error_keeps_secrets, 0, ARRAY_SIZE(malformed_configs));
  suite_add_tcase(s, cfg);
  return s;
}
