/* Pulls from registries that want credentials or TLS (tests/testbed/
 * secure-registries: htpasswd Basic auth, Bearer tokens from tokensrv.c, TLS
 * from a private CA), and `--k8s` against a containerd with the CRI plugin.
 *
 * Each registry holds secure/busybox:v1 … v4, every one with a layer no other
 * image has, so that each pull below really fetches a blob through the
 * authentication or TLS under test (content is shared between namespaces).
 * Tags used: token v1 --user, v2 DOCKER_CONFIG, v3 --debug, v4 ctr side by
 * side; basic v1 --user, v2 DOCKER_CONFIG, v3 --debug --user, v4 --debug with
 * DOCKER_CONFIG; TLS v1 [host] ca, v2 server + ca, v3 relative ca path. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "e2e.h"
#include "util.h"

/* The shell's way to the top of the repository: the binary under test is
 * ./ctrx, or build-san/ctrx of a sanitized build. */

#define WRONG_PASS "Wr0ng-Pa55w0rd-zq"

static char *secure_dir;

/* Every KEY=VALUE line of secure.env goes into the environment, for the shell
 * commands ("$SECURE_PASS") and for e2e_env(). */
static void
secure_setup(void)
{
  secure_dir = e2e_secure_start("pull-secure");
}

static void
secure_teardown(void)
{
  e2e_secure_stop(&secure_dir);
}

/* "$SECURE_TOKEN" → "127.0.0.1:port/secure/busybox:TAG" */
static char *
image_at(const char *registry_var, const char *tag)
{
  return xasprintf("%s/%s:%s", e2e_env(registry_var), e2e_env("SECURE_REPO"), tag);
}

static char *
digest_of(const char *kind, const char *tag)
{
  cleanup_free char *var = xasprintf("SECURE_DIGEST_%s_%s", kind, tag);
  return xstrdup(e2e_env(var));
}

/* The pull worked: the image record names the pushed manifest, the image
 * runs, and no lease stayed behind. */
static void
check_pulled(const char *ns, const char *image, const char *digest, const struct e2e_out *p)
{
  cleanup_e2e_out struct e2e_out l = {0}, r = {0};
  cleanup_free char *line = xasprintf("%s %s from ", image, digest);

  ck_assert_msg(strstr(p->out, line) == p->out, "stdout: %s\nwanted: %s", p->out, line);
  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls | awk 'NR > 1 {print $1, $3}'", ns);
  {
    cleanup_free char *want = xasprintf("%s %s\n", image, digest);
    ck_assert_str_eq(l.out, want);
  }
  ck_assert_msg(
      e2e_sh(&r, NULL, "$CTR -a \"$ADDR\" -n %s run --rm %s secure-run echo ok", ns, image) == 0,
      "ctr run: %s%s", r.out, r.err);
  ck_assert_str_eq(r.out, "ok\n");
  e2e_assert_no_lease(ns);
}

/* DIR/config.json for REGISTRY (host:port): "auth" (base64 of user:password)
 * when AS_AUTH, else "username" and "password". Returns DIR. */
static char *
docker_config(const char *tag, const char *registry, bool as_auth)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/docker-config-%s", secure_dir, tag);

  if (as_auth)
    e2e_sh(
        &o, NULL,
        "mkdir -p %1$s && a=$(printf '%%s:%%s' \"$SECURE_USER\" \"$SECURE_PASS\" | base64 -w0) && "
        "printf '{\"auths\": {\"%2$s\": {\"auth\": \"%%s\"}}}\\n' \"$a\" > %1$s/config.json",
        dir, registry);
  else
    e2e_sh(&o, NULL,
           "mkdir -p %1$s && printf '{\"auths\": {\"http://%2$s\": {\"username\": \"%%s\", "
           "\"password\": \"%%s\"}}}\\n' \"$SECURE_USER\" \"$SECURE_PASS\" > %1$s/config.json",
           dir, registry);
  ck_assert_msg(o.status == 0, "%s", o.err);
  return dir;
}

