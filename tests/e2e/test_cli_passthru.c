/* Command lines handed to the real ctr: what --debug shows of them, and a
 * global flag ctrx does not know. */
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

/* A ctr that prints its words, [one][per][bracket], and exits 7. */
static char *
fake_ctr(void)
{
  char *fake = xasprintf("%s/echo-ctr", e2e_env("CTRX_TEST_ROOT"));
  FILE *f = fopen(fake, "w");

  ck_assert_ptr_nonnull(f);
  fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '[%%s]' \"$a\"; done; echo\nexit 7\n");
  fclose(f);
  chmod(fake, 0755);
  return fake;
}

/* --debug prints the exec line; the password of -u never appears in it,
 * while ctr itself still receives it. */
START_TEST(debug_exec_line_hides_credentials)
{
  cleanup_free char *fake = fake_ctr();
  cleanup_e2e_out struct e2e_out a = {0}, b = {0};

  ck_assert_int_eq(e2e_sh(&a, NULL,
                          "CTRX_CTR=%s $CTRX --debug -a /x.sock pull --all-platforms "
                          "-u alice:pl4nted-s3cret busybox",
                          fake),
                   7);
  ck_assert_msg(strstr(a.out, "[-u][alice:pl4nted-s3cret]") != NULL, "%s", a.out);
  ck_assert_msg(strstr(a.err, "ctrx: exec ") != NULL, "%s", a.err);
  ck_assert_msg(strstr(a.err, "-u alice:***") != NULL, "%s", a.err);
  ck_assert_msg(strstr(a.err, "pl4nted-s3cret") == NULL, "%s", a.err);

  ck_assert_int_eq(
      e2e_sh(&b, NULL,
             "CTRX_CTR=%s $CTRX --debug -a /x.sock images push --user=bob:pl4nted-s3cret "
             "https://carol:pl4nted-s3cret@reg.example.com/x:1",
             fake),
      7);
  ck_assert_msg(strstr(b.out, "pl4nted-s3cret") != NULL, "%s", b.out);
  ck_assert_msg(strstr(b.err, "--user=bob:***") != NULL, "%s", b.err);
  ck_assert_msg(strstr(b.err, "pl4nted-s3cret") == NULL, "%s", b.err);
}
END_TEST

/* An unknown global flag is reported by ctr as ctr reports it: the flags
 * before it are not handed over twice. */
static const char *const unknown_lines[] = {
    "--bogus images ls",
    "-a /x.sock --bogus images ls",
    "--address=/x.sock -n ns1 --bogus images ls",
    "--timeout 5s --connect-timeout 1s --bogus version",
    "-n ns1 -bogus=1 images ls",
};

START_TEST(unknown_global_flag_as_ctr)
{
  cleanup_e2e_out struct e2e_out x = {0}, c = {0};
  const char *line = unknown_lines[_i];
  int sx, sc;

  sx = e2e_sh(&x, NULL, "$CTRX %s", line);
  sc = e2e_sh(&c, NULL, "$CTR %s", line);
  ck_assert_msg(strstr(c.out, "flag provided but not defined") != NULL ||
                    strstr(c.err, "flag provided but not defined") != NULL,
                "ctr: %s%s", c.out, c.err);
  ck_assert_msg(strstr(x.err, "two forms") == NULL && strstr(x.out, "two forms") == NULL, "%s",
                x.err);
  ck_assert_int_eq(sx, sc);
  ck_assert_str_eq(x.out, c.out);
  ck_assert_str_eq(x.err, c.err);
}
END_TEST

/* The endpoint health memory of e2e runs is the test bed's: a mirror that
 * fails is remembered under $CTRX_STATE_DIR, never in the machine's
 * /var/lib/ctrx. */
START_TEST(health_state_in_the_bed)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0};
  cleanup_free char *hd = xasprintf("%s/health-hosts", e2e_env("CTRX_TEST_ROOT"));
  const char *mark = e2e_env("CTRX_TEST_MARK");
  const char *state = e2e_env("CTRX_STATE_DIR");

  ck_assert(str_has_prefix(state, e2e_env("CTRX_TEST_ROOT")));
  e2e_sh(&a, NULL,
         "mkdir -p %1$s/example.com && printf '[host.\"http://127.0.0.1:1/%2$s\"]\\n"
         "  capabilities = [\"pull\", \"resolve\"]\\n' > %1$s/example.com/hosts.toml && "
         "$CTRX -a \"$ADDR\" --timeout 20s --hosts-dir %1$s pull example.com/none:1",
         hd, mark);
  ck_assert_int_ne(a.status, 0);
  ck_assert_int_eq(e2e_sh(&b, NULL, "grep -F '%s' \"$CTRX_STATE_DIR/endpoints\"", mark), 0);
  ck_assert_int_ne(e2e_sh(&c, NULL, "grep -F '%s' /var/lib/ctrx/endpoints", mark), 0);
}
END_TEST

Suite *
cli_passthru_suite(void)
{
  Suite *s = suite_create("cli_passthru");
  TCase *t = tcase_create("ctr");

  tcase_add_test(t, debug_exec_line_hides_credentials);
  tcase_add_test(t, health_state_in_the_bed);
  tcase_add_loop_test(t, unknown_global_flag_as_ctr, 0, (int)ARRAY_SIZE(unknown_lines));
  suite_add_tcase(s, t);
  return s;
}
