/* Run a container the way ctr run does (PROTOCOL.md §4, §8.3): container
 * record, snapshot on the image's top chain ID, task with FIFOs, Wait before
 * Start, stdin closed with CloseIO at its end, signals forwarded, a terminal in
 * raw mode with its size kept, exit status passed on, --rm cleanup. */
#ifndef CTRX_RUN_H
#define CTRX_RUN_H

#include <stdbool.h>

#include "error.h"
#include "grpc.h"
#include "spec.h"

struct run_opts {
  const char *ns;
  const char *image; /* normalized name, as stored in containerd */
  const char *id;
  bool rm, detach, null_io;
  const char *snapshotter; /* NULL: the namespace's default, else overlayfs */
  const char *runtime;     /* NULL: io.containerd.runc.v2 */
  const char *pid_file;
  const char *platform; /* NULL: this machine's */
  /* The flags that shape the spec; run fills in ns, id, image config,
   * passwd and group, and the line, from the daemon's version. */
  struct spec_opts spec;
  /* Called when the image is missing, or not unpacked for the snapshotter:
   * pull (and unpack) it, then run goes on. */
  int (*pull)(void *arg, struct error **err);
  void *pull_arg;
};

/* Runs the container. *status is the container's exit status (128 + signal
 * when killed); with detach it is 0 once the task started. On failure nothing
 * of the new container is left behind. */
int run_container(struct grpc_conn *c, struct run_opts *o, int *status, struct error **err);

/* Our end of a container's stdin FIFO, to write to: opens whether or not
 * the shim has opened its read end yet, never blocks. Returns the fd
 * (O_NONBLOCK, O_CLOEXEC; the caller's), or -1. */
int run_open_stdin_fifo(const char *path, struct error **err);

#endif
