/* Mirror resilience against the real containerd and registry of the test bed
 * and the fault server (tests/testbed/faultsrv.c) in front of that registry:
 * sick mirrors listed before a good one, only sick mirrors, the endpoint
 * health memory across pulls, a damaged state file, `ctrx hosts check`, and
 * manifests that are too big or not JSON. Every pull is of an image pushed
 * for that test alone (testbed push-unique), into a fresh namespace, so that
 * its blobs really come over the wire: content is shared across namespaces
 * in containerd. Each test keeps its endpoint health in a state directory of
 * its own (CTRX_STATE_DIR). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

/* The fault modes the tests use, with the address each listens on. */
static struct {
  const char *mode;
  char addr[64];
} faults[] = {
    {"hang", ""},     {"slow", ""},      {"stall", ""},         {"500", ""},
    {"404", ""},      {"429", ""},       {"reset", ""},         {"corrupt", ""},
    {"truncate", ""}, {"badlength", ""}, {"redirect-loop", ""}, {"bigmanifest", ""},
    {"badjson", ""},  {"zerohead", ""},
};

static char *testbed; /* tests/testbed/testbed */

static char *
faults_dir(void)
{
  return xasprintf("%s/faults", e2e_env("CTRX_TEST_ROOT"));
}

/* Runs once per test case in the runner process: the fault server lives as
 * long as the runner (it watches this pid) and no longer than teardown. */
static void
faults_start(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = faults_dir();
  char *save = NULL;

  testbed = e2e_testbed();
  ck_assert_msg(e2e_sh(&o, NULL, "FAULTSRV_WATCH_PID=%d %s start-faults %s 0 $REG 3", (int)getpid(),
                       testbed, dir) == 0,
                "start-faults: %s%s", o.out, o.err);
  for (char *l = strtok_r(o.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    if (eq == NULL || strncmp(l, "FAULT_", 6) != 0)
      continue;
    *eq = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
      char name[32];
      snprintf(name, sizeof(name), "%s", faults[i].mode);
      for (char *p = name; *p; p++)
        *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
      if (strcmp(l + 6, name) == 0)
        snprintf(faults[i].addr, sizeof(faults[i].addr), "%s", eq + 1);
    }
  }
}

static void
faults_stop(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = faults_dir();

  e2e_sh(&o, NULL, "%s stop-faults %s", testbed, dir);
  free(testbed);
  testbed = NULL;
}

/* host:port of a fault mode, or of the real registry for "good". */
static const char *
addr(const char *name)
{
  if (strcmp(name, "good") == 0)
    return e2e_env("CTRX_TEST_REGISTRY");
  for (size_t i = 0; i < ARRAY_SIZE(faults); i++)
    if (strcmp(faults[i].mode, name) == 0) {
      ck_assert_msg(faults[i].addr[0] != '\0', "fault server has no %s mode", name);
      return faults[i].addr;
    }
  ck_abort_msg("unknown fault mode %s", name);
  return NULL;
}

/* "http://host:port/v2", as ctrx names an endpoint. */
static char *
base(const char *name)
{
  return xasprintf("http://%s/v2", addr(name));
}

/* A hosts directory for docker.io: SERVER as `server`, then MIRRORS (NULL
 * terminated) in order, each with pull and resolve. */
static char *
hosts_dir(const char *tag, const char *server, const char *const *mirrors)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/hosts-resil-%d-%s", e2e_env("CTRX_TEST_ROOT"), (int)getpid(), tag);
  cleanup_free char *file = xasprintf("%s/docker.io/hosts.toml", dir);
  struct buf b = BUF_INIT;
  FILE *f;

  buf_addf(&b, "server = \"http://%s\"\n", addr(server));
  for (size_t i = 0; mirrors[i]; i++)
    buf_addf(&b, "[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
             addr(mirrors[i]));
  ck_assert_int_eq(e2e_sh(&o, NULL, "mkdir -p %s/docker.io", dir), 0);
  f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fwrite(b.data, 1, b.len, f);
  ck_assert_int_eq(fclose(f), 0);
  buf_release(&b);
  return dir;
}

/* Push an image only this test pulls; returns its short name
 * ("resil/<tag>-<pid>:v1", docker.io by the hosts directory). */
static char *
push_unique(const char *tag)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *name = xasprintf("resil/%s-%d:v1", tag, (int)getpid());
  cleanup_free char *repo = xstrndup(name, strlen(name) - 3);

  ck_assert_msg(e2e_sh(&o, NULL, "%s push-unique %s/unique $REG %s v1", testbed,
                       e2e_env("CTRX_TEST_ROOT"), repo) == 0,
                "push-unique: %s", o.err);
  return name;
}

