/* hosts.toml against hostile input and the real containerd: concurrent
 * `hosts add` lose nothing and write what containerd's own hosts parser (ctr
 * --hosts-dir) reads; no configured header value and no URL user
 * information reaches any output; names that are not UTF-8 survive
 * `hosts check --json`; a FIFO in place of hosts.toml is refused at once. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

Suite *hosts_hardening_suite(void);

#define ROUNDS 20
#define WRITERS 10

static char *
scratch(const char *what)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *d = xasprintf("%s/hh-%s-%d", e2e_env("CTRX_TEST_ROOT"), what, (int)getpid());

  ck_assert_int_eq(e2e_sh(&o, NULL, "rm -rf %1$s && mkdir -p %1$s", d), 0);
  return d;
}

static size_t
count(const char *hay, const char *needle)
{
  size_t n = 0;

  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* ctr's pull whose --debug log shows each host it tries: ctr 2.x pulls
 * through the Transfer service by default, where the daemon resolves and its
 * log, not ctr's, would name the hosts; --local keeps the pull in ctr, with
 * the same hosts.toml parser of containerd's. 1.6's ctr has no --local, and
 * 1.7's pulls locally by default. */
static const char *
ctr_pull_logging_hosts(void)
{
  return e2e_line_2x() ? "images pull --local" : "images pull";
}

/* 20 rounds of 10 concurrent adds: all 200 mirrors are in the file, and
 * ctr, whose hosts.toml parser is containerd's, tries every one of them
 * (each on a closed port, refused at once) before the registry serves the
 * pull. A lost mirror, or a file containerd cannot read, fails this. */
START_TEST(concurrent_adds_all_land_and_parse_with_containerd)
{
  cleanup_free char *d = scratch("add");
  cleanup_free char *ns = e2e_namespace("hh-add");
  cleanup_e2e_out struct e2e_out a = {0}, h = {0}, c = {0}, l = {0};

  ck_assert_msg(e2e_sh(&a, NULL,
                       "set -e; d=%s; for r in $(seq 0 %d); do pids=; "
                       "for i in $(seq 0 %d); do "
                       "$CTRX --hosts-dir $d hosts add $REG http://127.0.0.1:1/r$r-$i >/dev/null & "
                       "pids=\"$pids $!\"; done; for p in $pids; do wait $p; done; done",
                       d, ROUNDS - 1, WRITERS - 1) == 0,
                "%s", a.err);
  ck_assert_msg(e2e_sh(&h, NULL, "$CTRX --hosts-dir %s hosts $REG", d) == 0, "%s", h.err);
  ck_assert_uint_eq(count(h.out, "\nhttp://127.0.0.1:1/r"), ROUNDS * WRITERS);

  ck_assert_msg(e2e_sh(&c, NULL,
                       "$CTR -a \"$ADDR\" -n %s --debug %s --hosts-dir %s $REG/test/busybox:oci",
                       ns, ctr_pull_logging_hosts(), d) == 0,
                "%s", c.err);
  for (int r = 0; r < ROUNDS; r++)
    for (int i = 0; i < WRITERS; i++) {
      char want[64];
      snprintf(want, sizeof(want), "127.0.0.1:1/r%d-%d/v2/", r, i);
      ck_assert_msg(strstr(c.err, want) != NULL, "containerd never tried %s", want);
    }
  ck_assert_int_eq(e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns), 0);
  ck_assert_msg(strstr(l.out, "/test/busybox:oci\n") != NULL, "%s", l.out);
  e2e_clean_namespace(ns);
}
END_TEST

/* A URL that containerd 1.6 would misread once written as a TOML key is
 * refused and nothing is written; what is accepted, odd characters and
 * all, containerd reads. */
