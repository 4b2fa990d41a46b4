/* A hostile registry and its accomplices (tests/testbed/faultsrv.c): a
 * redirect to another origin must carry no credential and no configured
 * header, a token must not inject header lines, a lying size must not make
 * the pull read without bound, what a server says must not reach the terminal
 * raw, a CA file that is no PEM must be an error, and a manifest fetched on
 * the GET fallback of a resolve by digest must match that digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

#define BASIC_SECRET "B4sic-S3cret-qx"
#define HEADER_SECRET "H3ader-S3cret-qx"
#define HEADER_AUTH_SECRET "H3aderAuth-S3cret-qx"

static char faults_env[4096];

static char *
faults_dir(void)
{
  return xasprintf("%s/faults-hostile", e2e_env("CTRX_TEST_ROOT"));
}

static void
hostile_start(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = faults_dir();
  cleanup_free char *testbed = e2e_testbed();

  ck_assert_msg(e2e_sh(&o, NULL, "FAULTSRV_WATCH_PID=%d %.1000s start-faults %.1000s 0 $REG 3",
                       (int)getpid(), testbed, dir) == 0,
                "start-faults: %.1000s%.1000s", o.out, o.err);
  snprintf(faults_env, sizeof(faults_env), "%s", o.out);
}

static void
hostile_stop(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = faults_dir();
  cleanup_free char *testbed = e2e_testbed();

  e2e_sh(&o, NULL, "%s stop-faults %s", testbed, dir);
}

/* host:port of a fault mode, or of the real registry for "good". */
static char *
addr(const char *mode)
{
  char key[64];
  const char *at;

  if (strcmp(mode, "good") == 0)
    return xstrdup(e2e_env("CTRX_TEST_REGISTRY"));
  snprintf(key, sizeof(key), "FAULT_%s=", mode);
  for (char *p = key + 6; *p != '='; p++)
    *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  at = strstr(faults_env, key);
  ck_assert_msg(at != NULL, "fault server has no %.1000s mode:\n%.1000s", mode, faults_env);
  at += strlen(key);
  return xstrndup(at, strcspn(at, "\n"));
}

/* A hosts directory for docker.io: SERVER as `server`, MIRROR (NULL: none)
 * as the one [host] with pull and resolve, and EXTRA lines in its table. */
static char *
hosts_dir(const char *tag, const char *server, const char *mirror, const char *extra)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/hosts-hostile-%d-%s", e2e_env("CTRX_TEST_ROOT"), (int)getpid(), tag);
  cleanup_free char *file = xasprintf("%s/docker.io/hosts.toml", dir);
  cleanup_free char *s = addr(server);
  struct buf b = BUF_INIT;
  FILE *f;

  buf_addf(&b, "server = \"http://%s\"\n", s);
  if (mirror != NULL) {
    cleanup_free char *m = addr(mirror);
    buf_addf(&b, "[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n%s", m,
             extra ? extra : "");
  }
  ck_assert_int_eq(e2e_sh(&o, NULL, "mkdir -p %s/docker.io", dir), 0);
  f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fwrite(b.data, 1, b.len, f);
  ck_assert_int_eq(fclose(f), 0);
  buf_release(&b);
  return dir;
}

/* Push an image only this test pulls: "hostile/<tag>-<pid>:v1"; its
 * manifest digest into *digest when not NULL. */
static char *
push_unique(const char *tag, char **digest)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *testbed = e2e_testbed();
  char *name = xasprintf("hostile/%s-%d:v1", tag, (int)getpid());
  cleanup_free char *repo = xstrndup(name, strlen(name) - 3);

  ck_assert_msg(e2e_sh(&o, NULL, "%.1000s push-unique %.1000s/unique $REG %.1000s v1", testbed,
                       e2e_env("CTRX_TEST_ROOT"), repo) == 0,
                "push-unique: %.1000s", o.err);
  if (digest != NULL) {
    const char *d = strstr(o.out, "sha256:");
    ck_assert_msg(d != NULL, "push-unique printed no digest: %.1000s", o.out);
    *digest = xstrndup(d, 71);
  }
  return name;
}

static char *
state_dir(void)
{
  char *d = xasprintf("%s/state-XXXXXX", e2e_env("CTRX_TEST_ROOT"));
  ck_assert_ptr_nonnull(mkdtemp(d));
  return d;
}

