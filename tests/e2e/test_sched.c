/* The pull scheduler against the real containerd and registry of the test bed,
 * through a fault server of this suite's own in front of that registry:
 * healthy mirrors with a bandwidth cap each, one that resets half-way
 * through a range, one that corrupts a range, one that stalls. Every pull is
 * of an image pushed for that test alone (large enough random layers to be
 * split into ranges), into a fresh namespace; the fault server's log says
 * which mirror served how many bytes of which request. A registry's only
 * endpoint is tested too: the connections it gets, by what they bring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "util.h"

/* The mirrors: label=mode,caps (faultsrv's syntax). */
static const char *const listeners[] = {
    "a=pass,ep=2M", "b=pass,ep=2M",    "c=pass,ep=2M", "percon=pass,conn=1M",
    "reset=reset",  "corrupt=corrupt", "stall=stall",  "link=pass,ep=20M",
};

static char *
fault_dir(void)
{
  return xasprintf("%s/sched-faults-%d", e2e_env("CTRX_TEST_ROOT"), (int)getpid());
}

static void
faults_start(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = fault_dir();
  cleanup_buf struct buf modes = BUF_INIT;

  for (size_t i = 0; i < ARRAY_SIZE(listeners); i++)
    buf_addf(&modes, " %s", listeners[i]);
  ck_assert_msg(e2e_sh(&o, NULL,
                       E2E_AT_TOP "mkdir -p %1$s && cc -O2 -pthread tests/testbed/faultsrv.c -o "
                                  "%1$s/faultsrv && rm -f %1$s/env && "
                                  "{ %1$s/faultsrv -o %1$s/env -P %2$d $REG%3$s </dev/null "
                                  ">/dev/null 2>%1$s/log & echo $! >%1$s/pid; } && "
                                  "for i in $(seq 1 100); do [ -s %1$s/env ] && exit 0; "
                                  "sleep 0.1; done; exit 1",
                       dir, (int)getpid(), modes.data) == 0,
                "faultsrv: %s%s", o.out, o.err);
}

static void
faults_stop(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = fault_dir();

  e2e_sh(&o, NULL, "kill $(cat %s/pid) 2>/dev/null; true", dir);
}

/* host:port of a listener by its label ("good": the registry itself). */
static char *
addr(const char *label)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = fault_dir();
  char *u = xstrdup(label);

  if (strcmp(label, "good") == 0) {
    free(u);
    return xstrdup(e2e_env("CTRX_TEST_REGISTRY"));
  }
  for (char *p = u; *p; p++)
    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  ck_assert_int_eq(e2e_sh(&o, NULL, "sed -n 's/^FAULT_%s=//p' %s/env", u, dir), 0);
  free(u);
  ck_assert_msg(o.out[0] != '\0', "no listener %s", label);
  return xstrndup(o.out, strcspn(o.out, "\n"));
}

/* A hosts directory for docker.io: SERVER as server, MIRRORS before it. */
static char *
hosts_dir(const char *tag, const char *server, const char *const *mirrors)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/hosts-sched-%d-%s", e2e_env("CTRX_TEST_ROOT"), (int)getpid(), tag);
  cleanup_free char *file = xasprintf("%s/docker.io/hosts.toml", dir);
  cleanup_buf struct buf b = BUF_INIT;
  cleanup_free char *srv = addr(server);
  FILE *f;

  buf_addf(&b, "server = \"http://%s\"\n", srv);
  for (size_t i = 0; mirrors[i]; i++) {
    cleanup_free char *a = addr(mirrors[i]);
    buf_addf(&b, "[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", a);
  }
  ck_assert_int_eq(e2e_sh(&o, NULL, "mkdir -p %s/docker.io", dir), 0);
  f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fwrite(b.data, 1, b.len, f);
  ck_assert_int_eq(fclose(f), 0);
  return dir;
}

/* Push an image of random layers of KIB KiB each (a list) that only this
 * test pulls ("sched/<tag>-<pid>:v1"). */
static char *
push_sized(const char *tag, const char *kib)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *name = xasprintf("sched/%s-%d:v1", tag, (int)getpid());

  ck_assert_msg(e2e_sh(&o, NULL,
                       E2E_AT_TOP "tests/testbed/push-random %s/random $REG sched/%s-%d v1 %s",
                       e2e_env("CTRX_TEST_ROOT"), tag, (int)getpid(), kib) == 0,
                "push-random: %s", o.err);
  return name;
}

/* 7.5 MB in three layers */
static char *
push_random(const char *tag)
{
  return push_sized(tag, "3000 2500 2000");
}

