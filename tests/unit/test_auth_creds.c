/* Where credentials come from (Docker's config.json: credHelpers, then
 * credsStore, then auths), what a credential helper answers and how it is
 * run (deadline, failure, absence), the OAuth2 token form and when its POST
 * falls back to GET, and config.json written back for login and logout. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "credhelper.h"
#include "dockercfg.h"
#include "registry_internal.h"
#include "unit.h"
#include "util.h"

Suite *auth_creds_suite(void);

static json_t *
parse(const char *text)
{
  json_t *j = json_loads(text, 0, NULL);
  ck_assert_ptr_nonnull(j);
  return j;
}

/* base64("alice:pw1") = YWxpY2U6cHcx */
static const char precedence_json[] =
    "{\"credHelpers\": {\"mirror.example:5000\": \"ecr-login\","
    "                   \"https://index.docker.io/v1/\": \"hub\"},"
    " \"credsStore\": \"pass\","
    " \"auths\": {\"mirror.example:5000\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "            \"other.example\": {\"auth\": \"YWxpY2U6cHcx\"}}}";
static const char auths_json[] =
    "{\"auths\": {\"a.example\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "            \"https://b.example/v1/\": {\"username\": \"bob\", \"password\": \"pb\"},"
    "            \"c.example\": {\"identitytoken\": \"rt-123\"},"
    "            \"d.example\": {\"auth\": \"YWxpY2U6cHcx\", \"identitytoken\": \"rt-456\"},"
    "            \"https://index.docker.io/v1/\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "            \"e.example\": {}},"
    " \"credHelpers\": {\"h.example\": \"\"}}";

/* expect: "none", "helper NAME URL store|helpers", "auths USER SECRET [idt]" */
static const struct {
  const char *json;
  const char *host;
  const char *expect;
} lookup_cases[] = {
    /* credHelpers first, even over an auths entry of the same host */
    {precedence_json, "mirror.example:5000", "helper ecr-login mirror.example:5000 helpers"},
    /* Docker Hub: its key, whichever of its names */
    {precedence_json, "registry-1.docker.io", "helper hub https://index.docker.io/v1/ helpers"},
    {precedence_json, "docker.io", "helper hub https://index.docker.io/v1/ helpers"},
    /* then credsStore, which hides the auths entries */
    {precedence_json, "other.example", "helper pass other.example store"},
    {precedence_json, "new.example", "helper pass new.example store"},
    /* then auths */
    {auths_json, "a.example", "auths alice pw1"},
    {auths_json, "b.example", "auths bob pb"},
    {auths_json, "c.example", "auths - rt-123 idt"},
    {auths_json, "d.example", "auths alice rt-456 idt"},
    {auths_json, "index.docker.io", "auths alice pw1"},
    {auths_json, "e.example", "none"},
    {auths_json, "h.example", "none"}, /* an empty helper name is none */
    {auths_json, "z.example", "none"},
    {"{}", "a.example", "none"},
};

static char *
describe(const struct dockercfg_creds *c)
{
  if (c->kind == DOCKERCFG_HELPER)
    return xasprintf("helper %s %s %s", c->helper, c->server_url,
                     c->from_store ? "store" : "helpers");
  if (c->kind == DOCKERCFG_AUTHS)
    return xasprintf("auths %s %s%s", c->user ? c->user : "-", c->secret,
                     c->identity_token ? " idt" : "");
  return xstrdup("none");
}

START_TEST(lookup_in_dockers_order)
{
  json_t *root = parse(lookup_cases[_i].json);
  struct dockercfg_creds c = {0};
  struct error *err = NULL;
  cleanup_free char *got = NULL;

  ck_assert_int_eq(dockercfg_lookup(root, "cfg", lookup_cases[_i].host, &c, &err), 0);
  got = describe(&c);
  ck_assert_msg(strcmp(got, lookup_cases[_i].expect) == 0, "%s: %s, wanted %s",
                lookup_cases[_i].host, got, lookup_cases[_i].expect);
  dockercfg_creds_release(&c);
  ck_assert_int_eq(c.kind, DOCKERCFG_NONE);
  dockercfg_free(root);
}
END_TEST

static const struct {
  const char *in, *key;
} key_cases[] = {
    {"docker.io", "https://index.docker.io/v1/"},
    {"index.docker.io", "https://index.docker.io/v1/"},
    {"registry-1.docker.io", "https://index.docker.io/v1/"},
    {"https://index.docker.io/v1/", "https://index.docker.io/v1/"},
    {"ghcr.io", "ghcr.io"},
    {"https://ghcr.io/v2/", "ghcr.io"},
    {"127.0.0.1:5000", "127.0.0.1:5000"},
    {"http://127.0.0.1:5000", "127.0.0.1:5000"},
};

