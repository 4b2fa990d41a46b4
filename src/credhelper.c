/* Running docker-credential-NAME: found on the PATH, spawned without a shell,
 * fed through a pipe, read through two, killed at its deadline. */
#include "credhelper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_STDERR 4096u
#define MAX_SHOWN 200u

extern char **environ;

char *
credhelper_find(const struct credhelper_opts *o, const char *name)
{
  const char *p = o->path;

  if (p == NULL || name[0] == '\0' || strchr(name, '/') != NULL)
    return NULL;
  while (*p != '\0') {
    size_t n = strcspn(p, ":");
    struct stat st;
    /* An empty entry means the current directory, as for the shell. */
    char *f = n ? xasprintf("%.*s/docker-credential-%s", (int)n, p, name)
                : xasprintf("./docker-credential-%s", name);
    if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0)
      return f;
    free(f);
    p += n;
    if (*p == ':')
      p++;
  }
  return NULL;
}

/* The first line of what the helper said on stderr, fit for a terminal and
 * cut short. Caller frees. */
static char *
first_line(const struct buf *b)
{
  size_t n = b->len ? strcspn(b->data, "\r\n") : 0;
  struct buf out = BUF_INIT;

  buf_addstr(&out, "");
  for (size_t i = 0; i < n && out.len < MAX_SHOWN; i++) {
    unsigned char c = (unsigned char)b->data[i];
    char ch = c >= 0x20 && c < 0x7f ? (char)c : '?';
    buf_add(&out, &ch, 1);
  }
  if (n > MAX_SHOWN)
    buf_addstr(&out, "...");
  return buf_steal(&out);
}

struct child {
  pid_t pid;
  int in, out, err; /* our ends, -1 once closed */
};

static void
child_close(struct child *c)
{
  closep(&c->in);
  closep(&c->out);
  closep(&c->err);
}

static int
spawn(const char *file, const char *verb, struct child *c, struct error **err)
{
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  char *argv[] = {(char *)base, (char *)verb, NULL};
  int rc;

  if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
    int e = errno;
    closep(&pin[0]), closep(&pin[1]), closep(&pout[0]), closep(&pout[1]);
    return error_set(err, e, "pipe");
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  rc = posix_spawn(&c->pid, file, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  closep(&pin[0]), closep(&pout[1]), closep(&perr[1]);
  c->in = pin[1];
  c->out = pout[0];
  c->err = perr[0];
  if (rc != 0) {
    child_close(c);
    return error_set(err, rc, "run %s", file);
  }
  fcntl(c->in, F_SETFL, O_NONBLOCK);
  return 0;
}

/* Write what is left of INPUT, without dying of SIGPIPE when the helper
 * never reads it. */
static void
feed(struct child *c, const char **input, size_t *left)
{
  sigset_t pipe_set, old;
  ssize_t w;

  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  w = write(c->in, *input, *left);
  if (w < 0 && errno == EPIPE) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (w > 0) {
    *input += w;
    *left -= (size_t)w;
  }
  if ((w < 0 && errno != EAGAIN && errno != EINTR) || *left == 0)
    closep(&c->in);
}

/* Read what is there on *fd into B (bytes past MAX dropped); EOF closes it. */
static void
drain(int *fd, struct buf *b, size_t max)
{
  char chunk[4096];
  ssize_t r = read(*fd, chunk, sizeof(chunk));

  if (r > 0 && b->len < max)
    buf_add(b, chunk, (size_t)r > max - b->len ? max - b->len : (size_t)r);
  if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
    closep(fd);
  explicit_bzero(chunk, sizeof(chunk));
}

/* Feed and read C until both its outputs close or DEADLINE; then reap it.
 * *status: its wait status; -1 when it was killed at the deadline. */
static void
converse(struct child *c, const char *input, int64_t deadline, struct buf *out, struct buf *errb,
         int *status)
{
  size_t left = strlen(input);
  pid_t r;

  while (c->out >= 0 || c->err >= 0) {
    struct pollfd p[3] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}, {c->in, POLLOUT, 0}};
    int64_t wait = deadline - now_ms();
    if (wait <= 0)
      break;
    if (poll(p, 3, (int)(wait > 1000 ? 1000 : wait)) < 0 && errno != EINTR)
      break;
    if (c->in >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP)))
      feed(c, &input, &left);
    if (c->out >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
      drain(&c->out, out, CREDHELPER_MAX_OUTPUT);
    if (c->err >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
      drain(&c->err, errb, MAX_STDERR);
  }
  /* Outputs closed: it is exiting; give it until the deadline to. */
  while ((r = waitpid(c->pid, status, WNOHANG)) == 0 && now_ms() < deadline) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (r == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    *status = -1;
  }
  child_close(c);
}

