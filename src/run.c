#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>

#include "ctd.h"
#include "image.h"

#define FIFO_ROOT "/run/containerd/fifo"
#define DEFAULT_RUNTIME "io.containerd.runc.v2"

/* Signals a non-terminal ctr forwards to the task; SIGWINCH resizes. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct io {
  struct grpc_conn *c;
  const char *id;
  bool tty;
  int in_fifo;  /* our end of the stdin FIFO (read+write, never read), -1 once closed */
  int out_fifo; /* read ends, -1 at EOF */
  int err_fifo;
  int sig_fd;
  int exit_fd; /* eventfd: the task has exited, stop reading our stdin */
  bool stdin_done;
  struct buf pending; /* stdin bytes not yet taken by the FIFO */
};

static void
close_stdin(struct io *io)
{
  if (io->in_fifo >= 0) {
    close(io->in_fifo);
    io->in_fifo = -1;
    /* The shim holds a writer of its own: only CloseIO gives the process EOF. */
    ctd_task_close_stdin(io->c, io->id, NULL);
  }
  io->stdin_done = true;
}

static void
resize(struct io *io)
{
  struct winsize ws;

  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ctd_task_resize(io->c, io->id, ws.ws_col, ws.ws_row, NULL);
}

static bool
copy_out(int *fd, int to)
{
  char chunk[32768];
  ssize_t r = read(*fd, chunk, sizeof(chunk));

  if (r > 0) {
    if (write_all(to, chunk, (size_t)r) < 0 && errno == EPIPE) {
      /* nobody reads our output any more: keep draining the FIFO */
    }
    return true;
  }
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  close(*fd);
  *fd = -1;
  return false;
}

static void *
io_thread(void *arg)
{
  struct io *io = arg;
  bool exited = false;

  for (;;) {
    struct pollfd p[6];
    int n = 0, i_in = -1, i_fifo = -1, i_out = -1, i_err = -1, i_sig = -1, i_exit = -1;

    /* Done when the task has exited and its output is drained. */
    if (exited && io->out_fifo < 0 && io->err_fifo < 0)
      break;
    if (!io->stdin_done && !exited && io->pending.len == 0) {
      i_in = n;
      p[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
    }
    if (io->pending.len > 0 && io->in_fifo >= 0) {
      i_fifo = n;
      p[n++] = (struct pollfd){io->in_fifo, POLLOUT, 0};
    }
    if (io->out_fifo >= 0) {
      i_out = n;
      p[n++] = (struct pollfd){io->out_fifo, POLLIN, 0};
    }
    if (io->err_fifo >= 0) {
      i_err = n;
      p[n++] = (struct pollfd){io->err_fifo, POLLIN, 0};
    }
    i_sig = n;
    p[n++] = (struct pollfd){io->sig_fd, POLLIN, 0};
    if (!exited) {
      i_exit = n;
      p[n++] = (struct pollfd){io->exit_fd, POLLIN, 0};
    }
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (i_exit >= 0 && p[i_exit].revents)
      exited = true;
    if (i_sig >= 0 && (p[i_sig].revents & POLLIN)) {
      struct signalfd_siginfo si;
      if (read(io->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH)
          resize(io);
        else if (!exited)
          ctd_task_kill(io->c, io->id, si.ssi_signo, NULL);
      }
    }
    if (i_in >= 0 && p[i_in].revents) {
      char chunk[32768];
      ssize_t r = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (r > 0 && io->in_fifo >= 0)
        buf_add(&io->pending, chunk, (size_t)r);
      else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
        close_stdin(io);
    }
    if (i_fifo >= 0 && p[i_fifo].revents) {
      ssize_t w = write(io->in_fifo, io->pending.data, io->pending.len);
      if (w > 0)
        buf_consume(&io->pending, (size_t)w);
      else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        io->pending.len = 0;
        close_stdin(io);
      }
    }
    if (i_out >= 0 && p[i_out].revents)
      copy_out(&io->out_fifo, STDOUT_FILENO);
    if (i_err >= 0 && p[i_err].revents)
      copy_out(&io->err_fifo, STDERR_FILENO);
  }
  return NULL;
}