/* The fault server's log from byte FROM on. */
static char *
fault_log(size_t from)
{
  cleanup_free char *dir = faults_dir();
  cleanup_free char *path = xasprintf("%s/faultsrv.log", dir);
  struct buf b = BUF_INIT;

  ck_assert_int_eq(read_file(path, 64 << 20, &b), 0);
  buf_add(&b, "", 0);
  if (from > b.len)
    from = b.len;
  buf_consume(&b, from);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

static size_t
fault_log_size(void)
{
  cleanup_free char *log = fault_log(0);
  return strlen(log);
}

/* The error ctrx ended with: its last line that starts "ctrx: " and is no warning. */
static char *
final_error(const char *err)
{
  const char *last = NULL;

  for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, "ctrx: ", 6) == 0 && strncmp(l, "ctrx: warning: ", 15) != 0)
      last = l;
  ck_assert_msg(last != NULL, "no error line: %.1000s", err);
  return xstrndup(last, strcspn(last, "\n"));
}

/* ctrx [FLAGS] pull [PULL_FLAGS] NAME into NS through HOSTS. */
static void
pull(struct e2e_out *o, const char *ns, const char *hosts, const char *flags,
     const char *pull_flags, const char *name)
{
  cleanup_free char *state = state_dir();

  e2e_sh(o, NULL, "CTRX_STATE_DIR=%s $CTRX -a \"$ADDR\" -n %s %s --hosts-dir %s pull %s %s", state,
         ns, flags, hosts, pull_flags, name);
}

/* LOG has a line with A and, after it, B. */
static bool
has_line(const char *log, const char *a, const char *b)
{
  for (const char *l = strstr(log, a); l; l = strstr(l + 1, a)) {
    const char *found = strstr(l, b);
    if (found != NULL && found < l + strcspn(l, "\n"))
      return true;
  }
  return false;
}

/* The lines of LOG that headerlog received, or fail when there is none. */
static void
assert_headerlog_clean(const char *log, const char *const *secrets)
{
  ck_assert_msg(strstr(log, "headerlog: > ") != NULL, "the other origin received nothing:\n%.1000s",
                log);
  for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    size_t n = strcspn(l, "\n");
    cleanup_free char *line = xstrndup(l, n);
    if (strstr(line, "headerlog: > ") == NULL)
      continue;
    ck_assert_msg(strcasestr(line, "> authorization:") == NULL,
                  "the other origin received credentials: %.1000s", line);
    for (size_t i = 0; secrets[i]; i++)
      ck_assert_msg(strstr(line, secrets[i]) == NULL, "the other origin received %.1000s: %.1000s",
                    secrets[i], line);
  }
}

/* The token endpoint answers 302 to another origin: the Basic credentials
 * of --user stay behind, and the token from there still works. */
START_TEST(token_redirect_keeps_credentials)
{
  static const char *const secrets[] = {BASIC_SECRET, NULL};
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *name = push_unique("tokredir", NULL);
  cleanup_free char *hosts = hosts_dir("tokredir", "tokenredirect", NULL, NULL);
  cleanup_free char *log = NULL;
  cleanup_e2e_out struct e2e_out p = {0};
  size_t from = fault_log_size();

  pull(&p, ns, hosts, "", "--user someone:" BASIC_SECRET, name);
  ck_assert_msg(p.status == 0, "%.1000s%.1000s", p.out, p.err);
  log = fault_log(from);
  ck_assert_msg(strstr(log, "headerlog: GET /token?") != NULL,
                "no token request redirected:\n%.1000s", log);
  assert_headerlog_clean(log, secrets);
  e2e_clean_namespace(ns);
}
END_TEST

/* Manifests and blobs answer 302 to another origin: neither the headers of
 * hosts.toml (Authorization among them) nor --user's credentials go along,
 * and --debug names the configured headers without their values. */
START_TEST(redirect_keeps_configured_headers)
{
  static const char *const secrets[] = {HEADER_SECRET, HEADER_AUTH_SECRET, BASIC_SECRET, NULL};
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *name = push_unique("xredir", NULL);
  cleanup_free char *hosts = hosts_dir("xredir", "500", "xredirect",
                                       "  [host.\"http://MIRROR\".header]\n"
                                       "    X-Auth-Token = \"" HEADER_SECRET "\"\n"
                                       "    Authorization = \"Bearer " HEADER_AUTH_SECRET "\"\n");
  cleanup_free char *log = NULL;
  cleanup_e2e_out struct e2e_out p = {0}, fix = {0};
  cleanup_free char *m = addr("xredirect");
  size_t from;

  /* the header table is the mirror's own */
  e2e_sh(&fix, NULL, "sed -i 's/MIRROR/%s/' %s/docker.io/hosts.toml", m, hosts);
  ck_assert_int_eq(fix.status, 0);
  from = fault_log_size();
  pull(&p, ns, hosts, "--debug", "--user someone:" BASIC_SECRET, name);
  ck_assert_msg(p.status == 0, "%.1000s%.1000s", p.out, p.err);
  log = fault_log(from);
  ck_assert_msg(strstr(log, "headerlog: HEAD /v2/hostile/xredir-") != NULL,
                "no manifest HEAD redirected:\n%.1000s", log);
  ck_assert_msg(strstr(log, "headerlog: GET /v2/hostile/xredir-") != NULL &&
                    strstr(log, "/blobs/sha256:") != NULL,
                "no blob GET redirected:\n%.1000s", log);
  ck_assert_msg(has_line(log, "headerlog: GET /v2/hostile/xredir-", "/manifests/sha256:"),
                "no manifest GET redirected:\n%.1000s", log);
  assert_headerlog_clean(log, secrets);
  /* --debug: the names, never the values */
  for (size_t i = 0; secrets[i]; i++)
    ck_assert_msg(strstr(p.err, secrets[i]) == NULL && strstr(p.out, secrets[i]) == NULL,
                  "--debug shows %.1000s:\n%.1000s", secrets[i], p.err);
  ck_assert_msg(strstr(p.err, "X-Auth-Token: <redacted>") != NULL, "%.1000s", p.err);
  e2e_clean_namespace(ns);
}
END_TEST

