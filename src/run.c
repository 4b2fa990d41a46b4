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
#include "log.h"
#include "run_internal.h"

#define FIFO_ROOT "/run/containerd/fifo"
#define DEFAULT_RUNTIME "io.containerd.runc.v2"

/* Signals a non-terminal ctr forwards to the task; SIGWINCH resizes. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void
close_stdin(struct run_io *io)
{
  if (io->in_fifo >= 0) {
    close(io->in_fifo);
    io->in_fifo = -1;
    /* The shim holds a writer of its own: only CloseIO gives the process EOF. */
    if (io->c)
      ctd_task_close_stdin(io->c, io->id, NULL);
  }
  io->stdin_done = true;
}

static void
resize(struct run_io *io)
{
  struct winsize ws;

  if (ioctl(io->in, TIOCGWINSZ, &ws) == 0 || ioctl(io->out, TIOCGWINSZ, &ws) == 0)
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

/* Where each of the pump's fds sits in its pollfd array, -1 when not polled. */
struct pump_slots {
  int in, fifo, out, err, sig, exit;
};

static nfds_t
pump_poll_set(const struct run_io *io, bool exited, struct pollfd *p, struct pump_slots *s)
{
  int n = 0;

  *s = (struct pump_slots){-1, -1, -1, -1, -1, -1};
  if (!io->stdin_done && !exited && io->pending.len == 0) {
    s->in = n;
    p[n++] = (struct pollfd){io->in, POLLIN, 0};
  }
  if (io->pending.len > 0 && io->in_fifo >= 0) {
    s->fifo = n;
    p[n++] = (struct pollfd){io->in_fifo, POLLOUT, 0};
  }
  if (io->out_fifo >= 0) {
    s->out = n;
    p[n++] = (struct pollfd){io->out_fifo, POLLIN, 0};
  }
  if (io->err_fifo >= 0) {
    s->err = n;
    p[n++] = (struct pollfd){io->err_fifo, POLLIN, 0};
  }
  s->sig = n;
  p[n++] = (struct pollfd){io->sig_fd, POLLIN, 0};
  if (!exited) {
    s->exit = n;
    p[n++] = (struct pollfd){io->exit_fd, POLLIN, 0};
  }
  return (nfds_t)n;
}

static void
pump_signal(struct run_io *io, bool exited)
{
  struct signalfd_siginfo si;

  if (read(io->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    if (si.ssi_signo == SIGWINCH)
      resize(io);
    else if (!exited)
      ctd_task_kill(io->c, io->id, si.ssi_signo, NULL);
  }
}

static void
pump_stdin(struct run_io *io)
{
  char chunk[32768];
  ssize_t r = read(io->in, chunk, sizeof(chunk));

  if (r > 0 && io->in_fifo >= 0)
    buf_add(&io->pending, chunk, (size_t)r);
  else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
    close_stdin(io);
}

static void
pump_fifo(struct run_io *io)
{
  ssize_t w = write(io->in_fifo, io->pending.data, io->pending.len);

  if (w > 0) {
    buf_consume(&io->pending, (size_t)w);
  } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
    io->pending.len = 0;
    close_stdin(io);
  }
}

void *
run_io_pump(void *arg)
{
  struct run_io *io = arg;
  bool exited = false;

  for (;;) {
    struct pollfd p[6];
    struct pump_slots s;
    nfds_t n;

    /* Done when the task has exited and its output is drained. */
    if (exited && io->out_fifo < 0 && io->err_fifo < 0)
      break;
    n = pump_poll_set(io, exited, p, &s);
    if (poll(p, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (s.exit >= 0 && p[s.exit].revents)
      exited = true;
    if (s.sig >= 0 && (p[s.sig].revents & POLLIN))
      pump_signal(io, exited);
    if (s.in >= 0 && p[s.in].revents)
      pump_stdin(io);
    if (s.fifo >= 0 && p[s.fifo].revents)
      pump_fifo(io);
    if (s.out >= 0 && p[s.out].revents)
      copy_out(&io->out_fifo, io->out);
    if (s.err >= 0 && p[s.err].revents)
      copy_out(&io->err_fifo, io->err);
  }
  return NULL;
}

void
run_io_release(struct run_io *io)
{
  closep(&io->in_fifo);
  closep(&io->out_fifo);
  closep(&io->err_fifo);
  closep(&io->sig_fd);
  closep(&io->exit_fd);
  buf_release(&io->pending);
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

int
run_fifos_make(const char *root, const char *id, bool tty, struct run_fifos *f, struct error **err)
{
  cleanup_free char *tmpl = xasprintf("%s/XXXXXX", root);

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

void
run_fifos_remove(struct run_fifos *f)
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

int
run_io_open(const struct run_fifos *f, struct run_io *io, struct error **err)
{
  cleanup_close int out = open(f->out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  cleanup_close int errfd = -1;
  int in;

  if (f->err)
    errfd = open(f->err, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (out < 0 || (f->err && errfd < 0))
    return error_set(err, errno, "open FIFOs in '%s'", f->dir);
  in = run_open_stdin_fifo(f->in, err);
  if (in < 0)
    return -1;
  io->in_fifo = in;
  io->out_fifo = steal_fd(&out);
  io->err_fifo = steal_fd(&errfd);
  return 0;
}

void
run_signal_set(sigset_t *mask)
{
  sigemptyset(mask);
  for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
    sigaddset(mask, forwarded[i]);
  sigaddset(mask, SIGWINCH);
}

int
run_write_pid_file(const char *path, uint32_t pid, struct error **err)
{
  cleanup_free char *s = xasprintf("%u", pid);
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write_all(fd, s, strlen(s)) < 0)
    return error_set(err, errno, "write pid file '%s'", path);
  return 0;
}

/* What run_container has made so far; run_state_release frees it all and,
 * unless the run succeeded (or detached), undoes it. */
struct run_state {
  struct grpc_conn *c;
  struct run_opts *o;
  char *snapshotter;
  char *lease;
  char *top; /* the image's top chain ID */
  struct buf config, passwd, group;
  struct spec_devices host_devices;
  struct ctd_mounts *mounts;
  struct run_fifos f;
  struct run_io io;
  struct grpc_stream *wait;
  struct grpc_stream *version; /* Version/Version in flight, NULL once answered */
  struct termios saved;
  bool raw; /* saved holds the terminal's mode before raw */
  bool have_container, have_snapshot, have_task;
  bool failed;
};

/* ctr's order: task, then (with --rm, or after a failure) the snapshot and
 * the container. */
static void
run_state_undo(struct run_state *st)
{
  if (st->have_task) {
    struct error *e = NULL;
    if (st->failed)
      ctd_task_kill(st->c, st->o->id, SIGKILL, NULL);
    if (ctd_task_delete(st->c, st->o->id, NULL, &e) < 0 && st->failed &&
        error_is(e, ERR_PRECONDITION)) {
      usleep(100000);
      error_freep(&e);
      ctd_task_delete(st->c, st->o->id, NULL, &e);
    }
    error_free(e);
  }
  if (st->failed || st->o->rm) {
    if (st->have_snapshot)
      ctd_snapshot_remove(st->c, st->lease, st->snapshotter, st->o->id, NULL);
    if (st->have_container)
      ctd_container_delete(st->c, st->o->id, NULL);
  }
}

static void
run_state_release(struct run_state *st)
{
  if (st->raw)
    tcsetattr(st->io.in, TCSANOW, &st->saved);
  grpc_stream_free(st->wait);
  grpc_stream_free(st->version);
  run_io_release(&st->io);
  run_state_undo(st);
  if (st->lease)
    ctd_lease_delete(st->c, st->lease, NULL);
  ctd_mounts_free(st->mounts);
  run_fifos_remove(&st->f);
  free(st->snapshotter);
  free(st->lease);
  free(st->top);
  buf_release(&st->config);
  buf_release(&st->passwd);
  buf_release(&st->group);
  st->o->spec.host_devices = NULL;
  spec_devices_release(&st->host_devices);
}

#define cleanup_run_state __attribute__((cleanup(run_state_release)))

/* The id must be new. The daemon's version, which picks the line whose ctr
 * run the spec matches, is asked alongside, so it costs no round trip. */
static int
check_new_container(struct run_state *st, struct error **err)
{
  if (ctd_version_begin(st->c, &st->version, NULL) < 0)
    st->version = NULL;
  if (ctd_container_exists(st->c, st->o->id, NULL) == 0)
    return error_setc(err, ERR_ALREADY_EXISTS, "container \"%s\": already exists", st->o->id);
  return 0;
}

/* The line of the daemon's version; one that does not say (or cannot) gets
 * the newest line's spec. */
static void
pick_line(struct run_state *st)
{
  cleanup_free char *version = NULL;
  struct error *e = NULL;

  if (st->version == NULL || ctd_version_end(steal_pointer(&st->version), &version, NULL, &e) < 0) {
    log_debug("containerd's version unknown (%s): the newest line's spec",
              e ? e->msg : "not asked");
    error_free(e);
  }
  st->o->spec.line = spec_line_of(version);
}

/* --snapshotter, else the namespace's default, else overlayfs. */
static int
pick_snapshotter(struct run_state *st, struct error **err)
{
  return ctd_default_snapshotter(st->c, st->o->ns, st->o->snapshotter, &st->snapshotter, err);
}

/* The image's config and top chain ID, pulling (and unpacking) what is
 * missing when o->pull allows. */
static int
ensure_image(struct run_state *st, struct error **err)
{
  struct run_opts *o = st->o;
  cleanup_free char *mt = NULL;
  cleanup_free char *dg = NULL;
  struct error *e = NULL;

  if (ctd_image_get(st->c, o->image, &mt, &dg, &e) < 0) {
    if (!error_is(e, ERR_NOT_FOUND) || o->pull == NULL) {
      *err = e;
      return -1;
    }
    error_freep(&e);
    if (o->pull(o->pull_arg, err) < 0 || ctd_image_get(st->c, o->image, &mt, &dg, err) < 0)
      return -1;
  }
  if (image_read_config(st->c, mt, dg, o->platform, st->snapshotter, &st->config, &st->top, err) <
      0)
    return error_wrap(err, "image \"%s\"", o->image);
  if (st->top == NULL)
    return error_setc(err, ERR_INVALID, "image \"%s\" has no layers", o->image);
  if (ctd_snapshot_stat(st->c, st->snapshotter, st->top, &e) < 0) {
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

/* The container's snapshot, under a lease until the container holds it,
 * and the user files in it. */
static int
prepare_rootfs(struct run_state *st, struct error **err)
{
  if (ctd_lease_create(st->c, &st->lease, err) < 0)
    return -1;
  if (ctd_snapshot_prepare(st->c, st->lease, st->snapshotter, st->o->id, st->top, &st->mounts,
                           err) < 0)
    return -1;
  st->have_snapshot = true;
  return read_user_files(st->mounts, &st->passwd, &st->group, err);
}

/* What the spec takes from the image and the rootfs, and with --privileged
 * from this process and the host's /dev. */
static int
spec_inputs(struct run_state *st, struct error **err)
{
  struct spec_opts *s = &st->o->spec;
  cleanup_buf struct buf status = BUF_INIT;

  s->ns = st->o->ns;
  s->id = st->o->id;
  s->image_config = st->config.data;
  s->image_config_len = st->config.len;
  s->passwd = st->passwd.data;
  s->group = st->group.data;
  if (!s->privileged)
    return 0;
  if (read_file("/proc/self/status", 1 << 20, &status) < 0)
    return error_set(err, errno, "read '/proc/self/status'");
  if (spec_parse_cap_eff(status.data, &s->current_caps, err) < 0 ||
      spec_host_devices("/dev", &st->host_devices, err) < 0)
    return -1;
  s->host_devices = &st->host_devices;
  return 0;
}

static int
create_container(struct run_state *st, struct error **err)
{
  struct run_opts *o = st->o;
  cleanup_free char *spec_json = NULL;
  cleanup_strv struct strv labels = STRV_INIT;
  struct ctd_container ct = {
      .id = o->id,
      .image = o->image,
      .runtime = o->runtime && *o->runtime ? o->runtime : DEFAULT_RUNTIME,
      .snapshotter = st->snapshotter,
      .snapshot_key = o->id,
      .labels = &labels,
  };

  if (spec_inputs(st, err) < 0 || spec_build(&o->spec, &spec_json, err) < 0 ||
      spec_container_labels(&o->spec, &labels, err) < 0)
    return -1;
  ct.spec_json = spec_json;
  if (ctd_container_create(st->c, st->lease, &ct, err) < 0)
    return -1;
  st->have_container = true;
  /* The container record now holds the snapshot: the lease has done its job. */
  ctd_lease_delete(st->c, st->lease, NULL);
  free(steal_pointer(&st->lease));
  return 0;
}

static int
make_fifos(struct run_state *st, struct error **err)
{
  if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
    return error_set(err, errno, "mkdir '/run/containerd'");
  if (mkdir(FIFO_ROOT, 0700) < 0 && errno != EEXIST)
    return error_set(err, errno, "mkdir '%s'", FIFO_ROOT);
  if (run_fifos_make(FIFO_ROOT, st->o->id, st->o->spec.tty, &st->f, err) < 0)
    return -1;
  /* Our ends before Create: the shim blocks in it until the read ends are open. */
  return run_io_open(&st->f, &st->io, err);
}

/* Create and start the task, Wait begun before Start so that no exit is
 * missed. A pid file that cannot be written sets *err, yet the task runs. */
static int
start_task(struct run_state *st, struct error **err)
{
  struct run_opts *o = st->o;
  struct ctd_task_io tio;
  uint32_t pid = 0;

  if (!o->null_io && make_fifos(st, err) < 0)
    return -1;
  tio = (struct ctd_task_io){st->f.in, st->f.out, st->f.err, o->spec.tty};
  if (ctd_task_create(st->c, o->id, st->mounts, &tio, NULL, err) < 0)
    return -1;
  st->have_task = true;
  if (ctd_task_wait_begin(st->c, o->id, &st->wait, err) < 0 ||
      ctd_task_start(st->c, o->id, &pid, err) < 0)
    return -1;
  if (o->pid_file)
    run_write_pid_file(o->pid_file, pid, err);
  return 0;
}

static void
raw_terminal(struct run_state *st)
{
  if (isatty(st->io.in) && tcgetattr(st->io.in, &st->saved) == 0) {
    struct termios r = st->saved;
    cfmakeraw(&r);
    st->raw = tcsetattr(st->io.in, TCSANOW, &r) == 0;
  }
  resize(&st->io);
}

/* Copy the task's I/O and forward signals until it exits; *status is its
 * exit status. */
static int
attach(struct run_state *st, int *status, struct error **err)
{
  struct run_io *io = &st->io;
  sigset_t mask, oldmask;
  pthread_t tid;
  bool io_started = false;
  uint32_t exit_status = 0;

  if (st->o->spec.tty)
    raw_terminal(st);
  run_signal_set(&mask);
  pthread_sigmask(SIG_BLOCK, &mask, &oldmask);
  io->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  io->exit_fd = eventfd(0, EFD_CLOEXEC);
  if (st->o->null_io)
    io->stdin_done = true;
  if (pthread_create(&tid, NULL, run_io_pump, io) == 0)
    io_started = true;
  if (ctd_task_wait_end(st->wait, &exit_status, err) < 0)
    error_wrap(err, "wait for task \"%s\"", st->o->id);
  if (io_started) {
    uint64_t one = 1;
    if (write(io->exit_fd, &one, sizeof(one)) < 0) {
      /* the thread still ends when the FIFOs close */
    }
    pthread_join(tid, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
  if (*err != NULL)
    return -1;
  *status = (int)exit_status;
  return 0;
}

int
run_container(struct grpc_conn *c, struct run_opts *o, int *status, struct error **err)
{
  cleanup_run_state struct run_state st = {
      .c = c, .o = o, .io = RUN_IO_INIT(c, o->id), .failed = true};

  *status = 0;
  if (check_new_container(&st, err) < 0)
    return -1;
  pick_line(&st);
  if (pick_snapshotter(&st, err) < 0 || ensure_image(&st, err) < 0 ||
      prepare_rootfs(&st, err) < 0 || create_container(&st, err) < 0 || start_task(&st, err) < 0)
    return -1;
  if (o->detach) {
    /* The task runs on; its FIFOs stay for whoever attaches later. */
    st.have_task = st.have_container = st.have_snapshot = false;
    free(steal_pointer(&st.f.dir));
    return *err ? -1 : 0;
  }
  if (attach(&st, status, err) < 0)
    return -1;
  st.failed = false;
  return 0;
}