/* /etc/passwd and /etc/group of the container's rootfs, for --user names and
 * supplementary groups: mount the snapshot as the daemon would, read, unmount.
 * A snapshot that cannot be mounted here counts as one without the files. */
static int
read_user_files(const struct ctd_mounts *m, struct buf *passwd, struct buf *group,
                struct error **err)
{
  char dir[] = "/tmp/ctrx-rootfs-XXXXXX";
  int rv = 0;

  if (mkdtemp(dir) == NULL)
    return 0;
  if (ctd_mounts_mount(m, dir, NULL) == 0) {
    rv = spec_read_user_db(dir, passwd, group, err);
    umount2(dir, MNT_DETACH);
  }
  rmdir(dir);
  return rv;
}

struct fifos {
  char *dir;
  char *in, *out, *err;
};

int
run_open_stdin_fifo(const char *path, struct error **err)
{
  /* Read+write: the shim opens its read end from a goroutine that may not
   * have run yet when Create returns, and a write-only non-blocking open
   * with no reader fails with ENXIO. Read+write on a FIFO opens at once
   * (Linux); we never read from it. */
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    return error_set(err, errno, "open '%s'", path);
  return fd;
}

static int
make_fifos(const char *id, bool tty, struct fifos *f, struct error **err)
{
  cleanup_free char *tmpl = xasprintf("%s/XXXXXX", FIFO_ROOT);

  if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
    return error_set(err, errno, "mkdir '/run/containerd'");
  if (mkdir(FIFO_ROOT, 0700) < 0 && errno != EEXIST)
    return error_set(err, errno, "mkdir '%s'", FIFO_ROOT);
  if (mkdtemp(tmpl) == NULL)
    return error_set(err, errno, "mkdtemp '%s'", tmpl);
  f->dir = steal_pointer(&tmpl);
  f->in = xasprintf("%s/%s-stdin", f->dir, id);
  f->out = xasprintf("%s/%s-stdout", f->dir, id);
  if (!tty)
    f->err = xasprintf("%s/%s-stderr", f->dir, id);
  if (mkfifo(f->in, 0700) < 0 || mkfifo(f->out, 0700) < 0 || (f->err && mkfifo(f->err, 0700) < 0))
    return error_set(err, errno, "mkfifo in '%s'", f->dir);
  return 0;
}

static void
remove_fifos(struct fifos *f)
{
  if (f->dir) {
    unlink(f->in);
    unlink(f->out);
    if (f->err)
      unlink(f->err);
    rmdir(f->dir);
  }
  free(f->dir);
  free(f->in);
  free(f->out);
  free(f->err);
  memset(f, 0, sizeof(*f));
}

static int
ensure_image(struct grpc_conn *c, struct run_opts *o, const char *snapshotter, struct buf *config,
             char **top, struct error **err)
{
  cleanup_free char *mt = NULL;
  cleanup_free char *dg = NULL;
  struct error *e = NULL;

  if (ctd_image_get(c, o->image, &mt, &dg, &e) < 0) {
    if (!error_is(e, ERR_NOT_FOUND) || o->pull == NULL) {
      *err = e;
      return -1;
    }
    error_freep(&e);
    if (o->pull(o->pull_arg, err) < 0 || ctd_image_get(c, o->image, &mt, &dg, err) < 0)
      return -1;
  }
  if (image_read_config(c, mt, dg, o->platform, snapshotter, config, top, err) < 0)
    return error_wrap(err, "image \"%s\"", o->image);
  if (*top == NULL)
    return error_setc(err, ERR_INVALID, "image \"%s\" has no layers", o->image);
  if (ctd_snapshot_stat(c, snapshotter, *top, &e) < 0) {
    if (!error_is(e, ERR_NOT_FOUND) || o->pull == NULL) {
      *err = e;
      return -1;
    }
    /* Present but not unpacked for this snapshotter: the pull unpacks it. */
    error_freep(&e);
    if (o->pull(o->pull_arg, err) < 0)
      return -1;
  }
  return 0;
}