START_TEST(config_keys)
{
  cleanup_free char *k = dockercfg_key(key_cases[_i].in);
  ck_assert_str_eq(k, key_cases[_i].key);
}
END_TEST

static const struct {
  const char *answer;
  int rv;
  const char *expect; /* as describe() prints it, with kind AUTHS */
} answer_cases[] = {
    {"{\"ServerURL\":\"x\",\"Username\":\"u\",\"Secret\":\"s\"}", 0, "auths u s"},
    {"{\"Username\":\"<token>\",\"Secret\":\"rt\"}", 0, "auths - rt idt"},
    {"{\"Secret\":\"s\"}\n", 0, "auths  s"},
    {"{\"Username\":\"u\"}", -1, NULL},
    {"not json s3cret", -1, NULL},
    {"[\"s3cret\"]", -1, NULL},
};

START_TEST(helper_answers)
{
  struct dockercfg_creds c = {0};
  struct error *err = NULL;
  const char *a = answer_cases[_i].answer;
  int rv = dockercfg_parse_helper_answer(a, strlen(a), &c, &err);

  ck_assert_int_eq(rv, answer_cases[_i].rv);
  if (rv == 0) {
    cleanup_free char *got = NULL;
    c.kind = DOCKERCFG_AUTHS;
    got = describe(&c);
    ck_assert_str_eq(got, answer_cases[_i].expect);
  } else {
    ck_assert_msg(strstr(err->msg, "s3cret") == NULL, "%s", err->msg);
    error_free(err);
  }
  dockercfg_creds_release(&c);
}
END_TEST

static const struct {
  const char *user, *secret;
  bool idt;
  const char *service;
  const char *form;
} form_cases[] = {
    {"alice", "p w&=", false, "reg",
     "grant_type=password&username=alice&password=p%20w%26%3D&client_id=ctrx&service=reg"
     "&scope=repository%3Aa%2Fb%3Apull%20repository%3Ac%3Apull"},
    {NULL, "rt", true, NULL,
     "grant_type=refresh_token&refresh_token=rt&client_id=ctrx"
     "&scope=repository%3Aa%2Fb%3Apull%20repository%3Ac%3Apull"},
    {"alice", "rt", true, "reg",
     "grant_type=refresh_token&refresh_token=rt&client_id=ctrx&service=reg"
     "&scope=repository%3Aa%2Fb%3Apull%20repository%3Ac%3Apull"},
    {"", "rt", false, "",
     "grant_type=refresh_token&refresh_token=rt&client_id=ctrx"
     "&scope=repository%3Aa%2Fb%3Apull%20repository%3Ac%3Apull"},
};

START_TEST(token_form)
{
  struct dockercfg_creds c = {.user = (char *)form_cases[_i].user,
                              .secret = (char *)form_cases[_i].secret,
                              .identity_token = form_cases[_i].idt};
  struct strv scopes = STRV_INIT;
  cleanup_free char *form = NULL;

  strv_push(&scopes, "repository:a/b:pull");
  strv_push(&scopes, "repository:c:pull");
  form = auth_token_form(&c, form_cases[_i].service, &scopes);
  ck_assert_str_eq(form, form_cases[_i].form);
  strv_release(&scopes);
}
END_TEST

/* A login asks for no repository: no scope of its own, the challenge's alone. */
START_TEST(login_scopes)
{
  struct strv none = STRV_INIT, scopes = STRV_INIT, ch = STRV_INIT;

  auth_token_scopes(NULL, NULL, &none);
  ck_assert_uint_eq(none.n, 0);
  strv_push(&ch, "registry:catalog:*");
  auth_token_scopes(NULL, &ch, &scopes);
  ck_assert_uint_eq(scopes.n, 1);
  ck_assert_str_eq(scopes.v[0], "registry:catalog:*");
  strv_release(&none);
  strv_release(&scopes);
  strv_release(&ch);
}
END_TEST

static const struct {
  long status;
  bool idt;
  bool falls_back;
} fallback_cases[] = {
    {404, false, true},  {404, true, true},   {405, false, true},  {405, true, false},
    {401, false, true},  {400, true, true},   {403, false, false}, {500, false, false},
    {429, false, false}, {200, false, false}, {302, false, true},  {307, true, true},
};

START_TEST(post_falls_back)
{
  ck_assert_int_eq(auth_post_falls_back(fallback_cases[_i].status, fallback_cases[_i].idt),
                   fallback_cases[_i].falls_back);
}
END_TEST

/* ---- config.json written back ---- */

static char tmp[] = "/tmp/ctrx-unit-creds.XXXXXX";

