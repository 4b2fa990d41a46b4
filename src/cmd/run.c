/* ctrx run [flags] IMAGE ID [COMMAND] [ARG...]: ctrx's own run, pulling the
 * image first when it is missing. A ctr run flag that ctrx does not implement
 * hands the command to ctr (after the pull), with the image name expanded. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctd.h"
#include "ctrargs.h"
#include "grpc.h"
#include "progress.h"
#include "ref.h"
#include "run.h"

enum {
  R_RM,
  R_DETACH,
  R_TTY,
  R_NET_HOST,
  R_ENV,
  R_ENV_FILE,
  R_MOUNT,
  R_CWD,
  R_LABEL,
  R_ANNOTATION,
  R_PRIVILEGED,
  R_READ_ONLY,
  R_SNAPSHOTTER,
  R_RUNTIME,
  R_CPUS,
  R_MEMORY,
  R_CAP_ADD,
  R_CAP_DROP,
  R_HOSTNAME,
  R_USER,
  R_NULL_IO,
  R_PID_FILE,
  R_PLATFORM,
  R_COUNT
};

/* The flags of run, with their help (see table.c). */
const struct flag cmd_run_flags[] = {
    {"rm", FLAG_BOOL, R_RM, NULL, "remove the container and its snapshot afterwards",
     "Flags (ctr's, run by ctrx):"},
    {"d detach", FLAG_BOOL, R_DETACH, NULL, "start it and return (cannot go with --rm)"},
    {"t tty", FLAG_BOOL, R_TTY, NULL, "allocate a terminal"},
    {"net-host", FLAG_BOOL, R_NET_HOST, NULL, "share the host's network namespace"},
    {"env", FLAG_VALUE, R_ENV, "K=V", "set an environment variable (repeatable)"},
    {"env-file", FLAG_VALUE, R_ENV_FILE, "FILE", "K=V lines to set"},
    {"mount", FLAG_VALUE, R_MOUNT, "SPEC", "type=bind,src=/a,dst=/b,options=rbind:ro (repeatable)"},
    {"cwd", FLAG_VALUE, R_CWD, "DIR", "working directory"},
    {"label", FLAG_VALUE, R_LABEL, "K=V", "container label, also an annotation (repeatable)"},
    {"annotation", FLAG_VALUE, R_ANNOTATION, "K=V", "OCI annotation (repeatable)"},
    {"privileged", FLAG_BOOL, R_PRIVILEGED, NULL, "all capabilities and devices"},
    {"read-only", FLAG_BOOL, R_READ_ONLY, NULL, "read-only root filesystem"},
    {"snapshotter", FLAG_VALUE, R_SNAPSHOTTER, "NAME", "snapshotter [$CONTAINERD_SNAPSHOTTER]"},
    {"runtime", FLAG_VALUE, R_RUNTIME, "NAME", "runtime (default io.containerd.runc.v2)"},
    {"cpus", FLAG_VALUE, R_CPUS, "N", "CPU limit"},
    {"memory-limit", FLAG_VALUE, R_MEMORY, "BYTES", "memory limit"},
    {"cap-add", FLAG_VALUE, R_CAP_ADD, "CAP", "add a capability (repeatable)"},
    {"cap-drop", FLAG_VALUE, R_CAP_DROP, "CAP", "drop a capability (repeatable)"},
    {"hostname", FLAG_VALUE, R_HOSTNAME, "NAME", "host name in the container"},
    {"u user", FLAG_VALUE, R_USER, "USER[:GROUP]", "user to run as"},
    {"null-io", FLAG_BOOL, R_NULL_IO, NULL, "send all I/O to /dev/null"},
    {"pid-file", FLAG_VALUE, R_PID_FILE, "FILE", "write the task's pid here"},
    {"platform", FLAG_VALUE, R_PLATFORM, "PLATFORM", "the image's platform to run"},
    {NULL, FLAG_BOOL, 0},
};

struct run_cmd {
  struct run_opts o;
  const char *typed; /* the image as the command line names it */
  struct strv env, mounts, labels, annotations, cap_add, cap_drop;
  struct cli *cli;
  char hostname[256];
};

/* Where each flag's value goes in struct run_cmd, and how it is read. */
enum run_slot { SLOT_STRING, SLOT_LIST, SLOT_BOOL, SLOT_CPUS, SLOT_MEMORY };

