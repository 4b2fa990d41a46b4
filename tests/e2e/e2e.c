#include "e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

const char *
e2e_env(const char *name)
{
  const char *v = getenv(name);
  ck_assert_msg(v != NULL && *v != '\0', "%s is not set: run through tests/testbed/run-e2e",
                name);
  return v;
}

static void
drain(int fd, struct buf *b)
{
  char chunk[4096];
  ssize_t r = read(fd, chunk, sizeof(chunk));
  if (r > 0)
    buf_add(b, chunk, (size_t)r);
}

int
e2e_sh(struct e2e_out *o, const char *stdin_data, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *cmd = NULL;
  int in[2], out[2], errp[2];
  struct buf bo = BUF_INIT, be = BUF_INIT;
  size_t in_off = 0, in_len = stdin_data ? strlen(stdin_data) : 0;
  pid_t pid;
  int st = 0;

  e2e_out_release(o);
  va_start(ap, fmt);
  cmd = xvasprintf(fmt, ap);
  va_end(ap);
  ck_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
            pipe2(errp, O_CLOEXEC) == 0);
  pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(errp[1]);
  if (in_len == 0) {
    close(in[1]);
    in[1] = -1;
  } else {
    fcntl(in[1], F_SETFL, O_NONBLOCK);
  }
  for (;;) {
    struct pollfd p[3] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    int n = in[1] >= 0 ? 3 : 2;
    if (out[0] < 0 && errp[0] < 0)
      break;
    p[0].fd = out[0];
    p[1].fd = errp[0];
    if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; i++) {
      int *fd = i == 0 ? &out[0] : &errp[0];
      if (*fd >= 0 && (p[i].revents & (POLLIN | POLLHUP))) {
        size_t before = i == 0 ? bo.len : be.len;
        drain(*fd, i == 0 ? &bo : &be);
        if ((i == 0 ? bo.len : be.len) == before && (p[i].revents & POLLHUP)) {
          close(*fd);
          *fd = -1;
        }
      }
    }
    if (n == 3 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in[1], stdin_data + in_off, in_len - in_off);
      if (w > 0)
        in_off += (size_t)w;
      if (w < 0 || in_off == in_len) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0)
    close(in[1]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  buf_add(&bo, "", 0);
  buf_add(&be, "", 0);
  o->out = buf_steal(&bo);
  o->err = buf_steal(&be);
  o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return o->status;
}

void
e2e_out_release(struct e2e_out *o)
{
  free(o->out);
  free(o->err);
  o->out = o->err = NULL;
}

char *
e2e_namespace(const char *prefix)
{
  static int seq;
  return xasprintf("%s-%d-%d", prefix, (int)getpid(), ++seq);
}

void
e2e_clean_namespace(const char *ns)
{
  cleanup_e2e_out struct e2e_out o = {0};
  e2e_sh(&o, NULL,
         "for t in $($CTR -a \"$ADDR\" -n %1$s tasks ls -q); do $CTR -a \"$ADDR\" -n %1$s tasks "
         "kill -s 9 $t; done; sleep 0.2; "
         "for t in $($CTR -a \"$ADDR\" -n %1$s tasks ls -q); do $CTR -a \"$ADDR\" -n %1$s tasks rm "
         "-f $t; done; "
         "for c in $($CTR -a \"$ADDR\" -n %1$s c ls -q); do $CTR -a \"$ADDR\" -n %1$s c rm $c; done; "
         "imgs=$($CTR -a \"$ADDR\" -n %1$s i ls -q); [ -z \"$imgs\" ] || $CTR -a \"$ADDR\" -n %1$s "
         "i rm --sync $imgs >/dev/null",
         ns);
}