START_TEST(add_refuses_what_containerd_misreads)
{
  cleanup_free char *d = scratch("key");
  cleanup_free char *ns = e2e_namespace("hh-key");
  cleanup_e2e_out struct e2e_out q = {0}, b = {0}, ok = {0}, f = {0}, c = {0};

  ck_assert_int_eq(
      e2e_sh(&q, NULL, "$CTRX --hosts-dir %s hosts add $REG 'http://127.0.0.1:1/a\"b'", d), 1);
  ck_assert_msg(strstr(q.err, "invalid character '\"'") != NULL, "%s", q.err);
  ck_assert_int_eq(
      e2e_sh(&b, NULL, "$CTRX --hosts-dir %s hosts add $REG 'http://127.0.0.1:1/a\\b'", d), 1);
  ck_assert_msg(strstr(b.err, "invalid character '\\'") != NULL, "%s", b.err);
  /* nothing was created for the refused ones */
  ck_assert_int_eq(e2e_sh(&f, NULL, "test -z \"$(ls -A %s)\"", d), 0);

  ck_assert_msg(e2e_sh(&ok, NULL,
                       "$CTRX --hosts-dir %s hosts add $REG "
                       "\"http://127.0.0.1:1/o'k;a=b~c!d\\$e&f(g)h*i+j,k%%41\"",
                       d) == 0,
                "%s", ok.err);
  ck_assert_msg(e2e_sh(&c, NULL,
                       "$CTR -a \"$ADDR\" -n %s --debug %s --hosts-dir %s $REG/test/busybox:oci",
                       ns, ctr_pull_logging_hosts(), d) == 0,
                "%s", c.err);
  ck_assert_msg(strstr(c.err, "127.0.0.1:1/o") != NULL, "containerd did not try the mirror: %s",
                c.err);
  e2e_clean_namespace(ns);
}
END_TEST

static const char *const secrets[] = {"s3cretpw",      "m1rr0rpw",   "hunter2-pass",
                                      "plainvalue-zz", "mirroruser", "upuser"};

static void
assert_clean(const char *what, const struct e2e_out *o)
{
  for (size_t i = 0; i < ARRAY_SIZE(secrets); i++) {
    ck_assert_msg(strstr(o->out, secrets[i]) == NULL, "%s: stdout shows %s:\n%s", what, secrets[i],
                  o->out);
    ck_assert_msg(strstr(o->err, secrets[i]) == NULL, "%s: stderr shows %s:\n%s", what, secrets[i],
                  o->err);
  }
}

/* User information in URLs is accepted (and dropped) as containerd does,
 * with one warning that does not repeat it; no configured header value is
 * shown by `hosts`, `hosts check`, `hosts check --json` or a dry-run. */
START_TEST(no_secret_in_any_output)
{
  cleanup_free char *d = scratch("secret");
  cleanup_free char *ns = e2e_namespace("hh-secret");
  cleanup_e2e_out struct e2e_out w = {0}, h = {0}, t = {0}, j = {0}, dr = {0}, p = {0}, l = {0};

  ck_assert_int_eq(
      e2e_sh(&w, NULL,
             "set -e; r=$(echo $REG | sed 's/:\\([0-9]*\\)$/_\\1_/'); mkdir -p %1$s/$r; "
             "printf 'server = \"http://upuser:s3cretpw@%%s\"\\n"
             "[header]\\n  X-Plain = \"plainvalue-zz\"\\n"
             "[host.\"http://mirroruser:m1rr0rpw@127.0.0.1:1\"]\\n"
             "  capabilities = [\"pull\", \"resolve\"]\\n"
             "  [host.\"http://mirroruser:m1rr0rpw@127.0.0.1:1\".header]\\n"
             "    X-Registry-Pass = \"hunter2-pass\"\\n"
             "    X-Other = [\"plainvalue-zz\", \"plainvalue-zz\"]\\n' $REG > %1$s/$r/hosts.toml",
             d),
      0);

  ck_assert_msg(e2e_sh(&h, NULL, "$CTRX --hosts-dir %s hosts $REG", d) == 0, "%s", h.err);
  assert_clean("hosts", &h);
  ck_assert_msg(strstr(h.out, "http://127.0.0.1:1/v2 ") != NULL &&
                    strstr(h.out, "header.X-Registry-Pass=<redacted>") != NULL &&
                    strstr(h.out, "header.X-Other=<redacted>,<redacted>") != NULL &&
                    strstr(h.out, "header.X-Plain=<redacted>") != NULL,
                "%s", h.out);
  ck_assert_uint_eq(count(h.err, "user information in a host URL is ignored"), 1);

  ck_assert_msg(e2e_sh(&t, NULL, "$CTRX --hosts-dir %s hosts check $REG", d) == 0, "%s", t.err);
  assert_clean("hosts check", &t);
  ck_assert_msg(e2e_sh(&j, NULL, "$CTRX --hosts-dir %s hosts check --json $REG", d) == 0, "%s",
                j.err);
  assert_clean("hosts check --json", &j);
  ck_assert_msg(strstr(j.out, "\"url\": \"http://127.0.0.1:1/v2\"") != NULL, "%s", j.out);

  ck_assert_msg(e2e_sh(&dr, NULL,
                       "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull --dry-run "
                       "$REG/test/busybox:oci",
                       ns, d) == 0,
                "%s", dr.err);
  assert_clean("pull --dry-run", &dr);

  /* the file is accepted: the pull goes past the dead mirror to the registry */
  ck_assert_msg(e2e_sh(&p, NULL,
                       "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull $REG/test/busybox:oci", ns,
                       d) == 0,
                "%s", p.err);
  assert_clean("pull", &p);
  ck_assert_uint_eq(count(p.err, "user information in a host URL is ignored"), 1);
  ck_assert_int_eq(e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns), 0);
  ck_assert_msg(strstr(l.out, "/test/busybox:oci\n") != NULL, "%s", l.out);
  e2e_clean_namespace(ns);
}
END_TEST