static const struct {
  enum run_slot slot;
  size_t offset;
} run_slots[] = {
    [R_RM] = {SLOT_BOOL, offsetof(struct run_cmd, o.rm)},
    [R_DETACH] = {SLOT_BOOL, offsetof(struct run_cmd, o.detach)},
    [R_TTY] = {SLOT_BOOL, offsetof(struct run_cmd, o.spec.tty)},
    [R_NET_HOST] = {SLOT_BOOL, offsetof(struct run_cmd, o.spec.net_host)},
    [R_ENV] = {SLOT_LIST, offsetof(struct run_cmd, env)},
    [R_ENV_FILE] = {SLOT_STRING, offsetof(struct run_cmd, o.spec.env_file)},
    [R_MOUNT] = {SLOT_LIST, offsetof(struct run_cmd, mounts)},
    [R_CWD] = {SLOT_STRING, offsetof(struct run_cmd, o.spec.cwd)},
    [R_LABEL] = {SLOT_LIST, offsetof(struct run_cmd, labels)},
    [R_ANNOTATION] = {SLOT_LIST, offsetof(struct run_cmd, annotations)},
    [R_PRIVILEGED] = {SLOT_BOOL, offsetof(struct run_cmd, o.spec.privileged)},
    [R_READ_ONLY] = {SLOT_BOOL, offsetof(struct run_cmd, o.spec.read_only)},
    [R_SNAPSHOTTER] = {SLOT_STRING, offsetof(struct run_cmd, o.snapshotter)},
    [R_RUNTIME] = {SLOT_STRING, offsetof(struct run_cmd, o.runtime)},
    [R_CPUS] = {SLOT_CPUS, offsetof(struct run_cmd, o.spec.cpus)},
    [R_MEMORY] = {SLOT_MEMORY, offsetof(struct run_cmd, o.spec.memory_limit)},
    [R_CAP_ADD] = {SLOT_LIST, offsetof(struct run_cmd, cap_add)},
    [R_CAP_DROP] = {SLOT_LIST, offsetof(struct run_cmd, cap_drop)},
    [R_HOSTNAME] = {SLOT_STRING, offsetof(struct run_cmd, o.spec.hostname)},
    [R_USER] = {SLOT_STRING, offsetof(struct run_cmd, o.spec.user)},
    [R_NULL_IO] = {SLOT_BOOL, offsetof(struct run_cmd, o.null_io)},
    [R_PID_FILE] = {SLOT_STRING, offsetof(struct run_cmd, o.pid_file)},
    [R_PLATFORM] = {SLOT_STRING, offsetof(struct run_cmd, o.platform)},
};
_Static_assert(ARRAY_SIZE(run_slots) == R_COUNT, "a run flag without a slot");

static int
run_flag(int id, const char *v, void *data, struct error **err)
{
  void *field = (char *)data + run_slots[id].offset;
  bool b = false;

  switch (run_slots[id].slot) {
  case SLOT_STRING:
    *(const char **)field = v;
    return 0;
  case SLOT_LIST:
    strv_push((struct strv *)field, v);
    return 0;
  case SLOT_BOOL:
    if (cli_parse_bool(v, &b) < 0)
      return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", v);
    *(bool *)field = b;
    return 0;
  case SLOT_CPUS: {
    double *cpus = (double *)field;
    char *end = NULL;
    *cpus = strtod(v, &end);
    if (end == v || *end || *cpus < 0)
      return error_setc(err, ERR_USAGE, "invalid value \"%s\" for flag -cpus: parse error", v);
    return 0;
  }
  case SLOT_MEMORY: {
    int64_t *limit = (int64_t *)field;
    if (parse_int64(v, 10, limit) < 0 || *limit < 0)
      return error_setc(err, ERR_USAGE, "invalid value \"%s\" for flag -memory-limit: parse error",
                        v);
    return 0;
  }
  }
  return 0;
}

/* Pull NAME, the expansion of TYPED; a failure names both, since the user
 * may have meant a local image. */
static int
pull_expanded(struct cli *cli, const char *typed, const char *name, const char *platform,
              const char *snapshotter, struct error **err)
{
  if (progress_pull(cli, name, platform, snapshotter, err) == 0)
    return 0;
  if (strcmp(typed, name) == 0)
    return -1;
  return error_wrap(err, "\"%s\" is not an image in namespace \"%s\", and %s could not be pulled",
                    typed, cli->g.namespace, name);
}

static int
pull_missing(void *arg, struct error **err)
{
  struct run_cmd *rc = arg;
  return pull_expanded(rc->cli, rc->typed, rc->o.image, rc->o.platform, rc->o.snapshotter, err);
}

