/* ctrx's own run against the real containerd and runc. */
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

static char *ns;
static char *img;

static void
setup(void)
{
  e2e_run_fixture("run", &ns, &img);
}

static void
teardown(void)
{
  e2e_run_fixture_release(&ns, &img);
}

#define RUN "$CTRX -a \"$ADDR\" -n %s run"

START_TEST(echo_exit_and_stdin)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0};

  ck_assert_msg(e2e_sh(&a, NULL, RUN " --rm %s t1 echo hello", ns, img) == 0, "%s", a.err);
  ck_assert_str_eq(a.out, "hello\n");
  ck_assert_msg(e2e_sh(&b, NULL, RUN " --rm %s t2 sh -c 'exit 7'", ns, img) == 7, "%d: %s",
                b.status, b.err);
  /* stdin reaches the process and its end closes the process' stdin */
  ck_assert_int_eq(e2e_sh(&c, "hi\n", RUN " --rm %s t3 cat", ns, img), 0);
  ck_assert_str_eq(c.out, "hi\n");
}
END_TEST

START_TEST(env_mount_net_host)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, h = {0};
  cleanup_free char *dir = xasprintf("%s/bind", e2e_env("CTRX_TEST_ROOT"));

  ck_assert_int_eq(e2e_sh(&a, NULL, RUN " --rm --env FOO=bar %s t4 sh -c 'echo $FOO'", ns, img), 0);
  ck_assert_str_eq(a.out, "bar\n");
  ck_assert_int_eq(e2e_sh(&b, NULL,
                          "mkdir -p %1$s && echo content > %1$s/f && $CTRX -a \"$ADDR\" -n %2$s run"
                          " --rm --mount type=bind,src=%1$s,dst=/host,options=rbind:ro %3$s t5 "
                          "sh -c 'cat /host/f; touch /host/x 2>/dev/null || echo read-only'",
                          dir, ns, img),
                   0);
  ck_assert_str_eq(b.out, "content\nread-only\n");
  e2e_sh(&h, NULL, "readlink /proc/self/ns/net");
  ck_assert_int_eq(
      e2e_sh(&c, NULL, RUN " --rm --net-host %s t6 readlink /proc/self/ns/net", ns, img), 0);
  ck_assert_str_eq(c.out, h.out);
}
END_TEST

START_TEST(tty_under_a_pty)
{
  cleanup_e2e_out struct e2e_out a = {0};

  ck_assert_int_eq(e2e_sh(&a, NULL, "script -qec '" RUN " -t --rm %s t7 tty' /dev/null", ns, img),
                   0);
  ck_assert_msg(strstr(a.out, "/dev/pts/") != NULL, "%s", a.out);
}
END_TEST

START_TEST(detach_then_running)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0};

  ck_assert_int_eq(e2e_sh(&a, NULL, RUN " -d %s t8 sleep 30", ns, img), 0);
  ck_assert_str_eq(a.out, "");
  e2e_sh(&b, NULL, "$CTR -a \"$ADDR\" -n %s tasks ls", ns);
  ck_assert_msg(strstr(b.out, "t8") && strstr(b.out, "RUNNING"), "%s", b.out);
}
END_TEST

START_TEST(sigterm_reaches_the_container)
{
  cleanup_e2e_out struct e2e_out a = {0};
  cleanup_free char *out = xasprintf("%s/t9.out", e2e_env("CTRX_TEST_ROOT"));

  /* SIGTERM once the trap is set (the container says so), not after a guess */
  e2e_sh(&a, NULL,
         "$CTRX -a \"$ADDR\" -n %s run --rm %s t9 sh -c 'trap \"exit 42\" TERM; echo ready; "
         "while true; do sleep 0.1; done' >%s & p=$!; "
         "for i in $(seq 300); do grep -q ready %s && break; sleep 0.1; done; "
         "kill -TERM $p; wait $p; echo rc=$?",
         ns, img, out, out);
  ck_assert_msg(strcmp(a.out, "rc=42\n") == 0, "%s%s", a.out, a.err);
}
END_TEST