static void
tmp_setup(void)
{
  unit_tmpdir_make(tmp);
}

static void
tmp_teardown(void)
{
  unit_tmpdir_remove(tmp);
}

START_TEST(save_keeps_other_keys)
{
  cleanup_free char *path = xasprintf("%s/new/config.json", tmp);
  cleanup_free char *dir = xasprintf("%s/new", tmp);
  json_t *root = NULL;
  struct error *err = NULL;
  struct dockercfg_creds c = {0};
  struct stat st;

  ck_assert_int_eq(dockercfg_load(path, &root, &err), 0);
  json_object_set_new(root, "psFormat", json_string("table"));
  json_object_set_new(root, "credHelpers", parse("{\"x.example\": \"ecr-login\"}"));
  dockercfg_set_auth(root, "r.example:5000", "alice", "pw1");
  dockercfg_set_auth(root, "s.example", "bob", "pw2");
  ck_assert_int_eq(dockercfg_save(path, root, &err), 0);
  dockercfg_free(root);
  /* a new file: 0600 in a new 0700 directory */
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0700);
  /* an existing file keeps its mode */
  ck_assert_int_eq(chmod(path, 0640), 0);
  ck_assert_int_eq(dockercfg_load(path, &root, &err), 0);
  ck_assert_int_eq(dockercfg_lookup(root, path, "r.example:5000", &c, &err), 0);
  ck_assert_str_eq(c.user, "alice");
  ck_assert_str_eq(c.secret, "pw1");
  dockercfg_creds_release(&c);
  ck_assert_int_eq(dockercfg_erase_auth(root, "r.example:5000"), 1);
  ck_assert_int_eq(dockercfg_erase_auth(root, "r.example:5000"), 0);
  ck_assert_int_eq(dockercfg_save(path, root, &err), 0);
  dockercfg_free(root);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0640);
  ck_assert_int_eq(dockercfg_load(path, &root, &err), 0);
  ck_assert_str_eq(json_string_value(json_object_get(root, "psFormat")), "table");
  ck_assert_str_eq(
      json_string_value(json_object_get(json_object_get(root, "credHelpers"), "x.example")),
      "ecr-login");
  ck_assert_ptr_null(json_object_get(json_object_get(root, "auths"), "r.example:5000"));
  ck_assert_ptr_nonnull(json_object_get(json_object_get(root, "auths"), "s.example"));
  dockercfg_free(root);
}
END_TEST