static char *
state_dir(void)
{
  char *d = xasprintf("%s/state-XXXXXX", e2e_env("CTRX_TEST_ROOT"));
  ck_assert_ptr_nonnull(mkdtemp(d));
  return d;
}

/* ctrx pull NAME into NS through HOSTS with health state in STATE; returns
 * how long it took in milliseconds. */
static int64_t
pull(struct e2e_out *o, const char *ns, const char *hosts, const char *state, const char *name,
     bool debug)
{
  int64_t t0 = now_ms();

  e2e_sh(o, NULL, "CTRX_STATE_DIR=%s $CTRX -a \"$ADDR\" -n %s %s--hosts-dir %s pull %s", state, ns,
         debug ? "--debug " : "", hosts, name);
  return now_ms() - t0;
}

/* The error ctrx ended with: its last line that starts "ctrx: " and is no
 * warning (progress lines on stderr also name endpoints). */
static char *
final_error(const char *err)
{
  const char *last = NULL;

  for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, "ctrx: ", 6) == 0 && strncmp(l, "ctrx: warning: ", 15) != 0)
      last = l;
  ck_assert_msg(last != NULL, "no error line: %s", err);
  return xstrndup(last, strchr(last, '\n') ? (size_t)(strchr(last, '\n') - last) : strlen(last));
}

/* What containerd holds in A (pulled through sick mirrors) is what ctr
 * leaves in B when it pulls NAME from the registry alone. */
static void
assert_same_as_clean_pull(const char *a, const char *name)
{
  static const char *const good_only[] = {"good", NULL};
  cleanup_free char *b = e2e_namespace("resil-clean");
  cleanup_free char *hosts = hosts_dir("clean", "good", good_only);
  cleanup_e2e_out struct e2e_out c = {0};

  ck_assert_msg(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s images pull --hosts-dir %s docker.io/%s",
                       b, hosts, name) == 0,
                "%s", c.err);
  e2e_assert_same_image(a, b);
  e2e_clean_namespace(b);
}

static const char *const five_bad[] = {"hang", "500", "corrupt", "truncate", "reset", NULL};