/* Bytes of blob requests each listener served for REPO, from the log. */
static int64_t
served(const char *label, const char *name)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *dir = fault_dir();
  cleanup_free char *repo = xstrndup(name, strlen(name) - 3);
  int64_t v = 0;

  e2e_sh(&o, NULL,
         "awk '$3 == \"%s\" && $4 == \"GET\" && index($5, \"/%s/blobs/\") { "
         "sub(\"bytes=\", \"\", $NF); s += $NF } END { print s + 0 }' %s/log",
         label, repo, dir);
  o.out[strcspn(o.out, "\n")] = '\0';
  ck_assert_int_eq(parse_int64(o.out, 10, &v), 0);
  return v;
}

/* ctrx pull NAME into NS through HOSTS, with ENV ("K=V " words) and FLAGS;
 * *ms: how long it took. */
static void
pull(struct e2e_out *o, const char *ns, const char *hosts, const char *name, const char *env,
     const char *flags, int64_t *ms)
{
  cleanup_free char *state = xasprintf("%s/state-sched-%s", e2e_env("CTRX_TEST_ROOT"), ns);
  int64_t t0 = now_ms();

  e2e_sh(o, NULL, "%s CTRX_STATE_DIR=%s $CTRX -a \"$ADDR\" -n %s --debug pull --hosts-dir %s %s %s",
         env, state, ns, hosts, flags, name);
  *ms = now_ms() - t0;
}

/* What containerd holds in A is what ctr leaves when it pulls NAME from the
 * registry alone. */
static void
assert_same_as_plain_pull(const char *a, const char *name)
{
  static const char *const good[] = {"good", NULL};
  cleanup_free char *b = e2e_namespace("sched-plain");
  cleanup_free char *hosts = hosts_dir("plain", "good", good);
  cleanup_e2e_out struct e2e_out c = {0};

  ck_assert_msg(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s images pull --hosts-dir %s docker.io/%s",
                       b, hosts, name) == 0,
                "%s", c.err);
  e2e_assert_same_image(a, b);
  e2e_clean_namespace(b);
}