static int
outcome(const char *file, const char *verb, int status, int64_t timeout, const struct buf *errb,
        struct error **err)
{
  cleanup_free char *line = first_line(errb);
  const char *base = strrchr(file, '/') + 1;
  char code[48];

  if (status == -1)
    return error_setc(err, ERR_DEADLINE,
                      "credential helper %s %s: no answer within %lld ms: killed", base, verb,
                      (long long)timeout);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFEXITED(status))
    snprintf(code, sizeof(code), "exit status %d", WEXITSTATUS(status));
  else
    snprintf(code, sizeof(code), "killed by signal %d", WTERMSIG(status));
  return error_setc(err, ERR_UNAUTHENTICATED, "credential helper %s %s: %s%s%s", base, verb, code,
                    line[0] ? ": " : "", line);
}

int
credhelper_run(const struct credhelper_opts *o, const char *name, const char *verb,
               const char *input, struct buf *out, struct error **err)
{
  cleanup_free char *file = credhelper_find(o, name);
  cleanup_buf struct buf errb = BUF_INIT;
  struct child c = {-1, -1, -1, -1};
  int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : CREDHELPER_TIMEOUT_MS;
  int64_t deadline = now_ms() + timeout;
  int status = 0;

  buf_addstr(out, "");
  if (file == NULL)
    return error_setc(err, ERR_NOT_FOUND,
                      "credential helper docker-credential-%s: not found on PATH", name);
  if (o->deadline_ms > 0 && o->deadline_ms < deadline) {
    deadline = o->deadline_ms;
    timeout = deadline - now_ms();
  }
  if (spawn(file, verb, &c, err) < 0)
    return error_wrap(err, "credential helper");
  converse(&c, input, deadline, out, &errb, &status);
  return outcome(file, verb, status, timeout, &errb, err);
}

int
credhelper_get(const struct credhelper_opts *o, const char *name, const char *server_url,
               struct dockercfg_creds *out, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;
  struct error *e = NULL;
  int rv;

  rv = credhelper_run(o, name, "get", server_url, &b, &e);
  if (rv < 0 && !error_is(e, ERR_DEADLINE) && !error_is(e, ERR_NOT_FOUND) && b.data != NULL &&
      dockercfg_helper_not_found(b.data)) {
    error_free(e);
    rv = 0;
  } else if (rv < 0) {
    *err = e;
  } else if (dockercfg_parse_helper_answer(b.data, b.len, out, err) < 0) {
    rv = error_wrap(err, "credential helper docker-credential-%s get", name);
  } else {
    rv = 1;
  }
  if (b.data != NULL)
    explicit_bzero(b.data, b.len);
  return rv;
}

int
credhelper_store(const struct credhelper_opts *o, const char *name, const char *server_url,
                 const char *user, const char *secret, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;
  json_t *j = json_object();
  char *text;
  int rv;

  json_object_set_new(j, "ServerURL", json_string(server_url));
  json_object_set_new(j, "Username", json_string(user));
  json_object_set_new(j, "Secret", json_string(secret));
  text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  dockercfg_free(j);
  if (text == NULL)
    return error_setc(err, ERR_INVALID, "credential helper: cannot encode the credentials");
  rv = credhelper_run(o, name, "store", text, &b, err);
  explicit_bzero(text, strlen(text));
  free(text);
  if (b.data != NULL)
    explicit_bzero(b.data, b.len);
  return rv;
}

int
credhelper_erase(const struct credhelper_opts *o, const char *name, const char *server_url,
                 struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;
  struct error *e = NULL;

  if (credhelper_run(o, name, "erase", server_url, &b, &e) == 0)
    return 1;
  if (!error_is(e, ERR_DEADLINE) && !error_is(e, ERR_NOT_FOUND) && b.data != NULL &&
      dockercfg_helper_not_found(b.data)) {
    error_free(e);
    return 0;
  }
  *err = e;
  return -1;
}