int
run_container(struct grpc_conn *c, struct run_opts *o, int *status, struct error **err)
{
  cleanup_free char *snapshotter = NULL;
  cleanup_free char *lease = NULL;
  cleanup_free char *spec_json = NULL;
  cleanup_free char *top = NULL;
  cleanup_strv struct strv labels = STRV_INIT;
  struct buf config = BUF_INIT, passwd = BUF_INIT, group = BUF_INIT;
  struct spec_devices host_devices = {NULL, 0};
  struct ctd_mounts *mounts = NULL;
  struct fifos f = {0};
  struct io io = {.c = c,
                  .id = o->id,
                  .in_fifo = -1,
                  .out_fifo = -1,
                  .err_fifo = -1,
                  .sig_fd = -1,
                  .exit_fd = -1};
  struct grpc_stream *wait = NULL;
  struct termios saved;
  bool raw = false, have_container = false, have_snapshot = false, have_task = false;
  sigset_t mask, oldmask;
  pthread_t tid;
  bool io_started = false;
  uint32_t exit_status = 0;
  int rv = -1;

  *status = 0;
  if (ctd_container_exists(c, o->id, NULL) == 0)
    return error_setc(err, ERR_ALREADY_EXISTS, "container \"%s\": already exists", o->id);
  if (ctd_default_snapshotter(c, o->ns, o->snapshotter, &snapshotter, err) < 0)
    return -1;
  if (ensure_image(c, o, snapshotter, &config, &top, err) < 0)
    goto out;

  if (ctd_lease_create(c, &lease, err) < 0)
    goto out;
  if (ctd_snapshot_prepare(c, lease, snapshotter, o->id, top, &mounts, err) < 0)
    goto out;
  have_snapshot = true;
  if (read_user_files(mounts, &passwd, &group, err) < 0)
    goto out;

  o->spec.ns = o->ns;
  o->spec.id = o->id;
  o->spec.image_config = config.data;
  o->spec.image_config_len = config.len;
  o->spec.passwd = passwd.data;
  o->spec.group = group.data;
  if (o->spec.privileged) {
    cleanup_buf struct buf status = BUF_INIT;
    if (read_file("/proc/self/status", 1 << 20, &status) < 0) {
      error_set(err, errno, "read '/proc/self/status'");
      goto out;
    }
    if (spec_parse_cap_eff(status.data, &o->spec.current_caps, err) < 0 ||
        spec_host_devices("/dev", &host_devices, err) < 0)
      goto out;
    o->spec.host_devices = &host_devices;
  }
  if (spec_build(&o->spec, &spec_json, err) < 0 ||
      spec_container_labels(&o->spec, &labels, err) < 0)
    goto out;
  {
    struct ctd_container ct = {
        .id = o->id,
        .image = o->image,
        .runtime = o->runtime && *o->runtime ? o->runtime : DEFAULT_RUNTIME,
        .spec_json = spec_json,
        .snapshotter = snapshotter,
        .snapshot_key = o->id,
        .labels = &labels,
    };
    if (ctd_container_create(c, lease, &ct, err) < 0)
      goto out;
    have_container = true;
  }
  /* The container record now holds the snapshot: the lease has done its job. */
  ctd_lease_delete(c, lease, NULL);
  free(steal_pointer(&lease));

  io.tty = o->spec.tty;
  if (!o->null_io) {
    if (make_fifos(o->id, o->spec.tty, &f, err) < 0)
      goto out;
    /* Read ends first: the shim blocks in Create until they are open. */
    io.out_fifo = open(f.out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f.err)
      io.err_fifo = open(f.err, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (io.out_fifo < 0 || (f.err && io.err_fifo < 0)) {
      error_set(err, errno, "open FIFOs in '%s'", f.dir);
      goto out;
    }
    /* stdin before Create too: see run_open_stdin_fifo */
    io.in_fifo = run_open_stdin_fifo(f.in, err);
    if (io.in_fifo < 0)
      goto out;
  }
  {
    struct ctd_task_io tio = {f.in, f.out, f.err, o->spec.tty};
    if (ctd_task_create(c, o->id, mounts, &tio, NULL, err) < 0)
      goto out;
    have_task = true;
  }
  if (ctd_task_wait_begin(c, o->id, &wait, err) < 0)
    goto out;
  {
    uint32_t pid = 0;
    if (ctd_task_start(c, o->id, &pid, err) < 0)
      goto out;
    if (o->pid_file) {
      cleanup_free char *s = xasprintf("%u", pid);
      cleanup_close int fd = open(o->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || write_all(fd, s, strlen(s)) < 0)
        error_set(err, errno, "write pid file '%s'", o->pid_file);
    }
  }
  if (o->detach) {
    /* The task runs on; its FIFOs stay for whoever attaches later. */
    rv = *err ? -1 : 0;
    have_task = have_container = have_snapshot = false;
    free(steal_pointer(&f.dir));
    goto out;
  }
  if (o->spec.tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
    struct termios r = saved;
    cfmakeraw(&r);
    raw = tcsetattr(STDIN_FILENO, TCSANOW, &r) == 0;
  }
  if (o->spec.tty)
    resize(&io);

  sigemptyset(&mask);
  for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
    sigaddset(&mask, forwarded[i]);
  sigaddset(&mask, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &mask, &oldmask);
  io.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  io.exit_fd = eventfd(0, EFD_CLOEXEC);
  if (o->null_io)
    io.stdin_done = true;
  if (pthread_create(&tid, NULL, io_thread, &io) == 0)
    io_started = true;

  if (ctd_task_wait_end(wait, &exit_status, err) < 0) {
    exit_status = 255;
    error_wrap(err, "wait for task \"%s\"", o->id);
  }
  if (io_started) {
    uint64_t one = 1;
    if (write(io.exit_fd, &one, sizeof(one)) < 0) {
      /* the thread still ends when the FIFOs close */
    }
    pthread_join(tid, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
  if (*err == NULL) {
    *status = (int)exit_status;
    rv = 0;
  }

out:
  if (raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  grpc_stream_free(wait);
  if (io.in_fifo >= 0)
    close(io.in_fifo);
  if (io.out_fifo >= 0)
    close(io.out_fifo);
  if (io.err_fifo >= 0)
    close(io.err_fifo);
  if (io.sig_fd >= 0)
    close(io.sig_fd);
  if (io.exit_fd >= 0)
    close(io.exit_fd);
  buf_release(&io.pending);
  /* ctr's order: task, then (with --rm, or after a failure) the snapshot and
   * the container. */
  if (have_task) {
    struct error *e = NULL;
    if (rv < 0)
      ctd_task_kill(c, o->id, SIGKILL, NULL);
    if (ctd_task_delete(c, o->id, NULL, &e) < 0 && rv < 0 && error_is(e, ERR_PRECONDITION)) {
      usleep(100000);
      error_freep(&e);
      ctd_task_delete(c, o->id, NULL, &e);
    }
    error_free(e);
  }
  if (rv < 0 || o->rm) {
    if (have_snapshot)
      ctd_snapshot_remove(c, lease, snapshotter, o->id, NULL);
    if (have_container)
      ctd_container_delete(c, o->id, NULL);
  }
  if (lease)
    ctd_lease_delete(c, lease, NULL);
  ctd_mounts_free(mounts);
  remove_fifos(&f);
  buf_release(&config);
  buf_release(&passwd);
  buf_release(&group);
  o->spec.host_devices = NULL;
  spec_devices_release(&host_devices);
  return rv;
}