/* --debug logs every request with its headers: those of hosts.toml by name,
 * never with their values. */
START_TEST(debug_shows_configured_header_names_only)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *name = push_unique("dbghdr", NULL);
  cleanup_free char *hosts = hosts_dir("dbghdr", "500", "good",
                                       "  [host.\"http://MIRROR\".header]\n"
                                       "    X-Auth-Token = \"" HEADER_SECRET "\"\n"
                                       "    X-Plain = \"" HEADER_AUTH_SECRET "\"\n");
  cleanup_free char *m = addr("good");
  cleanup_e2e_out struct e2e_out p = {0}, fix = {0};

  e2e_sh(&fix, NULL, "sed -i 's/MIRROR/%s/' %s/docker.io/hosts.toml", m, hosts);
  ck_assert_int_eq(fix.status, 0);
  pull(&p, ns, hosts, "--debug", "", name);
  ck_assert_msg(p.status == 0, "%.1000s%.1000s", p.out, p.err);
  ck_assert_msg(strstr(p.err, "X-Auth-Token: <redacted>") != NULL &&
                    strstr(p.err, "X-Plain: <redacted>") != NULL,
                "no header named:\n%.1000s", p.err);
  ck_assert_msg(strstr(p.err, HEADER_SECRET) == NULL && strstr(p.out, HEADER_SECRET) == NULL &&
                    strstr(p.err, HEADER_AUTH_SECRET) == NULL &&
                    strstr(p.out, HEADER_AUTH_SECRET) == NULL,
                "--debug shows a configured header's value:\n%.1000s", p.err);
  e2e_clean_namespace(ns);
}
END_TEST

/* A token with CR LF in it would put a header line of the server's choosing
 * into every request: refused. */
START_TEST(token_with_crlf_refused)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *name = push_unique("crlf", NULL);
  cleanup_free char *hosts = hosts_dir("crlf", "crlftoken", NULL, NULL);
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, "", "", name);
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "token holds a control character") != NULL, "%.1000s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* A config that claims 1 GiB and streams 256 MiB without a length: the pull
 * refuses it at once and never holds it in memory. The bound is the feature:
 * peak RSS under 64 MiB (more for a sanitized build). */
START_TEST(lying_config_size_is_bounded)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *hosts = hosts_dir("bigcfg", "bigconfig", NULL, NULL);
  cleanup_free char *state = state_dir();
  cleanup_free char *rss_file = xasprintf("%s/rss", state);
  cleanup_free char *error = NULL;
  cleanup_buf struct buf rss = BUF_INIT;
  cleanup_e2e_out struct e2e_out p = {0};
  const char *bin = getenv("CTRX");
  bool san = bin != NULL && strstr(bin, "build-san") != NULL;
  long limit_kb = san ? 256 * 1024 : 64 * 1024;
  long kb = 0;

  ck_assert_msg(access("/usr/bin/time", X_OK) == 0, "this test needs /usr/bin/time (time)");
  e2e_sh(&p, NULL,
         "CTRX_STATE_DIR=%s /usr/bin/time -f %%M -o %s $CTRX -a \"$ADDR\" -n %s --hosts-dir %s "
         "pull hostile/bigconfig:v1",
         state, rss_file, ns, hosts);
  ck_assert_int_eq(read_file(rss_file, 4096, &rss), 0);
  buf_add(&rss, "", 0);
  {
    /* the last number of the file: /usr/bin/time adds a line when the command fails */
    const char *last = rss.data;
    for (const char *l = rss.data; *l; l++)
      if (l[0] == '\n' && l[1] >= '0' && l[1] <= '9')
        last = l + 1;
    kb = strtol(last, NULL, 10);
  }
  fprintf(stderr, "registry_hostile: pull against a lying config size: peak RSS %ld KiB\n", kb);
  ck_assert_msg(kb > 0 && kb < limit_kb, "peak RSS %ld KiB, over %ld KiB", kb, limit_kb);
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "byte limit") != NULL, "%.1000s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* A config longer than its descriptor says, chunked: that endpoint fails, the
 * error says why, and nothing of it is kept. */