START_TEST(three_capped_mirrors_all_serve)
{
  static const char *const mirrors[] = {"a", "b", NULL};
  static const char *const all[] = {"a", "b", "c", NULL};
  cleanup_free char *ns = e2e_namespace("sched");
  cleanup_free char *name = push_random("three");
  cleanup_free char *hosts = hosts_dir("three", "c", mirrors);
  cleanup_e2e_out struct e2e_out p = {0};
  int64_t ms;

  pull(&p, ns, hosts, name, "", "", &ms);
  ck_assert_msg(p.status == 0, "%s%s", p.out, p.err);
  fprintf(stderr, "sched: three mirrors at 2 MB/s each, 7.5 MB: %.1fs (a %lld, b %lld, c %lld)\n",
          (double)ms / 1000, (long long)served("a", name), (long long)served("b", name),
          (long long)served("c", name));
  for (size_t i = 0; all[i]; i++)
    ck_assert_msg(served(all[i], name) > 0, "mirror %s served nothing:\n%s", all[i], p.err);
  ck_assert_msg(strstr(p.out, "from 3 endpoints") != NULL, "final line: %s", p.out);
  ck_assert_msg(strstr(p.err, "sched: sha256:") != NULL, "no range in --debug: %s", p.err);
  assert_same_as_plain_pull(ns, name);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

/* A sick mirror between two capped ones (the first resolves and takes the
 * config, the sick one, not measured yet, the first layer): the pull
 * completes, identical, well within the stall deadline (15 s). */
static const char *const sick[] = {"reset", "corrupt", "stall"};

START_TEST(sick_mirror_ranges_move)
{
  const char *mirrors[] = {"a", sick[_i], NULL};
  cleanup_free char *ns = e2e_namespace("sched");
  cleanup_free char *name = push_random(sick[_i]);
  cleanup_free char *hosts = hosts_dir(sick[_i], "b", mirrors);
  cleanup_e2e_out struct e2e_out p = {0};
  int64_t ms;

  pull(&p, ns, hosts, name, "", "", &ms);
  ck_assert_msg(p.status == 0, "%s%s", p.out, p.err);
  fprintf(stderr, "sched: %s mirror first, then two capped: %.1fs (%s %lld, a %lld, b %lld)\n",
          sick[_i], (double)ms / 1000, sick[_i], (long long)served(sick[_i], name),
          (long long)served("a", name), (long long)served("b", name));
  /* more than the config: a part of a layer at least */
  ck_assert_msg(served(sick[_i], name) > 100000, "the %s mirror got no layer:\n%s", sick[_i],
                p.err);
  ck_assert_msg(ms < 15000, "%s: %lld ms, not within the stall deadline", sick[_i], (long long)ms);
  assert_same_as_plain_pull(ns, name);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

/* A registry's only endpoint: one that caps each connection (1 MB/s) is given
 * twice as many connections once they prove to pay; one that caps all of them
 * together (2 MB/s) goes back to the first count. On 2.x a slow lone endpoint
 * is pulled by ctrx, not handed to the daemon: also a 20 MB/s link, whose
 * first 256 KiB may come faster than the link and which only the whole MiB
 * measured shows slow (too short a pull to see how many connections pay). The layers (15 MB) are
 * large enough for eight requests to run at once on the three a pull opens, ranges being cut no
 * finer than SPREAD_MIN_PIECE: with 7.5 MB the last ranges could be too short to measure eight. */
static const struct {
  const char *label;
  const char *want; /* in the --debug log, NULL: nothing to look for */
} lone[] = {
    {"percon", ": 8 from now on"},
    {"a", ": 4 from now on, settled"},
    {"link", NULL},
};

START_TEST(lone_endpoint_connections)
{
  static const char *const none[] = {NULL};
  cleanup_free char *ns = e2e_namespace("sched");
  cleanup_free char *tag = xasprintf("lone%d", _i);
  cleanup_free char *name = push_sized(tag, "6000 5000 4000");
  cleanup_free char *hosts = hosts_dir(tag, lone[_i].label, none);
  cleanup_e2e_out struct e2e_out p = {0};
  const char *log;
  int64_t ms;

  pull(&p, ns, hosts, name, "", "", &ms);
  /* the end of the --debug log, enough to see why, short enough for a message */
  log = strlen(p.err) > 3000 ? p.err + strlen(p.err) - 3000 : p.err;
  ck_assert_msg(p.status == 0, "%s%s", p.out, log);
  fprintf(stderr, "sched: lone endpoint %s: %.1fs\n", lone[_i].label, (double)ms / 1000);
  ck_assert_msg(lone[_i].want == NULL || strstr(p.err, lone[_i].want) != NULL,
                "%s: no \"%s\" in:\n%s", lone[_i].label, lone[_i].want, log);
  /* 2.x: the daemon's pull starts, the probe beside it finds the endpoint
   * slow and ctrx takes over */
  if (e2e_line_2x())
    ck_assert_msg(strstr(p.err, "is slow: ctrx pulls the rest itself") != NULL,
                  "not taken over from the daemon:\n%s", log);
  else
    ck_assert_msg(strstr(p.err, "Transfer/Transfer") == NULL, "a Transfer call on 1.x:\n%s", log);
  assert_same_as_plain_pull(ns, name);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

/* --no-spread, and [mirror] spread = false, take every blob from the first
 * endpoint, as before. */
START_TEST(no_spread_one_endpoint)
{
  static const char *const mirrors[] = {"a", "b", NULL};
  static const char *const how[] = {"--no-spread", "config"};
  cleanup_free char *ns = e2e_namespace("sched");
  cleanup_free char *name = push_random(_i ? "nospreadcfg" : "nospread");
  cleanup_free char *hosts = hosts_dir("nospread", "c", mirrors);
  cleanup_free char *cfg =
      xasprintf("%s/sched-config-%d.toml", e2e_env("CTRX_TEST_ROOT"), (int)getpid());
  cleanup_free char *env = xasprintf("CTRX_CONFIG=%s", cfg);
  cleanup_e2e_out struct e2e_out p = {0}, w = {0};
  int64_t ms;

  ck_assert_int_eq(e2e_sh(&w, NULL, "printf '[mirror]\\nspread = false\\n' >%s", cfg), 0);
  pull(&p, ns, hosts, name, _i ? env : "", _i ? "" : "--no-spread", &ms);
  ck_assert_msg(p.status == 0, "%s%s", p.out, p.err);
  ck_assert_msg(served("a", name) > 0, "a served nothing");
  ck_assert_msg(served("b", name) == 0 && served("c", name) == 0, "%s: b served %lld, c %lld bytes",
                how[_i], (long long)served("b", name), (long long)served("c", name));
  ck_assert_msg(strstr(p.out, "endpoints") == NULL, "final line: %s", p.out);
  assert_same_as_plain_pull(ns, name);
  e2e_clean_namespace(ns);
}
END_TEST

Suite *
sched_suite(void)
{
  Suite *s = suite_create("sched");
  TCase *t = tcase_create("spread");

  tcase_add_checked_fixture(t, faults_start, faults_stop);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, three_capped_mirrors_all_serve);
  tcase_add_loop_test(t, sick_mirror_ranges_move, 0, (int)ARRAY_SIZE(sick));
  tcase_add_loop_test(t, no_spread_one_endpoint, 0, 2);
  tcase_add_loop_test(t, lone_endpoint_connections, 0, (int)ARRAY_SIZE(lone));
  suite_add_tcase(s, t);
  return s;
}
