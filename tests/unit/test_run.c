/* The pieces of run that need no daemon: the stdin FIFO. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "unit.h"
#include "util.h"

Suite *run_suite(void);

static char tmpdir[] = "/tmp/ctrx-run-test-XXXXXX";

static void
setup(void)
{
  unit_tmpdir_make(tmpdir);
}

static void
teardown(void)
{
  unit_tmpdir_remove(tmpdir);
}

/* Before the shim has a reader on it (its reader is opened from a goroutine
 * that can run after Create returned): the open must not fail with ENXIO,
 * and what we write waits in the FIFO for the reader that comes later. */
START_TEST(test_stdin_fifo_without_reader)
{
  cleanup_free char *path = xasprintf("%s/c1-stdin", tmpdir);
  struct error *err = NULL;
  cleanup_close int w = -1;
  cleanup_close int r = -1;
  char got[8] = "";

  ck_assert_int_eq(mkfifo(path, 0700), 0);
  w = run_open_stdin_fifo(path, &err);
  ck_assert_msg(w >= 0, "%s", err ? err->msg : "");
  ck_assert_int_ne(fcntl(w, F_GETFL) & O_NONBLOCK, 0);
  ck_assert_int_ne(fcntl(w, F_GETFD) & FD_CLOEXEC, 0);
  ck_assert_int_eq(write(w, "hi\n", 3), 3);
  r = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ck_assert_int_ge(r, 0);
  ck_assert_int_eq(read(r, got, sizeof(got)), 3);
  ck_assert_int_eq(memcmp(got, "hi\n", 3), 0);
}
END_TEST

/* A full FIFO makes writes wait (EAGAIN), not block the caller. */
START_TEST(test_stdin_fifo_full)
{
  cleanup_free char *path = xasprintf("%s/c2-stdin", tmpdir);
  struct error *err = NULL;
  cleanup_close int w = -1;
  char chunk[4096] = {0};
  ssize_t n;

  ck_assert_int_eq(mkfifo(path, 0700), 0);
  w = run_open_stdin_fifo(path, &err);
  ck_assert_int_ge(w, 0);
  while ((n = write(w, chunk, sizeof(chunk))) > 0)
    ;
  ck_assert_int_eq(n, -1);
  ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(test_stdin_fifo_missing)
{
  cleanup_free char *path = xasprintf("%s/none-stdin", tmpdir);
  struct error *err = NULL;

  ck_assert_int_eq(run_open_stdin_fifo(path, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "none-stdin"));
  error_free(err);
}
END_TEST

Suite *
run_suite(void)
{
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("stdin");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_stdin_fifo_without_reader);
  tcase_add_test(tc, test_stdin_fifo_full);
  tcase_add_test(tc, test_stdin_fifo_missing);
  suite_add_tcase(s, tc);
  return s;
}