/* where hosts check says the credentials come from */
START_TEST(describe_source)
{
  cleanup_free char *path = unit_write(tmp, "config.json", precedence_json);
  cleanup_free char *path2 = unit_write(tmp, "config2.json", auths_json);
  static const struct {
    int which;
    const char *host, *says;
  } cases[] = {
      {1, "mirror.example:5000", "helper docker-credential-ecr-login (credHelpers)"},
      {1, "other.example", "helper docker-credential-pass (credsStore)"},
      {2, "a.example", "config.json auths"},
      {2, "c.example", "config.json auths (identity token)"},
      {2, "z.example", "none"},
      {0, "a.example", "none"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct error *err = NULL;
    char *s = NULL;
    const char *p = cases[i].which == 1 ? path : cases[i].which == 2 ? path2 : NULL;
    ck_assert_int_eq(auth_describe_source(p, cases[i].host, &s, &err), 0);
    ck_assert_str_eq(s, cases[i].says);
    ck_assert(strstr(s, "pw1") == NULL && strstr(s, "YWxp") == NULL);
    free(s);
  }
}
END_TEST

/* ---- running a helper ---- */

/* A helper script in the scratch directory: docker-credential-NAME. */
static void
helper(const char *name, const char *body)
{
  cleanup_free char *file = xasprintf("docker-credential-%s", name);
  cleanup_free char *text = xasprintf("#!/bin/sh\n%s\n", body);
  cleanup_free char *path = unit_write(tmp, file, text);
  ck_assert_int_eq(chmod(path, 0755), 0);
}

START_TEST(helper_runs)
{
  struct credhelper_opts o = {.path = tmp, .timeout_ms = 5000};
  struct dockercfg_creds c = {0};
  struct error *err = NULL;

  helper("ok", "read url; printf '{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"S3c\"}' "
               "\"$url\"");
  helper("none", "echo 'credentials not found in native keychain'; exit 1");
  ck_assert_int_eq(credhelper_get(&o, "ok", "r.example", &c, &err), 1);
  ck_assert_str_eq(c.user, "u");
  ck_assert_str_eq(c.secret, "S3c");
  dockercfg_creds_release(&c);
  ck_assert_int_eq(credhelper_get(&o, "none", "r.example", &c, &err), 0);
  ck_assert_ptr_null(err);
  ck_assert_ptr_null(c.secret);
  /* not on the PATH; a name with a slash is never looked up */
  ck_assert_int_eq(credhelper_get(&o, "absent", "r.example", &c, &err), -1);
  ck_assert_int_eq(err->code, ERR_NOT_FOUND);
  ck_assert_msg(strstr(err->msg, "docker-credential-absent") != NULL, "%s", err->msg);
  error_free(err);
  err = NULL;
  ck_assert_ptr_null(credhelper_find(&o, "../ok"));
  o.path = NULL;
  ck_assert_ptr_null(credhelper_find(&o, "ok"));
}
END_TEST

START_TEST(helper_fails_clearly)
{
  struct credhelper_opts o = {.path = tmp, .timeout_ms = 5000};
  struct dockercfg_creds c = {0};
  struct error *err = NULL;

  helper("bad",
         "echo '{\"Secret\":\"S3cret-out\"}'; printf 'locked\\033[31m keyring\\nS3cret-2nd\\n' "
         ">&2; exit 7");
  ck_assert_int_eq(credhelper_get(&o, "bad", "r.example", &c, &err), -1);
  ck_assert_msg(strstr(err->msg, "docker-credential-bad get: exit status 7: locked?[31m keyring") !=
                    NULL,
                "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "S3cret") == NULL, "%s", err->msg);
  error_free(err);
}
END_TEST

START_TEST(helper_hang_is_killed)
{
  struct credhelper_opts o = {.path = tmp, .timeout_ms = 300};
  struct dockercfg_creds c = {0};
  struct error *err = NULL;
  int64_t t0 = now_ms();

  helper("hang", "exec sleep 60");
  ck_assert_int_eq(credhelper_get(&o, "hang", "r.example", &c, &err), -1);
  /* the deadline is the feature: killed at 300 ms, not after the minute */
  ck_assert_int_lt(now_ms() - t0, 20000);
  ck_assert_int_eq(err->code, ERR_DEADLINE);
  ck_assert_msg(strstr(err->msg, "docker-credential-hang get: no answer within 300 ms") != NULL,
                "%s", err->msg);
  error_free(err);
}
END_TEST

START_TEST(helper_store_and_erase)
{
  struct credhelper_opts o = {.path = tmp, .timeout_ms = 5000};
  cleanup_free char *in = xasprintf("%s/in", tmp);
  cleanup_free char *body =
      xasprintf("cat > %s.$1; [ \"$1\" != erase ] || [ \"$(cat %s.erase)\" = r.example ] || "
                "{ echo 'credentials not found in native keychain'; exit 1; }",
                in, in);
  cleanup_buf struct buf b = BUF_INIT;
  struct error *err = NULL;

  helper("st", body);
  ck_assert_int_eq(credhelper_store(&o, "st", "r.example", "u", "p\"w", &err), 0);
  {
    cleanup_free char *f = xasprintf("%s.store", in);
    ck_assert_int_eq(read_file(f, 4096, &b), 0);
    ck_assert_str_eq(b.data,
                     "{\"ServerURL\":\"r.example\",\"Username\":\"u\",\"Secret\":\"p\\\"w\"}");
  }
  ck_assert_int_eq(credhelper_erase(&o, "st", "r.example", &err), 1);
  ck_assert_int_eq(credhelper_erase(&o, "st", "q.example", &err), 0);
  ck_assert_ptr_null(err);
}
END_TEST

Suite *
auth_creds_suite(void)
{
  Suite *s = suite_create("auth_creds");
  TCase *pure = tcase_create("pure");
  TCase *files = tcase_create("files");

  tcase_add_loop_test(pure, lookup_in_dockers_order, 0, ARRAY_SIZE(lookup_cases));
  tcase_add_loop_test(pure, config_keys, 0, ARRAY_SIZE(key_cases));
  tcase_add_loop_test(pure, helper_answers, 0, ARRAY_SIZE(answer_cases));
  tcase_add_loop_test(pure, token_form, 0, ARRAY_SIZE(form_cases));
  tcase_add_loop_test(pure, post_falls_back, 0, ARRAY_SIZE(fallback_cases));
  tcase_add_test(pure, login_scopes);
  suite_add_tcase(s, pure);
  tcase_add_checked_fixture(files, tmp_setup, tmp_teardown);
  tcase_add_test(files, save_keeps_other_keys);
  tcase_add_test(files, describe_source);
  tcase_add_test(files, helper_runs);
  tcase_add_test(files, helper_fails_clearly);
  tcase_add_test(files, helper_hang_is_killed);
  tcase_add_test(files, helper_store_and_erase);
  tcase_set_timeout(files, 60);
  suite_add_tcase(s, files);
  return s;
}
