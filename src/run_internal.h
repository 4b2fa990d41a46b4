/* The steps of run that need no daemon, for the unit tests: the FIFOs, the
 * copying between them and our stdio, the pid file. Not for other modules. */
#ifndef CTRX_RUN_INTERNAL_H
#define CTRX_RUN_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "grpc.h"
#include "util.h"

/* A task's FIFOs: a directory of their own, stdin, stdout and (without a
 * terminal) stderr. All owned; run_fifos_release frees them. */
struct run_fifos {
  char *dir;
  char *in, *out, *err;
};

/* Make a directory below ROOT (which must exist) and the FIFOs of task ID
 * in it; on failure *f holds what was made, for run_fifos_remove. */
int run_fifos_make(const char *root, const char *id, bool tty, struct run_fifos *f,
                   struct error **err);
/* Unlink the FIFOs and their directory (when f->dir is set), then free. */
void run_fifos_remove(struct run_fifos *f);

/* Copying between our stdio and a task's FIFOs, in a thread of its own. The
 * fds are the struct's, -1 when closed; run_io_release closes them. */
struct run_io {
  struct grpc_conn *c; /* NULL: stdin's end is not passed on with CloseIO */
  const char *id;
  int in, out, err; /* ours: STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO */
  int in_fifo;      /* our end of the stdin FIFO (read+write, never read), -1 once closed */
  int out_fifo;     /* read ends, -1 at EOF */
  int err_fifo;
  int sig_fd;  /* signalfd: forwarded signals and SIGWINCH */
  int exit_fd; /* eventfd: the task has exited, stop reading our stdin */
  bool stdin_done;
  struct buf pending; /* stdin bytes not yet taken by the FIFO */
};

#define RUN_IO_INIT(conn, task)                                                                    \
  {                                                                                                \
    .c = (conn), .id = (task), .in = 0, .out = 1, .err = 2, .in_fifo = -1, .out_fifo = -1,         \
    .err_fifo = -1, .sig_fd = -1, .exit_fd = -1, .stdin_done = false, .pending = BUF_INIT          \
  }

/* Open our ends of f's FIFOs into io: the read ends first (the shim blocks
 * in Create until they are open), then stdin (see run_open_stdin_fifo). */
int run_io_open(const struct run_fifos *f, struct run_io *io, struct error **err);
/* The thread: copies until the task has exited (exit_fd) and its output
 * FIFOs reached EOF. arg is a struct run_io. */
void *run_io_pump(void *arg);
void run_io_release(struct run_io *io);

/* The signals run forwards to the task, and SIGWINCH. */
void run_signal_set(sigset_t *mask);

/* Write PID to PATH (created or truncated, 0644) as ctr's --pid-file does. */
int run_write_pid_file(const char *path, uint32_t pid, struct error **err);

#endif