START_TEST(config_longer_than_descriptor_fails)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *hosts = hosts_dir("longcfg", "longconfig", NULL, NULL);
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, "", "", "hostile/longconfig:v1");
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "more than the descriptor's 2 bytes") != NULL, "%.1000s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* Escape sequences, a forged "ctrx:" line and a long message from the server:
 * what reaches the terminal is one clean, short line. */
START_TEST(server_text_is_sanitized)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *hosts = hosts_dir("escape", "escape", NULL, NULL);
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, "", "", "hostile/escape:v1");
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  ck_assert_msg(strchr(p.err, '\033') == NULL && strchr(p.err, '\a') == NULL &&
                    strchr(p.err, '\r') == NULL && strstr(p.err, "\xc2\x9b") == NULL,
                "control characters reach the terminal: %.1000s", p.err);
  ck_assert_msg(strstr(p.err, "\nctrx: forged line") == NULL &&
                    strncmp(p.err, "ctrx: forged line", 17) != 0,
                "a forged line: %.1000s", p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "denied: status 403: ") != NULL && strstr(error, "forged line") &&
                    strstr(error, "-end-of-a-long-message") == NULL,
                "%.1000s", error);
}
END_TEST

/* A 1 MiB response header: an error that says so, not "Out of memory". */
START_TEST(huge_header_is_clear)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *hosts = hosts_dir("bighdr", "bigheader", NULL, NULL);
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, "", "", "hostile/bigheader:v1");
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "headers too large") != NULL, "%.1000s", error);
}
END_TEST

/* A `ca` file that is no PEM fails the endpoint, naming the file, instead of
 * being left out without a word. */
START_TEST(ca_not_pem_is_an_error)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *state = state_dir();
  cleanup_free char *ca = xasprintf("%s/not-a-ca.pem", state);
  cleanup_free char *extra = xasprintf("  ca = \"%s\"\n", ca);
  cleanup_free char *name = push_unique("capem", NULL);
  cleanup_free char *hosts = hosts_dir("capem", "500", "good", extra);
  cleanup_free char *error = NULL;
  cleanup_free char *want = xasprintf("CA file '%s' holds no PEM certificate", ca);
  cleanup_e2e_out struct e2e_out p = {0};
  FILE *f = fopen(ca, "w");

  ck_assert_ptr_nonnull(f);
  fputs("this is no certificate\n", f);
  ck_assert_int_eq(fclose(f), 0);
  pull(&p, ns, hosts, "", "", name);
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, want) != NULL, "%.1000s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* HEAD is refused (405), so resolving a digest falls back to GET, and the
 * body is not the one the digest names: the resolve fails on that endpoint. */
START_TEST(resolve_get_fallback_verifies_digest)
{
  cleanup_free char *ns = e2e_namespace("hostile");
  cleanup_free char *digest = NULL;
  cleanup_free char *name = push_unique("headfail", &digest);
  cleanup_free char *hosts = hosts_dir("headfail", "headfail", NULL, NULL);
  cleanup_free char *by_digest = xasprintf("%.*s@%s", (int)(strlen(name) - 3), name, digest);
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, "", "", by_digest);
  ck_assert_msg(p.status == 1, "status %d: %.1000s%.1000s", p.status, p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "resolve \"hostile/headfail-") != NULL &&
                    strstr(error, ": manifest digest is sha256:") != NULL,
                "%.1000s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

Suite *
registry_hostile_suite(void)
{
  Suite *s = suite_create("registry_hostile");
  TCase *t = tcase_create("hostile");

  tcase_set_timeout(t, 180);
  tcase_add_unchecked_fixture(t, hostile_start, hostile_stop);
  tcase_add_test(t, token_redirect_keeps_credentials);
  tcase_add_test(t, redirect_keeps_configured_headers);
  tcase_add_test(t, debug_shows_configured_header_names_only);
  tcase_add_test(t, token_with_crlf_refused);
  tcase_add_test(t, lying_config_size_is_bounded);
  tcase_add_test(t, config_longer_than_descriptor_fails);
  tcase_add_test(t, server_text_is_sanitized);
  tcase_add_test(t, huge_header_is_clear);
  tcase_add_test(t, ca_not_pem_is_an_error);
  tcase_add_test(t, resolve_get_fallback_verifies_digest);
  suite_add_tcase(s, t);
  return s;
}