/* The lines of the token server's log, all of them so far. */
static char *
token_log(void)
{
  struct buf b = BUF_INIT;
  ck_assert_int_eq(read_file(e2e_env("SECURE_TOKEN_LOG"), 1 << 20, &b), 0);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

/* --- token auth --- */

START_TEST(token_with_user_flag)
{
  cleanup_free char *ns = e2e_namespace("sec-token");
  cleanup_free char *img = image_at("SECURE_TOKEN", "v1");
  cleanup_free char *digest = digest_of("TOKEN", "V1");
  cleanup_free char *log = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  ck_assert_msg(e2e_sh(&p, NULL,
                       "$CTRX -a \"$ADDR\" -n %s pull --user \"$SECURE_USER:$SECURE_PASS\" %s", ns,
                       img) == 0,
                "%s%s", p.out, p.err);
  check_pulled(ns, img, digest, &p);
  /* The token came from our server, for the user, with the pull scope. */
  log = token_log();
  ck_assert_msg(strstr(log, " user scope=repository:secure/busybox:pull token=") != NULL, "%s",
                log);
  e2e_clean_namespace(ns);
}
END_TEST

START_TEST(token_with_docker_config)
{
  cleanup_free char *ns = e2e_namespace("sec-token-cfg");
  cleanup_free char *img = image_at("SECURE_TOKEN", "v2");
  cleanup_free char *digest = digest_of("TOKEN", "V2");
  cleanup_free char *cfg = docker_config("token", e2e_env("SECURE_TOKEN"), false);
  cleanup_e2e_out struct e2e_out p = {0};

  ck_assert_msg(
      e2e_sh(&p, NULL, "DOCKER_CONFIG=%s $CTRX -a \"$ADDR\" -n %s pull %s", cfg, ns, img) == 0,
      "%s%s", p.out, p.err);
  check_pulled(ns, img, digest, &p);
  e2e_clean_namespace(ns);
}
END_TEST

/* ctr pulls the same image with the same credentials: the same image record,
 * snapshots and content labels. */
START_TEST(token_same_as_ctr)
{
  cleanup_free char *a = e2e_namespace("sec-token-ctrx");
  cleanup_free char *b = e2e_namespace("sec-token-ctr");
  cleanup_free char *img = image_at("SECURE_TOKEN", "v4");
  cleanup_e2e_out struct e2e_out x = {0}, c = {0};

  ck_assert_msg(e2e_sh(&x, NULL,
                       "$CTRX -a \"$ADDR\" -n %s pull --user \"$SECURE_USER:$SECURE_PASS\" %s", a,
                       img) == 0,
                "%s", x.err);
  ck_assert_msg(
      e2e_sh(&c, NULL,
             "$CTR -a \"$ADDR\" -n %s images pull --user \"$SECURE_USER:$SECURE_PASS\" %s", b,
             img) == 0,
      "%s", c.err);
  e2e_assert_same_image(a, b);
  e2e_clean_namespace(a);
  e2e_clean_namespace(b);
}
END_TEST

/* --- Basic auth --- */

START_TEST(basic_with_user_flag)
{
  cleanup_free char *ns = e2e_namespace("sec-basic");
  cleanup_free char *img = image_at("SECURE_BASIC", "v1");
  cleanup_free char *digest = digest_of("BASIC", "V1");
  cleanup_e2e_out struct e2e_out p = {0};

  ck_assert_msg(e2e_sh(&p, NULL,
                       "$CTRX -a \"$ADDR\" -n %s pull -u \"$SECURE_USER:$SECURE_PASS\" %s", ns,
                       img) == 0,
                "%s%s", p.out, p.err);
  check_pulled(ns, img, digest, &p);
  e2e_clean_namespace(ns);
}
END_TEST

START_TEST(basic_with_docker_config)
{
  cleanup_free char *ns = e2e_namespace("sec-basic-cfg");
  cleanup_free char *img = image_at("SECURE_BASIC", "v2");
  cleanup_free char *digest = digest_of("BASIC", "V2");
  cleanup_free char *cfg = docker_config("basic", e2e_env("SECURE_BASIC"), true);
  cleanup_e2e_out struct e2e_out p = {0};

  ck_assert_msg(
      e2e_sh(&p, NULL, "DOCKER_CONFIG=%s $CTRX -a \"$ADDR\" -n %s pull %s", cfg, ns, img) == 0,
      "%s%s", p.out, p.err);
  check_pulled(ns, img, digest, &p);
  e2e_clean_namespace(ns);
}
END_TEST

/* --- refused credentials --- */

static const struct {
  const char *registry_var;
  const char *creds; /* what --user gets; NULL: no credentials at all */
  const char *says;  /* in the error */
} refused[] = {
    {"SECURE_BASIC", "$SECURE_USER:" WRONG_PASS, "denied"},
    {"SECURE_TOKEN", "$SECURE_USER:" WRONG_PASS, "401"},
    {"SECURE_BASIC", NULL, "credentials"},
    {"SECURE_TOKEN", NULL, "denied"},
};

START_TEST(refused_is_clear_and_leaves_nothing)
{
  cleanup_free char *ns = e2e_namespace("sec-refused");
  cleanup_free char *img = image_at(refused[_i].registry_var, "v1");
  cleanup_free char *user =
      refused[_i].creds ? xasprintf("--user \"%s\"", refused[_i].creds) : xstrdup("");
  cleanup_e2e_out struct e2e_out p = {0}, d = {0};

  ck_assert_int_eq(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s pull %s %s", ns, user, img), 1);
  ck_assert_msg(str_has_prefix(p.err, "ctrx: ") && strstr(p.err, img) != NULL &&
                    strstr(p.err, refused[_i].says) != NULL,
                "wanted 'ctrx: …%s…' naming %s, got: %s", refused[_i].says, img, p.err);
  ck_assert_msg(strchr(p.err, '\n') == p.err + strlen(p.err) - 1, "one line: %s", p.err);
  ck_assert_msg(strstr(p.err, WRONG_PASS) == NULL, "%s", p.err);
  /* and with --debug, the wrong password shows nowhere either */
  ck_assert_int_eq(
      e2e_sh(&d, NULL, "$CTRX -a \"$ADDR\" -n %s --debug pull %s %s 2>&1", ns, user, img), 1);
  ck_assert_msg(strstr(d.out, WRONG_PASS) == NULL, "%s", d.out);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* --- --debug never shows a secret --- */

static const struct {
  const char *registry_var;
  const char *kind;
  bool docker_config; /* credentials from config.json, else --user */
} debugged[] = {
    {"SECURE_TOKEN", "TOKEN", false},
    {"SECURE_BASIC", "BASIC", false},
    {"SECURE_BASIC", "BASIC", true},
};

START_TEST(debug_shows_no_secret)
{
  cleanup_free char *ns = e2e_namespace("sec-debug");
  /* --user pulls take v3, the config.json one v4 */
  const char *tag = debugged[_i].docker_config ? "v4" : "v3";
  cleanup_free char *img = image_at(debugged[_i].registry_var, tag);
  cleanup_free char *cfg = NULL, *log = NULL, *b64 = NULL, *blob_get = NULL;
  cleanup_e2e_out struct e2e_out p = {0}, enc = {0};
  size_t tokens = 0;

  if (debugged[_i].docker_config)
    cfg = docker_config("debug", e2e_env(debugged[_i].registry_var), true);
  ck_assert_msg(e2e_sh(&p, NULL, "%s%s $CTRX -a \"$ADDR\" -n %s --debug pull %s %s 2>&1",
                       cfg ? "DOCKER_CONFIG=" : "", cfg ? cfg : "", ns,
                       cfg ? "" : "--user \"$SECURE_USER:$SECURE_PASS\"", img) == 0,
                "%s", p.out);
  /* It did log the authorized requests, blobs included... */
  blob_get = xasprintf("ctrx: registry GET http://%s/v2/secure/busybox/blobs/sha256:",
                       e2e_env(debugged[_i].registry_var));
  ck_assert_msg(strstr(p.out, blob_get) != NULL, "%s", p.out);
  ck_assert_msg(strstr(p.out, "[Authorization: <redacted>] -> 200") != NULL, "%s", p.out);
  /* ...but neither the password, nor user:password in base64, nor a token. */
  ck_assert_msg(strstr(p.out, e2e_env("SECURE_PASS")) == NULL, "password in:\n%s", p.out);
  e2e_sh(&enc, NULL, "printf '%%s:%%s' \"$SECURE_USER\" \"$SECURE_PASS\" | base64 -w0");
  b64 = xstrdup(enc.out);
  ck_assert_int_gt(strlen(b64), 8);
  /* also without the padding, in case a header is cut short */
  b64[strcspn(b64, "=")] = '\0';
  ck_assert_msg(strstr(p.out, b64) == NULL, "base64 credentials in:\n%s", p.out);
  log = token_log();
  for (char *t = strstr(log, "token="); t != NULL; t = strstr(t, "token=")) {
    size_t n;
    char *sig;
    t += 6;
    n = strcspn(t, "\n");
    cleanup_free char *token = xstrndup(t, n);
    ck_assert_msg(strstr(p.out, token) == NULL, "token in:\n%s", p.out);
    /* its signature is the part nobody could make up */
    sig = strrchr(token, '.');
    ck_assert_ptr_nonnull(sig);
    ck_assert_msg(strstr(p.out, sig + 1) == NULL, "token signature in:\n%s", p.out);
    tokens++;
  }
  if (strcmp(debugged[_i].kind, "TOKEN") == 0)
    ck_assert_msg(tokens > 0, "no token was issued: %s", log);
  e2e_clean_namespace(ns);
}
END_TEST

/* --- TLS with a private CA from hosts.toml --- */

static const struct {
  const char *tag;
  const char *toml; /* %1$s host:port, %2$s the CA file */
  bool copy_ca;     /* ca.pem next to hosts.toml (a relative ca path) */
} tls_cases[] = {
    {"v1", "[host.\"https://%1$s\"]\n  ca = \"%2$s\"\n", false},
    {"v2", "server = \"https://%1$s\"\nca = \"%2$s\"\n", false},
    {"v3", "server = \"https://%1$s\"\nca = \"ca.pem\"\n", true},
};

static char *
tls_hosts_dir(const char *name, const char *toml_fmt, bool copy_ca)
{
  const char *reg = e2e_env("SECURE_TLS");
  char *dir = xasprintf("%s/hosts-%s", secure_dir, name);
  cleanup_free char *host_dir = xasprintf("%s/%s", dir, reg);
  cleanup_free char *file = xasprintf("%s/hosts.toml", host_dir);
  cleanup_e2e_out struct e2e_out o = {0};
  FILE *f;

  ck_assert_int_eq(e2e_sh(&o, NULL, "mkdir -p '%s' && { [ %d = 0 ] || cp \"$SECURE_CA\" '%s/'; }",
                          host_dir, (int)copy_ca, host_dir),
                   0);
  f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  /* v3 uses only %1$s: the excess argument is ignored (C11 7.21.6.1) */
  /* cppcheck-suppress wrongPrintfScanfArgNum */
  fprintf(f, toml_fmt, reg, e2e_env("SECURE_CA"));
  ck_assert_int_eq(fclose(f), 0);
  return dir;
}

START_TEST(tls_private_ca)
{
  cleanup_free char *ns = e2e_namespace("sec-tls");
  cleanup_free char *img = image_at("SECURE_TLS", tls_cases[_i].tag);
  cleanup_free char *tag_uc = xstrdup(tls_cases[_i].tag);
  cleanup_free char *digest = NULL;
  cleanup_free char *dir =
      tls_hosts_dir(tls_cases[_i].tag, tls_cases[_i].toml, tls_cases[_i].copy_ca);
  cleanup_e2e_out struct e2e_out p = {0};
  cleanup_free char *from = xasprintf(" from https://%s/v2 ", e2e_env("SECURE_TLS"));

  tag_uc[0] = 'V';
  digest = digest_of("TLS", tag_uc);
  ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull %s", ns, dir, img) ==
                    0,
                "%s\n%s%s", tls_cases[_i].toml, p.out, p.err);
  ck_assert_msg(strstr(p.out, from) != NULL, "%s", p.out);
  check_pulled(ns, img, digest, &p);
  e2e_clean_namespace(ns);
}
END_TEST

/* Without the CA, the certificate is not trusted: a clear error, nothing left. */
START_TEST(tls_without_ca_is_refused)
{
  cleanup_free char *ns = e2e_namespace("sec-tls-noca");
  cleanup_free char *img = image_at("SECURE_TLS", "v1");
  cleanup_free char *dir = tls_hosts_dir("noca", "server = \"https://%1$s\"\n", false);
  cleanup_e2e_out struct e2e_out p = {0};

  ck_assert_int_eq(
      e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull %s", ns, dir, img), 1);
  ck_assert_msg(str_has_prefix(p.err, "ctrx: ") && strstr(p.err, "certificate") != NULL, "%s",
                p.err);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* --- --k8s against a containerd with CRI --- */

static char *cri_dir; /* $CTRX_TEST_ROOT/pull-secure-cri */
static char *cri_sock;
static char *cri_broken; /* why CRI did not come up, NULL when it did */

static void
cri_setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0}, pl = {0};

  cri_dir = xasprintf("%s/pull-secure-cri", e2e_env("CTRX_TEST_ROOT"));
  cri_sock = xasprintf("%s/containerd.sock", cri_dir);
  /* CRI creates /etc/cni/net.d if it is missing, and runs without a network
   * config (only pods need one). */
  e2e_sh(&o, NULL, E2E_AT_TOP "tests/testbed/testbed start-containerd %s pull-secure-cri cri",
         e2e_env("CTRX_TEST_ROOT"));
  if (o.status != 0) {
    cri_broken = xasprintf("containerd with CRI did not start: %s%s", o.out, o.err);
    return;
  }
  e2e_sh(&pl, NULL, "$CTR -a %s plugins ls | awk '$2 == \"cri\" {print $NF}'", cri_sock);
  if (strcmp(pl.out, "ok\n") != 0) {
    cleanup_e2e_out struct e2e_out log = {0};
    e2e_sh(&log, NULL, "grep -i cri %s/containerd.log | tail -5", cri_dir);
    cri_broken = xasprintf("the CRI plugin is not ok (status '%.*s'): %s",
                           (int)strcspn(pl.out, "\n"), pl.out, log.out);
  }
}

static void
cri_teardown(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *pidfile = xasprintf("%s/containerd.pid", cri_dir);
  cleanup_buf struct buf pidb = BUF_INIT;
  int64_t pid = 0;

  if (read_file(pidfile, 64, &pidb) == 0) {
    buf_add(&pidb, "", 0);
    pidb.data[strcspn(pidb.data, "\n")] = '\0';
    if (parse_int64(pidb.data, 10, &pid) == 0 && pid > 1) {
      kill((pid_t)pid, SIGTERM);
      for (int i = 0; i < 50 && kill((pid_t)pid, 0) == 0; i++)
        usleep(100000);
      kill((pid_t)pid, SIGKILL);
    }
  }
  e2e_sh(&o, NULL,
         "for m in $(awk -v d='%1$s/' 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do "
         "umount $m 2>/dev/null || umount -l $m; done; rm -rf '%1$s'",
         cri_dir);
  free(cri_dir);
  free(cri_sock);
  free(cri_broken);
  cri_dir = cri_sock = cri_broken = NULL;
}

/* Image records in k8s.io once CRI has labelled NAME and its image-ID record
 * (sha256:<config>) managed — it does so on the image event: one line per
 * record, "REF LABELS TYPE DIGEST", sorted. */
static char *
k8s_images_when_managed(const char *name)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *want = xasprintf("%s io.cri-containerd.image=managed ", name);

  for (int i = 0; i < 100; i++) {
    const char *id;
    e2e_sh(&o, NULL, "$CTR -a %s -n k8s.io images ls | awk 'NR > 1 {print $1, $NF, $2, $3}' | sort",
           cri_sock);
    id = strstr(o.out, "\nsha256:");
    if (str_has_prefix(o.out, want) && id != NULL &&
        strstr(id, " io.cri-containerd.image=managed ") != NULL)
      return xstrdup(o.out);
    usleep(100000);
  }
  ck_abort_msg("CRI did not label %s managed within 10 s:\n%s", name, o.out);
  return NULL;
}

START_TEST(k8s_pull_is_managed_by_cri)
{
  cleanup_free char *img = xasprintf("%s/test/multi:oci", e2e_env("CTRX_TEST_REGISTRY"));
  cleanup_free char *by_ctrx = NULL, *by_ctr = NULL;
  cleanup_e2e_out struct e2e_out p = {0}, rm = {0}, c = {0}, r = {0};

  /* The test bed's containerd has CRI built in: a CRI that does not come up
   * is a failure of the test bed, never a reason to pass without testing. */
  ck_assert_msg(cri_broken == NULL, "%s", cri_broken);
  ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a %s --k8s pull %s", cri_sock, img) == 0, "%s", p.err);
  by_ctrx = k8s_images_when_managed(img);
  /* the image runs from k8s.io; runc keeps its state by namespace, not by
   * daemon (/run/containerd/runc/k8s.io), so the container's name is this
   * run's alone, as test beds may run side by side */
  ck_assert_msg(e2e_sh(&r, NULL, "$CTR -a %s -n k8s.io run --rm %s k8s-run-%d echo ok", cri_sock,
                       img, (int)getpid()) == 0,
                "%s", r.err);
  ck_assert_str_eq(r.out, "ok\n");
  /* Forget it, and let ctr pull it: CRI must end up with the same records. */
  ck_assert_int_eq(e2e_sh(&rm, NULL,
                          "$CTR -a %1$s -n k8s.io images rm --sync $($CTR -a %1$s -n k8s.io "
                          "images ls -q) >/dev/null",
                          cri_sock),
                   0);
  ck_assert_msg(e2e_sh(&c, NULL, "$CTR -a %s -n k8s.io images pull %s", cri_sock, img) == 0, "%s",
                c.err);
  by_ctr = k8s_images_when_managed(img);
  ck_assert_msg(strcmp(by_ctrx, by_ctr) == 0, "after ctrx --k8s pull:\n%s\nafter ctr pull:\n%s",
                by_ctrx, by_ctr);
}
END_TEST

Suite *
pull_secure_suite(void)
{
  Suite *s = suite_create("pull_secure");
  TCase *a = tcase_create("auth");
  TCase *t = tcase_create("tls");
  TCase *k = tcase_create("k8s");

  tcase_set_timeout(a, 60);
  tcase_add_unchecked_fixture(a, secure_setup, secure_teardown);
  tcase_add_test(a, token_with_user_flag);
  tcase_add_test(a, token_with_docker_config);
  tcase_add_test(a, token_same_as_ctr);
  tcase_add_test(a, basic_with_user_flag);
  tcase_add_test(a, basic_with_docker_config);
  tcase_add_loop_test(a, refused_is_clear_and_leaves_nothing, 0, (int)ARRAY_SIZE(refused));
  tcase_add_loop_test(a, debug_shows_no_secret, 0, (int)ARRAY_SIZE(debugged));
  suite_add_tcase(s, a);

  /* A test case of its own, so that make mutation can run it alone. */
  tcase_set_timeout(t, 60);
  tcase_add_unchecked_fixture(t, secure_setup, secure_teardown);
  tcase_add_loop_test(t, tls_private_ca, 0, (int)ARRAY_SIZE(tls_cases));
  tcase_add_test(t, tls_without_ca_is_refused);
  suite_add_tcase(s, t);

  tcase_set_timeout(k, 60);
  tcase_add_unchecked_fixture(k, cri_setup, cri_teardown);
  tcase_add_test(k, k8s_pull_is_managed_by_cri);
  suite_add_tcase(s, k);
  return s;
}