START_TEST(five_sick_mirrors_then_good)
{
  static const char *const mirrors[] = {"hang",  "500",  "corrupt", "truncate",
                                        "reset", "good", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *name = push_unique("five");
  cleanup_free char *hosts = hosts_dir("five", "404", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_e2e_out struct e2e_out p = {0}, r = {0};
  int64_t ms = pull(&p, ns, hosts, state, name, false);

  ck_assert_msg(p.status == 0, "%s%s", p.out, p.err);
  fprintf(stderr, "resilience: five sick mirrors then a good one: %.1fs\n", (double)ms / 1000);
  assert_same_as_clean_pull(ns, name);
  ck_assert_msg(
      e2e_sh(&r, NULL, "$CTR -a \"$ADDR\" -n %s run --rm docker.io/%s t echo ok", ns, name) == 0,
      "%s", r.err);
  ck_assert_str_eq(r.out, "ok\n");
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

START_TEST(only_sick_mirrors_fail_cleanly)
{
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *name = push_unique("allbad");
  cleanup_free char *hosts = hosts_dir("allbad", "404", five_bad);
  cleanup_free char *state = state_dir();
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};
  int64_t ms = pull(&p, ns, hosts, state, name, false);

  ck_assert_msg(p.status == 1, "status %d: %s%s", p.status, p.out, p.err);
  fprintf(stderr, "resilience: only sick mirrors, failure after %.1fs\n", (double)ms / 1000);
  error = final_error(p.err);
  ck_assert_msg(strncmp(error, "ctrx: pull \"docker.io/resil/allbad-", 34) == 0, "%s", error);
  for (size_t i = 0; five_bad[i]; i++) {
    cleanup_free char *b = base(five_bad[i]);
    ck_assert_msg(strstr(error, b) != NULL, "the error does not name %s (%s): %s", b, five_bad[i],
                  error);
  }
  e2e_assert_nothing_left(ns);
}
END_TEST

/* After a pull that found two endpoints unwell, the next pull says so and
 * asks them last: it does not wait for the hanging one again. */
START_TEST(known_bad_endpoints_tried_last)
{
  static const char *const mirrors[] = {"hang", "500", "good", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *ns2 = e2e_namespace("resil");
  cleanup_free char *name = push_unique("health");
  cleanup_free char *hosts = hosts_dir("health", "good", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_free char *hang = base("hang");
  cleanup_free char *five = base("500");
  cleanup_e2e_out struct e2e_out p1 = {0}, p2 = {0};
  int64_t first, second;

  first = pull(&p1, ns, hosts, state, name, false);
  ck_assert_msg(p1.status == 0, "%s", p1.err);
  second = pull(&p2, ns2, hosts, state, name, true);
  ck_assert_msg(p2.status == 0, "%s", p2.err);
  fprintf(stderr,
          "resilience: hang and 500 before good: %.1fs, then %.1fs with their health known\n",
          (double)first / 1000, (double)second / 1000);
  for (size_t i = 0; i < 2; i++) {
    const char *b = i == 0 ? hang : five;
    cleanup_free char *note = xasprintf("ctrx: %s failed ", b);
    cleanup_free char *req_head = xasprintf("registry HEAD %s/", b);
    cleanup_free char *req_get = xasprintf("registry GET %s/", b);
    const char *at = strstr(p2.err, note);
    ck_assert_msg(at != NULL && strstr(at, "s ago: trying it last\n") != NULL,
                  "no note that %s is tried last:\n%s", b, p2.err);
    /* the good endpoint answered everything: the bad ones were never asked */
    ck_assert_msg(strstr(p2.err, req_head) == NULL && strstr(p2.err, req_get) == NULL,
                  "%s was asked again:\n%s", b, p2.err);
  }
  e2e_clean_namespace(ns);
  e2e_clean_namespace(ns2);
}
END_TEST

START_TEST(damaged_state_file)
{
  static const char *const mirrors[] = {"500", "good", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *ns2 = e2e_namespace("resil");
  cleanup_free char *name = push_unique("damaged");
  cleanup_free char *hosts = hosts_dir("damaged", "good", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_free char *file = xasprintf("%s/endpoints", state);
  cleanup_e2e_out struct e2e_out p = {0}, again = {0}, i = {0};
  FILE *f = fopen(file, "w");

  ck_assert_ptr_nonnull(f);
  fputs("ctrx-endpoints 1\nnot a time http://x/v2\n\001\002\377 garbage", f);
  ck_assert_int_eq(fclose(f), 0);
  pull(&p, ns, hosts, state, name, false);
  ck_assert_msg(p.status == 0, "%s", p.err);
  ck_assert_msg(strstr(p.err, "ctrx: warning: ") != NULL && strstr(p.err, file) != NULL,
                "no warning naming %s:\n%s", file, p.err);
  e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_msg(strstr(i.out, "docker.io/resil/damaged-") == i.out, "%s", i.out);
  /* the pull wrote a good file back: no warning the next time */
  pull(&again, ns2, hosts, state, name, false);
  ck_assert_msg(again.status == 0, "%s", again.err);
  ck_assert_msg(strstr(again.err, "warning") == NULL, "%s", again.err);
  e2e_clean_namespace(ns);
  e2e_clean_namespace(ns2);
}
END_TEST

/* The endpoint line of `hosts check` text output for BASE, or fail. */
static const char *
check_line(const char *out, const char *b, char *line, size_t len)
{
  const char *at = strstr(out, b);
  const char *start, *end;

  ck_assert_msg(at != NULL, "no line for %s:\n%s", b, out);
  for (start = at; start > out && start[-1] != '\n'; start--)
    ;
  end = strchr(at, '\n');
  snprintf(line, len, "%.*s", (int)(end ? end - start : (long)strlen(start)), start);
  return line;
}

static json_t *
json_endpoint(json_t *root, const char *b)
{
  json_t *regs = json_object_get(root, "registries");
  json_t *eps = json_object_get(json_array_get(regs, 0), "endpoints");
  size_t i;
  json_t *e;

  json_array_foreach(eps, i, e)
  {
    if (str_eq(json_string_value(json_object_get(e, "url")), b))
      return e;
  }
  ck_abort_msg("no endpoint %s in the JSON", b);
  return NULL;
}

START_TEST(hosts_check_tells_endpoints_apart)
{
  static const char *const mirrors[] = {"hang", "500", "slow", NULL};
  static const char *const dead[] = {"hang", "500", NULL};
  cleanup_free char *hosts = hosts_dir("check", "good", mirrors);
  cleanup_free char *dead_hosts = hosts_dir("check-dead", "500", dead);
  cleanup_free char *b_hang = base("hang"), *b_500 = base("500"), *b_slow = base("slow");
  cleanup_free char *b_good = base("good");
  cleanup_e2e_out struct e2e_out o = {0}, d = {0};
  cleanup_free char *text = NULL, *jtext = NULL;
  json_error_t jerr;
  json_t *root, *e;
  char line[1024];
  int64_t t0 = now_ms();

  /* text and JSON side by side: each waits out the hanging endpoint */
  e2e_sh(&o, NULL,
         "t=$(mktemp -d); "
         "($CTRX --hosts-dir %1$s hosts check docker.io >$t/text; echo $? >$t/text.rc) & "
         "($CTRX --hosts-dir %1$s hosts check --json docker.io >$t/json; echo $? >$t/json.rc) & "
         "wait; cat $t/text.rc $t/json.rc; cat $t/text; echo '=== json'; cat $t/json; rm -rf $t",
         hosts);
  fprintf(stderr, "resilience: hosts check with a hanging endpoint: %.1fs\n",
          (double)(now_ms() - t0) / 1000);
  ck_assert_msg(strncmp(o.out, "0\n0\n", 4) == 0, "exit status:\n%s%s", o.out, o.err);
  text = xstrndup(o.out + 4, (size_t)(strstr(o.out, "=== json\n") - o.out - 4));
  jtext = xstrdup(strstr(o.out, "=== json\n") + 9);

  ck_assert_msg(strstr(check_line(text, b_hang, line, sizeof(line)), " dead ") != NULL, "%s", line);
  ck_assert_msg(strstr(line, "docker.io ") == line && strstr(line, "timed out") != NULL, "%s",
                line);
  ck_assert_msg(strstr(check_line(text, b_500, line, sizeof(line)), " dead ") != NULL, "%s", line);
  ck_assert_msg(strstr(line, " 500 ") != NULL, "%s", line);
  ck_assert_msg(strstr(check_line(text, b_slow, line, sizeof(line)), " slow ") != NULL, "%s", line);
  ck_assert_msg(strstr(line, " 200 ") != NULL, "%s", line);
  ck_assert_msg(strstr(check_line(text, b_good, line, sizeof(line)), " ok ") != NULL, "%s", line);
  ck_assert_msg(strstr(line, " 200 ") != NULL && strstr(line, "plain http") != NULL, "%s", line);
  ck_assert_msg(strstr(text, "\ndocker.io: 2 of 4 endpoints answer (1 slow)\n") != NULL, "%s",
                text);

  root = json_loads(jtext, 0, &jerr);
  ck_assert_msg(root != NULL, "%s: %s", jerr.text, jtext);
  e = json_endpoint(root, b_hang);
  ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "dead");
  ck_assert(json_is_false(json_object_get(e, "alive")));
  ck_assert(json_is_null(json_object_get(e, "http_status")));
  e = json_endpoint(root, b_500);
  ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "dead");
  ck_assert_int_eq(json_integer_value(json_object_get(e, "http_status")), 500);
  e = json_endpoint(root, b_slow);
  ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "slow");
  ck_assert(json_is_true(json_object_get(e, "alive")));
  ck_assert_int_ge(json_integer_value(json_object_get(e, "latency_ms")), 2500);
  e = json_endpoint(root, b_good);
  ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "ok");
  ck_assert_str_eq(json_string_value(json_object_get(e, "http_version")), "1.1");
  ck_assert_str_eq(json_string_value(json_object_get(e, "ns")), "docker.io");
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_array_get(json_object_get(root, "registries"), 0), "answering")),
                   2);
  json_decref(root);

  /* nothing answers: exit 1, and the summary says so */
  e2e_sh(&d, NULL, "$CTRX --hosts-dir %s hosts check docker.io", dead_hosts);
  ck_assert_msg(d.status == 1, "%s%s", d.out, d.err);
  ck_assert_msg(strstr(d.out, "\ndocker.io: 0 of 3 endpoints answer\n") != NULL, "%s", d.out);
  ck_assert_msg(strstr(d.err, "ctrx: hosts check: no working endpoint for docker.io") != NULL, "%s",
                d.err);
}
END_TEST