START_TEST(failures_leave_nothing)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, f = {0}, s = {0};

  ck_assert_int_eq(e2e_sh(&a, NULL, RUN " -d %s keep sleep 30", ns, img), 0);
  /* an id in use: refused, the running container undisturbed */
  ck_assert_int_eq(e2e_sh(&b, NULL, RUN " --rm %s keep echo x", ns, img), 1);
  ck_assert_msg(strstr(b.err, "ctrx: container \"keep\": already exists") == b.err, "%s", b.err);
  ck_assert_int_eq(e2e_sh(&c, NULL, RUN " --rm %s bad1 /no/such/command", ns, img), 1);
  ck_assert_msg(strstr(c.err, "ctrx: ") == c.err && strstr(c.err, "/no/such/command"), "%s", c.err);
  ck_assert_int_eq(e2e_sh(&d, NULL, RUN " --rm --mount nonsense=1 %s bad2 true", ns, img), 1);
  ck_assert_int_eq(e2e_sh(&e, NULL, RUN " --rm --env-file /no/such/file %s bad3 true", ns, img), 1);
  ck_assert_int_eq(e2e_sh(&f, NULL, "$CTR -a \"$ADDR\" -n %s tasks ls", ns), 0);
  ck_assert_msg(strstr(f.out, "keep") && strstr(f.out, "RUNNING"), "%s", f.out);
  e2e_sh(&s, NULL,
         "$CTR -a \"$ADDR\" -n %1$s c ls -q; $CTR -a \"$ADDR\" -n %1$s snapshots ls | awk '$NF == "
         "\"Active\" {print $1}'; $CTR -a \"$ADDR\" -n %1$s leases ls -q",
         ns);
  ck_assert_str_eq(s.out, "keep\nkeep\n");
}
END_TEST

/* A namespace without the image: run pulls it by its short name through the
 * mirror first; with --rm nothing of the container stays. */
START_TEST(pulls_missing_image_through_mirror)
{
  cleanup_e2e_out struct e2e_out w = {0}, a = {0}, s = {0};
  cleanup_free char *dir = xasprintf("%s/hosts-run", e2e_env("CTRX_TEST_ROOT"));

  ck_assert_int_eq(e2e_sh(&w, NULL,
                          "mkdir -p %1$s/docker.io && printf '[host.\"http://%2$s\"]\\n  "
                          "capabilities = [\"pull\", \"resolve\"]\\n' > %1$s/docker.io/hosts.toml",
                          dir, e2e_env("CTRX_TEST_REGISTRY")),
                   0);
  ck_assert_msg(
      e2e_sh(&a, NULL,
             "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s run --rm busybox:latest t3 echo auto", ns,
             dir) == 0,
      "%s", a.err);
  ck_assert_str_eq(a.out, "auto\n");
  e2e_sh(&s, NULL,
         "$CTR -a \"$ADDR\" -n %1$s c ls -q; $CTR -a \"$ADDR\" -n %1$s snapshots ls | awk '$NF == "
         "\"Active\"'; $CTR -a \"$ADDR\" -n %1$s i ls -q",
         ns);
  ck_assert_str_eq(s.out, "docker.io/library/busybox:latest\n");
}
END_TEST

/* A ctr run flag ctrx does not run itself: ctr runs it, after ctrx pulled
 * the missing image and expanded its name. */
START_TEST(other_flags_go_to_ctr_after_the_pull)
{
  cleanup_e2e_out struct e2e_out a = {0}, i = {0};

  ck_assert_msg(e2e_sh(&a, NULL, RUN " --rm --cpu-shares 512 %s t10 echo via-ctr", ns, img) == 0,
                "%s", a.err);
  ck_assert_str_eq(a.out, "via-ctr\n");
  e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_msg(strncmp(i.out, img, strlen(img)) == 0, "%s", i.out);
}
END_TEST

Suite *
run_suite(void)
{
  Suite *s = suite_create("run");
  TCase *io = tcase_create("stdin");
  TCase *t = tcase_create("native");

  /* A case of its own, so that CK_RUN_CASE=stdin repeats it alone. */
  tcase_set_timeout(io, 120);
  tcase_add_checked_fixture(io, setup, teardown);
  tcase_add_test(io, echo_exit_and_stdin);
  suite_add_tcase(s, io);
  tcase_set_timeout(t, 120);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, env_mount_net_host);
  tcase_add_test(t, tty_under_a_pty);
  tcase_add_test(t, detach_then_running);
  tcase_add_test(t, sigterm_reaches_the_container);
  tcase_add_test(t, failures_leave_nothing);
  tcase_add_test(t, pulls_missing_image_through_mirror);
  tcase_add_test(t, other_flags_go_to_ctr_after_the_pull);
  suite_add_tcase(s, t);
  return s;
}