/* A host directory whose name is not UTF-8 keeps its entry in the JSON,
 * each bad byte as U+FFFD. */
START_TEST(json_keeps_names_that_are_not_utf8)
{
  cleanup_free char *d = scratch("utf8");
  cleanup_e2e_out struct e2e_out w = {0}, j = {0};

  ck_assert_int_eq(e2e_sh(&w, NULL,
                          "set -e; n=$(printf 'bad\\377name.io'); mkdir -p \"%1$s/$n\"; "
                          "printf 'server = \"http://127.0.0.1:1\"\\n' > \"%1$s/$n/hosts.toml\"",
                          d),
                   0);
  /* its only endpoint is down: exit 1, but the JSON is printed */
  ck_assert_int_eq(e2e_sh(&j, NULL, "$CTRX --hosts-dir %s hosts check --json", d), 1);
  ck_assert_msg(strstr(j.out, "\"registry\": \"bad\xef\xbf\xbdname.io\"") != NULL, "%s", j.out);
  ck_assert_msg(strstr(j.out, "\"url\": \"http://127.0.0.1:1/v2\"") != NULL, "%s", j.out);
}
END_TEST

/* A FIFO where hosts.toml belongs: refused at once, not waited on. */
START_TEST(fifo_hosts_toml_refused)
{
  cleanup_free char *d = scratch("fifo");
  cleanup_e2e_out struct e2e_out w = {0}, h = {0}, a = {0};

  ck_assert_int_eq(e2e_sh(&w, NULL, "mkdir -p %1$s/r.io && mkfifo %1$s/r.io/hosts.toml", d), 0);
  /* timeout only turns a hang into a failure; 124 is its status */
  ck_assert_int_eq(e2e_sh(&h, NULL, "timeout 60 $CTRX --hosts-dir %s hosts r.io", d), 1);
  ck_assert_msg(strstr(h.err, "hosts.toml': not a regular file") != NULL, "%s", h.err);
  ck_assert_int_eq(
      e2e_sh(&a, NULL, "timeout 60 $CTRX --hosts-dir %s hosts add r.io https://m.example", d), 1);
  ck_assert_msg(strstr(a.err, "hosts.toml': not a regular file") != NULL, "%s", a.err);
}
END_TEST

Suite *
hosts_hardening_suite(void)
{
  Suite *s = suite_create("hosts_hardening");
  TCase *t = tcase_create("hosts_hardening");

  tcase_set_timeout(t, 600);
  tcase_add_test(t, concurrent_adds_all_land_and_parse_with_containerd);
  tcase_add_test(t, add_refuses_what_containerd_misreads);
  tcase_add_test(t, no_secret_in_any_output);
  tcase_add_test(t, json_keeps_names_that_are_not_utf8);
  tcase_add_test(t, fifo_hosts_toml_refused);
  suite_add_tcase(s, t);
  return s;
}