/* A mirror that answers the tag with a manifest that is not JSON (its digest
 * is its own, so the blob verifies and only parsing shows it), then one whose
 * manifest is over the size limit: the pull sets them aside, resolves again
 * and succeeds from the good one. */
START_TEST(bad_manifests_then_good)
{
  static const char *const mirrors[] = {"badjson", "bigmanifest", "good", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *name = push_unique("badman");
  cleanup_free char *hosts = hosts_dir("badman", "good", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_e2e_out struct e2e_out p = {0}, i = {0};

  pull(&p, ns, hosts, state, name, false);
  ck_assert_msg(p.status == 0, "%s%s", p.out, p.err);
  e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_msg(strstr(i.out, "docker.io/resil/badman-") == i.out, "%s", i.out);
  e2e_clean_namespace(ns);
}
END_TEST

/* Only a mirror with a manifest over the 4 MiB limit: a clear error. */
START_TEST(only_big_manifest_fails_clearly)
{
  static const char *const mirrors[] = {"bigmanifest", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *name = push_unique("bigonly");
  cleanup_free char *hosts = hosts_dir("bigonly", "bigmanifest", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_free char *b = base("bigmanifest");
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, state, name, false);
  ck_assert_msg(p.status == 1, "%s%s", p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, b) != NULL && strstr(error, "byte limit") != NULL, "%s", error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* Only a mirror whose manifest is not JSON: the error names the endpoint. */
START_TEST(only_bad_json_fails_clearly)
{
  static const char *const mirrors[] = {"badjson", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *name = push_unique("jsononly");
  cleanup_free char *hosts = hosts_dir("jsononly", "badjson", mirrors);
  cleanup_free char *state = state_dir();
  cleanup_free char *b = base("badjson");
  cleanup_free char *error = NULL;
  cleanup_e2e_out struct e2e_out p = {0};

  pull(&p, ns, hosts, state, name, false);
  ck_assert_msg(p.status == 1, "%s%s", p.out, p.err);
  error = final_error(p.err);
  ck_assert_msg(strstr(error, "JSON") != NULL, "%s", error);
  ck_assert_msg(strstr(error, b) != NULL, "the error does not name %s: %s", b, error);
  e2e_assert_nothing_left(ns);
}
END_TEST

/* One sick mirror of each kind before the good registry: the pull succeeds. */
static const char *const one_sick[] = {
    "hang",
    "slow",
    "stall",
    "500",
    "404",
    "429",
    "reset",
    "corrupt",
    "truncate",
    "redirect-loop",
    "bigmanifest",
    /* the whole blob arrives, then the connection closes short of the
     * announced Content-Length: the digest decides */
    "badlength",
    "badjson",
    /* HEAD answers 200 with Content-Length: 0: not a size, ask with GET */
    "zerohead",
};

START_TEST(one_sick_mirror_then_good)
{
  const char *mode = one_sick[_i];
  const char *mirrors[] = {mode, "good", NULL};
  cleanup_free char *ns = e2e_namespace("resil");
  cleanup_free char *tag = xstrdup(mode);
  cleanup_free char *name = NULL, *hosts = NULL;
  cleanup_free char *state = state_dir();
  cleanup_e2e_out struct e2e_out p = {0};
  int64_t ms;

  for (char *c = tag; *c; c++)
    if (*c == '-')
      *c = 'x';
  name = push_unique(tag);
  hosts = hosts_dir(tag, "good", mirrors);
  ms = pull(&p, ns, hosts, state, name, false);
  fprintf(stderr, "resilience: %s mirror then a good one: %.1fs\n", mode, (double)ms / 1000);
  ck_assert_msg(p.status == 0, "%s before a good mirror: %s", mode, p.err);
  /* A mirror that stops answering holds the pull no longer than its
   * deadline (first byte 10 s, stall 15 s; a deadline that never fires
   * runs into the test case's timeout), plus a margin for a loaded machine.
   * No other mode is timed. */
  if (strcmp(mode, "hang") == 0 || strcmp(mode, "stall") == 0)
    ck_assert_msg(ms < 60000, "%s: the pull took %lld ms", mode, (long long)ms);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

Suite *
resilience_suite(void)
{
  Suite *s = suite_create("resilience");
  TCase *t = tcase_create("faults");

  tcase_set_timeout(t, 180);
  tcase_add_unchecked_fixture(t, faults_start, faults_stop);
  tcase_add_test(t, five_sick_mirrors_then_good);
  tcase_add_test(t, only_sick_mirrors_fail_cleanly);
  tcase_add_test(t, known_bad_endpoints_tried_last);
  tcase_add_test(t, damaged_state_file);
  tcase_add_test(t, hosts_check_tells_endpoints_apart);
  tcase_add_test(t, bad_manifests_then_good);
  tcase_add_test(t, only_big_manifest_fails_clearly);
  tcase_add_test(t, only_bad_json_fails_clearly);
  tcase_add_loop_test(t, one_sick_mirror_then_good, 0, (int)ARRAY_SIZE(one_sick));
  suite_add_tcase(s, t);
  return s;
}
