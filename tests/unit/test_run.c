/* The pieces of run that need no daemon: the FIFOs, the I/O pump, the pid
 * file, the signals forwarded. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "run_internal.h"
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

/* The FIFOs of a task: stdin and stdout, stderr only without a terminal,
 * all in a directory of their own that removing takes away. */
static const struct {
  bool tty;
  bool has_err;
} fifo_cases[] = {
    {false, true},
    {true, false},
};

START_TEST(test_fifos_make_remove)
{
  struct run_fifos f = {0};
  struct error *err = NULL;
  struct stat sb;
  cleanup_free char *dir = NULL;

  ck_assert_msg(run_fifos_make(tmpdir, "c3", fifo_cases[_i].tty, &f, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_int_eq(strncmp(f.dir, tmpdir, strlen(tmpdir)), 0);
  ck_assert_int_eq(stat(f.in, &sb), 0);
  ck_assert(S_ISFIFO(sb.st_mode));
  ck_assert_ptr_nonnull(strstr(f.in, "/c3-stdin"));
  ck_assert_int_eq(stat(f.out, &sb), 0);
  ck_assert(S_ISFIFO(sb.st_mode));
  ck_assert_ptr_nonnull(strstr(f.out, "/c3-stdout"));
  ck_assert_int_eq(f.err != NULL, fifo_cases[_i].has_err);
  if (f.err) {
    ck_assert_int_eq(stat(f.err, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
  }
  dir = xstrdup(f.dir);
  run_fifos_remove(&f);
  ck_assert_ptr_null(f.dir);
  ck_assert_int_eq(stat(dir, &sb), -1);
  ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_fifos_make_no_root)
{
  cleanup_free char *root = xasprintf("%s/missing", tmpdir);
  struct run_fifos f = {0};
  struct error *err = NULL;

  ck_assert_int_eq(run_fifos_make(root, "c4", false, &f, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "missing"));
  ck_assert_ptr_null(f.dir);
  error_free(err);
  run_fifos_remove(&f);
}
END_TEST

/* Our ends open before any shim has the other ends: all non-blocking and
 * close-on-exec, the read ends ready to see what a writer sends. */
START_TEST(test_io_open)
{
  struct run_fifos f = {0};
  struct run_io io = RUN_IO_INIT(NULL, "c5");
  struct error *err = NULL;

  ck_assert_int_eq(run_fifos_make(tmpdir, "c5", fifo_cases[_i].tty, &f, &err), 0);
  ck_assert_msg(run_io_open(&f, &io, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_ge(io.in_fifo, 0);
  ck_assert_int_ge(io.out_fifo, 0);
  ck_assert_int_eq(io.err_fifo >= 0, fifo_cases[_i].has_err);
  ck_assert_int_ne(fcntl(io.out_fifo, F_GETFL) & O_NONBLOCK, 0);
  ck_assert_int_ne(fcntl(io.out_fifo, F_GETFD) & FD_CLOEXEC, 0);
  run_io_release(&io);
  ck_assert_int_eq(io.in_fifo, -1);
  ck_assert_int_eq(io.out_fifo, -1);
  ck_assert_int_eq(io.err_fifo, -1);
  run_fifos_remove(&f);
}
END_TEST

START_TEST(test_io_open_missing)
{
  struct run_fifos f = {0};
  struct run_io io = RUN_IO_INIT(NULL, "c6");
  struct error *err = NULL;

  f.dir = xasprintf("%s/gone", tmpdir);
  f.in = xasprintf("%s/c6-stdin", f.dir);
  f.out = xasprintf("%s/c6-stdout", f.dir);
  ck_assert_int_eq(run_io_open(&f, &io, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "gone"));
  ck_assert_int_eq(io.out_fifo, -1);
  error_free(err);
  run_io_release(&io);
  run_fifos_remove(&f);
}
END_TEST

/* Everything readable on fd, until EOF. */
static char *
read_all(int fd)
{
  struct buf b = BUF_INIT;
  char chunk[256];
  ssize_t r;

  while ((r = read(fd, chunk, sizeof(chunk))) > 0)
    buf_add(&b, chunk, (size_t)r);
  buf_add(&b, "", 1);
  return buf_steal(&b);
}

/* The task's output reaches our stdout and stderr; once the task has
 * exited the pump drains the FIFOs to EOF and ends. */
START_TEST(test_pump_output)
{
  int task_out[2], task_err[2], our_out[2], our_err[2];
  struct run_io io = RUN_IO_INIT(NULL, "c7");
  uint64_t one = 1;
  pthread_t tid;
  cleanup_free char *out = NULL;
  cleanup_free char *errs = NULL;

  ck_assert_int_eq(pipe2(task_out, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(task_err, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(our_out, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(our_err, O_CLOEXEC), 0);
  io.out = our_out[1];
  io.err = our_err[1];
  io.out_fifo = task_out[0];
  io.err_fifo = task_err[0];
  io.sig_fd = eventfd(0, EFD_CLOEXEC);
  io.exit_fd = eventfd(0, EFD_CLOEXEC);
  io.stdin_done = true;
  ck_assert_int_eq(write(task_out[1], "out\n", 4), 4);
  ck_assert_int_eq(write(task_err[1], "err\n", 4), 4);
  close(task_out[1]);
  close(task_err[1]);
  ck_assert_int_eq(write(io.exit_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
  ck_assert_int_eq(pthread_create(&tid, NULL, run_io_pump, &io), 0);
  ck_assert_int_eq(pthread_join(tid, NULL), 0);
  ck_assert_int_eq(io.out_fifo, -1);
  ck_assert_int_eq(io.err_fifo, -1);
  close(our_out[1]);
  close(our_err[1]);
  out = read_all(our_out[0]);
  errs = read_all(our_err[0]);
  ck_assert_str_eq(out, "out\n");
  ck_assert_str_eq(errs, "err\n");
  close(our_out[0]);
  close(our_err[0]);
  run_io_release(&io);
}
END_TEST

/* Our stdin goes into the task's stdin FIFO; at its end the FIFO is closed. */
START_TEST(test_pump_stdin)
{
  cleanup_free char *path = xasprintf("%s/c8-stdin", tmpdir);
  struct run_io io = RUN_IO_INIT(NULL, "c8");
  struct error *err = NULL;
  cleanup_close int r = -1;
  int in[2];
  uint64_t one = 1;
  pthread_t tid;
  char got[16] = "";
  struct pollfd p;

  ck_assert_int_eq(mkfifo(path, 0700), 0);
  io.in_fifo = run_open_stdin_fifo(path, &err);
  ck_assert_int_ge(io.in_fifo, 0);
  r = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ck_assert_int_ge(r, 0);
  ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
  io.in = in[0];
  io.sig_fd = eventfd(0, EFD_CLOEXEC);
  io.exit_fd = eventfd(0, EFD_CLOEXEC);
  ck_assert_int_eq(write(in[1], "typed", 5), 5);
  close(in[1]);
  ck_assert_int_eq(pthread_create(&tid, NULL, run_io_pump, &io), 0);
  p = (struct pollfd){r, POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, 10000), 1);
  ck_assert_int_eq(read(r, got, sizeof(got)), 5);
  ck_assert_int_eq(memcmp(got, "typed", 5), 0);
  /* the FIFO's writer goes at our stdin's end: its reader sees EOF */
  ck_assert_int_eq(poll(&p, 1, 10000), 1);
  ck_assert_int_eq(read(r, got, sizeof(got)), 0);
  ck_assert_int_eq(write(io.exit_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
  ck_assert_int_eq(pthread_join(tid, NULL), 0);
  ck_assert(io.stdin_done);
  ck_assert_int_eq(io.in_fifo, -1);
  close(in[0]);
  run_io_release(&io);
}
END_TEST

START_TEST(test_pid_file)
{
  cleanup_free char *path = unit_write(tmpdir, "pid", "longer old content\n");
  cleanup_buf struct buf got = BUF_INIT;
  struct error *err = NULL;

  ck_assert_int_eq(run_write_pid_file(path, 4242, &err), 0);
  ck_assert_int_eq(read_file(path, 64, &got), 0);
  ck_assert_int_eq(got.len, 4);
  ck_assert_int_eq(memcmp(got.data, "4242", 4), 0);
}
END_TEST

START_TEST(test_pid_file_unwritable)
{
  cleanup_free char *path = xasprintf("%s/no/such/dir/pid", tmpdir);
  struct error *err = NULL;

  ck_assert_int_eq(run_write_pid_file(path, 1, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "write pid file"));
  ck_assert_ptr_nonnull(strstr(err->msg, "/no/such/dir/pid"));
  error_free(err);
}
END_TEST

/* What ctr forwards to a task, and SIGWINCH; never what cannot be caught. */
static const struct {
  int sig;
  bool in;
} signal_cases[] = {
    {SIGINT, true},   {SIGTERM, true},  {SIGHUP, true},   {SIGQUIT, true},
    {SIGUSR1, true},  {SIGUSR2, true},  {SIGWINCH, true}, {SIGKILL, false},
    {SIGSTOP, false}, {SIGCHLD, false}, {SIGPIPE, false},
};

START_TEST(test_signal_set)
{
  sigset_t mask;

  run_signal_set(&mask);
  ck_assert_int_eq(sigismember(&mask, signal_cases[_i].sig), signal_cases[_i].in);
}
END_TEST

Suite *
run_suite(void)
{
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("stdin");
  TCase *steps = tcase_create("steps");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_stdin_fifo_without_reader);
  tcase_add_test(tc, test_stdin_fifo_full);
  tcase_add_test(tc, test_stdin_fifo_missing);
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(steps, setup, teardown);
  tcase_add_loop_test(steps, test_fifos_make_remove, 0, ARRAY_SIZE(fifo_cases));
  tcase_add_test(steps, test_fifos_make_no_root);
  tcase_add_loop_test(steps, test_io_open, 0, ARRAY_SIZE(fifo_cases));
  tcase_add_test(steps, test_io_open_missing);
  tcase_add_test(steps, test_pump_output);
  tcase_add_test(steps, test_pump_stdin);
  tcase_add_test(steps, test_pid_file);
  tcase_add_test(steps, test_pid_file_unwritable);
  tcase_add_loop_test(steps, test_signal_set, 0, ARRAY_SIZE(signal_cases));
  suite_add_tcase(s, steps);
  return s;
}
