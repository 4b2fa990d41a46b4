#include "e2e.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctd.h"
#include "grpc.h"
#include "util.h"

const char *
e2e_env(const char *name)
{
  const char *v = getenv(name);
  ck_assert_msg(v != NULL && *v != '\0', "%s is not set: run through tests/testbed/run-e2e", name);
  return v;
}

bool
e2e_line_2x(void)
{
  return e2e_env("CTRX_TEST_CONTAINERD")[0] == '2';
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
  ck_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0);
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
e2e_run_fixture(const char *prefix, char **ns, char **img)
{
  *ns = e2e_namespace(prefix);
  *img = xasprintf("%s/test/busybox:oci", e2e_env("CTRX_TEST_REGISTRY"));
}

void
e2e_run_fixture_release(char **ns, char **img)
{
  e2e_clean_namespace(*ns);
  free(*ns);
  free(*img);
  *ns = *img = NULL;
}

void
e2e_clean_namespace(const char *ns)
{
  cleanup_e2e_out struct e2e_out o = {0};
  e2e_sh(
      &o, NULL,
      "for t in $($CTR -a \"$ADDR\" -n %1$s tasks ls -q); do $CTR -a \"$ADDR\" -n %1$s tasks "
      "kill -s 9 $t; done; sleep 0.2; "
      "for t in $($CTR -a \"$ADDR\" -n %1$s tasks ls -q); do $CTR -a \"$ADDR\" -n %1$s tasks rm "
      "-f $t; done; "
      "for c in $($CTR -a \"$ADDR\" -n %1$s c ls -q); do $CTR -a \"$ADDR\" -n %1$s c rm $c; done; "
      "imgs=$($CTR -a \"$ADDR\" -n %1$s i ls -q); [ -z \"$imgs\" ] || $CTR -a \"$ADDR\" -n %1$s "
      "i rm --sync $imgs >/dev/null",
      ns);
}

void
e2e_assert_no_lease(const char *ns)
{
  cleanup_e2e_out struct e2e_out l = {0};

  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s leases ls -q", ns);
  ck_assert_msg(strcmp(l.out, "") == 0, "leases left in %s: %s", ns, l.out);
}

void
e2e_assert_nothing_left(const char *ns)
{
  cleanup_e2e_out struct e2e_out i = {0};

  e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_msg(strcmp(i.out, "") == 0, "images left in %s: %s", ns, i.out);
  e2e_assert_no_lease(ns);
}

static int
strcmp_p(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
e2e_content_state(const char *ns)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_error struct error *cerr = NULL;
  struct grpc_conn *c = NULL;
  struct buf b = BUF_INIT;
  char *save = NULL;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s content ls -q | sort", ns), 0);
  ck_assert_msg(ctd_connect(e2e_env("CTRX_TEST_ADDRESS"), 5000, &c, &cerr) == 0, "%s",
                cerr ? cerr->msg : "");
  ctd_set_namespace(c, ns);
  for (char *d = strtok_r(o.out, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
    cleanup_strv struct strv labels = STRV_INIT;
    cleanup_error struct error *err = NULL;
    ck_assert_msg(ctd_content_labels(c, d, &labels, &err) == 0, "%s", err ? err->msg : "");
    qsort(labels.v, labels.n, sizeof(char *), strcmp_p);
    buf_addf(&b, "%s", d);
    for (size_t i = 0; i < labels.n; i++)
      buf_addf(&b, " %s", labels.v[i]);
    buf_addstr(&b, "\n");
  }
  grpc_conn_free(c);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

void
e2e_assert_same_image(const char *ns_a, const char *ns_b)
{
  cleanup_e2e_out struct e2e_out ia = {0}, ib = {0}, sa = {0}, sb = {0};
  cleanup_free char *ca = NULL, *cb = NULL;

  e2e_sh(&ia, NULL, "$CTR -a \"$ADDR\" -n %s images ls", ns_a);
  e2e_sh(&ib, NULL, "$CTR -a \"$ADDR\" -n %s images ls", ns_b);
  ck_assert_msg(strcmp(ia.out, ib.out) == 0, "images in %s:\n%s\nin %s:\n%s", ns_a, ia.out, ns_b,
                ib.out);
  e2e_sh(&sa, NULL, "$CTR -a \"$ADDR\" -n %s snapshots ls | sort", ns_a);
  e2e_sh(&sb, NULL, "$CTR -a \"$ADDR\" -n %s snapshots ls | sort", ns_b);
  ck_assert_msg(strcmp(sa.out, sb.out) == 0, "snapshots in %s:\n%s\nin %s:\n%s", ns_a, sa.out, ns_b,
                sb.out);
  ca = e2e_content_state(ns_a);
  cb = e2e_content_state(ns_b);
  ck_assert_msg(strcmp(ca, cb) == 0, "content in %s:\n%s\nin %s:\n%s", ns_a, ca, ns_b, cb);
}

void
e2e_native_commands(struct strv *out)
{
  cleanup_e2e_out struct e2e_out o = {0};
  const char *p;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTRX --help"), 0);
  p = strstr(o.out, "Commands run by ctrx:\n");
  ck_assert_msg(p != NULL, "no command list in ctrx --help:\n%.2000s", o.out);
  for (p = strchr(p, '\n') + 1; p[0] == ' ' && p[1] == ' ' && isalpha((unsigned char)p[2]);) {
    strv_push_owned(out, xstrndup(p + 2, strcspn(p + 2, " \n")));
    p = strchr(p, '\n');
    if (p == NULL)
      break;
    p++;
  }
}

char *
e2e_testbed(void)
{
  const char *env = getenv("CTRX_TESTBED");
  char exe[4096];
  ssize_t n;
  struct stat st;

  if (env && *env)
    return xstrdup(env);
  n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    char *slash;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash) {
      char *p;
      *slash = '\0';
      p = xasprintf("%s/../tests/testbed/testbed", exe);
      if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
        return p;
      free(p);
    }
  }
  return xstrdup("tests/testbed/testbed");
}

/* The shell's way to the top of the repository: the binary under test is
 * ./ctrx, or build-san/ctrx of a sanitized build. */

char *
e2e_secure_start(const char *name)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_buf struct buf env = BUF_INIT;
  cleanup_free char *path = NULL;
  char *dir = xasprintf("%s/%s", e2e_env("CTRX_TEST_ROOT"), name);
  char *save = NULL;

  e2e_sh(&o, NULL, E2E_AT_TOP "SECURE_WATCH_PID=%d tests/testbed/secure-registries start %s",
         (int)getpid(), dir);
  ck_assert_msg(o.status == 0, "secure-registries start: %s%s", o.out, o.err);
  path = xasprintf("%s/secure.env", dir);
  ck_assert_int_eq(read_file(path, 1 << 16, &env), 0);
  for (char *l = strtok_r(env.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    setenv(l, eq + 1, 1);
  }
  return dir;
}

void
e2e_secure_stop(char **dir)
{
  cleanup_e2e_out struct e2e_out o = {0};

  e2e_sh(&o, NULL, E2E_AT_TOP "tests/testbed/secure-registries stop %s", *dir);
  free(*dir);
  *dir = NULL;
}