/* A name a pull can fetch: a valid reference that is its own expansion. */
static bool
pullable(const char *name)
{
  cleanup_free char *n = ref_normalize(name, NULL);

  return n != NULL && strcmp(n, name) == 0;
}

/* For a run handed to ctr: pull the image first when the namespace lacks it. */
static int
pull_if_missing(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_free char *name = NULL;
  struct grpc_conn *conn = NULL;
  struct error *e = NULL;
  const char *word;
  const char *snapshotter;
  bool local = false;

  for (int i = 0; i < argc; i++)
    strv_push(&args, argv[i]);
  word = ctrargs_first_ref(cli_ctr_lines(cli, &args), &args);
  if (word == NULL)
    return 0; /* no image (--rootfs) */
  name = cli_existing_image(cli, word, &local);
  if (local || !pullable(name))
    return 0; /* there as typed, or one only ctr can say what is wrong with */
  if (cli_conn(cli, &conn, err) < 0)
    return -1;
  if (ctd_image_get(conn, name, NULL, NULL, &e) == 0)
    return 0;
  if (!error_is(e, ERR_NOT_FOUND)) {
    *err = e;
    return -1;
  }
  error_free(e);
  /* into the snapshotter ctr will use, so that ctr finds the image unpacked */
  snapshotter = ctrargs_flag_value(cli_ctr_lines(cli, &args), &args, "snapshotter");
  if (snapshotter == NULL)
    snapshotter = cli->env.snapshotter;
  return pull_expanded(cli, word, name, NULL, snapshotter, err);
}

static void
run_cmd_release(struct run_cmd *rc)
{
  strv_release(&rc->env);
  strv_release(&rc->mounts);
  strv_release(&rc->labels);
  strv_release(&rc->annotations);
  strv_release(&rc->cap_add);
  strv_release(&rc->cap_drop);
}

int
cmd_run(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct run_cmd rc = {.cli = cli};
  cleanup_free char *image = NULL;
  struct grpc_conn *conn = NULL;
  int optind = 1, unknown = -1, status = 0, rv;
  bool local = false;

  rv = cli_parse_flags(cmd_run_flags, argc, argv, &optind, run_flag, &rc, &unknown, err);
  if (rv < 0)
    goto done;
  if (rv == 1) {
    /* A ctr run flag ctrx does not implement: ctr runs it, with the image
     * name expanded by the pass-through, once the image is there. */
    rv = pull_if_missing(cli, argc, argv, err);
    if (rv == 0)
      rv = cli_passthru(cli, argc, argv, err);
    goto done;
  }
  if (argc - optind < 2) {
    rv = error_setc(err, ERR_USAGE, "run: image ref and container id must be provided");
    goto done;
  }
  if (rc.o.rm && rc.o.detach) {
    rv = error_setc(err, ERR_USAGE, "flags --detach and --rm cannot be specified together");
    goto done;
  }
  rc.typed = argv[optind];
  image = cli_existing_image(cli, rc.typed, &local);
  if (!local && !cli->g.no_expand) {
    cleanup_free char *valid = ref_normalize(image, err);
    if (valid == NULL) {
      rv = error_wrap(err, "invalid reference \"%s\"", argv[optind]);
      goto done;
    }
  }
  if (cli_conn(cli, &conn, err) < 0) {
    rv = -1;
    goto done;
  }
  if (gethostname(rc.hostname, sizeof(rc.hostname) - 1) < 0)
    rc.hostname[0] = '\0';
  rc.o.ns = cli->g.namespace;
  rc.o.image = image;
  rc.o.id = argv[optind + 1];
  rc.o.spec.args = argv + optind + 2;
  rc.o.spec.n_args = (size_t)(argc - optind - 2);
  rc.o.spec.env = &rc.env;
  rc.o.spec.mounts = &rc.mounts;
  rc.o.spec.labels = &rc.labels;
  rc.o.spec.annotations = &rc.annotations;
  rc.o.spec.cap_add = &rc.cap_add;
  rc.o.spec.cap_drop = &rc.cap_drop;
  rc.o.spec.host_hostname = rc.hostname;
  if (rc.o.snapshotter == NULL)
    rc.o.snapshotter = cli->env.snapshotter;
  /* a local name, or a literal one that is not a registry's, is not pulled */
  if (!local && pullable(image)) {
    rc.o.pull = pull_missing;
    rc.o.pull_arg = &rc;
  }
  rv = run_container(conn, &rc.o, &status, err);
  if (rv == 0)
    rv = status;
done:
  run_cmd_release(&rc);
  return rv;
}
